"""Upper bounds on the size of a job's settings, declared once and checked before any work.

A configuration can pass every type check and still ask for work that never ends or memory that
is not there (a million replicates, ``n_init = 1e9``, layers of 100,000 units). Each estimator
checks its settings against :data:`LIMITS` where it validates its parameters, so a page, a saved
run, a comparison and the CLI are all refused the same way, before anything is built or trained.

Every limit has a default generous enough for every preset, default and benchmark of the project,
and an environment variable that raises (or lowers) it, read on every check::

    CLUSTERMAP_MAX_EPOCHS=500000 clustermap run --config long.json

Memory is bounded separately (``memory_limit`` / ``CLUSTERMAP_MEMORY_LIMIT``, see
:func:`clustering.memory.memory_limit_bytes`); these bounds are structural and operation
counts.

Example
-------
>>> check("n_init", 10, "n_init")
10
>>> limit("n_init")
100
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Optional

from clustering.errors import ConfigError
from clustering.i18n import Message, N_

__all__ = ["Limit", "LIMITS", "limit", "check"]


@dataclass(frozen=True)
class Limit:
    """One upper bound: its default, the environment variable that overrides it, its meaning."""

    default: int
    env: str
    meaning: str


#: The bounds by name (see the module notes).
LIMITS: dict[str, Limit] = {
    "hidden_layers": Limit(16, "CLUSTERMAP_MAX_HIDDEN_LAYERS",
                           N_("hidden layers of the neural network")),
    "layer_units": Limit(4096, "CLUSTERMAP_MAX_LAYER_UNITS",
                         N_("units of one hidden layer of the neural network")),
    "fourier_features": Limit(16_384, "CLUSTERMAP_MAX_FOURIER_FEATURES",
                              N_("random Fourier features of the network's first layer")),
    "components": Limit(100_000, "CLUSTERMAP_MAX_COMPONENTS",
                        N_("Fourier features or landmarks of the neural approximate path")),
    "restarts": Limit(100, "CLUSTERMAP_MAX_RESTARTS",
                      N_("networks trained from new initial weights")),
    "epochs": Limit(100_000, "CLUSTERMAP_MAX_EPOCHS",
                    N_("training epochs: a network's epochs, a batch SOM's passes over the data")),
    "som_steps": Limit(10_000_000, "CLUSTERMAP_MAX_SOM_STEPS",
                       N_("objects presented one at a time by an online SOM")),
    "ensemble_maps": Limit(1000, "CLUSTERMAP_MAX_ENSEMBLE_MAPS",
                           N_("self-organizing maps trained by one ensemble")),
    "coassociation": Limit(20_000, "CLUSTERMAP_MAX_COASSOCIATION",
                           N_("objects of the ensemble's n x n co-association matrix")),
    "n_clusters": Limit(1000, "CLUSTERMAP_MAX_CLUSTERS", N_("clusters a method is asked to find")),
    "n_init": Limit(100, "CLUSTERMAP_MAX_N_INIT", N_("runs of a classic method from new starts")),
    "max_iter": Limit(10_000, "CLUSTERMAP_MAX_ITER",
                      N_("iterations of one run of a classic method")),
    "macqueen_ops": Limit(5_000_000_000, "CLUSTERMAP_MAX_MACQUEEN_OPS",
                          N_("MacQueen's work: objects x passes x clusters x features")),
}


def _known(name: str) -> Limit:
    try:
        return LIMITS[name]
    except KeyError:
        raise KeyError(f"unknown limit {name!r}; known: {', '.join(LIMITS)}") from None


def limit(name: str) -> int:
    """The bound ``name`` in force: its environment variable when set, else its default.

    Raises
    ------
    ConfigError
        When the environment variable is not a whole number >= 1 (``5e9`` and ``1_000`` are
        accepted); the message names the variable.
    """
    entry = _known(name)
    raw = os.environ.get(entry.env, "").strip()
    if not raw:
        return entry.default
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and value >= 1):
        raise ConfigError(N_("{env}: expected a whole number >= 1 ({meaning}), got {raw!r}."),
                          env=entry.env, meaning=Message(entry.meaning), raw=raw)
    return int(value)


class _Short(float):
    """A large number shown with three significant digits (``5e+10``) while it stays a number,
    so that a message writes it as the language does (a decimal comma in Russian)."""

    def __format__(self, spec: str) -> str:
        return float.__format__(self, spec or ".3g")


def _show(value):
    """``value`` as a message shows it: whole below 1e10, else with three significant digits."""
    return _Short(value) if value >= 1e10 else int(value)


def check(name: str, value, where: str, detail: Optional[str] = None):
    """Return ``value`` when it is within the bound ``name``; otherwise raise.

    Parameters
    ----------
    name : str
        A key of :data:`LIMITS`.
    value : int or float
        The number asked for (already type-checked by the caller).
    where : str
        The parameter (or the product of parameters) it comes from, first in the message.
    detail : str, optional
        How ``value`` was counted (e.g. ``"3000000 replicates x 3 x 3"``), shown before it.

    Raises
    ------
    ConfigError
        ``"<where>: <value> is above the limit of <limit> (<meaning>; setting <ENV>). Lower
        <where>, or raise the limit with the environment variable <ENV>."``
    """
    bound = limit(name)
    if value <= bound:
        return value
    entry = LIMITS[name]
    if detail:
        raise ConfigError(N_("{where}: {detail} = {value} is above the limit of {bound} "
                             "({meaning}; setting {env}). Lower {where}, or raise the limit "
                             "with the environment variable {env}."),
                          where=where, detail=detail, value=_show(value), bound=_show(bound),
                          meaning=Message(entry.meaning), env=entry.env)
    raise ConfigError(N_("{where}: {value} is above the limit of {bound} ({meaning}; setting "
                         "{env}). Lower {where}, or raise the limit with the environment "
                         "variable {env}."),
                      where=where, value=_show(value), bound=_show(bound),
                      meaning=Message(entry.meaning), env=entry.env)
