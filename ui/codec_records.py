"""The app's two kinds of stored objects as records: data sets and results, checked on the way in.

:func:`encode_dataset` / :func:`decode_dataset` store every field of a
:class:`clustering.tables.Dataset`; :func:`encode_result` / :func:`decode_result` a
:class:`ui.runs.MethodResult` of any method with its estimator and learned state, the network's
model as its ``.keras`` blob (loaded on demand). Decoding checks every field's type and shape
before the object is built, so a tampered record is refused with one sentence, never half read.
"""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd

from clustering.i18n import Message, N_
from ui.codec_formats import CodecError, Record, check_keras
from ui.codec_values import Reader, Writer, guarded, record

__all__ = ["encode_dataset", "decode_dataset", "encode_result", "decode_result"]


def encode_dataset(ds) -> Record:
    """A :class:`clustering.tables.Dataset` (every field) as a record."""
    from clustering.tables import Dataset

    if type(ds) is not Dataset:
        raise CodecError(N_("Expected a Dataset, got {type}."), type=type(ds).__name__)
    writer = Writer()
    fields = {f.name: getattr(ds, f.name) for f in dataclasses.fields(ds)}
    return record("dataset", writer, writer.fields(fields, "dataset"))


def decode_dataset(meta: dict, blobs: dict[str, bytes]):
    """The :class:`~clustering.tables.Dataset` of :func:`encode_dataset`'s record.

    Raises
    ------
    CodecError
        For a damaged, tampered or foreign record, or fields of the wrong type or shape.
    """
    return guarded("data set", lambda: _decode_dataset(meta, blobs))


def _decode_dataset(meta: dict, blobs: dict[str, bytes]):
    from clustering.tables import Dataset

    r = Reader(meta, blobs, "dataset")
    fields = r.value(meta.get("value"), "dataset")
    if type(fields) is not dict or set(fields) != {f.name for f in dataclasses.fields(Dataset)}:
        raise CodecError("The stored data set does not have the fields of a Dataset.")
    _check_dataset(fields)
    return Dataset(**fields)


def _check_dataset(f: dict) -> None:
    X = f["X"]
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != np.float64:
        raise CodecError("The stored data set's X is not a 2-D float64 array.")
    n, d = X.shape
    for name in ("raw", "frame"):
        if not (f[name] is None and name == "frame") and not (
                isinstance(f[name], pd.DataFrame) and len(f[name]) == n):
            raise CodecError(N_("The stored data set's {name} is not a table of {n} rows."),
                             name=name, n=n)
    names = f["feature_names"]
    if type(names) is not list or len(names) != d or not all(type(s) is str for s in names):
        raise CodecError(N_("The stored data set's feature_names are not {d} names."), d=d)
    if f["ids"] is not None and not (isinstance(f["ids"], np.ndarray) and f["ids"].shape == (n,)):
        raise CodecError(N_("The stored data set's ids are not {n} values."), n=n)
    labels = f["labels"]
    if labels is not None and not (isinstance(labels, np.ndarray) and labels.shape == (n,)
                                   and labels.dtype.kind in "iu"):
        raise CodecError(N_("The stored data set's labels are not {n} integers."), n=n)
    for name in ("label_names", "notes"):
        value = f[name]
        if not (value is None and name == "label_names") and not (
                type(value) is list and all(isinstance(s, str) for s in value)):
            raise CodecError(N_("The stored data set's {name} are not a list of text."),
                             name=name)
    if f["scaling"] not in ("standard", "minmax", "none"):
        raise CodecError(N_("The stored data set's scaling {scaling!r} is unknown."),
                         scaling=f["scaling"])
    if f["scaler"] is not None and type(f["scaler"]).__name__ not in ("StandardScaler",
                                                                      "MinMaxScaler"):
        raise CodecError("The stored data set's scaler is not a scikit-learn scaler.")


def encode_result(result) -> Record:
    """A :class:`ui.runs.MethodResult` of any kind (neural, som, qbm, compare, classic) as a
    record: its fields, the estimator with its learned state, ``extra`` and ``metrics``.

    A network's Keras model goes as its ``.keras`` bytes (``meta["model"]`` names the blob): the
    cached ``extra["keras_bytes"]``, or :func:`ui.runs.model_bytes` of a live ``model_`` (which
    caches them on ``result`` as training does). Attributes set on the result outside its
    dataclass fields (the store's ``run_id``) are not part of the record.

    Raises
    ------
    CodecError
        Naming the first value of a type the codec does not know (nothing is dropped silently).
    """
    from ui import runs

    if type(result) is not runs.MethodResult:
        raise CodecError(N_("Expected a MethodResult, got {type}."), type=type(result).__name__)
    est = result.estimator
    if getattr(est, "model_", None) is not None:
        runs.model_bytes(result)
        est = copy.copy(est)
        est.model_ = None  # the model travels as .keras bytes, as from a worker
    extra = dict(result.extra)
    model = extra.pop("keras_bytes", None)
    if model is not None and type(model) is not bytes:
        raise CodecError("result.extra['keras_bytes']: expected the .keras file's bytes.")
    writer = Writer()
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    fields.update(estimator=est, extra=extra)
    payload = writer.fields(fields, "result")
    model_name = None if model is None else writer.blob(model, "keras")
    meta, blobs = record("result", writer, payload)
    meta["model"] = model_name
    return meta, blobs


def decode_result(meta: dict, blobs: dict[str, bytes], *, load_model: bool = False):
    """The :class:`~ui.runs.MethodResult` of :func:`encode_result`'s record.

    A network's model comes back as ``extra["keras_bytes"]`` (checked to be an intact ``.keras``
    archive) with ``estimator.model_ = None``, loaded on demand by
    :func:`ui.runs.estimator_with_model` (``safe_mode=True``); ``load_model=True`` loads it here.

    Raises
    ------
    CodecError
        For a damaged, tampered or foreign record: a blob changed or missing, a wrong
        :data:`CODEC_VERSION`, a class outside the allow-list, a field of the wrong type or shape,
        a model that does not load.
    """
    return guarded("result", lambda: _decode_result(meta, blobs, load_model))


def _decode_result(meta: dict, blobs: dict[str, bytes], load_model: bool):
    from ui import runs

    r = Reader(meta, blobs, "result")
    fields = r.value(meta.get("value"), "result")
    names = {f.name for f in dataclasses.fields(runs.MethodResult)}
    if type(fields) is not dict or set(fields) != names:
        raise CodecError("The stored result does not have the fields of a MethodResult.")
    if type(fields["extra"]) is not dict:
        raise CodecError("The stored result's extra is not a dict.")
    model = meta.get("model")
    if "keras_bytes" in fields["extra"]:
        raise CodecError("The stored result's extra holds model bytes outside its model blob.")
    if model is not None:
        data = r.blob({"blob": model}, "model")
        check_keras(data, Message(N_("The stored result's model")))
        fields["extra"]["keras_bytes"] = data
    _check_result(fields)
    result = runs.MethodResult(**fields)
    if load_model and model is not None:
        try:
            runs.estimator_with_model(result)
        except Exception as err:  # noqa: BLE001
            raise CodecError(N_("The stored result's Keras model cannot be loaded ({type}: "
                                "{error})."), type=type(err).__name__, error=str(err)) from None
    return result


def _check_result(f: dict) -> None:
    from clustering import config as cfg

    method = f["method"]
    if method not in cfg.method_names() + ["compare"]:
        raise CodecError(N_("The stored result is of an unknown method {method!r}."),
                         method=method)
    config = f["config"]
    expected = "ComparisonConfig" if method == "compare" else "RunConfig"
    if config is not None and (type(config).__name__ != expected
                               or getattr(config, "method", method) != method):
        raise CodecError(N_("The stored {method} result holds a configuration of another "
                            "kind."), method=method)
    if config is not None and not all(type(getattr(config, k)) is t for k, t in (
            ("params" if method != "compare" else "methods", dict), ("data", dict),
            ("note", str))):
        raise CodecError(N_("The stored {method} result's configuration has fields of the "
                            "wrong type."), method=method)
    labels, proba = f["labels"], f["proba"]
    if not (isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"):
        raise CodecError("The stored result's labels are not a 1-D array of integers.")
    if proba is not None and not (isinstance(proba, np.ndarray) and proba.ndim == 2
                                  and proba.dtype.kind == "f"
                                  and proba.shape[0] == labels.shape[0]):
        raise CodecError(N_("The stored result's proba is not a float array of {n} rows."),
                         n=labels.shape[0])
    est = f["estimator"]
    want = (cfg.ESTIMATORS[method][1] if method in cfg.ESTIMATORS else
            None if method == "compare" else "ClassicResult")
    if est is not None and type(est).__name__ != want:
        raise CodecError(N_("The stored {method} result holds a {found}, not a {expected}."),
                         method=method, found=type(est).__name__, expected=str(want))
    if type(f["metrics"]) is not dict or not all(type(k) is str for k in f["metrics"]):
        raise CodecError("The stored result's metrics are not a dict of named figures.")
    for name, types in (("elapsed", (float, int)), ("stopped", (bool,)),
                        ("data_token", (int,)), ("stop_reason", (str,))):
        if type(f[name]) not in types:
            raise CodecError(N_("The stored result's {name} has the wrong type ({type})."),
                             name=name, type=type(f[name]).__name__)
