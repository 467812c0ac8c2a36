"""The tables of the workspace store (:mod:`ui.store`), their version and their migrations.

Tables
------
``schema_info``
    One row: ``schema_version`` (:data:`SCHEMA_VERSION`). Its row is also the store-wide lock
    taken before the store's total size is checked (``SELECT ... FOR UPDATE`` on PostgreSQL).
``workspaces``
    ``key`` (sha256 hex of the token; the token is never stored), ``created_at``,
    ``touched_at`` (epoch seconds), ``version`` (optimistic concurrency of ``state`` and the data
    set), ``bytes_used`` (what the workspace's rows take), ``state`` (a small JSON text).
``datasets``
    At most two rows per workspace, by ``part``: ``"dataset"``, the current data set's ``meta``
    (its arrays are blobs), and ``"table"``, the working table of an upload (``meta``; its
    Parquet bytes are a blob).
``runs``
    The history: ``id``, ``method``, ``label`` (of the data), ``created_at``, ``headline`` (the
    figures of the history list), ``meta`` (JSON) and ``data_token`` (which data set of the
    workspace it was made on, the caller's number); ``seq`` orders them.
``jobs``
    ``id``, ``method``, ``label``, ``status`` (:data:`JOB_STATUSES`), ``config`` (JSON, to re-run
    it), ``created_at``, ``updated_at`` (also the heartbeat of a live job), ``dask_key``,
    ``run_id`` when finished, ``error``, ``process`` (the server process that runs it),
    ``data_token``.
``blobs``
    Named byte strings with their size and sha256, owned by a part of ``datasets``
    (``"dataset"``, ``"table"``) or a run (``"run:<id>"``) of a workspace.

Every row of a workspace refers to it with ``ON DELETE CASCADE``, so deleting a workspace
removes all of it. ``nbytes`` of a row is what it adds to the workspace's ``bytes_used``.

Versions: :func:`ensure_schema` creates an empty database at :data:`SCHEMA_VERSION`, brings an
older one up to date with the steps of :data:`MIGRATIONS` (in one transaction), and refuses a
newer or unknown one with :class:`StoreError`. It runs under a lock (``BEGIN IMMEDIATE`` on SQLite,
an advisory lock on PostgreSQL), so several processes may open a new database at once.
"""
from __future__ import annotations

import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from clustering.errors import ClusteringError
from clustering.i18n import N_

log = logging.getLogger("clustermap.store")

#: The version of the tables below.
SCHEMA_VERSION = 1
#: The states of a job; the first two are "live" (:meth:`ui.store.Store.interrupt_running_jobs`);
#: ``dismissed``: an interrupted job the visitor took off the list.
JOB_STATUSES = ("queued", "running", "finished", "failed", "stopped", "interrupted",
                "dismissed")
#: Seconds SQLite waits for another writer before it reports the database as busy.
SQLITE_BUSY_TIMEOUT_S = 30.0
#: PostgreSQL advisory lock keys: creating/migrating the schema, expiring workspaces.
SCHEMA_LOCK_KEY = 0x636D_0001
EXPIRE_LOCK_KEY = 0x636D_0002
#: Execution option of a connection whose transactions write (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "clustermap_write"


class StoreError(ClusteringError):
    """The workspace store cannot do what was asked; ``str(err)`` says why, in one sentence."""


metadata = sa.MetaData()


def _workspace_fk() -> sa.Column:
    return sa.Column("workspace", sa.String(64),
                     sa.ForeignKey("workspaces.key", ondelete="CASCADE"), nullable=False)



def _record_columns() -> list[sa.Column]:
    """The first columns of a run and of a job: their order in the workspace, id, workspace,
    method and the label of their data."""
    return [sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("id", sa.String(32), nullable=False, unique=True),
            _workspace_fk(),
            sa.Column("method", sa.String(200), nullable=False),
            sa.Column("label", sa.Text, nullable=False)]


schema_info = sa.Table(
    "schema_info", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.CheckConstraint("id = 1", name="schema_info_one_row"))

workspaces = sa.Table(
    "workspaces", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("touched_at", sa.Double, nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("bytes_used", sa.BigInteger, nullable=False),
    sa.Column("state", sa.Text, nullable=False))

datasets = sa.Table(
    "datasets", metadata,
    sa.Column("workspace", sa.String(64), sa.ForeignKey("workspaces.key", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("part", sa.String(16), primary_key=True),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("nbytes", sa.BigInteger, nullable=False),
    sa.CheckConstraint("part IN ('dataset', 'table')", name="datasets_part"))

runs = sa.Table(
    "runs", metadata,
    *_record_columns(),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("headline", sa.Text, nullable=False),
    sa.Column("meta", sa.Text, nullable=False),
    sa.Column("data_token", sa.Integer, nullable=True),
    sa.Column("nbytes", sa.BigInteger, nullable=False),
    sa.Index("runs_by_workspace", "workspace", "seq"))

jobs = sa.Table(
    "jobs", metadata,
    *_record_columns(),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("updated_at", sa.Double, nullable=False),
    sa.Column("dask_key", sa.Text, nullable=True),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("process", sa.Text, nullable=True),
    sa.Column("data_token", sa.Integer, nullable=True),
    sa.Column("nbytes", sa.BigInteger, nullable=False),
    sa.CheckConstraint("status IN (%s)" % ", ".join(f"'{s}'" for s in JOB_STATUSES),
                       name="jobs_status"),
    sa.Index("jobs_by_workspace", "workspace", "seq"))

blobs = sa.Table(
    "blobs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _workspace_fk(),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("workspace", "owner", "name", name="blobs_unique_name"))

#: The tables of this schema by name, ``schema_info`` first.
TABLES = {t.name: t for t in (schema_info, workspaces, datasets, runs, jobs, blobs)}

#: ``MIGRATIONS[v]`` brings a database at version ``v`` to ``v + 1`` (on an open connection, in
#: the transaction of :func:`ensure_schema`). Version 1 is the first: none yet.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


# ----------------------------------------------------------------------------------- engine
def _sqlite_connect(dbapi_connection, _record) -> None:
    """Pragmas of every SQLite connection; SQLAlchemy, not sqlite3, emits BEGIN."""
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """``BEGIN IMMEDIATE`` for a writing transaction (it waits for the write lock up front, so
    it never fails half-way on a lock upgrade), a deferred ``BEGIN`` (a snapshot) for a reader."""
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite: WAL, a busy timeout, foreign keys; PostgreSQL: psycopg).

    Raises
    ------
    StoreError
        When the URL cannot be parsed or its driver is not installed.
    """
    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(parsed, hide_parameters=True,
                                      connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            sa.event.listen(engine, "connect", _sqlite_connect)
            sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = sa.create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(N_("The workspace database URL cannot be used ({error}); set "
                            "{env} to sqlite:///<file> or postgresql+psycopg://user@host/db."),
                         error=str(exc), env="CLUSTERMAP_DATABASE_URL") from None
    return engine


def describe_url(engine: Engine) -> str:
    """The engine's URL without its password, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


# ----------------------------------------------------------------------------------- versions
def _lock_schema(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})


def _stored_version(conn: Connection, where: str):
    """The version recorded in the database, None when it holds none of these tables."""
    names = set(sa.inspect(conn).get_table_names())
    if "schema_info" not in names:
        ours = sorted(names & set(TABLES))
        if ours:
            raise StoreError(N_("The database {where} holds tables named like clustermap's "
                                "({tables}) but no schema_info, so its schema version is "
                                "unknown; it was not opened (this clustermap knows schema version "
                                "{known})."), where=where, tables=", ".join(ours),
                             known=SCHEMA_VERSION)
        return None
    rows = conn.execute(sa.text("SELECT schema_version FROM schema_info")).all()
    if len(rows) != 1 or not isinstance(rows[0][0], int):
        raise StoreError(N_("The database {where} has an unknown schema version ({found!r}); "
                            "it was not opened (this clustermap knows schema version {known})."),
                         where=where, found=[r[0] for r in rows], known=SCHEMA_VERSION)
    return rows[0][0]


def _migrate(conn: Connection, version: int, where: str) -> None:
    for v in range(version, SCHEMA_VERSION):
        step = MIGRATIONS.get(v)
        if step is None:
            raise StoreError(N_("The database {where} has schema version {version} and no "
                                "migration from version {start} to {end} is known; it was not "
                                "opened (this clustermap knows schema version {known})."),
                             where=where, version=version, start=v, end=v + 1,
                             known=SCHEMA_VERSION)
        log.info("workspace store %s: migrating the schema from version %d to %d", where, v, v + 1)
        try:
            step(conn)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(N_("The migration of the database {where} from schema version "
                                "{start} to {end} failed ({type}: {error}); the database was "
                                "left at version {version}."), where=where, start=v, end=v + 1,
                             type=type(exc).__name__, error=str(exc), version=version) from exc
    conn.execute(schema_info.update().values(schema_version=SCHEMA_VERSION))


def ensure_schema(engine: Engine) -> int:
    """Create, migrate or accept the schema of ``engine``'s database; the version found.

    Raises
    ------
    StoreError
        When the database has a newer or unknown schema version, or a migration is missing or
        fails (the database is then left as it was).
    """
    where = describe_url(engine)
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            _lock_schema(conn)
            version = _stored_version(conn, where)
            if version is None:
                metadata.create_all(conn)
                conn.execute(schema_info.insert().values(id=1, schema_version=SCHEMA_VERSION))
                log.info("workspace store %s: created at schema version %d", where,
                         SCHEMA_VERSION)
            elif version > SCHEMA_VERSION:
                raise StoreError(N_("The database {where} has schema version {version}, newer "
                                    "than version {known} that this clustermap knows; it was not "
                                    "opened (upgrade clustermap or use another database)."),
                                 where=where, version=version, known=SCHEMA_VERSION)
            elif version < SCHEMA_VERSION:
                _migrate(conn, version, where)
    return SCHEMA_VERSION if version is None else version
