"""The worker side of a job: run a training on a Dask worker, report progress, obey Stop.

:func:`run_job` is what the web server submits. It calls ``target(callback=..., stop=...)`` (the
backend's progress protocol, :mod:`clustering.progress`) and returns its result. Progress reaches
the server through a ``distributed.Queue`` named after the job, as :class:`Report` messages
(plain msgpack data, the snapshot as ``.npy`` bytes: nothing is unpickled on the server), at most
every :data:`REPORT_EVERY` seconds plus the final one; a snapshot (``Progress.payload``, e.g. the current membership probabilities) is
computed here, in the training thread, at most every ``snapshot_every`` seconds. Stop is a
``distributed.Event`` named after the job, read at most every :data:`POLL_EVERY` seconds (each
read is a round trip to the scheduler).
"""
from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from clustering.progress import Progress

log = logging.getLogger("clustermap.tasks")

#: Seconds between two progress messages (the live panel redraws once a second).
REPORT_EVERY = 0.5
#: Seconds between two reads of the Stop event.
POLL_EVERY = 0.2


def progress_name(key: str) -> str:
    """Name of the job's progress queue."""
    return f"{key}-progress"


def stop_name(key: str) -> str:
    """Name of the job's Stop event."""
    return f"{key}-stop"


@dataclass
class Report:
    """What the worker tells the server: the latest progress, the metrics since the last report
    and, when one was due, a snapshot."""

    worker: str
    memory_limit: Optional[int] = None
    progress: Optional[dict] = None
    history: list = field(default_factory=list)
    snapshot: Any = None
    snapshot_step: int = -1
    snapshot_message: str = ""
    has_snapshot: bool = False

    def to_message(self) -> dict:
        """The report as msgpack data (the snapshot, an array, as ``.npy`` bytes)."""
        out = {k: getattr(self, k) for k in ("worker", "memory_limit", "progress",
                                             "snapshot_step", "snapshot_message", "has_snapshot")}
        out["history"] = [[step, metrics] for step, metrics in self.history]
        if self.has_snapshot:
            buf = io.BytesIO()
            np.save(buf, np.asarray(self.snapshot), allow_pickle=False)
            out["snapshot"] = buf.getvalue()
        return out

    @classmethod
    def from_message(cls, message: dict) -> "Report":
        """The inverse of :meth:`to_message`; the snapshot is read without pickles."""
        fields = dict(message)
        fields["history"] = [(int(step), dict(m)) for step, m in fields.get("history", [])]
        if fields.get("has_snapshot"):
            fields["snapshot"] = np.load(io.BytesIO(fields["snapshot"]), allow_pickle=False)
        return cls(**fields)


class PolledEvent:
    """A ``distributed.Event`` read at most every ``every`` seconds; once set, it stays set."""

    def __init__(self, event, every: float = POLL_EVERY):
        self._event, self._every = event, every
        self._last, self._set = -float("inf"), False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._last >= self._every:
            self._last = now
            try:
                self._set = bool(self._event.is_set())
            except Exception:  # the scheduler went away: the server is gone, stop
                log.warning("stop event unreadable; stopping", exc_info=True)
                self._set = True
        return self._set


class Reporter:
    """The ``callback`` handed to the training: batches progress into :class:`Report` messages
    sent through ``send`` (as :meth:`Report.to_message`)."""

    def __init__(self, send: Callable[[dict], None], worker: str, snapshot_every: float,
                 memory_limit: Optional[int] = None):
        self._send, self._worker, self._memory_limit = send, worker, memory_limit
        self.snapshot_every = snapshot_every
        self._pending = Report(worker)
        self._last_sent = self._last_snapshot = -float("inf")

    def __call__(self, progress: Progress) -> None:
        p = self._pending
        metrics = {str(k): float(v) for k, v in progress.metrics.items()}
        p.progress = {"method": progress.method, "step": int(progress.step),
                      "total": int(progress.total), "metrics": metrics,
                      "message": str(progress.message or ""), "done": bool(progress.done)}
        if metrics:
            p.history.append((int(progress.step), metrics))
        now = time.monotonic()
        if progress.payload is not None and (progress.done or now - self._last_snapshot
                                             >= self.snapshot_every):
            self._last_snapshot = now
            self._take_snapshot(progress)
        if progress.done or now - self._last_sent >= REPORT_EVERY:
            self.flush()

    def _take_snapshot(self, progress: Progress) -> None:
        try:
            snap = progress.payload()
        except Exception:  # a snapshot is a nicety; training goes on without it
            log.debug("snapshot failed", exc_info=True)
            return
        p = self._pending
        p.snapshot, p.has_snapshot = snap, True
        p.snapshot_step, p.snapshot_message = int(progress.step), progress.message or ""

    def flush(self) -> None:
        """Send what is pending (nothing when nothing happened since the last message)."""
        p = self._pending
        if p.progress is None and not p.history and not p.has_snapshot:
            return
        self._last_sent = time.monotonic()
        self._pending = Report(self._worker)
        self._send(p.to_message())

    def hello(self) -> None:
        """The first message: which worker runs the job (the server restarts it past the cap) and
        its memory limit (named when the worker dies)."""
        self._send(Report(self._worker, self._memory_limit).to_message())


def read_report(message: dict) -> Report:
    """A :class:`Report` from what a worker sent."""
    return Report.from_message(message)


def run_job(target: Callable[..., Any], key: str, snapshot_every: float = 0.6) -> Any:
    """Run ``target(callback=..., stop=...)`` on this Dask worker; see the module notes."""
    from distributed import Event, Queue, get_client, get_worker

    client = get_client()
    queue = Queue(progress_name(key), client=client)
    worker = get_worker()
    limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    reporter = Reporter(queue.put, worker.address, snapshot_every, limit)
    reporter.hello()
    stop = PolledEvent(Event(stop_name(key), client=client))
    try:
        return target(callback=reporter, stop=stop)
    finally:
        try:
            reporter.flush()
        except Exception:  # the server went away; the result still goes back through Dask
            log.debug("last progress report not sent", exc_info=True)
