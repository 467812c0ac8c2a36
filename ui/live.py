"""The live view of a running training job: progress bar, Stop button, curves, snapshot.

The panel is a fragment re-run every second while the job runs, so only it redraws; when the job
ends it asks for one full rerun, which draws the results. Every session's panel runs in the one
server process that also trains, so the panel does little: while the job waits for a worker it draws
no chart, and a chart is rebuilt only when its data changed (the figures are kept on the job).
"""
from __future__ import annotations

from typing import Callable, Optional

import streamlit as st

from clustering import plots, registry
from clustering.i18n import N_, _, fmt
from clustering.progress import RESTART_METRICS, STATUS_METRICS
from ui import state
from ui.widgets import md_escape

POLL_SECONDS = 1.0

#: Metrics on another scale than the main one: with one of them every curve gets its own
#: panel (stacked, sharing the step axis) instead of a second y axis.
SECONDARY = ("topographic_error", "te", "topographic")
#: Shown where the curves will be until two points are recorded (never an empty chart).
CURVES_PLACEHOLDER = N_("The curves appear here once the first steps are recorded…")


def cached_figure(job, name: str, version, build: Callable):
    """``build()``'s figure, rebuilt only when ``version`` changed since the last call for
    ``name`` on this job (a rerun must draw every chart again, but need not rebuild it)."""
    cache = job.__dict__.setdefault("_figures", {})
    hit = cache.get(name)
    if hit is None or hit[0] != version:
        hit = cache[name] = (version, build())
    return hit[1]


def status_text(metrics: dict, elapsed: Optional[float] = None) -> str:
    """One line under the bar for a run of restarts, e.g. "Restart 2 of 5 · epoch 120 of at
    most 5000 · loss -2.91 (best -2.93) · 14 s so far"; "" when ``metrics`` do not say which
    restart runs. ``elapsed`` (seconds) stands in when the metrics carry none."""
    if not all(k in metrics for k in RESTART_METRICS):
        return ""
    m = metrics
    parts = [_("Restart {restart} of {n}").format(restart=fmt(m['restart'], ".0f"),
                                                  n=fmt(m['n_restarts'], ".0f")),
             (_("epoch {epoch} of at most {max} (stopped early)") if m.get("early_stopped")
              else _("epoch {epoch} of at most {max}")).format(
                 epoch=fmt(m['epoch'], ".0f"), max=fmt(m['max_epochs'], ".0f"))]
    if "loss" in m:
        loss = fmt(m['loss'], ".5g")
        parts.append(_("loss {loss} (best {best})").format(loss=loss,
                                                           best=fmt(m['best_loss'], ".5g"))
                     if "best_loss" in m else _("loss {loss}").format(loss=loss))
    seconds = m.get("elapsed", elapsed)
    if seconds is not None:
        parts.append(_("{seconds} s so far").format(seconds=fmt(seconds, ".0f")))
    return " · ".join(parts)


def _curves(job) -> None:
    with job.lock:
        version = len(job.history)
    fig = cached_figure(job, "curves", version, lambda: _curves_figure(job))
    if fig is None:
        st.caption(_(CURVES_PLACEHOLDER))
    else:
        st.plotly_chart(fig, key=f"live_curves_{job.method}")


def _curves_figure(job):
    with job.lock:
        names = []
        for _step, m in job.history:
            for k in m:
                if k not in names and k not in STATUS_METRICS:
                    names.append(k)
    if not names:
        return None
    series = {n: job.series(n) for n in names}
    series = {n: v for n, v in series.items() if len(v) > 1}
    if not series:
        return None
    steps = job.steps(next(iter(series)))
    x_title = (_(registry.get(job.method).live_x_title) if job.method in registry.names()
               else _("step"))
    if len(series) > 1 and any(s in n for n in series for s in SECONDARY):
        return plots.stacked_curves(series, x=steps, x_title=x_title, panel_height=110,
                                    y_titles={n: n.replace("_", " ") for n in series})
    return plots.line_curves(series, x=steps, x_title=x_title, height=260)


@st.fragment(run_every=POLL_SECONDS)
def _panel(method: str, drawer: Optional[Callable] = None) -> None:
    # The drawer comes in as an argument (kept with this session's fragment), never through a
    # module-level registry, which every browser session would share.
    job = state.job()
    if job is None or job.method != method:
        return
    if not job.running:
        st.rerun()  # the job ended: redraw the whole page with its results
    st.progress(job.fraction, text=md_escape(job.status_line()))
    with job.lock:
        metrics = dict(job.progress.metrics) if job.progress is not None else {}
    line = status_text(metrics)
    if line:
        st.caption(md_escape(line))
    c1, c2 = st.columns([1, 5])
    if c1.button(_("Stop"), key=f"stop_{method}", icon=":material/stop_circle:", type="primary",
                 help=_("End training after the current step and keep the model as it is.")):
        job.request_stop()
    if job.stop.is_set():
        c2.caption(_("Stopping after the current step; what was trained so far is kept…"))
    elif job.waiting:
        c2.caption(_("Other sessions' trainings hold the server's workers; this one starts "
                     "when a worker is free. Stop takes it out of the queue."))
        return  # nothing to draw yet
    else:
        c2.caption(_("{elapsed} s of at most {limit} s. Settings and other pages stay usable; "
                     "the run goes on.").format(elapsed=fmt(job.elapsed, ".0f"),
                                                limit=fmt(job.time_limit, "g")))
    left, right = st.columns(2)
    with left:
        _curves(job)
    if drawer is not None and job.snapshot is not None:
        with right:
            drawer(job)


def live_panel(method: str, drawer: Optional[Callable] = None) -> bool:
    """Show the live panel when ``method``'s job runs; returns True while it runs.

    ``drawer(job)`` draws the job's latest snapshot (e.g. the soft scatter during training). A job
    that ended on an error shows it until the next run.
    """
    job = state.job()
    if job is None or job.method != method:
        return False
    if job.running:
        _panel(method, drawer)
        return True
    if job.error:
        st.error(md_escape(job.error), icon=":material/error:")
    elif job.cancelled:
        st.info(_("Stopped while waiting for a free worker: nothing was trained, earlier "
                  "results are kept."), icon=":material/info:")
    note = getattr(job.result, "store_error", None)
    if note:  # shown on the page, not kept in the workspace (its cap, say)
        st.warning(md_escape(note), icon=":material/save:")
    return False


def other_job_notice(method: str) -> bool:
    """Say so when another method's job holds the session; True when one does."""
    job = state.job()
    if job is not None and job.running and job.method != method:
        st.warning(md_escape(_("{status}. One training runs at a time: wait for it or stop it "
                               "on its page.").format(status=job.status_line())),
                   icon=":material/hourglass_top:")
        return True
    return False
