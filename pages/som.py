"""Self-organizing map: lattice and training settings, live errors, lattice maps.

The page template (:mod:`ui.method_page`) draws the Train button, the saved-run loader and the
live panel; this page draws its lattice suggestion and its results.
"""
import numpy as np
import streamlit as st

from clustering import plots
from clustering.i18n import N_, _
from ui import forms, map_views, method_page, runs, state, widgets

EMPTY = N_("Train the map to see the U-matrix, hits, component planes and clusters.")
KEY = "som"
CAPTION = N_("Kohonen's map: a lattice of units whose weight vectors follow the data (winner, "
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
    rule = _("the rule of thumb 5√N suggests about {units} units for N = {n}: {rows} x {cols}.")
    c1.markdown("**" + _("Lattice") + "** · " + rule.format(
        units=runs.suggested_units(n_obj), n=n_obj, rows=sug_rows, cols=sug_cols))
    c2.button(_("Use {rows} x {cols}").format(rows=sug_rows, cols=sug_cols), key="som_suggest",
              on_click=forms.set_values,
              args=({"rows": sug_rows, "cols": sug_cols}, KEY), disabled=page.running)
    c3.button(_("The study's 12 x 16"), key="som_study", on_click=use_study,
              disabled=page.running,
              help=_("The taxpayer study: 12 rows x 16 columns = 192 cells (16 along the "
                     "abscissa), T = 500 epochs, σ0 = 4, η0 = 0.3."))
    shown = page.shown()
    if shown.get("rows") is None:
        shown["rows"] = sug_rows
    if shown.get("cols") is None:
        shown["cols"] = sug_cols
    values = page.inputs(shown, columns=4)
    st.caption(widgets.md_escape(runs.planned_execution("som")))
    return values


#: What a click on a lattice map lists, and the caption that says so.
SCOPES = {N_("the cell's objects"): "cell", N_("every object of the cell's cluster"): "cluster"}
PICK_HELP = N_("Click a cell (shift-click for more) to list its objects below the map.")


def _lattice_chart(fig, key: str, view) -> None:
    """A lattice map whose cells can be clicked; the picked cells' objects listed under it."""
    event = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode=("points",))
    points = list(getattr(getattr(event, "selection", None), "points", None) or [])
    if not points:
        st.caption(_(PICK_HELP))
        return
    scope = st.radio(_("List"), list(SCOPES), key=f"{key}_scope", horizontal=True,
                     format_func=_)
    table = map_views.selection_rows(points, view["som"], view["ids"], view["features"],
                                     view["labels"], view["proba"], view["names"],
                                     scope=SCOPES[scope])
    st.caption(_("{n} object(s)").format(n=len(table)))
    widgets.table(table, hide_index=True, key=f"{key}_objects")


def _planes(ds, som):
    """The codebook feature by feature in the original units when the scaling can be undone."""
    if getattr(ds, "scaler", None) is not None:
        try:
            return ds.scaler.inverse_transform(som.codebook_).T, _("original units")
        except ValueError:
            pass
    scaled = getattr(ds, "scaling", "none")
    return som.component_planes(), (None if scaled == "none" else
                                    _("{scaling} scaled").format(scaling=scaled))


def _curves(som) -> None:
    """The errors and the schedule over the run, each as stacked panels, and what they mean."""
    steps, curves = runs.som_curves(som)
    word = _("epoch") if som.mode == "epoch" else _("step")
    if len(steps) > 1:
        st.plotly_chart(plots.stacked_curves(
            curves, x=steps, x_title=word, title=_("Errors during training"),
            y_titles={"quantization_error": _("quantization error"),
                      "topographic_error": _("topographic error")}), key="som_curves")
    else:
        st.caption(_("Only the final errors were recorded (training ended at once)."))
    sched = map_views.som_schedule(som)
    planned = ({"sigma": (sched["planned_steps"], sched["planned_sigma"]),
                "eta": (sched["planned_steps"], sched["planned_eta"])}
               if len(sched["planned_steps"]) else None)
    marks = [(int(som.n_steps_done_), _("training ended"))] if planned else []
    st.plotly_chart(plots.stacked_curves(
        {"sigma": sched["sigma"], "eta": sched["eta"]}, x=sched["steps"], x_title=word,
        title=(_("Schedule: neighbourhood width σ and learning rate η (dotted: planned, not run)")
               if planned else _("Schedule: neighbourhood width σ and learning rate η")),
        planned=planned, marks=marks, y_titles={"sigma": _("σ (cells)"), "eta": "η"}),
        key="som_schedule")
    st.caption(widgets.md_escape(map_views.schedule_note(som)))


def _in_data(ds, som, res, coords, view) -> None:
    hover = plots.object_hover(view["ids"], view["features"], res.proba, view["names"])
    if ds.X.shape[1] == 2:
        st.plotly_chart(plots.som_grid_in_data(ds.X, som.codebook_, coords, labels=res.labels,
                                               axis_names=ds.feature_names, hover=hover,
                                               label_names=view["names"],
                                               title=_("The map's units over the points")),
                        key="som_grid")
        P, axes = ds.X, ds.feature_names
    else:
        P, axes = state.projection()
        st.plotly_chart(plots.scatter(P, res.labels, axis_names=axes, hover=hover,
                                      label_names=view["names"],
                                      title=_("Clusters (PCA projection)")), key="som_scatter")
    if ds.labels is not None:
        st.plotly_chart(plots.scatter(P, ds.labels, axis_names=axes, hover=hover,
                                      label_names=plots.class_names_map(ds.labels,
                                                                        ds.label_names),
                                      title=_("Known classes (the label column)")),
                        key="som_classes")


def results(res):
    """The U-matrix, hit map, component planes, cluster map, the map in data space, errors and
    schedule; clicking a cell of a lattice map lists its objects."""
    ds = state.dataset()
    som = res.estimator
    st.text(runs.som_status(res))
    st.caption(widgets.md_escape(runs.execution_text(res)))
    ids = runs.object_ids(ds)
    view = {"som": som, "ids": ids, "features": ds.raw, "labels": res.labels,
            "proba": res.proba,
            "names": plots.cluster_names(res.labels, ds.labels, ds.label_names)}
    coords = runs.unit_coordinates(som)
    bmu = np.asarray(som.bmu_)
    umat = som.umatrix()
    lattice = som.lattice
    tabs = st.tabs([_("U-matrix"), _("Hit map"), _("Component planes"), _("Cluster map"),
                    _("Map in data space"), _("Training curves")])
    with tabs[0]:
        hover = runs.cell_hover(som, bmu, ids, values=umat, value_name=_("mean distance"))
        _lattice_chart(plots.lattice_map(coords, umat, lattice=lattice, hover=hover,
                                         colorscale="Greys", colorbar_title=_("distance"),
                                         title=_("U-matrix: mean distance to neighbouring units "
                                                 "(dark = cluster border)")), "som_umatrix", view)
    with tabs[1]:
        _lattice_chart(plots.hit_map(coords, som.hit_counts_, lattice=lattice,
                                     hover=runs.cell_hover(som, bmu, ids),
                                     title=_("Hit map: objects per unit (grey = empty)")),
                       "som_hits", view)
    with tabs[2]:
        planes, units = _planes(ds, som)
        st.plotly_chart(plots.component_planes(coords, planes, ds.feature_names, lattice=lattice,
                                               cols=min(3, ds.X.shape[1]), units=units),
                        key="som_planes")
        st.caption(_("Weights per feature ({units}); blue low, red high; each plane has its own "
                     "scale.").format(units=units or _("as the features were given")))
    with tabs[3]:
        _lattice_chart(plots.lattice_map(coords, categories=runs.unit_clusters(som),
                                         lattice=lattice, hover=runs.cell_hover(som, bmu, ids),
                                         category_names=view["names"],
                                         title=_("Clusters of cells")), "som_clusters", view)
    with tabs[4]:
        _in_data(ds, som, res, coords, view)
    with tabs[5]:
        _curves(som)


page = method_page.render("som", _(CAPTION), settings=settings, train_label=_("Train the map"))
page.results(results, _(EMPTY))
