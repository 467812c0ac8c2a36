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


def _ensemble_result(threshold=0.95):
    from clustering import tables

    frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
    ds = tables.prepare(frame, **runs.example_prepare_options(frame))
    params = {"tau1_grid": (140, 700), "tau2_grid": (125, 625), "n_replicates": 2,
              "rows": 3, "cols": 3, "n_steps": 30, "n_jobs": 1, "boundary_threshold": threshold}
    return ds, runs.train("qbm", params, ds, {"source": "example",
                                              "path": runs.EXAMPLE_RELPATH})


def test_ensemble_views_read_the_real_attributes():
    ds, res = _ensemble_result(0.95)
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
    assert f"{qbm.cochran_['G']:.4f}" in verdict["text"]
    book = pd.read_csv(io.BytesIO(runs.codebook_csv(res, ds)))
    assert len(book) == 9 and book["hits"].sum() == ds.X.shape[0]
    post = runs.posterior_frame(res, ids)
    np.testing.assert_allclose(post["p_max"], res.proba.max(axis=1))


def test_cochran_verdict_names_filtered_networks_and_untested_runs():
    v = runs.cochran_verdict({"G": 0.6, "critical": 0.4775, "homogeneous": False, "alpha": 0.05,
                              "removed": [3], "final_homogeneous": True})
    assert "not homogeneous" in v["text"] and "network(s) 3" in v["text"]
    v = runs.cochran_verdict({"G": float("nan"), "critical": float("nan"), "homogeneous": True,
                              "note": "Cochran's test needs at least 2 replicates per network."})
    assert "not run" in v["text"] and "2 replicates" in v["text"]


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
