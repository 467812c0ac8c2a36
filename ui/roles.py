"""Column roles of a working table (ID, label, features), free of Streamlit: the article's preset,
the roles a data set was made with, and a first guess for a new table.

A roles mapping has the keys of :data:`ROLE_KEYS`, as :func:`clustering.tables.prepare` names them.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence

import pandas as pd

from clustering.i18n import _
from ui.datasource import EXAMPLE_FEATURES, example_prepare_options

ROLE_KEYS = ("id_column", "label_column", "feature_columns")
#: Lower-case column names read as the objects' ID.
ID_NAMES = ("id", "enterprise_id", "name", "object")


def table_key(table: Mapping[str, Any]) -> str:
    """Names a working table by where it came from (the example's path, an upload's SHA-256 and
    reading options), so that its roles are found again when the same table comes back."""
    return json.dumps(table["origin"], sort_keys=True, default=str)


def article_preset(frame: pd.DataFrame) -> Optional[dict]:
    """The article's roles (its five features, with the ID and label columns the example names)
    when ``frame`` has the five feature columns; else None."""
    columns = {str(c) for c in frame.columns}
    if not all(c in columns for c in EXAMPLE_FEATURES):
        return None
    options = example_prepare_options(frame)
    return {k: options[k] for k in ROLE_KEYS}


def _guess_id(frame: pd.DataFrame, numeric: Sequence[str]) -> Optional[str]:
    """A column named like an ID, else the first text column naming every row differently."""
    columns = [str(c) for c in frame.columns]
    named = next((c for c in columns if c.lower() in ID_NAMES or c.lower().endswith("_id")), None)
    if named is not None:
        return named
    return next((str(c) for c in frame.columns if str(c) not in numeric
                 and frame[c].notna().all() and frame[c].is_unique), None)


def guessed(frame: pd.DataFrame) -> dict:
    """First roles for a table: the article's preset when it applies, else the guessed ID column,
    no label and every other numeric column as a feature."""
    preset = article_preset(frame)
    if preset is not None:
        return preset
    numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    id_col = _guess_id(frame, numeric)
    return {"id_column": id_col, "label_column": None,
            "feature_columns": [c for c in numeric if c != id_col]}


def in_use(table: Mapping[str, Any], spec: Optional[Mapping[str, Any]]) -> Optional[dict]:
    """The roles the current data set (recipe ``spec``) was made with, when it was made from
    ``table`` as it is now (same origin, same aggregates); else None."""
    if not spec or "prepare" not in spec:
        return None
    origin = {k: v for k, v in spec.items() if k not in ("aggregations", "prepare")}
    same = (_plain(origin) == _plain(table["origin"])
            and _plain(spec.get("aggregations") or []) == _plain(table["aggregations"]))
    return {k: spec["prepare"].get(k) for k in ROLE_KEYS} if same else None


def _plain(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def fit(roles: Mapping[str, Any], columns: Sequence[str]) -> dict:
    """``roles`` restricted to ``columns``: an unknown ID or label column becomes None, unknown
    features and the ID and label columns leave the features."""
    id_col = roles.get("id_column") if roles.get("id_column") in columns else None
    label = roles.get("label_column")
    label = label if label in columns and label != id_col else None
    features = [c for c in roles.get("feature_columns") or []
                if c in columns and c not in (id_col, label)]
    return {"id_column": id_col, "label_column": label, "feature_columns": features}


def describe(roles: Mapping[str, Any]) -> str:
    """The roles in words, e.g. ``5 features (Phi11, ...), label planted_group``."""
    features = list(roles.get("feature_columns") or [])
    # Two messages, not ngettext: the Russian ("признаков: 5 (...)") needs no plural forms.
    words = (_("{n} feature ({names})") if len(features) == 1 else
             _("{n} features ({names})")).format(n=len(features), names=", ".join(features))
    if roles.get("label_column") is not None:
        words += _(", label {column}").format(column=roles["label_column"])
    if roles.get("id_column") is not None:
        words += _(", ID {column}").format(column=roles["id_column"])
    return words
