"""Training the quasi-Bayesian ensemble's maps: bounds, memory, and the three ways to run them.

The maps are independent: one after the other in this process (where a stop also interrupts the
map under way), in joblib processes, or as Dask tasks. Every path returns ``({task: SOM},
stopped)`` and reports each finished map; the results do not depend on the path.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from clustering import limits
from clustering import memory as budget
from clustering.errors import ConfigError
from clustering.i18n import Message, N_, Text
from clustering.planning import Plan
from clustering.progress import Progress, stop_requested
from clustering.som import SOM


def train_map(params: dict, X: np.ndarray, seed: int, index: int, stop=None):
    """Train one map of the ensemble (module level so that worker processes can run it)."""
    return index, SOM(**params, random_state=seed).fit(X, stop=stop)


def check_size(n1: int, n2: int, replicates: int, max_coassociation: int) -> None:
    """Refuse more maps (replicates x tau grid) and a larger co-association matrix than
    :mod:`clustering.limits` allows, before the first map."""
    U = int(replicates)
    limits.check("ensemble_maps", U * n1 * n2,
                 "n_replicates x len(tau1_grid) x len(tau2_grid)", f"{U} x {n1} x {n2}")
    limits.check("coassociation", int(max_coassociation), "max_coassociation")


def effective_jobs(n_jobs, n_tasks: int) -> int:
    """Maps trained at once here: joblib's reading of ``n_jobs``, at most one per map."""
    from joblib import effective_n_jobs

    jobs = effective_n_jobs(n_jobs if n_jobs is not None else 1)
    return max(1, min(int(jobs), n_tasks))


def check_local_memory(map_plan: Plan, jobs: int) -> None:
    """Refuse ``jobs`` maps trained at once here when together they exceed the memory limit."""
    need = map_plan.bytes * jobs
    limit = map_plan.limit
    if jobs > 1 and need > limit:
        raise ConfigError(
            N_("memory_limit: {jobs} maps trained at once (n_jobs) need about {need}, above the "
               "limit of {limit}. Lower n_jobs, or raise memory_limit or the environment "
               "variable {env}."),
            jobs=jobs, need=budget.fmt_bytes(need), limit=budget.fmt_bytes(limit),
            env=budget.MEMORY_ENV)


class Reporter:
    """The ensemble's progress messages: ``map i of n (network q, replicate u)``."""

    def __init__(self, callback, tasks, theta: Callable):
        self.callback, self.tasks, self.total, self.theta = callback, tasks, len(tasks), theta

    def start(self) -> None:
        if self.callback is not None:
            self.callback(Progress("qbm", 0, self.total, {},
                                   Text(Message(N_("map 0 of {total}: training"),
                                               total=self.total))))

    def __call__(self, i: int, idx: int, som) -> None:
        if self.callback is not None:
            th = self.theta(som)
            q, u = self.tasks[idx][0], self.tasks[idx][1]
            self.callback(Progress("qbm", i, self.total, {"theta": float(th)},
                                   Text(Message(N_("map {i} of {total} (network {network}, "
                                                  "replicate {replicate})"), i=i,
                                               total=self.total, network=q + 1,
                                               replicate=u + 1))))

    def done(self, n_done: int, theta_mean: float, stopped: bool) -> None:
        if self.callback is not None:
            self.callback(Progress("qbm", n_done, self.total, {"theta_mean": theta_mean},
                                   N_("stopped") if stopped else
                                   Text(Message(N_("{n} maps done"), n=n_done)), done=True))


def fit_sequential(X, work, report, stop):
    """The maps one after the other here; a stop also interrupts the map being trained (which
    is then left out)."""
    results: dict[int, tuple] = {}
    for params, seed, idx in work:
        if stop_requested(stop):
            return results, True
        _, som = train_map(params, X, seed, idx, stop)
        if som.stopped_:
            return results, True
        results[idx] = som
        report(len(results), idx, som)
    return results, False


def fit_parallel(X, work, jobs: int, report, stop):
    """The maps in ``jobs`` joblib processes; a stop ends the run after the maps under way."""
    from joblib import Parallel, delayed

    results: dict[int, tuple] = {}
    with Parallel(n_jobs=jobs, return_as="generator_unordered") as parallel:
        gen = parallel(delayed(train_map)(params, X, seed, idx) for params, seed, idx in work)
        for idx, som in gen:
            results[idx] = som
            report(len(results), idx, som)
            if stop_requested(stop):
                return results, True
    return results, False


def fit_dask(client, X, work, report, stop):
    """Every map as a Dask task (the data sent to the workers once); an external stop
    cancels the maps not yet finished."""
    from distributed import as_completed

    results: dict[int, tuple] = {}
    X_future = client.scatter(X, broadcast=True)
    futures = [client.submit(train_map, params, X_future, seed, idx, pure=False)
               for params, seed, idx in work]
    try:
        for future in as_completed(futures):
            idx, som = future.result()
            results[idx] = som
            report(len(results), idx, som)
            if stop_requested(stop):
                return results, True
    finally:
        client.cancel(futures)
    return results, False


__all__ = ["train_map", "check_size", "effective_jobs", "check_local_memory", "Reporter",
           "fit_sequential", "fit_parallel", "fit_dask"]
