"""Settings of the workspace store (:mod:`ui.store`), read from the environment.

``CLUSTERMAP_DATA_DIR``
    The data directory; default ``~/.local/share/clustermap`` or, when that cannot be written,
    ``clustermap-<uid>`` in the system's temporary directory (logged). Created when missing.
``CLUSTERMAP_DATABASE_URL``
    The database; default ``sqlite:///<data dir>/clustermap.db``. A scaled deployment (several
    web servers) points every server at one PostgreSQL database:
    ``postgresql+psycopg://user:password@host:5432/clustermap``.
``CLUSTERMAP_WORKSPACE_TTL``
    A workspace unused this long is deleted: seconds, or a number with ``s``, ``m``, ``h``,
    ``d`` or ``w`` (``7d``, ``12h``); default 7 days.
``CLUSTERMAP_WORKSPACE_MAX_BYTES`` / ``CLUSTERMAP_STORE_MAX_BYTES``
    What one workspace and the whole store may hold (``512M``, ``8G`` or bytes); default 512 MB
    and 8 GB.

A bad value is logged and the default used: a setting never stops the server starting.
"""
from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from clustering.memory import fmt_bytes, parse_bytes
from clustering.errors import ConfigError
from clustering.i18n import Message, N_

log = logging.getLogger("clustermap.store")

DATA_DIR_ENV = "CLUSTERMAP_DATA_DIR"
DATABASE_URL_ENV = "CLUSTERMAP_DATABASE_URL"
TTL_ENV = "CLUSTERMAP_WORKSPACE_TTL"
WORKSPACE_MAX_ENV = "CLUSTERMAP_WORKSPACE_MAX_BYTES"
STORE_MAX_ENV = "CLUSTERMAP_STORE_MAX_BYTES"

DEFAULT_TTL_S = 7 * 86400.0
DEFAULT_WORKSPACE_MAX = 512 * 2**20
DEFAULT_STORE_MAX = 8 * 2**30
#: Database back-ends the store is written and tested for.
BACKENDS = ("sqlite", "postgresql")

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([smhdw]?)\s*")


@dataclass(frozen=True)
class StoreSettings:
    """The store's settings in force (see the module notes)."""

    data_dir: Path
    url: str
    ttl_s: float
    workspace_max_bytes: int
    store_max_bytes: int


def parse_duration(text: str, where: str = TTL_ENV) -> float:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"90s"`` or ``"3600"`` as seconds (> 0).

    Raises
    ------
    ConfigError
        When ``text`` is none of these.
    """
    m = _DURATION.fullmatch(str(text).lower())
    value = float(m[1]) * _UNITS[m[2]] if m else float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(N_("{where}: expected a duration such as 604800, 7d or 12h, got "
                             "{text!r}."), where=where, text=text)
    return value


def fmt_duration(seconds: float) -> str:
    """``604800`` -> ``"7 days"``; ``5400`` -> ``"1.5 hours"``."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds / size
            text = f"{n:.0f}" if n == round(n) else f"{n:.1f}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


#: :func:`duration_text`'s sentences by unit: (one whole, several whole, a fraction).
_DURATIONS = {
    "day": (N_("{n:.0f} day"), N_("{n:.0f} days"), N_("{n:.1f} days")),
    "hour": (N_("{n:.0f} hour"), N_("{n:.0f} hours"), N_("{n:.1f} hours")),
    "minute": (N_("{n:.0f} minute"), N_("{n:.0f} minutes"), N_("{n:.1f} minutes")),
}


def duration_text(seconds: float) -> Message:
    """:func:`fmt_duration` as a :class:`~clustering.i18n.Message` (the same English; the unit
    translated where it is shown)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds / size
            one, many, part = _DURATIONS[unit]
            if n != round(n):
                return Message(part, n=n)
            return Message(one if f"{n:.0f}" == "1" else many, n=n)
    return Message(N_("{n:g} second") if seconds == 1 else N_("{n:g} seconds"), n=seconds)


def _usable_dir(path: Path, own: bool = False) -> bool:
    """Create ``path`` when missing; True when this process can write it (and, ``own``, owns
    it: a folder under the shared temporary directory could have been made by someone else)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if own and hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            return False
        return path.is_dir() and os.access(path, os.W_OK | os.X_OK)
    except OSError:
        return False


def data_dir(environ: Optional[Mapping[str, str]] = None) -> Path:
    """The data directory (``CLUSTERMAP_DATA_DIR``, else the default; see the module notes),
    created when missing; which one is logged."""
    env = os.environ if environ is None else environ
    raw = env.get(DATA_DIR_ENV, "").strip()
    if raw:
        path = Path(raw).expanduser()
        if _usable_dir(path):
            log.info("data directory %s (from %s)", path, DATA_DIR_ENV)
            return path
        log.warning("%s=%r cannot be created or written; using the default", DATA_DIR_ENV, raw)
    home = Path("~/.local/share/clustermap").expanduser()
    if _usable_dir(home):
        log.info("data directory %s", home)
        return home
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    temp = Path(tempfile.gettempdir()) / f"clustermap-{uid}"
    if not _usable_dir(temp, own=True):
        temp = Path(tempfile.mkdtemp(prefix="clustermap-"))
    log.warning("data directory %s cannot be written; using %s (the system may clear it)",
                home, temp)
    return temp


def database_url(directory: Path, environ: Optional[Mapping[str, str]] = None) -> str:
    """``CLUSTERMAP_DATABASE_URL`` when it names a SQLite or PostgreSQL database, else the
    SQLite file ``clustermap.db`` of ``directory``."""
    from sqlalchemy.engine import make_url

    env = os.environ if environ is None else environ
    default = f"sqlite:///{directory / 'clustermap.db'}"
    raw = env.get(DATABASE_URL_ENV, "").strip()
    if not raw:
        return default
    try:
        backend = make_url(raw).get_backend_name()
    except Exception:  # sqlalchemy.exc.ArgumentError and the URL parser's ValueErrors
        backend = None
    if backend not in BACKENDS:
        log.warning("%s is not a sqlite:/// or postgresql+psycopg:// URL; using %s",
                    DATABASE_URL_ENV, default)
        return default
    return raw


def _env_value(env: Mapping[str, str], name: str, parse, default):
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw, name)
    except ConfigError as exc:
        log.warning("%s; using the default, %s", exc, default)
        return default


def settings(environ: Optional[Mapping[str, str]] = None) -> StoreSettings:
    """The store's settings from ``environ`` (default ``os.environ``); never raises."""
    env = os.environ if environ is None else environ
    directory = data_dir(env)
    result = StoreSettings(
        data_dir=directory, url=database_url(directory, env),
        ttl_s=_env_value(env, TTL_ENV, parse_duration, DEFAULT_TTL_S),
        workspace_max_bytes=_env_value(env, WORKSPACE_MAX_ENV, parse_bytes, DEFAULT_WORKSPACE_MAX),
        store_max_bytes=_env_value(env, STORE_MAX_ENV, parse_bytes, DEFAULT_STORE_MAX))
    log.info("workspace store settings: TTL %s, %s per workspace, %s in all",
             fmt_duration(result.ttl_s), fmt_bytes(result.workspace_max_bytes),
             fmt_bytes(result.store_max_bytes))
    return result
