"""The network of the neural soft clustering: its Keras layers, its builder and its optimiser.

A network maps each point x_i to membership probabilities ``p_i = softmax(A * f(x_i))`` over K
clusters (the sharpened softmax of the neural clustering notes): an optional standardisation,
optional fixed random Fourier features of the input, Dense hidden layers, K logits and
:class:`SharpSoftmax`. Everything is ``keras.ops``, so it runs on any Keras backend; the two layers
are registered for ``model.save`` / ``keras.models.load_model``.
"""
from __future__ import annotations

import math
from typing import Optional

import keras
from keras import ops

__all__ = ["SharpSoftmax", "FourierFeatures", "build_model", "make_optimizer", "OPTIMIZERS",
           "ACTIVATIONS"]

#: Optimisers by name (Keras classes), each built with the given learning rate.
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "nadam": "Nadam", "rmsprop": "RMSprop",
              "sgd": "SGD", "adagrad": "Adagrad", "adamax": "Adamax"}
#: Activations of the hidden layers.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "selu", "gelu", "swish", "softplus", "linear")


@keras.saving.register_keras_serializable(package="clustermap")
class SharpSoftmax(keras.layers.Layer):
    """``softmax(A * z)`` per row: the sharpened softmax.

    The reference implementation subtracted the global maximum of the whole batch, so rows far
    below it underflowed to 0/0 (NaN on circles); ``keras.ops.softmax`` subtracts each row's own
    maximum, which is the same function and cannot overflow or underflow to 0/0. ``A`` is held in a
    non-trainable variable so it can be annealed during training without recompiling.
    """

    def __init__(self, sharpness: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_sharpness = float(sharpness)

    def build(self, input_shape):
        self.sharpness = self.add_weight(shape=(), initializer=keras.initializers.Constant(
            self.initial_sharpness), trainable=False, name="sharpness")

    def call(self, z):
        if z.shape[-1] == 1:  # one cluster: every point in it (keras warns on a size-1 softmax)
            return ops.ones_like(z)
        return ops.softmax(ops.cast(self.sharpness, z.dtype) * z, axis=-1)

    def get_config(self):
        config = super().get_config()
        value = self.initial_sharpness
        if self.built:
            value = float(ops.convert_to_numpy(self.sharpness))
        config["sharpness"] = value
        return config


@keras.saving.register_keras_serializable(package="clustermap")
class FourierFeatures(keras.layers.Layer):
    """Fixed random Fourier features ``sqrt(2/D) cos(x W / scale + b)`` (Rahimi & Recht 2007).

    ``W ~ N(0, 1)``, ``b ~ U(0, 2 pi)``, drawn once from ``seed`` and not trained: the layer lets a
    small network represent curved cluster boundaries at length scale ``scale``. Keras 3 has no such
    layer (tf.keras' experimental one was not carried over), hence this one.
    """

    def __init__(self, units: int, scale: float = 1.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale, self.seed = int(units), float(scale), int(seed)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(shape=(dim, self.units), trainable=False, name="kernel",
                                      initializer=keras.initializers.RandomNormal(
                                          stddev=1.0, seed=self.seed))
        self.bias = self.add_weight(shape=(self.units,), trainable=False, name="bias",
                                    initializer=keras.initializers.RandomUniform(
                                        0.0, 2 * math.pi, seed=self.seed + 1))

    def call(self, x):
        z = ops.matmul(x, ops.cast(self.kernel, x.dtype)) / self.scale + ops.cast(self.bias,
                                                                                  x.dtype)
        return math.sqrt(2.0 / self.units) * ops.cos(z)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, scale=self.scale, seed=self.seed)
        return config


def build_model(p: dict, n_features: int, seed: int, scaler=None,
                activation: str = "relu") -> keras.Model:
    """The network for the checked parameters ``p`` (``n_clusters``, ``hidden_layers``,
    ``fourier_features``, ``fourier_scale``, ``sharpness``, ``sharpness_start``): raw x ->
    probabilities, the fitted ``scaler`` (a ``StandardScaler`` or None) included as its first
    layer. ``seed`` fixes every initial weight, so the same seed builds the same network."""
    inputs = keras.Input(shape=(n_features,), name="x")
    h = inputs
    if scaler is not None:
        h = keras.layers.Normalization(mean=scaler.mean_, variance=scaler.scale_ ** 2,
                                       name="standardize")(h)
    if p["fourier_features"]:
        h = FourierFeatures(p["fourier_features"], p["fourier_scale"], seed=seed + 7919,
                            name="fourier")(h)
    for i, units in enumerate(p["hidden_layers"]):
        h = keras.layers.Dense(units, activation=activation, name=f"hidden_{i + 1}",
                               kernel_initializer=keras.initializers.GlorotUniform(
                                   seed=seed + i))(h)
    z = keras.layers.Dense(p["n_clusters"], name="logits",
                           kernel_initializer=keras.initializers.GlorotUniform(
                               seed=seed + 1000))(h)
    out = SharpSoftmax(p["sharpness_start"] or p["sharpness"], name="sharp_softmax")(z)
    return keras.Model(inputs, out, name="neural_soft_clustering")


def make_optimizer(name: str, learning_rate: float,
                   options: Optional[dict] = None) -> keras.optimizers.Optimizer:
    """The Keras optimiser ``name`` (a key of :data:`OPTIMIZERS`, any case) at
    ``learning_rate``, Keras' defaults otherwise."""
    cls = getattr(keras.optimizers, OPTIMIZERS[name.lower()])
    return cls(learning_rate=learning_rate, **(options or {}))
