"""Declarative parameter checks: one place that says what each parameter may be.

Every estimator declares ``_parameter_constraints`` as scikit-learn's own estimators do: a dict
from a parameter's name to a list of constraints, any one of which the value must satisfy. The
constraints are scikit-learn's classes (:class:`Interval`, :class:`StrOptions`, :class:`Options`),
plus the strings ``"boolean"``, ``"random_state"``, ``"array-like"`` (a list or an array, such as
given initial weights) and ``None``, plus :class:`Items` for a tuple of values (for instance the
units of the hidden layers).

:func:`check_params` checks an estimator's parameters against them and returns the normalised
values (an integral float such as 3.0, as a JSON file or a number widget gives it, becomes 3; a
list becomes a tuple); :func:`check_value` checks one value, for the run configuration's schema;
:func:`field_spec` turns a constraint list into the bounds a form draws. scikit-learn's own
checker (``BaseEstimator._validate_params``) is not used because its messages name the class
and its internal types ("an int in the range [1, inf)"), where an analyst reads
"n_clusters: must be at least 1, got 0", and because it refuses 3.0 for an integer, which a
number widget and JSON give.

A refused value gets one of three messages: a value of the right kind out of its range names the
bound it broke ("n_samples: must be at most 1000000, got 1000000000."; a lower bound of 0 of a
real number reads "cannot be negative" when 0 is allowed, "must be positive" when it is not, and
an interval open at both ends "must be strictly between 0 and 1"); a non-finite number reads
"expected a finite number"; any other value names everything allowed ("shuffle: expected true
or false, got 'yes'."). :func:`check_value` may name what the value is (``what="the standard
deviation of the noise"``), which the range message then starts with.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from .errors import ConfigError
from .i18n import Message, N_

__all__ = ["Interval", "Options", "StrOptions", "Items", "FieldSpec", "check_params",
           "check_value", "field_spec", "describe"]


class Items:
    """A tuple of values, each satisfying ``item`` (a constraint), of ``min_len``..``max_len``."""

    def __init__(self, item: Any, min_len: int = 0, max_len: Optional[int] = None):
        self.item = item
        self.min_len = min_len
        self.max_len = max_len

    def __repr__(self):
        return f"Items({self.item!r}, {self.min_len}, {self.max_len})"


@dataclass(frozen=True)
class FieldSpec:
    """What a form needs to draw one parameter's input.

    ``kind`` is ``"int"``, ``"float"``, ``"bool"``, ``"option"``, ``"items"`` or ``"other"``;
    ``low``/``high`` are the interval's ends (None: unbounded) and ``low_closed``/``high_closed``
    whether they are allowed; ``options`` the choices of an option; ``nullable`` whether None
    (the default or "automatic") is allowed.
    """

    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    low_closed: bool = True
    high_closed: bool = True
    options: tuple = ()
    nullable: bool = False


_MISSING = object()


def _integral(value: Any) -> Any:
    """``value`` as an int when it is a whole number (3, 3.0, np.int64(3)); else _MISSING."""
    if isinstance(value, (bool, np.bool_)):
        return _MISSING
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)) \
            and float(value).is_integer():
        return int(value)
    return _MISSING


def _real(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return _MISSING
    value = float(value)
    return value if math.isfinite(value) else _MISSING


def _in_interval(interval: Interval, value: float) -> bool:
    if interval.left is not None:
        if value < interval.left or (interval.closed in ("right", "neither")
                                     and value == interval.left):
            return False
    if interval.right is not None:
        if value > interval.right or (interval.closed in ("left", "neither")
                                      and value == interval.right):
            return False
    return True


def _is_int_interval(interval: Interval) -> bool:
    return interval.type is numbers.Integral or interval.type is int


def _satisfy(constraint: Any, value: Any) -> Any:
    """The normalised value when ``value`` satisfies ``constraint``; else _MISSING."""
    if constraint is None:
        return None if value is None else _MISSING
    if constraint == "boolean":
        return bool(value) if isinstance(value, (bool, np.bool_)) else _MISSING
    if constraint == "random_state":
        if value is None or isinstance(value, np.random.RandomState):
            return value
        number = _integral(value)
        return number if number is not _MISSING and 0 <= number < 2 ** 32 else _MISSING
    if isinstance(constraint, Interval):
        number = _integral(value) if _is_int_interval(constraint) else _real(value)
        if number is _MISSING or not _in_interval(constraint, number):
            return _MISSING
        return number
    if isinstance(constraint, (StrOptions, Options)):
        if isinstance(constraint, StrOptions) and not isinstance(value, str):
            return _MISSING
        try:
            return value if value in constraint.options else _MISSING
        except TypeError:  # an unhashable value is no option
            return _MISSING
    if isinstance(constraint, Items):
        return _satisfy_items(constraint, value)
    if isinstance(constraint, type):
        return value if isinstance(value, constraint) else _MISSING
    if constraint == "callable":
        return value if callable(value) else _MISSING
    if constraint == "array-like":
        return value if isinstance(value, (list, tuple, np.ndarray)) else _MISSING
    raise TypeError(f"unknown constraint {constraint!r}")


def _satisfy_items(constraint: Items, value: Any) -> Any:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        return _MISSING
    items = list(value)
    if len(items) < constraint.min_len or (constraint.max_len is not None
                                           and len(items) > constraint.max_len):
        return _MISSING
    out = [_satisfy(constraint.item, item) for item in items]
    return _MISSING if any(v is _MISSING for v in out) else tuple(out)


class _G(float):
    """A real bound shown as ``%g`` writes it (``1e-05``, ``0.5``) while it stays a number, so
    that a message writes it as the language does (a decimal comma in Russian)."""

    def __format__(self, spec: str) -> str:
        return float.__format__(self, spec or "g")


def _number_text(value: float) -> Any:
    """A bound as a message parameter: a real one as ``%g`` writes it, a whole one as it is."""
    return _G(value) if isinstance(value, float) else value


#: What an interval allows, by (whole numbers?, which ends it has and whether they are allowed).
_INTERVALS = {
    (True, "both"): N_("a whole number between {low} and {high}"),
    (False, "both"): N_("a number between {low} and {high}"),
    (True, "neither"): N_("a whole number strictly between {low} and {high}"),
    (False, "neither"): N_("a number strictly between {low} and {high}"),
    (True, "left"): N_("a whole number of at least {low} and below {high}"),
    (False, "left"): N_("a number of at least {low} and below {high}"),
    (True, "right"): N_("a whole number above {low} and at most {high}"),
    (False, "right"): N_("a number above {low} and at most {high}"),
    (True, "low"): N_("a whole number of at least {low}"),
    (False, "low"): N_("a number of at least {low}"),
    (True, "above"): N_("a whole number above {low}"),
    (False, "above"): N_("a number above {low}"),
    (True, "high"): N_("a whole number at most {high}"),
    (False, "high"): N_("a number at most {high}"),
    (True, "below"): N_("a whole number below {high}"),
    (False, "below"): N_("a number below {high}"),
    (True, "any"): N_("a whole number"),
    (False, "any"): N_("a number"),
}


def _describe_interval(interval: Interval) -> Message:
    left, right = interval.left, interval.right
    if left is not None and right is not None:
        shape = interval.closed
    elif left is not None:
        shape = "low" if interval.closed in ("left", "both") else "above"
    elif right is not None:
        shape = "high" if interval.closed in ("right", "both") else "below"
    else:
        shape = "any"
    return Message(_INTERVALS[_is_int_interval(interval), shape],
                   low=_number_text(left), high=_number_text(right))


def _describe_one(constraint: Any) -> Any:
    if constraint is None:
        return Message(N_("None (automatic)"))
    if constraint == "boolean":
        return Message(N_("true or false"))
    if constraint == "random_state":
        return Message(N_("a whole-number seed from 0 to 2**32 - 1 or None"))
    if constraint == "callable":
        return Message(N_("a function"))
    if constraint == "array-like":
        return Message(N_("an array of numbers"))
    if isinstance(constraint, Interval):
        return _describe_interval(constraint)
    if isinstance(constraint, (StrOptions, Options)):
        return Message(N_("one of {options}"),
                       options=", ".join(sorted(repr(o) for o in constraint.options)))
    if isinstance(constraint, Items):
        each = _describe_one(constraint.item)
        if constraint.max_len is None:
            return Message(N_("a list of {low} or more values, each {each}"),
                           low=constraint.min_len, each=each)
        return Message(N_("a list of {low} to {high} values, each {each}"),
                       low=constraint.min_len, high=constraint.max_len, each=each)
    if isinstance(constraint, type):
        return Message(N_("a {type}"), type=constraint.__name__)
    return str(constraint)


def describe(constraints: list) -> Any:
    """What the constraint list allows, in words ("a whole number of at least 1 or None"): a
    :class:`~clustering.i18n.Message` (``str()`` of it is the English)."""
    out: Any = ""
    for i, constraint in enumerate(constraints):
        part = _describe_one(constraint)
        out = part if i == 0 else Message(N_("{first} or {second}"), first=out, second=part)
    return out


def check_value(name: str, value: Any, constraints: list, what: Optional[str] = None) -> Any:
    """Check ``value`` of the parameter ``name`` against ``constraints``; return it normalised.

    ``what`` names the value in the message of a value out of its range ("noise: the standard
    deviation of the noise cannot be negative, got -0.1.").

    Raises
    ------
    ConfigError
        Naming the parameter, what it may be and what it was given.
    """
    for constraint in constraints:
        normalised = _satisfy(constraint, value)
        if normalised is not _MISSING:
            return normalised
    _refuse_item(name, value, constraints)
    _refuse_range(name, value, constraints, what)
    if _real(value) is _MISSING and isinstance(value, numbers.Real) \
            and not isinstance(value, (bool, np.bool_)) \
            and any(isinstance(c, Interval) for c in constraints):
        raise ConfigError(N_("{name}: expected a finite number, got {value!r}."), name=name,
                          value=value)
    raise ConfigError(N_("{name}: expected {allowed}, got {value!r}."), name=name,
                      allowed=describe(constraints), value=value)


def _ranges(constraints: list) -> list:
    """The intervals of a constraint list; the seed's range counts as one."""
    out = [c for c in constraints if isinstance(c, Interval)]
    if "random_state" in [c for c in constraints if isinstance(c, str)]:
        out.append(Interval(numbers.Integral, 0, 2 ** 32 - 1, closed="both"))
    return out


def _refuse_range(name: str, value: Any, constraints: list, what: Optional[str]) -> None:
    """Name the broken bound when ``value`` is of the kind of exactly one interval."""
    fitting = [c for c in _ranges(constraints)
               if (_integral(value) if _is_int_interval(c) else _real(value)) is not _MISSING]
    if len(fitting) != 1:
        return
    broken = _broken_bound(fitting[0], float(value))
    if broken is not None:
        plain, named = _BROKEN[broken[0]]
        if what:
            raise ConfigError(named, name=name, what=what, value=value, **broken[1])
        raise ConfigError(plain, name=name, value=value, **broken[1])


#: The message of each broken bound: (without, with what the value is).
_BROKEN = {
    "between": (N_("{name}: must be strictly between {low} and {high}, got {value!r}."),
                N_("{name}: {what} must be strictly between {low} and {high}, got {value!r}.")),
    "negative": (N_("{name}: cannot be negative, got {value!r}."),
                 N_("{name}: {what} cannot be negative, got {value!r}.")),
    "positive": (N_("{name}: must be positive, got {value!r}."),
                 N_("{name}: {what} must be positive, got {value!r}.")),
    "at least": (N_("{name}: must be at least {low}, got {value!r}."),
                 N_("{name}: {what} must be at least {low}, got {value!r}.")),
    "above": (N_("{name}: must be above {low}, got {value!r}."),
              N_("{name}: {what} must be above {low}, got {value!r}.")),
    "at most": (N_("{name}: must be at most {high}, got {value!r}."),
                N_("{name}: {what} must be at most {high}, got {value!r}.")),
    "below": (N_("{name}: must be below {high}, got {value!r}."),
              N_("{name}: {what} must be below {high}, got {value!r}.")),
}


def _broken_bound(interval: Interval, value: float) -> Optional[tuple]:
    """The bound ``value`` breaks, as a key of :data:`_BROKEN` and the bounds it names."""
    left, right, closed = interval.left, interval.right, interval.closed
    if left is not None and right is not None and closed == "neither":
        return "between", {"low": _number_text(left), "high": _number_text(right)}
    low_closed, high_closed = closed in ("left", "both"), closed in ("right", "both")
    if left is not None and (value < left or (value == left and not low_closed)):
        if left == 0 and not _is_int_interval(interval):
            return ("negative" if low_closed else "positive"), {}
        return ("at least" if low_closed else "above"), {"low": _number_text(left)}
    if right is not None and (value > right or (value == right and not high_closed)):
        return ("at most" if high_closed else "below"), {"high": _number_text(right)}
    return None


def _refuse_item(name: str, value: Any, constraints: list) -> None:
    """Name the first bad item ("hidden_layers[1]: ...") when only an item of a list is wrong."""
    lists = [c for c in constraints if isinstance(c, Items)]
    if len(lists) != 1 or isinstance(value, (str, bytes, Mapping)) \
            or not isinstance(value, (list, tuple)):
        return
    for i, item in enumerate(value):
        if _satisfy(lists[0].item, item) is _MISSING:
            check_value(f"{name}[{i}]", item, [lists[0].item])


def check_params(estimator: Any, constraints: Optional[Mapping[str, list]] = None) -> dict:
    """Check every declared parameter of ``estimator``; return the normalised values.

    The estimator's attributes are left as they are (scikit-learn's rule that ``fit`` does not
    change the parameters); ``fit`` reads the returned dict. Parameters without a declared
    constraint are not checked here.
    """
    if constraints is None:
        constraints = type(estimator)._parameter_constraints
    params = estimator.get_params(deep=False)
    return {name: check_value(name, params[name], allowed)
            for name, allowed in constraints.items() if name in params}


def field_spec(constraints: list) -> FieldSpec:
    """The bounds a form draws for one parameter, from its constraint list."""
    nullable = any(c is None for c in constraints)
    for constraint in constraints:
        if isinstance(constraint, Interval):
            return FieldSpec("int" if _is_int_interval(constraint) else "float",
                             constraint.left, constraint.right,
                             constraint.closed in ("left", "both"),
                             constraint.closed in ("right", "both"), (), nullable)
        if isinstance(constraint, (StrOptions, Options)):
            return FieldSpec("option", options=tuple(sorted(constraint.options, key=str)),
                             nullable=nullable)
        if constraint == "boolean":
            return FieldSpec("bool", nullable=nullable)
        if constraint == "random_state":
            return FieldSpec("int", 0, 2 ** 32 - 1, nullable=nullable)
        if isinstance(constraint, Items):
            return FieldSpec("items", nullable=nullable)
    return FieldSpec("other", nullable=nullable)
