"""Classic clustering methods: MacQueen's sequential k-means (formula 25) and a registry.

:class:`MacQueenKMeans` is the k-means the taxpayer article describes (formulas 24-25): start
from k points with weight 1; present the next object, move the nearest centre to the weighted
centre of gravity of the old centre and the object, add 1 to its weight. scikit-learn only has
Lloyd's batch k-means (and mini-batch variants), so this sequential form is written here.

:data:`CLASSIC_METHODS` lists the methods of the app's Compare page; :func:`run_classic` fits one
by name and returns a :class:`ClassicResult` (``labels_``, ``proba_`` where the method has one).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from clustering import limits
from clustering.errors import ConfigError
from clustering.metrics import check_data

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

    def _initial(self, X):
        k = self.n_clusters
        n = X.shape[0]
        if isinstance(self.init, str):
            if self.init == "first":
                seeds = np.arange(k)
            elif self.init == "random":
                seeds = np.sort(check_random_state(self.random_state).choice(n, k, replace=False))
            else:
                raise ConfigError(f"init: expected 'first', 'random' or an array of centres, got "
                                  f"{self.init!r}.")
            return X[seeds].copy(), np.setdiff1d(np.arange(n), seeds)
        centres = np.array(self.init, dtype=np.float64)
        if centres.shape != (k, X.shape[1]):
            raise ConfigError(f"init: expected {k} centres of {X.shape[1]} features, got shape "
                              f"{centres.shape}.")
        return centres, np.arange(n)

    def _check_params(self, n_samples: int, n_features: int) -> None:
        """Check the settings for data of ``n_samples`` x ``n_features``, the bounds of
        :mod:`clustering.limits` included (``n_clusters``, and the work ``objects x passes x
        max(clusters x features, PRESENTATION_OPS)`` against ``macqueen_ops``)."""
        k = self.n_clusters
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"n_clusters: expected a positive integer, got {k!r}.")
        limits.check("n_clusters", int(k), "n_clusters")
        if k > n_samples:
            raise ConfigError(f"n_clusters: {k} clusters need at least {k} objects, got "
                              f"{n_samples}.")
        passes = self.n_passes
        if isinstance(passes, bool) or not isinstance(passes, (int, np.integer)) or passes < 1:
            raise ConfigError(f"n_passes: expected a positive integer, got {passes!r}.")
        n, d, passes = int(n_samples), int(n_features), int(passes)
        step = (f"{k} clusters x {d} features" if k * d >= PRESENTATION_OPS else
                f"{PRESENTATION_OPS} (the least one presentation costs)")
        limits.check("macqueen_ops", n * passes * max(int(k) * d, PRESENTATION_OPS),
                     "n_clusters x n_passes", f"{n} objects x {passes} passes x {step}")

    def fit(self, X, y=None):
        """Run the sequential updates over ``X`` (rows in their order)."""
        X = check_data(X)
        self._check_params(*X.shape)
        k = self.n_clusters
        centres, order = self._initial(X)
        weights = np.ones(k)
        passes = 0
        for p in range(self.n_passes):
            before = centres.copy()
            for i in (order if p == 0 else range(X.shape[0])):
                x = X[i]
                # argmin returns the first minimum: ties go to the lowest index, as the article says
                q = int(np.argmin(((centres - x) ** 2).sum(axis=1)))
                centres[q] = (weights[q] * centres[q] + x) / (weights[q] + 1.0)
                weights[q] += 1.0
            passes += 1
            if p > 0 and np.max(np.linalg.norm(centres - before, axis=1)) <= self.tol:
                break
        self.cluster_centers_ = centres
        self.weights_ = weights
        self.n_passes_ = passes
        self.labels_, d2 = _nearest(X, centres)
        self.inertia_ = float(d2.sum())
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        """Nearest centre of each row of ``X`` (ties to the lowest index)."""
        check_is_fitted(self, "cluster_centers_")
        X = check_data(X)
        if X.shape[1] != self.n_features_in_:
            raise ConfigError(f"X: {X.shape[1]} features, the model was fitted on "
                              f"{self.n_features_in_}.")
        return _nearest(X, self.cluster_centers_)[0]


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
    """One entry of :data:`CLASSIC_METHODS`."""

    label: str
    defaults: dict
    build: Callable[..., Any] = field(repr=False)
    uses_n_clusters: bool = True
    has_proba: bool = False
    description: str = ""


def _kmeans(n_clusters, **p):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_clusters, **p)


def _macqueen(n_clusters, **p):
    return MacQueenKMeans(n_clusters=n_clusters, **p)


def _spectral(n_clusters, **p):
    from sklearn.cluster import SpectralClustering

    return SpectralClustering(n_clusters=n_clusters, **p)


def _dbscan(n_clusters, **p):
    from sklearn.cluster import DBSCAN

    return DBSCAN(**p)


def _hdbscan(n_clusters, **p):
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(copy=True, **p)


def _gmm(n_clusters, **p):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=n_clusters, **p)


def _agglomerative(n_clusters, **p):
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=n_clusters, **p)


#: Classic methods by name: label, default parameters (besides ``n_clusters``), builder.
CLASSIC_METHODS: dict[str, ClassicMethod] = {
    "kmeans": ClassicMethod("k-means", {"n_init": 10, "max_iter": 300, "random_state": 0},
                            _kmeans, description="scikit-learn's k-means (Lloyd, k-means++)"),
    "macqueen": ClassicMethod("MacQueen k-means", {"n_passes": 1, "init": "first", "tol": 0.0,
                                                   "random_state": 0}, _macqueen,
                              description="the article's sequential k-means (formula 25)"),
    "spectral": ClassicMethod("Spectral", {"affinity": "nearest_neighbors", "n_neighbors": 10,
                                           "random_state": 0}, _spectral,
                              description="spectral clustering on a k-nearest-neighbour graph"),
    "dbscan": ClassicMethod("DBSCAN", {"eps": 0.3, "min_samples": 5}, _dbscan,
                            uses_n_clusters=False,
                            description="density-based; finds its own number of clusters"),
    "hdbscan": ClassicMethod("HDBSCAN", {"min_cluster_size": 15, "min_samples": 3}, _hdbscan,
                             uses_n_clusters=False,
                             description="hierarchical density-based; no eps to choose"),
    "gmm": ClassicMethod("Gaussian mixture", {"covariance_type": "full", "n_init": 1,
                                              "random_state": 0}, _gmm, has_proba=True,
                         description="EM for a mixture of Gaussians (membership probabilities)"),
    "agglomerative": ClassicMethod("Agglomerative (Ward)", {"linkage": "ward"}, _agglomerative,
                                   description="bottom-up merging of clusters"),
}


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
        raise ConfigError(f"method: unknown classic method {name!r}; choose one of "
                          f"{', '.join(CLASSIC_METHODS)}.")
    entry = CLASSIC_METHODS[name]
    unknown = set(params) - set(entry.defaults)
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: not a parameter of {entry.label}; known: "
                          f"{', '.join(sorted(entry.defaults))}.")
    kwargs = {**entry.defaults, **{k: v for k, v in params.items() if v is not None}}
    if entry.uses_n_clusters:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 1:
            raise ConfigError(f"n_clusters: expected a positive integer, got {n_clusters!r}.")
        limits.check("n_clusters", int(n_clusters), "n_clusters")
        if shape is not None and n_clusters > shape[0]:
            raise ConfigError(f"n_clusters: {n_clusters} clusters need at least {n_clusters} "
                              f"objects, got {shape[0]}.")
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
    if name == "spectral" and "n_neighbors" in kwargs:
        kwargs["n_neighbors"] = min(int(kwargs["n_neighbors"]), X.shape[0] - 1)
    try:
        est = entry.build(n_clusters, **kwargs)
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
        raise ConfigError(f"{entry.label}: {err}") from err
    return ClassicResult(name, np.asarray(labels, dtype=np.int64), proba, est)


__all__ = ["MacQueenKMeans", "ClassicResult", "ClassicMethod", "CLASSIC_METHODS", "check_classic",
           "run_classic", "BOUNDED_PARAMS", "PRESENTATION_OPS"]
