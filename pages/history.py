"""Run history: every run of this workspace, to reopen, compare, download or delete; and the
trainings a server restart interrupted, to run again."""
import datetime as dt
import functools

import pandas as pd
import streamlit as st

from clustering.errors import ClusteringError
from clustering import i18n
from clustering.i18n import _
from ui import configio, methods, runs, state, widgets

st.title(_("Run history"))
st.caption(_("Every finished run of this workspace, newest first. Reopen one to show it on "
             "its page again, compare runs on the current data, download or delete them."))
widgets.flash_messages()

ws = state.current_workspace()


def _zone() -> dt.tzinfo:
    """The browser's time zone (UTC when it does not say or names none known)."""
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(st.context.timezone or "UTC")
    except Exception:  # noqa: BLE001 - unknown or malformed zone name
        return dt.timezone.utc


ZONE = _zone()


def when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, ZONE).strftime("%Y-%m-%d %H:%M:%S")


def interrupted_section() -> None:
    for rec in ws.interrupted():
        title = _(methods.RESULT_TITLES.get(rec.method, rec.method))
        box = st.container(border=True)
        box.warning(widgets.md_escape(_("{title}, started {when}, was interrupted by a server "
                                        "restart: nothing of it was kept.").format(
                                            title=title, when=when(rec.created_at))),
                    icon=":material/restart_alt:")
        c1, c2, _rest = box.columns([1, 1, 3])
        same_data = rec.data_token == state.data_token()
        key = f"hist_rerun_{rec.job_id}"
        then = functools.partial(_dismiss, rec.job_id)  # off the list once it runs again
        c1.button(_("Run it again"), key=key, type="primary",
                  on_click=configio.rerun, args=(rec.config, key, then),
                  disabled=not rec.config or not same_data or state.job_running(),
                  help=None if same_data else _("It ran on another data set than the current one."))
        c2.button(_("Dismiss"), key=f"hist_dismiss_{rec.job_id}", on_click=_dismiss,
                  args=(rec.job_id,))
        if rec.config:
            with box:
                configio.rerun_status(rec.config, key, then)


def _dismiss(job_id: str) -> None:
    try:
        ws.dismiss_job(job_id)
    except ClusteringError as err:  # e.g. another tab dismissed it meanwhile
        state.flash(i18n.text(err), "warning")


def runs_table(infos) -> pd.DataFrame:
    rows = []
    for info in infos:
        h = info.headline or {}
        ended = {"user": _("stopped"), "time": _("time cap")}.get(h.get("stopped"), _("done"))
        rows.append({_("when"): when(info.created_at),
                     _("method"): _(methods.RESULT_TITLES.get(info.method, info.method)),
                     _("data"): info.label, _("clusters"): h.get("clusters"),
                     _("objects"): h.get("objects"), _("silhouette"): h.get("silhouette"),
                     "ARI": h.get("ari"), _("seconds"): h.get("seconds"),
                     _("ended"): ended,
                     _("on current data"): info.data_token == state.data_token()})
    return pd.DataFrame(rows)


def run_name(info) -> str:
    title = _(methods.RESULT_TITLES.get(info.method, info.method))
    return f"{when(info.created_at)} · {title} · {info.label}"


def actions(infos) -> None:
    by_id = {i.run_id: i for i in infos}
    chosen = st.selectbox(_("Run"), list(by_id), format_func=lambda r: run_name(by_id[r]),
                          key="hist_run")
    info = by_id[chosen]
    c1, c2, _rest = st.columns([1, 1, 3])
    current = info.data_token == state.data_token()
    if c1.button(_("Reopen"), key="hist_reopen", type="primary", icon=":material/open_in_new:",
                 disabled=not current or state.job_running(),
                 help=None if current else _("It was made on another data set than the "
                                              "current one.")):
        with widgets.guard():
            ws.reopen(chosen)
            st.switch_page(methods.RESULT_PAGES[info.method])
    if c2.button(_("Delete"), key="hist_delete", icon=":material/delete:"):
        with widgets.guard():
            ws.delete_run(chosen)
            state.flash(_("Deleted the run {name}.").format(name=run_name(info)))
            st.rerun()
    with widgets.guard():
        from ui import downloads

        result = ws.load_run(chosen)
        dataset = state.dataset() if current else None
        widgets.downloads(downloads.result_downloads(result, dataset), key=f"hist_{chosen}",
                          dataset=dataset)


def comparison(infos) -> None:
    mine = [i for i in infos if i.data_token == state.data_token() and i.method != "compare"]
    if len(mine) < 2:
        return
    with st.expander(_("Compare runs on the current data")):
        by_id = {i.run_id: i for i in mine}
        picked = st.multiselect(_("Runs"), list(by_id), default=list(by_id)[:2],
                                format_func=lambda r: run_name(by_id[r]), key="hist_compare")
        if len(picked) >= 2:
            with widgets.guard():
                table = runs.agreement_table({run_name(by_id[r]): ws.load_run(r).labels
                                              for r in picked})
                st.caption(_("Adjusted Rand index between the runs' partitions (1 = the same "
                             "grouping, 0 = chance)."))
                widgets.table(table)


with widgets.guard():
    interrupted_section()
    infos = ws.runs()
    if not infos:
        st.info(_("No runs yet. Train a method on its page; every finished run is kept here."),
                icon=":material/info:")
    else:
        widgets.table(runs_table(infos), hide_index=True)
        actions(infos)
        comparison(infos)
