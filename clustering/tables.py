"""Real tables: read a CSV file as users make them, check it, and turn it into a clustering data set.

:func:`read_csv` reads the files analysts export from spreadsheets and accounting systems: UTF-8 (with
or without a byte-order mark), UTF-16 with a BOM, or Windows-1251 (cp1251) for Russian-locale files;
comma, semicolon or tab separated; with a decimal comma (``1,085608``) in semicolon or tab separated
files, and spaces as thousands separators (``1 234,5``). Columns whose cells are all numbers become
numeric columns; the others (IDs, names, sectors, and columns with a bad cell) stay text.

:func:`prepare` chooses the feature, ID and label columns, checks the features (non-numeric cells,
infinite values, missing values under a policy, constant columns, too few rows) and scales them,
returning a :class:`Dataset`. Each refusal is a :class:`~clustering.errors.DataError` whose message
names the column, the row as a spreadsheet numbers it (the header is row 1, the first object row 2)
and the offending value, and says what to do.

This module holds the public functions, the :class:`Limits` and the :class:`Dataset`; the steps
live in :mod:`clustering.csv_reader` (bytes to a table of cells), :mod:`clustering.cell_numbers`
(numbers in text cells), :mod:`clustering.prepare_steps` (a table to a data set's arrays) and
:mod:`clustering.table_messages` (how messages quote cells, names and rows).

Malformed and hostile files (each case is in ``tests/test_hostile_csv.py``); nothing in a file is
ever executed or rendered, only read as text and numbers:

* empty, header only, one data row: refused ("The file is empty", "header line but no data rows",
  "only 1 data row").
* binary junk, pictures, archives, Excel workbooks: refused as "not a text CSV" (workbooks by name).
* encodings: UTF-8 (BOM or not), UTF-16 with or without a BOM, else the legacy code page whose
  words look like words (cp1251 or cp1252), else Latin-1; the encoding used is in the data set's
  notes. A file that is UTF-8 but for a few bytes is refused naming the first such row.
* separators: the one that splits the header and most rows alike. Cells that hold another
  separator are named with a hint that the file mixes separators; ragged rows and unclosed quotes
  are refused naming the row.
* decimal separators: a point in comma separated files; a comma (or a point) in semicolon/tab
  separated ones. A column mixing decimal commas and decimal points is refused naming one cell of
  each (``1.234`` could be a thousand). Thousands separators are read when the file's convention
  makes them unambiguous: spaces anywhere, commas with a decimal point (``"1,234.5"``), points
  with a decimal comma (``1.234,5``). Quoted numbers are numbers.
* missing cells (empty, NA, NaN, null...) are missing values (refused, dropped or imputed by
  ``missing``); ``inf``/``-inf`` (or a number beyond float range) is refused naming the column, row
  and cell; magnitudes over 1e100 are refused.
* text in a numeric column: a column that is mostly numbers is refused naming the bad cells (it
  is never left out of the features silently); an explicitly chosen text feature likewise.
* duplicate column names (after stripping spaces) are refused naming them.
* too many columns (e.g. 10 000), rows, bytes or estimated memory: refused naming the limit
  and its setting (:class:`Limits`, environment variables in :data:`LIMIT_ENV`) before parsing.
* column names or cells holding HTML, Markdown or spreadsheet formulas (``=``, ``+``, ``-``,
  ``@``) are kept as plain text: the app shows them as text and
  :func:`clustering.export.csv_bytes` neutralises formulas on the way out.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering import csv_reader, prepare_steps as steps, workbook
from clustering.cell_numbers import NA_TOKENS
from clustering.csv_reader import DELIMITER_NAMES, DELIMITERS, ENCODINGS
from clustering.errors import ConfigError, DataError
from clustering.i18n import Message, N_
from clustering.table_limits import LIMIT_ENV, check_shape, estimate_memory, setting
from clustering.table_messages import size_text

__all__ = ["Limits", "DEFAULT_LIMITS", "LIMIT_ENV", "estimate_memory", "MISSING_POLICIES",
           "SCALINGS", "NA_TOKENS", "DELIMITERS", "DELIMITER_NAMES", "ENCODINGS", "Dataset",
           "read_options", "read_csv", "prepare", "load_csv", "check_size", "from_arrays"]


# ----------------------------------------------------------------------------------- limits
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


@dataclass(frozen=True)
class Limits:
    """Size limits of an input table, checked before the work they guard starts.

    The byte limit is checked before the file is read in full (a path's size, an upload's
    ``size``, or at most ``max_bytes + 1`` bytes read from a stream); the column limit on the header
    line and the memory estimate on the header and the number of lines, both before the cells are
    parsed; the row limit stops the parser after ``max_rows`` rows.

    Attributes
    ----------
    max_rows : int
        Most data rows (objects) a table may have.
    max_columns : int
        Most columns a table may have.
    max_bytes : int
        Largest file size in bytes.
    max_memory : int
        Most memory (bytes) reading and preparing the table may take, by :func:`estimate_memory`.
    """

    max_rows: int = 200_000
    max_columns: int = 500
    max_bytes: int = 200 * 1024 * 1024
    max_memory: int = 1024 ** 3

    def __post_init__(self):
        for name in ("max_rows", "max_columns", "max_bytes", "max_memory"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(N_("{name}: expected a positive whole number, got {value!r}."),
                                  name=name, value=value)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "Limits":
        """The default limits, each replaced by its environment variable (:data:`LIMIT_ENV`) when
        set; a bad value raises :class:`~clustering.errors.ConfigError` naming the variable."""
        env = os.environ if environ is None else environ
        given = {}
        for name, var in LIMIT_ENV.items():
            text = env.get(var, "").strip()
            if not text:
                continue
            m = re.fullmatch(r"(\d+)\s*([kKmMgG]?)(?:i?[bB])?", text.replace("_", ""))
            if m is None or (m.group(2) and name in ("max_rows", "max_columns")):
                if name in ("max_bytes", "max_memory"):
                    raise ConfigError(N_("{name}: expected a positive whole number (a unit K, M "
                                         "or G may follow), got {value!r}."), name=var,
                                      value=text)
                raise ConfigError(N_("{name}: expected a positive whole number, got {value!r}."),
                                  name=var, value=text)
            given[name] = int(m.group(1)) * _UNITS[m.group(2).lower()]
            if given[name] < 1:
                raise ConfigError(N_("{name}: expected a positive whole number, got {value!r}."),
                                  name=var, value=text)
        return cls(**given)


#: The limits used when a call gives none: :class:`Limits`' defaults, or the environment's
#: (:data:`LIMIT_ENV`, read at import); replace it (``tables.DEFAULT_LIMITS = Limits(...)``) to
#: change them for the whole application.
DEFAULT_LIMITS = Limits.from_env()

#: Missing-value policies of :func:`prepare`.
MISSING_POLICIES = ("refuse", "drop", "median")
#: Scalings of :func:`prepare`.
SCALINGS = ("standard", "minmax", "none")


# ----------------------------------------------------------------------------------- dataset
@dataclass
class Dataset:
    """A data set ready for clustering.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64
        The features after scaling; what the methods cluster.
    raw : DataFrame
        The features before scaling (after missing values were dropped or imputed), one column per
        feature, rows in the order of ``X``.
    feature_names : list of str
        Names of the columns of ``X``.
    ids : ndarray or None
        The object names from the ID column.
    labels : ndarray of int or None
        Known classes (for scoring only), coded 0 .. n_classes - 1.
    label_names : list of str or None
        The class names behind the codes of ``labels`` (None when the labels were numbers given as
        such, e.g. a generator's labels).
    frame : DataFrame or None
        The rows of the input table that were kept, all columns, as read.
    notes : list of str
        Messages for the user: rows dropped, values imputed, how the file was read.
    scaling : str
        "standard", "minmax" or "none".
    scaler : StandardScaler, MinMaxScaler or None
        The fitted scaler (None without scaling); ``scaler.transform`` maps new rows like ``X``.
    """

    X: np.ndarray
    raw: pd.DataFrame
    feature_names: list
    ids: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    label_names: Optional[list] = None
    frame: Optional[pd.DataFrame] = None
    notes: list = field(default_factory=list)
    scaling: str = "none"
    scaler: Any = None

    def __repr__(self) -> str:
        return (f"Dataset(n_samples={self.n_samples}, n_features={self.n_features}, "
                f"feature_names={self.feature_names!r}, ids={self.ids is not None}, "
                f"labels={self.labels is not None}, scaling={self.scaling!r})")

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])


# ----------------------------------------------------------------------------------- reading
def _limits(limits: Optional[Limits], **overrides: Optional[int]) -> Limits:
    """``limits`` (default :data:`DEFAULT_LIMITS`, read now) with the ``overrides`` given."""
    base = DEFAULT_LIMITS if limits is None else limits
    if not isinstance(base, Limits):
        raise ConfigError(N_("limits: expected a Limits object, got {type}."),
                          type=type(base).__name__)
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **given) if given else base


def read_options(delimiter: Any = None, encoding: Any = None, where: str = "",
                 sheet: Any = None) -> dict:
    """The reading options given, normalised for :func:`read_csv` (``{"delimiter": ";",
    "encoding": "cp1251"}``, ``{"sheet": "Data"}`` for a workbook; an option left None is
    detected, or the first sheet, and not in the dict). A delimiter may be given as the character
    or its name (comma, semicolon, tab). Raises ConfigError naming the option (prefixed by
    ``where``) otherwise."""
    out = {}
    if sheet is not None:
        if not isinstance(sheet, str) or not sheet:
            raise ConfigError(N_("{where}sheet: expected a sheet's name (or none for the first "
                                 "sheet), got {value!r}."), where=where, value=sheet)
        out["sheet"] = sheet
    if delimiter is not None:
        by_name = {v: k for k, v in DELIMITER_NAMES.items()}
        delimiter = by_name.get(delimiter, delimiter)
        if delimiter not in DELIMITERS:
            raise ConfigError(N_("{where}delimiter: expected one of comma, semicolon, tab (or "
                                 "none to detect it), got {value!r}."), where=where,
                              value=delimiter)
        out["delimiter"] = delimiter
    if encoding is not None:
        if not isinstance(encoding, str) or encoding.lower() not in ENCODINGS:
            raise ConfigError(N_("{where}encoding: expected one of {encodings} (or none to "
                                 "detect it), got {value!r}."), where=where,
                              encodings=", ".join(ENCODINGS), value=encoding)
        out["encoding"] = encoding.lower()
    return out


def read_csv(source: Any, *, delimiter: Optional[str] = None, encoding: Optional[str] = None,
             max_bytes: Optional[int] = None, max_rows: Optional[int] = None,
             max_columns: Optional[int] = None, max_memory: Optional[int] = None,
             limits: Optional[Limits] = None, sheet: Optional[str] = None) -> pd.DataFrame:
    """Read a CSV table with a header line, or one sheet of a workbook.

    A file that starts like a ZIP (.xlsx, .ods) or OLE (.xls) file is read by
    :func:`clustering.workbook.read_workbook` (``delimiter`` and ``encoding`` do not apply); a ZIP
    that is not a workbook is refused.

    Parameters
    ----------
    source : str, Path, bytes or binary file-like
        A path, the file's bytes, or an open binary file (e.g. Streamlit's ``UploadedFile``).
    delimiter : {",", ";", "\\t", "comma", "semicolon", "tab"} or None
        The separator; None detects it. A decimal comma is read in semicolon and tab separated
        files.
    encoding : one of :data:`ENCODINGS` or None
        The text encoding; None detects it (UTF-8 with or without BOM, UTF-16, cp1251, cp1252).
    max_bytes, max_rows, max_columns, max_memory : int, optional
        Size limits; those not given come from ``limits``.
    limits : Limits, optional
        Defaults to :data:`DEFAULT_LIMITS`.
    sheet : str, optional
        A workbook's sheet; None reads the first. Refused for a CSV file.

    Returns
    -------
    DataFrame
        One column per header field, one row per non-empty line, index 0 .. n - 1. Numeric columns
        are int64 or float64; the others hold the stripped text (NaN for empty cells). ``attrs["csv"]``
        records the encoding, delimiter and decimal separator found, and the spreadsheet row of each
        row when empty lines were skipped.

    Raises
    ------
    DataError
        Not text, empty, no data rows, duplicate column names, ragged rows, or over a limit.
    """
    lim = _limits(limits, max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns,
                  max_memory=max_memory)
    forced = read_options(delimiter, encoding, sheet=sheet)
    data = csv_reader.read_bytes(source, lim.max_bytes)
    if workbook.is_workbook_bytes(data):
        return workbook.read_workbook(data, forced.get("sheet"), limits=lim)
    if "sheet" in forced:
        raise ConfigError(N_("sheet: {sheet!r} was given but the file is a text CSV, not a "
                             "workbook; leave the sheet out."), sheet=sheet)
    text, encoding = csv_reader.text_of(data, forced.get("encoding"))
    delimiter = forced.get("delimiter") or csv_reader.sniff_delimiter(text)
    body, first_row, names = csv_reader.split_header(text, delimiter)
    check_shape(Message(N_("The table")), len(data), csv_reader.line_count(body, lim.max_rows),
                len(names), lim, rows_exact=False)
    cells = csv_reader.parse_cells(body, delimiter, first_row, lim.max_rows)
    stripped, filled, rows = csv_reader.data_rows(cells, first_row, lim.max_rows)
    keep, names = csv_reader.name_columns(names, filled)
    return csv_reader.build_frame(keep, names, stripped, rows, delimiter, encoding)


# ----------------------------------------------------------------------------------- preparing
def prepare(frame: pd.DataFrame, *, feature_columns: Optional[Sequence[Any]] = None,
            id_column: Any = None, label_column: Any = None, missing: str = "refuse",
            scaling: str = "standard", n_clusters: Optional[int] = None,
            limits: Optional[Limits] = None) -> Dataset:
    """Check a table and turn it into a :class:`Dataset`.

    Parameters
    ----------
    frame : DataFrame
        A table, e.g. from :func:`read_csv`.
    feature_columns : list of str, optional
        The columns to cluster on; by default every numeric column but the ID and label columns.
        Text columns given here are read as numbers (decimal comma accepted when the file used one).
    id_column : str, optional
        The column naming the objects.
    label_column : str, optional
        Known classes (text or numbers), used only to score a clustering.
    missing : {"refuse", "drop", "median"}, default "refuse"
        Missing feature values: stop and name them; leave their rows out; or fill each with its
        column's median. Missing labels are refused, or their rows dropped under "drop".
    scaling : {"standard", "minmax", "none"}, default "standard"
        Zero mean and unit variance per feature; the range [0, 1]; or the values as they are.
    n_clusters : int, optional
        When given, refuse tables with fewer rows than this (after dropping).
    limits : Limits, optional
        Row and column limits (default :data:`DEFAULT_LIMITS`).

    Raises
    ------
    DataError
        Unknown columns, non-numeric or infinite cells, missing values under "refuse", constant
        columns, too few rows, or over a limit. ConfigError for a bad option.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(N_("Expected a table (pandas DataFrame), got {type}."),
                        type=type(frame).__name__)
    missing = steps.check_choice("missing", missing, MISSING_POLICIES)
    scaling = steps.check_choice("scaling", scaling, SCALINGS)
    steps.check_n_clusters(n_clusters)
    lim = _limits(limits)
    steps.check_frame(frame, lim.max_columns, lim.max_rows)
    id_col, label_col = steps.role_columns(frame, id_column, label_column)
    roles = {c for c in (id_col, label_col) if c is not None}
    decimal_comma = bool((frame.attrs.get("csv") or {}).get("decimal_comma", False))
    rows = steps.spreadsheet_rows(frame)
    if feature_columns is None:
        features = steps.default_features(frame, roles, rows, decimal_comma)
    else:
        features = steps.chosen_features(frame, feature_columns, roles, id_col)
    values, miss = steps.feature_values(frame, features, rows, decimal_comma)
    steps.check_values(frame, features, values, miss, rows)

    notes = steps.reading_notes(frame)
    label_missing = steps.label_gaps(frame, label_col)
    keep = steps.apply_missing(values, miss, rows, features, missing, notes)
    keep = steps.drop_unlabelled(keep, label_missing, rows, label_col, missing, notes)
    steps.check_row_count(keep, n_clusters)
    values = values[keep]
    steps.refuse_constant(features, values)

    kept = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    # How the file was read goes with the kept rows (the downloads write it back that way); the
    # row numbers do not (they no longer match, and an array in attrs breaks pandas' merges).
    info = frame.attrs.get("csv")
    kept.attrs = {} if info is None else {"csv": {k: v for k, v in info.items() if k != "rows"}}
    feature_names = [str(c) for c in features]
    scaler, X = steps.scale(values, scaling)
    ids = steps.object_ids(kept, id_col, notes)
    labels = label_names = None
    if label_col is not None:
        labels, label_names = steps.encode_labels(kept[label_col])
    return Dataset(X=X, raw=pd.DataFrame(values, columns=feature_names),
                   feature_names=feature_names, ids=ids, labels=labels, label_names=label_names,
                   frame=kept, notes=notes, scaling=scaling, scaler=scaler)


# ----------------------------------------------------------------------------------- shortcuts
_READ_KEYS = ("delimiter", "encoding", "sheet", "max_bytes", "max_rows", "max_columns",
              "max_memory")


def load_csv(source: Any, **kwargs: Any) -> Dataset:
    """:func:`read_csv` then :func:`prepare`: keyword arguments go to the one that takes them."""
    limits = kwargs.pop("limits", None)
    read_kw = {k: kwargs.pop(k) for k in _READ_KEYS if k in kwargs}
    frame = read_csv(source, limits=limits, **read_kw)
    lim = _limits(limits, max_rows=read_kw.get("max_rows"), max_columns=read_kw.get("max_columns"))
    try:
        return prepare(frame, limits=lim, **kwargs)
    except TypeError as err:
        raise ConfigError(N_("load_csv: {error}"), error=str(err)) from err


def check_size(n_rows: Any, n_columns: Any, limits: Optional[Limits] = None,
               what: str = Message(N_("The data"))) -> None:
    """Refuse data of ``n_rows`` x ``n_columns`` over the row or column limit before it is made
    (a generator's points); entries that are not whole numbers are left to the maker's checks."""
    lim = _limits(limits)
    for count, limit, name, template in (
            (n_rows, lim.max_rows, "max_rows",
             N_("{what} would have {n} rows (points), over the limit of {limit} ({setting}). "
                "Ask for fewer or raise the limit.")),
            (n_columns, lim.max_columns, "max_columns",
             N_("{what} would have {n} columns (features), over the limit of {limit} "
                "({setting}). Ask for fewer or raise the limit."))):
        if isinstance(count, (int, np.integer)) and not isinstance(count, bool) \
                and count > limit:
            raise DataError(template, what=what, n=int(count), limit=limit,
                            setting=setting(name))


def from_arrays(X: Any, y: Any = None, feature_names: Optional[Sequence[str]] = None) -> Dataset:
    """A :class:`Dataset` of given points (e.g. a generator's), unscaled.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite numbers, at least 2 rows.
    y : array-like of shape (n_samples,), optional
        Known labels; integers are kept as they are, other values are coded 0 .. k - 1 and their
        names kept in ``label_names``.
    feature_names : list of str, optional
        Default "x1", "x2", ...
    """
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(N_("X: expected an array of numbers ({error})."),
                        error=str(err)) from err
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise DataError(N_("X: expected a 2-D array (objects x features), got shape {shape}."),
                        shape=arr.shape)
    if arr.shape[0] < 2:
        raise DataError(N_("X: clustering needs at least 2 objects, got {n}."), n=arr.shape[0])
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(N_("X: non-finite value {value} at row {row}, column {column}."),
                        value=arr[bad[0], bad[1]], row=bad[0], column=bad[1])
    if feature_names is None:
        names = [f"x{j + 1}" for j in range(arr.shape[1])]
    else:
        names = [str(f) for f in feature_names]
        if len(names) != arr.shape[1]:
            raise DataError(N_("feature_names: {n} names for {d} features."), n=len(names),
                            d=arr.shape[1])
        if len(set(names)) != len(names):
            raise DataError(N_("feature_names: the names must differ."))
    raw = pd.DataFrame(arr, columns=names)
    frame = raw.copy()
    labels = label_names = None
    if y is not None:
        yy = np.asarray(y)
        if yy.ndim != 1 or len(yy) != arr.shape[0]:
            raise DataError(N_("y: expected {n} labels, got shape {shape}."), n=arr.shape[0],
                            shape=yy.shape)
        if np.issubdtype(yy.dtype, np.integer) or np.issubdtype(yy.dtype, np.bool_):
            labels = yy.astype(np.int64)
        elif np.issubdtype(yy.dtype, np.floating) and np.all(np.isfinite(yy)) \
                and np.all(yy == np.round(yy)):
            labels = yy.astype(np.int64)
        else:
            labels, label_names = steps.encode_labels(pd.Series(yy))
            if (labels < 0).any():
                raise DataError(N_("y: the labels have missing values."))
        frame["label"] = labels if label_names is None else [label_names[i] for i in labels]
    return Dataset(X=np.ascontiguousarray(arr), raw=raw, feature_names=names, labels=labels,
                   label_names=label_names, frame=frame, notes=[], scaling="none", scaler=None)
