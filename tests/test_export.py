"""Exports: spreadsheet formula injection is neutralised, numbers stay numbers, hostile IDs survive
a round trip from an uploaded CSV to the downloaded assignments."""
import codecs
import csv
import io

import numpy as np
import pandas as pd
import pytest

from clustering import tables
from clustering.export import assignments_frame, csv_bytes, neutralise_formulas, neutralise_text

HOSTILE = ["=1+2", "+cmd|'/C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=x", "\r=x",
           '=HYPERLINK("http://evil","click")', "plain", "a=b", " =still text", "<b>bold</b>"]


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)  # the default format: UTF-8 with a byte-order mark
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize("cell", HOSTILE)
def test_neutralise_text(cell):
    out = neutralise_text(cell)
    if cell[0] in "=+-@\t\r":
        assert out == "'" + cell
    else:
        assert out == cell  # only the first character makes a formula
    assert neutralise_text(-5) == -5 and neutralise_text(None) is None
    assert np.isnan(neutralise_text(float("nan")))  # a missing value passes through


def test_neutralise_formulas_on_cells_names_index_and_categories():
    frame = pd.DataFrame({
        "=name": ["=1+2", "ok", None],
        "value": [-1.5, 2.0, -3.0],
        "count": [-1, 0, 1],
        "cat": pd.Categorical(["@x", "y", "@x"]),
        "arrow": pd.array(["-2+3", "z", pd.NA], dtype="string"),
    }, index=pd.Index(["+i", "j", "k"]))
    out = neutralise_formulas(frame)
    assert list(out.columns) == ["'=name", "value", "count", "cat", "arrow"]
    assert out["'=name"].tolist()[:2] == ["'=1+2", "ok"] and pd.isna(out["'=name"].iloc[2])
    assert out["value"].tolist() == [-1.5, 2.0, -3.0] and out["value"].dtype == np.float64
    assert out["count"].tolist() == [-1, 0, 1]
    assert out["cat"].tolist() == ["'@x", "y", "'@x"]
    assert out["arrow"].tolist()[:2] == ["'-2+3", "z"]
    assert out.index.tolist() == ["'+i", "j", "k"]
    assert frame.columns[0] == "=name" and frame.iloc[0, 0] == "=1+2"  # the input is untouched


def test_csv_bytes_writes_negative_numbers_as_numbers():
    frame = pd.DataFrame({"id": ["-7", "=A1"], "x": [-7.25, 1.0], "k": [-1, 2]})
    rows = read_back(csv_bytes(frame))
    assert rows == [["id", "x", "k"], ["'-7", "-7.25", "-1"], ["'=A1", "1.0", "2"]]
    assert read_back(csv_bytes(frame, index=True))[0] == ["", "id", "x", "k"]


def test_assignments_frame_layout():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    frame = assignments_frame(["a", "b", 3], [0, 1, -1], proba, extra={"cell": [4, 5, 6]})
    assert list(frame.columns) == ["id", "cluster", "p_0", "p_1", "p_max", "cell"]
    assert frame["id"].tolist() == ["a", "b", "3"]
    assert frame["cluster"].tolist() == [0, 1, -1]
    np.testing.assert_allclose(frame["p_max"], [0.9, 0.8, 0.5])
    assert list(assignments_frame([1, 2], [0, 0]).columns) == ["id", "cluster"]


def test_hostile_ids_round_trip_from_upload_to_download():
    ids = ["=1+2", "+cmd|'/C calc'!A0", "-2+3", "@SUM(A1:A9)", "<script>x</script>", "E-6"]
    text = "id,x,y\n" + "".join(f'"{i}",{k},{(k * 7) % 5 - 2.5}\n' for k, i in enumerate(ids))
    ds = tables.load_csv(text.encode(), id_column="id")
    assert list(ds.ids) == ids  # read verbatim: data, never evaluated
    labels = np.array([0, 1, 0, 1, 0, 1])
    proba = np.column_stack([1 - labels * 0.75, labels * 0.75 + 0.0])
    data = csv_bytes(assignments_frame(ds.ids, labels, proba, extra={"x": ds.raw["x"] - 3}))
    rows = read_back(data)
    assert rows[0] == ["id", "cluster", "p_0", "p_1", "p_max", "x"]
    got = [r[0] for r in rows[1:]]
    assert got == ["'=1+2", "'+cmd|'/C calc'!A0", "'-2+3", "'@SUM(A1:A9)", "<script>x</script>",
                   "E-6"]
    for r in rows[1:]:
        assert r[0][0] not in "=+-@\t\r"
        assert all(not c or c[0] not in "=+@\t\r" for c in r[1:])  # numbers (maybe negative)
        float(r[2]), float(r[5])
    assert rows[1][5] == "-3.0"  # a negative number in a numeric column is written as is
    # reading the download back gives the ids with their guard, never a formula result
    again = tables.read_csv(data)
    assert again["id"].tolist()[:2] == ["'=1+2", "'+cmd|'/C calc'!A0"]


def test_app_downloads_neutralise_formulas():
    """The app's CSV downloads go through export.csv_bytes (ui/runs.py builds them)."""
    from ui import runs

    ds = tables.load_csv(b"id,x,y\n=1+2,1,2\n@A1,2,1\nok,3,3\n", id_column="id")
    result = runs.MethodResult(method="kmeans", config=None, labels=np.array([0, 1, 0]),
                               proba=None, estimator=None, metrics={}, elapsed=0.0)
    rows = read_back(runs.labels_csv(result, ds))
    assert [r[0] for r in rows[1:]] == ["'=1+2", "'@A1", "ok"]


def test_metrics_frame_names_the_figures_once_for_the_app_and_the_downloads():
    from clustering import export
    from ui import downloads, widgets

    frame = export.metrics_frame({"ARI": 0.5, "theta": 2.0, "custom": 3})
    assert frame["figure"].tolist() == ["ARI", "Θ (22) = Q1 (26)", "custom"]
    assert frame["meaning"].iloc[2] == "" and "adjusted Rand" in frame["meaning"].iloc[0]
    assert downloads.metrics_frame is export.metrics_frame
    assert widgets.metrics_frame({"nmi": 1.0}).equals(export.metrics_frame({"nmi": 1.0}))


def test_every_quality_figure_has_one_plain_meaning():
    from clustering import export, metrics

    X = np.array([[0, 0], [2, 0], [0, 2], [10, 10], [12, 10], [10, 12], [12, 12]], float)
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    report = metrics.quality_report(X, labels, y_true=labels)
    frame = export.metrics_frame(report)
    assert set(report) <= set(export.METRIC_NOTES)
    assert frame["meaning"].str.len().gt(0).all()
    assert frame["figure"].is_unique  # no two rows under one name
    names = dict(zip(report, frame["figure"]))
    assert names["theta"] == "Θ (22) = Q1 (26)"
    assert "not the article's" in names["normalised_variance_sum"]
    # (26) is theta: the normalised sum is a different number
    assert report["normalised_variance_sum"] != pytest.approx(report["theta"])


def test_cluster_names_need_a_majority_and_noise_is_named():
    from clustering.export import cluster_names

    labels = np.array([0, 0, 0, 1, 1, 1, 1, -1])
    known = ["a", "a", "b", "b", "c", "b", "c", "a"]
    assert cluster_names(labels, known) == {-1: "noise", 0: "a"}  # cluster 1 is 2 b, 2 c


def test_codebook_frame_gives_the_inputs_units_then_the_trained_ones():
    from types import SimpleNamespace

    from sklearn.preprocessing import MinMaxScaler

    from clustering.export import codebook_frame

    scaler = MinMaxScaler().fit(np.array([[0.0, 10.0], [4.0, 30.0]]))
    som = SimpleNamespace(codebook_=np.array([[[0.0, 0.5], [1.0, 1.0]]]), cols_=2,
                          hit_counts_=np.array([3, 1]))
    frame = codebook_frame(som, ["a", "b"], scaler, "minmax")
    assert list(frame.columns) == ["unit", "row", "col", "a", "b", "a (scaled to 0..1)",
                                   "b (scaled to 0..1)", "hits"]
    assert frame[["a", "b"]].to_numpy().tolist() == [[0.0, 20.0], [4.0, 30.0]]
    assert list(codebook_frame(som, ["a", "b"]).columns) == ["unit", "row", "col", "a", "b",
                                                             "hits"]
