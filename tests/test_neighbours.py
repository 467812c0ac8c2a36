"""The k-distance curve, the eps at its knee and their figure (clustering.neighbours)."""
import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clustering.errors import ConfigError, DataError
from clustering.neighbour_plots import k_distance_plot
from clustering.neighbours import k_distance_curve, round_eps, suggest_eps

LINE = np.array([[0.0], [1.0], [3.0], [7.0]])


@pytest.mark.parametrize("k, expected", [(1, [1, 1, 2, 4]), (2, [2, 3, 3, 6]), (3, [4, 6, 7, 7])])
def test_k_distances_of_points_on_a_line(k, expected):
    # 0: 1, 3, 7 away; 1: 1, 2, 6; 3: 2, 3, 4; 7: 4, 6, 7 -- the object itself excluded
    np.testing.assert_allclose(k_distance_curve(LINE, k), expected)


def test_duplicates_count_as_neighbours_at_distance_zero():
    np.testing.assert_allclose(k_distance_curve([[0.0], [0.0], [5.0]], 1), [0, 0, 5])


def test_curve_is_sorted_ascending():
    X = np.random.default_rng(1).normal(size=(300, 3))
    d = k_distance_curve(X, 4)
    assert d.shape == (300,) and np.all(np.diff(d) >= 0) and d[0] > 0


def test_large_data_is_sampled_with_exact_distances():
    X = np.random.default_rng(2).normal(size=(400, 2))
    full = k_distance_curve(X, 3)
    part = k_distance_curve(X, 3, max_objects=50, random_state=7)
    assert part.shape == (50,) and np.all(np.diff(part) >= 0)
    assert np.all(np.isin(part, full))  # neighbours sought among all objects
    np.testing.assert_array_equal(part, k_distance_curve(X, 3, max_objects=50, random_state=7))
    assert not np.array_equal(part, k_distance_curve(X, 3, max_objects=50, random_state=8))


def test_too_few_objects_are_refused_naming_k():
    with pytest.raises(DataError, match=r"k = 4 .*got 4"):
        k_distance_curve(np.zeros((4, 2)), 4)
    with pytest.raises(ConfigError, match="k: must be at least 1, got 0"):
        k_distance_curve(LINE, 0)
    with pytest.raises(DataError, match="X"):
        k_distance_curve([[0.0], [np.nan], [1.0]], 1)


def test_knee_of_a_hand_made_curve():
    # scaled: ranks 0, .25, .5, .75, 1 against 0, 0, 0, 0, 1 -> farthest below the chord at rank .75
    assert suggest_eps([1, 1, 1, 1, 10]) == 1.0
    assert suggest_eps([10, 1, 1, 1, 1]) == 1.0  # sorted first
    assert suggest_eps([0.1, 0.2, 0.3, 0.4, 2.0, 5.0]) == 0.4


def test_no_knee_gives_the_median():
    assert suggest_eps([2.0] * 10) == 2.0  # flat
    assert suggest_eps(np.arange(1.0, 8.0)) == 4.0  # straight: every point on the chord
    assert suggest_eps([3.0]) == 3.0 and suggest_eps([1.0, 3.0]) == 2.0
    assert suggest_eps(k_distance_curve(np.arange(10.0)[:, None], 1)) == 1.0  # even spacing


@pytest.mark.parametrize("bad", [[], [[1.0, 2.0]], [1.0, -1.0], [1.0, np.inf], ["a"]])
def test_bad_distances_are_refused(bad):
    with pytest.raises(DataError, match="distances"):
        suggest_eps(bad)


def test_suggested_eps_separates_two_blobs_with_noise():
    X, y = make_blobs(n_samples=[150, 150], centers=[[0, 0], [10, 10]], cluster_std=0.5,
                      random_state=0)
    noise = np.random.default_rng(0).uniform(-3, 13, size=(15, 2))
    Xa = np.vstack([X, noise])
    d = k_distance_curve(Xa, 5)
    eps = suggest_eps(d)
    within = np.median(k_distance_curve(X, 1))  # spacing inside a blob
    assert within < eps < 5.0  # the blobs are ~14 apart
    labels = DBSCAN(eps=eps, min_samples=5).fit_predict(Xa)
    assert adjusted_rand_score(y, labels[:300]) >= 0.9
    assert len(set(labels[:300]) - {-1}) == 2


def test_round_eps_as_the_form_shows_it():
    assert round_eps(0.6078) == 0.61 and round_eps(0.0456) == 0.046
    assert round_eps(0.0) == 0.001 and round_eps(250.0) == 100.0


def test_plot_traces_and_axes():
    fig = k_distance_plot([3.0, 1.0, 2.0], eps=0.3, suggested=1.5, k=5, title="k-dist")
    curve, current, suggested = fig.data
    np.testing.assert_allclose(curve.y, [1, 2, 3])
    np.testing.assert_allclose(curve.x, [1, 2, 3])
    assert current.name == "current eps = 0.3" and list(current.y) == [0.3, 0.3]
    assert suggested.name == "suggested eps = 1.5" and list(suggested.x) == [1, 3]
    assert fig.layout.xaxis.title.text == "objects sorted by distance"
    assert fig.layout.yaxis.title.text == "distance to the 5-th nearest neighbour"
    assert fig.layout.title.text == "k-dist"
    assert len(k_distance_plot([1.0, 2.0]).data) == 1
