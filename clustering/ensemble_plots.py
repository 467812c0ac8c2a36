"""Plotly figures of the quasi-Bayesian ensemble's results: plain functions, no Streamlit.

- :func:`selection_curve`: the choice of M ("число кластеров ... неизвестны"): the share of
  reliable objects, the silhouette and the filtered Θ (34) over the candidate M, the chosen M
  marked (:mod:`clustering.ensemble_selection`);
- :func:`filter_plot`: step 2's filter, each network's mean Θ coloured by what the filter did,
  the level of Θ drawn as a line (:mod:`clustering.cochran`);
- :func:`profile_chart`: the cluster profile of section 4 on the clustering features
  standardised, clusters in the order of their rank by the score, each named with its
  recommendation;
- :func:`criteria_bars`: the article's section 5, MacQueen's k-means (25) against the filtered
  ensemble's (34).

Text reaches Plotly through :func:`clustering.plots_base.plain` (HTML-escaped), the layout is
:func:`clustering.plots_base.finish_layout`; cluster colours are
:func:`clustering.plots_base.cluster_color`.
"""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from clustering.i18n import _
from clustering.plots_base import cluster_color, finish_layout, plain

KEPT, REMOVED = "rgb(140,170,220)", "rgb(225,185,185)"


def selection_curve(table: pd.DataFrame, chosen: Optional[int] = None, *,
                    min_reliable: Optional[float] = None, title: Optional[str] = None,
                    height: int = 360) -> go.Figure:
    """The curve over M of :func:`clustering.ensemble_selection.curve`'s ``table``.

    Three traces, x = ``M``: ``reliable share`` and ``silhouette`` on the left axis, ``Θ (34)``
    (``theta_mean``) on the right one (it falls as M grows, so it is read, never maximised);
    ``chosen`` draws a dashed vertical line at that M, ``min_reliable`` a dotted horizontal one at
    the share the suggestion requires.
    """
    from clustering.plots_curves import choice_curve

    share = None if min_reliable is None else float(min_reliable)
    return choice_curve(table, "M", {"reliable_share": _("reliable share"),
                                     "silhouette": _("silhouette")},
                        right={"theta_mean": "Θ (34)"}, chosen=chosen, chosen_text=_("chosen M ="),
                        x_title=_("number of clusters M"),
                        y_title=_("reliable share, silhouette"),
                        right_title="Θ (34)", hline=share,
                        hline_text="" if share is None else _("reliable share {share}").format(
                            share=f"{share:.0%}"),
                        title=title, height=height)


def filter_plot(variances: pd.DataFrame, threshold: Optional[float] = None, *,
                title: Optional[str] = None, height: int = 320) -> go.Figure:
    """Each network's mean Θ (``variances``: table 5 with ``network``, ``theta_mean``, ``kept``),
    one bar trace for the kept networks and one for the removed, and the level filter's
    ``threshold`` as a dashed line (None: the level was not applied)."""
    names = [plain(q) for q in variances["network"]]
    kept = variances["kept"].astype(bool).to_numpy()
    fig = go.Figure()
    for label, mask, colour in ((_("kept"), kept, KEPT), (_("removed"), ~kept, REMOVED)):
        fig.add_trace(go.Bar(x=[n for n, m in zip(names, mask) if m],
                             y=variances["theta_mean"].to_numpy()[mask], name=label,
                             marker_color=colour))
    if threshold is not None and np.isfinite(threshold):
        fig.add_hline(y=float(threshold), line_dash="dash", line_color="rgb(200,60,60)",
                      annotation_text=_("level {value}").format(
                          value=f"{float(threshold):.4g}"))
    finish_layout(fig, title, height)
    fig.update_xaxes(title_text=_("network"), type="category", categoryorder="array",
                     categoryarray=names)
    fig.update_yaxes(title_text=_("mean Θ of its replicates"))
    return fig


def profile_chart(means: pd.DataFrame, names: Optional[Mapping[int, str]] = None, *,
                  score: Optional[str] = None, title: Optional[str] = None,
                  height: int = 380) -> go.Figure:
    """Standardised cluster means: ``means`` has a row per cluster (index: cluster number, in the
    order to draw, e.g. by rank) and a column per feature (z-scores). One bar trace per cluster,
    named ``names[cluster]`` (e.g. "cluster 1 · rank 1 · lenient measures"), x = the features;
    ``score`` (a column) is drawn last and its tick marked "(score)"."""
    columns = [c for c in means.columns if c != score] + ([score] if score in means else [])
    ticks = [plain(_("{name} (score)").format(name=c)) if c == score else plain(c)
             for c in columns]
    K = int(max(means.index, default=-1)) + 1
    fig = go.Figure()
    for m in means.index:
        label = (names or {}).get(int(m), _("cluster {k}").format(k=int(m)))
        fig.add_trace(go.Bar(x=ticks, y=means.loc[m, columns].to_numpy(dtype=float),
                             name=plain(label), marker_color=cluster_color(int(m), K)))
    fig.add_hline(y=0.0, line_color="rgb(120,120,120)", line_width=1)
    finish_layout(fig, title, height, legend="bottom")  # long names: a row under the bars
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=_("feature"), type="category")
    fig.update_yaxes(title_text=_("cluster mean, standard deviations from the overall mean"))
    return fig


def criteria_bars(comparison: Mapping, *, title: Optional[str] = None,
                  height: int = 300) -> go.Figure:
    """One bar trace, MacQueen's k-means Θ (``theta_kmeans``) and the ensemble's (34)
    (``theta_ensemble``) of :meth:`~clustering.ensemble.QuasiBayesianEnsemble.compare_kmeans`;
    the more compact one (``more_compact``) in green."""
    x = [_("MacQueen's k-means (25)"), _("ensemble (34)")]
    y = [float(comparison["theta_kmeans"]), float(comparison["theta_ensemble"])]
    best = 0 if comparison.get("more_compact") == "k-means" else 1
    colours = ["rgb(60,160,90)" if i == best else "rgb(170,170,170)" for i in range(2)]
    fig = go.Figure(go.Bar(x=x, y=y, marker_color=colours, text=[f"{v:.4g}" for v in y],
                           textposition="outside", name="Θ"))
    finish_layout(fig, title, height)
    fig.update_yaxes(title_text=_("criterion Θ (smaller: more compact)"))
    return fig


__all__ = ["selection_curve", "filter_plot", "profile_chart", "criteria_bars"]
