"""Malformed and hostile CSV files: each gets its clear, specific message (or is read as the module
notes of clustering/tables.py say) and none crashes; the loader is fuzzed with hypothesis."""
import io
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustering import csv_reader, tables
from clustering.errors import ClusteringError, ConfigError, DataError
from clustering.tables import LIMIT_ENV, Limits, estimate_memory, load_csv, prepare, read_csv

RNG = np.random.default_rng(7)
WIDE = 10_000

# (case, file bytes, load_csv options, expected): expected is ("error", regex the DataError's
# message must contain) or ("ok", {"features": [...], "X": first row of the unscaled features,
# "note": regex one note must contain}).
CASES = [
    ("empty", b"", {}, ("error", r"The file is empty")),
    ("blank lines only", b"\r\n \n\t\n", {}, ("error", r"The file is empty")),
    ("header only", b"a,b,c\n", {}, ("error", r"header line but no data rows: add one row")),
    ("one row", b"a,b\n1,2\n", {}, ("error", r"only 1 data row: clustering needs at least 2")),
    ("binary junk", bytes(RNG.integers(0, 256, 3000, dtype=np.uint8)), {},
     ("error", r"not a text CSV.*save the table as CSV")),
    ("PNG picture", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), {},
     ("error", r"not a text CSV")),
    ("xlsx workbook", b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), {},
     ("error", r"Excel workbook \(\.xlsx\) but cannot be opened.*damaged or incomplete")),
    ("wrong encoding: latin-1 read as cp1252",
     "name,x,y\nCafé,1,2\nÉcole,3,5\nNaïve,4,1\n".encode("latin-1"), {"id_column": "name"},
     ("ok", {"features": ["x", "y"], "X": [1, 2], "note": r"encoding cp1252", "ids": "Café"})),
    ("wrong encoding: cp1251 Russian export",
     "имя;доход;налог\nООО Ромашка;1,5;2\nАО Лютик;2,5;3\nИП Петров;3;1,25\n".encode("cp1251"),
     {"id_column": "имя"},
     ("ok", {"features": ["доход", "налог"], "X": [1.5, 2],
             "note": r"encoding cp1251, semicolon separated, decimal comma",
             "ids": "ООО Ромашка"})),
    ("wrong encoding: UTF-16 without a byte-order mark", "a\tb\n1\t2\n3\t5\n".encode("utf-16-le"),
     {}, ("ok", {"features": ["a", "b"], "X": [1, 2], "note": r"encoding utf-16-le"})),
    ("wrong encoding: UTF-8 with a cp1251 line pasted in",
     "имя,x\nёлка,1\nель,2\n".encode("utf-8") + "дуб,3\n".encode("cp1251"), {},
     ("error", r"mixes encodings: it is UTF-8 text but row 4 holds bytes that are not UTF-8.*"
               r"Save the table again as UTF-8")),
    ("mixed delimiters: semicolons in a comma file", b"a,b,c\n1,2,3\n4;5,6\n7,8,9\n", {},
     ("error", r"Column 'a' has cells that are not numbers: row 3: '4;5' \(they hold a "
               r"semicolon: does the file mix separators")),
    ("mixed delimiters: a comma line in a semicolon file", b"a;b;c\n1;2;3\n4,5,6\n7;8;9\n", {},
     ("error", r"row 3: '4,5,6' \(they hold a comma: does the file mix separators")),
    ("decimal commas mixed with points", b"a;b\n1,5;2\n2,25;3\n1.234;4\n", {},
     ("error", r"Column 'a' mixes decimal commas \(row 2: '1,5'\) and decimal points \(row 4: "
               r"'1.234'\).*same decimal separator")),
    ("decimal comma in a comma separated file", b'a,b\n"1,5",2\n"2,5",3\n4,5\n', {},
     ("error", r"Column 'a' has cells that are not numbers: row 2: '1,5'.*a decimal comma in a "
               r"comma separated file")),
    ("thousands: commas with a decimal point", b'a,b\n"1,234.5",2\n"12,345,678",3\n7,1\n', {},
     ("ok", {"features": ["a", "b"], "X": [1234.5, 2]})),
    ("thousands: points with a decimal comma", b"a;b\n1.234,5;2\n12.345.678;3\n7;1\n", {},
     ("ok", {"features": ["a", "b"], "X": [1234.5, 2], "note": r"decimal comma"})),
    ("thousands: spaces", "a;b\n1 234,5;2\n12\u00a0345\u00a0678;3\n7;1\n".encode(), {},
     ("ok", {"features": ["a", "b"], "X": [1234.5, 2]})),
    ("quoted numbers", b'a,b\n"1.5","2"\n" 2.5 ","3"\n"-3e2","5"\n', {},
     ("ok", {"features": ["a", "b"], "X": [1.5, 2]})),
    ("NaN cells under 'refuse'", b"a,b\n1,2\nNaN,3\n3,4\n", {},
     ("error", r"Missing values in 'a' \(rows 3\)\. Fill them, or choose to drop")),
    ("NaN cells under 'median'", b"a,b\n1,2\nNaN,3\n3,4\n", {"missing": "median"},
     ("ok", {"features": ["a", "b"], "X": [1, 2], "note": r"Filled 1 missing value of 'a' with "
                                                          r"its median 2 \(rows 3\)"})),
    ("blank cells", b"a,b\n1,2\n,3\n3,\n", {},
     ("error", r"Missing values in 'a' \(rows 3\), 'b' \(rows 4\)")),
    ("inf cell", b"a,b\n1,2\ninf,3\n3,4\n", {},
     ("error", r"Infinite values in 'a' \(rows 3, e\.g\. 'inf'\): replace them by numbers")),
    ("-Infinity cell", b"a,b\n1,2\n3,-Infinity\n3,4\n", {},
     ("error", r"Infinite values in 'b' \(rows 3")),
    ("number beyond float range", b"a,b\n1,2\n1e999,3\n3,4\n", {},
     ("error", r"Infinite values in 'a' \(rows 3")),
    ("huge number", b"a,b\n1,2\n1e200,3\n3,4\n", {},
     ("error", r"Values beyond ±1e\+100 in 'a' \(rows 3\)")),
    ("text in a numeric column", b"a,b\n1,2\n3,abc\n4,5\n6,7\n", {},
     ("error", r"Column 'b' has cells that are not numbers: row 3: 'abc'.*choose the feature "
               r"columns")),
    ("text in a chosen feature", b"a,b\n1,x\n3,y\n4,z\n", {"feature_columns": ["a", "b"]},
     ("error", r"Column 'b' has cells that are not numbers: row 2: 'x', row 3: 'y', row 4: 'z'")),
    ("duplicate column names", b"a,b,a\n1,2,3\n4,5,6\n", {},
     ("error", r"Duplicate column names: 'a'\. Give every column a different name")),
    ("duplicate names differing by spaces", b"a, b ,b\n1,2,3\n4,5,6\n", {},
     ("error", r"Duplicate column names: 'b'")),
    ("10 000 columns", (",".join(f"c{i}" for i in range(WIDE)) + "\n"
                        + ",".join("1" for _ in range(WIDE)) + "\n").encode(), {},
     ("error", r"10000 columns, over the limit of 500 \(setting max_columns, environment variable CLUSTERMAP_MAX_COLUMNS\)")),
    ("more rows than the limit", b"a,b\n" + b"1,2\n3,4\n" * 6, {"max_rows": 10},
     ("error", r"more than 10 data rows, the limit \(setting max_rows, environment variable CLUSTERMAP_MAX_ROWS\)")),
    ("file over the upload size", b"a,b\n" + b"1,2\n" * 300, {"max_bytes": 1000},
     ("error", r"The file is 1\.2 KB, over the limit of 1000 bytes \(setting max_bytes, environment variable CLUSTERMAP_MAX_BYTES\)")),
    ("over the memory estimate", b"a,b\n" + b"1,2\n" * 300, {"max_memory": 10_000},
     ("error", r"about 77\.6 KB of memory \(301 lines x 2 columns\), over the limit of 9\.8 KB "
               r"\(setting max_memory, environment variable CLUSTERMAP_MAX_MEMORY\)")),
    ("HTML and Markdown column names",
     b"<script>alert(1)</script>,**bold**,[x](javascript:alert(1))\n1,2,3\n4,5,7\n6,1,2\n", {},
     ("ok", {"features": ["<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))"],
             "X": [1, 2, 3]})),
    ("formula cells in the ID column",
     b"id,x,y\n=1+2,1,2\n+cmd|'/C calc'!A0,2,3\n-2+3,3,5\n@SUM(A1:A9),4,1\n", {"id_column": "id"},
     ("ok", {"features": ["x", "y"], "X": [1, 2], "ids": "=1+2"})),
    ("formula cells in a feature", b"x,y\n1,2\n=1+2,3\n4,5\n", {},
     ("error", r"Column 'x' has cells that are not numbers: row 3: '=1\+2'")),
    ("ragged row", b"a,b\n1,2\n3,4,5\n6,7\n", {},
     ("error", r"Row 3 has 3 cells but the header has 2")),
    ("unclosed quote", b'a,b\n1,2\n"3,4\n5,6\n', {},
     ("error", r"Row 3 opens a quoted cell \(\"\) that is never closed")),
    ("giant single cell", b"a,b\n" + b"9" * 300_000 + b",1\n2,3\n", {},
     ("error", r"Column 'a' has cells that are not numbers: row 2: '9{39}…'\. Correct")),
]


@pytest.mark.parametrize("name,data,options,expected", CASES, ids=[c[0] for c in CASES])
def test_hostile_csv(name, data, options, expected):
    kind, what = expected
    if kind == "error":
        with pytest.raises(DataError, match=what):
            load_csv(data, **options)
        return
    ds = load_csv(data, scaling="none", **options)
    assert ds.feature_names == what["features"]
    np.testing.assert_allclose(ds.X[0], what["X"])
    assert ds.X.dtype == np.float64 and np.all(np.isfinite(ds.X))
    if "note" in what:
        assert any(re.search(what["note"], n) for n in ds.notes), ds.notes
    if "ids" in what:
        assert ds.ids[0] == what["ids"]


def test_html_names_and_formula_cells_are_kept_verbatim_as_text():
    frame = read_csv(b"<b>x</b>,id\n1,=HYPERLINK(\"http://e\")\n2,@x\n")
    assert list(frame.columns) == ["<b>x</b>", "id"]
    assert frame["id"].tolist() == ['=HYPERLINK("http://e")', "@x"]


def test_size_limits_are_checked_before_reading_in_full(tmp_path):
    class Upload(io.BytesIO):  # like Streamlit's UploadedFile: its size is known up front
        size = 10**9

        def getvalue(self):
            raise AssertionError("read in full despite its size")

    with pytest.raises(DataError, match=r"953\.7 MB, over the limit of 1\.0 KB"):
        read_csv(Upload(b""), max_bytes=1024)

    class Stream(io.RawIOBase):  # an endless stream is read up to the limit only
        def readable(self):
            return True

        def read(self, n=-1):
            assert n != -1, "read without a bound"
            return b"1" * n

    with pytest.raises(DataError, match=r"more than 1\.0 KB, over the limit"):
        read_csv(Stream(), max_bytes=1024)


def test_wide_header_is_refused_before_the_cells_are_parsed(monkeypatch):
    def no_parse(*args, **kwargs):
        raise AssertionError("parsed despite the limits")

    monkeypatch.setattr(tables.pd, "read_csv", no_parse)
    wide = (",".join(f"c{i}" for i in range(WIDE)) + "\n" + ",".join(["1"] * WIDE)).encode()
    with pytest.raises(DataError, match="setting max_columns"):
        read_csv(wide)
    with pytest.raises(DataError, match="setting max_memory"):
        read_csv(b"a,b\n" + b"1,2\n" * 1000, max_memory=10_000)


def test_delimiter_detection_reads_a_bounded_sample(monkeypatch):
    seen = []
    field_counts = csv_reader.field_counts

    def spy(sample, delimiter):
        seen.append(len(sample))
        return field_counts(sample, delimiter)

    monkeypatch.setattr(csv_reader, "field_counts", spy)
    big = b"a;b\n" + b"1,5;2\n" * 100_000
    assert read_csv(big).attrs["csv"]["delimiter"] == ";"
    assert seen and max(seen) <= csv_reader.SAMPLE_CHARS


@pytest.mark.parametrize("unit", ['"\n', ',"', ',"x\n', '", ', 'a,b;c\t"\n'])
def test_stray_quotes_are_sniffed_in_linear_time(unit):
    """csv.Sniffer's regular expressions took minutes on such a sample; the tie-break counts."""
    text = "a,b\n" + unit * 50_000
    assert csv_reader.sniff_delimiter(text) in tables.DELIMITERS
    try:
        read_csv(text.encode())
    except DataError:
        pass  # read or refused with a message, and quickly


def test_memory_estimate():
    assert estimate_memory(1000, 10, 4) == 2 * 1000 + 128 * 40
    # the default limits admit the largest upload the app takes (50 MB of a 20-column table)
    rows = 50 * 1024**2 // 200
    assert estimate_memory(50 * 1024**2, rows, 20) < Limits().max_memory


def test_limits_from_environment():
    env = {"CLUSTERMAP_MAX_ROWS": "1000", "CLUSTERMAP_MAX_COLUMNS": "20",
           "CLUSTERMAP_MAX_BYTES": "5M", "CLUSTERMAP_MAX_MEMORY": "2GiB"}
    assert Limits.from_env(env) == Limits(max_rows=1000, max_columns=20, max_bytes=5 * 1024**2,
                                          max_memory=2 * 1024**3)
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"CLUSTERMAP_MAX_BYTES": " 512k "}).max_bytes == 512 * 1024
    assert set(LIMIT_ENV.values()) == set(env)
    for var, bad in [("CLUSTERMAP_MAX_ROWS", "10k"), ("CLUSTERMAP_MAX_ROWS", "-5"),
                     ("CLUSTERMAP_MAX_COLUMNS", "many"), ("CLUSTERMAP_MAX_BYTES", "0"),
                     ("CLUSTERMAP_MAX_MEMORY", "1.5G")]:
        with pytest.raises(ConfigError, match=var):
            Limits.from_env({var: bad})


def test_default_limits_follow_the_environment_at_import(monkeypatch):
    import importlib
    import subprocess
    import sys

    code = ("from clustering import tables; d = tables.DEFAULT_LIMITS; "
            "print(d.max_rows, d.max_columns, d.max_bytes, d.max_memory)")
    env = {"CLUSTERMAP_MAX_ROWS": "123", "CLUSTERMAP_MAX_BYTES": "1M", "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=importlib.import_module("clustering").__path__[0] + "/..",
                         timeout=120)
    assert out.stdout.split() == ["123", "500", str(1024**2), str(1024**3)], out.stderr


# ----------------------------------------------------------------------------------- fuzzing
def check_dataset(ds):
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2 and np.all(np.isfinite(ds.X))
    assert ds.X.shape == (len(ds.frame), len(ds.feature_names)) == ds.raw.shape
    assert ds.X.shape[0] >= 2 and ds.X.shape[1] >= 1


def load_or_refuse(data, **options):
    """load_csv's outcome: a valid Dataset, or None after one of the loader's own errors."""
    try:
        ds = load_csv(data, **options)
    except ClusteringError as err:
        assert str(err) and "Traceback" not in str(err)
        return None
    check_dataset(ds)
    return ds


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["refuse", "drop", "median"]))
def test_random_bytes_give_a_dataset_or_a_loader_error(data, missing):
    load_or_refuse(data, missing=missing)


VALID = ("id;a;b;c\nE1;1,5;2;-3\nE2;2,25;3;4\nE3;-0,5;1 234;5\nE4;4;5;6,5\n"
         "E5;3,5;;7\nE6;1;2;3\n")
MUTATIONS = [",", ";", "\t", '"', "\n", "\r", " ", ".", "-", "e", "inf", "NaN", "=", "\x00",
             "\x1a", "\ufeff", "Ж", "<b>", "1e999", "\xa0", "'", "\\"]


@st.composite
def near_valid(draw):
    """A valid semicolon table with a few characters inserted, deleted or replaced, encoded in
    one of the encodings the loader meets."""
    text = draw(st.sampled_from([VALID, VALID.replace(";", ",").replace(",5", ".5")
                                 .replace(",25", ".25").replace("1 234", "1234"),
                                 VALID.replace(";", "\t")]))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(MUTATIONS))
        if op == "insert":
            text = text[:pos] + piece + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 4)):]
        else:
            text = text[:pos] + piece + text[pos + 1:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16"]))
    return text.encode(encoding, errors="replace")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid(), st.sampled_from(["refuse", "drop", "median"]),
       st.sampled_from(["standard", "minmax", "none"]), st.booleans())
def test_near_valid_csv_gives_a_dataset_or_a_loader_error(data, missing, scaling, with_id):
    options = {"missing": missing, "scaling": scaling}
    try:
        frame = read_csv(data)
    except ClusteringError:
        return
    if with_id and "id" in frame.columns:
        options["id_column"] = "id"
    try:
        ds = prepare(frame, **options)
    except ClusteringError:
        return
    check_dataset(ds)


def test_fuzz_sanity_the_unmutated_tables_load():
    for text in (VALID, VALID.replace(";", "\t")):
        ds = load_csv(text.encode(), id_column="id", missing="median")
        assert ds.feature_names == ["a", "b", "c"] and ds.n_samples == 6
        assert ds.raw["b"].tolist()[2] == 1234.0
    assert pd.isna(read_csv(VALID.encode())["b"][4])
