"""The files a result offers, as bytes (no Streamlit): labels, partitions, tables, the
configuration, the Keras model and the codebook. :mod:`ui.downloads` arranges them in buttons.

Every CSV goes through :func:`table_csv` (:func:`clustering.export.csv_bytes`): text cells a
spreadsheet would evaluate (ids or column names starting with =, +, -, @) are neutralised, and the
file is written in the format the data's table was read in (:func:`source_format`).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import pandas as pd

from ui.result import MethodResult, object_ids


def source_format(dataset):
    """How the CSV downloads of results on ``dataset`` are written: the format its table was
    read in (:func:`clustering.export.csv_format` of ``dataset.frame``'s reading notes)."""
    from clustering.export import csv_format

    return csv_format(getattr(dataset, "frame", None))


def labels_frame(result: MethodResult, dataset) -> pd.DataFrame:
    """One row per object (:func:`clustering.export.object_table`): id, cluster and its name,
    p_0 .. p_{K-1} and p_max when known, a map's cell (som_unit, som_row, som_col: the SOM's,
    or the ensemble's best map's), the ensemble's posterior, flag and flag_reason, the true
    label, then the input table's columns of the kept rows."""
    from clustering.export import ensemble_columns, object_table, som_cell_columns

    extra = {}
    som = som_of(result)
    if som is not None and getattr(som, "bmu_", None) is not None \
            and len(som.bmu_) == len(result.labels):
        extra.update(som_cell_columns(som))
    if result.method == "qbm":
        extra.update(ensemble_columns(result.estimator))
    return object_table(object_ids(dataset), result.labels, result.proba, dataset=dataset,
                        extra=extra)


def labels_csv(result: MethodResult, dataset) -> bytes:
    """:func:`labels_frame` as CSV in the data's format (:func:`source_format`)."""
    return table_csv(labels_frame(result, dataset), dataset=dataset)


def partitions_csv(result: MethodResult, dataset) -> bytes:
    """The comparison's partitions: id, then one column of cluster numbers per method."""
    frame = pd.DataFrame({"id": object_ids(dataset)})
    for name, labels in result.extra.get("partitions", {}).items():
        frame[name] = labels
    return table_csv(frame, dataset=dataset)


def table_csv(frame: pd.DataFrame, *, index: bool = False, dataset=None) -> bytes:
    """Any result table (labels, metrics, posteriors, flags, codebook) as formula-safe CSV in
    the format of ``dataset``'s table (:func:`source_format`; UTF-8 with a BOM without one):
    the one writer of every CSV download."""
    from clustering.export import csv_bytes

    return csv_bytes(frame, index=index, fmt=source_format(dataset))


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


def codebook_frame(result: MethodResult, dataset) -> Optional[pd.DataFrame]:
    """The codebook of the result's map (unit, lattice row and column, the weights in the
    input's units and as trained, hits: :func:`clustering.export.codebook_frame`); None for a
    result without a map."""
    from clustering.export import codebook_frame as frame

    som = som_of(result)
    if som is None:
        return None
    return frame(som, dataset.feature_names, getattr(dataset, "scaler", None),
                 getattr(dataset, "scaling", "none"))


def codebook_csv(result: MethodResult, dataset) -> Optional[bytes]:
    """:func:`codebook_frame` as CSV in the data's format."""
    frame = codebook_frame(result, dataset)
    return None if frame is None else table_csv(frame, dataset=dataset)
