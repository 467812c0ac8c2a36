"""Compiled training loops of the neural clustering: one small adapter per Keras backend.

The maths (network, loss) is ``keras.ops`` and runs on any backend; what a backend supplies is the
compiled loop that runs many optimiser steps per call (Keras' own ``fit`` costs ~27 ms of fixed
overhead per call at N = 500, more than a hundred of these steps). :class:`Trainer` holds what the
loops share (the epochs and batches, the optimiser's reset, the sharpness, the final pass);
:func:`make_trainer` picks the adapter of ``keras.backend.backend()`` (set by ``KERAS_BACKEND``):

* TensorFlow (:mod:`clustering.training.tensorflow_loop`, the default): a ``tf.function`` over a
  ``tf.while_loop`` of gradient-tape steps;
* JAX (:mod:`clustering.training.jax_loop`): ``jax.jit`` over a ``jax.lax.fori_loop`` of steps
  built from ``model.stateless_call`` and the optimiser's ``stateless_apply``.

PyTorch is not supported: it has no compiled loop as cheap to write (``torch.compile`` of a
Python loop recompiles per shape and needs a C++ tool chain), and the eager steps are the cost
this package exists to avoid.
"""
from __future__ import annotations

from typing import Optional

import keras

from clustering.errors import ConfigError
from clustering.i18n import N_
from clustering.training.trainer import MAX_BATCH_STEPS_PER_CALL, STEPS_PER_CALL, Trainer

__all__ = ["Trainer", "make_trainer", "BACKENDS", "STEPS_PER_CALL", "MAX_BATCH_STEPS_PER_CALL"]

#: Keras backends with a compiled training loop.
BACKENDS = ("tensorflow", "jax")


def make_trainer(model, optimizer, objective, *, batch_size: Optional[int] = None,
                 seed: int = 0) -> Trainer:
    """The compiled training loop of ``model`` on ``objective`` for the running Keras backend.

    Raises
    ------
    ConfigError
        Under a backend without a loop (PyTorch, NumPy), naming ``KERAS_BACKEND``.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from clustering.training.tensorflow_loop import TensorFlowTrainer as cls
    elif backend == "jax":
        from clustering.training.jax_loop import JaxTrainer as cls
    else:
        raise ConfigError(N_("Neural clustering trains with the {first} or {second} Keras "
                             "backend, not {backend}; set KERAS_BACKEND=tensorflow (or jax)."),
                          first=BACKENDS[0], second=BACKENDS[1], backend=backend)
    return cls(model, optimizer, objective, batch_size=batch_size, seed=seed)
