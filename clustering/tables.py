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

Malformed and hostile files (each case is in ``tests/test_hostile_csv.py``); nothing in a file is
ever executed or rendered, only read as text and numbers:

* empty, header only, one data row: refused ("The file is empty", "header line but no data rows",
  "only 1 data row").
* binary junk, pictures, archives, Excel workbooks: refused as "not a text CSV" (workbooks by name).
* encodings: UTF-8 (BOM or not), UTF-16 with or without a BOM, else the legacy code page whose
  words look like words (cp1251 or cp1252), else Latin-1; the encoding used is in the notes. A
  file that is UTF-8 but for a few bytes is refused naming the first such row.
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

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from clustering.errors import ConfigError, DataError

__all__ = ["Limits", "DEFAULT_LIMITS", "LIMIT_ENV", "estimate_memory", "MISSING_POLICIES", "SCALINGS", "Dataset", "read_csv",
           "prepare", "load_csv", "from_arrays"]


# ----------------------------------------------------------------------------------- limits
#: Environment variables that set :data:`DEFAULT_LIMITS` (read once, at import, by
#: :meth:`Limits.from_env`). Sizes in bytes accept a unit: ``50M``, ``2G``, ``512K``.
LIMIT_ENV = {
    "max_rows": "CLUSTERMAP_MAX_ROWS",
    "max_columns": "CLUSTERMAP_MAX_COLUMNS",
    "max_bytes": "CLUSTERMAP_MAX_BYTES",
    "max_memory": "CLUSTERMAP_MAX_MEMORY",
}
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
#: Peak memory of reading a table, per cell and per byte of the file: measured on numeric tables
#: (100 000 x 20 and 20 000 x 200 cells, pandas 3 with Arrow strings) as ~6 bytes per file byte,
#: i.e. ~125 bytes per cell; the estimate takes the cells at 128 bytes plus two copies of the text.
MEMORY_PER_CELL = 128
MEMORY_PER_BYTE = 2


def estimate_memory(n_bytes: int, n_rows: int, n_columns: int) -> int:
    """Peak bytes of memory :func:`read_csv` plus :func:`prepare` need for such a table (an upper
    estimate, see :data:`MEMORY_PER_CELL`)."""
    return MEMORY_PER_BYTE * int(n_bytes) + MEMORY_PER_CELL * int(n_rows) * int(n_columns)


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
                raise ConfigError(f"{name}: expected a positive whole number, got {value!r}.")

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
                unit = " (a unit K, M or G may follow)" if name in ("max_bytes", "max_memory") \
                    else ""
                raise ConfigError(f"{var}: expected a positive whole number{unit}, got {text!r}.")
            given[name] = int(m.group(1)) * _UNITS[m.group(2).lower()]
            if given[name] < 1:
                raise ConfigError(f"{var}: expected a positive whole number, got {text!r}.")
        return cls(**given)


#: The limits used when a call gives none: :class:`Limits`' defaults, or the environment's
#: (:data:`LIMIT_ENV`, read at import); replace it (``tables.DEFAULT_LIMITS = Limits(...)``) to
#: change them for the whole application.
DEFAULT_LIMITS = Limits.from_env()

#: Missing-value policies of :func:`prepare`.
MISSING_POLICIES = ("refuse", "drop", "median")
#: Scalings of :func:`prepare`.
SCALINGS = ("standard", "minmax", "none")

#: Cells read as missing values (compared case-insensitively, after stripping spaces).
NA_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "#н/д", "н/д"})

DELIMITERS = (",", ";", "\t")
#: The delimiters by name, as messages and the app say them.
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
#: Encodings a caller may force when detection guesses wrong (:func:`read_csv`'s ``encoding``).
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251", "cp1252", "latin-1", "utf-16")
_SAMPLE_CHARS = 64 * 1024
#: Tie-break order of delimiters with equal scores (``csv.Sniffer``'s preference).
_PREFERRED = (",", "\t", ";")
_EXAMPLES = 3  # offending cells quoted per column in a message
_HUGE = 1e100  # larger magnitudes overflow float64 in squared distances and variances

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
_NUMBER_LIKE = r"[+-]?[\d.,  ]*\d[\d.,  ]*(?:[eE][+-]?\d+)?"
# A number with a decimal comma: 1,085608  -,5  2,5e-3.
_DECIMAL_COMMA = r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?"
# Control characters that do not occur in text files.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
# An integer written with a leading zero (007): an identifier, not a quantity.
_LEADING_ZERO = r"[+-]?0\d+$"


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
    base = DEFAULT_LIMITS if limits is None else limits
    if not isinstance(base, Limits):
        raise ConfigError(f"limits: expected a Limits object, got {type(base).__name__}.")
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **given) if given else base


def _size(n: int) -> str:
    if n >= 1024 ** 3:
        return f"{n / 1024 ** 3:.1f} GB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"


def _too_big(n: int, limit: int, exact: bool = True) -> DataError:
    size = _size(n) if exact else f"more than {_size(limit)}"
    return DataError(f"The file is {size}, over the limit of {_size(limit)} (setting max_bytes). "
                     "Use a smaller file or raise the limit.")


def _read_bytes(source: Any, max_bytes: int) -> bytes:
    """The raw bytes of ``source`` (path, bytes or file-like), refusing more than ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            what = "is a folder, not a file" if path.is_dir() else "does not exist"
            raise DataError(f"Cannot read {str(path)!r}: it {what}.")
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DataError(f"Cannot read {str(path)!r}: {err.strerror or err}.") from err
    elif hasattr(source, "getvalue"):
        size = getattr(source, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise _too_big(size, max_bytes)
        data = source.getvalue()
    elif hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_big(len(data), max_bytes, exact=False)
    else:
        raise TypeError(f"read_csv: expected a path, bytes or a binary file, got "
                        f"{type(source).__name__}.")
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise _too_big(len(data), max_bytes)
    return bytes(data)


# A UTF-8 encoded character of two, three or four bytes.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")
_WORD = re.compile(r"[^\W\d_]{2,}")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _utf16_without_bom(data: bytes) -> Optional[str]:
    """"utf-16-le" or "utf-16-be" when ``data`` looks like UTF-16 text without a byte-order mark
    (mostly ASCII text, so one byte of each pair is zero), else None."""
    sample = data[:_SAMPLE_CHARS - _SAMPLE_CHARS % 2]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    for encoding, zeros, chars in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and chars.count(0) <= 0.05 * len(chars):
            return encoding
    return None


def _refuse_mixed_utf8(data: bytes, err: UnicodeDecodeError) -> None:
    """Refuse a file that is UTF-8 but for a few bytes (e.g. lines pasted from a cp1251 file):
    decoding it all in a legacy code page would garble every other non-ASCII character."""
    valid = len(_UTF8_SEQUENCE.findall(data))
    invalid = data.decode("utf-8", errors="replace").count("\ufffd")
    if valid >= 3 and valid > 2 * invalid:
        row = data[:err.start].count(b"\n") + 1
        raise DataError(f"The file mixes encodings: it is UTF-8 text but row {row} holds bytes "
                        f"that are not UTF-8 ({data[err.start:err.end + 2]!r}, {invalid} such "
                        "places in all). Save the table again as UTF-8 (\"CSV UTF-8\"), or fix "
                        "that row.")


def _legacy_decode(data: bytes) -> tuple[str, str]:
    """Decode a file that is not UTF-8: Windows-1251 or Windows-1252, whichever gives fewer
    implausible words (Latin and Cyrillic letters in one word under cp1251; words mostly of
    accented letters under cp1252); Latin-1 when neither decodes. Ties go to cp1251."""
    best = None
    for encoding in ("cp1251", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        words = _WORD.findall(text[:_SAMPLE_CHARS * 4])
        if encoding == "cp1251":
            odd = sum(1 for w in words if _LATIN.search(w) and _CYRILLIC.search(w))
        else:
            odd = sum(1 for w in words if 2 * sum(ord(c) > 127 for c in w) > len(w))
        if best is None or odd < best[0]:
            best = (odd, text, encoding)
    if best is None:
        return data.decode("latin-1"), "latin-1"
    return best[1], best[2]


def _decode(data: bytes, forced: Optional[str] = None) -> tuple[str, str]:
    """Decode a CSV file (in the ``forced`` encoding when given); returns (text, encoding)."""
    if data.startswith(b"PK\x03\x04"):
        raise DataError("This is a ZIP archive or an Excel workbook (.xlsx), not a text CSV: open it "
                        "in the spreadsheet and save it as CSV.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError("This is an old Excel workbook (.xls), not a text CSV: open it in the "
                        "spreadsheet and save it as CSV.")
    if forced is not None:
        encoding = forced
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as err:
            if forced is not None:
                raise DataError(f"The file is not {forced} text: byte {err.start} cannot be "
                                "decoded in that encoding. Choose another encoding, or let it "
                                "be detected.") from err
            raise DataError(f"The file starts like {encoding.upper()} text but byte {err.start} "
                            "cannot be decoded: it is not a text CSV or it is damaged.") from err
    else:
        # UTF-8 first (other encodings rarely decode as UTF-8 by chance); a file that is UTF-8
        # but for a few bytes is refused; else the legacy code page whose words look like words.
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as err:
            _refuse_mixed_utf8(data, err)
            text, encoding = _legacy_decode(data)
    if "\x00" in text:
        raise DataError("This is not a text CSV (it holds binary data, e.g. a picture, an archive "
                        "or a UTF-32 file): save the table as CSV.")
    text = text.rstrip("\x1a")  # DOS end-of-file marker
    controls = sum(1 for _ in _CONTROL.finditer(text))
    if controls > max(2, len(text) // 100):
        raise DataError("This is not a text CSV (it holds many control characters, i.e. binary "
                        "data): save the table as CSV.")
    return text, encoding


def _field_counts(sample: str, delimiter: str) -> list[int]:
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return []
    return [len(r) for r in rows if any(cell.strip() for cell in r)]


def _sample(text: str) -> str:
    """The first :data:`_SAMPLE_CHARS` characters of ``text``, cut after the last whole line
    (detection reads this bounded sample, never the whole file)."""
    sample = text[:_SAMPLE_CHARS]
    if len(text) > _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    return sample


def _delimiter_score(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of rows with as many fields as the header, header fields); (-1, 0) if unreadable."""
    counts = _field_counts(sample, delimiter)
    if not counts:
        return (-1.0, 0)
    header, rest = counts[0], counts[1:]
    consistency = sum(c == header for c in rest) / len(rest) if rest else 1.0
    return (consistency, header)


def _break_tie(sample: str, tied: Sequence[str]) -> str:
    """The delimiter among ``tied`` (in :data:`DELIMITERS` order) that most often touches a quote
    (``;"`` or ``";``), else the first of comma, tab, semicolon found in the sample, else the
    first tied: ``csv.Sniffer``'s rules, counted in linear time (the Sniffer's own regular
    expressions take seconds on a few kilobytes of stray quotes)."""
    quoted = {d: sample.count(d + '"') + sample.count('"' + d) for d in tied}
    if max(quoted.values()) > 0:
        return max(tied, key=lambda d: (quoted[d], -tied.index(d)))
    return next((d for d in _PREFERRED if d in tied and d in sample), tied[0])


def _sniff_delimiter(text: str) -> str:
    """The delimiter among comma, semicolon and tab, from a bounded sample (:func:`_sample`).

    Each candidate is scored by the share of sampled rows that split into as many fields as the
    header, then by the number of header fields: a wrong delimiter gives ragged rows or a single
    column. Candidates that give at least two columns and agree with the header on at least half of
    the rows come first (so one ragged row does not turn the table into one column); a single
    column wins only when no delimiter fits (e.g. one column of decimal-comma numbers). Ties are
    broken by :func:`_break_tie`. Linear in the sample's length.
    """
    sample = _sample(text)
    scores = {d: _delimiter_score(sample, d) for d in DELIMITERS}
    pool = {d: sc for d, sc in scores.items() if sc[1] >= 2 and sc[0] >= 0.5} or scores
    best = max(pool.values())
    tied = [d for d in DELIMITERS if pool.get(d) == best]
    return tied[0] if len(tied) == 1 else _break_tie(sample, tied)


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (NaN stays NaN)."""
    if not pd.api.types.is_string_dtype(values) or values.dtype == object:
        values = values.astype("str")
    return values.str.strip()


class _Numbers(NamedTuple):
    """What :func:`_parse_numbers` found in a column of text cells."""

    values: np.ndarray  # float64, NaN where missing or bad
    missing: np.ndarray  # bool: empty or a missing-value spelling
    bad: np.ndarray  # bool: not a number
    used_comma: bool  # a decimal comma was read
    mixed: Optional[tuple[int, int]]  # (a decimal-comma cell, a decimal-point cell) when both occur


def _parse_numbers(values: pd.Series, decimal_comma: bool, *, stripped: bool = False) -> _Numbers:
    """Numbers of a column of text cells.

    Plain numbers are parsed in one vectorised pass; only the cells that fail it are looked at
    again (missing-value spellings, grouped digits, decimal comma). In a file read with decimal
    commas, a column holding both decimal commas and decimal points is ambiguous (``1.234`` may be
    1234 with a point between thousands): the cells of the rarer kind are marked bad and ``mixed``
    names one cell of each kind.
    """
    s = values if stripped else _text(values)
    used_comma = False

    def comma_mask(t: pd.Series) -> np.ndarray:
        return np.array(t.str.fullmatch(_DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool))

    def comma_to_point(t: pd.Series, comma: np.ndarray) -> pd.Series:
        nonlocal used_comma
        if comma.any():
            used_comma = True
            t = t.mask(comma, t.str.replace(",", ".", regex=False))
        return t

    comma = comma_mask(s) if decimal_comma else np.zeros(len(s), dtype=bool)
    first = comma_to_point(s, comma) if decimal_comma else s
    nums = np.array(pd.to_numeric(first, errors="coerce").to_numpy(dtype=np.float64,
                                                                   na_value=np.nan))
    missing = np.zeros(len(s), dtype=bool)
    retry = np.isnan(nums)
    if retry.any():
        idx = np.flatnonzero(retry)
        sub = s.iloc[idx]
        miss = (sub.isna() | sub.str.lower().isin(NA_TOKENS)).to_numpy(dtype=bool)
        missing[idx[miss]] = True
        idx, sub = idx[~miss], sub[~miss]
        if len(idx):
            # Digits in groups of three: spaces in any file; commas where the decimal separator
            # is a point (1,234.5), points where it is a comma (1.234,5): the group separator of
            # the file's own convention, so never ambiguous.
            spaced = sub.str.fullmatch(_GROUPED).fillna(False).to_numpy(dtype=bool)
            other = sub.str.fullmatch(_GROUPED_POINT if decimal_comma else _GROUPED_COMMA) \
                .fillna(False).to_numpy(dtype=bool)
            if spaced.any() or other.any():
                sub = sub.mask(spaced, sub.str.replace("[ \u00a0\u202f]", "", regex=True))
                sub = sub.mask(other, sub.str.replace("." if decimal_comma else ",", "",
                                                      regex=False))
                if decimal_comma:
                    again = comma_mask(sub)
                    sub = comma_to_point(sub, again)
                    comma[idx] |= again
                nums[idx] = pd.to_numeric(sub, errors="coerce").to_numpy(dtype=np.float64,
                                                                         na_value=np.nan)
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
    return _Numbers(nums, missing, bad, used_comma, mixed)


def _column_from_text(stripped: pd.Series, decimal_comma: bool) -> tuple[pd.Series, bool]:
    """A column as read (from stripped cells): numeric when every cell is a number or missing,
    else text with NaN for empty cells."""
    nums, missing, bad, used_comma, _ = _parse_numbers(stripped, decimal_comma, stripped=True)
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


def read_options(delimiter: Any = None, encoding: Any = None, where: str = "") -> dict:
    """The reading options given, normalised for :func:`read_csv` (``{"delimiter": ";",
    "encoding": "cp1251"}``; an option left None is detected and not in the dict). A delimiter
    may be given as the character or its name (comma, semicolon, tab). Raises ConfigError
    naming the option (prefixed by ``where``) otherwise."""
    out = {}
    if delimiter is not None:
        by_name = {v: k for k, v in DELIMITER_NAMES.items()}
        delimiter = by_name.get(delimiter, delimiter)
        if delimiter not in DELIMITERS:
            raise ConfigError(f"{where}delimiter: expected one of comma, semicolon, tab (or none "
                              f"to detect it), got {delimiter!r}.")
        out["delimiter"] = delimiter
    if encoding is not None:
        if not isinstance(encoding, str) or encoding.lower() not in ENCODINGS:
            raise ConfigError(f"{where}encoding: expected one of {', '.join(ENCODINGS)} (or none "
                              f"to detect it), got {encoding!r}.")
        out["encoding"] = encoding.lower()
    return out


def read_csv(source: Any, *, delimiter: Optional[str] = None, encoding: Optional[str] = None,
             max_bytes: Optional[int] = None, max_rows: Optional[int] = None,
             max_columns: Optional[int] = None, max_memory: Optional[int] = None,
             limits: Optional[Limits] = None) -> pd.DataFrame:
    """Read a CSV table with a header line.

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
    forced = read_options(delimiter, encoding)
    data = _read_bytes(source, lim.max_bytes)
    if not data.strip(b" \t\r\n\x1a" + codecs.BOM_UTF8):
        raise DataError("The file is empty: it has no header line and no data.")
    text, encoding = _decode(data, forced.get("encoding"))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError("The file is empty: it has no header line and no data.")
    delimiter = forced.get("delimiter") or _sniff_delimiter(text)
    # The header is the first non-empty line; empty lines before it are skipped.
    leading = len(text) - len(text.lstrip("\n"))
    first_row = text[:leading].count("\n") + 1
    body = text[leading:]
    try:
        header = next(csv.reader(io.StringIO(body), delimiter=delimiter, quotechar='"'))
    except (csv.Error, StopIteration) as err:
        raise DataError(f"Cannot read the header line: {err}.") from err
    names = [h.strip() for h in header]
    if len(names) > lim.max_columns:
        raise DataError(f"The table has {len(names)} columns, over the limit of {lim.max_columns} "
                        "(setting max_columns). Keep the columns you need or raise the limit.")
    # Lines bound the rows from above (quoted cells may hold line breaks; empty lines count).
    lines = min(body.count("\n") + (not body.endswith("\n")), lim.max_rows + 1)
    need = estimate_memory(len(data), lines, len(names))
    if need > lim.max_memory:
        raise DataError(f"Reading this table would take about {_size(need)} of memory ({lines} "
                        f"lines x {len(names)} columns), over the limit of {_size(lim.max_memory)} "
                        "(setting max_memory). Use fewer rows or columns, or raise the limit.")
    try:
        cells = pd.read_csv(io.StringIO(body), sep=delimiter, header=None, dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quotechar="\"", nrows=lim.max_rows + 2,
                            engine="c")
    except pd.errors.ParserError as err:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if m:
            line = int(m.group(2)) + first_row - 1
            raise DataError(
                f"Row {line} has {m.group(3)} cells but the header has {m.group(1)} (the file is "
                f"read as {DELIMITER_NAMES[delimiter]} separated): check that row, and quote "
                "cells that contain the separator.") from err
        m = re.search(r"EOF inside string starting at row (\d+)", str(err))
        if m:
            line = int(m.group(1)) + first_row
            raise DataError(f"Row {line} opens a quoted cell (\") that is never closed: add the "
                            "closing quote, or remove the stray one.") from err
        raise DataError(f"Cannot parse the file as a {DELIMITER_NAMES[delimiter]} separated "
                        f"table: {str(err).strip()}") from err
    except (ValueError, csv.Error) as err:
        raise DataError(f"Cannot parse the file as a {DELIMITER_NAMES[delimiter]} separated "
                        f"table: {str(err).strip()}") from err
    cells = cells.iloc[1:]  # the header, parsed above
    # Skip empty lines but remember the spreadsheet row of every kept row.
    stripped = {i: _text(cells[i]) for i in cells.columns}
    filled = np.column_stack([(c.notna() & (c != "")).to_numpy(dtype=bool)
                              for c in stripped.values()])
    nonblank = filled.any(axis=1)
    rows = np.arange(len(cells)) + first_row + 1
    if not nonblank.all():
        stripped = {i: c[nonblank] for i, c in stripped.items()}
        filled, rows = filled[nonblank], rows[nonblank]
    if len(rows) == 0:
        raise DataError("The file has a header line but no data rows: add one row per object "
                        "under the column names.")
    if len(rows) > lim.max_rows:
        raise DataError(f"The table has more than {lim.max_rows} data rows, the limit (setting "
                        "max_rows). Use a sample of the rows or raise the limit.")
    # Columns without a name: drop them when empty (a separator at the end of every line),
    # else call them "column N".
    keep = []
    for i, name in enumerate(names):
        if not name:
            if not filled[:, i].any():
                continue
            names[i] = f"column {i + 1}"
        keep.append(i)
    names = [names[i] for i in keep]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dups = [n for n, c in seen.items() if c > 1]
    if dups:
        raise DataError("Duplicate column names: " + _names(dups)
                        + ". Give every column a different name in the header line.")
    decimal_comma = delimiter != ","
    columns, used_comma = {}, False
    for i, name in zip(keep, names):
        col, comma = _column_from_text(stripped[i].reset_index(drop=True), decimal_comma)
        columns[name] = col
        used_comma |= comma
    frame = pd.DataFrame(columns)
    default_rows = np.arange(len(frame)) + 2
    frame.attrs["csv"] = {
        "encoding": encoding, "delimiter": delimiter, "decimal": "," if used_comma else ".",
        "decimal_comma": decimal_comma,
        "rows": None if np.array_equal(rows, default_rows) else rows.astype(np.int64),
    }
    return frame


# ----------------------------------------------------------------------------------- preparing
def _spreadsheet_rows(frame: pd.DataFrame) -> np.ndarray:
    """Row of each frame row as a spreadsheet numbers it (header = row 1)."""
    info = frame.attrs.get("csv") or {}
    rows = info.get("rows")
    if rows is not None and len(rows) == len(frame):
        return np.asarray(rows, dtype=np.int64)
    return np.arange(len(frame), dtype=np.int64) + 2


def _row_list(rows: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _quote(value: Any, limit: int = 40) -> str:
    """``repr`` of a cell or a name for a message, shortened when long (a hostile file may hold a
    megabyte in one cell)."""
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def _names(cols: Iterable[Any]) -> str:
    return ", ".join(_quote(c) for c in cols)


def _available(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    shown = ", ".join(repr(c) for c in cols[:40])
    return shown + (f" and {len(cols) - 40} more" if len(cols) > 40 else "")


def _bad_cells_text(col: Any, series: pd.Series, parsed: _Numbers, rows: np.ndarray,
                    decimal_comma: bool) -> str:
    """The part of a message naming a column's cells that are not numbers, with a hint at the
    likely cause (mixed decimal separators, another separator inside the cells)."""
    cells = _text(series)
    if parsed.mixed is not None:
        c, p = parsed.mixed
        return (f"column {_quote(col)} mixes decimal commas (row {rows[c]}: "
                f"{_quote(cells.iloc[c])}) and decimal points (row {rows[p]}: "
                f"{_quote(cells.iloc[p])}), so a point may also "
                "group thousands: write all its numbers with the same decimal separator")
    where = np.flatnonzero(parsed.bad)
    examples = ", ".join(f"row {rows[i]}: {_quote(cells.iloc[i])}" for i in where[:_EXAMPLES])
    more = f" ({len(where)} cells in all)" if len(where) > _EXAMPLES else ""
    text = f"column {_quote(col)} has cells that are not numbers: {examples}{more}"
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


def _join_problems(problems: list[str]) -> str:
    text = "; ".join(problems[:5])
    return (text[0].upper() + text[1:]
            + (f"; and {len(problems) - 5} more columns" if len(problems) > 5 else ""))


def _resolve(frame: pd.DataFrame, name: Any, role: str) -> Any:
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if str(c) == str(name)]
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"{role}: no column named {str(name)!r}. Available columns: "
                    f"{_available(frame)}.")


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}.")
    return value


def _encode_labels(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


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
        raise DataError(f"Expected a table (pandas DataFrame), got {type(frame).__name__}.")
    missing = _check_choice("missing", missing, MISSING_POLICIES)
    scaling = _check_choice("scaling", scaling, SCALINGS)
    if n_clusters is not None:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 1:
            raise ConfigError(f"n_clusters: expected a positive whole number, got {n_clusters!r}.")
    lim = _limits(limits)
    if frame.shape[1] > lim.max_columns:
        raise DataError(f"The table has {frame.shape[1]} columns, over the limit of "
                        f"{lim.max_columns} (setting max_columns).")
    if frame.shape[0] > lim.max_rows:
        raise DataError(f"The table has {frame.shape[0]} rows, over the limit of {lim.max_rows} "
                        "(setting max_rows).")
    if frame.columns.has_duplicates:
        dups = frame.columns[frame.columns.duplicated()].unique()
        raise DataError(f"Duplicate column names: {_names(dups)}. Give every column a different "
                        "name.")
    if len(frame) == 0:
        raise DataError("The table has no rows.")

    id_col = None if id_column is None else _resolve(frame, id_column, "id_column")
    label_col = None if label_column is None else _resolve(frame, label_column, "label_column")
    if id_col is not None and id_col == label_col:
        raise DataError(f"Column {str(id_col)!r} cannot be both the ID and the label column.")
    roles = {c for c in (id_col, label_col) if c is not None}
    decimal_comma = bool((frame.attrs.get("csv") or {}).get("decimal_comma", False))
    rows = _spreadsheet_rows(frame)
    if feature_columns is None:
        features = [c for c in frame.columns if c not in roles
                    and pd.api.types.is_numeric_dtype(frame[c])]
        # A text column whose cells are mostly numbers is a numeric column with bad cells:
        # leaving it out silently would cluster on fewer columns than the user sees.
        problems = []
        for col in frame.columns:
            if col in roles or col in features or not (
                    pd.api.types.is_string_dtype(frame[col])
                    or pd.api.types.is_object_dtype(frame[col])):
                continue
            parsed = _parse_numbers(frame[col], decimal_comma)
            if not parsed.bad.any():
                continue
            filled = int((~parsed.missing).sum())
            numbers = filled - int(parsed.bad.sum())
            bad_text = _text(frame[col])[parsed.bad]
            numbers += int(bad_text.str.fullmatch(_NUMBER_LIKE).fillna(False).sum())
            if numbers >= 1 and 2 * numbers >= filled:
                problems.append(_bad_cells_text(col, frame[col], parsed, rows, decimal_comma))
        if problems:
            raise DataError(_join_problems(problems) + ". Correct those cells, or choose the "
                            "feature columns (leaving these out), or name the column as the ID "
                            "column (row 1 is the header).")
        if not features:
            text = [c for c in frame.columns if c not in roles]
            raise DataError("The table has no numeric column to cluster on"
                            + (f" (its columns {_names(text)} hold text)" if text else "")
                            + ": choose the feature columns, or fix the cells that are not "
                              "numbers.")
    else:
        if isinstance(feature_columns, str) or not isinstance(feature_columns, Iterable):
            feature_columns = [feature_columns]
        wanted = list(feature_columns)
        if not wanted:
            raise DataError("feature_columns: choose at least one feature column.")
        unknown = [c for c in wanted if c not in frame.columns
                   and sum(str(x) == str(c) for x in frame.columns) != 1]
        if unknown:
            raise DataError(f"feature_columns: no column named {_names(unknown)}. Available "
                            f"columns: {_available(frame)}.")
        features = [_resolve(frame, c, "feature_columns") for c in wanted]
        repeated = sorted({str(c) for c in features if features.count(c) > 1})
        if repeated:
            raise DataError(f"feature_columns: {_names(repeated)} given more than once.")
        both = [c for c in features if c in roles]
        if both:
            raise DataError(f"Column {str(both[0])!r} cannot be both a feature and the "
                            f"{'ID' if both[0] == id_col else 'label'} column.")

    values = np.empty((len(frame), len(features)), dtype=np.float64)
    miss = np.zeros_like(values, dtype=bool)
    problems = []
    for j, col in enumerate(features):
        series = frame[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            v = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            m = np.isnan(v)
            bad = np.zeros(len(v), dtype=bool)
        else:
            parsed = _parse_numbers(series, decimal_comma)
            v, m, bad = parsed.values, parsed.missing, parsed.bad
            if bad.any():
                problems.append(_bad_cells_text(col, series, parsed, rows, decimal_comma))
        values[:, j], miss[:, j] = v, m
    if problems:
        raise DataError(_join_problems(problems) + ". Correct those cells, or leave the column "
                        "out of the features (row 1 is the header).")
    infinite = np.isinf(values)
    if infinite.any():
        parts = []
        for j in range(len(features)):
            where = np.flatnonzero(infinite[:, j])
            if len(where):
                cell = str(frame[features[j]].iloc[where[0]]).strip()
                parts.append(f"{_quote(features[j])} (rows {_row_list(rows[where])}, e.g. "
                             f"{_quote(cell)})")
        raise DataError("Infinite values in " + ", ".join(parts) + ": replace them by numbers "
                        "(or leave the cells empty and choose how to treat missing values).")
    empty = [features[j] for j in range(len(features)) if miss[:, j].all()]
    if empty:
        many = len(empty) > 1
        raise DataError(f"Column{'s' if many else ''} {_names(empty)} "
                        f"{'have' if many else 'has'} no values: fill "
                        f"{'them' if many else 'it'} or leave {'them' if many else 'it'} out of "
                        "the features.")
    huge = np.abs(np.where(miss, 0.0, values)) > _HUGE
    if huge.any():
        parts = [f"{str(features[j])!r} (rows {_row_list(rows[np.flatnonzero(huge[:, j])])})"
                 for j in range(len(features)) if huge[:, j].any()]
        raise DataError(f"Values beyond ±{_HUGE:.0e} in " + ", ".join(parts) + ": distances "
                        "between such numbers overflow; express the column in larger units.")

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

    keep = np.ones(len(frame), dtype=bool)
    label_missing = None
    if label_col is not None:
        lab = frame[label_col]
        label_missing = (lab.isna() | lab.astype("string").str.strip().fillna("").eq("")) \
            .to_numpy(dtype=bool)
    row_missing = miss.any(axis=1)
    if missing == "refuse":
        if row_missing.any():
            parts = [f"{str(features[j])!r} (rows {_row_list(rows[np.flatnonzero(miss[:, j])])})"
                     for j in range(len(features)) if miss[:, j].any()]
            raise DataError("Missing values in " + ", ".join(parts) + ". Fill them, or choose to "
                            "drop those rows or to fill them with the column's median "
                            "(missing='drop' or 'median').")
    elif missing == "drop":
        keep &= ~row_missing
        if row_missing.any():
            dropped = rows[row_missing]
            notes.append(f"Dropped {len(dropped)} row{'s' if len(dropped) > 1 else ''} with "
                         f"missing values (rows {_row_list(dropped)}).")
    else:  # median
        for j in range(len(features)):
            m = miss[:, j]
            if m.any():
                med = float(np.median(values[~m, j]))
                values[m, j] = med
                notes.append(f"Filled {int(m.sum())} missing value{'s' if m.sum() > 1 else ''} "
                             f"of {str(features[j])!r} with its median {med:.6g} "
                             f"(rows {_row_list(rows[m])}).")
    if label_missing is not None and label_missing.any():
        where = rows[label_missing & keep]
        if len(where):
            if missing != "drop":
                raise DataError(f"The label column {str(label_col)!r} has empty cells (rows "
                                f"{_row_list(where)}): fill them, choose no label column, or "
                                "drop those rows (missing='drop').")
            keep &= ~label_missing
            notes.append(f"Dropped {len(where)} row{'s' if len(where) > 1 else ''} without a "
                         f"label (rows {_row_list(where)}).")

    n = int(keep.sum())
    dropped_any = n < len(frame)
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
    values = values[keep]
    constant = [features[j] for j in range(len(features))
                if np.ptp(values[:, j]) == 0]
    if constant:
        value = values[0, features.index(constant[0])]
        raise DataError(f"Constant column{'s' if len(constant) > 1 else ''} {_names(constant)} "
                        f"(every row holds the same value, e.g. {value:g}): "
                        f"{'they carry' if len(constant) > 1 else 'it carries'} no information "
                        "for clustering and cannot be scaled; leave "
                        f"{'them' if len(constant) > 1 else 'it'} out of the features.")

    kept = frame.iloc[np.flatnonzero(keep)].reset_index(drop=True)
    kept.attrs = {}
    feature_names = [str(c) for c in features]
    raw = pd.DataFrame(values, columns=feature_names)
    if scaling == "standard":
        scaler = StandardScaler().fit(values)
    elif scaling == "minmax":
        scaler = MinMaxScaler().fit(values)
    else:
        scaler = None
    X = np.ascontiguousarray(values if scaler is None else scaler.transform(values),
                             dtype=np.float64)

    ids = None
    if id_col is not None:
        ids = kept[id_col].to_numpy()
        dup = pd.Series(ids).duplicated(keep=False).to_numpy()
        if dup.any():
            notes.append(f"The ID column {str(id_col)!r} repeats values (e.g. "
                         f"{str(ids[np.flatnonzero(dup)[0]])!r}); objects are told apart by row.")
    labels = label_names = None
    if label_col is not None:
        labels, label_names = _encode_labels(kept[label_col])
    return Dataset(X=X, raw=raw, feature_names=feature_names, ids=ids, labels=labels,
                   label_names=label_names, frame=kept, notes=notes, scaling=scaling,
                   scaler=scaler)


_READ_KEYS = ("delimiter", "encoding", "max_bytes", "max_rows", "max_columns", "max_memory")


def load_csv(source: Any, **kwargs: Any) -> Dataset:
    """:func:`read_csv` then :func:`prepare`: keyword arguments go to the one that takes them."""
    limits = kwargs.pop("limits", None)
    read_kw = {k: kwargs.pop(k) for k in _READ_KEYS if k in kwargs}
    frame = read_csv(source, limits=limits, **read_kw)
    lim = _limits(limits, max_rows=read_kw.get("max_rows"), max_columns=read_kw.get("max_columns"))
    try:
        return prepare(frame, limits=lim, **kwargs)
    except TypeError as err:
        raise ConfigError(f"load_csv: {err}") from err


def check_size(n_rows: Any, n_columns: Any, limits: Optional[Limits] = None,
               what: str = "The data") -> None:
    """Refuse data of ``n_rows`` x ``n_columns`` over the row or column limit before it is made
    (a generator's points); entries that are not whole numbers are left to the maker's checks."""
    lim = _limits(limits)
    for count, limit, name, unit in ((n_rows, lim.max_rows, "max_rows", "rows (points)"),
                                     (n_columns, lim.max_columns, "max_columns",
                                      "columns (features)")):
        if isinstance(count, (int, np.integer)) and not isinstance(count, bool) \
                and count > limit:
            raise DataError(f"{what} would have {int(count)} {unit}, over the limit of {limit} "
                            f"(setting {name}, {LIMIT_ENV[name]}). Ask for fewer or raise the "
                            "limit.")


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
        raise DataError(f"X: expected an array of numbers ({err}).") from err
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise DataError(f"X: expected a 2-D array (objects x features), got shape {arr.shape}.")
    if arr.shape[0] < 2:
        raise DataError(f"X: clustering needs at least 2 objects, got {arr.shape[0]}.")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(f"X: non-finite value {arr[bad[0], bad[1]]} at row {bad[0]}, column "
                        f"{bad[1]}.")
    if feature_names is None:
        names = [f"x{j + 1}" for j in range(arr.shape[1])]
    else:
        names = [str(f) for f in feature_names]
        if len(names) != arr.shape[1]:
            raise DataError(f"feature_names: {len(names)} names for {arr.shape[1]} features.")
        if len(set(names)) != len(names):
            raise DataError("feature_names: the names must differ.")
    raw = pd.DataFrame(arr, columns=names)
    frame = raw.copy()
    labels = label_names = None
    if y is not None:
        yy = np.asarray(y)
        if yy.ndim != 1 or len(yy) != arr.shape[0]:
            raise DataError(f"y: expected {arr.shape[0]} labels, got shape {yy.shape}.")
        if np.issubdtype(yy.dtype, np.integer) or np.issubdtype(yy.dtype, np.bool_):
            labels = yy.astype(np.int64)
        elif np.issubdtype(yy.dtype, np.floating) and np.all(np.isfinite(yy)) \
                and np.all(yy == np.round(yy)):
            labels = yy.astype(np.int64)
        else:
            labels, label_names = _encode_labels(pd.Series(yy))
            if (labels < 0).any():
                raise DataError("y: the labels have missing values.")
        frame["label"] = labels if label_names is None else [label_names[i] for i in labels]
    return Dataset(X=np.ascontiguousarray(arr), raw=raw, feature_names=names, labels=labels,
                   label_names=label_names, frame=frame, notes=[], scaling="none", scaler=None)
