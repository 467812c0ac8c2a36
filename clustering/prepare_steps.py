"""The steps of :func:`clustering.tables.prepare`, from a table as read to a data set's arrays.

In the order ``prepare`` takes them: check the options and the table's shape
(:func:`check_n_clusters`, :func:`check_frame`), find the ID and label columns
(:func:`role_columns`), choose the features (:func:`default_features` or :func:`chosen_features`),
read their numbers (:func:`feature_values`), refuse infinite, empty and overflowing values
(:func:`check_values`), apply the missing-value policy (:func:`apply_missing`,
:func:`drop_unlabelled`), check what is left (:func:`check_row_count`, :func:`refuse_constant`),
scale (:func:`scale`) and take the objects' IDs (:func:`object_ids`) and labels
(:func:`encode_labels`). Each refusal is a :class:`~clustering.errors.DataError` naming the
column, the spreadsheet row (the header is row 1) and the value, and saying what to do.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from clustering.cell_numbers import NUMBER_LIKE, Numbers, as_text, parse_numbers
from clustering.csv_reader import DELIMITER_NAMES
from clustering.errors import ConfigError, DataError
from clustering.table_limits import over_limit
from clustering.table_messages import available, join_problems, names, quote, row_list

_EXAMPLES = 3  # offending cells quoted per column in a message
_HUGE = 1e100  # larger magnitudes overflow float64 in squared distances and variances


# ----------------------------------------------------------------------------------- messages
def bad_cells_text(col: Any, series: pd.Series, parsed: Numbers, rows: np.ndarray,
                    decimal_comma: bool) -> str:
    """The part of a message naming a column's cells that are not numbers, with a hint at the
    likely cause (mixed decimal separators, another separator inside the cells)."""
    cells = as_text(series)
    if parsed.mixed is not None:
        c, p = parsed.mixed
        return (f"column {quote(col)} mixes decimal commas (row {rows[c]}: "
                f"{quote(cells.iloc[c])}) and decimal points (row {rows[p]}: "
                f"{quote(cells.iloc[p])}), so a point may also "
                "group thousands: write all its numbers with the same decimal separator")
    where = np.flatnonzero(parsed.bad)
    examples = ", ".join(f"row {rows[i]}: {quote(cells.iloc[i])}" for i in where[:_EXAMPLES])
    more = f" ({len(where)} cells in all)" if len(where) > _EXAMPLES else ""
    text = f"column {quote(col)} has cells that are not numbers: {examples}{more}"
    shown = cells.iloc[where[:50]].astype(str)
    for sep in (";", "\t", ","):
        if shown.str.contains(sep, regex=False).any():
            name = DELIMITER_NAMES[sep]
            if sep == "," and not decimal_comma:
                text += (" (a decimal comma in a comma separated file: write the decimals with "
                         "a point, or separate the columns with semicolons)")
            else:
                text += (f" (they hold a {name}: does the file mix separators? Use one "
                         "separator throughout)")
            break
    return text


def resolve_column(frame: pd.DataFrame, name: Any, role: str) -> Any:
    """The column of ``frame`` called ``name`` (or whose name reads as ``name``); else a DataError
    naming the ``role`` and the columns there are."""
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if str(c) == str(name)]
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"{role}: no column named {str(name)!r}. Available columns: "
                    f"{available(frame)}.")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``; else a ConfigError naming the option."""
    if value not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}.")
    return value


def encode_labels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Class codes 0 .. k - 1 (in sorted order of the values; -1 for a missing one) and the
    class names."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


# ----------------------------------------------------------------------------------- the table
def check_n_clusters(n_clusters: Any) -> None:
    """Refuse an ``n_clusters`` that is given but not a positive whole number."""
    if n_clusters is not None:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 1:
            raise ConfigError(f"n_clusters: expected a positive whole number, got {n_clusters!r}.")


def check_frame(frame: pd.DataFrame, max_columns: int, max_rows: int) -> None:
    """Refuse a table over the column or row limit, with duplicate column names, or empty."""
    if frame.shape[1] > max_columns:
        raise over_limit(f"The table has {frame.shape[1]} columns", "max_columns",
                         str(max_columns), "Keep the columns you need or raise the limit.")
    if frame.shape[0] > max_rows:
        raise over_limit(f"The table has {frame.shape[0]} rows", "max_rows", str(max_rows),
                         "Use a sample of the rows or raise the limit.")
    if frame.columns.has_duplicates:
        dups = frame.columns[frame.columns.duplicated()].unique()
        raise DataError(f"Duplicate column names: {names(dups)}. Give every column a different "
                        "name.")
    if len(frame) == 0:
        raise DataError("The table has no rows.")


def role_columns(frame: pd.DataFrame, id_column: Any, label_column: Any) -> tuple[Any, Any]:
    """The ID and label columns of ``frame`` (None when not given), which must differ."""
    id_col = None if id_column is None else resolve_column(frame, id_column, "id_column")
    label_col = None if label_column is None else resolve_column(frame, label_column,
                                                                 "label_column")
    if id_col is not None and id_col == label_col:
        raise DataError(f"Column {str(id_col)!r} cannot be both the ID and the label column.")
    return id_col, label_col


def spreadsheet_rows(frame: pd.DataFrame) -> np.ndarray:
    """Row of each frame row as a spreadsheet numbers it (header = row 1)."""
    info = frame.attrs.get("csv") or {}
    rows = info.get("rows")
    if rows is not None and len(rows) == len(frame):
        return np.asarray(rows, dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + 2


# ----------------------------------------------------------------------------------- features
def _mostly_numbers(series: pd.Series, parsed: Numbers) -> bool:
    """Whether a text column with cells that are not numbers holds numbers in at least half of
    its filled cells (counting numbers written wrongly, such as ``1,5`` in a comma file)."""
    filled = int((~parsed.missing).sum())
    numbers = filled - int(parsed.bad.sum())
    bad_text = as_text(series)[parsed.bad]
    numbers += int(bad_text.str.fullmatch(NUMBER_LIKE).fillna(False).sum())
    return numbers >= 1 and 2 * numbers >= filled


def default_features(frame: pd.DataFrame, roles: set, rows: np.ndarray,
                     decimal_comma: bool) -> list:
    """Every numeric column but the ID and label columns. A text column whose cells are mostly
    numbers is a numeric column with bad cells: it is refused naming them, since leaving it out
    silently would cluster on fewer columns than the user sees."""
    features = [c for c in frame.columns if c not in roles
                and pd.api.types.is_numeric_dtype(frame[c])]
    problems = []
    for col in frame.columns:
        if col in roles or col in features or not (
                pd.api.types.is_string_dtype(frame[col])
                or pd.api.types.is_object_dtype(frame[col])):
            continue
        parsed = parse_numbers(frame[col], decimal_comma)
        if parsed.bad.any() and _mostly_numbers(frame[col], parsed):
            problems.append(bad_cells_text(col, frame[col], parsed, rows, decimal_comma))
    if problems:
        raise DataError(join_problems(problems) + ". Correct those cells, or choose the "
                        "feature columns (leaving these out), or name the column as the ID "
                        "column (row 1 is the header).")
    if not features:
        text = [c for c in frame.columns if c not in roles]
        raise DataError("The table has no numeric column to cluster on"
                        + (f" (its columns {names(text)} hold text)" if text else "")
                        + ": choose the feature columns, or fix the cells that are not "
                          "numbers.")
    return features


def chosen_features(frame: pd.DataFrame, feature_columns: Any, roles: set, id_col: Any) -> list:
    """The columns of ``feature_columns`` (one name or several), each once and none of them the
    ID or label column."""
    if isinstance(feature_columns, str) or not isinstance(feature_columns, Iterable):
        feature_columns = [feature_columns]
    wanted = list(feature_columns)
    if not wanted:
        raise DataError("feature_columns: choose at least one feature column.")
    unknown = [c for c in wanted if c not in frame.columns
               and sum(str(x) == str(c) for x in frame.columns) != 1]
    if unknown:
        raise DataError(f"feature_columns: no column named {names(unknown)}. Available "
                        f"columns: {available(frame)}.")
    features = [resolve_column(frame, c, "feature_columns") for c in wanted]
    repeated = sorted({str(c) for c in features if features.count(c) > 1})
    if repeated:
        raise DataError(f"feature_columns: {names(repeated)} given more than once.")
    both = [c for c in features if c in roles]
    if both:
        raise DataError(f"Column {str(both[0])!r} cannot be both a feature and the "
                        f"{'ID' if both[0] == id_col else 'label'} column.")
    return features


def feature_values(frame: pd.DataFrame, features: list, rows: np.ndarray,
                   decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values, missing): the features as float64 (NaN where missing) and where they are
    missing. Cells that are not numbers are refused, naming them."""
    values = np.empty((len(frame), len(features)), dtype=np.float64)
    miss = np.zeros_like(values, dtype=bool)
    problems = []
    for j, col in enumerate(features):
        series = frame[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            v = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            m = np.isnan(v)
        else:
            parsed = parse_numbers(series, decimal_comma)
            v, m = parsed.values, parsed.missing
            if parsed.bad.any():
                problems.append(bad_cells_text(col, series, parsed, rows, decimal_comma))
        values[:, j], miss[:, j] = v, m
    if problems:
        raise DataError(join_problems(problems) + ". Correct those cells, or leave the column "
                        "out of the features (row 1 is the header).")
    return values, miss


# ----------------------------------------------------------------------------------- values
def check_values(frame: pd.DataFrame, features: list, values: np.ndarray, miss: np.ndarray,
                 rows: np.ndarray) -> None:
    """Refuse infinite values, features without any value and magnitudes over 1e100."""
    infinite = np.isinf(values)
    if infinite.any():
        parts = []
        for j in range(len(features)):
            where = np.flatnonzero(infinite[:, j])
            if len(where):
                cell = str(frame[features[j]].iloc[where[0]]).strip()
                parts.append(f"{quote(features[j])} (rows {row_list(rows[where])}, e.g. "
                             f"{quote(cell)})")
        raise DataError("Infinite values in " + ", ".join(parts) + ": replace them by numbers "
                        "(or leave the cells empty and choose how to treat missing values).")
    empty = [features[j] for j in range(len(features)) if miss[:, j].all()]
    if empty:
        many = len(empty) > 1
        raise DataError(f"Column{'s' if many else ''} {names(empty)} "
                        f"{'have' if many else 'has'} no values: fill "
                        f"{'them' if many else 'it'} or leave {'them' if many else 'it'} out of "
                        "the features.")
    huge = np.abs(np.where(miss, 0.0, values)) > _HUGE
    if huge.any():
        parts = [f"{str(features[j])!r} (rows {row_list(rows[np.flatnonzero(huge[:, j])])})"
                 for j in range(len(features)) if huge[:, j].any()]
        raise DataError(f"Values beyond ±{_HUGE:.0e} in " + ", ".join(parts) + ": distances "
                        "between such numbers overflow; express the column in larger units.")


def reading_notes(frame: pd.DataFrame) -> list[str]:
    """Notes on how the file was read (encoding, separators), when not the usual ones."""
    notes: list[str] = []
    info = frame.attrs.get("csv") or {}
    read_bits = []
    if info.get("encoding") not in (None, "utf-8", "utf-8-sig"):
        read_bits.append(f"encoding {info['encoding']}")
    if info.get("delimiter") not in (None, ","):
        read_bits.append(f"{DELIMITER_NAMES[info['delimiter']]} separated")
    if info.get("decimal") == ",":
        read_bits.append("decimal comma")
    if read_bits:
        notes.append("Read the file as " + ", ".join(read_bits) + ".")
    if info.get("rows") is not None:
        notes.append("Skipped empty lines in the file; row numbers in messages count them.")
    return notes


# ----------------------------------------------------------------------------------- rows
def label_gaps(frame: pd.DataFrame, label_col: Any) -> Optional[np.ndarray]:
    """Where the label column is empty (None without a label column)."""
    if label_col is None:
        return None
    lab = frame[label_col]
    return (lab.isna() | lab.astype("string").str.strip().fillna("").eq("")) \
        .to_numpy(dtype=bool)


def apply_missing(values: np.ndarray, miss: np.ndarray, rows: np.ndarray, features: list,
                  missing: str, notes: list) -> np.ndarray:
    """The rows to keep under the ``missing`` policy: refuse missing values, drop their rows, or
    fill them (in ``values``) with their column's median; what was done goes to ``notes``."""
    keep = np.ones(len(values), dtype=bool)
    row_missing = miss.any(axis=1)
    if missing == "refuse":
        if row_missing.any():
            parts = [f"{str(features[j])!r} (rows {row_list(rows[np.flatnonzero(miss[:, j])])})"
                     for j in range(len(features)) if miss[:, j].any()]
            raise DataError("Missing values in " + ", ".join(parts) + ". Fill them, or choose to "
                            "drop those rows or to fill them with the column's median "
                            "(missing='drop' or 'median').")
    elif missing == "drop":
        keep &= ~row_missing
        if row_missing.any():
            dropped = rows[row_missing]
            notes.append(f"Dropped {len(dropped)} row{'s' if len(dropped) > 1 else ''} with "
                         f"missing values (rows {row_list(dropped)}).")
    else:  # median
        for j in range(len(features)):
            m = miss[:, j]
            if m.any():
                med = float(np.median(values[~m, j]))
                values[m, j] = med
                notes.append(f"Filled {int(m.sum())} missing value{'s' if m.sum() > 1 else ''} "
                             f"of {str(features[j])!r} with its median {med:.6g} "
                             f"(rows {row_list(rows[m])}).")
    return keep


def drop_unlabelled(keep: np.ndarray, label_missing: Optional[np.ndarray], rows: np.ndarray,
                    label_col: Any, missing: str, notes: list) -> np.ndarray:
    """``keep`` without the kept rows whose label is empty: dropped under ``missing="drop"``
    (noted), else refused."""
    if label_missing is not None and label_missing.any():
        where = rows[label_missing & keep]
        if len(where):
            if missing != "drop":
                raise DataError(f"The label column {str(label_col)!r} has empty cells (rows "
                                f"{row_list(where)}): fill them, choose no label column, or "
                                "drop those rows (missing='drop').")
            keep &= ~label_missing
            notes.append(f"Dropped {len(where)} row{'s' if len(where) > 1 else ''} without a "
                         f"label (rows {row_list(where)}).")
    return keep


def check_row_count(keep: np.ndarray, n_clusters: Optional[int]) -> None:
    """Refuse fewer than 2 rows kept, or fewer than ``n_clusters``."""
    n = int(keep.sum())
    dropped_any = n < len(keep)
    after = " after dropping rows with missing values" if dropped_any else ""
    if n == 0:
        raise DataError("No rows left" + after + ".")
    if n < 2:
        if not dropped_any:
            raise DataError("The table has only 1 data row: clustering needs at least 2 objects "
                            "(one per row, under the header line).")
        raise DataError(f"Only {n} row left{after}: clustering needs at least 2 objects.")
    if n_clusters is not None and n < n_clusters:
        raise DataError(f"Only {n} rows left{after}, fewer than the {n_clusters} clusters asked "
                        "for: use fewer clusters or more rows.")


def refuse_constant(features: list, values: np.ndarray) -> None:
    """Refuse features that hold one value in every row: they cannot be scaled."""
    constant = [features[j] for j in range(len(features))
                if np.ptp(values[:, j]) == 0]
    if constant:
        value = values[0, features.index(constant[0])]
        raise DataError(f"Constant column{'s' if len(constant) > 1 else ''} {names(constant)} "
                        f"(every row holds the same value, e.g. {value:g}): "
                        f"{'they carry' if len(constant) > 1 else 'it carries'} no information "
                        "for clustering and cannot be scaled; leave "
                        f"{'them' if len(constant) > 1 else 'it'} out of the features.")


# ----------------------------------------------------------------------------------- output
def scale(values: np.ndarray, scaling: str) -> tuple[Any, np.ndarray]:
    """(fitted scaler or None, the scaled values as C-contiguous float64)."""
    if scaling == "standard":
        scaler = StandardScaler().fit(values)
    elif scaling == "minmax":
        scaler = MinMaxScaler().fit(values)
    else:
        scaler = None
    X = np.ascontiguousarray(values if scaler is None else scaler.transform(values),
                             dtype=np.float64)
    return scaler, X


def object_ids(kept: pd.DataFrame, id_col: Any, notes: list) -> Optional[np.ndarray]:
    """The objects' names from the ID column (None without one); repeated names are noted."""
    if id_col is None:
        return None
    ids = kept[id_col].to_numpy()
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        notes.append(f"The ID column {str(id_col)!r} repeats values (e.g. "
                     f"{str(ids[np.flatnonzero(dup)[0]])!r}); objects are told apart by row.")
    return ids
