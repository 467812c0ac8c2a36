"""What the SOM and ensemble pages draw, free of Streamlit: lattice positions and hover text,
error curves, status lines, Cochran's verdict, flags and posteriors, the k-means comparison, and
how a run ran (the registry's ``execution_text`` of the SOM and the ensemble).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from clustering import config as cfg
from ui.result import MethodResult, object_ids, quality, status_word


def unit_coordinates(som) -> np.ndarray:
    """Drawing positions of the fitted map's units (units x 2)."""
    return np.asarray(som.unit_coordinates(), dtype=float)


def lattice_shape(som) -> tuple[int, int]:
    """Rows and columns of the fitted lattice (``rows_``/``cols_``: also when auto-sized)."""
    return int(som.rows_), int(som.cols_)


def cell_hover(som, bmu: np.ndarray, ids: Sequence[str], *, values=None, value_name="",
               limit: int = 12) -> list[str]:
    """Hover text per unit (plain text, lines separated by newlines): its place on the lattice,
    an optional value and the objects it holds."""
    _, cols = lattice_shape(som)
    n_units = unit_coordinates(som).shape[0]
    members: list[list[str]] = [[] for _ in range(n_units)]
    for obj, unit in zip(ids, np.asarray(bmu).ravel()):
        members[int(unit)].append(str(obj))
    out = []
    for u in range(n_units):
        head = f"unit {u} (row {u // cols}, col {u % cols})"
        if values is not None:
            head += f"\n{value_name} {values[u]:.4g}"
        objs = members[u]
        if objs:
            shown = ", ".join(objs[:limit]) + (f" … (+{len(objs) - limit})" if len(objs) > limit else "")
            head += f"\n{len(objs)} object(s): {shown}"
        else:
            head += "\nempty"
        out.append(head)
    return out


def suggested_units(n_objects: int) -> int:
    """The rule of thumb 5 sqrt(N) for the number of SOM units."""
    return int(round(5 * np.sqrt(max(n_objects, 1))))


# ----------------------------------------------------------------------------------- SOM views
def unit_clusters(som) -> np.ndarray:
    """Cluster of every unit: the map's own grouping of its cells (``cell_clusters_``)."""
    return np.asarray(som.cell_clusters_, dtype=int)


def som_curves(som) -> tuple[list, dict[str, list]]:
    """The recorded steps and the error curves of a fitted SOM's ``history_``."""
    hist = som.history_
    return list(hist["step"]), {"quantization_error": list(hist["quantization_error"]),
                                "topographic_error": list(hist["topographic_error"])}


def som_status(result: MethodResult) -> str:
    som = result.estimator
    rows, cols = lattice_shape(som)
    return (f"{status_word(result)} in {result.elapsed:.1f} s after {som.n_steps_done_} steps: "
            f"{rows} x {cols} {som.lattice} lattice, quantization error "
            f"{som.quantization_error_:.4f}, topographic error {som.topographic_error_:.4f}, "
            f"{result.n_clusters} clusters of cells.")


# ----------------------------------------------------------------------------------- ensemble views
def kept_mask(qbm) -> list[bool]:
    """Per network of ``networks_``: whether Cochran's filter kept it (``variances_.kept``)."""
    return [bool(v) for v in qbm.variances_["kept"]]


def replicate_columns(qbm) -> list[str]:
    """The per-replicate criterion columns of table 2 (``theta_u1`` ...)."""
    return [c for c in qbm.networks_.columns if str(c).startswith("theta_u")]


def cochran_verdict(cochran: Mapping) -> dict:
    """Cochran's test of the ensemble (``cochran_``) in words: G, its critical value, the verdict
    on the whole ensemble and, when networks were filtered out, which ones."""
    g, crit = float(cochran.get("G", np.nan)), float(cochran.get("critical", np.nan))
    alpha = float(cochran.get("alpha", 0.05))
    homog = bool(cochran.get("homogeneous", True))
    removed = [int(r) for r in cochran.get("removed", [])]
    if not np.isfinite(g):
        text = "Cochran's test was not run: " + str(cochran.get("note", "too few replicates."))
        return {"homogeneous": homog, "text": text}
    parts = [f"Cochran's test: G = {g:.4f}, critical value {crit:.4f} at the {alpha:.0%} level; "]
    if homog:
        parts.append("the replicate variances are homogeneous: the ensemble is consistent.")
    else:
        parts.append("the replicate variances are not homogeneous")
        if removed:
            final = cochran.get("final_homogeneous", True)
            parts.append(f": network(s) {', '.join(map(str, removed))} with the largest variance "
                         f"were filtered out ({'homogeneous' if final else 'still not homogeneous'}"
                         " after filtering).")
        else:
            parts.append(".")
    if cochran.get("note"):
        parts.append(" " + str(cochran["note"]))
    return {"homogeneous": homog, "text": "".join(parts)}


def flag_threshold(qbm) -> float:
    """The posterior under which an object is flagged "boundary" (``boundary_threshold``)."""
    return float(qbm.boundary_threshold)


def flags_frame(qbm, ids: Sequence[str]) -> pd.DataFrame:
    """The ensemble's ``flags_`` with each object's id (``object`` is a 0-based row position)."""
    flags = qbm.flags_.copy()
    positions = flags["object"].to_numpy(dtype=int)
    flags.insert(0, "id", [str(ids[i]) for i in positions])
    flags["object"] = positions + 1
    return flags.rename(columns={"object": "row"})


def posterior_frame(result: MethodResult, ids: Sequence[str]) -> pd.DataFrame:
    """id, cluster, p_0 .. p_{K-1}, p_max (the posterior of the own cluster)."""
    from clustering.export import assignments_frame

    return assignments_frame(ids, result.labels, result.proba)


def attach_kmeans_comparison(result: MethodResult, dataset) -> None:
    """k-means with the same K next to the ensemble: agreement and criteria side by side."""
    from clustering import metrics

    k = result.n_clusters
    seed = result.config.params.get("random_state", 0)
    params = {"n_clusters": k}
    if "random_state" in cfg.default_params("kmeans"):
        params["random_state"] = seed if seed is not None else 0
    _, km_labels, _ = cfg.fit_method("kmeans", params, dataset.X)
    km_labels = np.asarray(km_labels)
    agree = metrics.agreement(result.labels, km_labels)
    matched = metrics.match_labels(result.labels, km_labels)
    y_true = getattr(dataset, "labels", None)
    criteria = pd.DataFrame({"ensemble": quality(dataset.X, result.labels, y_true),
                             "k-means": quality(dataset.X, km_labels, y_true)})
    table = pd.DataFrame({"id": object_ids(dataset), "ensemble": result.labels,
                          "k-means (matched)": matched})
    table["same"] = table["ensemble"] == table["k-means (matched)"]
    result.extra["kmeans"] = {"agreement": agree, "criteria": criteria, "table": table}


def _summary_tail(result: MethodResult) -> str:
    info = getattr(result.estimator, "execution_", None)
    if not info:
        return ""
    return info["summary"].split("; ", 1)[-1] if "; " in info["summary"] else ""


def som_execution(result: MethodResult) -> str:
    """How a map ran on its worker (chunked or not), from its ``execution_`` summary."""
    return _summary_tail(result)


def qbm_execution(result: MethodResult) -> str:
    """How an ensemble ran on its worker: its maps one after the other."""
    if not getattr(result.estimator, "execution_", None):
        return ""
    return f"{len(result.estimator.maps_)} maps one after the other"
