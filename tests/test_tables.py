"""CSV reading and table preparation: the files analysts really upload, and every refusal."""
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustering.errors import ConfigError, DataError
from clustering.tables import (DEFAULT_LIMITS, Dataset, Limits, from_arrays, load_csv, prepare,
                               read_csv)

TABLE = "id,a,b,c\n" + "".join(f"r{i},{i},{i * i % 7}.5,{(-1) ** i * i / 4}\n" for i in range(1, 11))


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# ----------------------------------------------------------------------------------- sources
def test_reads_path_str_bytes_and_file_likes(tmp_path):
    path = write(tmp_path, "t.csv", TABLE)

    class Uploaded(io.BytesIO):  # like Streamlit's UploadedFile: getvalue() and size
        size = len(TABLE)

    frames = [read_csv(path), read_csv(str(path)), read_csv(TABLE.encode()),
              read_csv(io.BytesIO(TABLE.encode())), read_csv(Uploaded(TABLE.encode())),
              read_csv(io.StringIO(TABLE))]
    for f in frames:
        pd.testing.assert_frame_equal(f, frames[0])
    f = frames[0]
    assert list(f.columns) == ["id", "a", "b", "c"] and len(f) == 10
    assert f["a"].dtype == np.int64 and f["b"].dtype == np.float64
    assert f["id"].tolist()[:2] == ["r1", "r2"] and not pd.api.types.is_numeric_dtype(f["id"])
    assert f["c"].tolist()[:2] == [-0.25, 0.5]


def test_missing_path_and_folder_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_csv(tmp_path)


# ----------------------------------------------------------------------------------- malformed
@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    with pytest.raises(DataError, match="The file is empty"):
        read_csv(data)


@pytest.mark.parametrize("data", [b"a,b,c\n", b"a;b;c", b"a,b\n\n \n"])
def test_header_only(data):
    with pytest.raises(DataError, match="header line but no data rows"):
        read_csv(data)


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02 not a table",
    bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8)),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    b"\x01\x02\x03\x04\x05\x06\x07\x08a,b\n1,2\n",
])
def test_binary_junk_is_not_a_text_csv(data):
    with pytest.raises(DataError, match="not a text CSV"):
        read_csv(data)


def test_workbooks_are_read_and_other_zips_refused():
    import io
    import zipfile

    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["name", "x"])
    book.active.append(["a", 1.5])
    buf = io.BytesIO()
    book.save(buf)
    f = read_csv(buf.getvalue())
    assert list(f.columns) == ["name", "x"] and f["x"].tolist() == [1.5]
    assert f.attrs["csv"]["format"] == "xlsx"
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("notes.txt", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"ZIP archive, not an Excel \(\.xlsx\)"):
        read_csv(other.getvalue())
    with pytest.raises(DataError, match=r"Excel workbook \(\.xlsx\) but cannot be opened"):
        read_csv(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50)
    with pytest.raises(DataError, match=r"workbook cannot be read .*damaged or protected"):
        read_csv(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50)


def test_cp1251_file_with_cyrillic_header_and_decimal_comma(tmp_path):
    text = ("Предприятие;Рентабельность;Выручка, тыс. руб.\n"
            "Альфа;1,085608;1 234,5\n"
            "Бета;1,83482;987\n"
            "Гамма;0,5;12 000\n")
    path = write(tmp_path, "ru.csv", text.encode("cp1251"))
    f = read_csv(path)
    assert list(f.columns) == ["Предприятие", "Рентабельность", "Выручка, тыс. руб."]
    assert f["Предприятие"].tolist() == ["Альфа", "Бета", "Гамма"]
    np.testing.assert_array_equal(f["Рентабельность"], [1.085608, 1.83482, 0.5])
    np.testing.assert_array_equal(f["Выручка, тыс. руб."], [1234.5, 987.0, 12000.0])
    assert f.attrs["csv"]["encoding"] == "cp1251"
    assert f.attrs["csv"]["delimiter"] == ";" and f.attrs["csv"]["decimal"] == ","
    ds = prepare(f, id_column="Предприятие")
    assert ds.feature_names == ["Рентабельность", "Выручка, тыс. руб."]
    assert any("cp1251" in n and "decimal comma" in n for n in ds.notes)


def test_utf8_with_and_without_bom_read_the_same():
    text = "имя,x,y\nа,1,2\nб,3,5\n"
    with_bom = read_csv(b"\xef\xbb\xbf" + text.encode("utf-8"))
    plain = read_csv(text.encode("utf-8"))
    assert list(with_bom.columns) == ["имя", "x", "y"]  # no '\ufeff' glued to the first name
    pd.testing.assert_frame_equal(with_bom, plain)
    assert with_bom.attrs["csv"]["encoding"] == "utf-8-sig"


def test_utf16_with_bom_tab_separated_like_excel_unicode_text():
    text = "name\tv\tw\nx\t1,5\t2\ny\t2,5\t3\n"
    f = read_csv(text.encode("utf-16"))
    assert f.attrs["csv"]["delimiter"] == "\t"
    np.testing.assert_array_equal(f["v"], [1.5, 2.5])


def test_western_legacy_text_is_read_as_cp1252_and_undecodable_as_latin1():
    # 0x98 is undefined in cp1251: cp1252 decodes this file.
    f = read_csv(b"name,v\ncaf\xe9\x98,1\nb,2\n")
    assert f.attrs["csv"]["encoding"] == "cp1252" and f["v"].tolist() == [1, 2]
    # Both code pages decode French words, but only cp1252 makes them words (cp1251 reads
    # "Cafй": Latin and Cyrillic letters in one word).
    f = read_csv("name,v\nCafé,1\nÉcole,2\nNaïve,3\n".encode("latin-1"))
    assert f.attrs["csv"]["encoding"] == "cp1252" and f["name"].tolist() == ["Café", "École",
                                                                             "Naïve"]
    # 0x81 is undefined in cp1252 and 0x98 in cp1251: only Latin-1 is left.
    f = read_csv(b"name,v\n\x81\x98,1\nb,2\n")
    assert f.attrs["csv"]["encoding"] == "latin-1"


def test_semicolon_and_decimal_comma():
    f = read_csv(b"a;b;c\n1,085608;0,320537;x\n-2,5;1e-3;y\n,5;3;z\n")
    assert f.attrs["csv"]["delimiter"] == ";"
    np.testing.assert_array_equal(f["a"], [1.085608, -2.5, 0.5])
    np.testing.assert_array_equal(f["b"], [0.320537, 0.001, 3.0])
    assert f["c"].tolist() == ["x", "y", "z"]


def test_tab_delimited():
    f = read_csv(b"id\tx\ty\n1\t0.5\t1,25\n2\t1.5\t2,25\n")
    assert f.attrs["csv"]["delimiter"] == "\t"
    assert list(f.columns) == ["id", "x", "y"]
    np.testing.assert_array_equal(f["y"], [1.25, 2.25])


def test_delimiter_ties_are_broken_by_quotes_then_comma_tab_semicolon():
    # comma and semicolon both split every line into two fields
    assert read_csv(b"a,b;c\n1,2;3\n4,5;6\n").attrs["csv"]["delimiter"] == ","
    assert read_csv(b"a\tb;c\n1\t2;3\n").attrs["csv"]["delimiter"] == "\t"
    # the delimiter that touches the quotes wins
    f = read_csv(b'a;"b,c"\n1;"2,3"\n4;"5,6"\n')
    assert f.attrs["csv"]["delimiter"] == ";" and f["b,c"].tolist() == [2.3, 5.6]


def test_single_column_with_decimal_comma_is_not_split():
    f = read_csv(b"x\n1,5\n2,5\n3,25\n")
    assert list(f.columns) == ["x"]
    np.testing.assert_array_equal(f["x"], [1.5, 2.5, 3.25])


def test_decimal_comma_is_not_guessed_in_comma_separated_files():
    f = read_csv(b'id,v\na,"1,5"\nb,"2,5"\n')
    assert not pd.api.types.is_numeric_dtype(f["v"])
    with pytest.raises(DataError, match=r"'v' has cells that are not numbers: row 2: '1,5'"):
        prepare(f, feature_columns=["v"])


def test_quoted_numbers_and_quoted_separators():
    f = read_csv(b'name,x,y\n"Smith, J.","1.5","2"\n"Doe; A.","2.5","4"\n"Roe","3","5"\n')
    assert f["name"].tolist() == ["Smith, J.", "Doe; A.", "Roe"]
    np.testing.assert_array_equal(f["x"], [1.5, 2.5, 3.0])
    assert f["y"].dtype == np.int64
    f = read_csv('"Имя";"x"\n"а";"1,5"\n"б";"2,5"\n'.encode())
    np.testing.assert_array_equal(f["x"], [1.5, 2.5])


def test_spaces_around_cells_and_header_names_are_stripped():
    f = read_csv(b" id , x \n a , 1 \n b , 2.5 \n")
    assert list(f.columns) == ["id", "x"]
    assert f["id"].tolist() == ["a", "b"] and f["x"].tolist() == [1.0, 2.5]


def test_codes_with_leading_zeros_stay_text():
    f = read_csv(b"inn,x\n0274062111,1\n7707083893,2\n")
    assert f["inn"].tolist() == ["0274062111", "7707083893"]
    assert prepare(f, id_column="inn", scaling="none").ids.tolist() == ["0274062111", "7707083893"]


def test_duplicate_column_names_are_named():
    with pytest.raises(DataError, match=r"Duplicate column names: 'x', 'y'"):
        read_csv(b"x,y,z,x,y\n1,2,3,4,5\n")
    with pytest.raises(DataError, match=r"Duplicate column names: 'x'"):
        read_csv(b"x, x ,z\n1,2,3\n")  # equal after stripping


def test_ragged_row_names_the_row():
    with pytest.raises(DataError, match=r"Row 3 has 3 cells but the header has 2"):
        read_csv(b"a,b\n1,2\n1,2,3\n4,5\n6,7\n8,9\n")


def test_unclosed_quote_names_the_row():
    with pytest.raises(DataError, match=r"Row 3 opens a quoted cell .* never closed"):
        read_csv(b'a,b\n1,2\n"3,4\n5,6\n')


def test_separator_at_line_ends_does_not_make_a_column():
    f = read_csv(b"a;b;\n1;2;\n3;4;\n")
    assert list(f.columns) == ["a", "b"]
    f = read_csv(b"a,,c\n1,x,2\n3,y,4\n")
    assert list(f.columns) == ["a", "column 2", "c"]


def test_empty_lines_are_skipped_and_rows_keep_their_spreadsheet_numbers():
    f = read_csv(b"\na,b\n1,2\n\n3,x\n5,6\n")
    assert len(f) == 3
    assert prepare(f, feature_columns=["a"]).feature_names == ["a"]
    # b is mostly numbers: by default it is not left out silently but its bad cell is named
    with pytest.raises(DataError, match=r"'b' has cells that are not numbers: row 5: 'x'.*"
                                        r"choose the feature columns"):
        prepare(f)
    # the header is on row 2 of a spreadsheet, then rows 3, (4 empty), 5, 6
    with pytest.raises(DataError, match=r"'b' has cells that are not numbers: row 5: 'x'"):
        prepare(f, feature_columns=["a", "b"])
    with pytest.raises(DataError, match=r"Missing values in 'b' \(rows 5\)"):
        prepare(read_csv(b"a,b\n1,2\n\n\n3,\n5,6\n"))


def test_limits_rows_columns_bytes(tmp_path):
    data = TABLE.encode()
    with pytest.raises(DataError, match=r"more than 9 data rows.*setting max_rows"):
        read_csv(data, max_rows=9)
    assert len(read_csv(data, max_rows=10)) == 10
    with pytest.raises(DataError, match=r"4 columns, over the limit of 3 \(setting max_columns, environment variable CLUSTERMAP_MAX_COLUMNS\)"):
        read_csv(data, max_columns=3)
    with pytest.raises(DataError, match=r"over the limit of 100 bytes \(setting max_bytes, environment variable CLUSTERMAP_MAX_BYTES\)"):
        read_csv(data, max_bytes=100)
    with pytest.raises(DataError, match=r"setting max_bytes"):
        read_csv(write(tmp_path, "t.csv", data), max_bytes=100)
    with pytest.raises(DataError, match=r"setting max_bytes"):
        read_csv(io.BytesIO(data), max_bytes=100)
    with pytest.raises(DataError, match=r"setting max_rows"):
        read_csv(data, limits=Limits(max_rows=5))
    with pytest.raises(DataError, match=r"setting max_rows"):
        load_csv(data, max_rows=5)
    frame = read_csv(data)
    with pytest.raises(DataError, match=r"setting max_columns"):
        prepare(frame, limits=Limits(max_columns=2))
    assert DEFAULT_LIMITS == Limits(max_rows=200_000, max_columns=500, max_bytes=200 * 1024**2)
    with pytest.raises(ConfigError, match="max_rows: expected a positive whole number"):
        Limits(max_rows=0)


# ----------------------------------------------------------------------------------- prepare
def test_default_features_are_numeric_columns_but_id_and_label():
    f = read_csv(b"name,x,y,kind,z\na,1,2,p,0.5\nb,2,1,q,1.5\nc,4,0,p,9\n")
    ds = prepare(f, id_column="name", label_column="kind", scaling="none")
    assert ds.feature_names == ["x", "y", "z"]
    np.testing.assert_array_equal(ds.X, [[1, 2, 0.5], [2, 1, 1.5], [4, 0, 9]])
    assert ds.X.dtype == np.float64 and ds.scaler is None
    assert ds.ids.tolist() == ["a", "b", "c"]
    assert ds.labels.tolist() == [0, 1, 0] and ds.label_names == ["p", "q"]
    pd.testing.assert_frame_equal(ds.frame, f)
    assert isinstance(ds, Dataset) and ds.n_samples == 3 and ds.n_features == 3
    assert prepare(f, label_column="x", scaling="none").labels.tolist() == [0, 1, 2]


def test_non_numeric_cell_names_column_row_and_value():
    f = read_csv(b"id,a,b\n1,1.0,2\n2,2.0,oops\n3,3.5,4\n4,x1,5\n")
    with pytest.raises(DataError) as err:
        prepare(f, feature_columns=["a", "b"])
    msg = str(err.value)
    assert "'a' has cells that are not numbers: row 5: 'x1'" in msg
    assert "'b' has cells that are not numbers: row 3: 'oops'" in msg
    assert "row 1 is the header" in msg


def test_non_numeric_examples_are_capped():
    rows = "".join(f"{i},v{i}\n" for i in range(10))
    with pytest.raises(DataError, match=r"row 2: 'v0', row 3: 'v1', row 4: 'v2' \(10 cells in all\)"):
        prepare(read_csv(("a,b\n" + rows).encode()), feature_columns=["b"])


def test_text_only_table_asks_for_features():
    with pytest.raises(DataError, match=r"no numeric column.*'a', 'b'"):
        prepare(read_csv(b"a,b\nx,y\nz,w\n"))


MISSING = b"id;a;b\nA;1;10\nB;;20\nC;3;NA\nD;4;40\nE;5;50\n"


def test_missing_refuse_names_columns_and_rows():
    with pytest.raises(DataError, match=r"Missing values in 'a' \(rows 3\), 'b' \(rows 4\).*"
                                         r"missing='drop' or 'median'"):
        prepare(read_csv(MISSING), id_column="id")


def test_missing_drop_reports_the_rows():
    ds = prepare(read_csv(MISSING), id_column="id", missing="drop", scaling="none")
    assert ds.ids.tolist() == ["A", "D", "E"]
    np.testing.assert_array_equal(ds.X, [[1, 10], [4, 40], [5, 50]])
    assert ds.frame["id"].tolist() == ["A", "D", "E"]
    assert "Dropped 2 rows with missing values (rows 3, 4)." in ds.notes


def test_missing_median_imputes_and_reports():
    ds = prepare(read_csv(MISSING), id_column="id", missing="median", scaling="none")
    np.testing.assert_array_equal(ds.raw["a"], [1, 3.5, 3, 4, 5])  # median of 1, 3, 4, 5
    np.testing.assert_array_equal(ds.raw["b"], [10, 20, 30, 40, 50])  # median of 10, 20, 40, 50
    assert "Filled 1 missing value of 'a' with its median 3.5 (rows 3)." in ds.notes
    assert any("'b' with its median 30" in n for n in ds.notes)


def test_empty_feature_column_is_refused_under_every_policy():
    f = read_csv(b"a,b\n1,\n2,\n3,\n")
    for policy in ("refuse", "drop", "median"):
        with pytest.raises(DataError, match="Column 'b' has no values"):
            prepare(f, missing=policy)


def test_missing_labels():
    f = read_csv(b"x,y,k\n1,2,a\n2,3,\n3,1,b\n4,0,a\n")
    with pytest.raises(DataError, match=r"label column 'k' has empty cells \(rows 3\)"):
        prepare(f, label_column="k")
    ds = prepare(f, label_column="k", missing="drop")
    assert ds.labels.tolist() == [0, 1, 0] and ds.n_samples == 3


def test_constant_column_is_named():
    with pytest.raises(DataError, match=r"Constant column 'b' \(every row holds the same value, "
                                         r"e\.g\. 7\).*leave it out"):
        prepare(read_csv(b"a,b,c\n1,7,3\n2,7,1\n3,7,2\n"))
    with pytest.raises(DataError, match=r"Constant columns 'a', 'b'"):
        prepare(read_csv(b"a,b,c\n1,7,3\n1,7,1\n"))
    # constant only after dropping the rows with missing values
    with pytest.raises(DataError, match="Constant column 'a'"):
        prepare(read_csv(b"a,b\n1,2\n1,3\n5,\n"), missing="drop")


def test_infinite_values_are_refused():
    with pytest.raises(DataError, match=r"Infinite values in 'b' \(rows 3, e.g. 'inf'\)"):
        prepare(read_csv(b"a,b\n1,2\n2,inf\n3,4\n"))


def test_huge_values_are_refused():
    with pytest.raises(DataError, match=r"Values beyond ±1e\+100 in 'a' \(rows 3\)"):
        prepare(read_csv(b"a,b\n1,2\n1e300,3\n3,4\n"), scaling="none")


def test_fewer_rows_than_clusters():
    f = read_csv(b"a,b\n1,2\n2,1\n3,,\n4,3\n".replace(b",,", b","))
    assert prepare(f, missing="drop", n_clusters=3).n_samples == 3
    with pytest.raises(DataError, match=r"Only 3 rows left after dropping rows with missing "
                                         r"values, fewer than the 4 clusters"):
        prepare(f, missing="drop", n_clusters=4)
    with pytest.raises(DataError, match=r"only 1 data row.*at least 2"):
        prepare(read_csv(b"a,b\n1,2\n"))
    with pytest.raises(ConfigError, match="n_clusters"):
        prepare(f, n_clusters=0)


def test_unknown_columns_list_the_available_ones():
    f = read_csv(TABLE.encode())
    with pytest.raises(DataError, match=r"feature_columns: no column named 'q', 'r'\. Available "
                                         r"columns: 'id', 'a', 'b', 'c'"):
        prepare(f, feature_columns=["a", "q", "r"])
    with pytest.raises(DataError, match=r"id_column: no column named 'ID'\. Available"):
        prepare(f, id_column="ID")
    with pytest.raises(DataError, match=r"label_column: no column named 'kind'"):
        prepare(f, label_column="kind")


def test_column_role_conflicts_and_options():
    f = read_csv(TABLE.encode())
    with pytest.raises(DataError, match="both a feature and the ID column"):
        prepare(f, feature_columns=["a", "b"], id_column="a")
    with pytest.raises(DataError, match="given more than once"):
        prepare(f, feature_columns=["a", "a"])
    with pytest.raises(DataError, match="at least one feature"):
        prepare(f, feature_columns=[])
    with pytest.raises(ConfigError, match="missing: expected one of refuse, drop, median"):
        prepare(f, missing="zero")
    with pytest.raises(ConfigError, match="scaling: expected one of standard, minmax, none"):
        prepare(f, scaling="robust")
    assert prepare(f, feature_columns="a", id_column="id").feature_names == ["a"]


@pytest.mark.parametrize("scaling", ["standard", "minmax", "none"])
def test_scaling_choices(scaling):
    f = read_csv(TABLE.encode())
    ds = prepare(f, id_column="id", scaling=scaling)
    raw = f[["a", "b", "c"]].to_numpy(dtype=float)
    np.testing.assert_array_equal(ds.raw.to_numpy(), raw)
    assert ds.scaling == scaling
    if scaling == "standard":
        np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(ds.X.std(axis=0), 1)
        np.testing.assert_allclose(ds.scaler.inverse_transform(ds.X), raw)
    elif scaling == "minmax":
        np.testing.assert_allclose(ds.X.min(axis=0), 0)
        np.testing.assert_allclose(ds.X.max(axis=0), 1)
    else:
        np.testing.assert_array_equal(ds.X, raw)
        assert ds.scaler is None


def test_duplicate_ids_give_a_note():
    ds = prepare(read_csv(b"id,x\na,1\nb,2\na,3\n"), id_column="id")
    assert any("repeats values" in n and "'a'" in n for n in ds.notes)


def test_prepare_on_a_plain_dataframe():
    frame = pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": [True, False, True], "s": ["u", "v", "w"]})
    ds = prepare(frame, scaling="none")
    assert ds.feature_names == ["x", "y"]
    np.testing.assert_array_equal(ds.X, [[1, 1], [2, 0], [4, 1]])
    dup = pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"])
    with pytest.raises(DataError, match="Duplicate column names: 'a'"):
        prepare(dup)
    with pytest.raises(DataError, match="Expected a table"):
        prepare(np.zeros((3, 2)))


def test_load_csv_is_read_then_prepare(tmp_path):
    path = write(tmp_path, "t.csv", TABLE)
    ds = load_csv(path, id_column="id", scaling="minmax")
    ref = prepare(read_csv(path), id_column="id", scaling="minmax")
    np.testing.assert_array_equal(ds.X, ref.X)
    assert ds.ids.tolist() == ref.ids.tolist()


def test_from_arrays():
    X = np.arange(12.0).reshape(6, 2) ** 1.5
    ds = from_arrays(X, np.array([0, 1, 2, 0, 1, 2]))
    np.testing.assert_array_equal(ds.X, X)
    assert ds.feature_names == ["x1", "x2"] and ds.scaling == "none" and ds.ids is None
    assert ds.labels.tolist() == [0, 1, 2, 0, 1, 2] and ds.label_names is None
    np.testing.assert_array_equal(ds.raw.to_numpy(), X)
    assert list(ds.frame.columns) == ["x1", "x2", "label"]
    ds = from_arrays(X, ["b", "a", "b", "a", "b", "a"], feature_names=["u", "v"])
    assert ds.labels.tolist() == [1, 0, 1, 0, 1, 0] and ds.label_names == ["a", "b"]
    with pytest.raises(DataError, match="non-finite"):
        from_arrays([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(DataError, match="at least 2 objects"):
        from_arrays([[1.0, 2.0]])
    with pytest.raises(DataError, match="2 names for 3 features"):
        from_arrays(np.zeros((3, 3)), feature_names=["a", "b"])
    with pytest.raises(DataError, match="expected 6 labels"):
        from_arrays(X, [0, 1])


# ----------------------------------------------------------------------------------- property
NUMBERS = st.one_of(
    st.floats(-1e6, 1e6).map(lambda v: f"{v:.3f}"),
    st.floats(-1e6, 1e6).map(lambda v: f"{v:.3f}".replace(".", ",")),
    st.integers(-10**6, 10**6).map(str),
)
ODD = st.one_of(
    st.sampled_from(["", " ", "NA", "x", "abc", "inf", "-", "1e309", "007", '"', '"1,5"', "Ж",
                     "1 234,5", "1e-3"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(alphabet="0123456789.,;\t \"-eE\nabЖ\r", max_size=8),
)


@st.composite
def cells(draw):
    return draw(NUMBERS if draw(st.integers(0, 9)) < 8 else ODD)


@st.composite
def csv_texts(draw):
    sep = draw(st.sampled_from([",", ";", "\t"]))
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(0, 8))
    names = st.sampled_from(["a", "b", "c", "Имя", "", "x y", "a", "d", "e"])
    header = draw(st.lists(names, min_size=n_cols, max_size=n_cols,
                           unique=draw(st.integers(0, 3)) > 0))
    rows = [sep.join(header)] + [sep.join(draw(st.lists(cells(), min_size=n_cols,
                                                         max_size=n_cols)))
                                 for _ in range(n_rows)]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]))
    return "\n".join(rows).encode(encoding, errors="replace")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts(), st.sampled_from(["refuse", "drop", "median"]),
       st.sampled_from(["standard", "minmax", "none"]))
def test_any_small_csv_gives_a_dataset_or_a_data_error(data, missing, scaling):
    try:
        frame = read_csv(data)
        ds = prepare(frame, missing=missing, scaling=scaling)
    except DataError:
        return
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2
    assert np.all(np.isfinite(ds.X))
    assert ds.X.shape == (len(ds.frame), len(ds.feature_names)) == ds.raw.shape
    assert ds.X.shape[0] >= 2


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_frame_or_a_data_error(data):
    try:
        frame = read_csv(data)
    except DataError:
        return
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1 and frame.shape[1] >= 1


def test_the_public_names_stay_importable_from_tables():
    """The steps live in their own modules; clustering.tables keeps every public name."""
    from clustering import csv_reader, prepare_steps, tables

    for name in tables.__all__:
        assert hasattr(tables, name), name
    assert tables.DELIMITERS is csv_reader.DELIMITERS
    assert tables.Dataset.__module__ == "clustering.tables"
    assert prepare_steps.spreadsheet_rows(pd.DataFrame({"a": [1, 2]})).tolist() == [2, 3]
