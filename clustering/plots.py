"""Plotly figure builders for the workbench: plain functions, no Streamlit.

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

import html

from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

#: Above this many points scatter traces use WebGL.
WEBGL_THRESHOLD = 1000

_RGB3 = np.array([[220, 30, 30], [30, 170, 40], [40, 70, 230]], dtype=float)
_RGB2 = np.array([[220, 30, 30], [40, 70, 230]], dtype=float)
_NOISE = "rgb(150,150,150)"
_PALETTE = qualitative.D3 + qualitative.Dark24
#: The co-association heatmap draws at most this many objects (a stratified sample beyond).
HEATMAP_MAX_OBJECTS = 300
_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10))


# ----------------------------------------------------------------------------------- colours
def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def base_colors(n_clusters: int) -> np.ndarray:
    """RGB base colour of each cluster, shape ``(K, 3)`` with values in [0, 255]."""
    if n_clusters <= 0:
        return np.zeros((0, 3))
    if n_clusters == 1:
        return _RGB3[:1].copy()
    if n_clusters == 2:
        return _RGB2.copy()
    if n_clusters == 3:
        return _RGB3.copy()
    return np.array([_hex_to_rgb(_PALETTE[k % len(_PALETTE)]) for k in range(n_clusters)], float)


def _css(rgb: Sequence[float], alpha: Optional[float] = None) -> str:
    r, g, b = (int(round(v)) for v in rgb)
    return f"rgb({r},{g},{b})" if alpha is None else f"rgba({r},{g},{b},{alpha})"


def cluster_color(label: int, n_clusters: int) -> str:
    """CSS colour of hard cluster ``label`` (grey for noise, label -1), in constant time."""
    if label < 0:
        return _NOISE
    size = max(n_clusters, label + 1)
    if size <= 3:
        return _css(base_colors(size)[label])
    return _css(_hex_to_rgb(_PALETTE[label % len(_PALETTE)]))


def indexed_colors(labels: Sequence[int], n_clusters: int, **marker) -> dict:
    """A marker coloured by hard cluster: each point's index into one palette (a stepped
    colour scale, one step per distinct label, colours of :func:`cluster_color`).

    Plotly checks a list of colour strings one by one (about 40 µs a point); an array of numbers
    with a colour scale is checked at once, and draws the same colours.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    uniq, inverse = np.unique(labels, return_inverse=True)
    m = max(len(uniq), 1)
    scale = []
    for i, u in enumerate(uniq.tolist()):
        colour = cluster_color(int(u), n_clusters)
        scale += [[i / m, colour], [(i + 1) / m, colour]]
    return dict(marker, color=inverse.ravel(), colorscale=scale or [[0, _NOISE], [1, _NOISE]],
                cmin=-0.5, cmax=m - 0.5, showscale=False)


def soft_rgb(proba: np.ndarray) -> np.ndarray:
    """Mix the cluster colours by the membership probabilities, shape ``(N, 3)`` in [0, 255].

    For K <= 3 the channels are the probabilities themselves (RGB = (p1, p2, p3), the picture of
    the neural soft clustering method); beyond, the qualitative palette is blended with weights
    p_k.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError("proba must be a 2-D array (objects x clusters)")
    weights = np.clip(np.nan_to_num(proba, nan=0.0), 0.0, None)
    total = weights.sum(axis=1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), 1.0 / weights.shape[1])
    return np.clip(weights @ base_colors(proba.shape[1]), 0, 255)


def soft_colors(proba: np.ndarray) -> list[str]:
    """CSS colours of :func:`soft_rgb` (rounded in one vectorised step)."""
    return [f"rgb({r},{g},{b})" for r, g, b in np.rint(soft_rgb(proba)).astype(int).tolist()]


def normalized_entropy(proba: np.ndarray) -> np.ndarray:
    """Entropy of each row divided by log K: 0 = certain, 1 = uniform."""
    proba = np.clip(np.asarray(proba, dtype=float), 1e-12, 1.0)
    k = proba.shape[1]
    if k < 2:
        return np.zeros(proba.shape[0])
    return -(proba * np.log(proba)).sum(axis=1) / np.log(k)


# ----------------------------------------------------------------------------------- helpers
def _scatter_cls(n_points: int):
    return go.Scattergl if n_points > WEBGL_THRESHOLD else go.Scatter


def plain(text) -> str:
    """``text`` as Plotly shows it literally: HTML-escaped, newlines as line breaks."""
    return html.escape(str(text), quote=False).replace("\n", "<br>")


def category_names(ids: Optional[Sequence], n: int) -> list[str]:
    """Object names for a category axis, one per object: :func:`plain` ids, a repeated id
    numbered (``"A"``, ``"A (2)"``) so that objects sharing an id keep their own bar or cell
    (a category axis merges equal names). Linear time: each name resumes its numbering where
    its previous repeat stopped."""
    names = [plain(i) for i in (ids if ids is not None else range(n))]
    taken: set[str] = set()
    last: dict[str, int] = {}  # name -> the number its latest copy got
    out = []
    for name in names:
        k = last.get(name, 0) + 1
        label = name if k == 1 else f"{name} ({k})"
        while label in taken:
            k += 1
            label = f"{name} ({k})"
        last[name] = k
        taken.add(label)
        out.append(label)
    return out


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
    fig.update_layout(**_LAYOUT, height=height)
    if title:
        fig.update_layout(title=dict(text=plain(title), x=0.01, font=dict(size=15)))
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
    return P, [f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%} of variance)"]


# ----------------------------------------------------------------------------------- scatters
def scatter(X2: np.ndarray, labels: Optional[np.ndarray] = None, *, axis_names=None,
            hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
            label_names: Optional[Mapping] = None, height: int = 420,
            marker_size: Optional[int] = None) -> go.Figure:
    """Points in the plane, one trace per label (or one grey trace when unlabelled)."""
    X2 = np.asarray(X2, dtype=float)
    n = len(X2)
    cls = _scatter_cls(n)
    size = marker_size or (6 if n <= 2000 else 4)
    text = _hover(hover, n)
    fig = go.Figure()
    if labels is None:
        fig.add_trace(cls(x=X2[:, 0], y=X2[:, 1], mode="markers", name="objects",
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
                name = "noise" if int(lab) < 0 else f"cluster {int(lab)}"
            else:
                colour = _css(base[i])
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
                 height: int = 420) -> go.Figure:
    """Points coloured by their membership probabilities mixed (:func:`soft_rgb`)."""
    X2 = np.asarray(X2, dtype=float)
    proba = np.asarray(proba, dtype=float)
    n = len(X2)
    if proba.shape[0] != n:
        raise ValueError("proba must have one row per point")
    text = _hover(hover, n)
    probs = ["  ".join(f"p{k}={p:.2f}" for k, p in enumerate(row)) for row in proba]
    text = [f"{t}<br>{p}" for t, p in zip(text, probs)] if text else probs
    fig = go.Figure(_scatter_cls(n)(
        x=X2[:, 0], y=X2[:, 1], mode="markers", name="objects", text=text, hoverinfo="text",
        marker=dict(size=6 if n <= 2000 else 4, color=soft_colors(proba),
                    line=dict(width=0.3, color="white")),
        showlegend=False))
    for k, colour in enumerate(base_colors(proba.shape[1])):  # legend swatches
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"cluster {k}",
                                 marker=dict(size=9, color=_css(colour))))
    return _finish(fig, title, height, axis_names)


def entropy_scatter(X2: np.ndarray, proba: np.ndarray, *, axis_names=None,
                    hover: Optional[Sequence[str]] = None, title: Optional[str] = None,
                    height: int = 420) -> go.Figure:
    """Points coloured by the normalised entropy of their membership (0 certain, 1 uniform)."""
    X2 = np.asarray(X2, dtype=float)
    ent = normalized_entropy(proba)
    n = len(X2)
    text = _hover(hover, n)
    lines = [f"entropy {e:.3f}" for e in ent]
    text = [f"{t}<br>{e}" for t, e in zip(text, lines)] if text else lines
    fig = go.Figure(_scatter_cls(n)(
        x=X2[:, 0], y=X2[:, 1], mode="markers", text=text, hoverinfo="text",
        marker=dict(size=6 if n <= 2000 else 4, color=ent, cmin=0, cmax=1, colorscale="Magma_r",
                    colorbar=dict(title=dict(text="uncertainty"), thickness=12)),
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
    fig.add_trace(_scatter_cls(len(X2))(
        x=X2[:, 0], y=X2[:, 1], mode="markers", showlegend=False, hoverinfo="skip",
        marker=dict(size=6, color=soft_colors(proba), line=dict(width=0.8, color="rgb(40,40,40)"))))
    _finish(fig, title, height, axis_names)
    fig.update_xaxes(range=[xs[0] - dx / 2, xs[-1] + dx / 2], showgrid=False)
    fig.update_yaxes(range=[ys[0] - dy / 2, ys[-1] + dy / 2], autorange=False, showgrid=False)
    return fig


def small_multiples(X2: np.ndarray, label_sets: Mapping[str, np.ndarray], *, cols: int = 3,
                    axis_names=None, subplot_height: int = 260) -> go.Figure:
    """One small scatter per partition (e.g. per method), coloured by cluster."""
    X2 = np.asarray(X2, float)
    names = list(label_sets)
    if not names:
        raise ValueError("label_sets is empty")
    cols = max(1, min(cols, len(names)))
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[plain(n) for n in names],
                        horizontal_spacing=0.04, vertical_spacing=0.1 if rows > 1 else 0.05)
    cls = _scatter_cls(len(X2))
    for i, name in enumerate(names):
        labels = np.asarray(label_sets[name])
        n_col = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 1
        fig.add_trace(cls(x=X2[:, 0], y=X2[:, 1], mode="markers", showlegend=False, name=plain(name),
                          marker=indexed_colors(labels, n_col, size=4), hoverinfo="skip"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(**_LAYOUT, height=subplot_height * rows)
    fig.update_layout(margin=dict(l=10, r=10, t=30, b=10))
    return fig


# ----------------------------------------------------------------------------------- curves
def line_curves(series: Mapping[str, Sequence[float]], *, x: Optional[Sequence[float]] = None,
                x_title: str = "step", y_title: str = "", title: Optional[str] = None,
                height: int = 280, log_y: bool = False, secondary: Sequence[str] = ()) -> go.Figure:
    """One line per named series (e.g. loss per epoch; quantization and topographic errors)."""
    secondary = set(secondary)
    fig = make_subplots(specs=[[{"secondary_y": bool(secondary)}]])
    for i, (name, values) in enumerate(series.items()):
        values = np.asarray(values, float)
        xv = np.arange(1, len(values) + 1) if x is None else np.asarray(x)[: len(values)]
        fig.add_trace(go.Scatter(x=xv, y=values, mode="lines", name=plain(name),
                                 line=dict(width=2, color=qualitative.D3[i % 10])),
                      secondary_y=name in secondary if secondary else None)
    _finish(fig, title, height)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else None, secondary_y=False)
    if secondary:
        fig.update_yaxes(title_text=plain(", ".join(sorted(secondary))), secondary_y=True)
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"))
    return fig


def loss_curve(loss: Sequence[float], *, title: Optional[str] = "Loss per epoch",
               height: int = 280) -> go.Figure:
    """The training loss against the epoch."""
    return line_curves({"loss": loss}, x_title="epoch", y_title="loss", title=title, height=height)


def kernel_plot(d2: np.ndarray, values: np.ndarray, *, name: str = "kernel",
                title: Optional[str] = None, height: int = 230) -> go.Figure:
    """A proximity kernel M as a function of the squared distance d2."""
    fig = go.Figure(go.Scatter(x=np.asarray(d2, float), y=np.asarray(values, float), mode="lines",
                               name=plain(name), line=dict(width=2.5, color="rgb(40,70,230)"),
                               line_shape="hv" if name == "threshold" else "linear"))
    _finish(fig, title, height)
    fig.update_xaxes(title_text="squared distance d²")
    fig.update_yaxes(title_text="proximity M")
    return fig


# ----------------------------------------------------------------------------------- lattices
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


def _add_lattice(fig: go.Figure, coords: np.ndarray, lattice: str, *, values=None,
                 categories=None, n_categories=None, hover=None, colorscale="Viridis",
                 colorbar_title=None, n_bins: int = 24, row=None, col=None,
                 showscale: bool = True, marker_size: int = 18, cmin=None, cmax=None,
                 colorbar_x=None, legend: bool = True):
    """Draw the cells as filled polygons: one trace per colour level, plus hover markers."""
    coords = np.asarray(coords, float)
    n = len(coords)
    where = dict(row=row, col=col) if row is not None else {}
    if categories is not None:
        categories = np.asarray(categories)
        k = n_categories or (int(categories.max()) + 1 if categories.size else 1)
        for lab in sorted(set(categories.tolist())):
            idx = np.flatnonzero(categories == lab)
            xs, ys = _polygon_path(coords, idx, lattice)
            colour = cluster_color(int(lab), k)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour,
                                     line=dict(color="white", width=1), hoverinfo="skip",
                                     name="empty" if lab < 0 else f"cluster {int(lab)}",
                                     showlegend=legend), **where)
        marker = dict(size=marker_size, opacity=0)
    else:
        values = np.asarray(values, float)
        finite = np.isfinite(values)
        lo = float(np.nanmin(values[finite])) if cmin is None and finite.any() else (cmin or 0.0)
        hi = float(np.nanmax(values[finite])) if cmax is None and finite.any() else (cmax or 1.0)
        span = hi - lo if hi > lo else 1.0
        levels = np.full(n, -1)
        levels[finite] = np.clip(((values[finite] - lo) / span * n_bins).astype(int), 0, n_bins - 1)
        palette = sample_colorscale(colorscale, [(b + 0.5) / n_bins for b in range(n_bins)])
        for b in sorted(set(levels.tolist())):
            idx = np.flatnonzero(levels == b)
            xs, ys = _polygon_path(coords, idx, lattice)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself",
                                     fillcolor="rgb(235,235,235)" if b < 0 else palette[b],
                                     line=dict(color="white", width=1), hoverinfo="skip",
                                     showlegend=False), **where)
        marker = dict(size=marker_size, opacity=0, color=np.where(finite, values, lo),
                      colorscale=colorscale, cmin=lo, cmax=lo + span, showscale=showscale)
        if showscale:
            marker["colorbar"] = dict(title=dict(text=colorbar_title or ""), thickness=12,
                                      **({"x": colorbar_x} if colorbar_x is not None else {}))
    text = [plain(h) for h in hover] if hover is not None else None
    fig.add_trace(go.Scatter(x=coords[:, 0], y=coords[:, 1], mode="markers", marker=marker,
                             text=text, hoverinfo="text" if text else "skip", showlegend=False,
                             hoverlabel=dict(namelength=0)), **where)


def _lattice_axes(fig: go.Figure, coords: np.ndarray, **where):
    pad = 0.7
    fig.update_xaxes(visible=False, range=[coords[:, 0].min() - pad, coords[:, 0].max() + pad],
                     **where)
    # Row 0 at the top, as maps are usually printed.
    fig.update_yaxes(visible=False, range=[coords[:, 1].max() + pad, coords[:, 1].min() - pad],
                     **where)


def lattice_map(coords: np.ndarray, values: Optional[np.ndarray] = None, *, lattice: str = "hexagonal",
                categories: Optional[np.ndarray] = None, hover: Optional[Sequence[str]] = None,
                title: Optional[str] = None, colorscale: str = "Viridis",
                colorbar_title: Optional[str] = None, height: int = 440) -> go.Figure:
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
    """
    coords = np.asarray(coords, float)
    if (values is None) == (categories is None):
        raise ValueError("give exactly one of values and categories")
    n_rows = len(np.unique(np.round(coords[:, 1], 6)))
    marker_size = int(max(8, min(40, 0.75 * (height - 60) / max(n_rows, 1))))
    fig = go.Figure()
    _add_lattice(fig, coords, lattice, values=values, categories=categories, hover=hover,
                 colorscale=colorscale, colorbar_title=colorbar_title, marker_size=marker_size)
    _finish(fig, title, height)
    _lattice_axes(fig, coords)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(hovermode="closest")
    return fig


def component_planes(coords: np.ndarray, planes: np.ndarray, feature_names: Sequence[str], *,
                     lattice: str = "hexagonal", cols: int = 3, subplot_height: int = 250,
                     colorscale: str = "RdBu_r") -> go.Figure:
    """Small multiples: one lattice per feature coloured by that feature's codebook weights.

    ``planes`` has shape ``(n_features, n_units)`` (or ``(n_units, n_features)``, detected).
    """
    coords = np.asarray(coords, float)
    planes = np.asarray(planes, float)
    names = [str(f) for f in feature_names]
    titles = [plain(f) for f in names]
    if planes.shape[0] != len(names) and planes.shape[1] == len(names):
        planes = planes.T
    cols = max(1, min(cols, len(names)))
    rows = int(np.ceil(len(names) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.03,
                        vertical_spacing=0.08 if rows > 1 else 0.05)
    n_rows = len(np.unique(np.round(coords[:, 1], 6)))
    size = int(max(5, min(24, 0.7 * (subplot_height - 40) / max(n_rows, 1))))
    for i, name in enumerate(names):
        hover = [f"{name} = {v:.4g}" for v in planes[i]]  # escaped by _add_lattice
        _add_lattice(fig, coords, lattice, values=planes[i], hover=hover, colorscale=colorscale,
                     row=i // cols + 1, col=i % cols + 1, showscale=False, n_bins=16,
                     marker_size=size)
        _lattice_axes(fig, coords, row=i // cols + 1, col=i % cols + 1)
    for i in range(len(names)):  # equal aspect in every subplot
        axis = "" if i == 0 else str(i + 1)
        fig.update_layout({f"yaxis{axis}": dict(scaleanchor=f"x{axis}", scaleratio=1)})
    fig.update_layout(**_LAYOUT, height=subplot_height * rows, hovermode="closest")
    fig.update_layout(margin=dict(l=5, r=5, t=30, b=5))
    return fig


def som_grid_in_data(X2: np.ndarray, codebook2: np.ndarray, coords: np.ndarray, *,
                     labels: Optional[np.ndarray] = None, axis_names=None,
                     title: Optional[str] = None, height: int = 460) -> go.Figure:
    """The map's units in data space joined to their lattice neighbours, over the points (2-D data)."""
    X2 = np.asarray(X2, float)
    codebook2 = np.asarray(codebook2, float)
    coords = np.asarray(coords, float)
    fig = scatter(X2, labels, axis_names=axis_names, height=height)
    for trace in fig.data:
        trace.marker.opacity = 0.45
    d = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))
    ii, jj = np.nonzero(np.triu((d > 0) & (d < 1.01)))
    xs: list = []
    ys: list = []
    for i, j in zip(ii, jj):
        xs += [codebook2[i, 0], codebook2[j, 0], None]
        ys += [codebook2[i, 1], codebook2[j, 1], None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="lattice links",
                             line=dict(color="rgb(30,30,30)", width=1), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=codebook2[:, 0], y=codebook2[:, 1], mode="markers", name="units",
                             marker=dict(size=5, color="black"),
                             text=[f"unit {u}" for u in range(len(codebook2))], hoverinfo="text"))
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
    fig = go.Figure(go.Bar(
        x=[ids[i] for i in order], y=own[order],
        marker=indexed_colors(labels[order], k),
        text=[f"object {ids[i]}: cluster {labels[i]}, p = {own[i]:.3f}" for i in order],
        hoverinfo="text", textposition="none"))
    if threshold is not None:
        fig.add_hline(y=threshold, line_dash="dash", line_color="rgb(200,60,60)",
                      annotation_text=f"review below {threshold:.2f}")
    _finish(fig, title, height)
    fig.update_xaxes(title_text="object (sorted by posterior)", type="category",
                     showticklabels=n <= 60)
    fig.update_yaxes(title_text="posterior of own cluster", range=[0, 1.02])
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
        note = f"{shown} of {n} objects shown"
        title = f"{title} ({note})" if title else note
    names = [ids[i] for i in order]
    fig = go.Figure(go.Heatmap(
        z=C[np.ix_(order, order)], x=names, y=names, colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(title=dict(text="together"), thickness=12),
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
        fig.add_trace(go.Bar(x=names, y=table[mean_column], name="mean", marker_color=colours))
    for j, col in enumerate(replicate_columns):
        fig.add_trace(go.Scatter(x=names, y=table[col], mode="markers", name=plain(col),
                                 marker=dict(size=9, color=qualitative.D3[(j + 1) % 10])))
    _finish(fig, title, height)
    fig.update_xaxes(title_text="network", type="category")
    fig.update_yaxes(title_text="criterion Θ")
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
    fig.update_xaxes(title_text="cluster (ranked)", type="category")
    return fig
