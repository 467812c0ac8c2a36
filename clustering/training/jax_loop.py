"""The JAX training loop: ``jax.jit`` over a ``jax.lax.fori_loop`` of stateless steps.

A step is ``jax.value_and_grad`` of the objective's loss through ``model.stateless_call``,
then the optimiser's ``stateless_apply``; the weights, the network's fixed variables (the
sharpness, the standardisation, the Fourier features) and the optimiser's state travel as
arguments and come back as results, and are written back to the Keras variables after each call.
The step count is an argument and the loss buffer has the fixed size of the longest call, so one
compilation serves every call; the objective's tensors are arguments too (never constants
folded into the program). A dense objective is differentiated in its symmetric form
(:func:`clustering.objectives.symmetric_cluster_loss`): the same loss and gradient, one N x N
product a step instead of two.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from clustering.training.trainer import Trainer

__all__ = ["JaxTrainer"]


class JaxTrainer(Trainer):
    """:class:`~clustering.training.trainer.Trainer` compiled by JAX."""

    def __init__(self, model, optimizer, objective, **kwargs):
        super().__init__(model, optimizer, objective, **kwargs)
        cap = self.epochs_per_call * self.steps_per_epoch  # the most steps of one call
        # a dense symmetric kernel: the gradient through one product (XLA's transposed product
        # is the slow part of a dense step on CPU)
        value = getattr(objective, "symmetric_value", objective.value)

        def loss_of(trainable, fixed, data, idx):
            p, _ = model.stateless_call(trainable, fixed, objective.inputs(data, idx),
                                        training=True)
            return value(data, p, idx)

        grad = jax.value_and_grad(loss_of)

        def step(state, data, idx):
            trainable, fixed, slots = state
            loss, grads = grad(trainable, fixed, data, idx)
            trainable, slots = optimizer.stateless_apply(slots, grads, trainable)
            return (trainable, fixed, slots), loss.astype(jnp.float32)

        def loop(state, data, n_steps, batch_of):
            def body(i, carry):
                state, losses = carry
                state, loss = step(state, data, batch_of(i))
                return state, losses.at[i].set(loss)

            return jax.lax.fori_loop(0, n_steps, body, (state, jnp.zeros(cap, jnp.float32)))

        self._run = jax.jit(lambda state, data, n: loop(state, data, n, lambda i: None))
        self._run_b = jax.jit(lambda state, data, idx, n: loop(state, data, n,
                                                               lambda i: idx[i]))
        self._cap = cap

    def _state(self):
        return ([v.value for v in self.model.trainable_variables],
                [v.value for v in self.model.non_trainable_variables],
                [v.value for v in self.optimizer.variables])

    def _store(self, state):
        trainable, _, slots = state
        for v, value in zip(self.model.trainable_variables, trainable):
            v.assign(value)
        for v, value in zip(self.optimizer.variables, slots):
            v.assign(value)

    def _run_full(self, n_steps: int) -> np.ndarray:
        state, losses = self._run(self._state(), self.objective.data, n_steps)
        self._store(state)
        return np.asarray(losses[:n_steps])

    def _run_batches(self, idx: np.ndarray) -> np.ndarray:
        n_steps = idx.shape[0]
        padded = np.zeros((self._cap, idx.shape[1]), dtype=np.int32)
        padded[:n_steps] = idx
        state, losses = self._run_b(self._state(), self.objective.data, padded, n_steps)
        self._store(state)
        return np.asarray(losses[:n_steps])
