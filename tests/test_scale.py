"""Scale: chunked batch SOM, memory refusal, and Dask runs identical to the local path."""
import os
import subprocess
import sys

import numpy as np
import pytest

from clustering import distributed, memory
from clustering.ensemble import QuasiBayesianEnsemble
from clustering.errors import ClusteringError, ConfigError
from clustering.som import SOM, batch_chunk_rows, estimate_memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(distributed.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(memory.MEMORY_ENV, raising=False)


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    return centres[np.arange(n) % 3] + rng.normal(scale=0.7, size=(n, 2))


def _children():
    """Child processes, less multiprocessing's resource tracker (it lives as long as Python)."""
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())}


SMALL_QBM = dict(tau1_grid=(140, 700), tau2_grid=(125,), n_replicates=2, rows=4, cols=3,
                 n_steps=15, random_state=7)


# ----------------------------------------------------------------------------------- chunks
def test_chunked_batch_som_matches_one_block():
    X = _blobs(300)
    kw = dict(rows=5, cols=4, mode="batch", n_steps=25, init="random", tol=0, random_state=3)
    whole = SOM(**kw, chunk_size=10_000).fit(X)
    chunked = SOM(**kw, chunk_size=7).fit(X)
    assert whole.n_chunks_ == 1 and not whole.execution_["chunked"]
    assert chunked.n_chunks_ == 43 and chunked.execution_["chunked"]
    assert "43 chunks of 7 objects" in chunked.execution_["summary"]
    np.testing.assert_array_equal(whole.labels_, chunked.labels_)
    np.testing.assert_array_equal(whole.bmu_, chunked.bmu_)
    # sums added chunk by chunk: the same up to the rounding of the additions
    np.testing.assert_allclose(whole.codebook_, chunked.codebook_, rtol=0, atol=1e-12)
    assert whole.quantization_error_ == pytest.approx(chunked.quantization_error_, abs=1e-12)


def test_default_chunk_follows_the_memory_budget():
    assert batch_chunk_rows(192) == 8 * 2 ** 20 // (8 * 192)
    assert batch_chunk_rows(192, 50) == 50
    est = estimate_memory(1_000_000, 10, 192)
    # nothing of N x units: the chunk block stays at the budget whatever N
    assert est["chunk"] <= 2 * 8 * 2 ** 20 + 16 * 192 * 5300
    assert est["total"] < 200 * 2 ** 20


def test_pca_init_on_many_rows_uses_the_covariance(monkeypatch):
    from clustering import som as som_mod

    X = _blobs(400)
    a = som_mod._principal_axes(X)
    monkeypatch.setattr(som_mod, "PCA_SVD_MAX_ROWS", 10)
    b = som_mod._principal_axes(X)
    np.testing.assert_allclose(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(np.abs(a[2]), np.abs(b[2]), atol=1e-12)  # axes up to sign


# ----------------------------------------------------------------------------------- memory
def test_som_refuses_a_job_above_the_memory_limit():
    with pytest.raises(ConfigError, match="memory_limit: a 1600-unit SOM on 120 x 2 objects "
                                          "needs about .* CLUSTERMAP_MEMORY_LIMIT.*smaller "
                                          "lattice"):
        SOM(rows=40, cols=40, mode="batch", memory_limit=10 * 2 ** 20).fit(_blobs())


def test_memory_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_MEMORY_LIMIT", "1M")
    with pytest.raises(ConfigError, match="above the limit of 1.0 MB"):
        SOM(rows=20, cols=20, mode="batch").fit(_blobs())
    with pytest.raises(ConfigError, match="above the limit of 1.0 MB"):
        QuasiBayesianEnsemble(**{**SMALL_QBM, "rows": 20, "cols": 20}, n_jobs=1).fit(_blobs())
    monkeypatch.setenv("CLUSTERMAP_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="CLUSTERMAP_MEMORY_LIMIT: expected bytes"):
        SOM(rows=3, cols=3).fit(_blobs())


def test_bad_settings_are_named():
    X = _blobs()
    for params, field in (({"scheduler": "cluster please"}, "scheduler"),
                          ({"scheduler": 3}, "scheduler"), ({"n_jobs": 0}, "n_jobs"),
                          ({"chunk_size": 0}, "chunk_size"), ({"memory_limit": -5}, "memory_limit")):
        with pytest.raises(ConfigError, match=f"^{field}:"):
            SOM(rows=3, cols=3, **params).fit(X)
    with pytest.raises(ConfigError, match="^scheduler:"):
        QuasiBayesianEnsemble(**SMALL_QBM, scheduler="somewhere").fit(X)


def test_scheduler_from_the_environment_is_checked(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_DASK_SCHEDULER", "not an address")
    with pytest.raises(ConfigError, match="^CLUSTERMAP_DASK_SCHEDULER:"):
        SOM(rows=3, cols=3, mode="batch").fit(_blobs())
    assert distributed.resolve_scheduler("local") == "local"  # the setting wins


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 0.5)
    with pytest.raises(ClusteringError, match="no Dask scheduler answered at tcp://127.0.0.1:9"):
        SOM(rows=3, cols=3, mode="batch", n_steps=2,
            scheduler="tcp://127.0.0.1:9").fit(_blobs())


def test_small_auto_job_stays_local_and_nothing_is_started():
    before = _children()
    som = SOM(rows=3, cols=3, mode="batch", n_steps=3, scheduler="auto", chunk_size=10,
              n_jobs=2).fit(_blobs())
    assert som.execution_["path"] == "local"
    assert som.execution_["reason"].startswith("scheduler='auto': a small job")
    assert _children() == before


def test_importing_the_package_does_not_import_dask():
    code = ("import sys, clustering, clustering.som, clustering.ensemble, "
            "clustering.distributed; print(any(m.split('.')[0] in ('dask', 'distributed') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr


# ----------------------------------------------------------------------------------- Dask
def test_ensemble_on_a_two_worker_local_cluster_equals_the_local_path():
    X = _blobs(90)
    before = _children()
    local = QuasiBayesianEnsemble(**SMALL_QBM, n_jobs=1, scheduler="local").fit(X)
    assert local.execution_["path"] == "local" and local.execution_["workers"] == 1
    dask = QuasiBayesianEnsemble(**SMALL_QBM, n_jobs=2, scheduler="localcluster").fit(X)
    assert dask.execution_["path"] == "localcluster" and dask.execution_["workers"] == 2
    assert dask.execution_["summary"] == "Dask LocalCluster, 2 workers"
    np.testing.assert_array_equal(local.labels_, dask.labels_)
    np.testing.assert_array_equal(local.proba_, dask.proba_)
    np.testing.assert_array_equal(local.maps_table_["theta"], dask.maps_table_["theta"])
    np.testing.assert_array_equal(local.networks_.to_numpy(), dask.networks_.to_numpy())
    for a, b in zip(local.maps_, dask.maps_):
        np.testing.assert_array_equal(a.codebook_, b.codebook_)
    assert local.theta_mean_ == dask.theta_mean_
    assert _children() == before  # the cluster was closed


def test_batch_som_on_an_existing_scheduler_equals_the_local_path(monkeypatch):
    from distributed import LocalCluster

    X = _blobs(240)
    kw = dict(rows=4, cols=4, mode="batch", n_steps=12, init="random", tol=0, random_state=1,
              chunk_size=20)
    local = SOM(**kw, scheduler="local").fit(X)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        monkeypatch.setenv("CLUSTERMAP_DASK_SCHEDULER", cluster.scheduler_address)
        remote = SOM(**kw).fit(X)
    assert remote.execution_["path"] == "remote" and remote.execution_["workers"] == 2
    assert remote.execution_["summary"].startswith(f"Dask scheduler {cluster.scheduler_address}"
                                                   ", 2 workers; batch sums in 12 chunks")
    np.testing.assert_array_equal(local.codebook_, remote.codebook_)
    np.testing.assert_array_equal(local.labels_, remote.labels_)
    np.testing.assert_equal(local.history_, remote.history_)


def test_the_app_never_starts_a_cluster_per_session():
    from ui import runs

    assert runs.app_params("qbm", {"scheduler": "localcluster", "n_jobs": -1}) == {"n_jobs": 1}
    assert runs.app_params("som", {"scheduler": "auto", "n_jobs": 4, "rows": 3}) == {"rows": 3}
    assert runs.planned_execution("som").startswith("Runs on a worker of the embedded Dask "
                                                    "cluster, ")
    assert runs.planned_execution("som").endswith(", never in the web server.")
    assert runs.worker_params("som", {"rows": 3}) == {"rows": 3, "scheduler": "local"}


def test_no_way_into_the_app_sets_where_or_how_big_a_run_is(monkeypatch):
    """A saved run or comparison is a user's file: its scheduler address (which would send the
    data to any host), process count and memory limit are never followed."""
    from clustering import tables
    from clustering.datasets import generate
    from ui import runs

    def no_dask(*args, **kwargs):
        raise AssertionError("the app tried to reach a Dask scheduler")

    monkeypatch.delenv(distributed.SCHEDULER_ENV, raising=False)
    monkeypatch.setattr(distributed, "_import_distributed", no_dask)
    for method in ("neural", "som", "qbm", "kmeans", "dbscan"):
        kept = runs.app_params(method, {"scheduler": "tcp://203.0.113.9:8786", "n_jobs": 64,
                                        "memory_limit": 2 ** 50, "n_clusters": 2})
        assert "scheduler" not in kept and "memory_limit" not in kept
        assert kept.get("n_jobs", 1) == 1 and kept["n_clusters"] == 2
    X, y = generate("blobs", n_samples=200)
    ds = tables.from_arrays(X, y)
    hostile = {"som": {"mode": "batch", "rows": 4, "cols": 4, "n_clusters": 3, "n_steps": 5,
                       "scheduler": "tcp://203.0.113.9:8786", "memory_limit": 2 ** 50}}
    res = runs.compare(hostile, ds, {"source": "generator", "name": "blobs", "params": {}})
    assert not res.extra["errors"] and "SOM clusters" in res.extra["partitions"]
    saved = res.config.methods["som"]
    assert saved.get("scheduler") is None and saved.get("memory_limit") is None
    # the server's limit holds for the neural network too, before any training starts
    monkeypatch.setenv(memory.MEMORY_ENV, "1M")
    with pytest.raises(ConfigError, match="memory_limit"):
        runs.preflight("neural", {"n_clusters": 3, "solver": "dense", "memory_limit": 2 ** 50},
                       np.repeat(ds.X, 10, axis=0))


# ----------------------------------------------------------------------------- neural, large N
def _points(n=60, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 2))


@pytest.mark.parametrize("name, param", [("knn", 5), ("threshold", 0.5), ("identity", None)])
def test_sparse_kernel_is_the_dense_kernel_entry_for_entry(name, param):
    from clustering import kernels

    X = np.vstack([_points(), _points(5)[:3]])
    X[-1] = X[0]  # a duplicate point
    S = kernels.sparse_kernel(X, name, param)
    assert S.format == "csr" and S.dtype == np.float32
    np.testing.assert_array_equal(S.toarray(), kernels.kernel_matrix(X, name, param))


@pytest.mark.parametrize("name, param", [("gaussian", 1.0), ("rational", 0.5)])
def test_random_fourier_features_approximate_the_kernel(name, param):
    from clustering import kernels

    X = _points(30)
    W, b = kernels.fourier_weights(name, param, n_features=2, n_components=40_000,
                                   random_state=0)
    Z = np.sqrt(2.0 / W.shape[1]) * np.cos(X @ W + b)
    exact = kernels.kernel_matrix(X, name, param)
    assert np.max(np.abs(Z @ Z.T - exact)) < 0.03  # O(D^-1/2) error


def test_landmark_diffusion_with_every_point_a_landmark_is_the_diffusion_kernel():
    from clustering import kernels

    X = _points(80)
    landmarks, assign, G = kernels.landmark_diffusion(X, tau=0.2, n_landmarks=80, tol=1e-9)
    np.testing.assert_array_equal(landmarks, np.arange(80))
    np.testing.assert_array_equal(assign, np.arange(80))
    np.testing.assert_allclose(G @ G.T, kernels.kernel_matrix(X, "diffusion", 0.2), atol=1e-4)


def test_the_solver_is_chosen_by_size_and_memory_and_says_why():
    from clustering.neural import AUTO_DENSE_MAX_POINTS, plan_solver

    big = 16 * 2 ** 30
    small = plan_solver(1000, 2, kernel="knn", memory_limit=big)
    assert small.solver == "dense" and "1000 points" in small.reason
    n = 4 * AUTO_DENSE_MAX_POINTS
    assert plan_solver(n, 2, kernel="knn", memory_limit=big).solver == "sparse"
    for kernel in ("gaussian", "rational", "diffusion"):
        plan = plan_solver(n, 2, kernel=kernel, memory_limit=big)
        assert plan.solver == "approx" and plan.reason and plan.bytes <= big
        assert plan.estimates["dense"] > plan.bytes  # the N x N kernel would take more
    with pytest.raises(ConfigError, match="memory_limit"):
        plan_solver(n, 2, kernel="knn", solver="dense", memory_limit=2 ** 20)


@pytest.mark.parametrize("kernel, param, solver", [("knn", 10, "sparse"),
                                                   ("diffusion", 0.2, "approx")])
def test_large_n_paths_cluster_blobs_and_predict_new_points(kernel, param, solver):
    from sklearn.metrics import adjusted_rand_score

    from clustering.datasets import generate
    from clustering.neural import NeuralSoftClustering

    X, y = generate("blobs", n_samples=800, random_state=1)
    est = NeuralSoftClustering(3, kernel=kernel, kernel_param=param, solver=solver,
                               n_restarts=2, max_epochs=300, random_state=0).fit(X)
    assert est.solver_ == solver and est.solver_reason_
    assert adjusted_rand_score(y, est.labels_) > 0.95
    X_new, y_new = generate("blobs", n_samples=90, random_state=1)
    proba = est.predict_proba(X_new + 0.01)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert adjusted_rand_score(y_new, proba.argmax(axis=1)) > 0.9


def test_a_batch_size_the_solver_cannot_use_is_said_not_dropped():
    from clustering.neural import plan_solver

    plan = plan_solver(1000, 2, kernel="knn", batch_size=128, memory_limit=2 ** 34)
    assert plan.solver == "dense" and plan.batch_size == 1000
    assert "batch_size = 128 is not used" in plan.reason
    approx = plan_solver(50_000, 2, kernel="gaussian", batch_size=128, memory_limit=2 ** 34)
    assert approx.solver == "approx" and approx.batch_size == 128
    assert "not used" not in approx.reason


def test_landmark_memory_estimate_follows_the_rank_that_tau_gives():
    """The factor rows grow as tau shrinks (rank ~ 2.5 / tau): the estimate must follow, and
    the exact size is checked before the factor is allocated."""
    from clustering import kernels
    from clustering.neural import LANDMARK_DRAWS, estimate_memory

    n = 100_000
    wide = estimate_memory(n, 2, kernel="diffusion", kernel_param=0.2)["approx"]
    narrow = estimate_memory(n, 2, kernel="diffusion", kernel_param=0.01)["approx"]
    from sklearn.preprocessing import StandardScaler

    from clustering.datasets import generate

    X, _ = generate("moons", n_samples=20_000)
    Xs = StandardScaler().fit_transform(X)
    for tau, estimate in ((0.2, wide), (0.01, narrow)):
        rank = kernels.landmark_diffusion(Xs, tau, 1000, 0)[2].shape[1]
        factor_bytes = n * 4 * LANDMARK_DRAWS * rank
        assert factor_bytes < estimate < 4 * factor_bytes + 60 * 2 ** 20, (tau, rank)
    assert narrow > 4 * wide
