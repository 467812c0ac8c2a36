"""The number of clusters: the app's one default and the curve that suggests one.

:func:`default_k` gives the default K of a data set and says where it came from (the known
classes, not counting an outlier class, or a fixed number); :func:`k_curve` scores k-means
partitions for K = 2..8 by their silhouette and their stability over restarts, and
:func:`suggest_k` reads the suggestion off that curve.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

import numpy as np
import pandas as pd

from clustering.i18n import _, ngettext

#: The default K when the data carries no labels to count classes from.
DEFAULT_K = 3
#: The K a curve covers by default.
K_RANGE = tuple(range(2, 9))
#: Classes whose name says they are not a group of their own (not counted by :func:`default_k`).
NOT_A_CLASS = re.compile(r"outlier|noise|anomal|выброс|шум|аномал", re.IGNORECASE)
#: k-means fits per K in :func:`k_curve` (each from another start).
N_RESTARTS = 5
#: The least stability (mean ARI between restarts) a K needs to be suggested.
MIN_STABILITY = 0.8
#: At most this many objects are scored by :func:`k_curve` (a random sample above it).
CURVE_SAMPLE = 3000


def default_k(dataset, *, fallback: int = DEFAULT_K, limit: int = 30) -> tuple[int, str]:
    """The default number of clusters of ``dataset`` and where it came from.

    Parameters
    ----------
    dataset : object with ``labels`` (int codes or None) and optionally ``label_names``
        The data set (:class:`clustering.tables.Dataset`).
    fallback : int, default=3
        K when there are no labels, or fewer than 2 classes once outlier classes are left out.
    limit : int, default=30
        The largest K returned (a form's bound).

    Returns
    -------
    k : int
    origin : str
        One sentence, e.g. "3 = the known classes of the label column (not counting
        'outlier')."
    """
    labels = getattr(dataset, "labels", None)
    if labels is None:
        return fallback, _("{fallback} is the app's default: the data has no label column to "
                           "count classes from. 'Suggest K' draws a curve to choose by.").format(
            fallback=fallback)
    names = getattr(dataset, "label_names", None)
    codes = np.unique(np.asarray(labels))
    named = [str(names[c]) if names is not None and 0 <= c < len(names) else str(c)
             for c in codes.tolist()]
    left_out = [n for n in named if NOT_A_CLASS.search(n)]
    k = len(named) - len(left_out)
    skipped = (_(" (not counting {names})").format(names=", ".join(repr(n) for n in left_out))
               if left_out else "")
    if k < 2:
        return fallback, ngettext(
            "{fallback} is the app's default: the known labels have {k} class{skipped}, too few "
            "to group by.",
            "{fallback} is the app's default: the known labels have {k} classes{skipped}, too few "
            "to group by.", k).format(fallback=fallback, k=k, skipped=skipped)
    if k > limit:
        return limit, _("{limit}, the form's largest K: the known labels have {k} "
                        "classes{skipped}.").format(limit=limit, k=k, skipped=skipped)
    return k, _("{k} = the number of classes in the known labels{skipped}.").format(
        k=k, skipped=skipped)


def _sample(X: np.ndarray, size: int, random_state: int) -> np.ndarray:
    if X.shape[0] <= size:
        return X
    rng = np.random.default_rng(random_state)
    return X[np.sort(rng.choice(X.shape[0], size, replace=False))]


def k_curve(X, ks: Iterable[int] = K_RANGE, *, n_restarts: int = N_RESTARTS,
            random_state: int = 0, sample: int = CURVE_SAMPLE) -> pd.DataFrame:
    """Silhouette and stability of k-means partitions for each K of ``ks``.

    Each K is fitted ``n_restarts`` times (one start each, seeds ``random_state + r``).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    ks : iterable of int, default=2..8
        Candidate K; those not below the number of objects are left out.
    n_restarts : int, default=5
        Restarts per K (at least 2).
    random_state : int, default=0
    sample : int, default=3000
        At most this many objects are used (a random sample above it).

    Returns
    -------
    DataFrame
        One row per K: ``K``, ``silhouette`` (of the restart with the lowest inertia, -1..1),
        ``stability`` (mean adjusted Rand index between every two restarts, 1 = the same
        partition every time) and ``n_objects`` (objects scored).
    """
    from itertools import combinations

    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score

    X = _sample(np.asarray(X, dtype=float), int(sample), random_state)
    n_restarts = max(2, int(n_restarts))
    rows = []
    for k in sorted({int(k) for k in ks if 2 <= int(k) < X.shape[0]}):
        fits = [KMeans(n_clusters=k, n_init=1, random_state=random_state + r).fit(X)
                for r in range(n_restarts)]
        best = min(fits, key=lambda f: f.inertia_)
        sil = (float(silhouette_score(X, best.labels_)) if len(np.unique(best.labels_)) > 1
               else float("nan"))
        aris = [adjusted_rand_score(a.labels_, b.labels_) for a, b in combinations(fits, 2)]
        rows.append({"K": k, "silhouette": sil, "stability": float(np.mean(aris)),
                     "n_objects": int(X.shape[0])})
    return pd.DataFrame(rows, columns=["K", "silhouette", "stability", "n_objects"])


def suggest_k(table: pd.DataFrame, *, min_stability: float = MIN_STABILITY) -> Optional[int]:
    """The K with the largest silhouette among those at least ``min_stability`` stable (all K
    when none is); None for an empty curve."""
    scored = table.dropna(subset=["silhouette"])
    if scored.empty:
        return None
    stable = scored[scored["stability"] >= min_stability]
    pick = stable if not stable.empty else scored
    return int(pick.loc[pick["silhouette"].idxmax(), "K"])


def suggestion_note(table: pd.DataFrame, suggested: Optional[int], *,
                    min_stability: float = MIN_STABILITY) -> str:
    """One sentence under the curve: the suggestion and the rule that made it."""
    if suggested is None:
        return _("No K could be scored on this data (too few objects).")
    row = table.set_index("K").loc[suggested]
    stable = bool((table["stability"] >= min_stability).any())
    rule = (_("the largest silhouette among the K whose restarts agree (stability at least "
              "{min_stability})") if stable else
            _("the largest silhouette (no K reached a stability of {min_stability})")).format(
        min_stability=f"{min_stability:g}")
    return _("Suggested K = {suggested}: {rule}; silhouette {silhouette}, stability "
             "{stability}. Computed with k-means on {n} objects.").format(
        suggested=suggested, rule=rule, silhouette=f"{row['silhouette']:.2f}",
        stability=f"{row['stability']:.2f}", n=int(row["n_objects"]))
