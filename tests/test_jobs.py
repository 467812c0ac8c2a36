"""Training jobs on the server's Dask workers: progress, Stop, the time cap, dead workers, the
fair bounded queue, closed sessions. The targets are module-level functions: a job's target
travels to a worker process, which imports this module to run it."""
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from clustering.errors import ClusteringError, DataError
from clustering.progress import Progress
from ui import jobs, runs
from ui.jobs import Job, JobSlots


def _wait(job, seconds=60):
    assert job.wait(seconds)


def _wait_until(cond, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


# ----------------------------------------------------------------------------------- targets
def _five_steps(callback, stop):
    for step in range(1, 6):
        callback(Progress("demo", step, 5, {"loss": -step}, f"step {step}",
                          payload=lambda step=step: np.full((2, 2), step)))
    callback(Progress("demo", 5, 5, {"loss": -5.0}, "done", done=True))
    return "model"


def _count_until_stopped(callback, stop):
    steps = 0
    while not stop.is_set():
        steps += 1
        callback(Progress("demo", steps, 10**9, {"loss": 1.0 / steps}))
        time.sleep(0.005)
    return steps


def _until_stopped(callback, stop):
    steps = 0
    while not stop.is_set():
        steps += 1
        callback(Progress("demo", steps, 10**9, {"loss": 1.0}))
        time.sleep(0.01)
    return runs.MethodResult("demo", None, np.zeros(1, int), None, None, {}, 0.0, stopped=True)


def _user_error(callback, stop):
    raise DataError("Column 'x' has text in row 3; fix it.")


def _bug(callback, stop):
    raise KeyError("oops")


def _bad_snapshot(callback, stop):
    callback(Progress("demo", 1, 2, {"loss": 1.0}, payload=lambda: 1 / 0))
    callback(Progress("demo", 2, 2, {"loss": 0.5}, done=True))
    return "ok"


def _two_epochs(callback, stop):
    callback(Progress("neural", 25, 100, {"loss": -1.0}, "training: restart 1/2, epoch 25",
                      payload=lambda: np.ones((2, 2))))
    while not stop.is_set():
        time.sleep(0.01)
    callback(Progress("neural", 50, 100, {"loss": -1.0}, "training: restart 1/2, epoch 50",
                      payload=lambda: np.ones((2, 2)), done=True))


def _early_stopped_restart(callback, stop):
    metrics = {"loss": -1.25, "best_loss": -1.3, "restart": 1.0, "n_restarts": 2.0,
               "epoch": 60.0, "max_epochs": 5000.0, "elapsed": 3.4, "early_stopped": 1.0}
    callback(Progress("neural", 50, 10000, {**metrics, "epoch": 50.0, "early_stopped": 0.0},
                      "training: restart 1 of 2: epoch 50"))
    callback(Progress("neural", 60, 10000, metrics, "training: restart 1 of 2 stopped early"))
    while not stop.is_set():
        time.sleep(0.01)


def _where(callback, stop):
    return os.getpid()


def _report_pid_then_wait(callback, stop):
    callback(Progress("demo", 1, 10, {"pid": float(os.getpid())}, "running"))
    while not stop.is_set():
        time.sleep(0.05)
    return "stopped"


def _ignore_stop(callback, stop):
    callback(Progress("demo", 1, 10, {"pid": float(os.getpid())}, "busy"))
    time.sleep(600)  # like a classic method that never reads Stop
    return "too late"


# ----------------------------------------------------------------------------------- behaviour
def test_a_job_runs_in_a_worker_process_never_in_the_web_process():
    store = {}
    job = Job("demo", _where, store).start()
    _wait(job, 180)  # the first job may wait for the cluster to start
    assert job.error is None and isinstance(store["demo"], int)
    assert store["demo"] != os.getpid() and job.worker.startswith("tcp://")


def test_job_records_progress_history_snapshot_and_result():
    store = {}
    job = Job("demo", _five_steps, store, snapshot_every=0.0).start()
    _wait(job)
    assert store["demo"] == "model" and job.result == "model" and job.error is None
    assert job.series("loss") == [-1, -2, -3, -4, -5, -5.0]
    assert job.snapshot_step == 5 and job.snapshot[0, 0] == 5
    assert job.fraction == 1.0 and job.finished and not job.running


def test_job_stop_event_reaches_the_target_and_keeps_its_result():
    store = {}
    job = Job("demo", _count_until_stopped, store).start()
    _wait_until(lambda: job.progress is not None)
    job.request_stop()
    _wait(job)
    assert store["demo"] >= 1 and store["demo"] == len(job.series("loss"))


def test_job_turns_errors_into_messages():
    store = {}
    a = Job("a", _user_error, store).start()
    b = Job("b", _bug, store).start()
    _wait(a)
    _wait(b)
    assert a.error == "Column 'x' has text in row 3; fix it."
    assert "unexpected error" in b.error and "KeyError" in b.error
    assert store == {}


def test_a_job_failing_while_the_cluster_closes_was_interrupted_not_failed(monkeypatch):
    """At a server's exit Dask's own handler may close the cluster before ours marks the jobs:
    the job that fails then is recorded as interrupted (to be run again), with that message."""
    from clustering import cluster
    from ui.store_jobs import INTERRUPTED

    ended = []
    monkeypatch.setattr(cluster, "closing", lambda: True)
    job = Job("b", _bug, {}, on_end=lambda j: ended.append((j.interrupted, j.error))).start()
    _wait(job)
    assert job.interrupted and job.error == INTERRUPTED
    assert ended == [(True, INTERRUPTED)]
    monkeypatch.setattr(cluster, "closing", lambda: False)
    own = Job("c", _bug, {}).start()  # the same failure on a live cluster is its own
    _wait(own)
    assert not own.interrupted and "KeyError" in own.error


def test_cluster_closing_is_said_from_close_until_the_next_start():
    from clustering import cluster

    assert not cluster.closing()
    cluster.close()
    assert cluster.closing()
    cluster.start()
    assert not cluster.closing()
    cluster.client()  # started again for the tests that follow


def test_snapshot_failure_does_not_stop_training():
    store = {}
    job = Job("demo", _bad_snapshot, store, snapshot_every=0.0).start()
    _wait(job)
    assert store["demo"] == "ok" and job.snapshot is None


def test_restart_progress_crosses_the_worker_and_reads_on_the_live_panel():
    from ui import live
    from ui.live import status_text

    job = Job("neural", _early_stopped_restart, {}).start()
    _wait_until(lambda: job.progress is not None)
    job.request_stop()
    _wait(job)  # the reports still pending are sent as the job ends
    # the restart's metrics came through the worker's codec: restart 1 of 2 stopped early is
    # half the run, not the 60 / 10000 epochs against the most epochs
    assert job.fraction == 0.5
    assert status_text(job.progress.metrics) == ("Restart 1 of 2 · epoch 60 of at most 5000 "
                                                 "(stopped early) · loss -1.25 (best -1.3) · "
                                                 "3 s so far")
    # the curves draw the loss only, never where the run stands
    fig = live._curves_figure(job)
    assert [trace.name for trace in fig.data] == ["loss"]


def test_status_text_needs_restart_metrics():
    from ui.live import status_text

    assert status_text({"quantization_error": 0.5}) == ""
    assert status_text({"restart": 2.0, "n_restarts": 5.0, "epoch": 120.0,
                        "max_epochs": 5000.0}, elapsed=14.2) == (
        "Restart 2 of 5 · epoch 120 of at most 5000 · 14 s so far")


def test_snapshot_title_follows_training():
    job = Job("neural", _two_epochs, {}, snapshot_every=0.0).start()
    _wait_until(lambda: job.snapshot_step == 25)
    first = job.snapshot_title("Soft clusters")
    job.request_stop()
    _wait(job)
    assert first == "Soft clusters, restart 1/2, epoch 25"
    assert job.snapshot_title("Soft clusters") == "Soft clusters, restart 1/2, epoch 50"


def test_time_cap_stops_the_job_keeping_its_result():
    store = {}
    job = Job("demo", _until_stopped, store, time_limit=0.3).start()
    _wait(job)
    assert job.timed_out and job.error is None
    assert store["demo"].stop_reason == "time" and store["demo"].stopped
    assert 0.3 <= job.elapsed < 10
    assert runs.status_word(store["demo"]) == "Stopped at the time cap"


def test_user_stop_is_told_apart_from_the_time_cap():
    store = {}
    job = Job("demo", _until_stopped, store, time_limit=60).start()
    _wait_until(lambda: job.progress is not None)
    job.request_stop()
    _wait(job)
    assert not job.timed_out and store["demo"].stop_reason == "user"
    assert runs.status_word(store["demo"]) == "Stopped by you"


def test_time_cap_setting_comes_from_one_environment_variable(monkeypatch):
    monkeypatch.delenv(jobs.MAX_SECONDS_ENV, raising=False)
    assert jobs.max_train_seconds() == jobs.DEFAULT_MAX_SECONDS == 600
    monkeypatch.setenv(jobs.MAX_SECONDS_ENV, "2.5")
    assert jobs.max_train_seconds() == 2.5
    assert Job("demo", _until_stopped, {}).time_limit == 2.5
    for bad in ("abc", "-1", "0", "nan", "inf"):
        monkeypatch.setenv(jobs.MAX_SECONDS_ENV, bad)
        assert jobs.max_train_seconds() == 600


def test_code_that_never_reads_stop_loses_its_worker_at_the_cap(monkeypatch):
    monkeypatch.setattr(jobs, "GRACE_SECONDS", 1.0)
    store = {"demo": "earlier result"}
    job = Job("demo", _ignore_stop, store, time_limit=1.0, label="Demo").start()
    _wait_until(lambda: job.progress is not None)
    pid = int(job.progress.metrics["pid"])
    _wait(job, 90)
    assert job.timed_out and store == {"demo": "earlier result"}
    assert job.error.startswith("Demo did not stop within 1 s of being stopped at the time cap "
                                f"of 1 s ({jobs.MAX_SECONDS_ENV} raises it): its worker was "
                                "restarted")
    _wait_until(lambda: not _pid_alive(pid), 30)  # the stuck process is gone
    nxt = Job("demo", _five_steps, store).start()
    _wait(nxt, 120)
    assert nxt.error is None and store["demo"] == "model"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_worker_killed_mid_training_gives_one_sentence_and_the_next_job_runs():
    store = {"demo": "earlier result"}
    job = Job("demo", _report_pid_then_wait, store, label="Demo training").start()
    _wait_until(lambda: job.progress is not None)
    os.kill(int(job.progress.metrics["pid"]), signal.SIGKILL)
    _wait(job, 60)
    assert job.error.startswith("Demo training stopped because the worker process running it "
                                "ended (most likely over its memory limit of ")
    assert "CLUSTERMAP_WORKER_MEMORY raises it" in job.error
    assert job.error.endswith("the next training runs on a fresh worker.")
    assert job.error.count(". ") == 0  # one sentence
    assert store == {"demo": "earlier result"}
    nxt = Job("demo", _five_steps, store).start()
    _wait(nxt, 120)
    assert nxt.error is None and store["demo"] == "model"


def test_a_job_of_a_closed_session_is_stopped(monkeypatch):
    monkeypatch.setattr(jobs, "ORPHAN_SECONDS", 0.3)
    connected = threading.Event()
    connected.set()
    store = {}
    job = Job("demo", _until_stopped, store, alive=connected.is_set).start()
    _wait_until(lambda: job.progress is not None)
    time.sleep(0.5)
    assert job.running  # connected: it goes on
    connected.clear()  # the tab was closed
    _wait(job, 30)
    assert job.abandoned and not job.timed_out and store["demo"].stopped


# ----------------------------------------------------------------------------------- sessions
def test_a_second_job_in_a_session_is_refused_and_nothing_is_lost(monkeypatch):
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
        _wait(first)
    assert state.start_job("other", lambda callback, stop: None, "Other").wait(60)


def test_new_data_is_refused_while_a_training_runs_on_the_current_data(monkeypatch):
    """A result must never be stored against data it was not trained on."""
    from ui import state

    from clustering.tables import from_arrays

    session: dict = {}
    monkeypatch.setattr(state, "_ss", lambda: session)
    old, new = from_arrays(np.zeros((4, 2))), from_arrays(np.ones((5, 2)))
    state.set_dataset(old, {"source": "generator", "name": "blobs"}, "blobs")
    state.results()["som"] = "result on the old data"
    first = state.start_job("neural", _until_stopped, "Neural clustering")
    try:
        with pytest.raises(ClusteringError, match="Neural clustering is training on the current"):
            state.set_dataset(new, {"source": "generator", "name": "moons"}, "moons")
        assert state.dataset() is old and state.data_label() == "blobs"
        assert state.results()["som"] == "result on the old data"
    finally:
        first.request_stop()
        _wait(first)
    state.set_dataset(new, {"source": "generator", "name": "moons"}, "moons")
    assert state.dataset() is new and state.results() == {}


# ----------------------------------------------------------------------------------- the queue
def test_server_wide_slots_queue_jobs_first_come_first_served():
    slots = JobSlots(limit=2)
    queue = [Job(f"j{i}", _until_stopped, {}, slots=slots, label=f"Job {i}") for i in range(4)]
    for job in queue:
        job.start()
        time.sleep(0.05)  # a definite arrival order
    try:
        _wait_until(lambda: slots.active == 2 and all(j.progress for j in queue[:2]))
        assert queue[2].waiting and queue[3].waiting
        assert queue[2].status_line() == ("Job 2: waiting for a free worker (0 jobs ahead; "
                                          "2 train at a time on this server)")
        assert "(1 job ahead;" in queue[3].status_line()
        assert queue[2].elapsed == 0.0  # the time cap and the clock start with the slot
        queue[0].request_stop()
        _wait_until(lambda: not queue[2].waiting)
        assert queue[3].waiting
    finally:
        for job in queue:
            job.request_stop()
        for job in queue:
            _wait(job)
    assert slots.active == 0
    assert queue[3].cancelled and queue[3].finished_at is not None
    assert not any(j.cancelled for j in queue[:3])


def test_stop_while_waiting_leaves_the_queue_and_trains_nothing():
    slots = JobSlots(limit=1)
    store = {"demo": "earlier result"}
    first = Job("first", _until_stopped, {}, slots=slots).start()
    _wait_until(lambda: slots.active == 1)
    queued = Job("demo", _until_stopped, store, slots=slots).start()
    _wait_until(lambda: slots.position(queued) == 0)
    queued.request_stop()
    _wait(queued)
    assert queued.cancelled and queued.error is None and store == {"demo": "earlier result"}
    assert slots.position(queued) is None
    first.request_stop()
    _wait(first)
    assert slots.active == 0


def _holder(slots, owner, client, cancel):
    slots.enqueue(owner, client)
    return threading.Thread(target=slots.acquire, args=(owner, cancel), daemon=True)


def test_a_freed_slot_goes_to_the_client_running_fewest_jobs():
    slots = JobSlots(limit=2, per_client=3)
    cancel = threading.Event()
    for owner in ("greedy-1", "greedy-2"):  # one visitor holds both slots
        _holder(slots, owner, "10.0.0.1", cancel).start()
    _wait_until(lambda: slots.active == 2)
    waiting = [_holder(slots, "greedy-3", "10.0.0.1", cancel),
               _holder(slots, "honest", "10.0.0.2", cancel)]
    for t in waiting:
        t.start()
    _wait_until(lambda: slots.position("honest") is not None
                and slots.position("greedy-3") is not None)
    assert slots.position("honest") == 0 and slots.position("greedy-3") == 1
    slots.release("greedy-1")
    waiting[1].join(5)
    assert not waiting[1].is_alive()  # the honest visitor got the slot, arriving later
    assert slots.position("greedy-3") == 0
    cancel.set()
    waiting[0].join(5)


def test_the_queue_is_bounded_and_each_client_holds_a_few_jobs():
    slots = JobSlots(limit=1, max_queued=2, per_client=2)
    slots.enqueue("a1", "10.0.0.1")
    slots.enqueue("a2", "10.0.0.1")
    with pytest.raises(ClusteringError) as err:
        slots.enqueue("a3", "10.0.0.1")
    assert str(err.value).startswith("Your address already has 2 trainings running or waiting")
    assert "(at most 2 per visitor, CLUSTERMAP_MAX_JOBS_PER_CLIENT)" in str(err.value)
    with pytest.raises(ClusteringError) as err:
        slots.enqueue("b1", "10.0.0.2")
    assert str(err.value).startswith("The server is busy: 2 trainings are already waiting for "
                                     "a worker (at most 2 wait at once, CLUSTERMAP_MAX_QUEUED)")
    assert "nothing was started and your settings are kept" in str(err.value)


def test_a_refused_start_leaves_the_session_as_it_was(monkeypatch):
    from ui import state

    session: dict = {}
    monkeypatch.setattr(state, "_ss", lambda: session)
    monkeypatch.setattr(jobs, "SLOTS", JobSlots(limit=1, max_queued=1))
    monkeypatch.setattr(state, "client_address", lambda: None)
    state.results()["som"] = "earlier result"
    before = state.job()
    jobs.SLOTS.enqueue("someone else")
    with pytest.raises(ClusteringError, match="The server is busy"):
        state.start_job("demo", _until_stopped, "Demo")
    assert state.job() is before and state.results() == {"som": "earlier result"}
    ws = state.current_workspace()
    assert not [j for j in ws.jobs() if j.label == "Demo"]  # nor recorded in the workspace


def test_concurrency_setting_comes_from_one_environment_variable(monkeypatch):
    from clustering import cluster

    monkeypatch.delenv(jobs.MAX_JOBS_ENV, raising=False)
    assert jobs.max_concurrent_jobs() == cluster.n_workers()
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "3")
    assert jobs.max_concurrent_jobs() == 3 and jobs.JobSlots().limit == 3
    for bad in ("abc", "-1", "0", "1.5"):
        monkeypatch.setenv(jobs.MAX_JOBS_ENV, bad)
        assert jobs.max_concurrent_jobs() == cluster.n_workers()


# ----------------------------------------------------------------------------------- resources
def test_the_cluster_is_sized_by_the_container_and_its_settings(monkeypatch):
    from clustering import resources

    for env in (resources.WORKERS_ENV, resources.WORKER_MEMORY_ENV, resources.MEMORY_ENV):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setattr(resources, "cpu_quota", lambda: 3)  # e.g. docker run --cpus 3
    monkeypatch.setattr(resources, "container_memory", lambda: 8 * 2**30)  # --memory 8g
    assert resources.worker_count() == 3
    # the web process keeps 1.5 GB; the rest is shared among the workers
    assert resources.worker_memory() == (8 * 2**30 - 1536 * 2**20) // 3
    assert resources.job_memory() == resources.worker_memory() - resources.WORKER_BASELINE
    monkeypatch.setattr(resources, "container_memory", lambda: 2 * 2**30)
    assert resources.web_reserve(2 * 2**30) == 2**29  # at most a quarter
    assert resources.job_memory() == int(resources.worker_memory() * resources.MIN_JOB_SHARE)
    monkeypatch.setenv(resources.WORKERS_ENV, "5")
    monkeypatch.setenv(resources.WORKER_MEMORY_ENV, "2G")
    monkeypatch.setenv(resources.MEMORY_ENV, "512M")
    assert (resources.worker_count(), resources.worker_memory(), resources.job_memory()) == \
        (5, 2 * 2**30, 512 * 2**20)
    monkeypatch.setenv(resources.WORKERS_ENV, "many")
    assert resources.worker_count() == 3  # a bad value: logged, the default used
    monkeypatch.setenv(resources.WORKER_MEMORY_ENV, "lots")
    with pytest.raises(ClusteringError, match="CLUSTERMAP_WORKER_MEMORY: expected bytes"):
        resources.worker_memory()


def test_a_large_upload_is_parsed_and_prepared_on_a_worker_a_small_one_here(monkeypatch):
    from clustering import tables

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(30_000, 4)).round(6), columns=list("abcd"))
    frame.insert(0, "id", [f"e{i}" for i in range(len(frame))])
    big = frame.to_csv(index=False, sep=";", decimal=",").encode()
    small = frame.head(50).to_csv(index=False).encode()
    assert len(big) >= runs.WORKER_TABLE_BYTES > len(small)
    web, here = os.getpid(), []
    read, prep = tables.read_csv, tables.prepare

    def read_guarded(data, **kw):  # travel to the worker with the task
        if os.getpid() == web:
            here.append(("read", len(data)))
        return read(data, **kw)

    def prepare_guarded(table, **kw):
        if os.getpid() == web:
            here.append(("prepare", len(table)))
        return prep(table, **kw)

    monkeypatch.setattr(tables, "read_csv", read_guarded)
    monkeypatch.setattr(tables, "prepare", prepare_guarded)
    parsed = runs.read_table(big, {})
    assert here == [] and parsed.shape == (30_000, 5)
    assert parsed.attrs["csv"]["decimal"] == ","  # what was detected comes back with the frame
    pd.testing.assert_frame_equal(parsed, read(big))
    ds = runs.prepare_table(parsed, {"id_column": "id"})
    assert here == [] and ds.X.shape == (30_000, 4)
    np.testing.assert_array_equal(ds.X, prep(parsed, id_column="id").X)
    assert runs.read_table(small, {}).shape == (50, 5) and here == [("read", len(small))]
    with pytest.raises(ClusteringError, match="no column named 'nope'"):  # the worker's error, raised here
        runs.prepare_table(parsed, {"id_column": "nope"})


def test_a_large_data_set_is_made_on_a_worker_a_small_one_here(monkeypatch):
    from clustering import config as cfg

    big = {"source": "generator", "name": "blobs",
           "params": {"n_samples": 100_000, "n_features": 10, "random_state": 1}}
    small = {"source": "generator", "name": "blobs", "params": {"n_samples": 100}}
    web, original, made_here = os.getpid(), cfg.load_data, []

    def guarded(spec, csv=None):  # travels to the worker with the task
        if os.getpid() == web:
            made_here.append(spec["params"]["n_samples"])
        return original(spec, csv)

    monkeypatch.setattr(cfg, "load_data", guarded)
    ds = runs.load_data(big)
    assert ds.X.shape == (100_000, 10) and made_here == []  # not made in this process
    np.testing.assert_array_equal(ds.X, original(big).X)
    assert runs.load_data(small).X.shape == (100, 2) and made_here == [100]
    too_big = {"source": "generator", "name": "blobs", "params": {"n_samples": 10**6}}
    with pytest.raises(ClusteringError, match="CLUSTERMAP_MAX_ROWS"):
        runs.load_data(too_big)  # refused before anything is made, on the worker


def test_workers_run_at_a_lower_priority_than_the_web_server(monkeypatch):
    from clustering import cluster, resources

    web = os.nice(0)
    on_workers = cluster.client().run(os.nice, 0)  # each worker's niceness
    assert on_workers and all(n == web + resources.DEFAULT_WORKER_NICE for n in on_workers.values())
    monkeypatch.setenv(resources.WORKER_NICE_ENV, "0")
    assert resources.worker_niceness() == 0
    monkeypatch.setenv(resources.WORKER_NICE_ENV, "25")  # out of range: logged, the default used
    assert resources.worker_niceness() == resources.DEFAULT_WORKER_NICE
