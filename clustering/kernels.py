"""Proximity kernels M for the neural soft clustering, and what each one can do.

A kernel turns the points X into an N x N proximity matrix M, usually a function of the squared
distance ``d2_ij = ||x_i - x_j||^2``. The neural method (:mod:`clustering.neural`) maximises the
ratio association ``sum_k (p_k . M p_k) / sum_i p_ik`` (the loss of the neural clustering
notes, which number no formulas), or, for a kernel flagged ``minimise``, minimises it.

Registered kernels (:data:`KERNELS`; the parameter is in the units of the data the kernel sees,
i.e. standardised units when the estimator standardises):

========== ============================================ ========= ======= ==================
name       M_ij                                         parameter default large-N forms
========== ============================================ ========= ======= ==================
rational   ``s / (d2 + s)`` (the notes' default)        s         0.1     Fourier features
threshold  ``1 if d2 <= eps else 0``                    eps       0.1     sparse (radius)
identity   ``1 if i == j else 0``                       --        --      sparse
spread     ``d2`` (the notes' first form; minimised)    --        --      exact factor
gaussian   ``exp(-d2 / (2 sigma^2))``                   sigma     0.2     Fourier features
knn        1 if j is among the k nearest neighbours     k         10      sparse
           of i or i among those of j (``max(A, A')``),
           1 on the diagonal
diffusion  ``S^t``, ``S = D^-1/2 A D^-1/2`` for the      tau       0.2     landmarks
           kNN graph A above (k = 10, self-loops), D
           its degrees, ``t = round(tau * N)`` steps
========== ============================================ ========= ======= ==================

The diffusion kernel makes the loss ``-sum_k (p_k . S^t p_k) / n_k`` read (for a graph of even
degree) as minus the summed probability that a t-step walk started at a random point of cluster k
is still in cluster k: it lies in [-K, 0]. Points of one elongated cluster (a moon, a ring) are
then all mutually close, so the partitions that follow the shape of the data beat straight cuts by
a wide margin and gradient training finds them (Kondor & Lafferty 2002 diffusion kernels; Coifman &
Lafon 2006 diffusion maps). The number of steps that spreads a walk over one cluster grows with the
number of points (in 2-D, the graph's hop length shrinks as N^-1/2 and a walk covers sqrt(t) hops),
hence ``t = tau * N``: tau = 0.2 gives t = 100 for N = 500 (measurements: ``docs/neural.md``).

Capabilities. Every :class:`Kernel` says what it can do, and the solver code
(:mod:`clustering.neural_plan`, :mod:`clustering.objectives`) reads only that, never the name:

* ``sparse`` (a :class:`SparseForm`): the exact kernel as a sparse matrix, O(edges) memory --
  :func:`sparse_kernel` (knn, threshold as a radius graph, identity);
* ``approx`` (an :class:`ApproxForm`): a factored form ``M ~ C G C'`` -- random Fourier features
  ``z(x) . z(y) ~ M(x, y)`` from a spectral sample (:func:`fourier_weights`: gaussian, rational),
  landmarks (:func:`landmark_diffusion`: the diffusion kernel of sampled points, every point taking
  its nearest landmark's row), or the exact rank d + 2 factor of the squared distance (spread);
* ``dense_bytes_per_entry``, ``check_samples`` (the parameter against the number of points) and
  ``help`` (what the parameter does, for the forms).

Add one with :func:`register_kernel`::

    register_kernel(Kernel("cauchy2", "Cauchy squared", "c", 1.0, "(c / (d2 + c))^2",
                           curve=lambda d2, c: (c / (d2 + c)) ** 2, help="c: the scale."))
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
from clustering.i18n import Message, N_

__all__ = ["Kernel", "SparseForm", "ApproxForm", "APPROX_KINDS", "KERNELS", "get_kernel",
           "register_kernel", "unregister_kernel", "kernel_names", "squared_distances",
           "kernel_matrix", "kernel_curve", "check_param", "MAX_POINTS", "DIFFUSION_NEIGHBOURS",
           "diffusion_steps", "sparse_kernel", "fourier_weights", "gaussian_spectrum",
           "rational_spectrum", "landmark_diffusion", "radius_edge_count"]

#: Largest number of points for an N x N kernel (float32: 20,000^2 * 4 bytes = 1.6 GB).
MAX_POINTS = 20_000
#: :func:`kernel_curve` finds neighbours among at most this many points (a sample beyond).
CURVE_POINTS = 500
#: Neighbours of the kNN graph behind the diffusion kernel.
DIFFUSION_NEIGHBOURS = 10
#: Kinds of factored form (:class:`ApproxForm`): random Fourier features, landmarks, the exact
#: factor of the squared distance.
APPROX_KINDS = ("fourier", "landmark", "squared_distance")


@dataclass(frozen=True)
class SparseForm:
    """An exact sparse form of a kernel.

    Attributes
    ----------
    build : callable
        ``build(X, param) -> scipy.sparse CSR`` (float32, symmetric), equal to the dense kernel
        entry for entry.
    edges : callable
        ``edges(n_samples, param, X) -> int``: the stored entries expected (``X`` may be None:
        then an estimate without the points).
    build_bytes : callable or None
        ``build_bytes(n_samples, param) -> int``: transient memory of the build (a neighbour
        search's distances and indices); None: nothing beyond the edges.
    label : str
        How a plan's reason names it.
    """

    build: Callable[[np.ndarray, Any], Any]
    edges: Callable[[int, Any, Optional[np.ndarray]], int]
    build_bytes: Optional[Callable[[int, Any], int]] = None
    label: str = "the sparse kernel"


@dataclass(frozen=True)
class ApproxForm:
    """A factored form ``M ~ C G C'`` of a kernel, never N x N.

    Attributes
    ----------
    kind : {"fourier", "landmark", "squared_distance"}
        ``"fourier"``: random Fourier features ``C = z(X)``, ``G = I``;
        ``"landmark"``: every point's nearest landmark's factor row;
        ``"squared_distance"``: ``d2_ij = |x_i|^2 + |x_j|^2 - 2 x_i . x_j``, exact.
    sample : callable or None
        ``"fourier"``: ``sample(param, n_features, n_components, seed) -> (W, b)`` with
        ``z(x) = sqrt(2 / D) cos(x W + b)``; ``"landmark"``:
        ``sample(X, param, n_landmarks, seed) -> (landmark rows, assignment, factor)``.
    rank : callable or None
        ``"landmark"``: ``rank(param) -> int``, the expected rank of the landmark factor, which
        sizes the memory estimate (checked exactly once the factor is known).
    label : str
        How a plan's reason names it.
    """

    kind: str
    sample: Optional[Callable] = field(default=None, repr=False)
    rank: Optional[Callable[[Any], int]] = field(default=None, repr=False)
    label: str = "a factored kernel"

    @property
    def sized(self) -> bool:
        """Whether ``n_components`` (features or landmarks) sets its size."""
        return self.kind in ("fourier", "landmark")


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
    help : str
        What the parameter does, in a sentence or two (the forms' help text).
    sparse : SparseForm or None
        The exact sparse form, if any (``solver="sparse"``).
    approx : ApproxForm or None
        The factored form, if any (``solver="approx"``).
    dense_bytes_per_entry : int
        Bytes per entry of the N x N construction (float64 distances and values, float32
        copies: 24; 40 for the graph kernels' matrices and powers).
    check_samples : callable or None
        ``check_samples(value, n_samples, what)`` raises :class:`ConfigError` when the checked
        parameter does not suit ``n_samples`` points (k neighbours need more than k points).
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
    help: str = ""
    sparse: Optional[SparseForm] = field(default=None, repr=False)
    approx: Optional[ApproxForm] = field(default=None, repr=False)
    dense_bytes_per_entry: int = 24
    check_samples: Optional[Callable[[Any, int, str], None]] = field(default=None, repr=False)

    @property
    def has_param(self) -> bool:
        return self.param_name is not None

    def forms(self) -> tuple:
        """The solvers this kernel supports: ``"dense"`` always, ``"sparse"``, ``"approx"``."""
        return ("dense",) + (("sparse",) if self.sparse else ()) + (("approx",) if self.approx
                                                                     else ())


#: The registry: name -> :class:`Kernel`.
KERNELS: dict[str, Kernel] = {}


def register_kernel(kernel: Kernel, *, replace: bool = False) -> Kernel:
    """Add ``kernel`` to :data:`KERNELS` (refuses to overwrite a name unless ``replace``)."""
    if not isinstance(kernel, Kernel):
        raise ConfigError(N_("register_kernel: expected a Kernel, got {type}."),
                          type=type(kernel).__name__)
    if kernel.curve is None and kernel.from_points is None:
        raise ConfigError(N_("kernel {name!r}: give a curve(d2, param) or a "
                             "from_points(X, param) function."), name=kernel.name)
    if kernel.sparse is not None and not isinstance(kernel.sparse, SparseForm):
        raise ConfigError(N_("kernel {name!r}: sparse must be a SparseForm."), name=kernel.name)
    if kernel.approx is not None:
        if not isinstance(kernel.approx, ApproxForm) or kernel.approx.kind not in APPROX_KINDS:
            raise ConfigError(N_("kernel {name!r}: approx must be an ApproxForm of kind "
                                 "{kinds}."), name=kernel.name, kinds=", ".join(APPROX_KINDS))
        if kernel.approx.sized and kernel.approx.sample is None:
            raise ConfigError(N_("kernel {name!r}: a {kind} form needs its sample function."),
                              name=kernel.name, kind=kernel.approx.kind)
    if kernel.name in KERNELS and not replace:
        raise ConfigError(N_("kernel {name!r} is already registered; pass replace=True."),
                          name=kernel.name)
    KERNELS[kernel.name] = kernel
    return kernel


def unregister_kernel(name: str) -> None:
    """Remove the kernel ``name`` from :data:`KERNELS` (nothing when it is not registered)."""
    KERNELS.pop(name, None)


def kernel_names(form: Optional[str] = None) -> list[str]:
    """The registered kernel names, in registration order; with ``form`` ("dense", "sparse",
    "approx") only those of kernels that have that form."""
    return [name for name, k in KERNELS.items() if form is None or form in k.forms()]


def get_kernel(name: Any) -> Kernel:
    """The registered kernel ``name``; a :class:`ConfigError` listing the valid names otherwise."""
    if isinstance(name, Kernel):
        return name
    if not isinstance(name, str) or name not in KERNELS:
        raise ConfigError(N_("kernel: unknown kernel {name!r}; choose one of {names}."),
                          name=name, names=", ".join(KERNELS))
    return KERNELS[name]


def check_param(kernel: Any, param: Any = None, n_samples: Optional[int] = None):
    """The kernel's parameter checked (``None`` -> its default).

    Raises :class:`ConfigError` for a non-number, a value <= 0, a non-integral value of a
    whole-number parameter, or a value the kernel's ``check_samples`` refuses for ``n_samples``
    points (k >= N for kNN).
    """
    kernel = get_kernel(kernel)
    if not kernel.has_param:
        return None
    if param is None:
        param = kernel.default_param
    what = Message(N_("kernel_param ({param} of the {kernel} kernel)"),
                   param=kernel.param_name, kernel=kernel.name)
    if isinstance(param, bool) or not isinstance(param, (numbers.Real, np.number)):
        raise ConfigError(N_("{what}: expected a number, got {value!r}."), what=what, value=param)
    value = float(param)
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(N_("{what}: must be a finite number above 0, got {value!r}."),
                          what=what, value=param)
    if kernel.integer_param:
        if not value.is_integer():
            raise ConfigError(N_("{what}: expected a whole number, got {value!r}."),
                              what=what, value=param)
        value = int(value)
    if kernel.check_samples is not None and n_samples is not None:
        kernel.check_samples(value, n_samples, what)
    return value


def _check_neighbours(k: int, n_samples: int, what: str) -> None:
    if k >= n_samples:
        raise ConfigError(N_("{what}: k = {k} neighbours needs more than {k} points; the data "
                             "has {n}. Use k <= {most}."), what=what, k=k, n=n_samples,
                          most=max(1, n_samples - 1))


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
        raise DataError(N_("kernel_matrix: expected a 2-D array of points, got shape {shape}."),
                        shape=X.shape)
    if X.shape[0] > MAX_POINTS:
        raise DataError(N_("kernel_matrix: {n} points make an N x N kernel too large for memory; "
                           "use at most {most} points (e.g. a sample)."),
                        n=X.shape[0], most=MAX_POINTS)
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
        raise DataError(N_("{where}: expected a 2-D array of points, got shape {shape}."),
                        where=where, shape=X.shape)
    if not np.all(np.isfinite(X)):
        raise DataError(N_("{where}: the points contain NaN or infinite values."), where=where)
    return X


def sparse_kernel(X: np.ndarray, name: Any = "knn", param: Any = None):
    """The kernel of the points ``X`` as a symmetric ``scipy.sparse`` CSR matrix (float32).

    Equal to :func:`kernel_matrix` entry for entry, without the N x N array, for a kernel with a
    :class:`SparseForm`: ``knn`` from scikit-learn's ``NearestNeighbors`` (``max(A, A')``, ones
    on the diagonal), ``threshold`` from its radius graph (``d2 <= eps``: the pairs within
    ``sqrt(eps)``), ``identity`` the unit matrix. Memory O(N k) for kNN, O(edges) for the radius
    graph (see :func:`radius_edge_count`).
    """
    kernel = get_kernel(name)
    if kernel.sparse is None:
        raise ConfigError(N_("kernel: the {name} kernel has no sparse form; sparse kernels: "
                             "{names}."), name=kernel.name, names=", ".join(kernel_names("sparse")))
    X = _check_points(X, "sparse_kernel")
    return kernel.sparse.build(X, check_param(kernel, param, X.shape[0]))


def _with_diagonal(A):
    """``max(A, A')`` with ones on the diagonal (entries are 0 / 1, so both are maxima)."""
    import scipy.sparse as sp

    n = A.shape[0]
    A = A.maximum(A.T).maximum(sp.identity(n, dtype=np.float32, format="csr"))
    return A.tocsr().astype(np.float32)


def _sparse_identity(X, _):
    import scipy.sparse as sp

    return sp.identity(X.shape[0], dtype=np.float32, format="csr")


def _sparse_knn(X, k):
    import scipy.sparse as sp

    n = X.shape[0]
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    A = sp.csr_matrix((np.ones(idx.size, dtype=np.float32),
                       (np.repeat(np.arange(n), k + 1), idx.ravel())), shape=(n, n))
    A.data[:] = 1.0  # a duplicate pair listed twice counts once
    return _with_diagonal(A)


def _sparse_radius(X, eps):
    """The radius graph ``d2 <= eps``, the boundary re-checked exactly (as squared_distances)."""
    import scipy.sparse as sp

    n = X.shape[0]
    G = NearestNeighbors(radius=math.sqrt(eps) * (1 + 1e-9)).fit(X).radius_neighbors_graph(
        X, mode="connectivity").tocoo()
    keep = ((X[G.row] - X[G.col]) ** 2).sum(axis=1) <= eps
    return _with_diagonal(sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32),
                                         (G.row[keep], G.col[keep])), shape=(n, n)))


def _knn_edges(n, k, X=None):
    return 2 * n * (k + 1)


def _knn_build_bytes(n, k):
    return n * 16 * (k + 1)  # the neighbour search's distances and indices


def _identity_edges(n, _, X=None):
    return n


def _radius_edges(n, eps, X=None):
    # without the points: assume 64 neighbours within the radius
    return radius_edge_count(X, eps) if X is not None else n * 64


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
    ``z(x) = sqrt(2 / D) cos(x W + b)`` gives ``z(x) . z(y) ~ M(x, y)`` (error O(D^-1/2)), from
    the kernel's spectral sample (its :class:`ApproxForm` of kind ``"fourier"``:
    :func:`gaussian_spectrum`, :func:`rational_spectrum`).
    """
    kernel = get_kernel(name)
    if kernel.approx is None or kernel.approx.kind != "fourier":
        names = _fourier_names()
        listed = names[0] if names else ""
        for other in names[1:]:
            listed = Message(N_("{first} and {second}"), first=listed, second=other)
        raise ConfigError(N_("kernel: random Fourier features exist for the {names} kernels, "
                             "not {name}."), names=listed, name=kernel.name)
    return kernel.approx.sample(check_param(kernel, param), int(n_features), int(n_components),
                                random_state)


def _fourier_names() -> list[str]:
    return [n for n, k in KERNELS.items() if k.approx is not None and k.approx.kind == "fourier"]


def gaussian_spectrum(sigma: float, n_features: int, n_components: int,
                      random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fourier features of ``exp(-d2 / (2 sigma^2))``: ``W ~ N(0, sigma^-2)``, drawn by
    scikit-learn's ``RBFSampler`` (gamma = 1 / (2 sigma^2))."""
    from sklearn.kernel_approximation import RBFSampler

    sampler = RBFSampler(gamma=1.0 / (2.0 * sigma * sigma), n_components=n_components,
                         random_state=random_state).fit(np.zeros((1, n_features)))
    return sampler.random_weights_.astype(np.float64), sampler.random_offset_.astype(np.float64)


def rational_spectrum(s: float, n_features: int, n_components: int,
                      random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fourier features of ``s / (d2 + s) = int_0^inf exp(-u) exp(-u d2 / s) du``: a mixture
    of Gaussians, so each column is ``sqrt(2 u / s) N(0, 1)`` with its own ``u ~ Exp(1)``.
    Written here because scikit-learn's samplers cover the RBF, chi-squared and polynomial
    kernels only."""
    rng = np.random.RandomState(random_state)
    u = rng.exponential(1.0, size=n_components)
    W = rng.standard_normal((n_features, n_components)) * np.sqrt(2.0 * u / s)[None, :]
    return W, rng.uniform(0.0, 2.0 * math.pi, size=n_components)


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


def _diffusion_rank(tau: float) -> int:
    """Rank of the landmarks' ``S^t`` above the tolerance: about 2.5 / tau + 4 on blobs, moons
    and circles (15 at the default tau = 0.2, 110 at 0.01), at most 256."""
    return min(256, math.ceil(2.5 / tau) + 4)


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


_FOURIER = "random Fourier features"

for _k in (
    Kernel("rational", N_("Rational"), "s", 0.1,
           N_("M = s / (d² + s): 1 at distance 0, 1/2 at d² = s; the notes use s = 0.1."),
           curve=_rational,
           help=N_("s of the rational kernel M = s / (d² + s): the squared distance at which the "
                "proximity falls to 1/2. Larger s links points further apart (the notes: 0.1)."),
           approx=ApproxForm("fourier", rational_spectrum, label=_FOURIER)),
    Kernel("threshold", N_("Hard threshold"), "eps", 0.1,
           N_("M = 1 if d² <= eps else 0: only points closer than sqrt(eps) count."),
           curve=_threshold,
           help=N_("eps of the hard threshold M = 1 if d² ≤ eps: only points closer than √eps "
                "count as close; the rest count 0."),
           sparse=SparseForm(_sparse_radius, _radius_edges)),
    Kernel("identity", N_("Identity"), None, None,
           N_("M = I (each point only with itself): every partition into K non-empty clusters "
           "scores exactly K, so the loss cannot tell partitions apart."),
           curve=_identity, sparse=SparseForm(_sparse_identity, _identity_edges)),
    Kernel("spread", N_("Spread (within-cluster)"), None, None,
           N_("M = d², minimised: the within-cluster spread sum_k p_k·D p_k / n_k "
              "(k-means-like)."),
           curve=_spread, minimise=True,
           approx=ApproxForm("squared_distance", label="the exact factored spread")),
    Kernel("gaussian", N_("Gaussian"), "sigma", 0.2,
           N_("M = exp(-d² / (2 sigma²)): a smooth bump of width sigma."),
           curve=_gaussian,
           help=N_("sigma of the Gaussian M = exp(-d² / (2 sigma²)): the width of the bump, in "
                   "the units of the scaled data."),
           approx=ApproxForm("fourier", gaussian_spectrum, label=_FOURIER)),
    Kernel("knn", N_("k nearest neighbours"), "k", 10,
           N_("M = 1 when j is among the k nearest neighbours of i or i among those of j "
           "(symmetrised), 1 on the diagonal: a graph kernel that follows the shape of the data."),
           from_points=_knn, integer_param=True, curve_from_points=_knn_reach,
           help=N_("k of the nearest-neighbour graph: every point is linked to its k nearest "
                "neighbours (a whole number, below the number of points). Larger k joins more "
                "loosely connected groups."),
           sparse=SparseForm(_sparse_knn, _knn_edges, _knn_build_bytes),
           dense_bytes_per_entry=40, check_samples=_check_neighbours),
    Kernel("diffusion", N_("Diffusion on the kNN graph"), "tau", 0.2,
           N_("M = S^t, S = D^-1/2 A D^-1/2 for the 10-nearest-neighbour graph A, t = tau x N "
              "steps: how likely a t-step random walk links two points; whole moons and rings "
              "become close."),
           from_points=_diffusion,
           help=N_("tau of the diffusion kernel: the random walk takes t = tau x N steps on the "
                "10-nearest-neighbour graph. Larger tau spreads proximity further along the shape "
                "of the data (the recommended setting: 0.2)."),
           approx=ApproxForm("landmark", landmark_diffusion, _diffusion_rank,
                             label="landmark diffusion"),
           dense_bytes_per_entry=40),
):
    register_kernel(_k)
