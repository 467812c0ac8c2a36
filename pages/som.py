"""Self-organizing map: lattice and training settings, live errors, lattice maps."""
import numpy as np
import streamlit as st

from clustering import plots
from ui import configio, forms, live, runs, state, widgets

KEY = "som"
CHOICES = {"lattice": ["hexagonal", "rectangular"], "mode": ["online", "batch"],
           "init": ["pca", "random", "sample"], "cluster_method": ["kmeans", "hierarchical"]}
#: Execution settings are the server's (CLUSTERMAP_DASK_SCHEDULER, CLUSTERMAP_MEMORY_LIMIT).
HIDDEN = ("callback", "stop", "verbose", "chunk_size") + runs.SERVER_PARAMS

st.title("Self-organizing map")
st.caption("Kohonen's map: a lattice of units whose weight vectors follow the data (winner, "
           "Gaussian neighbourhood on the lattice, σ(t) = σ0·exp(-t/τ1), η(t) = η0·exp(-t/τ2)); "
           "then the cells are grouped into clusters.")
widgets.flash_messages()
if not widgets.need_data():
    configio.config_loader("som", "som")
    st.stop()
live_slot = st.container()  # the live training panel sits on top

from clustering import config as cfg  # noqa: E402

ds = state.dataset()
defaults = cfg.default_params("som")
n_obj = ds.X.shape[0]
sug_rows, sug_cols = runs.suggested_lattice(n_obj)


def use_suggestion():
    forms.set_values({"rows": sug_rows, "cols": sug_cols}, KEY)


def use_study():
    forms.set_values({"rows": 16, "cols": 12, "n_steps": 500, "sigma0": 4.0, "eta0": 0.3}, KEY)


busy = live.other_job_notice("som")
running = state.job_running()
with st.container(border=True):
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.markdown(f"**Lattice** · the rule of thumb 5√N suggests about "
                f"{runs.suggested_units(n_obj)} units for N = {n_obj}: {sug_rows} x {sug_cols}.")
    c2.button(f"Use {sug_rows} x {sug_cols}", key="som_suggest", on_click=use_suggestion,
              disabled=running)
    c3.button("The study's 16 x 12", key="som_study", on_click=use_study, disabled=running,
              help="The taxpayer study: 16 x 12 = 192 cells, T = 500, σ0 = 4, η0 = 0.3.")
    shown = {k: v for k, v in defaults.items() if k not in HIDDEN}
    if shown.get("rows") is None:
        shown["rows"] = sug_rows
    if shown.get("cols") is None:
        shown["cols"] = sug_cols
    values = forms.param_inputs(shown, KEY, columns=4, choices=CHOICES, disabled=running)
    st.caption(widgets.md_escape(runs.planned_execution("som")))
    if st.button("Train the map", type="primary", key="som_train", icon=":material/play_arrow:",
                 disabled=running or busy):
        with widgets.guard():
            params = cfg.validate_params("som", values)
            runs.preflight("som", params, ds.X)  # a job above the memory limit never starts
            spec, token = state.data_spec(), state.data_token()

            def target(callback, stop):
                return runs.train("som", params, ds, spec, callback=callback, stop=stop,
                                  data_token=token)

            state.start_job("som", target, "Self-organizing map",
                            config=runs.job_config("som", params, spec))
            st.rerun()

configio.config_loader("som", KEY, disabled=running or busy)

with live_slot, widgets.guard():
    live.live_panel("som")


def results():
    res = state.result("som")
    if res is None:
        st.info("Train the map to see the U-matrix, hits, component planes and clusters.",
                icon=":material/info:")
        return
    som = res.estimator
    st.divider()
    st.subheader("Results")
    st.text(runs.som_status(res))
    st.caption(widgets.md_escape(runs.execution_text(res)))
    ids = runs.object_ids(ds)
    coords = runs.unit_coordinates(som)
    bmu = np.asarray(som.bmu_)
    umat = som.umatrix()
    hits = np.asarray(som.hit_counts_, dtype=float)
    units_cl = runs.unit_clusters(som)
    lattice = som.lattice
    tabs = st.tabs(["U-matrix", "Hit map", "Component planes", "Cluster map", "Map in data space",
                    "Training curves", "Metrics"])
    with tabs[0]:
        hover = runs.cell_hover(som, bmu, ids, values=umat, value_name="mean distance")
        st.plotly_chart(plots.lattice_map(coords, umat, lattice=lattice, hover=hover,
                                          colorscale="Greys", colorbar_title="distance",
                                          title="U-matrix: mean distance to neighbouring units "
                                                "(dark = cluster border)"), key="som_umatrix")
    with tabs[1]:
        hover = runs.cell_hover(som, bmu, ids)
        st.plotly_chart(plots.lattice_map(coords, np.where(hits > 0, hits, np.nan),
                                          lattice=lattice, hover=hover, colorscale="Blues",
                                          colorbar_title="objects",
                                          title="Hit map: objects per unit (grey = empty)"),
                        key="som_hits")
    with tabs[2]:
        planes = som.component_planes()
        st.plotly_chart(plots.component_planes(coords, planes, ds.feature_names, lattice=lattice,
                                               cols=min(3, ds.X.shape[1])), key="som_planes")
        st.caption(f"Weights per feature (after {getattr(ds, 'scaling', 'no')} scaling); "
                   "blue low, red high.")
    with tabs[3]:
        hover = runs.cell_hover(som, bmu, ids)
        st.plotly_chart(plots.lattice_map(coords, categories=units_cl, lattice=lattice,
                                          hover=hover, title="Clusters of cells"),
                        key="som_clusters")
    with tabs[4]:
        if ds.X.shape[1] == 2:
            st.plotly_chart(plots.som_grid_in_data(ds.X, som.codebook_, coords, labels=res.labels,
                                                   axis_names=ds.feature_names,
                                                   title="The map's units over the points"),
                            key="som_grid")
        else:
            P, axes = state.projection()
            st.plotly_chart(plots.scatter(P, res.labels, axis_names=axes,
                                          hover=[f"object {i}" for i in ids],
                                          title="Clusters (PCA projection)"), key="som_scatter")
    with tabs[5]:
        steps, curves = runs.som_curves(som)
        if len(steps) > 1:
            st.plotly_chart(plots.line_curves(curves, x=steps, x_title="step",
                                              secondary=["topographic_error"],
                                              title="Errors during training"),
                            key="som_curves")
        else:
            st.caption("Only the final errors were recorded (training ended at once).")
    with tabs[6]:
        widgets.metrics_table(res.metrics)
    st.markdown("**Downloads**")
    from ui import downloads

    widgets.downloads(downloads.result_downloads(res, ds), key="som_dl")


if not state.job_running() or state.job().method != "som":
    with widgets.guard():
        results()
