"""Values as tagged JSON and blobs, and back: the codec's value layer.

:class:`Writer` turns a value into plain JSON with a type tag (``{"t": ...}``) wherever plain JSON
would lose the type (tuples, dicts with other keys than text, numpy scalars, non-finite floats),
putting arrays, tables, bytes and Keras models in named blobs; estimators go by their class name
in the allow-list (:mod:`ui.codec_allowlist`), ``get_params()`` and every other attribute, once
each (a second reference is a ``ref``). :class:`Reader` checks a record's header and the SHA-256
of every blob, then reads the tags back through :data:`READERS`. Tables inside values are
:mod:`ui.codec_tables`' Parquet files (imported when met: that module writes its own column
names and attrs with these classes).
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Callable

import numpy as np
import pandas as pd

from clustering.i18n import Joined, Message, N_, Text
from ui.codec_allowlist import (DATACLASSES, SPARSE, allowed, check_attribute, estimator_loaders,
                                is_keras_model, is_kernel)
from ui.codec_formats import (CODEC_VERSION, CodecError, Record, keras_bytes, load_keras,
                              npy_bytes, read_npy, sha256)

__all__ = ["LIST_BLOB_ITEMS", "Writer", "Reader", "READERS", "record", "guarded", "no_constant"]

#: Lists of this many numbers or more (all floats, or all ints) go as an ``.npy`` blob.
LIST_BLOB_ITEMS = 256
_SCALAR_KINDS = "biufU"


class Writer:
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
            from ui.codec_tables import encode_table

            return {"t": "frame", "blob": self.blob(encode_table(v), "parquet")}
        if type(v) is bytes:
            return {"t": "bytes", "blob": self.blob(v, "bin")}
        return self._object(v, where)

    def fields(self, values: dict, where: str) -> dict:
        """A dict of attributes (named ``where.name`` in messages)."""
        return {"t": "dict", "v": {k: self.value(v, f"{where}.{k}") for k, v in values.items()}}

    def _scalar(self, v: np.generic, where: str) -> dict:
        if v.dtype.kind not in _SCALAR_KINDS:
            raise CodecError(N_("{where}: cannot store a numpy {dtype} scalar."), where=where,
                             dtype=str(v.dtype))
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
                raise CodecError(N_("{where}: cannot store a dict key of type {type}."),
                                 where=where, type=type(k).__name__)
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
            raise CodecError(N_("{where}: cannot store an array of dtype {dtype} ({error})."),
                             where=where, dtype=str(v.dtype), error=str(err)) from None
        return {"t": "ndarray", "dtype": str(v.dtype), "shape": list(v.shape),
                "blob": self.blob(data, "npy")}

    def _object(self, v: Any, where: str) -> dict:
        name = type(v).__name__
        if name in estimator_loaders() and estimator_loaders()[name]() is type(v):
            return self._estimator(v, name, where)
        if name in DATACLASSES and DATACLASSES[name]() is type(v):
            fields = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
            return {"t": "dataclass", "class": name, "v": self.fields(fields, where)}
        if is_kernel(v):
            from clustering import kernels

            # by name: a result from a worker holds an unpickled copy of the registry's kernel
            if v.name not in kernels.KERNELS:
                raise CodecError(N_("{where}: the kernel {name!r} is not a registered kernel."),
                                 where=where, name=v.name)
            return {"t": "kernel", "name": v.name}
        if name in SPARSE and type(v).__module__.startswith("scipy.sparse"):
            return {"t": "sparse", "class": name, "shape": list(v.shape),
                    "data": self.value(v.data, where), "indices": self.value(v.indices, where),
                    "indptr": self.value(v.indptr, where)}
        if is_keras_model(v):
            return {"t": "keras", "blob": self.blob(keras_bytes(v), "keras")}
        if type(v) is Message:  # a sentence kept to be shown in its reader's language
            return {"t": "message", "template": v.template,
                    "params": self.value(dict(v.params), f"{where}.params")}
        if type(v) is Joined:
            return {"t": "joined", "parts": self.value(list(v.parts), f"{where}.parts"),
                    "sep": v.sep, "capitalize": bool(v.capitalize)}
        if type(v) is Text:  # the English text of a message kept as data, with its message
            return {"t": "text", "message": self.value(v.message, f"{where}.message")}
        raise CodecError(N_("{where}: cannot store a value of type {type}."), where=where,
                         type=f"{type(v).__module__}.{name}")

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


def record(kind: str, writer: Writer, payload: Any) -> Record:
    """The record of a ``kind`` whose value is ``payload``, with ``writer``'s blobs."""
    meta = {"codec_version": CODEC_VERSION, "kind": kind, "value": payload,
            "blobs": {name: sha256(data) for name, data in writer.blobs.items()}}
    return meta, writer.blobs


class Reader:
    """Turns tagged JSON back into values, reading the blobs it names."""

    def __init__(self, meta: Any, blobs: Any, kind: str):
        _check_header(meta, kind)
        if not isinstance(blobs, dict):
            raise _kind_error("no_blobs", kind)
        listed = meta.get("blobs")
        if not isinstance(listed, dict):
            raise _kind_error("unlisted", kind)
        for name in sorted(set(listed) | set(blobs), key=str):
            if name not in blobs:
                raise _kind_error("lacks", kind, name=name)
            if name not in listed:
                raise _kind_error("extra", kind, name=name)
            data = blobs[name]
            if not isinstance(data, (bytes, bytearray, memoryview)) \
                    or sha256(bytes(data)) != listed[name]:
                raise _kind_error("changed", kind, name=name)
        self.blobs = {name: bytes(data) for name, data in blobs.items()}
        self._objects: dict[int, Any] = {}

    def blob(self, obj: dict, where: str) -> bytes:
        name = obj.get("blob")
        if not isinstance(name, str) or name not in self.blobs:
            raise CodecError(N_("{where}: refers to a blob {name!r} the record does not hold."),
                             where=where, name=name)
        return self.blobs[name]

    def value(self, obj: Any, where: str) -> Any:
        if obj is None or type(obj) in (bool, str, int, float):
            return obj
        if type(obj) is list:
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(obj)]
        if type(obj) is not dict or not isinstance(obj.get("t"), str):
            raise CodecError(N_("{where}: expected a tagged value, got {type}."), where=where,
                             type=type(obj).__name__)
        reader = READERS.get(obj["t"])
        if reader is None:
            raise CodecError(N_("{where}: unknown value tag {tag!r}."), where=where,
                             tag=obj["t"])
        return reader(self, obj, where)

    def array(self, obj: dict, where: str) -> np.ndarray:
        arr = read_npy(self.blob(obj, where), where)
        if str(arr.dtype) != obj.get("dtype") or list(arr.shape) != obj.get("shape"):
            raise CodecError(N_("{where}: the array has dtype {dtype} and shape {shape}; the "
                                "record says {record_dtype} and {record_shape}."), where=where,
                             dtype=str(arr.dtype), shape=str(list(arr.shape)),
                             record_dtype=str(obj.get("dtype")),
                             record_shape=str(obj.get("shape")))
        return arr

    def estimator(self, obj: dict, where: str) -> Any:
        cls = allowed(estimator_loaders(), obj.get("class"), where, "estimator class")
        ident = obj.get("id")
        if type(ident) is not int or ident in self._objects:
            raise CodecError(N_("{where}: bad or repeated object id {ident!r}."), where=where,
                             ident=ident)
        params = self.value(obj.get("params"), f"{where}.params")
        state = self.value(obj.get("state"), where)
        if type(params) is not dict or type(state) is not dict:
            raise CodecError(N_("{where}: an estimator needs its params and state as dicts."),
                             where=where)
        for key in state:
            check_attribute(cls, key, where)
        try:
            est = cls(**params)
        except Exception as err:  # noqa: BLE001 - TypeError for an unknown parameter ...
            raise CodecError(N_("{where}: {cls} does not take these parameters ({error})."),
                             where=where, cls=cls.__name__, error=str(err)) from None
        est.__dict__.update(state)
        self._objects[ident] = est
        return est


_WORDS = {"dataset": "data set", "result": "result", "table": "table"}
#: The sentences about a stored record, one per kind (a whole sentence each, for the catalogs);
#: ``None``: any other kind, named by ``{word}`` (the kind's own name, data).
_BY_KIND = {
    "no_blobs": {
        "dataset": N_("The stored data set has no blobs mapping."),
        "result": N_("The stored result has no blobs mapping."),
        "table": N_("The stored table has no blobs mapping."),
        None: N_("The stored {word} has no blobs mapping."),
    },
    "unlisted": {
        "dataset": N_("The stored data set does not list its blobs."),
        "result": N_("The stored result does not list its blobs."),
        "table": N_("The stored table does not list its blobs."),
        None: N_("The stored {word} does not list its blobs."),
    },
    "lacks": {
        "dataset": N_("The stored data set lacks its blob {name!r}."),
        "result": N_("The stored result lacks its blob {name!r}."),
        "table": N_("The stored table lacks its blob {name!r}."),
        None: N_("The stored {word} lacks its blob {name!r}."),
    },
    "extra": {
        "dataset": N_("The stored data set holds a blob {name!r} its record does not list."),
        "result": N_("The stored result holds a blob {name!r} its record does not list."),
        "table": N_("The stored table holds a blob {name!r} its record does not list."),
        None: N_("The stored {word} holds a blob {name!r} its record does not list."),
    },
    "changed": {
        "dataset": N_("The blob {name!r} of the stored data set is damaged or was changed (its "
                      "SHA-256 differs from the record's)."),
        "result": N_("The blob {name!r} of the stored result is damaged or was changed (its "
                     "SHA-256 differs from the record's)."),
        "table": N_("The blob {name!r} of the stored table is damaged or was changed (its "
                    "SHA-256 differs from the record's)."),
        None: N_("The blob {name!r} of the stored {word} is damaged or was changed (its "
                 "SHA-256 differs from the record's)."),
    },
    "no_record": {
        "dataset": N_("The stored data set is not a record (its meta is not a JSON object)."),
        "result": N_("The stored result is not a record (its meta is not a JSON object)."),
        "table": N_("The stored table is not a record (its meta is not a JSON object)."),
        None: N_("The stored {word} is not a record (its meta is not a JSON object)."),
    },
    "version": {
        "dataset": N_("The stored data set was written by codec version {version!r}; this app "
                      "reads version {current}."),
        "result": N_("The stored result was written by codec version {version!r}; this app "
                     "reads version {current}."),
        "table": N_("The stored table was written by codec version {version!r}; this app "
                    "reads version {current}."),
        None: N_("The stored {word} was written by codec version {version!r}; this app "
                 "reads version {current}."),
    },
    "deep": {
        "dataset": N_("The stored data set nests values too deeply."),
        "result": N_("The stored result nests values too deeply."),
        "table": N_("The stored table nests values too deeply."),
        None: N_("The stored {word} nests values too deeply."),
    },
    "unreadable": {
        "dataset": N_("The stored data set cannot be read ({type}: {error})."),
        "result": N_("The stored result cannot be read ({type}: {error})."),
        "table": N_("The stored table cannot be read ({type}: {error})."),
        None: N_("The stored {word} cannot be read ({type}: {error})."),
    },
}
#: "The record holds a <found>, not a <kind>.", by (found, kind); found ``None``: another
#: value, written as ``{found}`` (its repr).
_HOLDS = {
    ("result", "dataset"): N_("The record holds a result, not a data set."),
    ("table", "dataset"): N_("The record holds a table, not a data set."),
    ("dataset", "result"): N_("The record holds a data set, not a result."),
    ("table", "result"): N_("The record holds a table, not a result."),
    ("dataset", "table"): N_("The record holds a data set, not a table."),
    ("result", "table"): N_("The record holds a result, not a table."),
    (None, "dataset"): N_("The record holds a {found}, not a data set."),
    (None, "result"): N_("The record holds a {found}, not a result."),
    (None, "table"): N_("The record holds a {found}, not a table."),
    (None, None): N_("The record holds a {found}, not a {word}."),
}


def _kind_error(key: str, kind: str, **params) -> CodecError:
    """The :data:`_BY_KIND` sentence ``key`` about a stored ``kind``."""
    templates = _BY_KIND[key]
    if kind in templates:
        return CodecError(templates[kind], **params)
    return CodecError(templates[None], word=kind, **params)


def _check_header(meta: Any, kind: str) -> None:
    if not isinstance(meta, dict):
        raise _kind_error("no_record", kind)
    version = meta.get("codec_version")
    if version != CODEC_VERSION:
        raise _kind_error("version", kind, version=version, current=CODEC_VERSION)
    if meta.get("kind") != kind:
        found = meta.get("kind")
        known = found if isinstance(found, str) and found in _WORDS else None
        if (known, kind) in _HOLDS:
            raise CodecError(_HOLDS[known, kind], found=repr(found))
        if kind in _WORDS:
            raise CodecError(_HOLDS[None, kind], found=repr(found))
        found = _WORDS[known] if known else repr(found)
        raise CodecError(_HOLDS[None, None], found=found, word=kind)


def _read_float(r: Reader, obj: dict, where: str) -> float:
    if obj.get("v") not in ("nan", "inf", "-inf"):
        raise CodecError(N_("{where}: bad non-finite float {value!r}."), where=where,
                         value=obj.get("v"))
    return float(obj["v"])


def _read_scalar(r: Reader, obj: dict, where: str) -> np.generic:
    try:
        if not isinstance(obj.get("dtype"), str):
            raise TypeError
        dtype = np.dtype(obj["dtype"])
    except TypeError:
        raise CodecError(N_("{where}: bad numpy dtype {dtype!r}."), where=where,
                         dtype=obj.get("dtype")) from None
    value = r.value(obj.get("v"), where)
    ok = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float), "U": (str,)}
    if dtype.kind not in ok or type(value) not in ok[dtype.kind]:
        raise CodecError(N_("{where}: {value!r} is not a numpy {dtype} scalar."), where=where,
                         value=value, dtype=str(dtype))
    try:
        return dtype.type(value)
    except (OverflowError, ValueError):
        raise CodecError(N_("{where}: {value!r} does not fit a numpy {dtype}."), where=where,
                         value=value, dtype=str(dtype)) from None


def _read_dict(r: Reader, obj: dict, where: str) -> dict:
    items = obj.get("v")
    if type(items) is not dict:
        raise CodecError(N_("{where}: a dict needs an object of items."), where=where)
    return {k: r.value(x, f"{where}[{k!r}]") for k, x in items.items()}


def _read_pairs(r: Reader, obj: dict, where: str) -> dict:
    pairs = obj.get("v")
    if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
        raise CodecError(N_("{where}: a dict needs a list of key-value pairs."), where=where)
    out = {}
    for k, x in pairs:
        key = r.value(k, where)
        if not (key is None or isinstance(key, (bool, int, float, str, np.generic))):
            raise CodecError(N_("{where}: a dict key cannot be a {type}."), where=where,
                             type=type(key).__name__)
        out[key] = r.value(x, f"{where}[{key!r}]")
    return out


def _read_objarray(r: Reader, obj: dict, where: str) -> np.ndarray:
    shape = obj.get("shape")
    if type(shape) is not list or not all(type(n) is int and n >= 0 for n in shape):
        raise CodecError(N_("{where}: bad array shape {shape!r}."), where=where, shape=shape)
    try:
        items = json.loads(r.blob(obj, where), parse_constant=no_constant)
    except (ValueError, RecursionError) as err:
        raise CodecError(N_("{where}: the array's JSON is damaged ({error})."), where=where,
                         error=str(err)) from None
    if type(items) is not list or len(items) != math.prod(shape):
        raise CodecError(N_("{where}: the array's items do not fill its shape {shape}."),
                         where=where, shape=str(shape))
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = r.value(x, f"{where}[{i}]")
    return out.reshape(shape)


def no_constant(token: str):
    """``json.loads``' ``parse_constant``: NaN and Infinity tokens are refused."""
    raise ValueError(f"{token} is not a JSON number")


def _read_numlist(r: Reader, obj: dict, where: str) -> list:
    arr = read_npy(r.blob(obj, where), where)
    if arr.ndim != 1 or arr.dtype not in (np.float64, np.int64):
        raise CodecError(N_("{where}: a list of numbers needs a 1-D float64 or int64 array."),
                         where=where)
    return arr.tolist()


def _read_sparse(r: Reader, obj: dict, where: str):
    import scipy.sparse

    name = obj.get("class")
    if name not in SPARSE:
        raise CodecError(N_("{where}: unknown sparse matrix class {name!r}."), where=where,
                         name=name)
    parts = [r.value(obj.get(k), where) for k in ("data", "indices", "indptr")]
    shape = obj.get("shape")
    if not all(isinstance(p, np.ndarray) and p.ndim == 1 for p in parts):
        raise CodecError(N_("{where}: a sparse matrix needs three 1-D arrays."), where=where)
    try:
        return getattr(scipy.sparse, name)(tuple(parts), shape=tuple(shape))
    except Exception as err:  # noqa: BLE001
        raise CodecError(N_("{where}: the sparse matrix is malformed ({error})."), where=where,
                         error=str(err)) from None


def _read_dataclass(r: Reader, obj: dict, where: str) -> Any:
    cls = allowed(DATACLASSES, obj.get("class"), where, "class")
    fields = r.value(obj.get("v"), where)
    if type(fields) is not dict:
        raise CodecError(N_("{where}: a {cls} needs its fields as a dict."), where=where,
                         cls=cls.__name__)
    try:
        out = cls(**fields)
    except TypeError as err:
        raise CodecError(N_("{where}: the fields do not make a {cls} ({error})."), where=where,
                         cls=cls.__name__, error=str(err)) from None
    return out


def _read_kernel(r: Reader, obj: dict, where: str):
    from clustering import kernels

    name = obj.get("name")
    if not isinstance(name, str) or name not in kernels.KERNELS:
        raise CodecError(N_("{where}: unknown kernel {name!r}."), where=where, name=name)
    return kernels.KERNELS[name]


def _read_message(r: Reader, obj: dict, where: str) -> Message:
    template = obj.get("template")
    params = r.value(obj.get("params"), f"{where}.params")
    if type(template) is not str or type(params) is not dict \
            or not all(type(k) is str for k in params):
        raise CodecError(N_("{where}: a message needs its template and its parameters."),
                         where=where)
    return Message(template, **params)


def _read_text(r: Reader, obj: dict, where: str) -> Text:
    message = r.value(obj.get("message"), f"{where}.message")
    if type(message) not in (Message, Joined):
        raise CodecError(N_("{where}: a message needs its template and its parameters."),
                         where=where)
    return Text(message)


def _read_joined(r: Reader, obj: dict, where: str) -> Joined:
    parts = r.value(obj.get("parts"), f"{where}.parts")
    if type(parts) is not list or type(obj.get("sep")) is not str \
            or type(obj.get("capitalize")) is not bool:
        raise CodecError(N_("{where}: joined messages need their parts, separator and case."),
                         where=where)
    return Joined(parts, obj["sep"], obj["capitalize"])


def _read_ref(r: Reader, obj: dict, where: str) -> Any:
    ident = obj.get("id")
    if type(ident) is not int or ident not in r._objects:
        raise CodecError(N_("{where}: refers to an object {ident!r} not read before it."),
                         where=where, ident=ident)
    return r._objects[ident]


def _read_frame(r: Reader, obj: dict, where: str) -> pd.DataFrame:
    from ui.codec_tables import decode_table

    return decode_table(r.blob(obj, where), where=where)


READERS: dict[str, Callable[[Reader, dict, str], Any]] = {
    "float": _read_float,
    "np": _read_scalar,
    "tuple": lambda r, o, w: tuple(r.value(_list_of(o, w), w)),
    "dict": _read_dict,
    "pairs": _read_pairs,
    "ndarray": lambda r, o, w: r.array(o, w),
    "objarray": _read_objarray,
    "numlist": _read_numlist,
    "frame": _read_frame,
    "bytes": lambda r, o, w: r.blob(o, w),
    "keras": lambda r, o, w: load_keras(r.blob(o, w), w),
    "estimator": lambda r, o, w: r.estimator(o, w),
    "ref": _read_ref,
    "dataclass": _read_dataclass,
    "kernel": _read_kernel,
    "sparse": _read_sparse,
    "message": _read_message,
    "joined": _read_joined,
    "text": _read_text,
}


def _list_of(obj: dict, where: str) -> list:
    if type(obj.get("v")) is not list:
        raise CodecError(N_("{where}: a tuple needs a list of items."), where=where)
    return obj["v"]


def guarded(kind: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, any error but a :class:`CodecError` turned into one (decoding reads untrusted
    data: a surprise is a damaged record, never a traceback)."""
    try:
        return fn()
    except CodecError:
        raise
    except RecursionError:
        raise _kind_error("deep", _KINDS.get(kind, kind)) from None
    except Exception as err:  # noqa: BLE001
        raise _kind_error("unreadable", _KINDS.get(kind, kind), type=type(err).__name__,
                          error=str(err)) from None


#: :func:`guarded`'s kinds (as its callers write them) by their :data:`_BY_KIND` keys.
_KINDS = {"data set": "dataset"}
