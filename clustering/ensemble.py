"""The quasi-Bayesian method (QBM): an ensemble of SOMs votes on each object's cluster.

The method of the taxpayer article ("Neural network clustering methods to evaluate the totality
of taxpayers according to their degree of creditworthiness", 2017), section 2, formulas 22 and
32-34, and the decisions of its section 4:

1. "Выбор ансамбля нейросетей – гипотез": one SOM per point of a grid ``tau1 x tau2`` (the
   article: 3 x 3 = 9 networks), each trained ``U`` times with different seeds ("дублирующие
   расчёты", the article: 3, so 27 maps), with the same ``sigma0``, ``eta0``, ``T``, lattice and
   number of clusters M.
2. "Фильтрация обученных нейросетей-гипотез по критерию, оценивающему качество кластеризации,
   например (22)": the criterion Θ (22) of every map, about the centres of the clusters the map
   found ("точка центра кластера"; :attr:`SOM.cluster_centers_`, so that replicates finding the
   same partition still differ, as table 2's do: network 7 gives 2.986739, 2.985659,
   3.099081); the networks are filtered by Cochran's rule (33) and by the level of Θ
   (:mod:`clustering.cochran`, which says why both are applied by default).
3. "Усреднение критерия качества разбиения ... на отфильтрованном ансамбле": the mean Θ (34) of
   the kept maps; each kept map's clusters are renamed to agree (:mod:`clustering.consensus`), and
   an object's posterior probability of cluster m is the share of the kept maps that put it
   there (26/27 = 0.963 in the article).

The decisions (:mod:`clustering.decisions`) are the article's: the lowest-mean cluster gets
lenient measures, an object of its own cluster or split between two gets an individual
analysis, and an assignment is reliable at a posterior of at least 26/27. The number of clusters
is unknown in the article's problem ("число кластеров ... неизвестны"): ``n_clusters="auto"``
chooses M from a curve over candidates (:mod:`clustering.ensemble_selection`), regrouping the
cells of the same trained maps for every M.

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
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from clustering import distributed, ensemble_selection
from clustering import ensemble_tables as tables
from clustering.classic import MacQueenKMeans
from clustering.cochran import (RULES, cochran_critical, cochran_test, filter_ensemble,
                                filter_networks, replicate_variances)
from clustering.consensus import consensus_labels, renaming
from clustering.constraints import Interval, Items, StrOptions, check_params
from clustering.decisions import (DecisionRules, cluster_decisions, object_decisions,
                                  reliable_share)
from clustering.ensemble_training import (Reporter, check_local_memory, check_size,
                                          effective_jobs, fit_dask, fit_parallel,
                                          fit_sequential)
from clustering.errors import ClusteringError, ConfigError, DataError
from clustering.i18n import Message, N_, Text
from clustering.lattice import suggest_lattice
from clustering.metrics import agreement, match_labels, theta
from clustering.planning import Plan
from clustering.progress import Progress
from clustering.som import (COUNT, MEMORY_LIMIT, N_JOBS, POSITIVE, SCHEDULER, SOM,
                            check_execution_params, check_sides)
from clustering.validation import validate_data

#: The ensemble's parameters every map shares (handed to :class:`~clustering.som.SOM`).
MAP_PARAMS = ("rows", "cols", "lattice", "init", "sigma0", "eta0", "n_steps", "mode", "tol",
              "n_clusters", "cluster_method")
#: Where Θ (22) takes a cluster's centre: the map's own, or the mean of the cluster's objects.
THETA_CENTRES = ("map", "objects")
SHARE = Interval(Real, 0, 1, closed="both")


def map_theta(X: np.ndarray, som: SOM, centre: str = "map") -> float:
    """Θ (22) of one trained map: squared distances of the objects to their cluster's centre,
    the map's own (``"map"``: :attr:`SOM.cluster_centers_`) or the objects' mean."""
    return theta(X, som.labels_, som.cluster_centers_ if centre == "map" else None)


def _outcome(X, maps, tasks, grid, U, M, p) -> dict:
    """Steps 2 and 3 for one M on trained maps: Θ of every map, the filter, (34), the vote."""
    done = sorted(maps)
    if any(maps[i].n_clusters != M for i in done):
        maps = {i: maps[i].recluster(M) for i in done}
    thetas = np.full((len(grid), U), np.nan)
    for i in done:
        thetas[tasks[i][0], tasks[i][1]] = map_theta(X, maps[i], p["theta_centre"])
    filt = filter_ensemble(thetas, p["network_filter"], p["alpha"], p["level_quantile"])
    kept = set(filt["kept"]) or {tasks[i][0] + 1 for i in done}  # never vote with no map
    kept_idx = [k for k, i in enumerate(done) if tasks[i][0] + 1 in kept]
    order = [maps[i] for i in done]
    best = min(kept_idx, key=lambda k: thetas[tasks[done[k]][0], tasks[done[k]][1]])
    vote = _vote(np.array([order[k].labels_ for k in kept_idx]), M, kept_idx.index(best))
    return {"M": M, "done": done, "maps": order, "thetas": thetas, "filter": filt,
            "kept_idx": kept_idx, "best": best, **vote}


def _vote(L: np.ndarray, M: int, reference: int) -> dict:
    """The kept maps' labels aligned and counted: posteriors, labels (clusters numbered by
    decreasing size of the vote), each map's renaming and its renamed labels."""
    aligned, perms, _ = consensus_labels(L, M, reference=reference)
    n = L.shape[1]
    proba = np.zeros((n, M))
    for row in aligned:
        proba[np.arange(n), row] += 1.0
    proba /= len(L)
    labels = np.argmax(proba, axis=1)
    sizes = np.bincount(labels, minlength=M)
    order = sorted(range(M), key=lambda m: (-sizes[m], m))
    rename = np.empty(M, dtype=np.int64)
    rename[order] = np.arange(M)
    return {"proba": proba[:, order], "labels": rename[labels], "perms": rename[perms],
            "aligned": rename[aligned].astype(np.int16 if M < 2 ** 15 else np.int64)}


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
    sigma0, eta0, n_steps, rows, cols, lattice, init, mode, tol, cluster_method
        Shared by every map; see :class:`~clustering.som.SOM`. The article ("Т =500; G0=4;
        η0= 0,3"; "по оси абсцисс выбиралось 16, а по оси ординат 12 ячеек"): sigma0 = 4,
        eta0 = 0.3, T = 500 epochs of the online rule, 12 rows x 16 columns; :meth:`article`
        sets exactly that (``mode="epoch"``, ``tol=0``). The defaults differ in one place:
        ``mode="batch"`` (one step = one vectorised pass over the data), which trains 27 maps
        on large data in seconds; ``init="random"`` as the article ("им присваиваются малые
        значения, сформированные генератором случайных чисел"), which also makes replicates
        differ. ``rows=None`` and ``cols=None``: the 5 sqrt(N) rule, once for all maps.
    n_clusters : int or "auto"
        M. "auto": chosen from ``n_clusters_candidates`` by :func:`~clustering.ensemble_selection.suggest`
        on the same trained maps (their cells regrouped for every M); ``selection_`` holds the
        curve.
    n_clusters_candidates : sequence of int
        The M tried by ``n_clusters="auto"`` (default 2..8).
    theta_centre : {"map", "objects"}
        The centre in Θ (22): the map's own cluster centre (default, the article's reading) or
        the mean of the cluster's objects (then Θ depends on the partition only, and replicates
        finding the same partition have zero variance).
    network_filter : {"cochran+level", "cochran", "level", "none"}
        Step 2's filter of the networks (:func:`~clustering.cochran.filter_ensemble`): rule (33),
        then the level of Θ (default: gives both the article's "all 9 passed (33)" and its
        (34) = 3.68), rule (33) alone, the level alone, or no filter.
    alpha : float
        Significance level of Cochran's test (not stated in the article; 5 %).
    level_quantile : float
        The level filter keeps networks whose mean Θ is at most this quantile of the networks'
        means (0.5: the median).
    reliable_posterior : float
        An assignment is reliable at this posterior or more (the article: 26/27 = 0.963).
    split_margin, midpoint_tolerance, anomaly_max_size
        The article's rules for an individual analysis; see
        :class:`~clustering.decisions.DecisionRules`.
    outlier_z : float or None
        **Not the article's rule**: also flag objects whose distance to their cluster's centre
        has a robust z-score (median and MAD) above this. None (default): off.
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
        Where the maps are trained: None (``CLUSTERMAP_DASK_SCHEDULER`` when set, else the
        local path), "local", "auto", "localcluster" or a Dask scheduler address; see
        :mod:`clustering.distributed`. Every map is one Dask task; the results are identical.
    memory_limit : int or None
        Bytes a map may use (see :class:`~clustering.som.SOM`); with ``n_jobs`` local
        processes, ``n_jobs`` maps at once. A run estimated above it is refused before the
        first map (:meth:`plan`).

    Attributes
    ----------
    n_clusters_ : int
        M used (the choice of "auto").
    selection_ : DataFrame or None
        With ``n_clusters="auto"``: one row per candidate M (:mod:`clustering.ensemble_selection`).
    maps_ : list of SOM
        Every trained map (cells grouped into ``n_clusters_``), network by network.
    maps_table_ : DataFrame
        One row per map: map, name (HCq,u), network, replicate, tau1, tau2, theta, errors,
        steps made, sigma_end, eta_end, kept.
    networks_ : DataFrame
        Table 2: network, tau1, sigma_end, tau2, eta_end (as the maps reached them),
        theta_u1..theta_uU, theta_mean.
    variances_ : DataFrame
        Table 5 and the filter: network, tau1, tau2, theta_mean, replicate_variance, cochran,
        level (what each rule did), kept.
    cochran_ : dict
        :func:`~clustering.cochran.cochran_filter`: G, critical, homogeneous (None: cannot
        judge), rounds, removed, kept, note.
    filter_ : dict
        :func:`~clustering.cochran.filter_ensemble`: rule, cochran, level, kept, reasons.
    kept_networks_ : DataFrame
        The rows of ``networks_`` that passed the filter.
    theta_mean_ : float
        Formula 34: the mean Θ over the maps of the kept networks.
    theta_mean_all_ : float
        The mean Θ over every map (before filtering).
    proba_ : ndarray (n_samples, n_clusters_)
        Posterior probability of each cluster: the share of kept maps voting for it.
    labels_ : ndarray (n_samples,)
        Most probable cluster; clusters are numbered by decreasing size.
    cluster_means_ : ndarray (n_clusters_, n_features)
        Mean of the training features in each cluster (NaN for an empty one).
    coassociation_ : ndarray (n_samples, n_samples) or None
        Share of kept maps putting two objects in the same cluster.
    flags_ : DataFrame
        Objects for an individual review by the article's rules without a score column
        (:func:`~clustering.decisions.object_decisions`): object (row from 0), flag, cluster,
        posterior, reason, recommendation, article. :meth:`decisions` adds the rules that
        need the score (Phi).
    best_map_ : SOM
        The kept map with the smallest Θ.
    kept_maps_ : list of int
        Positions in ``maps_`` of the kept maps.
    permutations_ : ndarray (kept maps, n_clusters_)
        Each kept map's renaming into the consensus: ``permutations_[k][own cluster]``.
    aligned_labels_ : ndarray (kept maps, n_samples)
        Every kept map's clusters of the training objects, in consensus numbering.
    n_features_in_ : int
    stopped_ : bool
        True when an external stop ended the run early (built from the maps finished).
    execution_ : dict
        Where the maps were trained: path, workers, address, reason, summary.
    """

    def __init__(self, tau1_grid: tuple = (140, 280, 700), tau2_grid: tuple = (125, 250, 625),
                 n_replicates: int = 3, sigma0: float = 4.0, eta0: float = 0.3,
                 n_steps: int = 500, rows: Optional[int] = 12, cols: Optional[int] = 16,
                 lattice: str = "hexagonal", init: str = "random", mode: str = "batch",
                 tol: float = 1e-4, n_clusters=3,
                 n_clusters_candidates: tuple = (2, 3, 4, 5, 6, 7, 8),
                 cluster_method: str = "kmeans", theta_centre: str = "map",
                 network_filter: str = "cochran+level", alpha: float = 0.05,
                 level_quantile: float = 0.5, reliable_posterior: float = 26 / 27,
                 split_margin: float = 0.2, midpoint_tolerance: float = 0.5,
                 anomaly_max_size: Optional[int] = None, outlier_z: Optional[float] = None,
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
        self.n_clusters_candidates = n_clusters_candidates
        self.cluster_method = cluster_method
        self.theta_centre = theta_centre
        self.network_filter = network_filter
        self.alpha = alpha
        self.level_quantile = level_quantile
        self.reliable_posterior = reliable_posterior
        self.split_margin = split_margin
        self.midpoint_tolerance = midpoint_tolerance
        self.anomaly_max_size = anomaly_max_size
        self.outlier_z = outlier_z
        self.max_coassociation = max_coassociation
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.scheduler = scheduler
        self.memory_limit = memory_limit

    @classmethod
    def article(cls, **params) -> "QuasiBayesianEnsemble":
        """The article's settings: 3 x 3 networks (tau1 140, 280, 700; tau2 125, 250, 625) x 3
        replicates, T = 500 epochs of the online rule (10) with no early stop, sigma0 = 4,
        eta0 = 0.3, 12 rows x 16 columns, random initialisation, M = 3. ``params`` override."""
        settings = dict(tau1_grid=(140, 280, 700), tau2_grid=(125, 250, 625), n_replicates=3,
                        sigma0=4.0, eta0=0.3, n_steps=500, mode="epoch", tol=0.0, rows=12,
                        cols=16, init="random", n_clusters=3)
        settings.update(params)
        return cls(**settings)

    # ------------------------------------------------------------------ checks and plan
    _parameter_constraints: dict = {
        "tau1_grid": [Items(POSITIVE, min_len=1)],
        "tau2_grid": [Items(POSITIVE, min_len=1)],
        "n_replicates": [COUNT],
        **{name: SOM._parameter_constraints[name] for name in MAP_PARAMS},
        "n_clusters": [COUNT, StrOptions({"auto"})],
        "n_clusters_candidates": [Items(Interval(Integral, 2, None, closed="left"), min_len=1)],
        "theta_centre": [StrOptions(set(THETA_CENTRES))],
        "network_filter": [StrOptions(set(RULES))],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "level_quantile": [Interval(Real, 0, 1, closed="right")],
        "reliable_posterior": [Interval(Real, 0, 1, closed="right")],
        "split_margin": [SHARE],
        "midpoint_tolerance": [SHARE],
        "anomaly_max_size": [Interval(Integral, 1, None, closed="left"), None],
        "outlier_z": [POSITIVE, None],
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
        check_size(len(p["tau1_grid"]), len(p["tau2_grid"]), p["n_replicates"],
                   p["max_coassociation"])
        if X.shape[0] < 2:
            raise DataError(N_("X: the ensemble needs at least 2 objects, got {n} sample."),
                            n=X.shape[0])
        return p

    def _rules(self) -> DecisionRules:
        return DecisionRules(reliable_posterior=float(self.reliable_posterior),
                             split_margin=float(self.split_margin),
                             midpoint_tolerance=float(self.midpoint_tolerance),
                             anomaly_max_size=self.anomaly_max_size)

    def _map_params(self, X: np.ndarray, p: Optional[dict] = None) -> dict:
        """The settings every map shares (the lattice resolved once for all maps; with
        ``n_clusters="auto"`` the maps are trained with the largest candidate M, which the
        lattice must hold, and regrouped for every M)."""
        p = check_params(self) if p is None else p
        check_sides(p["rows"], p["cols"])
        rows, cols = p["rows"], p["cols"]
        if rows is None:
            rows, cols = suggest_lattice(X, p["lattice"])
        shared = {name: p[name] for name in MAP_PARAMS[2:]}
        if shared["n_clusters"] == "auto":
            shared["n_clusters"] = max(int(m) for m in p["n_clusters_candidates"])
        return dict(rows=rows, cols=cols, **shared, history_every=10,
                    memory_limit=p["memory_limit"], scheduler="local")

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
            return Plan("dask", Text(Message(N_("{n} maps as tasks of the Dask scheduler "
                                               "{scheduler!r}"), n=n_maps, scheduler=scheduler)),
                        map_plan.bytes, map_plan.limit, {**details, "jobs": None})
        jobs = effective_jobs(p["n_jobs"], n_maps)
        check_local_memory(map_plan, jobs)
        if jobs > 1:
            return Plan("parallel", Text(Message(N_("{n} maps in {jobs} joblib processes (n_jobs)"),
                                                n=n_maps, jobs=jobs)),
                        map_plan.bytes * jobs, map_plan.limit, {**details, "jobs": jobs})
        return Plan("sequential", Text(Message(N_("{n} maps one after the other in this process"),
                                              n=n_maps)),
                    map_plan.bytes, map_plan.limit, {**details, "jobs": 1})


    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, callback: Optional[Callable[[Progress], None]] = None,
            stop=None):
        """Train every map, test and filter the networks, vote, and flag.

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
        report = Reporter(callback, tasks, lambda som: map_theta(X, som, p["theta_centre"]))
        report.start()
        maps, self.stopped_ = self._train_maps(X, p, base, map_plan, tasks, seeds, report, stop)
        if not maps:
            raise ClusteringError(N_("The ensemble was stopped before its first map was "
                                     "trained; nothing to show."))
        self.selection_ = None
        M = p["n_clusters"]
        if M == "auto":
            outcomes = {int(m): _outcome(X, maps, tasks, grid, U, int(m), p)
                        for m in sorted(set(p["n_clusters_candidates"]))}
            self.selection_ = ensemble_selection.curve(X, outcomes, self._rules())
            M = ensemble_selection.suggest(self.selection_)
            outcome = outcomes[M]
        else:
            outcome = _outcome(X, maps, tasks, grid, U, int(M), p)
        self._build(X, grid, tasks, outcome, map_plan.limit)
        report.done(len(maps), self.theta_mean_, self.stopped_)
        return self

    def _train_maps(self, X, p, base, map_plan, tasks, seeds, report, stop):
        """Every map, on Dask, in joblib processes or one after the other; sets
        ``execution_``. Returns ``({task: SOM}, stopped)``."""
        total = len(tasks)
        ops = 2.0 * total * X.shape[0] * int(base["rows"]) * int(base["cols"]) * X.shape[1] * (
            int(p["n_steps"]) if p["mode"] in ("batch", "epoch") else 1)
        jobs = 1
        with distributed.dask_session(p["scheduler"], p["n_jobs"], ops=ops,
                                      max_tasks=total) as (execution, client):
            if client is None:
                jobs = effective_jobs(p["n_jobs"], total)
                check_local_memory(map_plan, jobs)
                execution = distributed.Execution(
                    "local", jobs, None, execution.reason + (
                        "; " + Text(Message(N_("{jobs} joblib processes (n_jobs)"), jobs=jobs))
                        if jobs > 1 else
                        "; " + N_("maps one after the other in this process (n_jobs=1)")))
            self.execution_ = {**execution.as_dict(), "summary": execution.describe()}
            work = [({**base, "tau1": t1, "tau2": t2}, int(seeds[idx]), idx)
                    for idx, (q, u, t1, t2) in enumerate(tasks)]
            if client is not None:
                return fit_dask(client, X, work, report, stop)
            if jobs == 1:
                return fit_sequential(X, work, report, stop)
            return fit_parallel(X, work, jobs, report, stop)

    # ------------------------------------------------------------------ tables
    def _build(self, X, grid, tasks, out: dict, memory_limit: int) -> None:
        """The tables, the filter, the mean criterion (34), the vote and the flags of one M."""
        self.n_clusters_ = int(out["M"])
        done, thetas, filt = out["done"], out["thetas"], out["filter"]
        self.maps_ = out["maps"]
        mt = tables.maps_table(done, tasks, {i: (s, thetas[tasks[i][0], tasks[i][1]])
                                             for i, s in zip(done, self.maps_)})
        kept = set(filt["kept"])
        mt["kept"] = mt["network"].isin(kept)
        self.maps_table_ = mt
        net = tables.networks_table(grid, thetas, mt)
        self.networks_ = net
        self.filter_ = filt
        self.cochran_ = filt["cochran"]
        self.variances_ = self._filter_table(net, filt)
        self.kept_networks_ = net[self.variances_["kept"]].reset_index(drop=True)
        self.kept_maps_ = list(out["kept_idx"])
        self.theta_mean_ = float(mt["theta"].to_numpy()[self.kept_maps_].mean())
        self.theta_mean_all_ = float(mt["theta"].mean())
        self.best_map_ = self.maps_[out["best"]]
        self.proba_, self.labels_ = out["proba"], out["labels"]
        self.permutations_, self.aligned_labels_ = out["perms"], out["aligned"]
        self.cluster_means_ = np.array([X[self.labels_ == m].mean(axis=0)
                                        if np.any(self.labels_ == m)
                                        else np.full(X.shape[1], np.nan)
                                        for m in range(self.n_clusters_)])
        n = X.shape[0]
        self.coassociation_ = (self.coassociation() if self._keeps_coassociation(n, memory_limit)
                               else None)
        self.flags_ = self._flags(X)

    @staticmethod
    def _filter_table(net: pd.DataFrame, filt: dict) -> pd.DataFrame:
        """Table 5 with what each rule did to every network."""
        cochran = filt["cochran"]
        removed_in = {int(r["removed"]): r["round"] for r in cochran.get("rounds", [])
                      if r["removed"] is not None}
        level = filt["level"]

        def cochran_word(q: int) -> str:
            if filt["rule"] in ("level", "none"):
                return (N_("not applied") if q not in removed_in else
                        Text(Message(N_("would remove (round {round})"), round=removed_in[q])))
            return (Text(Message(N_("removed (round {round})"), round=removed_in[q]))
                    if q in removed_in else N_("kept"))

        def level_word(q: int) -> str:
            if level is None:
                return N_("not applied")
            return (N_("removed") if q in level["removed"] else
                    N_("kept") if q in level["kept"] else "-")

        ids = net["network"].astype(int).tolist()
        return pd.DataFrame({"network": net["network"], "tau1": net["tau1"], "tau2": net["tau2"],
                             "theta_mean": net["theta_mean"],
                             "replicate_variance": filt["variances"],
                             # object columns: a word keeps its message (i18n.Text)
                             "cochran": pd.Series([cochran_word(q) for q in ids], dtype=object,
                                                  index=net.index),
                             "level": pd.Series([level_word(q) for q in ids], dtype=object,
                                                index=net.index),
                             "kept": [q in set(filt["kept"]) for q in ids]})

    def _keeps_coassociation(self, n: int, memory_limit: Optional[int]) -> bool:
        """Keep the n x n matrix up to ``max_coassociation`` objects, and only when it fits the
        memory limit (a float32 product and its float64 copy, 12 n^2 bytes)."""
        fits = memory_limit is None or 12 * n * n <= memory_limit
        return n <= self.max_coassociation and fits

    def _flags(self, X) -> pd.DataFrame:
        """The article's flags that need no score column, and the optional distance rule (not
        the article's)."""
        rules = self._rules()
        clusters = cluster_decisions(self.labels_, None, rules)
        flags = object_decisions(self.labels_, self.proba_, None, clusters, rules)
        if self.outlier_z is not None:
            flags = pd.concat([flags, self._distance_flags(X)], ignore_index=True)
        return flags.sort_values(["object", "flag"], kind="stable").reset_index(drop=True)

    def _distance_flags(self, X) -> pd.DataFrame:
        """Objects far from their cluster's mean: robust z-score of the distance (median and
        MAD of all objects' distances) above ``outlier_z``. Not a rule of the article."""
        dist = np.linalg.norm(X - self.cluster_means_[self.labels_], axis=1)
        med = float(np.median(dist))
        mad = float(np.median(np.abs(dist - med)))
        z = 0.6745 * (dist - med) / mad if mad > 0 else np.zeros(len(dist))
        rows = [{"object": int(i), "flag": "far from centre", "cluster": int(self.labels_[i]),
                 "posterior": float(self.proba_[i, self.labels_[i]]),
                 "reason": Text(Message(N_("distance {distance:.3g} to its cluster's centre, "
                                          "robust z-score {z:.1f} > {limit:g} (not a rule of the "
                                          "article)"),
                                       distance=dist[i], z=z[i], limit=self.outlier_z)),
                 "recommendation": N_("check the object's data"), "article": False}
                for i in np.flatnonzero(z > self.outlier_z)]
        return pd.DataFrame(rows, columns=["object", "flag", "cluster", "posterior", "reason",
                                           "recommendation", "article"])

    # ------------------------------------------------------------------ results
    def coassociation(self, rows: Optional[Sequence[int]] = None) -> np.ndarray:
        """Share of the kept maps putting two training objects in the same cluster.

        ``rows`` restricts it to those objects (a len(rows) x len(rows) matrix). Computed as one
        product of one-hot vote matrices, without any n x n x maps array.
        """
        check_is_fitted(self, "proba_")
        A = self.aligned_labels_ if rows is None else self.aligned_labels_[:, np.asarray(rows)]
        n_maps, n = A.shape
        M = int(self.n_clusters_)
        B = np.zeros((n, n_maps * M), dtype=np.float32)
        B[np.repeat(np.arange(n), n_maps), (np.tile(np.arange(n_maps), n) * M
                                            + A.T.ravel())] = 1.0
        C = (B @ B.T) / n_maps
        return C.astype(np.float64)

    def predict_proba(self, X=None) -> np.ndarray:
        """Posterior cluster probabilities: ``proba_`` for the training objects (``X=None``),
        else the share of kept maps whose (renamed) cluster of the object's cell is m."""
        check_is_fitted(self, "proba_")
        if X is None:
            return self.proba_.copy()
        X = validate_data(X, estimator=self, reset=False, fitted="proba_")
        proba = np.zeros((X.shape[0], int(self.n_clusters_)))
        for k, perm in zip(self.kept_maps_, self.permutations_):
            proba[np.arange(X.shape[0]), perm[self.maps_[k].predict(X)]] += 1.0
        return proba / len(self.kept_maps_)

    def predict(self, X) -> np.ndarray:
        """Most probable cluster of every row of ``X``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def summary(self) -> dict:
        """The headline of a run: ``n_objects``, ``sizes`` (per cluster), ``reliable_share``
        and ``n_reliable`` (posterior at least ``reliable_posterior``), ``small_clusters``
        (at most the rules' anomaly size, non-empty), ``empty_clusters``, ``theta_mean``
        (34), ``kept_networks`` and ``warnings`` (sentences for the page)."""
        check_is_fitted(self, "labels_")
        rules = self._rules()
        n = self.labels_.shape[0]
        sizes = np.bincount(self.labels_, minlength=self.n_clusters_)
        small_size = rules.anomaly_size(n)
        small = [int(m) for m in range(self.n_clusters_) if 0 < sizes[m] <= small_size]
        empty = [int(m) for m in range(self.n_clusters_) if sizes[m] == 0]
        share = reliable_share(self.labels_, self.proba_, rules)
        warnings = []
        for m in small:
            warnings.append(Text(Message(N_("cluster {cluster} holds only {size} object(s) of "
                                           "{n}: an anomalous group for an individual in-depth "
                                           "analysis (the article's enterprise 7)"),
                                        cluster=m, size=sizes[m], n=n)))
        if empty:
            warnings.append(Text(Message(N_("cluster(s) {clusters} received no object: fewer "
                                           "clusters fit the data"),
                                        clusters=", ".join(map(str, empty)))))
        if share < 0.5:
            warnings.append(Text(Message(N_("only {share:.0%} of the objects are assigned "
                                           "reliably (posterior at least {level:.3f}): the maps "
                                           "disagree; try another M"),
                                        share=share, level=rules.reliable_posterior)))
        return {"n_objects": int(n), "sizes": [int(s) for s in sizes],
                "reliable_share": share, "n_reliable": int(round(share * n)),
                "reliable_posterior": rules.reliable_posterior, "small_clusters": small,
                "empty_clusters": empty, "theta_mean": self.theta_mean_,
                "kept_networks": list(self.filter_["kept"]), "warnings": warnings}

    def decisions(self, data=None, score: Optional[str] = "Phi"):
        """The article's recommendations (section 4) as ``(clusters, objects)``.

        ``data``: the training objects in order, a DataFrame holding the ``score`` column (the
        original units read best: the ratios of the cluster means are the article's "в 7,76
        раза"), or a 1-D array of the score; None uses no score (no means, ratios or "split"
        rule). See :func:`~clustering.decisions.cluster_decisions` and
        :func:`~clustering.decisions.object_decisions`.
        """
        check_is_fitted(self, "labels_")
        values = _score_values(data, score, self.labels_.shape[0])
        rules = self._rules()
        clusters = cluster_decisions(self.labels_, values, rules, score_name=score or "score")
        objects = object_decisions(self.labels_, self.proba_, values, clusters, rules,
                                   score_name=score or "score")
        return clusters, objects

    def profile(self, data=None, score: Optional[str] = "Phi") -> pd.DataFrame:
        """Cluster profile for decisions: the article's verdict per cluster
        (:meth:`decisions`: rank 1 = the lowest mean of ``score``, state, ratio, recommendation)
        with the mean posterior, the flagged objects and the mean of every numeric column.

        ``data``: a DataFrame of the training objects in order (its numeric columns are
        averaged) or an array (columns ``x0``, ``x1``, ...); None: sizes only.
        """
        check_is_fitted(self, "labels_")
        n = self.labels_.shape[0]
        frame = _profile_frame(data, n)
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        if score is not None and data is not None and score not in numeric:
            if numeric:
                raise ConfigError(N_("score: no numeric column {score!r} in the data; choose one "
                                     "of {names}."), score=score,
                                  names=", ".join(map(str, numeric)))
            raise ConfigError(N_("score: no numeric column {score!r} in the data; choose one of "
                                 "(none)."), score=score)
        use = score if data is not None else None
        clusters, objects = self.decisions(frame if use else None, use)
        flagged = objects.groupby("cluster")["object"].nunique()
        table = clusters.copy()
        table["mean_posterior"] = [float(self.proba_[self.labels_ == m, m].mean())
                                   for m in table.index]
        table["flagged"] = [int(flagged.get(m, 0)) for m in table.index]
        for c in numeric:
            if c not in table.columns:
                table[c] = [float(frame.loc[self.labels_ == m, c].mean()) for m in table.index]
        return table

    def cells_table(self) -> pd.DataFrame:
        """Table 3: every object's cell k (from 1) and cluster m in every map (``HCq,u k`` and
        ``HCq,u m``), clusters in the consensus numbering (a filtered-out map's renamed to agree
        best with the vote)."""
        check_is_fitted(self, "labels_")
        names = self.maps_table_["name"].tolist()
        M = int(self.n_clusters_)
        labels = [renaming(self.labels_, som.labels_, M)[som.labels_] for som in self.maps_]
        return tables.cells_table(self.maps_, names, labels)

    def map_table(self, X, map_index: Optional[int] = None) -> pd.DataFrame:
        """Table 4 for one map (position in ``maps_``; None: ``best_map_``): each training
        object's cell, distances to the cell's centre and to the cluster's centre (as Θ takes
        it, ``theta_centre``), and cluster m (consensus numbering). ``attrs``: map, name, Q1
        (the map's Θ, "Q1(s)" of the article's table 4)."""
        check_is_fitted(self, "labels_")
        X = validate_data(X, estimator=self, reset=False, fitted="labels_")
        if X.shape[0] != self.labels_.shape[0]:
            raise DataError(N_("X: {rows} rows; table 4 is about the {n} training objects, in "
                               "order."), rows=X.shape[0], n=self.labels_.shape[0])
        k = self.maps_.index(self.best_map_) if map_index is None else int(map_index)
        if not 0 <= k < len(self.maps_):
            raise ConfigError(N_("map_index: must be between 0 and {top}, got {value}."),
                              top=len(self.maps_) - 1, value=k)
        som = self.maps_[k]
        centers = som.cluster_centers_ if self.theta_centre == "map" else None
        consensus = renaming(self.labels_, som.labels_, int(self.n_clusters_))[som.labels_]
        table = tables.map_table(X, som, consensus, centers)
        row = self.maps_table_.iloc[k]
        table.attrs.update(map=int(row["map"]), name=str(row["name"]), Q1=float(row["theta"]))
        return table

    def compare_kmeans(self, X, n_passes: int = 1, init="first") -> dict:
        """The article's comparison (section 5): MacQueen's k-means (25) with the same M against
        the filtered ensemble's mean criterion (34).

        Returns ``labels`` (k-means, renamed to agree with ``labels_``), ``theta_kmeans`` (Θ of
        k-means about its own centres), ``theta_ensemble`` (``theta_mean_``), ``ratio``
        (k-means / ensemble; the article: 38.82 / 3.68 = 10.55), ``agreement`` (share of
        objects in the same cluster; the article: 20/24 = 0.833), ``more_compact`` ("ensemble"
        or "k-means") and ``verdict`` (a sentence).
        """
        check_is_fitted(self, "labels_")
        X = validate_data(X, estimator=self, reset=False, fitted="labels_")
        km = MacQueenKMeans(n_clusters=int(self.n_clusters_), n_passes=n_passes, init=init,
                            random_state=self.random_state).fit(X)
        th_km = float(theta(X, km.labels_, km.cluster_centers_))
        th_en = float(self.theta_mean_)
        ratio = th_km / th_en if th_en > 0 else float("inf")
        better = "ensemble" if th_en <= th_km else "k-means"
        if better == "ensemble":
            verdict = Text(Message(N_("The ensemble groups the objects more compactly: its mean "
                                     "criterion (34) {ensemble:.4g} is {ratio:.2f} times smaller "
                                     "than MacQueen's k-means' {kmeans:.4g}."),
                                  ensemble=th_en, ratio=ratio, kmeans=th_km))
        else:
            verdict = Text(Message(N_("MacQueen's k-means is more compact here: its criterion "
                                     "{kmeans:.4g} is {ratio:.2f} times smaller than the "
                                     "ensemble's mean criterion (34) {ensemble:.4g}."),
                                  kmeans=th_km, ratio=1 / ratio, ensemble=th_en))
        return {"method": "MacQueen's k-means (25)", "labels": match_labels(self.labels_,
                                                                           km.labels_),
                "theta_kmeans": th_km, "theta_ensemble": th_en, "ratio": ratio,
                "agreement": agreement(self.labels_, km.labels_), "more_compact": better,
                "verdict": verdict}


def _score_values(data, score: Optional[str], n: int) -> Optional[np.ndarray]:
    """The score per training object from a DataFrame column, an array, or None."""
    if data is None:
        return None
    if isinstance(data, pd.DataFrame):
        if score is None or score not in data.columns:
            raise ConfigError(N_("score: no column {score!r} in the data."), score=score)
        values = pd.to_numeric(data[score], errors="coerce").to_numpy(dtype=float)
    else:
        values = np.asarray(data, dtype=float).ravel()
    if values.shape[0] != n:
        raise DataError(N_("data: {rows} rows, the ensemble was fitted on {n} objects; give the "
                           "same objects in the same order."), rows=values.shape[0], n=n)
    return values


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
        raise DataError(N_("data: {rows} rows, the ensemble was fitted on {n} objects; give the "
                           "same objects in the same order."), rows=len(frame), n=n)
    return frame


__all__ = ["QuasiBayesianEnsemble", "map_theta", "replicate_variances", "cochran_critical",
           "cochran_test", "filter_networks", "consensus_labels", "MAP_PARAMS", "THETA_CENTRES"]
