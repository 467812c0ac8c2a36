"""Numbers in the text cells of a table: decimal commas, grouped digits and missing-value spellings.

:func:`parse_numbers` reads a column of text cells under a file's convention (a decimal point in
comma separated files; a decimal comma, or a point, in semicolon and tab separated ones), telling
numbers, missing cells and cells that are not numbers apart; :func:`column_from_text` turns a column
as read into int64, float64 or text. Used by :mod:`clustering.csv_reader` and
:mod:`clustering.prepare_steps`.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import pandas as pd

__all__ = ["NA_TOKENS", "NUMBER_LIKE", "Numbers", "as_text", "parse_numbers", "column_from_text"]

#: Cells read as missing values (compared case-insensitively, after stripping spaces).
NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "#н/д", "н/д"})

# Patterns are plain strings in the syntax Python's re and pyarrow's RE2 share, so that pandas runs
# them vectorised on Arrow-backed text.
# A number with spaces (or no-break spaces) between groups of three digits: 1 234 567,89.
_GROUPED = "[+-]?\\d{1,3}(?:[ \u00a0\u202f]\\d{3})+(?:[.,]\\d*)?"
# Commas between groups of three digits, decimal point (files with a decimal point): 1,234,567.89.
_GROUPED_COMMA = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
# Points between groups of three digits, with a decimal comma or two groups at least (files with a
# decimal comma): 1.234.567,89  1.234,5  1.234.567 (but not 1.234, which reads as a decimal point).
_GROUPED_POINT = r"(?:[+-]?\d{1,3}(?:\.\d{3})+,\d*|[+-]?\d{1,3}(?:\.\d{3}){2,})"
# A number with a decimal point: 2.5  .5  3.  1.5e-3.
_DECIMAL_POINT = r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?"
# Digits with separators that do not parse under the file's convention (1,5 in a comma separated
# file, 1.234,5,6): a number written wrongly rather than text.
NUMBER_LIKE = r"[+-]?[\d.,  ]*\d[\d.,  ]*(?:[eE][+-]?\d+)?"
# A number with a decimal comma: 1,085608  -,5  2,5e-3.
_DECIMAL_COMMA = r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?"
# An integer written with a leading zero (007): an identifier, not a quantity.
_LEADING_ZERO = r"[+-]?0\d+$"


def as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (NaN stays NaN)."""
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.astype("str")
    return values.str.strip()


class Numbers(NamedTuple):
    """What :func:`parse_numbers` found in a column of text cells."""

    values: np.ndarray  # float64, NaN where missing or bad
    missing: np.ndarray  # bool: empty or a missing-value spelling
    bad: np.ndarray  # bool: not a number
    used_comma: bool  # a decimal comma was read
    mixed: Optional[tuple[int, int]]  # (a decimal-comma cell, a decimal-point cell) when both occur


def parse_numbers(values: pd.Series, decimal_comma: bool, *, stripped: bool = False) -> Numbers:
    """Numbers of a column of text cells.

    Plain numbers are parsed in one vectorised pass; only the cells that fail it are looked at
    again (missing-value spellings, grouped digits, decimal comma). In a file read with decimal
    commas, a column holding both decimal commas and decimal points is ambiguous (``1.234`` may be
    1234 with a point between thousands): the cells of the rarer kind are marked bad and ``mixed``
    names one cell of each kind.
    """
    s = values if stripped else as_text(values)
    comma = _comma_mask(s) if decimal_comma else np.zeros(len(s), dtype=bool)
    nums = _to_float(_comma_to_point(s, comma))
    missing = np.zeros(len(s), dtype=bool)
    retry = np.isnan(nums)
    if retry.any():
        idx = np.flatnonzero(retry)
        sub = s.iloc[idx]
        miss = (sub.isna() | sub.str.lower().isin(NA_TOKENS)).to_numpy(dtype=bool)
        missing[idx[miss]] = True
        idx, sub = idx[~miss], sub[~miss]
        grouped = _grouped_numbers(sub, decimal_comma) if len(idx) else None
        if grouped is not None:
            nums[idx], again = grouped
            comma[idx] |= again
    used_comma = bool(comma.any())
    # "nan"-like spellings are missing tokens; what still parses to NaN here is not a number.
    bad = ~missing & np.isnan(nums)
    mixed = None
    if decimal_comma and comma.any():
        point = s.str.fullmatch(_DECIMAL_POINT).fillna(False).to_numpy(dtype=bool)
        if point.any():
            mixed = (int(np.flatnonzero(comma)[0]), int(np.flatnonzero(point)[0]))
            rarer = point if point.sum() <= comma.sum() else comma
            bad |= rarer
            nums[rarer] = np.nan
    return Numbers(nums, missing, bad, used_comma, mixed)


def _to_float(cells: pd.Series) -> np.ndarray:
    """The cells as float64, NaN where they are not a plain number."""
    return np.array(pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64,
                                                                   na_value=np.nan))


def _comma_mask(cells: pd.Series) -> np.ndarray:
    """Which cells are numbers written with a decimal comma."""
    return np.array(cells.str.fullmatch(_DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool))


def _comma_to_point(cells: pd.Series, comma: np.ndarray) -> pd.Series:
    """The cells with the decimal comma of those marked in ``comma`` made a point."""
    if comma.any():
        cells = cells.mask(comma, cells.str.replace(",", ".", regex=False))
    return cells


def _grouped_numbers(cells: pd.Series,
                     decimal_comma: bool) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(numbers, which were read with a decimal comma) of cells whose digits are grouped in
    threes, None when none is. The group separator is a space in any file, a comma where the
    decimal separator is a point (1,234.5) and a point where it is a comma (1.234,5): the group
    separator of the file's own convention, so never ambiguous."""
    spaced = cells.str.fullmatch(_GROUPED).fillna(False).to_numpy(dtype=bool)
    other = cells.str.fullmatch(_GROUPED_POINT if decimal_comma else _GROUPED_COMMA) \
        .fillna(False).to_numpy(dtype=bool)
    if not (spaced.any() or other.any()):
        return None
    cells = cells.mask(spaced, cells.str.replace("[ \u00a0\u202f]", "", regex=True))
    cells = cells.mask(other, cells.str.replace("." if decimal_comma else ",", "", regex=False))
    again = _comma_mask(cells) if decimal_comma else np.zeros(len(cells), dtype=bool)
    return _to_float(_comma_to_point(cells, again)), again


def column_from_text(stripped: pd.Series, decimal_comma: bool) -> tuple[pd.Series, bool]:
    """A column as read (from stripped cells): numeric when every cell is a number or missing,
    else text with NaN for empty cells."""
    nums, missing, bad, used_comma, _ = parse_numbers(stripped, decimal_comma, stripped=True)
    if missing.all():
        return pd.Series(nums, index=stripped.index, dtype=np.float64), False
    text = stripped.mask(stripped == "")
    if bad.any():
        return text, False
    cells = stripped[~missing] if missing.any() else stripped
    if cells.str.match(_LEADING_ZERO).any():
        return text, False  # codes such as 007 or INN 0274062111 keep their zeros
    finite = nums[~missing]
    integral = (not missing.any() and np.all(np.isfinite(finite))
                and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53)
                and not cells.str.contains(r"[.,eE]").any())
    if integral:
        return pd.Series(nums.astype(np.int64), index=stripped.index), used_comma
    return pd.Series(nums, index=stripped.index, dtype=np.float64), used_comma
