"""The headline of a result: a few figures in plain words and a verdict when the partition is poor.

:func:`build` (no Streamlit) turns a partition's labels, quality figures and probabilities into a
:class:`Headline`; :func:`draw` shows it; :func:`compare_verdicts` says the same of each method of
a comparison. The thresholds are declared once here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Optional

import numpy as np

from clustering.i18n import _, fmt

if TYPE_CHECKING:
    import pandas as pd

#: An object is reliable when its largest probability is at least this.
RELIABLE_P = 0.9
#: Below this agreement with the known labels (ARI) a partition is poor.
POOR_ARI = 0.5
#: Below this silhouette the clusters are not separated: the partition is poor.
POOR_SILHOUETTE = 0.25
#: From this silhouette on the clusters are clearly separated.
CLEAR_SILHOUETTE = 0.5


@dataclass(frozen=True)
class Figure:
    """One headline figure: what it is, its value as shown, what it means."""

    label: str
    value: str
    meaning: str


@dataclass
class Headline:
    """The figures of a result and, when it is poor, why (``verdict``)."""

    figures: list = field(default_factory=list)
    verdict: Optional[str] = None

    @property
    def poor(self) -> bool:
        return self.verdict is not None


def _number(metrics: Mapping, key: str) -> Optional[float]:
    value = metrics.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def sizes_figure(labels: np.ndarray, n_clusters: Optional[int] = None) -> Figure:
    """Objects per cluster ("20 / 20 / 20", clusters 0, 1, ... in order), noise and empty
    clusters said in the meaning."""
    labels = np.asarray(labels).astype(int)
    kept = labels[labels >= 0]
    k = max(int(n_clusters or 0), int(kept.max()) + 1 if kept.size else 0)
    counts = np.bincount(kept, minlength=k) if k else np.zeros(0, int)
    notes = [_("objects per cluster, clusters 0 to {last} in order").format(last=k - 1) if k > 1
             else _("objects in the one cluster")]
    empty = int(np.sum(counts == 0))
    if empty:
        notes.append(_("{empty} of {k} clusters empty").format(empty=empty, k=k))
    noise = int(np.sum(labels < 0))
    if noise:
        notes.append(_("{noise} objects in no cluster (noise)").format(noise=noise))
    return Figure(_("Cluster sizes"), " / ".join(str(int(c)) for c in counts) or _("none"),
                  "; ".join(notes) + ".")


def silhouette_figure(silhouette: Optional[float]) -> Figure:
    """The silhouette with its reading (clear, weak or no separation)."""
    if silhouette is None:
        return Figure(_("Silhouette"), _("not defined"),
                      _("needs at least 2 clusters with objects."))
    word = (_("clearly separated") if silhouette >= CLEAR_SILHOUETTE else
            _("weakly separated") if silhouette >= POOR_SILHOUETTE else _("not separated"))
    return Figure(_("Silhouette"), fmt(silhouette, ".2f"),
                  _("-1 to 1, how far each object is from the other clusters compared with its "
                    "own: {word} (from {clear} clear, below {poor} no real structure).").format(
                      word=word, clear=fmt(CLEAR_SILHOUETTE, "g"), poor=fmt(POOR_SILHOUETTE, "g")))


def ari_figure(ari: float) -> Figure:
    """The agreement with the known labels."""
    return Figure(_("Agreement with the labels (ARI)"), fmt(ari, ".2f"),
                  _("1 = the same grouping as the known labels, 0 = no better than chance."))


def reliable_figure(proba: np.ndarray, threshold: float = RELIABLE_P) -> Figure:
    """The share of objects whose largest probability is at least ``threshold``."""
    top = np.asarray(proba, dtype=float).max(axis=1)
    n = int(np.sum(top >= threshold))
    return Figure(_("Reliable objects"), fmt(n / max(top.size, 1), ".0%"),
                  _("{n} of {total} objects have a largest probability of at least "
                    "{threshold}; the others lie between clusters.").format(
                      n=n, total=top.size, threshold=fmt(threshold, "g")))


def poor_reasons(metrics: Mapping) -> list[str]:
    """Why a partition is poor, one clause each ([] when it is not)."""
    reasons = []
    ari, sil = _number(metrics, "ari"), _number(metrics, "silhouette")
    if ari is not None and ari < POOR_ARI:
        reasons.append(_("it agrees little with the known labels (ARI {ari}, below "
                         "{poor})").format(ari=fmt(ari, ".2f"), poor=fmt(POOR_ARI, "g")))
    if sil is None and _number(metrics, "n_clusters") is not None \
            and _number(metrics, "n_clusters") < 2:
        reasons.append(_("it has fewer than 2 clusters"))
    elif sil is not None and sil < POOR_SILHOUETTE:
        reasons.append(_("its clusters are not separated (silhouette {silhouette}, below "
                         "{poor})").format(silhouette=fmt(sil, ".2f"),
                                           poor=fmt(POOR_SILHOUETTE, "g")))
    return reasons


def build(labels: np.ndarray, metrics: Mapping, proba: Optional[np.ndarray] = None, *,
          reliable_at: float = RELIABLE_P) -> Headline:
    """The headline of a partition: cluster sizes, silhouette, ARI (when ``metrics`` has it:
    the data has labels), the reliable share (with ``proba``), and a verdict when poor."""
    n_clusters = None if proba is None else np.asarray(proba).shape[1]
    figures = [sizes_figure(labels, n_clusters),
               silhouette_figure(_number(metrics, "silhouette"))]
    ari = _number(metrics, "ari")
    if ari is not None:
        figures.append(ari_figure(ari))
    if proba is not None:
        figures.append(reliable_figure(proba, reliable_at))
    reasons = poor_reasons(metrics)
    verdict = None
    if reasons:
        verdict = _("This partition is poor: {reasons}. Try another K ('Suggest K'), other "
                    "settings or another method.").format(reasons="; ".join(reasons))
    return Headline(figures, verdict)


def compare_verdicts(table) -> dict[str, str]:
    """Each compared method that is poor (the comparison table's rows: ``ari``,
    ``silhouette``) and why: method -> sentence."""
    out = {}
    for method, row in table.iterrows():
        reasons = poor_reasons(row.to_dict())
        if reasons:
            out[str(method)] = _("{method} is poor: {reasons}.").format(
                method=method, reasons="; ".join(reasons))
    return out


def draw(headline: Headline) -> None:
    """The figures side by side, each with its meaning, and the verdict under them."""
    import streamlit as st

    from ui.widgets import md_escape

    cols = st.columns(len(headline.figures) or 1)
    for col, fig in zip(cols, headline.figures):
        col.metric(fig.label, fig.value)
        col.caption(md_escape(fig.meaning))
    if headline.verdict:
        st.warning(md_escape(headline.verdict), icon=":material/warning:")


#: Quality figures that count objects or clusters: shown as whole numbers.
COUNTS = ("n_clusters", "noise", "clusters found", "noise points")
#: The columns a comparison shows first, in this order (``ari`` only when the data has labels).
COMPARE_FIRST = ("n_clusters", "ari", "silhouette", "seconds")
#: Columns of older comparisons that repeat one of the quality figures.
REPEATED = {"clusters found": "n_clusters", "noise points": "noise"}


def shown_value(key: str, value) -> str:
    """A quality figure as text: a count as a whole number, NaN as "not defined", others to 4
    significant digits."""
    value = float(value)
    if math.isnan(value):
        return _("not defined")
    if key in COUNTS and value.is_integer():
        return str(int(value))
    return fmt(value, ".4g")


def readable(key: str) -> tuple[str, str]:
    """A quality figure's name and meaning as shown (:data:`METRIC_NOTES
    <clustering.export.METRIC_NOTES>`; the key in words and a note when it has none)."""
    from clustering.export import METRIC_NOTES

    name, meaning = METRIC_NOTES.get(str(key).lower(), (str(key).replace("_", " "), ""))
    # the notes are marked for the catalogs where they are declared; "" is never looked up
    # (gettext's "" is the catalog's header)
    return (_(name) if name else name), (_(meaning) if meaning
                                         else _("no description for this figure"))


def metrics_display(metrics: Mapping) -> "pd.DataFrame":
    """The quality figures as shown: readable ``figure`` names (:data:`METRIC_NOTES
    <clustering.export.METRIC_NOTES>`), ``value`` as text (:func:`shown_value`) and a
    ``meaning`` for every row."""
    import pandas as pd

    rows = []
    for key, value in metrics.items():
        name, meaning = readable(key)
        rows.append((name, shown_value(str(key).lower(), value), meaning))
    # the headers as shown (a table on the page, not a file)
    return pd.DataFrame(rows, columns=[_("figure"), _("value"), _("meaning")])


def comparison_order(table) -> "pd.DataFrame":
    """A comparison's table (one row per method) with clusters, ARI, silhouette and seconds
    first (:data:`COMPARE_FIRST`), the columns of older comparisons that repeat a quality figure
    (:data:`REPEATED`) dropped or renamed, and ARI dropped when no method has one."""
    table = table.drop(columns=[c for c, same in REPEATED.items()
                                if c in table.columns and same in table.columns])
    table = table.rename(columns={c: same for c, same in REPEATED.items()
                                  if c in table.columns})
    if "ari" in table.columns and table["ari"].isna().all():
        table = table.drop(columns=["ari"])
    first = [c for c in COMPARE_FIRST if c in table.columns]
    return table[first + [c for c in table.columns if c not in first]]


def comparison_display(table) -> "pd.DataFrame":
    """:func:`comparison_order` with the columns named readably (``method`` stays the index)."""
    table = comparison_order(table)
    table = table.rename(columns={c: _("seconds") if c == "seconds" else readable(c)[0]
                                  for c in table.columns})
    table.index.name = _("method")
    return table
