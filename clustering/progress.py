"""Progress reporting and cooperative stopping shared by every estimator.

Estimators accept ``fit(X, ..., callback=None, stop=None)``:

* ``callback`` is called with a :class:`Progress` every few steps and once at the end;
* ``stop`` is any object with an ``is_set()`` method (e.g. :class:`threading.Event`); when it is set,
  training ends after the current step and the estimator keeps what it has learned so far.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


#: A ready stop signal: ``stop = StopToken(); ...; stop.set()``.
StopToken = threading.Event


@dataclass
class Progress:
    """One progress report.

    Attributes
    ----------
    method : str
        Short name of the reporting estimator (``"neural"``, ``"som"``, ``"qbm"``...).
    step : int
        Steps done so far (epochs, training steps, or maps trained).
    total : int
        Largest number of steps the run may take.
    metrics : dict of str to float
        Current figures, e.g. ``{"loss": -2.93}``.
    message : str
        Human-readable status line.
    payload : callable or None
        Computes a heavier snapshot on request (e.g. the current membership probabilities), so a
        caller that does not draw pays nothing.
    done : bool
        True on the final report.
    """

    method: str
    step: int
    total: int
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    payload: Optional[Callable[[], Any]] = None
    done: bool = False

    @property
    def fraction(self) -> float:
        """Share of the run done, in [0, 1].

        When the metrics say which restart runs (all of :data:`RESTART_METRICS`), the share of
        :func:`restart_fraction`, so a restart ended by early stopping counts as complete;
        else ``step / total`` (the SOM's steps, the ensemble's maps).
        """
        m = self.metrics
        if all(k in m for k in RESTART_METRICS):
            return restart_fraction(m["restart"], m["n_restarts"], m["epoch"], m["max_epochs"],
                                    early_stopped=bool(m.get("early_stopped", 0)))
        return 1.0 if self.total <= 0 else min(1.0, self.step / self.total)


#: Metrics that locate a run of restarts (1-based restart, restarts, epoch, most epochs).
RESTART_METRICS = ("restart", "n_restarts", "epoch", "max_epochs")
#: Metrics that say where training stands rather than how well it does: never drawn as curves.
STATUS_METRICS = RESTART_METRICS + ("best_loss", "elapsed", "early_stopped")


def restart_fraction(restart: float, n_restarts: float, epoch: float, max_epochs: float, *,
                     early_stopped: bool = False) -> float:
    """Share of a run of ``n_restarts`` restarts done, in [0, 1].

    ``(restart - 1 + share) / n_restarts`` with ``share = epoch / max_epochs`` for the running
    restart (``restart`` is 1-based), and ``share = 1`` once early stopping ended it: the
    bar moves by restarts and never sits at the few per cent of epochs an early-stopped
    restart uses of ``max_epochs``.
    """
    R, E = max(1.0, float(n_restarts)), max(1.0, float(max_epochs))
    share = 1.0 if early_stopped else min(1.0, max(0.0, float(epoch) / E))
    return min(1.0, max(0.0, (float(restart) - 1.0 + share) / R))


def stop_requested(stop: Optional[StopSignal]) -> bool:
    """True when ``stop`` is given and set."""
    return stop is not None and bool(stop.is_set())
