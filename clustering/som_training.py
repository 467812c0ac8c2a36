"""The SOM's training: the online, epoch and batch loops and the arithmetic they run on.

Online training is Haykin's, as the taxpayer article gives it (formulas 4, 10, 11): one object
at a time, its best-matching unit moves the units near it on the lattice by
``eta(t) h(k*, q, t) (x - w_q)``, with ``sigma(t) = sigma0 exp(-t / tau1)`` (formula 4) and
``eta(t) = eta0 exp(-t / tau2)`` (formula 11). Epoch training is the same rule (10) with ``t``
counting epochs, as the article trains ("числа эпох Т (итераций) процесса модификации весов
(10)"): sigma(t) and eta(t) stay fixed through an epoch, which presents every object once, in a
new random order; its per-object loop is compiled with numba (:func:`epoch_kernel`). Batch
training (Kohonen's batch map) makes one update per pass over the data from per-unit hits and
sums gathered chunk by chunk, here or as Dask tasks, added in chunk order so that both paths
give the same codebook.

Here are the squared distances and the best-matching units (computed in chunks of objects, so
that no objects x units matrix is ever whole), the chunk size and the memory estimate of a fit,
the schedule and the state of one training (:class:`Schedule`, :class:`Run`), and the loops
:func:`train_batch`, :func:`train_online` and :func:`train_epochs` that
:class:`clustering.som.SOM` calls. numba is imported only when an epoch training starts.
"""
from __future__ import annotations

import importlib.util
import math
import time
from typing import NamedTuple, Optional

import numpy as np

from clustering.errors import ConfigError
from clustering.i18n import N_
from clustering.lattice import neighbourhood
from clustering.progress import Progress, stop_requested

#: Most entries of the objects x units distance block held at once (bounds memory on big data).
CHUNK_ENTRIES = 1_000_000
#: Memory budget of one objects x units distance block of batch training (float64): the
#: default ``chunk_size`` is ``CHUNK_BYTES / (8 x units)`` rows (5,461 rows for 192 units).
CHUNK_BYTES = 8 * 2 ** 20
#: PCA initialisation: up to this many objects an SVD of the centred data (it copies the data
#: twice); above it the covariance matrix is accumulated chunk by chunk (no N x p copy).
PCA_SVD_MAX_ROWS = 200_000
#: Batch training on Dask: chunks are grouped into at most this many tasks per worker and epoch.
TASKS_PER_WORKER = 4


# ----------------------------------------------------------------------------------- schedules
def exponential_decay(value0: float, tau: float, t) -> np.ndarray:
    """``value0 * exp(-t / tau)``: sigma(t) (formula 4) or eta(t) (formula 11) of the article.

    >>> round(float(exponential_decay(4.0, 140, 500)), 6)   # table 2, tau1 = 140
    0.112463
    """
    return value0 * np.exp(-np.asarray(t, dtype=float) / tau)


# ----------------------------------------------------------------------------------- distances
def sq_distances(X: np.ndarray, W: np.ndarray, ww: np.ndarray) -> np.ndarray:
    """Squared distances via ``|x|^2 - 2 x.w + |w|^2`` (one matrix product), clipped at 0."""
    d = _partial_sq_distances(X, W, ww)
    d += (X ** 2).sum(axis=1)[:, None]
    np.maximum(d, 0.0, out=d)
    return d


def _partial_sq_distances(X: np.ndarray, W: np.ndarray, ww: np.ndarray) -> np.ndarray:
    """``|w|^2 - 2 x.w``: the squared distance less ``|x|^2``, enough to rank the units.

    One matrix product and one in-place addition: the cheapest form of the BMU search (the
    ``X W'`` expansion), about four times faster than forming ``x - w`` for every pair.
    """
    d = X @ (-2.0 * W).T
    d += ww[None, :]
    return d


def chunk_slices(n: int, units: int, size: Optional[int] = None):
    """Slices of ``size`` objects out of ``n`` (default: :data:`CHUNK_ENTRIES` / ``units``)."""
    size = max(1, CHUNK_ENTRIES // max(units, 1)) if size is None else max(1, int(size))
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def batch_chunk_rows(units: int, chunk_size: Optional[int] = None) -> int:
    """Objects per chunk of batch training: ``chunk_size``, else ``CHUNK_BYTES / (8 units)``
    (one float64 objects x units block of at most :data:`CHUNK_BYTES`), at least 1."""
    if chunk_size is not None:
        return max(1, int(chunk_size))
    return max(1, CHUNK_BYTES // (8 * max(int(units), 1)))


def estimate_memory(n_samples: int, n_features: int, units: int, *, mode: str = "batch",
                    chunk_rows: Optional[int] = None, dask: bool = False) -> dict:
    """Estimated peak bytes of fitting a SOM, by part, and their ``"total"``.

    ``data``: the float64 input (held by the caller, counted once) and, up to
    :data:`PCA_SVD_MAX_ROWS` objects, the PCA initialisation's two N x p copies; ``per_object``:
    the best and second-best units, distances, cells and labels (about 48 bytes an object);
    ``chunk``: the objects x units block of one chunk and its temporaries (2 x 8 bytes an
    entry; online training and the final pass use :data:`CHUNK_ENTRIES`); ``lattice``: the
    units x units lattice distances, neighbourhood weights and adjacency (about 40 bytes an
    entry); ``partials``: on Dask, one epoch's per-chunk sums gathered here. Estimates (+-30 %),
    not guarantees; no part grows with N x units.
    """
    n, p, U = int(n_samples), int(n_features), int(units)
    rows = batch_chunk_rows(U, chunk_rows) if mode == "batch" else max(1, CHUNK_ENTRIES // U)
    rows = min(rows, n)
    final_rows = min(n, max(1, CHUNK_ENTRIES // U))
    parts = {
        "data": n * p * 8 * (3 if n <= PCA_SVD_MAX_ROWS else 1),
        "per_object": n * 48,
        "chunk": 16 * U * max(rows, final_rows),
        "lattice": 40 * U * U,
        "partials": (math.ceil(n / rows) * U * (p + 1) * 8) if (dask and mode == "batch") else 0,
    }
    parts["total"] = int(sum(parts.values()))
    return parts


def best_two_units(X: np.ndarray, codebook: np.ndarray):
    """Best and second-best matching unit of every object and the distance to the best.

    Ties go to the lowest unit index. Computed in chunks of objects (bounded memory).
    """
    n, U = X.shape[0], codebook.shape[0]
    ww = (codebook ** 2).sum(axis=1)
    b1 = np.empty(n, dtype=np.int64)
    b2 = np.empty(n, dtype=np.int64)
    dist = np.empty(n)
    for sl in chunk_slices(n, U):
        d = _partial_sq_distances(X[sl], codebook, ww)
        rows = np.arange(d.shape[0])
        b1[sl] = first = np.argmin(d, axis=1)
        dist[sl] = np.sqrt(np.maximum(d[rows, first] + (X[sl] ** 2).sum(axis=1), 0.0))
        if U > 1:
            d[rows, first] = np.inf
            b2[sl] = np.argmin(d, axis=1)
        else:
            b2[sl] = first
    return b1, b2, dist


def _chunk_stats(Xc: np.ndarray, W: np.ndarray, ww: np.ndarray, adjacency, record: bool):
    """One chunk's share of a batch epoch: hits per unit, the per-unit sums of its objects
    (U x p) and, when ``record``, its summed quantization error and topographic faults."""
    U, p = W.shape
    d = _partial_sq_distances(Xc, W, ww)
    first = np.argmin(d, axis=1)
    counts = np.bincount(first, minlength=U)
    # one-hot(BMU)' X without building the one-hot matrix: a weighted bincount per feature
    # (p is small; numpy has no segmented sum that is faster here)
    sums = np.empty((U, p))
    for j in range(p):
        sums[:, j] = np.bincount(first, weights=Xc[:, j], minlength=U)
    qe, te = 0.0, 0
    if record:
        rws = np.arange(d.shape[0])
        qe = float(np.sqrt(np.maximum(d[rws, first] + (Xc ** 2).sum(axis=1), 0.0)).sum())
        d[rws, first] = np.inf
        second = np.argmin(d, axis=1)
        te = int(np.sum(~adjacency[first, second]))
    return counts, sums, qe, te


def _part_stats(Xpart: np.ndarray, rows: int, W: np.ndarray, ww: np.ndarray, adjacency,
                record: bool) -> list:
    """:func:`_chunk_stats` of every chunk of ``rows`` objects of a block (a Dask task)."""
    return [_chunk_stats(Xpart[s:s + rows], W, ww, adjacency, record)
            for s in range(0, Xpart.shape[0], rows)]


def topographic_error_of(b1: np.ndarray, b2: np.ndarray, adjacency: np.ndarray) -> float:
    """Share of objects whose best and second-best units are not lattice neighbours."""
    if adjacency.shape[0] < 2 or b1.size == 0:
        return float("nan")
    return float(np.mean(~adjacency[b1, b2]))


# ----------------------------------------------------------------------------------- training
class Schedule(NamedTuple):
    """The lattice and the schedule of one fit, defaults resolved."""

    rows: int
    cols: int
    sigma0: float
    tau1: float
    tau2: float
    conv: int
    total: int

    @property
    def units(self) -> int:
        return self.rows * self.cols


HISTORY_KEYS = ("step", "quantization_error", "topographic_error", "sigma", "eta",
                "codebook_change")


class Run:
    """One training under way: its schedule, lattice, history and outcome (local to a fit)."""

    def __init__(self, schedule: Schedule, eta0: float, n_steps: int, convergence_eta: float,
                 tol: float, history_every: int, D2: np.ndarray, adjacency: np.ndarray,
                 callback=None, stop=None):
        self.schedule, self.eta0, self.n_steps = schedule, eta0, n_steps
        self.convergence_eta, self.tol, self.history_every = convergence_eta, tol, history_every
        self.D2, self.adjacency, self.callback, self.stop = D2, adjacency, callback, stop
        self.history = {k: [] for k in HISTORY_KEYS}
        self.last: Optional[np.ndarray] = None  # the codebook at the last record
        self.done, self.converged, self.stopped = 0, False, False

    def sigma(self, t: int) -> float:
        """sigma(t), formula 4."""
        return self.schedule.sigma0 * math.exp(-t / self.schedule.tau1)

    def eta(self, t: int) -> float:
        """eta(t), formula 11; ``convergence_eta`` in the convergence phase."""
        if self.schedule.conv > 0 and t >= self.n_steps:
            return float(self.convergence_eta)
        return float(self.eta0 * math.exp(-t / self.schedule.tau2))

    def record(self, step: int, qe: float, te: float, W: np.ndarray) -> None:
        h = self.history
        h["step"].append(int(step))
        h["quantization_error"].append(float(qe))
        h["topographic_error"].append(float(te))
        h["sigma"].append(float(self.sigma(step)))
        h["eta"].append(self.eta(step))
        h["codebook_change"].append(float(np.max(np.linalg.norm(W - self.last, axis=1)))
                                    if self.last is not None else float("nan"))
        self.last = W.copy()

    def metrics(self) -> dict:
        h = self.history
        if not h["step"]:
            return {}
        return {"quantization_error": h["quantization_error"][-1],
                "topographic_error": h["topographic_error"][-1]}

    def report(self, step: int, unit: str = "step") -> None:
        """The callback's :class:`Progress`: ``"<unit> <step> of <total>"``."""
        total = self.schedule.total
        if self.callback is not None:
            self.callback(Progress("som", step, total, self.metrics(),
                                   f"{unit} {step} of {total}"))

    def finish(self, W: np.ndarray, done: int, *, converged=False, stopped=False) -> np.ndarray:
        self.done, self.converged, self.stopped = done, converged, stopped
        return W


def _errors(X, W, adjacency):
    b1, b2, dist = best_two_units(X, W)
    return float(dist.mean()), topographic_error_of(b1, b2, adjacency)


def _batch_blocks(client, X: np.ndarray, chunk_rows: int, workers: int) -> list:
    """The data scattered to the Dask workers in blocks of whole chunks."""
    n = X.shape[0]
    n_chunks = math.ceil(n / chunk_rows)
    per_part = math.ceil(n_chunks / max(1, min(n_chunks, TASKS_PER_WORKER * workers)))
    bounds = [(a * chunk_rows, min(n, (a + per_part) * chunk_rows))
              for a in range(0, n_chunks, per_part)]
    return client.scatter([X[a:b] for a, b in bounds])


def _epoch_sums(X, W, run: Run, chunk_rows: int, record: bool, dask=None):
    """Hits and sums per unit of one batch epoch, with the summed errors when ``record``;
    ``dask``: ``(client, blocks, adjacency future)``, chunk sums added in chunk order."""
    n, p = X.shape
    U = W.shape[0]
    ww = (W ** 2).sum(axis=1)
    if dask is None:
        stats = (_chunk_stats(X[sl], W, ww, run.adjacency, record)
                 for sl in chunk_slices(n, U, chunk_rows))
    else:
        client, blocks, adj_future = dask
        futures = [client.submit(_part_stats, block, chunk_rows, W, ww, adj_future, record,
                                 pure=False) for block in blocks]
        stats = (item for part in client.gather(futures) for item in part)
    counts, sums, qe_sum, te_bad = np.zeros(U), np.zeros((U, p)), 0.0, 0
    for c, s_, qe, te in stats:
        counts += c
        sums += s_
        qe_sum += qe
        te_bad += te
    return counts, sums, qe_sum, te_bad


def train_batch(X, W, run: Run, chunk_rows: int, client=None, workers: int = 1):
    """Batch epochs over chunks of ``chunk_rows`` objects; with a Dask ``client`` the chunks
    run as tasks on blocks of whole chunks held by the workers, and their sums are added
    here in chunk order, exactly as on the local path."""
    n = X.shape[0]
    total = run.schedule.total
    prev = W.copy()
    dask = None
    if client is not None:
        dask = (client, _batch_blocks(client, X, chunk_rows, workers),
                client.scatter(run.adjacency, broadcast=True))
    for t in range(total):
        record = (t % run.history_every) == 0
        counts, sums, qe_sum, te_bad = _epoch_sums(X, W, run, chunk_rows, record, dask)
        if record:
            run.record(t, qe_sum / n, te_bad / n, W)
            run.report(t)
        H = neighbourhood(run.D2, run.sigma(t))
        num = H @ sums
        den = H @ counts
        ok = den > 0
        W = W.copy()
        W[ok] += run.eta(t) * (num[ok] / den[ok, None] - W[ok])
        change = float(np.max(np.linalg.norm(W - prev, axis=1)))
        prev = W
        if run.tol > 0 and change < run.tol:
            return run.finish(W, t + 1, converged=True)
        if stop_requested(run.stop):
            return run.finish(W, t + 1, stopped=True)
    return run.finish(W, total)


def train_online(X, W, run: Run, rng):
    """Haykin's online steps (formulas 4-11): one object at a time, pass after pass in a new
    random order; the errors are recorded every interval (one pass, or ``total / 20``)."""
    n = X.shape[0]
    total = run.schedule.total
    W = W.copy()
    interval = max(1, min(n, math.ceil(total / 20)))
    order = rng.permutation(n)
    pos = 0
    run.record(0, *_errors(X, W, run.adjacency), W)
    run.report(0)
    checked = W.copy()
    n_intervals = 0
    for t in range(total):
        if pos == n:
            order = rng.permutation(n)
            pos = 0
        x = X[order[pos]]
        pos += 1
        diff = x - W
        k = int(np.argmin(np.einsum("ij,ij->i", diff, diff)))
        W += (run.eta(t) * neighbourhood(run.D2[k], run.sigma(t)))[:, None] * diff
        step = t + 1
        if step % interval == 0 or step == total:
            n_intervals += 1
            change = float(np.max(np.linalg.norm(W - checked, axis=1)))
            checked = W.copy()
            if n_intervals % run.history_every == 0 or step == total:
                run.record(step, *_errors(X, W, run.adjacency), W)
                run.report(step)
            if run.tol > 0 and change < run.tol and step < total:
                return run.finish(W, step, converged=True)
        if (step & 255) == 0 and stop_requested(run.stop):
            return run.finish(W, step, stopped=True)
    return run.finish(W, total)


# ----------------------------------------------------------------------------------- epochs
def _epoch_presentations(X, order, WT, H, eta):  # pragma: no cover - runs compiled
    """One epoch of rule (10), in place: for each object ``x = X[order[i]]`` in turn, the
    winner ``k*`` (formula 1, the lowest index on ties), then ``w_u += eta h[k*, u] (x - w_u)``
    for every unit ``u``. The codebook is held transposed (``WT``: features x units), so that
    the loops over the units are contiguous (vectorised); the arithmetic of every unit is the
    same as on the units x features codebook. Plain loops, compiled by :func:`epoch_kernel`."""
    p, units = WT.shape
    d = np.empty(units)
    f = np.empty(units)
    for i in range(order.shape[0]):
        x = X[order[i]]
        d[:] = 0.0
        for j in range(p):
            xj = x[j]
            for u in range(units):
                diff = xj - WT[j, u]
                d[u] += diff * diff
        best, best_d = 0, np.inf
        for u in range(units):
            if d[u] < best_d:
                best, best_d = u, d[u]
        for u in range(units):
            f[u] = eta * H[best, u]
        for j in range(p):
            xj = x[j]
            for u in range(units):
                WT[j, u] += f[u] * (xj - WT[j, u])


#: The kernel's one signature: C-ordered float64 data (objects x features), int64 order, the
#: transposed codebook (features x units, updated in place), the neighbourhood (units x units)
#: and eta.
EPOCH_SIGNATURE = "void(float64[:, ::1], int64[::1], float64[:, ::1], float64[:, ::1], float64)"
_EPOCH_KERNEL: dict = {}


def require_numba() -> None:
    """Refuse ``mode="epoch"`` where numba is not installed (checked without importing it)."""
    if importlib.util.find_spec("numba") is None:
        raise ConfigError(N_("mode: 'epoch' training is compiled with numba, which is not "
                             "installed; install numba>=0.59 (requirements.txt) or use "
                             "mode='online' or 'batch'."))


def epoch_kernel():
    """The compiled :func:`_epoch_presentations` (``kernel(X, order, WT, H, eta)``, the
    transposed codebook ``WT`` updated in place), compiled on the first call in a process and
    kept.

    Compiled eagerly for :data:`EPOCH_SIGNATURE` with ``cache=True``: a later process loads it
    from numba's cache (the package's ``__pycache__``, else the user's cache directory, or
    ``NUMBA_CACHE_DIR``) instead of compiling again (about 1 s, once per process: every joblib
    or Dask worker). Where no cache can be written (a read-only install without a writable home)
    it is compiled without a cache, never refused. ``nogil``: threads run kernels in parallel.
    """
    if "kernel" not in _EPOCH_KERNEL:
        require_numba()
        import numba

        start = time.perf_counter()
        try:
            kernel = numba.njit(EPOCH_SIGNATURE, cache=True, nogil=True)(_epoch_presentations)
        except (RuntimeError, OSError):  # no writable cache location
            kernel = numba.njit(EPOCH_SIGNATURE, cache=False, nogil=True)(_epoch_presentations)
        _EPOCH_KERNEL.update(kernel=kernel, seconds=time.perf_counter() - start)
    return _EPOCH_KERNEL["kernel"]


def train_epochs(X, W, run: Run, rng):
    """The article's T epochs of rule (10) (formulas 2, 4, 10, 11), ``t`` counting epochs.

    Epoch ``t`` fixes ``sigma(t)`` and ``eta(t)`` (``convergence_eta`` in the convergence
    phase), computes the neighbourhood matrix once and presents every object once, in the order
    ``rng.permutation(n)``. The errors are recorded before every ``history_every``-th epoch;
    progress is reported after every epoch; ``tol``: stop when no unit moved more than it during
    the epoch; a stop ends training after the current epoch.
    """
    kernel = epoch_kernel()
    X = np.ascontiguousarray(X, dtype=np.float64)
    WT = np.ascontiguousarray(np.array(W, dtype=np.float64).T)
    W = WT.T  # a view: the units x features codebook the kernel updates
    n = X.shape[0]
    total, done, how = run.schedule.total, run.schedule.total, {}
    for t in range(total):
        if t % run.history_every == 0:
            run.record(t, *_errors(X, W, run.adjacency), W)
        prev = W.copy()
        H = np.ascontiguousarray(neighbourhood(run.D2, run.sigma(t)), dtype=np.float64)
        kernel(X, rng.permutation(n).astype(np.int64), WT, H, run.eta(t))
        change = float(np.max(np.linalg.norm(W - prev, axis=1)))
        run.report(t + 1, "epoch")
        if run.tol > 0 and change < run.tol:
            done, how = t + 1, {"converged": True}
            break
        if stop_requested(run.stop):
            done, how = t + 1, {"stopped": True}
            break
    return run.finish(np.ascontiguousarray(W), done, **how)


__all__ = ["CHUNK_ENTRIES", "CHUNK_BYTES", "PCA_SVD_MAX_ROWS", "TASKS_PER_WORKER", "HISTORY_KEYS",
           "exponential_decay", "sq_distances", "chunk_slices", "batch_chunk_rows",
           "estimate_memory", "best_two_units", "topographic_error_of", "Schedule", "Run",
           "train_batch", "train_online", "train_epochs", "epoch_kernel", "require_numba",
           "EPOCH_SIGNATURE"]
