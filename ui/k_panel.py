""""Suggest K": the curve over the number of clusters, its suggestion and a "use K" button.

:func:`k_figure` is the curve of :func:`clustering.k_selection.k_curve` drawn by
:func:`clustering.plots_curves.choice_curve` (which draws the ensemble's curve over M too); :func:`suggest_panel` draws the expander of a method page.
The curve is computed on a worker of the server's Dask cluster, never in the web process.
"""
from __future__ import annotations

from typing import Optional

import pandas as pd
import plotly.graph_objects as go

from clustering.i18n import _, fmt


def k_figure(table: pd.DataFrame, suggested: Optional[int]) -> go.Figure:
    """The curve of :func:`clustering.k_selection.k_curve`: silhouette and stability over K,
    the suggested K marked, the stability a suggestion needs as a level."""
    from clustering.k_selection import MIN_STABILITY

    from clustering.plots_curves import choice_curve

    return choice_curve(table, "K", {"silhouette": _("silhouette (higher = better separated)"),
                                     "stability": _("stability over restarts (mean ARI)")},
                        chosen=suggested, chosen_text=_("suggested K ="),
                        y_title=_("silhouette, stability"), hline=MIN_STABILITY,
                        hline_text=_("stability {level}").format(level=fmt(MIN_STABILITY, "g")))


def _use_k(key: str, value: int) -> None:
    """on_click: put ``value`` into the K input ``key``."""
    import streamlit as st

    st.session_state[key] = value


def suggest_panel(form_key: str, dataset, data_token, *, target: Optional[str] = None,
                  disabled: bool = False) -> None:
    """The "Suggest K" expander of a page: a button that computes the curve on a worker (kept
    per data set), the curve, how the suggestion was made and a "use K" button writing the K
    input ``target`` (default ``{form_key}_n_clusters``)."""
    import streamlit as st

    from clustering import k_selection
    from ui import widgets
    from ui.datasource import on_worker

    cache = f"{form_key}_k_curve"
    lo, hi = min(k_selection.K_RANGE), max(k_selection.K_RANGE)
    with st.expander(_("Suggest K: silhouette and stability for K = {lo}..{hi}").format(
            lo=lo, hi=hi)):
        st.caption(_("k-means is fitted {n} times per K from different starts. The silhouette "
                     "says how well separated the clusters are; the stability (mean agreement, "
                     "ARI, between the restarts) says whether the same clusters come back every "
                     "time.").format(n=k_selection.N_RESTARTS))
        if st.button(_("Draw the curve"), key=f"{form_key}_k_draw", disabled=disabled,
                     icon=":material/query_stats:"):
            with widgets.guard(), st.spinner(_("Scoring K = {lo}..{hi} on a worker…").format(
                    lo=lo, hi=hi)):
                table = on_worker(True, k_selection.k_curve, dataset.X)
                st.session_state[cache] = (data_token, table, k_selection.suggest_k(table))
        cached = st.session_state.get(cache)
        if cached is None or cached[0] != data_token:
            return
        _token, table, suggested = cached
        st.plotly_chart(k_figure(table, suggested), key=f"{form_key}_k_chart")
        st.caption(k_selection.suggestion_note(table, suggested))  # our words and numbers
        if suggested is not None:
            st.button(_("Use K = {k}").format(k=suggested), key=f"{form_key}_k_use",
                      on_click=_use_k,
                      args=(target or f"{form_key}_n_clusters", suggested), disabled=disabled)
