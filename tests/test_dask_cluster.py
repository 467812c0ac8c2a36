"""The app on an existing Dask cluster: a real `dask scheduler` and two `dask worker` processes
on localhost, the app pointed at them with CLUSTERMAP_DASK_SCHEDULER. The work runs on those
workers, with results identical to the embedded default; a worker over its memory limit is
restarted by its nanny, the session gets one sentence, and the next training runs."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from clustering import cluster
from clustering.distributed import SCHEDULER_ENV
from clustering.progress import Progress
from tests.apptest_helpers import generate, goto, new_app, stop_all_jobs, train_som
from ui.jobs import Job

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKER_MEMORY = "2GB"  # a worker with TensorFlow loaded takes about 0.8 GB


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """A scheduler and two single-thread workers of 2 GB, started from the venv."""
    logs = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND="tensorflow",
               TF_CPP_MIN_LOG_LEVEL="2", DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0",
               DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE="False")  # as the Docker image sets
    env.pop(SCHEDULER_ENV, None)
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env, cwd=logs,
                              stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT)]
    for i in range(2):
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
             "--memory-limit", WORKER_MEMORY, "--name", f"remote-{i}", "--no-dashboard",
             "--preload", "clustering.preload"],
            env=env, cwd=logs, stdout=open(logs / f"worker-{i}.log", "w"),
            stderr=subprocess.STDOUT))
    import distributed

    client = None
    try:
        deadline = time.monotonic() + 120
        while client is None:
            try:
                client = distributed.Client(address, timeout=5)
            except OSError:
                assert time.monotonic() < deadline, "the dask scheduler did not start"
                time.sleep(0.5)
        client.wait_for_workers(2, timeout=180)
        workers = {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        yield address, workers
    finally:
        if client is not None:
            client.close()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def on_remote(remote, monkeypatch):
    """The process-wide cluster client pointed at the remote scheduler, then back."""
    stop_all_jobs()
    cluster.close()
    monkeypatch.setenv(SCHEDULER_ENV, remote[0])
    yield remote
    stop_all_jobs()
    cluster.close()


def _train_som(at):
    return train_som(at, 4, 4, 200)


def test_the_app_trains_on_the_existing_cluster_with_the_embedded_results(remote, monkeypatch):
    address, workers = remote
    stop_all_jobs()
    cluster.close()
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    at = generate(new_app(), "blobs", 120)
    job, embedded = _train_som(at)
    assert job.worker not in workers.values()

    monkeypatch.setenv(SCHEDULER_ENV, address)
    cluster.close()
    at = generate(new_app(), "blobs", 120)
    assert any(address in c.value.replace("\\", "") for c in goto(at, "som").caption)
    job, there = _train_som(at)
    assert job.worker in workers.values()
    np.testing.assert_array_equal(there.labels, embedded.labels)
    np.testing.assert_array_equal(there.estimator.codebook_, embedded.estimator.codebook_)
    assert any(f"Ran on Dask worker {job.worker}" in c.value.replace("\\", "") for c in at.caption)
    stop_all_jobs()
    cluster.close()


def _eat_memory(callback, stop):
    callback(Progress("demo", 1, 2, {}, "allocating"))
    hog = []
    for _ in range(60):  # 6 GB in 100 MB steps, far over the worker's 2 GB
        hog.append(np.ones(100 * 2**20 // 8))
        time.sleep(0.05)
    return len(hog)


def _small(callback, stop):
    callback(Progress("demo", 1, 1, {"loss": 0.0}, "done", done=True))
    return "ok"


def test_a_job_over_the_worker_memory_limit_costs_only_its_worker(on_remote):
    store = {"demo": "earlier result"}
    job = Job("demo", _eat_memory, store, label="Greedy job").start()
    assert job.wait(120)
    assert job.error.startswith("Greedy job stopped because the worker process running it "
                                "ended (most likely over its memory limit of 1.9 GB per worker; "
                                "CLUSTERMAP_WORKER_MEMORY raises it")
    assert store == {"demo": "earlier result"}
    nxt = Job("demo", _small, store).start()
    assert nxt.wait(180)
    assert nxt.error is None and store["demo"] == "ok" and nxt.worker in on_remote[1].values()
