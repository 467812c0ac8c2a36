"""Training runs behind the pages, free of Streamlit: fit, score, and build the downloads.

Each ``train_*`` function takes the data set and the chosen settings plus ``callback``/``stop``
(the backend's progress protocol) and returns a :class:`MethodResult`, which the pages draw and
the session keeps. Every result carries its full :class:`~clustering.config.RunConfig`; loading
that JSON back reproduces the run.
"""
from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering import config as cfg
from clustering.errors import ClusteringError
from clustering.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_RELPATH = "data/taxpayers_synthetic.csv"
EXAMPLE_PATH = ROOT / EXAMPLE_RELPATH
EXAMPLE_FEATURES = ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]
#: Names of a known-class column in example tables (the bundled one plants ``planted_group``).
EXAMPLE_LABELS = ("planted_group", "label", "class", "true_cluster")

#: Methods of the Compare page: label -> config method name (classic names resolved lazily).
#: Each kind of result: its title and its page.
RESULT_TITLES = {"neural": "Neural clustering", "som": "Self-organizing map",
                 "qbm": "Quasi-Bayesian ensemble", "compare": "Comparison"}
RESULT_PAGES = {"neural": "pages/neural.py", "som": "pages/som.py", "qbm": "pages/ensemble.py",
                "compare": "pages/compare.py"}
#: The prefix of each method page's setting widgets (``forms.param_inputs``).
FORM_KEYS = {"neural": "nn", "som": "som", "qbm": "qbm"}

COMPARE_LABELS = {
    "neural": "Neural (recommended network)",
    "som": "SOM clusters",
    "kmeans": "k-means",
    "macqueen": "MacQueen k-means",
    "spectral": "Spectral",
    "dbscan": "DBSCAN",
    "gmm": "Gaussian mixture",
}


@dataclass
class MethodResult:
    """A finished (or stopped) run as the pages need it."""

    method: str
    config: Any  # cfg.RunConfig; cfg.ComparisonConfig for a comparison
    labels: np.ndarray
    proba: Optional[np.ndarray]
    estimator: Any
    metrics: dict
    elapsed: float
    stopped: bool = False
    data_token: int = 0
    #: Why training ended early: "" (it did not), "user" (Stop) or "time" (the time cap).
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)

    def __getstate__(self) -> dict:
        """What travels from the job's worker to the web process: a network goes as its
        ``.keras`` bytes (``extra["keras_bytes"]``), not as a live Keras model, whose rebuilding
        took the web process 2 to 10 s of CPU per result with ten sessions training;
        :func:`estimator_with_model` loads it again (``safe_mode=True``) where a view needs it."""
        state = dict(self.__dict__)
        if getattr(self.estimator, "model_", None) is not None:
            model_bytes(self)
            light = copy.copy(self.estimator)
            light.model_ = None
            state["estimator"] = light
        return state

    @property
    def n_clusters(self) -> int:
        if self.proba is not None:
            return int(self.proba.shape[1])
        return int(self.labels.max()) + 1 if self.labels.size else 0


# ----------------------------------------------------------------------------------- data
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


def object_ids(dataset) -> list[str]:
    ids = getattr(dataset, "ids", None)
    return [str(i) for i in (ids if ids is not None else range(1, dataset.X.shape[0] + 1))]


# ----------------------------------------------------------------------------------- scoring
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


def quality(X: np.ndarray, labels: np.ndarray, y_true=None) -> dict:
    """:func:`clustering.metrics.quality_report` (name -> float, NaN where undefined)."""
    from clustering import metrics

    return {str(k): float(v) for k, v in metrics.quality_report(X, labels, y_true=y_true).items()}


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


#: The app trains an ensemble's maps one after the other in the session's job thread (one core
#: per session; the server-wide queue limits concurrent trainings).
APP_N_JOBS = 1
#: Settings that the server decides, never a page or a saved configuration: where a run executes
#: (a Dask scheduler: the server's ``CLUSTERMAP_DASK_SCHEDULER`` or this process; an address in an
#: uploaded file would send the user's data to any host), how many processes it takes, and how
#: much memory it may plan for (``CLUSTERMAP_MEMORY_LIMIT``).
SERVER_PARAMS = ("scheduler", "n_jobs", "memory_limit")


def app_params(method: str, params: Mapping[str, Any]) -> dict:
    """The app's execution policy, for every method and every way a run starts (its page, a saved
    run, a comparison): the :data:`SERVER_PARAMS` are dropped, so no per-session Dask cluster, no
    remote scheduler, no memory limit above the server's; the ensemble's maps run one at a
    time."""
    params = {k: v for k, v in params.items() if k not in SERVER_PARAMS}
    if method == "qbm":
        params["n_jobs"] = APP_N_JOBS
    return params


def preflight(method: str, params: Mapping[str, Any], X: np.ndarray) -> None:
    """Refuse before the job starts what the fit would refuse at once: bad settings and, for
    the neural network, the SOM and the ensemble, a memory estimate above the limit (the message
    names the setting, ``memory_limit`` or ``CLUSTERMAP_MEMORY_LIMIT``); for a classic method,
    its bounded settings (clusters, restarts, iterations, MacQueen's work; :mod:`clustering.
    limits`). Nothing is trained."""
    if method not in cfg.ESTIMATORS:
        from clustering.classic import check_classic

        params = dict(app_params(method, params))
        check_classic(method, params.pop("n_clusters", 3), params, np.shape(X))
        return
    from clustering.metrics import check_data

    X = check_data(X)
    est = cfg.estimator_class(method)(**app_params(method, params))
    if method == "neural":
        est.plan(X)
        return
    est._check_params(X)
    if method == "som":
        rows, cols = est._resolve(X)[:2]
        est._plan(X, rows * cols)
    else:
        est._map_params(X)
        est._check_local_memory(APP_N_JOBS)


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
            raise type(err)(f"{COMPARE_LABELS.get(name, name)}: {err}") from None


def planned_execution(method: str) -> str:
    """Where the app's next run goes, without connecting to anything."""
    from clustering import cluster

    return f"Runs on a worker of {cluster.describe()}, never in the web server."


def execution_text(result: "MethodResult") -> str:
    """Which Dask worker ran a finished run and, for a SOM or an ensemble, how it ran there
    (chunked or not, maps one after the other); "" when nothing is known."""
    worker = result.extra.get("worker") if isinstance(result.extra, dict) else None
    where = f"Ran on Dask worker {worker}" if worker else ""
    info = getattr(result.estimator, "execution_", None)
    if result.method == "qbm" and info:
        how = f"{len(result.estimator.maps_)} maps one after the other"
    elif result.method == "som" and info:
        how = info["summary"].split("; ", 1)[-1] if "; " in info["summary"] else ""
    else:
        how = ""
    if where and how:
        return f"{where}: {how}."
    return f"{where}." if where else ""


def train(method: str, params: Mapping[str, Any], dataset, data_spec: Mapping[str, Any], *,
          callback: Optional[Callable[[Progress], None]] = None, stop=None,
          data_token: int = 0) -> MethodResult:
    """Fit ``method`` with ``params`` on ``dataset``; the config records ``data_spec``.

    Every method follows :func:`app_params` (the server's execution settings). A network's
    views that need the model (its decision regions on 2-D data, its ``.keras`` file) are made
    here too, on the job's worker, so the web process only draws them."""
    params = cfg.validate_params(method, app_params(method, params))
    config = cfg.RunConfig(method=method, params=params, data=dict(data_spec))
    started = time.monotonic()
    est, labels, proba = cfg.fit_method(method, worker_params(method, params), dataset.X,
                                        callback=callback, stop=stop)
    result = _finish(method, config, dataset, est, labels, proba, started, stop, data_token)
    if method == "neural":
        if dataset.X.shape[1] == 2:
            decision_grid(result, dataset.X)
        model_bytes(result)
    return result


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
        label = COMPARE_LABELS.get(name, name)

        def sub(p: Progress, i=i, label=label):
            if callback is not None:
                frac = p.fraction if p.total else 0.0
                # no metrics: each method reports its own, which share no axis or scale
                callback(Progress("compare", i * 1000 + int(frac * 1000), len(names) * 1000,
                                  {}, f"method {i + 1} of {len(names)}: {label} "
                                  f"({p.message or f'step {p.step} of {p.total}'})"))

        if callback is not None:
            callback(Progress("compare", i * 1000, len(names) * 1000, {},
                              f"method {i + 1} of {len(names)}: {label}"))
        t0 = time.monotonic()
        try:
            params = checked[name] = cfg.validate_params(name, app_params(name, methods[name]))
            est, labels, _ = cfg.fit_method(name, worker_params(name, params), dataset.X,
                                            callback=sub, stop=stop)
        except ClusteringError as err:
            errors[label] = str(err)
            continue
        labels = np.asarray(labels)
        partitions[label] = labels
        row = quality(dataset.X, labels, y_true=y_true)
        row["clusters found"] = float(len(set(labels.tolist()) - {-1}))
        row["noise points"] = float(np.sum(labels < 0))
        row["seconds"] = time.monotonic() - t0
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "method"
    config = cfg.ComparisonConfig(checked, dict(data_spec))  # the settings of what ran
    if callback is not None:
        callback(Progress("compare", len(names) * 1000, len(names) * 1000, {}, "done", done=True))
    return MethodResult(method="compare", config=config, labels=np.zeros(0, int), proba=None,
                        estimator=None, metrics={}, elapsed=time.monotonic() - started,
                        stopped=bool(stop is not None and stop.is_set()), data_token=data_token,
                        extra={"partitions": partitions, "table": table, "errors": errors})


# ----------------------------------------------------------------------------------- downloads
# Every CSV goes through clustering.export.csv_bytes: text cells a spreadsheet would evaluate
# (ids or column names starting with =, +, -, @) are neutralised.
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


# ----------------------------------------------------------------------------------- views
def unit_coordinates(som) -> np.ndarray:
    """Drawing positions of the fitted map's units (units x 2)."""
    return np.asarray(som.unit_coordinates(), dtype=float)


def lattice_shape(som) -> tuple[int, int]:
    """Rows and columns of the fitted lattice (``rows_``/``cols_``: also when auto-sized)."""
    return int(som.rows_), int(som.cols_)


def cell_hover(som, bmu: np.ndarray, ids: Sequence[str], *, values=None, value_name="",
               limit: int = 12) -> list[str]:
    """Hover text per unit (plain text, lines separated by newlines): its place on the lattice,
    an optional value and the objects it holds."""
    _, cols = lattice_shape(som)
    n_units = unit_coordinates(som).shape[0]
    members: list[list[str]] = [[] for _ in range(n_units)]
    for obj, unit in zip(ids, np.asarray(bmu).ravel()):
        members[int(unit)].append(str(obj))
    out = []
    for u in range(n_units):
        head = f"unit {u} (row {u // cols}, col {u % cols})"
        if values is not None:
            head += f"\n{value_name} {values[u]:.4g}"
        objs = members[u]
        if objs:
            shown = ", ".join(objs[:limit]) + (f" … (+{len(objs) - limit})" if len(objs) > limit else "")
            head += f"\n{len(objs)} object(s): {shown}"
        else:
            head += "\nempty"
        out.append(head)
    return out


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


def suggested_units(n_objects: int) -> int:
    """The rule of thumb 5 sqrt(N) for the number of SOM units."""
    return int(round(5 * np.sqrt(max(n_objects, 1))))


def suggested_lattice(n_objects: int, ratio: float = 4 / 3) -> tuple[int, int]:
    """Rows and columns near 5 sqrt(N) units with columns/rows about ``ratio``."""
    units = suggested_units(n_objects)
    rows = max(2, int(round(np.sqrt(units / ratio))))
    cols = max(2, int(round(units / rows)))
    return rows, cols


# ----------------------------------------------------------------------------------- SOM views
def unit_clusters(som) -> np.ndarray:
    """Cluster of every unit: the map's own grouping of its cells (``cell_clusters_``)."""
    return np.asarray(som.cell_clusters_, dtype=int)


def som_curves(som) -> tuple[list, dict[str, list]]:
    """The recorded steps and the error curves of a fitted SOM's ``history_``."""
    hist = som.history_
    return list(hist["step"]), {"quantization_error": list(hist["quantization_error"]),
                                "topographic_error": list(hist["topographic_error"])}


def som_status(result: MethodResult) -> str:
    som = result.estimator
    rows, cols = lattice_shape(som)
    return (f"{status_word(result)} in {result.elapsed:.1f} s after {som.n_steps_done_} steps: "
            f"{rows} x {cols} {som.lattice} lattice, quantization error "
            f"{som.quantization_error_:.4f}, topographic error {som.topographic_error_:.4f}, "
            f"{result.n_clusters} clusters of cells.")


def status_word(result: MethodResult) -> str:
    """How training ended: finished, stopped by the user, or stopped at the time cap."""
    if result.stop_reason == "time":
        return "Stopped at the time cap"
    return "Stopped by you" if result.stopped else "Trained"


# ----------------------------------------------------------------------------------- ensemble views
def kept_mask(qbm) -> list[bool]:
    """Per network of ``networks_``: whether Cochran's filter kept it (``variances_.kept``)."""
    return [bool(v) for v in qbm.variances_["kept"]]


def replicate_columns(qbm) -> list[str]:
    """The per-replicate criterion columns of table 2 (``theta_u1`` ...)."""
    return [c for c in qbm.networks_.columns if str(c).startswith("theta_u")]


def cochran_verdict(cochran: Mapping) -> dict:
    """Cochran's test of the ensemble (``cochran_``) in words: G, its critical value, the verdict
    on the whole ensemble and, when networks were filtered out, which ones."""
    g, crit = float(cochran.get("G", np.nan)), float(cochran.get("critical", np.nan))
    alpha = float(cochran.get("alpha", 0.05))
    homog = bool(cochran.get("homogeneous", True))
    removed = [int(r) for r in cochran.get("removed", [])]
    if not np.isfinite(g):
        text = "Cochran's test was not run: " + str(cochran.get("note", "too few replicates."))
        return {"homogeneous": homog, "text": text}
    parts = [f"Cochran's test: G = {g:.4f}, critical value {crit:.4f} at the {alpha:.0%} level; "]
    if homog:
        parts.append("the replicate variances are homogeneous: the ensemble is consistent.")
    else:
        parts.append("the replicate variances are not homogeneous")
        if removed:
            final = cochran.get("final_homogeneous", True)
            parts.append(f": network(s) {', '.join(map(str, removed))} with the largest variance "
                         f"were filtered out ({'homogeneous' if final else 'still not homogeneous'}"
                         " after filtering).")
        else:
            parts.append(".")
    if cochran.get("note"):
        parts.append(" " + str(cochran["note"]))
    return {"homogeneous": homog, "text": "".join(parts)}


def flag_threshold(qbm) -> float:
    """The posterior under which an object is flagged "boundary" (``boundary_threshold``)."""
    return float(qbm.boundary_threshold)


def flags_frame(qbm, ids: Sequence[str]) -> pd.DataFrame:
    """The ensemble's ``flags_`` with each object's id (``object`` is a 0-based row position)."""
    flags = qbm.flags_.copy()
    positions = flags["object"].to_numpy(dtype=int)
    flags.insert(0, "id", [str(ids[i]) for i in positions])
    flags["object"] = positions + 1
    return flags.rename(columns={"object": "row"})


def posterior_frame(result: MethodResult, ids: Sequence[str]) -> pd.DataFrame:
    """id, cluster, p_0 .. p_{K-1}, p_max (the posterior of the own cluster)."""
    from clustering.export import assignments_frame

    return assignments_frame(ids, result.labels, result.proba)


def attach_kmeans_comparison(result: MethodResult, dataset) -> None:
    """k-means with the same K next to the ensemble: agreement and criteria side by side."""
    from clustering import metrics

    k = result.n_clusters
    seed = result.config.params.get("random_state", 0)
    params = {"n_clusters": k}
    if "random_state" in cfg.default_params("kmeans"):
        params["random_state"] = seed if seed is not None else 0
    _, km_labels, _ = cfg.fit_method("kmeans", params, dataset.X)
    km_labels = np.asarray(km_labels)
    agree = metrics.agreement(result.labels, km_labels)
    matched = metrics.match_labels(result.labels, km_labels)
    y_true = getattr(dataset, "labels", None)
    criteria = pd.DataFrame({"ensemble": quality(dataset.X, result.labels, y_true),
                             "k-means": quality(dataset.X, km_labels, y_true)})
    table = pd.DataFrame({"id": object_ids(dataset), "ensemble": result.labels,
                          "k-means (matched)": matched})
    table["same"] = table["ensemble"] == table["k-means (matched)"]
    result.extra["kmeans"] = {"agreement": agree, "criteria": criteria, "table": table}


def compare_params(chosen: Sequence[str], n_clusters: int, seed: int, eps: float,
                   min_samples: int, *, n_objects: int) -> dict[str, dict]:
    """Settings of each compared method: the same K and seed; the recommended network; a SOM of
    about 5 sqrt(N) units grouped into K clusters; DBSCAN's own eps and min_samples."""
    out: dict[str, dict] = {}
    for method in chosen:
        defaults = cfg.default_params(method)
        params: dict[str, Any] = {}
        if method == "neural":
            from clustering.neural import NeuralSoftClustering

            params = dict(NeuralSoftClustering.recommended(n_clusters).get_params())
        elif method == "som":
            rows, cols = suggested_lattice(n_objects)
            params = {"rows": rows, "cols": cols}
        if "n_clusters" in defaults and method != "dbscan":
            params["n_clusters"] = n_clusters
        if "random_state" in defaults:
            params["random_state"] = seed
        if method == "dbscan":
            params.update({k: v for k, v in (("eps", eps), ("min_samples", min_samples))
                           if k in defaults})
        out[method] = params
    return out
