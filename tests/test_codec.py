"""ui.codec: every result kind, data set and table round-trips exactly, without pickle; damaged,
tampered or foreign records raise CodecError; ui.downloads gives the same bytes after a round trip.
"""
import copy
import dataclasses
import hashlib
import importlib
import io
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from clustering import ensemble_plots, plots, tables
from clustering.datasets import generate
from ui import codec, downloads, runs
from ui.codec import CodecError

GEN = {"source": "generator", "name": "blobs", "params": {}}


# ----------------------------------------------------------------------------------- helpers
@pytest.fixture
def no_pickle(monkeypatch):
    """Records (and refuses) every call of pickle's loaders while a test decodes."""
    from clustering import i18n

    for code in i18n.LANGUAGES:  # Babel's own locale data is pickled: loaded before the guard
        i18n.format_number(1.5, code=code)
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("pickle was called")

    for name in ("loads", "load"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    yield calls
    assert calls == [], "decoding unpickled something"


def roundtrip_result(result, **kwargs):
    meta, blobs = codec.encode_result(result)
    text = json.dumps(meta, allow_nan=False)  # strict JSON: no NaN/Infinity tokens
    return codec.decode_result(json.loads(text), dict(blobs), **kwargs)


def assert_same(a, b, where="value"):
    """``a`` and ``b`` are equal in type and value, deeply (NaN equals NaN)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{where}[{i}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, pd.DataFrame):
        assert_frames(a, b, where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (float, np.floating)):
        assert a == b or (np.isnan(a) and np.isnan(b)), where
    elif a is None or isinstance(a, (bool, int, str, bytes, np.generic)):
        assert a == b, where
    elif type(a).__name__ == "Kernel":  # the same registered kernel (a worker's is a copy)
        assert a.name == b.name and a == b, where
    elif dataclasses.is_dataclass(a):
        assert_same(dataclasses.asdict(a) if type(a).__name__ == "ScalePlan" else vars(a),
                    dataclasses.asdict(b) if type(b).__name__ == "ScalePlan" else vars(b), where)
    elif hasattr(a, "tocsr"):
        assert a.format == b.format and a.dtype == b.dtype and (a != b).nnz == 0, where
    elif hasattr(a, "get_params"):
        keys = [k for k in vars(a) if k != "model_"]
        assert keys == [k for k in vars(b) if k != "model_"], where
        for k in keys:
            assert_same(vars(a)[k], vars(b)[k], f"{where}.{k}")
    else:
        raise AssertionError(f"{where}: no comparison for {type(a).__name__}")


def assert_frames(a, b, where="table"):
    pd.testing.assert_frame_equal(a, b, check_exact=True, check_column_type=True,
                                  check_index_type=True)
    assert [str(d) for d in a.dtypes] == [str(d) for d in b.dtypes], where
    assert str(a.index.dtype) == str(b.index.dtype) and a.index.name == b.index.name, where
    assert a.columns.dtype == b.columns.dtype and type(a.columns) is type(b.columns), where
    for i in range(a.shape[1]):  # None stays None, NaN stays NaN
        for x, y in zip(a.iloc[:, i], b.iloc[:, i]):
            assert type(x) is type(y), f"{where}: column {a.columns[i]!r}"
    assert_same(a.attrs, b.attrs, f"{where}.attrs")


def assert_same_result(a, b):
    for f in dataclasses.fields(runs.MethodResult):
        if f.name == "config":
            assert a.config == b.config
            if a.config is not None:
                assert b.config.to_json() == a.config.to_json()
        elif f.name != "estimator":
            assert_same(getattr(a, f.name), getattr(b, f.name), f.name)
    if a.estimator is not None:
        assert_same(a.estimator, b.estimator, "estimator")


def assert_same_downloads(before, after, dataset):
    one, two = (downloads.result_downloads(r, dataset) for r in (before, after))
    assert [d[0] for d in one] == [d[0] for d in two]
    for (label, data, name, mime), (_, data2, name2, mime2) in zip(one, two):
        assert (name, mime) == (name2, mime2)
        assert data == data2, f"{label} differs after the round trip"
    assert any(d[1] for d in one)


def figures(*figs) -> list[str]:
    return [f.to_json() for f in figs]


# ----------------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def blobs_ds():
    X, y = generate("blobs", n_samples=60, random_state=0)
    return tables.from_arrays(X, y)


@pytest.fixture(scope="module")
def example_ds():
    frame = tables.read_csv(runs.EXAMPLE_PATH.read_bytes())
    return tables.prepare(frame, **runs.example_prepare_options(frame))


@pytest.fixture(scope="module")
def neural(blobs_ds):
    return runs.train("neural", {"n_clusters": 3, "max_epochs": 25, "patience": 25,
                                 "n_restarts": 2}, blobs_ds, GEN)


@pytest.fixture(scope="module")
def som(blobs_ds):
    return runs.train("som", {"rows": 3, "cols": 4, "n_steps": 60}, blobs_ds, GEN)


@pytest.fixture(scope="module")
def ensemble(example_ds):
    params = {"tau1_grid": (140, 700), "tau2_grid": (125, 625), "n_replicates": 2, "rows": 3,
              "cols": 3, "n_steps": 30, "n_jobs": 1, "reliable_posterior": 0.95}
    res = runs.train("qbm", params, example_ds, {"source": "example",
                                                  "path": runs.EXAMPLE_RELPATH})
    runs.attach_kmeans_comparison(res, example_ds)
    res.extra["worker"] = "tcp://127.0.0.1:1234"
    return res


@pytest.fixture(scope="module")
def comparison(blobs_ds):
    chosen = ["som", "kmeans", "macqueen", "dbscan", "gmm"]
    methods = runs.compare_params(chosen, 3, 0, 0.3, 5, n_objects=60)
    methods["hdbscan"] = {}
    methods["spectral"] = {"n_clusters": 3}
    return runs.compare(methods, blobs_ds, GEN)


# ----------------------------------------------------------------------------------- results
def test_neural_round_trip_keeps_model_downloads_and_views(neural, blobs_ds, no_pickle):
    ds = blobs_ds
    back = roundtrip_result(neural)
    assert_same_result(neural, back)
    assert_same_downloads(neural, back, ds)
    assert back.estimator.model_ is None  # loaded on demand, as from a worker
    assert back.extra["keras_bytes"] == runs.model_bytes(neural)
    est = runs.estimator_with_model(back)
    np.testing.assert_array_equal(est.predict_proba(ds.X), neural.estimator.predict_proba(ds.X))
    np.testing.assert_array_equal(est.predict(ds.X), neural.labels)
    # the views of pages/neural.py, drawn from the decoded result
    assert back.estimator.kernel_.name == neural.estimator.kernel_.name
    assert back.estimator.plan_ == neural.estimator.plan_
    assert back.estimator.solver_reason_ and len(back.estimator.restart_losses_) == 2
    views = []
    for r in (neural, back):
        xs, ys, grid = runs.decision_grid(r, ds.X)
        views.append(figures(
            plots.soft_scatter(ds.X, r.proba), plots.scatter(ds.X, r.labels),
            plots.decision_regions(xs, ys, grid, ds.X, r.proba),
            plots.entropy_scatter(ds.X, r.proba),
            plots.loss_curve(r.estimator.loss_history_)))
    assert views[0] == views[1]
    fresh = runs.MethodResult(**{**vars(back), "extra": {"keras_bytes": back.extra["keras_bytes"]}})
    np.testing.assert_array_equal(runs.decision_grid(fresh, ds.X, 40)[2],
                                  runs.decision_grid(neural, ds.X, 40)[2])


def test_neural_model_can_be_loaded_at_once(neural, blobs_ds):
    back = roundtrip_result(neural, load_model=True)
    assert back.estimator.model_ is not None
    np.testing.assert_array_equal(back.estimator.predict_proba(blobs_ds.X), neural.proba)


@pytest.fixture(scope="module")
def shipped(neural):
    """The result as the web process gets it from a worker: through Dask's pickle, which ships
    the network's model as its .keras bytes (MethodResult.__getstate__) and gives the web process
    copies of everything else (the estimator's kernel included, not the registry's object)."""
    import pickle

    return pickle.loads(pickle.dumps(neural))


def test_a_result_from_a_worker_round_trips_too(neural, shipped, blobs_ds, no_pickle):
    from clustering import kernels

    assert shipped.estimator.model_ is None
    assert shipped.estimator.kernel_ is not kernels.KERNELS[shipped.estimator.kernel_.name]
    back = roundtrip_result(shipped)
    assert_same_result(shipped, back)
    assert_same_downloads(neural, back, blobs_ds)
    assert back.estimator.kernel_ is kernels.KERNELS[shipped.estimator.kernel_.name]


def test_som_round_trip_keeps_downloads_and_views(som, blobs_ds, no_pickle):
    ds = blobs_ds
    back = roundtrip_result(som)
    assert_same_result(som, back)
    assert_same_downloads(som, back, ds)
    views = []
    ids = runs.object_ids(ds)
    for r in (som, back):
        m = r.estimator
        coords = runs.unit_coordinates(m)
        hover = runs.cell_hover(m, m.bmu_, ids, values=m.umatrix(), value_name="d")
        steps, curves = runs.som_curves(m)
        views.append([runs.som_status(r), runs.execution_text(r), hover] + figures(
            plots.lattice_map(coords, m.umatrix(), lattice=m.lattice, hover=hover),
            plots.lattice_map(coords, np.asarray(m.hit_counts_, dtype=float), lattice=m.lattice),
            plots.component_planes(coords, m.component_planes(), ds.feature_names,
                                   lattice=m.lattice),
            plots.lattice_map(coords, categories=runs.unit_clusters(m), lattice=m.lattice),
            plots.som_grid_in_data(ds.X, m.codebook_, coords, labels=r.labels),
            plots.line_curves(curves, x=steps, secondary=["topographic_error"])))
    assert views[0] == views[1]
    np.testing.assert_array_equal(back.estimator.predict(ds.X), som.labels)
    np.testing.assert_array_equal(back.estimator.transform(ds.X), som.estimator.transform(ds.X))


def test_ensemble_round_trip_keeps_its_maps_tables_and_views(ensemble, example_ds, no_pickle):
    ds = example_ds
    back = roundtrip_result(ensemble)
    assert_same_result(ensemble, back)
    assert_same_downloads(ensemble, back, ds)
    qbm, orig = back.estimator, ensemble.estimator
    assert len(qbm.maps_) == len(orig.maps_) == 8
    best = orig.maps_.index(orig.best_map_)
    assert qbm.best_map_ is qbm.maps_[best]  # stored once, the same object again
    rows = downloads.download_rows(back, ds)
    assert [d[0] for d in rows[1]] == [
        "Flagged objects (CSV)", "Networks, table 2 (CSV)", "Metrics (CSV)"]
    assert [d[0] for d in rows[2]] == [
        "Cells and clusters per map, table 3 (CSV)", "Best map's distances, table 4 (CSV)",
        "Cluster decisions (CSV)", "Object decisions (CSV)"]
    np.testing.assert_array_equal(qbm.predict_proba(ds.X), orig.predict_proba(ds.X))
    ids = runs.object_ids(ds)
    views = []
    for r in (ensemble, back):
        q = r.estimator
        profile = q.profile(ds.frame, score="Phi")
        clusters, objects = runs.decision_tables(q, ds.frame, "Phi", ids)
        means = runs.profile_means(q, ds.X, ds.feature_names, clusters.index, ds.frame, "Phi")
        level = q.filter_["level"]
        views.append([runs.execution_text(r), runs.cochran_verdict(q.cochran_),
                      runs.kept_mask(q), runs.flags_frame(q, ids).to_json(),
                      runs.posterior_frame(r, ids).to_json(), profile.to_json(),
                      runs.headline(q, r.extra["kmeans"]), runs.filter_summary(q),
                      runs.filter_table(q).to_json(), clusters.to_json(), objects.to_json(),
                      runs.recommendation_lines(clusters, "Phi"),
                      runs.cells_frame(q, ids).to_json(), runs.map_choices(q),
                      runs.map_frame(q, ds.X, ids).to_json(),
                      r.extra["kmeans"]["table"].to_json()] + figures(
            plots.replicate_plot(q.networks_, runs.replicate_columns(q), name_column="network",
                                 mean_column="theta_mean", kept=runs.kept_mask(q)),
            plots.posterior_plot(r.proba, r.labels, ids, threshold=runs.flag_threshold(q)),
            plots.coassociation_heatmap(q.coassociation_, r.labels, ids),
            ensemble_plots.filter_plot(q.variances_, level and level["threshold"]),
            ensemble_plots.profile_chart(means, runs.profile_names(clusters), score="Phi"),
            ensemble_plots.criteria_bars(r.extra["kmeans"])))
    assert views[0] == views[1]
    assert "maps one after the other" in views[1][0]


def test_ensemble_choosing_m_round_trips_its_curve_and_config(example_ds, no_pickle):
    from clustering import config as cfg
    from clustering.ensemble_selection import suggest

    params = {"tau1_grid": (140, 700), "tau2_grid": (125,), "n_replicates": 2, "rows": 3,
              "cols": 3, "n_steps": 30, "n_jobs": 1, "n_clusters": "auto",
              "n_clusters_candidates": (2, 3, 4)}
    res = runs.train("qbm", params, example_ds, {"source": "example",
                                                  "path": runs.EXAMPLE_RELPATH})
    back = roundtrip_result(res)
    assert_same_result(res, back)
    assert_same_downloads(res, back, example_ds)
    q = back.estimator
    assert q.selection_["M"].tolist() == [2, 3, 4] and q.n_clusters_ == suggest(q.selection_)
    assert figures(ensemble_plots.selection_curve(q.selection_, q.n_clusters_)) == figures(
        ensemble_plots.selection_curve(res.estimator.selection_, res.estimator.n_clusters_))
    assert "chosen from the curve" in runs.headline(q)["M_help"]
    # the saved configuration repeats "auto", not the M it chose
    saved = json.loads(runs.config_json(back))["params"]
    assert saved["n_clusters"] == "auto"
    assert cfg.validate_params("qbm", saved)["n_clusters"] == "auto"


def test_comparison_round_trip_keeps_table_partitions_and_views(comparison, blobs_ds, no_pickle):
    back = roundtrip_result(comparison)
    assert_same_result(comparison, back)
    assert_same_downloads(comparison, back, blobs_ds)
    assert type(back.config).__name__ == "ComparisonConfig"
    assert back.extra["table"].index.name == "method" and len(back.extra["table"]) == 7
    assert figures(plots.small_multiples(blobs_ds.X, back.extra["partitions"])) == figures(
        plots.small_multiples(blobs_ds.X, comparison.extra["partitions"]))


@pytest.mark.parametrize("method", ["kmeans", "macqueen", "spectral", "dbscan", "hdbscan", "gmm",
                                    "agglomerative"])
def test_a_classic_method_run_on_its_own_round_trips(method, blobs_ds, no_pickle):
    params = {} if method in ("dbscan", "hdbscan") else {"n_clusters": 3}
    res = runs.train(method, params, blobs_ds, GEN)
    back = roundtrip_result(res)
    assert_same_result(res, back)
    assert_same_downloads(res, back, blobs_ds)
    est, orig = back.estimator.estimator, res.estimator.estimator
    if hasattr(orig, "predict"):
        np.testing.assert_array_equal(est.predict(blobs_ds.X), orig.predict(blobs_ds.X))


def test_special_values_round_trip_with_their_types(som, no_pickle):
    res = copy.copy(som)
    res.metrics = {"nan": float("nan"), "inf": float("inf"), "minus": -float("inf"), "x": 0.5}
    res.extra = {
        "grid": (110, np.arange(3.0), np.array([np.nan, np.inf]), np.eye(2, dtype=np.float32)),
        "scalars": [np.float32(np.nan), np.int8(-3), np.bool_(True), np.uint64(2**63),
                    np.float64(-np.inf), np.str_("ü")],
        "nested": {"a": {"b": [1, (2, "3"), None, True]}, "list": list(range(300)),
                   "floats": [float(i) / 7 for i in range(300)] + [float("nan")]},
        "keys": {1: "one", 2.5: "two and a half", None: "none", "s": 0, np.int64(3): "np"},
        "raw": b"\x00\x01", "frame": pd.DataFrame({"v": [1.0, np.nan]}, index=["a", "b"]),
        "objects": np.array(["a", None, 3, 2.5], dtype=object),
        "fortran": np.asfortranarray(np.arange(6).reshape(2, 3)),
        "structured": np.array([(1, 2.0)], dtype=[("i", "<i8"), ("f", "<f8")]),
        "worker": "tcp://10.0.0.1:4000", "errors": {"DBSCAN": "no clusters"},
    }
    back = roundtrip_result(res)
    assert_same(res.metrics, back.metrics)
    assert_same(res.extra, back.extra)
    assert back.extra["fortran"].flags.f_contiguous


def test_metrics_download_matches_the_metrics_table_of_the_pages():
    from ui import widgets

    metrics = {"ARI": 0.5, "silhouette": float("nan"), "own": 1.0}
    assert_frames(downloads.metrics_frame(metrics), widgets.metrics_frame(metrics))


def test_unknown_values_are_refused_when_encoding(som):
    for bad in ({1, 2}, lambda x: x, object(), pd.Series([1, 2]), frozenset()):
        res = copy.copy(som)
        res.extra = {"bad": bad}
        with pytest.raises(CodecError, match=r"extra\['bad'\]"):
            codec.encode_result(res)
    with pytest.raises(CodecError):
        codec.encode_result("not a result")


# ----------------------------------------------------------------------------------- data sets
def assert_same_dataset(a, b):
    for f in dataclasses.fields(a):
        assert_same(getattr(a, f.name), getattr(b, f.name), f.name)


def test_generated_dataset_round_trips(blobs_ds, no_pickle):
    meta, blobs = codec.encode_dataset(blobs_ds)
    back = codec.decode_dataset(json.loads(json.dumps(meta, allow_nan=False)), blobs)
    assert_same_dataset(blobs_ds, back)
    named = tables.from_arrays(blobs_ds.X, np.array(["b", "a", "c"] * 20))
    meta, blobs = codec.encode_dataset(named)
    assert_same_dataset(named, codec.decode_dataset(meta, blobs))
    assert codec.decode_dataset(meta, blobs).label_names == ["a", "b", "c"]


@pytest.mark.parametrize("scaling", ["standard", "minmax", "none"])
def test_table_dataset_with_ids_labels_and_notes_round_trips(scaling, no_pickle):
    text = ("id;x;y;kind;note\n=1+2;1,5;2;good;\nb;2;;bad;x\nc;3,25;1;good;y\n"
            "d;4;5;bad;\n\ne;5;4;good;z\n")
    ds = tables.load_csv(text.encode("cp1252"), id_column="id", label_column="kind",
                         missing="median", scaling=scaling)
    assert ds.notes and ds.label_names == ["bad", "good"] and ds.ids[0] == "=1+2"
    meta, blobs = codec.encode_dataset(ds)
    back = codec.decode_dataset(meta, blobs)
    assert_same_dataset(ds, back)
    if ds.scaler is not None:
        np.testing.assert_array_equal(back.scaler.transform(ds.raw.to_numpy()), ds.X)
    res = runs.MethodResult("kmeans", None, np.array([0, 1, 0, 1, 0]), None, None, {}, 0.0)
    assert runs.labels_csv(res, back) == runs.labels_csv(res, ds)


def test_numeric_ids_round_trip(no_pickle):
    ds = tables.load_csv(b"id,x,y\n10,1,2\n20,2,1\n30,3,3\n", id_column="id")
    back = codec.decode_dataset(*codec.encode_dataset(ds))
    assert_same_dataset(ds, back)
    assert back.ids.dtype == np.int64


# ----------------------------------------------------------------------------------- tables
def test_table_round_trip_keeps_attrs_dtypes_and_missing_cells(no_pickle):
    frame = tables.read_csv(b"id;x;t\n\na;1,5;u\nb;2;\n\nc;3;w\n")
    assert frame.attrs["csv"]["rows"] is not None  # spreadsheet rows after the empty lines
    assert_frames(frame, codec.decode_table(codec.encode_table(frame)))
    odd = pd.DataFrame({"o": np.array(["x", None, "z"], dtype=object),
                        "n": np.array(["x", np.nan, 1], dtype=object)[[0, 1, 0]],
                        "b": [True, False, True], "i8": np.array([1, 2, 3], dtype=np.int8),
                        "ints": np.array([1, 2, 3], dtype=object),
                        "c": pd.Categorical(["a", "b", "a"]), 3: [0.5, np.nan, np.inf]},
                       index=pd.Index(["r1", "r2", "r3"], dtype=object, name="c0"))
    odd.attrs = {"csv": {"rows": np.array([2, 4, 5])}, "note": (1, float("nan"))}
    assert_frames(odd, codec.decode_table(codec.encode_table(odd)))
    for plain in (pd.DataFrame(np.eye(2)), pd.DataFrame(columns=["object", "flag"]),
                  pd.DataFrame({"a": [1]}).set_index(pd.RangeIndex(5, 6, name="n"))):
        assert_frames(plain, codec.decode_table(codec.encode_table(plain)))


def test_tables_parquet_cannot_hold_are_refused():
    for bad in (pd.DataFrame({"m": np.array(["a", 1], dtype=object)}),
                pd.DataFrame([[1, 2]], columns=["a", "a"]),
                pd.DataFrame({"m": np.array([None, np.nan], dtype=object)}),
                pd.DataFrame({"a": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])),
                "not a frame"):
        with pytest.raises(CodecError):
            codec.encode_table(bad)


def test_damaged_tables_raise_codec_error(no_pickle):
    data = codec.encode_table(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    for bad in (data[:-10], data[:len(data) // 2], b"", b"PAR1garbage", data[:4] + b"\0" * 40):
        with pytest.raises(CodecError):
            codec.decode_table(bad)
    plain = io.BytesIO()
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(CodecError, match="not a table written by this app"):
        codec.decode_table(plain.getvalue())


# ----------------------------------------------------------------------------------- tampering
@pytest.fixture
def som_record(som):
    meta, blobs = codec.encode_result(som)
    return json.loads(json.dumps(meta)), dict(blobs)


def _resign(meta, blobs, name, data):
    blobs[name] = data
    meta["blobs"][name] = hashlib.sha256(data).hexdigest()


def test_truncated_array_raises_codec_error(som_record, no_pickle):
    meta, blobs = som_record
    name = meta["value"]["v"]["labels"]["blob"]
    cut = dict(blobs, **{name: blobs[name][:-5]})
    with pytest.raises(CodecError, match="SHA-256"):
        codec.decode_result(meta, cut)
    _resign(meta, blobs, name, blobs[name][:-5])  # tampered and re-signed: the .npy check
    with pytest.raises(CodecError, match="damaged or truncated"):
        codec.decode_result(meta, blobs)
    _resign(meta, blobs, name, blobs[name][:3])
    with pytest.raises(CodecError, match="not a .npy"):
        codec.decode_result(meta, blobs)


def test_pickled_object_array_is_never_unpickled(som_record, no_pickle):
    meta, blobs = som_record
    name = meta["value"]["v"]["labels"]["blob"]
    buf = io.BytesIO()
    np.save(buf, np.array([0, {"x": 1}], dtype=object), allow_pickle=True)
    _resign(meta, blobs, name, buf.getvalue())
    with pytest.raises(CodecError):
        codec.decode_result(meta, blobs)


def test_wrong_dtype_or_shape_raises_codec_error(som_record):
    meta, blobs = som_record
    labels = meta["value"]["v"]["labels"]
    wrong = copy.deepcopy(meta)
    wrong["value"]["v"]["labels"]["shape"] = [59]
    with pytest.raises(CodecError, match="shape"):
        codec.decode_result(wrong, blobs)
    floats = codec.npy_bytes(np.zeros(60))
    meta2, blobs2 = copy.deepcopy(meta), dict(blobs)
    _resign(meta2, blobs2, labels["blob"], floats)
    meta2["value"]["v"]["labels"]["dtype"] = "float64"
    with pytest.raises(CodecError, match="labels are not a 1-D array of integers"):
        codec.decode_result(meta2, blobs2)


def test_flipped_byte_in_the_keras_file_raises_codec_error(neural, no_pickle):
    meta, blobs = codec.encode_result(neural)
    name = meta["model"]
    data = bytearray(blobs[name])
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(CodecError, match="SHA-256"):
        codec.decode_result(meta, dict(blobs, **{name: bytes(data)}))
    meta, blobs = json.loads(json.dumps(meta)), dict(blobs)
    _resign(meta, blobs, name, bytes(data))  # re-signed: the archive's own checksums
    with pytest.raises(CodecError, match="keras"):
        codec.decode_result(meta, blobs)
    _resign(meta, blobs, name, b"PK\x03\x04 not a zip")
    with pytest.raises(CodecError, match="keras"):
        codec.decode_result(meta, blobs, load_model=True)


def test_foreign_class_names_are_never_imported(som_record, monkeypatch):
    imported = []
    real = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: imported.append(name) or real(name, *a))
    meta, blobs = som_record
    for where, value in ((["estimator", "class"], "os.system"),
                         (["estimator", "class"], "system"),
                         (["config", "class"], "os.system"),
                         (["estimator", "class"], "Popen")):
        bad = copy.deepcopy(meta)
        node = bad["value"]["v"]
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        with pytest.raises(CodecError, match="unknown"):
            codec.decode_result(bad, blobs)
    assert not any(n.split(".")[0] in ("os", "subprocess", "posix") for n in imported)


def test_state_entries_that_would_hide_methods_are_refused(som_record):
    meta, blobs = som_record
    for key in ("predict", "__class__", "__dict__", "not an identifier"):
        bad = copy.deepcopy(meta)
        bad["value"]["v"]["estimator"]["state"]["v"][key] = 1
        with pytest.raises(CodecError, match="not a data attribute"):
            codec.decode_result(bad, blobs)


def test_wrong_codec_version_is_refused_naming_both(som_record):
    meta, blobs = som_record
    for version in (2, 0, "1", None):
        bad = dict(meta, codec_version=version)
        both = rf"version {version!r}.*version {codec.CODEC_VERSION}"
        with pytest.raises(CodecError, match=both):
            codec.decode_result(bad, blobs)


def test_missing_extra_or_foreign_records_are_refused(som_record, blobs_ds):
    meta, blobs = som_record
    name = next(iter(blobs))
    cases = [(meta, {k: v for k, v in blobs.items() if k != name}, "lacks"),
             (meta, dict(blobs, extra=b"x"), "does not list"),
             (dict(meta, kind="dataset"), blobs, "not a result"),
             ([], blobs, "not a record"), (meta, None, "no blobs"),
             (dict(meta, value={"t": "pickle", "v": ""}), blobs, "unknown value tag")]
    for m, b, message in cases:
        with pytest.raises(CodecError, match=message):
            codec.decode_result(m, b)
    with pytest.raises(CodecError, match="not a data set"):
        codec.decode_dataset(meta, blobs)
    dmeta, dblobs = codec.encode_dataset(blobs_ds)
    with pytest.raises(CodecError, match="not a result"):
        codec.decode_result(dmeta, dblobs)


def _nodes(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _nodes(v, path + (i,))


def _replace(obj, path, value):
    obj = copy.deepcopy(obj)
    if not path:
        return value
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


@pytest.mark.parametrize("kind", ["result", "dataset"])
def test_any_damaged_meta_is_a_codec_error_or_still_valid(kind, som, blobs_ds, no_pickle):
    """Every node of a record replaced by junk: decoding succeeds or raises CodecError, never
    anything else."""
    encode, decode = ((codec.encode_result, codec.decode_result) if kind == "result" else
                      (codec.encode_dataset, codec.decode_dataset))
    meta, blobs = encode(som if kind == "result" else blobs_ds)
    meta = json.loads(json.dumps(meta))
    junk = [None, "x", -1, 1.5, [], {}, {"t": "ref", "id": 99}, {"t": "np", "dtype": "O", "v": 1}]
    for path in list(_nodes(meta)):
        for value in junk:
            try:
                decode(_replace(meta, path, value), blobs)
            except CodecError as err:
                assert str(err)


def test_the_public_api_stays_importable_from_ui_codec():
    """The codec is split by responsibility; ui.codec keeps every public name, one error type."""
    from ui import codec_formats, codec_records, codec_tables, codec_values

    for name in codec.__all__:
        assert hasattr(codec, name), name
    assert codec.CodecError is codec_formats.CodecError
    assert codec.encode_table is codec_tables.encode_table
    assert codec.decode_result is codec_records.decode_result
    assert codec.LIST_BLOB_ITEMS == codec_values.LIST_BLOB_ITEMS
