"""Synthetic data sets: blobs, moons and circles with the defaults of the notes on neural soft
clustering with a proximity kernel.

Each generator is a thin wrapper around :mod:`sklearn.datasets` that exposes every parameter with the
default the notes use (500 points, ``random_state=0``, noise 0.1, factor 0.2, three centres in the box
(-15, 15)), checks the parameters once against :data:`GENERATOR_CONSTRAINTS` (declared as the
estimators declare theirs, :mod:`clustering.constraints`) with a message naming the faulty one,
and returns ``(X, y)``: float64 points of shape (n_samples, n_features) and the generator's int64
labels.

The registry (:data:`GENERATORS`, :func:`generator_defaults`, :func:`generate`) lets the app and the
CLI list the generators and their parameters without knowing them in advance.
"""
from __future__ import annotations

import inspect
import math
import numbers
from numbers import Integral, Real
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import sklearn.datasets

from clustering import memory as budget
from clustering.constraints import Interval, Items, check_value
from clustering.errors import ConfigError
from clustering.i18n import Message, N_

__all__ = ["make_blobs", "make_moons", "make_circles", "GENERATORS", "GENERATOR_LABELS",
           "GENERATOR_CONSTRAINTS",
           "generator_defaults",
           "generate", "planned_shape", "estimate_memory", "check_memory", "MAX_SAMPLES",
           "MAX_FEATURES"]

#: Largest number of points a generator makes (a guard against typing one zero too many).
MAX_SAMPLES = 1_000_000
#: Largest dimension of the blobs.
MAX_FEATURES = 1_000


# ----------------------------------------------------------------------------------- checks
_SAMPLES = Interval(Integral, 2, MAX_SAMPLES, closed="both")
_SEED = [Interval(Integral, 0, 2 ** 32 - 1, closed="both"), None]
_NUMBER = Interval(Real, None, None, closed="neither")
_STD = Interval(Real, 0, None, closed="neither")
_NOISE = [Interval(Real, 0, None, closed="left"), None]

#: Each generator's parameters and what they may be (:mod:`clustering.constraints`): the
#: generators check them here, the forms and the configuration schema read them.
GENERATOR_CONSTRAINTS: dict[str, dict[str, list]] = {
    "blobs": {"n_samples": [_SAMPLES],
              "centers": [Interval(Integral, 1, MAX_SAMPLES, closed="both"), "array-like"],
              "n_features": [Interval(Integral, 1, MAX_FEATURES, closed="both")],
              "center_box": [Items(_NUMBER, 2, 2)],
              "cluster_std": [_STD, Items(_STD, 1)],
              "shuffle": ["boolean"], "random_state": _SEED},
    "moons": {"n_samples": [_SAMPLES], "noise": _NOISE, "shuffle": ["boolean"],
              "random_state": _SEED},
    "circles": {"n_samples": [_SAMPLES], "noise": _NOISE,
                "factor": [Interval(Real, 0, 1, closed="neither")], "shuffle": ["boolean"],
                "random_state": _SEED},
}

#: What a parameter is, in the message of a value out of its range.
_WHAT = {"noise": Message(N_("the standard deviation of the noise")),
         "factor": Message(N_("the inner circle's relative size")),
         "cluster_std": Message(N_("the standard deviation of a blob"))}


def _check(generator: str, **values: Any) -> dict:
    """``values`` checked against the generator's :data:`GENERATOR_CONSTRAINTS`, normalised."""
    constraints = GENERATOR_CONSTRAINTS[generator]
    return {name: check_value(name, value, constraints[name], _WHAT.get(name))
            for name, value in values.items()}


def _centres(centers: Any, n_samples: int, n_features: Any) -> tuple[Any, int, int]:
    """``centers`` as a number of blobs (at most one per point) or an array of centres (one row
    per blob); returns it with the number of blobs and the dimension."""
    if isinstance(centers, (numbers.Real, np.number)) and not isinstance(centers, bool):
        count = check_value("centers", centers, [Interval(Integral, 1, n_samples, closed="both")])
        dim = _check("blobs", n_features=n_features)["n_features"]
        return count, count, dim
    try:
        arr = np.asarray(centers, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(N_("centers: expected a number of blobs or a list of centre "
                             "coordinates, got {value!r}."), value=centers) from err
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ConfigError(N_("centers: expected a number of blobs or a list of centre "
                             "coordinates (one row per blob), got an array of shape {shape}."),
                          shape=arr.shape)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(N_("centers: the centre coordinates must be finite numbers."))
    if arr.shape[0] > n_samples:
        raise ConfigError(N_("centers: {count} centres for {n} points; give at most one centre "
                             "per point."), count=arr.shape[0], n=n_samples)
    return arr, arr.shape[0], arr.shape[1]


def _box(center_box: Any) -> tuple[float, float]:
    """The box of the random centres: two finite numbers, low below high."""
    if not isinstance(center_box, (tuple, list, np.ndarray)) or len(center_box) != 2:
        raise ConfigError(N_("center_box: expected two numbers (low, high), got {value!r}."),
                          value=center_box)
    low, high = (check_value("center_box", v, [_NUMBER]) for v in center_box)
    if not low < high:
        raise ConfigError(N_("center_box: the low bound must be below the high bound, "
                             "got ({low:g}, {high:g})."), low=low, high=high)
    return low, high


def _stds(cluster_std: Any, n_centers: int) -> Union[float, list[float]]:
    """One positive standard deviation, or one per blob."""
    if isinstance(cluster_std, (tuple, list, np.ndarray)):
        stds = [check_value("cluster_std", v, [_NUMBER]) for v in cluster_std]
        if len(stds) != n_centers:
            raise ConfigError(N_("cluster_std: expected one value per blob ({n}), got "
                                 "{count}."), n=n_centers, count=len(stds))
        return [check_value("cluster_std", v, [_STD], _WHAT["cluster_std"]) for v in stds]
    return _check("blobs", cluster_std=cluster_std)["cluster_std"]


def _out(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


# ----------------------------------------------------------------------------------- generators
def make_blobs(n_samples: int = 500, centers: Union[int, Sequence[Sequence[float]]] = 3,
               n_features: int = 2, center_box: tuple[float, float] = (-15, 15),
               cluster_std: Union[float, Sequence[float]] = 1.0, shuffle: bool = True,
               random_state: Optional[int] = 0) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs (:func:`sklearn.datasets.make_blobs`).

    Parameters
    ----------
    n_samples : int, default 500
        Number of points, split as evenly as possible between the blobs (at least 2).
    centers : int or array-like of shape (n_centers, n_features), default 3
        Number of blobs, their centres drawn uniformly in ``center_box``; or the centres themselves.
    n_features : int, default 2
        Dimension of the points (ignored when ``centers`` gives coordinates).
    center_box : (float, float), default (-15, 15)
        Bounds of the box the random centres are drawn from (low < high).
    cluster_std : float or sequence of float, default 1.0
        Standard deviation of each blob (> 0), one value or one per blob.
    shuffle : bool, default True
        Shuffle the points.
    random_state : int or None, default 0
        Seed of the random generator; the same seed gives the same points.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        The blob of each point, 0 .. n_centers - 1.
    """
    p = _check("blobs", n_samples=n_samples, shuffle=shuffle, random_state=random_state)
    centers, n_centers, n_features = _centres(centers, p["n_samples"], n_features)
    low, high = _box(center_box)
    std_arg = _stds(cluster_std, n_centers)
    X, y = sklearn.datasets.make_blobs(n_samples=p["n_samples"], n_features=n_features,
                                       centers=centers, cluster_std=std_arg,
                                       center_box=(low, high), shuffle=p["shuffle"],
                                       random_state=p["random_state"])
    return _out(X, y)


def make_moons(n_samples: int = 500, noise: Optional[float] = 0.1, shuffle: bool = True,
               random_state: Optional[int] = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (:func:`sklearn.datasets.make_moons`).

    Parameters
    ----------
    n_samples : int, default 500
        Number of points, split evenly between the two moons (at least 2).
    noise : float or None, default 0.1
        Standard deviation of the Gaussian noise added to the points (>= 0; None for none).
    shuffle : bool, default True
        Shuffle the points.
    random_state : int or None, default 0
        Seed of the random generator.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        The moon of each point, 0 or 1.
    """
    p = _check("moons", n_samples=n_samples, noise=noise, shuffle=shuffle,
               random_state=random_state)
    X, y = sklearn.datasets.make_moons(**p)
    return _out(X, y)


def make_circles(n_samples: int = 500, noise: Optional[float] = 0.1, factor: float = 0.2,
                 shuffle: bool = True,
                 random_state: Optional[int] = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one (:func:`sklearn.datasets.make_circles`).

    Parameters
    ----------
    n_samples : int, default 500
        Number of points, split evenly between the two circles (at least 2).
    noise : float or None, default 0.1
        Standard deviation of the Gaussian noise added to the points (>= 0; None for none).
    factor : float, default 0.2
        Radius of the inner circle relative to the outer one, strictly between 0 and 1.
    shuffle : bool, default True
        Shuffle the points.
    random_state : int or None, default 0
        Seed of the random generator.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
    y : ndarray of shape (n_samples,), int64
        0 for the outer circle, 1 for the inner one.
    """
    p = _check("circles", n_samples=n_samples, noise=noise, factor=factor, shuffle=shuffle,
               random_state=random_state)
    X, y = sklearn.datasets.make_circles(**p)
    return _out(X, y)


# ----------------------------------------------------------------------------------- registry
#: Generator name -> function; the order is the order the app lists them in.
GENERATORS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "blobs": make_blobs,
    "moons": make_moons,
    "circles": make_circles,
}
#: The generators' names as shown (translated where shown: ``_(GENERATOR_LABELS[name])``).
GENERATOR_LABELS = {"blobs": N_("blobs"), "moons": N_("moons"), "circles": N_("circles")}


def _lookup(name: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    try:
        return GENERATORS[name]
    except (KeyError, TypeError):
        raise ConfigError(N_("Unknown generator {name!r}; choose one of {names}."), name=name,
                          names=", ".join(GENERATORS)) from None


def generator_defaults(name: str) -> dict[str, Any]:
    """The parameters of generator ``name`` with their defaults, in signature order."""
    sig = inspect.signature(_lookup(name))
    return {p.name: p.default for p in sig.parameters.values()}


def planned_shape(name: str, params: dict[str, Any]) -> tuple[Any, Any]:
    """``(n_samples, n_features)`` that generator ``name`` would make with ``params``, read off
    the parameters without generating (so that a size limit can refuse the work before it
    starts); an entry that the parameters do not settle is None (the generator checks it)."""
    full = {**generator_defaults(name), **params}
    n_features: Any = 2
    if name == "blobs":
        centers = full.get("centers")
        n_features = full.get("n_features")
        if isinstance(centers, (list, tuple, np.ndarray)):
            first = centers[0] if len(centers) else None
            n_features = len(first) if isinstance(first, (list, tuple, np.ndarray)) else None
    return full.get("n_samples"), n_features


def estimate_memory(n_samples: int, n_features: int) -> int:
    """Bytes of a generated data set of that shape: its float64 points and int64 labels, twice
    (the generator's arrays and the data set's working copy)."""
    return 2 * (int(n_samples) * int(n_features) * 8 + int(n_samples) * 8)


def check_memory(name: str, params: dict[str, Any], memory_limit: Optional[int] = None) -> None:
    """Refuse a data set whose :func:`estimate_memory` is above the memory limit
    (``memory_limit``, else ``CLUSTERMAP_MEMORY_LIMIT``, see
    :func:`clustering.memory.memory_limit_bytes`), before it is generated; a shape the
    parameters do not settle, or beyond :data:`MAX_SAMPLES` / :data:`MAX_FEATURES`, is left to
    the generator's checks."""
    shape = planned_shape(name, params)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
               and v >= 1 for v in shape):
        return
    n, d = (int(v) for v in shape)
    if n > MAX_SAMPLES or d > MAX_FEATURES:
        return  # the generator refuses it, naming its own bound
    need, limit = estimate_memory(n, d), budget.memory_limit_bytes(memory_limit)
    if need > limit:
        env = budget.MEMORY_ENV
        raise ConfigError(N_("n_samples: the {name} data set of {n} points x {d} features "
                             "needs about {need} (float64 points, twice), above the memory "
                             "limit of {limit} (memory_limit, setting {env}). Ask for fewer "
                             "points or features, or raise the limit with the environment "
                             "variable {env}."),
                          name=name, n=n, d=d, need=budget.fmt_bytes(need), limit=budget.fmt_bytes(limit),
                          env=env)


def generate(name: str, **params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Run generator ``name`` with ``params`` (the others keep their defaults).

    Raises
    ------
    ConfigError
        Unknown generator or parameter (the message lists the valid ones), an invalid value,
        or a data set above the memory limit (:func:`check_memory`), before any point is made.
    """
    func = _lookup(name)
    known = generator_defaults(name)
    unknown = [p for p in params if p not in known]
    if unknown:
        raise ConfigError(N_("{parameter}: not a parameter of the {name} generator; valid "
                             "parameters: {names}."), parameter=unknown[0], name=name,
                          names=", ".join(known))
    check_memory(name, params)
    return func(**params)
