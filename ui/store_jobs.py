"""The jobs of a workspace in the store: :class:`JobsMixin` of :class:`ui.store.Store`.

A job's record says what ran (``method``, ``label``, the ``config`` that re-runs it), how it
stands (``status``, one of :data:`ui.store_schema.JOB_STATUSES`; ``error``; ``run_id`` when it
finished), where (``dask_key``; ``process``, the server process that runs it) and when
(``created_at``; ``updated_at``, which a live job's server refreshes with :meth:`JobsMixin.beat`).
A server that stops leaves its live jobs behind: :meth:`JobsMixin.interrupt_running_jobs` marks
them ``interrupted`` at the next start, or the pages do when the heartbeat is old.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Mapping, Optional

import sqlalchemy as sa

from ui import store_records as rec
from ui.store_records import JobInfo
from ui.store_schema import jobs as JOBS

log = logging.getLogger("clustermap.store")

#: The error a job gets when the server restarts under it.
INTERRUPTED = "The server restarted before this job finished; run it again."
LIVE = ("queued", "running")


class JobsMixin:
    """The job methods of :class:`ui.store.Store` (its transactions and workspace checks)."""

    def put_job(self, token, *, method: str, label: str, config: Optional[Mapping],
                status: str = "queued", dask_key: Optional[str] = None,
                process: Optional[str] = None, data_token: Optional[int] = None) -> str:
        """Record a job; its id. ``config`` is what re-runs it (JSON; None: none), ``process``
        names the server process that runs it (:meth:`beat`, :meth:`interrupt_running_jobs`).
        Raises :class:`ui.store.StoreFull` over a cap."""
        text, job_id, now = rec.dumps(config), uuid.uuid4().hex, time.time()
        rec.check_status(status)
        with self._tx(write=True) as conn:
            row, _ = self._write_workspace(conn, token)
            self._add_bytes(conn, row, len(text))
            conn.execute(JOBS.insert().values(
                id=job_id, workspace=row.key, method=str(method), label=str(label),
                status=status, config=text, created_at=now, updated_at=now, dask_key=dask_key,
                process=process, data_token=data_token, nbytes=len(text)))
        return job_id

    def update_job(self, token, job_id: str, *, status: Optional[str] = None,
                   dask_key: Optional[str] = None, run_id: Optional[str] = None,
                   error: Optional[str] = None) -> None:
        """Change a job's status and/or its Dask key, result run id or error (None: kept).
        Raises :class:`ui.store.RecordNotFound` when the job is not there."""
        values = {k: v for k, v in (("status", status), ("dask_key", dask_key),
                                    ("run_id", run_id), ("error", rec.clip(error)))
                  if v is not None}
        if status is not None:
            rec.check_status(status)
        with self._tx(write=True) as conn:
            key = self._workspace(conn, self._key(token)).key
            done = conn.execute(JOBS.update().where(JOBS.c.workspace == key)
                                .where(JOBS.c.id == str(job_id))
                                .values(updated_at=time.time(), **values))
            if done.rowcount != 1:
                raise rec.no_job()

    def jobs(self, token) -> list[JobInfo]:
        """The workspace's jobs, newest first."""
        with self._tx(write=False) as conn:
            key = self._workspace(conn, self._key(token)).key
            rows = conn.execute(sa.select(JOBS).where(JOBS.c.workspace == key)
                                .order_by(JOBS.c.seq.desc())).all()
        return [rec.job_info(r) for r in rows]

    def job(self, token, job_id: str) -> JobInfo:
        """One job. Raises :class:`ui.store.RecordNotFound` when it is not there."""
        with self._tx(write=False) as conn:
            key = self._workspace(conn, self._key(token)).key
            row = conn.execute(sa.select(JOBS).where(JOBS.c.workspace == key)
                               .where(JOBS.c.id == str(job_id))).first()
        if row is None:
            raise rec.no_job()
        return rec.job_info(row)

    def delete_job(self, token, job_id: str) -> bool:
        """Remove a job's record; False when it was not there."""
        return self._delete_record(token, JOBS, job_id)

    def beat(self, process: str) -> int:
        """The heartbeat of a server process: ``updated_at`` of its live jobs (all workspaces)
        becomes now; how many."""
        with self._tx(write=True) as conn:
            return conn.execute(JOBS.update().where(JOBS.c.status.in_(LIVE))
                                .where(JOBS.c.process == process)
                                .values(updated_at=time.time())).rowcount

    def interrupt_running_jobs(self, process: Optional[str] = None, *,
                               idle_s: Optional[float] = None) -> int:
        """At server start: every queued or running job becomes ``"interrupted"``, with an
        error saying so unless it had one; how many.

        Where several web servers share one database, pass ``process`` (only that process's
        jobs) or ``idle_s`` (only jobs whose heartbeat, :meth:`beat`, is older than this), or
        a restarting server marks the others' live jobs too.
        """
        live = JOBS.c.status.in_(LIVE)
        if process is not None:
            live = live & (JOBS.c.process == process)
        if idle_s is not None:
            live = live & (JOBS.c.updated_at < time.time() - idle_s)
        with self._tx(write=True) as conn:
            count = conn.execute(JOBS.update().where(live).values(
                status="interrupted", updated_at=time.time(),
                error=sa.func.coalesce(JOBS.c.error, INTERRUPTED))).rowcount
        if count:
            log.info("workspace store: %d job(s) left by a stopped server interrupted", count)
        return count
