"""The run configuration's schema: what data, which method, which hyper-parameters, as JSON.

A configuration holds everything needed to repeat a run: the data's recipe (a generator with its
parameters, or a CSV table with its column roles, aggregates, missing-value policy and scaling,
identified by the file's SHA-256) and the method with all its hyper-parameters, random seed
included. :func:`load_config` validates a saved file field by field and raises
:class:`~clustering.errors.ConfigError` naming the first bad field (unknown fields too, at every
level; the JSON text itself is strict and bounded, see :meth:`RunConfig.from_json`; nothing in a
configuration is ever executed or imported). A method's parameters are checked against its
estimator's declared constraints (:mod:`clustering.constraints`, read through
:mod:`clustering.registry`); :func:`clustering.runner.run` rebuilds the data and refits the
method, reproducing the saved run.

Example
-------
>>> cfg = RunConfig("kmeans", {"n_clusters": 3}, {"source": "generator", "name": "blobs",
...                                                 "params": {}})
>>> text = cfg.to_json()
>>> load_config(text) == cfg
True
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from clustering import registry
from clustering.errors import ConfigError
from clustering.i18n import Message, N_

#: Format tag written into every file (bumped on incompatible changes).
FORMAT = "clustermap-run"
VERSION = 1
#: Format tag of a comparison (several methods on one data set), see :class:`ComparisonConfig`.
COMPARISON_FORMAT = "clustermap-comparison"

DATA_SOURCES = ("generator", "csv", "example")
#: Largest configuration file read (bytes), checked before parsing; saved runs take ~2 KB.
MAX_CONFIG_BYTES = 1024 * 1024
#: Deepest nesting of objects and lists accepted (a run configuration needs 5).
MAX_DEPTH = 12
#: The fields of each part of a data recipe; any other field is refused by name.
DATA_FIELDS = {
    "generator": ("source", "name", "params"),
    "csv": ("source", "sha256", "file_name", "read", "aggregations", "prepare"),
    "example": ("source", "path", "read", "aggregations", "prepare"),
}
#: Reading options of a table (:func:`clustering.tables.read_csv`); absent: detected (a
#: workbook's first sheet).
READ_FIELDS = ("delimiter", "encoding", "sheet")
AGGREGATION_FIELDS = ("groups", "criterion", "weights", "overwrite")
PREPARE_FIELDS = ("feature_columns", "id_column", "label_column", "missing", "scaling")
MISSING = ("refuse", "drop", "median")
SCALING = ("standard", "minmax", "none")
ROOT = Path(__file__).resolve().parents[1]


def method_names() -> list[str]:
    """Every method a configuration may name (:func:`clustering.registry.names`)."""
    return registry.names()


def default_params(method: str) -> dict[str, Any]:
    """The hyper-parameters of ``method`` with their default values."""
    return registry.default_params(method)


# ----------------------------------------------------------------------------------- values
def _json_value(value: Any) -> Any:
    """Plain JSON types for numpy scalars, tuples and arrays."""
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _kind(value: Any) -> Any:
    """What ``value`` is, for a message: a :class:`~clustering.i18n.Message` ("a string"), or
    the JSON or Python name of its type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return Message(N_("a boolean"))
    if isinstance(value, int):
        return Message(N_("an integer"))
    if isinstance(value, float):
        return Message(N_("a number"))
    if isinstance(value, str):
        return Message(N_("a string"))
    if isinstance(value, (list, tuple)):
        return Message(N_("a list"))
    if isinstance(value, Mapping):
        return Message(N_("an object"))
    return type(value).__name__


def check_value(where: str, value: Any, default: Any) -> Any:
    """Check ``value`` against the type of ``default``; return it normalised.

    Integers written as 3.0 become 3; lists become tuples where the default is a tuple. Raises
    :class:`ConfigError` naming ``where`` otherwise.
    """
    if value is None:
        return None  # every optional parameter may be left out
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(N_("{where}: expected true or false, got {kind} ({value!r})."),
                              where=where, kind=_kind(value), value=value)
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(N_("{where}: expected an integer, got {kind} ({value!r})."),
                              where=where, kind=_kind(value), value=value)
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            raise ConfigError(N_("{where}: expected an integer, got {value!r}."), where=where,
                              value=value)
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(N_("{where}: expected a number, got {kind} ({value!r})."),
                              where=where, kind=_kind(value), value=value)
        if not math.isfinite(float(value)):
            raise ConfigError(N_("{where}: expected a finite number, got {value!r}."),
                              where=where, value=value)
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(N_("{where}: expected a string, got {kind} ({value!r})."),
                              where=where, kind=_kind(value), value=value)
        return value
    if isinstance(default, (tuple, list)):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(N_("{where}: expected a list, got {kind} ({value!r})."),
                              where=where, kind=_kind(value), value=value)
        if default:
            like = default[0]
            value = [check_value(f"{where}[{i}]", v, like) for i, v in enumerate(value)]
        return tuple(value) if isinstance(default, tuple) else list(value)
    # default None or another type: a number, a string, a boolean or a flat list of those
    scalar = (bool, int, float, str)
    if isinstance(value, Mapping) or (isinstance(value, (list, tuple)) and not all(
            isinstance(v, scalar) for v in value)) or not isinstance(value, scalar + (list, tuple)):
        raise ConfigError(N_("{where}: expected a number, a string, true/false or a list of "
                             "those, got {kind}."), where=where, kind=_kind(value))
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, float) and not math.isfinite(v) for v in items):
        raise ConfigError(N_("{where}: expected a finite number, got {value!r}."), where=where,
                          value=value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _check_version(obj: Mapping[str, Any]) -> None:
    """Refuse a file of a later format version than this app reads."""
    version = obj.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise ConfigError(N_("version: this app reads versions up to {latest}, got {version!r}."),
                          latest=VERSION, version=version)


def _refuse_unknown(where: str, obj: Mapping[str, Any], known: tuple) -> None:
    unknown = [k for k in obj if k not in known]
    if unknown:
        raise ConfigError(N_("{where}.{field}: unknown field; {where} has {fields}."),
                          where=where, field=unknown[0], fields=", ".join(known))


def _depth(value: Any, limit: int, where: str = "") -> None:
    """Refuse objects and lists nested deeper than ``limit`` (iteratively: no recursion limit)."""
    stack = [(value, 0, where)]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, Mapping):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(item)]
        else:
            continue
        if depth >= limit and path:
            raise ConfigError(N_("{path}: nested more than {limit} levels deep; a run "
                                 "configuration is a few levels of objects and lists."),
                              path=path, limit=limit)
        if depth >= limit:
            raise ConfigError(N_("The configuration: nested more than {limit} levels deep; a run "
                                 "configuration is a few levels of objects and lists."),
                              limit=limit)
        stack.extend((v, depth + 1, p) for v, p in children)


def validate_params(method: str, params: Mapping[str, Any], where: str = "params") -> dict:
    """Check the names and values of ``params`` for ``method``; unknown names are refused.

    Each value is checked with :func:`clustering.constraints.check_value` against the
    estimator's declared constraints (:func:`clustering.registry.constraints`); None, "leave it
    to the method's default", is accepted for a classic method's parameters. A parameter of an
    estimator that declares no constraints yet is checked by the type of its default
    (:func:`check_value`).
    """
    if not isinstance(params, Mapping):
        raise ConfigError(N_("{where}: expected an object of hyper-parameters, got {kind}."),
                          where=where, kind=_kind(params))
    defaults = default_params(method)
    declared = registry.constraints(method) or {}
    classic = registry.get(method).classic
    out = {}
    for name, value in params.items():
        if name not in defaults:
            raise ConfigError(N_("{where}.{name}: not a parameter of {method}; known: "
                                 "{known}."), where=where, name=name, method=method,
                              known=", ".join(sorted(defaults)))
        if name in declared and not (value is None and classic):
            out[name] = _check_declared(f"{where}.{name}", value, declared[name],
                                        defaults[name])
        else:
            out[name] = check_value(f"{where}.{name}", value, defaults[name])
    return out


def _check_declared(where: str, value: Any, allowed: list, default: Any) -> Any:
    """:func:`clustering.constraints.check_value`; a refused value of another kind than the
    default is named by its kind ("expected an integer, got a string"), as :func:`check_value`
    says it, and a whole number given to a real parameter without a real default stays a whole
    number."""
    from clustering import constraints as cons

    try:
        out = cons.check_value(where, value, allowed)
    except ConfigError:
        if value is not None:
            check_value(where, value, default)  # raises the kind's message when it differs
        raise
    if isinstance(out, float) and type(value) is int and not isinstance(default, float):
        return value  # a whole number of a real parameter stays as written (a byte count)
    return out


# ----------------------------------------------------------------------------------- data recipe
def _check_str_or_none(where: str, value: Any) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise ConfigError(N_("{where}: expected a column name or null, got {kind}."),
                          where=where, kind=_kind(value))
    return value


def validate_data(spec: Any, where: str = "data") -> dict:
    """Check the data recipe of a configuration; returns it normalised.

    A generator's recipe is its name and parameters; a table's (an uploaded CSV or a bundled
    example) is where it comes from, how it is read, its aggregates and its column roles.
    """
    if not isinstance(spec, Mapping):
        raise ConfigError(N_("{where}: expected an object describing the data, got {kind}."),
                          where=where, kind=_kind(spec))
    source = spec.get("source")
    if source not in DATA_SOURCES:
        raise ConfigError(N_("{where}.source: expected one of {sources}, got {source!r}."),
                          where=where, sources=", ".join(DATA_SOURCES), source=source)
    _refuse_unknown(where, spec, DATA_FIELDS[source])
    if source == "generator":
        return _generator_recipe(spec, where)
    out: dict[str, Any] = {"source": source}
    out.update(_csv_origin(spec, where) if source == "csv" else _example_origin(spec, where))
    read = spec.get("read")
    if read is not None:
        out["read"] = _read_recipe(read, f"{where}.read")
    aggs = spec.get("aggregations", [])
    if not isinstance(aggs, list):
        raise ConfigError(N_("{where}.aggregations: expected a list, got {kind}."),
                          where=where, kind=_kind(aggs))
    out["aggregations"] = [_aggregation_recipe(agg, f"{where}.aggregations[{i}]")
                           for i, agg in enumerate(aggs)]
    out["prepare"] = _prepare_recipe(spec.get("prepare"), f"{where}.prepare")
    return out


def _generator_recipe(spec: Mapping[str, Any], where: str) -> dict:
    """A generator's name and parameters (their kinds here; their ranges are checked by the
    generator itself against :data:`clustering.datasets.GENERATOR_CONSTRAINTS` before it
    makes a point, so its messages name the generator's parameter as the app's form does)."""
    from clustering import datasets

    name = spec.get("name")
    if name not in datasets.GENERATORS:
        raise ConfigError(N_("{where}.name: unknown generator {name!r}; choose one of "
                             "{generators}."), where=where, name=name,
                          generators=", ".join(datasets.GENERATORS))
    params = spec.get("params", {})
    if not isinstance(params, Mapping):
        raise ConfigError(N_("{where}.params: expected an object, got {kind}."), where=where,
                          kind=_kind(params))
    defaults = datasets.generator_defaults(name)
    checked = {}
    for key, value in params.items():
        if key not in defaults:
            raise ConfigError(N_("{where}.params.{key}: not a parameter of the {name} "
                                 "generator; known: {known}."), where=where, key=key, name=name,
                              known=", ".join(sorted(defaults)))
        checked[key] = check_value(f"{where}.params.{key}", value, defaults[key])
    return {"source": "generator", "name": name, "params": checked}


def _csv_origin(spec: Mapping[str, Any], where: str) -> dict:
    """An uploaded table: its SHA-256 (the upload must match it) and its file name."""
    digest = spec.get("sha256")
    if not (isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest.lower())):
        raise ConfigError(N_("{where}.sha256: expected the file's SHA-256 as 64 hex digits."),
                          where=where)
    name = spec.get("file_name", "")
    if not isinstance(name, str):
        raise ConfigError(N_("{where}.file_name: expected a string."), where=where)
    return {"sha256": digest.lower(), "file_name": name}


def _example_origin(spec: Mapping[str, Any], where: str) -> dict:
    """A bundled example: its path, which must lie in the project's ``data/`` folder."""
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise ConfigError(N_("{where}.path: expected the example's path inside the project."),
                          where=where)
    full = (ROOT / path).resolve()
    if (ROOT / "data").resolve() not in full.parents:
        raise ConfigError(N_("{where}.path: examples must live in the project's data/ folder."),
                          where=where)
    return {"path": path}


def _read_recipe(read: Any, where: str) -> dict:
    """How the table is read (:func:`clustering.tables.read_options`)."""
    from clustering import tables

    if not isinstance(read, Mapping):
        raise ConfigError(N_("{where}: expected an object, got {kind}."), where=where,
                          kind=_kind(read))
    _refuse_unknown(where, read, READ_FIELDS)
    return tables.read_options(read.get("delimiter"), read.get("encoding"), f"{where}.",
                               sheet=read.get("sheet"))


def _aggregation_recipe(agg: Any, where: str) -> dict:
    """One aggregation (:func:`clustering.aggregation.aggregate`): groups, criterion, weights."""
    if not isinstance(agg, Mapping) or not isinstance(agg.get("groups"), Mapping):
        raise ConfigError(N_("{where}.groups: expected an object of aggregate name -> columns."),
                          where=where)
    _refuse_unknown(where, agg, AGGREGATION_FIELDS)
    groups = {}
    for g, cols in agg["groups"].items():
        if not isinstance(cols, (list, tuple)) or not all(isinstance(c, str) for c in cols):
            raise ConfigError(N_("{where}.groups.{group}: expected a list of column names."),
                              where=where, group=g)
        groups[str(g)] = list(cols)
    criterion = agg.get("criterion", "Phi")
    if not isinstance(criterion, str) or not criterion:
        raise ConfigError(N_("{where}.criterion: expected a column name."), where=where)
    weights = agg.get("weights")
    if weights is not None and not isinstance(weights, Mapping):
        raise ConfigError(N_("{where}.weights: expected an object of column -> weight or null."),
                          where=where)
    item = {"groups": groups, "criterion": criterion}
    overwrite = agg.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise ConfigError(N_("{where}.overwrite: expected true or false, got {kind}."),
                          where=where, kind=_kind(overwrite))
    if overwrite:
        item["overwrite"] = True
    if weights is not None:
        item["weights"] = {str(k): check_value(f"{where}.weights.{k}", v, 1.0)
                           for k, v in weights.items()}
    return item


def _prepare_recipe(prep: Any, where: str) -> dict:
    """The column roles, the missing-value policy and the scaling (:func:`clustering.tables.
    prepare`)."""
    if not isinstance(prep, Mapping):
        raise ConfigError(N_("{where}: expected an object with the column roles."), where=where)
    _refuse_unknown(where, prep, PREPARE_FIELDS)
    features = prep.get("feature_columns")
    if not isinstance(features, (list, tuple)) or not features or not all(
            isinstance(c, str) for c in features):
        raise ConfigError(N_("{where}.feature_columns: expected a non-empty list of "
                             "column names."), where=where)
    missing = prep.get("missing", "refuse")
    if missing not in MISSING:
        raise ConfigError(N_("{where}.missing: expected one of {choices}, got {missing!r}."),
                          where=where, choices=", ".join(MISSING), missing=missing)
    scaling = prep.get("scaling", "standard")
    if scaling not in SCALING:
        raise ConfigError(N_("{where}.scaling: expected one of {choices}, got {scaling!r}."),
                          where=where, choices=", ".join(SCALING), scaling=scaling)
    return {
        "feature_columns": list(features),
        "id_column": _check_str_or_none(f"{where}.id_column", prep.get("id_column")),
        "label_column": _check_str_or_none(f"{where}.label_column", prep.get("label_column")),
        "missing": missing,
        "scaling": scaling,
    }


# ----------------------------------------------------------------------------------- the config
@dataclass
class RunConfig:
    """One run: ``method`` with ``params`` on the data made by ``data``.

    ``params`` holds only the hyper-parameters that differ from nothing in particular: the app
    writes all of them, so a saved file does not depend on the defaults of a later version.
    """

    method: str
    params: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "method": self.method,
                "params": _json_value(self.params), "data": _json_value(self.data),
                "note": self.note}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, obj: Any) -> "RunConfig":
        """Validate a decoded configuration (field by field)."""
        if not isinstance(obj, Mapping):
            raise ConfigError(N_("The configuration must be a JSON object."))
        _depth(obj, MAX_DEPTH)
        if obj.get("format") == COMPARISON_FORMAT:
            raise ConfigError(N_("format: this is a comparison of several methods; repeat it "
                                 "on the Compare page (or with load_comparison)."))
        if obj.get("format", FORMAT) != FORMAT:
            raise ConfigError(N_("format: not a clustermap run configuration "
                                 "(expected {expected!r}, got {format!r})."), expected=FORMAT,
                              format=obj.get("format"))
        _check_version(obj)
        method = obj.get("method")
        if not isinstance(method, str) or method not in method_names():
            raise ConfigError(N_("method: unknown method {method!r}; choose one of "
                                 "{methods}."), method=method, methods=", ".join(method_names()))
        unknown = set(obj) - {"format", "version", "method", "params", "data", "note"}
        if unknown:
            raise ConfigError(N_("{field}: unknown field; a configuration has "
                                 "format, version, method, params, data and note."),
                              field=sorted(unknown)[0])
        params = validate_params(method, obj.get("params", {}))
        data = validate_data(obj.get("data"))
        note = obj.get("note", "")
        if not isinstance(note, str):
            raise ConfigError(N_("note: expected a string."))
        return cls(method=method, params=params, data=data, note=note)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "RunConfig":
        """Parse and validate a configuration's JSON text.

        Strict JSON, checked before it is parsed: at most :data:`MAX_CONFIG_BYTES` and
        :data:`MAX_DEPTH` levels of nesting; ``NaN``/``Infinity`` tokens, duplicate keys and
        numbers too long to read are refused. Nothing in it is ever executed or imported.
        """
        return cls.from_dict(parse_json(text))


#: A JSON string, or an unterminated one running to the end of the text. The closing quote is
#: optional so a match never fails: each string is scanned once (linear time, no backtracking).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def _check_nesting(text: str) -> None:
    """Refuse text whose brackets outside strings nest deeper than :data:`MAX_DEPTH`.

    Checked before parsing (the parser recurses), in linear time: one pass blanks out string
    contents, one vectorised running sum counts the brackets.

    Raises
    ------
    ConfigError
        When objects and lists nest more than :data:`MAX_DEPTH` levels deep.
    """
    bare = _JSON_STRING.sub('""', text).encode("ascii", "replace")
    steps = _BRACKET_STEP[np.frombuffer(bare, dtype=np.uint8)]
    if steps.size and np.cumsum(steps, dtype=np.int64).max() > MAX_DEPTH:
        raise ConfigError(N_("The configuration nests objects or lists more than {limit} "
                             "levels deep: it is not a run configuration."), limit=MAX_DEPTH)


def _unique_keys(pairs: list) -> dict:
    """``object_pairs_hook`` refusing a key given twice in one object (linear time).

    Raises
    ------
    ConfigError
        Naming the duplicated key (the first in sorted order when there are several).
    """
    obj = dict(pairs)
    if len(obj) != len(pairs):
        counts = Counter(k for k, _ in pairs)
        dups = sorted(k for k, n in counts.items() if n > 1)
        raise ConfigError(N_("{field}: the field is given more than once in one object; "
                             "keep one."), field=dups[0])
    return obj


def parse_json(text: Union[str, bytes]) -> Any:
    """Strict, bounded JSON parsing of a saved file (see :meth:`RunConfig.from_json`)."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(N_("The configuration is {size} bytes, over the limit of "
                             "{limit} bytes: a saved run takes a few kilobytes; "
                             "is this the right file?"), size=size, limit=MAX_CONFIG_BYTES)
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ConfigError(N_("The configuration file is not UTF-8 text.")) from err
    _check_nesting(text)

    def constant(token: str):
        raise ConfigError(N_("The configuration holds {token}, which is not a JSON number: "
                             "write a finite number (or null)."), token=token)

    try:
        obj = json.loads(text, parse_constant=constant, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise ConfigError(N_("The configuration is not valid JSON (line {line}, "
                             "column {column}: {error})."), line=err.lineno, column=err.colno,
                          error=err.msg) from err
    except (ValueError, RecursionError) as err:  # e.g. an integer of 5000 digits
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(N_("The configuration cannot be read: {error}."), error=str(err)) from err
    return obj


@dataclass
class ComparisonConfig:
    """Several methods run on the same data: ``methods`` maps a method name to its parameters.

    Saved and validated like :class:`RunConfig` (strict JSON, every method's parameters checked,
    unknown fields refused by name); :func:`run` of ``RunConfig(m, methods[m], data)`` repeats
    method ``m``.
    """

    methods: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict:
        return {"format": COMPARISON_FORMAT, "version": VERSION,
                "methods": {m: _json_value(p) for m, p in self.methods.items()},
                "data": _json_value(self.data), "note": self.note}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def run_configs(self) -> dict[str, RunConfig]:
        """One :class:`RunConfig` per method."""
        return {m: RunConfig(m, dict(p), dict(self.data)) for m, p in self.methods.items()}

    @classmethod
    def from_dict(cls, obj: Any) -> "ComparisonConfig":
        if not isinstance(obj, Mapping):
            raise ConfigError(N_("The configuration must be a JSON object."))
        _depth(obj, MAX_DEPTH)
        if obj.get("format") != COMPARISON_FORMAT:
            if obj.get("format", FORMAT) == FORMAT and "method" in obj:
                raise ConfigError(N_("format: this is the configuration of one "
                                     "{method!r} run; repeat it on that method's page."),
                                  method=obj.get("method"))
            raise ConfigError(N_("format: not a clustermap comparison (expected "
                                 "{expected!r}, got {format!r})."), expected=COMPARISON_FORMAT,
                              format=obj.get("format"))
        _check_version(obj)
        _refuse_unknown("comparison", obj, ("format", "version", "methods", "data", "note"))
        methods = obj.get("methods")
        if not isinstance(methods, Mapping) or not methods:
            raise ConfigError(N_("methods: expected an object of method name -> parameters "
                                 "with at least one method."))
        known = method_names()
        checked = {}
        for name, params in methods.items():
            if name not in known:
                raise ConfigError(N_("methods.{name}: unknown method; choose among "
                                     "{known}."), name=name, known=", ".join(known))
            checked[name] = validate_params(name, params, where=f"methods.{name}")
        data = validate_data(obj.get("data"))
        note = obj.get("note", "")
        if not isinstance(note, str):
            raise ConfigError(N_("note: expected a string."))
        return cls(methods=checked, data=data, note=note)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ComparisonConfig":
        """Parse (strictly, see :func:`parse_json`) and validate a saved comparison."""
        return cls.from_dict(parse_json(text))


def load_comparison(source: Union[str, bytes, Any]) -> ComparisonConfig:
    """Read and validate a saved comparison from JSON text/bytes or an uploaded file."""
    if hasattr(source, "getvalue"):
        source = source.getvalue()
    return ComparisonConfig.from_json(source)


def save_config(config: RunConfig, path: Union[str, Path]) -> None:
    """Write ``config`` as JSON to ``path``."""
    Path(path).write_text(config.to_json() + "\n", encoding="utf-8")


def load_config(source: Union[str, bytes, Path, Any]) -> RunConfig:
    """Read and validate a configuration from a path, JSON text/bytes or an uploaded file."""
    if hasattr(source, "getvalue"):
        source = source.getvalue()
    elif hasattr(source, "read"):
        source = source.read()
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")
                                    and len(source) < 4096 and Path(source).is_file()):
        try:
            source = Path(source).read_bytes()
        except OSError as err:
            raise ConfigError(N_("Cannot read the configuration file: {error}."),
                              error=str(err)) from err
    return RunConfig.from_json(source)

