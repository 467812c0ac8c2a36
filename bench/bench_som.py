"""SOM training speed and quality against MiniSom, and the 27-map quasi-Bayesian ensemble.

Usage (from the repository root, after ``pip install -r bench/requirements.txt``)::

    .venv/bin/python bench/bench_som.py                 # N = 10,000 and 100,000, and the QBM
    .venv/bin/python bench/bench_som.py --sizes 10000 --no-qbm

Both libraries train the same rectangular 20 x 20 map on the same standardised data (blobs of
5 features) from the same initial codebook (random objects), with the same exponential
schedules ``sigma(t) = sigma0 exp(-t / tau1)``, ``eta(t) = eta0 exp(-t / tau2)`` (MiniSom's decay
functions are replaced by these) and the same number of full-data epochs:

* batch: ``SOM(mode="batch")`` against ``MiniSom.train_batch_offline`` (both apply
  ``w <- (1 - eta) w + eta * batch_target``);
* online: ``SOM(mode="online")`` against ``MiniSom.train(random_order=True)``, one object per
  step, ``N x epochs`` steps.

Printed per run: seconds per full-data epoch (whole ``fit`` time divided by the epochs, so ours
includes initialisation, the final error pass and the clustering of the cells), quantization
error (mean distance to the best unit), and topographic error under two neighbour definitions
(4 lattice neighbours, ours; 8 with diagonals, MiniSom's rectangular definition), both computed
by the same function for both maps. Timings are wall-clock on whatever machine runs this.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from clustering.som import (SOM, best_two_units, lattice_coordinates,  # noqa: E402
                            lattice_sq_distances, topographic_error_of)


def make_data(n: int, p: int = 5, seed: int = 0) -> np.ndarray:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n, n_features=p, centers=8, cluster_std=1.5, random_state=seed)
    return (X - X.mean(0)) / X.std(0)


def errors(X, W, rows, cols):
    d2 = lattice_sq_distances(lattice_coordinates(rows, cols, "rectangular"))
    four = np.abs(d2 - 1) < 1e-9
    eight = (d2 > 0) & (d2 < 2 + 1e-9)
    b1, b2, dist = best_two_units(X, W)
    return dist.mean(), topographic_error_of(b1, b2, four), topographic_error_of(b1, b2, eight)


def minisom_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, steps, mode):
    from minisom import MiniSom

    som = MiniSom(rows, cols, X.shape[1], sigma=sigma0, learning_rate=eta0,
                  neighborhood_function="gaussian", topology="rectangular", random_seed=0,
                  decay_function=lambda lr, t, T: lr * math.exp(-t / tau2))
    # MiniSom accepts only named sigma decays: put the same exponential schedule in place
    som._sigma_decay_function = lambda s, t, T: s * math.exp(-t / tau1)
    som._weights = W0.reshape(rows, cols, -1).copy()
    t0 = time.perf_counter()
    if mode == "batch":
        som.train_batch_offline(X, steps)
    else:
        som.train(X, steps, random_order=True)
    return time.perf_counter() - t0, som.get_weights().reshape(rows * cols, -1)


def ours_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, steps, mode, history_every):
    som = SOM(rows, cols, lattice="rectangular", init=W0, sigma0=sigma0, eta0=eta0, tau1=tau1,
              tau2=tau2, n_steps=steps, mode=mode, tol=0, history_every=history_every,
              random_state=0)
    t0 = time.perf_counter()
    som.fit(X)
    return time.perf_counter() - t0, som.codebook_


def row(name, seconds, epochs, X, W, rows, cols):
    qe, te4, te8 = errors(X, W, rows, cols)
    print(f"  {name:<34s} {seconds / epochs:10.4f} s/epoch   QE {qe:.4f}   "
          f"TE(4) {te4:.4f}   TE(8) {te8:.4f}", flush=True)
    return seconds / epochs, qe


def bench_size(n, args):
    X = make_data(n, args.features)
    rows, cols = args.rows, args.cols
    rng = np.random.default_rng(1)
    W0 = X[rng.choice(n, rows * cols, replace=False)].copy()
    sigma0, eta0 = args.sigma0, 0.5
    print(f"\nN = {n:,} x {args.features} features, {rows} x {cols} rectangular map, "
          f"sigma0 = {sigma0}, eta0 = {eta0}", flush=True)
    # batch: `epochs` passes, sigma decays to 1 and eta to eta0 / e by the end
    E = args.batch_epochs if n <= 20_000 else args.batch_epochs_large
    tau1, tau2 = E / math.log(sigma0), float(E)
    print(f" batch, {E} epochs", flush=True)
    t_hist, W_hist = ours_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, E, "batch", 1)
    ours_t, ours_qe = row("clustermap SOM batch (errors/epoch)", t_hist, E, X, W_hist, rows,
                          cols)
    t_fast, W_fast = ours_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, E, "batch", 10 ** 9)
    fast_t, _ = row("clustermap SOM batch (errors at end)", t_fast, E, X, W_fast, rows, cols)
    if not args.no_minisom:
        E_m = E if n <= 20_000 else args.minisom_epochs_large
        tau1_m, tau2_m = E_m / math.log(sigma0), float(E_m)
        t_m, W_m = minisom_run(X, W0, rows, cols, sigma0, eta0, tau1_m, tau2_m, E_m, "batch")
        m_t, m_qe = row(f"MiniSom train_batch_offline ({E_m} ep)", t_m, E_m, X, W_m, rows, cols)
        if E_m != E:  # same schedule length for the quality comparison
            t_o, W_o = ours_run(X, W0, rows, cols, sigma0, eta0, tau1_m, tau2_m, E_m, "batch",
                                10 ** 9)
            _, ours_qe = row(f"clustermap SOM batch ({E_m} ep)", t_o, E_m, X, W_o, rows, cols)
        print(f"  -> speed-up per epoch: {m_t / fast_t:.0f}x (errors at end), "
              f"{m_t / ours_t:.0f}x (errors every epoch); QE ours/MiniSom "
              f"{ours_qe / m_qe:.3f}", flush=True)
    # online: one object per step
    Eo = args.online_epochs
    T = n * Eo
    tau1, tau2 = T / math.log(sigma0), float(T)
    print(f" online, {Eo} epoch(s) = {T:,} steps", flush=True)
    t_o, W_o = ours_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, T, "online", 10 ** 9)
    o_t, _ = row("clustermap SOM online", t_o, Eo, X, W_o, rows, cols)
    if not args.no_minisom:
        t_m, W_m = minisom_run(X, W0, rows, cols, sigma0, eta0, tau1, tau2, T, "online")
        m_t, _ = row("MiniSom train (random order)", t_m, Eo, X, W_m, rows, cols)
        print(f"  -> speed-up per epoch: {m_t / o_t:.1f}x", flush=True)


def bench_qbm(args):
    from clustering.ensemble import QuasiBayesianEnsemble

    X = make_data(10_000, args.features)
    qbm = QuasiBayesianEnsemble(n_jobs=args.jobs)
    t0 = time.perf_counter()
    qbm.fit(X)
    seconds = time.perf_counter() - t0
    print(f"\nQBM: 27 maps (3 x 3 networks x 3 replicates), 12 x 16 hexagonal, T = 500 batch "
          f"epochs, 10,000 x {args.features}, n_jobs = {args.jobs} on {os.cpu_count()} cores: "
          f"{seconds:.1f} s; Cochran G = {qbm.cochran_['G']:.3f} (critical "
          f"{qbm.cochran_['critical']:.4f}); mean Theta {qbm.theta_mean_:.1f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--features", type=int, default=5)
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--sigma0", type=float, default=5.0)
    ap.add_argument("--batch-epochs", type=int, default=20)
    ap.add_argument("--batch-epochs-large", type=int, default=20)
    ap.add_argument("--minisom-epochs-large", type=int, default=3,
                    help="MiniSom batch epochs at N > 20,000 (each takes seconds)")
    ap.add_argument("--online-epochs", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-minisom", action="store_true")
    ap.add_argument("--no-qbm", action="store_true")
    args = ap.parse_args(argv)
    if not args.no_minisom:
        try:
            import minisom  # noqa: F401
        except ImportError:
            sys.exit("MiniSom is not installed: pip install -r bench/requirements.txt "
                     "(or run with --no-minisom)")
    for n in args.sizes:
        bench_size(n, args)
    if not args.no_qbm:
        bench_qbm(args)


if __name__ == "__main__":
    main()
