"""Quasi-Bayesian ensemble: 27 maps vote; the article's tables, posteriors, flags, profile."""
import numpy as np
import pandas as pd
import streamlit as st

from clustering import plots
from ui import configio, forms, live, runs, state, widgets

KEY = "qbm"
#: Execution settings are the server's (CLUSTERMAP_DASK_SCHEDULER, CLUSTERMAP_MEMORY_LIMIT).
HIDDEN = ("callback", "stop", "verbose") + runs.SERVER_PARAMS
#: The app trains the maps one after the other in the session's job thread: Stop then interrupts
#: the map under way, and one session cannot take every core of a shared server.
APP_N_JOBS = runs.APP_N_JOBS
CHOICES = {"lattice": ["hexagonal", "rectangular"], "mode": ["online", "batch"],
           "init": ["pca", "random", "sample"], "cluster_method": ["kmeans", "hierarchical"]}

st.title("Quasi-Bayesian ensemble")
st.caption("An ensemble of self-organizing maps over a grid of decay constants τ1 x τ2, each "
           "trained several times. Cochran's test checks that the replicate variances of the "
           "criterion Θ (22) are homogeneous (filtering networks while they are not); an object's "
           "posterior probability of a cluster is the share of maps that put it there.")
widgets.flash_messages()
if not widgets.need_data():
    configio.config_loader("qbm", "qbm")
    st.stop()
live_slot = st.container()  # the live training panel sits on top

from clustering import config as cfg  # noqa: E402

ds = state.dataset()
defaults = cfg.default_params("qbm")
busy = live.other_job_notice("qbm")
running = state.job_running()


def article_grid():
    forms.set_values({"tau1_grid": (140, 280, 700), "tau2_grid": (125, 250, 625),
                      "n_replicates": 3}, KEY)


with st.container(border=True):
    st.markdown("**Grid and replicates**")
    st.button("The article's grid (3 x 3 networks x 3 replicates = 27 maps)", key="qbm_article",
              on_click=article_grid, disabled=running)
    grids = {k: defaults[k] for k in ("tau1_grid", "tau2_grid", "n_replicates") if k in defaults}
    values = forms.param_inputs(grids, KEY, columns=3, disabled=running)
    with st.expander("Map settings (shared by every map)"):
        rest = {k: v for k, v in defaults.items() if k not in grids and k not in HIDDEN}
        values.update(forms.param_inputs(rest, KEY, columns=4, choices=CHOICES, disabled=running))
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
    st.caption(widgets.md_escape(runs.planned_execution("qbm")))
    if st.button("Run the ensemble", type="primary", key="qbm_train",
                 icon=":material/play_arrow:", disabled=running or busy):
        with widgets.guard():
            params = cfg.validate_params("qbm", {**values, "n_jobs": APP_N_JOBS})
            runs.preflight("qbm", params, ds.X)  # a job above the memory limit never starts
            spec, token = state.data_spec(), state.data_token()

            def target(callback, stop):
                res = runs.train("qbm", params, ds, spec, callback=callback, stop=stop,
                                 data_token=token)
                runs.attach_kmeans_comparison(res, ds)
                return res

            state.start_job("qbm", target, "Quasi-Bayesian ensemble",
                            config=runs.job_config("qbm", params, spec))
            st.rerun()

configio.config_loader("qbm", KEY, disabled=running or busy)

with live_slot, widgets.guard():
    live.live_panel("qbm")


def results():
    res = state.result("qbm")
    if res is None:
        st.info("Run the ensemble to see the article's tables and the posterior probabilities.",
                icon=":material/info:")
        return
    qbm = res.estimator
    ids = runs.object_ids(ds)
    st.divider()
    st.subheader("Results")
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
    st.markdown("**Downloads**")
    from ui import downloads

    first, second = downloads.download_rows(res, ds)
    widgets.downloads(first, key="qbm_dl")
    widgets.downloads(second, key="qbm_dl2")


if not state.job_running() or state.job().method != "qbm":
    with widgets.guard():
        results()
