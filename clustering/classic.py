"""Classic clustering methods: MacQueen's sequential k-means (formula 25) and a registry.

:class:`MacQueenKMeans` is the k-means the taxpayer article describes (formulas 24-25): start
from k points with weight 1; present the next object, move the nearest centre to the weighted
centre of gravity of the old centre and the object, add 1 to its weight. scikit-learn only has
Lloyd's batch k-means (and mini-batch variants), so this sequential form is written here.

:data:`CLASSIC_METHODS` is the view of the classic methods of :mod:`clustering.registry` (their
entries live there); :func:`check_classic` checks one's settings before any work and
:func:`run_classic` fits one by name, returning a :class:`ClassicResult` (``labels_``, ``proba_``
where the method has one).
"""
from __future__ import annotations

import functools
import numbers
from numbers import Integral, Real
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state

from clustering import limits, registry
from clustering.errors import ConfigError
from clustering.i18n import Message, N_
from clustering.constraints import Interval, StrOptions, check_params
from clustering.metrics import check_data
from clustering.validation import validate_data

#: What one MacQueen presentation costs at least, in operations of its distance step (the
#: interpreter's overhead of one step, about 5 microseconds): the work bound counts
#: ``max(k * d, PRESENTATION_OPS)`` per presented object.
PRESENTATION_OPS = 1000
#: Objects x centres x features computed at once by the final assignment (float64, 64 MiB).
_BLOCK_CELLS = 8 * 1024 ** 2


class MacQueenKMeans(ClusterMixin, BaseEstimator):
    """Sequential (MacQueen) k-means, the article's formula 25.

    Parameters
    ----------
    n_clusters : int
        Number of centres k.
    n_passes : int
        Passes over the data. The first pass presents the objects that did not seed a centre,
        in their order; every later pass presents all objects again ("looping" the algorithm,
        as the article suggests when the centres have not settled). The weights keep
        accumulating across passes.
    init : {"first", "random"} or array of shape (n_clusters, n_features)
        Initial centres, each with weight 1 (formula 24, ``omega_q(0) = 1``): the first k objects
        (the article's order), k distinct random objects, or given points (which then count as
        one pseudo-object each, and every object is presented in the first pass).
    tol : float
        Stop before ``n_passes`` when no centre moved by more than ``tol`` during a whole pass
        (only checked from the second pass on).
    random_state : int, RandomState or None
        Seed of ``init="random"``.

    Attributes
    ----------
    cluster_centers_ : ndarray (n_clusters, n_features)
    weights_ : ndarray (n_clusters,)
        Final weights: 1 plus the number of presentations that went to each centre.
    labels_ : ndarray (n_samples,)
        Nearest final centre of every object (ties go to the lowest index).
    inertia_ : float
        Sum of squared distances of the objects to their nearest centre (formula 22).
    n_passes_ : int
        Passes actually made.
    """

    def __init__(self, n_clusters: int = 3, n_passes: int = 1, init="first", tol: float = 0.0,
                 random_state=None):
        self.n_clusters = n_clusters
        self.n_passes = n_passes
        self.init = init
        self.tol = tol
        self.random_state = random_state

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "n_passes": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"first", "random"}), "array-like"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def _check_params(self, n_samples: int, n_features: int) -> dict:
        """Check the settings for data of ``n_samples`` x ``n_features``, the bounds of
        :mod:`clustering.limits` included (``n_clusters``, and the work ``objects x passes x
        max(clusters x features, PRESENTATION_OPS)`` against ``macqueen_ops``); returns the
        normalised parameters."""
        p = check_params(self)
        k = p["n_clusters"]
        limits.check("n_clusters", k, "n_clusters")
        if k > n_samples:
            raise ConfigError(N_("n_clusters: {k} clusters need at least {k} objects, got {n}."),
                              k=k, n=n_samples)
        _check_work(int(n_samples), int(n_features), k, p["n_passes"])
        return p

    def fit(self, X, y=None):
        """Run the sequential updates over ``X`` (rows in their order)."""
        X = validate_data(X, estimator=self)
        p = self._check_params(*X.shape)
        centres, order = _initial_centres(X, p["n_clusters"], p["init"], p["random_state"])
        centres, weights, passes = _sequential_passes(X, centres, order, p["n_passes"],
                                                      p["tol"])
        self.cluster_centers_ = centres
        self.weights_ = weights
        self.n_passes_ = passes
        self.labels_, d2 = _nearest(X, centres)
        self.inertia_ = float(d2.sum())
        return self

    def predict(self, X):
        """Nearest centre of each row of ``X`` (ties to the lowest index)."""
        X = validate_data(X, estimator=self, reset=False, fitted="cluster_centers_")
        return _nearest(X, self.cluster_centers_)[0]


def _check_work(n: int, d: int, k: int, passes: int) -> None:
    """Refuse more work than ``macqueen_ops`` of :mod:`clustering.limits` allows."""
    step = (f"{k} clusters x {d} features" if k * d >= PRESENTATION_OPS else
            f"{PRESENTATION_OPS} (the least one presentation costs)")
    limits.check("macqueen_ops", n * passes * max(k * d, PRESENTATION_OPS),
                 "n_clusters x n_passes", f"{n} objects x {passes} passes x {step}")


def _initial_centres(X: np.ndarray, k: int, init, random_state):
    """Formula 24's starting centres (weight 1 each) and the objects the first pass presents:
    the first k objects, k distinct random ones, or given points (then every object)."""
    n = X.shape[0]
    if isinstance(init, str):
        if init == "first":
            seeds = np.arange(k)
        else:
            seeds = np.sort(check_random_state(random_state).choice(n, k, replace=False))
        return X[seeds].copy(), np.setdiff1d(np.arange(n), seeds)
    centres = np.array(init, dtype=np.float64)
    if centres.shape != (k, X.shape[1]):
        raise ConfigError(N_("init: expected {k} centres of {features} features, got shape "
                             "{shape}."), k=k, features=X.shape[1], shape=centres.shape)
    return centres, np.arange(n)


def _sequential_passes(X: np.ndarray, centres: np.ndarray, order, n_passes: int, tol: float):
    """Formula 25 pass after pass: the nearest centre moves to the weighted centre of gravity
    of itself and the object; stops early when no centre moved more than ``tol`` in a pass
    (from the second pass on). Returns the centres, their weights and the passes made."""
    weights = np.ones(centres.shape[0])
    passes = 0
    for p in range(n_passes):
        before = centres.copy()
        for i in (order if p == 0 else range(X.shape[0])):
            x = X[i]
            # argmin returns the first minimum: ties go to the lowest index, as the article says
            q = int(np.argmin(((centres - x) ** 2).sum(axis=1)))
            centres[q] = (weights[q] * centres[q] + x) / (weights[q] + 1.0)
            weights[q] += 1.0
        passes += 1
        if p > 0 and np.max(np.linalg.norm(centres - before, axis=1)) <= tol:
            break
    return centres, weights, passes


def _nearest(X: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of every row (ties to the lowest index) and its squared distance, from
    exact differences computed in blocks of rows (never the whole objects x centres x features
    array)."""
    n = X.shape[0]
    rows = max(1, _BLOCK_CELLS // max(1, centres.size))
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    for start in range(0, n, rows):
        block = X[start:start + rows]
        d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels[start:start + rows] = np.argmin(d2, axis=1)
        dist[start:start + rows] = d2[np.arange(block.shape[0]), labels[start:start + rows]]
    return labels, dist


# ----------------------------------------------------------------------------------- registry
@dataclass
class ClassicResult:
    """A classic method's partition: ``labels_`` (``-1`` = noise) and ``proba_`` or None."""

    method: str
    labels_: np.ndarray
    proba_: Optional[np.ndarray] = None
    estimator: Any = None


@dataclass
class ClassicMethod:
    """One entry of :data:`CLASSIC_METHODS`, a view of its registry entry (``MethodSpec``)."""

    label: str
    defaults: dict
    build: Callable[..., Any] = field(repr=False)
    uses_n_clusters: bool = True
    has_proba: bool = False
    description: str = ""


class _ClassicMethods(Mapping):
    """The registry's classic methods (:mod:`clustering.registry`), by name; read each time, so
    a method registered later is in it."""

    def _names(self) -> list[str]:
        return [s.name for s in registry.specs() if s.classic]

    def __getitem__(self, name: str) -> ClassicMethod:
        spec = registry.get(name) if name in self._names() else None
        if spec is None:
            raise KeyError(name)
        return ClassicMethod(spec.label, dict(spec.defaults or {}),
                             functools.partial(registry.build, name), spec.uses_n_clusters,
                             spec.proba, spec.description)

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: Classic methods by name: label, default parameters (besides ``n_clusters``), builder.
CLASSIC_METHODS: Mapping[str, ClassicMethod] = _ClassicMethods()


#: Parameters of the classic methods bounded by :mod:`clustering.limits` (same names).
BOUNDED_PARAMS = ("n_init", "max_iter")


def check_classic(name: str, n_clusters: int, params: dict,
                  shape: Optional[tuple] = None) -> dict:
    """Check the settings of the classic method ``name`` before any work; returns the keyword
    arguments of its estimator (its defaults, overridden by ``params``).

    ``n_clusters``, ``n_init`` and ``max_iter`` are bounded by :mod:`clustering.limits`;
    with the data's ``shape`` (n_samples, n_features), also ``n_clusters <= n_samples`` and
    MacQueen's work. Raises :class:`ConfigError` naming the parameter.
    """
    if name not in CLASSIC_METHODS:
        raise ConfigError(N_("method: unknown classic method {name!r}; choose one of {names}."),
                          name=name, names=", ".join(CLASSIC_METHODS))
    entry = CLASSIC_METHODS[name]
    unknown = set(params) - set(entry.defaults)
    if unknown:
        raise ConfigError(N_("{name}: not a parameter of {method}; known: {names}."),
                          name=sorted(unknown)[0], method=Message(entry.label),
                          names=", ".join(sorted(entry.defaults)))
    kwargs = {**entry.defaults, **{k: v for k, v in params.items() if v is not None}}
    if entry.uses_n_clusters:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 1:
            raise ConfigError(N_("n_clusters: expected a positive integer, got {value!r}."),
                              value=n_clusters)
        limits.check("n_clusters", int(n_clusters), "n_clusters")
        if shape is not None and n_clusters > shape[0]:
            raise ConfigError(N_("n_clusters: {k} clusters need at least {k} objects, got {n}."),
                              k=n_clusters, n=shape[0])
    for key in BOUNDED_PARAMS:
        value = kwargs.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):  # not "auto"
            limits.check(key, value, key)
    if name == "macqueen" and shape is not None:
        MacQueenKMeans(n_clusters=n_clusters, **kwargs)._check_params(*shape)
    return kwargs


def run_classic(name: str, X, n_clusters: int = 3, **params) -> ClassicResult:
    """Fit the classic method ``name`` on ``X``; returns its labels (and probabilities).

    ``params`` override the method's defaults (:data:`CLASSIC_METHODS`); ``n_clusters`` is
    ignored by the density-based methods. Raises :class:`ConfigError` naming the bad parameter.
    """
    X = check_data(X)
    kwargs = check_classic(name, n_clusters, params, X.shape)
    entry = CLASSIC_METHODS[name]
    if "n_neighbors" in kwargs:  # spectral's graph: at most every other object
        kwargs["n_neighbors"] = min(int(kwargs["n_neighbors"]), X.shape[0] - 1)
    try:
        est = registry.build(name, n_clusters, **kwargs)
        if entry.has_proba:
            est.fit(X)
            proba = est.predict_proba(X)
            labels = np.argmax(proba, axis=1)
        else:
            labels = est.fit_predict(X)
            proba = None
    except ConfigError:
        raise
    except ValueError as err:  # scikit-learn's parameter and data checks
        raise ConfigError(N_("{method}: {error}"), method=Message(entry.label),
                          error=str(err)) from err
    return ClassicResult(name, np.asarray(labels, dtype=np.int64), proba, est)


__all__ = ["MacQueenKMeans", "ClassicResult", "ClassicMethod", "CLASSIC_METHODS", "check_classic",
           "run_classic", "BOUNDED_PARAMS", "PRESENTATION_OPS"]
