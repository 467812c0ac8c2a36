"""Self-organizing map: lattice and training settings, live errors, lattice maps.

The page template (:mod:`ui.method_page`) draws the Train button, the saved-run loader and the
live panel; this page draws its lattice suggestion and its results.
"""
import numpy as np
import streamlit as st

from clustering import plots
from ui import forms, method_page, runs, state, widgets

EMPTY = "Train the map to see the U-matrix, hits, component planes and clusters."
KEY = "som"
CAPTION = ("Kohonen's map: a lattice of units whose weight vectors follow the data (winner, "
           "Gaussian neighbourhood on the lattice, σ(t) = σ0·exp(-t/τ1), η(t) = η0·exp(-t/τ2)); "
           "then the cells are grouped into clusters.")


def use_study():
    """The taxpayer study's map: "по оси абсцисс выбиралось 16, а по оси ординат 12 ячеек" (16
    cells along the abscissa: 16 columns; 12 along the ordinate: 12 rows), T = 500 epochs."""
    forms.set_values({"rows": 12, "cols": 16, "mode": "epoch", "n_steps": 500, "sigma0": 4.0,
                      "eta0": 0.3}, KEY)


def settings(page) -> dict:
    """The lattice the map would fit by itself (:func:`clustering.som.suggest_lattice`, the
    same rule as ``SOM(rows=None)``), the study's lattice, and every other setting."""
    from clustering.som import suggest_lattice

    n_obj = page.ds.X.shape[0]
    lattice = st.session_state.get(f"{KEY}_lattice", page.defaults["lattice"])
    sug_rows, sug_cols = suggest_lattice(page.ds.X, lattice)
    c1, c2, c3 = st.columns([2, 1, 1])
    c1.markdown(f"**Lattice** · the rule of thumb 5√N suggests about "
                f"{runs.suggested_units(n_obj)} units for N = {n_obj}: {sug_rows} x {sug_cols}.")
    c2.button(f"Use {sug_rows} x {sug_cols}", key="som_suggest", on_click=forms.set_values,
              args=({"rows": sug_rows, "cols": sug_cols}, KEY), disabled=page.running)
    c3.button("The study's 12 x 16", key="som_study", on_click=use_study, disabled=page.running,
              help="The taxpayer study: 12 rows x 16 columns = 192 cells (16 along the "
                   "abscissa), T = 500 epochs, σ0 = 4, η0 = 0.3.")
    shown = page.shown()
    if shown.get("rows") is None:
        shown["rows"] = sug_rows
    if shown.get("cols") is None:
        shown["cols"] = sug_cols
    values = page.inputs(shown, columns=4)
    st.caption(widgets.md_escape(runs.planned_execution("som")))
    return values


def results(res):
    """The U-matrix, hit map, component planes, cluster map, the map in data space, errors."""
    ds = state.dataset()
    som = res.estimator
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


page = method_page.render("som", CAPTION, settings=settings, train_label="Train the map")
page.results(results, EMPTY)
