"""What this server may use: worker processes, memory per worker, and a job's memory budget.

The figures follow the container, not the host: Dask's own readings are used
(``dask.system.CPU_COUNT`` honours the CPU affinity and the cgroup CPU quota;
``distributed.system.MEMORY_LIMIT`` the cgroup memory limit, v1 and v2, and ``RLIMIT_RSS``), so
a container given 2 CPUs and 4 GB of a 64-core host gets 2 workers and shares 4 GB.

Settings (environment variables), read on every call so a test or a deployment can change them:

``CLUSTERMAP_WORKERS``
    Worker processes of the embedded Dask cluster; default the container's CPU quota.
``CLUSTERMAP_WORKER_MEMORY``
    Memory limit of each worker (``2G``, ``512M`` or bytes); default the container's memory less
    the web process's share (:func:`web_reserve`), divided among the workers. A worker that goes
    over it is stopped by its Dask nanny and restarted; its job fails with a message naming this
    setting.
``CLUSTERMAP_WORKER_NICE``
    Niceness a worker adds to its own when it starts (0 to 19, default 10; 0 keeps the
    priority): the web server on the same machine answers before training goes on.
``CLUSTERMAP_MEMORY_LIMIT``
    The memory one job may plan for, checked before it starts; default the worker's limit less
    :data:`WORKER_BASELINE` (a worker with TensorFlow loaded takes about 0.8 GB before any job),
    and at least :data:`MIN_JOB_SHARE` of it.
"""
from __future__ import annotations

import logging
import os
from typing import Optional

from clustering.memory import MEMORY_ENV, parse_bytes

log = logging.getLogger("clustermap.resources")

WORKERS_ENV = "CLUSTERMAP_WORKERS"
WORKER_MEMORY_ENV = "CLUSTERMAP_WORKER_MEMORY"
WORKER_NICE_ENV = "CLUSTERMAP_WORKER_NICE"
#: Niceness a worker process takes when it starts: on a machine shared with the web server, the
#: server's answers (pages, the health endpoint) come before training.
DEFAULT_WORKER_NICE = 10
#: What a worker takes before its first job (Python, TensorFlow, scikit-learn: about 0.8 GB).
WORKER_BASELINE = 2**30
#: The smallest share of a worker's memory limit that a job may plan for by default.
MIN_JOB_SHARE = 0.25
#: The web process keeps this much of the container's memory, at most a quarter of it.
WEB_RESERVE = 1536 * 2**20


def cpu_quota() -> int:
    """CPUs this process may use: the affinity mask and the cgroup quota (at least 1)."""
    from dask.system import CPU_COUNT

    return max(1, int(CPU_COUNT))


def container_memory() -> int:
    """Bytes of memory of this container: the smallest of the physical memory, the cgroup
    limit and ``RLIMIT_RSS``."""
    from distributed.system import MEMORY_LIMIT

    return int(MEMORY_LIMIT)


def web_reserve(total: int) -> int:
    """Memory left to the web process: :data:`WEB_RESERVE`, at most a quarter of ``total``."""
    return min(WEB_RESERVE, total // 4)


def env_int(env: str, default: int, low: int = 1, high: Optional[int] = None) -> int:
    """The environment variable ``env`` as a whole number in ``[low, high]``, else ``default``. A
    bad value is logged and the default used (a server setting never stops the server starting)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
        if value < low or (high is not None and value > high):
            raise ValueError
    except ValueError:
        log.warning("%s=%r is not a whole number from %d%s; using %d", env, raw, low,
                    "" if high is None else f" to {high}", default)
        return default
    return value


def env_positive_int(env: str, default: int) -> int:
    """:func:`env_int` from 1 up."""
    return env_int(env, default)


def worker_niceness() -> int:
    """``CLUSTERMAP_WORKER_NICE`` (0 to 19), else :data:`DEFAULT_WORKER_NICE`."""
    return env_int(WORKER_NICE_ENV, DEFAULT_WORKER_NICE, low=0, high=19)


def worker_count() -> int:
    """Worker processes of the embedded cluster: ``CLUSTERMAP_WORKERS``, else :func:`cpu_quota`."""
    return env_positive_int(WORKERS_ENV, cpu_quota())


def worker_memory() -> int:
    """Memory limit of one worker in bytes: ``CLUSTERMAP_WORKER_MEMORY``, else the container's
    memory less :func:`web_reserve`, divided by :func:`worker_count`."""
    raw = os.environ.get(WORKER_MEMORY_ENV, "").strip()
    if raw:
        return parse_bytes(raw, WORKER_MEMORY_ENV)
    total = container_memory()
    return max(1, (total - web_reserve(total)) // worker_count())


def job_memory() -> int:
    """The memory one job may plan for: ``CLUSTERMAP_MEMORY_LIMIT``, else :func:`worker_memory`
    less :data:`WORKER_BASELINE`, at least :data:`MIN_JOB_SHARE` of it."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if raw:
        return parse_bytes(raw, MEMORY_ENV)
    limit = worker_memory()
    return int(max(limit - WORKER_BASELINE, limit * MIN_JOB_SHARE))


def describe() -> dict:
    """The figures above, for logs and the README's sizing table."""
    return {"cpus": cpu_quota(), "memory": container_memory(), "workers": worker_count(),
            "worker_memory": worker_memory(), "job_memory": job_memory()}
