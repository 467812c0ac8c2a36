"""Quasi-Bayesian ensemble: 27 maps vote; the headline, the choice of M, the article's tables 2-5,
posteriors, section 4's decisions, the cluster profile and the comparison with MacQueen's k-means.

The page template (:mod:`ui.method_page`) draws the Run button, the saved-run loader and the
live panel; this page draws its grid of networks, the number of clusters M (set, or chosen from
the curve: ``n_clusters="auto"``) and its results. The app trains the maps one after the other
in the session's job (the registry's ``app_settings``: ``n_jobs=1``), so Stop interrupts the map
under way and one session cannot take every core of a shared server.
"""
import numpy as np
import pandas as pd
import streamlit as st

from clustering import ensemble_plots, i18n, plots
from clustering.i18n import N_, _, fmt
from clustering.ensemble import QuasiBayesianEnsemble
from clustering.ensemble_selection import MIN_RELIABLE
from ui import forms, method_page, runs, state, widgets

EMPTY = N_("Run the ensemble to see the article's tables and the posterior probabilities.")
KEY = "qbm"
AUTO_KEY = "qbm_auto_m"
GRID = ("tau1_grid", "tau2_grid", "n_replicates")
M_PARAMS = ("n_clusters", "n_clusters_candidates")
CAPTION = N_("An ensemble of self-organizing maps over a grid of decay constants τ1 x τ2, each "
             "trained several times. The networks are filtered by the criterion Θ (22) "
             "(Cochran's rule (33) and the level of Θ); an object's posterior probability of a "
             "cluster is the share of the kept maps that put it there, reliable from 26/27 = "
             "0.963.")


def article_settings(names) -> None:
    """on_click: every shown setting as :meth:`QuasiBayesianEnsemble.article` has it (3 x 3 x 3
    maps, T = 500 epochs of the online rule, no early stop, 12 x 16, random start, M = 3)."""
    params = QuasiBayesianEnsemble.article().get_params()
    forms.set_values({k: params[k] for k in names if k in params}, KEY)
    st.session_state[AUTO_KEY] = False


def _candidates_text(default) -> str:
    """The candidate M as the form holds them now, for the checkbox's label ("2..8")."""
    text = st.session_state.get(f"{KEY}_n_clusters_candidates")
    try:
        values = [int(v) for v in str(text).replace(";", ",").split(",") if v.strip()]
    except ValueError:
        values = []
    values = values or [int(v) for v in default]
    return f"{min(values)}..{max(values)}"


def number_of_clusters(page) -> dict:
    """M: a number, or ``"auto"`` (chosen from the curve over the candidates) when the box is
    ticked. A saved run with ``n_clusters="auto"`` ticks it (its loader writes "auto" into the
    number's key)."""
    ss = st.session_state
    if ss.get(f"{KEY}_n_clusters") == "auto":
        ss[f"{KEY}_n_clusters"] = page.defaults["n_clusters"]
        ss[AUTO_KEY] = True
    ss.setdefault(AUTO_KEY, False)
    st.markdown("**" + _("Number of clusters M") + "**")
    c1, c2, c3 = st.columns([2, 1, 1])
    auto = c1.checkbox(_("Choose M from the curve ({candidates})").format(
                           candidates=_candidates_text(page.defaults[M_PARAMS[1]])),
                       key=AUTO_KEY, disabled=page.running, persist_state="session",
                       help=_("The article's number of clusters is unknown. The same maps are "
                              "regrouped for every candidate M; the page suggests the M with the "
                              "largest silhouette among those with enough reliable objects."))
    values = {}
    for col, name, off in ((c2, M_PARAMS[0], auto), (c3, M_PARAMS[1], not auto)):
        with col:
            values[name] = forms.param_input(name, page.defaults[name], f"{KEY}_{name}",
                                             disabled=page.running or off,
                                             field=page.field(name),
                                             label=_("clusters M") if name == "n_clusters" else None)
    if auto:
        values["n_clusters"] = "auto"
    return values


def grid_defaults(page) -> dict:
    """The grid's defaults, the decay constants as reals (any positive number, and a saved
    run's "140.0, 700.0" reads back), shown as written ("140, 280, 700")."""
    grids = {k: page.defaults[k] for k in GRID if k in page.defaults}
    for name in GRID[:2]:
        grids[name] = tuple(float(v) for v in grids[name])
        st.session_state.setdefault(f"{KEY}_{name}", ", ".join(f"{v:g}" for v in grids[name]))
    return grids


def settings(page) -> dict:
    """The article's settings, the grid and replicates, M, the shared map settings, and the
    networks' planned end-of-training radius and rate."""
    shown = page.shown()
    st.markdown("**" + _("Grid and replicates") + "**")
    st.button(_("The article's settings (3 x 3 networks x 3 replicates, T = 500 epochs, 12 x 16 "
                "cells, M = 3)"), key="qbm_article", on_click=article_settings,
              args=(tuple(shown),), disabled=page.running,
              help=_("QuasiBayesianEnsemble.article(): the online rule advancing once per epoch, "
                     "T = 500 with no early stop, σ0 = 4, η0 = 0.3, 12 rows x 16 columns, random "
                     "initialisation, M = 3."))
    grids = grid_defaults(page)
    values = page.inputs(grids, columns=3)
    values.update(number_of_clusters(page))
    with st.expander(_("Map settings (shared by every map) and decision rules")):
        rest = {k: v for k, v in shown.items() if k not in grids and k not in M_PARAMS}
        values.update(page.inputs(rest, columns=4))
    grid_table(values)
    st.caption(widgets.md_escape(runs.planned_execution("qbm")))
    return values


def grid_table(values: dict) -> None:
    """Each network's tau1, tau2 and its planned radius and rate at the end of training."""
    t1 = list(values.get("tau1_grid") or ())
    t2 = list(values.get("tau2_grid") or ())
    reps = int(values.get("n_replicates") or 1)
    sigma0 = values.get("sigma0") or 4.0
    eta0 = values.get("eta0") or 0.3
    T = values.get("n_steps") or 500
    plan = pd.DataFrame([{"network": i + 1, "tau1": a, "tau2": b,
                          "sigma(T)": sigma0 * np.exp(-T / a) if a else np.nan,
                          "eta(T)": eta0 * np.exp(-T / b) if b else np.nan}
                         for i, (a, b) in enumerate((a, b) for a in t1 for b in t2)])
    st.caption(_("{networks} networks x {reps} replicates = {maps} maps; the plan's "
                 "end-of-training radius and rate of each network (formulas 4 and 11 at T; the "
                 "results' table 2 shows the values the maps reached):").format(
        networks=len(plan), reps=reps, maps=len(plan) * reps))
    widgets.table(plan, app_table=True, hide_index=True,
                  height=min(36 * (len(plan) + 1) + 4, 400),
                 column_config={c: st.column_config.NumberColumn(
                     format=widgets.number_format("%.6f")) for c in ("sigma(T)", "eta(T)")})


# ----------------------------------------------------------------------------------- results
def headline(res, qbm) -> None:
    """Cluster sizes, the share of reliable objects, Θ (34), the warnings and the verdict of
    the comparison with MacQueen's k-means."""
    h = runs.headline(qbm, res.extra.get("kmeans"))
    cols = st.columns([1, 2, 1, 1])
    cols[0].metric(_("Clusters M"), h["M"], help=h["M_help"])
    cols[1].metric(_("Cluster sizes"), h["sizes"], help=h["sizes_help"])
    cols[2].metric(_("Reliable objects"), h["reliable"], help=h["reliable_help"])
    cols[3].metric("Θ (34)", h["theta"], help=h["theta_help"])
    for text in h["warnings"]:
        st.warning(widgets.md_escape(text), icon=":material/warning:")
    if h["verdict"]:
        (st.warning if h["kmeans_better"] else st.info)(widgets.md_escape(h["verdict"]))


def choice_tab(qbm) -> None:
    if getattr(qbm, "selection_", None) is None:
        st.caption(_("M was set to {m}. Tick \"Choose M from the curve\" in the settings and "
                     "run again to see the share of reliable objects, the silhouette and Θ (34) "
                     "over M = 2..8 (the same maps, their cells regrouped for every M) and the "
                     "suggested M.").format(m=qbm.n_clusters_))
        return
    st.plotly_chart(ensemble_plots.selection_curve(
        qbm.selection_, qbm.n_clusters_, min_reliable=MIN_RELIABLE,
        title=_("Share of reliable objects, silhouette and Θ (34) over M")), key="qbm_selection")
    st.caption(widgets.md_escape(runs.selection_note(qbm)))
    widgets.table(qbm.selection_, app_table=True, hide_index=True)


def networks_tab(qbm) -> None:
    table = qbm.networks_
    st.caption(_("Table 2: σ and η as the networks' maps reached them at the end of training "
                 "(formulas 4 and 11 at the steps made), each replicate's Θ (22) and their "
                 "mean."))
    widgets.table(table, app_table=True, hide_index=True)
    st.plotly_chart(plots.replicate_plot(table, runs.replicate_columns(qbm),
                                         name_column="network", mean_column="theta_mean",
                                         kept=runs.kept_mask(qbm),
                                         title=_("Criterion per replicate and mean (pale "
                                                 "bars: filtered out)")), key="qbm_reps")
    with st.expander(_("Every map (HCq,u)")):
        widgets.table(qbm.maps_table_, app_table=True, hide_index=True)


def filter_tab(qbm) -> None:
    for line in runs.filter_summary(qbm):
        st.markdown(widgets.md_escape(line))
    verdict = runs.cochran_verdict(qbm.cochran_)
    show = {True: st.success, False: st.warning, None: st.info}[verdict["homogeneous"]]
    show(widgets.md_escape(verdict["text"]))
    widgets.table(runs.filter_table(qbm), app_table=True, hide_index=True)
    level = qbm.filter_.get("level")
    st.plotly_chart(ensemble_plots.filter_plot(
        qbm.variances_, None if level is None else level["threshold"],
        title=_("Mean Θ of each network: kept and removed")), key="qbm_filter")
    st.caption(_("The article finds all 9 networks passing rule (33) yet gives (34) = 3.68, the "
                 "mean of its five best networks (the nine give 4.23): both rules applied, as "
                 "the default filter cochran+level does."))
    st.markdown("**" + _("Filtered ensemble") + "**")
    widgets.table(qbm.kept_networks_, app_table=True, hide_index=True)


def table3_tab(qbm, ids) -> None:
    st.caption(_("Table 3: for every map HCq,u, each object's cell k (from 1) and cluster m "
                 "(renamed to agree with the vote; a filtered-out map's too)."))
    widgets.table(runs.cells_frame(qbm, ids), app_table=True, hide_index=True, height=360)


def table4_tab(qbm, ds, ids) -> None:
    choices = runs.map_choices(qbm)
    names = dict(choices)
    k = st.selectbox(_("Map"), [c[0] for c in choices], format_func=names.get, key="qbm_map")
    table = runs.map_frame(qbm, ds.X, ids, k)
    st.caption(widgets.md_escape(
        _("Table 4 for {name}: each object's cell, its distance to the cell's centre and to its "
          "cluster's centre; Q1(s) = Θ = {q1}.").format(name=table.attrs["name"],
                                                        q1=fmt(table.attrs['Q1'], ".6g"))))
    widgets.table(table, app_table=True, hide_index=True, height=360)


def posterior_tab(res, qbm, ids) -> None:
    frame = runs.posterior_frame(res, ids)
    widgets.table(frame, app_table=True, hide_index=True, height=320,
                 column_config={c: st.column_config.ProgressColumn(c, min_value=0.0,
                                                                   max_value=1.0,
                                                                   format=widgets.number_format(
                                                                       "%.3f"))
                                for c in frame.columns if str(c).startswith("p_")})
    st.plotly_chart(plots.posterior_plot(res.proba, res.labels, ids,
                                         threshold=runs.flag_threshold(qbm),
                                         title=_("Posterior probability of the own cluster "
                                                 "(reliable from the line up)")),
                    key="qbm_posterior")


def coassociation_tab(res, qbm, ids) -> None:
    if qbm.coassociation_ is None:
        st.info(_("The co-association matrix is kept for at most {limit} objects; this data "
                  "set has {n}.").format(limit=qbm.max_coassociation, n=len(ids)),
                icon=":material/info:")
        return
    st.plotly_chart(plots.coassociation_heatmap(qbm.coassociation_, res.labels, ids,
                                                title=_("Share of maps putting two objects "
                                                        "together, ordered by cluster")),
                    key="qbm_coassoc")


def score_choice(ds):
    """The score column (clusters ranked by its mean): the table's ``Phi`` by default; None
    without a table of numeric columns."""
    columns = runs.score_columns(getattr(ds, "frame", None))
    if not columns:
        st.info(_("The decisions rank the clusters by a score column of the table (upload a "
                  "CSV or load the example); without one only the rules on the posteriors and "
                  "the cluster sizes apply."), icon=":material/info:")
        return None
    default = runs.default_score(columns)
    return st.selectbox(_("Score column (clusters ranked by its mean; the article: Ф)"), columns,
                        index=columns.index(default), key="qbm_score")


def decisions_tab(qbm, ds, ids, score):
    """Section 4: each cluster's state and recommendation in words, then the objects singled out;
    returns the clusters' table."""
    clusters, objects = runs.decision_tables(qbm, getattr(ds, "frame", None), score, ids)
    st.caption(widgets.md_escape(runs.ranking_note(score)))
    for line in runs.recommendation_lines(clusters, score).values():
        st.markdown("- " + widgets.md_escape(line))
    widgets.table(clusters, app_table=True, hide_index=False)
    if len(objects):
        st.write(_("{n} object(s) singled out by the article's rules (reliable from a posterior "
                   "of {threshold}):").format(n=objects["row"].nunique(),
                                              threshold=fmt(runs.flag_threshold(qbm), ".3f")))
        widgets.table(objects, app_table=True, hide_index=True)
    else:
        st.success(_("No object singled out: every object is assigned reliably and no cluster "
                     "is anomalous."))
    return clusters


def profile_tab(qbm, ds, score, clusters) -> None:
    frame = getattr(ds, "frame", None)
    means = runs.profile_means(qbm, ds.X, ds.feature_names, clusters.index, frame, score)
    st.caption(widgets.md_escape(runs.ranking_note(score) + " " + _(
        "The clustering features are shown standardised (0 = the mean over all objects).")))
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(ensemble_plots.profile_chart(
            means, runs.profile_names(clusters), score=score,
            title=_("Cluster means of the clustering features, standardised")), key="qbm_profile")
    with right:
        for line in runs.recommendation_lines(clusters, score).values():
            st.markdown("- " + widgets.md_escape(line))
    with st.expander(_("Means of every numeric column, in the table's units")):
        widgets.table(qbm.profile(frame, score=score) if frame is not None and score
                     else qbm.profile())


def kmeans_tab(res) -> None:
    comp = res.extra.get("kmeans")
    if comp is None or "verdict" not in comp:
        st.caption(_("No comparison with MacQueen's k-means available."))
        return
    (st.warning if comp["more_compact"] == "k-means" else st.success)(
        widgets.md_escape(i18n.text(comp["verdict"])))
    c1, c2, c3 = st.columns(3)
    c1.metric(_("Θ of k-means / Θ (34)"), fmt(comp['ratio'], ".3g"),
              help=_("The article: 38.82 / 3.68 = 10.55."))
    c2.metric(_("Θ of MacQueen's k-means"), fmt(comp['theta_kmeans'], ".4g"))
    c3.metric(_("Agreement (matched clusters)"), fmt(comp['agreement'], ".3f"),
              help=_("Share of objects both partitions put in the same (matched) cluster."))
    st.plotly_chart(ensemble_plots.criteria_bars(comp, title=_("Criterion Θ: k-means (25) and "
                                                               "the ensemble (34)")),
                    key="qbm_kmeans")
    widgets.table(comp["table"], app_table=True, hide_index=True, height=300)


TABS = [N_("Choice of M"), N_("Networks (table 2)"), N_("Filter (table 5)"), N_("Table 3"),
        N_("Table 4"), N_("Posterior"), N_("Co-association"), N_("Decisions"),
        N_("Cluster profile"), N_("vs k-means")]


def results(res):
    """The headline, then the tabs of :data:`TABS`."""
    ds = state.dataset()
    qbm = res.estimator
    ids = runs.object_ids(ds)
    ended = {"time": _("Stopped at the time cap"), "user": _("Stopped by you")}.get(
        res.stop_reason, _("Stopped") if res.stopped else _("Finished"))
    st.text(_("{ended} in {seconds} s: {maps} maps trained, M = {m} clusters; mean criterion of "
              "the filtered ensemble Θ = {theta} (34).").format(
        ended=ended, seconds=fmt(res.elapsed, ".1f"), maps=len(qbm.maps_), m=qbm.n_clusters_,
        theta=fmt(qbm.theta_mean_, ".6g")))
    st.caption(widgets.md_escape(runs.execution_text(res)))
    headline(res, qbm)
    tabs = st.tabs([_(t) for t in TABS])
    with tabs[0]:
        choice_tab(qbm)
    with tabs[1]:
        networks_tab(qbm)
    with tabs[2]:
        filter_tab(qbm)
    with tabs[3]:
        table3_tab(qbm, ids)
    with tabs[4]:
        table4_tab(qbm, ds, ids)
    with tabs[5]:
        posterior_tab(res, qbm, ids)
    with tabs[6]:
        coassociation_tab(res, qbm, ids)
    with tabs[7]:
        score = score_choice(ds)
        clusters = decisions_tab(qbm, ds, ids, score)
    with tabs[8]:
        profile_tab(qbm, ds, score, clusters)
    with tabs[9]:
        kmeans_tab(res)


page = method_page.render("qbm", _(CAPTION), settings=settings,
                          train_label=_("Run the ensemble"))
page.results(results, _(EMPTY))
