"""Neural soft clustering on blobs / moons / circles: quality and speed (a script, not a test).

Usage (from the repository root)::

    .venv/bin/python bench/bench_neural.py                  # N = 500, seeds 0-4
    .venv/bin/python bench/bench_neural.py --reference      # also time the reference eager code
    .venv/bin/python bench/bench_neural.py --seeds 3 --n-samples 1000
    .venv/bin/python bench/bench_neural.py --backends tensorflow,jax   # step ms per backend
    KERAS_BACKEND=jax .venv/bin/python bench/bench_neural.py           # the table on JAX

For each generator (the notes' parameters; K = 3 for blobs, 2 for moons and circles) it prints,
for the notes' preset and the recommended default (``random_state`` = 0..seeds-1; median ARI, and
min-max over seeds), next to scikit-learn's KMeans and SpectralClustering(affinity=
"nearest_neighbors") on the standardised data:

* ARI against the generator's labels (labels are used only here, never by the methods);
* epochs: optimiser steps of the kept network / of all restarts together;
* wall time of the whole ``fit`` (kernel, tracing, every restart, final pass);
* ms/epoch = that wall time divided by all epochs trained (restarts included), and the steady-state
  cost of one compiled full-batch step (timed over 2,000 steps after warm-up).

The reference implementation of the notes (eager Keras ``fit``, N x N x K broadcasting) took about
85 ms per epoch at N = 500 on a 2-core machine; ``--reference`` re-times it here for a few epochs
so the speed-up is measured in the same run. ``--backends`` runs only the step timing, once per
Keras backend in its own process (the backend is fixed when Keras is imported), at
``--step-sizes`` points (default 500 and 4096), and prints the backends side by side. Timings
are wall-clock on whatever machine runs this; run it on a quiet machine. Figures:
``docs/neural.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans, SpectralClustering  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from clustering.datasets import generate  # noqa: E402
from clustering.network import build_model, make_optimizer  # noqa: E402
from clustering.neural import NeuralSoftClustering  # noqa: E402
from clustering.objectives import make_objective  # noqa: E402
from clustering.training import make_trainer  # noqa: E402

REFERENCE_MS = 85.0
DATASETS = (("blobs", 3), ("moons", 2), ("circles", 2))
TARGETS = {"blobs": 0.98, "moons": 0.95, "circles": 0.99}


def step_ms(est: NeuralSoftClustering, X: np.ndarray, steps: int = 2000) -> float:
    """Steady-state milliseconds of one compiled full-batch optimiser step of ``est``'s setup
    (dense kernel), on the running Keras backend."""
    from keras import ops

    from clustering import kernels

    est.plan(X)  # the parameters checked; the presets' values are then used as they are
    p = est.get_params()
    p["kernel"] = kernels.get_kernel(p["kernel"])
    p["kernel_param"] = kernels.check_param(p["kernel"], p["kernel_param"], X.shape[0])
    Xs = StandardScaler().fit_transform(X) if p["standardize"] else X
    objective, _ = make_objective("dense", p["kernel"], p["kernel_param"], Xs,
                                  ops.convert_to_tensor(X.astype(np.float32)), seed=0,
                                  n_components=None, limit=2 ** 62)
    model = build_model(p, X.shape[1], 0, None, activation=p["activation"])
    trainer = make_trainer(model, make_optimizer(p["optimizer"], p["learning_rate"]), objective)
    trainer.run(50)  # compile and warm up
    calls = max(1, steps // 50)
    start = time.perf_counter()
    for _ in range(calls):
        trainer.run(50)
    return 1000 * (time.perf_counter() - start) / (calls * 50)


def backend_steps(sizes, steps_at_500: int = 2000) -> dict:
    """Step ms of the notes' preset (rational kernel, 3 x 20 network) at each size, on the
    running backend; fewer steps on larger sizes (about the same time each)."""
    out = {}
    for n in sizes:
        X, _ = generate("blobs", n_samples=n)
        steps = max(100, int(steps_at_500 * (500 / n) ** 2))
        out[n] = step_ms(NeuralSoftClustering.seed_preset(3), X, steps)
    return out


def compare_backends(backends, sizes) -> dict:
    """:func:`backend_steps` in one process per backend; ``{backend: {n: ms}}``."""
    results = {}
    for backend in backends:
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--steps-json",
                               ",".join(str(n) for n in sizes)], env=env, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{backend}: {proc.stderr[-2000:]}")
        results[backend] = {int(k): v for k, v in
                            json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    return results


def print_backends(results: dict, sizes) -> None:
    import platform

    names = list(results)
    print(f"One compiled full-batch Adam step (rational kernel, 3 x Dense(20), K = 3), ms; "
          f"{os.cpu_count()} CPU cores, {platform.processor() or platform.machine()}")
    print(f"{'N':>6} " + " ".join(f"{b:>11}" for b in names))
    for n in sizes:
        print(f"{n:>6} " + " ".join(f"{results[b][n]:11.2f}" for b in names))


def reference_ms(X: np.ndarray, n_clusters: int, epochs: int = 12) -> float:
    """Milliseconds per epoch of the notes' own code (their lines 80-170), timed over
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
    ap.add_argument("--reference", "--seed-original", action="store_true",
                    dest="reference", help="also time the reference eager N x N x K code")
    ap.add_argument("--backends", default=None,
                    help="comma-separated Keras backends (tensorflow,jax): only the step timing, "
                         "one process per backend")
    ap.add_argument("--step-sizes", default="500,4096", help="N of the --backends timing")
    ap.add_argument("--steps-json", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.steps_json:  # the child process of --backends
        print(json.dumps(backend_steps([int(n) for n in args.steps_json.split(",")])))
        return 0
    if args.backends:
        sizes = [int(n) for n in args.step_sizes.split(",")]
        print_backends(compare_backends(args.backends.split(","), sizes), sizes)
        return 0
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
        for label, maker in (("notes preset", NeuralSoftClustering.seed_preset),
                             ("recommended", NeuralSoftClustering.recommended)):
            r = run_neural(lambda **kw: maker(k, **kw), X, y, seeds)
            print(f"{name:8} {label:16} {r['ari']:6.3f} [{r['ari_min']:5.3f}-{r['ari_max']:5.3f}]"
                  f" {r['epochs']:6.0f}/{r['all_epochs']:<6.0f} {r['wall']:7.2f} {r['ms']:9.2f}")
            if label == "notes preset":
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
    print(f"\nSpeed at N = {args.n_samples} (notes preset, one full-batch Adam step per epoch):")
    print(f"  whole fit / epochs, mean over the data sets: {fit_ms:.2f} ms/epoch")
    print(f"  one compiled step, steady state:             {steady:.2f} ms "
          f"(recommended network and kernel: {steady_rec:.2f} ms)")
    print(f"  reference code of the notes, 85 ms/epoch: speed-up {REFERENCE_MS / fit_ms:.0f}x"
          f" (whole fit), {REFERENCE_MS / steady:.0f}x (steady step); target >= 50x, "
          f"i.e. <= {REFERENCE_MS / 50:.1f} ms/epoch")
    if args.reference:
        ms = reference_ms(X, 3)
        print(f"  reference code timed now: {ms:.1f} ms/epoch -> speed-up "
              f"{ms / fit_ms:.0f}x (whole fit), {ms / steady:.0f}x (steady step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
