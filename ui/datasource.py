"""Data for the pages, free of Streamlit: the bundled example's column roles, and data sets
and tables made on a Dask worker when they are large (never seconds of CPU in the web process).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from clustering import config as cfg

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_RELPATH = "data/taxpayers_synthetic.csv"
EXAMPLE_PATH = ROOT / EXAMPLE_RELPATH
EXAMPLE_FEATURES = ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]
#: Names of a known-class column in example tables (the bundled one plants ``planted_group``).
EXAMPLE_LABELS = ("planted_group", "label", "class", "true_cluster")


def example_prepare_options(frame: pd.DataFrame) -> dict:
    """Column roles of the bundled taxpayer example (the article's five clustering variables)."""
    columns = [str(c) for c in frame.columns]
    id_col = next((c for c in columns if c.lower() in ("enterprise_id", "enterprise", "id")), None)
    features = [c for c in EXAMPLE_FEATURES if c in columns]
    if not features:
        features = [c for c in columns if c != id_col and pd.api.types.is_numeric_dtype(frame[c])]
    label_col = next((c for c in columns if c.lower() in EXAMPLE_LABELS), None)
    return dict(feature_columns=features, id_column=id_col, label_column=label_col,
                missing="refuse", scaling="standard")


#: A generated data set of at least this many values (points x features), or a table file of at
#: least this many bytes, is made on a Dask worker (a second or more of CPU), not in the web process.
WORKER_DATA_VALUES = 10**6
WORKER_TABLE_BYTES = 2**20


def _large(spec: Mapping[str, Any], csv) -> bool:
    from clustering import datasets

    if spec.get("source") == "generator":
        n, d = datasets.planned_shape(spec.get("name"), dict(spec.get("params") or {}))
        return isinstance(n, int) and isinstance(d, int) and n * d >= WORKER_DATA_VALUES
    return csv is not None and len(csv) >= WORKER_TABLE_BYTES


def on_worker(large: bool, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``: here when the input is small, else as a task on a worker of the
    server's cluster (its exception, if any, raised here), so the web process never spends
    seconds generating or parsing data. A worker that takes longer than the time cap is left."""
    if not large:
        return fn(*args, **kwargs)
    from clustering import cluster
    from ui.jobs import max_train_seconds

    future = cluster.client().submit(fn, *args, **kwargs, pure=False)
    try:
        return future.result(timeout=max_train_seconds())
    finally:
        future.release()


def load_data(spec: Mapping[str, Any], csv=None):
    """:func:`clustering.config.load_data` (its size limits are checked before anything is made);
    on a worker when the data set is large (:data:`WORKER_DATA_VALUES`, :data:`WORKER_TABLE_BYTES`)."""
    return on_worker(_large(spec, csv), cfg.load_data, dict(spec), csv)


def read_table(data: bytes, read: Mapping[str, Any]):
    """:func:`clustering.tables.read_csv` of an uploaded file; on a worker from
    :data:`WORKER_TABLE_BYTES` on."""
    from clustering import tables

    return on_worker(len(data) >= WORKER_TABLE_BYTES, tables.read_csv, data, **dict(read))


def prepare_table(frame: pd.DataFrame, prep: Mapping[str, Any]):
    """:func:`clustering.tables.prepare` of a working table; on a worker when the table holds
    :data:`WORKER_TABLE_BYTES` or more."""
    from clustering import tables

    large = int(frame.memory_usage(index=False, deep=False).sum()) >= WORKER_TABLE_BYTES
    return on_worker(large, tables.prepare, frame, **dict(prep))
