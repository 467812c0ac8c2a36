"""Filtering the networks of the quasi-Bayesian ensemble: Cochran's rule (33) and the level of Θ.

Step 2 of the method (seeds, section 2): "Фильтрация обученных нейросетей-гипотез по критерию,
оценивающему качество кластеризации, например (22)". The article then names two cases:

1. "Сети Кохонена в ансамбле имеют в своем составе, как сети с высоким качеством разбиения, так и с
   низким качеством по (22) ... «рыхлую» группировку" -- the ensemble mixes dense and loose
   groupings: :func:`level_filter` keeps the networks whose mean Θ is at most a quantile of the
   networks' means (the median by default).
2. "Сети Кохонена в ансамбле имеют небольшой разброс по критерию качества разбиения ..., т.е.
   ... примерно однородны в смысле критерия Кочрена" -- :func:`filter_networks`, rule (33): drop
   the network of the largest replicate variance while Cochran's test rejects homogeneity.

**What the article reports, and the reading chosen.** It finds G = 0.398 and "все 9 нейросетей -
гипотез прошли условия отбора (33)", yet gives the filtered mean (34) as 3.68, while the nine
networks of table 2 average 4.2316. 3.68 is the mean of the five networks at or below the median
network mean (networks 3, 5, 7, 8, 9: 3.6803), and no other natural subset gives it. So the
article applied both filters: (33), which kept all nine, then the level of Θ. :func:`filter_ensemble`
does that by default (``rule="cochran+level"``); ``"cochran"`` alone gives 4.23. (Table 2 gives
G = 0.393; the article prints 0.398; its significance level is not stated, 5 % is used.)
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from scipy import stats

from clustering.errors import ConfigError, DataError
from clustering.i18n import Message, N_, Text

#: The filtering rules of :func:`filter_ensemble`.
RULES = ("cochran+level", "cochran", "level", "none")

#: Said whenever Cochran's test cannot judge because every replicate variance is 0.
ZERO_VARIANCES = ("every network's replicates gave the same criterion (all variances 0): "
                  "Cochran's test cannot judge homogeneity")


def replicate_variances(thetas) -> np.ndarray:
    """Sample variance (``ddof=1``) of each network's replicate criteria (a row per network).

    Table 5 of the article is this applied to table 2's three replicates per network.
    """
    arr = np.asarray(thetas, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise DataError("thetas: expected one row per network with at least 2 replicates.")
    return arr.var(axis=1, ddof=1)


def network_variances(thetas: np.ndarray) -> np.ndarray:
    """Table 5 with gaps: each row's variance over its finite replicates (NaN under 2); replicates
    that are all equal give exactly 0 (not the mean's rounding error)."""
    var = np.full(thetas.shape[0], np.nan)
    for q in range(thetas.shape[0]):
        vals = thetas[q][np.isfinite(thetas[q])]
        if vals.size >= 2:
            var[q] = 0.0 if np.ptp(vals) == 0 else vals.var(ddof=1)
    return var


def cochran_critical(k: int, n: int, alpha: float = 0.05) -> float:
    """Critical value of Cochran's G for ``k`` variances of ``n`` replicates each.

    ``C = 1 / (1 + (k - 1) / F)`` with ``F`` the ``1 - alpha / k`` quantile of the F
    distribution with ``n - 1`` and ``(k - 1)(n - 1)`` degrees of freedom (the exact form behind
    the printed tables: k = 9, n = 3, alpha = 0.05 gives 0.4775).
    """
    if k < 2 or n < 2:
        return float("nan")
    f = stats.f.ppf(1.0 - alpha / k, n - 1, (k - 1) * (n - 1))
    return float(1.0 / (1.0 + (k - 1) / f))


def cochran_test(variances, n_replicates: int, alpha: float = 0.05) -> dict:
    """Cochran's test: ``G = max S_q^2 / sum S_q^2`` against its critical value.

    Returns ``{"G", "critical", "homogeneous", "alpha", "k", "n_replicates", "largest"}`` with
    ``largest`` the position of the largest variance. ``homogeneous`` is ``G <= critical``, and
    None when the test cannot judge: every variance 0 (G undefined) or fewer than 2 variances;
    ``note`` then says why.
    """
    v = np.asarray(variances, dtype=float)
    if v.ndim != 1 or v.size == 0 or np.any(~np.isfinite(v)) or np.any(v < 0):
        raise DataError("variances: expected a list of non-negative finite numbers.")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(N_("alpha: expected a significance level between 0 and 1, got "
                             "{value!r}."), value=alpha)
    k = v.size
    total = float(v.sum())
    largest = int(np.argmax(v))
    g = float(v[largest] / total) if total > 0 else float("nan")
    crit = cochran_critical(k, int(n_replicates), alpha)
    out = {"G": g, "critical": crit, "homogeneous": None, "alpha": float(alpha), "k": int(k),
           "n_replicates": int(n_replicates), "largest": largest}
    if total == 0:
        out["note"] = N_("every network's replicates gave the same criterion (all variances 0): "
                         "Cochran's test cannot judge homogeneity.")  # ZERO_VARIANCES + "."
    elif k < 2:
        out["note"] = N_("Cochran's test needs at least 2 networks.")
    else:
        out["homogeneous"] = bool(g <= crit)
    return out


def filter_networks(variances, n_replicates: int, alpha: float = 0.05,
                    names: Optional[Sequence] = None) -> dict:
    """The filtering rule (33): drop the largest-variance network while Cochran's test fails.

    Returns ``{"G", "critical", "homogeneous", "alpha", ...}`` of the first test (the whole
    ensemble, as the article reports it), ``rounds`` (every test made, with the network it
    removed), ``removed`` and ``kept`` (network names, default their positions) and
    ``final_homogeneous``. Filtering stops when the rest is homogeneous, when the test cannot
    judge (``homogeneous`` None: nothing more is removed) or when one network is left.
    """
    v = np.asarray(variances, dtype=float)
    names = list(range(len(v))) if names is None else list(names)
    alive = list(range(len(v)))
    rounds, removed = [], []
    while True:
        test = cochran_test(v[alive], n_replicates, alpha)
        entry = {"round": len(rounds) + 1, "networks": [names[i] for i in alive], **test,
                 "removed": None}
        entry["largest"] = names[alive[test["largest"]]]
        if test["homogeneous"] is not False or len(alive) <= 1:
            rounds.append(entry)
            break
        drop = alive[test["largest"]]
        entry["removed"] = names[drop]
        rounds.append(entry)
        removed.append(names[drop])
        alive.remove(drop)
    first = rounds[0]
    out = {"G": first["G"], "critical": first["critical"], "homogeneous": first["homogeneous"],
           "alpha": float(alpha), "k": first["k"], "n_replicates": int(n_replicates),
           "rounds": rounds, "removed": removed, "kept": [names[i] for i in alive],
           "final_homogeneous": rounds[-1]["homogeneous"]}
    if "note" in first:
        out["note"] = first["note"]
    return out


def cochran_filter(variances: np.ndarray, counts: np.ndarray, n_replicates: int,
                   alpha: float) -> dict:
    """Rule (33) on an ensemble's networks (named from 1), some perhaps cut short by a stop.

    Networks with all ``n_replicates`` replicates are tested together; when none has, those with
    at least 2 are tested with their smallest count. Networks that cannot be tested are kept.
    """
    var = np.asarray(variances, dtype=float)
    counts = np.asarray(counts)
    testable = np.flatnonzero(np.isfinite(var))
    full = [int(q) for q in testable if counts[q] == n_replicates]
    use = full if full else [int(q) for q in testable]
    if not use or n_replicates < 2:
        return {"G": float("nan"), "critical": float("nan"), "homogeneous": None,
                "alpha": float(alpha), "k": len(var), "n_replicates": int(n_replicates),
                "rounds": [], "removed": [], "final_homogeneous": None,
                "kept": [q + 1 for q in range(len(var)) if counts[q] > 0],
                "note": N_("Cochran's test needs at least 2 replicates per network.")}
    n_rep = n_replicates if full else int(counts[use].min())
    out = filter_networks(var[use], n_rep, alpha, names=[q + 1 for q in use])
    untested = [q + 1 for q in range(len(var)) if counts[q] > 0 and q not in use]
    out["kept"] = sorted(int(k) for k in out["kept"] + untested)
    return out


def level_filter(means, quantile: float = 0.5, names: Optional[Sequence] = None) -> dict:
    """Case 1 of the article: keep the networks whose mean Θ is at most the ``quantile`` of the
    networks' means (the median by default; smaller Θ is the denser grouping).

    Returns ``{"quantile", "threshold", "kept", "removed"}`` (names, default positions). NaN
    means (networks without a map) are neither kept nor removed.
    """
    m = np.asarray(means, dtype=float)
    names = list(range(len(m))) if names is None else list(names)
    if not 0.0 < quantile <= 1.0:
        raise ConfigError(N_("level_quantile: must be in (0, 1], got {value!r}."), value=quantile)
    ok = np.isfinite(m)
    threshold = float(np.quantile(m[ok], quantile)) if ok.any() else float("nan")
    kept = [names[i] for i in range(len(m)) if ok[i] and m[i] <= threshold]
    removed = [names[i] for i in range(len(m)) if ok[i] and m[i] > threshold]
    return {"quantile": float(quantile), "threshold": threshold, "kept": kept, "removed": removed}


def filter_ensemble(thetas: np.ndarray, rule: str = "cochran+level", alpha: float = 0.05,
                    quantile: float = 0.5) -> dict:
    """Step 2 of the method on a (networks x replicates) array of Θ (NaN: a map not trained).

    ``rule``: ``"cochran+level"`` (rule 33, then the level of Θ on the networks it kept: the
    article's figures, see the module docstring), ``"cochran"``, ``"level"`` or ``"none"``.
    Returns ``{"rule", "variances", "means", "cochran", "level", "kept", "reasons"}``:
    ``cochran`` is :func:`cochran_filter` (always computed, to be shown), ``level`` is
    :func:`level_filter` or None, ``kept`` the networks (from 1) kept, ``reasons`` a
    ``{network: why it was removed}`` for the others.
    """
    if rule not in RULES:
        raise ConfigError(N_("network_filter: expected one of {rules}, got {value!r}."),
                          rules=", ".join(RULES), value=rule)
    thetas = np.asarray(thetas, dtype=float)
    counts = np.sum(np.isfinite(thetas), axis=1)
    var = network_variances(thetas)
    means = np.array([np.mean(r[np.isfinite(r)]) if c else np.nan
                      for r, c in zip(thetas, counts)])
    cochran = cochran_filter(var, counts, thetas.shape[1], alpha)
    alive = [q + 1 for q in range(len(means)) if counts[q] > 0]
    reasons: dict[int, str] = {}
    if rule in ("cochran+level", "cochran"):
        for r in cochran["rounds"]:
            if r["removed"] is not None:
                reasons[int(r["removed"])] = Text(Message(
                    N_("rule (33), round {round}: the largest replicate variance, G = {G:.4f} "
                       "above {critical:.4f}"), round=r["round"], G=r["G"], critical=r["critical"]))
        alive = [q for q in alive if q not in reasons]
    level = None
    if rule in ("cochran+level", "level") and alive:
        level = level_filter(means[np.array(alive) - 1], quantile, names=alive)
        for q in level["removed"]:
            reasons[int(q)] = Text(Message(
                N_("level of Θ: mean {mean:.6g} above the {quantile:g} quantile {threshold:.6g} of "
                   "the networks' means"),
                mean=means[q - 1], quantile=quantile, threshold=level["threshold"]))
        alive = [q for q in alive if q not in reasons]
    return {"rule": rule, "variances": var, "means": means, "cochran": cochran, "level": level,
            "kept": alive, "reasons": reasons}


__all__ = ["RULES", "ZERO_VARIANCES", "replicate_variances", "network_variances",
           "cochran_critical", "cochran_test", "filter_networks", "cochran_filter",
           "level_filter", "filter_ensemble"]
