"""Per-session state: the current data set, the last result of each method, the training job.

Everything lives in ``st.session_state`` (one browser session each), so switching pages keeps the
data and the results. A new data set clears the results, which belong to the old one.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import streamlit as st

from clustering.errors import ClusteringError
from ui.jobs import Job

DATASET = "cm_dataset"
DATA_SPEC = "cm_data_spec"
DATA_LABEL = "cm_data_label"
DATA_TOKEN = "cm_data_token"
PROJECTION = "cm_projection"
RESULTS = "cm_results"
JOB = "cm_job"
FLASH = "cm_flash"


def _ss():
    return st.session_state


def dataset():
    """The current :class:`clustering.tables.Dataset`, or None."""
    return _ss().get(DATASET)


def data_spec() -> Optional[dict]:
    """How the current data set was made (the ``data`` part of a run configuration)."""
    return _ss().get(DATA_SPEC)


def data_label() -> str:
    return _ss().get(DATA_LABEL, "")


def data_token() -> int:
    return int(_ss().get(DATA_TOKEN, 0))


def set_dataset(ds, spec: dict, label: str) -> None:
    """Make ``ds`` the session's data set and forget results computed on the previous one.

    Refused with a :class:`ClusteringError` while a training runs: its result belongs to the
    current data and would otherwise be stored against the new one."""
    current = job()
    if current is not None and current.running:
        raise ClusteringError(f"{current.label} is training on the current data: wait until it "
                              "ends or stop it on its page, then change the data. The current "
                              "data and results are kept.")
    ss = _ss()
    ss[DATASET] = ds
    ss[DATA_SPEC] = spec
    ss[DATA_LABEL] = label
    ss[DATA_TOKEN] = data_token() + 1
    ss.pop(PROJECTION, None)
    results().clear()


def projection() -> tuple[np.ndarray, list[str]]:
    """Two coordinates of the current data for drawing (features or PCA), cached per data set."""
    from clustering.plots import project_2d

    ds = dataset()
    if ds is None:
        raise ClusteringError("No data yet: generate or load a data set on the Data page.")
    cached = _ss().get(PROJECTION)
    if cached is None or cached[0] != data_token():
        cached = (data_token(), *project_2d(ds.X, ds.feature_names))
        _ss()[PROJECTION] = cached
    return cached[1], cached[2]


def results() -> dict:
    """The session's result store: method -> :class:`ui.runs.MethodResult`."""
    ss = _ss()
    if RESULTS not in ss:
        ss[RESULTS] = {}
    return ss[RESULTS]


def result(method: str):
    return results().get(method)


def job() -> Optional[Job]:
    return _ss().get(JOB)


def job_running() -> bool:
    j = job()
    return j is not None and j.running


def start_job(method: str, target: Callable[..., Any], label: str) -> Job:
    """Start ``target`` in the background; one job per session at a time.

    A second start while a job runs is refused with a :class:`ClusteringError` saying so; the
    running job, its progress and the stored results are left untouched.
    """
    current = job()
    if current is not None and current.running:
        raise ClusteringError(f"One training runs at a time: {current.label} is still running. "
                              "Wait until it ends or stop it on its page, then start again; "
                              "nothing was started and your settings are kept.")
    new = Job(method, target, results(), label=label, client=client_address(),
              alive=session_alive())
    new.start()  # refused (nothing kept) when the server's queue is full
    _ss()[JOB] = new
    return new


def client_address() -> Optional[str]:
    """The browser's address as the server sees it (None outside a served page, e.g. AppTest)."""
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context
        return None


def session_alive() -> Optional[Callable[[], bool]]:
    """``alive()``: whether this browser session is still connected; None when there is no
    server runtime to ask (AppTest)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if not exists() or ctx is None:
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def flash(message: str, kind: str = "success") -> None:
    """Queue a message to show on the next run (after a st.rerun)."""
    _ss()[FLASH] = (kind, message)


def pop_flash() -> Optional[tuple[str, str]]:
    return _ss().pop(FLASH, None)
