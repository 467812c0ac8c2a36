"""The TensorFlow training loop: a ``tf.function`` over a ``tf.while_loop`` of tape steps.

TensorFlow supplies only the compiled loop and the gradient tape; the maths is the objective's
``keras.ops``. At N = 500 one full-batch step costs about 0.5 ms on 2 CPU cores (figures:
``docs/neural.md``).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from clustering.objectives import DenseObjective
from clustering.training.trainer import Trainer

__all__ = ["TensorFlowTrainer"]


class TensorFlowTrainer(Trainer):
    """:class:`~clustering.training.trainer.Trainer` compiled by TensorFlow."""

    def __init__(self, model, optimizer, objective, **kwargs):
        super().__init__(model, optimizer, objective, **kwargs)
        variables = model.trainable_variables
        data = objective.data

        def step(idx):
            with tf.GradientTape() as tape:
                p = model(objective.inputs(data, idx), training=True)
                loss = objective.value(data, p, idx)
            # zero, not None, for weights the loss does not reach (one cluster: constant output)
            grads = [tf.zeros_like(v.value) if g is None else g
                     for g, v in zip(tape.gradient(loss, variables), variables)]
            optimizer.apply(grads, variables)
            return ops.cast(loss, "float32")

        def loop(n_steps, batch_of):
            losses = tf.TensorArray(tf.float32, size=n_steps)

            def body(i, losses):
                return i + 1, losses.write(i, step(batch_of(i)))

            _, losses = tf.while_loop(lambda i, _: i < n_steps, body, (tf.constant(0), losses))
            return losses.stack()

        # autograph off: the loop is an explicit tf.while_loop, and conversion costs tracing time
        @tf.function(autograph=False, reduce_retracing=True)
        def run(n_steps):
            return loop(n_steps, lambda i: None)

        @tf.function(autograph=False, input_signature=[tf.TensorSpec([None, None], tf.int32)])
        def run_batches(idx):
            return loop(tf.shape(idx)[0], lambda i: tf.gather(idx, i))

        @tf.function(autograph=False)
        def forward():
            p = model(objective.inputs(data), training=False)
            return p, objective.value(data, p)

        self._run, self._run_b, self._forward = run, run_batches, forward

    def _run_full(self, n_steps: int) -> np.ndarray:
        return self._run(tf.constant(n_steps, tf.int32)).numpy()

    def _run_batches(self, idx: np.ndarray) -> np.ndarray:
        return self._run_b(tf.constant(idx)).numpy()

    def proba(self) -> np.ndarray:
        if isinstance(self.objective, DenseObjective):
            return np.asarray(self._forward()[0].numpy(), dtype=np.float64)
        return super().proba()

    def loss(self) -> float:
        if isinstance(self.objective, DenseObjective):
            return float(self._forward()[1].numpy())
        return super().loss()
