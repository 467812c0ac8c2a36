"""The SOM's lattice: where its units sit, who their neighbours are, and how large it is.

Lattice geometry: units are numbered row by row (unit ``u`` sits in row ``u // cols`` and
column ``u % cols``). On the rectangular lattice unit ``(r, c)`` is at ``(c, r)``; on the
hexagonal lattice odd rows are shifted right by half a cell and rows are ``sqrt(3)/2`` apart, so
that the six neighbours of a unit are exactly 1 away. Neighbours (for the U-matrix and the
topographic error) are the units at lattice distance 1: 4 on the rectangular lattice (no
diagonals), 6 on the hexagonal one.

Here are the units' positions and squared lattice distances, the Gaussian neighbourhood on
them (Haykin's cooperation step), the adjacency of neighbours, the U-matrix, and
:func:`suggest_lattice`, the lattice size :class:`clustering.som.SOM` fits when ``rows`` and
``cols`` are None. Nothing here depends on the data's size or on training.
"""
from __future__ import annotations

import math

import numpy as np

LATTICES = ("hexagonal", "rectangular")


# ----------------------------------------------------------------------------------- lattices
def lattice_coordinates(rows: int, cols: int, lattice: str = "hexagonal") -> np.ndarray:
    """Positions ``(x, y)`` of the units of a ``rows x cols`` lattice, row by row.

    Neighbouring units are 1 apart: hexagon centres have odd rows shifted by 1/2 and rows
    ``sqrt(3)/2`` apart.
    """
    r, c = np.divmod(np.arange(rows * cols), cols)
    if lattice == "hexagonal":
        return np.column_stack([c + 0.5 * (r % 2), r * math.sqrt(3) / 2]).astype(float)
    return np.column_stack([c, r]).astype(float)


def lattice_sq_distances(coords: np.ndarray) -> np.ndarray:
    """Squared lattice distances between all pairs of units (units x units)."""
    diff = coords[:, None, :] - coords[None, :, :]
    return (diff ** 2).sum(axis=2)


def neighbourhood(d2: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian neighbourhood ``h = exp(-d2 / (2 sigma^2))`` on lattice distances (Haykin's
    cooperation step).

    Exact for every sigma, also where ``sigma^2`` underflows to 0 late in a long schedule (the
    Haykin preset's convergence phase): then ``h`` is 1 on the winner (d2 = 0) and 0 elsewhere,
    the limit, instead of 0/0 = NaN.
    """
    s2 = max(2.0 * sigma * sigma, np.finfo(float).tiny)
    with np.errstate(over="ignore"):
        return np.exp(-np.asarray(d2) / s2)


def lattice_adjacency(coords: np.ndarray) -> np.ndarray:
    """Boolean units x units matrix: True for lattice neighbours (distance 1)."""
    d2 = lattice_sq_distances(coords)
    return np.abs(d2 - 1.0) < 1e-9


def umatrix_values(codebook: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """U-matrix: each unit's mean input-space distance to its lattice neighbours."""
    out = np.full(codebook.shape[0], np.nan)
    for u in range(codebook.shape[0]):
        nb = np.flatnonzero(adjacency[u])
        if nb.size:
            out[u] = np.linalg.norm(codebook[nb] - codebook[u], axis=1).mean()
    return out


# ----------------------------------------------------------------------------------- lattice size
def suggest_lattice(X: np.ndarray, lattice: str = "hexagonal") -> tuple[int, int]:
    """Rows and columns from the rule of thumb of about ``5 sqrt(N)`` units.

    The side ratio (columns over rows, in lattice length) is ``sqrt(l1 / l2)`` of the two largest
    principal-component variances, so the map's long side follows the data's main direction
    (the SOM Toolbox's rule); hexagonal rows are ``sqrt(3)/2`` apart, which is allowed for.
    """
    n = X.shape[0]
    units = max(4, int(round(5 * math.sqrt(n))))
    ratio = 1.0
    if X.shape[1] >= 2 and n >= 3:
        ev = np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False)))[::-1]
        if ev[1] > 1e-12 * max(ev[0], 1e-300):
            ratio = float(math.sqrt(ev[0] / ev[1]))
        else:
            ratio = float(units)  # a line: as elongated as the units allow
    elif X.shape[1] == 1:
        ratio = float(units)
    row_gap = math.sqrt(3) / 2 if lattice == "hexagonal" else 1.0
    rows = max(2, int(round(math.sqrt(units / (ratio * row_gap)))))
    cols = max(2, int(round(units / rows)))
    return rows, cols


__all__ = ["LATTICES", "lattice_coordinates", "lattice_sq_distances", "neighbourhood",
           "lattice_adjacency", "umatrix_values", "suggest_lattice"]
