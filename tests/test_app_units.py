"""The app's plain-Python helpers: safe text, run downloads, lattice sizes."""
import io
import threading

import numpy as np
import pandas as pd
import pytest

from clustering.som import SOM
from ui import runs
from ui.widgets import md_escape


def test_md_escape_disarms_markdown_and_directives():
    text = "**bold** _x_ [link](http://e) :red[alert] :material/home: <b>h</b> `c` # 1."
    escaped = md_escape(text)
    for ch in "*_[]():<>`#.":
        assert ch not in escaped.replace("\\" + ch, "")
    assert escaped.replace("\\", "") == text


def test_suggested_lattice_follows_five_sqrt_n():
    # the SOM page suggests the lattice SOM(rows=None) fits (data longer along its first axis)
    from clustering.som import suggest_lattice

    for n in (60, 200, 500, 2000):
        X = np.random.default_rng(0).normal(size=(n, 2)) * [2.0, 1.0]
        rows, cols = suggest_lattice(X)
        units = 5 * np.sqrt(n)
        assert abs(rows * cols - units) / units < 0.15
        assert cols >= rows


def test_cell_hover_lists_objects_of_each_unit():
    som = SOM(rows=2, cols=2, n_steps=10, n_clusters=2).fit(np.array([[0, 0], [0.1, 0], [5, 5.0]]))
    bmu = np.array([0, 0, 3])
    text = runs.cell_hover(som, bmu, ["a", "b", "c"])
    assert text[0].startswith("unit 0 (row 0, col 0)") and "2 object(s): a, b" in text[0]
    assert text[1].endswith("empty") and "1 object(s): c" in text[3]
    assert text[3].startswith("unit 3 (row 1, col 1)")


def _blobs(n=60, seed=0):
    from clustering.datasets import generate

    return generate("blobs", n_samples=n, random_state=seed)


def test_auto_sized_som_views_use_the_fitted_lattice():
    """rows/cols are None when the lattice is auto-sized: the views read rows_/cols_."""
    from clustering import config as cfg, tables

    X, y = _blobs(80)
    ds = tables.from_arrays(X, y)
    res = runs.train("som", {"rows": None, "cols": None, "n_steps": 40}, ds,
                     {"source": "generator", "name": "blobs", "params": {}})
    som = res.estimator
    assert som.rows is None and som.cols is None
    rows, cols = som.rows_, som.cols_
    assert runs.lattice_shape(som) == (rows, cols)
    hover = runs.cell_hover(som, som.bmu_, runs.object_ids(ds))
    assert len(hover) == rows * cols
    last = rows * cols - 1
    assert hover[last].startswith(f"unit {last} (row {rows - 1}, col {cols - 1})")
    assert f"{rows} x {cols} hexagonal lattice" in runs.som_status(res)
    np.testing.assert_array_equal(runs.unit_clusters(som), som.cell_clusters_)
    book = pd.read_csv(io.BytesIO(runs.codebook_csv(res, ds)))
    assert list(book.columns) == ["unit", "row", "col", "x1", "x2", "hits"]
    assert book["row"].max() == rows - 1 and book["col"].max() == cols - 1
    assert book["hits"].sum() == 80
    steps, curves = runs.som_curves(som)
    assert steps[-1] == som.n_steps_done_ and len(curves["quantization_error"]) == len(steps)
    assert cfg.load_config(runs.config_json(res)).params["rows"] is None


@pytest.fixture(scope="module")
def small_ensemble():
    """The example's ensemble of 4 small maps (reliable from 0.95), as the app trains it."""
    from clustering import tables

    frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
    ds = tables.prepare(frame, **runs.example_prepare_options(frame))
    params = {"tau1_grid": (140, 700), "tau2_grid": (125, 625), "n_replicates": 2,
              "rows": 3, "cols": 3, "n_steps": 30, "n_jobs": 1, "reliable_posterior": 0.95}
    return ds, runs.train("qbm", params, ds, {"source": "example",
                                              "path": runs.EXAMPLE_RELPATH})


def test_ensemble_views_read_the_real_attributes(small_ensemble):
    ds, res = small_ensemble
    qbm = res.estimator
    assert runs.flag_threshold(qbm) == 0.95
    ids = runs.object_ids(ds)
    flags = runs.flags_frame(qbm, ids)
    assert len(flags) == len(qbm.flags_) > 0
    # flags_.object is a 0-based row position: the id shown is the id of that row
    for (_, f), pos in zip(flags.iterrows(), qbm.flags_["object"]):
        assert f["id"] == ids[pos] and f["row"] == pos + 1
    assert runs.kept_mask(qbm) == qbm.variances_["kept"].tolist()
    assert len(runs.kept_mask(qbm)) == len(qbm.networks_) == 4
    assert runs.replicate_columns(qbm) == ["theta_u1", "theta_u2"]
    verdict = runs.cochran_verdict(qbm.cochran_)
    assert verdict["homogeneous"] == qbm.cochran_["homogeneous"]
    if verdict["homogeneous"] is not None:
        assert f"{qbm.cochran_['G']:.4f}" in verdict["text"]
    book = pd.read_csv(io.BytesIO(runs.codebook_csv(res, ds)))
    assert len(book) == 9 and book["hits"].sum() == ds.X.shape[0]
    post = runs.posterior_frame(res, ids)
    np.testing.assert_allclose(post["p_max"], res.proba.max(axis=1))


def test_headline_shows_sizes_reliable_share_and_the_kmeans_verdict(small_ensemble):
    ds, res = small_ensemble
    qbm = res.estimator
    comp = res.extra["kmeans"]
    h = runs.headline(qbm, comp)
    sizes = np.bincount(res.labels, minlength=qbm.n_clusters_)
    assert h["sizes"] == " / ".join(str(v) for v in sizes) and h["M"] == str(qbm.n_clusters_)
    own = res.proba[np.arange(len(res.labels)), res.labels]
    share = float(np.mean(own >= 0.95 - 1e-9))
    assert h["reliable"] == f"{share:.0%}"
    assert f"{int(round(share * len(own)))} of {len(own)} objects" in h["reliable_help"]
    assert h["theta"] == f"{qbm.theta_mean_:.4g}"
    assert h["warnings"] == qbm.summary()["warnings"]
    assert h["verdict"] == comp["verdict"]
    assert h["kmeans_better"] == (comp["theta_kmeans"] < comp["theta_ensemble"])
    assert "as set" in h["M_help"]  # M was a number, not chosen from the curve


def test_kmeans_comparison_is_macqueens_against_the_filtered_mean(small_ensemble):
    from clustering.classic import MacQueenKMeans
    from clustering.metrics import theta

    ds, res = small_ensemble
    comp = res.extra["kmeans"]
    assert comp["method"] == "MacQueen's k-means (25)"
    km = MacQueenKMeans(n_clusters=res.estimator.n_clusters_, random_state=0).fit(ds.X)
    assert comp["theta_kmeans"] == pytest.approx(theta(ds.X, km.labels_, km.cluster_centers_))
    assert comp["theta_ensemble"] == res.estimator.theta_mean_
    assert comp["ratio"] == pytest.approx(comp["theta_kmeans"] / comp["theta_ensemble"])
    table = comp["table"]
    assert table["id"].tolist() == runs.object_ids(ds)
    assert table["same"].mean() == pytest.approx(comp["agreement"])
    word = "more compact here" if comp["more_compact"] == "k-means" else "more compactly"
    assert word in comp["verdict"]


def test_filter_table_gives_every_removed_network_its_reason(small_ensemble):
    _, res = small_ensemble
    qbm = res.estimator
    table = runs.filter_table(qbm)
    kept = set(qbm.filter_["kept"])
    for _, row in table.iterrows():
        q = int(row["network"])
        assert row["kept"] == (q in kept)
        assert row["reason"] == ("" if q in kept else qbm.filter_["reasons"][q])
    assert set(table.loc[~table["kept"], "network"]) == set(qbm.filter_["reasons"])
    text = " ".join(runs.filter_summary(qbm))
    assert "Cochran's rule (33), then the level of" in text  # the default cochran+level
    assert f"{qbm.theta_mean_:.6g}" in text and f"{qbm.theta_mean_all_:.6g}" in text


def test_decisions_read_the_score_and_name_each_clusters_recommendation(small_ensemble):
    ds, res = small_ensemble
    qbm = res.estimator
    ids = runs.object_ids(ds)
    assert runs.default_score(runs.score_columns(ds.frame)) == "Phi"
    assert "planted_group" not in runs.score_columns(ds.frame)
    clusters, objects = runs.decision_tables(qbm, ds.frame, "Phi", ids)
    phi = ds.frame["Phi"].to_numpy()
    means = {m: phi[res.labels == m].mean() for m in np.unique(res.labels)}
    lowest = min(means, key=means.get)
    assert int(clusters.index[0]) == lowest and clusters["rank"].iloc[0] == 1
    lines = runs.recommendation_lines(clusters, "Phi")
    assert list(lines) == [int(m) for m in clusters.index]
    assert "lenient" in lines[lowest] and "rank 1" in lines[lowest]
    for _, row in objects.iterrows():
        assert row["id"] == ids[row["row"] - 1]
    assert "Rank 1 = the lowest mean Phi" in runs.ranking_note("Phi")
    names = runs.profile_names(clusters)
    assert names[lowest].startswith(f"cluster {lowest} · rank 1: lenient")


def test_profile_means_are_the_clusters_standardised_means(small_ensemble):
    ds, res = small_ensemble
    qbm = res.estimator
    order = list(np.unique(res.labels))[::-1]
    table = runs.profile_means(qbm, ds.X, ds.feature_names, order)
    assert list(table.index) == order and list(table.columns) == ds.feature_names
    mu, sd = ds.X.mean(axis=0), ds.X.std(axis=0)
    for m in order:
        np.testing.assert_allclose(table.loc[m].to_numpy(),
                                   (ds.X[res.labels == m].mean(axis=0) - mu) / sd)
    # a score that is not a feature is added, z-scored over the objects
    extra = runs.profile_means(qbm, ds.X, ds.feature_names, order, ds.frame, "revenue")
    rev = ds.frame["revenue"].to_numpy(dtype=float)
    for m in order:
        assert extra.loc[m, "revenue"] == pytest.approx(
            (rev[res.labels == m].mean() - rev.mean()) / rev.std())
    # a constant column gives 0, not a division by zero
    flat = np.c_[ds.X, np.ones(len(ds.X))]
    qbm_flat = type("Q", (), {"cluster_means_": np.c_[qbm.cluster_means_,
                                                      np.ones(qbm.n_clusters_)],
                              "labels_": res.labels})()
    z = runs.profile_means(qbm_flat, flat, ds.feature_names + ["one"], order)
    assert (z["one"] == 0).all()


def test_tables_3_and_4_carry_the_ids(small_ensemble):
    ds, res = small_ensemble
    qbm = res.estimator
    ids = runs.object_ids(ds)
    cells = runs.cells_frame(qbm, ids)
    names = qbm.maps_table_["name"].tolist()
    assert cells.columns[0] == "id" and cells["id"].tolist() == ids
    assert list(cells.columns[1:]) == [f"{n} {c}" for n in names for c in ("k", "m")]
    choices = runs.map_choices(qbm)
    best = qbm.maps_.index(qbm.best_map_)
    assert choices[0][0] == best and "best kept map" in choices[0][1]
    assert sorted(k for k, _ in choices) == list(range(len(qbm.maps_)))
    table = runs.map_frame(qbm, ds.X, ids)
    assert table.attrs["name"] == names[best]
    assert table["id"].tolist() == ids and table["object"].tolist() == list(range(1, len(ids) + 1))
    som = qbm.best_map_
    np.testing.assert_allclose(table["d_cell"],
                               np.linalg.norm(ds.X - som.codebook_[som.bmu_], axis=1))
    assert table["k"].tolist() == cells[f"{names[best]} k"].tolist()


def test_cochran_verdict_names_filtered_networks_and_untested_runs():
    v = runs.cochran_verdict({"G": 0.6, "critical": 0.4775, "homogeneous": False, "alpha": 0.05,
                              "removed": [3], "final_homogeneous": True})
    assert v["homogeneous"] is False
    assert "not homogeneous" in v["text"] and "network(s) 3" in v["text"]
    assert "homogeneous after filtering" in v["text"]
    v = runs.cochran_verdict({"G": float("nan"), "critical": float("nan"), "homogeneous": None,
                              "note": "Cochran's test needs at least 2 replicates per network."})
    assert v["homogeneous"] is None
    assert "cannot judge" in v["text"] and "2 replicates" in v["text"]


def test_cochran_verdict_with_zero_variances_cannot_judge():
    from clustering.cochran import ZERO_VARIANCES, filter_ensemble

    # nine networks whose three replicates all give the same criterion: every variance is 0
    thetas = np.repeat(np.linspace(3.0, 5.0, 9)[:, None], 3, axis=1)
    cochran = filter_ensemble(thetas, "cochran")["cochran"]
    v = runs.cochran_verdict(cochran)
    assert v["homogeneous"] is None
    assert v["text"].startswith("Cochran's test cannot judge") and ZERO_VARIANCES in v["text"]
    assert "homogeneous" not in v["text"]  # never "homogeneous" when the test cannot judge
    # table 2 of the article: G = 0.393 under the critical 0.4775, homogeneous
    v = runs.cochran_verdict({"G": 0.393, "critical": 0.4775, "homogeneous": True,
                              "alpha": 0.05, "removed": []})
    assert v["homogeneous"] is True and "are homogeneous" in v["text"]


def test_example_is_prepared_with_its_planted_label():
    from clustering import tables

    frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
    prep = runs.example_prepare_options(frame)
    assert prep["label_column"] == "planted_group" and prep["id_column"] == "enterprise_id"
    ds = tables.prepare(frame, **prep)
    assert sorted(ds.label_names) == ["average", "outlier", "strong", "weak"]
    assert ds.labels.shape == (120,)


def test_labels_csv_is_formula_safe_and_names_true_labels():
    from clustering import tables

    ds = tables.load_csv(b"id,x,y,kind\n=1+2,1,2,a\n@A1,2,1,b\nok,3,3,a\n", id_column="id",
                         label_column="kind")
    res = runs.MethodResult("kmeans", None, np.array([0, 1, 0]), None, None, {}, 0.0)
    frame = pd.read_csv(io.BytesIO(runs.labels_csv(res, ds)), dtype=str)
    assert frame["id"].tolist() == ["'=1+2", "'@A1", "ok"]
    assert frame["true_label"].tolist() == ["a", "b", "a"]
    res.extra["partitions"] = {"=k-means": np.array([0, 1, 0])}
    frame = pd.read_csv(io.BytesIO(runs.partitions_csv(res, ds)), dtype=str)
    assert list(frame.columns) == ["id", "'=k-means"] and frame["id"][0] == "'=1+2"
    table = pd.DataFrame({"value": [1.0]}, index=pd.Index(["+cmd"], name="method"))
    assert b"'+cmd" in runs.table_csv(table, index=True)


def test_labels_csv_has_ids_clusters_and_probabilities():
    class DS:
        X = np.zeros((3, 2))
        ids = np.array(["e1", "e2", "e3"])
        labels = None

    from clustering.config import RunConfig

    res = runs.MethodResult("neural", RunConfig("kmeans", {}, {}), np.array([0, 1, 1]),
                            np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]), None, {}, 0.1)
    frame = pd.read_csv(io.BytesIO(runs.labels_csv(res, DS())))
    assert list(frame.columns) == ["id", "cluster", "p_0", "p_1", "p_max"]
    assert frame["id"].tolist() == ["e1", "e2", "e3"]
    np.testing.assert_allclose(frame["p_1"], [0.1, 0.8, 0.6])
    np.testing.assert_allclose(frame["p_max"], [0.9, 0.8, 0.6])


def test_cochran_verdict_words():
    v = runs.cochran_verdict({"G": 0.393, "critical": 0.4775, "homogeneous": True})
    assert v["homogeneous"] and "0.3930" in v["text"] and "homogeneous" in v["text"]
    v = runs.cochran_verdict({"G": 0.6, "critical": 0.4775, "homogeneous": False})
    assert not v["homogeneous"] and "not homogeneous" in v["text"]


@pytest.mark.slow
def test_networks_train_in_concurrent_threads_despite_keras_name_state():
    """Keras numbers auto-named layers per thread (thread-local uids) and clear_session() resets
    them; the model builder names every layer itself, so sessions training at once in server
    threads (one of them clearing the session) never build a model with clashing names."""
    import keras

    from clustering.neural import NeuralSoftClustering

    X, _ = _blobs(40)
    errors, models = [], []

    def fit(seed):
        try:
            for _ in range(2):
                keras.utils.clear_session(free_memory=False)
                est = NeuralSoftClustering(n_clusters=3, kernel="rational", kernel_param=0.5,
                                           max_epochs=3, n_restarts=2, random_state=seed,
                                           fourier_features=4).fit(X)
                models.append(est.model_)
        except Exception as err:  # collected for the assertion below
            errors.append(repr(err))

    threads = [threading.Thread(target=fit, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    expected = {"x", "standardize", "fourier", "hidden_1", "hidden_2", "hidden_3", "logits",
                "sharp_softmax"}
    for model in models:
        names = [layer.name for layer in model.layers]
        assert len(names) == len(set(names)) and set(names) == expected


def test_streamlit_clean_up_after_a_run_keeps_keras_state(monkeypatch):
    """Streamlit calls keras.backend.clear_session() after every script run (fragments too); a
    background training then rebuilds its kernels on every poll. The app swaps that clean-up."""
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    from ui import runtime

    original = runtime.streamlit_clean_up or script_runner._clean_problem_modules
    monkeypatch.setattr(script_runner, "_clean_problem_modules", original)  # as Streamlit ships
    monkeypatch.setattr(runtime, "streamlit_clean_up", None)
    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: calls.append(1))
    script_runner._clean_problem_modules()
    assert calls == [1]  # Streamlit's own clean-up: the behaviour this guards against
    assert runtime.keep_keras_state() and runtime.keep_keras_state()  # idempotent
    assert runtime.streamlit_clean_up is original
    script_runner._clean_problem_modules()
    assert calls == [1]


def test_shipped_config_turns_off_the_garbage_collection_after_every_run():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" /
                            "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_preload_imports_the_backends_once():
    import sys

    from ui import runtime

    first = runtime.preload()
    assert runtime.preload() is first
    first.join(120)
    assert not first.is_alive()
    from clustering.preload import modules

    assert all(name in sys.modules for name in modules())
