"""The article's "morphological box": additive aggregates inside groups, their product across groups.

The taxpayer example of "Neural network clustering methods to evaluate the totality of taxpayers
according to their degree of creditworthiness" (2017) groups its indicators and combines them in two
stages:

* each aggregate is the mean of its group's columns, e.g. Phi1 = (Phi11 + Phi13) / 2 and
  Phi2 = (Phi21 + Phi24) / 2 (optionally a weighted mean);
* the generalised criterion is the product of the aggregates, Phi = Phi1 * Phi2.

:func:`aggregate` does both for any groups of numeric columns.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering.errors import ConfigError, DataError
from clustering.i18n import N_

__all__ = ["aggregate", "TAXPAYER_GROUPS"]

#: The article's groups: profitability-type indicators and margin/growth indicators.
TAXPAYER_GROUPS: dict[str, list[str]] = {"Phi1": ["Phi11", "Phi13"], "Phi2": ["Phi21", "Phi24"]}


def _same_values(old: pd.Series, new: np.ndarray) -> bool:
    """Whether an existing column already holds ``new`` (recomputing it replaces nothing)."""
    if not pd.api.types.is_numeric_dtype(old):
        return False
    a = old.to_numpy(dtype=np.float64, na_value=np.nan)
    return bool(np.allclose(a, new, rtol=1e-9, atol=1e-12, equal_nan=True))


def aggregate(frame: pd.DataFrame, groups: Mapping[str, Sequence[str]], *,
              weights: Optional[Mapping[str, float]] = None, criterion: Optional[str] = "Phi",
              overwrite: bool = False) -> pd.DataFrame:
    """Add group means (aggregates) and their product (the criterion) to a table.

    Parameters
    ----------
    frame : DataFrame
        The table; the grouped columns must be numeric.
    groups : mapping of str to list of str
        Aggregate name -> the columns it averages, e.g. :data:`TAXPAYER_GROUPS`.
    weights : mapping of str to float, optional
        Column -> weight inside its group, greater than 0 as the article's (19) requires
        ("Ф, br >0, (19)"); columns not listed weigh 1. Each group's weights are normalised to
        sum 1, so the aggregate is a weighted mean. Default: plain means.
    criterion : str or None, default "Phi"
        Name of the product-of-aggregates column; None adds only the aggregates.
    overwrite : bool, default False
        Replace existing columns of the same names. Without it a name clash is refused, unless the
        existing column already holds the same values (recomputing an aggregate replaces nothing).

    Returns
    -------
    DataFrame
        A copy of ``frame`` with the aggregate columns, then the criterion, added (or replaced in
        place). A missing value in a group's column gives a missing aggregate in that row.

    Raises
    ------
    ConfigError
        Unknown or repeated columns, an empty group, bad weights, or a name clash.
    DataError
        A grouped column that is not numeric.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(N_("Expected a table (pandas DataFrame), got {type}."),
                        type=type(frame).__name__)
    plan, used = _check_groups(frame, groups)
    w = _check_weights(weights, used)
    names = [name for name, _ in plan] + ([] if criterion is None else [criterion])
    if criterion is not None:
        if not isinstance(criterion, str) or not criterion.strip():
            raise ConfigError(N_("criterion: expected a non-empty column name, got {value!r}."),
                              value=criterion)
        if criterion in groups:
            raise ConfigError(N_("criterion: {value!r} is also an aggregate's name; choose "
                                 "another name."), value=criterion)
    new_values = _aggregates(frame, plan, w, criterion)
    clashes = [n for n in names if n in frame.columns
               and not overwrite and not _same_values(frame[n], new_values[n])]
    if clashes:
        listed = ", ".join(repr(c) for c in clashes)
        if len(clashes) > 1:
            raise ConfigError(N_("The table already has columns {names} with other values: "
                                 "choose other names or allow overwriting (overwrite=True)."),
                              names=listed)
        raise ConfigError(N_("The table already has a column {names} with other values: "
                             "choose other names or allow overwriting (overwrite=True)."),
                          names=listed)
    out = frame.copy()
    for n in names:
        out[n] = new_values[n]
    return out


def _check_groups(frame: pd.DataFrame,
                  groups: Any) -> tuple[list[tuple[str, list[str]]], dict[str, str]]:
    """(aggregate name and its columns, in order; column -> its aggregate): every group named,
    non-empty, of distinct numeric columns of ``frame``, no column in two groups."""
    if not isinstance(groups, Mapping) or not groups:
        raise ConfigError("groups: expected at least one aggregate (name -> list of columns).")
    if frame.columns.has_duplicates:
        dups = ", ".join(repr(str(c)) for c in frame.columns[frame.columns.duplicated()].unique())
        raise DataError(N_("Duplicate column names: {names}. Give every column a different "
                           "name."), names=dups)
    available = ", ".join(repr(str(c)) for c in frame.columns)
    used: dict[str, str] = {}
    plan: list[tuple[str, list[str]]] = []
    for name, cols in groups.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(N_("groups: an aggregate needs a non-empty name, got {name!r}."),
                              name=name)
        if isinstance(cols, str) or not isinstance(cols, Sequence):
            raise ConfigError(N_("groups.{name}: expected a list of column names, got "
                                 "{value!r}."), name=name, value=cols)
        cols = list(cols)
        if not cols:
            raise ConfigError(N_("groups.{name}: the group is empty; choose at least one "
                                 "column."), name=name)
        for c in cols:
            if c not in frame.columns:
                raise ConfigError(N_("groups.{name}: no column named {column!r}. Available "
                                     "columns: {available}."), name=name, column=str(c),
                                  available=available)
            if c in used:
                if used[c] == name:
                    raise ConfigError(N_("groups.{name}: column {column!r} is twice in this "
                                         "group; a column belongs to one group once."),
                                      name=name, column=c)
                raise ConfigError(N_("groups.{name}: column {column!r} is also in {other!r}; a "
                                     "column belongs to one group once."),
                                  name=name, column=c, other=used[c])
            used[c] = name
            _check_numeric(frame[c], name, c)
        plan.append((name, cols))
    return plan, used


def _check_numeric(column: pd.Series, name: str, c: Any) -> None:
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        sample = column.dropna()
        if len(sample):
            raise DataError(N_("groups.{name}: column {column!r} is not numeric (e.g. "
                               "{example!r}); aggregates average numbers."),
                            name=name, column=c, example=str(sample.iloc[0]))
        raise DataError(N_("groups.{name}: column {column!r} is not numeric; aggregates average "
                           "numbers."), name=name, column=c)


def _check_weights(weights: Any, used: Mapping[str, str]) -> dict[str, float]:
    """Column -> weight: finite numbers greater than 0 ("Ф, br >0, (19)") of grouped columns."""
    w = {}
    if weights is not None:
        if not isinstance(weights, Mapping):
            raise ConfigError("weights: expected a mapping of column -> weight.")
        for c, v in weights.items():
            if c not in used:
                raise ConfigError(N_("weights.{column}: {name!r} is in no group; weights belong "
                                     "to the grouped columns ({names})."), column=c, name=str(c),
                                  names=", ".join(map(repr, used)))
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ConfigError(N_("weights.{column}: expected a finite number, got {value!r}."),
                                  column=c, value=v)
            if v <= 0:
                raise ConfigError(N_("weights.{column}: weights must be greater than 0 (formula "
                                     "19), got {value:g}."), column=c, value=v)
            w[c] = float(v)
    return w


def _aggregates(frame: pd.DataFrame, plan: list[tuple[str, list[str]]], w: Mapping[str, float],
                criterion: Optional[str]) -> dict[str, np.ndarray]:
    """Each aggregate's weighted mean of its columns and, under ``criterion``, their product."""
    product = None
    new_values: dict[str, np.ndarray] = {}
    for name, cols in plan:
        ws = np.array([w.get(c, 1.0) for c in cols])
        ws = ws / ws.sum()
        block = frame[cols].to_numpy(dtype=np.float64, na_value=np.nan)
        values = block @ ws
        new_values[name] = values
        product = values.copy() if product is None else product * values
    if criterion is not None:
        new_values[criterion] = product
    return new_values
