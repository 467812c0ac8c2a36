"""Per-session state, bound to the visitor's workspace (:mod:`ui.workspace`).

The workspace (its data set, the Data page's working table, the latest result of each method, the
running job) is kept on the server, keyed by the token in the page's address (``?ws=...``);
:func:`attach`, called by ``app.py`` on every script run, binds the browser session to it and
mirrors it into ``st.session_state``, so a reload, a second tab on the same address or a server
restart show the same work. A new data set clears the pages' results, which belong to the old one;
they stay in the run history. The controls that make one ask first when there are results to lose
(:func:`ask`, :func:`confirm_box`).

A write of the data set or the working table carries the data version this session last drew:
when another tab changed the workspace's data meanwhile, the write is refused with a message and
the page shows the current state (:class:`ui.store.WorkspaceConflict`).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import streamlit as st

from clustering.errors import ClusteringError
from clustering import i18n
from clustering.i18n import _
from ui import workspace as wsp
from ui.jobs import Job

DATASET = "cm_dataset"
DATA_SPEC = "cm_data_spec"
DATA_LABEL = "cm_data_label"
DATA_TOKEN = "cm_data_token"
PROJECTION = "cm_projection"
RESULTS = "cm_results"
JOB = "cm_job"
TABLE = "cm_table"
FLASH = "cm_flash"
ROLES = "cm_roles"  # the column roles chosen for each working table (ui.roles.table_key)
WORKSPACE = "cm_workspace"  # the session's Workspace object
SEEN = "cm_ws_seen"  # the data version this script run draws
BASE = "cm_ws_base"  # the data version the previous run drew: this run's writes start from it


def _ss():
    return st.session_state


# ------------------------------------------------------------------------------ the workspace
def attach() -> "wsp.Workspace":
    """Bind this session to the workspace named in the address (a new one when there is none,
    or when the token is malformed, unknown or expired) and mirror it into the session state.
    Called by ``app.py`` at the start of every script run."""
    ss = _ss()
    asked = st.query_params.get(wsp.TOKEN_PARAM)
    current: Optional[wsp.Workspace] = ss.get(WORKSPACE)
    same = current is not None and asked in (None, current.token)
    ws = wsp.open_workspace(current.token if same else asked)
    if ws is None:
        if asked or current is not None:
            flash(_("The address named no workspace of this server (mistyped, or expired after "
                    "a long time unused): this is a new, empty workspace."), "warning")
        ws = wsp.new_workspace()
    if not same or ws.token != current.token:
        ss.pop(SEEN, None)
        ss.pop(BASE, None)
        _restore_forms(ws)
    if st.query_params.get(wsp.TOKEN_PARAM) != ws.token:
        st.query_params[wsp.TOKEN_PARAM] = ws.token
    if _shift(ws):
        flash(_("The data of this workspace was changed in another tab or window: this page "
                "now shows it."), "info")
    _bind(ws)
    return ws


def _shift(ws: "wsp.Workspace") -> bool:
    """A new script run: the data version the previous run drew becomes the base of this run's
    writes (:data:`BASE`), the current one what this run draws (:data:`SEEN`). True when the
    data changed elsewhere in between."""
    ss = _ss()
    ss[BASE] = ss.get(SEEN, ws.version)
    ss[SEEN] = ws.version
    return ss[BASE] != ss[SEEN]


def refresh() -> "wsp.Workspace":
    """The session's workspace as it is now, for callbacks (which run before :func:`attach`):
    their writes start from the data version the page they were clicked on drew."""
    ss = _ss()
    current = ss.get(WORKSPACE)
    ws = wsp.open_workspace(current.token) if current is not None else None
    if ws is None:
        return attach()
    _shift(ws)
    _bind(ws)
    return ws


def _restore_forms(ws: "wsp.Workspace") -> None:
    """A session new to the workspace: each method page's settings as its running job or its
    shown result had them (not the defaults, which would contradict the run on the page)."""
    from ui import forms
    from ui.methods import FORM_KEYS

    with ws.lock:
        shown = dict(ws.results)
        job_ = ws.job
    sources = {m: dict(r.config.params) for m, r in shown.items()
               if m in FORM_KEYS and hasattr(getattr(r, "config", None), "params")}
    if job_ is not None and job_.running and job_.method in FORM_KEYS \
            and getattr(job_, "config", None):
        sources[job_.method] = dict(job_.config.get("params") or {})
    for method, params in sources.items():
        forms.set_values(params, FORM_KEYS[method])


def _bind(ws: "wsp.Workspace") -> None:
    """Mirror the workspace into the session state (what the pages and tests read)."""
    ss = _ss()
    with ws.lock:
        ss[WORKSPACE] = ws
        ss[DATASET], ss[DATA_SPEC], ss[DATA_LABEL] = ws.dataset, ws.spec, ws.label
        if ss.get(DATA_TOKEN) != ws.data_token:
            ss.pop(PROJECTION, None)
        ss[DATA_TOKEN] = ws.data_token
        ss[RESULTS], ss[JOB], ss[TABLE] = ws.results, ws.job, ws.table


def current_workspace() -> "wsp.Workspace":
    ws = _ss().get(WORKSPACE)
    return ws if ws is not None else attach()


def address_notice_due() -> bool:
    """True once per workspace in this server process: the page says that its address is the
    key to the work."""
    ws = current_workspace()
    if ws.told:
        return False
    ws.told = True
    return True


def new_workspace() -> None:
    """Start afresh: a new, empty workspace (the old one stays reachable at its address)."""
    try:
        ws = wsp.new_workspace()
    except ClusteringError as err:  # the store is unavailable: said, nothing changed
        flash(i18n.text(err), "error")
        return
    st.query_params[wsp.TOKEN_PARAM] = ws.token
    _settle(ws)


def _base(ws: "wsp.Workspace") -> int:
    return int(_ss().get(BASE, ws.version))


def _settle(ws: "wsp.Workspace") -> None:
    """After a write, or a refused one: the page shows the workspace as it now is."""
    _ss()[BASE] = _ss()[SEEN] = ws.version
    _bind(ws)


def check_current() -> "wsp.Workspace":
    """The workspace, refused (:class:`ui.store.WorkspaceConflict`; the page then shows the
    current state) when its data changed since the page this session acts from was drawn."""
    from ui.store import WorkspaceConflict

    ws = _ss().get(WORKSPACE) or attach()
    if _base(ws) != ws.version:
        _settle(ws)
        raise WorkspaceConflict()
    return ws


def _write(change: Callable[[int], None]) -> None:
    """Apply a versioned write from the data version this session's page was drawn from."""
    from ui.store import WorkspaceConflict

    ws = _ss().get(WORKSPACE) or attach()
    try:
        change(_base(ws))
    except WorkspaceConflict:
        _settle(wsp.open_workspace(ws.token) or ws)
        raise
    _settle(ws)


# ------------------------------------------------------------------------------ data
def dataset():
    """The current :class:`clustering.tables.Dataset`, or None."""
    return _ss().get(DATASET)


def data_spec() -> Optional[dict]:
    """How the current data set was made (the ``data`` part of a run configuration)."""
    return _ss().get(DATA_SPEC)


def data_label() -> str:
    return _ss().get(DATA_LABEL) or ""


def data_token() -> int:
    return int(_ss().get(DATA_TOKEN) or 0)


def set_dataset(ds, spec: dict, label: str) -> None:
    """Make ``ds`` the workspace's data set and take the previous one's results off the pages.

    Refused with a :class:`ClusteringError` while a training runs: its result belongs to the
    current data and would otherwise be stored against the new one."""
    current = job()
    if current is not None and current.running:
        raise ClusteringError(_("{label} is training on the current data: wait until it "
                                "ends or stop it on its page, then change the data. The current "
                                "data and results are kept.").format(label=current.label))
    ws = current_workspace()
    _write(lambda seen: ws.set_dataset(ds, spec, label, seen=seen))


def table() -> Optional[dict]:
    """The Data page's working table (``frame``, ``base``, ``origin``, ``aggregations``,
    ``label``), or None."""
    return _ss().get(TABLE)


def set_table(value: Optional[dict]) -> None:
    """Keep (or, with None, drop) the working table in the workspace."""
    ws = current_workspace()
    _write(lambda seen: ws.set_table(value, seen=seen))


def table_roles(key: str) -> Optional[dict]:
    """The column roles last chosen in this session for the table ``key``, or None."""
    return (_ss().get(ROLES) or {}).get(key)


def remember_roles(key: str, roles: dict) -> None:
    """Keep the column roles chosen for the table ``key`` (found again when it comes back)."""
    _ss().setdefault(ROLES, {})[key] = dict(roles)


def projection() -> tuple[np.ndarray, list[str]]:
    """Two coordinates of the current data for drawing (features or PCA), cached per data set."""
    from clustering.plots import project_2d

    ds = dataset()
    if ds is None:
        raise ClusteringError(_("No data yet: generate or load a data set on the Data page."))
    cached = _ss().get(PROJECTION)
    if cached is None or cached[0] != data_token():
        cached = (data_token(), *project_2d(ds.X, ds.feature_names))
        _ss()[PROJECTION] = cached
    return cached[1], cached[2]


def results() -> dict:
    """The pages' results: method -> :class:`ui.runs.MethodResult` (the workspace's)."""
    res = _ss().get(RESULTS)
    return res if res is not None else current_workspace().results


def result(method: str):
    return results().get(method)


def job() -> Optional[Job]:
    """The workspace's training job (shared by its tabs), or None."""
    ws = _ss().get(WORKSPACE)
    return ws.job if ws is not None else _ss().get(JOB)


def job_running() -> bool:
    j = job()
    return j is not None and j.running


def start_job(method: str, target: Callable[..., Any], label: str,
              config: Optional[dict] = None) -> Job:
    """Start ``target`` on the server's workers; one job per workspace at a time.

    ``config``: the run's configuration (``RunConfig.to_dict()`` or a comparison's), recorded so
    that a job a server restart interrupted can be run again. The job belongs to the workspace:
    it goes on when the tab closes, and its result goes into the run history. A second start
    while a job runs is refused with a :class:`ClusteringError` saying so; the running job, its
    progress and the stored results are left untouched.
    """
    ws = check_current()
    with ws.lock:
        current = ws.job
        if current is not None and current.running:
            raise ClusteringError(_("One training runs at a time: {label} is still running. "
                                    "Wait until it ends or stop it on its page, then start "
                                    "again; nothing was started and your settings are "
                                    "kept.").format(label=current.label))
        other = ws.elsewhere()
        if other:
            raise ClusteringError(_("One training runs at a time: {label} is running for this "
                                    "workspace on another server of this site (from another "
                                    "tab). Wait until it ends; nothing was started.").format(
                                        label=other[0].label))
        job_id = wsp.record_job(ws, method, label, config)
        new = Job(method, target, wsp.ResultSink(ws), label=label, client=client_address(),
                  on_end=lambda j: wsp.end_job(ws, job_id, j))
        new.config = config  # the settings its page shows in a new tab
        try:
            new.start()  # refused (nothing kept) when the server's queue is full
        except BaseException:
            wsp.forget_job(ws, job_id)
            raise
        ws.job = new
    _ss()[JOB] = new
    return new


def client_address() -> Optional[str]:
    """The browser's address as the server sees it (None outside a served page, e.g. AppTest)."""
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context
        return None


def flash(message: str, kind: str = "success") -> None:
    """Queue a message to show on the next run (after a st.rerun)."""
    _ss()[FLASH] = (kind, message)


def pop_flash() -> Optional[tuple[str, str]]:
    return _ss().pop(FLASH, None)


# ------------------------------------------------------------------------------ asking first
def clearing_question(loading: str) -> Optional[str]:
    """What to ask before ``loading`` (the new data, in words) becomes the data set and takes
    the current results off the pages; None when there are none to lose (or when a training
    runs: the change is then refused with its reason, nothing lost)."""
    from ui.methods import result_title

    shown = results()
    if not shown or job_running():
        return None
    names = ", ".join(result_title(m) for m in shown)
    return _("Loading {loading} replaces the current data set and clears the results of "
             "{names} from their pages; they stay in the run history.").format(
                 loading=loading, names=names)


def ask(key: str, loading: str) -> bool:
    """For the action of the control ``key``: True when it may go ahead now; False when it
    would clear results, its question then waits for :func:`confirm_box`."""
    question = clearing_question(loading)
    if question is None:
        _ss().pop(f"{key}_ask", None)
        return True
    _ss()[f"{key}_ask"] = question
    return False


def _answer(key: str, on_confirm: Optional[Callable[..., Any]], args: tuple) -> None:
    _ss().pop(f"{key}_ask", None)
    if on_confirm is None:
        _ss()[f"{key}_go"] = True
    else:
        on_confirm(*args)


def _cancel(key: str) -> None:
    _ss().pop(f"{key}_ask", None)


def confirm_box(key: str, on_confirm: Optional[Callable[..., Any]] = None,
                args: tuple = ()) -> bool:
    """Draw the question :func:`ask` left for the control ``key`` with Confirm
    (``{key}_confirm``) and Cancel (``{key}_cancel``). True on the run after Confirm (for an
    action run in the page); with ``on_confirm``, Confirm calls ``on_confirm(*args)`` instead."""
    from ui.widgets import md_escape

    if _ss().pop(f"{key}_go", False):
        return True
    question = _ss().get(f"{key}_ask")
    if question is not None and not results():  # the results went meanwhile: nothing to ask
        _cancel(key)
        question = None
    if question is None:
        return False
    box = st.container(border=True, key=f"{key}_ask_box")
    box.warning(md_escape(question), icon=":material/warning:")
    c1, c2, _rest = box.columns([1, 1, 3])
    c1.button(_("Confirm"), key=f"{key}_confirm", type="primary", on_click=_answer,
              args=(key, on_confirm, args))
    c2.button(_("Cancel"), key=f"{key}_cancel", on_click=_cancel, args=(key,))
    return False
