"""The workspaces kept on the server: one per visitor, found by the token in the page's address.

A token is 32 random bytes (``secrets.token_urlsafe(32)``: 43 characters of ``A-Z a-z 0-9 - _``).
The database keeps only its sha256 (``workspaces.key``), and neither is logged in full: whoever
reads the database or the logs cannot open a workspace. A malformed, unknown or expired token is a
workspace that does not exist (:meth:`Store.exists` is False; the other calls raise
:class:`WorkspaceNotFound`).

A workspace holds a small JSON ``state``, the current data set (JSON meta and named byte
blobs), the working table of an upload (JSON meta and Parquet bytes), the history of runs and the
jobs (:mod:`ui.store_jobs`). What the objects in them are is the codec's business; this module
stores JSON-able values and bytes, each blob with its sha256, checked on every read
(:class:`StoreError` when damaged).

Concurrency: every call is one transaction, safe from many threads and from several processes
sharing a SQLite file or a PostgreSQL database. The state, the data set and the working table
carry the workspace's ``version``: a write names the version it started from and fails with
:class:`WorkspaceConflict` when another tab changed it meanwhile (one wins, the other is told).
Runs and jobs are added without it (they never overwrite anything).

Caps: a write that would take a workspace over ``workspace_max_bytes`` or the store over
``store_max_bytes`` raises :class:`StoreFull` and writes nothing. Tables: :mod:`ui.store_schema`;
settings: :mod:`ui.store_settings`. Free of Streamlit.

Example
-------
>>> store = Store.from_env()                                      # doctest: +SKIP
>>> token = store.new_workspace()                                 # doctest: +SKIP
>>> state, version = store.state(token)                           # doctest: +SKIP
>>> store.set_state(token, {"page": "data"}, expected_version=version)  # doctest: +SKIP
"""
from __future__ import annotations

import logging
import secrets
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clustering.i18n import Message, N_
from ui import store_records as rec
from ui import store_schema as schema
from ui.store_jobs import JobsMixin
from ui.store_records import (JobInfo, RecordNotFound, RunInfo, StoreFull, WorkspaceConflict,
                            WorkspaceNotFound, valid_token)
from ui.store_schema import JOB_STATUSES, StoreError
from ui.store_settings import TTL_ENV, duration_text, settings

__all__ = ["Store", "StoreError", "StoreFull", "WorkspaceConflict", "WorkspaceNotFound",
           "RecordNotFound", "RunInfo", "JobInfo", "JOB_STATUSES", "valid_token"]

log = logging.getLogger("clustermap.store")
#: What the working table's records belong to, in messages (:func:`ui.store_records.part_of`).
_OF_TABLE = Message(N_("of the working table"))

WS, DS, RUNS, JOBS = schema.workspaces, schema.datasets, schema.runs, schema.jobs
class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: ``put_dataset(table=KEEP)``: leave the working table as it is.
KEEP = _Keep()


def _now() -> float:
    return time.time()


class Store(JobsMixin):
    """The workspaces in one database (see the module notes; jobs: :class:`JobsMixin`).

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///<file>`` or ``postgresql+psycopg://user@host/db``.
    ttl_s : float
        Seconds after its last use at which a workspace expires.
    workspace_max_bytes, store_max_bytes : int
        Caps of one workspace and of the whole store.

    Raises
    ------
    StoreError
        When the database cannot be opened, or has a newer or unknown schema version.
    """

    valid_token = staticmethod(valid_token)

    @classmethod
    def from_env(cls) -> "Store":
        """A store with the settings of the environment (:func:`ui.store_settings.settings`)."""
        s = settings()
        return cls(s.url, ttl_s=s.ttl_s, workspace_max_bytes=s.workspace_max_bytes,
                   store_max_bytes=s.store_max_bytes)

    def __init__(self, url: str, *, ttl_s: float, workspace_max_bytes: int,
                 store_max_bytes: int):
        self.ttl_s = float(ttl_s)
        self.workspace_max_bytes = int(workspace_max_bytes)
        self.store_max_bytes = int(store_max_bytes)
        self.engine = schema.make_engine(url)
        self.where = schema.describe_url(self.engine)
        self._pg = self.engine.dialect.name == "postgresql"
        with self._guard():
            schema.ensure_schema(self.engine)
        log.info("workspace store %s opened", self.where)

    def close(self) -> None:
        """Close the database connections (the store can be used again: they reopen)."""
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------ plumbing
    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Database failures as :class:`StoreError` (the transaction was rolled back)."""
        try:
            yield
        except sa.exc.SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            log.error("workspace store %s: %s: %s", self.where, type(cause).__name__, cause)
            raise StoreError(N_("The server's workspace store failed ({type}, details in the "
                                "server's log); nothing was changed. Try again, or tell the "
                                "server's administrator if it persists."),
                             type=type(cause).__name__) from None

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Connection]:
        """One transaction: a writer takes SQLite's write lock up front; a PostgreSQL reader
        reads one snapshot."""
        with self._guard(), self.engine.connect() as conn:
            if write:
                conn.execution_options(**{schema.WRITE_OPTION: True})
            elif self._pg:
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _gone(self) -> WorkspaceNotFound:
        return WorkspaceNotFound(
            N_("This workspace no longer exists: it was deleted, or it expired after {duration} "
               "unused (setting {env})."), duration=duration_text(self.ttl_s), env=TTL_ENV)

    def _key(self, token) -> str:
        if not valid_token(token):
            raise self._gone()
        return rec.token_key(token)

    def _workspace(self, conn: Connection, key: str, lock: bool = False):
        """The workspace's row (locked for this transaction with ``lock``), unless expired."""
        query = sa.select(WS).where(WS.c.key == key)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None or row.touched_at < _now() - self.ttl_s:
            raise self._gone()
        return row

    def _write_workspace(self, conn: Connection, token, expected_version=None):
        """Lock the workspace for a write and mark it used; with ``expected_version``, check it
        and bump it. The row as it was, and the new version."""
        row = self._workspace(conn, self._key(token), lock=True)
        version = row.version
        if expected_version is not None:
            if expected_version != row.version:
                raise WorkspaceConflict(rec.CONFLICT)
            version += 1
        conn.execute(WS.update().where(WS.c.key == row.key)
                     .values(touched_at=_now(), version=version))
        return row, version

    def _add_bytes(self, conn: Connection, row, delta: int, final: bool = True) -> None:
        """Check the caps for ``delta`` more bytes in ``row``'s workspace and (``final``)
        count them. The store-wide total is read under a lock so that concurrent writers do
        not both pass; ``final=False`` is a cheap early check before the blobs are written."""
        if delta > 0:
            if row.bytes_used + delta > self.workspace_max_bytes:
                raise rec.workspace_full(row.bytes_used, delta, self.workspace_max_bytes)
            if final:
                conn.execute(sa.select(schema.schema_info.c.id).with_for_update())
            total = self._total(conn)
            if total + delta > self.store_max_bytes:
                raise rec.store_full(total, delta, self.store_max_bytes)
        if final and delta:
            conn.execute(WS.update().where(WS.c.key == row.key)
                         .values(bytes_used=WS.c.bytes_used + delta))

    # ------------------------------------------------------------------------------ workspaces
    def new_workspace(self) -> str:
        """A new, empty workspace; its token (the only copy: keep it in the page's address)."""
        token = secrets.token_urlsafe(rec.TOKEN_BYTES)
        now, state = _now(), rec.dumps({})
        with self._tx(write=True) as conn:
            conn.execute(WS.insert().values(key=rec.token_key(token), created_at=now,
                                            touched_at=now, version=1, state=state,
                                            bytes_used=len(state)))
        log.info("workspace %s created", rec.short(token))
        return token

    def exists(self, token) -> bool:
        """True when ``token`` opens a live workspace; False for a malformed, unknown or expired
        one (never raises for a bad token)."""
        if not valid_token(token):
            return False
        try:
            with self._tx(write=False) as conn:
                self._workspace(conn, rec.token_key(token))
        except WorkspaceNotFound:
            return False
        return True

    def touch(self, token) -> bool:
        """Mark the workspace as used now (its TTL restarts); False when it does not exist."""
        if not valid_token(token):
            return False
        with self._tx(write=True) as conn:
            done = conn.execute(WS.update().where(WS.c.key == rec.token_key(token))
                                .where(WS.c.touched_at >= _now() - self.ttl_s)
                                .values(touched_at=_now()))
        return done.rowcount == 1

    def delete_workspace(self, token) -> bool:
        """Delete the workspace and all it holds; False when there was none."""
        if not valid_token(token):
            return False
        with self._tx(write=True) as conn:
            done = conn.execute(WS.delete().where(WS.c.key == rec.token_key(token)))
        if done.rowcount:
            log.info("workspace %s deleted", rec.short(token))
        return done.rowcount == 1

    def expire(self, now: Optional[float] = None) -> int:
        """Delete the workspaces unused for longer than the TTL at ``now`` (default: now), with
        all they hold; how many. A process that finds another one expiring skips."""
        cutoff = (_now() if now is None else now) - self.ttl_s
        with self._tx(write=True) as conn:
            if self._pg and not conn.scalar(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                                            {"k": schema.EXPIRE_LOCK_KEY}):
                return 0
            count = conn.execute(WS.delete().where(WS.c.touched_at < cutoff)).rowcount
        if count:
            log.info("workspace store: %d idle workspace(s) expired", count)
        return count

    def usage(self, token) -> int:
        """Bytes the workspace holds (what its cap is checked against)."""
        with self._tx(write=False) as conn:
            return self._workspace(conn, self._key(token)).bytes_used

    def total_usage(self) -> int:
        """Bytes all workspaces hold (what the store's cap is checked against)."""
        with self._tx(write=False) as conn:
            return self._total(conn)

    @staticmethod
    def _total(conn: Connection) -> int:
        # int(): PostgreSQL sums a bigint column as a numeric (a Decimal).
        return int(conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(WS.c.bytes_used), 0))))

    # ------------------------------------------------------------------------------ state
    def state(self, token) -> tuple[dict, int]:
        """The workspace's JSON state and its version."""
        with self._tx(write=False) as conn:
            row = self._workspace(conn, self._key(token))
        return rec.loads(row.state, Message(N_("'{part}'"), part="state")), row.version

    def version(self, token) -> int:
        """The workspace's version: it changes with every write of its state, data set or
        working table (a cheap check that a decoded copy is current)."""
        with self._tx(write=False) as conn:
            return self._workspace(conn, self._key(token)).version

    def stamp(self, token) -> tuple[int, int, int, int]:
        """What a decoded copy must match to be current, in one query: the version, the runs
        (their count and newest sequence number) and the jobs' last change."""
        key = self._key(token)
        runs = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(RUNS.c.seq), 0)) \
            .where(RUNS.c.workspace == key)
        jobs = sa.select(sa.func.coalesce(sa.func.max(JOBS.c.updated_at), 0.0)) \
            .where(JOBS.c.workspace == key).where(JOBS.c.status != "running") \
            .scalar_subquery()
        with self._tx(write=False) as conn:
            version = self._workspace(conn, key).version
            count, newest = conn.execute(runs).one()
            changed = conn.execute(sa.select(jobs)).scalar_one()
        return int(version), int(count), int(newest), int(changed * 1000)

    def set_state(self, token, state: Mapping, *, expected_version: Optional[int]) -> int:
        """Replace the state; the new version (``expected_version`` None: a preference, written
        without the check and without a new version).

        Raises
        ------
        WorkspaceConflict
            When the version is no longer ``expected_version`` (nothing is written).
        StoreFull
            When the state would take the workspace or the store over its cap.
        """
        text = rec.dumps(dict(state))
        with self._tx(write=True) as conn:
            row, version = self._write_workspace(conn, token, expected_version)
            self._add_bytes(conn, row, len(text) - len(row.state))
            conn.execute(WS.update().where(WS.c.key == row.key).values(state=text))
        return version

    # ------------------------------------------------------------------------------ data set
    def put_dataset(self, token, meta: Mapping, blobs: Mapping[str, bytes], *, table=KEEP,
                    expected_version: int) -> int:
        """Replace the current data set; the new version. ``table``: :data:`KEEP` (default)
        leaves the working table, None drops it, ``(meta, parquet bytes)`` replaces it.

        Raises
        ------
        WorkspaceConflict
            When the version is no longer ``expected_version`` (nothing is written).
        StoreFull
            When the data would take the workspace or the store over its cap.
        """
        parts = {rec.DATASET: (rec.dumps(meta), rec.clean_blobs(blobs))}
        if table is not KEEP:
            parts.update(self._table_part(table))
        return self._put_parts(token, parts, expected_version)

    def put_table(self, token, table: Optional[tuple[Mapping, bytes]], *,
                  expected_version: int) -> int:
        """Replace the working table (``(meta, parquet bytes)``; None: drop it), leaving the
        data set; the new version. Raises as :meth:`put_dataset`."""
        return self._put_parts(token, self._table_part(table), expected_version)

    def delete_dataset(self, token, *, expected_version: int) -> int:
        """Drop the current data set and the working table; the new version."""
        return self._put_parts(token, {rec.DATASET: None, rec.TABLE: None}, expected_version)

    @staticmethod
    def _table_part(table) -> dict:
        if table is None:
            return {rec.TABLE: None}
        return {rec.TABLE: (rec.dumps(table[0]), rec.clean_blobs({rec.TABLE_BLOB: table[1]}))}

    def _put_parts(self, token, parts: dict, expected_version: int) -> int:
        """Replace ``parts`` of the data (``{part: (meta text, blobs) or None}``, None drops
        it) in one transaction; the new version."""
        with self._tx(write=True) as conn:
            row, version = self._write_workspace(conn, token, expected_version)
            mine = (DS.c.workspace == row.key) & DS.c.part.in_(list(parts))
            old = sum(conn.scalars(sa.select(DS.c.nbytes).where(mine)).all())
            new = {p: len(v[0]) + rec.size(v[1]) for p, v in parts.items() if v is not None}
            delta = sum(new.values()) - old
            self._add_bytes(conn, row, delta, final=False)
            conn.execute(DS.delete().where(mine))
            for part, value in parts.items():
                rec.drop_blobs(conn, row.key, part)
                if value is not None:
                    conn.execute(DS.insert().values(workspace=row.key, part=part, meta=value[0],
                                                    nbytes=new[part], updated_at=_now()))
                    rec.put_blobs(conn, row.key, part, value[1])
            self._add_bytes(conn, row, delta)
        return version

    def _get_part(self, token, part: str, of: Message):
        """``(meta, blobs)`` of a part of the data, None when there is none."""
        with self._tx(write=False) as conn:
            key = self._workspace(conn, self._key(token)).key
            meta = conn.scalar(sa.select(DS.c.meta).where(DS.c.workspace == key)
                               .where(DS.c.part == part))
            if meta is None:
                return None
            blobs = rec.get_blobs(conn, key, part, of)
        return rec.loads(meta, rec.part_of("meta", of)), blobs

    def dataset(self, token) -> Optional[tuple[dict, dict[str, bytes]]]:
        """``(meta, blobs)`` of the current data set; None when there is none.

        Raises
        ------
        StoreError
            When a stored record is damaged (nothing is returned).
        """
        return self._get_part(token, rec.DATASET, Message(N_("of the data set")))

    def table(self, token) -> Optional[tuple[dict, bytes]]:
        """``(meta, parquet bytes)`` of the working table; None when there is none. Raises as
        :meth:`dataset`."""
        got = self._get_part(token, rec.TABLE, _OF_TABLE)
        if got is None:
            return None
        if rec.TABLE_BLOB not in got[1]:
            raise rec.damaged(rec.part_of(rec.TABLE_BLOB, _OF_TABLE), Message(N_("missing")))
        return got[0], got[1][rec.TABLE_BLOB]

    # ------------------------------------------------------------------------------ runs
    def add_run(self, token, *, method: str, label: str, headline: Mapping, meta: Mapping,
                blobs: Mapping[str, bytes], data_token: Optional[int] = None) -> str:
        """Add a run to the history; its id. ``label`` names its data, ``headline`` holds the
        figures of the history list, ``data_token`` (optional) which data set of the workspace
        it was made on. Raises :class:`StoreFull` over a cap."""
        head_text, meta_text, blobs = rec.dumps(headline), rec.dumps(meta), rec.clean_blobs(blobs)
        nbytes = len(head_text) + len(meta_text) + rec.size(blobs)
        run_id = uuid.uuid4().hex
        with self._tx(write=True) as conn:
            row, _ = self._write_workspace(conn, token)
            self._add_bytes(conn, row, nbytes, final=False)
            conn.execute(RUNS.insert().values(
                id=run_id, workspace=row.key, method=str(method), label=str(label),
                created_at=_now(), headline=head_text, meta=meta_text, nbytes=nbytes,
                data_token=None if data_token is None else int(data_token)))
            rec.put_blobs(conn, row.key, rec.run_owner(run_id), blobs)
            self._add_bytes(conn, row, nbytes)
        return run_id

    def _run_rows(self, conn: Connection, token, run_id: Optional[str] = None):
        key = self._workspace(conn, self._key(token)).key
        query = sa.select(*(RUNS.c[n] for n in rec.RUN_COLUMNS)).where(RUNS.c.workspace == key)
        if run_id is not None:
            query = query.where(RUNS.c.id == str(run_id))
        return key, conn.execute(query.order_by(RUNS.c.seq.desc())).all()

    def runs(self, token) -> list[RunInfo]:
        """The history, newest first, without the runs' meta and blobs."""
        with self._tx(write=False) as conn:
            _, rows = self._run_rows(conn, token)
        return [rec.run_info(r) for r in rows]

    def run_info(self, token, run_id: str) -> RunInfo:
        """One run as the history lists it. Raises :class:`RecordNotFound` when it is not in
        the history."""
        with self._tx(write=False) as conn:
            _, rows = self._run_rows(conn, token, run_id)
        if not rows:
            raise rec.no_run()
        return rec.run_info(rows[0])

    def run(self, token, run_id: str) -> tuple[RunInfo, dict, dict[str, bytes]]:
        """``(info, meta, blobs)`` of a run. Raises :class:`RecordNotFound` when it is not in
        the history, :class:`StoreError` when it is damaged."""
        with self._tx(write=False) as conn:
            key, rows = self._run_rows(conn, token, run_id)
            if not rows:
                raise rec.no_run()
            meta = conn.scalar(sa.select(RUNS.c.meta).where(RUNS.c.id == str(run_id)))
            blobs = rec.get_blobs(conn, key, rec.run_owner(run_id), rec.of_run(run_id))
        return (rec.run_info(rows[0]), rec.loads(meta, rec.part_of("meta", rec.of_run(run_id))),
                blobs)

    def delete_run(self, token, run_id: str) -> bool:
        """Remove a run from the history; False when it was not there (deleted meanwhile)."""
        def unlink(conn: Connection, key: str) -> None:
            rec.drop_blobs(conn, key, rec.run_owner(run_id))
            conn.execute(JOBS.update().where(JOBS.c.workspace == key)
                         .where(JOBS.c.run_id == str(run_id)).values(run_id=None))

        return self._delete_record(token, RUNS, run_id, unlink)

    def _delete_record(self, token, table: sa.Table, record_id: str,
                       unlink: Optional[Callable[[Connection, str], None]] = None) -> bool:
        """Remove the record ``record_id`` of ``table`` (runs or jobs) from the workspace, then
        (``unlink(conn, workspace key)``) what belongs to it; its bytes stop counting. False
        when it was not there."""
        with self._tx(write=True) as conn:
            row, _ = self._write_workspace(conn, token)
            where = (table.c.workspace == row.key) & (table.c.id == str(record_id))
            nbytes = conn.scalar(sa.select(table.c.nbytes).where(where))
            if nbytes is None:
                return False
            conn.execute(table.delete().where(where))
            if unlink is not None:
                unlink(conn, row.key)
            self._add_bytes(conn, row, -nbytes)
        return True
