"""Curves over training: lines on one axis, stacked panels sharing the step axis (one titled y
axis each, for series on different scales such as the SOM's quantization and topographic errors,
or its sigma and eta), the loss and the proximity kernel. Plain functions, no Streamlit."""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from clustering.i18n import N_, _
from clustering.plots_base import finish_layout, plain

#: The default title of :func:`loss_curve` (translated when the figure is built).
LOSS_TITLE = N_("Loss per epoch")


def _x_of(values: np.ndarray, x: Optional[Sequence[float]]) -> np.ndarray:
    return np.arange(1, len(values) + 1) if x is None else np.asarray(x)[: len(values)]


def line_curves(series: Mapping[str, Sequence[float]], *, x: Optional[Sequence[float]] = None,
                x_title: Optional[str] = None, y_title: str = "", title: Optional[str] = None,
                height: int = 280, log_y: bool = False, secondary: Sequence[str] = ()) -> go.Figure:
    """One line per named series (e.g. loss per epoch) on one y axis; ``secondary`` names go on
    a right-hand axis (prefer :func:`stacked_curves` for series on other scales). ``x_title``
    defaults to "step"."""
    x_title = _("step") if x_title is None else x_title
    secondary = set(secondary)
    fig = make_subplots(specs=[[{"secondary_y": bool(secondary)}]])
    for i, (name, values) in enumerate(series.items()):
        values = np.asarray(values, float)
        fig.add_trace(go.Scatter(x=_x_of(values, x), y=values, mode="lines", name=plain(name),
                                 line=dict(width=2, color=qualitative.D3[i % 10])),
                      secondary_y=name in secondary if secondary else None)
    finish_layout(fig, title, height, legend="bottom" if secondary else "right")
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else None, secondary_y=False)
    if secondary:
        fig.update_yaxes(title_text=plain(", ".join(sorted(secondary))), secondary_y=True)
    return fig


def stacked_curves(series: Mapping[str, Sequence[float]], *, x: Optional[Sequence[float]] = None,
                   x_title: Optional[str] = None, y_titles: Optional[Mapping[str, str]] = None,
                   title: Optional[str] = None, panel_height: int = 150,
                   planned: Optional[Mapping[str, tuple]] = None,
                   marks: Sequence[tuple] = ()) -> go.Figure:
    """One panel per series, stacked, sharing the x axis; each panel's y axis titled
    ``y_titles[name]`` (default: the name). No legend: the axis titles name the curves.

    ``planned``: name -> ``(x, y)`` drawn dotted after the curve (the part of a schedule not
    run); ``marks``: ``(x, text)`` vertical dashed lines across every panel, the text on the
    top one.
    """
    x_title = _("step") if x_title is None else x_title
    names = list(series)
    if not names:
        raise ValueError("series is empty")
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for i, name in enumerate(names):
        values = np.asarray(series[name], float)
        colour = qualitative.D3[i % 10]
        fig.add_trace(go.Scatter(x=_x_of(values, x), y=values, mode="lines", name=plain(name),
                                 line=dict(width=2, color=colour), showlegend=False),
                      row=i + 1, col=1)
        if planned and name in planned:
            px, py = planned[name]
            fig.add_trace(go.Scatter(x=np.asarray(px), y=np.asarray(py, float), mode="lines",
                                     name=plain(_("{name} (planned, not run)").format(name=name)),
                                     showlegend=False,
                                     line=dict(width=1.5, color=colour, dash="dot")),
                          row=i + 1, col=1)
        fig.update_yaxes(title_text=plain((y_titles or {}).get(name, name)), row=i + 1, col=1)
    for xv, text in marks:  # the line through every panel, its text once, on the top one
        for i in range(len(names)):
            fig.add_vline(x=xv, line_dash="dash", line_color="rgb(120,120,120)", row=i + 1, col=1,
                          **(dict(annotation_text=plain(text), annotation_position="top right")
                             if i == 0 else {}))
    finish_layout(fig, title, panel_height * len(names) + 60 + (28 if title else 0))
    fig.update_xaxes(title_text=x_title, row=len(names), col=1)
    return fig


def loss_curve(loss: Sequence[float], *, title: Optional[str] = LOSS_TITLE,
               height: int = 280) -> go.Figure:
    """The training loss against the epoch (titled "Loss per epoch" unless ``title`` is given;
    None: no title)."""
    title = _(LOSS_TITLE) if title == LOSS_TITLE else title
    return line_curves({_("loss"): loss}, x_title=_("epoch"), y_title=_("loss"), title=title,
                       height=height)


def kernel_plot(d2: np.ndarray, values: np.ndarray, *, name: Optional[str] = None,
                title: Optional[str] = None, height: int = 230) -> go.Figure:
    """A proximity kernel M as a function of the squared distance d2 (``name``: the kernel's
    method name, "threshold" drawn as a step; default "kernel")."""
    fig = go.Figure(go.Scatter(x=np.asarray(d2, float), y=np.asarray(values, float), mode="lines",
                               name=plain(_("kernel") if name is None else name),
                               line=dict(width=2.5, color="rgb(40,70,230)"),
                               line_shape="hv" if name == "threshold" else "linear"))
    finish_layout(fig, title, height)
    fig.update_xaxes(title_text=_("squared distance d²"))
    fig.update_yaxes(title_text=_("proximity M"))
    return fig


#: Marker symbols of the series of :func:`choice_curve`, in turn.
SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def choice_curve(table: pd.DataFrame, x: str, left: Mapping[str, str], *,
                 right: Optional[Mapping[str, str]] = None, chosen: Optional[int] = None,
                 chosen_text: Optional[str] = None, x_title: Optional[str] = None,
                 y_title: str = "", right_title: str = "", hline: Optional[float] = None,
                 hline_text: str = "", title: Optional[str] = None,
                 height: int = 340) -> go.Figure:
    """A curve over a number of clusters: ``table``'s column ``x`` on the x axis, the columns of
    ``left`` (column -> legend name) on the left axis and those of ``right`` on a right one;
    ``chosen`` draws a dashed vertical line with ``chosen_text`` (default "suggested"),
    ``hline`` a dotted level; ``x_title`` defaults to "number of clusters K"."""
    chosen_text = _("suggested") if chosen_text is None else chosen_text
    x_title = _("number of clusters K") if x_title is None else x_title
    t = table.sort_values(x)
    xs = t[x].astype(int).tolist()
    fig = make_subplots(specs=[[{"secondary_y": bool(right)}]])
    series = [(c, n, False) for c, n in left.items()] + [(c, n, True)
                                                         for c, n in (right or {}).items()]
    for i, (column, name, on_right) in enumerate(series):
        fig.add_trace(go.Scatter(x=xs, y=t[column], mode="lines+markers", name=name,
                                 line=dict(dash="dot") if on_right else None,
                                 marker=dict(size=8, symbol=SYMBOLS[i % len(SYMBOLS)])),
                      secondary_y=on_right)
    if chosen is not None:
        fig.add_vline(x=int(chosen), line_dash="dash", line_color="rgb(60,60,60)",
                      annotation_text=f"{chosen_text} {int(chosen)}")
    if hline is not None:
        fig.add_hline(y=float(hline), line_dash="dot", line_color="rgb(200,60,60)",
                      annotation_text=hline_text, annotation_position="bottom right")
    finish_layout(fig, title, height, legend="bottom")  # the app's title, legend, margins
    fig.update_xaxes(title_text=x_title, tickmode="array", tickvals=xs)
    fig.update_yaxes(title_text=y_title, secondary_y=False)
    if right:
        fig.update_yaxes(title_text=right_title, secondary_y=True, showgrid=False)
    return fig


__all__ = ["line_curves", "stacked_curves", "loss_curve", "kernel_plot", "choice_curve"]
