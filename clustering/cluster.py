"""The Dask cluster a server's jobs run on: one per process, shared by every session.

``CLUSTERMAP_DASK_SCHEDULER`` set to an address (``tcp://host:8786``): the existing cluster there
(its workers need this package; start them with ``dask worker ADDRESS --preload
clustering.preload``). Unset (or ``local`` / ``auto`` / ``localcluster``): an embedded cluster
of :func:`clustering.resources.worker_count` worker processes, one thread each, each limited to
:func:`clustering.resources.worker_memory` (its nanny stops and restarts a worker that goes over),
with the backends preloaded (:mod:`clustering.preload`). It is Dask's ``SubprocessCluster``:
the scheduler and every worker's nanny run in processes of their own, not in the web process (a
``LocalCluster`` keeps them there, where their event loops took about 7 % of a core at idle). It
is started once, lazily (:func:`start` begins it in the background so the first job does not
wait), and closed when the process exits.

The embedded scheduler never retries a job whose worker died (``allowed-failures`` 0): a job
that runs out of memory costs one worker once, not every worker in turn; and its workers are never
paused for memory (:data:`WORKER_CONFIG`). An existing cluster should be started with the same
settings: ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0`` for the scheduler and
``DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE=False`` for the workers (the Docker image sets both).
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from pathlib import Path
from typing import Optional

from clustering import resources
from clustering.distributed import (CONNECT_TIMEOUT, KEYWORDS, SCHEDULER_ENV, check_scheduler,
                                    fmt_bytes)
from clustering.errors import ClusteringError
from clustering.i18n import Message, N_, Text

log = logging.getLogger("clustermap.cluster")

#: Seconds to wait for the embedded cluster's workers (they import TensorFlow as they start).
START_TIMEOUT = 180.0

#: Dask settings of the embedded cluster: a dead worker's job is not retried; a worker whose
#: nanny restarts it (importing TensorFlow again, slow on a busy machine) is not given up as lost
#: after Dask's default 15 s; a worker is never paused for memory (pausing suits data-heavy
#: graphs; here it would leave a job waiting for ever, since a worker with TensorFlow loaded
#: already holds much of a small limit): over its limit the nanny restarts it instead.
WORKER_CONFIG = {"distributed.scheduler.allowed-failures": 0,
                 "distributed.deploy.lost-worker-timeout": f"{START_TIMEOUT:g}s",
                 "distributed.worker.memory.pause": False}

_lock = threading.Lock()
_ready = threading.Event()
_client = None
_cluster = None
_error: Optional[Message] = None
_starter: Optional[threading.Thread] = None
#: Set when this process begins to close its cluster (at exit).
_closing = threading.Event()


def address() -> Optional[str]:
    """The existing scheduler's address from ``CLUSTERMAP_DASK_SCHEDULER``; None: embedded."""
    value = check_scheduler(os.environ.get(SCHEDULER_ENV, "").strip() or None, SCHEDULER_ENV)
    return None if value is None or value in KEYWORDS else value


def _embedded():
    import distributed
    from distributed.deploy.subprocess import SubprocessCluster

    dask_config_for_workers()
    cluster = SubprocessCluster(
        n_workers=resources.worker_count(), threads_per_worker=1, dashboard_address=None,
        worker_kwargs={"memory_limit": resources.worker_memory(),
                       "preload": ["clustering.preload"]},
        silence_logs=logging.ERROR)
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(resources.worker_count(), timeout=START_TIMEOUT)
    return cluster, client


def dask_config_for_workers() -> None:
    """Apply :data:`WORKER_CONFIG` here and, through the environment, to the processes the
    embedded cluster starts (a setting already in the environment is kept); those processes
    import this package from where this process found it, whatever their working directory."""
    import dask

    dask.config.set(WORKER_CONFIG)
    for key, value in WORKER_CONFIG.items():
        env = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
        os.environ.setdefault(env, str(value))
    root = str(Path(__file__).resolve().parents[1])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root] + paths)


def _existing(where: str):
    import distributed

    try:
        client = distributed.Client(where, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ClusteringError(N_("{env}: no Dask scheduler answered at {address} within "
                                 "{timeout:g} s ({error}); the server cannot train until it "
                                 "does. Your data and results are kept."), env=SCHEDULER_ENV,
                              address=where, timeout=CONNECT_TIMEOUT,
                              error=type(err).__name__) from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        client.close()
        raise ClusteringError(N_("{env}: the Dask scheduler at {address} has no workers; start "
                                 "some (dask worker {address} --preload clustering.preload)."),
                              env=SCHEDULER_ENV, address=where) from None
    return None, client


def _connect() -> None:
    global _client, _cluster, _error
    try:
        where = address()
        _cluster, _client = _existing(where) if where else _embedded()
        _error = None
        log.info("jobs run on %s", describe())
    except ClusteringError as err:
        _error = err.message
    except Exception as err:  # noqa: BLE001 - the pages show one sentence, the log the rest
        log.error("the Dask cluster did not start", exc_info=True)
        _error = Message(N_("The server's Dask workers did not start ({error}: {detail}); "
                            "trainings cannot run until the server is restarted."),
                         error=type(err).__name__, detail=str(err))
    finally:
        _ready.set()


def _alive() -> bool:
    return _client is not None and _client.status == "running"


def start() -> None:
    """Begin connecting (or starting the embedded cluster) in the background; returns at once."""
    global _starter
    with _lock:
        if _starter is not None and (_starter.is_alive() or _alive()):
            return
        _closing.clear()  # a start after a close (tests) is a fresh cluster
        _ready.clear()
        _starter = threading.Thread(target=_connect, name="clustermap-cluster", daemon=True)
        _starter.start()


def client(timeout: float = START_TIMEOUT):
    """The shared ``distributed.Client``, started on first use; a :class:`ClusteringError` when
    no cluster can be had (the message says why and what to set)."""
    if not _alive():
        start()
    if not _ready.wait(timeout):
        raise ClusteringError(N_("The server's Dask workers did not start within {timeout:g} "
                                 "s; try again in a minute."), timeout=timeout)
    if not _alive():
        raise ClusteringError(_error or N_("The server's Dask cluster is not running."))
    return _client


#: Seconds for which :func:`n_workers` reuses its last answer (every waiting job and every
#: status line asks; each question is a round trip to the scheduler).
WORKERS_TTL = 5.0
_workers_seen: tuple[float, int] = (-float("inf"), 0)


def n_workers() -> int:
    """Worker threads of the cluster (the embedded cluster's planned size before it runs), as
    seen at most :data:`WORKERS_TTL` seconds ago."""
    global _workers_seen
    now = time.monotonic()
    if _alive() and now - _workers_seen[0] < WORKERS_TTL:
        return _workers_seen[1]
    if _alive():
        try:
            count = max(1, sum(_client.nthreads().values()))
            _workers_seen = (now, count)
            return count
        except Exception:  # noqa: BLE001 - a figure for a status line
            pass
    return 1 if address() else resources.worker_count()


def describe() -> Text:
    """One line: where jobs run, e.g. "the embedded Dask cluster, 2 workers of 8.8 GB" (the
    English text, shown in the reader's language by ``i18n.text``)."""
    where = address()
    workers = n_workers()
    if where:
        template = (N_("the Dask cluster at {address}, {n} worker") if workers == 1 else
                    N_("the Dask cluster at {address}, {n} workers"))
        return Text(Message(template, address=where, n=workers))
    template = (N_("the embedded Dask cluster, {n} worker of {memory}") if workers == 1 else
                N_("the embedded Dask cluster, {n} workers of {memory}"))
    return Text(Message(template, n=workers, memory=fmt_bytes(resources.worker_memory())))


def restart_worker(worker: str) -> bool:
    """Restart one worker (its nanny starts a fresh process); False when that failed."""
    try:
        status = client(timeout=5).restart_workers([worker], timeout=60, raise_for_error=False)
        return status.get(worker) == "OK"
    except Exception:  # noqa: BLE001 - logged; the job is given up in any case
        log.warning("restarting worker %s failed", worker, exc_info=True)
        return False


def closing() -> bool:
    """Whether this process's cluster is going away: :func:`close` has begun, or the embedded
    cluster is closing or closed (Dask's own exit handler closes it, perhaps before ours). A
    job that fails then was interrupted by the server stopping, not by its own fault."""
    if _closing.is_set():
        return True
    status = getattr(getattr(_cluster, "status", None), "name", "")
    return status in ("closing", "closed", "failed")


def close() -> None:
    """Close the client and the embedded cluster (at exit; tests)."""
    global _client, _cluster, _starter, _workers_seen
    _closing.set()
    with _lock:
        for thing in (_client, _cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing at exit
                    pass
        _client = _cluster = _starter = None
        _ready.clear()
        _workers_seen = (-float("inf"), 0)


atexit.register(close)
