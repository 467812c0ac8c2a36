"""Downloads "in the same format as my file": a semicolon / decimal comma / cp1251 table gets its
results that way, a UTF-8 table, a workbook and generated data UTF-8 with a byte-order mark; the
labels carry the input's columns, cluster names, probabilities, map cells and the ensemble's
flags; the codebook comes in the input's units and standardised; formulas stay neutralised."""
import codecs
import io

import numpy as np
import pandas as pd
import pytest

from clustering import export, tables
from clustering.export import CsvFormat, csv_format
from ui import downloads, runs

CSV_SPEC = {"source": "csv", "sha256": "0" * 64, "file_name": "t.csv", "aggregations": [],
            "prepare": {}}
SECTORS = ["торговля", "услуги"]


def ru_table(n=24, *, hostile=False) -> bytes:
    """A Russian-locale export: cp1251, semicolon separated, decimal comma; two groups."""
    rows = ["код;отрасль;выручка;прибыль;группа"]
    for i in range(n):
        group = i % 2
        ident = "=cmd|' /C calc'!A0" if hostile and i == 0 else f"П{i:03d}"
        revenue = f"{100.5 + 900 * group + i * 0.25:.2f}".replace(".", ",")
        profit = f"{-3.75 + 40 * group + (i % 5) * 0.5:.2f}".replace(".", ",")
        rows.append(f"{ident};{SECTORS[group]};{revenue};{profit};"
                    f"{'крупные' if group else 'малые'}")
    return ("\n".join(rows) + "\n").encode("cp1251")


def source_dataset(raw: bytes, **prep) -> tables.Dataset:
    """The data set of ``raw`` with its table's reading notes on ``frame`` (kept by
    tables.prepare once it does; see test_prepare_keeps_the_reading_notes)."""
    frame = tables.read_csv(raw)
    ds = tables.prepare(frame, **prep)
    if "csv" not in ds.frame.attrs:
        ds.frame.attrs["csv"] = frame.attrs["csv"]
    return ds


@pytest.fixture(scope="module")
def ru():
    ds = source_dataset(ru_table(), id_column="код", label_column="группа",
                        feature_columns=["выручка", "прибыль"])
    return ds, runs.train("gmm", {"n_clusters": 2}, ds, CSV_SPEC)


def read_ru(data: bytes, **kwargs) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="cp1251", **kwargs)


# ----------------------------------------------------------------------------------- the rule
def test_the_format_rule_follows_the_table_as_read():
    def fmt(raw: bytes) -> CsvFormat:
        return csv_format(tables.read_csv(raw))

    assert fmt(ru_table()) == CsvFormat("cp1251", ";", ",")
    assert fmt(b"a,b\n1.5,2\n3,4\n") == CsvFormat("utf-8-sig", ",", ".")
    assert fmt(codecs.BOM_UTF8 + "a;b\n1,5;2\n3;4\n".encode()) == CsvFormat("utf-8-sig", ";", ",")
    german = "name\tx\nMüller\t2\nGröße\t4\n".encode("cp1252")
    assert fmt(german) == CsvFormat("cp1252", "\t", ".")
    book = io.BytesIO()
    pd.DataFrame({"a": [1.5, 2.0], "b": [3, 4]}).to_excel(book, index=False)
    assert fmt(book.getvalue()) == CsvFormat()  # a workbook: UTF-8 with BOM, comma
    assert csv_format(None) == csv_format(tables.from_arrays(np.eye(3)).frame) == CsvFormat()
    attrs = tables.read_csv(ru_table()).attrs
    assert csv_format(attrs) == csv_format(attrs["csv"]) == CsvFormat("cp1251", ";", ",")
    assert CsvFormat("cp1251", ";", ",").describe() == "cp1251, semicolon separated, decimal comma"


def test_cells_the_code_page_cannot_hold_fall_back_to_utf8_with_bom():
    frame = pd.DataFrame({"id": ["Ж", "漢字"], "x": [1.5, -2.25]})
    data = export.csv_bytes(frame, fmt=CsvFormat("cp1251", ";", ","))
    assert data.startswith(codecs.BOM_UTF8)  # nothing lost, the delimiter and decimal kept
    back = pd.read_csv(io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig")
    assert back["id"].tolist() == ["Ж", "漢字"] and back["x"].tolist() == [1.5, -2.25]


def test_the_store_keeps_the_reading_notes():
    """The format of the downloads is read from ``dataset.frame.attrs["csv"]``; it survives the
    workspace store's codec."""
    from ui.codec_records import decode_dataset, encode_dataset
    from ui.result_files import source_format

    ds = source_dataset(ru_table(), id_column="код")
    back = decode_dataset(*encode_dataset(ds))
    assert source_format(back) == CsvFormat("cp1251", ";", ",")


def test_prepare_itself_keeps_the_reading_notes():
    ds = tables.load_csv(ru_table(), id_column="код")
    assert csv_format(ds.frame) == CsvFormat("cp1251", ";", ",")


# ----------------------------------------------------------------------------------- labels
def test_labels_of_a_cp1251_semicolon_table_are_written_back_that_way(ru):
    ds, res = ru
    back = read_ru(runs.labels_csv(res, ds))
    assert back["id"].tolist() == [str(i) for i in ds.ids]
    assert back["id"].iloc[0] == "П000"
    np.testing.assert_array_equal(back["cluster"], res.labels)
    np.testing.assert_allclose(back[["p_0", "p_1"]].to_numpy(), res.proba, rtol=0, atol=1e-12)
    assert set(back["true_label"]) == {"малые", "крупные"}
    assert set(back["cluster_name"]) == {"малые", "крупные"}  # the two groups, recovered
    assert (back["cluster_name"] == back["true_label"]).all()
    # the input's columns as in the file: names, sectors, numbers in the file's units
    assert back["отрасль"].tolist() == ds.frame["отрасль"].tolist()
    np.testing.assert_allclose(back["выручка"], ds.frame["выручка"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(back["прибыль"], ds.raw["прибыль"], rtol=0, atol=1e-9)
    assert "код" not in back.columns or back["код"].tolist() == back["id"].tolist()
    lines = runs.labels_csv(res, ds).decode("cp1251").splitlines()
    assert lines[0].startswith("id;cluster;cluster_name;p_0;p_1;p_max;true_label;код;отрасль")
    assert all("," in line.split(";")[5] for line in lines[1:])  # p_max with a decimal comma


def test_every_csv_download_of_the_result_follows_the_format(ru):
    ds, res = ru
    files = {name: data for _, data, name, mime in downloads.result_downloads(res, ds)
             if mime == downloads.CSV and data is not None}
    assert {"gmm_labels.csv", "gmm_metrics.csv"} <= set(files)
    for name, data in files.items():
        # the metrics name Θ and Σ, which cp1251 cannot hold: that file falls back to UTF-8
        # with a BOM, its semicolons and decimal commas kept
        fallback = name == "gmm_metrics.csv"
        assert data.startswith(codecs.BOM_UTF8) == fallback, name
        frame = pd.read_csv(io.BytesIO(data), sep=";", decimal=",",
                            encoding="utf-8-sig" if fallback else "cp1251")
        assert frame.shape[1] >= 3, name  # split at the semicolons
    helps = {item[2]: downloads.download_help(item, ds)
             for item in downloads.result_downloads(res, ds)}
    assert helps["gmm_labels.csv"] == ("Written as cp1251, semicolon separated, decimal comma, "
                                       "as the data's table.")
    assert helps["gmm_metrics.csv"].startswith("Written as UTF-8 with BOM, semicolon separated, "
                                               "decimal comma: the table's cp1251 cannot hold")
    assert helps["gmm_labels.xlsx"] is None
    metrics = pd.read_csv(io.BytesIO(files["gmm_metrics.csv"]), sep=";", decimal=",",
                          encoding="utf-8-sig")
    assert list(metrics.columns) == ["figure", "value", "meaning"]
    assert metrics["value"].dtype == float  # decimal commas read back as numbers
    assert "Θ (22) = Q1 (26)" in set(metrics["figure"])


def test_a_utf8_source_gives_utf8_with_a_byte_order_mark():
    raw = "name,sector,x,y\n" + "".join(f"e{i},сектор {i % 2},{i % 2 * 5 + i * 0.1},{i % 3}\n"
                                        for i in range(12))
    ds = source_dataset(raw.encode("utf-8"), id_column="name")
    res = runs.train("kmeans", {"n_clusters": 2}, ds, CSV_SPEC)
    data = runs.labels_csv(res, ds)
    assert data.startswith(codecs.BOM_UTF8 + b"id,cluster")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["sector"].iloc[1] == "сектор 1" and back["id"].iloc[0] == "e0"
    assert back["name"].tolist() == back["id"].tolist()  # the input's id column, as in the file
    assert downloads.metrics_csv(res, ds).startswith(codecs.BOM_UTF8)


def test_excel_labels_hold_the_same_columns_as_the_csv(ru):
    ds, res = ru
    from_csv = read_ru(runs.labels_csv(res, ds), dtype={"id": str})
    from_xlsx = pd.read_excel(io.BytesIO(downloads.labels_xlsx(res, ds)), engine="openpyxl",
                              dtype={"id": str})
    assert list(from_xlsx.columns) == list(from_csv.columns)
    pd.testing.assert_frame_equal(from_xlsx, from_csv, check_dtype=False, atol=1e-12)


def test_added_columns_do_not_clash_with_the_tables():
    raw = b"id,cluster,x,y\na,9,1,2\nb,9,1.5,2.5\nc,7,8,9\nd,7,8.5,9.5\n"
    ds = source_dataset(raw, id_column="id", feature_columns=["x", "y"])
    res = runs.MethodResult("kmeans", None, np.array([0, 0, 1, 1]), None, None, {}, 0.0)
    back = pd.read_csv(io.BytesIO(runs.labels_csv(res, ds)), encoding="utf-8-sig")
    # the id column named "id" is written once; the table's own "cluster" keeps its name
    assert list(back.columns) == ["id", "cluster" + export.CLASH_SUFFIX, "cluster", "x", "y"]
    assert back["cluster"].tolist() == [9, 9, 7, 7]
    assert back["cluster (result)"].tolist() == [0, 0, 1, 1]


def test_hostile_ids_are_neutralised_in_every_format():
    ds = source_dataset(ru_table(hostile=True), id_column="код", label_column="группа")
    res = runs.train("kmeans", {"n_clusters": 2}, ds, CSV_SPEC)
    guarded = "'=cmd|' /C calc'!A0"
    assert read_ru(runs.labels_csv(res, ds))["id"].iloc[0] == guarded
    utf8 = export.csv_bytes(runs.labels_frame(res, ds))
    assert pd.read_csv(io.BytesIO(utf8))["id"].iloc[0] == guarded
    xlsx = pd.read_excel(io.BytesIO(downloads.labels_xlsx(res, ds)), engine="openpyxl")
    assert xlsx["id"].iloc[0] == guarded and xlsx["код"].iloc[0] == guarded
    # the metrics, plain text, have no guarding apostrophe in any cell
    metrics = pd.read_csv(io.BytesIO(downloads.metrics_csv(res, ds)), sep=";", decimal=",",
                          encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(metrics) >= 5 and metrics["meaning"].str.len().gt(0).all()
    cells = [metrics.columns.tolist(), *metrics.to_numpy().tolist()]
    assert not [c for row in cells for c in row if c.startswith("'")]


def test_no_metric_note_starts_like_a_formula():
    for name, hint in export.METRIC_NOTES.values():
        assert not name.startswith(export.FORMULA_PREFIXES)
        assert not hint.startswith(export.FORMULA_PREFIXES)
    frame = export.metrics_frame({"silhouette": -0.25, "ari": 0.5})
    pd.testing.assert_frame_equal(export.neutralise_formulas(frame), frame, check_dtype=False)
    assert frame["value"].tolist() == [-0.25, 0.5]


# ----------------------------------------------------------------------------------- maps
@pytest.fixture(scope="module")
def som_result():
    ds = source_dataset(ru_table(40), id_column="код", label_column="группа",
                        feature_columns=["выручка", "прибыль"])
    res = runs.train("som", {"rows": 3, "cols": 4, "n_steps": 40, "n_clusters": 2,
                             "mode": "batch"}, ds, CSV_SPEC)
    return ds, res


def test_som_labels_give_each_objects_cell(som_result):
    ds, res = som_result
    som = res.estimator
    back = read_ru(runs.labels_csv(res, ds))
    np.testing.assert_array_equal(back["som_unit"], som.bmu_)
    np.testing.assert_array_equal(back["som_row"], np.asarray(som.bmu_) // som.cols_)
    np.testing.assert_array_equal(back["som_col"], np.asarray(som.bmu_) % som.cols_)
    book = read_ru(runs.codebook_csv(res, ds))
    # an object's cell joins the codebook on (som_row, som_col) = (row, col)
    hits = back.groupby(["som_row", "som_col"]).size()
    for (r, c), n in hits.items():
        assert book.loc[(book["row"] == r) & (book["col"] == c), "hits"].item() == n


def test_codebook_in_the_inputs_units_and_standardised(som_result):
    ds, res = som_result
    W = np.asarray(res.estimator.codebook_).reshape(-1, 2)
    book = read_ru(runs.codebook_csv(res, ds))
    assert list(book.columns) == ["unit", "row", "col", "выручка", "прибыль",
                                  "выручка (standardised)", "прибыль (standardised)", "hits"]
    np.testing.assert_allclose(book[["выручка", "прибыль"]], ds.scaler.inverse_transform(W),
                               rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(book[["выручка (standardised)", "прибыль (standardised)"]], W,
                               rtol=1e-12, atol=1e-12)
    # in the input's units the map's units lie within the data's range
    lo, hi = ds.raw.min(), ds.raw.max()
    assert book["выручка"].between(lo["выручка"] - 1, hi["выручка"] + 1).all()


def test_ensemble_labels_carry_posterior_flag_reason_and_the_best_maps_cell():
    frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
    ds = tables.prepare(frame, **runs.example_prepare_options(frame))
    params = {"tau1_grid": (140, 700), "tau2_grid": (125, 625), "n_replicates": 2,
              "rows": 3, "cols": 3, "n_steps": 30, "n_jobs": 1, "reliable_posterior": 0.95}
    res = runs.train("qbm", params, ds, {"source": "example", "path": runs.EXAMPLE_RELPATH})
    qbm = res.estimator
    data = runs.labels_csv(res, ds)
    assert data.startswith(codecs.BOM_UTF8)  # the example is a UTF-8 file
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    np.testing.assert_allclose(back["posterior"], res.proba[np.arange(len(res.labels)),
                                                            res.labels])
    np.testing.assert_array_equal(back["som_unit"], qbm.best_map_.bmu_)
    flagged = set(qbm.flags_["object"])
    assert flagged and set(np.flatnonzero(back["flag"] != "")) == flagged
    first = qbm.flags_.iloc[0]
    row = back.iloc[int(first["object"])]
    assert str(first["flag"]) in row["flag"] and str(first["reason"]) in row["flag_reason"]
    assert {"enterprise_id", "sector", "Phi11", "Phi"} <= set(back.columns)
    assert set(back["cluster_name"]) <= set(ds.label_names) | {""}
    xlsx = pd.read_excel(io.BytesIO(downloads.labels_xlsx(res, ds)), engine="openpyxl",
                         keep_default_na=False)
    assert list(xlsx.columns) == list(back.columns)


# ----------------------------------------------------------------------------------- model
def test_the_keras_download_loads_after_importing_clustering_neural(tmp_path):
    import keras

    import clustering.neural  # noqa: F401  (registers the network's layers, as the label says)

    from clustering.datasets import generate

    ds = tables.from_arrays(*generate("blobs", n_samples=60, random_state=0))
    res = runs.train("neural", {"n_clusters": 3, "max_epochs": 20, "patience": 20,
                                "n_restarts": 1}, ds, {"source": "generator", "name": "blobs",
                                                       "params": {"n_samples": 60}})
    rows = downloads.result_downloads(res, ds)
    item = next(item for item in rows if item[2].endswith(".keras"))
    _, data, name, _ = item
    assert "import clustering.neural" in downloads.download_help(item, ds)
    path = tmp_path / name
    path.write_bytes(data)
    model = keras.saving.load_model(path)
    proba = np.asarray(model.predict(ds.X.astype(np.float32), verbose=0))
    np.testing.assert_array_equal(proba.argmax(axis=1), res.labels)
    np.testing.assert_allclose(proba, res.proba, atol=1e-5)
