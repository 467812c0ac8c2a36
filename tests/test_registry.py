"""The method registry: a toy method registered in one place shows up everywhere.

The toy ("threshold on the first feature") is one small estimator plus one
:func:`clustering.registry.register_method` call; the command line lists and runs it, the run
configuration's schema checks its parameter against its declared constraints, the comparison
offers and runs it, and the app's Compare page lists it. Then it is unregistered.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin

from clustering import config as cfg
from clustering import registry
from clustering.constraints import Interval, check_params
from clustering.errors import ConfigError
from clustering.metrics import check_data

GEN = {"source": "generator", "name": "blobs", "params": {"n_samples": 40}}


class Threshold(ClusterMixin, BaseEstimator):
    """Two clusters: the objects whose first feature is above ``threshold`` and the others."""

    _parameter_constraints = {"threshold": [Interval(Real, -1e6, 1e6, closed="both")]}

    def __init__(self, threshold: float = 0.0):
        self.threshold = threshold

    def fit(self, X, y=None):
        p = check_params(self)
        X = check_data(X)
        self.labels_ = (X[:, 0] > p["threshold"]).astype(np.int64)
        return self


TOY = registry.MethodSpec("toy", "Threshold (toy)", "tests.test_registry:Threshold",
                          description="two clusters split at a threshold of the first feature",
                          compare=True)


@pytest.fixture
def toy():
    registry.register_method(TOY)
    yield TOY
    registry.unregister_method("toy")


def test_the_builtin_methods_are_entries():
    assert registry.names() == ["neural", "som", "qbm", "kmeans", "macqueen", "spectral",
                                "dbscan", "hdbscan", "gmm", "agglomerative"]
    assert cfg.method_names() == registry.names()
    assert registry.get("gmm").proba and not registry.get("kmeans").proba
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        registry.get("nope")


def test_classic_constraints_come_from_scikit_learn():
    allowed = registry.constraints("dbscan")
    assert set(allowed) == {"eps", "min_samples", "n_clusters"}
    with pytest.raises(ConfigError, match=r"^params\.eps"):
        cfg.validate_params("dbscan", {"eps": -1.0})
    with pytest.raises(ConfigError, match=r"^params\.covariance_type"):
        cfg.validate_params("gmm", {"covariance_type": "round"})
    assert cfg.validate_params("kmeans", {"n_init": "auto"}) == {"n_init": "auto"}


def test_a_registered_method_is_in_the_schema(toy):
    assert "toy" in cfg.method_names() and cfg.default_params("toy") == {"threshold": 0.0}
    config = cfg.RunConfig("toy", {"threshold": 0.5}, GEN)
    assert cfg.load_config(config.to_json()) == config
    with pytest.raises(ConfigError, match=r"^params\.threshold"):
        cfg.RunConfig.from_dict({**config.to_dict(), "params": {"threshold": 1e9}})
    outcome = cfg.run(config)
    assert set(outcome.labels.tolist()) <= {0, 1} and outcome.proba is None


def test_a_registered_method_is_in_the_cli(toy, capsys):
    from clustering import cli

    assert cli.main(["methods"]) == 0
    assert "toy: two clusters split at a threshold" in capsys.readouterr().out
    assert cli.main(["run", "--method", "toy", "--data", "blobs", "--samples", "40",
                     "--param", "threshold=0.1", "--quiet"]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0].startswith("id,cluster") and len(rows) == 41


def test_a_registered_method_is_in_the_comparison(toy):
    from clustering import tables
    from ui import methods, runs

    assert "toy" in methods.compare_choices()
    assert methods.compare_label("toy") == "Threshold (toy)"
    X = np.random.default_rng(0).normal(size=(30, 2))
    chosen = runs.compare_params(["toy", "kmeans"], 2, 0, 0.3, 5, n_objects=30)
    assert chosen["toy"] == {}
    runs.preflight_comparison(chosen, X)
    res = runs.compare(chosen, tables.from_arrays(X, None), GEN)
    assert set(res.extra["partitions"]) == {"Threshold (toy)", "k-means"}


def test_unregistering_removes_it():
    registry.register_method(TOY)
    registry.unregister_method("toy")
    assert "toy" not in cfg.method_names()
    with pytest.raises(ConfigError, match="unknown method 'toy'"):
        cfg.validate_params("toy", {})


@pytest.mark.slow
def test_a_registered_method_is_on_the_compare_page(toy):
    from tests.apptest_helpers import generate, goto, new_app

    at = goto(generate(new_app(), "blobs", 60), "compare")
    options = at.multiselect(key="cmp_methods").options
    assert "Threshold (toy)" in options and "k-means" in options


@pytest.mark.slow
def test_a_registered_method_with_a_page_gets_the_template():
    from tests.apptest_helpers import check, new_app

    spec = registry.MethodSpec("toy", "Threshold (toy)", "tests.test_registry:Threshold",
                               page="tests/toy_page.py", form_key="toy", icon=":material/tune:")
    registry.register_method(spec)
    try:
        # (AppTest knows a page outside pages/ only before its first switch to a pages/ file)
        at = new_app()
        at.switch_page("tests/toy_page.py").run()
        check(at)
        assert [t.value for t in at.title] == ["Threshold (toy)"]
        assert at.expander[0].label == "Repeat a saved run (upload its configuration JSON)"
    finally:
        registry.unregister_method("toy")
