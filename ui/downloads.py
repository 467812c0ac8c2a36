"""The download buttons of every result, as bytes (no Streamlit).

Every CSV is written by :func:`ui.result_files.table_csv` in the format of the data's table
(:func:`clustering.export.csv_format`: a semicolon / decimal comma / cp1251 table gets its results
that way, a UTF-8 one, a workbook or generated data UTF-8 with a byte-order mark); the Excel files
hold the same columns.

:func:`result_downloads` gives ``(label, data, file_name, mime)`` for each file a result offers
(``data`` None: not available, the button is left out); :func:`download_rows` groups them in the
rows the pages draw (the ensemble has three). The pages hand them to ``ui.widgets.downloads``; a
stored run (:mod:`ui.codec`) builds the same bytes again. :func:`download_help` gives a button's
help: how to load the ``.keras`` model, the format a CSV is written in.
"""
from __future__ import annotations

import codecs
import dataclasses
import io
import re
import zipfile
from typing import Optional

import pandas as pd

from clustering import i18n, registry
from clustering.export import metrics_frame, neutralise_formulas
from clustering.i18n import N_, _
from ui import runs

#: One download: label, bytes (None: not available), file name, MIME type.
Download = tuple[str, Optional[bytes], str, str]
CSV, JSON, BINARY = "text/csv", "application/json", "application/octet-stream"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: The help of the network's download: its custom layers are registered by ``import
#: clustering.neural``, which must come before ``keras.saving.load_model`` (README, "Loading a
#: downloaded model").
MODEL_HELP = N_("A Keras model: in Python, run `import clustering.neural` first (it registers "
                "the network's layers), then `keras.saving.load_model(\"neural_model.keras\")`. "
                "It maps the scaled features to the cluster probabilities.")
# The time stamps openpyxl puts in a workbook (its properties and every ZIP entry), fixed so that
# the same table always gives the same bytes (a stored run rebuilds its downloads exactly).
_FIXED_STAMP = "2000-01-01T00:00:00Z"
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fixed_zip(data: bytes) -> bytes:
    """``data`` (a ZIP) with every entry's time and the document's dates fixed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _CORE_DATES.sub(rb"\g<1>" + _FIXED_STAMP.encode() + rb"\g<2>", body)
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), body,
                         zipfile.ZIP_DEFLATED)
    return out.getvalue()


def table_xlsx(frame: pd.DataFrame, *, index: bool = False, sheet: str = "results") -> bytes:
    """``frame`` as an Excel workbook (one sheet), text cells neutralised as in every CSV
    (:func:`clustering.export.neutralise_formulas`: ``=cmd`` is written as the text ``'=cmd``)
    and characters a workbook cannot hold (control characters) removed."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    safe = neutralise_formulas(frame)
    for col in range(safe.shape[1]):
        if safe.iloc[:, col].dtype == object:
            safe.isetitem(col, safe.iloc[:, col].map(
                lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v))
    buf = io.BytesIO()
    safe.to_excel(buf, index=index, sheet_name=sheet, engine="openpyxl")
    return _fixed_zip(buf.getvalue())


def download_help(item: Download, dataset=None) -> Optional[str]:
    """The help of a download button: how to load the ``.keras`` model (:data:`MODEL_HELP`);
    for a CSV, the format it is written in (that of ``dataset``'s table, or UTF-8 with a BOM
    where the table's code page cannot hold its characters)."""
    from clustering.export import UTF8_BOM
    from ui.result_files import source_format

    _label, data, file_name, mime = item
    if file_name.endswith(".keras"):
        return _(MODEL_HELP)
    if mime != CSV or data is None:
        return None
    fmt = source_format(dataset)
    if data.startswith(codecs.BOM_UTF8) and fmt.encoding != UTF8_BOM:
        return _("Written as {format}: the table's {encoding} cannot hold some of its "
                 "characters.").format(
                     format=i18n.text(dataclasses.replace(fmt, encoding=UTF8_BOM).description()),
                     encoding=fmt.encoding)
    return _("Written as {format}, as the data's table.").format(
        format=i18n.text(fmt.description()))


def labels_xlsx(result: runs.MethodResult, dataset) -> bytes:
    """The labels table of :func:`ui.result_files.labels_frame` as an Excel workbook."""
    return table_xlsx(runs.labels_frame(result, dataset), sheet="labels")


def metrics_csv(result: runs.MethodResult, dataset=None) -> bytes:
    """The quality figures with their meanings (:func:`clustering.export.metrics_frame`)."""
    return runs.table_csv(metrics_frame(result.metrics), dataset=dataset)


def neural_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """Labels and probabilities, configuration, the ``.keras`` model, metrics."""
    return [[
        (_("Labels and probabilities (CSV)"), runs.labels_csv(result, dataset),
         _("neural_labels.csv"), CSV),
        (_("Labels and probabilities (Excel)"), labels_xlsx(result, dataset),
         _("neural_labels.xlsx"), XLSX),
        (_("Run configuration (JSON)"), runs.config_json(result), _("neural_config.json"), JSON),
        (_("Trained model (.keras)"), runs.model_bytes(result), _("neural_model.keras"), BINARY),
        (_("Metrics (CSV)"), metrics_csv(result, dataset), _("neural_metrics.csv"), CSV),
    ]]


def som_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """Labels, configuration, codebook, metrics."""
    return [[
        (_("Labels (CSV)"), runs.labels_csv(result, dataset), _("som_labels.csv"), CSV),
        (_("Labels (Excel)"), labels_xlsx(result, dataset), _("som_labels.xlsx"), XLSX),
        (_("Run configuration (JSON)"), runs.config_json(result), _("som_config.json"), JSON),
        (_("Codebook (CSV)"), runs.codebook_csv(result, dataset), _("som_codebook.csv"), CSV),
        (_("Metrics (CSV)"), metrics_csv(result, dataset), _("som_metrics.csv"), CSV),
    ]]


def ensemble_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """Labels and posteriors, configuration, best map's codebook; flags, table 2, metrics;
    table 3 (every map's cells and clusters), table 4 of the best map, and section 4's decisions
    (clusters and objects, on ``Phi`` when the table has it, else without a score)."""
    qbm = result.estimator
    ids = runs.object_ids(dataset)
    frame = getattr(dataset, "frame", None)
    score = "Phi" if "Phi" in runs.score_columns(frame) else None
    clusters, objects = runs.decision_tables(qbm, frame, score, ids)

    def csv(table: pd.DataFrame, index: bool = False) -> bytes:
        return runs.table_csv(table, index=index, dataset=dataset)

    return [[
        (_("Labels and posteriors (CSV)"), runs.labels_csv(result, dataset),
         _("qbm_labels.csv"), CSV),
        (_("Labels and posteriors (Excel)"), labels_xlsx(result, dataset),
         _("qbm_labels.xlsx"), XLSX),
        (_("Run configuration (JSON)"), runs.config_json(result), _("qbm_config.json"), JSON),
        (_("Codebook of the best map (CSV)"), runs.codebook_csv(result, dataset),
         _("qbm_codebook.csv"), CSV),
    ], [
        (_("Flagged objects (CSV)"), csv(runs.flags_frame(qbm, ids)), _("qbm_flags.csv"), CSV),
        (_("Networks, table 2 (CSV)"), csv(qbm.networks_), _("qbm_networks.csv"), CSV),
        (_("Metrics (CSV)"), metrics_csv(result, dataset), _("qbm_metrics.csv"), CSV),
    ], [
        (_("Cells and clusters per map, table 3 (CSV)"), csv(runs.cells_frame(qbm, ids)),
         _("qbm_table3.csv"), CSV),
        (_("Best map's distances, table 4 (CSV)"), csv(runs.map_frame(qbm, dataset.X, ids)),
         _("qbm_table4.csv"), CSV),
        (_("Cluster decisions (CSV)"), csv(clusters, index=True),
         _("qbm_cluster_decisions.csv"), CSV),
        (_("Object decisions (CSV)"), csv(objects), _("qbm_object_decisions.csv"), CSV),
    ]]


def comparison_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """All partitions, the metrics table, the comparison's configuration."""
    return [[
        (_("All partitions (CSV)"), runs.partitions_csv(result, dataset),
         _("comparison_labels.csv"), CSV),
        (_("Metrics table (CSV)"),
         runs.table_csv(result.extra["table"], index=True, dataset=dataset),
         _("comparison_metrics.csv"), CSV),
        (_("Comparison configuration (JSON)"), runs.config_json(result),
         _("comparison_config.json"), JSON),
    ]]


def classic_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """A classic method run on its own: labels (and probabilities), configuration, metrics."""
    name = result.method
    return [[
        (_("Labels (CSV)"), runs.labels_csv(result, dataset),
         _("{name}_labels.csv").format(name=name), CSV),
        (_("Labels (Excel)"), labels_xlsx(result, dataset),
         _("{name}_labels.xlsx").format(name=name), XLSX),
        (_("Run configuration (JSON)"), None if result.config is None else runs.config_json(result),
         _("{name}_config.json").format(name=name), JSON),
        (_("Metrics (CSV)"), metrics_csv(result, dataset),
         _("{name}_metrics.csv").format(name=name), CSV),
    ]]


def download_rows(result: runs.MethodResult, dataset) -> list[list[Download]]:
    """The downloads of ``result`` (on ``dataset``, the data it was made on) in the rows its
    page draws: the method's own (:attr:`clustering.registry.MethodSpec.downloads`), a
    comparison's, or a classic method's labels, configuration and metrics."""
    if result.method == "compare":
        return comparison_rows(result, dataset)
    rows = registry.resolve(registry.get(result.method).downloads) or classic_rows
    return rows(result, dataset)


def result_downloads(result: runs.MethodResult, dataset) -> list[Download]:
    """Every download of ``result``: ``(label, bytes or None, file_name, mime)``."""
    return [item for row in download_rows(result, dataset) for item in row]
