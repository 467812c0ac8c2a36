"""The result of a run as the pages draw it and the session keeps it (no Streamlit).

:class:`MethodResult` holds a finished (or stopped) run: its labels, probabilities, estimator,
quality figures and its full :class:`~clustering.runconfig.RunConfig` (loading that JSON back
reproduces the run); :func:`status_word` says how it ended; :func:`object_ids` names its objects;
:func:`quality` scores a partition.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from clustering.i18n import _


@dataclass
class MethodResult:
    """A finished (or stopped) run as the pages need it."""

    method: str
    config: Any  # cfg.RunConfig; cfg.ComparisonConfig for a comparison
    labels: np.ndarray
    proba: Optional[np.ndarray]
    estimator: Any
    metrics: dict
    elapsed: float
    stopped: bool = False
    data_token: int = 0
    #: Why training ended early: "" (it did not), "user" (Stop) or "time" (the time cap).
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)

    def __getstate__(self) -> dict:
        """What travels from the job's worker to the web process: a network goes as its
        ``.keras`` bytes (``extra["keras_bytes"]``), not as a live Keras model, whose rebuilding
        took the web process 2 to 10 s of CPU per result with ten sessions training;
        :func:`estimator_with_model` loads it again (``safe_mode=True``) where a view needs it."""
        state = dict(self.__dict__)
        if getattr(self.estimator, "model_", None) is not None:
            from ui.result_files import model_bytes

            model_bytes(self)
            light = copy.copy(self.estimator)
            light.model_ = None
            state["estimator"] = light
        return state

    @property
    def n_clusters(self) -> int:
        if self.proba is not None:
            return int(self.proba.shape[1])
        return int(self.labels.max()) + 1 if self.labels.size else 0


def status_word(result: MethodResult) -> str:
    """How training ended: finished, stopped by the user, or stopped at the time cap."""
    if result.stop_reason == "time":
        return _("Stopped at the time cap")
    return _("Stopped by you") if result.stopped else _("Trained")


def object_ids(dataset) -> list[str]:
    ids = getattr(dataset, "ids", None)
    return [str(i) for i in (ids if ids is not None else range(1, dataset.X.shape[0] + 1))]


def quality(X: np.ndarray, labels: np.ndarray, y_true=None) -> dict:
    """:func:`clustering.metrics.quality_report` (name -> float, NaN where undefined)."""
    from clustering import metrics

    return {str(k): float(v) for k, v in metrics.quality_report(X, labels, y_true=y_true).items()}
