"""The quasi-Bayesian method (QBM): an ensemble of SOMs votes on each object's cluster.

The method of the taxpayer article ("Neural network clustering methods to evaluate the totality
of taxpayers according to their degree of creditworthiness", 2017), formulas 22 and 32-34:

1. hypotheses: one SOM per point of a grid ``tau1 x tau2`` (the article: 3 x 3 = 9 networks),
   each trained ``U`` times with different seeds (replicates; the article: 3, so 27 maps), with
   the same ``sigma0``, ``eta0``, ``T``, lattice and number of clusters M;
2. the criterion Theta (formula 22) of every map's partition; the variance of the replicates'
   Theta per network; Cochran's test of the homogeneity of those variances, filtering out the
   network with the largest variance while they are not homogeneous (rule 33); the mean Theta
   of the filtered ensemble (34);
3. each kept map's clusters are renamed to agree with a consensus (optimal matching), and the
   posterior probability that an object belongs to cluster m is the share of the kept maps that
   put it there (e.g. 26/27 = 0.963); objects with a low top probability are flagged for an
   individual review, as are objects of very small clusters or far from their cluster's centre.

:meth:`QuasiBayesianEnsemble.plan` checks the settings (``_parameter_constraints``), the bounds of
:mod:`clustering.limits` and one map's memory, and says how the maps will be trained (one after
the other, in joblib processes, or on Dask) before the first map; :meth:`~QuasiBayesianEnsemble.fit`
follows the same plan.
"""
from __future__ import annotations

import itertools
from numbers import Integral, Real
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from clustering import distributed, limits
from clustering import memory as budget
from clustering.constraints import Interval, Items, check_params
from clustering.errors import ClusteringError, ConfigError, DataError
from clustering.lattice import suggest_lattice
from clustering.metrics import theta
from clustering.planning import Plan
from clustering.progress import Progress, stop_requested
from clustering.som import (COUNT, MEMORY_LIMIT, N_JOBS, POSITIVE, RATE, SCHEDULER, SOM,
                            check_execution_params, check_sides)
from clustering.som_training import exponential_decay
from clustering.validation import validate_data


# ----------------------------------------------------------------------------------- Cochran
def replicate_variances(thetas) -> np.ndarray:
    """Sample variance (``ddof=1``) of each network's replicate criteria (a row per network).

    Table 5 of the article is this applied to table 2's three replicates per network.
    """
    arr = np.asarray(thetas, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise DataError("thetas: expected one row per network with at least 2 replicates.")
    return arr.var(axis=1, ddof=1)


def cochran_critical(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical value of Cochran's G for ``k`` variances of ``n`` replicates each.

    ``C = 1 / (1 + (k - 1) / F)`` with ``F`` the ``1 - alpha / k`` quantile of the F
    distribution with ``n - 1`` and ``(k - 1)(n - 1)`` degrees of freedom (the exact form behind
    the printed tables: k = 9, n = 3, alpha = 0.05 gives 0.4775).
    """
    if k < 2 or n < 2:
        return float("nan")
    f = stats.f.ppf(1.0 - alpha / k, n - 1, (k - 1) * (n - 1))
    return float(1.0 / (1.0 + (k - 1) / f))


def cochran_test(variances, n_replicates: int, alpha: float = 0.05) -> dict:
    """Cochran's test: ``G = max S_q^2 / sum S_q^2`` against its critical value.

    Returns ``{"G", "critical", "homogeneous", "alpha", "k", "n_replicates", "largest"}`` with
    ``largest`` the position of the largest variance. ``homogeneous`` is ``G <= critical``; with
    all variances zero G is undefined (NaN) and the variances count as homogeneous.
    """
    v = np.asarray(variances, dtype=float)
    if v.ndim != 1 or v.size == 0 or np.any(~np.isfinite(v)) or np.any(v < 0):
        raise DataError("variances: expected a list of non-negative finite numbers.")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha: expected a significance level between 0 and 1, got {alpha!r}.")
    k = v.size
    total = float(v.sum())
    largest = int(np.argmax(v))
    g = float(v[largest] / total) if total > 0 else float("nan")
    crit = cochran_critical(k, int(n_replicates), alpha)
    homogeneous = bool(total == 0 or k < 2 or g <= crit)
    return {"G": g, "critical": crit, "homogeneous": homogeneous, "alpha": float(alpha),
            "k": int(k), "n_replicates": int(n_replicates), "largest": largest}


def filter_networks(variances, n_replicates: int, alpha: float = 0.05,
                    names: Optional[Sequence] = None) -> dict:
    """The filtering rule (33): drop the largest-variance network while Cochran's test fails.

    Returns ``{"G", "critical", "homogeneous", "alpha", ...}`` of the first test (the whole
    ensemble, as the article reports it), ``rounds`` (every test made, with the network it
    removed), ``removed`` and ``kept`` (network names, default their positions) and
    ``final_homogeneous``. Filtering stops when the rest is homogeneous or one network is left.
    """
    v = np.asarray(variances, dtype=float)
    names = list(range(len(v))) if names is None else list(names)
    alive = list(range(len(v)))
    rounds, removed = [], []
    while True:
        test = cochran_test(v[alive], n_replicates, alpha)
        entry = {"round": len(rounds) + 1, "networks": [names[i] for i in alive], **test,
                 "removed": None}
        entry["largest"] = names[alive[test["largest"]]]
        if test["homogeneous"] or len(alive) <= 1:
            rounds.append(entry)
            break
        drop = alive[test["largest"]]
        entry["removed"] = names[drop]
        rounds.append(entry)
        removed.append(names[drop])
        alive.remove(drop)
    first = rounds[0]
    return {"G": first["G"], "critical": first["critical"], "homogeneous": first["homogeneous"],
            "alpha": float(alpha), "k": first["k"], "n_replicates": int(n_replicates),
            "rounds": rounds, "removed": removed, "kept": [names[i] for i in alive],
            "final_homogeneous": rounds[-1]["homogeneous"]}


# ----------------------------------------------------------------------------------- consensus
def consensus_labels(label_sets: np.ndarray, n_clusters: int, reference: int = 0,
                     max_rounds: int = 20):
    """Align the clusters of several partitions and vote.

    ``label_sets`` is (n_partitions, n_objects) with labels in ``0..n_clusters-1``. Every
    partition is renamed to agree best with the partition ``reference`` (Hungarian matching of
    the contingency table), then, until nothing changes, with the majority vote of the renamed
    partitions. Returns ``(aligned, permutations, consensus)``: the renamed label sets, each
    partition's renaming ``new = perm[old]``, and the final vote (ties to the lowest cluster).
    """
    L = np.asarray(label_sets, dtype=np.int64)
    M = int(n_clusters)
    n_obj = L.shape[1]

    def perm_to(target, labels):
        # contingency table of own cluster x target cluster, then the optimal one-to-one
        # renaming (Hungarian); empty clusters take part, so the renaming is a permutation
        table = np.zeros((M, M), dtype=np.int64)
        np.add.at(table, (labels, target), 1)
        old, new = linear_sum_assignment(table, maximize=True)
        perm = np.empty(M, dtype=np.int64)
        perm[old] = new
        return perm

    target = L[reference]
    perms = np.array([perm_to(target, lab) for lab in L])
    consensus = None
    for _ in range(max_rounds):
        aligned = np.take_along_axis(perms, L, axis=1)
        votes = np.zeros((n_obj, M))
        for row in aligned:
            votes[np.arange(n_obj), row] += 1
        new = np.argmax(votes, axis=1)
        if consensus is not None and np.array_equal(new, consensus):
            break
        consensus = new
        perms = np.array([perm_to(consensus, lab) for lab in L])
    aligned = np.take_along_axis(perms, L, axis=1)
    return aligned, perms, consensus


# ----------------------------------------------------------------------------------- training
#: The ensemble's parameters every map shares (handed to :class:`~clustering.som.SOM`).
MAP_PARAMS = ("rows", "cols", "lattice", "init", "sigma0", "eta0", "n_steps", "mode", "tol",
              "n_clusters", "cluster_method")


def _train_map(params: dict, X: np.ndarray, seed: int, index: int, stop=None):
    """Train one map of the ensemble (module level so that worker processes can run it)."""
    som = SOM(**params, random_state=seed).fit(X, stop=stop)
    return index, som, theta(X, som.labels_)


def _check_size(n1: int, n2: int, replicates: int, max_coassociation: int) -> None:
    """Refuse more maps (replicates x tau grid) and a larger co-association matrix than
    :mod:`clustering.limits` allows, before the first map."""
    U = int(replicates)
    limits.check("ensemble_maps", U * n1 * n2,
                 "n_replicates x len(tau1_grid) x len(tau2_grid)", f"{U} x {n1} x {n2}")
    limits.check("coassociation", int(max_coassociation), "max_coassociation")


def _effective_jobs(n_jobs, n_tasks: int) -> int:
    """Maps trained at once here: joblib's reading of ``n_jobs``, at most one per map."""
    from joblib import effective_n_jobs

    jobs = effective_n_jobs(n_jobs if n_jobs is not None else 1)
    return max(1, min(int(jobs), n_tasks))


def _check_local_memory(map_plan: Plan, jobs: int) -> None:
    """Refuse ``jobs`` maps trained at once here when together they exceed the memory limit."""
    need = map_plan.bytes * jobs
    limit = map_plan.limit
    if jobs > 1 and need > limit:
        raise ConfigError(
            f"memory_limit: {jobs} maps trained at once (n_jobs) need about "
            f"{budget.fmt_bytes(need)}, above the limit of "
            f"{budget.fmt_bytes(limit)}. Lower n_jobs, or raise memory_limit or the "
            f"environment variable {budget.MEMORY_ENV}.")


class _Reporter:
    """The ensemble's progress messages: ``map i of n (network q, replicate u)``."""

    def __init__(self, callback, tasks):
        self.callback, self.tasks, self.total = callback, tasks, len(tasks)

    def start(self) -> None:
        if self.callback is not None:
            self.callback(Progress("qbm", 0, self.total, {}, f"map 0 of {self.total}: training"))

    def __call__(self, i: int, idx: int, th: float) -> None:
        if self.callback is not None:
            q, u = self.tasks[idx][0], self.tasks[idx][1]
            self.callback(Progress("qbm", i, self.total, {"theta": float(th)},
                                   f"map {i} of {self.total} (network {q + 1}, replicate "
                                   f"{u + 1})"))

    def done(self, n_done: int, theta_mean: float, stopped: bool) -> None:
        if self.callback is not None:
            self.callback(Progress("qbm", n_done, self.total, {"theta_mean": theta_mean},
                                   "stopped" if stopped else f"{n_done} maps done", done=True))


def _fit_sequential(X, work, report, stop):
    """The maps one after the other here; a stop also interrupts the map being trained (which
    is then left out)."""
    results: dict[int, tuple] = {}
    for params, seed, idx in work:
        if stop_requested(stop):
            return results, True
        _, som, th = _train_map(params, X, seed, idx, stop)
        if som.stopped_:
            return results, True
        results[idx] = (som, th)
        report(len(results), idx, th)
    return results, False


def _fit_parallel(X, work, jobs: int, report, stop):
    """The maps in ``jobs`` joblib processes; a stop ends the run after the maps under way."""
    from joblib import Parallel, delayed

    results: dict[int, tuple] = {}
    with Parallel(n_jobs=jobs, return_as="generator_unordered") as parallel:
        gen = parallel(delayed(_train_map)(params, X, seed, idx) for params, seed, idx in work)
        for idx, som, th in gen:
            results[idx] = (som, th)
            report(len(results), idx, th)
            if stop_requested(stop):
                return results, True
    return results, False


def _fit_dask(client, X, work, report, stop):
    """Every map as a Dask task (the data sent to the workers once); an external stop
    cancels the maps not yet finished."""
    from distributed import as_completed

    results: dict[int, tuple] = {}
    X_future = client.scatter(X, broadcast=True)
    futures = [client.submit(_train_map, params, X_future, seed, idx, pure=False)
               for params, seed, idx in work]
    try:
        for future in as_completed(futures):
            idx, som, th = future.result()
            results[idx] = (som, th)
            report(len(results), idx, th)
            if stop_requested(stop):
                return results, True
    finally:
        client.cancel(futures)
    return results, False


# ----------------------------------------------------------------------------------- tables
def _maps_table(done, tasks, results) -> pd.DataFrame:
    """One row per trained map: map, network, replicate, tau1, tau2, theta, errors, steps."""
    rows = []
    for i in done:
        q, u, t1, t2 = tasks[i]
        som, th = results[i]
        rows.append({"map": i + 1, "network": q + 1, "replicate": u + 1, "tau1": t1,
                     "tau2": t2, "theta": th, "quantization_error": som.quantization_error_,
                     "topographic_error": som.topographic_error_, "steps": som.n_steps_done_})
    return pd.DataFrame(rows)


def _networks_table(grid, thetas: np.ndarray, base: dict, eta0: float, T: int) -> pd.DataFrame:
    """Table 2: network, tau1, sigma_end, tau2, eta_end (formulas 4 and 11 at step T), the
    replicates' Theta and their mean."""
    sigma0 = base["sigma0"] if base["sigma0"] is not None else max(base["rows"],
                                                                   base["cols"]) / 2
    net = pd.DataFrame({"network": np.arange(1, len(grid) + 1),
                        "tau1": [g[0] for g in grid],
                        "sigma_end": [float(exponential_decay(sigma0, g[0], T)) for g in grid],
                        "tau2": [g[1] for g in grid],
                        "eta_end": [float(exponential_decay(eta0, g[1], T)) for g in grid]})
    for u in range(thetas.shape[1]):
        net[f"theta_u{u + 1}"] = thetas[:, u]
    counts = np.sum(~np.isnan(thetas), axis=1)
    net["theta_mean"] = [float(np.mean(r[~np.isnan(r)])) if c else np.nan
                         for r, c in zip(thetas, counts)]
    return net


def _network_variances(thetas: np.ndarray) -> np.ndarray:
    """Table 5: each network's replicate variance (ddof = 1; NaN under 2 replicates)."""
    var = np.full(thetas.shape[0], np.nan)
    for q in range(thetas.shape[0]):
        vals = thetas[q][~np.isnan(thetas[q])]
        if vals.size >= 2:  # equal replicates: exactly 0, not the mean's rounding error
            var[q] = 0.0 if np.ptp(vals) == 0 else vals.var(ddof=1)
    return var


def _filter(var: np.ndarray, counts: np.ndarray, U: int, alpha: float) -> dict:
    """Rule 33 on the networks that can be tested, with a note where it cannot tell."""
    n_net = len(var)
    testable = np.flatnonzero(~np.isnan(var))
    if testable.size >= 1 and U >= 2:
        # networks cut short by a stop (fewer replicates) are tested with the full ones
        # only when they have all U replicates; the others cannot be tested
        full = [q for q in testable if counts[q] == U]
        use = full if full else list(testable)
        n_rep = U if full else int(counts[use].min())
        cochran = filter_networks(var[use], n_rep, alpha, names=[int(q) + 1 for q in use])
    else:
        cochran = {"G": float("nan"), "critical": float("nan"), "homogeneous": True,
                   "alpha": alpha, "k": int(n_net), "n_replicates": U,
                   "rounds": [], "removed": [], "kept": [int(q + 1) for q in range(n_net)
                                                         if counts[q] > 0],
                   "final_homogeneous": True,
                   "note": "Cochran's test needs at least 2 replicates per network."}
    cochran["kept"] = sorted(int(k) for k in cochran["kept"])
    if U >= 2 and np.all(np.nan_to_num(var) == 0):
        cochran["note"] = ("Every network's replicates gave the same criterion (zero "
                           "variances): the replicates did not differ, e.g. PCA "
                           "initialisation with batch training is deterministic; use "
                           "init='random' or 'sample'.")
    return cochran


# ----------------------------------------------------------------------------------- estimator
class QuasiBayesianEnsemble(ClusterMixin, BaseEstimator):
    """Quasi-Bayesian ensemble of self-organizing maps (the article's QBM).

    Parameters
    ----------
    tau1_grid, tau2_grid : sequences of float
        Decay constants of sigma and eta; one network per pair (the article's 3 x 3).
    n_replicates : int
        Maps trained per network with different seeds (the article: 3). At least 2 for
        Cochran's test. The maps, ``n_replicates x len(tau1_grid) x len(tau2_grid)``, are
        bounded by ``ensemble_maps`` of :mod:`clustering.limits` (``CLUSTERMAP_MAX_ENSEMBLE_MAPS``).
    sigma0, eta0, n_steps, rows, cols, lattice, init, mode, tol, n_clusters, cluster_method
        Shared by every map; see :class:`~clustering.som.SOM`. The article: sigma0 = 4,
        eta0 = 0.3, T = 500, a 16 x 12 lattice, M = 3. ``rows=None`` and ``cols=None``: the
        5 sqrt(N) rule, once for all maps. Defaults differ from the SOM's in two places:
        ``mode="batch"`` (one step = one pass over the data, fully vectorised: 27 maps of 500
        passes over 10,000 objects take well under a minute on 2 cores, whereas 500 steps of
        the online rule would show each map only 500 objects) and ``init="random"`` (the
        replicates must differ; PCA initialisation with batch training is deterministic, which
        would make every replicate identical). For the article's online rule on its 24 objects
        set ``mode="online"``.
    alpha : float
        Significance level of Cochran's test.
    boundary_threshold : float
        Objects whose most probable cluster has a posterior below this are flagged "boundary".
    outlier_min_size : int or None
        Objects of consensus clusters of at most this many objects are flagged "outlier"
        (None: 2 % of the objects, at least 1, like the article's lone enterprise 7).
    outlier_z : float
        Objects whose distance to their cluster's centre has a robust z-score (median and MAD
        of all such distances) above this are flagged "outlier" too.
    max_coassociation : int
        Largest number of objects for which ``coassociation_`` is kept (n x n floats, and only
        when 12 n^2 bytes fit ``memory_limit``); :meth:`coassociation` computes it for any
        subset. At most the ``coassociation`` bound of :mod:`clustering.limits`.
    n_jobs : int
        Maps trained in parallel (joblib processes; -1: every core). 1 trains in this process,
        where an external stop also interrupts the map being trained. On an embedded Dask
        LocalCluster: its worker processes.
    random_state : int or None
        Seeds every map (independent streams of one seed sequence), whatever ``n_jobs`` or
        ``scheduler``.
    scheduler : str or None
        Where the maps are trained: None (the environment variable ``CLUSTERMAP_DASK_SCHEDULER``
        when set, else the local path), "local" (this process or joblib, by ``n_jobs``),
        "auto" (an embedded LocalCluster for large jobs, else local), "localcluster" or a Dask
        scheduler address; see :mod:`clustering.distributed`. Every map is one Dask task; the
        results are identical to the local path.
    memory_limit : int or None
        Bytes a map may use (see :class:`~clustering.som.SOM`); with ``n_jobs`` local
        processes, ``n_jobs`` maps at once. None: ``CLUSTERMAP_MEMORY_LIMIT`` or a Dask
        worker's share of the container's memory (:mod:`clustering.resources`). A run estimated
        above it is refused before the first map (:meth:`plan`).

    Attributes
    ----------
    maps_ : list of SOM
        Every trained map, network by network, replicate by replicate.
    maps_table_ : DataFrame
        One row per map: map, network, replicate, tau1, tau2, theta, quantization and
        topographic errors, steps made, kept.
    networks_ : DataFrame
        Table 2: network (from 1), tau1, sigma_end, tau2, eta_end (schedule values at step T),
        theta_u1..theta_uU, theta_mean.
    variances_ : DataFrame
        Table 5: network, tau1, tau2, replicate_variance (ddof = 1), kept.
    cochran_ : dict
        :func:`filter_networks` of the variances: G, critical, homogeneous (first test, the
        whole ensemble), alpha, rounds, removed, kept, final_homogeneous.
    kept_networks_ : DataFrame
        The rows of ``networks_`` that passed the filter.
    theta_mean_ : float
        Formula 34: the mean Theta over the maps of the kept networks.
    proba_ : ndarray (n_samples, n_clusters)
        Posterior probability of each cluster: the share of kept maps voting for it.
    labels_ : ndarray (n_samples,)
        Most probable cluster; clusters are numbered by decreasing size.
    coassociation_ : ndarray (n_samples, n_samples) or None
        Share of kept maps putting two objects in the same cluster (None above
        ``max_coassociation`` objects, or when it would not fit ``memory_limit``).
    flags_ : DataFrame
        Objects recommended for an individual review: object (row position from 0), flag
        ("boundary" or "outlier"), cluster, posterior, reason.
    best_map_ : SOM
        The kept map with the smallest Theta.
    kept_maps_ : list of int
        Positions in ``maps_`` of the kept maps (the networks that passed the filter).
    permutations_ : ndarray (kept maps, n_clusters)
        Each kept map's renaming into the consensus: ``permutations_[k][own cluster]``.
    aligned_labels_ : ndarray (kept maps, n_samples)
        Every kept map's clusters of the training objects, in consensus numbering.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    stopped_ : bool
        True when an external stop ended the run early (the ensemble is then built from the
        maps finished by then).
    execution_ : dict
        Where the maps were trained: ``path`` ("local", "localcluster", "remote"),
        ``workers``, ``address``, ``reason``, ``summary`` (one line for the app).
    """

    def __init__(self, tau1_grid: tuple = (140, 280, 700), tau2_grid: tuple = (125, 250, 625),
                 n_replicates: int = 3, sigma0: float = 4.0, eta0: float = 0.3,
                 n_steps: int = 500, rows: Optional[int] = 16, cols: Optional[int] = 12,
                 lattice: str = "hexagonal", init: str = "random", mode: str = "batch",
                 tol: float = 1e-4, n_clusters: int = 3, cluster_method: str = "kmeans",
                 alpha: float = 0.05, boundary_threshold: float = 0.6,
                 outlier_min_size: Optional[int] = None, outlier_z: float = 3.5,
                 max_coassociation: int = 5000, n_jobs: int = -1, random_state=0,
                 scheduler: Optional[str] = None, memory_limit: Optional[int] = None):
        self.tau1_grid = tau1_grid
        self.tau2_grid = tau2_grid
        self.n_replicates = n_replicates
        self.sigma0 = sigma0
        self.eta0 = eta0
        self.n_steps = n_steps
        self.rows = rows
        self.cols = cols
        self.lattice = lattice
        self.init = init
        self.mode = mode
        self.tol = tol
        self.n_clusters = n_clusters
        self.cluster_method = cluster_method
        self.alpha = alpha
        self.boundary_threshold = boundary_threshold
        self.outlier_min_size = outlier_min_size
        self.outlier_z = outlier_z
        self.max_coassociation = max_coassociation
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.scheduler = scheduler
        self.memory_limit = memory_limit

    # ------------------------------------------------------------------ checks and plan
    _parameter_constraints: dict = {
        "tau1_grid": [Items(POSITIVE, min_len=1)],
        "tau2_grid": [Items(POSITIVE, min_len=1)],
        "n_replicates": [COUNT],
        **{name: SOM._parameter_constraints[name] for name in MAP_PARAMS},
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "boundary_threshold": [RATE],
        "outlier_min_size": [Interval(Integral, 0, None, closed="left"), None],
        "outlier_z": [POSITIVE],
        "max_coassociation": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": N_JOBS,
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "scheduler": SCHEDULER,
        "memory_limit": MEMORY_LIMIT,
    }

    def _check_params(self, X: np.ndarray) -> dict:
        """The declared constraints, the bounds of :mod:`clustering.limits` (maps and the
        co-association matrix, before the first map) and the data's size; returns the
        normalised parameters."""
        p = check_params(self)
        check_execution_params(p)
        _check_size(len(p["tau1_grid"]), len(p["tau2_grid"]), p["n_replicates"],
                    p["max_coassociation"])
        if X.shape[0] < 2:
            raise DataError(f"X: the ensemble needs at least 2 objects, got {X.shape[0]} "
                            "sample.")
        return p

    def _map_params(self, X: np.ndarray, p: Optional[dict] = None) -> dict:
        """The settings every map shares (the lattice resolved once for all maps)."""
        p = check_params(self) if p is None else p
        check_sides(p["rows"], p["cols"])
        rows, cols = p["rows"], p["cols"]
        if rows is None:
            rows, cols = suggest_lattice(X, p["lattice"])
        return dict(rows=rows, cols=cols, **{name: p[name] for name in MAP_PARAMS[2:]},
                    history_every=10, memory_limit=p["memory_limit"], scheduler="local")

    def _map_plan(self, X: np.ndarray, p: dict) -> tuple[dict, Plan]:
        """The shared map settings and one map's :meth:`SOM.plan` (which refuses a map above
        the memory limit, naming the field, in this process)."""
        base = self._map_params(X, p)
        return base, SOM(**base).plan(X)

    def plan(self, X) -> Plan:
        """How :meth:`fit` would run on ``X``, decided without training a map.

        Checks the parameters, the data, the bounds of :mod:`clustering.limits`, one map's
        memory (:meth:`SOM.plan`) and, when the maps are trained here (scheduler ``"local"``),
        ``n_jobs`` maps at once against the memory limit; refuses what :meth:`fit` would refuse,
        with the same messages. Returns a :class:`~clustering.planning.Plan`: execution
        ``"sequential"`` (one map after the other), ``"parallel"`` (``n_jobs`` joblib processes)
        or ``"dask"`` (a Dask scheduler decides), the peak memory (one map's times the maps
        trained at once), and in ``details`` the number of ``maps``, ``networks`` and
        ``replicates``, the shared lattice (``rows``, ``cols``), ``jobs``, ``scheduler`` and
        ``map`` (the map's plan as a dict). Nothing is left on the estimator.
        """
        X = validate_data(X)
        p = self._check_params(X)
        base, map_plan = self._map_plan(X, p)
        return self._plan(p, base, map_plan)

    def _plan(self, p: dict, base: dict, map_plan: Plan) -> Plan:
        n_net = len(p["tau1_grid"]) * len(p["tau2_grid"])
        n_maps = n_net * int(p["n_replicates"])
        scheduler = distributed.resolve_scheduler(p["scheduler"])
        details = {"maps": n_maps, "networks": n_net, "replicates": int(p["n_replicates"]),
                   "rows": int(base["rows"]), "cols": int(base["cols"]),
                   "scheduler": scheduler, "map": map_plan.as_dict()}
        if scheduler != "local":
            return Plan("dask", f"{n_maps} maps as tasks of the Dask scheduler {scheduler!r}",
                        map_plan.bytes, map_plan.limit, {**details, "jobs": None})
        jobs = _effective_jobs(p["n_jobs"], n_maps)
        _check_local_memory(map_plan, jobs)
        if jobs > 1:
            return Plan("parallel", f"{n_maps} maps in {jobs} joblib processes (n_jobs)",
                        map_plan.bytes * jobs, map_plan.limit, {**details, "jobs": jobs})
        return Plan("sequential", f"{n_maps} maps one after the other in this process",
                    map_plan.bytes, map_plan.limit, {**details, "jobs": 1})

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, callback: Optional[Callable[[Progress], None]] = None,
            stop=None):
        """Train every map, test and filter the networks, and vote.

        ``callback`` gets ``Progress(method="qbm", step=i, total=n_maps, message="map i of
        n_maps ...")`` after every map and once with ``done=True``; ``stop.is_set()`` ends the
        run after the maps under way (with ``n_jobs=1``: inside the current map, which is then
        left out), and the ensemble is built from the finished maps.
        """
        X = validate_data(X, estimator=self)
        p = self._check_params(X)
        base, map_plan = self._map_plan(X, p)
        grid = list(itertools.product(p["tau1_grid"], p["tau2_grid"]))
        U = int(p["n_replicates"])
        tasks = [(q, u, t1, t2) for q, (t1, t2) in enumerate(grid) for u in range(U)]
        seeds = np.random.SeedSequence(p["random_state"]).generate_state(len(tasks))
        report = _Reporter(callback, tasks)
        report.start()
        results, self.stopped_ = self._train_maps(X, p, base, map_plan, tasks, seeds, report,
                                                  stop)
        if not results:
            raise ClusteringError("The ensemble was stopped before its first map was trained; "
                                  "nothing to show.")
        self._build(X, base, grid, tasks, results, map_plan.limit)
        report.done(len(results), self.theta_mean_, self.stopped_)
        return self

    def _train_maps(self, X, p, base, map_plan, tasks, seeds, report, stop):
        """Every map, on Dask, in joblib processes or one after the other; sets
        ``execution_``. Returns ``({task: (som, theta)}, stopped)``."""
        total = len(tasks)
        ops = 2.0 * total * X.shape[0] * int(base["rows"]) * int(base["cols"]) * X.shape[1] * (
            int(p["n_steps"]) if p["mode"] == "batch" else 1)
        jobs = 1
        with distributed.dask_session(p["scheduler"], p["n_jobs"], ops=ops,
                                      max_tasks=total) as (execution, client):
            if client is None:
                jobs = _effective_jobs(p["n_jobs"], total)
                _check_local_memory(map_plan, jobs)
                execution = distributed.Execution(
                    "local", jobs, None, execution.reason + (
                        f"; {jobs} joblib processes (n_jobs)" if jobs > 1 else
                        "; maps one after the other in this process (n_jobs=1)"))
            self.execution_ = {**execution.as_dict(), "summary": execution.describe()}
            work = [({**base, "tau1": t1, "tau2": t2}, int(seeds[idx]), idx)
                    for idx, (q, u, t1, t2) in enumerate(tasks)]
            if client is not None:
                return _fit_dask(client, X, work, report, stop)
            if jobs == 1:
                return _fit_sequential(X, work, report, stop)
            return _fit_parallel(X, work, jobs, report, stop)

    # ------------------------------------------------------------------ tables
    def _build(self, X, base, grid, tasks, results, memory_limit: int):
        """The tables, Cochran's filter (rule 33), the mean criterion (34) and the vote."""
        U = int(self.n_replicates)
        n_net = len(grid)
        done = sorted(results)
        self.maps_ = [results[i][0] for i in done]
        thetas = np.full((n_net, U), np.nan)
        for i in done:
            thetas[tasks[i][0], tasks[i][1]] = results[i][1]
        net = _networks_table(grid, thetas, base, float(self.eta0), int(self.n_steps))
        counts = np.sum(~np.isnan(thetas), axis=1)
        var = _network_variances(thetas)
        cochran = _filter(var, counts, U, float(self.alpha))
        kept_ids = set(cochran["kept"])
        self.networks_ = net
        kept_mask = net["network"].isin(kept_ids) & (counts > 0)
        self.variances_ = pd.DataFrame({"network": net["network"], "tau1": net["tau1"],
                                        "tau2": net["tau2"], "replicate_variance": var,
                                        "kept": kept_mask.to_numpy()})
        self.cochran_ = cochran
        self.kept_networks_ = net[kept_mask].reset_index(drop=True)
        maps_table = _maps_table(done, tasks, results)
        maps_table["kept"] = maps_table["network"].isin(kept_ids)
        self.maps_table_ = maps_table
        kept_idx = [k for k, i in enumerate(done) if tasks[i][0] + 1 in kept_ids]
        if not kept_idx:  # cannot happen with a finished run; keep every map rather than none
            kept_idx = list(range(len(done)))
        self.kept_maps_ = kept_idx
        self.theta_mean_ = float(np.mean([results[done[k]][1] for k in kept_idx]))
        best = min(kept_idx, key=lambda k: results[done[k]][1])
        self.best_map_ = self.maps_[best]
        self._vote(X, kept_idx, best, memory_limit)

    def _vote(self, X, kept_idx, best, memory_limit: Optional[int] = None):
        M = int(self.n_clusters)
        L = np.array([self.maps_[k].labels_ for k in kept_idx])
        aligned, perms, consensus = consensus_labels(L, M, reference=kept_idx.index(best))
        n = X.shape[0]
        proba = np.zeros((n, M))
        for row in aligned:
            proba[np.arange(n), row] += 1.0
        proba /= len(kept_idx)
        # number the clusters by decreasing size of the vote (ties: lowest old number)
        labels = np.argmax(proba, axis=1)
        sizes = np.bincount(labels, minlength=M)
        order = sorted(range(M), key=lambda m: (-sizes[m], m))
        rename = np.empty(M, dtype=np.int64)
        rename[order] = np.arange(M)
        self.proba_ = proba[:, order]
        self.labels_ = rename[labels]
        self.permutations_ = rename[perms]   # map k: consensus cluster = permutations_[k][own]
        # (kept maps, objects) in consensus numbering; small integers keep big data affordable
        self.aligned_labels_ = rename[aligned].astype(np.int16 if M < 2 ** 15 else np.int64)
        self.coassociation_ = (self.coassociation() if self._keeps_coassociation(n, memory_limit)
                               else None)
        self.flags_ = self._flags(X)

    def _keeps_coassociation(self, n: int, memory_limit: Optional[int]) -> bool:
        """Keep the n x n matrix up to ``max_coassociation`` objects, and only when it fits the
        memory limit (a float32 product and its float64 copy, 12 n^2 bytes)."""
        fits = memory_limit is None or 12 * n * n <= memory_limit
        return n <= self.max_coassociation and fits

    # ------------------------------------------------------------------ results
    def coassociation(self, rows: Optional[Sequence[int]] = None) -> np.ndarray:
        """Share of the kept maps putting two training objects in the same cluster.

        ``rows`` restricts it to those objects (a len(rows) x len(rows) matrix). Computed as one
        product of one-hot vote matrices, without any n x n x maps array.
        """
        check_is_fitted(self, "proba_")
        A = self.aligned_labels_ if rows is None else self.aligned_labels_[:, np.asarray(rows)]
        n_maps, n = A.shape
        M = int(self.n_clusters)
        B = np.zeros((n, n_maps * M), dtype=np.float32)
        B[np.repeat(np.arange(n), n_maps), (np.tile(np.arange(n_maps), n) * M
                                            + A.T.ravel())] = 1.0
        C = (B @ B.T) / n_maps
        return C.astype(np.float64)

    def _min_size(self, n: int) -> int:
        if self.outlier_min_size is not None:
            return int(self.outlier_min_size)
        return max(1, int(0.02 * n))

    def _flags(self, X) -> pd.DataFrame:
        n = X.shape[0]
        labels, proba = self.labels_, self.proba_
        M = proba.shape[1]
        out = []
        order = np.argsort(-proba, axis=1, kind="stable")
        for i in np.flatnonzero(proba[np.arange(n), labels] < self.boundary_threshold):
            a, b = order[i, 0], order[i, 1] if M > 1 else order[i, 0]
            out.append((int(i), "boundary", int(labels[i]), float(proba[i, a]),
                        f"split between clusters {a} ({proba[i, a]:.3f}) and {b} "
                        f"({proba[i, b]:.3f}); posterior under {self.boundary_threshold:g}"))
        sizes = np.bincount(labels, minlength=M)
        min_size = self._min_size(n)
        small = {m for m in range(M) if 0 < sizes[m] <= min_size}
        centres = np.array([X[labels == m].mean(axis=0) if sizes[m] else np.full(X.shape[1],
                                                                                  np.nan)
                            for m in range(M)])
        dist = np.linalg.norm(X - centres[labels], axis=1)
        base = np.array([labels[i] not in small for i in range(n)])
        med = float(np.median(dist[base])) if base.any() else 0.0
        mad = float(np.median(np.abs(dist[base] - med))) if base.any() else 0.0
        z = 0.6745 * (dist - med) / mad if mad > 0 else np.zeros(n)
        for i in range(n):
            m = int(labels[i])
            if m in small:
                out.append((i, "outlier", m, float(proba[i, m]),
                            f"in cluster {m} of only {sizes[m]} object(s) of {n} (at most "
                            f"{min_size}): an individual review is advised"))
            elif z[i] > self.outlier_z:
                out.append((i, "outlier", m, float(proba[i, m]),
                            f"far from the centre of cluster {m}: distance {dist[i]:.3g}, "
                            f"robust z-score {z[i]:.1f} > {self.outlier_z:g}"))
        frame = pd.DataFrame(out, columns=["object", "flag", "cluster", "posterior", "reason"])
        return frame.sort_values(["object", "flag"], kind="stable").reset_index(drop=True)

    def predict_proba(self, X=None) -> np.ndarray:
        """Posterior cluster probabilities: ``proba_`` for the training objects (``X=None``),
        else the share of kept maps whose (renamed) cluster of the object's cell is m."""
        check_is_fitted(self, "proba_")
        if X is None:
            return self.proba_.copy()
        X = validate_data(X, estimator=self, reset=False, fitted="proba_")
        M = int(self.n_clusters)
        proba = np.zeros((X.shape[0], M))
        for k, perm in zip(self.kept_maps_, self.permutations_):
            proba[np.arange(X.shape[0]), perm[self.maps_[k].predict(X)]] += 1.0
        return proba / len(self.kept_maps_)

    def predict(self, X) -> np.ndarray:
        """Most probable cluster of every row of ``X``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def profile(self, data=None, score: Optional[str] = "Phi") -> pd.DataFrame:
        """Cluster profile for decisions: size, share, flagged objects, the mean of every
        numeric column, ranked by the mean of ``score``.

        ``data`` holds the training objects in the same order: a DataFrame (its numeric columns
        are averaged; the original, unscaled table reads best) or an array (columns ``x0``,
        ``x1``, ...); None uses nothing but the sizes. Rows are clusters, sorted by the score's
        mean ascending; ``rank`` 1 is the lowest mean (in the article: the poorest financial
        state, for lenient measures; the highest needs no relief) and ``note`` marks small
        clusters for an individual review.
        """
        check_is_fitted(self, "labels_")
        n = self.labels_.shape[0]
        frame = _profile_frame(data, n)
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        if score is not None and data is not None and score not in numeric:
            raise ConfigError(f"score: no numeric column {score!r} in the data; choose one of "
                              f"{', '.join(map(str, numeric)) or '(none)'}.")
        flagged = set(self.flags_["object"].tolist())
        rows = []
        for m in range(int(self.n_clusters)):
            members = self.labels_ == m
            size = int(members.sum())
            row = {"cluster": m, "size": size, "share": size / n,
                   "mean_posterior": float(self.proba_[members, m].mean()) if size else np.nan,
                   "flagged": int(sum(1 for i in np.flatnonzero(members) if i in flagged))}
            for c in numeric:
                row[c] = float(frame.loc[members, c].mean()) if size else np.nan
            rows.append(row)
        table = pd.DataFrame(rows).set_index("cluster")
        table = table[table["size"] > 0]
        if score is not None and score in table.columns:
            table = _rank(table, score, self._min_size(n))
        return table


def _profile_frame(data, n: int) -> pd.DataFrame:
    """The training objects' table for :meth:`QuasiBayesianEnsemble.profile` (n rows)."""
    if data is None:
        frame = pd.DataFrame(index=range(n))
    elif isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
    else:
        arr = np.asarray(data, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        frame = pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])
    if len(frame) != n:
        raise DataError(f"data: {len(frame)} rows, the ensemble was fitted on {n} objects; "
                        "give the same objects in the same order.")
    return frame


def _rank(table: pd.DataFrame, score: str, min_size: int) -> pd.DataFrame:
    """Clusters sorted by the mean of ``score``, ranked from 1, with a note for decisions."""
    table = table.sort_values(score, kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    notes = []
    for pos, (m, r) in enumerate(table.iterrows()):
        if r["size"] <= min_size:
            notes.append("very small cluster: individual review")
        elif pos == 0 and len(table) > 1:
            notes.append(f"lowest mean {score}")
        elif pos == len(table) - 1 and len(table) > 1:
            notes.append(f"highest mean {score}")
        else:
            notes.append("")
    table["note"] = notes
    return table


__all__ = ["QuasiBayesianEnsemble", "replicate_variances", "cochran_critical", "cochran_test",
           "filter_networks", "consensus_labels"]
