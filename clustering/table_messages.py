"""How the messages about a table name its parts: quoted cells and column names, row lists, sizes.

A hostile file may hold a megabyte in one cell or ten thousand columns, so every message quotes
through these helpers, which shorten what they quote.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from clustering.i18n import Joined, Message, N_

__all__ = ["size_text", "row_list", "quote", "names", "available", "join_problems"]


def size_text(n: int) -> Message:
    """``1536`` -> ``"1.5 KB"``, ``900`` -> ``"900 bytes"`` (a :class:`~clustering.i18n.Message`:
    the unit is translated where it is shown, ``"1,5 КБ"``)."""
    if n >= 1024 ** 3:
        return Message(N_("{size:.1f} GB"), size=n / 1024 ** 3)
    if n >= 1024 * 1024:
        return Message(N_("{size:.1f} MB"), size=n / (1024 * 1024))
    if n >= 1024:
        return Message(N_("{size:.1f} KB"), size=n / 1024)
    return Message(N_("{size} bytes"), size=int(n))


def row_list(rows: np.ndarray, limit: int = 8) -> Message:
    """``"2, 5, 9"``: the first ``limit`` spreadsheet rows, then how many more (``"... and 4
    more"``, translated where it is shown)."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    if len(rows) <= limit:
        return Message(shown)
    return Message(N_("{rows} and {more} more"), rows=shown, more=len(rows) - limit)


def quote(value: Any, limit: int = 40) -> str:
    """``repr`` of a cell or a name for a message, shortened when long (a hostile file may hold a
    megabyte in one cell)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def names(cols: Iterable[Any]) -> str:
    """Column names for a message, each quoted by :func:`quote`."""
    return ", ".join(quote(c) for c in cols)


def available(frame: pd.DataFrame) -> Message:
    """The table's column names (the first 40, then how many more)."""
    cols = [str(c) for c in frame.columns]
    shown = ", ".join(repr(c) for c in cols[:40])
    if len(cols) <= 40:
        return Message(shown)
    return Message(N_("{rows} and {more} more"), rows=shown, more=len(cols) - 40)


def join_problems(problems: list) -> Joined:
    """The first five problems (sentences or messages) as one sentence, its first letter a
    capital, then how many more columns have one."""
    parts = list(problems[:5])
    if len(problems) > 5:
        parts.append(Message(N_("columns with the same problem not shown: {more}"),
                             more=len(problems) - 5))
    return Joined(parts, "; ", capitalize=True)
