"""Neural soft clustering with a proximity kernel (digest part A).

A Keras network maps each point x_i to membership probabilities p_i = softmax(A * f(x_i)) over K
clusters, and is trained without labels to minimise

    L = - sum_k (p_k . M p_k) / (sum_i p_ik)

for an N x N proximity kernel M of the points (:mod:`clustering.kernels`); for a "spread" kernel
(``minimise=True``, M = d2) the sign is +. With hard assignments this is the ratio association
``sum_k 1'M_k 1 / n_k`` (kernel k-means with kernel M). The loss is computed with one N x N by
N x K product (no N x N x K tensor), in ``keras.ops``, and is safe when a cluster empties.

Training is full batch (one epoch = one optimiser step on all points), compiled: a TensorFlow graph
runs up to :data:`STEPS_PER_CALL` steps per call and returns the loss of each, so early stopping is
applied per epoch exactly as Keras' ``EarlyStopping(monitor="loss", patience, min_delta)`` would
(the chunk never runs past the first epoch at which that rule could stop). At N = 500 one step
costs about 0.5 ms on 2 CPU cores against about 85 ms for the seed's eager code.

Large N (``solver``): the dense path above holds the N x N kernel (:data:`AUTO_DENSE_MAX_POINTS`
points at most under ``solver="auto"``, :data:`clustering.kernels.MAX_POINTS` at all). Beyond it
the loss is computed from a form of the kernel that is never N x N (:func:`plan_solver` chooses by
a memory estimate and records why in ``solver_reason_``):

* ``"sparse"`` (knn, threshold, identity): the exact kernel as a sparse matrix
  (:func:`clustering.kernels.sparse_kernel`); ``p_k . M p_k = sum over edges w_ij p_ik p_jk``,
  computed from gathered rows (O(edges x K) per step), full batch;
* ``"approx"``: a factored kernel, ``p_k . M p_k = u_k' G u_k`` with ``u_k = C' p_k`` --
  random Fourier features for the gaussian and rational kernels (``C = z(X)``, ``G = I``), the
  diffusion kernel through landmarks (``C`` = one-hot nearest landmark, ``G`` = the landmarks'
  diffusion kernel), and the spread kernel exactly (``d2_ij = |x_i|^2 + |x_j|^2 - 2 x_i.x_j``).
  These train on mini-batches of points: a batch B of the N points estimates ``u_k`` and
  ``n_k`` by ``N / |B|`` times their batch sums; one epoch is one pass over the points in
  random batches, and ``loss_history_`` holds each epoch's mean batch loss.

Presets: :meth:`NeuralSoftClustering.seed_preset` repeats the notes' configuration (raw data,
rational kernel s = 0.1...); :meth:`NeuralSoftClustering.recommended` (also the defaults) uses
standardised inputs, the diffusion kernel of the kNN graph and 5 restarts ranked by the loss. With
the seed's kernels (and kNN or Gaussian ones) a 3 x 20 MLP lands on straight cuts of moons and
circles whose loss is within ~1 % of the true partition's; the diffusion kernel widens that gap to
10-25 % and the restarts that still end on a cut have a clearly higher loss, so ranking by the loss
(never the labels) keeps the right one (ARI 0.988 / 0.992 / 1.000 on blobs / moons / circles,
bench/bench_neural.py).

Example::

    from clustering.datasets import generate
    X, y = generate("moons")
    est = NeuralSoftClustering.recommended(n_clusters=2).fit(X)
    est.labels_, est.predict_proba(X[:2]), est.loss_history_
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np
import keras
from keras import ops
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

from clustering import distributed, kernels as kern, limits
from clustering.errors import ConfigError, DataError
from clustering.progress import Progress, stop_requested

__all__ = ["NeuralSoftClustering", "SharpSoftmax", "FourierFeatures", "cluster_loss",
           "OPTIMIZERS", "STEPS_PER_CALL", "SOLVERS", "ScalePlan", "plan_solver",
           "estimate_memory", "network_memory", "default_memory_limit", "AUTO_DENSE_MAX_POINTS",
           "OPTIMIZER_SLOTS"]

#: Optimiser steps run per compiled call (and the most epochs between two progress reports).
STEPS_PER_CALL = 50
#: Optimisers by name (Keras classes), each built with the given learning rate.
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "nadam": "Nadam", "rmsprop": "RMSprop",
              "sgd": "SGD", "adagrad": "Adagrad", "adamax": "Adamax"}
#: State arrays each optimiser keeps per trainable weight (Keras defaults: Adam's first and second
#: moments; RMSprop's and Adagrad's accumulator; SGD without momentum none).
OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "nadam": 2, "rmsprop": 1, "sgd": 0, "adagrad": 1,
                   "adamax": 2}
#: Arrays of the size of the trainable weights held besides the optimiser slots: the weights,
#: their gradients, the best network kept so far, and the next restart's freshly built network
#: with its host copy.
WEIGHT_COPIES = 5
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "softplus", "linear")
#: Guards the division by the cluster size when a cluster empties (float32 keeps n_k + 1e-12 == n_k
#: for any n_k >= 1e-4, so hard partitions score exactly).
_EMPTY_EPS = 1e-12
#: Ways of computing the loss: see the module notes.
SOLVERS = ("auto", "dense", "sparse", "approx")
#: ``solver="auto"`` uses the dense N x N kernel up to this many points (a dense step costs
#: O(N^2 K), the diffusion kernel's matrix power O(N^3 log N)).
AUTO_DENSE_MAX_POINTS = 4096
#: Mini-batch size of the approximate paths when ``batch_size`` is None; up to
#: :data:`AUTO_FULL_BATCH_POINTS` points they train full batch.
AUTO_BATCH_SIZE = 2048
AUTO_FULL_BATCH_POINTS = 4096
#: ... or larger, so that an epoch takes at most this many steps (N / 16 points a batch).
AUTO_STEPS_PER_EPOCH = 16
#: Default size of the kernel approximations (``n_components`` None): Fourier features, landmarks.
AUTO_FOURIER_COMPONENTS = 1024
AUTO_LANDMARKS = 1000
#: Independent landmark samples whose diffusion kernels are averaged (see ``_objective``).
LANDMARK_DRAWS = 4
#: Optimiser steps per compiled call on the mini-batch paths (epochs per call adapt to it).
MAX_BATCH_STEPS_PER_CALL = 200


# ----------------------------------------------------------------------------------- layers
@keras.saving.register_keras_serializable(package="clustermap")
class SharpSoftmax(keras.layers.Layer):
    """``softmax(A * z)`` per row: the seed's sharpened softmax.

    The seed subtracted the global maximum of the whole batch, so rows far below it underflowed to
    0/0 (NaN on circles); ``keras.ops.softmax`` subtracts each row's own maximum, which is the same
    function and cannot overflow or underflow to 0/0. ``A`` is held in a non-trainable variable so
    it can be annealed during training without recompiling.
    """

    def __init__(self, sharpness: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_sharpness = float(sharpness)

    def build(self, input_shape):
        self.sharpness = self.add_weight(shape=(), initializer=keras.initializers.Constant(
            self.initial_sharpness), trainable=False, name="sharpness")

    def call(self, z):
        if z.shape[-1] == 1:  # one cluster: every point in it (keras warns on a size-1 softmax)
            return ops.ones_like(z)
        return ops.softmax(ops.cast(self.sharpness, z.dtype) * z, axis=-1)

    def get_config(self):
        config = super().get_config()
        value = self.initial_sharpness
        if self.built:
            value = float(ops.convert_to_numpy(self.sharpness))
        config["sharpness"] = value
        return config


@keras.saving.register_keras_serializable(package="clustermap")
class FourierFeatures(keras.layers.Layer):
    """Fixed random Fourier features ``sqrt(2/D) cos(x W / scale + b)`` (Rahimi & Recht 2007).

    ``W ~ N(0, 1)``, ``b ~ U(0, 2 pi)``, drawn once from ``seed`` and not trained: the layer lets a
    small network represent curved cluster boundaries at length scale ``scale``. Keras 3 has no such
    layer (tf.keras' experimental one was not carried over), hence this one.
    """

    def __init__(self, units: int, scale: float = 1.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale, self.seed = int(units), float(scale), int(seed)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(dim, self.units), trainable=False, name="kernel",
                                      initializer=keras.initializers.RandomNormal(
                                          stddev=1.0, seed=self.seed))
        self.bias = self.add_weight(shape=(self.units,), trainable=False, name="bias",
                                    initializer=keras.initializers.RandomUniform(
                                        0.0, 2 * math.pi, seed=self.seed + 1))

    def call(self, x):
        z = ops.matmul(x, ops.cast(self.kernel, x.dtype)) / self.scale + ops.cast(self.bias,
                                                                                  x.dtype)
        return math.sqrt(2.0 / self.units) * ops.cos(z)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, scale=self.scale, seed=self.seed)
        return config


# ----------------------------------------------------------------------------------- the loss
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


def _ratio(inner, sizes, scale, minimise):
    ratio = scale * ops.sum(inner / (sizes + _EMPTY_EPS))
    return ratio if minimise else -ratio


# ----------------------------------------------------------------------------------- objectives
class _DenseObjective:
    """The loss under a dense N x N kernel tensor (:func:`cluster_loss`)."""

    batched = False

    def __init__(self, x, M, minimise: bool):
        self.x, self.M, self.minimise = x, M, minimise
        self.n = int(x.shape[0])

    def loss(self, model, idx=None, training=True):
        return cluster_loss(model(self.x, training=training), self.M, self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        p = ops.convert_to_tensor(proba.astype(np.float32))
        return float(ops.convert_to_numpy(cluster_loss(p, self.M, self.minimise)))


class _EdgeObjective:
    """The loss under a sparse symmetric kernel given as its edge list (COO of the CSR matrix):
    ``p_k . M p_k = sum_e w_e p[r_e, k] p[c_e, k]`` from two row gathers, O(edges K)."""

    batched = False

    def __init__(self, x, M_sparse, minimise: bool):
        coo = M_sparse.tocoo()
        self.x, self.minimise, self.M = x, minimise, M_sparse.tocsr()
        self.n = int(x.shape[0])
        self.rows = ops.convert_to_tensor(coo.row.astype(np.int32))
        self.cols = ops.convert_to_tensor(coo.col.astype(np.int32))
        self.w = ops.convert_to_tensor(coo.data.astype(np.float32)[:, None])

    def loss(self, model, idx=None, training=True):
        p = model(self.x, training=training)
        inner = ops.sum(self.w * ops.take(p, self.rows, axis=0) * ops.take(p, self.cols, axis=0),
                        axis=0)
        return _ratio(inner, ops.sum(p, axis=0), 1.0, self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        inner = np.sum(proba * (self.M @ proba), axis=0)
        ratio = float(np.sum(inner / (proba.sum(axis=0) + _EMPTY_EPS)))
        return ratio if self.minimise else -ratio


class _FactorObjective:
    """The loss under a factored kernel ``M ~ C G C'``, on mini-batches of points.

    ``kind``: "fourier" (``C = z(xs)``, random Fourier features, ``G = I``), "landmark"
    (``C = F[a]``, the factor row of each point's landmark, ``G = I``) or "spread" (exact:
    ``p_k . D p_k = 2 n_k (q . p_k) - 2 |xs' p_k|^2``, ``q = |xs|^2``). On a batch B,
    ``u_k = C_B' p_Bk`` and the batch sizes are scaled by ``N / |B|`` (see the module notes).
    """

    batched = True

    def __init__(self, kind: str, x, xs: np.ndarray, minimise: bool, W=None, b=None,
                 assign=None, factor=None):
        self.kind, self.x, self.minimise = kind, x, minimise
        self.n = int(x.shape[0])
        self.xs_np = xs.astype(np.float32) if xs is not None else None
        self.xs = ops.convert_to_tensor(self.xs_np) if xs is not None else None
        if kind == "fourier":
            self.W_np, self.b_np = W.astype(np.float32), b.astype(np.float32)
            self.W, self.b = ops.convert_to_tensor(self.W_np), ops.convert_to_tensor(self.b_np)
            self.D = int(W.shape[1])
        elif kind == "landmark":
            # per-point factor rows (N x r): the landmark factor rows of every point's landmark
            self.F_np = np.asarray(factor, dtype=np.float32)
            self.F = ops.convert_to_tensor(self.F_np)
            self.D = int(factor.shape[1])

    def _inner(self, p, xs_b, a_b):
        if self.kind == "fourier":
            z = math.sqrt(2.0 / self.D) * ops.cos(ops.matmul(xs_b, self.W) + self.b)
            u = ops.matmul(ops.transpose(z), p)
            return ops.sum(u * u, axis=0)
        if self.kind == "landmark":
            u = ops.matmul(ops.transpose(a_b), p)
            return ops.sum(u * u, axis=0)
        q = ops.sum(xs_b * xs_b, axis=1)
        xp = ops.matmul(ops.transpose(xs_b), p)
        return 2.0 * ops.sum(p, axis=0) * ops.matmul(q[None, :], p)[0] - 2.0 * ops.sum(
            xp * xp, axis=0)

    def loss(self, model, idx=None, training=True):
        if idx is None:
            p = model(self.x, training=training)
            xs_b, a_b, scale = self.xs, getattr(self, "F", None), 1.0
        else:
            p = model(ops.take(self.x, idx, axis=0), training=training)
            xs_b = ops.take(self.xs, idx, axis=0) if self.xs is not None else None
            a_b = ops.take(self.F, idx, axis=0) if self.kind == "landmark" else None
            scale = self.n / ops.cast(ops.shape(idx)[0], "float32")
        return _ratio(self._inner(p, xs_b, a_b), ops.sum(p, axis=0), scale, self.minimise)

    def evaluate(self, proba: np.ndarray) -> float:
        """The exact loss of ``proba`` under the factored kernel, in float64 chunks."""
        K = proba.shape[1]
        sizes = proba.sum(axis=0)
        acc = np.zeros((self.D if self.kind != "spread" else self.xs_np.shape[1], K))
        qp = np.zeros(K)
        for start in range(0, self.n, 16384):
            sl = slice(start, start + 16384)
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
        if self.kind == "spread":
            inner = 2.0 * sizes * qp - 2.0 * inner
        ratio = float(np.sum(inner / (sizes + _EMPTY_EPS)))
        return ratio if self.minimise else -ratio


# ----------------------------------------------------------------------------------- planning
def default_memory_limit() -> int:
    """Bytes a job may use when ``memory_limit`` is None: the environment variable
    ``CLUSTERMAP_MEMORY_LIMIT`` (``8G``, ``512M`` or bytes), else a Dask worker's share of the
    container's memory (:func:`clustering.distributed.memory_limit_bytes`, the SOM's and the
    ensemble's budget)."""
    return distributed.memory_limit_bytes(None)


_fmt_bytes = distributed.fmt_bytes


@dataclass(frozen=True)
class ScalePlan:
    """How a neural clustering job computes its loss, and what memory that takes.

    Attributes
    ----------
    solver : {"dense", "sparse", "approx"}
    reason : str
        One sentence saying why (shown by the app).
    bytes : int
        Estimated peak memory of the job with that solver.
    limit : int
        The memory limit it was checked against.
    batch_size : int
        Points per optimiser step (N: full batch).
    n_components : int or None
        Fourier features or landmarks of the approximate path (None otherwise).
    estimates : dict
        Estimated bytes of every solver ("dense", "sparse", "approx"); None where the kernel has
        no such form.
    """

    solver: str
    reason: str
    bytes: int
    limit: int
    batch_size: int
    n_components: Optional[int]
    estimates: dict

    def as_dict(self) -> dict:
        return asdict(self)


def _auto_batch(n: int, batch_size: Optional[int]) -> int:
    """Points per step of the approximate path: ``batch_size``, or full batch up to
    :data:`AUTO_FULL_BATCH_POINTS` points, else ``max(AUTO_BATCH_SIZE, N / AUTO_STEPS_PER_EPOCH)``."""
    if batch_size is not None:
        return int(min(n, batch_size))
    if n <= AUTO_FULL_BATCH_POINTS:
        return int(n)
    return int(min(n, max(AUTO_BATCH_SIZE, math.ceil(n / AUTO_STEPS_PER_EPOCH))))


def _approx_kind(kernel_name: str) -> str:
    return {"gaussian": "fourier", "rational": "fourier", "diffusion": "landmark",
            "spread": "spread"}[kernel_name]


def network_memory(n_features: int, hidden_layers: Sequence[int] = (20, 20, 20),
                   n_clusters: int = 3, *, optimizer: str = "adam", fourier_features: int = 0,
                   points: int = 0) -> int:
    """Estimated bytes of the network itself when trained on ``points`` points a step.

    Weights: ``sum over layers of (fan_in * fan_out + fan_out)`` float32 parameters (the input,
    or its ``fourier_features``, through ``hidden_layers`` to the ``n_clusters`` logits), each
    held :data:`WEIGHT_COPIES` times plus once per slot of the optimiser
    (:data:`OPTIMIZER_SLOTS`: 2 for Adam); the fixed Fourier layer's ``d x D`` weights once.
    Activations: every layer's outputs, their gradients and two temporaries on the points of
    one step (float32).
    """
    d, K, D = int(n_features), int(n_clusters), int(fourier_features)
    widths = [D or d] + [int(h) for h in hidden_layers] + [K]
    params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    copies = WEIGHT_COPIES + OPTIMIZER_SLOTS.get(str(optimizer).lower(), 2)
    fixed = (d * D + D) * 4
    activations = int(points) * (sum(widths) + (d if D else 0)) * 4 * 4
    return int(params * copies * 4 + fixed + activations)


def estimate_memory(n_samples: int, n_features: int, *, n_clusters: int = 3,
                    kernel: Any = "diffusion", kernel_param=None,
                    hidden_layers: Sequence[int] = (20, 20, 20), batch_size: Optional[int] = None,
                    n_components: Optional[int] = None, X: Optional[np.ndarray] = None,
                    optimizer: str = "adam", fourier_features: int = 0) -> dict:
    """Estimated peak bytes of training with each solver: ``{"dense": .., "sparse": ..,
    "approx": ..}``, None where the kernel has no such form (or, for dense, above
    :data:`clustering.kernels.MAX_POINTS` points).

    Counts the data (float64 and float32 copies), the network (:func:`network_memory`: its
    weights, gradients and optimiser slots, and its activations on the points of one step),
    the probabilities, and the kernel in its form: dense, the N x N
    construction (float64 distances and values, float32 copies: 24 bytes per entry, 40 for the
    graph kernels' matrix powers); sparse, the edges (``2 N (k + 1)`` for kNN, counted on a
    sample of ``X`` for the threshold kernel) at about 40 + 8 K bytes each; approx, the batch's
    features or the landmarks' dense kernel. Estimates, not guarantees (+-30 %).
    """
    kern_obj = kern.get_kernel(kernel)
    n, d, K = int(n_samples), int(n_features), int(n_clusters)
    base = n * d * 12 + n * K * 16 + n * 8

    def network(points):
        return network_memory(d, hidden_layers, K, optimizer=optimizer,
                              fourier_features=fourier_features, points=points)

    out: dict = {"dense": None, "sparse": None, "approx": None}
    if n <= kern.MAX_POINTS:
        per_entry = 40 if kern_obj.name in ("knn", "diffusion") else 24
        out["dense"] = int(base + network(n) + per_entry * n * n)
    if kern_obj.name in kern.SPARSE_KERNELS:
        param = kern.check_param(kern_obj, kernel_param, max(n, 2))
        if kern_obj.name == "knn":
            edges = 2 * n * (param + 1)
        elif kern_obj.name == "identity":
            edges = n
        elif X is not None:
            edges = kern.radius_edge_count(X, param)
        else:
            edges = n * 64  # unknown without the points: assume 64 neighbours within the radius
        # edges: CSR + COO copies (int32/int64 indices, float32 values), gathered rows and their
        # gradients (2 x 4 K bytes each); kNN: the neighbour search's distances and indices
        build = n * 16 * (param + 1) if kern_obj.name == "knn" else 0
        out["sparse"] = int(base + network(n) + edges * (40 + 8 * K) + build)
    if kern_obj.name in kern.APPROX_KERNELS:
        B = _auto_batch(n, batch_size)
        kind = _approx_kind(kern_obj.name)
        if kind == "fourier":
            D = int(n_components or AUTO_FOURIER_COMPONENTS)
            extra = B * D * 4 * 4 + n * d * 4 + d * D * 8
        elif kind == "landmark":
            L = int(min(n, n_components or AUTO_LANDMARKS))
            # the landmarks' graph and eigh; per-point factor rows of LANDMARK_DRAWS draws, each
            # of the rank of S^t (about 2.5 / tau + 4 on blobs, moons and circles: 15 at the
            # default tau = 0.2, 110 at 0.01; at most 256), plus one draw's rows in passing;
            # checked exactly once the draws are known (_objective)
            tau = kern.check_param(kern_obj, kernel_param, n)
            rank = min(256, math.ceil(2.5 / tau) + 4)
            extra = 40 * L * L + n * 24 + n * rank * 4 * (LANDMARK_DRAWS + 1)
        else:
            extra = n * d * 4 + B * d * 8
        out["approx"] = int(base + network(max(B, min(n, 65536))) + extra)
    return out


def plan_solver(n_samples: int, n_features: int, *, n_clusters: int = 3,
                kernel: Any = "diffusion", kernel_param=None,
                hidden_layers: Sequence[int] = (20, 20, 20), solver: str = "auto",
                memory_limit: Optional[int] = None, batch_size: Optional[int] = None,
                n_components: Optional[int] = None, X: Optional[np.ndarray] = None,
                optimizer: str = "adam", fourier_features: int = 0) -> ScalePlan:
    """Choose the solver of a neural clustering job and check its memory.

    ``solver="auto"``: dense up to :data:`AUTO_DENSE_MAX_POINTS` points when it fits
    ``memory_limit`` (None: :func:`default_memory_limit`), else the kernel's large-N form
    (sparse for knn / threshold / identity, approx for gaussian / rational / spread /
    diffusion), else dense if that alone fits. A named solver is checked as given.

    Raises
    ------
    ConfigError
        When the job would exceed the limit or the kernel has no form for the solver; the
        message names the setting to change (``solver``, ``memory_limit``, ``batch_size``,
        ``n_components``, ``kernel``) or suggests a sample of the rows.
    """
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ConfigError(f"solver: expected one of {', '.join(SOLVERS)}, got {solver!r}.")
    kern_obj = kern.get_kernel(kernel)
    limit = default_memory_limit() if memory_limit is None else _int(
        "memory_limit", memory_limit, 1)
    n = int(n_samples)
    batch = None if batch_size is None else _int("batch_size", batch_size, 1)
    comps = None if n_components is None else limits.check(
        "components", _int("n_components", n_components, 1), "n_components")
    est = estimate_memory(n, n_features, n_clusters=n_clusters, kernel=kern_obj,
                          kernel_param=kernel_param, hidden_layers=hidden_layers,
                          batch_size=batch, n_components=comps, X=X, optimizer=optimizer,
                          fourier_features=fourier_features)
    net = network_memory(n_features, hidden_layers, n_clusters, optimizer=optimizer,
                         fourier_features=fourier_features)
    large = ("sparse" if kern_obj.name in kern.SPARSE_KERNELS else
             "approx" if kern_obj.name in kern.APPROX_KERNELS else None)
    lim = _fmt_bytes(limit)

    def plan(chosen, reason):
        if chosen == "approx":
            kind = _approx_kind(kern_obj.name)
            bsz = _auto_batch(n, batch)
            nc = (None if kind == "spread" else int(comps or AUTO_FOURIER_COMPONENTS)
                  if kind == "fourier" else int(min(n, comps or AUTO_LANDMARKS)))
        else:
            bsz, nc = n, None
            if batch is not None:  # said, not silently dropped
                reason += (f"; batch_size = {batch} is not used: the {chosen} path trains full "
                           "batch (batch_size applies to solver='approx')")
        return ScalePlan(chosen, reason, int(est[chosen]), int(limit), int(bsz), nc, est)

    def too_big(chosen):
        need = _fmt_bytes(est[chosen])
        alt = [f"solver='{s}' needs about {_fmt_bytes(est[s])}" for s in ("dense", "sparse",
                                                                            "approx")
               if s != chosen and est[s] is not None and est[s] <= limit]
        hint = ("; " + ", ".join(alt) + " (solver)") if alt else ""
        fewer = ""
        if chosen == "approx" and kern_obj.name in ("gaussian", "rational", "diffusion"):
            fewer = ", lower n_components or batch_size"
        if 2 * net > est[chosen]:  # the network's weights dominate: say so, and what to lower
            return ConfigError(
                f"memory_limit: a network of hidden_layers = {tuple(hidden_layers)} "
                f"(optimizer {optimizer}) needs about {need}, its weights, gradients and "
                f"optimiser slots {_fmt_bytes(net)}, above the limit of {lim}. Use fewer or "
                f"narrower hidden layers, or raise memory_limit or the environment variable "
                f"{distributed.MEMORY_ENV}.")
        return ConfigError(f"memory_limit: neural clustering of {n} points with solver="
                           f"'{chosen}' and the {kern_obj.name} kernel needs about {need}, "
                           f"above the limit of {lim}{hint}. Raise memory_limit or the "
                           f"environment variable {distributed.MEMORY_ENV}{fewer}, or "
                           f"cluster a sample of the rows.")

    if solver == "auto":
        dense_ok = est["dense"] is not None and est["dense"] <= limit
        if dense_ok and (n <= AUTO_DENSE_MAX_POINTS or large is None):
            return plan("dense", f"dense: {n} points (at most {AUTO_DENSE_MAX_POINTS} for the "
                                 f"N x N kernel), about {_fmt_bytes(est['dense'])} of {lim}")
        if large is not None and est[large] <= limit:
            why = (f"more than {AUTO_DENSE_MAX_POINTS} points, where a dense step costs "
                   f"O(N^2)" if n > AUTO_DENSE_MAX_POINTS else
                   f"the dense kernel needs {_fmt_bytes(est['dense'])}, above {lim}")
            form = "the sparse kernel" if large == "sparse" else {
                "fourier": "random Fourier features", "landmark": "landmark diffusion",
                "spread": "the exact factored spread"}[_approx_kind(kern_obj.name)]
            return plan(large, f"{large}: {n} points, {why}; {form} needs about "
                               f"{_fmt_bytes(est[large])} of {lim}")
        if large is None:
            if est["dense"] is None:
                raise ConfigError(f"kernel: the {kern_obj.name} kernel has only a dense N x N "
                                  f"form, which allows at most {kern.MAX_POINTS} points; the "
                                  f"data has {n}. Choose a kernel of {', '.join(kern.SPARSE_KERNELS + kern.APPROX_KERNELS)}, or cluster a sample of the rows.")
            raise too_big("dense")
        raise too_big(large)
    if est[solver] is None:
        if solver == "dense":
            raise ConfigError(f"solver: the dense N x N kernel allows at most {kern.MAX_POINTS} "
                              f"points; the data has {n}. Use solver='auto' or "
                              f"'{large or 'sparse'}', or cluster a sample of the rows.")
        forms = [s for s in ("sparse", "approx") if est[s] is not None]
        raise ConfigError(f"solver: the {kern_obj.name} kernel has no {solver} form; use "
                          f"solver='auto' or {' or '.join(repr(f) for f in ['dense'] + forms)}"
                          f" (sparse: {', '.join(kern.SPARSE_KERNELS)}; approx: "
                          f"{', '.join(kern.APPROX_KERNELS)}).")
    if est[solver] > limit:
        raise too_big(solver)
    return plan(solver, f"{solver}: chosen by the solver setting; about "
                        f"{_fmt_bytes(est[solver])} of {lim}")


# ----------------------------------------------------------------------------------- training
class _Trainer:
    """The compiled training loop. Full batch: ``run(n)`` does n optimiser steps (epochs) in one
    TensorFlow graph call (a ``tf.while_loop``) and returns the loss of each step, computed
    before its update as Keras reports it. Mini-batch (an objective with ``batched`` and
    ``batch_size < N``): ``run(n)`` does n epochs of ``steps_per_epoch`` steps on random
    batches drawn here (seeded), one graph call, and returns each epoch's mean batch loss.
    The maths is ``keras.ops``; TensorFlow only supplies the compiled loop and the gradient tape
    (Keras' own ``fit`` costs ~27 ms of fixed overhead per call at N = 500)."""

    def __init__(self, model, optimizer, x, M=None, minimise: bool = False, *, objective=None,
                 batch_size: Optional[int] = None, seed: int = 0):
        import tensorflow as tf

        if keras.backend.backend() != "tensorflow":
            raise ConfigError("Neural clustering trains with the TensorFlow backend; set "
                              "KERAS_BACKEND=tensorflow.")
        if objective is None:
            objective = _DenseObjective(x, M, minimise)
        self.model, self.optimizer, self.x, self.objective = model, optimizer, x, objective
        n = objective.n
        self.batched = bool(objective.batched and batch_size is not None and batch_size < n)
        self.steps_per_epoch = math.ceil(n / batch_size) if self.batched else 1
        self.batch = math.ceil(n / self.steps_per_epoch) if self.batched else n
        self.epochs_per_call = (max(1, MAX_BATCH_STEPS_PER_CALL // self.steps_per_epoch)
                                if self.batched else STEPS_PER_CALL)
        self._rng = np.random.RandomState(seed)
        variables = model.trainable_variables
        optimizer.build(variables)
        self._opt_initial = [v.numpy() for v in optimizer.variables]
        self._softmax = model.get_layer("sharp_softmax")

        def step(idx):
            with tf.GradientTape() as tape:
                loss = objective.loss(model, idx)
            optimizer.apply(tape.gradient(loss, variables), variables)
            return ops.cast(loss, "float32")

        # autograph off: the loop is an explicit tf.while_loop, and conversion costs tracing time
        @tf.function(autograph=False, reduce_retracing=True)
        def run(n_steps):
            losses = tf.TensorArray(tf.float32, size=n_steps)

            def body(i, losses):
                return i + 1, losses.write(i, step(None))

            _, losses = tf.while_loop(lambda i, _: i < n_steps, body, (tf.constant(0), losses))
            return losses.stack()

        @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def run_batches(idx):
            n_steps = tf.shape(idx)[0]
            losses = tf.TensorArray(tf.float32, size=n_steps)

            def body(i, losses):
                return i + 1, losses.write(i, step(tf.gather(idx, i)))

            _, losses = tf.while_loop(lambda i, _: i < n_steps, body, (tf.constant(0), losses))
            return losses.stack()

        @tf.function(autograph=False)
        def forward():
            p = model(x, training=False)
            return p, objective.loss(model, None, training=False)

        self._run, self._run_batches, self._forward, self._tf = run, run_batches, forward, tf

    def reset(self):
        """Forget the optimiser's state (moments, step count) for a new restart."""
        for v, value in zip(self.optimizer.variables, self._opt_initial):
            v.assign(value)

    def set_sharpness(self, value: float):
        self._softmax.sharpness.assign(float(value))

    def _batches(self, n_epochs: int) -> np.ndarray:
        """Each epoch a random permutation of the points cut into equal batches (the last one
        topped up with random points so every step has the same shape)."""
        n, S, B = self.objective.n, self.steps_per_epoch, self.batch
        out = np.empty((n_epochs, S * B), dtype=np.int32)
        for e in range(n_epochs):
            perm = self._rng.permutation(n)
            out[e, :n] = perm
            out[e, n:] = self._rng.randint(0, n, size=S * B - n)
        return out.reshape(n_epochs * S, B)

    def run(self, n_epochs: int) -> np.ndarray:
        if not self.batched:
            return self._run(self._tf.constant(int(n_epochs), self._tf.int32)).numpy().astype(
                float)
        losses = self._run_batches(self._tf.constant(self._batches(int(n_epochs)))).numpy()
        return losses.astype(float).reshape(int(n_epochs), self.steps_per_epoch).mean(axis=1)

    def proba(self) -> np.ndarray:
        if isinstance(self.objective, _DenseObjective):
            return np.asarray(self._forward()[0].numpy(), dtype=np.float64)
        x = self.x
        return np.concatenate([np.asarray(ops.convert_to_numpy(self.model(
            x[i:i + 65536], training=False)), dtype=np.float64)
            for i in range(0, int(x.shape[0]), 65536)], axis=0)

    def loss(self) -> float:
        if isinstance(self.objective, _DenseObjective):
            return float(self._forward()[1].numpy())
        return self.objective.evaluate(self.proba())


# ----------------------------------------------------------------------------------- checks
def _int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise ConfigError(f"{name}: expected a whole number, got {value!r}.")
    if not float(value).is_integer():
        raise ConfigError(f"{name}: expected a whole number, got {value!r}.")
    value = int(value)
    if value < low or (high is not None and value > high):
        rng = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(f"{name}: must be {rng}, got {value}.")
    return value


def _float(name, value, low=None, strict=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name}: expected a number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name}: expected a finite number, got {value!r}.")
    if low is not None and (value <= low if strict else value < low):
        raise ConfigError(f"{name}: must be {'above' if strict else 'at least'} {low:g}, "
                          f"got {value:g}.")
    return value


# ----------------------------------------------------------------------------------- estimator
class NeuralSoftClustering(ClusterMixin, BaseEstimator):
    """Soft clustering by a network trained on a pairwise proximity-kernel loss.

    Parameters
    ----------
    n_clusters : int, default 3
        Number of clusters K (outputs of the network).
    kernel : str, default "diffusion"
        A kernel of :data:`clustering.kernels.KERNELS`.
    kernel_param : float, int or None, default None
        The kernel's parameter (s, eps, sigma or k) in the units of the data it sees (standardised
        when ``standardize``); None takes the kernel's default.
    hidden_layers : tuple of int, default (20, 20, 20)
        Units of the hidden Dense layers (the seed: three of 20). Empty: a linear map. The
        layers, their units, ``n_restarts``, the epochs, ``fourier_features``, ``n_components``
        and ``n_clusters`` are bounded by :mod:`clustering.limits` (each bound's environment
        variable raises it), and the weights, gradients and optimiser slots count in the
        memory estimate (:func:`network_memory`); both are checked before anything is built.
    activation : str, default "relu"
        Activation of the hidden layers.
    sharpness : float, default 3.0
        A in the output ``softmax(A * z)``.
    sharpness_start : float, default 0.0
        When > 0, A grows geometrically from this value to ``sharpness`` over ``anneal_epochs``
        (annealing); 0 keeps A fixed.
    anneal_epochs : int, default 500
        Length of the annealing; early stopping waits until it is over.
    optimizer : str, default "adam"
        One of :data:`OPTIMIZERS` (Keras defaults apart from the learning rate).
    learning_rate : float, default 0.01
        The optimiser's step size (the seed used Adam's default, 0.001).
    max_epochs : int, default 5000
        Largest number of epochs (an epoch is one full-batch optimiser step).
    patience : int, default 50
        Early stopping: end after this many epochs without a loss decrease of at least
        ``min_delta`` below the best loss so far (Keras ``EarlyStopping`` on the loss).
    min_delta : float, default 0.001
        Early stopping: the smallest decrease that counts (the seed used 0.01, see
        :meth:`seed_preset`; the loss lies in [-K, 0], where 0.01 stops some restarts early).
    n_restarts : int, default 5
        Networks trained from different random initialisations; the one with the lowest final
        loss is kept (the labels are never used).
    fourier_features : int, default 0
        When > 0, a fixed first layer of this many random Fourier features of the (standardised)
        input; 0 feeds x itself to the network.
    fourier_scale : float, default 0.5
        Length scale of the Fourier features, in the units the network sees.
    standardize : bool, default True
        Standardise the features (zero mean, unit variance) before the kernel and the network.
    random_state : int, default 0
        Seed of the initial weights (and Fourier features, landmarks, batches); the same seed
        gives the same result.
    verbose : int, default 0
        1 prints one line per restart.
    solver : {"auto", "dense", "sparse", "approx"}, default "auto"
        How the loss meets the kernel (module notes): the N x N matrix, its sparse form (knn,
        threshold, identity) or a factored approximation (gaussian, rational: random Fourier
        features; diffusion: landmarks; spread: exact). "auto" chooses by :func:`plan_solver`.
    memory_limit : int or None, default None
        Bytes the job may use; None: :func:`default_memory_limit`. A job estimated above it is
        refused with a :class:`ConfigError` before any work.
    batch_size : int or None, default None
        Points per optimiser step on the approximate path; None: full batch up to
        :data:`AUTO_FULL_BATCH_POINTS` points, else ``max(AUTO_BATCH_SIZE, N / 16)``. The dense and
        sparse paths always train full batch.
    n_components : int or None, default None
        Size of the approximation: Fourier features (default :data:`AUTO_FOURIER_COMPONENTS`)
        or landmarks of the diffusion kernel (default :data:`AUTO_LANDMARKS`).

    Attributes
    ----------
    model_ : keras.Model
        The kept network, raw x -> probabilities (standardisation included); saveable with
        ``model_.save("x.keras")``.
    kernel_ : clustering.kernels.Kernel
    kernel_param_ : float, int or None
        The parameter used (the default resolved).
    scaler_ : sklearn.preprocessing.StandardScaler or None
    loss_history_ : list of float
        Loss at each epoch of the kept network.
    n_epochs_ : int
        Epochs the kept network was trained for.
    restart_losses_ : list of float
        Final loss of each restart (in training order).
    restart_epochs_ : list of int
        Epochs trained in each restart (their sum is the whole run's optimiser steps).
    best_restart_ : int
    labels_ : ndarray of shape (n_samples,)
        ``argmax`` of the final probabilities on the training points.
    proba_ : ndarray of shape (n_samples, n_clusters)
    loss_ : float
        Final loss of the kept network on the training points.
    stopped_ : bool
        True when training was ended by ``stop``.
    solver_ : str
        The solver used ("dense", "sparse" or "approx").
    solver_reason_ : str
        Why (one sentence, with the memory estimate and the limit).
    plan_ : ScalePlan
        The full plan (estimates of every solver, batch size, components).
    batch_size_ : int
        Points per optimiser step (n_samples: full batch).
    n_features_in_ : int
    """

    def __init__(self, n_clusters: int = 3, kernel: str = "diffusion", kernel_param=None,
                 hidden_layers: tuple = (20, 20, 20), activation: str = "relu",
                 sharpness: float = 3.0, sharpness_start: float = 0.0, anneal_epochs: int = 500,
                 optimizer: str = "adam", learning_rate: float = 0.01, max_epochs: int = 5000,
                 patience: int = 50, min_delta: float = 0.001, n_restarts: int = 5,
                 fourier_features: int = 0, fourier_scale: float = 0.5, standardize: bool = True,
                 random_state: int = 0, verbose: int = 0, solver: str = "auto",
                 memory_limit: Optional[int] = None, batch_size: Optional[int] = None,
                 n_components: Optional[int] = None):
        self.n_clusters = n_clusters
        self.kernel = kernel
        self.kernel_param = kernel_param
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.sharpness = sharpness
        self.sharpness_start = sharpness_start
        self.anneal_epochs = anneal_epochs
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.n_restarts = n_restarts
        self.fourier_features = fourier_features
        self.fourier_scale = fourier_scale
        self.standardize = standardize
        self.random_state = random_state
        self.verbose = verbose
        self.solver = solver
        self.memory_limit = memory_limit
        self.batch_size = batch_size
        self.n_components = n_components

    # ------------------------------------------------------------------------------- presets
    @classmethod
    def seed_preset(cls, n_clusters: int = 3, **overrides) -> "NeuralSoftClustering":
        """The notes' configuration: raw (unscaled) data, rational kernel s = 0.1, A = 3,
        3 x Dense(20, relu), Adam with its defaults, full batch, up to 5000 epochs,
        EarlyStopping(patience=50, min_delta=0.01), one network."""
        params = dict(n_clusters=n_clusters, kernel="rational", kernel_param=0.1,
                      hidden_layers=(20, 20, 20), activation="relu", sharpness=3.0,
                      sharpness_start=0.0, anneal_epochs=500, optimizer="adam",
                      learning_rate=0.001, max_epochs=5000, patience=50, min_delta=0.01,
                      n_restarts=1, fourier_features=0, fourier_scale=0.5, standardize=False)
        params.update(overrides)
        return cls(**params)

    @classmethod
    def recommended(cls, n_clusters: int = 3, **overrides) -> "NeuralSoftClustering":
        """Settings that find the blobs, moons and circles partitions without looking at labels.

        Standardised inputs; the diffusion kernel (t = 0.2 N random-walk steps on the 10-NN graph,
        see :mod:`clustering.kernels`), which makes the shape-following partition the clear optimum;
        the seed's network (3 x Dense(20, relu), A = 3) trained by Adam at 0.01; early stopping
        with min_delta 0.001 (the loss lies in [-K, 0]); 5 restarts, keeping the lowest loss.
        """
        params = dict(n_clusters=n_clusters, kernel="diffusion", kernel_param=0.2,
                      hidden_layers=(20, 20, 20), activation="relu", sharpness=3.0,
                      sharpness_start=0.0, anneal_epochs=500, optimizer="adam",
                      learning_rate=0.01, max_epochs=5000, patience=50, min_delta=0.001,
                      n_restarts=5, fourier_features=0, fourier_scale=0.5, standardize=True)
        params.update(overrides)
        return cls(**params)

    # ------------------------------------------------------------------------------- checks
    def _check_params(self, n_samples: int) -> dict:
        p = {}
        p["n_clusters"] = limits.check("n_clusters", _int("n_clusters", self.n_clusters, 1),
                                       "n_clusters")
        if p["n_clusters"] > n_samples:
            raise ConfigError(f"n_clusters: {p['n_clusters']} clusters for {n_samples} points; "
                              "use at most one cluster per point.")
        p["kernel"] = kern.get_kernel(self.kernel)
        p["kernel_param"] = kern.check_param(p["kernel"], self.kernel_param, n_samples)
        layers = self.hidden_layers
        if isinstance(layers, (numbers.Integral,)) and not isinstance(layers, bool):
            layers = (layers,)
        if not isinstance(layers, (tuple, list)):
            raise ConfigError(f"hidden_layers: expected a list of layer sizes such as (20, 20, 20), "
                              f"got {layers!r}.")
        limits.check("hidden_layers", len(layers), "hidden_layers")
        p["hidden_layers"] = tuple(limits.check("layer_units", _int(f"hidden_layers[{i}]", u, 1),
                                                f"hidden_layers[{i}]")
                                   for i, u in enumerate(layers))
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation: unknown activation {self.activation!r}; choose one of "
                              f"{', '.join(ACTIVATIONS)}.")
        p["sharpness"] = _float("sharpness", self.sharpness, 0.0)
        p["sharpness_start"] = _float("sharpness_start", self.sharpness_start, 0.0, strict=False)
        p["anneal_epochs"] = limits.check("epochs", _int("anneal_epochs", self.anneal_epochs, 1),
                                          "anneal_epochs")
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in OPTIMIZERS:
            raise ConfigError(f"optimizer: unknown optimizer {self.optimizer!r}; choose one of "
                              f"{', '.join(OPTIMIZERS)}.")
        p["optimizer"] = self.optimizer.lower()
        p["learning_rate"] = _float("learning_rate", self.learning_rate, 0.0)
        p["max_epochs"] = limits.check("epochs", _int("max_epochs", self.max_epochs, 1),
                                       "max_epochs")
        p["patience"] = _int("patience", self.patience, 1)
        p["min_delta"] = _float("min_delta", self.min_delta, 0.0, strict=False)
        p["n_restarts"] = limits.check("restarts", _int("n_restarts", self.n_restarts, 1),
                                       "n_restarts")
        p["fourier_features"] = limits.check(
            "fourier_features", _int("fourier_features", self.fourier_features, 0),
            "fourier_features")
        p["fourier_scale"] = _float("fourier_scale", self.fourier_scale, 0.0)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ConfigError(f"standardize: expected true or false, got {self.standardize!r}.")
        if self.random_state is None:
            p["random_state"] = 0
        else:
            p["random_state"] = _int("random_state", self.random_state, 0, 2**31 - 1)
        if not isinstance(self.solver, str) or self.solver not in SOLVERS:
            raise ConfigError(f"solver: expected one of {', '.join(SOLVERS)}, got "
                              f"{self.solver!r}.")
        return p

    def plan(self, X=None, n_samples: Optional[int] = None,
             n_features: Optional[int] = None) -> ScalePlan:
        """The solver this estimator would use on ``X`` (or on data of the given shape) and its
        memory estimate; raises :class:`ConfigError` naming the setting to change when the job
        would exceed ``memory_limit``. Cheap (no training); the app calls it before a run."""
        Xs = None
        if X is not None:
            X = self._validate(X, reset=False) if hasattr(self, "n_features_in_") else \
                check_array(X, dtype=np.float64)
            n_samples, n_features = X.shape
            Xs = StandardScaler().fit_transform(X) if self.standardize else X
        if n_samples is None or n_features is None:
            raise ConfigError("plan: give the data X, or n_samples and n_features.")
        p = self._check_params(int(n_samples))
        if p["kernel"].name != "threshold":
            Xs = None  # only the radius graph needs the points to be sized
        return plan_solver(int(n_samples), int(n_features), n_clusters=p["n_clusters"],
                           kernel=p["kernel"], kernel_param=p["kernel_param"],
                           hidden_layers=p["hidden_layers"], solver=self.solver,
                           memory_limit=self.memory_limit, batch_size=self.batch_size,
                           n_components=self.n_components, X=Xs,
                           optimizer=p["optimizer"], fourier_features=p["fourier_features"])

    def _objective(self, plan: ScalePlan, kernel, param, Xs: np.ndarray, x_t, seed: int,
                   approx: Optional[dict] = None):
        """The loss's objective for the plan's solver on the (standardised) points ``Xs``;
        ``approx`` reuses a fitted approximation (same features / landmarks) on new points."""
        if plan.solver == "dense":
            M = kern.kernel_matrix(Xs, kernel, param, dtype=np.float32)
            return _DenseObjective(x_t, ops.convert_to_tensor(M), kernel.minimise), None
        if plan.solver == "sparse":
            return _EdgeObjective(x_t, kern.sparse_kernel(Xs, kernel, param),
                                  kernel.minimise), None
        kind = _approx_kind(kernel.name)
        if kind == "fourier":
            if approx is None:
                W, b = kern.fourier_weights(kernel, param, Xs.shape[1], plan.n_components, seed)
                approx = {"kind": kind, "W": W, "b": b}
            return _FactorObjective(kind, x_t, Xs, kernel.minimise, W=approx["W"],
                                    b=approx["b"]), approx
        if kind == "landmark":
            # the mean of LANDMARK_DRAWS landmark kernels (independent landmark samples): one
            # sample's kernel varies with the draw, the mean much less (moons at N = 20,000:
            # ARI 0.83..0.99 over single draws)
            from sklearn.neighbors import NearestNeighbors

            if approx is None:
                draws = []
                for r in range(LANDMARK_DRAWS):
                    idx, _, F = kern.landmark_diffusion(Xs, param, plan.n_components,
                                                        seed + 104729 * r)
                    draws.append((Xs[idx].copy(), F))
                approx = {"kind": kind, "draws": draws}
            # the per-point factor rows, N x (sum of the draws' ranks): its size is known
            # exactly only now (the rank grows as tau shrinks), so it is checked before it is
            # allocated, and filled in place (no list of blocks and a concatenated copy)
            ranks = [F.shape[1] for _, F in approx["draws"]]
            need = 4 * Xs.shape[0] * sum(ranks)
            if need > plan.limit:
                raise ConfigError(
                    f"memory_limit: landmark diffusion at tau = {param:g} has rank "
                    f"{sum(ranks)} over {len(ranks)} landmark draws, so its factor takes "
                    f"{_fmt_bytes(need)} for {Xs.shape[0]} points, above the limit of "
                    f"{_fmt_bytes(plan.limit)}. Raise kernel_param (tau) or memory_limit, or "
                    "cluster a sample of the rows.")
            factor = np.empty((Xs.shape[0], sum(ranks)), dtype=np.float32)
            scale = np.float32(1.0 / math.sqrt(len(ranks)))
            col = 0
            for landmarks, F in approx["draws"]:
                a = NearestNeighbors(n_neighbors=1).fit(landmarks).kneighbors(
                    Xs, return_distance=False)[:, 0]
                np.multiply(F[a], scale, out=factor[:, col:col + F.shape[1]])
                col += F.shape[1]
            return _FactorObjective(kind, x_t, None, kernel.minimise, factor=factor), approx
        return _FactorObjective("spread", x_t, Xs, kernel.minimise), {"kind": kind}

    # ------------------------------------------------------------------------------- model
    def _build_model(self, p: dict, n_features: int, seed: int, scaler) -> keras.Model:
        inputs = keras.Input(shape=(n_features,), name="x")
        h = inputs
        if scaler is not None:
            h = keras.layers.Normalization(mean=scaler.mean_, variance=scaler.scale_ ** 2,
                                           name="standardize")(h)
        if p["fourier_features"]:
            h = FourierFeatures(p["fourier_features"], p["fourier_scale"], seed=seed + 7919,
                                name="fourier")(h)
        for i, units in enumerate(p["hidden_layers"]):
            h = keras.layers.Dense(units, activation=self.activation, name=f"hidden_{i + 1}",
                                   kernel_initializer=keras.initializers.GlorotUniform(
                                       seed=seed + i))(h)
        z = keras.layers.Dense(p["n_clusters"], name="logits",
                               kernel_initializer=keras.initializers.GlorotUniform(
                                   seed=seed + 1000))(h)
        out = SharpSoftmax(p["sharpness_start"] or p["sharpness"], name="sharp_softmax")(z)
        return keras.Model(inputs, out, name="neural_soft_clustering")

    def _make_optimizer(self, p):
        cls = getattr(keras.optimizers, OPTIMIZERS[self.optimizer.lower()])
        return cls(learning_rate=p["learning_rate"])

    # ------------------------------------------------------------------------------- fit
    def fit(self, X, y=None, *, callback: Optional[Callable[[Progress], None]] = None,
            stop=None) -> "NeuralSoftClustering":
        """Train on ``X`` (n_samples, n_features); ``y`` is ignored.

        ``callback(Progress)`` is called about every :data:`STEPS_PER_CALL` / 2 epochs
        (``metrics={"loss": ...}``, ``payload()`` -> current probabilities; ``step`` counts the
        epochs of all restarts so far, ``total = max_epochs * n_restarts``) and once with
        ``done=True``; ``stop.is_set()`` ends training after the current compiled chunk (at most
        :data:`STEPS_PER_CALL` epochs), starts no further restart and keeps the best network so
        far, the interrupted one included (``stopped_ = True``).
        """
        X = self._validate(X, reset=True)
        n = X.shape[0]
        if n < 2:
            raise DataError(f"Neural clustering needs at least 2 points, got {n}.")
        p = self._check_params(n)
        self.kernel_, self.kernel_param_ = p["kernel"], p["kernel_param"]
        scaler = StandardScaler().fit(X) if self.standardize else None
        self.scaler_ = scaler
        Xs = scaler.transform(X) if scaler is not None else X
        plan = plan_solver(n, X.shape[1], n_clusters=p["n_clusters"], kernel=p["kernel"],
                           kernel_param=p["kernel_param"], hidden_layers=p["hidden_layers"],
                           solver=self.solver, memory_limit=self.memory_limit,
                           batch_size=self.batch_size, n_components=self.n_components,
                           X=Xs if p["kernel"].name == "threshold" else None,
                           optimizer=p["optimizer"], fourier_features=p["fourier_features"])
        self.plan_, self.solver_, self.solver_reason_ = plan, plan.solver, plan.reason
        self.batch_size_ = plan.batch_size
        x_t = ops.convert_to_tensor(X.astype(np.float32))
        objective, self._approx = self._objective(plan, p["kernel"], p["kernel_param"], Xs, x_t,
                                                  p["random_state"])

        rng = np.random.RandomState(p["random_state"])
        seeds = [int(v) for v in rng.randint(0, 2**30, size=p["n_restarts"])]
        self.stopped_ = False
        self.restart_losses_, self.restart_epochs_ = [], []
        # One network and one compiled loop serve every restart (tracing costs ~0.3 s): each
        # restart loads the initial weights of a freshly built network of its own seed and
        # resets the optimiser's state.
        model = self._build_model(p, X.shape[1], seeds[0], scaler)
        trainer = _Trainer(model, self._make_optimizer(p), x_t, objective=objective,
                           batch_size=plan.batch_size, seed=p["random_state"])
        best = None
        total = p["max_epochs"] * p["n_restarts"]
        done_before = 0
        for r, seed in enumerate(seeds):
            if r > 0:
                model.set_weights(self._build_model(p, X.shape[1], seed, scaler).get_weights())
            trainer.reset()
            history, final = self._train_one(trainer, p, callback, stop, r, done_before, total)
            self.restart_losses_.append(final)
            self.restart_epochs_.append(len(history))
            if self.verbose:
                print(f"restart {r + 1}/{p['n_restarts']}: {len(history)} epochs, "
                      f"loss {final:.6g}")
            done_before += len(history)
            if best is None or final < best[2]:
                best = (model.get_weights(), history, final, r)
            if self.stopped_:
                break
        weights, self.loss_history_, self.loss_, self.best_restart_ = best
        model.set_weights(weights)
        self.model_ = model
        self.n_epochs_ = len(self.loss_history_)
        self.proba_ = trainer.proba()
        self.labels_ = np.argmax(self.proba_, axis=1)
        if callback is not None:
            callback(Progress("neural", done_before, total, {"loss": self.loss_},
                              message=self._message(self.best_restart_, self.n_epochs_,
                                                    len(seeds), final=True),
                              payload=lambda: self.proba_, done=True))
        return self

    def _message(self, r, epoch, n_restarts, final=False):
        head = "finished" if final else "training"
        if n_restarts > 1:
            which = "kept restart" if final else "restart"
            return f"{head}: {which} {r + 1}/{n_restarts}, epoch {epoch}"
        return f"{head}: epoch {epoch}"

    def _train_one(self, trainer, p, callback, stop, r, done_before, total):
        """Train from the current weights with per-epoch early stopping (Keras' rule on the
        loss); returns (loss history, final loss)."""
        history: list[float] = []
        best, wait, reported = math.inf, 0, 0
        A0, A1 = p["sharpness_start"], p["sharpness"]
        anneal = A0 > 0 and A0 != A1
        n_anneal = p["anneal_epochs"] if anneal else 0
        trainer.set_sharpness(A0 if anneal else A1)
        while len(history) < p["max_epochs"]:
            epoch = len(history)
            per_call = trainer.epochs_per_call
            steps = min(per_call, p["max_epochs"] - epoch)
            if anneal and epoch < n_anneal:
                # A grows geometrically, updated every tenth of a chunk
                steps = min(steps, max(1, per_call // 10), n_anneal - epoch)
                trainer.set_sharpness(A0 * (A1 / A0) ** (epoch / n_anneal))
            elif anneal:
                trainer.set_sharpness(A1)
            if epoch >= n_anneal:
                # the chunk ends at the first epoch at which the patience rule could stop
                steps = min(steps, p["patience"] - wait)
            losses = trainer.run(steps)
            if not np.all(np.isfinite(losses)):
                bad = int(np.argmin(np.isfinite(losses)))
                raise ConfigError(f"The loss became {losses[bad]} at epoch {epoch + bad + 1}; "
                                  "lower the learning rate or the sharpness.")
            stop_now = False
            for value in losses:
                history.append(float(value))
                if len(history) <= n_anneal:
                    continue  # early stopping starts once A has reached its final value
                wait += 1
                if value < best - p["min_delta"]:  # Keras: improvement when loss + d < best
                    best, wait = value, 0
                elif wait >= p["patience"] and len(history) > 1:
                    stop_now = True
            stop_now = stop_now or len(history) >= p["max_epochs"]
            if callback is not None and (len(history) - reported >= max(1, per_call // 2)
                                         or stop_now):
                reported = len(history)
                callback(Progress("neural", done_before + len(history), total,
                                  {"loss": history[-1]},
                                  message=self._message(r, len(history), p["n_restarts"]),
                                  payload=trainer.proba))
            if stop_requested(stop):
                self.stopped_ = True
                break
            if stop_now:
                break
        trainer.set_sharpness(A1)
        return history, trainer.loss()

    # ------------------------------------------------------------------------------- use
    def _validate(self, X, reset: bool):
        try:
            X = check_array(X, dtype=np.float64, ensure_min_samples=1)
        except ValueError as err:
            raise DataError(f"Neural clustering: {err}") from err
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise DataError(f"Neural clustering: expected {self.n_features_in_} features, "
                            f"got {X.shape[1]}.")
        return X

    def _forward(self, x, model=None) -> np.ndarray:
        model = self.model_ if model is None else model
        return np.asarray(ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Membership probabilities (n_samples, n_clusters) of any points, new ones included."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        out = [self._forward(ops.convert_to_tensor(X[i:i + 65536].astype(np.float32)))
               for i in range(0, X.shape[0], 65536)]
        return np.concatenate(out, axis=0)

    def predict(self, X) -> np.ndarray:
        """The most probable cluster of each point."""
        return np.argmax(self.predict_proba(X), axis=1)

    def fit_predict(self, X, y=None, **fit_params) -> np.ndarray:
        return self.fit(X, **fit_params).labels_

    def loss(self, X) -> float:
        """The loss of the fitted network on ``X`` (kernel recomputed on ``X``)."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        Xs = self.scaler_.transform(X) if self.scaler_ is not None else X
        plan = getattr(self, "plan_", None)
        if plan is None or plan.solver == "dense":
            M = ops.convert_to_tensor(kern.kernel_matrix(Xs, self.kernel_, self.kernel_param_))
            proba = ops.convert_to_tensor(self.predict_proba(X).astype(np.float32))
            return float(ops.convert_to_numpy(cluster_loss(proba, M, self.kernel_.minimise)))
        x_t = ops.convert_to_tensor(X.astype(np.float32))
        objective, _ = self._objective(plan, self.kernel_, self.kernel_param_, Xs, x_t, 0,
                                       approx=self._approx)
        return objective.evaluate(self.predict_proba(X))

    def score(self, X, y=None) -> float:
        """``-loss(X)``: higher is better (scikit-learn's convention)."""
        return -self.loss(X)
