"""Quasi-Bayesian ensemble: tables 2 and 5 of the article, Cochran's test and filtering, label
alignment and posteriors, and an end-to-end run on synthetic taxpayers with planted outliers."""
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn.metrics import adjusted_rand_score

from clustering import metrics
from clustering.cochran import filter_ensemble, level_filter
from clustering.ensemble import (QuasiBayesianEnsemble, cochran_critical, cochran_test,
                                 consensus_labels, filter_networks, map_theta,
                                 replicate_variances)
from clustering.ensemble_selection import suggest
from clustering.errors import ClusteringError, ConfigError, DataError

ROOT = Path(__file__).resolve().parents[1]
REF = Path(__file__).resolve().parents[2] / "shared" / "reference"
FEATURES = ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]


@pytest.fixture(scope="module")
def table2():
    return pd.read_csv(REF / "qbm_table2.csv")


# ----------------------------------------------------------------------------------- article
def test_table5_variances_from_table2_replicates(table2):
    var = replicate_variances(table2[["theta_u1", "theta_u2", "theta_u3"]])
    t5 = pd.read_csv(REF / "qbm_table5.csv")
    # network 1 computes to 0.005958 where the article prints 0.005956
    np.testing.assert_allclose(var, t5["replicate_variance"], atol=3e-6)
    np.testing.assert_allclose(table2[["theta_u1", "theta_u2", "theta_u3"]].mean(axis=1),
                               table2["theta_mean"], atol=1e-6)


def test_cochran_g_on_table5_is_homogeneous(table2):
    var = replicate_variances(table2[["theta_u1", "theta_u2", "theta_u3"]])
    test = cochran_test(var, n_replicates=3, alpha=0.05)
    assert round(test["G"], 3) == 0.393
    assert test["G"] == pytest.approx(0.012954 / 0.032974, abs=1e-4)
    printed = pd.read_csv(REF / "qbm_table5.csv")["replicate_variance"]
    assert cochran_test(printed, 3)["G"] == pytest.approx(0.012954 / printed.sum())
    assert round(test["critical"], 4) == 0.4775
    assert test["homogeneous"] and test["k"] == 9 and test["largest"] == 7  # network 8


@pytest.mark.parametrize("k, n, expected", [(2, 2, 0.9985), (3, 2, 0.9669), (10, 2, 0.6020),
                                            (5, 3, 0.6838), (9, 3, 0.4775), (6, 5, 0.4803)])
def test_cochran_critical_values_match_printed_tables(k, n, expected):
    assert round(cochran_critical(k, n, 0.05), 4) == expected


def test_filtering_rule_keeps_all_nine_networks_of_the_article(table2):
    var = replicate_variances(table2[["theta_u1", "theta_u2", "theta_u3"]])
    result = filter_networks(var, 3, 0.05, names=table2["network"].tolist())
    assert result["kept"] == list(range(1, 10)) and result["removed"] == []
    assert len(result["rounds"]) == 1 and result["final_homogeneous"]


THETAS = ["theta_u1", "theta_u2", "theta_u3"]


def test_both_readings_of_formula_34_from_table2(table2):
    """The article says all nine networks passed (33) and gives (34) = 3.68: rule (33) alone
    keeps the nine (mean 4.2316); the level of Θ after it keeps networks 3, 5, 7, 8, 9 (mean
    3.6803), the only reading that gives the printed figure."""
    th = table2[THETAS].to_numpy()
    alone = filter_ensemble(th, "cochran")
    assert alone["kept"] == list(range(1, 10)) and alone["reasons"] == {}
    assert th.mean() == pytest.approx(4.2316, abs=1e-4)
    both = filter_ensemble(th, "cochran+level")
    assert both["cochran"]["removed"] == [] and both["cochran"]["homogeneous"] is True
    assert both["kept"] == [3, 5, 7, 8, 9]
    assert th[np.array(both["kept"]) - 1].mean() == pytest.approx(3.68, abs=5e-3)
    assert set(both["reasons"]) == {1, 2, 4, 6}
    assert all(r.startswith("level of Θ") for r in both["reasons"].values())
    assert filter_ensemble(th, "level")["kept"] == [3, 5, 7, 8, 9]
    assert filter_ensemble(th, "none")["kept"] == list(range(1, 10))
    assert level_filter(table2["theta_mean"], 1.0)["removed"] == []
    with pytest.raises(ConfigError, match="network_filter"):
        filter_ensemble(th, "median")


def test_cochran_cannot_judge_zero_variances():
    test = cochran_test([0.0, 0.0, 0.0], 3)
    assert test["homogeneous"] is None and np.isnan(test["G"])
    assert "cannot judge" in test["note"]
    result = filter_networks([0.0, 0.0, 0.0], 3)
    assert result["removed"] == [] and result["final_homogeneous"] is None
    assert "cannot judge" in result["note"]


def test_filtering_rule_drops_the_largest_variance_until_homogeneous():
    var = np.array([0.001, 0.002, 0.0015, 0.2, 0.05, 0.001])
    result = filter_networks(var, 3, 0.05, names=[1, 2, 3, 4, 5, 6])
    assert not result["homogeneous"] and result["final_homogeneous"]
    assert result["removed"][0] == 4
    assert result["rounds"][0]["removed"] == 4 and result["rounds"][-1]["removed"] is None
    assert 4 not in result["kept"] and result["G"] == pytest.approx(0.2 / var.sum())
    for r in result["rounds"][:-1]:
        assert r["G"] > r["critical"]


def test_consensus_aligns_renamed_partitions():
    base = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    other = np.array([2, 2, 2, 0, 0, 1, 1, 1])      # the same partition, renamed
    noisy = np.array([1, 1, 0, 0, 0, 2, 2, 2])      # renamed, one object moved
    aligned, perms, consensus = consensus_labels(np.array([base, other, noisy]), 3)
    np.testing.assert_array_equal(consensus, base)
    np.testing.assert_array_equal(aligned[1], base)
    assert (aligned[2] != base).sum() == 1
    np.testing.assert_array_equal(perms[1][other], base)


# ----------------------------------------------------------------------------------- synthetic
@pytest.fixture(scope="module")
def taxpayers():
    """The bundled synthetic taxpayers (4 planted outliers), the article's five variables,
    standardised, through the project's CSV loader."""
    from clustering.tables import load_csv

    ds = load_csv(ROOT / "data" / "taxpayers_synthetic.csv", feature_columns=FEATURES,
                  id_column="enterprise_id", scaling="standard")
    return ds.frame.reset_index(drop=True), ds.X


@pytest.fixture(scope="module")
def fitted(taxpayers):  # 27 maps of 200 batch epochs (about 3 s)
    frame, X = taxpayers
    seen = []
    qbm = QuasiBayesianEnsemble(n_steps=200, n_jobs=1).fit(X, callback=seen.append)
    return frame, qbm, seen


def test_end_to_end_tables_follow_the_article(fitted, table2):
    frame, qbm, seen = fitted
    net = qbm.networks_
    assert list(net.columns) == ["network", "tau1", "sigma_end", "tau2", "eta_end", "theta_u1",
                                 "theta_u2", "theta_u3", "theta_mean"]
    assert len(net) == 9 and len(qbm.maps_) == 27
    # with T = 500 the schedule's end values are table 2's (here T = 200: recompute)
    assert net["sigma_end"].iloc[0] == pytest.approx(4 * np.exp(-200 / 140))
    defaults = QuasiBayesianEnsemble().get_params()  # the article's grid and replicates
    assert defaults["tau1_grid"] == (140, 280, 700) and defaults["tau2_grid"] == (125, 250, 625)
    # "по оси абсцисс выбиралось 16, а по оси ординат 12 ячеек": 12 rows x 16 columns
    assert defaults["n_replicates"] == 3 and (defaults["rows"], defaults["cols"]) == (12, 16)
    np.testing.assert_allclose(net[["theta_u1", "theta_u2", "theta_u3"]].mean(axis=1),
                               net["theta_mean"])
    np.testing.assert_allclose(qbm.variances_["replicate_variance"],
                               replicate_variances(net[["theta_u1", "theta_u2", "theta_u3"]]))
    kept = qbm.maps_table_[qbm.maps_table_["kept"]]
    assert qbm.theta_mean_ == pytest.approx(kept["theta"].mean())
    assert set(qbm.kept_networks_["network"]) == set(qbm.filter_["kept"])
    assert qbm.best_map_.rows_ == 12 and qbm.best_map_.cols_ == 16
    messages = [p.message for p in seen]
    assert "map 27 of 27" in messages[-2] and seen[-1].done and seen[-1].method == "qbm"


def test_schedule_columns_match_table2_at_the_articles_t(table2, taxpayers):
    """The article's preset: T = 500 epochs of the online rule, no early stop; table 2's end
    columns are the sigma and eta the maps reached."""
    X = taxpayers[1][:24]
    preset = QuasiBayesianEnsemble.article(n_replicates=2, rows=4, cols=4, n_jobs=1)
    assert (preset.mode, preset.n_steps, preset.tol, preset.sigma0, preset.eta0) == (
        "epoch", 500, 0.0, 4.0, 0.3)
    assert (QuasiBayesianEnsemble.article().rows, QuasiBayesianEnsemble.article().cols) == (12, 16)
    qbm = preset.fit(X)
    assert qbm.maps_table_["steps"].eq(500).all()
    np.testing.assert_allclose(qbm.networks_["sigma_end"].round(6), table2["sigma_end"])
    np.testing.assert_allclose(qbm.networks_["eta_end"].round(6), table2["eta_end"])


def test_theta_is_taken_about_each_maps_own_cluster_centres(fitted, taxpayers):
    X = taxpayers[1]
    _, qbm, _ = fitted
    for som, th in zip(qbm.maps_[:5], qbm.maps_table_["theta"][:5]):
        assert th == pytest.approx(metrics.theta(X, som.labels_, som.cluster_centers_))
        assert th >= metrics.theta(X, som.labels_) - 1e-9  # the means minimise it
    # replicates that agree on the partition still differ, as table 2's do
    assert (qbm.variances_["replicate_variance"] > 0).all()
    means = QuasiBayesianEnsemble(theta_centre="objects", n_steps=200, n_jobs=1,
                                  tau1_grid=(700,), tau2_grid=(125,)).fit(X)
    assert means.maps_table_["theta"].iloc[0] == pytest.approx(
        metrics.theta(X, means.maps_[0].labels_))


def test_suggested_m_finds_the_planted_groups_and_flags_the_outliers(taxpayers):
    frame, X = taxpayers
    qbm = QuasiBayesianEnsemble(n_clusters="auto", n_jobs=1).fit(X)
    curve = qbm.selection_
    assert list(curve["M"]) == list(range(2, 9))
    assert qbm.n_clusters_ == suggest(curve) and qbm.proba_.shape[1] == qbm.n_clusters_
    assert adjusted_rand_score(frame["planted_group"], qbm.labels_) >= 0.9
    planted = set(np.flatnonzero(frame["planted_group"] == "outlier"))
    anomalous = qbm.flags_[qbm.flags_["flag"] == "anomalous cluster"]
    assert planted <= set(anomalous["object"]) and anomalous["article"].all()
    summary = qbm.summary()
    assert sum(summary["sizes"]) == len(frame) and summary["reliable_share"] >= 0.9
    assert any("only 1 object" in w for w in summary["warnings"])
    # the curve's figures are those of a fit with that M on the same maps
    row = curve.set_index("M").loc[qbm.n_clusters_]
    assert row["theta_mean"] == pytest.approx(qbm.theta_mean_)
    assert row["reliable_share"] == pytest.approx(summary["reliable_share"])


def test_tables_3_and_4_and_the_kmeans_comparison(fitted, taxpayers):
    frame, qbm, _ = fitted
    X = taxpayers[1]
    t3 = qbm.cells_table()
    assert t3.shape == (len(frame), 2 * 27) and list(t3.columns[:2]) == ["HC1,1 k", "HC1,1 m"]
    assert t3.filter(like=" k").min().min() >= 1 and t3.filter(like=" k").max().max() <= 192
    kept_names = qbm.maps_table_.loc[qbm.maps_table_["kept"], "name"]
    agree = np.mean([np.mean(t3[f"{n} m"] == qbm.labels_) for n in kept_names])
    assert agree > 0.8
    t4 = qbm.map_table(X, 0)
    assert t4.attrs["name"] == "HC1,1" and t4.attrs["Q1"] == qbm.maps_table_["theta"].iloc[0]
    assert (t4["d_cluster"] ** 2).sum() == pytest.approx(t4.attrs["Q1"])
    np.testing.assert_array_equal(t4["k"] - 1, qbm.maps_[0].bmu_)
    assert (t4["d_cell"] <= t4["d_cluster"] + 1e-9).mean() > 0.9
    with pytest.raises(ConfigError, match="map_index"):
        qbm.map_table(X, 27)
    with pytest.raises(DataError):
        qbm.map_table(X[:10])
    comp = qbm.compare_kmeans(X)
    assert comp["method"].startswith("MacQueen")
    assert comp["ratio"] == pytest.approx(comp["theta_kmeans"] / qbm.theta_mean_)
    assert comp["more_compact"] in comp["verdict"].lower() or "k-means" in comp["verdict"]
    assert 0 <= comp["agreement"] <= 1 and len(comp["labels"]) == len(frame)


def test_end_to_end_posteriors_and_coassociation(fitted, taxpayers):
    frame, qbm, _ = fitted
    P = qbm.proba_
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(P.argmax(axis=1), qbm.labels_)
    np.testing.assert_allclose(qbm.predict_proba(taxpayers[1]), P)
    n_kept = int(qbm.maps_table_["kept"].sum())
    assert np.allclose(P * n_kept, np.round(P * n_kept))  # shares of the kept maps
    C = qbm.coassociation_
    assert C.shape == (len(frame), len(frame))
    np.testing.assert_allclose(np.diag(C), 1.0)
    np.testing.assert_allclose(C, C.T)
    np.testing.assert_allclose(qbm.coassociation(rows=[0, 5]), C[np.ix_([0, 5], [0, 5])])
    unreliable = qbm.flags_[qbm.flags_["flag"] == "unreliable"]
    assert (P.max(axis=1)[unreliable["object"]] < 26 / 27).all()
    reliable = set(range(len(frame))) - set(unreliable["object"])
    assert (P.max(axis=1)[list(reliable)] >= 26 / 27 - 1e-9).all()


def test_profile_ranks_clusters_by_phi(fitted):
    frame, qbm, _ = fitted
    prof = qbm.profile(frame, score="Phi")
    assert prof["size"].sum() == len(frame) and "planted_group" not in prof.columns
    for m, row in prof.iterrows():
        assert row["Phi"] == pytest.approx(frame.loc[qbm.labels_ == m, "Phi"].mean())
        assert row["mean"] == pytest.approx(row["Phi"])
    rated = prof[prof["state"] != "anomalous"]
    assert rated["mean"].is_monotonic_increasing
    assert rated["state"].iloc[0] == "unsatisfactory" and "lenient" in rated[
        "recommendation"].iloc[0]
    assert (rated["state"].iloc[1:] == "successful").all()
    with pytest.raises(ConfigError, match="score"):
        qbm.profile(frame, score="Nope")


def test_parallel_equals_sequential_and_article_online_mode(taxpayers):
    X = taxpayers[1][::4]
    common = dict(tau1_grid=(140, 700), tau2_grid=(125,), n_replicates=2, rows=5, cols=4,
                  n_steps=100, random_state=3)
    a = QuasiBayesianEnsemble(n_jobs=1, **common).fit(X)
    b = QuasiBayesianEnsemble(n_jobs=2, **common).fit(X)
    np.testing.assert_allclose(a.networks_["theta_mean"], b.networks_["theta_mean"])
    np.testing.assert_array_equal(a.labels_, b.labels_)
    online = QuasiBayesianEnsemble(mode="online", init="pca", n_jobs=1, **common).fit(X)
    assert online.maps_table_["steps"].eq(100).all()
    assert len(online.networks_) == 2


def test_stop_keeps_the_finished_maps(taxpayers):
    X = taxpayers[1][::3]
    stop = threading.Event()

    def callback(p):
        if p.step >= 2:
            stop.set()

    qbm = QuasiBayesianEnsemble(rows=4, cols=4, n_steps=50, n_jobs=1).fit(
        X, callback=callback, stop=stop)
    assert qbm.stopped_ and len(qbm.maps_) == 2
    assert qbm.proba_.shape == (len(X), 3)
    stop.set()
    with pytest.raises(ClusteringError, match="first map"):
        QuasiBayesianEnsemble(rows=4, cols=4, n_jobs=1).fit(X, stop=stop)


def test_single_replicate_skips_cochran(taxpayers):
    X = taxpayers[1][::3]
    qbm = QuasiBayesianEnsemble(n_replicates=1, rows=4, cols=4, n_steps=50, n_jobs=1).fit(X)
    assert "note" in qbm.cochran_ and qbm.cochran_["kept"] == list(range(1, 10))


@pytest.mark.parametrize("params, field", [
    (dict(tau1_grid=()), "tau1_grid"), (dict(tau2_grid=(0, 5)), "tau2_grid"),
    (dict(n_replicates=0), "n_replicates"), (dict(alpha=1.5), "alpha"),
    (dict(reliable_posterior=0), "reliable_posterior"), (dict(lattice="square"), "lattice"),
    (dict(network_filter="median"), "network_filter"), (dict(n_clusters="some"), "n_clusters"),
    (dict(theta_centre="cell"), "theta_centre"), (dict(n_clusters_candidates=(1, 2)),
                                                  "n_clusters_candidates"),
    (dict(rows=2, cols=1, n_clusters=3), "n_clusters"),
])
def test_bad_settings_name_the_field(params, field):
    with pytest.raises(ConfigError) as err:
        QuasiBayesianEnsemble(n_jobs=1, **params).fit(np.random.default_rng(0).normal(size=(20, 3)))
    assert str(err.value).startswith(field)


def test_identical_replicates_are_explained(taxpayers):
    X = taxpayers[1][::3]
    qbm = QuasiBayesianEnsemble(init="pca", mode="batch", rows=4, cols=4, n_steps=30,
                                theta_centre="objects", tau1_grid=(140,), tau2_grid=(125, 625),
                                n_jobs=1).fit(X)
    assert (qbm.variances_["replicate_variance"] == 0).all()
    assert qbm.cochran_["homogeneous"] is None and np.isnan(qbm.cochran_["G"])
    assert "cannot judge" in qbm.cochran_["note"]


# ----------------------------------------------------------------------------------- planning
SMALL = dict(tau1_grid=(140, 700), tau2_grid=(125,), n_replicates=2, n_steps=10, rows=3, cols=3)


def test_plan_decides_without_training_and_leaves_nothing():
    X = np.random.default_rng(0).normal(size=(80, 3))
    est = QuasiBayesianEnsemble(**SMALL, n_jobs=1)
    before = dict(vars(est))
    plan = est.plan(X)
    assert vars(est) == before
    assert plan.execution == "sequential" and plan.details["jobs"] == 1
    assert (plan.details["maps"], plan.details["networks"]) == (4, 2)
    assert plan.details["map"]["details"]["units"] == 9
    assert plan.bytes == plan.details["map"]["bytes"]
    two = QuasiBayesianEnsemble(**SMALL, n_jobs=2).plan(X)
    assert two.execution == "parallel" and two.bytes == 2 * plan.bytes


def test_plan_refuses_what_fit_refuses():
    X = np.random.default_rng(0).normal(size=(80, 3))
    for est in (QuasiBayesianEnsemble(**{**SMALL, "n_replicates": 0}),
                QuasiBayesianEnsemble(**{**SMALL, "rows": None}, memory_limit=10 ** 4),
                QuasiBayesianEnsemble(**SMALL, n_jobs=2, memory_limit=30_000),
                QuasiBayesianEnsemble(n_replicates=200)):
        with pytest.raises(ConfigError) as planned:
            est.plan(X)
        with pytest.raises(ConfigError) as fitted:
            est.fit(X)
        assert str(planned.value) == str(fitted.value)
        assert not hasattr(est, "maps_")


def test_fitted_ensemble_holds_no_scratch_state():
    X = np.random.default_rng(0).normal(size=(60, 2))
    est = QuasiBayesianEnsemble(**SMALL, n_jobs=1).fit(X)
    params = set(est.get_params(deep=False))
    assert all(k in params or (k.endswith("_") and not k.startswith("_")) for k in vars(est))
    assert est.predict_proba(X[:5]).shape == (5, 3)
