"""How the messages about a table name its parts: quoted cells and column names, row lists, sizes.

A hostile file may hold a megabyte in one cell or ten thousand columns, so every message quotes
through these helpers, which shorten what they quote.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["size_text", "row_list", "quote", "names", "available", "join_problems"]


def size_text(n: int) -> str:
    """``1536`` -> ``"1.5 KB"``, ``900`` -> ``"900 bytes"``."""
    if n >= 1024 ** 3:
        return f"{n / 1024 ** 3:.1f} GB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def row_list(rows: np.ndarray, limit: int = 8) -> str:
    """``"2, 5, 9"``: the first ``limit`` spreadsheet rows, then how many more."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def quote(value: Any, limit: int = 40) -> str:
    """``repr`` of a cell or a name for a message, shortened when long (a hostile file may hold a
    megabyte in one cell)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def names(cols: Iterable[Any]) -> str:
    """Column names for a message, each quoted by :func:`quote`."""
    return ", ".join(quote(c) for c in cols)


def available(frame: pd.DataFrame) -> str:
    """The table's column names (the first 40, then how many more)."""
    cols = [str(c) for c in frame.columns]
    shown = ", ".join(repr(c) for c in cols[:40])
    return shown + (f" and {len(cols) - 40} more" if len(cols) > 40 else "")


def join_problems(problems: list[str]) -> str:
    """The first five problems as one sentence, then how many more columns have one."""
    text = "; ".join(problems[:5])
    return (text[0].upper() + text[1:]
            + (f"; and {len(problems) - 5} more columns" if len(problems) > 5 else ""))
