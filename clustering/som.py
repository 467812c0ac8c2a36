"""Kohonen's self-organizing map (SOM), online, by epochs and batch, with the map's cells grouped
into clusters.

The online algorithm is Haykin's formulation as the taxpayer article ("Neural network clustering
methods to evaluate the totality of taxpayers according to their degree of creditworthiness",
2017) gives it:

* competition: the winner (best-matching unit, BMU) ``k* = argmin_k ||x - w_k||``;
* cooperation: ``h(k*, q, t) = exp(-d^2(k*, q) / (2 sigma(t)^2))`` with ``d`` the distance between
  the two units *on the lattice*;
* decay: ``sigma(t) = sigma0 exp(-t / tau1)`` (formula 4), ``eta(t) = eta0 exp(-t / tau2)``
  (formula 11);
* adaptation: ``w_q <- w_q + eta(t) h(k*, q, t) (x - w_q)``.

The epoch algorithm is the same rule with ``t`` counting epochs, as the article trains ("числа
эпох Т (итераций) процесса модификации весов (10)"; "Т =500; G0=4; η0= 0,3"): every epoch
presents each object once, in a new random order, with sigma(t) and eta(t) fixed through it.

The batch algorithm (Kohonen's batch map) replaces the per-object updates by one update per
pass over the data, ``w_q <- w_q + eta(t) (sum_i h(b_i, q, t) x_i / sum_i h(b_i, q, t) - w_q)``,
computed with matrix products; ``eta0 = 1`` with a very large ``tau2`` gives the classic batch
map. Afterwards the cells are grouped into ``n_clusters`` clusters (k-means on the codebook, or
Ward's hierarchical clustering restricted to lattice neighbours), and every object gets its
cell ``k`` and its cluster ``m``, as in the article's table 3.

The lattice (unit numbering, positions, neighbours, the U-matrix and :func:`suggest_lattice`)
is :mod:`clustering.lattice`; the training loops and their arithmetic (distances, chunks, the
memory estimate, the schedule) are :mod:`clustering.som_training`. This module holds the
parameters' constraints, their checks and the :class:`SOM` estimator, and re-exports the
names other modules import from it (``__all__``).

The parameters' constraints are declared in ``SOM._parameter_constraints`` and checked by
:func:`clustering.constraints.check_params`; :meth:`SOM.plan` decides the lattice
(:func:`suggest_lattice` when ``rows`` and ``cols`` are None), the schedule, the chunks of batch
training and the memory before anything is trained, and :meth:`SOM.fit` follows that plan.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Callable, Optional

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from threadpoolctl import threadpool_limits
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from clustering import distributed, limits
from clustering import memory as budget
from clustering.constraints import Interval, StrOptions, check_params
from clustering.errors import ConfigError, DataError
from clustering.i18n import Message, N_, Text
from clustering.lattice import (LATTICES, lattice_adjacency, lattice_coordinates,
                                lattice_sq_distances, suggest_lattice, umatrix_values)
from clustering.planning import Plan
from clustering.progress import Progress
from clustering.som_training import (CHUNK_BYTES, PCA_SVD_MAX_ROWS, Run, Schedule,
                                     batch_chunk_rows, best_two_units, chunk_slices,
                                     estimate_memory, exponential_decay, require_numba,
                                     sq_distances, topographic_error_of, train_batch,
                                     train_epochs, train_online)
from clustering.validation import validate_data

INITS = ("pca", "random", "sample")
MODES = ("online", "batch", "epoch")
CLUSTER_METHODS = ("kmeans", "hierarchical")


# ----------------------------------------------------------------------------------- checks
#: Constraint lists shared by the SOM and the ensemble (see :mod:`clustering.constraints`).
COUNT = Interval(Integral, 1, None, closed="left")
POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
RATE = Interval(Real, 0, 1, closed="right")
MEMORY_LIMIT = [Interval(Integral, 1, None, closed="left"), None]
SCHEDULER = [str, None]
N_JOBS = [Interval(Integral, None, -1, closed="right"), COUNT, None]


def check_execution_params(params: dict) -> None:
    """``scheduler`` a keyword or a Dask address, ``n_jobs`` non-zero (normalised params)."""
    distributed.check_scheduler(params["scheduler"])
    distributed.check_n_jobs(params["n_jobs"])


def check_sides(rows, cols) -> None:
    """Both lattice sides given, or neither (the 5 sqrt(N) rule)."""
    if (rows is None) != (cols is None):
        raise ConfigError(N_("rows, cols: give both lattice sides, or neither for the 5 sqrt(N) "
                             "rule."))


def _check_n_objects(X: np.ndarray, what: str) -> None:
    if X.shape[0] < 2:
        if what == "a map":
            raise DataError(N_("X: a map needs at least 2 objects, got {n} sample."),
                            n=X.shape[0])
        raise DataError(N_("X: {what} needs at least 2 objects, got {n} sample."), what=what,
                        n=X.shape[0])


def _check_lattice(units: int, n_clusters: int) -> None:
    if units < 2:
        raise ConfigError(N_("rows, cols: a map needs at least 2 units."))
    if n_clusters > units:
        raise ConfigError(N_("n_clusters: {k} clusters cannot be formed from {units} cells; "
                             "enlarge the lattice or lower n_clusters."), k=n_clusters,
                          units=units)


def _check_steps(mode: str, n_steps: int, conv: int, automatic: bool, units: int,
                 n_objects: int) -> None:
    """Refuse more training (both phases) than :mod:`clustering.limits` allows: ``som_steps``
    presentations online, ``epochs`` passes over the data in batch mode, and in epoch mode
    both: ``som_steps`` on the presentations (epochs x objects), ``epochs`` on the epochs."""
    where = "n_steps + convergence_steps" if conv else "n_steps"
    auto = "" if not automatic else (
        Message(N_(" (null: 500 x {units} units / {objects} objects)"), units=units,
                objects=n_objects) if mode == "epoch" else
        Message(N_(" (null: 500 x {units} units)"), units=units))
    steps = Message("{steps} + {conv}{auto}", steps=n_steps, conv=conv, auto=auto) if conv \
        else f"{n_steps}"
    if mode == "epoch":
        epochs = Message("({steps})", steps=steps) if conv else steps
        limits.check("som_steps", (n_steps + conv) * n_objects, where,
                     Message(N_("{epochs} epochs x {objects} objects"), epochs=epochs,
                             objects=n_objects))
    limits.check("som_steps" if mode == "online" else "epochs", n_steps + conv, where,
                 steps if conv else None)


def _check_memory(memory: dict, limit: int, units: int, n: int, p: int) -> None:
    """Refuse a fit whose :func:`estimate_memory` is above the memory limit, naming the
    largest part and what lowers it."""
    if memory["total"] <= limit:
        return
    big = max((k for k in memory if k != "total"), key=lambda k: memory[k])
    hint = {"lattice": N_("use a smaller lattice (rows x cols)"),
            "chunk": N_("lower chunk_size"),
            "data": N_("cluster a sample of the rows"),
            "per_object": N_("cluster a sample of the rows"),
            "partials": N_("lower chunk_size or run locally")}[big]
    part = {"lattice": N_("mostly its lattice arrays, {size}"),
            "chunk": N_("mostly its chunk arrays, {size}"),
            "data": N_("mostly its data arrays, {size}"),
            "per_object": N_("mostly its per-object arrays, {size}"),
            "partials": N_("mostly its partials arrays, {size}")}[big]
    fmt = budget.fmt_bytes
    raise ConfigError(
        N_("memory_limit: a {units}-unit SOM on {n} x {p} objects needs about {need} ({part}), "
           "above the limit of {limit}. Raise memory_limit or the environment variable {env}, "
           "or {hint}."), units=units, n=n, p=p, need=fmt(memory["total"]),
        part=Message(part, size=fmt(memory[big])), limit=fmt(limit), env=budget.MEMORY_ENV,
        hint=Message(hint))


# ----------------------------------------------------------------------------------- initialisation
def _principal_axes(X: np.ndarray):
    """Mean, principal standard deviations and axes (rows of ``vt``) of ``X``.

    Up to :data:`PCA_SVD_MAX_ROWS` objects an SVD of the centred data; above, the covariance
    matrix accumulated over chunks and its eigendecomposition (no N x p copy), each axis signed
    so that its largest entry is positive.
    """
    n = X.shape[0]
    mean = X.mean(axis=0)
    if n <= PCA_SVD_MAX_ROWS:
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        return mean, s / math.sqrt(max(n - 1, 1)), vt
    p = X.shape[1]
    cov = np.zeros((p, p))
    for sl in chunk_slices(n, p):
        Xc = X[sl] - mean
        cov += Xc.T @ Xc
    ev, vec = np.linalg.eigh(cov)
    order = np.argsort(ev)[::-1]
    ev, vt = np.maximum(ev[order], 0.0), vec[:, order].T
    signs = np.sign(vt[np.arange(p), np.argmax(np.abs(vt), axis=1)])
    vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
    return mean, np.sqrt(ev / max(n - 1, 1)), vt


def _group_cells(W: np.ndarray, M: int, method: str, rng, adjacency: np.ndarray):
    """Cluster of every cell (as found) and the clusters' centres (row m: cluster m):
    k-means' centres, or the mean codebook vector of each cluster's cells (Ward's, M = 1)."""
    if M == 1:
        return np.zeros(W.shape[0], dtype=np.int64), W.mean(axis=0, keepdims=True)
    if method == "hierarchical":
        from scipy.sparse import csr_matrix
        from sklearn.cluster import AgglomerativeClustering

        raw = AgglomerativeClustering(n_clusters=M, linkage="ward",
                                      connectivity=csr_matrix(adjacency)).fit_predict(W)
        return raw, np.array([W[raw == m].mean(axis=0) for m in range(M)])
    from sklearn.cluster import KMeans

    distinct = np.unique(W, axis=0).shape[0]
    if distinct < M:
        raise DataError(N_("X: the map has only {distinct} distinct cells; it cannot be "
                           "grouped into {k} clusters (too few distinct objects?)."),
                        distinct=distinct, k=M)
    # a few hundred codebook vectors never gain from threads, and right after the training's
    # BLAS calls OpenMP threads fight the BLAS threads (seconds on 2 cores)
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=M, n_init=10,
                    random_state=rng.randint(np.iinfo(np.int32).max)).fit(W)
    return km.labels_.astype(np.int64), km.cluster_centers_.copy()


# ----------------------------------------------------------------------------------- estimator
class SOM(TransformerMixin, ClusterMixin, BaseEstimator):
    """Kohonen self-organizing map whose cells are grouped into clusters.

    Parameters
    ----------
    rows, cols : int or None
        Lattice size; None: about ``5 sqrt(N)`` units with the sides in the ratio of the two
        largest principal components (:func:`suggest_lattice`). The study used 12 rows x 16
        columns ("по оси абсцисс выбиралось 16, а по оси ординат 12 ячеек": 16 along the
        abscissa, the columns; 12 along the ordinate, the rows).
    lattice : {"hexagonal", "rectangular"}
        Six neighbours per unit (hexagon centres) or four (square grid).
    init : {"pca", "random", "sample"} or array (rows * cols, n_features)
        Initial codebook: spread over the plane of the two largest principal components
        (deterministic), uniform random in the data's bounding box, random objects, or given.
    sigma0 : float or None
        Initial neighbourhood width in lattice units (the study: 4). None: the lattice "radius"
        ``max(rows, cols) / 2`` (Haykin).
    eta0 : float
        Initial learning rate (the study: 0.3).
    tau1 : float or None
        Time constant of ``sigma(t) = sigma0 exp(-t / tau1)``. Default 700, the study's best
        network (table 2: the lowest Theta, with ``tau2 = 125``). None: Haykin's
        ``1000 / ln(sigma0)`` (1000 when ``sigma0 <= 1``).
    tau2 : float or None
        Time constant of ``eta(t) = eta0 exp(-t / tau2)``; default 125; None: Haykin's 1000.
    n_steps : int
        T, the number of training steps (the study: 500). **One step**: in ``mode="online"``
        one presented object (Haykin's iteration; objects are drawn pass after pass, each pass
        in a new random order, so ``n_steps = k * N`` presents every object k times); in
        ``mode="epoch"`` one epoch, every object presented once, in a new random order, with
        sigma(t) and eta(t) fixed through it (the article's "эпох Т"); in ``mode="batch"``
        one pass over all the data with one codebook update. With ``convergence_steps``, at
        most ``som_steps`` (online) or ``epochs`` (batch) of :mod:`clustering.limits` in all;
        in epoch mode at most ``epochs`` epochs and ``som_steps`` presentations (epochs x
        objects); checked before training.
    mode : {"online", "epoch", "batch"}
        Online: sequential updates exactly as Haykin (one object, one step of the schedule).
        Epoch: the same rule (10) by epochs, as the article trains (T = 500 epochs), the
        per-object loop compiled with numba. Batch: one vectorised whole-data update per step;
        the choice for large data.
    tol : float
        Stop before ``n_steps`` when no unit moved more than ``tol`` (Euclidean) since the last
        check: every step in batch mode, every epoch in epoch mode, every recorded interval in
        online mode (see ``history_``). 0 disables the check.
    convergence_steps : int or None
        Steps of a second, convergence phase after the first ``n_steps`` (Haykin), epochs in
        epoch mode: the learning rate is fixed at ``convergence_eta`` while sigma keeps decaying
        by its schedule. 0: no second phase; None: ``500 x units`` steps (Haykin: hundreds of
        times the units), in epoch mode the whole epochs that present about as many objects,
        ``ceil(500 x units / N)``.
    convergence_eta : float
        Learning rate of the convergence phase (Haykin: about 0.01).
    n_clusters : int
        Number of clusters M the cells are grouped into.
    cluster_method : {"kmeans", "hierarchical"}
        k-means on the codebook vectors (every cell, empty or not; 10 restarts), or Ward's
        agglomerative clustering allowed to merge only lattice neighbours (contiguous regions).
    history_every : int
        Record the errors every this many intervals (1: every epoch / interval; larger values
        save time on big data). The final state is always recorded.
    random_state : int, RandomState or None
        Seed of the initialisation, the presentation order and the clustering of the cells.
    chunk_size : int or None
        Batch training: objects per chunk of the objects x units distance block (never the whole
        N x units matrix at once). None: :func:`batch_chunk_rows`, one block of at most
        :data:`CHUNK_BYTES` (8 MiB). The cells found do not depend on it; the weights only by
        the rounding of sums added in another order (about 1e-15). Local and Dask runs with
        the same chunk size give identical results.
    memory_limit : int or None
        Bytes the fit may use; None: ``CLUSTERMAP_MEMORY_LIMIT`` or a Dask worker's share of
        the container's memory (:func:`clustering.memory.memory_limit_bytes`). A fit
        estimated above it (:func:`estimate_memory`) is refused with a :class:`ConfigError`
        before any work (:meth:`plan`).
    scheduler : str or None
        Where the batch sums run: None (``CLUSTERMAP_DASK_SCHEDULER`` or this process),
        "local", "auto", "localcluster" or a Dask scheduler address; see
        :mod:`clustering.distributed`. Chunks become Dask tasks; the result is identical to the
        local path. Online and epoch training always run here (one object at a time).
    n_jobs : int or None
        Worker processes of an embedded LocalCluster (None or -1: one per core).

    Attributes
    ----------
    rows_, cols_ : int
        Lattice size used.
    codebook_ : ndarray (units, n_features)
        Weight vectors, unit ``u`` in row ``u // cols_``, column ``u % cols_``.
    bmu_ : ndarray (n_samples,)
        Cell k of every training object (its best-matching unit).
    cell_clusters_ : ndarray (units,)
        Cluster m of every cell; clusters are numbered by decreasing number of objects.
    cluster_centers_ : ndarray (n_clusters, n_features)
        Row m: the centre of cluster m as the cells were grouped: the k-means centre of its
        codebook vectors, or (Ward's, or one cluster) their mean. The map's own centres, so that
        a criterion such as Theta (22) measured around them varies from map to map as the
        article's replicates do (network 7: 2.986739, 2.985659, 3.099081).
    labels_ : ndarray (n_samples,)
        Cluster m of every training object (``cell_clusters_[bmu_]``).
    hit_counts_ : ndarray (units,)
        Training objects per cell.
    quantization_error_ : float
        Mean distance from the objects to their BMU.
    topographic_error_ : float
        Share of objects whose two best units are not lattice neighbours.
    history_ : dict of lists
        ``step``, ``quantization_error``, ``topographic_error``, ``sigma``, ``eta`` and
        ``codebook_change`` (largest unit move since the previous record), recorded before each
        batch or epoch-mode epoch (every ``history_every``-th) / after each online interval (one
        pass over the data, or ``n_steps / 20`` objects when that is shorter), and at the end.
    sigma0_, tau1_, tau2_, convergence_steps_ : float, float, float, int
        The schedule's constants as used (defaults resolved).
    n_steps_done_ : int
        Steps made (fewer than planned after convergence or a stop).
    sigma_end_, eta_end_ : float
        sigma(t) and eta(t) of the schedule at ``t = n_steps_done_``, where the run ended (the
        article's table 2, "Конец": sigma(500) = 4 exp(-500 / 140) = 0.112463, eta(500) = 0.3
        exp(-500 / 125) = 0.005495); eta is ``convergence_eta`` after a convergence phase.
    converged_ : bool
        True when training ended on ``tol``.
    stopped_ : bool
        True when an external stop ended training.
    chunk_size_ : int
        Objects per chunk of the batch epochs (and of the final pass).
    n_chunks_ : int
        Chunks per batch epoch (1: the data in one block).
    memory_estimate_ : dict
        :func:`estimate_memory` of the fit (bytes by part, ``"total"``) and ``"limit"``.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    execution_ : dict
        Where training ran: ``path`` ("local", "localcluster", "remote"), ``workers``,
        ``address``, ``reason``, ``chunk_size``, ``n_chunks``, and ``summary`` (one line).
    """

    def __init__(self, rows: Optional[int] = None, cols: Optional[int] = None,
                 lattice: str = "hexagonal", init="pca", sigma0: Optional[float] = 4.0,
                 eta0: float = 0.3, tau1: Optional[float] = 700.0,
                 tau2: Optional[float] = 125.0, n_steps: int = 500, mode: str = "online",
                 tol: float = 1e-4, convergence_steps: Optional[int] = 0,
                 convergence_eta: float = 0.01, n_clusters: int = 3,
                 cluster_method: str = "kmeans", history_every: int = 1, random_state=0,
                 chunk_size: Optional[int] = None, memory_limit: Optional[int] = None,
                 scheduler: Optional[str] = None, n_jobs: Optional[int] = None):
        self.rows = rows
        self.cols = cols
        self.lattice = lattice
        self.init = init
        self.sigma0 = sigma0
        self.eta0 = eta0
        self.tau1 = tau1
        self.tau2 = tau2
        self.n_steps = n_steps
        self.mode = mode
        self.tol = tol
        self.convergence_steps = convergence_steps
        self.convergence_eta = convergence_eta
        self.n_clusters = n_clusters
        self.cluster_method = cluster_method
        self.history_every = history_every
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.memory_limit = memory_limit
        self.scheduler = scheduler
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ presets
    @classmethod
    def haykin(cls, rows: Optional[int] = None, cols: Optional[int] = None, **params) -> "SOM":
        """Haykin's recommendations: two phases, online.

        Ordering: 1000 steps, ``eta0 = 0.1``, ``tau2 = 1000`` (eta stays above 0.01),
        ``sigma0`` = the lattice radius, ``tau1 = 1000 / ln(sigma0)``; convergence: ``500 x
        units`` steps at ``eta = 0.01``. ``params`` override any of these.
        """
        settings = dict(rows=rows, cols=cols, sigma0=None, eta0=0.1, tau1=None, tau2=None,
                        n_steps=1000, mode="online", convergence_steps=None,
                        convergence_eta=0.01)
        settings.update(params)
        return cls(**settings)

    # ------------------------------------------------------------------ checks and plan
    _parameter_constraints: dict = {
        "rows": [COUNT, None],
        "cols": [COUNT, None],
        "lattice": [StrOptions(set(LATTICES))],
        "init": [StrOptions(set(INITS)), "array-like"],
        "sigma0": [POSITIVE, None],
        "eta0": [RATE],
        "tau1": [POSITIVE, None],
        "tau2": [POSITIVE, None],
        "n_steps": [COUNT],
        "mode": [StrOptions(set(MODES))],
        "tol": [NON_NEGATIVE],
        "convergence_steps": [Interval(Integral, 0, None, closed="left"), None],
        "convergence_eta": [RATE],
        "n_clusters": [COUNT],
        "cluster_method": [StrOptions(set(CLUSTER_METHODS))],
        "history_every": [COUNT],
        "random_state": ["random_state"],
        "chunk_size": [COUNT, None],
        "memory_limit": MEMORY_LIMIT,
        "scheduler": SCHEDULER,
        "n_jobs": N_JOBS,
    }

    def _check_params(self, X: np.ndarray) -> dict:
        """The declared constraints, the settings that go together and the data's size;
        returns the normalised parameters."""
        p = check_params(self)
        check_execution_params(p)
        check_sides(p["rows"], p["cols"])
        _check_n_objects(X, "a map")
        return p

    def _resolve(self, X: np.ndarray, p: Optional[dict] = None) -> Schedule:
        """The lattice and the schedule as used (defaults resolved), steps bounded by
        :mod:`clustering.limits`; ``p``: the normalised parameters (default: this map's)."""
        p = self.get_params(deep=False) if p is None else p
        if p["rows"] is None:
            rows, cols = suggest_lattice(X, p["lattice"])
        else:
            rows, cols = int(p["rows"]), int(p["cols"])
        _check_lattice(rows * cols, int(p["n_clusters"]))
        sigma0 = float(p["sigma0"]) if p["sigma0"] is not None else max(rows, cols) / 2.0
        if p["tau1"] is not None:
            tau1 = float(p["tau1"])
        else:
            tau1 = 1000.0 / math.log(sigma0) if sigma0 > 1.0 + 1e-9 else 1000.0
        tau2 = float(p["tau2"]) if p["tau2"] is not None else 1000.0
        units, n = rows * cols, X.shape[0]
        conv = p["convergence_steps"]
        if conv is None:  # Haykin's 500 x units presentations; in epoch mode whole epochs
            conv = math.ceil(500 * units / n) if p["mode"] == "epoch" else 500 * units
        _check_steps(p["mode"], int(p["n_steps"]), int(conv), p["convergence_steps"] is None,
                     units, n)
        return Schedule(rows, cols, sigma0, tau1, tau2, int(conv), int(p["n_steps"]) + int(conv))

    def plan(self, X) -> Plan:
        """How :meth:`fit` would run on ``X``, decided without training.

        Checks the parameters, the data and the limits of :mod:`clustering.limits` and the
        memory limit (refused with a :class:`ConfigError` naming the setting, exactly as
        :meth:`fit` refuses them) and returns a :class:`~clustering.planning.Plan`: execution
        ``"online"``, ``"epoch"`` (the compiled epochs of rule 10), ``"batch"`` (one block) or
        ``"chunked"`` (batch sums in chunks), the
        memory estimate of :func:`estimate_memory`, and in ``details`` the lattice (``rows``,
        ``cols``, ``units``), the schedule (``sigma0``, ``tau1``, ``tau2``,
        ``convergence_steps``, ``total_steps``), ``chunk_size``, ``n_chunks``, ``scheduler``
        and the memory by part. Nothing is left on the estimator.
        """
        X = validate_data(X, min_samples=1)
        return self._plan(X, self._check_params(X))[0]

    def _plan(self, X: np.ndarray, p: dict) -> tuple[Plan, Schedule]:
        schedule = self._resolve(X, p)
        scheduler = distributed.resolve_scheduler(p["scheduler"])
        n, dim = X.shape
        units = schedule.units
        chunk_rows = min(n, batch_chunk_rows(units, p["chunk_size"]))
        memory = estimate_memory(n, dim, units, mode=p["mode"], chunk_rows=chunk_rows,
                                 dask=p["mode"] == "batch" and scheduler != "local")
        limit = budget.memory_limit_bytes(p["memory_limit"])
        _check_memory(memory, limit, units, n, dim)
        n_chunks = math.ceil(n / chunk_rows)
        if p["mode"] == "epoch":
            require_numba()
        execution = (p["mode"] if p["mode"] != "batch" else
                     "chunked" if n_chunks > 1 else "batch")
        reason = {"online": "online training presents one object at a time",
                  "epoch": f"{schedule.total} epochs, each presenting the {n:,} objects one at "
                           f"a time in a new random order (compiled with numba)",
                  "batch": "batch sums over all the objects in one block",
                  "chunked": f"batch sums in {n_chunks} chunks of {chunk_rows:,} objects"}
        reason = reason[execution]
        details = {"rows": schedule.rows, "cols": schedule.cols, "units": units,
                   "sigma0": schedule.sigma0, "tau1": schedule.tau1, "tau2": schedule.tau2,
                   "convergence_steps": schedule.conv, "total_steps": schedule.total,
                   "chunk_size": int(chunk_rows), "n_chunks": int(n_chunks),
                   "scheduler": scheduler, "memory": {**memory, "limit": int(limit)}}
        return Plan(execution, reason, int(memory["total"]), int(limit), details), schedule

    # ------------------------------------------------------------------ initialisation
    def _initial_codebook(self, X: np.ndarray, coords: np.ndarray, rng) -> np.ndarray:
        units, p = coords.shape[0], X.shape[1]
        if not isinstance(self.init, str):
            W = np.array(self.init, dtype=np.float64)
            if W.shape != (units, p):
                raise ConfigError(N_("init: expected initial weights of shape ({units}, {p}), "
                                     "got {shape}."), units=units, p=p, shape=W.shape)
            return W
        if self.init == "sample":
            idx = rng.choice(X.shape[0], units, replace=X.shape[0] < units)
            return X[idx].copy()
        if self.init == "random":
            lo, hi = X.min(axis=0), X.max(axis=0)
            return lo + rng.random_sample((units, p)) * (hi - lo)
        # PCA: units spread over [-1, 1] x [-1, 1] times the principal axes' standard deviations,
        # the lattice's x (columns) along the first component, y (rows) along the second.
        mean, std, vt = _principal_axes(X)
        span = coords.max(axis=0) - coords.min(axis=0)
        span[span == 0] = 1.0
        unit_pos = 2.0 * (coords - coords.min(axis=0)) / span - 1.0
        W = np.repeat(mean[None, :], units, axis=0)
        for j in range(min(2, vt.shape[0])):
            W += unit_pos[:, j:j + 1] * std[j] * vt[j][None, :]
        return W

    # ------------------------------------------------------------------ training
    def fit(self, X, y=None, *, callback: Optional[Callable[[Progress], None]] = None,
            stop=None):
        """Train the map on ``X`` and group its cells into ``n_clusters`` clusters.

        ``callback`` receives a :class:`~clustering.progress.Progress` (method ``"som"``) at
        every recorded interval (in epoch mode after every epoch, "epoch t of T") with the last
        recorded quantization and topographic errors, and once with ``done=True``;
        ``stop.is_set()`` ends training after the current step.
        """
        X = validate_data(X, estimator=self)
        p = self._check_params(X)
        plan, schedule = self._plan(X, p)
        rng = check_random_state(p["random_state"])
        self._set_schedule(schedule, plan)
        coords = lattice_coordinates(schedule.rows, schedule.cols, p["lattice"])
        D2 = lattice_sq_distances(coords)
        adjacency = np.abs(D2 - 1.0) < 1e-9
        run = Run(schedule, float(p["eta0"]), int(p["n_steps"]), float(p["convergence_eta"]),
                  float(p["tol"]), int(p["history_every"]), D2, adjacency, callback, stop)
        W = self._train(X, self._initial_codebook(X, coords, rng), run, rng, plan, p)
        self._set_training(X, W, run)
        self._cluster_cells(rng, adjacency)
        self.labels_ = self.cell_clusters_[self.bmu_]
        if callback is not None:
            callback(Progress("som", run.done, schedule.total, run.metrics(),
                              "stopped" if run.stopped else "done", done=True))
        return self

    def _set_schedule(self, schedule: Schedule, plan: Plan) -> None:
        self.rows_, self.cols_ = schedule.rows, schedule.cols
        self.sigma0_, self.tau1_, self.tau2_ = schedule.sigma0, schedule.tau1, schedule.tau2
        self.convergence_steps_ = schedule.conv
        self.chunk_size_ = plan.details["chunk_size"]
        self.n_chunks_ = plan.details["n_chunks"]
        self.memory_estimate_ = dict(plan.details["memory"])

    def _train(self, X, W, run: "Run", rng, plan: Plan, p: dict) -> np.ndarray:
        """Batch epochs (here or on Dask), compiled epochs or online steps; sets
        ``execution_``."""
        if p["mode"] == "batch":
            ops = 2.0 * X.shape[0] * plan.details["units"] * X.shape[1] * run.schedule.total
            with distributed.dask_session(p["scheduler"], p["n_jobs"], ops=ops,
                                          max_tasks=self.n_chunks_) as (execution, client):
                self._set_execution(execution, p["mode"])
                return train_batch(X, W, run, self.chunk_size_, client, execution.workers)
        mode = p["mode"]
        note = ("" if plan.details["scheduler"] == "local"
                else f" ({mode} training is sequential; not on Dask)")
        what = ("online: one object at a time" if mode == "online" else
                "epoch: every object once per epoch, one at a time")
        self._set_execution(distributed.local_execution(what + note), mode)
        return (train_online if mode == "online" else train_epochs)(X, W, run, rng)

    def _set_training(self, X: np.ndarray, W: np.ndarray, run: "Run") -> None:
        """The trained codebook, the final errors and the history (the final state recorded)."""
        self.n_steps_done_ = run.done
        self.sigma_end_, self.eta_end_ = float(run.sigma(run.done)), float(run.eta(run.done))
        self.codebook_ = W
        b1, b2, dist = best_two_units(X, W)
        self.bmu_ = b1
        self.quantization_error_ = float(dist.mean())
        self.topographic_error_ = topographic_error_of(b1, b2, run.adjacency)
        if not run.history["step"] or run.history["step"][-1] != run.done:
            run.record(run.done, self.quantization_error_, self.topographic_error_, W)
        self.history_ = run.history
        self.converged_ = run.converged
        self.stopped_ = run.stopped
        self.hit_counts_ = np.bincount(b1, minlength=W.shape[0])

    def _set_execution(self, execution, mode: str) -> None:
        info = execution.as_dict()
        chunked = mode == "batch" and self.n_chunks_ > 1
        how = (Message(N_("batch sums in {n} chunks of {size:,} objects"), n=self.n_chunks_,
                       size=self.chunk_size_) if chunked else
               Message(N_("batch sums in one block")) if mode == "batch" else
               Message(N_("compiled epoch updates")) if mode == "epoch" else
               Message(N_("online updates")))
        mem = self.memory_estimate_
        details = Message(N_("{how}; memory about {total} of a {limit} limit"), how=how,
                          total=budget.fmt_bytes(mem["total"]),
                          limit=budget.fmt_bytes(mem["limit"]))
        info.update(chunk_size=int(self.chunk_size_), n_chunks=int(self.n_chunks_),
                    chunked=bool(chunked), details=Text(details),
                    summary=Text(Message("{where}; {details}", where=execution.describe(),
                                         details=details)))
        self.execution_ = info

    # ------------------------------------------------------------------ clustering of cells
    def _cluster_cells(self, rng, adjacency: np.ndarray) -> None:
        """``cell_clusters_`` and ``cluster_centers_``: k-means or Ward's clustering (lattice
        neighbours only) of the codebook, clusters numbered by decreasing number of objects."""
        W = self.codebook_
        M = int(self.n_clusters)
        raw, centres = _group_cells(W, M, self.cluster_method, rng, adjacency)
        # number the clusters by decreasing number of objects (then by their first cell)
        hits = np.bincount(raw, weights=self.hit_counts_, minlength=M)
        first_cell = np.array([np.flatnonzero(raw == m).min() if np.any(raw == m) else W.shape[0]
                               for m in range(M)])
        order = sorted(range(M), key=lambda m: (-hits[m], first_cell[m]))
        rename = np.empty(M, dtype=np.int64)
        rename[order] = np.arange(M)
        self.cell_clusters_ = rename[raw]
        self.cluster_centers_ = np.empty_like(centres)
        self.cluster_centers_[rename] = centres

    def recluster(self, n_clusters: int, random_state=None) -> "SOM":
        """A copy of this trained map with its cells grouped into ``n_clusters`` clusters.

        Training does not depend on M (only the grouping of the cells does), so the ensemble's
        choice of M regroups the same maps. The copy shares the codebook; its
        ``cell_clusters_``, ``cluster_centers_`` and ``labels_`` are new, grouped with the seed
        ``random_state`` (default: the map's own ``random_state``).
        """
        check_is_fitted(self, "codebook_")
        copy = clone(self).set_params(n_clusters=int(n_clusters))
        copy.__dict__.update({k: v for k, v in vars(self).items() if k.endswith("_")})
        _check_lattice(self.codebook_.shape[0], int(n_clusters))
        seed = self.random_state if random_state is None else random_state
        copy._cluster_cells(check_random_state(seed), self.lattice_adjacency())
        copy.labels_ = copy.cell_clusters_[copy.bmu_]
        return copy

    # ------------------------------------------------------------------ use
    def _check_X(self, X):
        return validate_data(X, estimator=self, reset=False, fitted="codebook_")

    def bmu(self, X) -> np.ndarray:
        """Cell k (best-matching unit) of every row of ``X``; ties to the lowest index."""
        X = self._check_X(X)
        return best_two_units(X, self.codebook_)[0]

    def predict(self, X) -> np.ndarray:
        """Cluster m of every row of ``X``: the cluster of its best-matching cell."""
        cells = self.bmu(X)  # checks that the map is fitted first
        return self.cell_clusters_[cells]

    def transform(self, X) -> np.ndarray:
        """Euclidean distances from every row of ``X`` to every unit (n x units)."""
        X = self._check_X(X)
        ww = (self.codebook_ ** 2).sum(axis=1)
        return np.sqrt(sq_distances(X, self.codebook_, ww))

    def quantization_error(self, X) -> float:
        """Mean distance from the rows of ``X`` to their best-matching units."""
        X = self._check_X(X)
        return float(best_two_units(X, self.codebook_)[2].mean())

    def topographic_error(self, X) -> float:
        """Share of rows of ``X`` whose two best units are not lattice neighbours."""
        X = self._check_X(X)
        b1, b2, _ = best_two_units(X, self.codebook_)
        return topographic_error_of(b1, b2, self.lattice_adjacency())

    def unit_coordinates(self) -> np.ndarray:
        """Lattice positions of the units (units x 2) for drawing; neighbours are 1 apart."""
        check_is_fitted(self, "codebook_")
        return lattice_coordinates(self.rows_, self.cols_, self.lattice)

    def lattice_adjacency(self) -> np.ndarray:
        """Units x units boolean matrix of lattice neighbours."""
        return lattice_adjacency(self.unit_coordinates())

    def unit_neighbours(self) -> list[np.ndarray]:
        """Indices of every unit's lattice neighbours (4 rectangular, 6 hexagonal inside)."""
        adj = self.lattice_adjacency()
        return [np.flatnonzero(row) for row in adj]

    def umatrix(self) -> np.ndarray:
        """Per-unit mean distance (input space) to its lattice neighbours, in unit order."""
        check_is_fitted(self, "codebook_")
        return umatrix_values(self.codebook_, self.lattice_adjacency())

    def component_planes(self) -> np.ndarray:
        """The codebook feature by feature: array (n_features, units)."""
        check_is_fitted(self, "codebook_")
        return self.codebook_.T.copy()

    def assignments(self, X) -> pd.DataFrame:
        """The article's table 3 for the rows of ``X``: cell k, its lattice row and column, the
        distance to the cell's weight vector, cluster m, and the distance to the centre of
        gravity of the rows of ``X`` in that cluster."""
        X = self._check_X(X)
        b1, _, dist = best_two_units(X, self.codebook_)
        m = self.cell_clusters_[b1]
        centres = np.zeros((int(self.n_clusters), X.shape[1]))
        for c in np.unique(m):
            centres[c] = X[m == c].mean(axis=0)
        return pd.DataFrame({"cell": b1, "row": b1 // self.cols_, "col": b1 % self.cols_,
                             "cell_distance": dist, "cluster": m,
                             "cluster_distance": np.linalg.norm(X - centres[m], axis=1)})

    def hits(self, X) -> np.ndarray:
        """Number of rows of ``X`` per unit."""
        return np.bincount(self.bmu(X), minlength=self.codebook_.shape[0])


__all__ = ["SOM", "exponential_decay", "lattice_coordinates", "lattice_adjacency",
           "lattice_sq_distances", "umatrix_values", "best_two_units", "topographic_error_of",
           "suggest_lattice", "estimate_memory", "batch_chunk_rows", "CHUNK_BYTES",
           "COUNT", "POSITIVE", "RATE", "MEMORY_LIMIT", "SCHEDULER", "N_JOBS",
           "check_execution_params", "check_sides"]
