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
        """Share of the maximum number of steps done, in [0, 1]."""
        return 1.0 if self.total <= 0 else min(1.0, self.step / self.total)


def stop_requested(stop: Optional[StopSignal]) -> bool:
    """True when ``stop`` is given and set."""
    return stop is not None and bool(stop.is_set())
