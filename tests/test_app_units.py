"""The app's plain-Python helpers: background jobs, safe text, run downloads, lattice sizes."""
import io
import threading
import time

import numpy as np
import pandas as pd
import pytest

from clustering.errors import DataError
from clustering.progress import Progress
from clustering.som import SOM
from ui import runs
from ui.jobs import Job
from ui.widgets import md_escape


def _wait(job):
    assert job.wait(10)


def test_job_records_progress_history_snapshot_and_result():
    store = {}

    def target(callback, stop):
        for step in range(1, 6):
            callback(Progress("demo", step, 5, {"loss": -step}, f"step {step}",
                              payload=lambda step=step: np.full((2, 2), step)))
        callback(Progress("demo", 5, 5, {"loss": -5.0}, "done", done=True))
        return "model"

    job = Job("demo", target, store, snapshot_every=0.0).start()
    _wait(job)
    assert store["demo"] == "model" and job.result == "model" and job.error is None
    assert job.series("loss") == [-1, -2, -3, -4, -5, -5.0]
    assert job.snapshot_step == 5 and job.snapshot[0, 0] == 5
    assert job.fraction == 1.0 and job.finished and not job.running


def test_job_stop_event_reaches_the_target_and_keeps_its_result():
    started = threading.Event()

    def target(callback, stop):
        steps = 0
        started.set()
        while not stop.is_set():
            steps += 1
            callback(Progress("demo", steps, 10**9, {"loss": 1.0 / steps}))
            time.sleep(0.005)
        return steps

    store = {}
    job = Job("demo", target, store).start()
    started.wait(5)
    time.sleep(0.05)
    job.request_stop()
    _wait(job)
    assert store["demo"] >= 1 and store["demo"] == len(job.series("loss"))


def test_job_turns_errors_into_messages():
    def user_error(callback, stop):
        raise DataError("Column 'x' has text in row 3; fix it.")

    def bug(callback, stop):
        raise KeyError("oops")

    store = {}
    a = Job("a", user_error, store).start()
    b = Job("b", bug, store).start()
    _wait(a)
    _wait(b)
    assert a.error == "Column 'x' has text in row 3; fix it."
    assert "unexpected error" in b.error and "KeyError" in b.error
    assert store == {}


def test_snapshot_failure_does_not_stop_training():
    def target(callback, stop):
        callback(Progress("demo", 1, 2, {"loss": 1.0}, payload=lambda: 1 / 0))
        callback(Progress("demo", 2, 2, {"loss": 0.5}, done=True))
        return "ok"

    store = {}
    job = Job("demo", target, store, snapshot_every=0.0).start()
    _wait(job)
    assert store["demo"] == "ok" and job.snapshot is None


def test_md_escape_disarms_markdown_and_directives():
    text = "**bold** _x_ [link](http://e) :red[alert] :material/home: <b>h</b> `c` # 1."
    escaped = md_escape(text)
    for ch in "*_[]():<>`#.":
        assert ch not in escaped.replace("\\" + ch, "")
    assert escaped.replace("\\", "") == text


def test_suggested_lattice_follows_five_sqrt_n():
    for n in (60, 200, 500, 2000):
        rows, cols = runs.suggested_lattice(n)
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


# ----------------------------------------------------------------------------------- issue 7
def _until_stopped(callback, stop):
    steps = 0
    while not stop.is_set():
        steps += 1
        callback(Progress("demo", steps, 10**9, {"loss": 1.0}))
        time.sleep(0.01)
    return runs.MethodResult("demo", None, np.zeros(1, int), None, None, {}, 0.0, stopped=True)


def test_time_cap_stops_the_job_keeping_its_result():
    store = {}
    job = Job("demo", _until_stopped, store, time_limit=0.3).start()
    assert job.wait(10)
    assert job.timed_out and job.error is None
    assert store["demo"].stop_reason == "time" and store["demo"].stopped
    assert 0.3 <= job.elapsed < 5
    assert runs.status_word(store["demo"]) == "Stopped at the time cap"


def test_user_stop_is_told_apart_from_the_time_cap():
    store = {}
    job = Job("demo", _until_stopped, store, time_limit=60).start()
    time.sleep(0.05)
    job.request_stop()
    assert job.wait(10)
    assert not job.timed_out and store["demo"].stop_reason == "user"
    assert runs.status_word(store["demo"]) == "Stopped by you"


def test_time_cap_setting_comes_from_one_environment_variable(monkeypatch):
    from ui import jobs

    monkeypatch.delenv(jobs.MAX_SECONDS_ENV, raising=False)
    assert jobs.max_train_seconds() == jobs.DEFAULT_MAX_SECONDS == 600
    monkeypatch.setenv(jobs.MAX_SECONDS_ENV, "2.5")
    assert jobs.max_train_seconds() == 2.5
    assert Job("demo", _until_stopped, {}).time_limit == 2.5
    for bad in ("abc", "-1", "0", "nan", "inf"):
        monkeypatch.setenv(jobs.MAX_SECONDS_ENV, bad)
        assert jobs.max_train_seconds() == 600


def test_a_second_job_in_a_session_is_refused_and_nothing_is_lost(monkeypatch):
    from clustering.errors import ClusteringError
    from ui import state

    session: dict = {}
    monkeypatch.setattr(state, "_ss", lambda: session)
    state.results()["som"] = "earlier result"
    first = state.start_job("demo", _until_stopped, "Demo training")
    try:
        with pytest.raises(ClusteringError, match="One training runs at a time: Demo training"):
            state.start_job("other", _until_stopped, "Other")
        assert state.job() is first and first.running and not first.stop.is_set()
        assert state.results()["som"] == "earlier result"
    finally:
        first.request_stop()
        assert first.wait(10)
    assert state.start_job("other", lambda callback, stop: None, "Other").wait(10)


def test_new_data_is_refused_while_a_training_runs_on_the_current_data(monkeypatch):
    """A result must never be stored against data it was not trained on."""
    from clustering.errors import ClusteringError
    from ui import state

    session: dict = {}
    monkeypatch.setattr(state, "_ss", lambda: session)
    state.set_dataset("old data", {"source": "generator", "name": "blobs"}, "blobs")
    state.results()["som"] = "result on the old data"
    first = state.start_job("neural", _until_stopped, "Neural clustering")
    try:
        with pytest.raises(ClusteringError, match="Neural clustering is training on the current"):
            state.set_dataset("new data", {"source": "generator", "name": "moons"}, "moons")
        assert state.dataset() == "old data" and state.data_label() == "blobs"
        assert state.results()["som"] == "result on the old data"
    finally:
        first.request_stop()
        assert first.wait(10)
    state.set_dataset("new data", {"source": "generator", "name": "moons"}, "moons")
    assert state.dataset() == "new data" and state.results() == {}


def _wait_until(cond, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_server_wide_slots_queue_jobs_first_come_first_served():
    from ui.jobs import JobSlots

    slots = JobSlots(limit=2)
    order = []

    def make(name):
        def target(callback, stop):
            order.append(name)
            return _until_stopped(callback, stop)
        return target

    jobs = [Job(f"j{i}", make(f"j{i}"), {}, slots=slots, label=f"Job {i}") for i in range(4)]
    for job in jobs:
        job.start()
        time.sleep(0.05)  # a definite arrival order
    try:
        _wait_until(lambda: len(order) == 2)
        time.sleep(0.2)
        assert order == ["j0", "j1"] and slots.active == 2
        assert jobs[2].waiting and jobs[3].waiting
        assert jobs[2].status_line() == ("Job 2: waiting for a free worker (0 jobs ahead; "
                                         "2 train at a time on this server)")
        assert "(1 job ahead;" in jobs[3].status_line()
        assert jobs[2].elapsed == 0.0  # the time cap and the clock start with the slot
        jobs[0].request_stop()
        _wait_until(lambda: order == ["j0", "j1", "j2"])
        assert not jobs[2].waiting and jobs[3].waiting
    finally:
        for job in jobs:
            job.request_stop()
        for job in jobs:
            assert job.wait(10)
    assert slots.active == 0
    assert order == ["j0", "j1", "j2"] and jobs[3].cancelled and jobs[3].finished_at is not None


def test_stop_while_waiting_leaves_the_queue_and_trains_nothing():
    from ui.jobs import JobSlots

    slots = JobSlots(limit=1)
    store = {"demo": "earlier result"}
    first = Job("first", _until_stopped, {}, slots=slots).start()
    _wait_until(lambda: slots.active == 1)
    queued = Job("demo", _until_stopped, store, slots=slots).start()
    _wait_until(lambda: slots.position(queued) == 0)
    queued.request_stop()
    assert queued.wait(10)
    assert queued.cancelled and queued.error is None and store == {"demo": "earlier result"}
    assert slots.position(queued) is None
    first.request_stop()
    assert first.wait(10) and slots.active == 0


def test_concurrency_setting_comes_from_one_environment_variable(monkeypatch):
    import os

    from ui import jobs

    monkeypatch.delenv(jobs.MAX_JOBS_ENV, raising=False)
    assert jobs.max_concurrent_jobs() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "3")
    assert jobs.max_concurrent_jobs() == 3 and jobs.JobSlots().limit == 3
    for bad in ("abc", "-1", "0", "1.5"):
        monkeypatch.setenv(jobs.MAX_JOBS_ENV, bad)
        assert jobs.max_concurrent_jobs() == max(1, os.cpu_count() or 1)


def test_snapshot_title_follows_training():
    seen = []
    gate = threading.Event()

    def target(callback, stop):
        for epoch in (25, 50):
            callback(Progress("neural", epoch, 100, {"loss": -1.0},
                              f"training: restart 1/2, epoch {epoch}",
                              payload=lambda: np.ones((2, 2))))
            gate.wait(5)
            gate.clear()
        return None

    job = Job("neural", target, {}, snapshot_every=0.0).start()
    for _ in range(2):
        deadline = time.monotonic() + 5
        while job.snapshot_step < (25 if not seen else 50) and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(job.snapshot_title("Soft clusters"))
        gate.set()
    _wait(job)
    assert seen == ["Soft clusters, restart 1/2, epoch 25", "Soft clusters, restart 1/2, epoch 50"]


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
    assert all(name in sys.modules for name in runtime.PRELOAD_MODULES)
