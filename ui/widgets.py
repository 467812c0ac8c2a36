"""Small Streamlit building blocks shared by the pages: error boundary, safe text, downloads."""
from __future__ import annotations

import contextlib
import logging
import re
import string
from typing import Iterator, Optional

import streamlit as st

from clustering.errors import ClusteringError
from clustering.i18n import _, ngettext, text

log = logging.getLogger("clustermap.app")

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")


def md_escape(text: object) -> str:
    """Backslash-escape every ASCII punctuation character so user text renders literally.

    Column names and cell values from user CSVs reach messages; CommonMark allows escaping any
    ASCII punctuation, which also disarms Streamlit's ``:colour[...]`` and ``:material/...:``
    directives. Newlines are kept.
    """
    return _PUNCT.sub(r"\\\1", str(text))


def show_error(err: BaseException) -> None:
    """A user-facing message for ``err``: its text for backend errors, a generic line otherwise."""
    if isinstance(err, ClusteringError):
        st.error(md_escape(text(err)), icon=":material/error:")
    elif isinstance(err, MemoryError):
        st.error(_("Out of memory: use fewer rows or a lighter method."), icon=":material/error:")
    else:
        log.exception("unexpected error in a page")
        st.error(md_escape(_("Something went wrong ({error}). Check the inputs; if it "
                             "persists, report it.").format(
                                 error=f"{type(err).__name__}: {err}")),
                 icon=":material/error:")


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show errors raised inside the block as messages, never as tracebacks.

    Streamlit's own control flow (``st.rerun``, ``st.stop``, ``st.switch_page``) derives from
    ``BaseException`` and passes through untouched.
    """
    try:
        yield
    except Exception as err:  # page boundary: every error becomes a message
        show_error(err)


def number_config(frame, column_config: Optional[dict] = None) -> Optional[dict]:
    """``column_config`` for showing ``frame`` in the interface's language: in Russian every
    decimal column not configured otherwise is ``"localized"`` (the browser writes it with a
    decimal comma and thin-space thousands: a Russian visitor's browser is ``ru``); English
    leaves the columns as Streamlit shows them."""
    from clustering.i18n import language

    config = dict(column_config or {})
    if language() != "ru" or not hasattr(frame, "dtypes"):
        return column_config
    for name, dtype in frame.dtypes.items():
        if getattr(dtype, "kind", "") == "f" and str(name) not in config:
            config[str(name)] = st.column_config.NumberColumn(format="localized")
    return config or None


def number_format(printf: str) -> str:
    """A column's number format: ``printf`` (``"%.4f"``) in English, ``"localized"`` in Russian
    (a decimal comma; see :func:`number_config`)."""
    from clustering.i18n import language

    return "localized" if language() == "ru" and not printf.startswith("%d") else printf


def table(frame, app_table: bool = False, **kwargs) -> None:
    """``st.dataframe(frame, ...)`` with numbers written as the interface's language writes
    them (:func:`number_config`); ``app_table``: a table the app built, its headers and words
    shown in the visitor's language (:func:`ui.column_names.shown_table`)."""
    if app_table:
        from ui.column_names import shown_table

        frame = shown_table(frame)
    kwargs["column_config"] = number_config(frame, kwargs.get("column_config"))
    st.dataframe(frame, **kwargs)


def flash_messages() -> None:
    """Show the message queued by :func:`ui.state.flash` before a rerun."""
    from ui import state

    item = state.pop_flash()
    if item:
        kind, message = item
        getattr(st, kind, st.info)(md_escape(message))


def need_data() -> bool:
    """Tell the user to make a data set first; True when there is one."""
    from ui import state

    if state.dataset() is not None:
        return True
    st.info(_("No data yet. Generate a data set, upload a CSV or load the example on the Data "
              "page."),
            icon=":material/info:")
    st.page_link("pages/data.py", label=_("Go to the Data page"), icon=":material/table:")
    return False


def downloads(items: list[tuple[str, Optional[bytes], str, str]], key: str,
              dataset=None) -> None:
    """A row of download buttons: ``(label, data, file_name, mime)``; None data is skipped.
    Each button's help says how its file is written (:func:`ui.downloads.download_help`, the
    format of ``dataset``'s table; how to load a ``.keras`` model)."""
    from ui.downloads import download_help

    items = [it for it in items if it[1] is not None]
    if not items:
        return
    cols = st.columns(len(items))
    for col, item in zip(cols, items):
        label, data, file_name, mime = item
        col.download_button(label, data=data, file_name=file_name, mime=mime,
                            key=f"{key}_{file_name}", icon=":material/download:",
                            on_click="ignore", width="stretch",
                            help=download_help(item, dataset))


def workspace_box(ws) -> None:
    """The sidebar's workspace part: the address notice (once), interrupted jobs, New workspace."""
    from ui import state

    st.divider()
    if state.address_notice_due():
        st.info(_("This page's address is the key to your work: bookmark it to come back to "
                  "your data and results. Anyone you give it to sees and changes this "
                  "workspace."),
                icon=":material/key:")
    for note in ws.damaged:
        st.warning(md_escape(note), icon=":material/broken_image:")
    for rec in ws.elsewhere():
        st.caption(md_escape(_("{label} is training for this workspace on another server "
                               "of this site; its result will appear in the run history.").format(
                                   label=rec.label)))
    interrupted = ws.interrupted()
    if interrupted:
        n = len(interrupted)
        st.warning(ngettext("{n} training was interrupted by a server restart.",
                            "{n} trainings were interrupted by a server restart.", n).format(n=n),
                   icon=":material/restart_alt:")
        st.page_link("pages/history.py", label=_("Run it again from the history"),
                     icon=":material/history:")
    st.button(_("New workspace"), key="ws_new", on_click=state.new_workspace,
              icon=":material/note_add:", disabled=state.job_running(),
              help=_("Start afresh with no data and no runs. This workspace stays at its "
                     "current address."))


def metrics_frame(metrics: dict):
    """:func:`clustering.export.metrics_frame`, imported when first drawn (pandas loads lazily,
    not with the pages)."""
    from clustering.export import metrics_frame as frame

    return frame(metrics)


def metrics_table(metrics: dict) -> None:
    """The quality figures as a table with a meaning each, counts as whole numbers
    (:func:`ui.headline.metrics_display`)."""
    from ui.headline import metrics_display

    if not metrics:
        st.caption(_("No quality figures."))
        return
    table(metrics_display(metrics), hide_index=True)
