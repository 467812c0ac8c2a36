"""Section 4's tax-regulation decisions on the article's numbers (table 6 and the printed means)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustering.decisions import (RELIABLE_POSTERIOR, DecisionRules, cluster_decisions,
                                  decisions_from_means, object_decisions, reliable_share)
from clustering.errors import ConfigError, DataError

REF = Path(__file__).resolve().parents[2] / "shared" / "reference"
# Section 3's printed means: cluster 2 "= 1,6038/19 =0,0844", cluster 1 "=1,965/3=0,655",
# cluster 0 (enterprise 7 alone) "= 3,384".
PRINTED = {2: 0.0844, 1: 0.655, 0: 3.384}
SIZES = {2: 19, 1: 3, 0: 1}


@pytest.fixture(scope="module")
def table6():
    return pd.read_csv(REF / "qbm_table6.csv")


@pytest.fixture(scope="module")
def article(table6):
    """Table 6 without enterprise 24: the 23 enterprises the printed means are taken over (the
    sums 1,6038/19 and 1,965/3 leave 24 out; table 6 itself puts it in cluster 2)."""
    return table6[table6["enterprise"] != 24].reset_index(drop=True)


@pytest.fixture(scope="module")
def printed_clusters():
    return decisions_from_means(SIZES, PRINTED)


# ---------------------------------------------------------------------------------- clusters
def test_table6_states_and_ratios(article):
    table = cluster_decisions(article["qbm_cluster"], article["Phi"])
    assert table.index.tolist() == [2, 1, 0] and table.index.name == "cluster"
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["size"].tolist() == [19, 3, 1]
    np.testing.assert_allclose(table["share"], [19 / 23, 3 / 23, 1 / 23])
    assert table["state"].tolist() == ["unsatisfactory", "successful", "anomalous"]
    assert table.loc[2, "recommendation"] == "lenient (щадящие) tax measures"
    assert table.loc[1, "recommendation"] == "no tax relief needed"
    assert table.loc[0, "recommendation"] == "individual in-depth analysis"
    # Table 6's Ф of the 19 members sum to 1.65115 (mean 0.0869), where the article prints
    # 1,6038/19 = 0.0844; so the ratios come out 7.54 and 38.9, not the printed 7.76 and 40.1.
    np.testing.assert_allclose(table["mean"], [1.65115 / 19, 1.965 / 3, 3.3843])
    np.testing.assert_allclose(table["ratio"], [1.0, 0.655 / (1.65115 / 19),
                                                3.3843 / (1.65115 / 19)])
    assert round(table.loc[1, "ratio"], 2) == 7.54 and round(table.loc[0, "ratio"], 1) == 38.9
    assert table.loc[0, "reason"] == ("mean Phi 3.384 is 38.9 times the base cluster's 0.0869; "
                                      "a cluster of 1 object (at most 1 of 23)")
    assert "7.54 times" in table.loc[1, "reason"]
    assert (table["rule"] == "article, section 4").all()


def test_table6_as_printed_puts_enterprise_24_in_the_base_cluster(table6):
    # Table 6 labels enterprise 24 (Ф = 1.631) cluster 2: the base mean rises to 3.28215/20.
    table = cluster_decisions(table6["qbm_cluster"], table6["Phi"])
    assert table.loc[2, "size"] == 20
    assert table.loc[2, "mean"] == pytest.approx(3.28215 / 20)
    assert table.loc[1, "ratio"] == pytest.approx(0.655 / (3.28215 / 20))
    assert table["state"].tolist() == ["unsatisfactory", "successful", "anomalous"]


def test_printed_means_give_the_printed_ratios(printed_clusters):
    t = printed_clusters
    assert t.index.tolist() == [2, 1, 0]
    # "в 7,76 раза превышает" and "в 40,1 раза превышает"
    assert round(t.loc[1, "ratio"], 2) == 7.76 and round(t.loc[0, "ratio"], 1) == 40.1
    assert t.loc[1, "ratio"] == pytest.approx(0.655 / 0.0844)
    assert t.loc[0, "reason"] == ("mean Phi 3.384 is 40.1 times the base cluster's 0.0844; "
                                  "a cluster of 1 object (at most 1 of 23)")
    assert t.loc[2, "reason"].startswith("lowest mean Phi 0.0844 of the clusters of more than "
                                         "1 object (the base cluster)")


def test_a_score_with_the_printed_means_gives_the_same_table(printed_clusters):
    labels = np.repeat([2, 1, 0], [19, 3, 1])
    score = np.repeat([0.0844, 0.655, 3.384], [19, 3, 1])
    pd.testing.assert_frame_equal(cluster_decisions(labels, score), printed_clusters,
                                  check_exact=False)


def test_a_small_cluster_is_anomalous_even_with_the_lowest_mean():
    labels = [0] * 30 + [1] * 5 + [2]
    score = [0.5] * 30 + [2.0] * 5 + [-1.0]
    t = cluster_decisions(labels, score, score_name="F")
    assert t.index.tolist() == [2, 0, 1]
    assert t["state"].tolist() == ["anomalous", "unsatisfactory", "successful"]
    np.testing.assert_allclose(t["ratio"], [-2.0, 1.0, 4.0])
    assert t.loc[2, "reason"].startswith("mean F -1 is -2 times the base cluster's 0.5")


def test_a_base_mean_that_is_not_positive_gives_no_ratio():
    t = cluster_decisions([0, 0, 1, 1], [-0.2, 0.0, 1.0, 2.0], DecisionRules(anomaly_max_size=1))
    assert t["state"].tolist() == ["unsatisfactory", "successful"]
    assert t["ratio"].isna().all()
    assert "no ratios: the base mean Phi is not positive" in t.loc[0, "reason"]
    assert "no ratio, the base mean is not positive" in t.loc[1, "reason"]


def test_one_cluster_and_all_small_clusters():
    one = cluster_decisions([0, 0, 0], [1.0, 2.0, 3.0])
    assert one["state"].tolist() == ["unrated"] and one["ratio"].isna().all()
    assert one.loc[0, "reason"].startswith("the only cluster (3 objects)")
    assert one.loc[0, "mean"] == 2.0
    every = cluster_decisions([0, 1, 2], [3.0, 1.0, 2.0])  # 1 object each, at most 1 of 3
    assert every.index.tolist() == [1, 2, 0]
    assert every["state"].tolist() == ["unsatisfactory", "successful", "successful"]
    assert all("so none is set apart" in r for r in every["reason"])


def test_without_a_score_states_come_from_the_sizes(article):
    t = cluster_decisions(article["qbm_cluster"], None)
    assert t.index.tolist() == [0, 1, 2]
    assert t["state"].tolist() == ["anomalous", "unrated", "unrated"]
    assert t["size"].tolist() == [1, 3, 19]
    assert t["mean"].isna().all() and t["ratio"].isna().all() and t["rank"].isna().all()


def test_empty_clusters_are_left_out():
    t = cluster_decisions([0, 0, 3, 3, 3], [1.0, 1.0, 2.0, 2.0, 2.0],
                          DecisionRules(anomaly_max_size=1))
    assert t.index.tolist() == [0, 3]


# ----------------------------------------------------------------------------------- objects
def _with_enterprise_24(article, p24, phi24=1.631):
    """Labels, posteriors and Ф of the 23 enterprises plus enterprise 24 (the last row).

    Posteriors follow section 3: enterprises 16..23 in cluster 2 with 26/27 (the other 1/27 in
    cluster 1), the rest with 1.0; enterprise 24 gets ``p24`` over clusters 0, 1, 2."""
    labels = article["qbm_cluster"].to_numpy()
    proba = np.eye(3)[labels]
    weak = article["enterprise"].between(16, 23).to_numpy()
    proba[weak] = [0.0, 1 / 27, 26 / 27]
    p24 = np.asarray(p24, dtype=float)
    return (np.append(labels, int(np.argmax(p24))), np.vstack([proba, p24]),
            np.append(article["Phi"].to_numpy(), phi24))


def _flags(frame, obj):
    return frame.loc[frame["object"] == obj, "flag"].tolist()


@pytest.mark.parametrize("p24", [[0.52, 0.48, 0.0], [0.48, 0.52, 0.0]])
def test_enterprise_24_is_split(article, printed_clusters, p24):
    labels, proba, phi = _with_enterprise_24(article, p24)
    flags = object_decisions(labels, proba, phi, printed_clusters)
    seven = int(np.flatnonzero(article["enterprise"] == 7)[0])
    assert _flags(flags, seven) == ["anomalous cluster"]
    assert "split" in _flags(flags, 23) and "unreliable" not in _flags(flags, 23)
    row = flags[(flags["object"] == 23) & (flags["flag"] == "split")].iloc[0]
    assert row["cluster"] == np.argmax(p24) and row["posterior"] == 0.52
    assert row["recommendation"] == "individual in-depth analysis" and row["article"]
    # |1.631 - 2.0195| = 0.3885 <= 0.5 x 1.3645; the article: "равного 2,019"
    assert "Phi 1.631 is 0.3885 from 2.019, the mean of the clusters' means" in row["reason"]
    assert "3.384" in row["reason"] and "0.655" in row["reason"]
    # enterprises 16..23 at 26/27 are reliable: nothing else is flagged
    assert set(flags["object"]) == {seven, 23}


def test_a_clear_posterior_is_unreliable_not_split(article, printed_clusters):
    labels, proba, phi = _with_enterprise_24(article, [0.9, 0.1, 0.0])
    flags = object_decisions(labels, proba, phi, printed_clusters)
    assert _flags(flags, 23) == ["anomalous cluster", "unreliable"]
    row = flags[flags["flag"] == "unreliable"].iloc[0]
    assert row["posterior"] == 0.9 and row["recommendation"].startswith("check the assignment")
    assert "posterior 0.900 of its cluster 0 is under the reliable level 0.963" == row["reason"]


def test_a_score_near_one_cluster_is_not_split(article, printed_clusters):
    labels, proba, phi = _with_enterprise_24(article, [0.48, 0.52, 0.0], phi24=0.7)
    flags = object_decisions(labels, proba, phi, printed_clusters)
    assert _flags(flags, 23) == ["unreliable"]


def test_without_a_score_there_is_no_split(article, printed_clusters):
    labels, proba, _ = _with_enterprise_24(article, [0.48, 0.52, 0.0])
    flags = object_decisions(labels, proba, None, printed_clusters)
    assert _flags(flags, 23) == ["unreliable"]
    assert (flags["flag"] == "anomalous cluster").sum() == 1


@pytest.mark.parametrize("phi, split", [(2.0195 + 0.5 * 1.3645, True),
                                        (2.0195 - 0.5 * 1.3645, True),
                                        (2.0195 + 0.5 * 1.3645 + 1e-3, False)])
def test_midpoint_tolerance_boundary(printed_clusters, phi, split):
    flags = object_decisions([1], [[0.5, 0.5, 0.0]], [phi], printed_clusters)
    assert ("split" in flags["flag"].tolist()) is split


@pytest.mark.parametrize("top, split", [(0.6, True), (0.61, False)])
def test_split_margin_boundary(printed_clusters, top, split):
    flags = object_decisions([0], [[top, 1 - top, 0.0]], [2.0], printed_clusters)
    assert ("split" in flags["flag"].tolist()) is split


def test_split_needs_the_two_most_probable_clusters(printed_clusters):
    # clusters 2 and 1 (means 0.0844, 0.655, midpoint 0.3697) are the top two here
    flags = object_decisions([2], [[0.1, 0.42, 0.48]], [0.37], printed_clusters)
    assert flags["flag"].tolist() == ["split"] and "(cluster 2)" in flags.loc[0, "reason"]
    far = object_decisions([2], [[0.1, 0.42, 0.48]], [1.631], printed_clusters)
    assert far["flag"].tolist() == ["unreliable"]


def test_object_table_shape_and_order(printed_clusters):
    flags = object_decisions([0, 1, 2], [[1.0, 0, 0], [0, 0.5, 0.5], [0, 0, 1.0]],
                             [3.0, 0.4, 0.1], printed_clusters)
    assert flags.columns.tolist() == ["object", "flag", "cluster", "posterior", "reason",
                                      "recommendation", "article"]
    assert flags[["object", "flag"]].values.tolist() == [[0, "anomalous cluster"], [1, "split"]]
    empty = object_decisions([2], [[0, 0, 1.0]], [0.1], printed_clusters)
    assert empty.empty and empty.columns.tolist() == flags.columns.tolist()


# ------------------------------------------------------------------------------- reliability
def test_26_of_27_is_reliable_and_25_of_27_is_not(printed_clusters):
    assert RELIABLE_POSTERIOR == 26 / 27 == DecisionRules().reliable_posterior
    ok = object_decisions([2], [[0, 1 / 27, 26 / 27]], [0.1], printed_clusters)
    low = object_decisions([2], [[0, 2 / 27, 25 / 27]], [0.1], printed_clusters)
    assert ok.empty and low["flag"].tolist() == ["unreliable"]
    # a vote share computed another way may miss 26/27 by rounding: 1e-9 is allowed
    assert reliable_share([0], [[26 / 27 - 1e-12]]) == 1.0
    assert reliable_share([0], [[26 / 27 - 1e-6]]) == 0.0


def test_reliable_share_by_hand():
    labels = [0, 0, 1, 1]
    proba = [[1.0, 0.0], [26 / 27, 1 / 27], [2 / 27, 25 / 27], [0.5, 0.5]]
    assert reliable_share(labels, proba) == 0.5
    assert reliable_share(labels, proba, DecisionRules(reliable_posterior=0.5)) == 1.0
    assert reliable_share(labels, proba, DecisionRules(reliable_posterior=1.0)) == 0.25


# -------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("field, value, message", [
    ("reliable_posterior", 0, "reliable_posterior: must be positive, got 0."),
    ("reliable_posterior", 1.5, "reliable_posterior: must be at most 1, got 1.5."),
    ("split_margin", -0.1, "split_margin: cannot be negative, got -0.1."),
    ("split_margin", 2, "split_margin: must be at most 1, got 2."),
    ("midpoint_tolerance", 1.1, "midpoint_tolerance: must be at most 1, got 1.1."),
    ("midpoint_tolerance", float("nan"), "midpoint_tolerance: expected a finite number"),
    ("anomaly_max_size", 0, "anomaly_max_size: must be at least 1, got 0."),
    ("anomaly_max_size", 1.5, "anomaly_max_size: expected a whole number"),
])
def test_rules_validation(field, value, message):
    with pytest.raises(ConfigError) as err:
        DecisionRules(**{field: value})
    assert str(err.value).startswith(message)


def test_rules_defaults_and_anomaly_size():
    rules = DecisionRules()
    assert (rules.split_margin, rules.midpoint_tolerance, rules.anomaly_max_size) == (0.2, 0.5,
                                                                                       None)
    assert [rules.anomaly_size(n) for n in (1, 24, 39, 40, 100)] == [1, 1, 1, 2, 5]
    sized = DecisionRules(anomaly_max_size=3.0)
    assert sized.anomaly_max_size == 3 and sized.anomaly_size(1000) == 3
    with pytest.raises(AttributeError):
        rules.split_margin = 0.3


def test_input_validation(printed_clusters):
    with pytest.raises(DataError, match=r"^score: expected 3 values"):
        cluster_decisions([0, 1, 1], [1.0, 2.0])
    with pytest.raises(DataError, match=r"^score: expected finite numbers, got nan at row 1"):
        cluster_decisions([0, 1], [1.0, np.nan])
    with pytest.raises(DataError, match=r"^labels: expected whole numbers .* got -1 at row 1"):
        cluster_decisions([0, -1], [1.0, 2.0])
    with pytest.raises(DataError, match=r"^labels: expected whole numbers .* got 0.5 at row 0"):
        reliable_share([0.5], [[1.0]])
    with pytest.raises(DataError, match=r"^labels: expected a non-empty"):
        cluster_decisions([], [])
    with pytest.raises(DataError, match=r"^proba: expected shape \(2, M\) with M at least 3"):
        object_decisions([0, 2], [[1.0, 0.0], [0.0, 1.0]], None, printed_clusters)
    with pytest.raises(DataError, match=r"^proba: expected probabilities between 0 and 1"):
        reliable_share([0], [[1.5]])
    with pytest.raises(DataError, match=r"^clusters: no row for cluster 5"):
        object_decisions([5], [[0] * 5 + [1.0]], None, printed_clusters)
    with pytest.raises(DataError, match=r"^clusters: no means"):
        object_decisions([0], [[1.0]], [1.0], cluster_decisions([0, 0], None))
    with pytest.raises(DataError, match=r"^means: expected a finite mean .* cluster 1"):
        decisions_from_means({0: 2, 1: 2}, {0: 1.0})
