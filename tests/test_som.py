"""Self-organizing map: the article's schedules, hand-checked steps, tiny lattices with known
U-matrix and topographic error (rectangular and hexagonal), training, clustering of cells."""
import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clustering.errors import ConfigError, DataError
from clustering.som import (SOM, best_two_units, exponential_decay, lattice_adjacency,
                            lattice_coordinates, suggest_lattice, topographic_error_of,
                            umatrix_values)
from clustering.som_training import epoch_kernel

REF = Path(__file__).resolve().parents[2] / "shared" / "reference"


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(300, n_features=3, centers=3, cluster_std=0.6, random_state=2)
    return (X - X.mean(0)) / X.std(0), y


def test_schedule_end_values_of_table_2():
    t2 = pd.read_csv(REF / "qbm_table2.csv")
    np.testing.assert_allclose(exponential_decay(4.0, t2["tau1"], 500), t2["sigma_end"],
                               atol=5e-7)
    np.testing.assert_allclose(exponential_decay(0.3, t2["tau2"], 500), t2["eta_end"], atol=5e-7)


def test_lattice_geometry_and_neighbours():
    rect = lattice_coordinates(2, 3, "rectangular")
    np.testing.assert_allclose(rect, [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]])
    hexa = lattice_coordinates(2, 2, "hexagonal")
    np.testing.assert_allclose(hexa, [[0, 0], [1, 0], [0.5, math.sqrt(3) / 2],
                                      [1.5, math.sqrt(3) / 2]])
    pairs = lambda adj: {(i, j) for i, j in zip(*np.nonzero(np.triu(adj)))}
    assert pairs(lattice_adjacency(lattice_coordinates(2, 2, "rectangular"))) == \
        {(0, 1), (0, 2), (1, 3), (2, 3)}
    assert pairs(lattice_adjacency(hexa)) == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}
    # an inner unit has 4 neighbours on the square grid and 6 on the hexagonal one
    assert lattice_adjacency(lattice_coordinates(3, 3, "rectangular"))[4].sum() == 4
    assert lattice_adjacency(lattice_coordinates(3, 3, "hexagonal"))[4].sum() == 6


CODEBOOK = np.array([[0.0], [1.0], [10.0], [11.0]])


def test_umatrix_on_tiny_lattices():
    rect = lattice_adjacency(lattice_coordinates(2, 2, "rectangular"))
    np.testing.assert_allclose(umatrix_values(CODEBOOK, rect), [5.5, 5.5, 5.5, 5.5])
    hexa = lattice_adjacency(lattice_coordinates(2, 2, "hexagonal"))
    # unit 0: (1 + 10)/2; unit 1: (1 + 9 + 10)/3; unit 2: (10 + 9 + 1)/3; unit 3: (10 + 1)/2
    np.testing.assert_allclose(umatrix_values(CODEBOOK, hexa), [5.5, 20 / 3, 20 / 3, 5.5])
    line = lattice_adjacency(lattice_coordinates(1, 3, "rectangular"))
    np.testing.assert_allclose(umatrix_values(np.array([[0.0], [1.0], [3.0]]), line),
                               [1.0, 1.5, 2.0])


def test_topographic_error_on_tiny_lattices():
    X = np.array([[0.4], [5.6], [10.4]])
    b1, b2, dist = best_two_units(X, CODEBOOK)
    np.testing.assert_array_equal(b1, [0, 2, 2])
    np.testing.assert_array_equal(b2, [1, 1, 3])
    np.testing.assert_allclose(dist, [0.4, 4.4, 0.4])
    rect = lattice_adjacency(lattice_coordinates(2, 2, "rectangular"))
    hexa = lattice_adjacency(lattice_coordinates(2, 2, "hexagonal"))
    # units 2 and 1 are diagonal on the square grid but neighbours on the hexagonal one
    assert topographic_error_of(b1, b2, rect) == pytest.approx(1 / 3)
    assert topographic_error_of(b1, b2, hexa) == 0.0
    # units 0 and 3 are apart on both lattices
    b1, b2, _ = best_two_units(np.array([[0.4]]), np.array([[0.0], [5.0], [6.0], [1.0]]))
    assert topographic_error_of(b1, b2, hexa) == 1.0 == topographic_error_of(b1, b2, rect)


def test_estimator_reports_the_same_on_a_set_codebook():
    X = np.array([[0.4], [5.6], [10.4], [0.0]])
    for lattice, te in (("rectangular", 1 / 4), ("hexagonal", 0.0)):
        som = SOM(2, 2, lattice=lattice, n_steps=1, n_clusters=2).fit(X)
        som.codebook_ = CODEBOOK.copy()
        assert som.topographic_error(X[:3]) * 3 == pytest.approx(te * 4)
        assert som.quantization_error(X) == pytest.approx((0.4 + 4.4 + 0.4 + 0) / 4)
        np.testing.assert_array_equal(som.bmu(X), [0, 2, 2, 0])
        assert som.umatrix().shape == (4,)
        assert [len(n) for n in som.unit_neighbours()] == ([2, 2, 2, 2] if lattice ==
                                                           "rectangular" else [2, 3, 3, 2])


def test_one_online_step_by_hand():
    W0 = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    X = np.array([[1.5, 0.5], [1.5, 0.5]])  # whichever is drawn, the same object
    som = SOM(2, 2, lattice="rectangular", init=W0, sigma0=1.0, eta0=0.5, n_steps=1,
              mode="online", tol=0, n_clusters=1).fit(X)
    k = 1  # the winner (2, 0) at distance sqrt(0.5)
    d2 = np.array([1.0, 0.0, 2.0, 1.0])  # lattice distances from unit 1 squared
    h = np.exp(-d2 / 2.0)
    expected = W0 + 0.5 * h[:, None] * (X[0] - W0)
    np.testing.assert_allclose(som.codebook_, expected)
    assert som.n_steps_done_ == 1 and som.history_["step"] == [0, 1]
    np.testing.assert_array_equal(som.bmu_, [k, k])  # the moved winner is still the closest


def test_one_batch_step_by_hand():
    W0 = np.array([[0.0], [10.0]])
    X = np.array([[1.0], [3.0], [9.0]])
    som = SOM(1, 2, lattice="rectangular", init=W0, sigma0=1.0, eta0=0.5, n_steps=1,
              mode="batch", tol=0, n_clusters=1).fit(X)
    h01 = math.exp(-0.5)
    # unit 0 wins 1 and 3; unit 1 wins 9
    target0 = (1 + 3 + h01 * 9) / (2 + h01)
    target1 = (h01 * (1 + 3) + 9) / (2 * h01 + 1)
    np.testing.assert_allclose(som.codebook_[:, 0], [0.5 * target0, 10 + 0.5 * (target1 - 10)])


def test_step_means_object_online_and_pass_in_batch(blobs):
    X, _ = blobs
    online = SOM(4, 4, n_steps=25 * len(X), tol=0, mode="online").fit(X)
    # recorded after every pass over the 300 objects ...
    assert online.history_["step"] == list(range(0, 7501, 300))
    # ... or every n_steps / 20 objects when that is shorter
    short = SOM(4, 4, n_steps=3 * len(X), tol=0, mode="online").fit(X)
    assert short.history_["step"] == list(range(0, 901, 45))
    batch = SOM(4, 4, n_steps=5, tol=0, mode="batch").fit(X)
    assert batch.history_["step"] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(batch.history_["sigma"], exponential_decay(4.0, 700.0,
                                                                         np.arange(6)))
    np.testing.assert_allclose(batch.history_["eta"], exponential_decay(0.3, 125.0,
                                                                       np.arange(6)))


@pytest.mark.parametrize("mode, steps", [("online", 6000), ("batch", 60), ("epoch", 30)])
@pytest.mark.parametrize("lattice", ["hexagonal", "rectangular"])
def test_training_finds_the_blobs(blobs, mode, steps, lattice):
    X, y = blobs
    som = SOM(8, 6, lattice=lattice, mode=mode, init="random", n_steps=steps, tau1=steps / 2,
              tau2=steps / 2, tol=0).fit(X)
    h = som.history_
    assert h["quantization_error"][-1] < 0.5 * h["quantization_error"][0]
    assert som.quantization_error_ == pytest.approx(h["quantization_error"][-1])
    assert som.topographic_error_ < 0.3
    assert adjusted_rand_score(y, som.labels_) > 0.95
    np.testing.assert_array_equal(som.predict(X), som.labels_)
    np.testing.assert_array_equal(som.labels_, som.cell_clusters_[som.bmu_])
    assert som.hit_counts_.sum() == len(X) and som.codebook_.shape == (48, 3)
    assert som.transform(X).shape == (300, 48)
    assert som.component_planes().shape == (3, 48)
    sizes = np.bincount(som.labels_)
    assert list(sizes) == sorted(sizes, reverse=True)  # clusters numbered by size


def test_hierarchical_cells_form_contiguous_regions(blobs):
    X, y = blobs
    som = SOM(8, 6, mode="batch", n_steps=40, cluster_method="hierarchical", tol=0).fit(X)
    adj = som.lattice_adjacency()
    for m in range(3):
        cells = np.flatnonzero(som.cell_clusters_ == m)
        n_parts, _ = connected_components(adj[np.ix_(cells, cells)], directed=False)
        assert n_parts == 1
    assert adjusted_rand_score(y, som.labels_) > 0.95


def test_tolerance_ends_training_early(blobs):
    X, _ = blobs
    # a fixed neighbourhood and rate: the batch map settles on a fixed point
    som = SOM(4, 4, mode="batch", sigma0=1.0, tau1=1e9, eta0=0.5, tau2=1e9, n_steps=500,
              tol=1e-4).fit(X)
    assert som.converged_ and som.n_steps_done_ < 200
    # online: eta0 exp(-t / 125) has practically vanished after a few thousand objects
    online = SOM(4, 4, mode="online", n_steps=50_000, tol=1e-4).fit(X)
    assert online.converged_ and online.n_steps_done_ < 5000
    assert not SOM(4, 4, mode="online", n_steps=5000, tol=0).fit(X).converged_


def test_callback_and_external_stop(blobs):
    X, _ = blobs
    seen = []
    stop = threading.Event()

    def callback(p):
        seen.append(p)
        if p.step >= 3:
            stop.set()

    som = SOM(4, 4, mode="batch", n_steps=200, tol=0).fit(X, callback=callback, stop=stop)
    assert som.stopped_ and som.n_steps_done_ < 10
    assert seen[-1].done and seen[0].method == "som"
    assert set(seen[0].metrics) == {"quantization_error", "topographic_error"}
    assert som.labels_.shape == (300,)  # the map is usable as it is
    online = SOM(4, 4, mode="online", n_steps=100_000, tol=0).fit(X, stop=stop)
    assert online.stopped_ and online.n_steps_done_ <= 256


def test_lattice_rule_five_sqrt_n_and_pca_ratio():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)) * [4.0, 1.0, 0.2]
    rows, cols = suggest_lattice(X, "rectangular")
    assert abs(rows * cols - 100) <= 10 and 3 <= cols / rows <= 5
    som = SOM(n_steps=20, mode="batch").fit(X)
    assert (som.rows_, som.cols_) == suggest_lattice(X, "hexagonal")
    assert som.rows is None  # the parameter is kept as given
    # PCA initialisation puts the first principal axis along the columns
    planes = som.component_planes()
    coords = som.unit_coordinates()
    assert abs(np.corrcoef(planes[0], coords[:, 0])[0, 1]) > 0.9


def test_pca_init_is_deterministic_and_random_init_is_not(blobs):
    X, _ = blobs
    a = SOM(4, 4, mode="batch", n_steps=5, random_state=1).fit(X)
    b = SOM(4, 4, mode="batch", n_steps=5, random_state=2).fit(X)
    np.testing.assert_allclose(a.codebook_, b.codebook_)
    c = SOM(4, 4, init="random", mode="batch", n_steps=5, random_state=1).fit(X)
    d = SOM(4, 4, init="random", mode="batch", n_steps=5, random_state=2).fit(X)
    assert not np.allclose(c.codebook_, d.codebook_)
    e = SOM(4, 4, init="sample", mode="batch", n_steps=5, random_state=1).fit(X)
    f = SOM(4, 4, init="sample", mode="batch", n_steps=5, random_state=1).fit(X)
    np.testing.assert_array_equal(e.codebook_, f.codebook_)


def test_haykin_preset():
    som = SOM.haykin(4, 6, n_steps=200, convergence_steps=None, tol=0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    som.fit(X)
    assert som.sigma0_ == 3.0 and som.tau1_ == pytest.approx(1000 / math.log(3.0))
    assert som.tau2_ == 1000.0 and som.eta0 == 0.1
    assert som.n_steps_done_ == 200 + 500 * 24
    assert som.history_["eta"][-1] == pytest.approx(0.01)


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_a_radius_that_underflows_keeps_the_codebook_finite(mode):
    """Late in a long schedule sigma^2 underflows to 0 (the Haykin preset's convergence phase on
    a map of a few hundred units); the neighbourhood is then the winner alone, never 0/0."""
    X, y = make_blobs(n_samples=90, centers=3, random_state=0)
    som = SOM(3, 3, lattice="rectangular", sigma0=4.0, tau1=1.0, n_steps=900, mode=mode,
              tol=0, n_clusters=3).fit(X)
    assert 4.0 * math.exp(-899.0) ** 2 == 0.0  # sigma(t)^2 really underflows
    assert np.all(np.isfinite(som.codebook_))
    # the units still follow the data: closer to it on average than the data's own spread
    assert som.quantization_error_ < np.linalg.norm(X - X.mean(axis=0), axis=1).mean() / 2
    assert np.unique(som.labels_).size == 3


@pytest.mark.parametrize("params, field", [
    (dict(lattice="triangular"), "lattice"),
    (dict(mode="minibatch"), "mode"),
    (dict(rows=3), "rows"),
    (dict(rows=2, cols=2, n_clusters=5), "n_clusters"),
    (dict(eta0=1.5), "eta0"),
    (dict(sigma0=0.0), "sigma0"),
    (dict(n_steps=0), "n_steps"),
    (dict(init="zeros"), "init"),
    (dict(rows=2, cols=2, init=np.zeros((3, 2))), "init"),
])
def test_bad_settings_name_the_field(params, field):
    with pytest.raises(ConfigError) as err:
        SOM(**params).fit(np.random.default_rng(0).normal(size=(20, 2)))
    assert str(err.value).startswith(field)


def test_bad_data_is_a_data_error():
    with pytest.raises(DataError):
        SOM(2, 2).fit([[0.0, np.inf], [1.0, 1.0]])
    som = SOM(2, 2, n_steps=5, n_clusters=2).fit(np.random.default_rng(0).normal(size=(10, 2)))
    with pytest.raises(DataError, match="features"):
        som.predict(np.zeros((3, 3)))


def test_table3_assignments_and_json_style_integers(blobs):
    X, _ = blobs
    som = SOM(4.0, 5.0, mode="batch", n_steps=20).fit(X)  # 4.0 as a JSON file may write it
    table = som.assignments(X)
    assert list(table.columns) == ["cell", "row", "col", "cell_distance", "cluster",
                                   "cluster_distance"]
    np.testing.assert_array_equal(table["cell"], som.bmu_)
    np.testing.assert_array_equal(table["cluster"], som.labels_)
    np.testing.assert_array_equal(table["cell"], table["row"] * 5 + table["col"])
    assert table["cell_distance"].mean() == pytest.approx(som.quantization_error_)
    m0 = som.labels_ == 0
    np.testing.assert_allclose(table["cluster_distance"][m0],
                               np.linalg.norm(X[m0] - X[m0].mean(0), axis=1))


# ----------------------------------------------------------------------------------- planning
def _only_params_and_learned(est) -> bool:
    """Every attribute is a parameter or a learned attribute ending in ``_`` (no scratch)."""
    params = set(est.get_params(deep=False))
    return all(k in params or (k.endswith("_") and not k.startswith("_")) for k in vars(est))


@pytest.mark.parametrize("mode, execution", [("online", "online"), ("batch", "batch"),
                                             ("epoch", "epoch")])
def test_plan_decides_without_training_and_leaves_nothing(blobs, mode, execution):
    X, _ = blobs
    som = SOM(mode=mode)
    before = dict(vars(som))
    plan = som.plan(X)
    assert vars(som) == before  # nothing trained, nothing left
    assert plan.execution == execution and plan.reason
    assert plan.bytes == plan.details["memory"]["total"] and plan.limit > plan.bytes
    assert (plan.details["rows"], plan.details["cols"]) == suggest_lattice(X, "hexagonal")
    assert plan.details["units"] == plan.details["rows"] * plan.details["cols"]
    assert set(plan.as_dict()) == {"execution", "reason", "bytes", "limit", "details"}


def test_plan_shows_the_chunks_and_fit_follows_it(blobs):
    X, _ = blobs
    som = SOM(4, 4, mode="batch", n_steps=5, chunk_size=64)
    plan = som.plan(X)
    assert plan.execution == "chunked" and plan.details["n_chunks"] == 5
    som.fit(X)
    assert (som.chunk_size_, som.n_chunks_) == (64, 5)
    assert som.memory_estimate_ == plan.details["memory"]
    assert _only_params_and_learned(som)


def test_plan_refuses_what_fit_refuses(blobs):
    X, _ = blobs
    for som in (SOM(40, 40, mode="batch", memory_limit=10 ** 6), SOM(n_clusters=0),
                SOM(2, 2, n_clusters=5), SOM(n_steps=10 ** 9)):
        with pytest.raises(ConfigError) as planned:
            som.plan(X)
        with pytest.raises(ConfigError) as fitted:
            som.fit(X)
        assert str(planned.value) == str(fitted.value)


def test_fitted_map_holds_no_scratch_state(blobs):
    X, _ = blobs
    for mode in ("online", "batch", "epoch"):
        som = SOM(3, 3, mode=mode, n_steps=20, cluster_method="hierarchical").fit(X)
        assert _only_params_and_learned(som)


# ----------------------------------------------------------------------------------- epoch mode
# Closed forms on a 1 x 2 map (the smallest the SOM allows): every object is the same x, unit 0
# is the nearer and stays the winner, so after T epochs of m presentations
#   w_0 = x + (w_0(0) - x) prod_t (1 - eta_t)^m,   w_1 = x + (w_1(0) - x) prod_t (1 - eta_t h_t)^m
# with eta_t = eta0 exp(-t / tau2), h_t = exp(-1 / (2 sigma_t^2)), sigma_t = sigma0 exp(-t / tau1).
X_SAME = np.array([[1.0, 2.0]] * 3)
W_PAIR = np.array([[0.0, 0.0], [10.0, 10.0]])
PAIR = dict(lattice="rectangular", init=W_PAIR, sigma0=2.0, tau1=8.0, eta0=0.3, tau2=10.0,
            mode="epoch", n_clusters=1)


def _pair_factors(T, m=3, sigma0=2.0, tau1=8.0, eta0=0.3, tau2=10.0):
    """Per-epoch factors of the winner and of its neighbour, written out term by term."""
    win, nb = [], []
    for t in range(T):
        eta = eta0 * math.exp(-t / tau2)
        sigma = sigma0 * math.exp(-t / tau1)
        win.append((1.0 - eta) ** m)
        nb.append((1.0 - eta * math.exp(-1.0 / (2.0 * sigma * sigma))) ** m)
    return np.array(win), np.array(nb)


def test_epoch_schedule_matches_the_closed_form():
    T = 20
    som = SOM(1, 2, n_steps=T, tol=0, **PAIR).fit(X_SAME)
    win, nb = _pair_factors(T)
    x = X_SAME[0]
    np.testing.assert_allclose(som.codebook_[0], x + (W_PAIR[0] - x) * win.prod(), rtol=1e-12)
    np.testing.assert_allclose(som.codebook_[1], x + (W_PAIR[1] - x) * nb.prod(), rtol=1e-12)
    # one epoch later in the schedule would be visibly different
    win1, nb1 = _pair_factors(T + 1)
    assert abs(win1[1:].prod() - win.prod()) > 1e-3 * win.prod()
    assert abs(nb1[1:].prod() - nb.prod()) > 1e-3 * nb.prod()
    assert som.n_steps_done_ == T and not som.converged_


def test_each_epoch_presents_the_objects_in_the_fits_random_order():
    """Unit 0 alone learns (sigma so small that h = exp(-200) on unit 1): its weight is the
    running update w += eta_t (x_i - w) over RandomState(seed).permutation(n) of every epoch."""
    X = np.array([[0.0], [1.0], [4.0], [9.0], [16.0]])
    T, seed, tau2 = 6, 11, 4.0
    som = SOM(1, 2, lattice="rectangular", init=np.array([[0.5], [1000.0]]), sigma0=0.05,
              tau1=1e9, eta0=0.5, tau2=tau2, n_steps=T, tol=0, mode="epoch", n_clusters=1,
              random_state=seed).fit(X)
    rng = np.random.RandomState(seed)
    w, w_sorted = 0.5, 0.5
    for t in range(T):
        eta = 0.5 * math.exp(-t / tau2)
        for i in rng.permutation(len(X)):
            w += eta * (X[i, 0] - w)
        for i in range(len(X)):
            w_sorted += eta * (X[i, 0] - w_sorted)
    assert som.codebook_[0, 0] == pytest.approx(w, rel=1e-12)
    assert abs(w - w_sorted) > 1e-3  # the order matters: the test would see another one


def test_the_compiled_kernel_is_rule_10_for_every_unit():
    rng = np.random.default_rng(5)
    X, W = rng.normal(size=(40, 3)), rng.normal(size=(9, 3))
    d2 = ((lattice_coordinates(3, 3)[:, None] - lattice_coordinates(3, 3)[None]) ** 2).sum(-1)
    H = np.exp(-d2 / (2 * 1.3 ** 2))
    order = rng.permutation(40)
    expected = W.copy()
    for i in order:
        k = np.argmin(((X[i] - expected) ** 2).sum(axis=1))
        expected = expected + 0.2 * H[k][:, None] * (X[i] - expected)
    got = np.ascontiguousarray(W.T)  # the kernel holds the codebook features x units
    epoch_kernel()(X, order.astype(np.int64), got, H, 0.2)
    np.testing.assert_allclose(got.T, expected, rtol=1e-12, atol=1e-14)


def test_sigma_and_eta_at_the_end_are_table_2s():
    t2 = pd.read_csv(REF / "qbm_table2.csv")
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    for row in t2.itertuples():
        som = SOM(1, 2, mode="epoch", n_steps=500, sigma0=4.0, eta0=0.3, tau1=row.tau1,
                  tau2=row.tau2, tol=0, n_clusters=1, history_every=500).fit(X)
        assert som.n_steps_done_ == 500
        assert som.sigma_end_ == pytest.approx(row.sigma_end, abs=5e-7)
        assert som.eta_end_ == pytest.approx(row.eta_end, abs=5e-7)
    assert (som.sigma_end_, som.eta_end_) == (som.history_["sigma"][-1], som.history_["eta"][-1])


@pytest.mark.parametrize("mode, n_steps", [("online", 40), ("batch", 7)])
def test_sigma_and_eta_at_the_end_in_the_other_modes(blobs, mode, n_steps):
    som = SOM(3, 3, mode=mode, n_steps=n_steps, tol=0).fit(blobs[0])
    assert som.sigma_end_ == pytest.approx(4.0 * math.exp(-n_steps / 700.0))
    assert som.eta_end_ == pytest.approx(0.3 * math.exp(-n_steps / 125.0))
    conv = SOM(3, 3, mode=mode, n_steps=n_steps, convergence_steps=3, tol=0).fit(blobs[0])
    assert conv.eta_end_ == 0.01


def test_epoch_mode_is_reproducible_with_a_seed(blobs):
    X, _ = blobs
    fit = lambda seed, init="pca": SOM(3, 4, mode="epoch", n_steps=15, init=init, tol=0,
                                       random_state=seed).fit(X)
    a, b = fit(7), fit(7)
    np.testing.assert_array_equal(a.codebook_, b.codebook_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # the PCA start is the same for every seed: only the presentation order differs
    assert not np.allclose(a.codebook_, fit(8).codebook_)
    np.testing.assert_array_equal(fit(3, "random").codebook_, fit(3, "random").codebook_)


def test_tol_stops_after_the_first_epoch_that_moves_no_unit_more():
    tol = 1e-3
    som = SOM(1, 2, n_steps=200, tol=tol, **PAIR).fit(X_SAME)
    win, nb = _pair_factors(200)
    x = X_SAME[0]
    d0 = np.linalg.norm(W_PAIR[0] - x) * np.concatenate([[1.0], np.cumprod(win)])
    d1 = np.linalg.norm(W_PAIR[1] - x) * np.concatenate([[1.0], np.cumprod(nb)])
    moves = np.maximum(d0[:-1] * (1 - win), d1[:-1] * (1 - nb))  # unit moves of epoch t
    expected = int(np.argmax(moves < tol)) + 1
    assert som.converged_ and som.n_steps_done_ == expected < 200
    assert som.history_["step"] == list(range(expected + 1))
    assert som.history_["codebook_change"][-1] < tol <= som.history_["codebook_change"][-2]


def test_epoch_history_every_and_progress_per_epoch(blobs):
    X, _ = blobs
    seen = []
    som = SOM(3, 3, mode="epoch", n_steps=10, history_every=3, tol=0).fit(X, callback=seen.append)
    assert som.history_["step"] == [0, 3, 6, 9, 10]
    np.testing.assert_allclose(som.history_["sigma"], exponential_decay(4.0, 700.0,
                                                                       [0, 3, 6, 9, 10]))
    assert [p.message for p in seen[:-1]] == [f"epoch {t} of 10" for t in range(1, 11)]
    assert seen[-1].done and seen[-1].step == 10
    stop = threading.Event()
    stop.set()
    stopped = SOM(3, 3, mode="epoch", n_steps=10, tol=0).fit(X, stop=stop)
    assert stopped.stopped_ and stopped.n_steps_done_ == 1


def test_epoch_limits_refuse_before_any_work(blobs, monkeypatch):
    X, _ = blobs
    seen = []
    monkeypatch.setenv("CLUSTERMAP_MAX_SOM_STEPS", "100000")
    for som, words in (
            (SOM(4, 4, mode="epoch", n_steps=500),
             "n_steps: 500 epochs x 300 objects = 150000 is above the limit of 100000"),
            (SOM(4, 4, mode="epoch", n_steps=300, convergence_steps=40),
             "n_steps + convergence_steps: (300 + 40) epochs x 300 objects = 102000 is above")):
        for call in (som.plan, lambda X: som.fit(X, callback=seen.append)):
            with pytest.raises(ConfigError) as err:
                call(X)
            assert str(err.value).startswith(words) and "CLUSTERMAP_MAX_SOM_STEPS" in str(err.value)
        assert not hasattr(som, "codebook_") and not seen
    monkeypatch.setenv("CLUSTERMAP_MAX_EPOCHS", "100")
    with pytest.raises(ConfigError, match="n_steps: 200 is above the limit of 100 .*"
                                          "CLUSTERMAP_MAX_EPOCHS"):
        SOM(4, 4, mode="epoch", n_steps=200).fit(X[:5])


def test_epoch_plan_and_haykin_convergence_in_whole_epochs(blobs):
    X, _ = blobs
    plan = SOM(4, 4, mode="epoch", n_steps=50, convergence_steps=None).plan(X)
    assert plan.execution == "epoch" and "epochs" in plan.reason
    # Haykin's 500 x 16 presentations, in epochs of 300 objects: 27 epochs
    assert plan.details["convergence_steps"] == 27 and plan.details["total_steps"] == 77


@pytest.mark.parametrize("method", ["kmeans", "hierarchical"])
def test_cluster_centers_are_the_centres_of_the_cells_groups(blobs, method):
    X, _ = blobs
    som = SOM(6, 5, mode="batch", n_steps=30, cluster_method=method, tol=0).fit(X)
    W, cells = som.codebook_, som.cell_clusters_
    assert som.cluster_centers_.shape == (3, 3)
    for m in range(3):  # row m is cluster m (numbered by size, as cell_clusters_)
        np.testing.assert_allclose(som.cluster_centers_[m], W[cells == m].mean(axis=0),
                                   atol=1e-10)
    if method == "kmeans":  # and every cell is nearest its own cluster's centre
        nearest = np.argmin(((W[:, None] - som.cluster_centers_[None]) ** 2).sum(-1), axis=1)
        np.testing.assert_array_equal(nearest, cells)
    one = SOM(3, 3, mode="batch", n_steps=5, n_clusters=1).fit(X)
    np.testing.assert_allclose(one.cluster_centers_, one.codebook_.mean(axis=0, keepdims=True))


def test_recluster_regroups_the_same_trained_cells():
    X = np.random.default_rng(4).normal(size=(90, 3))
    som = SOM(rows=4, cols=5, n_steps=30, mode="batch", n_clusters=3, random_state=1).fit(X)
    before = som.labels_.copy()
    four = som.recluster(4)
    assert four.n_clusters == 4 and four.cluster_centers_.shape == (4, 3)
    np.testing.assert_array_equal(four.codebook_, som.codebook_)
    np.testing.assert_array_equal(four.labels_, four.cell_clusters_[som.bmu_])
    assert len(np.unique(four.cell_clusters_)) == 4
    np.testing.assert_array_equal(som.labels_, before)  # the original is untouched
    np.testing.assert_array_equal(som.recluster(3).labels_, som.recluster(3).labels_)
    np.testing.assert_array_equal(four.predict(X), four.labels_)
    with pytest.raises(ConfigError):
        som.recluster(21)
