"""Neural soft clustering on blobs / moons / circles: quality and speed (a script, not a test).

Usage (from the repository root)::

    .venv/bin/python bench/bench_neural.py                  # N = 500, seeds 0-4
    .venv/bin/python bench/bench_neural.py --seed-original  # also time the seed's eager code
    .venv/bin/python bench/bench_neural.py --seeds 3 --n-samples 1000

For each generator (the seed's parameters; K = 3 for blobs, 2 for moons and circles) it prints,
for the seed preset and the recommended default (``random_state`` = 0..seeds-1; median ARI, and
min-max over seeds), next to scikit-learn's KMeans and SpectralClustering(affinity=
"nearest_neighbors") on the standardised data:

* ARI against the generator's labels (labels are used only here, never by the methods);
* epochs: optimiser steps of the kept network / of all restarts together;
* wall time of the whole ``fit`` (kernel, tracing, every restart, final pass);
* ms/epoch = that wall time divided by all epochs trained (restarts included), and the steady-state
  cost of one compiled full-batch step (timed over 2,000 steps after warm-up).

The seed's original code (eager Keras ``fit``, N x N x K broadcasting) took about 85 ms per epoch
at N = 500 on this machine (digest part A); ``--seed-original`` re-times it here for a few epochs
so the speed-up is measured in the same run. Timings are wall-clock on whatever machine runs this;
run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans, SpectralClustering  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from clustering.datasets import generate  # noqa: E402
from clustering.neural import NeuralSoftClustering, _Trainer  # noqa: E402

SEED_REFERENCE_MS = 85.0
DATASETS = (("blobs", 3), ("moons", 2), ("circles", 2))
TARGETS = {"blobs": 0.98, "moons": 0.95, "circles": 0.99}


def step_ms(est: NeuralSoftClustering, X: np.ndarray, steps: int = 2000) -> float:
    """Steady-state milliseconds of one compiled full-batch optimiser step of ``est``'s setup."""
    from keras import ops

    from clustering import kernels

    p = est._check_params(X.shape[0])
    Xs = StandardScaler().fit_transform(X) if est.standardize else X
    M = ops.convert_to_tensor(kernels.kernel_matrix(Xs, p["kernel"], p["kernel_param"]))
    model = est._build_model(p, X.shape[1], 0, None)
    trainer = _Trainer(model, est._make_optimizer(p), ops.convert_to_tensor(
        X.astype(np.float32)), M, p["kernel"].minimise)
    trainer.run(50)  # trace and warm up
    start = time.perf_counter()
    for _ in range(steps // 50):
        trainer.run(50)
    return 1000 * (time.perf_counter() - start) / (steps // 50 * 50)


def seed_original_ms(X: np.ndarray, n_clusters: int, epochs: int = 12) -> float:
    """Milliseconds per epoch of the seed's own code (notes lines 80-170), timed over
    ``epochs`` epochs after the first: eager Keras, N x N x K tensors, global-max softmax."""
    import keras
    import keras.ops as ko
    from keras.layers import Dense
    from keras.models import Sequential

    n, dim = X.shape

    def my_softmax(x):
        A = 3.0
        m = ko.max(x)
        y = ko.exp(ko.multiply(A, ko.subtract(x, m)))
        s = ko.sum(y, axis=1)
        s2 = ko.broadcast_to(ko.reshape(s, (s.shape[0], 1)), (s.shape[0], n_clusters))
        return ko.divide(y, s2)

    model = Sequential()
    model.add(keras.Input(shape=(dim,)))
    model.add(Dense(20, activation="relu"))
    model.add(Dense(20, activation="relu"))
    model.add(Dense(20, activation="relu"))
    model.add(Dense(n_clusters, activation=my_softmax))
    m1 = ko.broadcast_to(X, (n, n, dim))
    m2 = ko.moveaxis(m1, 0, 1)
    MD = ko.sum(ko.square(ko.subtract(m1, m2)), axis=-1)
    MN = np.vectorize(lambda x: 0.1 / (x + 0.1))(ko.convert_to_numpy(MD))

    def my_err_func(y_true, y_pred):
        p1 = ko.broadcast_to(y_pred, (n, n, n_clusters))
        p2 = ko.moveaxis(p1, 0, 1)
        mp = ko.multiply(p1, p2)
        mm = ko.moveaxis(ko.broadcast_to(MN, (n_clusters, n, n)), 0, 2)
        fc = ko.sum(ko.sum(ko.multiply(mp, mm), axis=0), axis=0)
        nc = ko.sum(y_pred, axis=0)
        return -ko.sum(ko.divide(fc, nc))

    model.compile(loss=my_err_func, optimizer="adam", metrics=["accuracy"], run_eagerly=True)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(X, np.zeros((n, n_clusters), dtype=int), batch_size=512, epochs=epochs + 1,
              verbose=0, callbacks=[Timer()])
    return 1000 * float(np.median(times[1:]))


def run_neural(make, X, y, seeds):
    rows = []
    for seed in seeds:
        est = make(random_state=seed)
        start = time.perf_counter()
        est.fit(X)
        wall = time.perf_counter() - start
        rows.append((adjusted_rand_score(y, est.labels_), est.n_epochs_,
                     sum(est.restart_epochs_), wall))
    a = np.array(rows)
    return dict(ari=np.median(a[:, 0]), ari_min=a[:, 0].min(), ari_max=a[:, 0].max(),
                epochs=np.median(a[:, 1]), all_epochs=np.median(a[:, 2]),
                wall=np.median(a[:, 3]), ms=1000 * a[:, 3].sum() / a[:, 2].sum())


def run_sklearn(est, X, y):
    Xs = StandardScaler().fit_transform(X)
    start = time.perf_counter()
    labels = est.fit_predict(Xs)
    return adjusted_rand_score(y, labels), time.perf_counter() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-samples", type=int, default=500)
    ap.add_argument("--seeds", type=int, default=5, help="random_state 0 .. seeds-1")
    ap.add_argument("--seed-original", action="store_true",
                    help="also time the seed's original eager N x N x K code")
    args = ap.parse_args(argv)
    seeds = range(args.seeds)
    print(f"N = {args.n_samples}, seeds 0-{args.seeds - 1}; ARI median [min-max]; epochs of the "
          "kept network / of all restarts (medians); wall = whole fit (median); ms/epoch = all "
          "fit time / all epochs\n")
    head = (f"{'data':8} {'method':16} {'ARI':>6} {'[min-max]':>14} {'epochs':>13} "
            f"{'wall s':>7} {'ms/epoch':>9}")
    print(head)
    print("-" * len(head))
    seed_ms, met = [], []
    for name, k in DATASETS:
        X, y = generate(name, n_samples=args.n_samples)
        for label, maker in (("seed preset", NeuralSoftClustering.seed_preset),
                             ("recommended", NeuralSoftClustering.recommended)):
            r = run_neural(lambda **kw: maker(k, **kw), X, y, seeds)
            print(f"{name:8} {label:16} {r['ari']:6.3f} [{r['ari_min']:5.3f}-{r['ari_max']:5.3f}]"
                  f" {r['epochs']:6.0f}/{r['all_epochs']:<6.0f} {r['wall']:7.2f} {r['ms']:9.2f}")
            if label == "seed preset":
                seed_ms.append(r["ms"])
            else:
                met.append((name, r["ari"], r["ari"] >= TARGETS[name]))
        for label, est in (("KMeans", KMeans(k, n_init=10, random_state=0)),
                           ("Spectral 10-NN", SpectralClustering(
                               k, affinity="nearest_neighbors", n_neighbors=10,
                               random_state=0))):
            a, wall = run_sklearn(est, X, y)
            print(f"{name:8} {label:16} {a:6.3f} {'':14} {'':13} {wall:7.2f}")
    print()
    print("Recommended default against the targets (median ARI): " + "; ".join(
        f"{n} {a:.3f} (>= {TARGETS[n]}: {'yes' if ok else 'NO'})" for n, a, ok in met))

    X, _ = generate("blobs", n_samples=args.n_samples)
    steady = step_ms(NeuralSoftClustering.seed_preset(3), X)
    steady_rec = step_ms(NeuralSoftClustering.recommended(3), X)
    fit_ms = float(np.mean(seed_ms))
    print(f"\nSpeed at N = {args.n_samples} (seed preset, one full-batch Adam step per epoch):")
    print(f"  whole fit / epochs, mean over the data sets: {fit_ms:.2f} ms/epoch")
    print(f"  one compiled step, steady state:             {steady:.2f} ms "
          f"(recommended network and kernel: {steady_rec:.2f} ms)")
    print(f"  seed's original code, reference 85 ms/epoch: speed-up {SEED_REFERENCE_MS / fit_ms:.0f}x"
          f" (whole fit), {SEED_REFERENCE_MS / steady:.0f}x (steady step); target >= 50x, "
          f"i.e. <= {SEED_REFERENCE_MS / 50:.1f} ms/epoch")
    if args.seed_original:
        ms = seed_original_ms(X, 3)
        print(f"  seed's original code timed now: {ms:.1f} ms/epoch -> speed-up "
              f"{ms / fit_ms:.0f}x (whole fit), {ms / steady:.0f}x (steady step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
