"""Kernels against hand-computed values."""
import numpy as np
import pytest

from clustering import kernels
from clustering.errors import ConfigError, DataError

# four points on a line at 0, 0.3, 1 and 3: squared distances 0.09, 1, 9, 0.49, 7.29, 4
X = np.array([[0.0, 0.0], [0.3, 0.0], [1.0, 0.0], [3.0, 0.0]])
D2 = np.array([[0, 0.09, 1, 9], [0.09, 0, 0.49, 7.29], [1, 0.49, 0, 4], [9, 7.29, 4, 0]])


def test_squared_distances_exact():
    np.testing.assert_allclose(kernels.squared_distances(X), D2, atol=1e-15)


def test_rational_seed_kernel():
    M = kernels.kernel_matrix(X, "rational", 0.1, dtype=np.float64)
    assert M[0, 0] == 1.0
    assert M[0, 1] == pytest.approx(0.1 / 0.19)
    assert M[0, 2] == pytest.approx(0.1 / 1.1)
    assert M[1, 3] == pytest.approx(0.1 / 7.39)
    # default s is the notes' 0.1
    np.testing.assert_allclose(kernels.kernel_matrix(X, "rational", dtype=np.float64), M)


def test_threshold_includes_the_boundary():
    M = kernels.kernel_matrix(X, "threshold", 0.49, dtype=np.float64)
    expected = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], float)
    np.testing.assert_array_equal(M, expected)
    # default eps = 0.1: only the pair at d2 = 0.09
    M = kernels.kernel_matrix(X, "threshold", dtype=np.float64)
    assert M.sum() == 4 + 2


def test_identity_and_spread():
    np.testing.assert_array_equal(kernels.kernel_matrix(X, "identity"), np.eye(4))
    np.testing.assert_allclose(kernels.kernel_matrix(X, "spread", dtype=np.float64), D2)
    assert kernels.get_kernel("spread").minimise
    assert not kernels.get_kernel("rational").minimise


def test_gaussian():
    M = kernels.kernel_matrix(X, "gaussian", 0.5, dtype=np.float64)
    assert M[0, 2] == pytest.approx(np.exp(-1 / 0.5))
    assert M[2, 3] == pytest.approx(np.exp(-4 / 0.5))
    assert np.all(np.diag(M) == 1)


def test_knn_symmetrised():
    # k = 1: 0 -> 1, 1 -> 0, 2 -> 1, 3 -> 2; symmetrised adds 1 -> 2 and 2 -> 3
    M = kernels.kernel_matrix(X, "knn", 1, dtype=np.float64)
    expected = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], float)
    np.testing.assert_array_equal(M, expected)
    M2 = kernels.kernel_matrix(X, "knn", 2)
    np.testing.assert_array_equal(M2, M2.T)
    assert M2[0, 2] == 1 and M2[0, 3] == 0 and M2[3, 1] == 1  # 3's two nearest: 2 and 1


def test_knn_with_duplicate_points_keeps_the_diagonal():
    P = np.array([[0.0, 0], [0, 0], [0, 0], [5, 5]])
    M = kernels.kernel_matrix(P, "knn", 1)
    assert np.all(np.diag(M) == 1)
    np.testing.assert_array_equal(M, M.T)


def test_diffusion_on_a_complete_graph():
    # 4 points, k = min(10, 3): every point is everyone's neighbour, S = 1/4 everywhere = S^t
    np.testing.assert_allclose(kernels.kernel_matrix(X, "diffusion", 0.5, dtype=np.float64),
                               np.full((4, 4), 0.25))


def test_diffusion_is_the_t_th_power_of_the_normalised_knn_graph():
    P = np.random.default_rng(1).normal(size=(30, 2))
    A = kernels.kernel_matrix(P, "knn", 10, dtype=np.float64)
    d = A.sum(axis=1)
    S = A / np.sqrt(np.outer(d, d))
    M = kernels.kernel_matrix(P, "diffusion", 5 / 30, dtype=np.float64)  # t = 5 steps
    np.testing.assert_allclose(M, S @ S @ S @ S @ S, atol=1e-14)
    np.testing.assert_allclose(M @ np.sqrt(d), np.sqrt(d), rtol=1e-10)  # eigenvalue 1
    assert kernels.diffusion_steps(0.2, 500) == 100 and kernels.diffusion_steps(1e-6, 10) == 1
    with pytest.raises(ConfigError, match="above 0"):
        kernels.kernel_matrix(P, "diffusion", 0.0)


def test_curves():
    d2 = np.array([0.0, 0.1, 0.2])
    np.testing.assert_allclose(kernels.kernel_curve("rational", 0.1, d2), [1, 0.5, 1 / 3])
    np.testing.assert_array_equal(kernels.kernel_curve("threshold", 0.1, d2), [1, 1, 0])
    np.testing.assert_array_equal(kernels.kernel_curve("identity", None, d2), [1, 0, 0])
    np.testing.assert_allclose(kernels.kernel_curve("gaussian", 1.0, d2), np.exp(-d2 / 2))
    assert np.all(np.isnan(kernels.kernel_curve("knn", 10, d2)))
    assert np.all(np.isnan(kernels.kernel_curve("diffusion", 100, d2, X=X)))
    # with the points: a step at the median squared distance to the k-th neighbour
    # (1st neighbours of X: 0.09, 0.09, 0.49, 4 -> median 0.29)
    np.testing.assert_array_equal(kernels.kernel_curve("knn", 1, [0.28, 0.29, 0.3], X=X), [1, 1, 0])


@pytest.mark.parametrize("name, param, match", [
    ("rational", 0, "above 0"),
    ("rational", -1.0, "above 0"),
    ("threshold", float("nan"), "finite"),
    ("gaussian", "wide", "expected a number"),
    ("knn", 2.5, "whole number"),
    ("knn", 4, "k <= 3"),
])
def test_bad_parameters(name, param, match):
    with pytest.raises(ConfigError, match=match):
        kernels.kernel_matrix(X, name, param)


def test_unknown_kernel_lists_names():
    with pytest.raises(ConfigError, match="rational, threshold, identity, spread, gaussian, knn, diffusion"):
        kernels.get_kernel("laplace")


def test_bad_points():
    with pytest.raises(DataError, match="NaN"):
        kernels.kernel_matrix(np.array([[0.0, np.nan], [1, 1]]), "rational")


def test_register_a_new_kernel():
    k = kernels.Kernel("test_cauchy2", "Cauchy squared", "c", 1.0, "(c / (d2 + c))^2",
                       curve=lambda d2, c: (c / (d2 + c)) ** 2)
    try:
        kernels.register_kernel(k)
        M = kernels.kernel_matrix(X, "test_cauchy2", 1.0, dtype=np.float64)
        assert M[0, 2] == pytest.approx(0.25)
        with pytest.raises(ConfigError, match="already registered"):
            kernels.register_kernel(k)
    finally:
        kernels.KERNELS.pop("test_cauchy2", None)


def _reach_curve(X, k, d2):
    """The kNN curve on all the points (what kernel_curve computed before sampling)."""
    from sklearn.neighbors import NearestNeighbors

    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return (np.asarray(d2) <= float(np.median(dist[:, k] ** 2))).astype(float)


def test_kernel_curve_is_unchanged_on_small_data():
    Y = np.random.default_rng(0).normal(size=(kernels.CURVE_POINTS, 3))
    d2 = np.linspace(0, 3, 300)
    for k in (1, 10, kernels.CURVE_POINTS - 1):
        np.testing.assert_array_equal(kernels.kernel_curve("knn", k, d2, X=Y),
                                      _reach_curve(Y, k, d2))


def test_kernel_curve_works_on_a_bounded_sample(monkeypatch):
    from sklearn.neighbors import NearestNeighbors

    fitted = []
    fit = NearestNeighbors.fit

    def spy(self, X, *args, **kwargs):
        fitted.append((len(X), self.n_neighbors))
        return fit(self, X, *args, **kwargs)

    monkeypatch.setattr(NearestNeighbors, "fit", spy)
    n = 6000
    Y = np.random.default_rng(1).normal(size=(n, 2))
    d2 = np.linspace(0, 8, 300)
    curve = kernels.kernel_curve("knn", n - 1, d2, X=Y)  # k = N - 1: the farthest point
    assert fitted == [(kernels.CURVE_POINTS, kernels.CURVE_POINTS)]  # k clamped to the sample
    assert curve[0] == 1 and set(np.unique(curve)) <= {0.0, 1.0}
    fitted.clear()
    kernels.kernel_curve("knn", 10, d2, X=Y)
    assert fitted and all(size <= kernels.CURVE_POINTS for size, _ in fitted)
    with pytest.raises(ConfigError, match=f"k <= {n - 1}"):  # k is checked against all points
        kernels.kernel_curve("knn", n, d2, X=Y)


def test_curve_sample_is_evenly_spaced_and_deterministic():
    rows = kernels.curve_sample(10_000, 500)
    assert len(rows) == 500 and rows[0] == 0 and rows[-1] == 9_999
    assert np.ptp(np.diff(rows)) <= 1
    np.testing.assert_array_equal(kernels.curve_sample(10_000, 500), rows)
    np.testing.assert_array_equal(kernels.curve_sample(7, 500), np.arange(7))


def test_kernels_and_their_forms_survive_a_pickle():
    """A result trained on a Dask worker holds an unpickled copy of its kernel."""
    import pickle

    for kernel in kernels.KERNELS.values():
        assert pickle.loads(pickle.dumps(kernel)) == kernel, kernel.name


def test_sparse_forms_equal_the_dense_kernels():
    P = np.random.default_rng(2).normal(size=(40, 2))
    for name, param in (("knn", 5), ("threshold", 0.3), ("identity", None)):
        np.testing.assert_array_equal(kernels.sparse_kernel(P, name, param).toarray(),
                                      kernels.kernel_matrix(P, name, param))
