"""Tax-regulation decisions from a clustering: the rules of the article's section 4.

Section 4, "Рекомендации по принятию управленческих решений по налоговому регулированию на основе
решения задачи кластеризации", reads the clusters through the mean of the generalised criterion
Ф (formula 15) and the posteriors of table 3 (the share of the 27 maps that put an object in a
cluster). Each rule below quotes it.

Clusters (:func:`cluster_decisions`, :func:`decisions_from_means`):

1. "кластер «2», имеющий наименьшее среднее значение обобщенного показателя =0,0844 следует
   признать как имеющий неудовлетворительное финансово-экономическое состояние, и ... ЛПР
   рекомендуется принять «щадящие» налоговые регулирующие воздействия" -- the cluster of the
   lowest mean Ф is ``"unsatisfactory"``: lenient measures.
2. "Предприятия кластера «1» функционируют успешно: = 0,655, что в 7,76 раза превышает средний
   обобщенный критерий для кластера «2». Здесь никаких льгот по налоговому регулированию не
   требуется." -- every other cluster is ``"successful"``: no relief; its ``ratio`` is its mean
   over the base (lowest-mean) cluster's.
3. "Предприятие № 7 образует отдельный кластер «О» с очень высоким значением обобщенного
   показателя = 3,384, что в 40,1 раза превышает этот показатель для основного кластера «2».
   Поэтому целесообразен отдельный углубленный анализ" -- a cluster of very few objects is
   ``"anomalous"``: individual in-depth analysis, with its ratio.

Objects (:func:`object_decisions`, :func:`reliable_share`):

4. "Предприятие № 24 является «пограничным» между кластерами «0» и «1», т.е. практически
   равновероятно попадает в эти кластеры ..., причем кластеры «0» и «1» сильно различаются по
   значению обобщенного показателя Ф. Для предприятия № 24 Ф = 1,631, что близко к среднему
   значению этого критерия для кластеров «0» т «1», равного 2,019. Предприятие № 24 тоже
   целесообразно подвергнуть углубленному анализу" -- flag ``"split"``: in-depth analysis.
5. "разбиение предприятий на 3 кластера можно считать достаточно достоверным (вероятность оценки
   не хуже 26/27=0,963)" -- an assignment is reliable when its posterior is at least 26/27;
   below it the object is flagged ``"unreliable"``.
6. Every member of an anomalous cluster is flagged ``"anomalous cluster"`` (enterprise 7).

**Where the article is vague, the reading chosen** (all in :class:`DecisionRules`):

- the "base" cluster ("основного кластера «2»") is the lowest-mean cluster among those not
  anomalous; in the article it is also the largest (19 of 24), which is not required here. With
  more than three clusters only the base one is "unsatisfactory", all others "successful".
- "its own cluster" ("образует отдельный кластер") is a cluster of at most ``anomaly_max_size``
  objects; None: max(1, floor(0.05 n)) (enterprise 7 is 1 of 24). Size alone decides, so a small
  cluster is anomalous even when its mean is the lowest. When every cluster is that small, or
  there is one cluster, no cluster is set apart; one cluster gets ``"unrated"`` (the rules
  compare clusters' means), as does every cluster that is not anomalous when no score is given.
- "practically equiprobable" ("практически равновероятно") means the two largest posteriors
  differ by at most ``split_margin`` (0.2).
- "close to the mean of the two clusters' means" ("близко к среднему значению") means
  |Ф - midpoint| <= ``midpoint_tolerance`` x half the distance between the two means (0.5:
  nearer the midpoint than either mean). Enterprise 24: |1.631 - 2.019| = 0.388 <= 0.5 x 1.3645.
  Two clusters of equal means ("сильно различаются" fails) give no "split".
- the ratio is undefined (NaN, said in ``reason``) when the base mean is not positive; Ф can be
  negative (enterprise 17: -0.1232, table 6).
- the article names no measure for an unreliable assignment (it only calls the partition
  "достаточно достоверным" above 26/27); the recommendation chosen is to check the assignment
  before applying its cluster's measures. An object's posterior is that of its own label.

**Where the article contradicts itself** (nothing here depends on it): enterprise 7 is in
cluster 0 "с вероятностью оценки, равной 1,0" in section 3, yet "имеющего низкую вероятность
оценки разбиения, равную 0,481" two paragraphs on; enterprise 24 is in cluster 1 in all 27 maps
of table 3, "пограничным" between clusters 0 and 1 in section 4, and in cluster 2 in table 6,
while the printed means (1,6038/19 = 0.0844 and 1,965/3 = 0.655) leave it out of both. Table 6's
Ф values of the 19 members give 0.0869, not 0.0844, so ratios from table 6 are 7.54 and 38.9
where the article prints 7.76 and 40.1.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from .constraints import Interval, check_value
from .errors import DataError
from .i18n import Joined, Message, N_, Text

__all__ = ["RELIABLE_POSTERIOR", "DecisionRules", "cluster_decisions", "decisions_from_means",
           "object_decisions", "reliable_share"]

RELIABLE_POSTERIOR = 26 / 27
RULE = "article, section 4"
LENIENT = "lenient (щадящие) tax measures"
NO_RELIEF = "no tax relief needed"
IN_DEPTH = "individual in-depth analysis"
CHECK = "check the assignment before applying the cluster's measures"
NO_DECISION = "no decision: nothing to compare"
_TOL = 1e-9
_CLUSTER_COLUMNS = ["rank", "size", "share", "mean", "ratio", "state", "recommendation",
                    "reason", "rule"]
_OBJECT_COLUMNS = ["object", "flag", "cluster", "posterior", "reason", "recommendation",
                   "article"]

_RULE_CONSTRAINTS = {
    "reliable_posterior": [Interval(numbers.Real, 0, 1, closed="right")],
    "split_margin": [Interval(numbers.Real, 0, 1, closed="both")],
    "midpoint_tolerance": [Interval(numbers.Real, 0, 1, closed="both")],
    "anomaly_max_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
}


@dataclass(frozen=True)
class DecisionRules:
    """The thresholds of section 4's rules (see the module's docstring for each reading).

    Parameters
    ----------
    reliable_posterior : float in (0, 1]
        An object's assignment is reliable at this posterior or above ("не хуже 26/27=0,963").
    split_margin : float in [0, 1]
        Two posteriors differing by at most this are "практически равновероятно".
    midpoint_tolerance : float in [0, 1]
        Ф is "близко к среднему значению" of two clusters' means when its distance to their
        midpoint is at most this times half the distance between the means.
    anomaly_max_size : int >= 1 or None
        A cluster of at most this many objects is anomalous ("образует отдельный кластер");
        None: max(1, floor(0.05 n)).
    """

    reliable_posterior: float = RELIABLE_POSTERIOR
    split_margin: float = 0.2
    midpoint_tolerance: float = 0.5
    anomaly_max_size: Optional[int] = None

    def __post_init__(self):
        for name, constraints in _RULE_CONSTRAINTS.items():
            object.__setattr__(self, name, check_value(name, getattr(self, name), constraints))

    def anomaly_size(self, n_objects: int) -> int:
        """Largest size of an anomalous cluster among ``n_objects`` objects."""
        if self.anomaly_max_size is not None:
            return int(self.anomaly_max_size)
        return max(1, int(math.floor(0.05 * n_objects)))


# ------------------------------------------------------------------------------ input checks
def _show(value):
    """A numpy scalar as the Python number it holds, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _labels(labels) -> np.ndarray:
    """``labels`` as a non-empty 1-D int array of cluster numbers 0, 1, ..."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise DataError(N_("labels: expected a non-empty list of cluster numbers, got shape "
                           "{shape}."), shape=arr.shape)
    try:
        if arr.dtype.kind in "USb":
            raise TypeError
        values = arr.astype(float)
    except (TypeError, ValueError):
        raise DataError(N_("labels: expected whole numbers 0, 1, ..., got values of type "
                           "{dtype}."), dtype=arr.dtype) from None
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(N_("labels: expected whole numbers 0, 1, ..., got {value!r} at row "
                           "{row}."), value=_show(arr[i]), row=i)
    return values.astype(np.int64)


def _score(score, n: int) -> Optional[np.ndarray]:
    """``score`` as n finite floats, or None."""
    if score is None:
        return None
    try:
        arr = np.asarray(score, dtype=float)
    except (TypeError, ValueError):
        raise DataError("score: expected numbers, got non-numbers.") from None
    if arr.shape != (n,):
        raise DataError(N_("score: expected {n} values, one per label, got shape {shape}."),
                        n=n, shape=arr.shape)
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise DataError(N_("score: expected finite numbers, got {value!r} at row {row}."),
                        value=_show(arr[i]), row=i)
    return arr


def _proba(proba, labels: np.ndarray) -> np.ndarray:
    """``proba`` as an (n, M) float array of posteriors, M above every label."""
    try:
        arr = np.asarray(proba, dtype=float)
    except (TypeError, ValueError):
        raise DataError("proba: expected numbers, got non-numbers.") from None
    n, top = labels.shape[0], int(labels.max())
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] <= top:
        raise DataError(N_("proba: expected shape ({n}, M) with M at least {least} (one row per "
                           "label, one column per cluster), got {shape}."),
                        n=n, least=top + 1, shape=arr.shape)
    bad = ~np.isfinite(arr) | (arr < -_TOL) | (arr > 1 + _TOL)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(N_("proba: expected probabilities between 0 and 1, got {value!r} at "
                           "row {row}, column {column}."), value=_show(arr[i, j]), row=i, column=j)
    return arr


# ---------------------------------------------------------------------------------- clusters
def _objects(k: int) -> Message:
    return Message(N_("{n} object") if k == 1 else N_("{n} objects"), n=k)


def _cluster_of(size: int) -> Message:
    return Message(N_("a cluster of {objects}"), objects=_objects(size))


def _cluster_of_at_most(size: int, sc: "_Scene") -> Message:
    return Message(N_("a cluster of {objects} (at most {limit} of {n})"),
                   objects=_objects(size), limit=sc.limit, n=sc.n)


def _reason(*parts) -> Text:
    """The reason column's text: the parts (messages, None left out) joined by "; " (the
    English text, shown in the reader's language by ``i18n.text``)."""
    return Text(Joined([p for p in parts if p is not None], "; "))


def _table(rows: list, columns: list, numbers: Mapping) -> pd.DataFrame:
    """``rows`` as a table whose text columns hold their values as they are (object dtype: a
    reason keeps its message) and whose ``numbers`` columns have those dtypes."""
    return pd.DataFrame(rows, columns=columns, dtype=object).astype(dict(numbers))


def _set_apart(sizes: Mapping[int, int], limit: int) -> set:
    """Clusters of at most ``limit`` objects, unless all are (then none: no main cluster)."""
    small = {m for m, s in sizes.items() if s <= limit}
    return set() if small == set(sizes) else small


@dataclass(frozen=True)
class _Scene:
    """What every row of the cluster table is judged against."""

    n: int
    limit: int
    small: frozenset
    base: float  # the base cluster's mean; NaN without a score
    base_cluster: Optional[int]
    note: Optional[Message]  # said of every rated cluster when all are small
    score_name: str


def _size_row(size: int, anomalous: bool, sc: _Scene) -> list:
    """(ratio, state, recommendation, reason) from the size alone."""
    if anomalous:
        return [np.nan, "anomalous", IN_DEPTH,
                _reason(_cluster_of_at_most(size, sc),
                        Message(N_("no {score} given"), score=sc.score_name))]
    if size == sc.n:
        return [np.nan, "unrated", NO_DECISION,
                _reason(Message(N_("the only cluster ({objects}): the article's rules compare "
                                   "clusters' means, so no state is given"),
                                objects=_objects(size)))]
    return [np.nan, "unrated", Text(Message(N_("give {score} to decide"), score=sc.score_name)),
            _reason(Message(N_("no {score} given, so the article's rules cannot rank it"),
                            score=sc.score_name), _cluster_of(size))]


def _mean_row(m: int, size: int, mean: float, sc: _Scene) -> list:
    """(ratio, state, recommendation, reason) of a cluster with a mean score."""
    ratio = mean / sc.base if sc.base > 0 else np.nan
    if m == sc.base_cluster:
        if sc.small:
            why = Message(N_("lowest mean {score} {mean:.4g} of the clusters of more than "
                             "{objects} (the base cluster)"),
                          score=sc.score_name, mean=mean, objects=_objects(sc.limit))
        else:
            why = Message(N_("lowest mean {score} {mean:.4g} (the base cluster)"),
                          score=sc.score_name, mean=mean)
        no_ratios = (Message(N_("no ratios: the base mean {score} is not positive"),
                             score=sc.score_name) if sc.base <= 0 else None)
        return [ratio, "unsatisfactory", LENIENT,
                _reason(why, _cluster_of(size), no_ratios, sc.note)]
    if sc.base > 0:
        why = Message(N_("mean {score} {mean:.4g} is {ratio:.3g} times the base cluster's "
                         "{base:.4g}"), score=sc.score_name, mean=mean, ratio=ratio, base=sc.base)
    else:
        why = Message(N_("mean {score} {mean:.4g} against the base cluster's {base:.4g}: no "
                         "ratio, the base mean is not positive"),
                      score=sc.score_name, mean=mean, base=sc.base)
    if m in sc.small:
        return [ratio, "anomalous", IN_DEPTH, _reason(why, _cluster_of_at_most(size, sc))]
    return [ratio, "successful", NO_RELIEF, _reason(why, _cluster_of(size), sc.note)]


def _means(order: list, means: Mapping[int, float]) -> dict:
    """The finite mean of every cluster in ``order``."""
    missing = [m for m in order if m not in means or not np.isfinite(float(means[m]))]
    if missing:
        raise DataError(N_("means: expected a finite mean for every cluster with objects, none "
                           "for cluster {cluster}."), cluster=missing[0])
    return {m: float(means[m]) for m in order}


def decisions_from_means(sizes: Mapping[int, int], means: Optional[Mapping[int, float]] = None,
                         rules: DecisionRules = DecisionRules(), *,
                         score_name: str = "Phi") -> pd.DataFrame:
    """Section 4's cluster table from the clusters' sizes and mean scores.

    Parameters
    ----------
    sizes : mapping cluster -> number of objects
        Clusters of size 0 are left out.
    means : mapping cluster -> mean score, or None
        The mean Ф of each cluster (formula 15); None: states from the sizes only.
    rules : DecisionRules
    score_name : str
        The score's name in the reasons.

    Returns
    -------
    DataFrame indexed by ``cluster``, columns as in :func:`cluster_decisions`.
    """
    sizes = {int(m): int(s) for m, s in dict(sizes).items() if int(s) > 0}
    if not sizes:
        raise DataError("sizes: expected at least one cluster with objects, got none.")
    n = sum(sizes.values())
    limit = rules.anomaly_size(n)
    small = _set_apart(sizes, limit)
    order = sorted(sizes)
    mean = {m: np.nan for m in order} if means is None else _means(order, means)
    order = sorted(order, key=lambda m: mean[m]) if means is not None else order
    rated = means is not None and len(order) > 1
    base_cluster = next(m for m in order if m not in small) if rated else None
    note = (Message(N_("every cluster has at most {objects}, so none is set apart"),
                    objects=_objects(limit))
            if len(order) > 1 and not small and max(sizes.values()) <= limit else None)
    sc = _Scene(n, limit, frozenset(small), mean[base_cluster] if rated else np.nan,
                base_cluster, note, score_name)
    rows = []
    for rank, m in enumerate(order, start=1):
        head = [m, rank if means is not None else pd.NA, sizes[m], sizes[m] / n, mean[m]]
        tail = _mean_row(m, sizes[m], mean[m], sc) if rated else \
            _size_row(sizes[m], m in small, sc)
        rows.append(head + tail + [RULE])
    table = _table(rows, ["cluster"] + _CLUSTER_COLUMNS,
                   {"cluster": int, "rank": "Int64", "size": int, "share": float, "mean": float,
                    "ratio": float}).set_index("cluster")
    return table


def cluster_decisions(labels, score, rules: DecisionRules = DecisionRules(), *,
                      score_name: str = "Phi") -> pd.DataFrame:
    """Section 4's decision for every non-empty cluster.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Each object's cluster, 0 .. M-1.
    score : array-like of float, shape (n,), or None
        Each object's generalised criterion Ф (formula 15); None: states from the sizes only
        (``"anomalous"`` or ``"unrated"``; ``rank``, ``mean`` and ``ratio`` missing).
    rules : DecisionRules
    score_name : str
        The score's name in the reasons.

    Returns
    -------
    DataFrame indexed by ``cluster``, sorted by mean score ascending (by cluster without a
    score): ``rank`` (1 = lowest mean), ``size``, ``share``, ``mean``, ``ratio`` (mean over the
    base cluster's mean; NaN when that is not positive), ``state`` (``"unsatisfactory"``,
    ``"successful"``, ``"anomalous"`` or ``"unrated"``), ``recommendation``, ``reason`` (with
    the numbers) and ``rule``.
    """
    lab = _labels(labels)
    s = _score(score, lab.shape[0])
    clusters = np.unique(lab)
    sizes = {int(m): int((lab == m).sum()) for m in clusters}
    means = None if s is None else {int(m): float(s[lab == m].mean()) for m in clusters}
    return decisions_from_means(sizes, means, rules, score_name=score_name)


# ----------------------------------------------------------------------------------- objects
def _cluster_columns(clusters, labels: np.ndarray, scored: bool) -> tuple[dict, dict, dict]:
    """(means, states, reasons) by cluster from a :func:`cluster_decisions` table."""
    if not isinstance(clusters, pd.DataFrame) or not {"mean", "state"} <= set(clusters.columns):
        raise DataError("clusters: expected the table of cluster_decisions, with columns 'mean' "
                        "and 'state'.")
    missing = sorted(set(labels.tolist()) - set(int(m) for m in clusters.index))
    if missing:
        raise DataError(N_("clusters: no row for cluster {cluster}; build it with "
                           "cluster_decisions from the same labels."), cluster=missing[0])
    if scored and clusters["mean"].isna().all():
        raise DataError("clusters: no means; build it with cluster_decisions(labels, score).")
    index = [int(m) for m in clusters.index]
    reasons = clusters["reason"] if "reason" in clusters.columns else [""] * len(index)
    return (dict(zip(index, clusters["mean"].astype(float))),
            dict(zip(index, clusters["state"])), dict(zip(index, reasons)))


def _split_reason(p: np.ndarray, phi: Optional[float], means: dict, rules: DecisionRules,
                  score_name: str) -> Optional[str]:
    """Why an object is "split" (rule 4), or None."""
    if phi is None or p.shape[0] < 2:
        return None
    a, b = (int(v) for v in np.argsort(-p, kind="stable")[:2])
    gap = p[a] - p[b]
    if p[b] <= 0 or gap > rules.split_margin + _TOL:
        return None
    ma, mb = means.get(a, np.nan), means.get(b, np.nan)
    if not (np.isfinite(ma) and np.isfinite(mb)) or ma == mb:
        return None
    mid, half = (ma + mb) / 2, abs(ma - mb) / 2
    if abs(phi - mid) > rules.midpoint_tolerance * half + _TOL:
        return None
    return Text(Message(N_("posteriors {pa:.3f} (cluster {a}) and {pb:.3f} (cluster {b}) differ "
                          "by {gap:.3f} <= {margin:g}; {score} {phi:.4g} is {distance:.4g} from "
                          "{mid:.4g}, the mean of the clusters' means {ma:.4g} and {mb:.4g} (at "
                          "most {tolerance:g} x {half:.4g})"),
                       pa=p[a], a=a, pb=p[b], b=b, gap=gap, margin=rules.split_margin,
                       score=score_name, phi=phi, distance=abs(phi - mid), mid=mid, ma=ma, mb=mb,
                       tolerance=rules.midpoint_tolerance, half=half))


def _object_rows(i: int, m: int, p: np.ndarray, phi: Optional[float], cols: tuple,
                 rules: DecisionRules, score_name: str) -> list:
    """The flags of object ``i`` in cluster ``m`` with posteriors ``p``."""
    means, states, reasons = cols
    own = float(p[m])
    out = []
    if states[m] == "anomalous":
        out.append((i, N_("anomalous cluster"), m, own,
                    Text(Message(N_("member of anomalous cluster {cluster}: {reason}"),
                                cluster=m, reason=reasons[m])), IN_DEPTH, True))
    split = _split_reason(p, phi, means, rules, score_name)
    if split is not None:
        out.append((i, N_("split"), m, own, split, IN_DEPTH, True))
    elif own < rules.reliable_posterior - _TOL:
        out.append((i, N_("unreliable"), m, own,
                    Text(Message(N_("posterior {posterior:.3f} of its cluster {cluster} is under "
                                   "the reliable level {level:.3f}"),
                                posterior=own, cluster=m, level=rules.reliable_posterior)),
                    CHECK, True))
    return out


def object_decisions(labels, proba, score, clusters: pd.DataFrame,
                     rules: DecisionRules = DecisionRules(), *,
                     score_name: str = "Phi") -> pd.DataFrame:
    """Objects that section 4 singles out, one row per (object, flag).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Each object's cluster.
    proba : array-like of float, shape (n, M)
        Posterior of each cluster (table 3: the share of maps putting the object there).
    score : array-like of float, shape (n,), or None
        Each object's Ф; None: no "split" rule.
    clusters : DataFrame
        :func:`cluster_decisions`'s table (its ``mean`` and ``state`` are used).
    rules : DecisionRules
    score_name : str
        The score's name in the reasons.

    Returns
    -------
    DataFrame with ``object`` (row position from 0), ``flag`` (``"anomalous cluster"``: a member
    of an anomalous cluster; ``"split"``: rule 4; ``"unreliable"``: own-cluster posterior under
    ``reliable_posterior`` and not split), ``cluster``, ``posterior`` (of its own cluster),
    ``reason``, ``recommendation`` and ``article`` (True: a rule of the article), sorted by
    object then flag.
    """
    lab = _labels(labels)
    P = _proba(proba, lab)
    s = _score(score, lab.shape[0])
    cols = _cluster_columns(clusters, lab, s is not None)
    rows = []
    for i in range(lab.shape[0]):
        phi = None if s is None else float(s[i])
        rows += _object_rows(i, int(lab[i]), P[i], phi, cols, rules, score_name)
    frame = _table(rows, _OBJECT_COLUMNS,
                   {"object": int, "cluster": int, "posterior": float, "article": bool})
    return frame.sort_values(["object", "flag"], kind="stable").reset_index(drop=True)


def reliable_share(labels, proba, rules: DecisionRules = DecisionRules()) -> float:
    """Share of objects whose own-cluster posterior is at least ``rules.reliable_posterior``
    ("вероятность оценки не хуже 26/27=0,963"; 1e-9 tolerance, so 26/27 itself counts)."""
    lab = _labels(labels)
    P = _proba(proba, lab)
    own = P[np.arange(lab.shape[0]), lab]
    return float(np.mean(own >= rules.reliable_posterior - _TOL))
