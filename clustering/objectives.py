"""The clustering loss and the three ways of computing it: dense, sparse edges, factored kernel.

The loss of membership probabilities ``p`` (N x K) under a proximity kernel ``M`` is

    L = - sum_k (p_k . M p_k) / (sum_i p_ik)

(``+`` for a kernel flagged ``minimise``, the spread ``M = d2``): with hard assignments the ratio
association ``sum_k 1'M_k 1 / n_k``, i.e. kernel k-means with kernel M (the loss of the neural
clustering notes, which number no formulas). :func:`cluster_loss` computes it with one N x N by
N x K product (no N x N x K tensor); the objectives compute it from the kernel's form:

* :class:`DenseObjective` -- the N x N kernel tensor;
* :class:`EdgeObjective` -- a sparse kernel (:class:`clustering.kernels.SparseForm`):
  ``p_k . M p_k = sum over edges w_ij p_ik p_jk`` from gathered rows, O(edges x K);
* :class:`FactorObjective` -- a factored kernel ``M ~ C G C'`` (:class:`~clustering.kernels.
  ApproxForm`): ``p_k . M p_k = u_k' u_k`` with ``u_k = C' p_k``, on mini-batches of points: a
  batch B estimates ``u_k`` and ``n_k`` by ``N / |B|`` times its sums.

Each objective holds its tensors in ``data`` (a dict) and computes the loss from the network's
probabilities on the points of a step (:meth:`value`), so a compiled training loop can pass
``data`` as arguments (JAX) or capture it (TensorFlow). Everything is ``keras.ops``; the exact
``evaluate`` of a fitted network is numpy. :func:`make_objective` builds the one a plan needs.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from keras import ops

from clustering import distributed, kernels as kern
from clustering.errors import ConfigError
from clustering.i18n import Message, N_

__all__ = ["cluster_loss", "symmetric_cluster_loss", "DenseObjective", "EdgeObjective",
           "FactorObjective", "make_objective", "LANDMARK_DRAWS"]

#: Guards the division by the cluster size when a cluster empties (float32 keeps n_k + 1e-12 == n_k
#: for any n_k >= 1e-4, so hard partitions score exactly).
_EMPTY_EPS = 1e-12
#: Independent landmark samples whose factors are averaged (see :func:`make_objective`).
LANDMARK_DRAWS = 4
#: Rows per chunk of the exact float64 evaluation of a factored loss.
_EVAL_ROWS = 16384


def cluster_loss(p, M, minimise: bool = False):
    """The clustering loss of membership probabilities ``p`` (N, K) under the kernel ``M`` (N, N).

    ``L = -sum_k (p_k . M p_k) / sum_i p_ik`` (``+`` when ``minimise``), computed as one N x N by
    N x K product: O(N^2 K) time, O(N K) extra memory. A cluster with ``sum_i p_ik = 0`` adds 0
    (its numerator is 0 too), never NaN.
    """
    sizes = ops.sum(p, axis=0)
    inner = ops.sum(p * ops.matmul(M, p), axis=0)
    ratio = ops.sum(inner / (sizes + _EMPTY_EPS))
    return ratio if minimise else -ratio


def symmetric_cluster_loss(p, M, minimise: bool = False):
    """:func:`cluster_loss` for a symmetric ``M``, differentiated through one product ``M p``.

    The same value (``(2 p - p) . M p`` is ``p . M p`` exactly in floating point), and the
    gradient ``2 M p``, which is the true one when ``M = M'``, without the product by ``M'`` that
    reverse-mode differentiation of ``M p`` adds (XLA on CPU runs that transposed product about
    ten times slower than ``M p`` at N = 4096).
    """
    sizes = ops.sum(p, axis=0)
    Mp = ops.stop_gradient(ops.matmul(M, p))
    inner = ops.sum((2.0 * p - ops.stop_gradient(p)) * Mp, axis=0)
    ratio = ops.sum(inner / (sizes + _EMPTY_EPS))
    return ratio if minimise else -ratio


def _ratio(inner, sizes, scale, minimise):
    ratio = scale * ops.sum(inner / (sizes + _EMPTY_EPS))
    return ratio if minimise else -ratio


def _np_ratio(inner, sizes, minimise):
    ratio = float(np.sum(inner / (sizes + _EMPTY_EPS)))
    return ratio if minimise else -ratio


class _Objective:
    """What the objectives share: the points ``data["x"]`` and the inputs of a step."""

    batched = False

    def __init__(self, x, minimise: bool):
        self.data = {"x": x}
        self.minimise = minimise
        self.n = int(x.shape[0])

    @property
    def x(self):
        return self.data["x"]

    def inputs(self, data: dict, idx=None):
        """The network's inputs of a step: all points, or the batch ``idx``."""
        return data["x"] if idx is None else ops.take(data["x"], idx, axis=0)


class DenseObjective(_Objective):
    """The loss under a dense N x N kernel tensor ``M`` (:func:`cluster_loss`).

    ``symmetric`` (``M = M'``, as every kernel's matrix is) allows :meth:`symmetric_value`, the
    same loss differentiated through one product (:func:`symmetric_cluster_loss`), which a
    training loop may prefer.
    """

    def __init__(self, x, M, minimise: bool, symmetric: bool = False):
        super().__init__(x, minimise)
        self.data["M"] = M
        self.symmetric = bool(symmetric)

    def value(self, data: dict, p, idx=None):
        return cluster_loss(p, data["M"], self.minimise)

    def symmetric_value(self, data: dict, p, idx=None):
        if not self.symmetric:
            return self.value(data, p, idx)
        return symmetric_cluster_loss(p, data["M"], self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        p = ops.convert_to_tensor(proba.astype(np.float32))
        return float(ops.convert_to_numpy(cluster_loss(p, self.data["M"], self.minimise)))


class EdgeObjective(_Objective):
    """The loss under a sparse symmetric kernel given as its edge list (COO of the CSR matrix):
    ``p_k . M p_k = sum_e w_e p[r_e, k] p[c_e, k]`` from two row gathers, O(edges K)."""

    def __init__(self, x, M_sparse, minimise: bool):
        super().__init__(x, minimise)
        coo = M_sparse.tocoo()
        self.M = M_sparse.tocsr()
        self.data.update(rows=ops.convert_to_tensor(coo.row.astype(np.int32)),
                         cols=ops.convert_to_tensor(coo.col.astype(np.int32)),
                         w=ops.convert_to_tensor(coo.data.astype(np.float32)[:, None]))

    def value(self, data: dict, p, idx=None):
        inner = ops.sum(data["w"] * ops.take(p, data["rows"], axis=0)
                        * ops.take(p, data["cols"], axis=0), axis=0)
        return _ratio(inner, ops.sum(p, axis=0), 1.0, self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        inner = np.sum(proba * (self.M @ proba), axis=0)
        return _np_ratio(inner, proba.sum(axis=0), self.minimise)


class FactorObjective(_Objective):
    """The loss under a factored kernel ``M ~ C G C'``, on mini-batches of points.

    ``kind`` (:data:`clustering.kernels.APPROX_KINDS`): "fourier" (``C = z(xs)``, random Fourier
    features ``sqrt(2 / D) cos(xs W + b)``, ``G = I``), "landmark" (``C = F``, the per-point factor
    rows, ``G = I``) or "squared_distance" (exact: ``p_k . D p_k = 2 n_k (q . p_k) - 2
    |xs' p_k|^2``, ``q = |xs|^2``). On a batch B, ``u_k = C_B' p_Bk`` and the batch sums are
    scaled by ``N / |B|``.
    """

    batched = True

    def __init__(self, kind: str, x, xs: Optional[np.ndarray], minimise: bool, W=None, b=None,
                 factor=None):
        super().__init__(x, minimise)
        self.kind = kind
        self.xs_np = xs.astype(np.float32) if xs is not None else None
        if xs is not None:
            self.data["xs"] = ops.convert_to_tensor(self.xs_np)
        if kind == "fourier":
            self.W_np, self.b_np = W.astype(np.float32), b.astype(np.float32)
            self.data.update(W=ops.convert_to_tensor(self.W_np), b=ops.convert_to_tensor(self.b_np))
            self.D = int(W.shape[1])
        elif kind == "landmark":
            self.F_np = np.asarray(factor, dtype=np.float32)
            self.data["F"] = ops.convert_to_tensor(self.F_np)
            self.D = int(factor.shape[1])

    def _inner(self, data, p, xs_b, a_b):
        if self.kind == "fourier":
            z = math.sqrt(2.0 / self.D) * ops.cos(ops.matmul(xs_b, data["W"]) + data["b"])
            u = ops.matmul(ops.transpose(z), p)
            return ops.sum(u * u, axis=0)
        if self.kind == "landmark":
            u = ops.matmul(ops.transpose(a_b), p)
            return ops.sum(u * u, axis=0)
        q = ops.sum(xs_b * xs_b, axis=1)
        xp = ops.matmul(ops.transpose(xs_b), p)
        return 2.0 * ops.sum(p, axis=0) * ops.matmul(q[None, :], p)[0] - 2.0 * ops.sum(
            xp * xp, axis=0)

    def value(self, data: dict, p, idx=None):
        xs, F = data.get("xs"), data.get("F")
        if idx is None:
            xs_b, a_b, scale = xs, F, 1.0
        else:
            xs_b = ops.take(xs, idx, axis=0) if xs is not None else None
            a_b = ops.take(F, idx, axis=0) if F is not None else None
            scale = self.n / ops.cast(ops.shape(idx)[0], "float32")
        return _ratio(self._inner(data, p, xs_b, a_b), ops.sum(p, axis=0), scale, self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        """The exact loss of ``proba`` under the factored kernel, in float64 chunks."""
        K = proba.shape[1]
        sizes = proba.sum(axis=0)
        acc = np.zeros((self.D if self.kind != "squared_distance" else self.xs_np.shape[1], K))
        qp = np.zeros(K)
        for start in range(0, self.n, _EVAL_ROWS):
            sl = slice(start, start + _EVAL_ROWS)
            xs = self.xs_np[sl].astype(np.float64) if self.xs_np is not None else None
            if self.kind == "landmark":
                acc += self.F_np[sl].astype(np.float64).T @ proba[sl]
            elif self.kind == "fourier":
                z = math.sqrt(2.0 / self.D) * np.cos(xs @ self.W_np + self.b_np)
                acc += z.T @ proba[sl]
            else:
                acc += xs.T @ proba[sl]
                qp += (xs * xs).sum(axis=1) @ proba[sl]
        inner = (acc * acc).sum(axis=0)
        if self.kind == "squared_distance":
            inner = 2.0 * sizes * qp - 2.0 * inner
        return _np_ratio(inner, sizes, self.minimise)


def make_objective(solver: str, kernel: kern.Kernel, param, Xs: np.ndarray, x_t, *, seed: int,
                   n_components: Optional[int], limit: int, approx: Optional[dict] = None):
    """The objective of ``solver`` ("dense", "sparse", "approx") for the kernel on the
    (standardised) points ``Xs``, the network reading ``x_t``; returns ``(objective, approx)``.

    ``approx`` (a dict) holds the sampled parts of a factored kernel (Fourier weights, landmark
    draws) so that the same approximation is rebuilt on new points; None samples them from
    ``seed``. A landmark factor whose exact size exceeds ``limit`` bytes is refused before it is
    allocated.
    """
    if solver == "dense":
        M = kern.kernel_matrix(Xs, kernel, param, dtype=np.float32)
        return DenseObjective(x_t, ops.convert_to_tensor(M), kernel.minimise,
                              symmetric=np.array_equal(M, M.T)), None
    if solver == "sparse":
        return EdgeObjective(x_t, kern.sparse_kernel(Xs, kernel, param), kernel.minimise), None
    kind = kernel.approx.kind
    if kind == "fourier":
        if approx is None:
            W, b = kern.fourier_weights(kernel, param, Xs.shape[1], n_components, seed)
            approx = {"kind": kind, "W": W, "b": b}
        return FactorObjective(kind, x_t, Xs, kernel.minimise, W=approx["W"],
                               b=approx["b"]), approx
    if kind == "landmark":
        if approx is None:
            approx = {"kind": kind, "draws": _landmark_draws(kernel, param, Xs, n_components,
                                                             seed)}
        factor = _landmark_factor(kernel, approx["draws"], Xs, param, limit)
        return FactorObjective(kind, x_t, None, kernel.minimise, factor=factor), approx
    return FactorObjective(kind, x_t, Xs, kernel.minimise), {"kind": kind}


def _landmark_draws(kernel, param, Xs, n_landmarks, seed) -> list:
    """:data:`LANDMARK_DRAWS` independent landmark samples ``(landmark points, factor)``: one
    sample's kernel varies with the draw, their mean much less (moons at N = 20,000: ARI
    0.83..0.99 over single draws)."""
    draws = []
    for r in range(LANDMARK_DRAWS):
        idx, _, F = kernel.approx.sample(Xs, param, n_landmarks, seed + 104729 * r)
        draws.append((Xs[idx].copy(), F))
    return draws


def _landmark_factor(kernel, draws: list, Xs: np.ndarray, param, limit: int) -> np.ndarray:
    """The per-point factor rows, N x (sum of the draws' ranks), each point taking its nearest
    landmark's row in every draw, scaled so the draws' kernels are averaged. Its size is known
    exactly only now (the rank grows as the parameter shrinks), so it is checked before it is
    allocated, and filled in place (no list of blocks and a concatenated copy)."""
    from sklearn.neighbors import NearestNeighbors

    ranks = [F.shape[1] for _, F in draws]
    need = 4 * Xs.shape[0] * sum(ranks)
    if need > limit:
        fmt = distributed.fmt_bytes
        raise ConfigError(
            N_("memory_limit: {form} at {name} = {param:g} has rank {rank} over {draws} landmark "
               "draws, so its factor takes {size} for {n} points, above the limit of {limit}. "
               "Raise kernel_param ({name}) or memory_limit, or cluster a sample of the rows."),
            form=Message(kernel.approx.label), name=kernel.param_name, param=param, rank=sum(ranks),
            draws=len(ranks), size=fmt(need), n=Xs.shape[0], limit=fmt(limit))
    factor = np.empty((Xs.shape[0], sum(ranks)), dtype=np.float32)
    scale = np.float32(1.0 / math.sqrt(len(ranks)))
    col = 0
    for landmarks, F in draws:
        a = NearestNeighbors(n_neighbors=1).fit(landmarks).kneighbors(
            Xs, return_distance=False)[:, 0]
        np.multiply(F[a], scale, out=factor[:, col:col + F.shape[1]])
        col += F.shape[1]
    return factor
