"""The size limits of an input table, said one way: which setting and environment variable
raise each, and the checks made before a table's cells are read.

Every reader (:mod:`clustering.csv_reader`, :mod:`clustering.workbook`, :mod:`clustering.tables`,
:mod:`clustering.prepare_steps`) refuses through :func:`over_limit`, so a refusal always names the
limit, its setting and its environment variable (principle 3 of the README).
"""
from __future__ import annotations

from clustering.errors import DataError
from clustering.i18n import Message, N_
from clustering.table_messages import size_text

__all__ = ["LIMIT_ENV", "MEMORY_PER_CELL", "MEMORY_PER_BYTE", "estimate_memory", "setting",
           "over_limit", "check_shape"]

#: Environment variables that set the default limits (read once, at import, by
#: :meth:`clustering.tables.Limits.from_env`). Sizes in bytes accept a unit: ``50M``, ``2G``.
LIMIT_ENV = {
    "max_rows": "CLUSTERMAP_MAX_ROWS",
    "max_columns": "CLUSTERMAP_MAX_COLUMNS",
    "max_bytes": "CLUSTERMAP_MAX_BYTES",
    "max_memory": "CLUSTERMAP_MAX_MEMORY",
}
#: Peak memory of reading a table, per cell and per byte of the file: an upper estimate of the
#: measured ~125 bytes per cell (docs/benchmarks.md), plus two copies of the text.
MEMORY_PER_CELL = 128
MEMORY_PER_BYTE = 2


def estimate_memory(n_bytes: int, n_rows: int, n_columns: int) -> int:
    """Peak bytes of memory reading and preparing such a table take (an upper estimate, see
    :data:`MEMORY_PER_CELL`)."""
    return MEMORY_PER_BYTE * int(n_bytes) + MEMORY_PER_CELL * int(n_rows) * int(n_columns)


def setting(name: str) -> Message:
    """``"setting max_rows, environment variable CLUSTERMAP_MAX_ROWS"``."""
    return Message(N_("setting {name}, environment variable {env}"), name=name,
                   env=LIMIT_ENV[name])


def over_limit(stated, name: str, limit, advice) -> DataError:
    """``"<stated>, over the limit of <limit> (<setting>). <advice>"``, e.g.
    ``over_limit(Message(N_("The table has {n} columns"), n=9), "max_columns", 5, ...)``
    (``stated``, ``limit`` and ``advice``: text or messages)."""
    return DataError(N_("{stated}, over the limit of {limit} ({setting}). {advice}"),
                     stated=stated, limit=limit, setting=setting(name), advice=advice)


def check_shape(what: str, n_bytes: int, n_rows: int, n_columns: int, lim, *,
                rows_exact: bool = True) -> None:
    """Refuse a table of ``n_rows`` x ``n_columns`` (``what``: a message naming it, "The table",
    "Sheet 'a'") over
    ``lim``'s column, row or memory limit, before its cells are parsed. ``rows_exact`` False:
    ``n_rows`` is an upper bound (a CSV's lines), so only the memory estimate uses it."""
    if n_columns > lim.max_columns:
        raise over_limit(Message(N_("{what} has {n} columns"), what=what, n=n_columns),
                         "max_columns", lim.max_columns,
                         Message(N_("Keep the columns you need or raise the limit.")))
    if rows_exact and n_rows > lim.max_rows:
        raise over_limit(Message(N_("{what} has {n} rows under its header"), what=what,
                                 n=n_rows), "max_rows", lim.max_rows,
                         Message(N_("Use a sample of the rows or raise the limit.")))
    need = estimate_memory(n_bytes, n_rows, n_columns)
    if need > lim.max_memory:
        stated = (N_("{what}: reading it would take about {size} of memory ({rows} rows x "
                     "{columns} columns)") if rows_exact else
                  N_("{what}: reading it would take about {size} of memory ({rows} lines x "
                     "{columns} columns)"))
        raise over_limit(Message(stated, what=what, size=size_text(need), rows=n_rows,
                                 columns=n_columns),
                         "max_memory", size_text(lim.max_memory),
                         Message(N_("Use fewer rows or columns, or raise the limit.")))
