"""Result tables for download and the command line, safe to open in a spreadsheet.

Every CSV the tool writes goes through :func:`csv_bytes`: text cells (and column names) that a
spreadsheet would read as a formula (they start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) get a leading apostrophe, the OWASP rule against CSV formula injection. Numbers stay numbers:
a negative value in a numeric column is not text and is written as is.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

#: Readable names and a hint for the quality figures the backend reports
#: (:func:`clustering.metrics.quality_report`), one plain meaning per row.
METRIC_NOTES = {
    "n_clusters": ("clusters", "number of clusters found (noise not counted)"),
    "noise": ("noise objects", "objects in no cluster (label -1, as DBSCAN marks them)"),
    "ari": ("ARI", "adjusted Rand index against the known labels (1 = identical, 0 = chance)"),
    "nmi": ("NMI", "normalised mutual information with the known labels (1 = identical)"),
    "silhouette": ("silhouette", "-1 .. 1, higher = tighter, better separated clusters"),
    "theta": ("Θ (22) = Q1 (26)", "sum of squared distances of the objects to their cluster's "
              "centre of gravity; smaller is better"),
    "normalised_variance_sum": ("Σ cluster variances (not the article's)",
                                "sum over clusters of the mean squared distance to the centre "
                                "(each cluster's sum divided by its size); smaller is better"),
    "pairwise_within_distance": ("pairwise distances (27)", "sum of the distances between "
                                 "objects of the same cluster; smaller is better"),
    "generalized_variance": ("generalised variance (29)", "determinant of the pooled "
                             "within-cluster scatter matrix; smaller is better"),
    "log_generalized_variance_product": ("log multiplicative variance (31)", "log of the "
                                         "product of the clusters' covariance determinants, "
                                         "each to the power of its size; smaller is better"),
}
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value):
    """``value`` with a leading apostrophe when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula."""
    out = frame.copy()
    out.columns = [neutralise_text(str(c)) if isinstance(c, str) else c for c in out.columns]
    for col in range(out.shape[1]):
        series = out.iloc[:, col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)  # its categories are text like any other
        elif not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        out.isetitem(col, series.map(neutralise_text, na_action="ignore").astype(object))
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index):
        out.index = out.index.map(neutralise_text)
    return out


def csv_bytes(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """``frame`` as UTF-8 CSV, formula cells neutralised (see the module notes)."""
    return neutralise_formulas(frame).to_csv(index=index).encode("utf-8")


def assignments_frame(ids: Sequence, labels: np.ndarray, proba: Optional[np.ndarray] = None,
                      *, extra: Optional[dict] = None) -> pd.DataFrame:
    """One row per object: ``id``, ``cluster``, then ``p_0 .. p_{K-1}`` and ``p_max`` when given.

    Parameters
    ----------
    ids : sequence, length N
        Object identifiers (written as text).
    labels : array (N,)
        Hard cluster of each object (-1 = noise, for DBSCAN-like methods).
    proba : array (N, K) or None
        Membership probabilities; rows sum to 1.
    extra : dict of name -> array (N,), optional
        Further columns appended in order (e.g. the true label, a SOM cell).
    """
    labels = np.asarray(labels).ravel()
    frame = pd.DataFrame({"id": [str(i) for i in ids], "cluster": labels.astype(int)})
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        for k in range(proba.shape[1]):
            frame[f"p_{k}"] = proba[:, k]
        frame["p_max"] = proba.max(axis=1) if proba.shape[1] else np.nan
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values).ravel()
    return frame


def codebook_frame(som, feature_names: Sequence) -> pd.DataFrame:
    """A fitted SOM's codebook: one row per unit with its lattice ``row``, ``col``, ``hits``.

    Units are numbered row by row, as in :mod:`clustering.som`.
    """
    W = np.asarray(som.codebook_, dtype=float)
    W = W.reshape(-1, W.shape[-1])
    frame = pd.DataFrame(W, columns=[str(f) for f in feature_names][: W.shape[1]])
    unit = np.arange(len(W))
    frame.insert(0, "unit", unit)
    frame.insert(1, "row", unit // int(som.cols_))
    frame.insert(2, "col", unit % int(som.cols_))
    frame["hits"] = np.asarray(som.hit_counts_).ravel()
    return frame


def metrics_frame(metrics: dict) -> pd.DataFrame:
    """The quality figures as a table: figure, value and a short hint each
    (:data:`METRIC_NOTES`)."""
    rows = []
    for key, value in metrics.items():
        name, hint = METRIC_NOTES.get(str(key).lower(), (str(key), ""))
        rows.append({"figure": name, "value": value, "meaning": hint})
    return pd.DataFrame(rows)
