"""Proximity kernels M for the neural soft clustering (digest part A).

A kernel turns the points X into an N x N proximity matrix M, usually a function of the squared
distance ``d2_ij = ||x_i - x_j||^2``. The neural method maximises the ratio association
``sum_k (p_k . M p_k) / sum_i p_ik`` (or, for a kernel flagged ``minimise``, minimises it).

Registered kernels (:data:`KERNELS`; the parameter is in the units of the data the kernel sees,
i.e. standardised units when the estimator standardises):

========== ============================================ ========= ==========
name       M_ij                                         parameter default
========== ============================================ ========= ==========
rational   ``s / (d2 + s)`` (the seed's default)        s         0.1
threshold  ``1 if d2 <= eps else 0``                    eps       0.1
identity   ``1 if i == j else 0``                       --        --
spread     ``d2`` (the seed's first form; minimised)    --        --
gaussian   ``exp(-d2 / (2 sigma^2))``                   sigma     0.2
knn        1 if j is among the k nearest neighbours     k         10
           of i or i among those of j (``max(A, A')``),
           1 on the diagonal
diffusion  ``S^t``, ``S = D^-1/2 A D^-1/2`` for the      tau       0.2
           kNN graph A above (k = 10, self-loops), D
           its degrees, ``t = round(tau * N)`` steps
========== ============================================ ========= ==========

The diffusion kernel makes the loss ``-sum_k (p_k . S^t p_k) / n_k`` read (for a graph of even
degree) as minus the summed probability that a t-step walk started at a random point of cluster k
is still in cluster k: it lies in [-K, 0]. Points of one elongated cluster (a moon, a ring) are
then all mutually close, so the partitions that follow the shape of the data beat straight cuts by
a wide margin and gradient training finds them (Kondor & Lafferty 2002 diffusion kernels; Coifman &
Lafon 2006 diffusion maps). The number of steps that spreads a walk over one cluster grows with the
number of points (in 2-D, the graph's hop length shrinks as N^-1/2 and a walk covers sqrt(t) hops),
hence ``t = tau * N``: tau = 0.2 gives t = 100 for N = 500. Measured on moons (2 seeds):
N = 500 and 2000 recover the moons (ARI >= 0.99), N = 1000 once of two (0.76 otherwise), while at
N = 200 the partition along the moons is no longer the loss's optimum (too few points per
neighbourhood).

Large N (no N x N matrix; :mod:`clustering.neural` picks the form by its ``solver``):

* :func:`sparse_kernel` -- the exact kernel as a sparse matrix for the graph kernels
  (:data:`SPARSE_KERNELS`: knn, threshold as a radius graph, identity), O(N k) memory;
* :func:`fourier_weights` -- random Fourier features ``z(x)`` with ``z(x) . z(y) ~ M(x, y)`` for
  the gaussian kernel (scikit-learn's ``RBFSampler``) and the rational one (a Gaussian scale
  mixture, see the function);
* :func:`landmark_diffusion` -- the diffusion kernel of ``n_landmarks`` sampled points, every
  point taking its nearest landmark's row: ``M ~ C M_L C'``.

Add one with :func:`register_kernel`::

    register_kernel(Kernel("cauchy2", "Cauchy squared", "c", 1.0, "(c / (d2 + c))^2",
                           curve=lambda d2, c: (c / (d2 + c)) ** 2))
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from clustering.errors import ConfigError, DataError

__all__ = ["Kernel", "KERNELS", "get_kernel", "register_kernel", "kernel_names",
           "squared_distances", "kernel_matrix", "kernel_curve", "check_param", "MAX_POINTS",
           "DIFFUSION_NEIGHBOURS", "diffusion_steps", "SPARSE_KERNELS", "APPROX_KERNELS",
           "sparse_kernel", "fourier_weights", "landmark_diffusion", "radius_edge_count"]

#: Largest number of points for an N x N kernel (float32: 20,000^2 * 4 bytes = 1.6 GB).
MAX_POINTS = 20_000
#: :func:`kernel_curve` finds neighbours among at most this many points (a sample beyond).
CURVE_POINTS = 500
#: Neighbours of the kNN graph behind the diffusion kernel.
DIFFUSION_NEIGHBOURS = 10
#: Kernels with an exact sparse form (:func:`sparse_kernel`).
SPARSE_KERNELS = ("knn", "threshold", "identity")
#: Kernels with a low-rank approximation (random Fourier features: gaussian, rational; exact
#: rank d + 2: spread; landmarks: diffusion).
APPROX_KERNELS = ("gaussian", "rational", "spread", "diffusion")


@dataclass(frozen=True)
class Kernel:
    """One proximity kernel.

    Attributes
    ----------
    name : str
        Registry key (``"rational"``...).
    label : str
        Human-readable name.
    param_name : str or None
        Name of the single parameter (``"s"``, ``"eps"``, ``"sigma"``, ``"k"``), None if none.
    default_param : float or int or None
        The parameter's default value.
    description : str
        One-line formula and meaning.
    curve : callable or None
        ``curve(d2, param) -> M`` on an array of squared distances (vectorised numpy).
    from_points : callable or None
        ``from_points(X, param) -> M`` for kernels that need the points, not only d2 (kNN).
    minimise : bool
        True when the ratio ``sum_k p_k . M p_k / n_k`` is to be minimised (a spread, not a
        proximity); False (the default) when it is to be maximised.
    integer_param : bool
        The parameter is a whole number (k of kNN).
    curve_from_points : callable or None
        ``curve_from_points(X, param, d2) -> M`` a representative curve for kernels that are not a
        function of the distance alone (kNN: a step at the typical k-th neighbour distance).
    """

    name: str
    label: str
    param_name: Optional[str]
    default_param: Optional[float]
    description: str
    curve: Optional[Callable[[np.ndarray, Any], np.ndarray]] = None
    from_points: Optional[Callable[[np.ndarray, Any], np.ndarray]] = field(default=None,
                                                                           repr=False)
    minimise: bool = False
    integer_param: bool = False
    curve_from_points: Optional[Callable[[np.ndarray, Any, np.ndarray], np.ndarray]] = field(
        default=None, repr=False)

    @property
    def has_param(self) -> bool:
        return self.param_name is not None


#: The registry: name -> :class:`Kernel`.
KERNELS: dict[str, Kernel] = {}


def register_kernel(kernel: Kernel, *, replace: bool = False) -> Kernel:
    """Add ``kernel`` to :data:`KERNELS` (refuses to overwrite a name unless ``replace``)."""
    if not isinstance(kernel, Kernel):
        raise ConfigError(f"register_kernel: expected a Kernel, got {type(kernel).__name__}.")
    if kernel.curve is None and kernel.from_points is None:
        raise ConfigError(f"kernel {kernel.name!r}: give a curve(d2, param) or a "
                          "from_points(X, param) function.")
    if kernel.name in KERNELS and not replace:
        raise ConfigError(f"kernel {kernel.name!r} is already registered; pass replace=True.")
    KERNELS[kernel.name] = kernel
    return kernel


def kernel_names() -> list[str]:
    """The registered kernel names, in registration order."""
    return list(KERNELS)


def get_kernel(name: Any) -> Kernel:
    """The registered kernel ``name``; a :class:`ConfigError` listing the valid names otherwise."""
    if isinstance(name, Kernel):
        return name
    if not isinstance(name, str) or name not in KERNELS:
        raise ConfigError(f"kernel: unknown kernel {name!r}; choose one of "
                          f"{', '.join(KERNELS)}.")
    return KERNELS[name]


def check_param(kernel: Any, param: Any = None, n_samples: Optional[int] = None):
    """The kernel's parameter checked (``None`` -> its default).

    Raises :class:`ConfigError` for a non-number, a value <= 0, a non-integral k, or
    ``k >= n_samples`` for kNN.
    """
    kernel = get_kernel(kernel)
    if not kernel.has_param:
        return None
    if param is None:
        param = kernel.default_param
    what = f"kernel_param ({kernel.param_name} of the {kernel.name} kernel)"
    if isinstance(param, bool) or not isinstance(param, (numbers.Real, np.number)):
        raise ConfigError(f"{what}: expected a number, got {param!r}.")
    value = float(param)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what}: must be a finite number above 0, got {param!r}.")
    if kernel.integer_param:
        if not value.is_integer():
            raise ConfigError(f"{what}: expected a whole number, got {param!r}.")
        k = int(value)
        if kernel.name == "knn" and n_samples is not None and k >= n_samples:
            raise ConfigError(f"{what}: k = {k} neighbours needs more than {k} points; the data "
                              f"has {n_samples}. Use k <= {max(1, n_samples - 1)}.")
        return k
    return value


def squared_distances(X: np.ndarray, Y: Optional[np.ndarray] = None) -> np.ndarray:
    """Exact squared Euclidean distances (scipy's ``cdist``, not the expanded dot-product
    formula, so that ``d2 <= eps`` thresholds are not moved by rounding)."""
    X = np.asarray(X, dtype=np.float64)
    return cdist(X, X if Y is None else np.asarray(Y, dtype=np.float64), "sqeuclidean")


def kernel_matrix(X: np.ndarray, name: Any = "knn", param: Any = None,
                  dtype: Any = np.float32) -> np.ndarray:
    """The N x N proximity matrix of the points ``X`` (n_samples, n_features).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str or Kernel
        A registered kernel.
    param : float, int or None
        The kernel's parameter; None takes its default.
    dtype : numpy dtype, default float32

    Returns
    -------
    M : ndarray of shape (n_samples, n_samples), symmetric.
    """
    kernel = get_kernel(name)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1:
        raise DataError(f"kernel_matrix: expected a 2-D array of points, got shape {X.shape}.")
    if X.shape[0] > MAX_POINTS:
        raise DataError(f"kernel_matrix: {X.shape[0]} points make an N x N kernel too large "
                        f"for memory; use at most {MAX_POINTS} points (e.g. a sample).")
    if not np.all(np.isfinite(X)):
        raise DataError("kernel_matrix: the points contain NaN or infinite values.")
    value = check_param(kernel, param, X.shape[0])
    if kernel.from_points is not None:
        M = kernel.from_points(X, value)
    else:
        M = kernel.curve(squared_distances(X), value)
    return np.asarray(M, dtype=dtype)


def curve_sample(n_points: int, max_points: int = CURVE_POINTS) -> np.ndarray:
    """Row indices of at most ``max_points`` of ``n_points`` points, evenly spaced (deterministic;
    all rows when there are at most ``max_points``)."""
    if n_points <= max_points:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, max_points).round().astype(np.int64))


def kernel_curve(name: Any, param: Any, d2_values: Any, X: Optional[np.ndarray] = None,
                 max_points: int = CURVE_POINTS) -> np.ndarray:
    """M as a function of the squared distance, for plotting.

    The graph kernels (knn, diffusion) are not functions of the distance alone (whether j is a
    neighbour of i depends on the other points): their curve is all NaN (nothing to draw), except
    for kNN given the points ``X``: the step ``1 if d2 <= r2 else 0`` where ``r2`` is the median
    squared distance of a point to its k-th neighbour in ``X`` (the typical reach of the graph).

    Bounded work whatever the size of ``X`` (the app draws this on every rerun): ``k`` is checked
    against all of ``X``, the neighbours are then found among at most ``max_points`` evenly spaced
    points (:func:`curve_sample`), with ``k`` scaled to the sample (``k (m - 1) / (N - 1)``,
    between 1 and ``m - 1``: the same share of the points). At most ``max_points`` points: exact.
    """
    kernel = get_kernel(name)
    d2 = np.asarray(d2_values, dtype=np.float64)
    if kernel.curve is not None:
        return np.asarray(kernel.curve(d2, check_param(kernel, param)), dtype=np.float64)
    if X is None or kernel.curve_from_points is None:
        check_param(kernel, param)
        return np.full(d2.shape, np.nan)
    X = np.asarray(X, dtype=np.float64)
    value = check_param(kernel, param, X.shape[0])
    n = X.shape[0]
    rows = curve_sample(n, max(2, int(max_points)))
    if len(rows) < n and kernel.integer_param:
        m = len(rows)
        value = int(min(m - 1, max(1, round(value * (m - 1) / (n - 1)))))
    return np.asarray(kernel.curve_from_points(X[rows], value, d2), dtype=np.float64)


# ----------------------------------------------------------------------------------- large N
def _check_points(X, where):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1:
        raise DataError(f"{where}: expected a 2-D array of points, got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise DataError(f"{where}: the points contain NaN or infinite values.")
    return X


def sparse_kernel(X: np.ndarray, name: Any = "knn", param: Any = None):
    """The kernel of the points ``X`` as a symmetric ``scipy.sparse`` CSR matrix (float32).

    Equal to :func:`kernel_matrix` entry for entry, without the N x N array: ``knn`` from
    scikit-learn's ``NearestNeighbors`` (``max(A, A')``, ones on the diagonal), ``threshold`` from
    its radius graph (``d2 <= eps``: the pairs within ``sqrt(eps)``), ``identity`` the unit matrix.
    Memory O(N k) for kNN, O(edges) for the radius graph (see :func:`radius_edge_count`).
    """
    import scipy.sparse as sp

    kernel = get_kernel(name)
    if kernel.name not in SPARSE_KERNELS:
        raise ConfigError(f"kernel: the {kernel.name} kernel has no sparse form; sparse kernels: "
                          f"{', '.join(SPARSE_KERNELS)}.")
    X = _check_points(X, "sparse_kernel")
    n = X.shape[0]
    value = check_param(kernel, param, n)
    if kernel.name == "identity":
        return sp.identity(n, dtype=np.float32, format="csr")
    if kernel.name == "knn":
        _, idx = NearestNeighbors(n_neighbors=value + 1).fit(X).kneighbors(X)
        A = sp.csr_matrix((np.ones(idx.size, dtype=np.float32),
                           (np.repeat(np.arange(n), value + 1), idx.ravel())), shape=(n, n))
        A.data[:] = 1.0  # a duplicate pair listed twice counts once
    else:  # threshold: radius graph; the boundary re-checked exactly (as squared_distances)
        G = NearestNeighbors(radius=math.sqrt(value) * (1 + 1e-9)).fit(X).radius_neighbors_graph(
            X, mode="connectivity").tocoo()
        keep = ((X[G.row] - X[G.col]) ** 2).sum(axis=1) <= value
        A = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32),
                           (G.row[keep], G.col[keep])), shape=(n, n))
    # symmetrise and put ones on the diagonal (entries are 0 / 1, so both are maxima)
    A = A.maximum(A.T).maximum(sp.identity(n, dtype=np.float32, format="csr"))
    return A.tocsr().astype(np.float32)


def radius_edge_count(X: np.ndarray, eps: float, sample: int = 500, seed: int = 0) -> int:
    """Estimated number of pairs with ``d2 <= eps`` (ordered, the diagonal included), from the
    neighbour counts of ``sample`` random points: sizes the threshold kernel's sparse form."""
    X = _check_points(X, "radius_edge_count")
    n = X.shape[0]
    rng = np.random.RandomState(seed)
    idx = rng.choice(n, min(n, sample), replace=False)
    tree = NearestNeighbors(radius=math.sqrt(eps)).fit(X)
    counts = np.array([len(r) for r in tree.radius_neighbors(X[idx], return_distance=False)])
    return int(math.ceil(counts.mean() * n))


def fourier_weights(name: Any, param: Any, n_features: int, n_components: int,
                    random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random Fourier features of a shift-invariant kernel (Rahimi & Recht 2007).

    Returns ``(W, b)`` of shapes (n_features, n_components) and (n_components,) such that
    ``z(x) = sqrt(2 / D) cos(x W + b)`` gives ``z(x) . z(y) ~ M(x, y)`` (error O(D^-1/2)).

    * gaussian ``exp(-d2 / (2 sigma^2))``: ``W ~ N(0, sigma^-2)``, drawn by scikit-learn's
      ``RBFSampler`` (gamma = 1 / (2 sigma^2));
    * rational ``s / (d2 + s) = int_0^inf exp(-u) exp(-u d2 / s) du``: a mixture of Gaussians,
      so each column is ``sqrt(2 u / s) N(0, 1)`` with its own ``u ~ Exp(1)``. Written here
      because scikit-learn's samplers cover the RBF, chi-squared and polynomial kernels only.
    """
    from sklearn.kernel_approximation import RBFSampler

    kernel = get_kernel(name)
    value = check_param(kernel, param)
    D = int(n_components)
    if kernel.name == "gaussian":
        sampler = RBFSampler(gamma=1.0 / (2.0 * value * value), n_components=D,
                             random_state=random_state).fit(np.zeros((1, n_features)))
        return sampler.random_weights_.astype(np.float64), sampler.random_offset_.astype(
            np.float64)
    if kernel.name == "rational":
        rng = np.random.RandomState(random_state)
        u = rng.exponential(1.0, size=D)
        W = rng.standard_normal((n_features, D)) * np.sqrt(2.0 * u / value)[None, :]
        return W, rng.uniform(0.0, 2.0 * math.pi, size=D)
    raise ConfigError(f"kernel: random Fourier features exist for the gaussian and rational "
                      f"kernels, not {kernel.name}.")


def landmark_diffusion(X: np.ndarray, tau: Any = None, n_landmarks: int = 2000,
                       random_state: int = 0, tol: float = 1e-4, max_rank: int = 256):
    """The diffusion kernel through ``n_landmarks`` landmarks, in factored form.

    ``n_landmarks`` points drawn at random (uniformly, so they follow the data's density) get the
    diffusion kernel among themselves, ``S^t`` with ``t = round(tau * L)`` as in
    :func:`kernel_matrix`; every point ``i`` takes its nearest landmark ``a_i``, so
    ``M_ij ~ (L / N) S^t[a_i, a_j]`` (the factor ``L / N``, as each landmark stands for about
    N / L points, keeps the dense kernel's loss range [-K, 0]). ``S^t`` is taken from the
    eigendecomposition ``S = V diag(lam) V'`` (one symmetric ``eigh``, cheaper than the matrix
    power): ``S^t ~ G G'`` with ``G = V_r diag(lam_r^(t/2))`` over the eigenvalues whose
    ``lam^t`` exceeds ``tol`` times the largest (at most ``max_rank``; negative ``lam^t`` of an
    odd t, at most ``tol`` in size, are dropped). The N x N kernel is never formed.

    Returns ``(landmarks, assign, G)``: landmark row positions (L,), assignment (n_samples,)
    int32, factor (L, r) float32 with ``G G' ~ (L / N) S^t``.
    """
    X = _check_points(X, "landmark_diffusion")
    n = X.shape[0]
    tau = check_param("diffusion", tau, n)
    L = int(min(max(2, n_landmarks), n))
    rng = np.random.RandomState(random_state)
    landmarks = np.sort(rng.choice(n, L, replace=False)) if L < n else np.arange(n)
    XL = X[landmarks]
    t = diffusion_steps(tau, L)
    A = _knn(XL, min(DIFFUSION_NEIGHBOURS, L - 1))
    d = A.sum(axis=1)
    lam, V = np.linalg.eigh(A / np.sqrt(np.outer(d, d)))
    power = np.sign(lam) * np.abs(lam) ** t
    order = np.argsort(-power)[:max_rank]
    keep = order[power[order] > tol * power.max()]
    G = V[:, keep] * np.sqrt(power[keep] * (L / n))[None, :]
    if L == n:
        assign = np.arange(n)
    else:
        assign = NearestNeighbors(n_neighbors=1).fit(XL).kneighbors(
            X, return_distance=False)[:, 0]
    return landmarks, assign.astype(np.int32), G.astype(np.float32)


# ----------------------------------------------------------------------------------- kernels
def _rational(d2, s):
    return s / (d2 + s)


def _threshold(d2, eps):
    return (d2 <= eps).astype(np.float64)


def _identity(d2, _):
    d2 = np.asarray(d2)
    if d2.ndim == 2 and d2.shape[0] == d2.shape[1]:
        return np.eye(d2.shape[0])
    return (d2 == 0).astype(np.float64)  # as a curve: 1 at distance 0 only


def _spread(d2, _):
    return np.asarray(d2, dtype=np.float64)


def _gaussian(d2, sigma):
    return np.exp(-np.asarray(d2) / (2.0 * sigma * sigma))


def _knn(X, k):
    """Symmetrised k-nearest-neighbour adjacency ``max(A, A')`` with ones on the diagonal."""
    n = X.shape[0]
    # k + 1 neighbours: each point is its own nearest one (kept as the diagonal)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    A = np.zeros((n, n))
    A[np.repeat(np.arange(n), k + 1), idx.ravel()] = 1.0
    A[np.arange(n), np.arange(n)] = 1.0  # duplicates may push a point out of its own list
    return np.maximum(A, A.T)


def _knn_reach(X, k, d2):
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return (d2 <= float(np.median(dist[:, k] ** 2))).astype(np.float64)


def diffusion_steps(tau: float, n_samples: int) -> int:
    """The random-walk steps of the diffusion kernel: ``max(1, round(tau * n_samples))``."""
    return max(1, int(round(tau * n_samples)))


def _diffusion(X, tau):
    """``S^t`` for ``S = D^-1/2 A D^-1/2``, A the kNN kernel (k = 10 or N - 1 if fewer points),
    ``t = round(tau N)``."""
    n = X.shape[0]
    t = diffusion_steps(tau, n)
    if n == 1:
        return np.ones((1, 1))
    A = _knn(X, min(DIFFUSION_NEIGHBOURS, n - 1))
    d = A.sum(axis=1)
    # float32 halves the ~log2(t) dense products on large inputs; float64 otherwise
    S = (A / np.sqrt(np.outer(d, d))).astype(np.float32 if n > 2000 else np.float64)
    M = np.linalg.matrix_power(S, int(t))  # repeated squaring
    return (M + M.T) / 2  # exact symmetry despite rounding


for _k in (
    Kernel("rational", "Rational (the seed's)", "s", 0.1,
           "M = s / (d² + s): 1 at distance 0, 1/2 at d² = s; the notes use s = 0.1.",
           curve=_rational),
    Kernel("threshold", "Hard threshold", "eps", 0.1,
           "M = 1 if d² <= eps else 0: only points closer than sqrt(eps) count.",
           curve=_threshold),
    Kernel("identity", "Identity", None, None,
           "M = I (each point only with itself): every partition into K non-empty clusters "
           "scores exactly K, so the loss cannot tell partitions apart.",
           curve=_identity),
    Kernel("spread", "Spread (the seed's first form)", None, None,
           "M = d², minimised: the within-cluster spread sum_k p_k·D p_k / n_k (k-means-like).",
           curve=_spread, minimise=True),
    Kernel("gaussian", "Gaussian", "sigma", 0.2,
           "M = exp(-d² / (2 sigma²)): a smooth bump of width sigma.",
           curve=_gaussian),
    Kernel("knn", "k nearest neighbours", "k", 10,
           "M = 1 when j is among the k nearest neighbours of i or i among those of j "
           "(symmetrised), 1 on the diagonal: a graph kernel that follows the shape of the data.",
           from_points=_knn, integer_param=True, curve_from_points=_knn_reach),
    Kernel("diffusion", "Diffusion on the kNN graph", "tau", 0.2,
           "M = S^t, S = D^-1/2 A D^-1/2 for the 10-nearest-neighbour graph A, t = tau x N steps: "
           "how likely a t-step random walk links two points; whole moons and rings become close.",
           from_points=_diffusion),
):
    register_kernel(_k)
