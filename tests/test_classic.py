"""MacQueen's sequential k-means (formula 25) by hand; the classic-method registry."""
import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clustering import config as cfg
from clustering.classic import CLASSIC_METHODS, MacQueenKMeans, run_classic
from clustering.errors import ConfigError


def test_macqueen_hand_worked_example():
    # centres 0 and 10 (weight 1); 2 -> c0 = (0 + 2)/2 = 1; 8 -> c1 = (10 + 8)/2 = 9;
    # 1 -> c0 = (2 * 1 + 1)/3 = 1
    X = np.array([[0.0], [10.0], [2.0], [8.0], [1.0]])
    km = MacQueenKMeans(n_clusters=2).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, [[1.0], [9.0]])
    np.testing.assert_allclose(km.weights_, [3, 2])
    np.testing.assert_array_equal(km.labels_, [0, 1, 0, 1, 0])
    assert km.inertia_ == pytest.approx(1 + 1 + 1 + 1 + 0)


def test_macqueen_two_dimensional_steps():
    X = np.array([[0, 0], [4, 4], [1, 0], [4, 2], [0, 1]], float)
    km = MacQueenKMeans(n_clusters=2).fit(X)
    # (1,0) -> c0 = (0.5, 0); (4,2) -> c1 = (4, 3); (0,1) -> c0 = ((2*0.5+0)/3, (0+1)/3)
    np.testing.assert_allclose(km.cluster_centers_, [[1 / 3, 1 / 3], [4, 3]])


def test_ties_go_to_the_lowest_index():
    X = np.array([[0.0], [10.0], [5.0]])
    km = MacQueenKMeans(n_clusters=2).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, [[2.5], [10.0]])
    np.testing.assert_allclose(km.weights_, [2, 1])


def test_more_passes_keep_updating_and_given_centres_count_once():
    X = np.array([[0.0], [10.0], [2.0], [8.0], [1.0]])
    km = MacQueenKMeans(n_clusters=2, n_passes=2).fit(X)
    assert km.n_passes_ == 2 and km.weights_.sum() == 2 + 3 + 5
    given = MacQueenKMeans(n_clusters=2, init=np.array([[0.0], [10.0]])).fit(X)
    # every object is presented: 0 -> c0 stays 0 (w 2), 10 -> c1 stays 10 (w 2), 2 -> 2/3 ...
    assert given.weights_.sum() == 2 + 5
    np.testing.assert_allclose(given.cluster_centers_[0], [(0 + 0 + 2 + 1) / 4])


def test_macqueen_recovers_blobs_and_predicts():
    X, y = make_blobs(500, centers=3, cluster_std=0.7, random_state=0)
    km = MacQueenKMeans(3, n_passes=3, init="random", random_state=0).fit(X)
    assert adjusted_rand_score(y, km.labels_) > 0.95
    from sklearn.cluster import KMeans

    from clustering.metrics import agreement

    lloyd = KMeans(3, n_init=10, random_state=0).fit(X)
    assert agreement(lloyd.labels_, km.labels_) > 0.98
    assert km.inertia_ <= 1.02 * lloyd.inertia_
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_macqueen_bad_settings():
    X = np.zeros((2, 1))
    with pytest.raises(ConfigError, match="n_clusters"):
        MacQueenKMeans(3).fit(X)
    with pytest.raises(ConfigError, match="init"):
        MacQueenKMeans(2, init="kmeans++").fit(X)
    with pytest.raises(ConfigError, match="init"):
        MacQueenKMeans(2, init=np.zeros((3, 1))).fit(X)


@pytest.mark.filterwarnings("ignore:Graph is not fully connected")  # separate blobs
@pytest.mark.parametrize("name", list(CLASSIC_METHODS))
def test_every_registered_method_runs(name):
    X, y = make_blobs(150, centers=3, cluster_std=0.5, random_state=1)
    X = (X - X.mean(0)) / X.std(0)
    res = run_classic(name, X, 3)
    assert res.labels_.shape == (150,)
    assert adjusted_rand_score(y, res.labels_) > 0.8, name
    if CLASSIC_METHODS[name].has_proba:
        np.testing.assert_allclose(res.proba_.sum(axis=1), 1.0)
        np.testing.assert_array_equal(res.proba_.argmax(1), res.labels_)
    else:
        assert res.proba_ is None


def test_registry_errors_name_the_parameter():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ConfigError, match="method"):
        run_classic("kmedoids", X, 2)
    with pytest.raises(ConfigError, match="bogus"):
        run_classic("kmeans", X, 2, bogus=1)
    with pytest.raises(ConfigError, match="DBSCAN"):
        run_classic("dbscan", X, 2, eps=-1.0)


def test_config_sees_the_registry():
    assert {"kmeans", "macqueen", "spectral", "dbscan", "gmm"} <= set(cfg.method_names())
    assert cfg.default_params("dbscan")["eps"] == 0.3
    est, labels, proba = cfg.fit_method("gmm", {"n_clusters": 2},
                                        np.r_[np.zeros((10, 2)), np.ones((10, 2)) * 5]
                                        + np.random.default_rng(0).normal(size=(20, 2)) * 0.1)
    assert proba.shape == (20, 2) and len(set(labels)) == 2


def test_macqueen_final_assignment_in_blocks_equals_the_whole_array(monkeypatch):
    from clustering import classic

    X, _ = make_blobs(300, centers=4, n_features=3, random_state=2)
    whole = MacQueenKMeans(4).fit(X)
    d2 = ((X[:, None, :] - whole.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    monkeypatch.setattr(classic, "_BLOCK_CELLS", 7)  # blocks of 7 // 12 -> 1 row
    blocked = MacQueenKMeans(4).fit(X)
    np.testing.assert_array_equal(blocked.labels_, np.argmin(d2, axis=1))
    assert blocked.inertia_ == pytest.approx(float(d2.min(axis=1).sum()), rel=1e-12)
    np.testing.assert_array_equal(blocked.predict(X[:50]), whole.labels_[:50])


def test_classic_limits_are_checked_without_the_data():
    from clustering.classic import check_classic

    assert check_classic("kmeans", 3, {"n_init": 5})["n_init"] == 5
    with pytest.raises(ConfigError, match="n_init: 1000 .*CLUSTERMAP_MAX_N_INIT"):
        check_classic("kmeans", 3, {"n_init": 1000})
    with pytest.raises(ConfigError, match="n_clusters: 2000 .*CLUSTERMAP_MAX_CLUSTERS"):
        run_classic("gmm", np.zeros((10, 2)), 2000)
