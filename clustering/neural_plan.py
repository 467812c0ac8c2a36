"""Memory planning of a neural clustering job: which solver computes the loss, and its memory.

The dense solver holds the N x N kernel (:data:`AUTO_DENSE_MAX_POINTS` points at most under
``solver="auto"``, :data:`clustering.kernels.MAX_POINTS` at all). Beyond it the loss is computed
from a form of the kernel that is never N x N, as the kernel declares it
(:class:`clustering.kernels.SparseForm`, :class:`~clustering.kernels.ApproxForm`): ``"sparse"``
(the exact kernel's edges, full batch) or ``"approx"`` (a factored kernel on mini-batches).
:func:`estimate_memory` estimates every form's peak bytes, :func:`plan_solver` chooses one under
the memory limit and returns a :class:`ScalePlan` (a :class:`clustering.planning.Plan`) that says
why; nothing here builds or trains anything, and nothing here reads a kernel's name.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from clustering import constraints as cons, distributed, kernels as kern, limits
from clustering.errors import ConfigError
from clustering.i18n import Joined, Message, N_, Text
from clustering.objectives import LANDMARK_DRAWS
from clustering.planning import Plan

__all__ = ["ScalePlan", "plan_solver", "estimate_memory", "network_memory",
           "default_memory_limit", "auto_batch", "SOLVERS", "AUTO_DENSE_MAX_POINTS",
           "AUTO_BATCH_SIZE", "AUTO_FULL_BATCH_POINTS", "AUTO_STEPS_PER_EPOCH",
           "AUTO_FOURIER_COMPONENTS", "AUTO_LANDMARKS", "OPTIMIZER_SLOTS", "WEIGHT_COPIES",
           "SIZE_CONSTRAINT"]

#: Ways of computing the loss (module notes); "auto" lets :func:`plan_solver` choose.
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
#: State arrays each optimiser keeps per trainable weight (Keras defaults: Adam's first and second
#: moments; RMSprop's and Adagrad's accumulator; SGD without momentum none).
OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "nadam": 2, "rmsprop": 1, "sgd": 0, "adagrad": 1,
                   "adamax": 2}
#: Arrays of the size of the trainable weights held besides the optimiser slots: the weights,
#: their gradients, the best network kept so far, and the next restart's freshly built network
#: with its host copy.
WEIGHT_COPIES = 5
#: A size setting (``memory_limit``, ``batch_size``, ``n_components``): a whole number >= 1 or None.
SIZE_CONSTRAINT = [cons.Interval(numbers.Integral, 1, None, closed="left"), None]


def default_memory_limit() -> int:
    """Bytes a job may use when ``memory_limit`` is None: the environment variable
    ``CLUSTERMAP_MEMORY_LIMIT`` (``8G``, ``512M`` or bytes), else a Dask worker's share of the
    container's memory (:func:`clustering.distributed.memory_limit_bytes`, the SOM's and the
    ensemble's budget)."""
    return distributed.memory_limit_bytes(None)


_fmt_bytes = distributed.fmt_bytes


@dataclass(frozen=True, init=False)
class ScalePlan(Plan):
    """How a neural clustering job computes its loss, and what memory that takes.

    A :class:`clustering.planning.Plan` whose ``execution`` is the solver and whose ``details``
    hold ``batch_size``, ``n_components`` and ``estimates``, each also an attribute.

    Attributes
    ----------
    solver : {"dense", "sparse", "approx"}
        The same as ``execution``.
    reason : str
        One sentence saying why (shown by the app): the English text, a
        :class:`~clustering.i18n.Text` that ``i18n.text`` shows in the visitor's language.
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

    def __init__(self, execution: Optional[str] = None, reason="", bytes: int = 0,
                 limit: int = 0, details: Optional[dict] = None, *, solver: Optional[str] = None,
                 batch_size: Optional[int] = None, n_components: Optional[int] = None,
                 estimates: Optional[dict] = None):
        # solver / batch_size / n_components / estimates: the fields of records written before
        # ScalePlan was a Plan, still read back
        details = dict(details or {})
        for key, value in (("batch_size", batch_size), ("n_components", n_components),
                           ("estimates", estimates)):
            if value is not None or key not in details:
                details[key] = value
        for name, value in (("execution", solver if solver is not None else execution),
                            ("reason", reason if isinstance(reason, Text) else Text(reason)),
                            ("bytes", bytes), ("limit", limit), ("details", details)):
            object.__setattr__(self, name, value)

    @property
    def solver(self) -> str:
        return self.execution

    @property
    def batch_size(self) -> int:
        return self.details["batch_size"]

    @property
    def n_components(self) -> Optional[int]:
        return self.details["n_components"]

    @property
    def estimates(self) -> dict:
        return self.details["estimates"]


def auto_batch(n: int, batch_size: Optional[int]) -> int:
    """Points per step of the approximate path: ``batch_size``, or full batch up to
    :data:`AUTO_FULL_BATCH_POINTS` points, else
    ``max(AUTO_BATCH_SIZE, N / AUTO_STEPS_PER_EPOCH)``."""
    if batch_size is not None:
        return int(min(n, batch_size))
    if n <= AUTO_FULL_BATCH_POINTS:
        return int(n)
    return int(min(n, max(AUTO_BATCH_SIZE, math.ceil(n / AUTO_STEPS_PER_EPOCH))))


def _components(approx: Optional[kern.ApproxForm], n: int, n_components: Optional[int]):
    """Fourier features or landmarks of a factored form (None when its size is not set)."""
    if approx is None or not approx.sized:
        return None
    if approx.kind == "fourier":
        return int(n_components or AUTO_FOURIER_COMPONENTS)
    return int(min(n, n_components or AUTO_LANDMARKS))


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


def _sparse_bytes(kernel: kern.Kernel, n: int, K: int, param, X) -> int:
    """The sparse form's edges (CSR + COO copies: int32/int64 indices, float32 values; gathered
    rows and their gradients, 2 x 4 K bytes each) and the build's transient memory."""
    form = kernel.sparse
    edges = form.edges(n, param, X)
    build = form.build_bytes(n, param) if form.build_bytes is not None else 0
    return int(edges * (40 + 8 * K) + build)


def _approx_bytes(kernel: kern.Kernel, n: int, d: int, B: int, param, n_components) -> int:
    """The factored form's own memory on a batch of ``B`` points."""
    kind = kernel.approx.kind
    if kind == "fourier":
        D = _components(kernel.approx, n, n_components)
        return B * D * 4 * 4 + n * d * 4 + d * D * 8
    if kind == "landmark":
        # the landmarks' graph and eigh; per-point factor rows of LANDMARK_DRAWS draws, each of
        # the form's expected rank, plus one draw's rows in passing; checked exactly once the
        # draws are known (clustering.objectives.make_objective)
        L = _components(kernel.approx, n, n_components)
        rank = kernel.approx.rank(param) if kernel.approx.rank is not None else 256
        return 40 * L * L + n * 24 + n * rank * 4 * (LANDMARK_DRAWS + 1)
    return n * d * 4 + B * d * 8


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
    the probabilities, and the kernel in its form: dense, the N x N construction at the kernel's
    ``dense_bytes_per_entry``; sparse, the edges its :class:`~clustering.kernels.SparseForm`
    expects (``X``, when given, sizes a radius graph) at about 40 + 8 K bytes each; approx, the
    batch's features or the landmarks' dense kernel and factor rows. Estimates, not guarantees
    (+-30 %).
    """
    kernel = kern.get_kernel(kernel)
    n, d, K = int(n_samples), int(n_features), int(n_clusters)
    base = n * d * 12 + n * K * 16 + n * 8

    def network(points):
        return network_memory(d, hidden_layers, K, optimizer=optimizer,
                              fourier_features=fourier_features, points=points)

    out: dict = {"dense": None, "sparse": None, "approx": None}
    if n <= kern.MAX_POINTS:
        out["dense"] = int(base + network(n) + kernel.dense_bytes_per_entry * n * n)
    if kernel.sparse is not None or kernel.approx is not None:
        param = kern.check_param(kernel, kernel_param, max(n, 2))
    if kernel.sparse is not None:
        out["sparse"] = int(base + network(n) + _sparse_bytes(kernel, n, K, param, X))
    if kernel.approx is not None:
        B = auto_batch(n, batch_size)
        out["approx"] = int(base + network(max(B, min(n, 65536)))
                            + _approx_bytes(kernel, n, d, B, param, n_components))
    return out


def _large_form(kernel: kern.Kernel) -> Optional[str]:
    return "sparse" if kernel.sparse is not None else "approx" if kernel.approx is not None \
        else None


def plan_solver(n_samples: int, n_features: int, *, n_clusters: int = 3,
                kernel: Any = "diffusion", kernel_param=None,
                hidden_layers: Sequence[int] = (20, 20, 20), solver: str = "auto",
                memory_limit: Optional[int] = None, batch_size: Optional[int] = None,
                n_components: Optional[int] = None, X: Optional[np.ndarray] = None,
                optimizer: str = "adam", fourier_features: int = 0) -> ScalePlan:
    """Choose the solver of a neural clustering job and check its memory.

    ``solver="auto"``: dense up to :data:`AUTO_DENSE_MAX_POINTS` points when it fits
    ``memory_limit`` (None: :func:`default_memory_limit`), else the kernel's large-N form (its
    sparse form, or its factored form), else dense if that alone fits. A named
    solver is checked as given. A kernel with both large-N forms gets the first that fits, the
    sparse (exact) one first.

    Raises
    ------
    ConfigError
        When the job would exceed the limit or the kernel has no form for the solver; the
        message names the setting to change (``solver``, ``memory_limit``, ``batch_size``,
        ``n_components``, ``kernel``) or suggests a sample of the rows.
    """
    solver = cons.check_value("solver", solver, [cons.StrOptions(set(SOLVERS))])
    kernel = kern.get_kernel(kernel)
    limit = cons.check_value("memory_limit", memory_limit, SIZE_CONSTRAINT)
    limit = default_memory_limit() if limit is None else limit
    batch = cons.check_value("batch_size", batch_size, SIZE_CONSTRAINT)
    comps = cons.check_value("n_components", n_components, SIZE_CONSTRAINT)
    if comps is not None:
        limits.check("components", comps, "n_components")
    n = int(n_samples)
    est = estimate_memory(n, n_features, n_clusters=n_clusters, kernel=kernel,
                          kernel_param=kernel_param, hidden_layers=hidden_layers,
                          batch_size=batch, n_components=comps, X=X, optimizer=optimizer,
                          fourier_features=fourier_features)
    net = network_memory(n_features, hidden_layers, n_clusters, optimizer=optimizer,
                         fourier_features=fourier_features)
    job = _Job(n, kernel, est, net, int(limit), batch, comps, tuple(hidden_layers), optimizer)
    if solver == "auto":
        return job.auto()
    return job.named(solver)


@dataclass(frozen=True)
class _Job:
    """One planning question: the estimates of a job, and the plans or refusals they give."""

    n: int
    kernel: kern.Kernel
    est: dict
    net: int
    limit: int
    batch: Optional[int]
    comps: Optional[int]
    hidden_layers: tuple
    optimizer: str

    @property
    def lim(self) -> str:
        return _fmt_bytes(self.limit)

    def plan(self, chosen: str, reason: str) -> ScalePlan:
        if chosen == "approx":
            bsz, nc = auto_batch(self.n, self.batch), _components(self.kernel.approx, self.n,
                                                                  self.comps)
        else:
            bsz, nc = self.n, None
            if self.batch is not None:  # said, not silently dropped
                reason = Message(N_("{reason}; batch_size = {batch} is not used: the {solver} "
                                    "path trains full batch (batch_size applies to "
                                    "solver='approx')"), reason=reason, batch=self.batch,
                                 solver=chosen)
        return ScalePlan(chosen, reason, int(self.est[chosen]), self.limit,
                         dict(batch_size=int(bsz), n_components=nc, estimates=self.est))

    def too_big(self, chosen: str) -> ConfigError:
        est, limit = self.est, self.limit
        need = _fmt_bytes(est[chosen])
        alt = [Message(N_("solver='{solver}' needs about {size}"), solver=s,
                       size=_fmt_bytes(est[s])) for s in ("dense", "sparse", "approx")
               if s != chosen and est[s] is not None and est[s] <= limit]
        hint = Message(N_("; {alternatives} (solver)"), alternatives=Joined(alt, ", ")) \
            if alt else ""
        fewer = ""
        if chosen == "approx" and self.kernel.approx.sized:
            fewer = Message(N_(", lower n_components or batch_size"))
        if 2 * self.net > est[chosen]:  # the network's weights dominate: say so, and what to lower
            return ConfigError(
                N_("memory_limit: a network of hidden_layers = {layers} (optimizer {optimizer}) "
                   "needs about {need}, its weights, gradients and optimiser slots {size}, above "
                   "the limit of {limit}. Use fewer or narrower hidden layers, or raise "
                   "memory_limit or the environment variable {env}."),
                layers=self.hidden_layers, optimizer=self.optimizer, need=need,
                size=_fmt_bytes(self.net), limit=self.lim, env=distributed.MEMORY_ENV)
        return ConfigError(N_("memory_limit: neural clustering of {n} points with "
                              "solver='{solver}' and the {kernel} kernel needs about {need}, "
                              "above the limit of {limit}{hint}. Raise memory_limit or the "
                              "environment variable {env}{fewer}, or cluster a sample of the "
                              "rows."), n=self.n, solver=chosen, kernel=self.kernel.name,
                           need=need, limit=self.lim, hint=hint, env=distributed.MEMORY_ENV,
                           fewer=fewer)

    def auto(self) -> ScalePlan:
        n, est, lim = self.n, self.est, self.lim
        # the kernel's large-N forms, the sparse (exact) one first; the first that fits
        forms = [f for f in ("sparse", "approx") if est[f] is not None]
        large = next((f for f in forms if est[f] <= self.limit), forms[0] if forms else None)
        dense_ok = est["dense"] is not None and est["dense"] <= self.limit
        if dense_ok and (n <= AUTO_DENSE_MAX_POINTS or large is None):
            return self.plan("dense", Message(N_("dense: {n} points (at most {most} for the "
                                                 "N x N kernel), about {size} of {limit}"),
                                              n=n, most=AUTO_DENSE_MAX_POINTS,
                                              size=_fmt_bytes(est["dense"]), limit=lim))
        if large is not None and est[large] <= self.limit:
            why = (Message(N_("more than {most} points, where a dense step costs O(N^2)"),
                           most=AUTO_DENSE_MAX_POINTS) if n > AUTO_DENSE_MAX_POINTS else
                   Message(N_("the dense kernel needs {size}, above {limit}"),
                           size=_fmt_bytes(est["dense"]), limit=lim))
            form = Message(getattr(self.kernel, large).label)  # translated where it is marked
            return self.plan(large, Message(N_("{solver}: {n} points, {why}; {form} needs about "
                                               "{size} of {limit}"), solver=large, n=n, why=why,
                                            form=form, size=_fmt_bytes(est[large]), limit=lim))
        if large is None:
            if est["dense"] is None:
                others = [k for k in kern.kernel_names() if _large_form(kern.KERNELS[k])]
                raise ConfigError(N_("kernel: the {kernel} kernel has only a dense N x N form, "
                                     "which allows at most {most} points; the data has {n}. "
                                     "Choose a kernel of {kernels}, or cluster a sample of the "
                                     "rows."), kernel=self.kernel.name, most=kern.MAX_POINTS,
                                  n=n, kernels=", ".join(others))
            raise self.too_big("dense")
        raise self.too_big(large)

    def named(self, solver: str) -> ScalePlan:
        est = self.est
        if est[solver] is None:
            if solver == "dense":
                raise ConfigError(N_("solver: the dense N x N kernel allows at most {most} "
                                     "points; the data has {n}. Use solver='auto' or '{form}', "
                                     "or cluster a sample of the rows."), most=kern.MAX_POINTS,
                                  n=self.n, form=_large_form(self.kernel) or "sparse")
            # the solver asked for has no form here, so at most one of the large forms is left
            forms = [s for s in ("sparse", "approx") if est[s] is not None]
            names = dict(kernel=self.kernel.name, solver=solver,
                         sparse=", ".join(kern.kernel_names("sparse")),
                         approx=", ".join(kern.kernel_names("approx")))
            if not forms:
                raise ConfigError(N_("solver: the {kernel} kernel has no {solver} form; use "
                                     "solver='auto' or 'dense' (sparse: {sparse}; approx: "
                                     "{approx})."), **names)
            raise ConfigError(N_("solver: the {kernel} kernel has no {solver} form; use "
                                 "solver='auto' or 'dense' or {form!r} (sparse: {sparse}; "
                                 "approx: {approx})."), form=forms[0], **names)
        if est[solver] > self.limit:
            raise self.too_big(solver)
        return self.plan(solver, Message(N_("{solver}: chosen by the solver setting; about "
                                            "{size} of {limit}"), solver=solver,
                                         size=_fmt_bytes(est[solver]), limit=self.lim))
