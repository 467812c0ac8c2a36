"""Help with DBSCAN's ``eps``: the sorted k-distance curve and the eps at its knee.

Ester et al. (1996, "A density-based algorithm for discovering clusters in large spatial
databases with noise", section 4.2) choose ``Eps`` from the "sorted k-dist graph": each object's
distance to its k-th nearest neighbour, sorted; the objects left of the first "valley" (the knee)
are in clusters, those right of it noise. They take ``k = MinPts``, and Schubert et al. (2017,
"DBSCAN revisited, revisited", section 4.1) keep the heuristic. :func:`k_distance_curve` draws
that curve (with ``k`` = DBSCAN's ``min_samples`` by default) and :func:`suggest_eps` reads the
knee off it.

scikit-learn's ``min_samples`` counts the object itself, so an object whose k-distance (itself
excluded) is at most ``eps`` is a core point already for ``k = min_samples - 1``; the default
``k = min_samples`` is one neighbour stricter, so it suggests a slightly larger ``eps``.
"""
from __future__ import annotations

import numbers

import numpy as np
from sklearn.neighbors import NearestNeighbors

from clustering.constraints import Interval, check_value
from clustering.errors import DataError
from clustering.i18n import N_
from clustering.validation import validate_data

__all__ = ["MAX_OBJECTS", "k_distance_curve", "suggest_eps", "round_eps"]

#: Objects whose k-distance is computed at most; a larger table is sampled (seeded).
MAX_OBJECTS = 20_000

#: DBSCAN's default ``min_samples`` (scikit-learn), the default ``k``.
DEFAULT_K = 5

_K = [Interval(numbers.Integral, 1, None, closed="left")]


def k_distance_curve(X, k: int = DEFAULT_K, *, max_objects: int = MAX_OBJECTS,
                     random_state: int = 0) -> np.ndarray:
    """Each object's distance to its k-th nearest neighbour (itself excluded), sorted ascending.

    Parameters
    ----------
    X : array-like of shape (n_objects, n_features)
        The data, in the space DBSCAN reads (Euclidean distances).
    k : int
        Which neighbour; DBSCAN's ``min_samples`` (Ester et al. 1996: ``k = MinPts``).
    max_objects : int
        With more objects than this, the curve is that of a random sample of ``max_objects``
        objects (drawn with ``random_state``); their neighbours are still sought among all
        objects, so each sampled distance is exact and the curve is a subsample of the full one.
    random_state : int
        Seed of that sample.

    Returns
    -------
    ndarray of shape (min(n_objects, max_objects),)

    Raises
    ------
    ConfigError
        ``k`` not a positive integer.
    DataError
        ``X`` not a finite table, or not more than ``k`` objects.
    """
    k = check_value("k", k, _K)
    X = validate_data(X)
    n = X.shape[0]
    if n <= k:
        raise DataError(N_("k: the distance to the k-th nearest neighbour needs more than "
                           "k = {k} objects, got {n}. Lower k (DBSCAN's min samples) or give "
                           "more rows."), k=k, n=n)
    query = X
    if n > max_objects:
        rows = np.random.default_rng(random_state).choice(n, size=max_objects, replace=False)
        query = X[rows]
    # k + 1 neighbours of each object among all of them: the object itself (or a duplicate,
    # also at distance 0) comes first, so column k is the k-th neighbour excluding itself.
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(query)
    return np.sort(dist[:, k])


def suggest_eps(distances) -> float:
    """The eps at the knee of a sorted k-distance curve.

    The "kneedle" rule (Satopää et al. 2011) in its plain form: both axes are scaled to [0, 1]
    (rank ``i / (n - 1)``, distance ``(d_i - d_0) / (d_last - d_0)``) and the knee is the point
    farthest below the chord from the first point to the last, i.e. the one maximising
    ``i / (n - 1) - scaled d_i``; the first of equal maxima is taken. A curve with no point
    below its chord (flat, straight or concave, or of fewer than 3 points) has no knee: its
    median is returned.

    Parameters
    ----------
    distances : array-like of shape (n,)
        The k-distances (sorted here if they are not), as :func:`k_distance_curve` gives them.

    Returns
    -------
    float

    Raises
    ------
    DataError
        ``distances`` empty, not 1-D, negative or not finite.
    """
    d = np.sort(_distances(distances))
    n, span = d.size, d[-1] - d[0]
    if n < 3 or span <= 0:
        return float(np.median(d))
    gap = np.linspace(0.0, 1.0, n) - (d - d[0]) / span
    best = int(np.argmax(gap))
    return float(d[best]) if gap[best] > 1e-12 else float(np.median(d))


def round_eps(eps: float, low: float = 0.001, high: float = 100.0) -> float:
    """``eps`` as a form shows it: 2 decimals from 0.1 up, 2 significant digits below, in
    ``[low, high]`` (the eps widget's bounds)."""
    value = round(eps, 2) if eps >= 0.1 else float(f"{eps:.2g}")
    return float(min(max(value, low), high))


def _distances(distances) -> np.ndarray:
    try:
        d = np.asarray(distances, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(N_("distances: expected numbers, got {value!r:.60}."),
                        value=distances) from err
    if d.ndim != 1 or d.size == 0:
        raise DataError(N_("distances: expected a non-empty 1-D array, got shape {shape}."),
                        shape=d.shape)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise DataError(N_("distances: expected finite, non-negative distances."))
    return d
