"""What every backend's training loop shares: epochs, batches, the optimiser's reset, the output.

Full batch: ``run(n)`` does n optimiser steps (epochs) in one compiled call and returns the loss
of each step, computed before its update as Keras reports it. Mini-batch (an objective with
``batched`` and ``batch_size < N``): ``run(n)`` does n epochs of ``steps_per_epoch`` steps on
random batches drawn here (seeded, the same on every backend), one compiled call, and returns
each epoch's mean batch loss. A backend's adapter implements :meth:`Trainer._run_full` and
:meth:`Trainer._run_batches`.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from keras import ops

__all__ = ["Trainer", "STEPS_PER_CALL", "MAX_BATCH_STEPS_PER_CALL"]

#: Optimiser steps run per compiled call (and the most epochs between two progress reports).
STEPS_PER_CALL = 50
#: Optimiser steps per compiled call on the mini-batch paths (epochs per call adapt to it).
MAX_BATCH_STEPS_PER_CALL = 200
#: Points per forward pass of the final probabilities.
_FORWARD_ROWS = 65536


class Trainer:
    """The compiled training loop of ``model`` on ``objective`` (see the module notes)."""

    def __init__(self, model, optimizer, objective, *, batch_size: Optional[int] = None,
                 seed: int = 0):
        self.model, self.optimizer, self.objective = model, optimizer, objective
        self.x = objective.x
        n = objective.n
        self.batched = bool(objective.batched and batch_size is not None and batch_size < n)
        self.steps_per_epoch = math.ceil(n / batch_size) if self.batched else 1
        self.batch = math.ceil(n / self.steps_per_epoch) if self.batched else n
        self.epochs_per_call = (max(1, MAX_BATCH_STEPS_PER_CALL // self.steps_per_epoch)
                                if self.batched else STEPS_PER_CALL)
        self._rng = np.random.RandomState(seed)
        optimizer.build(model.trainable_variables)
        self._opt_initial = [ops.convert_to_numpy(v) for v in optimizer.variables]
        self._softmax = model.get_layer("sharp_softmax")

    # ------------------------------------------------------------------------------- adapters
    def _run_full(self, n_steps: int) -> np.ndarray:
        """``n_steps`` full-batch steps; the loss of each."""
        raise NotImplementedError

    def _run_batches(self, idx: np.ndarray) -> np.ndarray:
        """One step per row of ``idx`` (steps, batch) int32; the loss of each."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------- shared
    def reset(self):
        """Forget the optimiser's state (moments, step count) for a new restart."""
        for v, value in zip(self.optimizer.variables, self._opt_initial):
            v.assign(value)

    def set_sharpness(self, value: float):
        self._softmax.sharpness.assign(float(value))

    def _batches(self, n_epochs: int) -> np.ndarray:
        """Each epoch a random permutation of the points cut into equal batches (the last one
        topped up with random points so every step has the same shape)."""
        n, S, B = self.objective.n, self.steps_per_epoch, self.batch
        out = np.empty((n_epochs, S * B), dtype=np.int32)
        for e in range(n_epochs):
            perm = self._rng.permutation(n)
            out[e, :n] = perm
            out[e, n:] = self._rng.randint(0, n, size=S * B - n)
        return out.reshape(n_epochs * S, B)

    def run(self, n_epochs: int) -> np.ndarray:
        """``n_epochs`` epochs in one compiled call; each epoch's loss (float64)."""
        if not self.batched:
            return np.asarray(self._run_full(int(n_epochs))).astype(float)
        losses = np.asarray(self._run_batches(self._batches(int(n_epochs))))
        return losses.astype(float).reshape(int(n_epochs), self.steps_per_epoch).mean(axis=1)

    def proba(self) -> np.ndarray:
        """The network's probabilities on all the points (float64)."""
        x = self.x
        return np.concatenate([np.asarray(ops.convert_to_numpy(self.model(
            x[i:i + _FORWARD_ROWS], training=False)), dtype=np.float64)
            for i in range(0, int(x.shape[0]), _FORWARD_ROWS)], axis=0)

    def loss(self) -> float:
        """The loss of the current network on all the points (exact for a factored kernel)."""
        return self.objective.evaluate(self.proba())
