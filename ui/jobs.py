"""Training jobs owned by one browser session, run on the server's Dask workers.

The web process never trains. A :class:`Job` submits its training function to the shared Dask
cluster (:mod:`clustering.cluster`) as :func:`clustering.tasks.run_job`; a thread of the web
process only watches it: it drains the job's progress queue (the latest :class:`Progress`, the
history of its metrics and, at most every ``snapshot_every`` seconds, the snapshot the estimator
offers, computed on the worker), forwards Stop to the job's ``distributed.Event`` and collects the
result. The function gets ``callback`` and ``stop`` as before, so it is any picklable callable of
the backend's progress protocol.

The page polls the job (``st.fragment(run_every=...)``); a widget click re-runs the script but
leaves the job alone. Stop sets the event: the estimator ends after its current step and keeps its
state, and the job stores that result as usual.

Every job has a time cap (:func:`max_train_seconds`, ``CLUSTERMAP_MAX_TRAIN_SECONDS``, default
600 s): at the cap the job is stopped as if Stop had been pressed, keeping what was trained
(``timed_out``; ``result.stop_reason = "time"``). Code that never reads Stop (a classic method
with a huge ``n_init``) cannot hold a worker longer than that: :data:`GRACE_SECONDS` after a Stop,
the cap or its session's end, a job still running has its worker restarted and ends with a message.
A job whose worker died (its memory limit, or anything else) ends with one sentence saying so; the
session keeps its data and results and the next job runs on a fresh worker.

The jobs of all sessions share the workers through :data:`SLOTS`: at most
:func:`max_concurrent_jobs` train at once (one per worker), the others wait and say how many are
ahead. The queue is bounded (``CLUSTERMAP_MAX_QUEUED``) and one client address holds at most
``CLUSTERMAP_MAX_JOBS_PER_CLIENT`` jobs, running or waiting; a freed slot goes to the waiting job
whose client runs the fewest jobs, oldest first, so twenty tabs of one visitor cannot starve the
others. The time cap counts from the moment the job gets its slot; Stop while waiting ends the job
without training. A job whose browser session has gone (closed tab) for :data:`ORPHAN_SECONDS` is
stopped.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
import uuid
from typing import Any, Callable, MutableMapping, Optional

from clustering.errors import ClusteringError
from clustering import i18n
from clustering.i18n import _, language, ngettext, set_language, fmt
from clustering.progress import Progress
from clustering.resources import env_positive_int

log = logging.getLogger("clustermap.jobs")

Target = Callable[..., Any]

#: Seconds a job may take to end after Stop, the time cap or its session's end before its worker
#: is restarted.
GRACE_SECONDS = 10.0
#: Seconds a job's browser session may be gone (closed tab, lost connection) before it is stopped.
ORPHAN_SECONDS = 15.0
#: Seconds between two looks of the watching thread at the job's queue and state.
WATCH_EVERY = 0.5


#: Environment variable holding the training time cap in seconds.
MAX_SECONDS_ENV = "CLUSTERMAP_MAX_TRAIN_SECONDS"
#: The cap when the variable is not set.
DEFAULT_MAX_SECONDS = 600.0


def max_train_seconds() -> float:
    """The training time cap: ``CLUSTERMAP_MAX_TRAIN_SECONDS`` (a positive number of seconds),
    else :data:`DEFAULT_MAX_SECONDS`. A bad value is logged and the default used."""
    raw = os.environ.get(MAX_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_SECONDS
    try:
        value = float(raw)
        if not math.isfinite(value) or value <= 0:
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a positive number of seconds; using %g s", MAX_SECONDS_ENV,
                    raw, DEFAULT_MAX_SECONDS)
        return DEFAULT_MAX_SECONDS
    return value


#: Environment variable holding the number of training jobs that may run at once, server-wide.
MAX_JOBS_ENV = "CLUSTERMAP_MAX_CONCURRENT_JOBS"
#: Environment variable: how many jobs may wait for a worker, server-wide.
MAX_QUEUED_ENV = "CLUSTERMAP_MAX_QUEUED"
DEFAULT_MAX_QUEUED = 16
#: Environment variable: how many jobs, running or waiting, one client address may hold.
PER_CLIENT_ENV = "CLUSTERMAP_MAX_JOBS_PER_CLIENT"
DEFAULT_PER_CLIENT = 2


def max_concurrent_jobs() -> int:
    """Jobs that train at once: ``CLUSTERMAP_MAX_CONCURRENT_JOBS`` (a positive integer), else one
    per worker of the cluster (:func:`clustering.cluster.n_workers`). A bad value is logged and
    the default used."""
    from clustering import cluster

    return env_positive_int(MAX_JOBS_ENV, cluster.n_workers())


def max_queued() -> int:
    """Jobs that may wait for a worker: ``CLUSTERMAP_MAX_QUEUED``, else 16."""
    return env_positive_int(MAX_QUEUED_ENV, DEFAULT_MAX_QUEUED)


def max_per_client() -> int:
    """Jobs one client address may hold, running or waiting: ``CLUSTERMAP_MAX_JOBS_PER_CLIENT``,
    else 2."""
    return env_positive_int(PER_CLIENT_ENV, DEFAULT_PER_CLIENT)


class JobSlots:
    """A fair, bounded limit on the jobs that run at once.

    Owners :meth:`enqueue` (refused with a message when the queue or their client's share is
    full), then :meth:`acquire` a slot. A free slot goes to the waiting owner whose client runs
    the fewest jobs, the oldest first; owners without a client (None) count as clients of their
    own, so they are served first come, first served.
    """

    def __init__(self, limit: Optional[int] = None, *, max_queued: Optional[int] = None,
                 per_client: Optional[int] = None):
        self._limit, self._max_queued, self._per_client = limit, max_queued, per_client
        self._cond = threading.Condition()
        self._queue: list[object] = []  # waiting owners, oldest first
        self._running: dict[object, Any] = {}  # owner -> client
        self._client: dict[object, Any] = {}  # waiting owner -> client

    @property
    def limit(self) -> int:
        return self._limit if self._limit is not None else max_concurrent_jobs()

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._running)

    def _held(self, client) -> int:
        if client is None:
            return 0
        return (sum(1 for c in self._running.values() if c == client)
                + sum(1 for c in self._client.values() if c == client))

    def _order(self) -> list[object]:
        """Waiting owners in the order they get slots."""
        running: dict[Any, int] = {}
        for c in self._running.values():
            if c is not None:
                running[c] = running.get(c, 0) + 1
        rank = {o: i for i, o in enumerate(self._queue)}
        return sorted(self._queue, key=lambda o: (running.get(self._client[o], 0), rank[o]))

    def position(self, owner: object) -> Optional[int]:
        """How many waiting jobs are ahead of ``owner`` (None when it is not waiting)."""
        with self._cond:
            try:
                return self._order().index(owner)
            except ValueError:
                return None

    def enqueue(self, owner: object, client=None) -> None:
        """Join the queue; a :class:`ClusteringError` when the server's queue or the client's
        share is full (nothing is queued then)."""
        with self._cond:
            per_client = self._per_client or max_per_client()
            if client is not None and self._held(client) >= per_client:
                raise ClusteringError(_(
                    "Your address already has {n} trainings running or waiting on "
                    "this server (at most {n} per visitor, {env}); wait "
                    "for one to end. Nothing was started and your settings are kept.").format(
                    n=per_client, env=PER_CLIENT_ENV))
            queued = self._max_queued or max_queued()
            if len(self._queue) >= queued:
                raise ClusteringError(_(
                    "The server is busy: {n} trainings are already waiting "
                    "for a worker (at most {queued} wait at once, {env}). Try again "
                    "in a few minutes; nothing was started and your settings are kept.").format(
                    n=len(self._queue), queued=queued, env=MAX_QUEUED_ENV))
            self._queue.append(owner)
            self._client[owner] = client

    def acquire(self, owner: object, cancel: threading.Event) -> bool:
        """Wait for a slot (after :meth:`enqueue`); False, and out of the queue, when ``cancel``
        is set first."""
        with self._cond:
            if owner not in self._client:
                self._queue.append(owner)
                self._client[owner] = None
        try:
            while True:
                limit = self.limit  # read outside the lock: it may ask the cluster
                with self._cond:
                    if cancel.is_set():
                        return False
                    if len(self._running) < limit and self._order()[0] is owner:
                        self._running[owner] = self._client[owner]
                        return True
                    self._cond.wait(0.2)
        finally:
            with self._cond:
                self._queue.remove(owner)
                del self._client[owner]
                self._cond.notify_all()

    def release(self, owner: object) -> None:
        with self._cond:
            self._running.pop(owner, None)
            self._cond.notify_all()


#: The server-wide slots every session's jobs share.
SLOTS = JobSlots()


def _worker_died_message(label: str, memory_limit: Optional[int]) -> str:
    from clustering.memory import fmt_bytes
    from clustering.resources import WORKER_MEMORY_ENV, worker_memory

    limit = fmt_bytes(memory_limit or worker_memory())
    return _("{label} stopped because the worker process running it ended (most likely over its "
             "memory limit of {limit} per worker; {env} "
             "raises it, smaller data or settings need less); your data and earlier results are "
             "kept and the next training runs on a fresh worker.").format(
        label=label, limit=limit, env=WORKER_MEMORY_ENV)


class Job:
    """One training run on a Dask worker, watched from a thread of the web process.

    Parameters
    ----------
    method : str
        Key of the result in ``store`` (``"neural"``, ``"som"``, ``"qbm"``, ``"compare"``).
    target : callable
        ``target(callback=..., stop=...) -> result``; picklable (it travels to a worker).
    store : mutable mapping
        Where the finished result is put under ``method`` (the session's result store).
    label : str
        What the job does, for status lines.
    time_limit : float or None
        Seconds after which the job is stopped (keeping what was trained), counted from the moment
        it gets a slot; None: :func:`max_train_seconds`.
    slots : JobSlots or None
        The limit on jobs running at once; None: the server-wide :data:`SLOTS`.
    client : hashable or None
        Who asked (the browser's address), for the per-client share of :data:`SLOTS`.
    alive : callable or None
        ``alive() -> bool``: whether the session that owns the job is still there; None: always.
    on_end : callable or None
        ``on_end(job)``, called by the watching thread once the job has ended (its result stored
        or its error set); an exception it raises is logged.
    """

    def __init__(self, method: str, target: Target, store: MutableMapping[str, Any], *,
                 label: str = "", snapshot_every: float = 0.6,
                 time_limit: Optional[float] = None, slots: Optional[JobSlots] = None,
                 client=None, alive: Optional[Callable[[], bool]] = None,
                 on_end: Optional[Callable[["Job"], None]] = None):
        self.method = method
        self._on_end = on_end
        self.label = label or method
        self._target = target
        self._store = store
        self.snapshot_every = snapshot_every
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.progress: Optional[Progress] = None
        self.history: list[tuple[int, dict]] = []
        self.snapshot: Any = None
        self.snapshot_step: int = -1
        self.snapshot_message: str = ""
        self.result: Any = None
        self.error: Optional[str] = None
        self.started_at: Optional[float] = None
        self.finished_at: Optional[float] = None
        self._thread: Optional[threading.Thread] = None
        self.time_limit = float(time_limit) if time_limit is not None else max_train_seconds()
        self.timed_out = False
        self.abandoned = False  # its session went away
        self._gone_since: Optional[float] = None  # when its session was last seen gone
        self._slots = slots if slots is not None else SLOTS
        self._client_id = client
        self._alive = alive
        self.key = f"clustermap-{method}-{uuid.uuid4().hex}"
        self.worker: Optional[str] = None  # the Dask worker running it
        self.worker_memory: Optional[int] = None  # and its memory limit
        self.waiting = False  # queued for a slot
        self.connecting = False  # waiting for the cluster to start
        self.cancelled = False  # stopped before it got a slot: nothing was trained
        self.interrupted = False  # the server stopped under it (its cluster closing)
        self._cap_said = False  # its error already names the time cap
        # the watching thread speaks the language of the session that started the job
        self._language = language()

    # -------------------------------------------------------------- state
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def elapsed(self) -> float:
        """Seconds of training (waiting for a slot not counted)."""
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    @property
    def fraction(self) -> float:
        return 0.0 if self.progress is None else float(self.progress.fraction)

    def status_line(self) -> str:
        if self.waiting:
            ahead = self._slots.position(self) or 0
            limit = self._slots.limit
            jobs_ahead = ngettext("{n} job ahead", "{n} jobs ahead", ahead).format(n=ahead)
            at_once = ngettext("{n} trains at a time on this server",
                               "{n} train at a time on this server", limit).format(n=limit)
            return _("{label}: waiting for a free worker ({ahead}; {at_once})").format(
                label=self.label, ahead=jobs_ahead, at_once=at_once)
        if self.connecting:
            return _("{label}: starting the server's workers…").format(label=self.label)
        p = self.progress
        if p is None:
            return _("{label}: starting…").format(label=self.label)
        text = (i18n.text(p.message) if p.message else
                _("step {step} of {total}").format(step=p.step, total=p.total))
        return f"{self.label}: {text}"

    def snapshot_title(self, what: str) -> str:
        """Title of the live snapshot: ``what`` and where training was when it was taken (the
        estimator's progress message up to its loss, e.g. "restart 2 of 5: epoch 120 (at most
        5000)", else the step)."""
        with self.lock:
            message, step = self.snapshot_message, self.snapshot_step
        for prefix in ("training: ", "finished: "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        message = message.split(", loss")[0]
        return (f"{what}, {message}" if message else
                _("{what} at step {step}").format(what=what, step=step))

    def series(self, name: str) -> list[float]:
        """History of one metric (e.g. ``"loss"``) as reported so far."""
        with self.lock:
            return [m[name] for _step, m in self.history if name in m]

    def steps(self, name: str) -> list[int]:
        with self.lock:
            return [s for s, m in self.history if name in m]

    # -------------------------------------------------------------- control
    def start(self) -> "Job":
        """Queue the job and start watching it; a :class:`ClusteringError` (nothing started)
        when the server's queue or this client's share is full."""
        if self._thread is not None:
            raise RuntimeError("job already started")
        self._slots.enqueue(self, self._client_id)
        self.waiting = True
        self._thread = threading.Thread(target=self._run, name=f"clustermap-{self.method}",
                                        daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        self.stop.set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job ends (True) or ``timeout`` passes (False)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -------------------------------------------------------------- watching thread
    def _apply(self, report) -> None:
        with self.lock:
            self.worker = report.worker
            self.worker_memory = report.memory_limit or self.worker_memory
            self.history.extend(report.history)
            if report.progress is not None:
                self.progress = Progress(**report.progress)
            if report.has_snapshot:
                self.snapshot, self.snapshot_step = report.snapshot, report.snapshot_step
                self.snapshot_message = report.snapshot_message

    def _drain(self, queue) -> None:
        from clustering.tasks import read_report

        for message in queue.get(batch=True):
            self._apply(read_report(message))

    def _session_gone(self, now: float) -> bool:
        if self._alive is None:
            return False
        try:
            alive = bool(self._alive())
        except Exception:  # noqa: BLE001 - the runtime is shutting down
            alive = False
        if alive:
            self._gone_since = None
            return False
        self._gone_since = self._gone_since or now
        return now - self._gone_since >= ORPHAN_SECONDS

    def _should_stop(self, now: float) -> None:
        if self.stop.is_set():
            return
        if now - self.started_at >= self.time_limit:
            self.timed_out = True
            self.stop.set()
        elif self._session_gone(now):
            self.abandoned = True
            self.stop.set()

    def _give_up(self, future) -> None:
        """The job did not stop within the grace: restart its worker, keep nothing."""
        from clustering import cluster

        future.cancel()
        restarted = self.worker is not None and cluster.restart_worker(self.worker)
        why = (_("at the time cap of {seconds} s ({env} raises it)").format(
                   seconds=fmt(self.time_limit, "g"), env=MAX_SECONDS_ENV)
               if self.timed_out else _("when its session closed") if self.abandoned
               else _("when you pressed Stop"))
        self.error = (_("{label} did not stop within {grace} s of being stopped {why}: its worker "
                        "was restarted and nothing of this run was kept; your data and earlier "
                        "results are.") if restarted else
                      _("{label} did not stop within {grace} s of being stopped {why}: its worker "
                        "was abandoned and nothing of this run was kept; your data and earlier "
                        "results are.")).format(label=self.label, grace=fmt(GRACE_SECONDS, "g"),
                                                why=why)
        self._cap_said = self.timed_out

    def _watch(self, future, queue, stop_event) -> bool:
        """Follow the job until it ends (True) or is given up (False)."""
        give_up_at = None
        while True:
            self._drain(queue)
            if future.done():
                self._drain(queue)
                return True
            now = time.monotonic()
            self._should_stop(now)
            if self.stop.is_set():
                if give_up_at is None:
                    stop_event.set()
                    give_up_at = now + GRACE_SECONDS
                elif now >= give_up_at:
                    self._give_up(future)
                    return False
            time.sleep(WATCH_EVERY)

    def _collect(self, future) -> None:
        from distributed import CancelledError
        from distributed.scheduler import KilledWorker

        try:
            result = future.result()
        except ClusteringError as err:
            self.error = i18n.text(err)
        except MemoryError:
            self.error = _("Out of memory: the data set is too large for this method. "
                           "Use fewer rows or a method without an N x N matrix.")
        except (KilledWorker, CancelledError):
            self.error = _worker_died_message(self.label, self.worker_memory)
        except Exception as err:  # the page shows a message, never a traceback
            log.error("training job %s failed:\n%s", self.method, traceback.format_exc())
            self.error = _("The training stopped on an unexpected error ({kind}: {err}). Try "
                           "other settings; if it persists, report it.").format(
                kind=type(err).__name__, err=err)
        else:
            if self.stop.is_set() and hasattr(result, "stop_reason"):
                result.stop_reason = "time" if self.timed_out else "user"
            if isinstance(getattr(result, "extra", None), dict):
                result.extra["worker"] = self.worker
            with self.lock:
                self.result = result
            self._store[self.method] = result

    def _submit_and_watch(self) -> None:
        from distributed import Event, Queue

        from clustering import cluster
        from clustering.tasks import progress_name, run_job, stop_name

        self.connecting = True
        try:
            client = cluster.client()
        finally:
            self.connecting = False
        queue = Queue(progress_name(self.key), client=client)
        stop_event = Event(stop_name(self.key), client=client)
        self.started_at = time.monotonic()
        future = client.submit(run_job, self._target, self.key, self.snapshot_every,
                               key=self.key, pure=False, retries=0)
        try:
            ended = self._watch(future, queue, stop_event)
            self._slots.release(self)  # the worker is free: the next job need not wait for ours
            if ended:
                self._collect(future)
        finally:
            future.release()
            for thing in (stop_event.clear, queue.close):
                try:
                    thing()
                except Exception:  # noqa: BLE001 - the cluster is closing
                    pass

    def _run(self) -> None:
        set_language(self._language)
        if not self._slots.acquire(self, self.stop):
            self.waiting = False
            self.cancelled = True
            self.finished_at = self.started_at = time.monotonic()
            self._ended()
            return
        self.waiting = False
        try:
            self._submit_and_watch()
        except ClusteringError as err:
            self.error = i18n.text(err)
        except Exception as err:  # noqa: BLE001 - the cluster itself failed
            log.error("job %s could not run:\n%s", self.method, traceback.format_exc())
            self.error = _("{label} could not run on the server's workers ({kind}: {err}); your "
                           "data and results are kept.").format(
                label=self.label, kind=type(err).__name__, err=err)
        finally:
            self._slots.release(self)
            if self.started_at is None:
                self.started_at = time.monotonic()
            if (self.timed_out and self.error and not self._cap_said
                    and "time cap" not in self.error):
                self.error += _(" (Training was stopped at the time cap of {seconds} s.)").format(
                    seconds=fmt(self.time_limit, "g"))
            self.finished_at = time.monotonic()
            self._ended()

    def _check_interrupted(self) -> None:
        """A job that failed while this server's cluster was closing was interrupted by the
        server stopping: it is recorded so (to be run again), not as a failure of its own."""
        from clustering import cluster
        from ui.store_jobs import INTERRUPTED

        if self.result is None and self.error and cluster.closing():
            self.interrupted = True
            self.error = INTERRUPTED

    def _ended(self) -> None:
        self._check_interrupted()
        if self._on_end is None:
            return
        try:
            self._on_end(self)
        except Exception:  # noqa: BLE001 - the job's own outcome stands
            log.error("job %s: its end hook failed:\n%s", self.method, traceback.format_exc())
