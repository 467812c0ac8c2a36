"""Repeat a run: rebuild the data a configuration describes and fit its method.

:func:`load_data` rebuilds the :class:`~clustering.tables.Dataset` of a data recipe (limits checked
before anything is made); :func:`fit_method` fits a registered method
(:mod:`clustering.registry`) and returns its labels and probabilities; :func:`run` does both for a
:class:`~clustering.runconfig.RunConfig`; :func:`preflight` refuses a fit before it starts (the
estimator's public ``plan(X)``). The command line's per-method result columns and model files
(:func:`som_cells`, :func:`qbm_flags`, :func:`save_keras_model`, :func:`save_codebook`) are named
by the registry's entries.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from clustering import registry
from clustering.errors import ConfigError
from clustering.i18n import Message, N_
from clustering.runconfig import ROOT, RunConfig, validate_data

# ----------------------------------------------------------------------------------- running
def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _csv_bytes(csv: Any) -> bytes:
    if csv is None:
        return b""
    if isinstance(csv, (bytes, bytearray)):
        return bytes(csv)
    if hasattr(csv, "getvalue"):
        return csv.getvalue()
    if isinstance(csv, (str, Path)):
        return Path(csv).read_bytes()
    return csv.read()


def load_table(data: Mapping[str, Any], csv: Any = None):
    """The table of a csv/example recipe with its aggregates added (a DataFrame)."""
    from clustering import aggregation, tables

    if data["source"] == "example":
        raw = (ROOT / data["path"]).read_bytes()
    else:
        raw = _csv_bytes(csv)
        if not raw:
            name = data.get("file_name")
            if not name:
                raise ConfigError(N_("data: this run used the uploaded file 'the CSV file'; "
                                     "upload it again to repeat the run."))
            raise ConfigError(N_("data: this run used the uploaded file {name!r}; upload it "
                                 "again to repeat the run."), name=name)
        if sha256_of(raw) != data["sha256"]:
            if not data.get("file_name"):
                raise ConfigError(N_("data.sha256: the file given differs from the one the run "
                                     "used (unnamed); give the same file."))
            raise ConfigError(N_("data.sha256: the file given differs from the one the run used "
                                 "({name}); give the same file."), name=data["file_name"])
    frame = tables.read_csv(raw, **data.get("read", {}))
    for agg in data.get("aggregations", []):
        kwargs = {"criterion": agg["criterion"]}
        if agg.get("weights") is not None:
            kwargs["weights"] = agg["weights"]
        if agg.get("overwrite"):
            kwargs["overwrite"] = True
        frame = aggregation.aggregate(frame, agg["groups"], **kwargs)
    return frame


def load_data(data: Mapping[str, Any], csv: Any = None):
    """Rebuild the :class:`~clustering.tables.Dataset` a recipe describes."""
    from clustering import tables

    data = validate_data(data)
    if data["source"] == "generator":
        from clustering import datasets

        tables.check_size(*datasets.planned_shape(data["name"], data["params"]),
                          what=Message(N_("The {name} data set"), name=data["name"]))
        X, y = datasets.generate(data["name"], **data["params"])
        return tables.from_arrays(X, y)
    frame = load_table(data, csv)
    return tables.prepare(frame, **data["prepare"])


@dataclass
class RunOutcome:
    """What :func:`run` produced."""

    config: RunConfig
    dataset: Any
    estimator: Any
    labels: np.ndarray
    proba: Optional[np.ndarray]


def fit_method(method: str, params: Mapping[str, Any], X: np.ndarray, *, callback=None,
               stop=None):
    """Fit ``method`` on ``X``; returns ``(estimator_or_result, labels, proba_or_None)``."""
    spec = registry.get(method)
    if spec.classic:
        from clustering import classic

        params = dict(params)
        n_clusters = params.pop("n_clusters", 3)
        out = classic.run_classic(method, X, n_clusters, **params)
        return out, np.asarray(out.labels_), out.proba_
    est = registry.estimator_class(method)(**params)
    sig = inspect.signature(est.fit).parameters
    fit_params = {k: v for k, v in (("callback", callback), ("stop", stop)) if k in sig}
    est.fit(X, **fit_params)
    labels = getattr(est, "labels_", None)
    if labels is None:
        labels = est.predict(X)
    proba = getattr(est, "proba_", None)
    if proba is None and hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
    return est, np.asarray(labels), None if proba is None else np.asarray(proba)


def preflight(method: str, params: Mapping[str, Any], X: np.ndarray):
    """Refuse before any work what the fit of ``method`` would refuse at once: bad settings,
    data it cannot take and, where the estimator plans its memory, a job above the limit. The
    estimator's public ``plan(X)`` (a :class:`clustering.planning.Plan`, returned) or the
    registry's ``preflight`` hook; a classic method's bounded settings
    (:func:`clustering.classic.check_classic`). Nothing is trained."""
    spec = registry.get(method)
    if spec.classic:
        from clustering.classic import check_classic

        params = dict(params)
        check_classic(method, params.pop("n_clusters", 3), params, np.shape(X))
        return None
    from clustering.metrics import check_data

    X = check_data(X)
    est = registry.estimator_class(method)(**params)
    hook = registry.resolve(spec.preflight)
    if hook is not None:
        return hook(est, X)
    if hasattr(est, "plan"):
        return est.plan(X)
    return None


def run(config: RunConfig, dataset=None, *, csv: Any = None, callback=None, stop=None) -> RunOutcome:
    """Repeat the run ``config`` describes (rebuilding the data unless ``dataset`` is given)."""
    if dataset is None:
        dataset = load_data(config.data, csv)
    est, labels, proba = fit_method(config.method, config.params, dataset.X,
                                    callback=callback, stop=stop)
    return RunOutcome(config, dataset, est, labels, proba)


# ----------------------------------------------------------------------------------- CLI hooks
def som_cells(est, frame) -> None:
    """The SOM's result columns: each object's lattice cell (``cell``, before ``true_label``)."""
    at = frame.columns.get_loc("true_label") if "true_label" in frame.columns else frame.shape[1]
    frame.insert(at, "cell", np.asarray(est.bmu_))


def qbm_flags(est, frame) -> None:
    """The ensemble's result columns: each object's flags with their reasons (``flags``)."""
    text: dict[int, list[str]] = {}
    for row in est.flags_.itertuples(index=False):
        text.setdefault(int(row.object), []).append(f"{row.flag}: {row.reason}")
    frame["flags"] = ["; ".join(text.get(i, [])) for i in range(len(frame))]


def save_keras_model(est, dataset, path: str) -> None:
    """``--save-model`` of a network: its Keras model (a ``.keras`` file)."""
    if not str(path).endswith(".keras"):
        raise ConfigError(N_("--save-model: a Keras model file must end in .keras."))
    est.model_.save(path)


def save_codebook(est, dataset, path: str) -> None:
    """``--save-model`` of a map or an ensemble: the (best) map's codebook as CSV."""
    from clustering import export

    som = getattr(est, "best_map_", est)
    if som is None:
        raise ConfigError(N_("--save-model: the ensemble kept no map whose codebook could be "
                             "saved."))
    frame = export.codebook_frame(som, dataset.feature_names)
    Path(path).write_bytes(export.csv_bytes(frame))
