"""Neural soft clustering: the loss, the estimator's contract, presets.

Runs on the Keras backend of ``KERAS_BACKEND`` (TensorFlow by default; ``KERAS_BACKEND=jax`` runs
the same tests on JAX, see tests/test_backends.py).
"""
import itertools
import threading

import keras
import numpy as np
import pytest
from keras import ops

from clustering import kernels
from clustering.datasets import generate
from clustering.errors import ConfigError, DataError
from clustering.neural import NeuralSoftClustering, cluster_loss
from clustering.progress import Progress

RNG = np.random.default_rng(0)


def _loss(p, M, minimise=False):
    return float(ops.convert_to_numpy(cluster_loss(ops.convert_to_tensor(p),
                                                   ops.convert_to_tensor(M), minimise)))


@pytest.fixture
def float64():
    """Float64 arithmetic on every backend: JAX computes in float32 unless x64 is enabled."""
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    with jax.enable_x64(True):
        yield


def _direct_loss(p, M):
    """The notes' N x N x K formulation, written out with numpy broadcasting."""
    pp = p[:, None, :] * p[None, :, :]            # (N, N, K): p_ik p_jk
    num = (pp * M[:, :, None]).sum(axis=(0, 1))   # sum_ij p_ik p_jk M_ij
    return -(num / p.sum(axis=0)).sum()


def test_loss_matches_the_direct_n_n_k_computation(float64):
    X = RNG.normal(size=(12, 2))
    logits = RNG.normal(size=(12, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for name, param in (("rational", 0.1), ("gaussian", 0.7), ("knn", 3), ("threshold", 1.0)):
        M = kernels.kernel_matrix(X, name, param, dtype=np.float64)
        assert _loss(p, M) == pytest.approx(_direct_loss(p, M), rel=1e-10)
    D = kernels.kernel_matrix(X, "spread", dtype=np.float64)
    assert _loss(p, D, minimise=True) == pytest.approx(-_direct_loss(p, D), rel=1e-10)


def test_identity_kernel_scores_exactly_k_for_every_hard_partition():
    n, k = 7, 3
    eye = np.eye(n, dtype=np.float32)
    for labels in itertools.product(range(k), repeat=n):
        if len(set(labels)) < k:
            continue
        p = np.eye(k, dtype=np.float32)[list(labels)]
        assert _loss(p, eye) == -k  # exactly, in float32


def test_empty_cluster_gives_no_nan():
    M = np.ones((4, 4), dtype=np.float32)
    p = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]], dtype=np.float32)
    assert _loss(p, M) == -4.0  # cluster 3 is empty and adds 0


def test_no_nan_on_circles_with_the_seed_kernel():
    # the reference implementation's run on circles ended in NaN (global-max softmax); per-row
    # softmax cannot
    X, _ = generate("circles", n_samples=120)
    est = NeuralSoftClustering.seed_preset(2, max_epochs=150, sharpness=30.0,
                                           learning_rate=0.05).fit(X)
    assert np.all(np.isfinite(est.loss_history_))
    assert np.all(np.isfinite(est.predict_proba(X)))


def test_huge_logits_do_not_overflow():
    X, _ = generate("blobs", n_samples=60)
    est = NeuralSoftClustering(3, kernel="rational", sharpness=1e4, max_epochs=30,
                               learning_rate=0.1, standardize=False).fit(X)
    proba = est.predict_proba(X * 100)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1)


def test_fit_predict_and_new_points():
    X, y = generate("blobs", n_samples=150)
    est = NeuralSoftClustering.recommended(3, max_epochs=400).fit(X)
    assert est.labels_.shape == (150,) and est.proba_.shape == (150, 3)
    np.testing.assert_allclose(est.proba_.sum(axis=1), 1, atol=1e-5)
    assert est.n_epochs_ == len(est.loss_history_) <= 400
    assert not est.stopped_
    # new points near each blob's centre go to the cluster of that blob's training points
    centres = np.array([X[y == c].mean(axis=0) for c in range(3)])
    new = centres + RNG.normal(scale=0.1, size=centres.shape)
    train_label = [np.bincount(est.labels_[y == c]).argmax() for c in range(3)]
    np.testing.assert_array_equal(est.predict(new), train_label)
    assert len(set(train_label)) == 3
    assert est.score(X) == pytest.approx(-est.loss_, rel=1e-4)


def test_same_seed_same_result():
    X, _ = generate("moons", n_samples=120)
    a = NeuralSoftClustering(2, max_epochs=120, n_restarts=2, random_state=5).fit(X)
    b = NeuralSoftClustering(2, max_epochs=120, n_restarts=2, random_state=5).fit(X)
    c = NeuralSoftClustering(2, max_epochs=120, n_restarts=2, random_state=6).fit(X)
    assert a.loss_history_ == b.loss_history_
    np.testing.assert_array_equal(a.proba_, b.proba_)
    assert a.loss_history_ != c.loss_history_


def test_early_stopping_follows_keras_rule():
    X, _ = generate("blobs", n_samples=90)
    est = NeuralSoftClustering(3, max_epochs=5000, patience=7, min_delta=0.5).fit(X)
    h = np.array(est.loss_history_)
    # replay Keras' EarlyStopping on the recorded history: it must stop exactly where we did
    best, wait = np.inf, 0
    for epoch, value in enumerate(h):
        wait += 1
        if value < best - 0.5:
            best, wait = value, 0
        elif wait >= 7 and epoch > 0:
            break
    assert epoch == len(h) - 1 and wait == 7
    assert est.n_epochs_ < 5000


def test_callback_and_stop():
    X, _ = generate("moons", n_samples=100)
    stop = threading.Event()
    seen: list[Progress] = []

    def callback(progress):
        seen.append(progress)
        if progress.step >= 100:
            stop.set()

    est = NeuralSoftClustering(2, max_epochs=5000, patience=5000, n_restarts=3).fit(
        X, callback=callback, stop=stop)
    assert est.stopped_
    assert 100 <= est.n_epochs_ <= 150  # stops at the end of the running chunk
    assert len(est.restart_losses_) == 1  # later restarts are not started
    middle = [p for p in seen if not p.done]
    assert middle and all(p.method == "neural" and "loss" in p.metrics for p in middle)
    assert middle[0].payload().shape == (100, 2)
    assert seen[-1].done and seen[-1].payload().shape == (100, 2)
    assert est.predict(X).shape == (100,)


def test_progress_reports_restarts_and_early_stopping():
    # the loss lies in [-K, 0] = [-2, 0]: no decrease of min_delta = 5 can happen, so early
    # stopping ends each restart at epoch 1 + patience = 4 (the first epoch sets the best)
    X, _ = generate("moons", n_samples=60)
    seen: list[Progress] = []
    est = NeuralSoftClustering(2, max_epochs=400, patience=3, min_delta=5.0,
                               n_restarts=2).fit(X, callback=seen.append)
    assert est.restart_epochs_ == [4, 4]
    middle, final = seen[:-1], seen[-1]
    assert [p.message.split(":")[1].strip() for p in middle] == ["restart 1 of 2 stopped early "
                                                                 "at epoch 4", "restart 2 of 2 "
                                                                 "stopped early at epoch 4"]
    assert all("no improvement for 3 epochs" in p.message for p in middle)
    first = middle[0].metrics
    assert (first["restart"], first["n_restarts"], first["epoch"], first["max_epochs"],
            first["early_stopped"]) == (1, 2, 4, 400, 1)
    assert first["best_loss"] <= first["loss"] and first["elapsed"] >= 0
    assert all(isinstance(v, float) for p in seen for v in p.metrics.values())
    # the bar counts restarts: half done after the first early stop, whole after the second,
    # where the epochs against the most epochs would read 4 / 800 and 8 / 800
    assert [p.fraction for p in middle] == [0.5, 1.0]
    assert [p.step for p in middle] == [4, 8] and middle[0].total == 800
    assert final.done and final.fraction == 1.0
    assert final.message == f"finished: kept restart {est.best_restart_ + 1} of 2, epoch 4"


def test_progress_message_while_a_restart_runs():
    X, _ = generate("moons", n_samples=60)
    seen: list[Progress] = []
    NeuralSoftClustering(2, max_epochs=60, patience=1000, n_restarts=2).fit(
        X, callback=seen.append)
    # one report per compiled chunk of 50 epochs and one at the end of each restart
    first = seen[0]
    loss, best = first.metrics["loss"], first.metrics["best_loss"]
    assert first.message == (f"training: restart 1 of 2: epoch 50 (at most 60), "
                             f"loss {loss:.5g} (best {best:.5g})")
    assert first.metrics["early_stopped"] == 0.0 and best <= loss
    assert [p.fraction for p in seen] == pytest.approx([50 / 120, 0.5, 110 / 120, 1.0, 1.0])


def test_restarts_keep_the_lowest_loss():
    X, _ = generate("moons", n_samples=100)
    est = NeuralSoftClustering(2, max_epochs=100, n_restarts=3).fit(X)
    assert len(est.restart_losses_) == 3
    assert est.loss_ == pytest.approx(min(est.restart_losses_), rel=1e-6)
    assert est.best_restart_ == int(np.argmin(est.restart_losses_))


def test_model_saves_and_reloads(tmp_path):
    import keras

    X, _ = generate("circles", n_samples=80)
    est = NeuralSoftClustering(2, max_epochs=30, fourier_features=16,
                               sharpness_start=1.0, anneal_epochs=20).fit(X)
    path = tmp_path / "m.keras"
    est.model_.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(X, verbose=0), est.predict_proba(X), atol=1e-6)


def test_seed_preset():
    est = NeuralSoftClustering.seed_preset(3)
    params = est.get_params()
    assert params["kernel"] == "rational" and params["kernel_param"] == 0.1
    assert params["hidden_layers"] == (20, 20, 20) and params["activation"] == "relu"
    assert params["sharpness"] == 3.0 and params["optimizer"] == "adam"
    assert params["learning_rate"] == 0.001 and params["max_epochs"] == 5000
    assert params["patience"] == 50 and params["min_delta"] == 0.01
    assert params["standardize"] is False and params["n_restarts"] == 1
    assert NeuralSoftClustering.seed_preset(2, max_epochs=10).get_params()["max_epochs"] == 10


@pytest.mark.parametrize("params, match", [
    (dict(kernel="laplace"), "knn"),
    (dict(kernel="rational", kernel_param=-1.0), "above 0"),
    (dict(kernel="knn", kernel_param=200), "k <="),
    (dict(n_clusters=0), "n_clusters"),
    (dict(hidden_layers=(20, 0)), "hidden_layers"),
    (dict(activation="magic"), "activation"),
    (dict(optimizer="lbfgs"), "adam"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(sharpness=-3.0), "sharpness"),
])
def test_bad_parameters(params, match):
    X, _ = generate("blobs", n_samples=50)
    with pytest.raises(ConfigError, match=match):
        NeuralSoftClustering(**params).fit(X)


def test_bad_data():
    with pytest.raises(DataError):
        NeuralSoftClustering().fit(np.array([[0.0, np.nan], [1, 1], [2, 2]]))
    est = NeuralSoftClustering(2, max_epochs=5).fit(generate("moons", n_samples=40)[0])
    with pytest.raises(DataError, match="expected 2 features"):
        est.predict(np.zeros((3, 3)))


def test_plan_is_a_plan_and_leaves_nothing_on_the_estimator():
    from clustering.neural import ScalePlan
    from clustering.planning import Plan

    X, _ = generate("blobs", n_samples=80)
    est = NeuralSoftClustering(3, kernel="knn", batch_size=16)
    before = dict(vars(est))
    plan = est.plan(X)
    assert vars(est) == before
    assert isinstance(plan, Plan) and isinstance(plan, ScalePlan)
    assert plan.execution == plan.solver == "dense" and plan.reason and plan.bytes <= plan.limit
    assert plan.details == {"batch_size": 80, "n_components": None, "estimates": plan.estimates}
    assert plan.batch_size == 80 and plan.estimates["dense"] == plan.bytes
    assert plan.as_dict()["execution"] == "dense"
    # a record written before ScalePlan was a Plan (its old fields) still reads back
    old = ScalePlan(solver="dense", reason=plan.reason, bytes=plan.bytes, limit=plan.limit,
                    batch_size=80, n_components=None, estimates=plan.estimates)
    assert old == plan
    fitted = NeuralSoftClustering(3, kernel="knn", max_epochs=5, n_restarts=1).fit(X)
    assert fitted.plan_ == fitted.plan(X)


def test_parameters_are_declared_and_checked_before_any_work():
    from clustering import constraints

    declared = NeuralSoftClustering._parameter_constraints
    assert set(declared) == set(NeuralSoftClustering().get_params())
    X, _ = generate("blobs", n_samples=50)
    for params, match in ((dict(patience=0), "patience"), (dict(min_delta=-1.0), "min_delta"),
                          (dict(standardize="yes"), "standardize"),
                          (dict(random_state=-1), "random_state"),
                          (dict(batch_size=0), "batch_size"), (dict(solver="fast"), "solver")):
        est = NeuralSoftClustering(**params)
        with pytest.raises(ConfigError, match=match):
            est.plan(X)
        assert not hasattr(est, "model_")
    # whole numbers given as floats (JSON, number widgets), an optimizer in any case
    assert NeuralSoftClustering(n_clusters=3.0, hidden_layers=[8.0], optimizer="Adam",
                                max_epochs=5).fit(X).model_ is not None
    assert constraints.field_spec(declared["learning_rate"]).kind == "float"


def test_symmetric_loss_has_the_same_value():
    from clustering.objectives import symmetric_cluster_loss

    X = RNG.normal(size=(30, 2))
    p = RNG.dirichlet(np.ones(3), size=30).astype(np.float32)
    for name, minimise in (("diffusion", False), ("spread", True)):
        M = kernels.kernel_matrix(X, name, None if name == "spread" else 0.2)
        pt, Mt = ops.convert_to_tensor(p), ops.convert_to_tensor(M)
        assert float(ops.convert_to_numpy(symmetric_cluster_loss(pt, Mt, minimise))) == \
            pytest.approx(_loss(p, M, minimise), rel=1e-6)


def test_one_cluster_trains_and_puts_every_point_in_it():
    X, _ = generate("blobs", n_samples=30)
    est = NeuralSoftClustering(1, max_epochs=5, n_restarts=1).fit(X)
    assert np.all(est.labels_ == 0) and np.all(est.predict_proba(X) == 1.0)
    assert np.isfinite(est.loss_)
