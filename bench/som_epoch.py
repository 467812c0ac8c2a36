"""The SOM's epoch mode (``SOM(mode="epoch")``): numba's compile time, one map, the article's 27.

Usage (from the repository root)::

    .venv/bin/python bench/som_epoch.py                      # N = 24 and 10,000, T = 500
    .venv/bin/python bench/som_epoch.py --sizes 10000 --epochs 100 --n-jobs 2

The article's maps: 12 rows x 16 columns ("по оси абсцисс выбиралось 16, а по оси ординат 12
ячеек"), hexagonal, T = 500 epochs of rule (10), sigma0 = 4, eta0 = 0.3, the 3 x 3 grid of
tau1 in (140, 280, 700) and tau2 in (125, 250, 625), 3 replicates each: 27 maps, trained in
joblib processes (``--n-jobs``; -1: one per core). ``tol=0``: every map makes all T epochs.
The data: standardised blobs of 5 features; ``--history-every`` (default 1, the SOM's):
each record of the errors is one more pass over the data. Printed: the kernel's compile time in a fresh
process with an empty numba cache and its load time from that cache, then per size the seconds
of one map (the kernel already compiled) and of the 27 maps (every worker compiles or loads the
kernel once). Wall-clock on whatever machine runs this.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from clustering.som import SOM  # noqa: E402
from clustering.som_training import epoch_kernel  # noqa: E402

TAU1, TAU2, REPLICATES = (140.0, 280.0, 700.0), (125.0, 250.0, 625.0), 3
PROBE = ("import time; t = time.perf_counter(); from clustering.som_training import "
         "epoch_kernel; epoch_kernel(); print(time.perf_counter() - t)")


def make_data(n: int, p: int = 5, seed: int = 0) -> np.ndarray:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n, n_features=p, centers=3, cluster_std=1.5, random_state=seed)
    return (X - X.mean(0)) / X.std(0)


def compile_seconds() -> tuple[float, float]:
    """Import numba and compile the kernel in a fresh process with an empty cache, then load
    it from that cache in another fresh process."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        run = lambda: float(subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT,
                                           check=True, capture_output=True,
                                           text=True).stdout.split()[-1])
        return run(), run()


def one_map(X, tau1, tau2, seed, epochs, history_every=1):
    som = SOM(12, 16, mode="epoch", init="random", sigma0=4.0, eta0=0.3, tau1=tau1, tau2=tau2,
              n_steps=epochs, tol=0, history_every=history_every, random_state=seed).fit(X)
    return som.n_steps_done_, som.sigma_end_, som.eta_end_


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 10_000])
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--n-jobs", type=int, default=-1)
    ap.add_argument("--history-every", type=int, default=1,
                    help="record the errors every this many epochs (each record is one pass "
                         "of best-unit search over the data)")
    args = ap.parse_args()
    from joblib import Parallel, delayed, effective_n_jobs

    cold, warm = compile_seconds()
    print(f"numba kernel: compiled in {cold:.2f} s (import included, empty cache), loaded from "
          f"the cache in {warm:.2f} s")
    epoch_kernel()
    jobs = effective_n_jobs(args.n_jobs)
    grid = [(t1, t2, r) for t1 in TAU1 for t2 in TAU2 for r in range(REPLICATES)]
    print(f"12 x 16 hexagonal maps, T = {args.epochs} epochs, 5 features, {os.cpu_count()} "
          f"cores, 27 maps in {jobs} joblib processes, errors recorded every "
          f"{args.history_every} epochs")
    for n in args.sizes:
        X = make_data(n)
        start = time.perf_counter()
        one_map(X, 700.0, 125.0, 0, args.epochs, args.history_every)
        single = time.perf_counter() - start
        start = time.perf_counter()
        ends = Parallel(n_jobs=args.n_jobs)(delayed(one_map)(X, t1, t2, r, args.epochs,
                                                             args.history_every)
                                            for t1, t2, r in grid)
        many = time.perf_counter() - start
        assert all(done == args.epochs for done, _, _ in ends)
        print(f"N = {n:>6,}: one map {single:8.2f} s   27 maps {many:8.2f} s   "
              f"({n * args.epochs / single / 1e6:.2f} M presentations/s on one map)")


if __name__ == "__main__":
    main()
