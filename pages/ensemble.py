"""Quasi-Bayesian ensemble: 27 maps vote; the article's tables, posteriors, flags, profile.

The page template (:mod:`ui.method_page`) draws the Run button, the saved-run loader and the
live panel; this page draws its grid of networks and its results. The app trains the maps one
after the other in the session's job (the registry's ``app_settings``: ``n_jobs=1``), so Stop
interrupts the map under way and one session cannot take every core of a shared server.
"""
import numpy as np
import pandas as pd
import streamlit as st

from clustering import plots
from ui import forms, method_page, runs, state, widgets

EMPTY = "Run the ensemble to see the article's tables and the posterior probabilities."
KEY = "qbm"
GRID = ("tau1_grid", "tau2_grid", "n_replicates")
CAPTION = ("An ensemble of self-organizing maps over a grid of decay constants τ1 x τ2, each "
           "trained several times. Cochran's test checks that the replicate variances of the "
           "criterion Θ (22) are homogeneous (filtering networks while they are not); an object's "
           "posterior probability of a cluster is the share of maps that put it there.")


def article_grid():
    forms.set_values({"tau1_grid": (140, 280, 700), "tau2_grid": (125, 250, 625),
                      "n_replicates": 3}, KEY)


def settings(page) -> dict:
    """The grid and replicates, the shared map settings, and the networks' end-of-training
    radius and rate."""
    st.markdown("**Grid and replicates**")
    st.button("The article's grid (3 x 3 networks x 3 replicates = 27 maps)", key="qbm_article",
              on_click=article_grid, disabled=page.running)
    grids = {k: page.defaults[k] for k in GRID if k in page.defaults}
    values = page.inputs(grids, columns=3)
    with st.expander("Map settings (shared by every map)"):
        rest = {k: v for k, v in page.shown().items() if k not in grids}
        values.update(page.inputs(rest, columns=4))
    grid_table(values)
    st.caption(widgets.md_escape(runs.planned_execution("qbm")))
    return values


def grid_table(values: dict) -> None:
    """Each network's tau1, tau2 and its radius and rate at the end of training."""
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
    st.caption(f"{len(plan)} networks x {reps} replicates = {len(plan) * reps} maps; "
               "end-of-training radius and rate of each network:")
    st.dataframe(plan, hide_index=True, height=min(36 * (len(plan) + 1) + 4, 400),
                 column_config={"sigma(T)": st.column_config.NumberColumn(format="%.6f"),
                                "eta(T)": st.column_config.NumberColumn(format="%.6f")})


def results(res):
    """The article's tables, Cochran's test, posteriors, flags, the cluster profile and k-means."""
    ds = state.dataset()
    qbm = res.estimator
    ids = runs.object_ids(ds)
    done = len(qbm.maps_)
    ended = {"time": "Stopped at the time cap", "user": "Stopped by you"}.get(
        res.stop_reason, "Stopped" if res.stopped else "Finished")
    st.text(f"{ended} in {res.elapsed:.1f} s: {done} maps trained, {res.n_clusters} clusters; "
            f"mean criterion of the filtered ensemble Θ = {qbm.theta_mean_:.6g} (34).")
    st.caption(widgets.md_escape(runs.execution_text(res)))
    tabs = st.tabs(["Networks (table 2)", "Cochran's test (table 5)", "Posterior",
                    "Co-association", "Flagged objects", "Cluster profile", "vs k-means"])
    with tabs[0]:
        table = qbm.networks_
        st.dataframe(table, hide_index=True)
        reps = runs.replicate_columns(qbm)
        st.plotly_chart(plots.replicate_plot(table, reps, name_column="network",
                                             mean_column="theta_mean", kept=runs.kept_mask(qbm),
                                             title="Criterion per replicate and mean "
                                                   "(pale bars: filtered out)"),
                        key="qbm_reps")
    with tabs[1]:
        st.dataframe(qbm.variances_, hide_index=True)
        verdict = runs.cochran_verdict(qbm.cochran_)
        (st.success if verdict["homogeneous"] else st.warning)(widgets.md_escape(verdict["text"]))
        st.markdown("**Filtered ensemble**")
        st.dataframe(qbm.kept_networks_, hide_index=True)
    with tabs[2]:
        frame = runs.posterior_frame(res, ids)
        st.dataframe(frame, hide_index=True, height=320,
                     column_config={c: st.column_config.ProgressColumn(c, min_value=0.0,
                                                                       max_value=1.0, format="%.3f")
                                    for c in frame.columns if str(c).startswith("p_")})
        st.plotly_chart(plots.posterior_plot(res.proba, res.labels, ids,
                                             threshold=runs.flag_threshold(qbm),
                                             title="Posterior probability of the own cluster"),
                        key="qbm_posterior")
    with tabs[3]:
        if qbm.coassociation_ is None:
            st.info(f"The co-association matrix is kept for at most {qbm.max_coassociation} "
                    f"objects; this data set has {len(ids)}.", icon=":material/info:")
        else:
            st.plotly_chart(plots.coassociation_heatmap(qbm.coassociation_, res.labels, ids,
                                                        title="Share of maps putting two objects "
                                                              "together, ordered by cluster"),
                            key="qbm_coassoc")
    with tabs[4]:
        flags = runs.flags_frame(qbm, ids)
        if len(flags):
            st.write(f"{flags['row'].nunique()} object(s) recommended for individual in-depth "
                     f"analysis (boundary: posterior under {runs.flag_threshold(qbm):g}):")
            st.dataframe(flags, hide_index=True)
        else:
            st.success("No object flagged: every object sits firmly in its cluster.")
    with tabs[5]:
        frame = getattr(ds, "frame", None)
        numeric = [c for c in (frame.columns if frame is not None else [])
                   if pd.api.types.is_numeric_dtype(frame[c])]
        if frame is None or not numeric:
            st.info("The cluster profile needs a table with numeric columns (upload a CSV or "
                    "load the example).", icon=":material/info:")
        else:
            default = numeric.index("Phi") if "Phi" in numeric else len(numeric) - 1
            score = st.selectbox("Score column (clusters ranked by its mean)", numeric,
                                 index=default, key="qbm_score")
            profile = qbm.profile(frame, score=score)
            st.dataframe(profile)
            shown = [c for c in profile.columns if c in numeric][:6]
            if shown:
                st.plotly_chart(plots.profile_plot(profile, shown, title="Cluster means"),
                                key="qbm_profile")
    with tabs[6]:
        comp = res.extra.get("kmeans")
        if comp is None:
            st.caption("No k-means comparison available.")
        else:
            st.metric("Agreement with k-means (after matching cluster numbers)",
                      f"{comp['agreement']:.3f}",
                      help="Share of objects both partitions put in the same (matched) cluster.")
            st.dataframe(comp["criteria"], hide_index=False)
            st.dataframe(comp["table"], hide_index=True, height=300)


page = method_page.render("qbm", CAPTION, settings=settings, train_label="Run the ensemble")
page.results(results, EMPTY)
