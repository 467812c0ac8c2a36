"""The generators reproduce scikit-learn exactly; the registry and the parameter checks."""
import numpy as np
import pytest
import sklearn.datasets as skd

from clustering import datasets
from clustering.datasets import GENERATORS, generate, generator_defaults
from clustering.errors import ConfigError


def _same(got, expected):
    X, y = got
    Xe, ye = expected
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, Xe)
    np.testing.assert_array_equal(y, ye)


def test_defaults_are_the_seed_notes():
    assert generator_defaults("blobs") == dict(n_samples=500, centers=3, n_features=2,
                                               center_box=(-15, 15), cluster_std=1.0,
                                               shuffle=True, random_state=0)
    assert generator_defaults("moons") == dict(n_samples=500, noise=0.1, shuffle=True,
                                               random_state=0)
    assert generator_defaults("circles") == dict(n_samples=500, noise=0.1, factor=0.2,
                                                 shuffle=True, random_state=0)
    assert list(GENERATORS) == ["blobs", "moons", "circles"]


def test_defaults_reproduce_sklearn_with_the_digest_arguments():
    _same(datasets.make_blobs(), skd.make_blobs(n_samples=500, centers=3, n_features=2,
                                                center_box=(-15, 15), random_state=0))
    _same(datasets.make_moons(), skd.make_moons(n_samples=500, noise=0.1, random_state=0))
    _same(datasets.make_circles(), skd.make_circles(n_samples=500, noise=0.1, factor=0.2,
                                                    random_state=0))
    _same(generate("blobs"), datasets.make_blobs())
    X, y = generate("blobs")
    assert X.shape == (500, 2) and sorted(np.bincount(y)) == [166, 167, 167]


@pytest.mark.parametrize("name, params, sk", [
    ("blobs", dict(n_samples=123, centers=5, n_features=4, center_box=(-3, 7), cluster_std=0.4,
                   random_state=11),
     lambda: skd.make_blobs(n_samples=123, centers=5, n_features=4, center_box=(-3, 7),
                            cluster_std=0.4, random_state=11)),
    ("blobs", dict(n_samples=40, centers=[[0, 0], [5, 5]], cluster_std=[0.5, 2.0], shuffle=False),
     lambda: skd.make_blobs(n_samples=40, centers=[[0, 0], [5, 5]], cluster_std=[0.5, 2.0],
                            shuffle=False, random_state=0)),
    ("moons", dict(n_samples=77, noise=0.0, random_state=5),
     lambda: skd.make_moons(n_samples=77, noise=0.0, random_state=5)),
    ("moons", dict(n_samples=30, noise=None, shuffle=False),
     lambda: skd.make_moons(n_samples=30, shuffle=False, random_state=0)),
    ("circles", dict(n_samples=64, noise=0.3, factor=0.7, random_state=3),
     lambda: skd.make_circles(n_samples=64, noise=0.3, factor=0.7, random_state=3)),
])
def test_other_parameters_reproduce_sklearn(name, params, sk):
    _same(generate(name, **params), sk())


def test_integral_floats_and_numpy_ints_are_accepted():
    _same(generate("moons", n_samples=50.0, random_state=np.int64(2)),
          skd.make_moons(n_samples=50, noise=0.1, random_state=2))


def test_seed_changes_the_points_and_none_is_allowed():
    a, _ = generate("moons", random_state=1)
    b, _ = generate("moons", random_state=2)
    assert not np.allclose(a, b)
    X, y = generate("circles", random_state=None, n_samples=10)
    assert X.shape == (10, 2) and set(y) == {0, 1}


def test_unknown_generator_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="blobs, moons, circles"):
        generate("spirals")
    with pytest.raises(ConfigError, match="Unknown generator"):
        generator_defaults("spirals")


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"factor: not a parameter of the moons generator; valid "
                                          r"parameters: n_samples, noise, shuffle, random_state"):
        generate("moons", factor=0.5)


@pytest.mark.parametrize("name, params, message", [
    ("blobs", dict(n_samples=1), "n_samples: must be at least 2"),
    ("moons", dict(n_samples=0), "n_samples: must be at least 2"),
    ("circles", dict(n_samples=-5), "n_samples: must be at least 2"),
    ("moons", dict(n_samples=10**9), "n_samples: must be at most"),
    ("moons", dict(n_samples=2.5), "n_samples: expected a whole number"),
    ("moons", dict(n_samples="500"), "n_samples: expected a whole number"),
    ("moons", dict(n_samples=True), "n_samples: expected a whole number"),
    ("moons", dict(noise=-0.1), "noise: .* cannot be negative"),
    ("circles", dict(noise=float("nan")), "noise: expected a finite number"),
    ("circles", dict(factor=0.0), "factor: .* strictly between 0 and 1"),
    ("circles", dict(factor=1.0), "factor: .* strictly between 0 and 1"),
    ("circles", dict(factor=-0.2), "factor: .* strictly between 0 and 1"),
    ("circles", dict(factor="big"), "factor: expected a number"),
    ("blobs", dict(centers=0), "centers: must be at least 1"),
    ("blobs", dict(centers=10, n_samples=5), "centers: must be at most 5"),
    ("blobs", dict(centers=[1, 2, 3]), r"centers: .*\(one row per blob\)"),
    ("blobs", dict(centers="abc"), "centers: expected a number of blobs"),
    ("blobs", dict(n_features=0), "n_features: must be at least 1"),
    ("blobs", dict(center_box=(5, -5)), "center_box: the low bound must be below"),
    ("blobs", dict(center_box=(1, 2, 3)), "center_box: expected two numbers"),
    ("blobs", dict(cluster_std=0), "cluster_std: .* must be positive"),
    ("blobs", dict(cluster_std=[1.0, 2.0]), r"cluster_std: expected one value per blob \(3\)"),
    ("blobs", dict(random_state=-1), "random_state: must be at least 0"),
    ("moons", dict(shuffle="yes"), "shuffle: expected true or false"),
])
def test_invalid_parameters_raise_config_error_naming_the_parameter(name, params, message):
    with pytest.raises(ConfigError, match=message):
        generate(name, **params)
