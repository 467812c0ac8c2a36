"""Workbooks (.xlsx, .xls, .ods) read as tables, and results written as .xlsx."""
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from clustering import tables, workbook
from clustering.errors import ConfigError, DataError

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("python_calamine")


def book_bytes(sheets: dict) -> bytes:
    """An .xlsx made with openpyxl: sheet name -> rows (the first row is the header)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


TWO_SHEETS = {
    "Предприятия": [["Предприятие", "Рентабельность", "Выручка"],
                    ["Альфа", 1.085608, 1234.5], ["Бета", 1.83482, 987],
                    [None, None, None], ["Гамма", 0.5, 12000]],
    "Второй": [["код", "x"], ["007", 2.25], ["008", -1.125]],
}


def test_sheet_names_in_order():
    assert workbook.sheet_names(book_bytes(TWO_SHEETS)) == ["Предприятия", "Второй"]


def test_first_sheet_by_default_with_cyrillic_header_and_decimals():
    f = tables.read_csv(book_bytes(TWO_SHEETS))
    assert list(f.columns) == ["Предприятие", "Рентабельность", "Выручка"]
    assert f["Предприятие"].tolist() == ["Альфа", "Бета", "Гамма"]
    np.testing.assert_array_equal(f["Рентабельность"], [1.085608, 1.83482, 0.5])
    assert f["Выручка"].dtype == np.float64 and f["Выручка"].tolist() == [1234.5, 987, 12000]
    info = f.attrs["csv"]
    assert (info["format"], info["sheet"]) == ("xlsx", "Предприятия")
    # the empty row 4 is skipped: Гамма is row 5 of the sheet
    np.testing.assert_array_equal(info["rows"], [2, 3, 5])


def test_named_sheet_keeps_codes_as_text_and_integers_as_int():
    f = tables.read_csv(book_bytes(TWO_SHEETS), sheet="Второй")
    assert f["код"].tolist() == ["007", "008"]  # leading zeros kept, as in a CSV
    assert f["x"].tolist() == [2.25, -1.125]
    g = tables.read_csv(book_bytes({"s": [["n"], [3], [4]]}))
    assert g["n"].dtype == np.int64 and g["n"].tolist() == [3, 4]


def test_unknown_sheet_names_the_available_ones():
    with pytest.raises(DataError, match=r"no sheet 'Третий'; its sheets are 'Предприятия', "
                                        r"'Второй'"):
        workbook.read_workbook(book_bytes(TWO_SHEETS), "Третий")


def test_sheet_option_refused_for_a_text_csv_and_checked():
    with pytest.raises(ConfigError, match="sheet: 'Второй' was given but the file is a text CSV"):
        tables.read_csv(b"a,b\n1,2\n", sheet="Второй")
    with pytest.raises(ConfigError, match=r"sheet: expected a sheet's name"):
        tables.read_options(sheet=3)
    assert tables.read_options(sheet="Второй") == {"sheet": "Второй"}


def test_empty_sheet_and_header_only_sheet_are_refused():
    raw = book_bytes({"data": [["a"], [1]], "blank": []})
    with pytest.raises(DataError, match=r"Sheet 'blank' is empty"):
        workbook.read_workbook(raw, "blank")
    with pytest.raises(DataError, match="header line but no data rows"):
        workbook.read_workbook(book_bytes({"h": [["a", "b"]]}))


def test_corrupt_and_non_workbook_files_are_refused():
    raw = book_bytes(TWO_SHEETS)
    with pytest.raises(DataError, match="cannot be opened.*damaged or incomplete"):
        workbook.read_workbook(raw[: len(raw) // 2])
    with pytest.raises(DataError, match="workbook cannot be read.*password"):
        workbook.read_workbook(workbook.OLE_MAGIC + bytes(600))
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(DataError, match="ZIP archive, not an Excel"):
        workbook.read_workbook(other.getvalue())


def test_limits_are_checked_and_named():
    raw = book_bytes({"s": [["a", "b", "c"]] + [[i, i, i] for i in range(10)]})
    with pytest.raises(DataError, match=r"3 columns, over the limit of 2 \(setting max_columns, "
                                        r"environment variable CLUSTERMAP_MAX_COLUMNS\)"):
        tables.read_csv(raw, max_columns=2)
    with pytest.raises(DataError, match=r"10 rows under its header, over the limit of 9 "
                                        r"\(setting max_rows.*CLUSTERMAP_MAX_ROWS"):
        tables.read_csv(raw, max_rows=9)
    with pytest.raises(DataError, match=r"setting max_bytes"):
        tables.read_csv(raw, max_bytes=len(raw) - 1)
    with pytest.raises(DataError, match=r"unpacks to .* \(setting max_memory, environment "
                                        r"variable CLUSTERMAP_MAX_MEMORY\)"):
        tables.read_csv(raw, max_memory=1000)
    assert tables.read_csv(raw, max_rows=10, max_columns=3).shape == (10, 3)


def test_ods_read_when_pandas_can_write_one():
    pytest.importorskip("odf", reason="odfpy (pandas' .ods writer) is not installed, so no "
                                      ".ods can be made here to read back")
    buf = io.BytesIO()
    pd.DataFrame({"имя": ["а", "б"], "x": [1.5, 2.5]}).to_excel(buf, engine="odf", index=False)
    f = tables.read_csv(buf.getvalue())
    assert f.attrs["csv"]["format"] == "ods"
    assert f["имя"].tolist() == ["а", "б"] and f["x"].tolist() == [1.5, 2.5]


def test_xlsx_download_reads_back_with_formulas_neutralised():
    from ui import downloads

    frame = pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "Бета", "+1", "@x"],
                          "cluster": [0, 1, 1, -1], "p_0": [0.25, 0.5, 1.0, 0.125],
                          "true_label": ["-a", "b", "c", "d"]})
    data = downloads.table_xlsx(frame, sheet="labels")
    assert data == downloads.table_xlsx(frame, sheet="labels")  # the same bytes every time
    back = pd.read_excel(io.BytesIO(data), sheet_name="labels", engine="openpyxl")
    assert back["id"].tolist() == ["'=cmd|' /C calc'!A0", "Бета", "'+1", "'@x"]
    assert back["true_label"].tolist() == ["'-a", "b", "c", "d"]
    assert back["cluster"].tolist() == [0, 1, 1, -1]  # numbers stay numbers, negatives too
    np.testing.assert_array_equal(back["p_0"], frame["p_0"])
    cells = openpyxl.load_workbook(io.BytesIO(data))["labels"]
    assert cells["A2"].data_type == "s"  # text, not a formula
    again = tables.read_csv(data)  # and our own reader takes it back
    assert again["cluster"].tolist() == [0, 1, 1, -1]
