"""What a record may name: the app's estimator classes, dataclasses, kernels and sparse matrices.

A record names a class by its name only; :func:`allowed` looks the name up in one of these tables
and loads the class from the app's own modules (classes load only when a record names them).
Nothing named by a record is ever imported: a name outside the tables is refused.
"""
from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

from clustering.i18n import N_
from ui.codec_formats import CodecError

__all__ = ["estimator_loaders", "DATACLASSES", "SPARSE", "allowed", "is_keras_model",
           "is_kernel", "check_attribute"]


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
def estimator_loaders() -> dict[str, Callable[[], type]]:
    """Allowed estimator classes by name (classes load only when a record names them)."""
    from clustering import config as cfg

    out = {name: _load(module, name) for module, name in cfg.ESTIMATORS.values()}
    for name in ("StandardScaler", "MinMaxScaler"):
        out[name] = _load("sklearn.preprocessing", name)
    for name, cls in _classic_classes().items():
        out[name] = (lambda c=cls: c)
    return out


#: Allowed dataclasses by name.
DATACLASSES = {
    "ScalePlan": _load("clustering.neural", "ScalePlan"),
    "ClassicResult": _load("clustering.classic", "ClassicResult"),
    "RunConfig": _load("clustering.config", "RunConfig"),
    "ComparisonConfig": _load("clustering.config", "ComparisonConfig"),
}
SPARSE = ("csr_matrix", "csc_matrix", "csr_array", "csc_array")


def allowed(table: dict, name: Any, where: str, what: str) -> type:
    """The class called ``name`` in ``table`` (loaded now); else a CodecError naming ``where``."""
    if not isinstance(name, str) or name not in table:
        template = _UNKNOWN.get(what)
        if template is None:
            raise CodecError(N_("{where}: unknown {what} {name!r}; a record names only the app's "
                                "own {what}es."), where=where, what=what, name=name)
        raise CodecError(template, where=where, name=name)
    return table[name]()


#: :func:`allowed`'s sentences by what it looks up (whole sentences, for the catalogs).
_UNKNOWN = {
    "estimator class": N_("{where}: unknown estimator class {name!r}; a record names only the "
                          "app's own estimator classes."),
    "class": N_("{where}: unknown class {name!r}; a record names only the app's own classes."),
}


def is_keras_model(value: Any) -> bool:
    """Whether ``value`` is a Keras model (told without importing Keras)."""
    return type(value).__module__.startswith("keras") and hasattr(value, "save")


def is_kernel(value: Any) -> bool:
    """Whether ``value`` is a proximity kernel of :mod:`clustering.kernels`."""
    return type(value).__name__ == "Kernel" and type(value).__module__ == "clustering.kernels"


def check_attribute(cls: type, key: Any, where: str) -> None:
    """Refuse a state entry that is not a plain attribute name or would hide a method."""
    import inspect

    found = inspect.getattr_static(cls, key, None) if isinstance(key, str) else None
    if not isinstance(key, str) or not key.isidentifier() or key.startswith("__") \
            or callable(found) or isinstance(found, (property, classmethod, staticmethod)):
        raise CodecError(N_("{where}: {key!r} is not a data attribute of {cls}."), where=where,
                         key=key, cls=cls.__name__)
