"""What every figure builder shares: colours, plain text, the WebGL switch and the layout.

:func:`finish_layout` is the one layout of the app's figures: the white template, a top margin
that keeps Plotly's mode-bar (the toolbar drawn over the top right corner, about
:data:`MODEBAR_PX` pixels high) clear of the title, the subplot titles and the legend, and the
legend at the right of the plotting area (never in the top margin under the mode-bar).
"""
from __future__ import annotations

import html
from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from clustering.i18n import language, separators

#: Above this many points scatter traces use WebGL.
WEBGL_THRESHOLD = 1000
#: Height of Plotly's mode-bar in pixels: the top margin starts below it.
MODEBAR_PX = 34
#: Pixels of the top margin for a figure title, and for the titles over subplots.
TITLE_PX = 28
SUBPLOT_TITLE_PX = 22

_RGB3 = np.array([[220, 30, 30], [30, 170, 40], [40, 70, 230]], dtype=float)
_RGB2 = np.array([[220, 30, 30], [40, 70, 230]], dtype=float)
NOISE_COLOUR = "rgb(150,150,150)"
PALETTE = qualitative.D3 + qualitative.Dark24


# ----------------------------------------------------------------------------------- colours
def hex_to_rgb(colour: str) -> tuple[int, int, int]:
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
    return np.array([hex_to_rgb(PALETTE[k % len(PALETTE)]) for k in range(n_clusters)], float)


def css(rgb: Sequence[float], alpha: Optional[float] = None) -> str:
    r, g, b = (int(round(v)) for v in rgb)
    return f"rgb({r},{g},{b})" if alpha is None else f"rgba({r},{g},{b},{alpha})"


def cluster_color(label: int, n_clusters: int) -> str:
    """CSS colour of hard cluster ``label`` (grey for noise, label -1), in constant time."""
    if label < 0:
        return NOISE_COLOUR
    size = max(n_clusters, label + 1)
    if size <= 3:
        return css(base_colors(size)[label])
    return css(hex_to_rgb(PALETTE[label % len(PALETTE)]))


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
    return dict(marker, color=inverse.ravel(), colorscale=scale or [[0, NOISE_COLOUR], [1, NOISE_COLOUR]],
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
def scatter_cls(n_points: int):
    """``go.Scattergl`` above :data:`WEBGL_THRESHOLD` points, else ``go.Scatter``."""
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


# ----------------------------------------------------------------------------------- layout
def top_margin(title: bool = False, subplot_titles: bool = False) -> int:
    """The top margin in pixels: the mode-bar, then a title and subplot titles when drawn."""
    return MODEBAR_PX + (TITLE_PX if title else 0) + (SUBPLOT_TITLE_PX if subplot_titles else 0)


def finish_layout(fig: go.Figure, title: Optional[str] = None, height: int = 420, *,
                  subplot_titles: bool = False, legend: str = "right") -> go.Figure:
    """Give ``fig`` the app's layout: template, margins, ``title`` (:func:`plain`) under the
    mode-bar at the left, ``height`` pixels in all (the margin included).

    ``legend``: "right" (a column right of the plotting area, its top level with the plot's)
    or "bottom" (a row under the plot, for figures with a right-hand y axis).
    """
    top = top_margin(bool(title), subplot_titles)
    fig.update_layout(separators=separators(language()))  # ticks and hovers: 0,25 in Russian
    fig.update_layout(template="plotly_white", height=height,
                      margin=dict(l=10, r=10, t=top, b=10 if legend == "right" else 60))
    if legend == "bottom":
        fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.18,
                                      yanchor="top"))
    else:
        fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1,
                                      yanchor="top"))
    if title:
        fig.update_layout(title=dict(text=plain(title), x=0.01, xanchor="left", xref="container",
                                     y=1, yanchor="top", yref="container",
                                     pad=dict(t=MODEBAR_PX), font=dict(size=15)))
    return fig
