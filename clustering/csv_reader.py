"""Reading a CSV file's bytes into a table of text cells: size, encoding, delimiter, header, rows.

The steps of :func:`clustering.tables.read_csv`, in order: :func:`read_bytes` (never more than the
byte limit), :func:`text_of` (the encoding: BOMs, UTF-16 without a BOM, UTF-8, else the legacy code
page whose words look like words; binary files refused), :func:`sniff_delimiter` (from a bounded
sample, in linear time), :func:`split_header`, :func:`parse_cells` (pandas' C parser, every cell as
text), :func:`data_rows` (empty lines skipped, spreadsheet rows remembered), :func:`name_columns`
and :func:`build_frame` (numeric columns found by :mod:`clustering.cell_numbers`).
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from clustering.cell_numbers import as_text, column_from_text
from clustering.errors import DataError
from clustering.i18n import Message, N_
from clustering.table_limits import over_limit, setting
from clustering.table_messages import names as quoted_names, size_text

__all__ = ["DELIMITERS", "DELIMITER_NAMES", "ENCODINGS", "SAMPLE_CHARS", "read_bytes", "text_of",
           "field_counts", "sniff_delimiter", "split_header", "parse_cells", "data_rows",
           "name_columns", "build_frame", "line_count"]

DELIMITERS = (",", ";", "\t")
#: The delimiters by name, as messages and the app say them.
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
#: Encodings a caller may force when detection guesses wrong (:func:`read_csv`'s ``encoding``).
ENCODINGS = ("utf-8", "utf-8-sig", "cp1251", "cp1252", "latin-1", "utf-16")
SAMPLE_CHARS = 64 * 1024
#: Tie-break order of delimiters with equal scores (``csv.Sniffer``'s preference).
_PREFERRED = (",", "\t", ";")
# Control characters that do not occur in text files.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
# A row with more or fewer cells than the header, by the file's delimiter (one whole sentence each).
_RAGGED = {
    ",": N_("Row {row} has {n} cells but the header has {expected} (the file is read as comma "
            "separated): check that row, and quote cells that contain the separator."),
    ";": N_("Row {row} has {n} cells but the header has {expected} (the file is read as "
            "semicolon separated): check that row, and quote cells that contain the separator."),
    "\t": N_("Row {row} has {n} cells but the header has {expected} (the file is read as tab "
             "separated): check that row, and quote cells that contain the separator."),
}
# A file the parser cannot read, by the file's delimiter.
_UNPARSED = {
    ",": N_("Cannot parse the file as a comma separated table: {reason}"),
    ";": N_("Cannot parse the file as a semicolon separated table: {reason}"),
    "\t": N_("Cannot parse the file as a tab separated table: {reason}"),
}


def _too_big(n: int, limit: int, exact: bool = True) -> DataError:
    stated = (Message(N_("The file is {size}"), size=size_text(n)) if exact else
              Message(N_("The file is more than {size}"), size=size_text(limit)))
    return over_limit(stated, "max_bytes", size_text(limit),
                      Message(N_("Use a smaller file or raise the limit.")))


def read_bytes(source: Any, max_bytes: int) -> bytes:
    """The raw bytes of ``source`` (path, bytes or file-like), refusing more than ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            if path.is_dir():
                raise DataError(N_("Cannot read {path!r}: it is a folder, not a file."),
                                path=str(path))
            raise DataError(N_("Cannot read {path!r}: it does not exist."), path=str(path))
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DataError(N_("Cannot read {path!r}: {reason}."), path=str(path),
                            reason=str(err.strerror or err)) from err
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
    sample = data[:SAMPLE_CHARS - SAMPLE_CHARS % 2]
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
        raise DataError(N_("The file mixes encodings: it is UTF-8 text but row {row} holds bytes "
                           "that are not UTF-8 ({sample!r}, {count} such places in all). Save "
                           "the table again as UTF-8 (\"CSV UTF-8\"), or fix that row."),
                        row=row, sample=data[err.start:err.end + 2], count=invalid)


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
        words = _WORD.findall(text[:SAMPLE_CHARS * 4])
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
        raise DataError(N_("This is a ZIP archive or an Excel workbook (.xlsx), not a text CSV: "
                           "open it in the spreadsheet and save it as CSV."))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(N_("This is an old Excel workbook (.xls), not a text CSV: open it in the "
                           "spreadsheet and save it as CSV."))
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
                raise DataError(N_("The file is not {encoding} text: byte {byte} cannot be "
                                   "decoded in that encoding. Choose another encoding, or let "
                                   "it be detected."), encoding=forced, byte=err.start) from err
            raise DataError(N_("The file starts like {encoding} text but byte {byte} cannot be "
                               "decoded: it is not a text CSV or it is damaged."),
                            encoding=encoding.upper(), byte=err.start) from err
    else:
        # UTF-8 first (other encodings rarely decode as UTF-8 by chance); a file that is UTF-8
        # but for a few bytes is refused; else the legacy code page whose words look like words.
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as err:
            _refuse_mixed_utf8(data, err)
            text, encoding = _legacy_decode(data)
    if "\x00" in text:
        raise DataError(N_("This is not a text CSV (it holds binary data, e.g. a picture, an "
                           "archive or a UTF-32 file): save the table as CSV."))
    text = text.rstrip("\x1a")  # DOS end-of-file marker
    controls = sum(1 for _ in _CONTROL.finditer(text))
    if controls > max(2, len(text) // 100):
        raise DataError(N_("This is not a text CSV (it holds many control characters, i.e. "
                           "binary data): save the table as CSV."))
    return text, encoding


def field_counts(sample: str, delimiter: str) -> list[int]:
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter, quotechar='"'))
    except csv.Error:
        return []
    return [len(r) for r in rows if any(cell.strip() for cell in r)]


def _sample(text: str) -> str:
    """The first :data:`SAMPLE_CHARS` characters of ``text``, cut after the last whole line
    (detection reads this bounded sample, never the whole file)."""
    sample = text[:SAMPLE_CHARS]
    if len(text) > SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    return sample


def _delimiter_score(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of rows with as many fields as the header, header fields); (-1, 0) if unreadable."""
    counts = field_counts(sample, delimiter)
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


def sniff_delimiter(text: str) -> str:
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




def text_of(data: bytes, encoding: Optional[str] = None) -> tuple[str, str]:
    """The text of a CSV file's bytes (in ``encoding`` when given, else detected), line ends made
    ``\\n``; returns (text, encoding). Refuses an empty file and one that is not text."""
    if not data.strip(b" \t\r\n\x1a" + codecs.BOM_UTF8):
        raise DataError(N_("The file is empty: it has no header line and no data."))
    text, encoding = _decode(data, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DataError(N_("The file is empty: it has no header line and no data."))
    return text, encoding


def split_header(text: str, delimiter: str) -> tuple[str, int, list[str]]:
    """(body, spreadsheet row of the header, stripped header names). The header is the first
    non-empty line; empty lines before it are skipped (and counted in row numbers)."""
    leading = len(text) - len(text.lstrip("\n"))
    first_row = text[:leading].count("\n") + 1
    body = text[leading:]
    try:
        header = next(csv.reader(io.StringIO(body), delimiter=delimiter, quotechar='"'))
    except (csv.Error, StopIteration) as err:
        raise DataError(N_("Cannot read the header line: {reason}."), reason=str(err)) from err
    return body, first_row, [h.strip() for h in header]


def line_count(body: str, max_rows: int) -> int:
    """Lines of ``body`` (at most ``max_rows + 1``): an upper bound of its rows (quoted cells may
    hold line breaks; empty lines count)."""
    return min(body.count("\n") + (not body.endswith("\n")), max_rows + 1)


def parse_cells(body: str, delimiter: str, first_row: int, max_rows: int) -> pd.DataFrame:
    """Every cell of the rows under the header as text (at most ``max_rows + 1`` rows), columns
    numbered; a ragged row or an unclosed quote is refused naming its spreadsheet row."""
    try:
        cells = pd.read_csv(io.StringIO(body), sep=delimiter, header=None, dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quotechar="\"", nrows=max_rows + 2,
                            engine="c")
    except pd.errors.ParserError as err:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if m:
            line = int(m.group(2)) + first_row - 1
            raise DataError(_RAGGED[delimiter], row=line, n=int(m.group(3)),
                            expected=int(m.group(1))) from err
        m = re.search(r"EOF inside string starting at row (\d+)", str(err))
        if m:
            line = int(m.group(1)) + first_row
            raise DataError(N_("Row {row} opens a quoted cell (\") that is never closed: add "
                               "the closing quote, or remove the stray one."), row=line) from err
        raise DataError(_UNPARSED[delimiter], reason=str(err).strip()) from err
    except (ValueError, csv.Error) as err:
        raise DataError(_UNPARSED[delimiter], reason=str(err).strip()) from err
    return cells.iloc[1:]  # the header, parsed by split_header


def data_rows(cells: pd.DataFrame, first_row: int,
              max_rows: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """The non-empty rows: (stripped cells per column, which cells are filled, the spreadsheet
    row of each). Refuses a table without data rows or with more than ``max_rows``."""
    stripped = {i: as_text(cells[i]) for i in cells.columns}
    filled = np.column_stack([(c.notna() & (c != "")).to_numpy(dtype=bool)
                              for c in stripped.values()])
    nonblank = filled.any(axis=1)
    rows = np.arange(len(cells)) + first_row + 1
    if not nonblank.all():
        stripped = {i: c[nonblank] for i, c in stripped.items()}
        filled, rows = filled[nonblank], rows[nonblank]
    if len(rows) == 0:
        raise DataError(N_("The file has a header line but no data rows: add one row per object "
                           "under the column names."))
    if len(rows) > max_rows:
        raise DataError(N_("The table has more than {limit} data rows, the limit ({setting}). "
                           "Use a sample of the rows or raise the limit."),
                        limit=max_rows, setting=setting("max_rows"))
    return stripped, filled, rows


def name_columns(names: list[str], filled: np.ndarray) -> tuple[list[int], list[str]]:
    """(positions, names) of the columns kept: a column without a name is dropped when empty (a
    separator at the end of every line), else called "column N". Refuses duplicate names."""
    names = list(names)
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
        raise DataError(N_("Duplicate column names: {names}. Give every column a different name "
                           "in the header line."), names=quoted_names(dups))
    return keep, names


def build_frame(keep: list[int], names: list[str], stripped: dict, rows: np.ndarray,
                delimiter: str, encoding: str) -> pd.DataFrame:
    """The table as read: numeric columns where every cell is a number or missing, the rest text;
    ``attrs["csv"]`` records the encoding, delimiter, decimal separator and the rows."""
    decimal_comma = delimiter != ","
    columns, used_comma = {}, False
    for i, name in zip(keep, names):
        col, comma = column_from_text(stripped[i].reset_index(drop=True), decimal_comma)
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
