"""Quality of a partition: the article's functionals, internal and external indices, agreement.

Every function takes the data ``X`` (objects x features) and one cluster label per object.
Objects labelled ``-1`` (noise, as DBSCAN marks them) belong to no cluster and are left out of
the within-cluster functionals.

Functionals of the taxpayer article ("Neural network clustering methods to evaluate the totality
of taxpayers according to their degree of creditworthiness", 2017; smaller is better for all of
them):

* :func:`theta` -- formula 22: sum over clusters of the squared Euclidean distances (23) of the
  objects to their cluster's centre (given, or the centre of gravity: Aivazian's Q1);
  :func:`center_distances` gives each object's distance (23);
* :func:`within_variance_sum` -- formula 26: the sum of within-cluster variances about the
  centres of gravity, which the article's table 4 names Q1 and which equals Theta (22);
* :func:`pairwise_within_distance` -- formulas 27/28: sums of within-cluster pairwise distances;
* :func:`generalized_variance` -- formulas 29-30 (arithmetic form) and 31 (multiplicative form),
  built from the clusters' sample covariance matrices.

The article printed these formulas as images; their reading here is the one that reproduces
the figures of its tables and follows Aivazian et al., *Applied statistics: classification and
reduction of dimensionality* (1989), which the article cites; each docstring states it exactly.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (adjusted_rand_score, normalized_mutual_info_score,
                             silhouette_score)
from clustering.errors import DataError
from clustering.i18n import N_
from clustering.validation import validate_data

#: Largest number of objects for which the silhouette is computed on all of them; above it a
#: random sample of this size is used (the silhouette is quadratic in the number of objects).
SILHOUETTE_SAMPLE = 5000
#: Largest number of within-cluster pairs for which :func:`quality_report` sums plain pairwise
#: distances (formula 27); above it the entry is NaN.
PAIRWISE_LIMIT = 50_000_000


# ----------------------------------------------------------------------------------- inputs
def check_data(X, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """``X`` as a finite 2-D float64 array; raises :class:`DataError` saying what is wrong.

    :func:`clustering.validation.validate_data` without an estimator (kept under this name for
    the callers that check a table before any estimator sees it).
    """
    return validate_data(X, name=name, min_samples=min_samples)


def check_labels(labels, n_objects: Optional[int] = None, name: str = "labels") -> np.ndarray:
    """``labels`` as a 1-D integer array (of ``n_objects`` entries when given)."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise DataError(N_("{name}: expected one label per object (1-D), got shape {shape}."),
                        name=name, shape=arr.shape)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(
                arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DataError(N_("{name}: cluster labels must be integers, got dtype {dtype}."),
                            name=name, dtype=arr.dtype)
    if n_objects is not None and arr.shape[0] != n_objects:
        raise DataError(N_("{name}: {count} labels for {n} objects."),
                        name=name, count=arr.shape[0], n=n_objects)
    return arr.astype(np.int64, copy=False)


def _clusters(X, labels):
    X = check_data(X)
    labels = check_labels(labels, X.shape[0])
    keep = labels >= 0
    ids = np.unique(labels[keep])
    return X, labels, [X[labels == m] for m in ids], ids


# ----------------------------------------------------------------------------------- formula 22
def cluster_centers(X, labels) -> np.ndarray:
    """Centre of gravity (mean) of every cluster, in the order of the sorted cluster labels."""
    _, _, groups, _ = _clusters(X, labels)
    return np.array([g.mean(axis=0) for g in groups]) if groups else np.zeros((0, 0))


def _check_centers(centers, labels: np.ndarray, n_features: int) -> np.ndarray:
    """``centers`` as a finite float array with a row for every label (row ``m`` = centre of
    cluster ``m``) and ``n_features`` columns; raises :class:`DataError` saying what is wrong."""
    C = np.asarray(centers, dtype=np.float64)
    need = int(labels.max(initial=-1)) + 1
    if C.ndim != 2 or C.shape[1] != n_features:
        raise DataError(N_("centers: expected one row of {n} coordinates per cluster, got shape "
                           "{shape}."), n=n_features, shape=C.shape)
    if C.shape[0] < need:
        raise DataError(N_("centers: {count} centres for cluster labels up to {top}; row m is the "
                           "centre of cluster m, so at least {need} rows are needed."),
                        count=C.shape[0], top=need - 1, need=need)
    if not np.all(np.isfinite(C[np.unique(labels[labels >= 0])])):
        raise DataError("centers: the centres of the labelled clusters must be finite numbers.")
    return C


def theta(X, labels, centers=None) -> float:
    """Criterion Theta of formula 22: ``sum_m sum_{i in S_m} d(x_i, c_m)^2``.

    ``d`` is the Euclidean distance (formula 23) and ``c_m`` "точка центра кластера s_m в n -
    мерном пространстве признаков" (the centre point of cluster ``s_m``): ``centers[m]`` when
    ``centers`` is given (row ``m`` = centre of cluster label ``m``, e.g. a map's own cluster
    centres), else the mean of the cluster's objects -- then Theta is Aivazian's Q1, formula 26
    and k-means' inertia. Objects labelled -1 are left out. Smaller is better.
    """
    X, labels, groups, ids = _clusters(X, labels)
    if centers is None:
        return float(sum(((g - g.mean(axis=0)) ** 2).sum() for g in groups))
    C = _check_centers(centers, labels, X.shape[1])
    return float(sum(((g - C[m]) ** 2).sum() for g, m in zip(groups, ids)))


def center_distances(X, labels, centers=None) -> np.ndarray:
    """Each object's Euclidean distance (formula 23) to its cluster's centre; NaN for label -1.

    ``centers`` as in :func:`theta` (row ``m`` = centre of cluster ``m``; None: the clusters'
    means), so ``np.nansum(center_distances(X, labels, centers) ** 2)`` is Theta (22).
    """
    X, labels, groups, ids = _clusters(X, labels)
    if centers is None:
        C = np.full((int(labels.max(initial=-1)) + 1, X.shape[1]), np.nan)
        for g, m in zip(groups, ids):
            C[m] = g.mean(axis=0)
    else:
        C = _check_centers(centers, labels, X.shape[1])
    out = np.full(X.shape[0], np.nan)
    keep = labels >= 0
    out[keep] = np.linalg.norm(X[keep] - C[labels[keep]], axis=1)
    return out


# ----------------------------------------------------------------------------------- 26-31
def within_variance_sum(X, labels, *, normalize: bool = False) -> float:
    """Formula 26, "Сумма внутрикластерных дисперсий, где центром рассеяния служит «центр
    тяжести» кластера" (sum of within-cluster variances about the centres of gravity).

    Default: ``sum_m sum_{i in S_m} ||x_i - c_m||^2``, Aivazian's Q1, i.e. :func:`theta` (22)
    about the clusters' means. The article prints the Theta of map HC1,1 (table 2: 4.287331) as
    "Q1(s) =4,287" (table 4), so its (26) is this plain sum.
    ``normalize=True`` divides each cluster's sum by its size ``n_m`` (the sum of the clusters'
    mean squared distances, i.e. of their total variances): NOT the article's (26), kept as a
    size-insensitive variant.
    """
    _, _, groups, _ = _clusters(X, labels)
    total = 0.0
    for g in groups:
        ss = float(((g - g.mean(axis=0)) ** 2).sum())
        total += ss / len(g) if normalize else ss
    return total


def _pair_sum(G: np.ndarray, squared: bool, chunk: int = 2048) -> float:
    """Sum over unordered pairs i < j of (squared) distances inside one cluster, in chunks."""
    n = len(G)
    if squared:  # closed form: sum_{i<j} ||xi - xj||^2 = n * sum_i ||xi - c||^2
        return float(n * ((G - G.mean(axis=0)) ** 2).sum())
    from scipy.spatial.distance import cdist, pdist

    if n <= chunk:
        return float(pdist(G).sum())
    total = 0.0
    for start in range(0, n, chunk):
        block = G[start:start + chunk]
        total += float(pdist(block).sum())
        if start + chunk < n:
            total += float(cdist(block, G[start + chunk:]).sum())
    return total


def pairwise_within_distance(X, labels, *, squared: bool = False,
                             normalize: bool = False) -> float:
    """Formulas 27/28, the sum of pairwise distances between objects of the same cluster.

    ``sum_m w_m sum_{i<j in S_m} d(x_i, x_j)`` over unordered pairs, with ``d`` the Euclidean
    distance (``squared=True``: its square) and ``w_m = 1 / n_m`` when ``normalize`` (else 1).
    Formula 27 is the default; formula 28 is ``squared=True, normalize=True``, which equals
    :func:`theta` because ``sum_{i<j} d^2_ij = n_m sum_i ||x_i - c_m||^2``.
    Plain distances cost O(n_m^2) time per cluster (computed in blocks, linear memory).
    """
    _, _, groups, _ = _clusters(X, labels)
    total = 0.0
    for g in groups:
        s = _pair_sum(g, squared)
        total += s / len(g) if normalize else s
    return total


def cluster_covariances(X, labels) -> list[np.ndarray]:
    """Formula 30: each cluster's sample covariance ``(1/n_m) sum (x - c_m)(x - c_m)'``."""
    _, _, groups, _ = _clusters(X, labels)
    out = []
    for g in groups:
        d = g - g.mean(axis=0)
        out.append(d.T @ d / len(g))
    return out


def generalized_variance(X, labels, *, form: str = "arithmetic", log: bool = False) -> float:
    """Generalised within-cluster variance, formulas 29-30 and 31.

    With ``Sigma_m`` the covariance of cluster ``m`` (formula 30, divisor ``n_m``):

    * ``form="arithmetic"`` (29): ``det(sum_m n_m Sigma_m)``, the determinant of the pooled
      within-cluster scatter matrix; it is ``n^p`` times the determinant of the size-weighted
      arithmetic mean of the ``Sigma_m``.
    * ``form="multiplicative"`` (31): ``prod_m det(Sigma_m)^{n_m}``; its ``n``-th root is the
      size-weighted geometric mean of the ``det(Sigma_m)``.

    A cluster with fewer than ``p + 1`` objects (a singleton in particular), or whose objects
    lie in a lower-dimensional plane, has a singular covariance: its determinant is 0, so the
    multiplicative form is 0 (``-inf`` with ``log=True``) whatever the other clusters are.
    ``log=True`` returns the natural logarithm (the product over- or underflows easily).
    """
    if form not in ("arithmetic", "multiplicative"):
        raise DataError(N_("form: expected 'arithmetic' or 'multiplicative', got {value!r}."),
                        value=form)
    covs = cluster_covariances(X, labels)
    if not covs:
        return float("nan")
    _, _, groups, _ = _clusters(X, labels)
    sizes = [len(g) for g in groups]
    if form == "arithmetic":
        scatter = sum(n * c for n, c in zip(sizes, covs))
        sign, logdet = np.linalg.slogdet(np.atleast_2d(scatter))
        if sign <= 0:
            return float("-inf") if log else 0.0
        return float(logdet) if log else float(np.exp(logdet))
    total = 0.0
    for n, c in zip(sizes, covs):
        sign, logdet = np.linalg.slogdet(np.atleast_2d(c))
        if sign <= 0:
            return float("-inf") if log else 0.0
        total += n * logdet
    return total if log else float(np.exp(total))


# ----------------------------------------------------------------------------------- matching
def match_labels(reference, labels, n_clusters: Optional[int] = None) -> np.ndarray:
    """Rename the clusters of ``labels`` to agree best with ``reference``.

    The renaming maximises the number of objects on which the two partitions agree: an optimal
    one-to-one assignment (Hungarian method, :func:`scipy.optimize.linear_sum_assignment`) on
    their contingency table. Clusters of ``labels`` left without a partner (when ``labels`` has
    more clusters) get fresh numbers above those of ``reference``. Noise (``-1``) stays ``-1``.
    ``n_clusters``, when given, fixes the label set ``0..n_clusters-1`` of both partitions, so
    that empty clusters take part in the matching too (the result is then a permutation of it).
    """
    reference = check_labels(reference, name="reference")
    labels = check_labels(labels, reference.shape[0])
    out = labels.copy()
    mask = (labels >= 0) & (reference >= 0)
    if n_clusters is not None:
        ref_ids = lab_ids = np.arange(n_clusters)
        table = np.zeros((n_clusters, n_clusters), dtype=np.int64)
        np.add.at(table, (labels[mask], reference[mask]), 1)
    else:
        lab_ids = np.unique(labels[labels >= 0])
        ref_ids = np.unique(reference[reference >= 0])
        table = np.zeros((len(lab_ids), len(ref_ids)), dtype=np.int64)
        if mask.any():
            li = np.searchsorted(lab_ids, labels[mask])
            ri = np.searchsorted(ref_ids, reference[mask])
            np.add.at(table, (li, ri), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping = {int(lab_ids[r]): int(ref_ids[c]) for r, c in zip(rows, cols)}
    fresh = int(ref_ids.max(initial=-1)) + 1
    for lab in lab_ids:
        if int(lab) not in mapping:
            mapping[int(lab)] = fresh
            fresh += 1
    for lab, new in mapping.items():
        out[labels == lab] = new
    return out


def agreement(a, b) -> float:
    """Share of objects two partitions put in the same cluster after optimal label matching.

    The article's table 6 compares k-means with the quasi-Bayesian method this way: 20 of the 24
    enterprises agree, 0.833.
    """
    a = check_labels(a, name="a")
    b = check_labels(b, a.shape[0], name="b")
    if a.size == 0:
        return float("nan")
    return float(np.mean(match_labels(a, b) == a))


# ----------------------------------------------------------------------------------- report
def quality_report(X, labels, y_true=None, *, random_state: int = 0) -> dict[str, float]:
    """Every quality figure of a partition as ``{name: value}`` (NaN where undefined).

    Keys: ``n_clusters``, ``noise`` (objects labelled -1), ``theta`` (22 about the clusters'
    means, which is also the article's 26, Q1, and formula 28 with squared distances: one number,
    reported once), ``normalised_variance_sum`` (the sum of the clusters' mean squared distances
    to their centres, ``within_variance_sum(normalize=True)``: not one of the article's
    formulas), ``pairwise_within_distance`` (27; NaN above :data:`PAIRWISE_LIMIT` pairs),
    ``generalized_variance`` (29-30), ``log_generalized_variance_product`` (log of 31; NaN when
    a cluster's covariance is singular), ``silhouette`` (Euclidean; on a random sample of
    :data:`SILHOUETTE_SAMPLE` objects above that size; NaN with fewer than 2 clusters) and, when
    ``y_true`` is given, ``ari`` and ``nmi`` (noise counts as one more label there).
    """
    X = check_data(X)
    labels = check_labels(labels, X.shape[0])
    keep = labels >= 0
    ids = np.unique(labels[keep])
    sizes = np.array([np.sum(labels == m) for m in ids])
    report: dict[str, float] = {"n_clusters": float(len(ids)), "noise": float(np.sum(~keep))}
    report["theta"] = theta(X, labels)
    report["normalised_variance_sum"] = within_variance_sum(X, labels, normalize=True)
    n_pairs = float(np.sum(sizes * (sizes - 1) / 2)) if len(sizes) else 0.0
    report["pairwise_within_distance"] = (pairwise_within_distance(X, labels)
                                          if n_pairs <= PAIRWISE_LIMIT else float("nan"))
    report["generalized_variance"] = generalized_variance(X, labels) if len(ids) else float("nan")
    logprod = generalized_variance(X, labels, form="multiplicative", log=True) if len(ids) \
        else float("nan")
    report["log_generalized_variance_product"] = logprod if np.isfinite(logprod) else float("nan")
    Xk, lk = X[keep], labels[keep]
    if 2 <= len(ids) < len(lk):
        sample = SILHOUETTE_SAMPLE if len(lk) > SILHOUETTE_SAMPLE else None
        report["silhouette"] = float(silhouette_score(Xk, lk, sample_size=sample,
                                                      random_state=random_state))
    else:
        report["silhouette"] = float("nan")
    if y_true is not None:
        y = np.asarray(y_true)
        if y.shape[0] != labels.shape[0]:
            raise DataError(N_("y_true: {count} true labels for {n} objects."),
                            count=y.shape[0], n=labels.shape[0])
        report["ari"] = float(adjusted_rand_score(y, labels))
        report["nmi"] = float(normalized_mutual_info_score(y, labels))
    return report


__all__ = ["check_data", "check_labels", "cluster_centers", "theta", "center_distances",
           "within_variance_sum",
           "pairwise_within_distance", "cluster_covariances", "generalized_variance",
           "match_labels", "agreement", "quality_report"]
