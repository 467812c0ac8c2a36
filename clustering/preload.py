"""Import the methods' backends ahead of the first job (TensorFlow through Keras alone takes
several seconds of CPU).

Used twice: every Dask worker runs it when it starts (``dask_setup``, Dask's preload hook, named
in the embedded cluster's ``preload`` and in ``dask worker --preload clustering.preload``), so the
first job does not pay the imports; the web process imports the same modules in the background to
draw results.
"""
from __future__ import annotations

import importlib
import logging
import os

log = logging.getLogger("clustermap.preload")

#: Modules every job or results page needs, whatever its method.
COMMON_MODULES = ("clustering.metrics", "clustering.plots", "clustering.tasks")


def modules() -> tuple[str, ...]:
    """The registered methods' modules (:func:`clustering.registry.preload_modules`), then
    :data:`COMMON_MODULES`."""
    from clustering import registry

    return registry.preload_modules() + COMMON_MODULES


def import_all() -> None:
    """Import :func:`modules`; a failure is logged (the job that needs the module reports it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    for name in modules():
        try:
            importlib.import_module(name)
        except Exception:
            log.warning("preloading %s failed", name, exc_info=True)


def lower_priority() -> None:
    """Raise this process's niceness by :func:`clustering.resources.worker_niceness`, so that on
    a machine it shares with the web server, the server's answers come before training."""
    from clustering import resources

    step = resources.worker_niceness()
    if step and hasattr(os, "nice"):
        try:
            os.nice(step)
        except OSError:
            log.warning("could not lower the worker's priority", exc_info=True)


def dask_setup(worker=None) -> None:
    """Dask's preload hook: lower the worker's priority, then import the backends."""
    lower_priority()
    import_all()
