"""Consensus of several partitions: rename every partition's clusters to agree, then vote.

Step 3 of the quasi-Bayesian method needs it: the maps number their clusters arbitrarily, so a
map's cluster 0 need not be another's; the article's table 3 shows the maps' clusters already
agreeing ("отнесение этих предприятий кластеру 2 совпало для всех 27 моделей").
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def renaming(target: np.ndarray, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """The one-to-one renaming ``new = perm[old]`` of ``labels`` agreeing best with ``target``:
    the Hungarian method on their contingency table; empty clusters take part, so the renaming
    is a permutation of ``0..n_clusters-1``."""
    M = int(n_clusters)
    table = np.zeros((M, M), dtype=np.int64)
    np.add.at(table, (labels, target), 1)
    old, new = linear_sum_assignment(table, maximize=True)
    perm = np.empty(M, dtype=np.int64)
    perm[old] = new
    return perm


def consensus_labels(label_sets: np.ndarray, n_clusters: int, reference: int = 0,
                     max_rounds: int = 20):
    """Align the clusters of several partitions and vote.

    ``label_sets`` is (n_partitions, n_objects) with labels in ``0..n_clusters-1``. Every
    partition is renamed to agree best with the partition ``reference`` (:func:`renaming`),
    then, until nothing changes, with the majority vote of the renamed partitions. Returns
    ``(aligned, permutations, consensus)``: the renamed label sets, each partition's renaming
    ``new = perm[old]``, and the final vote (ties to the lowest cluster).
    """
    L = np.asarray(label_sets, dtype=np.int64)
    M = int(n_clusters)
    n_obj = L.shape[1]
    perms = np.array([renaming(L[reference], lab, M) for lab in L])
    consensus = None
    for _ in range(max_rounds):
        aligned = np.take_along_axis(perms, L, axis=1)
        votes = np.zeros((n_obj, M))
        for row in aligned:
            votes[np.arange(n_obj), row] += 1
        new = np.argmax(votes, axis=1)
        if consensus is not None and np.array_equal(new, consensus):
            break
        consensus = new
        perms = np.array([renaming(consensus, lab, M) for lab in L])
    aligned = np.take_along_axis(perms, L, axis=1)
    return aligned, perms, consensus


__all__ = ["renaming", "consensus_labels"]
