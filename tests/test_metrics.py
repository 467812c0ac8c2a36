"""Quality functionals (formulas 22, 26-31) on a hand-computed case; matching and agreement."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustering import metrics
from clustering.errors import DataError

REF = Path(__file__).resolve().parents[2] / "shared" / "reference"

# Cluster A: a right triangle; cluster B: a 2 x 2 square (hand-worked values below).
X = np.array([[0, 0], [2, 0], [0, 2], [10, 10], [12, 10], [10, 12], [12, 12]], float)
LABELS = np.array([0, 0, 0, 1, 1, 1, 1])


def test_theta_formula_22_by_hand():
    # A: centre (2/3, 2/3), squared distances 8/9 + 20/9 + 20/9 = 16/3; B: 4 corners at 2 = 8.
    assert metrics.theta(X, LABELS) == pytest.approx(16 / 3 + 8)
    np.testing.assert_allclose(metrics.cluster_centers(X, LABELS), [[2 / 3, 2 / 3], [11, 11]])


def test_theta_about_given_centres_by_hand():
    # centres (0, 0) for A and (10, 10) for B: A 0 + 4 + 4; B 0 + 4 + 4 + 8.
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    assert metrics.theta(X, LABELS, centres) == pytest.approx(8 + 16)
    # row m is the centre of label m: labels 0 and 2 need three rows, row 1 unused (may be NaN)
    lab = np.where(LABELS == 1, 2, 0)
    rows = np.array([[0.0, 0.0], [np.nan, np.nan], [10.0, 10.0]])
    assert metrics.theta(X, lab, rows) == pytest.approx(24)
    # the clusters' means as centres give today's Theta; None is the same
    means = metrics.cluster_centers(X, LABELS)
    assert metrics.theta(X, LABELS, means) == pytest.approx(metrics.theta(X, LABELS))
    # any other centre gives a larger Theta (the mean minimises the sum of squares)
    assert metrics.theta(X, LABELS, means + [0.1, 0.0]) == pytest.approx(40 / 3 + 7 * 0.01)


def test_center_distances_formula_23_by_hand():
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    d = metrics.center_distances(X, LABELS, centres)
    np.testing.assert_allclose(d, [0, 2, 2, 0, 2, 2, 2 * np.sqrt(2)])
    assert np.sum(d ** 2) == pytest.approx(metrics.theta(X, LABELS, centres))
    # about the means; noise gets NaN and stays out of Theta
    lab = np.append(LABELS, -1)
    Xn = np.vstack([X, [[100.0, -100.0]]])
    d = metrics.center_distances(Xn, lab)
    np.testing.assert_allclose(d[3:7], np.sqrt(2))  # square's corners to its centre (11, 11)
    np.testing.assert_allclose(d[:3], [np.sqrt(8) / 3, np.sqrt(20) / 3, np.sqrt(20) / 3])
    assert np.isnan(d[7]) and np.nansum(d ** 2) == pytest.approx(40 / 3)


@pytest.mark.parametrize("centres, message", [
    (np.zeros((1, 2)), r"centers: 1 centres for cluster labels up to 1; .* at least 2 rows"),
    (np.zeros((2, 3)), r"centers: expected one row of 2 coordinates per cluster, got shape "
                       r"\(2, 3\)"),
    (np.zeros(4), r"centers: expected one row of 2 coordinates .* shape \(4,\)"),
    (np.array([[0.0, np.nan], [1.0, 1.0]]), r"centers: .* must be finite"),
])
def test_bad_centres_are_data_errors(centres, message):
    for f in (metrics.theta, metrics.center_distances):
        with pytest.raises(DataError, match=message):
            f(X, LABELS, centres)


def test_within_variance_sum_formula_26_is_q1_theta():
    # the article's (26), which its table 4 prints as "Q1(s) =4,287" for map HC1,1's Theta
    assert metrics.within_variance_sum(X, LABELS) == pytest.approx(40 / 3)
    assert metrics.within_variance_sum(X, LABELS) == metrics.theta(X, LABELS)
    # the per-cluster normalised variant (not the article's): 16/3 / 3 + 8 / 4
    assert metrics.within_variance_sum(X, LABELS, normalize=True) == pytest.approx(16 / 9 + 2)


def test_article_table2_theta_is_printed_as_q1_in_table4():
    seeds = REF.parent / "seeds" / "som_quasi_bayesian_taxpayers_ru.txt"
    text = seeds.read_text(encoding="utf-8")
    assert "Cумма внутрикластерных дисперсий, где центром рассеяния служит «центр тяжести»" in text
    assert "Q1(s) =4,287" in text
    t2 = pd.read_csv(REF / "qbm_table2.csv")
    assert round(float(t2.loc[t2.network == 1, "theta_u1"].iloc[0]), 3) == 4.287


def test_pairwise_distances_formulas_27_28_by_hand():
    # A: 2 + 2 + 2 sqrt 2; B: four sides of 2 and two diagonals of 2 sqrt 2.
    expected = (4 + 2 * np.sqrt(2)) + (8 + 4 * np.sqrt(2))
    assert metrics.pairwise_within_distance(X, LABELS) == pytest.approx(expected)
    # squared, per object: (4 + 4 + 8) / 3 + (4 * 4 + 2 * 8) / 4 = theta
    assert metrics.pairwise_within_distance(X, LABELS, squared=True, normalize=True) == \
        pytest.approx(16 / 3 + 8)
    assert metrics.pairwise_within_distance(X, LABELS, squared=True) == pytest.approx(16 + 32)


def test_pairwise_blocks_match_direct_sum():
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(5000, 3))
    lab = (Z[:, 0] > 0).astype(int)
    from scipy.spatial.distance import pdist

    direct = sum(pdist(Z[lab == m]).sum() for m in (0, 1))
    assert metrics.pairwise_within_distance(Z, lab) == pytest.approx(direct, rel=1e-10)


def test_generalized_variances_formulas_29_31_by_hand():
    # covariances (divisor n_m): A = [[8/9, -4/9], [-4/9, 8/9]] (det 16/27), B = identity.
    covs = metrics.cluster_covariances(X, LABELS)
    np.testing.assert_allclose(covs[0], [[8 / 9, -4 / 9], [-4 / 9, 8 / 9]])
    np.testing.assert_allclose(covs[1], np.eye(2))
    # (29): det(3 A + 4 B) = (20/3)^2 - (4/3)^2 = 128/3
    assert metrics.generalized_variance(X, LABELS) == pytest.approx(128 / 3)
    # (31): (16/27)^3 * 1^4
    assert metrics.generalized_variance(X, LABELS, form="multiplicative") == \
        pytest.approx((16 / 27) ** 3)
    assert metrics.generalized_variance(X, LABELS, form="multiplicative", log=True) == \
        pytest.approx(3 * np.log(16 / 27))


def test_singular_clusters_are_explicit():
    lab = np.array([0, 0, 0, 1, 1, 1, 2])  # enterprise-7-like singleton
    assert metrics.generalized_variance(X, lab, form="multiplicative") == 0.0
    assert metrics.generalized_variance(X, lab, form="multiplicative", log=True) == -np.inf
    report = metrics.quality_report(X, lab)
    assert np.isnan(report["log_generalized_variance_product"])
    assert report["n_clusters"] == 3 and report["generalized_variance"] > 0
    with pytest.raises(DataError):
        metrics.generalized_variance(X, lab, form="harmonic")


def test_noise_is_left_out():
    lab = LABELS.copy()
    Xn = np.vstack([X, [[100.0, -100.0]]])
    lab = np.append(lab, -1)
    assert metrics.theta(Xn, lab) == pytest.approx(40 / 3)
    assert metrics.quality_report(Xn, lab)["noise"] == 1


def test_quality_report_keys_and_external_indices():
    report = metrics.quality_report(X, LABELS, y_true=LABELS)
    assert report["ari"] == pytest.approx(1.0) and report["nmi"] == pytest.approx(1.0)
    assert report["theta"] == pytest.approx(40 / 3)
    assert report["normalised_variance_sum"] == pytest.approx(16 / 9 + 2)
    # (26) and (28, squared) equal theta: reported once, under theta
    assert "within_variance_sum" not in report
    assert "pairwise_within_sq_distance_per_object" not in report
    assert list(report) == ["n_clusters", "noise", "theta", "normalised_variance_sum",
                            "pairwise_within_distance", "generalized_variance",
                            "log_generalized_variance_product", "silhouette", "ari", "nmi"]
    assert 0.8 < report["silhouette"] <= 1.0
    one = metrics.quality_report(X, np.zeros(7, int))
    assert np.isnan(one["silhouette"]) and "ari" not in one


def test_bad_inputs_raise_data_errors():
    with pytest.raises(DataError, match="NaN"):
        metrics.theta([[0.0, np.nan]], [0])
    with pytest.raises(DataError, match="3 labels for 7 objects"):
        metrics.theta(X, [0, 1, 0])
    with pytest.raises(DataError, match="integers"):
        metrics.theta(X, np.full(7, 0.5))


def test_match_labels_renames_to_reference():
    ref = np.array([0, 0, 1, 1, 2, 2])
    lab = np.array([2, 2, 0, 0, 1, 1])
    np.testing.assert_array_equal(metrics.match_labels(ref, lab), ref)
    # an extra cluster gets a fresh number; noise stays noise
    lab = np.array([5, 5, 7, 7, 9, -1])
    np.testing.assert_array_equal(metrics.match_labels(np.array([0, 0, 1, 1, 1, 1]), lab),
                                  [0, 0, 1, 1, 2, -1])


def test_match_labels_with_fixed_label_set_is_a_permutation():
    ref = np.array([0, 0, 0, 1])
    lab = np.array([2, 2, 2, 0])  # cluster 1 of ``lab`` is empty
    out = metrics.match_labels(ref, lab, n_clusters=3)
    np.testing.assert_array_equal(out, ref)


def test_table6_agreement_is_20_of_24():
    t6 = pd.read_csv(REF / "qbm_table6.csv")
    share = metrics.agreement(t6["qbm_cluster"], t6["kmeans_cluster"])
    assert share == pytest.approx(20 / 24)
    assert round(share, 3) == 0.833
    # symmetric, and identical partitions agree fully whatever their numbering
    assert metrics.agreement(t6["kmeans_cluster"], t6["qbm_cluster"]) == pytest.approx(20 / 24)
    assert metrics.agreement(t6["qbm_cluster"], (t6["qbm_cluster"] + 1) % 3) == 1.0
