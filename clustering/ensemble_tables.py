"""The quasi-Bayesian ensemble's tables, as the article prints them (tables 2, 3 and 4).

Table 2: per network, tau1, sigma at the end, tau2, eta at the end, the replicates' Θ and their
mean. Table 3: "Для каждой сети Hq, u указаны две колонки: первая обозначена буквой k – это номер
ячейки топографической двумерной решетки ..., а вторая ... – это номер образованного кластера" --
each object's cell k and cluster m in every map. Table 4: for one map, each object's cell, its
distance to the cell's centre ("до центров ячеек") and to its cluster's centre ("до центров
кластеров"), with the map's criterion ("Q1(s) = 4,287" for HC1,1).

Cells are numbered from 1 (the article's k runs up to 16 * 12 = 192); unit ``u`` of a map is row
``u // cols``, column ``u % cols``. Clusters are in the ensemble's consensus numbering.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from clustering.metrics import center_distances


def map_name(network: int, replicate: int) -> str:
    """The article's name of a map: ``HC{q},{u}`` (network q, replicate u, both from 1)."""
    return f"HC{network},{replicate}"


def maps_table(done, tasks, results) -> pd.DataFrame:
    """One row per trained map: map, name, network, replicate, tau1, tau2, theta, the errors,
    steps made, and sigma and eta as reached at the end."""
    rows = []
    for i in done:
        q, u, t1, t2 = tasks[i]
        som, th = results[i]
        rows.append({"map": i + 1, "name": map_name(q + 1, u + 1), "network": q + 1,
                     "replicate": u + 1, "tau1": t1, "tau2": t2, "theta": th,
                     "quantization_error": som.quantization_error_,
                     "topographic_error": som.topographic_error_, "steps": som.n_steps_done_,
                     "sigma_end": som.sigma_end_, "eta_end": som.eta_end_})
    return pd.DataFrame(rows)


def networks_table(grid, thetas: np.ndarray, maps: pd.DataFrame) -> pd.DataFrame:
    """Table 2: network, tau1, sigma_end, tau2, eta_end (as the network's maps reached them:
    formulas 4 and 11 at the steps made; their mean when replicates stopped apart), the
    replicates' Θ (theta_u1 ...) and their mean."""
    ends = maps.groupby("network")[["sigma_end", "eta_end"]].mean()
    ids = np.arange(1, len(grid) + 1)
    net = pd.DataFrame({"network": ids, "tau1": [g[0] for g in grid],
                        "sigma_end": ends["sigma_end"].reindex(ids).to_numpy(),
                        "tau2": [g[1] for g in grid],
                        "eta_end": ends["eta_end"].reindex(ids).to_numpy()})
    for u in range(thetas.shape[1]):
        net[f"theta_u{u + 1}"] = thetas[:, u]
    finite = np.isfinite(thetas)
    net["theta_mean"] = [float(r[f].mean()) if f.any() else np.nan for r, f in zip(thetas, finite)]
    return net


def cells_table(maps, names, consensus_labels) -> pd.DataFrame:
    """Table 3: a row per object, two columns per map: ``"{name} k"`` (cell, from 1) and
    ``"{name} m"`` (cluster, consensus numbering; ``consensus_labels[j]`` holds map j's)."""
    data = {}
    for som, name, labels in zip(maps, names, consensus_labels):
        data[f"{name} k"] = som.bmu_ + 1
        data[f"{name} m"] = np.asarray(labels)
    frame = pd.DataFrame(data)
    frame.index.name = "object"
    return frame


def map_table(X, som, labels, centers) -> pd.DataFrame:
    """Table 4 for one map: object, cell k (from 1), row, col, d_cell (distance to the cell's
    weight vector), d_cluster (to the centre of the object's cluster, ``centers`` in the map's
    own numbering), cluster m (``labels``, consensus numbering)."""
    X = np.asarray(X, dtype=float)
    k = som.bmu_
    d_cell = np.linalg.norm(X - som.codebook_[k], axis=1)
    d_cluster = center_distances(X, som.labels_, centers)
    return pd.DataFrame({"object": np.arange(X.shape[0]), "k": k + 1, "row": k // som.cols_,
                         "col": k % som.cols_, "d_cell": d_cell, "d_cluster": d_cluster,
                         "m": np.asarray(labels)})


__all__ = ["map_name", "maps_table", "networks_table", "cells_table", "map_table"]
