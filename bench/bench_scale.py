"""Scale: time and peak memory against N for every path (a script, not a test).

Usage (from the repository root)::

    .venv/bin/python bench/bench_scale.py                 # everything (about 10 minutes on 2 cores)
    .venv/bin/python bench/bench_scale.py --quick         # N up to 10,000, SOM up to 100,000, small QBM
    .venv/bin/python bench/bench_scale.py --only som,qbm  # some sections: neural, moons, som, qbm

Sections, each printed as a table:

* **neural**: blobs in 2-D (3 centres, the generator's defaults) at N = 1,000 / 10,000 / 100,000
  for each path of :class:`clustering.neural.NeuralSoftClustering`: dense (N x N, only where it is
  applicable: N <= 4,096), sparse kNN kernel, random Fourier features (gaussian kernel) and
  landmark diffusion (diffusion kernel); wall time of ``fit``, ARI against the generator's labels,
  and the peak RSS growth during the fit. Issue target: N = 100,000 in under 60 s with ARI >= 0.95.
* **moons**: N = 20,000 with ``solver="auto"`` (target ARI >= 0.9).
* **som**: batch SOM (12 x 16 lattice, PCA initialisation, ``--som-steps`` epochs) on
  N x 10 Gaussian data, N = 1,000 ... 1,000,000, chunked (default chunk size): time per epoch,
  chunks, the estimate of :func:`clustering.som.estimate_memory`, the peak of numpy allocations
  during the fit (tracemalloc; the 8 bytes x N x 10 data are allocated before and not counted)
  and the peak RSS growth.
* **qbm**: the quasi-Bayesian ensemble (3 x 3 networks x 2 replicates = 18 maps) on a Dask
  LocalCluster with 1 and with 2 worker processes (started first and reached by its address;
  the start time is shown apart), the local path (this process) for reference, and the
  speed-up of the fit from 1 to 2 workers; labels identical on every path.

Peak memory: RSS is sampled every 5 ms by a thread (psutil) and reported as the growth over the
RSS before the fit; TensorFlow keeps freed memory for reuse, so neural figures after the first
case of a run can read low. Timings are wall-clock on whatever machine runs this; on a 2-core
machine shared with other work they vary by +-20 %.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import tracemalloc

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import psutil  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

MB = 2 ** 20


class PeakRSS:
    """Peak resident memory growth of this process during a ``with`` block (sampled)."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.proc = interval, psutil.Process()

    def __enter__(self):
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / MB


def table(title, header, rows):
    print(f"\n## {title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


# ----------------------------------------------------------------------------------- neural
NEURAL_PATHS = (("dense", "diffusion", "dense"), ("sparse kNN", "knn", "sparse"),
                ("Fourier", "gaussian", "approx"), ("landmark diffusion", "diffusion", "approx"))


def neural_case(X, y, kernel, solver, n_clusters, cap):
    from clustering.neural import NeuralSoftClustering
    from clustering.progress import StopToken

    stop = StopToken()
    timer = threading.Timer(cap, stop.set)
    est = NeuralSoftClustering(n_clusters=n_clusters, kernel=kernel, solver=solver)
    timer.start()
    try:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            est.fit(X, stop=stop)
            secs = time.perf_counter() - t0
    finally:
        timer.cancel()
    ari = adjusted_rand_score(y, est.labels_)
    note = "stopped at the cap" if est.stopped_ else ""
    return [f"{secs:.1f}", f"{ari:.3f}", f"{mem.growth_mb:.0f}", est.solver_, note]


def bench_neural(sizes, cap):
    from clustering.datasets import generate
    from clustering.neural import AUTO_DENSE_MAX_POINTS

    rows = []
    for n in sizes:
        X, y = generate("blobs", n_samples=n)
        for name, kernel, solver in NEURAL_PATHS:
            if solver == "dense" and n > AUTO_DENSE_MAX_POINTS:
                rows.append([f"{n:,}", name, "-", "-", "-", "-", "N x N: not applicable"])
                continue
            rows.append([f"{n:,}", name] + neural_case(X, y, kernel, solver, 3, cap))
            print(f"  neural {name} N={n:,}: {rows[-1][2]} s, ARI {rows[-1][3]}", flush=True)
    table("Neural clustering, blobs 2-D (target: N = 100,000 under 60 s, ARI >= 0.95)",
          ["N", "path", "seconds", "ARI", "peak RSS +MB", "solver_", "note"], rows)


def bench_moons(n, cap):
    from clustering.datasets import generate

    X, y = generate("moons", n_samples=n)
    row = [f"{n:,}", "auto"] + neural_case(X, y, "diffusion", "auto", 2, cap)
    table("Neural clustering, moons (target: N = 20,000 ARI >= 0.9)",
          ["N", "solver", "seconds", "ARI", "peak RSS +MB", "solver_", "note"], [row])


# ----------------------------------------------------------------------------------- SOM
def bench_som(sizes, steps):
    from clustering.som import SOM

    rows = []
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(5, 10))
    SOM(rows=4, cols=4, mode="batch", n_steps=2).fit(centres)  # warm-up (imports, k-means)
    for n in sizes:
        X = centres[np.arange(n) % 5] + rng.standard_normal((n, 10))
        som = SOM(rows=12, cols=16, mode="batch", n_steps=steps, tol=0, init="pca",
                  history_every=max(1, steps), n_clusters=5, scheduler="local")
        tracemalloc.start()
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            som.fit(X)
            secs = time.perf_counter() - t0
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        est = som.memory_estimate_
        rows.append([f"{n:,}", f"{X.nbytes / MB:.0f}", som.n_chunks_, f"{som.chunk_size_:,}",
                     f"{secs:.1f}", f"{secs / som.n_steps_done_ * 1000:.0f}",
                     f"{est['total'] / MB:.0f}", f"{traced / MB:.0f}", f"{mem.growth_mb:.0f}",
                     f"{som.quantization_error_:.3f}"])
        print(f"  SOM N={n:,}: {secs:.1f} s", flush=True)
        del X, som
    table(f"Batch SOM, 12 x 16 units, N x 10, {steps} epochs, chunked (no N x units matrix)",
          ["N", "data MB", "chunks", "rows/chunk", "seconds", "ms/epoch", "estimate MB",
           "traced peak MB", "peak RSS +MB", "QE"], rows)


# ----------------------------------------------------------------------------------- QBM
def bench_qbm(n, steps, side):
    from clustering.ensemble import QuasiBayesianEnsemble

    rng = np.random.default_rng(1)
    centres = rng.normal(scale=4.0, size=(3, 5))
    X = centres[np.arange(n) % 3] + rng.standard_normal((n, 5))
    kw = dict(tau1_grid=(140, 280, 700), tau2_grid=(125, 250, 625), n_replicates=2, rows=side,
              cols=side, n_steps=steps, random_state=0)
    from distributed import LocalCluster

    rows, labels, times = [], {}, {}
    t0 = time.perf_counter()
    est = QuasiBayesianEnsemble(**kw, scheduler="local", n_jobs=1).fit(X)
    times["local"] = time.perf_counter() - t0
    labels["local"] = est.labels_
    rows.append(["local, in this process", 1, len(est.maps_), "-", f"{times['local']:.1f}"])
    print(f"  QBM local: {times['local']:.1f} s", flush=True)
    for workers in (1, 2):
        t0 = time.perf_counter()
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=40) as cluster:
            start = time.perf_counter() - t0
            t0 = time.perf_counter()
            est = QuasiBayesianEnsemble(**kw, scheduler=cluster.scheduler_address).fit(X)
            times[workers] = time.perf_counter() - t0
        labels[workers] = est.labels_
        rows.append([f"Dask LocalCluster ({est.execution_['path']} address)",
                     est.execution_["workers"], len(est.maps_), f"{start:.1f}",
                     f"{times[workers]:.1f}"])
        print(f"  QBM Dask {workers} worker(s): {times[workers]:.1f} s", flush=True)
    same = all(np.array_equal(labels["local"], v) for v in labels.values())
    speed = times[1] / times[2]
    table(f"Quasi-Bayesian ensemble, {n:,} x 5, {side} x {side} maps, T = {steps} (batch)",
          ["path", "workers", "maps", "cluster start s", "fit seconds"], rows)
    print(f"speed-up from 1 to 2 Dask workers: {speed:.2f}x; labels identical on every path: "
          f"{same}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="N up to 10,000 (neural), 100,000 (SOM), a small ensemble")
    parser.add_argument("--only", default="neural,moons,som,qbm",
                        help="comma-separated sections: neural, moons, som, qbm")
    parser.add_argument("--cap", type=float, default=180.0,
                        help="seconds after which a neural fit is stopped (reported)")
    parser.add_argument("--som-steps", type=int, default=10, help="batch SOM epochs")
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    import tensorflow as tf  # noqa: F401  (imported here so the first case's time excludes it)

    print(f"bench_scale: {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2 ** 30:.0f} GiB; load average "
          f"{os.getloadavg()[0]:.1f} (other work on the machine slows every figure); "
          f"quick={args.quick}")
    started = time.perf_counter()
    if "neural" in only:
        bench_neural((1_000, 10_000) if args.quick else (1_000, 10_000, 100_000), args.cap)
    if "moons" in only:
        bench_moons(5_000 if args.quick else 20_000, args.cap)
    if "som" in only:
        bench_som((1_000, 10_000, 100_000) if args.quick else
                  (1_000, 10_000, 100_000, 1_000_000), args.som_steps)
    if "qbm" in only:
        if args.quick:
            bench_qbm(5_000, 30, 6)
        else:
            bench_qbm(20_000, 50, 10)
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load average now "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
