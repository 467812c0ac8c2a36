"""Background training jobs owned by one browser session.

A :class:`Job` runs a training function in a daemon thread. The function receives ``callback`` and
``stop`` (the backend's progress protocol); the job keeps the latest :class:`Progress`, the history of
its metrics and, at most every ``snapshot_every`` seconds, the heavier snapshot the estimator offers
(``Progress.payload``, e.g. the current membership probabilities). The snapshot is computed in the
training thread, so the model is never read while another thread updates it.

The page polls the job (``st.fragment(run_every=...)``); a widget click re-runs the script but leaves
the thread, and hence what was trained so far, untouched. Stop sets the event: the estimator ends
after its current step and keeps its state, and the job stores that result as usual.

Every job has a time cap (:func:`max_train_seconds`, set by the environment variable
``CLUSTERMAP_MAX_TRAIN_SECONDS``, default 600 s): a timer sets the same stop event when the cap is
reached, so the run ends exactly as if Stop had been pressed, keeping what was trained, and the
job records that the cap ended it (``timed_out``; ``result.stop_reason = "time"``).

Training jobs of all sessions share the server's cores through :data:`SLOTS`: at most
:func:`max_concurrent_jobs` of them train at once (``CLUSTERMAP_MAX_CONCURRENT_JOBS``, default the
number of CPU cores); the others wait in arrival order and say so in their status line. Ten sessions
that all press Train on a 2-core server then finish one pair after another instead of all thrashing
for the same cores (a session's wait is bounded by the time caps of the jobs ahead of it). The time
cap counts from the moment the job gets its slot; Stop while waiting ends the job without training.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
import traceback
from typing import Any, Callable, MutableMapping, Optional

from clustering.errors import ClusteringError
from clustering.progress import Progress

log = logging.getLogger("clustermap.jobs")

Target = Callable[..., Any]

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


def max_concurrent_jobs() -> int:
    """Jobs that train at once: ``CLUSTERMAP_MAX_CONCURRENT_JOBS`` (a positive integer), else the
    number of CPU cores. A bad value is logged and the default used."""
    default = max(1, os.cpu_count() or 1)
    raw = os.environ.get(MAX_JOBS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
        if value < 1:
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a positive integer; using %d", MAX_JOBS_ENV, raw, default)
        return default
    return value


class JobSlots:
    """A first-come-first-served limit on the jobs that run at once.

    ``threading.Semaphore`` gives no order and no queue position, which the status line shows;
    hence this small queue on a condition variable.
    """

    def __init__(self, limit: Optional[int] = None):
        self._limit = limit
        self._cond = threading.Condition()
        self._queue: list[object] = []  # waiting owners, oldest first
        self._active = 0

    @property
    def limit(self) -> int:
        return self._limit if self._limit is not None else max_concurrent_jobs()

    @property
    def active(self) -> int:
        with self._cond:
            return self._active

    def position(self, owner: object) -> Optional[int]:
        """How many waiting jobs are ahead of ``owner`` (None when it is not waiting)."""
        with self._cond:
            try:
                return self._queue.index(owner)
            except ValueError:
                return None

    def acquire(self, owner: object, cancel: threading.Event) -> bool:
        """Wait for a slot; False (and out of the queue) when ``cancel`` is set first."""
        with self._cond:
            self._queue.append(owner)
            try:
                while True:
                    if cancel.is_set():
                        return False
                    if self._queue[0] is owner and self._active < self.limit:
                        self._active += 1
                        return True
                    self._cond.wait(0.2)
            finally:
                self._queue.remove(owner)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()


#: The server-wide slots every session's jobs share.
SLOTS = JobSlots()


class Job:
    """One training run in a background thread.

    Parameters
    ----------
    method : str
        Key of the result in ``store`` (``"neural"``, ``"som"``, ``"qbm"``, ``"compare"``).
    target : callable
        ``target(callback=..., stop=...) -> result``.
    store : mutable mapping
        Where the finished result is put under ``method`` (the session's result store).
    label : str
        What the job does, for status lines.
    time_limit : float or None
        Seconds after which the job is stopped (keeping what was trained), counted from the moment
        it gets a slot; None: :func:`max_train_seconds`.
    slots : JobSlots or None
        The limit on jobs running at once; None: the server-wide :data:`SLOTS`.
    """

    def __init__(self, method: str, target: Target, store: MutableMapping[str, Any], *,
                 label: str = "", snapshot_every: float = 0.6,
                 time_limit: Optional[float] = None, slots: Optional[JobSlots] = None):
        self.method = method
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
        self._last_snapshot = 0.0
        self.result: Any = None
        self.error: Optional[str] = None
        self.started_at: Optional[float] = None
        self.finished_at: Optional[float] = None
        self._thread: Optional[threading.Thread] = None
        self.time_limit = float(time_limit) if time_limit is not None else max_train_seconds()
        self.timed_out = False
        self._timer: Optional[threading.Timer] = None
        self._slots = slots if slots is not None else SLOTS
        self.waiting = False  # queued for a slot
        self.cancelled = False  # stopped before it got a slot: nothing was trained

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
            return (f"{self.label}: waiting for a free worker ({ahead} job{'s' * (ahead != 1)} "
                    f"ahead; {limit} train{'s' * (limit == 1)} at a time on this server)")
        p = self.progress
        if p is None:
            return f"{self.label}: starting…"
        text = p.message or f"step {p.step} of {p.total}"
        return f"{self.label}: {text}"

    def snapshot_title(self, what: str) -> str:
        """Title of the live snapshot: ``what`` and where training was when it was taken (the
        estimator's progress message, e.g. "restart 2/5, epoch 120", else the step)."""
        with self.lock:
            message, step = self.snapshot_message, self.snapshot_step
        for prefix in ("training: ", "finished: "):
            if message.startswith(prefix):
                message = message[len(prefix):]
        return f"{what}, {message}" if message else f"{what} at step {step}"

    def series(self, name: str) -> list[float]:
        """History of one metric (e.g. ``"loss"``) as reported so far."""
        with self.lock:
            return [m[name] for _, m in self.history if name in m]

    def steps(self, name: str) -> list[int]:
        with self.lock:
            return [s for s, m in self.history if name in m]

    # -------------------------------------------------------------- control
    def start(self) -> "Job":
        if self._thread is not None:
            raise RuntimeError("job already started")
        self.waiting = True
        self._thread = threading.Thread(target=self._run, name=f"clustermap-{self.method}",
                                        daemon=True)
        self._thread.start()
        return self

    def _time_up(self) -> None:
        if self.running and not self.stop.is_set():
            self.timed_out = True
            self.stop.set()

    def request_stop(self) -> None:
        self.stop.set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job ends (True) or ``timeout`` passes (False)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -------------------------------------------------------------- thread side
    def _callback(self, progress: Progress) -> None:
        with self.lock:
            self.progress = progress
            if progress.metrics:
                self.history.append((int(progress.step), dict(progress.metrics)))
        now = time.monotonic()
        if progress.payload is not None and (progress.done or now - self._last_snapshot
                                             >= self.snapshot_every):
            self._last_snapshot = now
            try:
                snap = progress.payload()
            except Exception:  # a snapshot is a nicety; training goes on without it
                log.debug("snapshot failed", exc_info=True)
                return
            with self.lock:
                self.snapshot = snap
                self.snapshot_step = int(progress.step)
                self.snapshot_message = progress.message or ""

    def _run(self) -> None:
        if not self._slots.acquire(self, self.stop):
            self.waiting = False
            self.cancelled = True
            self.finished_at = self.started_at = time.monotonic()
            return
        self.started_at = time.monotonic()
        self.waiting = False
        self._timer = threading.Timer(self.time_limit, self._time_up)
        self._timer.daemon = True
        self._timer.start()
        try:
            result = self._target(callback=self._callback, stop=self.stop)
            if self.stop.is_set() and hasattr(result, "stop_reason"):
                result.stop_reason = "time" if self.timed_out else "user"
            with self.lock:
                self.result = result
            self._store[self.method] = result
        except ClusteringError as err:
            self.error = str(err)
        except MemoryError:
            self.error = ("Out of memory: the data set is too large for this method. "
                          "Use fewer rows or a method without an N x N matrix.")
        except Exception as err:  # the page shows a message, never a traceback
            log.error("training job %s failed:\n%s", self.method, traceback.format_exc())
            self.error = (f"The training stopped on an unexpected error ({type(err).__name__}: "
                          f"{err}). Try other settings; if it persists, report it.")
        finally:
            self._slots.release()
            if self._timer is not None:
                self._timer.cancel()
            if self.timed_out and self.error:
                self.error += f" (Training was stopped at the time cap of {self.time_limit:g} s.)"
            self.finished_at = time.monotonic()
