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
from clustering.errors import ConfigError, DataError
from clustering.i18n import Joined, Message, N_, Text
from clustering.table_limits import over_limit
from clustering.table_messages import available, join_problems, names, quote, row_list

_EXAMPLES = 3  # offending cells quoted per column in a message
_HUGE = 1e100  # larger magnitudes overflow float64 in squared distances and variances

#: What a cell that holds another separator says (by the separator found in it).
_HOLDS = {
    ";": N_("(they hold a semicolon: does the file mix separators? Use one separator "
            "throughout)"),
    "\t": N_("(they hold a tab: does the file mix separators? Use one separator throughout)"),
    ",": N_("(they hold a comma: does the file mix separators? Use one separator throughout)"),
}
#: How a note names the separator a file was read with (by the separator).
_SEPARATED = {",": N_("comma separated"), ";": N_("semicolon separated"),
              "\t": N_("tab separated")}


def note(message: Message) -> Text:
    """A note for a Dataset's ``notes`` from its :class:`~clustering.i18n.Message`: its English
    text (``"Dropped 2 rows ..." in ds.notes``) that the app shows in the visitor's language
    (a :class:`~clustering.i18n.Text`)."""
    return Text(message)


# ----------------------------------------------------------------------------------- messages
def bad_cells_text(col: Any, series: pd.Series, parsed: Numbers, rows: np.ndarray,
                    decimal_comma: bool) -> Any:
    """The part of a message naming a column's cells that are not numbers, with a hint at the
    likely cause (mixed decimal separators, another separator inside the cells)."""
    cells = as_text(series)
    if parsed.mixed is not None:
        c, p = parsed.mixed
        return Message(N_("column {column} mixes decimal commas (row {comma_row}: {comma}) and "
                          "decimal points (row {point_row}: {point}), so a point may also "
                          "group thousands: write all its numbers with the same decimal "
                          "separator"), column=quote(col), comma_row=int(rows[c]),
                       comma=quote(cells.iloc[c]), point_row=int(rows[p]),
                       point=quote(cells.iloc[p]))
    where = np.flatnonzero(parsed.bad)
    examples = Joined([Message(N_("row {row}: {value}"), row=int(rows[i]),
                               value=quote(cells.iloc[i])) for i in where[:_EXAMPLES]], ", ")
    if len(where) > _EXAMPLES:
        text = Message(N_("column {column} has cells that are not numbers: {examples} "
                          "({count} cells in all)"), column=quote(col), examples=examples,
                       count=len(where))
    else:
        text = Message(N_("column {column} has cells that are not numbers: {examples}"),
                       column=quote(col), examples=examples)
    shown = cells.iloc[where[:50]].astype(str)
    for sep in (";", "\t", ","):
        if shown.str.contains(sep, regex=False).any():
            if sep == "," and not decimal_comma:
                hint = Message(N_("(a decimal comma in a comma separated file: write the "
                                  "decimals with a point, or separate the columns with "
                                  "semicolons)"))
            else:
                hint = Message(_HOLDS[sep])
            return Joined([text, hint], " ")
    return text


def resolve_column(frame: pd.DataFrame, name: Any, role: str) -> Any:
    """The column of ``frame`` called ``name`` (or whose name reads as ``name``); else a DataError
    naming the ``role`` and the columns there are."""
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if str(c) == str(name)]
    if len(matches) == 1:
        return matches[0]
    raise DataError(N_("{role}: no column named {name!r}. Available columns: {columns}."),
                    role=role, name=str(name), columns=available(frame))


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``; else a ConfigError naming the option."""
    if value not in choices:
        raise ConfigError(N_("{name}: expected one of {choices}, got {value!r}."), name=name,
                          choices=", ".join(choices), value=value)
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
            raise ConfigError(N_("n_clusters: expected a positive whole number, got {value!r}."),
                              value=n_clusters)


def check_frame(frame: pd.DataFrame, max_columns: int, max_rows: int) -> None:
    """Refuse a table over the column or row limit, with duplicate column names, or empty."""
    if frame.shape[1] > max_columns:
        raise over_limit(Message(N_("{what} has {n} columns"), what=Message(N_("The table")),
                                 n=frame.shape[1]), "max_columns", max_columns,
                         Message(N_("Keep the columns you need or raise the limit.")))
    if frame.shape[0] > max_rows:
        raise over_limit(Message(N_("{what} has {n} rows"), what=Message(N_("The table")),
                                 n=frame.shape[0]), "max_rows", max_rows,
                         Message(N_("Use a sample of the rows or raise the limit.")))
    if frame.columns.has_duplicates:
        dups = frame.columns[frame.columns.duplicated()].unique()
        raise DataError(N_("Duplicate column names: {names}. Give every column a different "
                           "name."), names=names(dups))
    if len(frame) == 0:
        raise DataError(N_("The table has no rows."))


def role_columns(frame: pd.DataFrame, id_column: Any, label_column: Any) -> tuple[Any, Any]:
    """The ID and label columns of ``frame`` (None when not given), which must differ."""
    id_col = None if id_column is None else resolve_column(frame, id_column, "id_column")
    label_col = None if label_column is None else resolve_column(frame, label_column,
                                                                 "label_column")
    if id_col is not None and id_col == label_col:
        raise DataError(N_("Column {column!r} cannot be both the ID and the label column."),
                        column=str(id_col))
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
        raise DataError(N_("{problems}. Correct those cells, or choose the feature columns "
                           "(leaving these out), or name the column as the ID column (row 1 "
                           "is the header)."), problems=join_problems(problems))
    if not features:
        text = [c for c in frame.columns if c not in roles]
        if text:
            raise DataError(N_("The table has no numeric column to cluster on (its columns "
                               "{names} hold text): choose the feature columns, or fix the "
                               "cells that are not numbers."), names=names(text))
        raise DataError(N_("The table has no numeric column to cluster on: choose the feature "
                           "columns, or fix the cells that are not numbers."))
    return features


def chosen_features(frame: pd.DataFrame, feature_columns: Any, roles: set, id_col: Any) -> list:
    """The columns of ``feature_columns`` (one name or several), each once and none of them the
    ID or label column."""
    if isinstance(feature_columns, str) or not isinstance(feature_columns, Iterable):
        feature_columns = [feature_columns]
    wanted = list(feature_columns)
    if not wanted:
        raise DataError(N_("feature_columns: choose at least one feature column."))
    unknown = [c for c in wanted if c not in frame.columns
               and sum(str(x) == str(c) for x in frame.columns) != 1]
    if unknown:
        raise DataError(N_("feature_columns: no column named {names}. Available columns: "
                           "{columns}."), names=names(unknown), columns=available(frame))
    features = [resolve_column(frame, c, "feature_columns") for c in wanted]
    repeated = sorted({str(c) for c in features if features.count(c) > 1})
    if repeated:
        raise DataError(N_("feature_columns: {names} given more than once."),
                        names=names(repeated))
    both = [c for c in features if c in roles]
    if both:
        if both[0] == id_col:
            raise DataError(N_("Column {column!r} cannot be both a feature and the ID column."),
                            column=str(both[0]))
        raise DataError(N_("Column {column!r} cannot be both a feature and the label column."),
                        column=str(both[0]))
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
        raise DataError(N_("{problems}. Correct those cells, or leave the column out of the "
                           "features (row 1 is the header)."), problems=join_problems(problems))
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
                parts.append(Message(N_("{column} (rows {rows}, e.g. {cell})"),
                                     column=quote(features[j]), rows=row_list(rows[where]),
                                     cell=quote(cell)))
        raise DataError(N_("Infinite values in {columns}: replace them by numbers (or leave the "
                           "cells empty and choose how to treat missing values)."),
                        columns=Joined(parts, ", "))
    empty = [features[j] for j in range(len(features)) if miss[:, j].all()]
    if empty:
        if len(empty) > 1:
            raise DataError(N_("Columns {names} have no values: fill them or leave them out of "
                               "the features."), names=names(empty))
        raise DataError(N_("Column {names} has no values: fill it or leave it out of the "
                           "features."), names=names(empty))
    huge = np.abs(np.where(miss, 0.0, values)) > _HUGE
    if huge.any():
        parts = [Message(N_("{column!r} (rows {rows})"), column=str(features[j]),
                         rows=row_list(rows[np.flatnonzero(huge[:, j])]))
                 for j in range(len(features)) if huge[:, j].any()]
        raise DataError(N_("Values beyond ±{limit:.0e} in {columns}: distances between such "
                           "numbers overflow; express the column in larger units."),
                        limit=_HUGE, columns=Joined(parts, ", "))


def reading_notes(frame: pd.DataFrame) -> list[str]:
    """Notes on how the file was read (encoding, separators), when not the usual ones."""
    notes: list[str] = []
    info = frame.attrs.get("csv") or {}
    read_bits = []
    if info.get("encoding") not in (None, "utf-8", "utf-8-sig"):
        read_bits.append(Message(N_("encoding {encoding}"), encoding=info["encoding"]))
    if info.get("delimiter") not in (None, ","):
        read_bits.append(Message(_SEPARATED[info["delimiter"]]))
    if info.get("decimal") == ",":
        read_bits.append(Message(N_("decimal comma")))
    if read_bits:
        notes.append(note(Message(N_("Read the file as {how}."), how=Joined(read_bits, ", "))))
    if info.get("rows") is not None:
        notes.append(note(Message(N_("Skipped empty lines in the file; row numbers in messages "
                                     "count them."))))
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
            parts = [Message(N_("{column!r} (rows {rows})"), column=str(features[j]),
                             rows=row_list(rows[np.flatnonzero(miss[:, j])]))
                     for j in range(len(features)) if miss[:, j].any()]
            raise DataError(N_("Missing values in {columns}. Fill them, or choose to drop those "
                               "rows or to fill them with the column's median (missing='drop' "
                               "or 'median')."), columns=Joined(parts, ", "))
    elif missing == "drop":
        keep &= ~row_missing
        if row_missing.any():
            dropped = rows[row_missing]
            template = (N_("Dropped {n} rows with missing values (rows {rows}).")
                        if len(dropped) > 1 else
                        N_("Dropped {n} row with missing values (rows {rows})."))
            notes.append(note(Message(template, n=len(dropped), rows=row_list(dropped))))
    else:  # median
        for j in range(len(features)):
            m = miss[:, j]
            if m.any():
                med = float(np.median(values[~m, j]))
                values[m, j] = med
                template = (N_("Filled {n} missing values of {column!r} with its median "
                               "{median:.6g} (rows {rows}).") if m.sum() > 1 else
                            N_("Filled {n} missing value of {column!r} with its median "
                               "{median:.6g} (rows {rows})."))
                notes.append(note(Message(template, n=int(m.sum()), column=str(features[j]),
                                          median=med, rows=row_list(rows[m]))))
    return keep


def drop_unlabelled(keep: np.ndarray, label_missing: Optional[np.ndarray], rows: np.ndarray,
                    label_col: Any, missing: str, notes: list) -> np.ndarray:
    """``keep`` without the kept rows whose label is empty: dropped under ``missing="drop"``
    (noted), else refused."""
    if label_missing is not None and label_missing.any():
        where = rows[label_missing & keep]
        if len(where):
            if missing != "drop":
                raise DataError(N_("The label column {column!r} has empty cells (rows {rows}): "
                                   "fill them, choose no label column, or drop those rows "
                                   "(missing='drop')."), column=str(label_col),
                                rows=row_list(where))
            keep &= ~label_missing
            template = (N_("Dropped {n} rows without a label (rows {rows}).") if len(where) > 1
                        else N_("Dropped {n} row without a label (rows {rows})."))
            notes.append(note(Message(template, n=len(where), rows=row_list(where))))
    return keep


def check_row_count(keep: np.ndarray, n_clusters: Optional[int]) -> None:
    """Refuse fewer than 2 rows kept, or fewer than ``n_clusters``."""
    n = int(keep.sum())
    dropped_any = n < len(keep)
    if n == 0:
        raise DataError(N_("No rows left after dropping rows with missing values.")
                        if dropped_any else N_("No rows left."))
    if n < 2:
        if not dropped_any:
            raise DataError(N_("The table has only 1 data row: clustering needs at least 2 "
                               "objects (one per row, under the header line)."))
        raise DataError(N_("Only {n} row left after dropping rows with missing values: "
                           "clustering needs at least 2 objects."), n=n)
    if n_clusters is not None and n < n_clusters:
        template = (N_("Only {n} rows left after dropping rows with missing values, fewer than "
                       "the {n_clusters} clusters asked for: use fewer clusters or more rows.")
                    if dropped_any else
                    N_("Only {n} rows left, fewer than the {n_clusters} clusters asked for: use "
                       "fewer clusters or more rows."))
        raise DataError(template, n=n, n_clusters=n_clusters)


def refuse_constant(features: list, values: np.ndarray) -> None:
    """Refuse features that hold one value in every row: they cannot be scaled."""
    constant = [features[j] for j in range(len(features))
                if np.ptp(values[:, j]) == 0]
    if constant:
        value = values[0, features.index(constant[0])]
        template = (N_("Constant columns {names} (every row holds the same value, e.g. "
                       "{value:g}): they carry no information for clustering and cannot be "
                       "scaled; leave them out of the features.") if len(constant) > 1 else
                    N_("Constant column {names} (every row holds the same value, e.g. "
                       "{value:g}): it carries no information for clustering and cannot be "
                       "scaled; leave it out of the features."))
        raise DataError(template, names=names(constant), value=value)


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
        notes.append(note(Message(N_("The ID column {column!r} repeats values (e.g. "
                                     "{value!r}); objects are told apart by row."),
                                  column=str(id_col), value=str(ids[np.flatnonzero(dup)[0]]))))
    return ids
