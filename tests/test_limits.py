"""Every limit is checked before the work starts (issue 11, section 3).

Each hostile configuration of the issue passes the type checks of a saved run
(:func:`clustering.config.validate_params` / :func:`clustering.config.load_config`) and is then
refused by the estimator's own check, before anything is built or trained, with a message naming
the parameter, the value, the limit and the environment variable that raises it.
"""
import json

import numpy as np
import pytest

from clustering import classic, config as cfg, datasets, limits
from clustering.ensemble import QuasiBayesianEnsemble
from clustering.errors import ConfigError
from clustering.memory import MEMORY_ENV
from clustering.neural import NeuralSoftClustering, network_memory
from clustering.som import SOM

BLOBS = {"source": "generator", "name": "blobs", "params": {}}
X_SMALL = np.random.default_rng(0).normal(size=(60, 2))


def _saved(method, params):
    """Params as a saved run would give them: through the JSON text and the validation."""
    text = json.dumps({"format": cfg.FORMAT, "version": cfg.VERSION, "method": method,
                       "params": params, "data": BLOBS})
    return cfg.load_config(text).params


def _refused(func, *needles):
    with pytest.raises(ConfigError) as err:
        func()
    message = str(err.value)
    for needle in needles:
        assert needle in message, message
    return message


def _limit_words(name):
    entry = limits.LIMITS[name]
    return str(limits.limit(name)), entry.env


# ----------------------------------------------------------------------------------- the table
def test_every_limit_is_declared_once_with_an_env_variable_and_a_meaning():
    envs = [entry.env for entry in limits.LIMITS.values()]
    assert len(set(envs)) == len(envs)
    for name, entry in limits.LIMITS.items():
        assert entry.env.startswith("CLUSTERMAP_MAX_") and entry.meaning
        assert limits.limit(name) == entry.default >= 1


def test_env_override_raises_and_lowers_a_limit(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_MAX_N_INIT", "1e3")
    assert limits.limit("n_init") == 1000
    assert limits.check("n_init", 500, "n_init") == 500
    monkeypatch.setenv("CLUSTERMAP_MAX_N_INIT", "5")
    _refused(lambda: limits.check("n_init", 10, "n_init"), "n_init: 10", "limit of 5",
             "CLUSTERMAP_MAX_N_INIT")


@pytest.mark.parametrize("raw", ["many", "0", "-3", "2.5", "inf"])
def test_a_bad_env_value_is_refused_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("CLUSTERMAP_MAX_EPOCHS", raw)
    _refused(lambda: limits.limit("epochs"), "CLUSTERMAP_MAX_EPOCHS", repr(raw))


# ----------------------------------------------------------------------------------- neural
def test_network_memory_counts_weights_gradients_and_adam_slots():
    # 2 -> 10 -> 3: (2*10 + 10) + (10*3 + 3) = 63 float32 parameters; Adam keeps 2 slots
    weights = network_memory(2, (10,), 3, optimizer="adam")
    sgd = network_memory(2, (10,), 3, optimizer="sgd")
    assert weights - sgd == 63 * 2 * 4
    assert weights >= 63 * (1 + 1 + 2) * 4


def test_two_layers_of_100000_units_are_refused_by_the_memory_estimate(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "4G")
    monkeypatch.setenv("CLUSTERMAP_MAX_LAYER_UNITS", "200000")  # leave it to the memory check
    params = _saved("neural", {"hidden_layers": [100000, 100000]})
    est = NeuralSoftClustering(**params)
    message = _refused(lambda: est.plan(n_samples=500, n_features=2), "memory_limit",
                       MEMORY_ENV, "hidden_layers", "above the limit of 4.0 GB")
    assert "weights, gradients and optimiser slots" in message
    assert not hasattr(est, "model_")


def test_two_layers_of_100000_units_are_refused_by_the_units_limit():
    est = NeuralSoftClustering(**_saved("neural", {"hidden_layers": [100000, 100000]}))
    limit, env = _limit_words("layer_units")
    _refused(lambda: est.plan(X_SMALL), "hidden_layers[0]: 100000", f"limit of {limit}", env)


@pytest.mark.parametrize("params, where, name", [
    ({"hidden_layers": [8] * 40}, "hidden_layers: 40", "hidden_layers"),
    ({"n_restarts": 10 ** 6}, "n_restarts: 1000000", "restarts"),
    ({"max_epochs": 10 ** 9}, "max_epochs: 1000000000", "epochs"),
    ({"anneal_epochs": 10 ** 9}, "anneal_epochs: 1000000000", "epochs"),
    ({"fourier_features": 10 ** 6}, "fourier_features: 1000000", "fourier_features"),
    ({"n_components": 10 ** 8, "kernel": "gaussian"}, "n_components: 100000000", "components"),
    ({"n_clusters": 10 ** 5}, "n_clusters: 100000", "n_clusters"),
])
def test_hostile_neural_settings_are_refused_by_plan(params, where, name):
    est = NeuralSoftClustering(**_saved("neural", params))
    limit, env = _limit_words(name)
    _refused(lambda: est.plan(n_samples=200_000, n_features=2), where, f"limit of {limit}", env)


def test_the_neural_env_override_lets_a_bigger_network_through(monkeypatch):
    est = NeuralSoftClustering(n_restarts=200)
    with pytest.raises(ConfigError):
        est.plan(X_SMALL)
    monkeypatch.setenv("CLUSTERMAP_MAX_RESTARTS", "500")
    assert est.plan(X_SMALL).solver == "dense"


# ----------------------------------------------------------------------------------- ensemble
@pytest.mark.parametrize("params, shown", [
    ({"n_replicates": 3_000_000}, "3000000 x 3 x 3 = 27000000"),
    ({"tau1_grid": list(range(1, 2001))}, "3 x 2000 x 3 = 18000"),
    ({"tau1_grid": list(range(1, 401)), "tau2_grid": list(range(1, 401)), "n_replicates": 2},
     "2 x 400 x 400 = 320000"),
])
def test_hostile_ensembles_are_refused_before_the_first_map(params, shown):
    est = QuasiBayesianEnsemble(**_saved("qbm", params))
    limit, env = _limit_words("ensemble_maps")
    _refused(lambda: est.fit(X_SMALL), "n_replicates x len(tau1_grid) x len(tau2_grid)", shown,
             f"limit of {limit}", env)
    assert not hasattr(est, "maps_")


def test_a_huge_coassociation_is_refused():
    est = QuasiBayesianEnsemble(**_saved("qbm", {"max_coassociation": 10 ** 9}))
    limit, env = _limit_words("coassociation")
    _refused(lambda: est._check_params(X_SMALL), "max_coassociation: 1000000000",
             f"limit of {limit}", env)


def test_the_ensemble_env_override_raises_the_map_limit(monkeypatch):
    est = QuasiBayesianEnsemble(n_replicates=200)
    with pytest.raises(ConfigError):
        est._check_params(X_SMALL)
    monkeypatch.setenv("CLUSTERMAP_MAX_ENSEMBLE_MAPS", "2000")
    est._check_params(X_SMALL)


# ----------------------------------------------------------------------------------- SOM
@pytest.mark.parametrize("params, where, name", [
    ({"n_steps": 10 ** 9}, "n_steps: 1000000000", "som_steps"),
    ({"n_steps": 10 ** 6, "mode": "batch"}, "n_steps: 1000000", "epochs"),
    ({"mode": "batch", "convergence_steps": 10 ** 6}, "n_steps + convergence_steps: 500 + "
                                                      "1000000", "epochs"),
])
def test_hostile_som_steps_are_refused_before_training(params, where, name):
    som = SOM(**_saved("som", params))
    limit, env = _limit_words(name)
    _refused(lambda: som.fit(X_SMALL), where, f"limit of {limit}", env)
    assert not hasattr(som, "codebook_")


# ----------------------------------------------------------------------------------- classic
@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_n_init_of_a_billion_is_refused(method):
    params = _saved(method, {"n_init": 10 ** 9})
    limit, env = _limit_words("n_init")
    _refused(lambda: cfg.fit_method(method, params, X_SMALL), "n_init: 1000000000",
             f"limit of {limit}", env)


def test_max_iter_and_n_clusters_of_kmeans_are_bounded():
    limit, env = _limit_words("max_iter")
    _refused(lambda: cfg.fit_method("kmeans", _saved("kmeans", {"max_iter": 10 ** 9}), X_SMALL),
             "max_iter: 1000000000", f"limit of {limit}", env)
    limit, env = _limit_words("n_clusters")
    _refused(lambda: classic.check_classic("agglomerative", 10 ** 6, {}, (10 ** 7, 2)),
             "n_clusters: 1000000", f"limit of {limit}", env)


def test_macqueen_with_thousands_of_clusters_on_a_wide_table_is_refused():
    limit, env = _limit_words("n_clusters")
    _refused(lambda: classic.check_classic("macqueen", 5000, {}, (200_000, 500)),
             "n_clusters: 5000", f"limit of {limit}", env)
    # within the cluster limit, the work objects x passes x clusters x features is bounded
    limit, env = _limit_words("macqueen_ops")
    _refused(lambda: classic.check_classic("macqueen", 1000, {}, (200_000, 500)),
             "200000 objects x 1 passes x 1000 clusters x 500 features = 1e+11",
             f"limit of {limit}", env)
    # many passes over few, narrow objects count each presentation's least cost
    _refused(lambda: classic.MacQueenKMeans(2, n_passes=10 ** 6)._check_params(10_000, 2),
             "10000 objects x 1000000 passes x 1000", env)


def test_macqueen_is_refused_through_a_saved_run_before_fitting():
    X = np.random.default_rng(1).normal(size=(2000, 300))
    params = _saved("macqueen", {"n_clusters": 1000, "n_passes": 20})
    _refused(lambda: cfg.fit_method("macqueen", params, X), "CLUSTERMAP_MAX_MACQUEEN_OPS",
             "2000 objects x 20 passes x 1000 clusters x 300 features")


def test_macqueen_env_override(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_MAX_MACQUEEN_OPS", "1e12")
    classic.check_classic("macqueen", 1000, {}, (200_000, 500))


# ----------------------------------------------------------------------------------- data
def test_generated_data_beyond_the_memory_limit_is_refused(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "100M")
    _refused(lambda: datasets.generate("blobs", n_samples=1_000_000, n_features=1000),
             "n_samples", "1000000 points x 1000 features", "memory limit of 100.0 MB",
             MEMORY_ENV)
    monkeypatch.setenv(MEMORY_ENV, "100G")
    datasets.check_memory("blobs", {"n_samples": 1_000_000, "n_features": 1000})


def test_generated_data_is_refused_through_a_saved_run(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "5M")
    data = {"source": "generator", "name": "moons", "params": {"n_samples": 150_000}}
    text = json.dumps({"format": cfg.FORMAT, "version": cfg.VERSION, "method": "kmeans",
                       "params": {}, "data": data})
    config = cfg.load_config(text)
    _refused(lambda: cfg.load_data(config.data), "150000 points x 2 features", MEMORY_ENV)


# ----------------------------------------------------------------------------------- defaults
@pytest.mark.parametrize("method", cfg.method_names())
def test_every_default_passes_its_checks(method):
    params = cfg.validate_params(method, cfg.default_params(method))
    X = np.random.default_rng(2).normal(size=(300, 4))
    if method == "neural":
        NeuralSoftClustering(**params).plan(X)
    elif method == "som":
        som = SOM(**params)
        som._check_params(X)
        som._resolve(X)
    elif method == "qbm":
        est = QuasiBayesianEnsemble(**params)
        est._check_params(X)
        est._map_params(X)
    else:
        params = dict(params)
        classic.check_classic(method, params.pop("n_clusters", 3), params, X.shape)


@pytest.mark.parametrize("make", [NeuralSoftClustering.recommended,
                                  NeuralSoftClustering.seed_preset])
def test_neural_presets_pass(make):
    for n_samples in (500, 50_000):
        make(3).plan(n_samples=n_samples, n_features=2)


def test_som_and_ensemble_presets_pass():
    X = np.random.default_rng(3).normal(size=(2000, 3))
    som = SOM.haykin()
    som._check_params(X)
    som._resolve(X)
    SOM.haykin(100, 100)._resolve(X)  # the largest lattice of the page: 5,000,000 steps
    for params in ({}, {"mode": "online", "rows": 16, "cols": 12, "init": "pca"}):
        est = QuasiBayesianEnsemble(**params)
        est._check_params(X)
        est._map_params(X)


def test_default_generators_pass():
    for name in datasets.GENERATORS:
        datasets.check_memory(name, datasets.generator_defaults(name))


def test_the_memory_budget_is_also_reachable_from_distributed():
    """clustering.memory holds the budget; the old names in clustering.distributed are the same
    objects until every caller imports them from clustering.memory."""
    from clustering import distributed, memory

    for name in memory.__all__:
        assert getattr(distributed, name) is getattr(memory, name)
    assert memory.parse_bytes("1.5K") == 1536 and memory.fmt_bytes(1536) == "1.5 KB"
    assert memory.memory_limit_bytes(2 ** 20) == 2 ** 20
    with pytest.raises(ConfigError, match="memory_limit: expected a number of bytes"):
        memory.memory_limit_bytes(0)
