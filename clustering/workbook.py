"""Reading one sheet of a spreadsheet workbook (.xlsx, .xlsm, .xlsb, .xls, .ods) into a table.

The workbook is parsed by ``python-calamine`` (the Rust ``calamine`` reader, also pandas'
``engine="calamine"``). The cells then take the CSV reader's path
(:func:`clustering.csv_reader.data_rows`, :func:`~clustering.csv_reader.name_columns`,
:func:`~clustering.csv_reader.build_frame`):
the first row of the sheet's used range is the header, empty rows are skipped, a column is numeric
when every cell is a number or missing. Every size limit of :class:`clustering.tables.Limits` is
checked before the work it bounds: the file's bytes, the unpacked size of a ZIP workbook (the
memory limit, before the sheet is parsed), the sheet's rows and columns (before its cells become
Python objects).
"""
from __future__ import annotations

import datetime as _dt
import io
import zipfile
from typing import Any, Optional

import pandas as pd

from clustering import csv_reader
from clustering.errors import DataError
from clustering.i18n import Message, N_
from clustering.table_limits import check_shape, over_limit
from clustering.table_messages import size_text

__all__ = ["ZIP_MAGIC", "OLE_MAGIC", "is_workbook_bytes", "workbook_format", "sheet_names",
           "read_workbook"]

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def is_workbook_bytes(raw: bytes) -> bool:
    """Whether ``raw`` starts like a ZIP (.xlsx, .ods) or OLE (.xls) file."""
    return raw.startswith((ZIP_MAGIC, OLE_MAGIC))


def _zip_format(raw: bytes, max_memory: Optional[int]) -> str:
    """"xlsx", "xlsb" or "ods" for a ZIP workbook; refuses another ZIP, a broken one or one that
    would unpack to more than ``max_memory`` bytes (checked on the directory, before unpacking)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
            mime = zf.read("mimetype")[:len(_ODS_MIME) + 8] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as err:
        raise DataError(N_("The file starts like a ZIP archive or an Excel workbook (.xlsx) but "
                           "cannot be opened ({reason}): it is damaged or incomplete."),
                        reason=str(err)) from err
    unpacked = sum(i.file_size for i in infos)
    if max_memory is not None and unpacked > max_memory:
        raise over_limit(Message(N_("The workbook unpacks to {size}"), size=size_text(unpacked)),
                         "max_memory", size_text(max_memory),
                         Message(N_("Save the sheet you need alone or raise the limit.")))
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mime.startswith(_ODS_MIME) and "content.xml" in names:
        return "ods"
    raise DataError(N_("This is a ZIP archive, not an Excel (.xlsx) or OpenDocument (.ods) "
                       "workbook nor a text CSV: unpack it and upload the table inside."))


def workbook_format(raw: bytes, max_memory: Optional[int] = None) -> str:
    """The workbook's format from its bytes: "xlsx", "xlsb", "ods" (ZIP) or "xls" (OLE).

    Raises DataError for bytes that are not a workbook (a ZIP of other files, a text file)."""
    if raw.startswith(ZIP_MAGIC):
        return _zip_format(raw, max_memory)
    if raw.startswith(OLE_MAGIC):
        return "xls"
    raise DataError(N_("This is not an Excel (.xlsx, .xls) or OpenDocument (.ods) workbook."))


def _open(raw: bytes, max_memory: Optional[int] = None):
    import python_calamine

    fmt = workbook_format(raw, max_memory)
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw)), fmt
    except Exception as err:  # calamine's errors: CalamineError, PasswordError, ZipError, XmlError
        raise DataError(N_("The workbook cannot be read ({type}: {reason}): it is damaged or "
                           "protected by a password. Open it in the spreadsheet, remove the "
                           "password and save it again (or save the sheet as CSV)."),
                        type=type(err).__name__, reason=str(err)) from err


def sheet_names(raw: bytes) -> list[str]:
    """The names of the workbook's sheets, in the workbook's order."""
    book, _ = _open(raw)
    return list(book.sheet_names)


def _cell_text(value: Any) -> str:
    """A cell as the text the CSV reader parses (numbers exactly, integral ones without ".0")."""
    if value is None or isinstance(value, str):
        return "" if value is None else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else repr(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _sheet(book, name: Any, available: list[str]):
    if name is None:
        if not available:
            raise DataError(N_("The workbook has no sheets."))
        name = available[0]
    if name not in available:
        raise DataError(N_("sheet: the workbook has no sheet {name!r}; its sheets are {sheets}."),
                        name=name, sheets=", ".join(repr(s) for s in available))
    try:
        return book.get_sheet_by_name(name), name
    except Exception as err:
        raise DataError(N_("Sheet {name!r} of the workbook cannot be read ({reason})."),
                        name=name, reason=str(err)) from err


def _check_size(sheet, name: str, n_bytes: int, lim) -> None:
    """The sheet's rows, columns and memory estimate against the limits, before its cells are
    read."""
    rows, cols = int(sheet.height), int(sheet.width)
    if rows == 0 or cols == 0:
        raise DataError(N_("Sheet {name!r} is empty: put the column names in its first row and "
                           "one object per row under them, or choose another sheet."), name=name)
    check_shape(Message(N_("Sheet {name!r}"), name=name), n_bytes, rows - 1, cols, lim)


def read_workbook(raw: bytes, sheet: Optional[str] = None, limits=None) -> pd.DataFrame:
    """One sheet of a workbook as a table, read as :func:`clustering.tables.read_csv` reads a CSV.

    Parameters
    ----------
    raw : bytes
        The workbook file (.xlsx, .xlsm, .xlsb, .xls or .ods).
    sheet : str, optional
        The sheet's name; None reads the first sheet.
    limits : clustering.tables.Limits, optional
        Size limits; defaults to :data:`clustering.tables.DEFAULT_LIMITS`.

    Returns
    -------
    DataFrame
        The header is the first row of the sheet's used range; empty rows are skipped.
        ``attrs["csv"]`` records ``format``, ``sheet``, ``sheets`` and the spreadsheet row of each
        row when it is not its position + 2 (``encoding`` and ``delimiter`` are None).

    Raises
    ------
    DataError
        Not a workbook, damaged or password protected, unknown sheet (the message names the
        sheets), empty sheet, no data rows, duplicate column names, or over a limit.
    """
    if limits is None:
        from clustering.tables import DEFAULT_LIMITS as limits
    raw = csv_reader.read_bytes(raw, limits.max_bytes)
    book, fmt = _open(raw, limits.max_memory)
    available = list(book.sheet_names)
    ws, name = _sheet(book, sheet, available)
    _check_size(ws, name, len(raw), limits)
    values = ws.to_python(skip_empty_area=True, nrows=limits.max_rows + 2)
    width = max((len(r) for r in values), default=0)
    cells = pd.DataFrame([[_cell_text(v) for v in r] + [""] * (width - len(r)) for r in values],
                         dtype=object)
    header = [str(v).strip() for v in cells.iloc[0]]
    first_row = int(ws.start[0]) + 1 if ws.start is not None else 1
    stripped, filled, rows = csv_reader.data_rows(cells.iloc[1:], first_row, limits.max_rows)
    keep, names = csv_reader.name_columns(header, filled)
    frame = csv_reader.build_frame(keep, names, stripped, rows, ",", None)
    info = frame.attrs["csv"]
    frame.attrs["csv"] = {"format": fmt, "sheet": name, "sheets": available, "encoding": None,
                          "delimiter": None, "decimal": ".", "decimal_comma": False,
                          "rows": info["rows"]}
    return frame
