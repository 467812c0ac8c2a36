"""The app's objects as records that read back without pickle: a JSON-able meta dict and blobs.

A record is ``(meta, blobs)``: ``meta`` is plain JSON (no NaN or infinity tokens: such floats are
tagged), ``blobs`` maps a name to bytes. Arrays go as ``.npy`` (read with ``allow_pickle=False``),
tables as Parquet (:func:`encode_table`), a Keras network as its ``.keras`` file (loaded with
``safe_mode=True``), bytes as they are; everything else is JSON with a type tag (``{"t": ...}``)
wherever plain JSON would lose the type: tuples, dicts, numpy scalars, non-finite floats.
``meta["blobs"]`` holds the SHA-256 of every blob; ``meta["codec_version"]`` is
:data:`CODEC_VERSION`.

Estimators are stored generically: the class by its name in an allow-list (the methods of
:data:`clustering.config.ESTIMATORS` and :data:`clustering.classic.CLASSIC_METHODS`, and what they
hold: scalers, :class:`~clustering.neural.ScalePlan`, :class:`~clustering.classic.ClassicResult`;
a kernel by its registered name), ``get_params()`` and every other attribute (the learned state,
private scratch that ``predict`` needs included). Nothing named by a record is ever imported: a
class not in the allow-list is refused. An estimator met twice (the ensemble's ``best_map_`` is
one of its ``maps_``) is stored once and comes back as the same object.

A network's model stays bytes in a decoded result (``extra["keras_bytes"]``, checked to be an
intact ``.keras`` archive) until a view needs it: :func:`ui.runs.estimator_with_model` loads it
(``safe_mode=True``), as for a result that came back from a worker; ``load_model=True`` loads it
at once. Every malformed, truncated, tampered or unknown part raises :class:`CodecError`.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib
import io
import json
import math
import zipfile
from typing import Any, Callable

import numpy as np
import pandas as pd

from clustering.errors import ClusteringError

#: Version of the record layout; a record of another version is refused.
CODEC_VERSION = 1
#: ``(meta, blobs)``: JSON-able meta and the named byte strings it refers to.
Record = tuple[dict, dict[str, bytes]]
#: Lists of this many numbers or more (all floats, or all ints) go as an ``.npy`` blob.
LIST_BLOB_ITEMS = 256
#: Key of the codec's JSON in a Parquet file's metadata; blobs of its attrs follow it.
PARQUET_KEY = b"clustermap"
_NPY_MAGIC = b"\x93NUMPY"
_SCALAR_KINDS = "biufU"


class CodecError(ClusteringError):
    """A record cannot be written or read; ``str(err)`` says why in one sentence."""


# ----------------------------------------------------------------------------------- allow-list
def _load(module: str, name: str) -> Callable[[], type]:
    return lambda: getattr(importlib.import_module(module), name)


@functools.cache
def _classic_classes() -> dict[str, type]:
    """The estimator class behind every classic method (built with its defaults, not fitted)."""
    from clustering import classic

    out = {}
    for entry in classic.CLASSIC_METHODS.values():
        cls = type(entry.build(3, **entry.defaults))
        out[cls.__name__] = cls
    return out


@functools.cache
def _estimator_loaders() -> dict[str, Callable[[], type]]:
    """Allowed estimator classes by name (classes load only when a record names them)."""
    from clustering import config as cfg

    out = {name: _load(module, name) for module, name in cfg.ESTIMATORS.values()}
    for name in ("StandardScaler", "MinMaxScaler"):
        out[name] = _load("sklearn.preprocessing", name)
    for name, cls in _classic_classes().items():
        out[name] = (lambda c=cls: c)
    return out


#: Allowed dataclasses by name.
_DATACLASSES = {
    "ScalePlan": _load("clustering.neural", "ScalePlan"),
    "ClassicResult": _load("clustering.classic", "ClassicResult"),
    "RunConfig": _load("clustering.config", "RunConfig"),
    "ComparisonConfig": _load("clustering.config", "ComparisonConfig"),
}
_SPARSE = ("csr_matrix", "csc_matrix", "csr_array", "csc_array")


def _allowed(table: dict, name: Any, where: str, what: str) -> type:
    if not isinstance(name, str) or name not in table:
        raise CodecError(f"{where}: unknown {what} {name!r}; a record names only the app's own "
                         f"{what}es.")
    return table[name]()


def _is_keras_model(value: Any) -> bool:
    return type(value).__module__.startswith("keras") and hasattr(value, "save")


def _is_kernel(value: Any) -> bool:
    return type(value).__name__ == "Kernel" and type(value).__module__ == "clustering.kernels"


# ----------------------------------------------------------------------------------- bytes
def npy_bytes(arr: np.ndarray) -> bytes:
    """``arr`` as a ``.npy`` file (never pickled)."""
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def read_npy(data: bytes, where: str = "array") -> np.ndarray:
    """The array of a ``.npy`` file, read with ``allow_pickle=False``; :class:`CodecError` when
    it is not one, is truncated or has bytes after its array."""
    if not isinstance(data, (bytes, bytearray)) or not bytes(data).startswith(_NPY_MAGIC):
        raise CodecError(f"{where}: not a .npy array file.")
    buf = io.BytesIO(data)
    try:
        arr = np.lib.format.read_array(buf, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - any damage becomes one sentence
        raise CodecError(f"{where}: the .npy data is damaged or truncated ({err}).") from None
    if buf.tell() != len(data):
        raise CodecError(f"{where}: the .npy data has {len(data) - buf.tell()} stray bytes "
                         "after its array.")
    return arr


def check_keras(data: bytes, where: str = "model") -> None:
    """Refuse bytes that are not an intact ``.keras`` archive (zip with checksums and a
    ``config.json``), without loading Keras."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
            config = json.loads(archive.read("config.json")) if bad is None else None
    except Exception as err:  # noqa: BLE001 - BadZipFile, KeyError, zlib errors, bad JSON ...
        raise CodecError(f"{where}: not an intact .keras model file ({err}).") from None
    if bad is not None:
        raise CodecError(f"{where}: the .keras model file is damaged ({bad} fails its checksum).")
    if not isinstance(config, dict):
        raise CodecError(f"{where}: the .keras model file has no model configuration.")


def load_keras(data: bytes, where: str = "model"):
    """The Keras model of ``.keras`` bytes, loaded with ``safe_mode=True``."""
    import tempfile
    from pathlib import Path

    check_keras(data, where)
    try:
        import keras

        import clustering.neural  # noqa: F401 - registers the network's own layers

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(data)
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # noqa: BLE001
        raise CodecError(f"{where}: the Keras model cannot be loaded "
                         f"({type(err).__name__}: {err}).") from None


def keras_bytes(model) -> bytes:
    """A live Keras model as ``.keras`` bytes."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------------- writing
class _Writer:
    """Turns values into tagged JSON, collecting the blobs they need."""

    def __init__(self):
        self.blobs: dict[str, bytes] = {}
        self._ids: dict[int, int] = {}
        self._alive: list = []  # the objects memoised by id stay alive while writing

    def blob(self, data: bytes, ext: str) -> str:
        name = f"{len(self.blobs)}.{ext}"
        self.blobs[name] = bytes(data)
        return name

    def value(self, v: Any, where: str) -> Any:
        """The tagged JSON of ``v``; :class:`CodecError` for a type the codec does not know."""
        if v is None or type(v) in (bool, str, int):
            return v
        if isinstance(v, np.generic):
            return self._scalar(v, where)
        if type(v) is float:
            return v if math.isfinite(v) else {"t": "float", "v": repr(v)}
        if type(v) is list:
            return self._list(v, where)
        if type(v) is tuple:
            return {"t": "tuple", "v": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if type(v) is dict:
            return self._dict(v, where)
        if type(v) is np.ndarray:  # not a subclass: a masked array would lose its mask
            return self._array(v, where)
        if type(v) is pd.DataFrame:
            return {"t": "frame", "blob": self.blob(encode_table(v), "parquet")}
        if type(v) is bytes:
            return {"t": "bytes", "blob": self.blob(v, "bin")}
        return self._object(v, where)

    def fields(self, values: dict, where: str) -> dict:
        """A dict of attributes (named ``where.name`` in messages)."""
        return {"t": "dict", "v": {k: self.value(v, f"{where}.{k}") for k, v in values.items()}}

    def _scalar(self, v: np.generic, where: str) -> dict:
        if v.dtype.kind not in _SCALAR_KINDS:
            raise CodecError(f"{where}: cannot store a numpy {v.dtype} scalar.")
        return {"t": "np", "dtype": v.dtype.str, "v": self.value(v.item(), where)}

    def _list(self, v: list, where: str) -> Any:
        kinds = {type(x) for x in v}
        if len(v) >= LIST_BLOB_ITEMS and len(kinds) == 1 and kinds <= {float, int}:
            try:
                arr = np.asarray(v, dtype=np.float64 if float in kinds else np.int64)
            except OverflowError:
                arr = None
            if arr is not None:
                return {"t": "numlist", "blob": self.blob(npy_bytes(arr), "npy")}
        return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]

    def _dict(self, v: dict, where: str) -> dict:
        if all(type(k) is str for k in v):
            return {"t": "dict", "v": {k: self.value(x, f"{where}[{k!r}]") for k, x in v.items()}}
        items = []
        for k, x in v.items():
            if not (k is None or isinstance(k, (bool, int, float, str, np.generic))):
                raise CodecError(f"{where}: cannot store a dict key of type {type(k).__name__}.")
            items.append([self.value(k, where), self.value(x, f"{where}[{k!r}]")])
        return {"t": "pairs", "v": items}

    def _array(self, v: np.ndarray, where: str) -> dict:
        if v.dtype == object:
            items = [self.value(x, f"{where}[{i}]") for i, x in enumerate(v.ravel().tolist())]
            data = json.dumps(items, allow_nan=False).encode("utf-8")
            return {"t": "objarray", "shape": list(v.shape), "blob": self.blob(data, "json")}
        try:
            data = npy_bytes(v)
        except ValueError as err:
            raise CodecError(f"{where}: cannot store an array of dtype {v.dtype} "
                             f"({err}).") from None
        return {"t": "ndarray", "dtype": str(v.dtype), "shape": list(v.shape),
                "blob": self.blob(data, "npy")}

    def _object(self, v: Any, where: str) -> dict:
        name = type(v).__name__
        if name in _estimator_loaders() and _estimator_loaders()[name]() is type(v):
            return self._estimator(v, name, where)
        if name in _DATACLASSES and _DATACLASSES[name]() is type(v):
            fields = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
            return {"t": "dataclass", "class": name, "v": self.fields(fields, where)}
        if _is_kernel(v):
            from clustering import kernels

            # by name: a result from a worker holds an unpickled copy of the registry's kernel
            if v.name not in kernels.KERNELS:
                raise CodecError(f"{where}: the kernel {v.name!r} is not a registered kernel.")
            return {"t": "kernel", "name": v.name}
        if name in _SPARSE and type(v).__module__.startswith("scipy.sparse"):
            return {"t": "sparse", "class": name, "shape": list(v.shape),
                    "data": self.value(v.data, where), "indices": self.value(v.indices, where),
                    "indptr": self.value(v.indptr, where)}
        if _is_keras_model(v):
            return {"t": "keras", "blob": self.blob(keras_bytes(v), "keras")}
        raise CodecError(f"{where}: cannot store a value of type {type(v).__module__}.{name}.")

    def _estimator(self, est: Any, name: str, where: str) -> dict:
        if id(est) in self._ids:
            return {"t": "ref", "id": self._ids[id(est)]}
        self._ids[id(est)] = ident = len(self._ids)
        self._alive.append(est)
        params = est.get_params(deep=False)
        state = {k: v for k, v in vars(est).items() if k not in params}
        return {"t": "estimator", "class": name, "id": ident,
                "params": self.fields(params, f"{where}.params"),
                "state": self.fields(state, where)}


def _record(kind: str, writer: _Writer, payload: Any) -> Record:
    meta = {"codec_version": CODEC_VERSION, "kind": kind, "value": payload,
            "blobs": {name: _sha(data) for name, data in writer.blobs.items()}}
    return meta, writer.blobs


# ----------------------------------------------------------------------------------- reading
class _Reader:
    """Turns tagged JSON back into values, reading the blobs it names."""

    def __init__(self, meta: Any, blobs: Any, kind: str):
        _check_header(meta, kind)
        word = _WORDS.get(kind, kind)
        if not isinstance(blobs, dict):
            raise CodecError(f"The stored {word} has no blobs mapping.")
        listed = meta.get("blobs")
        if not isinstance(listed, dict):
            raise CodecError(f"The stored {word} does not list its blobs.")
        for name in sorted(set(listed) | set(blobs), key=str):
            if name not in blobs:
                raise CodecError(f"The stored {word} lacks its blob {name!r}.")
            if name not in listed:
                raise CodecError(f"The stored {word} holds a blob {name!r} its record does not "
                                 "list.")
            data = blobs[name]
            if not isinstance(data, (bytes, bytearray, memoryview)) \
                    or _sha(bytes(data)) != listed[name]:
                raise CodecError(f"The blob {name!r} of the stored {word} is damaged or was "
                                 "changed (its SHA-256 differs from the record's).")
        self.blobs = {name: bytes(data) for name, data in blobs.items()}
        self._objects: dict[int, Any] = {}

    def blob(self, obj: dict, where: str) -> bytes:
        name = obj.get("blob")
        if not isinstance(name, str) or name not in self.blobs:
            raise CodecError(f"{where}: refers to a blob {name!r} the record does not hold.")
        return self.blobs[name]

    def value(self, obj: Any, where: str) -> Any:
        if obj is None or type(obj) in (bool, str, int, float):
            return obj
        if type(obj) is list:
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(obj)]
        if type(obj) is not dict or not isinstance(obj.get("t"), str):
            raise CodecError(f"{where}: expected a tagged value, got {type(obj).__name__}.")
        reader = _READERS.get(obj["t"])
        if reader is None:
            raise CodecError(f"{where}: unknown value tag {obj['t']!r}.")
        return reader(self, obj, where)

    def array(self, obj: dict, where: str) -> np.ndarray:
        arr = read_npy(self.blob(obj, where), where)
        if str(arr.dtype) != obj.get("dtype") or list(arr.shape) != obj.get("shape"):
            raise CodecError(f"{where}: the array has dtype {arr.dtype} and shape "
                             f"{list(arr.shape)}; the record says {obj.get('dtype')} and "
                             f"{obj.get('shape')}.")
        return arr

    def estimator(self, obj: dict, where: str) -> Any:
        cls = _allowed(_estimator_loaders(), obj.get("class"), where, "estimator class")
        ident = obj.get("id")
        if type(ident) is not int or ident in self._objects:
            raise CodecError(f"{where}: bad or repeated object id {ident!r}.")
        params = self.value(obj.get("params"), f"{where}.params")
        state = self.value(obj.get("state"), where)
        if type(params) is not dict or type(state) is not dict:
            raise CodecError(f"{where}: an estimator needs its params and state as dicts.")
        for key in state:
            _check_attribute(cls, key, where)
        try:
            est = cls(**params)
        except Exception as err:  # noqa: BLE001 - TypeError for an unknown parameter ...
            raise CodecError(f"{where}: {cls.__name__} does not take these parameters "
                             f"({err}).") from None
        est.__dict__.update(state)
        self._objects[ident] = est
        return est


def _check_attribute(cls: type, key: Any, where: str) -> None:
    """Refuse a state entry that is not a plain attribute name or would hide a method."""
    import inspect

    found = inspect.getattr_static(cls, key, None) if isinstance(key, str) else None
    if not isinstance(key, str) or not key.isidentifier() or key.startswith("__") \
            or callable(found) or isinstance(found, (property, classmethod, staticmethod)):
        raise CodecError(f"{where}: {key!r} is not a data attribute of {cls.__name__}.")


_WORDS = {"dataset": "data set", "result": "result", "table": "table"}


def _check_header(meta: Any, kind: str) -> None:
    word = _WORDS.get(kind, kind)
    if not isinstance(meta, dict):
        raise CodecError(f"The stored {word} is not a record (its meta is not a JSON object).")
    version = meta.get("codec_version")
    if version != CODEC_VERSION:
        raise CodecError(f"The stored {word} was written by codec version {version!r}; this app "
                         f"reads version {CODEC_VERSION}.")
    if meta.get("kind") != kind:
        found = meta.get("kind")
        found = _WORDS.get(found, repr(found)) if isinstance(found, str) else repr(found)
        raise CodecError(f"The record holds a {found}, not a {word}.")


def _read_float(r: _Reader, obj: dict, where: str) -> float:
    if obj.get("v") not in ("nan", "inf", "-inf"):
        raise CodecError(f"{where}: bad non-finite float {obj.get('v')!r}.")
    return float(obj["v"])


def _read_scalar(r: _Reader, obj: dict, where: str) -> np.generic:
    try:
        if not isinstance(obj.get("dtype"), str):
            raise TypeError
        dtype = np.dtype(obj["dtype"])
    except TypeError:
        raise CodecError(f"{where}: bad numpy dtype {obj.get('dtype')!r}.") from None
    value = r.value(obj.get("v"), where)
    ok = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,)}
    if dtype.kind not in ok or type(value) not in ok[dtype.kind]:
        raise CodecError(f"{where}: {value!r} is not a numpy {dtype} scalar.")
    try:
        return dtype.type(value)
    except (OverflowError, ValueError):
        raise CodecError(f"{where}: {value!r} does not fit a numpy {dtype}.") from None


def _read_dict(r: _Reader, obj: dict, where: str) -> dict:
    items = obj.get("v")
    if type(items) is not dict:
        raise CodecError(f"{where}: a dict needs an object of items.")
    return {k: r.value(x, f"{where}[{k!r}]") for k, x in items.items()}


def _read_pairs(r: _Reader, obj: dict, where: str) -> dict:
    pairs = obj.get("v")
    if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
        raise CodecError(f"{where}: a dict needs a list of key-value pairs.")
    out = {}
    for k, x in pairs:
        key = r.value(k, where)
        if not (key is None or isinstance(key, (bool, int, float, str, np.generic))):
            raise CodecError(f"{where}: a dict key cannot be a {type(key).__name__}.")
        out[key] = r.value(x, f"{where}[{key!r}]")
    return out


def _read_objarray(r: _Reader, obj: dict, where: str) -> np.ndarray:
    shape = obj.get("shape")
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise CodecError(f"{where}: bad array shape {shape!r}.")
    try:
        items = json.loads(r.blob(obj, where), parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise CodecError(f"{where}: the array's JSON is damaged ({err}).") from None
    if type(items) is not list or len(items) != math.prod(shape):
        raise CodecError(f"{where}: the array's items do not fill its shape {shape}.")
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = r.value(x, f"{where}[{i}]")
    return out.reshape(shape)


def _no_constant(token: str):
    raise ValueError(f"{token} is not a JSON number")


def _read_numlist(r: _Reader, obj: dict, where: str) -> list:
    arr = read_npy(r.blob(obj, where), where)
    if arr.ndim != 1 or arr.dtype not in (np.float64, np.int64):
        raise CodecError(f"{where}: a list of numbers needs a 1-D float64 or int64 array.")
    return arr.tolist()


def _read_sparse(r: _Reader, obj: dict, where: str):
    import scipy.sparse

    name = obj.get("class")
    if name not in _SPARSE:
        raise CodecError(f"{where}: unknown sparse matrix class {name!r}.")
    parts = [r.value(obj.get(k), where) for k in ("data", "indices", "indptr")]
    shape = obj.get("shape")
    if not all(isinstance(p, np.ndarray) and p.ndim == 1 for p in parts):
        raise CodecError(f"{where}: a sparse matrix needs three 1-D arrays.")
    try:
        return getattr(scipy.sparse, name)(tuple(parts), shape=tuple(shape))
    except Exception as err:  # noqa: BLE001
        raise CodecError(f"{where}: the sparse matrix is malformed ({err}).") from None


def _read_dataclass(r: _Reader, obj: dict, where: str) -> Any:
    cls = _allowed(_DATACLASSES, obj.get("class"), where, "class")
    fields = r.value(obj.get("v"), where)
    if type(fields) is not dict:
        raise CodecError(f"{where}: a {cls.__name__} needs its fields as a dict.")
    try:
        out = cls(**fields)
    except TypeError as err:
        raise CodecError(f"{where}: the fields do not make a {cls.__name__} ({err}).") from None
    return out


def _read_kernel(r: _Reader, obj: dict, where: str):
    from clustering import kernels

    name = obj.get("name")
    if not isinstance(name, str) or name not in kernels.KERNELS:
        raise CodecError(f"{where}: unknown kernel {name!r}.")
    return kernels.KERNELS[name]


def _read_ref(r: _Reader, obj: dict, where: str) -> Any:
    ident = obj.get("id")
    if type(ident) is not int or ident not in r._objects:
        raise CodecError(f"{where}: refers to an object {ident!r} not read before it.")
    return r._objects[ident]


_READERS: dict[str, Callable[[_Reader, dict, str], Any]] = {
    "float": _read_float,
    "np": _read_scalar,
    "tuple": lambda r, o, w: tuple(r.value(_list_of(o, w), w)),
    "dict": _read_dict,
    "pairs": _read_pairs,
    "ndarray": lambda r, o, w: r.array(o, w),
    "objarray": _read_objarray,
    "numlist": _read_numlist,
    "frame": lambda r, o, w: decode_table(r.blob(o, w), where=w),
    "bytes": lambda r, o, w: r.blob(o, w),
    "keras": lambda r, o, w: load_keras(r.blob(o, w), w),
    "estimator": lambda r, o, w: r.estimator(o, w),
    "ref": _read_ref,
    "dataclass": _read_dataclass,
    "kernel": _read_kernel,
    "sparse": _read_sparse,
}


def _list_of(obj: dict, where: str) -> list:
    if type(obj.get("v")) is not list:
        raise CodecError(f"{where}: a tuple needs a list of items.")
    return obj["v"]


def _guarded(kind: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, any error but a :class:`CodecError` turned into one (decoding reads untrusted
    data: a surprise is a damaged record, never a traceback)."""
    try:
        return fn()
    except CodecError:
        raise
    except RecursionError:
        raise CodecError(f"The stored {kind} nests values too deeply.") from None
    except Exception as err:  # noqa: BLE001
        raise CodecError(f"The stored {kind} cannot be read ({type(err).__name__}: "
                         f"{err}).") from None


# ----------------------------------------------------------------------------------- tables
def _columns_info(columns: pd.Index, writer: _Writer) -> dict:
    if isinstance(columns, pd.MultiIndex):
        raise CodecError("Cannot store a table with several levels of column names.")
    if not columns.is_unique:
        raise CodecError("Cannot store a table whose column names repeat.")
    info = {"name": writer.value(columns.name, "columns.name")}
    if type(columns) is pd.RangeIndex:
        info["range"] = [columns.start, columns.stop, columns.step]
    else:
        info["labels"] = writer.value(columns.tolist(), "columns")
        info["dtype"] = str(columns.dtype)
    return info


def _none_columns(frame: pd.DataFrame) -> list[int]:
    """Positions of the object columns whose missing cells are None (NaN is Parquet's default);
    :class:`CodecError` for a column whose missing cells are of several kinds (or pd.NA)."""
    out = []
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if col.dtype != object:
            continue
        kinds = {"none" if v is None else "nan" if isinstance(v, (float, np.floating)) else
                 type(v).__name__ for v in col[col.isna()]}
        if len(kinds) > 1 or not kinds <= {"none", "nan"}:
            raise CodecError(f"Cannot store the column {frame.columns[i]!r}: its missing cells "
                             f"are of several kinds ({', '.join(sorted(kinds))}).")
        if kinds == {"none"}:
            out.append(i)
    return out


def encode_table(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes: values, dtypes, index, column names and ``attrs`` (e.g. the
    CSV reading notes in ``attrs["csv"]``), all read back exactly by :func:`decode_table`.

    Raises
    ------
    CodecError
        For several column levels, repeated column names, an index of several levels, or cells
        Parquet cannot hold (an object column mixing text and numbers).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if type(frame) is not pd.DataFrame:
        raise CodecError(f"Expected a DataFrame, got {type(frame).__name__}.")
    if isinstance(frame.index, pd.MultiIndex):
        raise CodecError("Cannot store a table with an index of several levels.")
    writer = _Writer()
    info = {"codec_version": CODEC_VERSION, "columns": _columns_info(frame.columns, writer),
            "index_name": writer.value(frame.index.name, "index.name"),
            "index_dtype": str(frame.index.dtype), "dtypes": [str(d) for d in frame.dtypes],
            "none": _none_columns(frame), "attrs": writer.value(dict(frame.attrs), "attrs")}
    stored = frame.copy(deep=False)
    stored.attrs = {}
    stored.columns = [f"c{i}" for i in range(frame.shape[1])]
    stored.index = stored.index.rename(None)
    try:
        table = pa.Table.from_pandas(stored, preserve_index=None)
    except (pa.ArrowException, ValueError, TypeError) as err:
        raise CodecError(f"Cannot store the table as Parquet ({err}).") from None
    info["blobs"] = {name: _sha(data) for name, data in writer.blobs.items()}
    extra = {PARQUET_KEY: json.dumps(info, allow_nan=False).encode("utf-8")}
    extra.update({PARQUET_KEY + b"." + n.encode(): d for n, d in writer.blobs.items()})
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _read_parquet(data: bytes, where: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as err:  # noqa: BLE001 - ArrowInvalid, OSError ...
        raise CodecError(f"{where}: not an intact Parquet table ({err}).") from None
    if any(isinstance(f.type, pa.ExtensionType) for f in table.schema):
        raise CodecError(f"{where}: the table holds a column of an extension type.")
    meta = table.schema.metadata or {}
    try:
        info = json.loads(meta[PARQUET_KEY], parse_constant=_no_constant)
    except (KeyError, ValueError, RecursionError):
        raise CodecError(f"{where}: not a table written by this app (no readable "
                         "clustermap metadata).") from None
    prefix = PARQUET_KEY + b"."
    blobs = {k[len(prefix):].decode("utf-8", "replace"): v for k, v in meta.items()
             if k.startswith(prefix)}
    return table, info, blobs


def _restore_columns(info: dict, r: _Reader) -> pd.Index:
    name = r.value(info.get("name"), "columns.name")
    if "range" in info:
        start, stop, step = info["range"]
        return pd.RangeIndex(start, stop, step, name=name)
    labels = r.value(info.get("labels"), "columns")
    return pd.Index(labels, dtype=_dtype(info.get("dtype")), name=name, tupleize_cols=False)


def _dtype(text: Any):
    """A dtype named in a table record: pandas' own names only (object, str, int64 ...)."""
    if not isinstance(text, str):
        raise CodecError(f"Bad dtype {text!r} in a table record.")
    try:
        return pd.api.types.pandas_dtype(text)
    except TypeError:
        raise CodecError(f"Unknown dtype {text!r} in a table record.") from None


def decode_table(data: bytes, *, where: str = "table") -> pd.DataFrame:
    """The DataFrame of :func:`encode_table`'s bytes, exactly (dtypes, index, names, attrs).

    Raises
    ------
    CodecError
        For bytes that are not such a table, are truncated or were changed.
    """
    return _guarded(where, lambda: _decode_table(data, where))


def _decode_table(data: bytes, where: str) -> pd.DataFrame:
    table, info, blobs = _read_parquet(data, where)
    r = _Reader({**info, "kind": "table"}, blobs, "table")
    frame = table.to_pandas()
    dtypes = info.get("dtypes")
    if type(dtypes) is not list or len(dtypes) != frame.shape[1]:
        raise CodecError(f"{where}: the table's columns do not match its record.")
    for i, text in enumerate(dtypes):
        if text == "object" and frame.iloc[:, i].dtype != object:
            frame.isetitem(i, frame.iloc[:, i].astype(object))
    for i in info.get("none") or []:
        values = frame.iloc[:, i].to_numpy(dtype=object, copy=True)
        values[pd.isna(values)] = None
        frame.isetitem(i, pd.Series(values, index=frame.index, dtype=object))
    frame.columns = _restore_columns(info.get("columns") or {}, r)
    if info.get("index_dtype") == "object" and frame.index.dtype != object:
        frame.index = frame.index.astype(object)
    frame.index = frame.index.rename(r.value(info.get("index_name"), "index.name"))
    found = [str(d) for d in frame.dtypes]
    if found != dtypes or str(frame.index.dtype) != info.get("index_dtype"):
        raise CodecError(f"{where}: the table's dtypes {found} differ from its record's "
                         f"{dtypes}.")
    attrs = r.value(info.get("attrs"), "attrs")
    if type(attrs) is not dict:
        raise CodecError(f"{where}: the table's attrs are not a dict.")
    frame.attrs = attrs
    return frame


# ----------------------------------------------------------------------------------- data sets
def encode_dataset(ds) -> Record:
    """A :class:`clustering.tables.Dataset` (every field) as a record."""
    from clustering.tables import Dataset

    if type(ds) is not Dataset:
        raise CodecError(f"Expected a Dataset, got {type(ds).__name__}.")
    writer = _Writer()
    fields = {f.name: getattr(ds, f.name) for f in dataclasses.fields(ds)}
    return _record("dataset", writer, writer.fields(fields, "dataset"))


def decode_dataset(meta: dict, blobs: dict[str, bytes]):
    """The :class:`~clustering.tables.Dataset` of :func:`encode_dataset`'s record.

    Raises
    ------
    CodecError
        For a damaged, tampered or foreign record, or fields of the wrong type or shape.
    """
    return _guarded("data set", lambda: _decode_dataset(meta, blobs))


def _decode_dataset(meta: dict, blobs: dict[str, bytes]):
    from clustering.tables import Dataset

    r = _Reader(meta, blobs, "dataset")
    fields = r.value(meta.get("value"), "dataset")
    if type(fields) is not dict or set(fields) != {f.name for f in dataclasses.fields(Dataset)}:
        raise CodecError("The stored data set does not have the fields of a Dataset.")
    _check_dataset(fields)
    return Dataset(**fields)


def _check_dataset(f: dict) -> None:
    X = f["X"]
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype != np.float64:
        raise CodecError("The stored data set's X is not a 2-D float64 array.")
    n, d = X.shape
    for name in ("raw", "frame"):
        if not (f[name] is None and name == "frame") and not (
                isinstance(f[name], pd.DataFrame) and len(f[name]) == n):
            raise CodecError(f"The stored data set's {name} is not a table of {n} rows.")
    names = f["feature_names"]
    if type(names) is not list or len(names) != d or not all(type(s) is str for s in names):
        raise CodecError(f"The stored data set's feature_names are not {d} names.")
    if f["ids"] is not None and not (isinstance(f["ids"], np.ndarray) and f["ids"].shape == (n,)):
        raise CodecError(f"The stored data set's ids are not {n} values.")
    labels = f["labels"]
    if labels is not None and not (isinstance(labels, np.ndarray) and labels.shape == (n,)
                                   and labels.dtype.kind in "iu"):
        raise CodecError(f"The stored data set's labels are not {n} integers.")
    for name in ("label_names", "notes"):
        value = f[name]
        if not (value is None and name == "label_names") and not (
                type(value) is list and all(type(s) is str for s in value)):
            raise CodecError(f"The stored data set's {name} are not a list of text.")
    if f["scaling"] not in ("standard", "minmax", "none"):
        raise CodecError(f"The stored data set's scaling {f['scaling']!r} is unknown.")
    if f["scaler"] is not None and type(f["scaler"]).__name__ not in ("StandardScaler",
                                                                      "MinMaxScaler"):
        raise CodecError("The stored data set's scaler is not a scikit-learn scaler.")


# ----------------------------------------------------------------------------------- results
def encode_result(result) -> Record:
    """A :class:`ui.runs.MethodResult` of any kind (neural, som, qbm, compare, classic) as a
    record: its fields, the estimator with its learned state, ``extra`` and ``metrics``.

    A network's Keras model goes as its ``.keras`` bytes (``meta["model"]`` names the blob): the
    cached ``extra["keras_bytes"]``, or :func:`ui.runs.model_bytes` of a live ``model_`` (which
    caches them on ``result`` as training does). Attributes set on the result outside its
    dataclass fields (the store's ``run_id``) are not part of the record.

    Raises
    ------
    CodecError
        Naming the first value of a type the codec does not know (nothing is dropped silently).
    """
    from ui import runs

    if type(result) is not runs.MethodResult:
        raise CodecError(f"Expected a MethodResult, got {type(result).__name__}.")
    est = result.estimator
    if getattr(est, "model_", None) is not None:
        runs.model_bytes(result)
        est = copy.copy(est)
        est.model_ = None  # the model travels as .keras bytes, as from a worker
    extra = dict(result.extra)
    model = extra.pop("keras_bytes", None)
    if model is not None and type(model) is not bytes:
        raise CodecError("result.extra['keras_bytes']: expected the .keras file's bytes.")
    writer = _Writer()
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    fields.update(estimator=est, extra=extra)
    payload = writer.fields(fields, "result")
    model_name = None if model is None else writer.blob(model, "keras")
    meta, blobs = _record("result", writer, payload)
    meta["model"] = model_name
    return meta, blobs


def decode_result(meta: dict, blobs: dict[str, bytes], *, load_model: bool = False):
    """The :class:`~ui.runs.MethodResult` of :func:`encode_result`'s record.

    A network's model comes back as ``extra["keras_bytes"]`` (checked to be an intact ``.keras``
    archive) with ``estimator.model_ = None``, loaded on demand by
    :func:`ui.runs.estimator_with_model` (``safe_mode=True``); ``load_model=True`` loads it here.

    Raises
    ------
    CodecError
        For a damaged, tampered or foreign record: a blob changed or missing, a wrong
        :data:`CODEC_VERSION`, a class outside the allow-list, a field of the wrong type or shape,
        a model that does not load.
    """
    return _guarded("result", lambda: _decode_result(meta, blobs, load_model))


def _decode_result(meta: dict, blobs: dict[str, bytes], load_model: bool):
    from ui import runs

    r = _Reader(meta, blobs, "result")
    fields = r.value(meta.get("value"), "result")
    names = {f.name for f in dataclasses.fields(runs.MethodResult)}
    if type(fields) is not dict or set(fields) != names:
        raise CodecError("The stored result does not have the fields of a MethodResult.")
    if type(fields["extra"]) is not dict:
        raise CodecError("The stored result's extra is not a dict.")
    model = meta.get("model")
    if "keras_bytes" in fields["extra"]:
        raise CodecError("The stored result's extra holds model bytes outside its model blob.")
    if model is not None:
        data = r.blob({"blob": model}, "model")
        check_keras(data, "The stored result's model")
        fields["extra"]["keras_bytes"] = data
    _check_result(fields)
    result = runs.MethodResult(**fields)
    if load_model and model is not None:
        try:
            runs.estimator_with_model(result)
        except Exception as err:  # noqa: BLE001
            raise CodecError(f"The stored result's Keras model cannot be loaded "
                             f"({type(err).__name__}: {err}).") from None
    return result


def _check_result(f: dict) -> None:
    from clustering import config as cfg

    method = f["method"]
    if method not in cfg.method_names() + ["compare"]:
        raise CodecError(f"The stored result is of an unknown method {method!r}.")
    config = f["config"]
    expected = "ComparisonConfig" if method == "compare" else "RunConfig"
    if config is not None and (type(config).__name__ != expected
                               or getattr(config, "method", method) != method):
        raise CodecError(f"The stored {method} result holds a configuration of another kind.")
    if config is not None and not all(type(getattr(config, k)) is t for k, t in (
            ("params" if method != "compare" else "methods", dict), ("data", dict),
            ("note", str))):
        raise CodecError(f"The stored {method} result's configuration has fields of the wrong "
                         "type.")
    labels, proba = f["labels"], f["proba"]
    if not (isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"):
        raise CodecError("The stored result's labels are not a 1-D array of integers.")
    if proba is not None and not (isinstance(proba, np.ndarray) and proba.ndim == 2
                                  and proba.dtype.kind == "f"
                                  and proba.shape[0] == labels.shape[0]):
        raise CodecError(f"The stored result's proba is not a float array of "
                         f"{labels.shape[0]} rows.")
    est = f["estimator"]
    want = (cfg.ESTIMATORS[method][1] if method in cfg.ESTIMATORS else
            None if method == "compare" else "ClassicResult")
    if est is not None and type(est).__name__ != want:
        raise CodecError(f"The stored {method} result holds a {type(est).__name__}, not a "
                         f"{want}.")
    if type(f["metrics"]) is not dict or not all(type(k) is str for k in f["metrics"]):
        raise CodecError("The stored result's metrics are not a dict of named figures.")
    for name, types in (("elapsed", (float, int)), ("stopped", (bool,)),
                        ("data_token", (int,)), ("stop_reason", (str,))):
        if type(f[name]) not in types:
            raise CodecError(f"The stored result's {name} has the wrong type "
                             f"({type(f[name]).__name__}).")
