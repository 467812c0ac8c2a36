"""The sorted k-distance curve (:func:`clustering.neighbours.k_distance_curve`) as a figure."""
from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go

from clustering.i18n import _
from clustering.plots_base import finish_layout

__all__ = ["k_distance_plot"]


def k_distance_plot(distances, eps: Optional[float] = None, suggested: Optional[float] = None,
                    k: Optional[int] = None, title: Optional[str] = None,
                    height: int = 300) -> go.Figure:
    """The sorted k-distances against the objects' rank, with horizontal lines at the current
    ``eps`` and at the ``suggested`` one (each drawn only when given).

    Traces, in order: ``"k-distance"`` (the curve), then those named ``"current eps = ..."``
    and ``"suggested eps = ..."``. The y axis names ``k`` when it is given.
    """
    d = np.sort(np.asarray(distances, dtype=float))
    x = np.arange(1, d.size + 1)
    fig = go.Figure(go.Scatter(x=x, y=d, mode="lines", name=_("k-distance"),
                               line=dict(width=2, color="#1f77b4")))
    ends = [1, max(int(d.size), 1)]
    for name, value, style in ((_("current eps = {value}"), eps,
                                dict(color="#7f7f7f", dash="dot")),
                               (_("suggested eps = {value}"), suggested,
                                dict(color="#d62728", dash="dash"))):
        if value is not None:
            fig.add_trace(go.Scatter(x=ends, y=[value, value], mode="lines",
                                     name=name.format(value=f"{value:.3g}"),
                                     line=dict(width=1.5, **style)))
        finish_layout(fig, title, height)
    fig.update_xaxes(title_text=_("objects sorted by distance"))
    fig.update_yaxes(title_text=_("distance to the {k}-th nearest neighbour").format(
        k=k if k is not None else "k"))
    return fig
