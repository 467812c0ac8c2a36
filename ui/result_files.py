"""The files a result offers, as bytes (no Streamlit): labels, partitions, tables, the
configuration, the Keras model and the codebook. :mod:`ui.downloads` arranges them in buttons.

Every CSV goes through :func:`clustering.export.csv_bytes`: text cells a spreadsheet would
evaluate (ids or column names starting with =, +, -, @) are neutralised.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ui.result import MethodResult, object_ids

def labels_frame(result: MethodResult, dataset) -> pd.DataFrame:
    """One row per object: id, cluster, p_0 .. p_{K-1} and p_max when known, the true label."""
    from clustering.export import assignments_frame

    extra = {}
    if getattr(dataset, "labels", None) is not None:
        names = getattr(dataset, "label_names", None)
        extra["true_label"] = (np.asarray(dataset.labels) if names is None else
                               np.array([names[int(v)] for v in dataset.labels], dtype=object))
    return assignments_frame(object_ids(dataset), result.labels, result.proba, extra=extra)


def labels_csv(result: MethodResult, dataset) -> bytes:
    from clustering.export import csv_bytes

    return csv_bytes(labels_frame(result, dataset))


def partitions_csv(result: MethodResult, dataset) -> bytes:
    """The comparison's partitions: id, then one column of cluster numbers per method."""
    from clustering.export import csv_bytes

    frame = pd.DataFrame({"id": object_ids(dataset)})
    for name, labels in result.extra.get("partitions", {}).items():
        frame[name] = labels
    return csv_bytes(frame)


def table_csv(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """Any result table (metrics, posteriors, flags, profile) as formula-safe CSV."""
    from clustering.export import csv_bytes

    return csv_bytes(frame, index=index)


def config_json(result: MethodResult) -> bytes:
    return (result.config.to_json() + "\n").encode("utf-8")


def model_bytes(result: MethodResult) -> Optional[bytes]:
    """The trained Keras model as a ``.keras`` file (neural runs only)."""
    cached = result.extra.get("keras_bytes")
    model = getattr(result.estimator, "model_", None)
    if cached is None and model is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            cached = path.read_bytes()
        result.extra["keras_bytes"] = cached
    return cached


def estimator_with_model(result: MethodResult):
    """The result's estimator with its Keras model loaded from the ``.keras`` bytes it travelled
    as (see :meth:`MethodResult.__getstate__`), once, with ``safe_mode=True``."""
    est = result.estimator
    data = result.extra.get("keras_bytes")
    if getattr(est, "model_", None) is None and data is not None:
        import keras

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(data)
            est.model_ = keras.saving.load_model(path, safe_mode=True)
    return est


def som_of(result: MethodResult):
    """The SOM behind a result: the SOM itself, or the ensemble's best kept map (``best_map_``)."""
    est = result.estimator
    if result.method == "som":
        return est
    if result.method == "qbm":
        return est.best_map_
    return None


def codebook_csv(result: MethodResult, dataset) -> Optional[bytes]:
    """The codebook (unit, lattice row and column, weights, hits) of the result's map."""
    from clustering.export import codebook_frame, csv_bytes

    som = som_of(result)
    if som is None:
        return None
    return csv_bytes(codebook_frame(som, dataset.feature_names))
