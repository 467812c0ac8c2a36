"""Training runs behind the pages, free of Streamlit: check, fit, score.

:func:`train` fits one registered method (:mod:`clustering.registry`) with the chosen settings
plus ``callback``/``stop`` (the backend's progress protocol) and returns a
:class:`~ui.result.MethodResult`; :func:`compare` runs several; :func:`preflight` refuses before
the job starts what the fit would refuse (the estimator's public ``plan(X)``). Every method
follows :func:`app_params`, the server's execution policy.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering import config as cfg
from clustering import registry
from clustering.errors import ClusteringError
from clustering import i18n
from clustering.i18n import N_, _
from clustering.progress import Progress
from ui.headline import comparison_order
from ui.methods import compare_label
from ui.result import MethodResult, quality
from ui.result_files import estimator_with_model, model_bytes


def job_config(method: str, params: Mapping[str, Any], data_spec: Mapping[str, Any]) -> dict:
    """The configuration a job records to be run again: a :class:`clustering.config.RunConfig`
    (for a comparison, ``params`` maps each method to its parameters: a ``ComparisonConfig``)."""
    if method == "compare":
        return cfg.ComparisonConfig({m: dict(p) for m, p in params.items()},
                                    dict(data_spec)).to_dict()
    return cfg.RunConfig(method=method, params=dict(params), data=dict(data_spec)).to_dict()


def agreement_table(partitions: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Adjusted Rand index between every two of ``partitions`` (name -> labels), a square table."""
    from sklearn.metrics import adjusted_rand_score

    names = list(partitions)
    values = [[float(adjusted_rand_score(partitions[a], partitions[b])) for b in names]
              for a in names]
    return pd.DataFrame(values, index=names, columns=names).round(4)


def _finish(method: str, config: cfg.RunConfig, dataset, est, labels, proba, started: float,
            stop, data_token: int, extra: Optional[dict] = None) -> MethodResult:
    labels = np.asarray(labels)
    y_true = getattr(dataset, "labels", None)
    metrics = quality(dataset.X, labels, y_true=y_true)
    stopped = bool(getattr(est, "stopped_", False)) or bool(stop is not None and stop.is_set())
    return MethodResult(method=method, config=config, labels=labels,
                        proba=None if proba is None else np.asarray(proba, dtype=float),
                        estimator=est, metrics=metrics, elapsed=time.monotonic() - started,
                        stopped=stopped, data_token=data_token, extra=extra or {})


#: Settings that the server decides, never a page or a saved configuration: where a run executes
#: (a Dask scheduler: the server's ``CLUSTERMAP_DASK_SCHEDULER`` or this process; an address in an
#: uploaded file would send the user's data to any host), how many processes it takes, and how
#: much memory it may plan for (``CLUSTERMAP_MEMORY_LIMIT``).
SERVER_PARAMS = ("scheduler", "n_jobs", "memory_limit")


def app_params(method: str, params: Mapping[str, Any]) -> dict:
    """The app's execution policy, for every method and every way a run starts (its page, a saved
    run, a comparison): the :data:`SERVER_PARAMS` are dropped, so no per-session Dask cluster, no
    remote scheduler, no memory limit above the server's; then the registry's ``app_settings``
    apply (the ensemble's maps one after the other in the session's job, one core per session;
    the server-wide queue limits concurrent trainings)."""
    params = {k: v for k, v in params.items() if k not in SERVER_PARAMS}
    params.update(registry.get(method).app_settings)
    return params


def preflight(method: str, params: Mapping[str, Any], X: np.ndarray):
    """Refuse before the job starts what the fit would refuse at once
    (:func:`clustering.runner.preflight` under :func:`app_params`: the estimator's public
    ``plan(X)``, a memory estimate above the limit naming ``memory_limit`` or
    ``CLUSTERMAP_MEMORY_LIMIT``; a classic method's bounded settings). Nothing is trained;
    returns the plan (None for a classic method)."""
    return cfg.preflight(method, app_params(method, params), X)


def worker_params(method: str, params: Mapping[str, Any]) -> dict:
    """The settings a fit on a worker gets beyond the recorded ones: a SOM or an ensemble runs
    inside the job's worker process (``scheduler="local"``), which is already the one worker that
    the job holds; its batch sums or maps never fan out to other workers from there."""
    params = dict(params)
    if "scheduler" in cfg.default_params(method):
        params["scheduler"] = "local"
    return params


def preflight_comparison(methods: Mapping[str, Mapping[str, Any]], X: np.ndarray) -> None:
    """:func:`preflight` for every method of a comparison, before its job starts; a refusal
    names the method."""
    for name, params in methods.items():
        try:
            preflight(name, cfg.validate_params(name, app_params(name, params)), X)
        except ClusteringError as err:
            raise err.prefixed(N_("{method}: "), method=compare_label(name)) from None


def planned_execution(method: str) -> str:
    """Where the app's next run goes, without connecting to anything."""
    from clustering import cluster

    return _("Runs on a worker of {cluster}, never in the web server.").format(
        cluster=i18n.text(cluster.describe()))


def execution_text(result: MethodResult) -> str:
    """Which Dask worker ran a finished run and how it ran there (the registry's
    ``execution_text`` of its method: a SOM chunked or not, an ensemble's maps one after the
    other); "" when nothing is known."""
    worker = result.extra.get("worker") if isinstance(result.extra, dict) else None
    where = _("Ran on Dask worker {worker}").format(worker=worker) if worker else ""
    spec = registry.get(result.method) if result.method in registry.names() else None
    how_of = registry.resolve(spec.execution_text) if spec is not None else None
    how = how_of(result) if how_of is not None else ""
    if where and how:
        return f"{where}: {how}."
    return f"{where}." if where else ""


def train(method: str, params: Mapping[str, Any], dataset, data_spec: Mapping[str, Any], *,
          callback: Optional[Callable[[Progress], None]] = None, stop=None,
          data_token: int = 0) -> MethodResult:
    """Fit ``method`` with ``params`` on ``dataset``; the config records ``data_spec``.

    Every method follows :func:`app_params` (the server's execution settings). A network's
    registry's ``after_train`` runs here too, on the job's worker (a network's views that need
    the model, the ensemble's k-means comparison)."""
    params = cfg.validate_params(method, app_params(method, params))
    config = cfg.RunConfig(method=method, params=params, data=dict(data_spec))
    started = time.monotonic()
    est, labels, proba = cfg.fit_method(method, worker_params(method, params), dataset.X,
                                        callback=callback, stop=stop)
    result = _finish(method, config, dataset, est, labels, proba, started, stop, data_token)
    after = registry.resolve(registry.get(method).after_train)
    if after is not None:
        after(result, dataset)
    return result


def neural_views(result: MethodResult, dataset) -> None:
    """A network's views that need the model, made on the job's worker so the web process only
    draws them: its decision regions on 2-D data and its ``.keras`` file."""
    if dataset.X.shape[1] == 2:
        decision_grid(result, dataset.X)
    model_bytes(result)


def compare(methods: Mapping[str, Mapping[str, Any]], dataset, data_spec: Mapping[str, Any], *,
            callback: Optional[Callable[[Progress], None]] = None, stop=None,
            data_token: int = 0) -> MethodResult:
    """Run several methods one after the other; the result's ``extra`` holds each partition.

    ``methods`` maps a config method name to its parameters. A method that fails is reported in
    ``extra["errors"]`` and the others still run. Stop ends the comparison after the method that is
    running (which itself stops early and keeps what it has).
    """
    started = time.monotonic()
    names = list(methods)
    partitions: dict[str, np.ndarray] = {}
    checked: dict[str, dict] = {}
    rows: dict[str, dict] = {}
    errors: dict[str, str] = {}
    y_true = getattr(dataset, "labels", None)
    for i, name in enumerate(names):
        if stop is not None and stop.is_set():
            break
        label = compare_label(name)

        def sub(p: Progress, i=i, label=label):
            if callback is not None:
                frac = p.fraction if p.total else 0.0
                # no metrics: each method reports its own, which share no axis or scale
                step = (i18n.text(p.message) if p.message else
                        _("step {step} of {total}").format(step=p.step, total=p.total))
                callback(Progress("compare", i * 1000 + int(frac * 1000), len(names) * 1000,
                                  {}, _("method {i} of {n}: {label} ({step})").format(
                                      i=i + 1, n=len(names), label=label, step=step)))

        if callback is not None:
            callback(Progress("compare", i * 1000, len(names) * 1000, {},
                              _("method {i} of {n}: {label}").format(
                                  i=i + 1, n=len(names), label=label)))
        t0 = time.monotonic()
        try:
            params = checked[name] = cfg.validate_params(name, app_params(name, methods[name]))
            est, labels, _proba = cfg.fit_method(name, worker_params(name, params), dataset.X,
                                            callback=sub, stop=stop)
        except ClusteringError as err:
            errors[label] = i18n.text(err)
            continue
        labels = np.asarray(labels)
        partitions[label] = labels
        row = quality(dataset.X, labels, y_true=y_true)  # n_clusters and noise found
        row["seconds"] = time.monotonic() - t0
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not table.empty:
        table = comparison_order(table)
    table.index.name = "method"
    config = cfg.ComparisonConfig(checked, dict(data_spec))  # the settings of what ran
    if callback is not None:
        callback(Progress("compare", len(names) * 1000, len(names) * 1000, {}, _("done"),
                              done=True))
    return MethodResult(method="compare", config=config, labels=np.zeros(0, int), proba=None,
                        estimator=None, metrics={}, elapsed=time.monotonic() - started,
                        stopped=bool(stop is not None and stop.is_set()), data_token=data_token,
                        extra={"partitions": partitions, "table": table, "errors": errors})


def decision_grid(result: MethodResult, X2: np.ndarray, resolution: int = 110):
    """The network's output over a grid covering 2-D data: ``(xs, ys, grid_proba)``, cached."""
    from clustering.plots import plane_grid

    cached = result.extra.get("grid")
    if cached is not None and cached[0] == resolution:
        return cached[1:]
    xs, ys, grid = plane_grid(X2, resolution)
    proba = np.asarray(estimator_with_model(result).predict_proba(grid))
    result.extra["grid"] = (resolution, xs, ys, proba)
    return xs, ys, proba


def compare_params(chosen: Sequence[str], n_clusters: int, seed: int, eps: float,
                   min_samples: int, *, n_objects: int) -> dict[str, dict]:
    """Settings of each compared method: the same K and seed, then the registry's
    ``compare_params`` of the method (the recommended network; a SOM sized by its own rule; DBSCAN's
    own eps and min_samples)."""
    out: dict[str, dict] = {}
    for method in chosen:
        defaults = cfg.default_params(method)
        own = registry.resolve(registry.get(method).compare_params)
        params: dict[str, Any] = {}
        if own is not None:
            params = own(n_clusters=n_clusters, seed=seed, eps=eps, min_samples=min_samples,
                         n_objects=n_objects)
        if "n_clusters" in defaults and registry.get(method).uses_n_clusters:
            params.setdefault("n_clusters", n_clusters)
        if "random_state" in defaults:
            params["random_state"] = seed
        out[method] = params
    return out


def neural_compare_params(n_clusters: int, **_ignored) -> dict:
    """The network of a comparison: :meth:`NeuralSoftClustering.recommended` with K clusters."""
    from clustering.neural import NeuralSoftClustering

    return dict(NeuralSoftClustering.recommended(n_clusters).get_params())


def som_compare_params(**_ignored) -> dict:
    """The map of a comparison: the lattice left to the SOM (``rows=None``: about 5 sqrt(N)
    units shaped by the data, :func:`clustering.som.suggest_lattice`)."""
    return {}


def dbscan_compare_params(eps: float, min_samples: int, **_ignored) -> dict:
    """DBSCAN's own settings of a comparison (it finds its own number of clusters)."""
    return {"eps": eps, "min_samples": min_samples}
