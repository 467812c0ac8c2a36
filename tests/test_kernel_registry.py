"""A kernel registered from outside trains on every solver it declares (capabilities, not names).

The solver code reads a kernel's :class:`~clustering.kernels.SparseForm` and
:class:`~clustering.kernels.ApproxForm`, never its name: a new kernel that declares them is
planned, sized and trained like the built-in ones. Every kernel registered here is unregistered
again, so the registry other tests see is the built-in one.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score

from clustering import kernels
from clustering.datasets import generate
from clustering.errors import ConfigError
from clustering.neural import NeuralSoftClustering, plan_solver

BUILT_IN = ("rational", "threshold", "identity", "spread", "gaussian", "knn", "diffusion")


def _wide_gaussian(d2, s):
    """``exp(-d2 / (8 s^2))``: the gaussian of width 2 s."""
    return np.exp(-np.asarray(d2) / (8.0 * s * s))


def _wide_gaussian_sparse(X, s):
    # the exact kernel, stored sparse (small test data: built from the dense one)
    return sp.csr_matrix(_wide_gaussian(kernels.squared_distances(X), s).astype(np.float32))


def _all_pairs(n, s, X=None):
    return n * n


def _wide_gaussian_spectrum(s, n_features, n_components, seed):
    return kernels.gaussian_spectrum(2.0 * s, n_features, n_components, seed)


def _landmark_rank(tau):
    return 32


def _at_most_half(value, n_samples, what):
    if value > n_samples / 2:
        raise ConfigError(f"{what}: at most half the points, got {value} for {n_samples}.")


WIDE = kernels.Kernel(
    "test_wide_gaussian", "Wide Gaussian", "s", 0.25, "exp(-d2 / (8 s^2))",
    curve=_wide_gaussian, help="s: half the width of the bump.",
    sparse=kernels.SparseForm(_wide_gaussian_sparse, _all_pairs),
    approx=kernels.ApproxForm("fourier", _wide_gaussian_spectrum, label="wide Fourier features"))
# the diffusion kernel under another name, with its landmark form: only capabilities differ
WALK = kernels.Kernel(
    "test_walk", "Random walk", "tau", 0.2, "the diffusion kernel",
    from_points=kernels.KERNELS["diffusion"].from_points, dense_bytes_per_entry=40,
    approx=kernels.ApproxForm("landmark", kernels.landmark_diffusion, _landmark_rank))
STEPS = kernels.Kernel(
    "test_steps", "Steps", "m", 3, "1 if d2 <= m / 10", integer_param=True,
    curve=lambda d2, m: (np.asarray(d2) <= m / 10).astype(float), check_samples=_at_most_half)


@pytest.fixture
def registered():
    for kernel in (WIDE, WALK, STEPS):
        kernels.register_kernel(kernel)
    try:
        yield
    finally:
        for kernel in (WIDE, WALK, STEPS):
            kernels.unregister_kernel(kernel.name)
        assert tuple(kernels.KERNELS) == BUILT_IN


def test_kernels_declare_their_forms():
    assert kernels.kernel_names("sparse") == ["threshold", "identity", "knn"]
    assert kernels.kernel_names("approx") == ["rational", "spread", "gaussian", "diffusion"]
    assert kernels.get_kernel("knn").forms() == ("dense", "sparse")
    assert kernels.get_kernel("diffusion").approx.kind == "landmark"
    assert kernels.get_kernel("gaussian").approx.sized
    assert not kernels.get_kernel("spread").approx.sized
    assert all(kernels.get_kernel(n).help for n in BUILT_IN if kernels.get_kernel(n).has_param)


@pytest.mark.parametrize("kernel", [WIDE, WALK])
def test_a_new_kernel_trains_on_every_solver_it_declares(registered, kernel):
    X, y = generate("blobs", n_samples=240, random_state=1)
    for solver in kernel.forms():
        extra = dict(n_components=256) if solver == "approx" else {}
        est = NeuralSoftClustering(3, kernel=kernel.name, solver=solver, max_epochs=200,
                                   n_restarts=3, random_state=0, **extra).fit(X)
        assert est.solver_ == solver and est.kernel_ is kernel
        assert np.isfinite(est.loss_) and adjusted_rand_score(y, est.labels_) > 0.9, solver
        assert est.predict(X[:5]).shape == (5,)


def test_auto_chooses_a_new_kernels_large_form_and_names_it(registered):
    big = 2 ** 36
    assert plan_solver(50_000, 2, kernel=WALK.name, memory_limit=big).solver == "approx"
    # both large forms: the sparse (exact) one when it fits, else the factored one
    assert plan_solver(5_000, 2, kernel=WIDE.name, memory_limit=big).solver == "sparse"
    auto = plan_solver(50_000, 2, kernel=WIDE.name, memory_limit=big)
    assert auto.solver == "approx" and "wide Fourier features" in auto.reason
    assert auto.n_components == 1024
    # its edge count sizes the sparse estimate: all pairs, 50,000^2 of them
    assert auto.estimates["sparse"] > 50_000 ** 2 * 40 > big
    with pytest.raises(ConfigError, match="has no sparse form"):
        plan_solver(50_000, 2, kernel=WALK.name, solver="sparse", memory_limit=big)
    assert WIDE.name in kernels.kernel_names("sparse")


def test_a_new_kernel_checks_its_parameter_against_the_points(registered):
    assert kernels.check_param(STEPS.name, 4.0, n_samples=10) == 4
    with pytest.raises(ConfigError, match="at most half the points"):
        kernels.check_param(STEPS.name, 6, n_samples=10)
    with pytest.raises(ConfigError, match="has no sparse form"):
        kernels.sparse_kernel(np.zeros((4, 2)), STEPS.name, 1)
    with pytest.raises(ConfigError, match="Fourier features exist for the rational and "
                                          "gaussian and test_wide_gaussian kernels"):
        kernels.fourier_weights(STEPS.name, 1, 2, 8)


def test_malformed_capabilities_are_refused():
    with pytest.raises(ConfigError, match="ApproxForm of kind"):
        kernels.register_kernel(kernels.Kernel("test_bad", "Bad", None, None, "", curve=np.abs,
                                               approx=kernels.ApproxForm("nystroem")))
    with pytest.raises(ConfigError, match="needs its sample function"):
        kernels.register_kernel(kernels.Kernel("test_bad", "Bad", None, None, "", curve=np.abs,
                                               approx=kernels.ApproxForm("fourier")))
    assert "test_bad" not in kernels.KERNELS
