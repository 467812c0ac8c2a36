"""The headers and words of the tables the app builds, as shown: one place for every column name
of the ensemble's tables, section 4's decisions, Compare and the SOM's object lists, and the
rule that shows a table's words in the visitor's language (:func:`shown_table`).

A table of the visitor's own data is shown as it is: only the app's tables pass through here
(``ui.widgets.table(..., app_table=True)``); downloads keep the English keys.
"""
from __future__ import annotations

import re

import pandas as pd

from clustering import i18n
from clustering.i18n import N_, _

__all__ = ["COLUMN_NAMES", "shown_name", "shown_word", "shown_table"]

#: A column key of the app's tables -> its header as shown (translated where shown).
COLUMN_NAMES = {
    # section 4 (clustering.decisions) and the object lists
    "cluster": N_("cluster"), "rank": N_("rank"), "size": N_("objects"), "share": N_("share"),
    "mean": N_("mean"), "ratio": N_("ratio to the base cluster"), "state": N_("state"),
    "recommendation": N_("recommendation"), "reason": N_("reason"), "rule": N_("rule"),
    "object": N_("object"), "flag": N_("flag"), "posterior": N_("posterior"),
    "article": N_("the article's rule"), "row": N_("row"),
    # the choice of M (clustering.ensemble_selection)
    "m": "M", "reliable_share": N_("reliable share"), "silhouette": N_("silhouette"),
    "theta_mean": N_("mean Θ"), "small_clusters": N_("small clusters"),
    "smallest": N_("smallest cluster"), "largest": N_("largest cluster"),
    "empty": N_("empty clusters"), "n_reliable": N_("reliable objects"),
    # networks, maps and the filter (tables 2, 3, 4, 5)
    "network": N_("network"), "replicate": N_("replicate"), "map": N_("map"),
    "name": N_("name"), "tau1": "τ1", "tau2": "τ2", "sigma0": "σ0", "eta0": "η0",
    "sigma_end": "σ(T)", "eta_end": "η(T)", "theta": "Θ (22)", "kept": N_("kept"),
    "cochran": N_("Cochran (33)"), "level": N_("Θ level"),
    "replicate_variance": N_("replicate variance"),
    "quantization_error": N_("quantization error"),
    "topographic_error": N_("topographic error"), "n_steps": N_("steps"),
    "epochs": N_("epochs"), "cell": N_("cell"), "d_cell": N_("distance to the cell's centre"),
    "d_cluster": N_("distance to the cluster's centre"), "agreement": N_("agreement"),
    "mean_posterior": N_("mean posterior"), "probability": N_("probability"),
    "score": N_("score"), "method": N_("method"), "seconds": N_("seconds"),
    "objects": N_("objects"), "unit": N_("unit"), "col": N_("column"),
}
_REPLICATE = re.compile(r"theta_u(\d+)")


def shown_name(key) -> str:
    """The header of the column ``key`` in the current language (a key the app does not name,
    e.g. ``p_0`` or a column of the visitor's table, as it is)."""
    text = str(key)
    if text in COLUMN_NAMES:
        return _(COLUMN_NAMES[text]) if COLUMN_NAMES[text] else text
    match = _REPLICATE.fullmatch(text)
    if match:
        return _("Θ, replicate {u}").format(u=match.group(1))
    return text


def shown_word(value):
    """A cell of an app table in the current language: a sentence kept with its message
    (:class:`~clustering.i18n.Text`), a word of the catalog (``"kept"``), else as it is."""
    if isinstance(value, i18n.Text):
        return i18n.text(value)
    if isinstance(value, str) and value:
        return _(value)
    return value


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as shown: its headers by :func:`shown_name` (the index's name too) and its
    text cells by the catalog; numbers untouched."""
    out = table.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = pd.Series([shown_word(v) for v in out[col]], index=out.index,
                                 dtype=object)
    out = out.rename(columns={c: shown_name(c) for c in out.columns})
    if out.index.name is not None:
        out.index.name = shown_name(out.index.name)
    return out
