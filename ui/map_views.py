"""What the SOM and ensemble pages draw, free of Streamlit: lattice positions and hover text,
error curves, status lines with why training stopped, the sigma/eta schedule over the run and
what it did, the objects of the cells clicked on a lattice map; the ensemble's headline,
Cochran's verdict and the filter, flags and posteriors, section 4's decisions and the
standardised cluster profile, tables 3 and 4, the comparison with MacQueen's k-means; and how a
run ran (the registry's ``execution_text`` of the SOM and the ensemble).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from clustering import i18n
from clustering.i18n import N_, _, format_number, fmt
from ui.column_names import shown_word
from ui.result import MethodResult, object_ids, status_word


def unit_coordinates(som) -> np.ndarray:
    """Drawing positions of the fitted map's units (units x 2)."""
    return np.asarray(som.unit_coordinates(), dtype=float)


def lattice_shape(som) -> tuple[int, int]:
    """Rows and columns of the fitted lattice (``rows_``/``cols_``: also when auto-sized)."""
    return int(som.rows_), int(som.cols_)


def cell_hover(som, bmu: np.ndarray, ids: Sequence[str], *, values=None, value_name="",
               limit: int = 12) -> list[str]:
    """Hover text per unit (plain text, lines separated by newlines): its place on the lattice,
    an optional value and the objects it holds."""
    _rows, cols = lattice_shape(som)
    n_units = unit_coordinates(som).shape[0]
    members: list[list[str]] = [[] for _u in range(n_units)]
    for obj, unit in zip(ids, np.asarray(bmu).ravel()):
        members[int(unit)].append(str(obj))
    out = []
    for u in range(n_units):
        head = _("unit {unit} (row {row}, col {col})").format(unit=u, row=u // cols,
                                                              col=u % cols)
        if values is not None:
            head += f"\n{value_name} {fmt(values[u], '.4g')}"
        objs = members[u]
        if objs:
            shown = ", ".join(objs[:limit]) + (f" … (+{len(objs) - limit})" if len(objs) > limit else "")
            head += "\n" + _("{n} object(s): {shown}").format(n=len(objs), shown=shown)
        else:
            head += "\n" + _("empty")
        out.append(head)
    return out


def suggested_units(n_objects: int) -> int:
    """The rule of thumb 5 sqrt(N) for the number of SOM units."""
    return int(round(5 * np.sqrt(max(n_objects, 1))))


# ----------------------------------------------------------------------------------- SOM views
def unit_clusters(som) -> np.ndarray:
    """Cluster of every unit: the map's own grouping of its cells (``cell_clusters_``)."""
    return np.asarray(som.cell_clusters_, dtype=int)


def som_curves(som) -> tuple[list, dict[str, list]]:
    """The recorded steps and the error curves of a fitted SOM's ``history_``."""
    hist = som.history_
    return list(hist["step"]), {"quantization_error": list(hist["quantization_error"]),
                                "topographic_error": list(hist["topographic_error"])}


def _step_word(som) -> str:
    return _("epochs") if _epoch_mode(som) else _("steps")


def _epoch_mode(som) -> bool:
    return getattr(som, "mode", "") == "epoch"


def _count(n) -> str:
    """A whole count as the language writes it (English "12,345", Russian "12 345")."""
    return format_number(int(n), 0)


def planned_steps(som) -> int:
    """Steps (epochs in epoch mode) the schedule planned: ``n_steps`` plus the convergence
    phase's ``convergence_steps_``."""
    return int(som.n_steps) + int(getattr(som, "convergence_steps_", 0) or 0)


def som_stop_reason(som, stop_reason: str = "") -> str:
    """Why the map's training ended, in words: the time cap (``stop_reason == "time"``), your
    Stop (``stopped_``), early stopping on ``tol`` (``converged_``) or the whole schedule."""
    done, total, word = _count(som.n_steps_done_), _count(planned_steps(som)), _step_word(som)
    if stop_reason == "time":
        return _("the server's time cap ended training after {done} of {total} {word}").format(
            done=done, total=total, word=word)
    if som.stopped_:
        return _("you pressed Stop after {done} of {total} {word}").format(
            done=done, total=total, word=word)
    if som.converged_:
        check = {"batch": _("every step"), "epoch": _("every epoch")}.get(
            som.mode, _("every recorded interval"))
        return (_("it stopped early after {done} of {total} {word}: no unit moved more than "
                  "tol = {tol} since the previous check ({check})").format(
                    done=done, total=total, word=word, tol=fmt(som.tol, "g"), check=check)
                + (_("; η had decayed to {eta} by then, so the units moved little because the "
                     "learning rate was small (a larger tau2 or a smaller tol trains "
                     "longer)").format(eta=fmt(som.eta_end_, ".3g"))
                   if som.eta_end_ < 0.1 * float(som.eta0) else
                   _(", so the map had settled")))
    return _("it ran the whole schedule of {total} {word}").format(total=total, word=word)


def som_status(result: MethodResult) -> str:
    """One paragraph: how training ended and why, the lattice, the final errors."""
    som = result.estimator
    rows, cols = lattice_shape(som)
    reason = som_stop_reason(som, getattr(result, "stop_reason", ""))
    lattice = _LATTICE_WORDS.get(som.lattice)
    return _("{status} in {seconds} s: {reason}. {rows} x {cols} {lattice} lattice, "
             "quantization error {qe}, topographic error {te}, {k} clusters of cells.").format(
        status=_(status_word(result)), seconds=fmt(result.elapsed, ".1f"), reason=reason, rows=rows,
        cols=cols, lattice=_(lattice) if lattice else som.lattice,
        qe=fmt(som.quantization_error_, ".4f"), te=fmt(som.topographic_error_, ".4f"),
        k=result.n_clusters)


#: The lattice's kind in words (the estimator's ``lattice``).
_LATTICE_WORDS = {"hexagonal": N_("hexagonal"), "rectangular": N_("rectangular")}
#: :func:`ui.result.status_word`'s words, in the catalog for the status line.
_STATUS_WORDS = (N_("Stopped at the time cap"), N_("Stopped by you"), N_("Trained"))


def _schedule_at(som, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigma(t) and eta(t) of the fitted map's schedule (the training's
    :func:`~clustering.som_training.exponential_decay`; eta is ``convergence_eta`` in the
    convergence phase)."""
    from clustering.som_training import exponential_decay

    sigma = exponential_decay(som.sigma0_, som.tau1_, t)
    eta = exponential_decay(float(som.eta0), som.tau2_, t)
    if int(getattr(som, "convergence_steps_", 0) or 0) > 0:
        eta = np.where(t >= int(som.n_steps), float(som.convergence_eta), eta)
    return sigma, eta


def som_schedule(som, n_points: int = 400) -> dict:
    """The schedule over the run: ``steps`` 0 .. ``n_steps_done_`` (at most ``n_points``, the
    last one included) with ``sigma`` and ``eta`` there (the last values are ``sigma_end_`` and
    ``eta_end_``), and ``planned_steps`` / ``planned_sigma`` / ``planned_eta`` for the part of
    the planned schedule that was not run (empty when the run went to the end)."""
    done, total = int(som.n_steps_done_), planned_steps(som)
    steps = np.unique(np.linspace(0, done, min(n_points, done + 1)).round().astype(int))
    sigma, eta = _schedule_at(som, steps)
    later = (np.unique(np.linspace(done, total, n_points).round().astype(int)) if total > done
             else np.zeros(0, dtype=int))
    p_sigma, p_eta = _schedule_at(som, later)
    return {"steps": steps, "sigma": sigma, "eta": eta, "planned_steps": later,
            "planned_sigma": p_sigma, "planned_eta": p_eta}


def schedule_note(som) -> str:
    """What the schedule did, in words: where eta fell to a tenth of eta0 and sigma below one
    cell (from there the units hardly move, so the error curves go flat), the convergence
    phase's fixed eta."""
    done, epochs = int(som.n_steps_done_), _epoch_mode(som)
    parts = [_("σ(t) = {sigma0}·exp(-t/{tau1}) and η(t) = {eta0}·exp(-t/{tau2}); at the end "
               "σ = {sigma} cells and η = {eta}.").format(
        sigma0=fmt(som.sigma0_, ".3g"), tau1=fmt(som.tau1_, ".4g"),
        eta0=fmt(float(som.eta0), ".3g"),
        tau2=fmt(som.tau2_, ".4g"), sigma=fmt(som.sigma_end_, ".3g"), eta=fmt(som.eta_end_, ".3g"))]
    t_eta = som.tau2_ * np.log(10.0)
    if t_eta < done:
        parts.append((_("η fell to a tenth of η0 by epoch {t}: from there each update moves the "
                        "units only a little, so flat error curves after it mean the map was "
                        "fine-tuning, not stuck.") if epochs else
                      _("η fell to a tenth of η0 by step {t}: from there each update moves the "
                        "units only a little, so flat error curves after it mean the map was "
                        "fine-tuning, not stuck.")).format(t=_count(round(t_eta))))
    if som.sigma0_ > 1 and som.tau1_ * np.log(som.sigma0_) < done:
        parts.append((_("σ fell below one cell by epoch {t}: an update then barely reaches the "
                        "winner's neighbours, so the map's layout no longer changes.") if epochs
                      else _("σ fell below one cell by step {t}: an update then barely reaches "
                             "the winner's neighbours, so the map's layout no longer changes."))
                     .format(t=_count(round(som.tau1_ * np.log(som.sigma0_)))))
    if int(getattr(som, "convergence_steps_", 0) or 0) > 0 and done > int(som.n_steps):
        parts.append((_("From epoch {t} the convergence phase holds η at {eta}.") if epochs else
                      _("From step {t} the convergence phase holds η at {eta}.")).format(
            t=_count(som.n_steps), eta=fmt(float(som.convergence_eta), "g")))
    return " ".join(parts)


def _unit_place(units: np.ndarray, cols: int) -> list[str]:
    return [_("{unit} (row {row}, col {col})").format(unit=u, row=u // cols, col=u % cols)
            for u in units.tolist()]


def objects_table(positions: Sequence[int], som, ids: Sequence[str], features: pd.DataFrame,
                  labels: np.ndarray, proba=None, names: Mapping | None = None) -> pd.DataFrame:
    """The objects at ``positions`` (0-based rows) as a table: id, cell (unit, row, col),
    their features (``features``: e.g. the data set's ``raw``, the original values), cluster
    (named by ``names``) and, when there are probabilities, the probability of that cluster."""
    pos = np.asarray(positions, dtype=int)
    labels = np.asarray(labels)
    _rows, cols = lattice_shape(som)
    table = pd.DataFrame({"id": [str(ids[i]) for i in pos],
                          "cell": _unit_place(np.asarray(som.bmu_)[pos], cols)})
    feats = features.iloc[pos].reset_index(drop=True)
    table = pd.concat([table, feats.set_axis([str(c) for c in feats.columns], axis=1)], axis=1)
    table["cluster"] = [(names or {}).get(int(k), _("cluster {k}").format(k=int(k)))
                        for k in labels[pos]]
    if proba is not None:
        table["probability"] = np.asarray(proba, float)[pos, labels[pos].astype(int)]
    return table


def selection_rows(points, som, ids: Sequence[str], features: pd.DataFrame, labels: np.ndarray,
                   proba=None, names: Mapping | None = None, scope: str = "cell") -> pd.DataFrame:
    """The objects of the cells picked on a lattice map (Streamlit's selection ``points``,
    :func:`clustering.plots_lattice.selected_units`), as :func:`objects_table`: with ``scope``
    "cell" the objects whose best unit is a picked cell, with "cluster" every object of the
    picked cells' clusters (``cell_clusters_``). Empty (same columns) when nothing is picked."""
    from clustering.plots_lattice import selected_units

    units = selected_units(points)
    bmu = np.asarray(som.bmu_)
    if scope == "cluster":
        clusters = np.unique(unit_clusters(som)[units]) if units else []
        mask = np.isin(unit_clusters(som)[bmu], clusters)
    else:
        mask = np.isin(bmu, units)
    return objects_table(np.flatnonzero(mask), som, ids, features, labels, proba, names)


# ----------------------------------------------------------------------------------- ensemble views
def kept_mask(qbm) -> list[bool]:
    """Per network of ``networks_``: whether step 2's filter kept it (``variances_.kept``)."""
    return [bool(v) for v in qbm.variances_["kept"]]


def replicate_columns(qbm) -> list[str]:
    """The per-replicate criterion columns of table 2 (``theta_u1`` ...)."""
    return [c for c in qbm.networks_.columns if str(c).startswith("theta_u")]


def _after_filtering(final) -> str:
    if final is None:
        return _("after filtering the test cannot judge the rest")
    return (_("homogeneous after filtering") if final
            else _("still not homogeneous after filtering"))


def cochran_verdict(cochran: Mapping) -> dict:
    """Cochran's test of the ensemble (``cochran_``, rule 33) in words.

    Returns ``{"homogeneous": True, False or None, "text": ...}``. None is "cannot judge": every
    replicate variance 0 (G undefined) or too few replicates or networks; the text then says so
    with the test's ``note`` and never calls the variances homogeneous.
    """
    g, crit = float(cochran.get("G", np.nan)), float(cochran.get("critical", np.nan))
    alpha = float(cochran.get("alpha", 0.05))
    homog = cochran.get("homogeneous")
    note = i18n.text(cochran.get("note") or "")
    if homog is None or not np.isfinite(g):
        why = note or _("too few replicates or networks.")
        return {"homogeneous": None,
                "text": _("Cochran's test cannot judge: {why}").format(why=why)}
    head = _("Cochran's test: G = {g}, critical value {critical} at the {alpha} level; ").format(
        g=fmt(g, ".4f"), critical=fmt(crit, ".4f"), alpha=fmt(alpha, ".0%"))
    if homog:
        text = head + _("the replicate variances are homogeneous: rule (33) removes no network.")
    else:
        removed = [int(r) for r in cochran.get("removed", [])]
        text = head + _("the replicate variances are not homogeneous")
        if removed:
            text += _(": rule (33) removed network(s) {networks} with the largest variance "
                      "({after}).").format(networks=", ".join(map(str, removed)),
                                           after=_after_filtering(cochran.get("final_homogeneous")))
        else:
            text += "."
    if note:
        text += " " + note
    return {"homogeneous": bool(homog), "text": text}


_RULE_WORDS = {
    "cochran+level": N_("Cochran's rule (33), then the level of Θ on the networks it kept"),
    "cochran": N_("Cochran's rule (33) only"),
    "level": N_("the level of Θ only (case 1 of the article: dense and loose groupings mixed)"),
    "none": N_("no filter: every network is kept"),
}


def filter_summary(qbm) -> list[str]:
    """Step 2's filter (``filter_``) in sentences: the rule, what the level of Θ kept, the kept
    networks and the mean criterion (34) against the mean of every map."""
    filt = qbm.filter_
    rule = _(_RULE_WORDS[filt["rule"]]) if filt["rule"] in _RULE_WORDS else filt["rule"]
    out = [_("Filter: {rule}.").format(rule=rule)]
    level = filt.get("level")
    if level is not None:
        out.append(_("Level of Θ: networks whose mean Θ is at most {threshold} (the {quantile} "
                     "quantile of the networks' means) are kept; removed: {removed}.").format(
            threshold=fmt(level['threshold'], ".6g"), quantile=fmt(level['quantile'], "g"),
            removed=", ".join(map(str, level["removed"])) or _("none")))
    kept = list(filt["kept"])
    out.append(_("Kept networks: {kept}; the mean criterion (34) over their maps is Θ = {theta} "
                 "(all maps: {theta_all}).").format(
        kept=", ".join(map(str, kept)) or _("none"), theta=fmt(qbm.theta_mean_, ".6g"),
        theta_all=fmt(qbm.theta_mean_all_, ".6g")))
    return out


def filter_table(qbm) -> pd.DataFrame:
    """Table 5 with the filter (``variances_``) and, for every removed network, why
    (``filter_["reasons"]``; empty for a kept one)."""
    reasons = {int(k): i18n.text(v) for k, v in dict(qbm.filter_.get("reasons", {})).items()}
    table = qbm.variances_.copy()
    table["reason"] = [reasons.get(int(q), "") for q in table["network"]]
    return table


def flag_threshold(qbm) -> float:
    """The posterior from which an assignment is reliable (``reliable_posterior``, the
    article's 26/27); under it an object is flagged "unreliable"."""
    return float(qbm.reliable_posterior)


def headline(qbm, comparison: Mapping | None = None) -> dict:
    """The headline of a run (:meth:`~clustering.ensemble.QuasiBayesianEnsemble.summary`):
    ``M`` and how it was chosen, ``sizes`` ("80 / 38 / 2"), ``reliable`` ("66 %") with
    ``reliable_help``, ``theta`` (34) with ``theta_help``, ``warnings`` (sentences) and, with a
    ``comparison`` (:meth:`compare_kmeans`), its ``verdict`` and ``kmeans_better``."""
    s = qbm.summary()
    auto = getattr(qbm, "selection_", None) is not None
    out = {"M": str(qbm.n_clusters_),
           "M_help": (_("chosen from the curve over M (tab 'Choice of M')") if auto
                      else _("as set (tick 'choose M from the curve' to have it chosen)")),
           "sizes": " / ".join(str(v) for v in s["sizes"]),
           "sizes_help": _("objects per cluster, clusters numbered by decreasing size"),
           "reliable": fmt(s['reliable_share'], ".0%"),
           "reliable_help": _("{n_reliable} of {n} objects have a posterior of at least "
                              "{threshold} (the article: 26/27 = 0.963)").format(
               n_reliable=s["n_reliable"], n=s["n_objects"],
               threshold=fmt(s['reliable_posterior'], ".3f")),
           "theta": fmt(s['theta_mean'], ".4g"),
           "theta_help": _("mean criterion (34) over the maps of the kept networks "
                           "{networks}").format(networks=", ".join(map(str, s["kept_networks"]))),
           "warnings": [i18n.text(w) for w in s["warnings"]], "verdict": None,
           "kmeans_better": False}
    if comparison is not None:
        out["verdict"] = (i18n.text(comparison["verdict"]) if comparison.get("verdict")
                          else comparison.get("verdict"))
        out["kmeans_better"] = comparison.get("more_compact") == "k-means"
    return out


def selection_note(qbm) -> str:
    """What the tab "Choice of M" says under the curve: the chosen M and the rule."""
    from clustering.ensemble_selection import MIN_RELIABLE

    return _("Chosen M = {m}: the largest silhouette among the M with at least {share} of the "
             "objects assigned reliably and no empty cluster (all candidates when none "
             "qualifies). Θ (34) always falls as M grows, so it is shown, not maximised. This "
             "rule is the app's; the article leaves the choice open.").format(
        m=qbm.n_clusters_, share=fmt(MIN_RELIABLE, ".0%"))


def flags_frame(qbm, ids: Sequence[str]) -> pd.DataFrame:
    """The ensemble's ``flags_`` with each object's id (``object`` is a 0-based row position)."""
    return with_ids(qbm.flags_, ids)


def with_ids(objects: pd.DataFrame, ids: Sequence[str], name: str = "row") -> pd.DataFrame:
    """A table of objects (``object``: 0-based row) with the id first and the row from 1 (in
    a column ``name``)."""
    table = objects.copy()
    positions = table["object"].to_numpy(dtype=int)
    table.insert(0, "id", [str(ids[i]) for i in positions])
    table["object"] = positions + 1
    return table.rename(columns={"object": name})


def posterior_frame(result: MethodResult, ids: Sequence[str]) -> pd.DataFrame:
    """id, cluster, p_0 .. p_{K-1}, p_max (the posterior of the own cluster)."""
    from clustering.export import assignments_frame

    return assignments_frame(ids, result.labels, result.proba)


# ----------------------------------------------------------------------------------- decisions
def score_columns(frame) -> list[str]:
    """The numeric (not boolean) columns of the input table, candidates for the score."""
    if frame is None:
        return []
    return [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]


def default_score(columns: Sequence[str]) -> str | None:
    """The article's generalised criterion ``Phi`` when there is one, else the last column."""
    return "Phi" if "Phi" in columns else (columns[-1] if columns else None)


def decision_tables(qbm, frame, score: str | None, ids: Sequence[str]):
    """Section 4's ``(clusters, objects)`` (:meth:`decisions`) on ``frame[score]``; the objects
    with their id (``row`` from 1). ``score`` None: the rules that need no score."""
    clusters, objects = qbm.decisions(frame if score else None, score)
    return clusters, with_ids(objects, ids)


def _objects(k: int) -> str:
    return (_("{n} object") if k == 1 else _("{n} objects")).format(n=k)


#: Section 4's states and recommendations (:mod:`clustering.decisions`), marked for the
#: catalog; shown by :func:`ui.column_names.shown_word` in the sentences of
#: :func:`recommendation_lines` and in the decision tables.
_DECISION_WORDS = (
    N_("unsatisfactory"), N_("successful"), N_("anomalous"), N_("unrated"),
    N_("lenient (щадящие) tax measures"), N_("no tax relief needed"),
    N_("individual in-depth analysis"),
    N_("check the assignment before applying the cluster's measures"),
    N_("no decision: nothing to compare"))


def recommendation_lines(clusters: pd.DataFrame, score: str | None) -> dict[int, str]:
    """Per cluster (in the table's order: by rank) its state and recommendation in words."""
    out = {}
    for m, row in clusters.iterrows():
        rank = ("" if pd.isna(row["rank"])
                else _("rank {rank}, ").format(rank=int(row["rank"])))
        mean = ("" if score is None or pd.isna(row["mean"])
                else _(", mean {score} {value}").format(score=score, value=fmt(row['mean'], ".4g")))
        ratio = ("" if pd.isna(row["ratio"]) or row["state"] == "unsatisfactory"
                 else _(", {ratio} times the base cluster's").format(
                     ratio=fmt(row['ratio'], ".3g")))
        out[int(m)] = _("Cluster {m} ({details}): {state} — {recommendation}.").format(
            m=int(m), details=rank + _objects(int(row["size"])) + mean + ratio,
            state=shown_word(row["state"]),
            recommendation=shown_word(row["recommendation"]))
    return out


def ranking_note(score: str | None) -> str:
    """The direction of the ranking, as section 4 reads it."""
    if score is None:
        return _("No score column: the clusters are not ranked (only anomalous ones are set "
                 "apart).")
    return _("Rank 1 = the lowest mean {score}: an unsatisfactory state, lenient (щадящие) tax "
             "measures; a cluster ranked higher functions successfully and needs no relief; a "
             "cluster of very few objects gets an individual in-depth analysis "
             "(section 4).").format(score=score)


def profile_means(qbm, X: np.ndarray, feature_names: Sequence[str], order: Sequence[int],
                  frame=None, score: str | None = None) -> pd.DataFrame:
    """The cluster profile on the clustering features standardised: each cluster's mean
    (``cluster_means_``, in the units the ensemble was trained on) as z-scores of the columns
    of ``X`` (a constant column gives 0), rows in ``order`` (e.g. the rank); the score column
    of ``frame`` is added (z-scored over the objects) when it is not a feature."""
    X = np.asarray(X, dtype=float)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    means = np.asarray(qbm.cluster_means_, dtype=float)
    z = np.divide(means - mu, sd, out=np.zeros_like(means), where=sd > 0)
    rows = [int(m) for m in order]
    table = pd.DataFrame(z[rows], index=pd.Index(rows, name="cluster"),
                         columns=[str(c) for c in feature_names])
    if score is not None and frame is not None and score not in table.columns:
        values = pd.to_numeric(frame[score], errors="coerce").to_numpy(dtype=float)
        s_mu, s_sd = np.nanmean(values), np.nanstd(values)
        table[score] = [(np.nanmean(values[qbm.labels_ == m]) - s_mu) / s_sd if s_sd > 0 else 0.0
                        for m in rows]
    return table


def profile_names(clusters: pd.DataFrame) -> dict[int, str]:
    """Legend names of the profile chart: cluster, rank and its recommendation."""
    out = {}
    for m, row in clusters.iterrows():
        rank = "" if pd.isna(row["rank"]) else _(" · rank {rank}").format(rank=int(row["rank"]))
        out[int(m)] = _("cluster {m}{rank}: {recommendation}").format(
            m=int(m), rank=rank, recommendation=shown_word(row["recommendation"]))
    return out


# ----------------------------------------------------------------------------------- tables 3, 4
def cells_frame(qbm, ids: Sequence[str]) -> pd.DataFrame:
    """Table 3 (:meth:`cells_table`) with each object's id first."""
    table = qbm.cells_table().reset_index(drop=True)
    table.insert(0, "id", [str(i) for i in ids])
    return table


def map_choices(qbm) -> list[tuple[int, str]]:
    """``(position in maps_, label)`` per map for table 4's selector: its name, Θ and whether its
    network was kept; the best map first."""
    best = qbm.maps_.index(qbm.best_map_)
    mt = qbm.maps_table_
    best_word, out_word = _(", best kept map"), _(", filtered out")
    items = [(k, f"{mt['name'].iloc[k]} (Θ = {fmt(mt['theta'].iloc[k], '.4g')}"
                 f"{best_word if k == best else ''}"
                 f"{'' if bool(mt['kept'].iloc[k]) else out_word})")
             for k in range(len(mt))]
    return [items[best]] + [it for it in items if it[0] != best]


def map_frame(qbm, X: np.ndarray, ids: Sequence[str], map_index: int | None = None):
    """Table 4 of one map (:meth:`map_table`; None: the best map) with each object's id and its
    row from 1 (``object``); its ``attrs`` (map, name, Q1) kept."""
    table = qbm.map_table(X, map_index)
    out = with_ids(table, ids, name="object")  # its "row" is the cell's row on the lattice
    out.attrs = dict(table.attrs)
    return out


# ----------------------------------------------------------------------------------- k-means
def attach_kmeans_comparison(result: MethodResult, dataset) -> None:
    """The article's comparison (section 5): MacQueen's k-means (25) with the same M against the
    filtered ensemble's (34) (:meth:`compare_kmeans`), with a table of both partitions."""
    comp = result.estimator.compare_kmeans(dataset.X)
    table = pd.DataFrame({"id": object_ids(dataset), "ensemble": result.labels,
                          "k-means (matched)": np.asarray(comp["labels"])})
    table["same"] = table["ensemble"] == table["k-means (matched)"]
    result.extra["kmeans"] = {**comp, "table": table}


def _summary_tail(result: MethodResult) -> str:
    info = getattr(result.estimator, "execution_", None)
    if not info:
        return ""
    if info.get("details"):
        return i18n.text(info["details"])
    return info["summary"].split("; ", 1)[-1] if "; " in info["summary"] else ""


def som_execution(result: MethodResult) -> str:
    """How a map ran on its worker (chunked or not), from its ``execution_`` summary."""
    return _summary_tail(result)


def qbm_execution(result: MethodResult) -> str:
    """How an ensemble ran on its worker: its maps one after the other."""
    if not getattr(result.estimator, "execution_", None):
        return ""
    return _("{n} maps one after the other").format(n=len(result.estimator.maps_))
