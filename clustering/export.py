"""Result tables for download and the command line, safe to open in a spreadsheet.

Every CSV the tool writes goes through :func:`csv_bytes`: text cells (and column names) that a
spreadsheet would read as a formula (they start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) get a leading apostrophe, the OWASP rule against CSV formula injection. Numbers stay numbers:
a negative value in a numeric column is not text and is written as is.

A CSV is written "in the same format as the input file" (:func:`csv_format`): a table read as
semicolon separated, with a decimal comma, in cp1251 is written back that way, so a Russian-locale
spreadsheet opens it in columns with readable Cyrillic; a UTF-8 table, a workbook and generated
data give UTF-8 with a byte-order mark (which every spreadsheet reads as UTF-8).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from clustering.i18n import Message, N_

#: Readable names and a hint for the quality figures the backend reports
#: (:func:`clustering.metrics.quality_report`), one plain meaning per row. No hint starts with a
#: formula prefix (:data:`FORMULA_PREFIXES`): it would be written with a guarding apostrophe.
METRIC_NOTES = {
    "n_clusters": (N_("clusters"), N_("number of clusters found (noise not counted)")),
    "noise": (N_("noise objects"), N_("objects in no cluster (label -1, as DBSCAN marks them)")),
    "ari": (N_("ARI"), N_("adjusted Rand index against the known labels (1 = identical, "
                          "0 = chance)")),
    "nmi": (N_("NMI"), N_("normalised mutual information with the known labels "
                          "(1 = identical)")),
    "silhouette": (N_("silhouette"), N_("from -1 to 1, higher = tighter, better separated "
                                        "clusters")),
    "theta": (N_("Θ (22) = Q1 (26)"), N_("sum of squared distances of the objects to their cluster's "
              "centre of gravity; smaller is better")),
    "normalised_variance_sum": (N_("Σ cluster variances (not the article's)"),
                                N_("sum over clusters of the mean squared distance to the centre "
                                "(each cluster's sum divided by its size); smaller is better")),
    "pairwise_within_distance": (N_("pairwise distances (27)"), N_("sum of the distances between "
                                 "objects of the same cluster; smaller is better")),
    "generalized_variance": (N_("generalised variance (29)"), N_("determinant of the pooled "
                             "within-cluster scatter matrix; smaller is better")),
    "log_generalized_variance_product": (N_("log multiplicative variance (31)"), N_("log of the "
                                         "product of the clusters' covariance determinants, "
                                         "each to the power of its size; smaller is better")),
}
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The encoding of a CSV whose input was UTF-8 (or UTF-16), a workbook or generated data, and of
#: one whose cells the input's code page cannot hold: UTF-8 with a byte-order mark.
UTF8_BOM = "utf-8-sig"
#: Suffix of an added column (cluster, probabilities...) whose name the input table already uses
#: for a different column (:func:`object_table`).
CLASH_SUFFIX = " (result)"
#: Suffix of the codebook's columns in the units the methods were trained on, by scaling.
SCALED_SUFFIX = {"standard": " (standardised)", "minmax": " (scaled to 0..1)"}


def neutralise_text(value):
    """``value`` with a leading apostrophe when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula."""
    out = frame.copy()
    out.columns = [neutralise_text(str(c)) if isinstance(c, str) else c for c in out.columns]
    for col in range(out.shape[1]):
        series = out.iloc[:, col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)  # its categories are text like any other
        elif not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        out.isetitem(col, series.map(neutralise_text, na_action="ignore").astype(object))
    if out.index.dtype == object or pd.api.types.is_string_dtype(out.index):
        out.index = out.index.map(neutralise_text)
    return out


# ----------------------------------------------------------------------------------- CSV format
@dataclass(frozen=True)
class CsvFormat:
    """How a CSV is written: text encoding, field delimiter and decimal separator."""

    encoding: str = UTF8_BOM
    delimiter: str = ","
    decimal: str = "."

    def describe(self) -> str:
        """In words, e.g. "cp1251, semicolon separated, decimal comma" (English; shown in the
        reader's language: :meth:`description`)."""
        return str(self.description())

    def description(self) -> Message:
        """:meth:`describe` as a message, translated where it is shown."""
        encoding = Message(N_("UTF-8 with BOM")) if self.encoding == UTF8_BOM else self.encoding
        separated = _SEPARATED.get(self.delimiter)
        delimiter = (Message(separated) if separated is not None else
                     Message(N_("{delimiter} separated"), delimiter=self.delimiter))
        decimal = Message(N_("decimal comma") if self.decimal == "," else N_("decimal point"))
        return Message(N_("{encoding}, {delimiter}, {decimal}"), encoding=encoding,
                       delimiter=delimiter, decimal=decimal)


#: "<delimiter> separated" for each delimiter the reader knows
#: (:data:`clustering.csv_reader.DELIMITER_NAMES`), one whole phrase each.
_SEPARATED = {",": N_("comma separated"), ";": N_("semicolon separated"),
              "\t": N_("tab separated")}


def _reading_info(source: Any) -> Mapping:
    """The reading notes ``attrs["csv"]`` of a table, or such notes given as they are."""
    if isinstance(source, pd.DataFrame):
        source = source.attrs.get("csv")
    if isinstance(source, Mapping) and isinstance(source.get("csv"), Mapping):
        source = source["csv"]
    return source if isinstance(source, Mapping) else {}


def csv_format(source: Any = None) -> CsvFormat:
    """The format to write results of a table in: "the same format as the input file".

    Parameters
    ----------
    source : DataFrame, mapping or None
        The input table as read (:func:`clustering.tables.read_csv` records how in
        ``attrs["csv"]``), or those reading notes themselves; None for generated data.

    Returns
    -------
    CsvFormat
        A text file read in a legacy code page (cp1251, cp1252, latin-1) is written in it, with
        its delimiter and decimal separator (a decimal comma only when the file had one); a UTF-8
        or UTF-16 file gets :data:`UTF8_BOM` with its delimiter and decimal separator; a workbook
        (notes with a ``format``), generated data or unknown notes get UTF-8 with a BOM, comma
        separated, decimal point.
    """
    info = _reading_info(source)
    encoding = str(info.get("encoding") or "").lower().replace("_", "-")
    if info.get("format") or not encoding:
        return CsvFormat()
    delimiter = info.get("delimiter") if info.get("delimiter") in (",", ";", "\t") else ","
    decimal = "," if info.get("decimal") == "," and delimiter != "," else "."
    if encoding.startswith(("utf", "ascii")):
        encoding = UTF8_BOM
    return CsvFormat(encoding, delimiter, decimal)


def csv_bytes(frame: pd.DataFrame, *, index: bool = False,
              fmt: Optional[CsvFormat] = None) -> bytes:
    """``frame`` as CSV in ``fmt`` (default: UTF-8 with a BOM, comma, decimal point), formula
    cells neutralised (see the module notes).

    A cell the format's code page cannot hold (e.g. a Chinese name in a cp1251 file) does not
    fail the download: the whole file is then written in :data:`UTF8_BOM` (same delimiter and
    decimal separator), which keeps every character and which spreadsheets recognise by the BOM.
    """
    fmt = CsvFormat() if fmt is None else fmt
    text = neutralise_formulas(frame).to_csv(index=index, sep=fmt.delimiter, decimal=fmt.decimal)
    try:
        return text.encode(fmt.encoding)
    except UnicodeEncodeError:
        return text.encode(UTF8_BOM)


# ----------------------------------------------------------------------------------- tables
def assignments_frame(ids: Sequence, labels: np.ndarray, proba: Optional[np.ndarray] = None,
                      *, extra: Optional[dict] = None) -> pd.DataFrame:
    """One row per object: ``id``, ``cluster``, then ``p_0 .. p_{K-1}`` and ``p_max`` when given.

    Parameters
    ----------
    ids : sequence, length N
        Object identifiers (written as text).
    labels : array (N,)
        Hard cluster of each object (-1 = noise, for DBSCAN-like methods).
    proba : array (N, K) or None
        Membership probabilities; rows sum to 1.
    extra : dict of name -> array (N,), optional
        Further columns appended in order (e.g. the true label, a SOM cell).
    """
    labels = np.asarray(labels).ravel()
    frame = pd.DataFrame({"id": [str(i) for i in ids], "cluster": labels.astype(int)})
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        for k in range(proba.shape[1]):
            frame[f"p_{k}"] = proba[:, k]
        frame["p_max"] = proba.max(axis=1) if proba.shape[1] else np.nan
    for name, values in (extra or {}).items():
        frame[name] = np.asarray(values).ravel()
    return frame


def true_labels(dataset) -> Optional[np.ndarray]:
    """The known class of each object of ``dataset``: its name where the classes have names,
    else its code; None without a label column."""
    labels = getattr(dataset, "labels", None)
    if labels is None:
        return None
    names = getattr(dataset, "label_names", None)
    if not names:
        return np.asarray(labels)
    return np.array([names[int(v)] if v >= 0 else None for v in labels], dtype=object)


def cluster_names(labels: np.ndarray, known: Sequence) -> dict[int, str]:
    """Each cluster's name: the known class more than half of its objects have (the rule of the
    figures' legends, :func:`clustering.plots_names.majority_classes`); "noise" for label -1. A
    cluster without such a class is left out (a cluster is not a class)."""
    from clustering.plots_names import majority_classes

    texts = [None if pd.isna(v) else str(v) for v in known]
    return {-1: "noise", **{k: str(v) for k, v in majority_classes(labels, texts).items()}}


def som_cell_columns(som) -> dict[str, np.ndarray]:
    """Each training object's cell on a fitted map (``bmu_``): ``som_unit`` (numbered row by row,
    as the codebook's ``unit``), ``som_row`` and ``som_col`` (from 0, as the codebook's)."""
    unit = np.asarray(som.bmu_, dtype=int).ravel()
    cols = int(som.cols_)
    return {"som_unit": unit, "som_row": unit // cols, "som_col": unit % cols}


def ensemble_columns(qbm) -> dict[str, np.ndarray]:
    """Each object's ``posterior`` (of its own cluster) and the ensemble's flags for it
    (``flags_``): ``flag`` and ``flag_reason``, several joined by "; ", empty when none."""
    labels = np.asarray(qbm.labels_, dtype=int)
    proba = np.asarray(qbm.proba_, dtype=float)
    flags: dict[int, list[str]] = {}
    reasons: dict[int, list[str]] = {}
    for row in qbm.flags_.itertuples(index=False):
        flags.setdefault(int(row.object), []).append(str(row.flag))
        reasons.setdefault(int(row.object), []).append(str(row.reason))
    n = len(labels)
    return {"posterior": proba[np.arange(n), labels],
            "flag": np.array(["; ".join(flags.get(i, [])) for i in range(n)], dtype=object),
            "flag_reason": np.array(["; ".join(reasons.get(i, [])) for i in range(n)],
                                    dtype=object)}


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    return len(a) == len(b) and a.astype(str).tolist() == b.astype(str).tolist()


def object_table(ids: Sequence, labels: np.ndarray, proba: Optional[np.ndarray] = None, *,
                 dataset=None, extra: Optional[dict] = None) -> pd.DataFrame:
    """Everything known of each object, one row each, for the labels download.

    Columns: ``id``, ``cluster``, ``cluster_name`` (the known class most of the cluster's
    objects have, :func:`cluster_names`; empty where none has a majority; only when ``dataset``
    has labels), ``p_0 .. p_{K-1}`` and ``p_max`` (with
    ``proba``), the ``extra`` columns (a map's :func:`som_cell_columns`, the ensemble's
    :func:`ensemble_columns`), ``true_label`` (:func:`true_labels`), then every column of the
    input table's kept rows as read (``dataset.frame``: id, sector, features in the file's
    units). The added columns come first; one whose name an input column also has gets the
    suffix :data:`CLASH_SUFFIX` (``cluster (result)``), unless the two hold the same values (the
    ID column named ``id``), which are then written once.
    """
    known = true_labels(dataset)
    names = {}
    if known is not None:
        names = cluster_names(labels, known)
    frame = assignments_frame(ids, labels, proba, extra=extra)
    if names:
        frame.insert(2, "cluster_name", [names.get(int(c)) for c in frame["cluster"]])
    if known is not None:
        frame["true_label"] = known
    source = getattr(dataset, "frame", None)
    if source is None or len(source) != len(frame):
        return frame
    source = source.reset_index(drop=True)
    same = [c for c in frame.columns if c in source.columns and _same_values(frame[c], source[c])]
    source = source.drop(columns=same)
    frame = frame.rename(columns={c: f"{c}{CLASH_SUFFIX}" for c in frame.columns
                                  if c in source.columns})
    return pd.concat([frame, source], axis=1)


def codebook_frame(som, feature_names: Sequence, scaler=None,
                   scaling: str = "standard") -> pd.DataFrame:
    """A fitted SOM's codebook: one row per unit with its lattice ``row``, ``col``, ``hits``.

    Units are numbered row by row, as in :mod:`clustering.som`. The weights live in the units
    the map was trained on; with the data set's ``scaler`` they are given twice: first in the
    input's units (``scaler.inverse_transform``, under the features' names, what an analyst
    compares with the table), then as trained, each name with the suffix of ``scaling``
    (:data:`SCALED_SUFFIX`: ``Phi (standardised)``, comparable across features). Without a
    scaler the weights are the input's units and appear once.
    """
    W = np.asarray(som.codebook_, dtype=float)
    W = W.reshape(-1, W.shape[-1])
    names = [str(f) for f in feature_names][: W.shape[1]]
    frame = pd.DataFrame(W if scaler is None else scaler.inverse_transform(W), columns=names)
    if scaler is not None:
        suffix = SCALED_SUFFIX.get(scaling, " (scaled)")
        frame = pd.concat([frame, pd.DataFrame(W, columns=[n + suffix for n in names])], axis=1)
    unit = np.arange(len(W))
    frame.insert(0, "unit", unit)
    frame.insert(1, "row", unit // int(som.cols_))
    frame.insert(2, "col", unit % int(som.cols_))
    frame["hits"] = np.asarray(som.hit_counts_).ravel()
    return frame


def metrics_frame(metrics: dict) -> pd.DataFrame:
    """The quality figures as a table: figure, value and a short hint each
    (:data:`METRIC_NOTES`)."""
    rows = []
    for key, value in metrics.items():
        name, hint = METRIC_NOTES.get(str(key).lower(), (str(key), ""))
        rows.append({"figure": name, "value": value, "meaning": hint})
    return pd.DataFrame(rows)
