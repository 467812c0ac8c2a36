"""SOM lattices drawn as real hexagons (or squares): the value and cluster maps, the hit map with
its counts, the component planes with a colour scale each. Plain functions, no Streamlit.

Every cell has an invisible marker at its centre carrying the hover text and, as
``customdata``, the cell's unit index: a click on a cell (Streamlit's ``on_select``) names the
unit (:func:`selected_units`).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from clustering.i18n import _
from clustering.plots_base import cluster_color, finish_layout, plain


#: A picked cell gets a dark dot at its centre; the other cells keep their look (Plotly would
#: fade every unpicked cell and its text).
_PICKED = dict(selected=dict(marker=dict(opacity=0.55, color="black")),
               unselected=dict(marker=dict(opacity=0)))
_KEEP = dict(selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)))


def cell_polygon(cx: float, cy: float, lattice: str) -> np.ndarray:
    """Vertices (closed) of one lattice cell centred at (cx, cy); neighbours are 1 apart.

    Hexagonal lattices have offset rows, so their cells are pointy-topped hexagons of
    circumradius 1/sqrt(3); rectangular cells are unit squares.
    """
    if lattice.startswith("hex"):
        r = 1 / np.sqrt(3)
        angles = np.deg2rad(np.arange(30, 391, 60))
        return np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)])
    h = 0.5
    return np.array([[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h],
                     [cx - h, cy - h]])


def _polygon_path(coords: np.ndarray, idx: Sequence[int], lattice: str):
    xs: list = []
    ys: list = []
    for i in idx:
        poly = cell_polygon(coords[i, 0], coords[i, 1], lattice)
        xs.extend(poly[:, 0].tolist() + [None])
        ys.extend(poly[:, 1].tolist() + [None])
    return xs, ys


def _add_categories(fig, coords, lattice, categories, n_categories, names, legend, where):
    categories = np.asarray(categories)
    k = n_categories or (int(categories.max()) + 1 if categories.size else 1)
    for lab in sorted(set(categories.tolist())):
        idx = np.flatnonzero(categories == lab)
        xs, ys = _polygon_path(coords, idx, lattice)
        name = (names or {}).get(int(lab)) or (_("empty") if lab < 0
                                                else _("cluster {k}").format(k=int(lab)))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself",
                                 fillcolor=cluster_color(int(lab), k),
                                 line=dict(color="white", width=1), hoverinfo="skip",
                                 name=plain(name), showlegend=legend, **_KEEP), **where)


def _add_levels(fig, coords, lattice, values, colorscale, n_bins, cmin, cmax, where):
    """Filled cells, one trace per colour level; returns (finite mask, low, span)."""
    values = np.asarray(values, float)
    finite = np.isfinite(values)
    lo = float(np.nanmin(values[finite])) if cmin is None and finite.any() else (cmin or 0.0)
    hi = float(np.nanmax(values[finite])) if cmax is None and finite.any() else (cmax or 1.0)
    span = hi - lo if hi > lo else 1.0
    levels = np.full(len(values), -1)
    levels[finite] = np.clip(((values[finite] - lo) / span * n_bins).astype(int), 0, n_bins - 1)
    palette = sample_colorscale(colorscale, [(b + 0.5) / n_bins for b in range(n_bins)])
    for b in sorted(set(levels.tolist())):
        xs, ys = _polygon_path(coords, np.flatnonzero(levels == b), lattice)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself",
                                 fillcolor="rgb(235,235,235)" if b < 0 else palette[b],
                                 line=dict(color="white", width=1), hoverinfo="skip",
                                 showlegend=False, **_KEEP), **where)
    return values, finite, lo, span


def _add_lattice(fig: go.Figure, coords: np.ndarray, lattice: str, *, values=None,
                 categories=None, n_categories=None, category_names=None, hover=None,
                 colorscale="Viridis", colorbar=None, n_bins: int = 24, row=None, col=None,
                 marker_size: int = 18, cmin=None, cmax=None, legend: bool = True,
                 cell_text=None):
    """Draw the cells as filled polygons, then the centre markers (hover, unit index, text).

    ``colorbar``: the colour bar's settings (a dict), None for none (value maps only).
    """
    coords = np.asarray(coords, float)
    where = dict(row=row, col=col) if row is not None else {}
    if categories is not None:
        _add_categories(fig, coords, lattice, categories, n_categories, category_names, legend,
                        where)
        marker = dict(size=marker_size, opacity=0)
    else:
        values, finite, lo, span = _add_levels(fig, coords, lattice, values, colorscale,
                                               n_bins, cmin, cmax, where)
        marker = dict(size=marker_size, opacity=0, color=np.where(finite, values, lo),
                      colorscale=colorscale, cmin=lo, cmax=lo + span,
                      showscale=colorbar is not None)
        if colorbar is not None:
            marker["colorbar"] = {"thickness": 10, **colorbar}
    text = [plain(h) for h in hover] if hover is not None else None
    trace = dict(x=coords[:, 0], y=coords[:, 1], mode="markers", marker=marker,
                 customdata=np.arange(len(coords)), showlegend=False, **_PICKED,
                 hoverinfo="text" if text else "skip", hoverlabel=dict(namelength=0))
    if cell_text is not None:  # the text drawn in the cells; the hover goes in hovertext
        trace.update(mode="markers+text", text=[plain(t) for t in cell_text], hovertext=text,
                     textposition="middle center", textfont=dict(size=11),
                     unselected=dict(marker=dict(opacity=0),
                                     textfont=dict(color="rgb(70,70,70)")))
    else:
        trace["text"] = text
    fig.add_trace(go.Scatter(**trace), **where)


def _lattice_axes(fig: go.Figure, coords: np.ndarray, **where):
    pad = 0.7
    fig.update_xaxes(visible=False, range=[coords[:, 0].min() - pad, coords[:, 0].max() + pad],
                     **where)
    # Row 0 at the top, as maps are usually printed.
    fig.update_yaxes(visible=False, range=[coords[:, 1].max() + pad, coords[:, 1].min() - pad],
                     **where)


def _n_rows(coords: np.ndarray) -> int:
    return len(np.unique(np.round(coords[:, 1], 6)))


def lattice_map(coords: np.ndarray, values: Optional[np.ndarray] = None, *, lattice: str = "hexagonal",
                categories: Optional[np.ndarray] = None, hover: Optional[Sequence[str]] = None,
                title: Optional[str] = None, colorscale: str = "Viridis",
                colorbar_title: Optional[str] = None, height: int = 440,
                category_names: Optional[Mapping[int, str]] = None,
                cell_text: Optional[Sequence[str]] = None) -> go.Figure:
    """A SOM lattice drawn as real hexagons (or squares), coloured by a value or a category.

    Parameters
    ----------
    coords : array (n_units, 2)
        Cell centres, neighbours one unit apart (the SOM's ``unit_coordinates()``).
    values : array (n_units,), optional
        A number per cell (U-matrix, hit count, a component plane); NaN cells are drawn grey.
    categories : array (n_units,) of int, optional
        A cluster per cell instead of ``values`` (-1 = no cluster).
    hover : sequence of str, optional
        Text shown when hovering a cell (e.g. the objects it holds).
    category_names : mapping, optional
        Legend name of each category (default "cluster k", "empty" for -1).
    cell_text : sequence of str, optional
        Text written in each cell (e.g. its hit count).
    """
    coords = np.asarray(coords, float)
    if (values is None) == (categories is None):
        raise ValueError("give exactly one of values and categories")
    marker_size = int(max(8, min(40, 0.75 * (height - 60) / max(_n_rows(coords), 1))))
    fig = go.Figure()
    _add_lattice(fig, coords, lattice, values=values, categories=categories,
                 category_names=category_names, hover=hover, colorscale=colorscale,
                 colorbar=dict(title=dict(text=plain(colorbar_title or ""))),
                 marker_size=marker_size, cell_text=cell_text)
    finish_layout(fig, title, height)
    _lattice_axes(fig, coords)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(hovermode="closest")
    return fig


def hit_map(coords: np.ndarray, hits: np.ndarray, *, lattice: str = "hexagonal",
            hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
            height: int = 440) -> go.Figure:
    """Objects per cell: coloured by the count (empty cells grey) with the count written in
    every cell."""
    hits = np.asarray(hits, float)
    fig = lattice_map(coords, np.where(hits > 0, hits, np.nan), lattice=lattice, hover=hover,
                      title=title, colorscale="Blues", colorbar_title=_("objects"), height=height,
                      cell_text=[str(int(h)) for h in hits])
    top = hits.max() if hits.size else 0.0
    fig.data[-1].textfont.color = ["white" if top > 0 and h > 0.6 * top else "rgb(40,40,40)"
                                   for h in hits]  # readable on the dark cells too
    return fig


def _colorbar_place(fig: go.Figure, index: int) -> dict:
    """A colour bar right of subplot ``index`` (0-based), as tall as it."""
    axis = "" if index == 0 else str(index + 1)
    xd, yd = fig.layout[f"xaxis{axis}"].domain, fig.layout[f"yaxis{axis}"].domain
    return dict(x=xd[1] + 0.005, xanchor="left", y=(yd[0] + yd[1]) / 2, yanchor="middle",
                len=(yd[1] - yd[0]), thickness=8, tickfont=dict(size=9))


def component_planes(coords: np.ndarray, planes: np.ndarray, feature_names: Sequence[str], *,
                     lattice: str = "hexagonal", cols: int = 3, subplot_height: int = 250,
                     colorscale: str = "RdBu_r", units: Optional[str] = None) -> go.Figure:
    """Small multiples: one lattice per feature coloured by that feature's codebook weights,
    each with its colour bar (titled with the feature's name and ``units``, e.g. "original
    units").

    ``planes`` has shape ``(n_features, n_units)`` (or ``(n_units, n_features)``, detected).
    """
    coords = np.asarray(coords, float)
    planes = np.asarray(planes, float)
    names = [str(f) for f in feature_names]
    if planes.shape[0] != len(names) and planes.shape[1] == len(names):
        planes = planes.T
    cols = max(1, min(cols, len(names)))
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[plain(f) for f in names],
                        horizontal_spacing=0.09, vertical_spacing=0.1 if rows > 1 else 0.05)
    size = int(max(5, min(24, 0.7 * (subplot_height - 40) / max(_n_rows(coords), 1))))
    for i, name in enumerate(names):
        hover = [f"{name} = {v:.4g}" for v in planes[i]]  # escaped by _add_lattice
        bar = dict(_colorbar_place(fig, i),
                   title=dict(text=plain(name if units is None else f"{name}, {units}"),
                              side="right", font=dict(size=10)))
        _add_lattice(fig, coords, lattice, values=planes[i], hover=hover, colorscale=colorscale,
                     row=i // cols + 1, col=i % cols + 1, colorbar=bar, n_bins=16,
                     marker_size=size)
        _lattice_axes(fig, coords, row=i // cols + 1, col=i % cols + 1)
    for i in range(len(names)):  # equal aspect in every subplot
        axis = "" if i == 0 else str(i + 1)
        fig.update_layout({f"yaxis{axis}": dict(scaleanchor=f"x{axis}", scaleratio=1)})
    finish_layout(fig, None, subplot_height * rows, subplot_titles=True)
    fig.update_layout(hovermode="closest")
    return fig


def selected_units(points: Sequence[Mapping]) -> list[int]:
    """The unit indices of the cells picked in a lattice figure (Streamlit's
    ``event.selection.points``: the centre markers carry the unit as ``customdata``), in the
    order picked, each once."""
    out: list[int] = []
    for point in points or []:
        unit = point.get("customdata")
        if isinstance(unit, (list, tuple)):
            unit = unit[0] if unit else None
        if unit is not None and int(unit) not in out:
            out.append(int(unit))
    return out


__all__ = ["cell_polygon", "lattice_map", "hit_map", "component_planes", "selected_units"]
