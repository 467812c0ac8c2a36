"""Adjustments of the Streamlit runtime for this server: its start-up, and Keras's state.

After every script run, fragment re-runs included, Streamlit calls
``keras.backend.clear_session()`` (``streamlit.runtime.scriptrunner.script_runner.
_clean_problem_modules``), meant for scripts that build a model on each run. Trainings run on Dask
workers (:mod:`ui.jobs`), but the web process holds the trained models it draws from, and on the
TensorFlow backend each call clears the eager kernel cache, resets the default graph and runs a
full garbage collection, once a second per live panel. (When trainings ran in this process's
threads it made them about 30 times slower.) The model builder gives every layer an explicit name,
so the clean-up protects nothing this app needs.

:func:`keep_keras_state` swaps that clean-up for one that keeps its other duty (closing
matplotlib figures) and leaves Keras alone. Streamlit offers no setting for it, hence this patch of
a private function; if a Streamlit release renames it, the patch logs a warning and the app runs as
before, with a full garbage collection after every script run.

:func:`preload` starts the server's Dask cluster on the first script run.
"""
from __future__ import annotations

import logging
import sys
import threading

log = logging.getLogger("clustermap.runtime")

#: Streamlit's own clean-up, as found before :func:`keep_keras_state` replaced it.
streamlit_clean_up = None


def _clean_problem_modules_keeping_keras() -> None:
    """Streamlit's post-run clean-up without ``keras.backend.clear_session()``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # as Streamlit does: never let the clean-up break the app
            pass


def keep_keras_state() -> bool:
    """Install the clean-up that keeps Keras's state; True when it is in place (idempotent)."""
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:  # pragma: no cover - Streamlit reorganised its modules
        log.warning("streamlit's script runner moved: Keras state is cleared after every run")
        return False
    if not hasattr(script_runner, "_clean_problem_modules"):
        log.warning("streamlit no longer has _clean_problem_modules: nothing to patch")
        return False
    global streamlit_clean_up
    current = script_runner._clean_problem_modules
    if current is not _clean_problem_modules_keeping_keras:
        streamlit_clean_up = current
        script_runner._clean_problem_modules = _clean_problem_modules_keeping_keras
    return True


_preload_lock = threading.Lock()
_preload_thread: "threading.Thread | None" = None


def preload() -> "threading.Thread":
    """Once per server process: start the Dask cluster the jobs run on (in the background; its
    workers import the backends as they start), then import the backends here too, in a
    background thread, for drawing results.

    Called on the first script run, so the first visitor's first training does not wait for the
    workers or TensorFlow to load.
    """
    global _preload_thread
    from clustering import cluster

    with _preload_lock:
        if _preload_thread is None:
            cluster.start()
            _preload_thread = threading.Thread(target=_after_the_workers, args=(import_backends,),
                                               name="clustermap-preload", daemon=True)
            _preload_thread.start()
        return _preload_thread


def import_backends() -> None:
    """:func:`clustering.preload.import_all`: the registered methods' modules (a method
    registered by a plug-in included) and the common ones; a failure is logged."""
    from clustering.preload import import_all

    import_all()


def _after_the_workers(then) -> None:
    """Run ``then`` once the cluster has started (or failed to): the workers import TensorFlow
    first, so that on a small machine the first training is not slowed by the web process
    importing it at the same moment."""
    from clustering import cluster

    try:
        cluster.client()
    except Exception:  # noqa: BLE001 - the pages report a cluster that did not start
        pass
    then()
