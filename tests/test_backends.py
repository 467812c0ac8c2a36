"""The neural clustering gives the same answers on every Keras backend it supports.

The backend is fixed when Keras is first imported, so each backend runs in its own process
(``KERAS_BACKEND=...``). Initial weights are drawn by each backend's own random generator, so the
same seed does not give the same numbers: the partitions (ARI) and the final losses must agree
within a tolerance instead. The full test module of the estimator also runs on JAX:
``KERAS_BACKEND=jax .venv/bin/python -m pytest tests/test_neural.py``.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clustering.training import BACKENDS

ROOT = Path(__file__).resolve().parents[1]

#: One small fit per path: dense (full batch), sparse edges, factored kernel on mini-batches.
SCRIPT = r"""
import json
import numpy as np
from sklearn.metrics import adjusted_rand_score
from clustering.datasets import generate
from clustering.neural import NeuralSoftClustering
import keras

out = {"backend": keras.backend.backend()}
runs = {
    "moons_dense": ("moons", 2, 500, dict(max_epochs=1500, n_restarts=3)),
    "blobs_dense": ("blobs", 3, 300, dict(max_epochs=300, n_restarts=2)),
    "blobs_sparse": ("blobs", 3, 300, dict(kernel="knn", kernel_param=10, solver="sparse",
                                           max_epochs=300, n_restarts=2)),
    "blobs_approx": ("blobs", 3, 300, dict(kernel="gaussian", kernel_param=0.5,
                                           solver="approx", batch_size=100, n_components=256,
                                           max_epochs=100, n_restarts=2)),
}
for name, (data, k, n, params) in runs.items():
    X, y = generate(data, n_samples=n)
    est = NeuralSoftClustering.recommended(k, random_state=0, **params).fit(X)
    out[name] = {"ari": float(adjusted_rand_score(y, est.labels_)), "loss": float(est.loss_),
                 "solver": est.solver_}
print(json.dumps(out))
"""


def _run(backend: str) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(backend, out)  # shown with -s or on a failure
    return out


@pytest.fixture(scope="module")
def results() -> dict:
    pytest.importorskip("jax", reason="JAX is not installed (requirements.txt installs it)")
    return {backend: _run(backend) for backend in BACKENDS}


def test_each_backend_runs_its_own_loop(results):
    for backend in BACKENDS:
        assert results[backend]["backend"] == backend


@pytest.mark.parametrize("run", ["moons_dense", "blobs_dense", "blobs_sparse", "blobs_approx"])
def test_backends_agree_on_partition_and_loss(results, run):
    tf, jx = results["tensorflow"][run], results["jax"][run]
    assert tf["solver"] == jx["solver"]
    assert tf["ari"] > 0.9 and jx["ari"] > 0.9, (tf, jx)
    assert abs(tf["ari"] - jx["ari"]) < 0.05, (tf, jx)
    assert jx["loss"] == pytest.approx(tf["loss"], rel=0.05, abs=0.02), (tf, jx)


def test_an_unsupported_backend_is_refused_naming_the_setting():
    script = ("from clustering.errors import ConfigError\n"
              "from clustering.training import make_trainer\n"
              "try:\n    make_trainer(None, None, None)\n"
              "except ConfigError as err:\n    print(err)\n")
    env = dict(os.environ, KERAS_BACKEND="numpy")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert "KERAS_BACKEND=tensorflow" in proc.stdout, proc.stdout + proc.stderr[-2000:]
