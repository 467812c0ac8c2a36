"""Choosing M, the number of clusters, for the quasi-Bayesian ensemble.

The article's problem states that the number of clusters is unknown ("Структура данных, т.е.
число кластеров ... неизвестны") and its criterion Θ "возможна минимизация ... путем вариации
числа образуемых кластеров"; it does not say how to choose M. Θ (22) always falls as M grows, so
it cannot choose M by itself. :func:`curve` records, for every candidate M on the same trained
maps (their cells regrouped), the share of objects assigned reliably (posterior at least 26/27),
the silhouette of the vote and the filtered Θ (34); :func:`suggest` picks M by the rule its
docstring states (this choice is ours, not the article's).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clustering.decisions import DecisionRules, reliable_share
from clustering.metrics import SILHOUETTE_SAMPLE

#: :func:`suggest` only considers an M whose share of reliable objects is at least this.
MIN_RELIABLE = 0.8


def _silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    ids = np.unique(labels)
    if not 2 <= len(ids) < len(labels):
        return float("nan")
    sample = SILHOUETTE_SAMPLE if len(labels) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(X, labels, sample_size=sample, random_state=0))


def curve(X: np.ndarray, outcomes: dict, rules: DecisionRules) -> pd.DataFrame:
    """One row per candidate M: ``M``, ``reliable_share``, ``silhouette``, ``theta_mean`` (34,
    the kept maps' mean Θ), ``smallest`` (the smallest non-empty cluster), ``small_clusters``
    (clusters of at most the rules' anomaly size) and ``empty``.

    ``outcomes`` maps M to the ensemble's vote on the same maps: a dict with ``labels``,
    ``proba``, ``thetas`` (networks x replicates) and ``kept_idx``, ``done``, ``filter``.
    """
    n = X.shape[0]
    small = rules.anomaly_size(n)
    rows = []
    for M, out in sorted(outcomes.items()):
        labels, proba = out["labels"], out["proba"]
        sizes = np.bincount(labels, minlength=M)
        kept = set(out["filter"]["kept"])
        th = out["thetas"]
        kept_theta = th[[q - 1 for q in sorted(kept)]] if kept else th
        rows.append({"M": int(M), "reliable_share": reliable_share(labels, proba, rules),
                     "silhouette": _silhouette(X, labels),
                     "theta_mean": float(np.nanmean(kept_theta)),
                     "smallest": int(sizes[sizes > 0].min()),
                     "small_clusters": int(np.sum((sizes > 0) & (sizes <= small))),
                     "empty": int(np.sum(sizes == 0))})
    return pd.DataFrame(rows)


def suggest(table: pd.DataFrame) -> int:
    """The suggested M: the largest silhouette among the M whose share of reliable objects is
    at least :data:`MIN_RELIABLE` and with no empty cluster (all candidates when none
    qualifies); ties go to the smaller M."""
    ok = table[(table["reliable_share"] >= MIN_RELIABLE) & (table["empty"] == 0)]
    pool = ok if len(ok) else table
    pool = pool.assign(_s=pool["silhouette"].fillna(-np.inf)).sort_values(
        ["_s", "M"], ascending=[False, True], kind="stable")
    return int(pool["M"].iloc[0])


__all__ = ["MIN_RELIABLE", "curve", "suggest"]
