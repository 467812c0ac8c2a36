"""Plotly figure builders for the workbench: plain functions, no Streamlit.

The builders live by subject: :mod:`clustering.plots_base` (colours, plain text, the one layout
helper :func:`finish_layout`), :mod:`clustering.plots_names` (legend names and hover lines),
:mod:`clustering.plots_lattice` (SOM lattices), :mod:`clustering.plots_curves` (curves); this
module holds the scatters, the small multiples and the ensemble's figures, and re-exports
every public name, so ``clustering.plots.X`` works for all of them.

Every function takes arrays (or small frames) and returns a :class:`plotly.graph_objects.Figure`.
Scatter plots switch to WebGL (``Scattergl``) above :data:`WEBGL_THRESHOLD` points. Colours follow
one rule across the app: cluster ``k`` has the colour a point with ``p_k = 1`` gets in the soft
scatter, so hard and soft views read the same (pure red / green / blue for K <= 3, as in the
pictures of neural soft clustering with a proximity kernel, points coloured by RGB = (p_1, p_2,
p_3); a qualitative palette beyond, blended by the probabilities).

Text is plain text: names, ids, titles and hover lines are HTML-escaped before they reach Plotly
(which renders tags such as ``<b>`` or ``<a>`` in titles, ticks and hovers), so a column called
``<b>x</b>`` is shown as written; a newline in a hover text starts a new line.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from clustering.i18n import _
from clustering.plots_base import (MODEBAR_PX, NOISE_COLOUR, PALETTE, WEBGL_THRESHOLD,  # noqa: F401
                                   base_colors, category_names, cluster_color, css,
                                   finish_layout, hex_to_rgb, indexed_colors,
                                   normalized_entropy, plain, scatter_cls, soft_colors, soft_rgb,
                                   top_margin)
from clustering.plots_curves import (kernel_plot, line_curves, loss_curve,  # noqa: F401
                                     stacked_curves)
from clustering.plots_lattice import (cell_polygon, component_planes, hit_map,  # noqa: F401
                                      lattice_map, selected_units)
from clustering.plots_names import (class_name, class_names_map, cluster_name,  # noqa: F401
                                    cluster_names, object_hover)

#: The co-association heatmap draws at most this many objects (a stratified sample beyond).
HEATMAP_MAX_OBJECTS = 300


# ----------------------------------------------------------------------------------- helpers
def _axes_names(axis_names: Optional[Sequence[str]]) -> tuple[str, str]:
    if axis_names is None or len(axis_names) < 2:
        return "x1", "x2"
    return plain(axis_names[0]), plain(axis_names[1])


def _hover(hover: Optional[Sequence[str]], n: int) -> Optional[list[str]]:
    if hover is None:
        return None
    hover = [plain(h) for h in hover]
    if len(hover) != n:
        raise ValueError("hover must have one entry per point")
    return hover


def _finish(fig: go.Figure, title: Optional[str], height: int, axis_names=None, equal=False):
    finish_layout(fig, title, height)
    if axis_names is not None:
        xn, yn = _axes_names(axis_names)
        fig.update_xaxes(title_text=xn)
        fig.update_yaxes(title_text=yn)
    if equal:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def project_2d(X: np.ndarray, feature_names: Optional[Sequence[str]] = None,
               random_state: int = 0) -> tuple[np.ndarray, list[str]]:
    """Two coordinates to draw: the features themselves for 1-2 features, a PCA projection above.

    Returns the ``(N, 2)`` coordinates and the two axis names.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError("X must be a non-empty 2-D array")
    names = list(feature_names) if feature_names is not None else [f"x{i + 1}" for i in range(X.shape[1])]
    if X.shape[1] == 1:
        return np.column_stack([X[:, 0], np.zeros(len(X))]), [names[0], ""]
    if X.shape[1] == 2:
        return X.copy(), [str(names[0]), str(names[1])]
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=random_state)
    P = pca.fit_transform(np.nan_to_num(X))
    share = pca.explained_variance_ratio_
    return P, [_("PC1 ({share} of variance)").format(share=f"{share[0]:.0%}"),
               _("PC2 ({share} of variance)").format(share=f"{share[1]:.0%}")]


# ----------------------------------------------------------------------------------- scatters
def scatter(X2: np.ndarray, labels: Optional[np.ndarray] = None, *, axis_names=None,
            hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
            label_names: Optional[Mapping] = None, height: int = 420,
            marker_size: Optional[int] = None) -> go.Figure:
    """Points in the plane, one trace per label (or one grey trace when unlabelled)."""
    X2 = np.asarray(X2, dtype=float)
    n = len(X2)
    cls = scatter_cls(n)
    size = marker_size or (6 if n <= 2000 else 4)
    text = _hover(hover, n)
    fig = go.Figure()
    if labels is None:
        fig.add_trace(cls(x=X2[:, 0], y=X2[:, 1], mode="markers", name=_("objects"),
                          marker=dict(size=size, color="rgb(60,90,160)", opacity=0.8),
                          text=text, hoverinfo="text" if text else "x+y"))
    else:
        labels = np.asarray(labels)
        uniq = list(pd.unique(labels))
        numeric = all(isinstance(u, (int, np.integer)) for u in uniq)
        uniq = sorted(uniq) if numeric else sorted(uniq, key=str)
        n_colours = int(max([u for u in uniq if numeric and u >= 0], default=-1)) + 1 if numeric else len(uniq)
        base = None if numeric else base_colors(max(len(uniq), 1))
        groups = pd.Series(np.arange(n)).groupby(labels, sort=False).indices
        empty = np.zeros(0, dtype=np.int64)
        for i, lab in enumerate(uniq):
            mask = groups.get(lab, empty)
            if numeric:
                colour = cluster_color(int(lab), n_colours)
                name = cluster_name(int(lab))
            else:
                colour = css(base[i])
                name = plain(lab)
            if label_names is not None and lab in label_names:
                name = plain(label_names[lab])
            fig.add_trace(cls(x=X2[mask, 0], y=X2[mask, 1], mode="markers", name=name,
                              marker=dict(size=size, color=colour, opacity=0.85,
                                          line=dict(width=0.3, color="white")),
                              text=[text[j] for j in mask] if text else None,
                              hoverinfo="text+name" if text else "x+y+name"))
    return _finish(fig, title, height, axis_names)


def soft_scatter(X2: np.ndarray, proba: np.ndarray, *, axis_names=None,
                 hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
                 height: int = 420, label_names: Optional[Mapping] = None) -> go.Figure:
    """Points coloured by their membership probabilities mixed (:func:`soft_rgb`); the legend
    swatches and the hover's probabilities name cluster k ``label_names[k]`` (default
    "cluster k", see :func:`cluster_names`)."""
    X2 = np.asarray(X2, dtype=float)
    proba = np.asarray(proba, dtype=float)
    n = len(X2)
    if proba.shape[0] != n:
        raise ValueError("proba must have one row per point")
    text = _hover(hover, n)
    names = [plain((label_names or {}).get(k, cluster_name(k))) for k in range(proba.shape[1])]
    probs = ["<br>".join(f"P({m}) = {p:.2f}" for m, p in zip(names, row)) for row in proba]
    text = [f"{t}<br>{p}" for t, p in zip(text, probs)] if text else probs
    fig = go.Figure(scatter_cls(n)(
        x=X2[:, 0], y=X2[:, 1], mode="markers", name=_("objects"), text=text, hoverinfo="text",
        marker=dict(size=6 if n <= 2000 else 4, color=soft_colors(proba),
                    line=dict(width=0.3, color="white")),
        showlegend=False))
    for k, colour in enumerate(base_colors(proba.shape[1])):  # legend swatches
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=names[k],
                                 marker=dict(size=9, color=css(colour))))
    return _finish(fig, title, height, axis_names)


def entropy_scatter(X2: np.ndarray, proba: np.ndarray, *, axis_names=None,
                    hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
                    height: int = 420) -> go.Figure:
    """Points coloured by the normalised entropy of their membership (0 certain, 1 uniform)."""
    X2 = np.asarray(X2, dtype=float)
    ent = normalized_entropy(proba)
    n = len(X2)
    text = _hover(hover, n)
    word = _("entropy {value}")
    lines = [word.format(value=f"{e:.3f}") for e in ent]
    text = [f"{t}<br>{e}" for t, e in zip(text, lines)] if text else lines
    fig = go.Figure(scatter_cls(n)(
        x=X2[:, 0], y=X2[:, 1], mode="markers", text=text, hoverinfo="text",
        marker=dict(size=6 if n <= 2000 else 4, color=ent, cmin=0, cmax=1, colorscale="Magma_r",
                    colorbar=dict(title=dict(text=_("uncertainty")), thickness=12)),
        showlegend=False))
    return _finish(fig, title, height, axis_names)


def plane_grid(X2: np.ndarray, resolution: int = 120, margin: float = 0.08):
    """A regular grid covering the points with a margin: returns ``(xs, ys, points)``.

    ``points`` has shape ``(resolution**2, 2)``, row-major over ``ys`` then ``xs``.
    """
    X2 = np.asarray(X2, dtype=float)
    lo, hi = X2.min(axis=0), X2.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def decision_regions(xs: np.ndarray, ys: np.ndarray, grid_proba: np.ndarray, X2: np.ndarray,
                     proba: np.ndarray, *, axis_names=None, title: Optional[str] = None,
                     height: int = 460, wash: float = 0.45) -> go.Figure:
    """The plane coloured by the model's soft output with the points on top (TensorFlow Playground).

    ``grid_proba`` is the model's output on :func:`plane_grid`'s points; the background is the same
    colour mixing as the points, washed towards white by ``wash`` so the points stand out.
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    grid_proba = np.asarray(grid_proba, float)
    if grid_proba.shape[0] != len(xs) * len(ys):
        raise ValueError("grid_proba must have one row per grid point")
    rgb = soft_rgb(grid_proba) * (1 - wash) + 255 * wash
    image = rgb.reshape(len(ys), len(xs), 3).astype(np.uint8)
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
    fig = go.Figure(go.Image(z=image, x0=xs[0], dx=dx, y0=ys[0], dy=dy, hoverinfo="skip",
                             colormodel="rgb"))
    X2 = np.asarray(X2, float)
    fig.add_trace(scatter_cls(len(X2))(
        x=X2[:, 0], y=X2[:, 1], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(size=6, color=soft_colors(proba), line=dict(width=0.8, color="rgb(40,40,40)"))))
    _finish(fig, title, height, axis_names)
    fig.update_xaxes(range=[xs[0] - dx / 2, xs[-1] + dx / 2], showgrid=False)
    fig.update_yaxes(range=[ys[0] - dy / 2, ys[-1] + dy / 2], autorange=False, showgrid=False)
    return fig


def _padded_range(values: np.ndarray, pad: float = 0.05) -> list[float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return [-1.0, 1.0]
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo if hi > lo else 1.0
    return [lo - pad * span, hi + pad * span]


def small_multiples(X2: np.ndarray, label_sets: Mapping[str, np.ndarray], *, cols: int = 3,
                    axis_names=None, subplot_height: int = 260,
                    hover: Optional[Sequence[str]] = None) -> go.Figure:
    """One small scatter per partition (e.g. per method), coloured by cluster, every panel with
    tick labels on the same x and y ranges (the points sit at the same place in each), the axis
    names on the bottom row and the left column; ``hover`` (one line per object) gets the
    object's cluster in that partition added."""
    X2 = np.asarray(X2, float)
    names = list(label_sets)
    if not names:
        raise ValueError("label_sets is empty")
    text = _hover(hover, len(X2))
    cols = max(1, min(cols, len(names)))
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[plain(n) for n in names],
                        horizontal_spacing=0.06, vertical_spacing=0.14 if rows > 1 else 0.05)
    cls = scatter_cls(len(X2))
    for i, name in enumerate(names):
        labels = np.asarray(label_sets[name])
        n_col = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 1
        word = _("cluster {k}")
        lines = [f"{t}<br>{word.format(k=int(v))}" if t else word.format(k=int(v))
                 for t, v in zip(text or [""] * len(labels), labels)]
        fig.add_trace(cls(x=X2[:, 0], y=X2[:, 1], mode="markers", showlegend=False,
                          name=plain(name), marker=indexed_colors(labels, n_col, size=4),
                          text=lines,
                          hoverinfo="text"),
                      row=i // cols + 1, col=i % cols + 1)
    xn, yn = _axes_names(axis_names)
    fig.update_xaxes(showticklabels=True, range=_padded_range(X2[:, 0]), tickfont=dict(size=9))
    fig.update_yaxes(showticklabels=True, range=_padded_range(X2[:, 1]), tickfont=dict(size=9))
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=xn, row=rows, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=yn, row=r, col=1)
    finish_layout(fig, None, subplot_height * rows + 40, subplot_titles=True)
    fig.update_layout(margin=dict(b=40))
    return fig


def som_grid_in_data(X2: np.ndarray, codebook2: np.ndarray, coords: np.ndarray, *,
                     labels: Optional[np.ndarray] = None, axis_names=None,
                     title: Optional[str] = None, height: int = 460,
                     label_names: Optional[Mapping] = None,
                     hover: Optional[Sequence[str]] = None) -> go.Figure:
    """The map's units in data space joined to their lattice neighbours, over the points (2-D
    data); ``labels``, ``label_names`` and ``hover`` as in :func:`scatter`."""
    X2 = np.asarray(X2, float)
    codebook2 = np.asarray(codebook2, float)
    coords = np.asarray(coords, float)
    fig = scatter(X2, labels, axis_names=axis_names, height=height, label_names=label_names,
                  hover=hover)
    for trace in fig.data:
        trace.marker.opacity = 0.45
    d = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
    ii, jj = np.nonzero(np.triu((d > 0) & (d < 1.01)))
    xs: list = []
    ys: list = []
    for i, j in zip(ii, jj):
        xs += [codebook2[i, 0], codebook2[j, 0], None]
        ys += [codebook2[i, 1], codebook2[j, 1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=_("lattice links"),
                             line=dict(color="rgb(30,30,30)", width=1), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=codebook2[:, 0], y=codebook2[:, 1], mode="markers", name=_("units"),
                             marker=dict(size=5, color="black"),
                             text=[_("unit {u}").format(u=u) for u in range(len(codebook2))],
                             hoverinfo="text"))
    return _finish(fig, title, height, axis_names)


# ----------------------------------------------------------------------------------- ensemble
def posterior_plot(proba: np.ndarray, labels: np.ndarray, ids: Optional[Sequence] = None, *,
                   threshold: Optional[float] = None, title: Optional[str] = None,
                   height: int = 360) -> go.Figure:
    """Each object's posterior probability of its own cluster, sorted, coloured by cluster."""
    proba = np.asarray(proba, float)
    labels = np.asarray(labels)
    n = len(labels)
    ids = category_names(ids, n)
    own = proba[np.arange(n), np.clip(labels, 0, proba.shape[1] - 1)]
    order = np.argsort(own, kind="stable")
    k = proba.shape[1]
    line = _("object {id}: cluster {k}, p = {p}")
    fig = go.Figure(go.Bar(
        x=[ids[i] for i in order], y=own[order],
        marker=indexed_colors(labels[order], k),
        text=[line.format(id=ids[i], k=labels[i], p=f"{own[i]:.3f}") for i in order],
        hoverinfo="text", textposition="none"))
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color="rgb(200,60,60)",
                      annotation_text=_("review below {threshold}").format(
                          threshold=f"{threshold:.2f}"))
    _finish(fig, title, height)
    fig.update_xaxes(title_text=_("object (sorted by posterior)"), type="category",
                     showticklabels=n <= 60)
    fig.update_yaxes(title_text=_("posterior of own cluster"), range=[0, 1.02])
    return fig


def _stratified_positions(sorted_labels: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` positions of ``sorted_labels`` (clusters contiguous), spread evenly
    inside each cluster, each cluster getting its share of ``limit`` by size (largest
    remainders; at least one object per cluster while there are fewer clusters than ``limit``).
    Deterministic; all positions when there are at most ``limit``."""
    n = len(sorted_labels)
    if n <= limit:
        return np.arange(n)
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, n])
    quota = sizes * (limit / n)
    take = np.floor(quota).astype(np.int64)
    if len(sizes) <= limit:
        take = np.maximum(take, 1)
    order = np.argsort(-(quota - take), kind="stable")
    spare = limit - int(take.sum())
    take[order[:max(spare, 0)]] += 1
    while take.sum() > limit:  # the minimum of one object overshot: trim the largest shares
        take[np.argmax(take)] -= 1
    take = np.minimum(take, sizes)
    return np.concatenate([np.linspace(a, a + m - 1, t).round().astype(np.int64)
                           for a, m, t in zip(starts, sizes, take) if t > 0])


def _cluster_boundaries(sorted_labels: np.ndarray) -> list[dict]:
    """A row and a column line between consecutive clusters of a heatmap (the shapes
    ``add_hline`` / ``add_vline`` make, built in one list: those calls each re-validate every
    shape drawn so far, quadratic in the number of clusters)."""
    line = dict(color="rgb(200,40,40)", width=1)
    shapes = []
    for c in (np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 0.5).tolist():
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=c, y1=c,
                           line=line))
        shapes.append(dict(type="line", xref="x", x0=c, x1=c, yref="y domain", y0=0, y1=1,
                           line=line))
    return shapes


def coassociation_heatmap(C: np.ndarray, labels: np.ndarray, ids: Optional[Sequence] = None, *,
                          title: Optional[str] = None, height: int = 480,
                          max_objects: int = HEATMAP_MAX_OBJECTS) -> go.Figure:
    """The co-association matrix (share of maps putting i and j together), ordered by cluster.

    At most ``max_objects`` objects are drawn (at most ``max_objects ** 2`` cells reach the
    browser): beyond, a deterministic sample stratified by cluster (:func:`_stratified_positions`,
    objects evenly spaced in each cluster's order), and the title says "N of M objects shown".
    """
    C = np.asarray(C, float)
    labels = np.asarray(labels)
    n = len(labels)
    ids = category_names(ids, n)
    order = np.lexsort((-C.sum(axis=1), labels))
    order = order[_stratified_positions(labels[order], max(1, int(max_objects)))]
    shown = len(order)
    if shown < n:
        note = _("{shown} of {n} objects shown").format(shown=shown, n=n)
        title = f"{title} ({note})" if title else note
    names = [ids[i] for i in order]
    fig = go.Figure(go.Heatmap(
        z=C[np.ix_(order, order)], x=names, y=names, colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(title=dict(text=_("together")), thickness=12),
        hovertemplate="%{y} & %{x}: %{z:.2f}<extra></extra>"))
    _finish(fig, title, height)
    fig.update_layout(shapes=_cluster_boundaries(labels[order]))
    fig.update_xaxes(type="category", showticklabels=shown <= 40)
    fig.update_yaxes(type="category", showticklabels=shown <= 40, autorange="reversed")
    return fig


def replicate_plot(table: pd.DataFrame, replicate_columns: Sequence[str], *, name_column=None,
                   mean_column: Optional[str] = None, kept: Optional[Sequence[bool]] = None,
                   title: Optional[str] = None, height: int = 320) -> go.Figure:
    """The criterion of each replicate per network (dots) and their mean (bar), table 2 at a glance."""
    names = (table[name_column].map(plain).tolist() if name_column is not None
             else [plain(i) for i in table.index])
    fig = go.Figure()
    if mean_column is not None:
        colours = ["rgb(140,170,220)" if (kept is None or kept[i]) else "rgb(220,200,200)"
                   for i in range(len(names))]
        fig.add_trace(go.Bar(x=names, y=table[mean_column], name=_("mean"), marker_color=colours))
    for j, col in enumerate(replicate_columns):
        fig.add_trace(go.Scatter(x=names, y=table[col], mode="markers", name=plain(col),
                                 marker=dict(size=9, color=qualitative.D3[(j + 1) % 10])))
    _finish(fig, title, height)
    fig.update_xaxes(title_text=_("network"), type="category")
    fig.update_yaxes(title_text=_("criterion Θ"))
    return fig


def profile_plot(profile: pd.DataFrame, columns: Sequence[str], *, title: Optional[str] = None,
                 height: int = 340) -> go.Figure:
    """Cluster means of some columns (clusters as rows of ``profile``), grouped bars."""
    fig = go.Figure()
    clusters = [plain(i) for i in profile.index]
    for j, col in enumerate(columns):
        fig.add_trace(go.Bar(x=clusters, y=profile[col], name=plain(col),
                             marker_color=qualitative.D3[j % 10]))
    _finish(fig, title, height)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=_("cluster (ranked)"), type="category")
    return fig
