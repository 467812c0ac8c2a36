"""Declarative parameter checks: messages, normalisation, form bounds and the estimators' dicts."""
from numbers import Integral, Real

import numpy as np
import pytest

from clustering import constraints as c
from clustering.classic import MacQueenKMeans
from clustering.constraints import Interval, Items, StrOptions, check_params, check_value
from clustering.datasets import GENERATOR_CONSTRAINTS, generator_defaults
from clustering.ensemble import QuasiBayesianEnsemble
from clustering.errors import ConfigError
from clustering.som import SOM

COUNT = [Interval(Integral, 1, None, closed="left")]
SAMPLES = [Interval(Integral, 2, 1000, closed="both")]
RATE = [Interval(Real, 0, 1, closed="neither")]


@pytest.mark.parametrize("value, constraints, message", [
    (0, COUNT, "n: must be at least 1, got 0."),
    (5000, SAMPLES, "n: must be at most 1000, got 5000."),
    (2.5, SAMPLES, "n: expected a whole number between 2 and 1000, got 2.5."),
    ("3", COUNT, "n: expected a whole number of at least 1, got '3'."),
    (True, COUNT, "n: expected a whole number of at least 1, got True."),
    (0.0, RATE, "n: must be strictly between 0 and 1, got 0.0."),
    (float("nan"), RATE, "n: expected a finite number, got nan."),
    (-1.0, [Interval(Real, 0, None, closed="left")], "n: cannot be negative, got -1.0."),
    (0.0, [Interval(Real, 0, None, closed="neither")], "n: must be positive, got 0.0."),
    (-1, ["random_state"], "n: must be at least 0, got -1."),
    ("yes", ["boolean"], "n: expected true or false, got 'yes'."),
    ("hex", [StrOptions({"a", "b"})], "n: expected one of 'a', 'b', got 'hex'."),
    ([1, 0], [Items(COUNT[0])], "n[1]: must be at least 1, got 0."),
    (0, [Interval(Integral, None, -1, closed="right"), COUNT[0], None],
     "n: expected a whole number at most -1 or a whole number of at least 1 or None "
     "(automatic), got 0."),
])
def test_messages_name_the_parameter_and_what_is_wrong(value, constraints, message):
    with pytest.raises(ConfigError) as err:
        check_value("n", value, constraints)
    assert str(err.value) == message


def test_what_names_the_value_in_a_range_message():
    with pytest.raises(ConfigError, match="^noise: the standard deviation cannot be negative"):
        check_value("noise", -0.1, [Interval(Real, 0, None, closed="left")],
                    what="the standard deviation")


def test_values_are_normalised():
    assert check_value("n", 3.0, COUNT) == 3 and isinstance(check_value("n", 3.0, COUNT), int)
    assert check_value("n", np.int64(4), COUNT) == 4
    assert check_value("g", [1, 2.5], [Items(Interval(Real, 0, None, closed="neither"))]) == \
        (1.0, 2.5)
    assert check_value("b", np.bool_(True), ["boolean"]) is True
    assert check_value("x", None, COUNT + [None]) is None
    weights = np.zeros((2, 2))
    assert check_value("init", weights, [StrOptions({"pca"}), "array-like"]) is weights


def test_field_spec_gives_the_form_bounds():
    spec = c.field_spec(SOM._parameter_constraints["eta0"])
    assert (spec.kind, spec.low, spec.high, spec.low_closed, spec.high_closed) == \
        ("float", 0, 1, False, True)
    rows = c.field_spec(SOM._parameter_constraints["rows"])
    assert (rows.kind, rows.low, rows.nullable) == ("int", 1, True)
    assert c.field_spec(SOM._parameter_constraints["lattice"]).options == \
        ("hexagonal", "rectangular")


@pytest.mark.parametrize("cls", [SOM, QuasiBayesianEnsemble, MacQueenKMeans])
def test_every_parameter_is_declared_and_the_defaults_pass(cls):
    est = cls()
    assert set(cls._parameter_constraints) == set(est.get_params(deep=False))
    assert check_params(est).keys() == est.get_params(deep=False).keys()


@pytest.mark.parametrize("name", ["blobs", "moons", "circles"])
def test_generators_declare_every_parameter(name):
    assert set(GENERATOR_CONSTRAINTS[name]) == set(generator_defaults(name))


@pytest.mark.parametrize("cls, params, message", [
    (SOM, {"n_clusters": 0}, "n_clusters: must be at least 1, got 0."),
    (SOM, {"lattice": "square"}, "lattice: expected one of"),
    (SOM, {"eta0": 1.5}, "eta0: must be at most 1, got 1.5."),
    (QuasiBayesianEnsemble, {"tau1_grid": (140, -1)}, r"tau1_grid\[1\]: must be positive"),
    (QuasiBayesianEnsemble, {"alpha": 1.0}, "alpha: must be strictly between 0 and 1"),
    (MacQueenKMeans, {"n_passes": 0}, "n_passes: must be at least 1, got 0."),
    (MacQueenKMeans, {"init": "kmeans++"}, "init: expected one of 'first', 'random'"),
])
def test_estimators_refuse_through_their_constraints(cls, params, message):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ConfigError, match=message):
        cls(**params).fit(X)
