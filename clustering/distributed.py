"""Where the heavy loops run: this process, an embedded Dask ``LocalCluster``, or an existing
Dask cluster.

The SOM's batch training (its per-chunk sums) and the quasi-Bayesian ensemble (its maps) take a
``scheduler`` setting:

``None`` (default)
    The address or keyword in the environment variable ``CLUSTERMAP_DASK_SCHEDULER`` when it is
    set, else ``"local"``.
``"local"``
    No Dask: this process (the ensemble: joblib processes when ``n_jobs`` > 1).
``"auto"``
    ``"local"`` for a small job (estimated under :data:`AUTO_MIN_OPS` floating-point operations,
    where starting worker processes costs more than it saves) or when only one worker is
    allowed; otherwise an embedded ``LocalCluster``.
``"localcluster"``
    An embedded Dask ``LocalCluster`` of ``n_jobs`` worker processes (one thread each; ``None``
    or -1: one per core), started for the fit and closed after it.
an address such as ``"tcp://10.0.0.5:8786"``
    An existing Dask cluster's scheduler. Its workers need this package and the same versions
    of numpy, scipy and scikit-learn (results are then identical to the local path).

Results do not depend on the path: every task is seeded as on the local path and the partial
sums are added in the same order. Dask is imported only when a run asks for it, so importing
:mod:`clustering` stays fast and nothing is started unless asked.

The memory budget a job is checked against before it starts is :mod:`clustering.memory`'s.
"""
from __future__ import annotations

import logging
import math
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator, Optional

from clustering.errors import ClusteringError, ConfigError
from clustering.i18n import Message, N_, Text
# The memory budget lives in clustering.memory; its names stay importable from here until every
# caller imports them from there.
from clustering.memory import MEMORY_ENV, fmt_bytes, memory_limit_bytes, parse_bytes  # noqa: F401

#: Environment variable naming the default scheduler (an address or a keyword).
SCHEDULER_ENV = "CLUSTERMAP_DASK_SCHEDULER"
KEYWORDS = ("local", "auto", "localcluster")
#: Address schemes Dask understands.
SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
#: ``scheduler="auto"``: jobs below this many floating-point operations stay local (about ten
#: seconds of one core; a LocalCluster takes 2-4 s to start and its transfers cost too).
AUTO_MIN_OPS = 5e10
#: Seconds to wait for an existing scheduler and its first worker.
CONNECT_TIMEOUT = 10.0
PATHS = {"local": "local", "localcluster": "Dask LocalCluster", "remote": "Dask scheduler"}


# ----------------------------------------------------------------------------------- scheduler
def check_scheduler(value, where: str = "scheduler") -> Optional[str]:
    """``value`` if it is None, a keyword of :data:`KEYWORDS` or a Dask address; else a
    :class:`ConfigError` naming ``where``."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in KEYWORDS:
            return text.lower()
        scheme, sep, rest = text.partition("://")
        if sep and scheme.lower() in SCHEMES and rest and not any(c.isspace() for c in rest):
            return text
    raise ConfigError(N_("{where}: expected 'local', 'auto', 'localcluster' or a Dask scheduler "
                         "address such as 'tcp://10.0.0.5:8786', got {value!r}."), where=where,
                      value=value)


def resolve_scheduler(value) -> str:
    """The scheduler a run uses: ``value``, else ``CLUSTERMAP_DASK_SCHEDULER``, else "local"."""
    value = check_scheduler(value)
    if value is not None:
        return value
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    if env:
        return check_scheduler(env, SCHEDULER_ENV)
    return "local"


def check_n_jobs(value, where: str = "n_jobs") -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise ConfigError(N_("{where}: expected a non-zero integer (-1: every core) or null, "
                             "got {value!r}."), where=where, value=value)


def local_workers(n_jobs) -> int:
    """Worker processes of an embedded LocalCluster: ``n_jobs``; None or -1: one per core
    (-2: all but one, as in joblib)."""
    check_n_jobs(n_jobs)
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return cores
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return int(n_jobs)


@dataclass(frozen=True)
class Execution:
    """Where a run went.

    Attributes
    ----------
    path : {"local", "localcluster", "remote"}
        This process (or joblib), an embedded Dask LocalCluster, an existing Dask scheduler.
    workers : int
        Processes that ran the tasks (1 for this process alone).
    address : str or None
        The scheduler's address (Dask paths).
    reason : str
        Why this path (the setting that chose it).
    """

    path: str
    workers: int
    address: Optional[str]
    reason: str

    def describe(self) -> Text:
        """One line for the app, e.g. ``"Dask LocalCluster, 2 workers"`` (the English text,
        shown in the reader's language by ``i18n.text``)."""
        label = PATHS[self.path]
        if self.path == "remote":
            label += f" {self.address}"
        template = (N_("{label}, {n} worker") if self.workers == 1 else
                    N_("{label}, {n} workers"))
        return Text(Message(template, label=label, n=self.workers))

    def as_dict(self) -> dict:
        return asdict(self)


def local_execution(reason: str, workers: int = 1) -> Execution:
    return Execution("local", int(workers), None, reason)


def _import_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError as err:  # pragma: no cover - dask is a requirement
        raise ConfigError(N_("scheduler: Dask is not installed (pip install "
                             "'dask[distributed]'); set scheduler='local' or unset "
                             "CLUSTERMAP_DASK_SCHEDULER.")) from err
    return distributed


@contextmanager
def dask_session(scheduler, n_jobs=None, *, ops: float = math.inf,
                 max_tasks: Optional[int] = None) -> Iterator[tuple[Execution, object]]:
    """Yield ``(execution, client)`` for a run; ``client`` is None on the local path.

    ``scheduler`` as the estimators take it (see the module notes); ``n_jobs``: workers of an
    embedded LocalCluster; ``ops``: the job's estimated floating-point operations (for
    ``"auto"``); ``max_tasks``: no more workers than tasks. A LocalCluster or client started
    here is closed on exit, also after an error; an existing cluster is left running.
    """
    chosen = resolve_scheduler(scheduler)
    src = "scheduler setting" if check_scheduler(scheduler) is not None else SCHEDULER_ENV
    if chosen == "local":
        yield local_execution("scheduler='local'" if src == "scheduler setting" else
                              f"no Dask scheduler set ({SCHEDULER_ENV})"), None
        return
    if chosen in ("auto", "localcluster"):
        workers = local_workers(n_jobs)
        if max_tasks is not None:
            workers = max(1, min(workers, int(max_tasks)))
        if chosen == "auto" and (workers < 2 or ops < AUTO_MIN_OPS):
            why = ("one worker allowed" if workers < 2 else
                   f"a small job (about {ops:.2g} operations, under {AUTO_MIN_OPS:.0e})")
            yield local_execution(f"scheduler='auto': {why}, run here"), None
            return
        with _embedded_cluster(chosen, src, workers) as session:
            yield session
        return
    with _existing_cluster(chosen, src) as session:
        yield session


@contextmanager
def _embedded_cluster(chosen: str, src: str, workers: int) -> Iterator[tuple[Execution, object]]:
    """A LocalCluster of ``workers`` processes and its client, closed on exit."""
    distributed = _import_distributed()
    cluster = client = None
    try:
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                           processes=True, dashboard_address=None,
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        yield (Execution("localcluster", workers, cluster.scheduler_address,
                         f"scheduler='{chosen}' ({src}): embedded LocalCluster of "
                         f"{workers} processes"), client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _existing_cluster(address: str, src: str) -> Iterator[tuple[Execution, object]]:
    """A client of the scheduler at ``address`` with at least one worker, closed on exit (the
    cluster is left running)."""
    distributed = _import_distributed()
    where = Message(N_("scheduler setting")) if src == "scheduler setting" else src
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ClusteringError(N_("{where}: no Dask scheduler answered at {address} within "
                                 "{timeout:g} s ({error}); check the address, or set "
                                 "scheduler='local' / unset {env} to run here."), where=where,
                              address=address, timeout=CONNECT_TIMEOUT,
                              error=type(err).__name__, env=SCHEDULER_ENV) from None
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            raise ClusteringError(N_("{where}: the Dask scheduler at {address} has no workers; "
                                     "start some (dask worker {address}) or run locally."),
                                  where=where, address=address) from None
        workers = len(client.nthreads()) or 1
        yield Execution("remote", workers, address, f"{src}: existing Dask scheduler"), client
    finally:
        client.close()


__all__ = ["SCHEDULER_ENV", "MEMORY_ENV", "KEYWORDS", "AUTO_MIN_OPS", "Execution",
           "check_scheduler", "resolve_scheduler", "local_workers", "dask_session",
           "memory_limit_bytes", "parse_bytes", "fmt_bytes", "local_execution"]
