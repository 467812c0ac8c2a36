"""The memory budget of a job: how many bytes a fit may take, read from a setting or the machine.

Every estimator checks its estimated peak memory against :func:`memory_limit_bytes` before it
starts: the estimator's ``memory_limit`` when given, else the environment variable
:data:`MEMORY_ENV`, else a share of one Dask worker's memory limit (see
:mod:`clustering.resources`, which follows the container's cgroup limits). :func:`parse_bytes`
reads sizes such as ``8G`` and :func:`fmt_bytes` writes them for messages.
"""
from __future__ import annotations

import math

from clustering.errors import ConfigError
from clustering.i18n import N_, Message, Text

__all__ = ["MEMORY_ENV", "parse_bytes", "memory_limit_bytes", "fmt_bytes"]

#: Environment variable with the memory budget of a job (``8G``, ``512M`` or bytes).
MEMORY_ENV = "CLUSTERMAP_MEMORY_LIMIT"


def parse_bytes(text, where: str = MEMORY_ENV) -> int:
    """``"8G"``, ``"512M"``, ``"1.5GB"`` or ``"8000000000"`` as bytes (powers of 1024)."""
    units = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30,
             "GB": 2**30, "T": 2**40, "TB": 2**40}
    t = str(text).strip().upper().replace("IB", "B")
    num = t.rstrip("KMGTB")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        value = float("nan")
    if unit not in units or not math.isfinite(value) or value <= 0:
        raise ConfigError(N_("{where}: expected bytes such as 8000000000 or 8G, got {text!r}."),
                          where=where, text=text)
    return int(value * units[unit])


def memory_limit_bytes(memory_limit=None) -> int:
    """The memory budget of a job: ``memory_limit`` (bytes) when given, else
    :func:`clustering.resources.job_memory` (``CLUSTERMAP_MEMORY_LIMIT``, else a share of the
    memory limit of one Dask worker, which follows the container's cgroup limits)."""
    if memory_limit is not None:
        if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, float)) \
                or not memory_limit >= 1 or not math.isfinite(memory_limit):
            raise ConfigError(N_("memory_limit: expected a number of bytes >= 1 or null, got "
                                 "{value!r}."), value=memory_limit)
        return int(memory_limit)
    from clustering.resources import job_memory

    return job_memory()


#: A size's text per unit (powers of 1024), translated where it is shown ("1,5 КБ").
_SIZE_UNITS = (N_("{size:.0f} B"), N_("{size:.1f} KB"), N_("{size:.1f} MB"), N_("{size:.1f} GB"),
               N_("{size:.1f} TB"))


def fmt_bytes(n: float) -> Text:
    """``1536`` -> ``"1.5 KB"`` (powers of 1024): the English text, shown in the reader's
    language by ``i18n.text`` (a :class:`~clustering.i18n.Text`)."""
    n = float(n)
    for template in _SIZE_UNITS[:-1]:
        if n < 1024:
            return Text(Message(template, size=n))
        n /= 1024.0
    return Text(Message(_SIZE_UNITS[-1], size=n))
