"""Names and hover lines of the objects and clusters in the figures (plain text; the builders
escape it with :func:`clustering.plots_base.plain`).

A cluster is not a class: a predicted cluster is named "cluster 2", or "cluster 2 (mostly
'sound')" when the known classes say which class most of its objects belong to; a known class is
named by its label name.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering.i18n import _


def class_name(code, class_names: Optional[Sequence] = None) -> str:
    """The name of known class ``code`` (its label name when there are names)."""
    if class_names is not None and 0 <= int(code) < len(class_names):
        return str(class_names[int(code)])
    return _("class {code}").format(code=code)


def cluster_name(label: int) -> str:
    """"cluster k", or "noise" for -1."""
    return _("noise") if int(label) < 0 else _("cluster {k}").format(k=int(label))


def class_names_map(classes: np.ndarray, class_names: Optional[Sequence] = None) -> dict:
    """Legend names of the true-label panel: each class code present -> its name."""
    return {int(c): class_name(c, class_names) for c in np.unique(np.asarray(classes, int))}


def majority_classes(labels: np.ndarray, known: Sequence) -> dict:
    """Cluster label -> the known value that more than half of the cluster's objects have
    (one known value per object; a missing one counts as a member, never as the class).
    Clusters without such a value, and noise (-1), are left out: a cluster is not a class."""
    table = pd.DataFrame({"cluster": np.asarray(labels).astype(int), "known": list(known)})
    out = {}
    for cluster, group in table.groupby("cluster", sort=True):
        counts = group["known"].dropna().value_counts(sort=False)
        if cluster >= 0 and counts.size and 2 * counts.max() > len(group):
            out[int(cluster)] = counts.idxmax()
    return out


def cluster_names(labels: np.ndarray, classes: Optional[np.ndarray] = None,
                  class_names: Optional[Sequence] = None) -> dict:
    """Legend names of predicted clusters: label -> "cluster k", with "(mostly 'name')" when the
    known ``classes`` (codes, one per object) are given and more than half of the cluster's
    objects share one class (:func:`majority_classes`). Noise (-1) is "noise"."""
    labels = np.asarray(labels).astype(int)
    mostly = {} if classes is None else majority_classes(labels, np.asarray(classes).astype(int))
    out = {}
    for k in np.unique(labels).tolist():
        name = cluster_name(k)
        if k in mostly:
            name = _("{cluster} (mostly '{name}')").format(
                cluster=name, name=class_name(mostly[k], class_names))
        out[k] = name
    return out


def _value(v) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def object_hover(ids: Sequence, features: Optional[pd.DataFrame] = None,
                 proba: Optional[np.ndarray] = None, names: Optional[Mapping] = None,
                 limit: int = 8) -> list[str]:
    """Hover text per object, lines separated by newlines: its id, then ``feature = value``
    for the first ``limit`` columns of ``features`` (the original values, e.g. the data set's
    ``raw``), then its membership probabilities ``P(cluster k) = 0.93`` (named by ``names``
    when given, e.g. :func:`cluster_names`)."""
    n = len(ids)
    cols = list(features.columns[:limit]) if features is not None else []
    values = features[cols].to_numpy(dtype=object) if cols else None
    proba = None if proba is None else np.asarray(proba, float)
    if proba is not None and proba.shape[0] != n:
        raise ValueError("proba must have one row per object")
    labels = [(names or {}).get(k, cluster_name(k)) for k in range(proba.shape[1])] if (
        proba is not None) else []
    out = []
    for i in range(n):
        lines = [_("id {id}").format(id=ids[i])]
        if values is not None:
            lines += [f"{c} = {_value(v)}" for c, v in zip(cols, values[i])]
        if proba is not None:
            lines += [f"P({lab}) = {p:.2f}" for lab, p in zip(labels, proba[i])]
        out.append("\n".join(lines))
    return out


__all__ = ["class_name", "cluster_name", "class_names_map", "majority_classes", "cluster_names",
           "object_hover"]
