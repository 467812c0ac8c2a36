"""Run configurations: JSON round trip, field-by-field validation, reproduction of runs."""
import json

import numpy as np
import pytest

from clustering import config as cfg
from clustering.errors import ConfigError

BLOBS = {"source": "generator", "name": "blobs", "params": {"n_samples": 60}}


def _config(method="kmeans", params=None, data=None):
    return cfg.RunConfig(method, params if params is not None else {"n_clusters": 3},
                         data if data is not None else BLOBS)


def test_round_trip_is_identity():
    c = cfg.RunConfig("som", {"rows": 3, "cols": 4, "n_steps": 50, "random_state": 7}, BLOBS,
                      note="x")
    again = cfg.load_config(c.to_json())
    assert again == cfg.RunConfig.from_dict(c.to_dict())
    assert again.params["rows"] == 3 and again.data["params"]["n_samples"] == 60
    assert json.loads(c.to_json())["format"] == cfg.FORMAT


def test_tuples_survive_json():
    c = _config("neural", {"hidden_layers": (8, 8), "max_epochs": 3})
    again = cfg.load_config(c.to_json())
    assert again.params["hidden_layers"] == (8, 8)


def test_save_and_load_file(tmp_path):
    c = _config()
    path = tmp_path / "run.json"
    cfg.save_config(c, path)
    assert cfg.load_config(path) == cfg.load_config(c.to_json())


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(method="magic"), "method"),
    (lambda d: d["params"].update(bogus=1), "params.bogus"),
    (lambda d: d["params"].update(n_clusters="three"), "params.n_clusters"),
    (lambda d: d["params"].update(n_clusters=2.5), "params.n_clusters"),
    (lambda d: d["data"].update(source="ftp"), "data.source"),
    (lambda d: d["data"].update(name="spirals"), "data.name"),
    (lambda d: d["data"]["params"].update(noise="lots"), "data.params.noise"),
    (lambda d: d["data"]["params"].update(colour=1), "data.params.colour"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(format="other-tool"), "format"),
    (lambda d: d.update(extra=1), "extra"),
])
def test_validation_names_the_field(mutate, field):
    d = _config().to_dict()
    mutate(d)
    with pytest.raises(ConfigError) as err:
        cfg.RunConfig.from_dict(d)
    assert str(err.value).startswith(field)


def test_neural_parameter_types_checked():
    d = _config("neural", {"learning_rate": 0.01}).to_dict()
    d["params"]["hidden_layers"] = [20, "x"]
    with pytest.raises(ConfigError, match=r"params\.hidden_layers\[1\]"):
        cfg.RunConfig.from_dict(d)
    d["params"]["hidden_layers"] = [20, 20]
    d["params"]["learning_rate"] = True
    with pytest.raises(ConfigError, match=r"params\.learning_rate"):
        cfg.RunConfig.from_dict(d)


@pytest.mark.parametrize("data, field", [
    ({"source": "csv", "sha256": "abc", "prepare": {"feature_columns": ["a"]}}, "data.sha256"),
    ({"source": "csv", "sha256": "0" * 64, "prepare": {"feature_columns": []}},
     "data.prepare.feature_columns"),
    ({"source": "csv", "sha256": "0" * 64,
      "prepare": {"feature_columns": ["a"], "scaling": "log"}}, "data.prepare.scaling"),
    ({"source": "csv", "sha256": "0" * 64,
      "prepare": {"feature_columns": ["a"], "missing": "guess"}}, "data.prepare.missing"),
    ({"source": "example", "path": "../../etc/passwd", "prepare": {"feature_columns": ["a"]}},
     "data.path"),
    ({"source": "csv", "sha256": "0" * 64, "prepare": {"feature_columns": ["a"]},
      "aggregations": [{"groups": {"A": "a"}}]}, "data.aggregations[0].groups.A"),
])
def test_data_recipe_validation(data, field):
    d = _config().to_dict()
    d["data"] = data
    with pytest.raises(ConfigError) as err:
        cfg.RunConfig.from_dict(d)
    assert str(err.value).startswith(field)


def test_invalid_json_says_where():
    with pytest.raises(ConfigError, match="line 1"):
        cfg.load_config('{"method": ')
    with pytest.raises(ConfigError, match="JSON object"):
        cfg.load_config("[1, 2]")


def test_classic_run_is_reproduced_from_json():
    c = _config("kmeans", {"n_clusters": 3, "random_state": 1})
    first = cfg.run(c)
    again = cfg.run(cfg.load_config(c.to_json()))
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.dataset.X.shape == (60, 2)


@pytest.mark.slow
def test_som_run_is_reproduced_from_json():
    c = cfg.RunConfig("som", {"rows": 3, "cols": 3, "n_steps": 80, "n_clusters": 3,
                              "random_state": 5}, BLOBS)
    first = cfg.run(c)
    again = cfg.run(cfg.load_config(c.to_json()))
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_allclose(first.estimator.codebook_, again.estimator.codebook_)


@pytest.mark.slow
def test_neural_run_is_reproduced_from_json():
    c = cfg.RunConfig("neural", {"n_clusters": 3, "max_epochs": 5, "patience": 5,
                                 "hidden_layers": (8,), "random_state": 3}, BLOBS)
    first = cfg.run(c)
    again = cfg.run(cfg.load_config(c.to_json()))
    np.testing.assert_allclose(first.proba, again.proba, atol=1e-5)


def test_csv_recipe_needs_the_same_file():
    table = "id,a,b\n" + "\n".join(f"{i},{i % 5},{(i * 7) % 11}" for i in range(30))
    raw = table.encode()
    data = {"source": "csv", "file_name": "t.csv", "sha256": cfg.sha256_of(raw),
            "prepare": {"feature_columns": ["a", "b"], "id_column": "id", "missing": "refuse",
                        "scaling": "none"}}
    ds = cfg.load_data(data, raw)
    np.testing.assert_allclose(ds.X[:3], [[0, 0], [1, 7], [2, 3]])
    with pytest.raises(ConfigError, match="data.sha256"):
        cfg.load_data(data, raw + b"\n99,1,1")
    with pytest.raises(ConfigError, match="upload it again"):
        cfg.load_data(data, None)


def test_default_params_cover_estimators():
    for method in ("neural", "som", "qbm"):
        params = cfg.default_params(method)
        assert params, method
    assert "max_epochs" in cfg.default_params("neural")
    assert "tau1_grid" in cfg.default_params("qbm")


# ----------------------------------------------------------------------------------- hostile files
CSV_DATA = {"source": "csv", "sha256": "0" * 64, "file_name": "t.csv",
            "prepare": {"feature_columns": ["a"]},
            "aggregations": [{"groups": {"A": ["a"]}, "criterion": "Phi"}]}


@pytest.mark.parametrize("data, field", [
    ({**BLOBS, "url": "http://x"}, "data.url: unknown field"),
    ({**CSV_DATA, "python": "__import__('os')"}, "data.python: unknown field"),
    ({**CSV_DATA, "prepare": {"feature_columns": ["a"], "eval": "x"}},
     "data.prepare.eval: unknown field"),
    ({**CSV_DATA, "aggregations": [{"groups": {"A": ["a"]}, "code": 1}]},
     "data.aggregations[0].code: unknown field"),
])
def test_unknown_nested_fields_are_named(data, field):
    d = _config().to_dict()
    d["data"] = data
    with pytest.raises(ConfigError) as err:
        cfg.RunConfig.from_dict(d)
    assert str(err.value).startswith(field)
    ok = {k: v for k, v in data.items() if k not in ("url", "python")}
    if "prepare" in ok:
        ok["prepare"] = {"feature_columns": ["a"]}
        ok["aggregations"] = [{"groups": {"A": ["a"]}}]
    cfg.RunConfig.from_dict({**d, "data": ok})  # the same recipe without the extra field passes


def test_untyped_parameters_take_scalars_or_flat_lists_only():
    name = next(k for k, v in cfg.default_params("som").items() if v is None)
    d = _config("som", {"rows": 3}).to_dict()
    for bad in ({"__class__": "os.system"}, [[1, 2]], [{"a": 1}]):
        d["params"][name] = bad
        with pytest.raises(ConfigError, match=rf"^params\.{name}: expected a number, a string"):
            cfg.RunConfig.from_dict(d)
    d["params"][name] = 3
    assert cfg.RunConfig.from_dict(d).params[name] == 3


def test_json_text_is_strict_and_bounded():
    good = _config().to_json()
    assert cfg.load_config(good) == _config()
    # NaN and Infinity are not JSON, even though Python's parser reads them by default
    for token in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ConfigError, match=rf"holds {token}, which is not a JSON number"):
            cfg.load_config(good.replace('"n_clusters": 3', f'"n_clusters": {token}'))
    with pytest.raises(ConfigError, match=r"^n_clusters: the field is given more than once"):
        cfg.load_config(good.replace('"n_clusters": 3', '"n_clusters": 3, "n_clusters": 9'))
    with pytest.raises(ConfigError, match=r"cannot be read: .*digits"):
        cfg.load_config(good.replace('"n_clusters": 3', '"n_clusters": ' + "9" * 5000))
    big = good.replace('"note": ""', '"note": "' + "x" * cfg.MAX_CONFIG_BYTES + '"')
    with pytest.raises(ConfigError, match=r"over the limit of 1048576 bytes"):
        cfg.load_config(big)
    with pytest.raises(ConfigError, match=r"over the limit"):
        cfg.load_config(big.encode())


def test_deep_nesting_is_refused_before_parsing():
    deep = '{"method": "kmeans", "params": {"n_clusters": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    with pytest.raises(ConfigError, match=r"nests objects or lists more than 12 levels"):
        cfg.load_config(deep)
    # brackets inside strings do not count
    note = _config().to_json().replace('"note": ""', '"note": "' + "[{" * 50 + '"')
    assert cfg.load_config(note).note == "[{" * 50
    nested: dict = {}
    inner = nested
    for _ in range(20):
        inner["x"] = {}
        inner = inner["x"]
    d = _config().to_dict()
    d["data"] = {**BLOBS, "params": nested}
    with pytest.raises(ConfigError, match=r"^data\.params(\.x)+: nested more "
                                          r"than 12 levels"):
        cfg.RunConfig.from_dict(d)


def test_hostile_megabyte_texts_are_parsed_or_refused_quickly():
    """Escaped quotes and tens of thousands of keys: linear-time checks (see bench/ timings)."""
    quotes = '{"a": "' + '\\"' * 400_000 + '"}'
    assert cfg.parse_json(quotes) == {"a": '"' * 400_000}
    with pytest.raises(ConfigError, match=r"not valid JSON .*Unterminated string"):
        cfg.parse_json(quotes[:-2] + "}")  # the string never closes
    # a bracket inside an escaped-quote string does not count; one after it does
    def tricky(levels):
        return '{"a": "\\"' + "[" * 20 + '\\\\", "b": ' + "[" * levels + "]" * levels + "}"

    assert cfg.parse_json(tricky(11))["a"] == '"' + "[" * 20 + "\\"
    with pytest.raises(ConfigError, match=r"nests objects or lists more than 12 levels"):
        cfg.parse_json(tricky(12))
    keys = {f"k{i}": i for i in range(50_000)}
    text = json.dumps(keys)
    assert cfg.parse_json(text) == keys
    with pytest.raises(ConfigError, match=r"^k0: the field is given more than once"):
        cfg.parse_json(text[:-1] + ', "k0": 1}')
    with pytest.raises(ConfigError, match=r"^k0: the field is given more than once"):
        cfg.parse_json(text[:-1] + ', "k7": 1, "k0": 1}')  # the first in sorted order


def test_comparison_configuration_round_trip_and_clear_refusals():
    from clustering.config import ComparisonConfig, RunConfig, load_comparison, load_config

    data = {"source": "generator", "name": "blobs", "params": {"n_samples": 60}}
    comp = ComparisonConfig({"kmeans": {"n_clusters": 3, "random_state": 0},
                             "dbscan": {"eps": 0.3, "min_samples": 5}}, data)
    again = load_comparison(comp.to_json().encode())
    assert again.methods == comp.methods and again.data["params"]["n_samples"] == 60
    assert again.run_configs()["kmeans"].params == {"n_clusters": 3, "random_state": 0}
    with pytest.raises(ConfigError, match="Compare page"):
        load_config(comp.to_json())
    with pytest.raises(ConfigError, match="one 'kmeans' run"):
        load_comparison(RunConfig("kmeans", {}, data).to_json())
    bad = comp.to_dict()
    bad["methods"]["kmeans"]["n_clusters"] = "three"
    with pytest.raises(ConfigError, match=r"methods\.kmeans\.n_clusters"):
        ComparisonConfig.from_dict(bad)
    bad = comp.to_dict()
    bad["methods"] = {"magic": {}}
    with pytest.raises(ConfigError, match=r"methods\.magic: unknown method"):
        ComparisonConfig.from_dict(bad)
    with pytest.raises(ConfigError, match="NaN"):
        load_comparison(comp.to_json().replace("0.3", "NaN"))


def test_aggregation_overwrite_is_recorded_and_replayed():
    from clustering.config import load_table, validate_data

    data = {"source": "example", "path": "data/taxpayers_synthetic.csv",
            "aggregations": [{"groups": {"Phi11": ["Phi21", "Phi24"]}, "criterion": "C",
                              "overwrite": True}],
            "prepare": {"feature_columns": ["Phi11"]}}
    checked = validate_data(data)
    assert checked["aggregations"][0]["overwrite"] is True
    frame = load_table(checked)
    np.testing.assert_allclose(frame["Phi11"], (frame["Phi21"] + frame["Phi24"]) / 2)
    with pytest.raises(ConfigError, match=r"aggregations\[0\]\.overwrite"):
        validate_data({**data, "aggregations": [{**data["aggregations"][0], "overwrite": "yes"}]})


@pytest.mark.parametrize("name, params, message", [
    ("moons", {"n_samples": 200_001}, r"would have 200001 rows \(points\), over the limit of "
                                      r"200000 \(setting max_rows, environment variable "
                                      r"CLUSTERMAP_MAX_ROWS\)"),
    ("blobs", {"n_features": 501}, r"501 columns \(features\), over the limit of 500 "
                                   r"\(setting max_columns, environment "
                                   r"variable CLUSTERMAP_MAX_COLUMNS\)"),
])
def test_generated_data_obey_the_table_limits_before_anything_is_made(name, params, message,
                                                                     monkeypatch):
    """A saved configuration's generator settings are a user's input like a CSV: the row and
    column limits hold, checked before the points are generated."""
    from clustering import datasets, tables
    from clustering.errors import DataError

    made = []
    monkeypatch.setattr(datasets, "generate", lambda *a, **kw: made.append(kw))
    monkeypatch.setattr(tables, "DEFAULT_LIMITS", tables.Limits())
    with pytest.raises(DataError, match=message):
        cfg.load_data({"source": "generator", "name": name, "params": params})
    assert made == []
    assert datasets.planned_shape("blobs", {}) == (500, 2)
    assert datasets.planned_shape("circles", {"n_samples": 30}) == (30, 2)
    assert datasets.planned_shape("blobs", {"centers": [[0.0] * 6, [1.0] * 6]}) == (500, 6)


def test_reading_options_of_a_table_are_validated_by_name():
    base = {"source": "csv", "sha256": "0" * 64, "file_name": "t.csv", "aggregations": [],
            "prepare": {"feature_columns": ["x"], "id_column": None, "label_column": None,
                        "missing": "refuse", "scaling": "standard"}}
    ok = cfg.validate_data({**base, "read": {"delimiter": "\t", "encoding": "CP1251"}})
    assert ok["read"] == {"delimiter": "\t", "encoding": "cp1251"}
    assert "read" not in cfg.validate_data(base)
    for read, field in (({"delimiter": "|"}, "data.read.delimiter"),
                        ({"encoding": "ebcdic"}, "data.read.encoding"),
                        ({"quote": "'"}, "data.read.quote"), ("tab", "data.read")):
        with pytest.raises(ConfigError) as err:
            cfg.validate_data({**base, "read": read})
        assert str(err.value).startswith(field), str(err.value)
