"""The records of the workspace store (:mod:`ui.store`): tokens, JSON texts, checked blobs, the
rows handed out and the error types."""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from clustering.i18n import Message, N_
from clustering.memory import fmt_bytes
from ui.store_schema import JOB_STATUSES, StoreError, blobs as BLOBS
from ui.store_settings import STORE_MAX_ENV, WORKSPACE_MAX_ENV

#: Random bytes of a token (``secrets.token_urlsafe``: 43 characters).
TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
#: Owners of blobs: the data set, the working table, a run (``run:<id>``).
DATASET, TABLE = "dataset", "table"
TABLE_BLOB = "table.parquet"
#: A job's error message is kept up to this many characters.
MAX_ERROR_CHARS = 20_000
MAX_NAME_CHARS = 200
#: The columns of ``runs`` that a :class:`RunInfo` shows.
RUN_COLUMNS = ("id", "method", "label", "created_at", "headline", "nbytes", "data_token")


class StoreFull(StoreError):
    """A write would take a workspace or the store over its cap; nothing was written."""


class WorkspaceConflict(StoreError):
    """The workspace changed in another tab or window since the write's version was read."""

    def __init__(self, message: str = ""):
        super().__init__(message or CONFLICT)


class WorkspaceNotFound(StoreError):
    """The token opens no live workspace (malformed, unknown, deleted or expired)."""


class RecordNotFound(StoreError):
    """The run or job asked for is not (or no longer) in the workspace."""


@dataclass(frozen=True)
class RunInfo:
    """A run of the history as the list shows it (no blobs)."""

    id: str
    method: str
    label: str
    created_at: float
    headline: dict
    nbytes: int
    data_token: Optional[int] = None

    @property
    def run_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class JobInfo:
    """A job's record."""

    id: str
    method: str
    label: str
    status: str
    config: dict
    created_at: float
    updated_at: float
    dask_key: Optional[str]
    run_id: Optional[str]
    error: Optional[str]
    process: Optional[str]
    data_token: Optional[int]

    @property
    def job_id(self) -> str:
        return self.id


# ----------------------------------------------------------------------------------- tokens
def valid_token(token) -> bool:
    """True when ``token`` has the exact shape of a token this store makes: 43 characters of
    the URL-safe base64 alphabet that encode 32 bytes (its canonical spelling). Shape only: it
    says nothing of whether the workspace exists."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return False
    raw = base64.urlsafe_b64decode(token + "=")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == token


def token_key(token: str) -> str:
    """The database key of a token: its sha256 in hex (the token itself is never stored)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def short(token: str) -> str:
    """How logs name a workspace: the start of its key, never of its token."""
    return token_key(token)[:12]


# ----------------------------------------------------------------------------------- JSON
def dumps(value) -> str:
    """``value`` as compact ASCII JSON text (so its length is its size in bytes; NaN and
    infinities allowed, as Python writes them)."""
    return json.dumps(value, separators=(",", ":"))


def loads(text: str, what: str):
    """The JSON ``text`` of ``what``; :class:`StoreError` when it is damaged."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        raise damaged(what, Message(N_("not valid JSON"))) from None


def clip(error: Optional[str]) -> Optional[str]:
    """A job's error message, cut at :data:`MAX_ERROR_CHARS`."""
    return None if error is None else str(error)[:MAX_ERROR_CHARS]


def check_status(status: str) -> None:
    """Raise ``ValueError`` unless ``status`` is one of :data:`JOB_STATUSES`."""
    if status not in JOB_STATUSES:
        raise ValueError(f"job status {status!r}: expected one of {', '.join(JOB_STATUSES)}")


# ----------------------------------------------------------------------------------- blobs
def run_owner(run_id: str) -> str:
    return f"run:{run_id}"


def clean_blobs(blobs: Mapping[str, bytes]) -> dict[str, bytes]:
    """``blobs`` as a dict of names (1 to 200 characters) to ``bytes``; ``TypeError`` or
    ``ValueError`` for anything else (the caller's mistake, not the user's)."""
    out = {}
    for name, data in dict(blobs).items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise ValueError(f"blob name {name!r}: expected 1 to {MAX_NAME_CHARS} characters")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"blob {name!r}: expected bytes, got {type(data).__name__}")
        out[name] = bytes(data)
    return out


def size(blobs: Mapping[str, bytes]) -> int:
    """The bytes of ``blobs``."""
    return sum(len(b) for b in blobs.values())


def put_blobs(conn: Connection, key: str, owner: str, blobs: Mapping[str, bytes]) -> None:
    """Store ``blobs`` of ``owner`` with their size and sha256."""
    rows = [{"workspace": key, "owner": owner, "name": name, "size": len(data),
             "sha256": hashlib.sha256(data).hexdigest(), "data": data}
            for name, data in blobs.items()]
    if rows:
        conn.execute(BLOBS.insert(), rows)


def drop_blobs(conn: Connection, key: str, owner: str) -> None:
    conn.execute(BLOBS.delete().where(BLOBS.c.workspace == key).where(BLOBS.c.owner == owner))


def get_blobs(conn: Connection, key: str, owner: str, of: Message) -> dict[str, bytes]:
    """The blobs of ``owner``, each checked against its size and sha256.

    Raises
    ------
    StoreError
        When one is damaged (``of`` completes its name in the message: :func:`of_run`).
    """
    rows = conn.execute(sa.select(BLOBS.c.name, BLOBS.c.size, BLOBS.c.sha256, BLOBS.c.data)
                        .where(BLOBS.c.workspace == key).where(BLOBS.c.owner == owner)
                        .order_by(BLOBS.c.id)).all()
    out = {}
    for row in rows:
        data = bytes(row.data)
        if len(data) != row.size:
            raise damaged(blob_of(row.name, of),
                          Message(N_("truncated: {size} of {expected} bytes, checksum mismatch"),
                                  size=len(data), expected=row.size))
        if hashlib.sha256(data).hexdigest() != row.sha256:
            raise damaged(blob_of(row.name, of), Message(N_("checksum mismatch")))
        out[row.name] = data
    return out


# ----------------------------------------------------------------------------------- errors
CONFLICT = N_("This workspace was changed in another tab or window meanwhile; your change was "
              "not saved. The page now shows the current state.")


def workspace_full(used: int, delta: int, cap: int) -> StoreFull:
    return StoreFull(N_("This workspace holds {used} and this change needs {delta} more, over its "
                        "cap of {cap} (setting {env}); delete runs in the history to make room."),
                     used=fmt_bytes(used), delta=fmt_bytes(delta), cap=fmt_bytes(cap),
                     env=WORKSPACE_MAX_ENV)


def store_full(total: int, delta: int, cap: int) -> StoreFull:
    return StoreFull(N_("The server's workspace store holds {total} and this change needs "
                        "{delta} more, over its cap of {cap} (setting {env}); delete runs in the "
                        "history to make room, or ask the server's administrator to raise the "
                        "cap."), total=fmt_bytes(total), delta=fmt_bytes(delta),
                     cap=fmt_bytes(cap), env=STORE_MAX_ENV)


def part_of(part: str, of) -> Message:
    """The name of a stored record in messages: ``'meta' of run 1f3e...`` (``part``: the
    record's name, data; ``of``: a :class:`~clustering.i18n.Message` such as :func:`of_run`)."""
    return Message(N_("'{part}' {of}"), part=part, of=of)


blob_of = part_of


def of_run(run_id) -> Message:
    """``of run 1f3e...``: what a record belongs to, in messages (:func:`part_of`)."""
    return Message(N_("of run {run}"), run=run_id)


def of_job(job_id) -> Message:
    """``of job 1f3e...`` (:func:`part_of`)."""
    return Message(N_("of job {job}"), job=job_id)


def damaged(what, why) -> StoreError:
    """The error of a damaged record ``what`` (:func:`part_of`) for the reason ``why`` (both
    :class:`~clustering.i18n.Message` or text)."""
    return StoreError(N_("The stored record {what} of this workspace is damaged ({why}); it was "
                         "not loaded."), what=what, why=why)


def no_run() -> RecordNotFound:
    return RecordNotFound(N_("This run is no longer in the workspace's history (it was deleted, "
                             "perhaps in another tab or window)."))


def no_job() -> RecordNotFound:
    return RecordNotFound(N_("This job is no longer in the workspace (it was deleted, perhaps in "
                             "another tab or window)."))


def run_info(row) -> RunInfo:
    """A ``runs`` row (its list columns, :data:`RUN_COLUMNS`) as a :class:`RunInfo`."""
    return RunInfo(row.id, row.method, row.label, row.created_at,
                   loads(row.headline, part_of("headline", of_run(row.id))), row.nbytes,
                   row.data_token)


def job_info(row) -> JobInfo:
    """A ``jobs`` row as a :class:`JobInfo`."""
    return JobInfo(row.id, row.method, row.label, row.status,
                   loads(row.config, part_of("config", of_job(row.id))), row.created_at,
                   row.updated_at, row.dask_key, row.run_id, row.error, row.process,
                   row.data_token)
