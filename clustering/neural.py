"""Neural soft clustering with a proximity kernel: the estimator :class:`NeuralSoftClustering`.

A Keras network (:mod:`clustering.network`) maps each point x_i to membership probabilities
p_i = softmax(A * f(x_i)) over K clusters, and is trained without labels to minimise

    L = - sum_k (p_k . M p_k) / (sum_i p_ik)

for a proximity kernel M of the points (:mod:`clustering.kernels`; the sign is + for the spread
kernel M = d2, flagged ``minimise``): with hard assignments, the ratio association of kernel
k-means (:mod:`clustering.objectives`). The source notes number no formulas, so none are cited.

Training is full batch (one epoch = one optimiser step on all points) and compiled by the running
Keras backend (:mod:`clustering.training`: TensorFlow by default, or JAX): up to
:data:`STEPS_PER_CALL` steps per call, returning the loss of each, so early stopping is applied per
epoch exactly as Keras' ``EarlyStopping(monitor="loss", patience, min_delta)`` would (the chunk
never runs past the first epoch at which that rule could stop).

Large N (``solver``): the dense N x N kernel up to :data:`AUTO_DENSE_MAX_POINTS` points under
``solver="auto"``; beyond, the kernel's sparse form (exact, full batch) or its factored form
(random Fourier features, landmarks or the exact factor of the spread, on mini-batches: one epoch
is one pass over the points in random batches, and ``loss_history_`` holds each epoch's mean batch
loss). :mod:`clustering.neural_plan` chooses by a memory estimate, :meth:`NeuralSoftClustering.plan`
says what a fit would do before it starts, and ``solver_reason_`` records why.

Presets: :meth:`NeuralSoftClustering.seed_preset` repeats the configuration of the source notes
(raw data, rational kernel s = 0.1, ...); :meth:`NeuralSoftClustering.recommended` (also the
defaults) uses standardised inputs, the diffusion kernel of the kNN graph and 5 restarts ranked by
the loss (never the labels), which recover blobs, moons and circles (figures: ``docs/neural.md``).

Example::

    from clustering.datasets import generate
    X, y = generate("moons")
    est = NeuralSoftClustering.recommended(n_clusters=2).fit(X)
    est.labels_, est.predict_proba(X[:2]), est.loss_history_
"""
from __future__ import annotations

import math
import numbers
import time
from typing import Callable, Optional

import numpy as np
from keras import ops
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

from clustering import constraints as cons, kernels as kern, limits
from clustering.constraints import Interval, Items, StrOptions
from clustering.errors import ConfigError, DataError
from clustering.i18n import N_
from clustering.network import (ACTIVATIONS, OPTIMIZERS, FourierFeatures, SharpSoftmax,
                                build_model, make_optimizer)
from clustering.neural_plan import (AUTO_BATCH_SIZE, AUTO_DENSE_MAX_POINTS,
                                    AUTO_FOURIER_COMPONENTS, AUTO_FULL_BATCH_POINTS,
                                    AUTO_LANDMARKS, AUTO_STEPS_PER_EPOCH, OPTIMIZER_SLOTS,
                                    SIZE_CONSTRAINT, SOLVERS, WEIGHT_COPIES, ScalePlan,
                                    default_memory_limit, estimate_memory, network_memory,
                                    plan_solver)
from clustering.objectives import LANDMARK_DRAWS, cluster_loss, make_objective
from clustering.progress import Progress, stop_requested
from clustering.training import MAX_BATCH_STEPS_PER_CALL, STEPS_PER_CALL, make_trainer

# the names below are re-exported: they lived here before the split, and other modules import
# them from clustering.neural
__all__ = ["NeuralSoftClustering", "SharpSoftmax", "FourierFeatures", "cluster_loss",
           "OPTIMIZERS", "ACTIVATIONS", "STEPS_PER_CALL", "MAX_BATCH_STEPS_PER_CALL", "SOLVERS",
           "ScalePlan", "plan_solver", "estimate_memory", "network_memory",
           "default_memory_limit", "AUTO_DENSE_MAX_POINTS", "AUTO_BATCH_SIZE",
           "AUTO_FULL_BATCH_POINTS", "AUTO_STEPS_PER_EPOCH", "AUTO_FOURIER_COMPONENTS",
           "AUTO_LANDMARKS", "OPTIMIZER_SLOTS", "WEIGHT_COPIES", "LANDMARK_DRAWS"]

_WHOLE = numbers.Integral
_REAL = numbers.Real
#: Rows per forward pass of :meth:`NeuralSoftClustering.predict_proba`.
_PREDICT_ROWS = 65536


class NeuralSoftClustering(ClusterMixin, BaseEstimator):
    """Soft clustering by a network trained on a pairwise proximity-kernel loss.

    Parameters
    ----------
    n_clusters : int, default 3
        Number of clusters K (outputs of the network).
    kernel : str, default "diffusion"
        A kernel of :data:`clustering.kernels.KERNELS`.
    kernel_param : float, int or None, default None
        The kernel's parameter (s, eps, sigma or k) in the units of the data it sees (standardised
        when ``standardize``); None takes the kernel's default.
    hidden_layers : tuple of int, default (20, 20, 20)
        Units of the hidden Dense layers (the notes: three of 20). Empty: a linear map. The
        layers, their units, ``n_restarts``, the epochs, ``fourier_features``, ``n_components``
        and ``n_clusters`` are bounded by :mod:`clustering.limits` (each bound's environment
        variable raises it), and the weights, gradients and optimiser slots count in the
        memory estimate (:func:`network_memory`); both are checked before anything is built.
    activation : str, default "relu"
        Activation of the hidden layers.
    sharpness : float, default 3.0
        A in the output ``softmax(A * z)``.
    sharpness_start : float, default 0.0
        When > 0, A grows geometrically from this value to ``sharpness`` over ``anneal_epochs``
        (annealing); 0 keeps A fixed.
    anneal_epochs : int, default 500
        Length of the annealing; early stopping waits until it is over.
    optimizer : str, default "adam"
        One of :data:`OPTIMIZERS` (Keras defaults apart from the learning rate).
    learning_rate : float, default 0.01
        The optimiser's step size (the reference implementation used Adam's default, 0.001).
    max_epochs : int, default 5000
        Largest number of epochs (an epoch is one full-batch optimiser step).
    patience : int, default 50
        Early stopping: end after this many epochs without a loss decrease of at least
        ``min_delta`` below the best loss so far (Keras ``EarlyStopping`` on the loss).
    min_delta : float, default 0.001
        Early stopping: the smallest decrease that counts (the notes used 0.01, see
        :meth:`seed_preset`; the loss lies in [-K, 0], where 0.01 stops some restarts early).
    n_restarts : int, default 5
        Networks trained from different random initialisations; the one with the lowest final
        loss is kept (the labels are never used).
    fourier_features : int, default 0
        When > 0, a fixed first layer of this many random Fourier features of the (standardised)
        input; 0 feeds x itself to the network.
    fourier_scale : float, default 0.5
        Length scale of the Fourier features, in the units the network sees.
    standardize : bool, default True
        Standardise the features (zero mean, unit variance) before the kernel and the network.
    random_state : int, default 0
        Seed of the initial weights (and Fourier features, landmarks, batches); the same seed
        gives the same result.
    verbose : int, default 0
        1 prints one line per restart.
    solver : {"auto", "dense", "sparse", "approx"}, default "auto"
        How the loss meets the kernel (module notes): the N x N matrix, its sparse form (knn,
        threshold, identity) or a factored approximation (gaussian, rational: random Fourier
        features; diffusion: landmarks; spread: exact). "auto" chooses by :func:`plan_solver`.
    memory_limit : int or None, default None
        Bytes the job may use; None: :func:`default_memory_limit`. A job estimated above it is
        refused with a :class:`ConfigError` before any work.
    batch_size : int or None, default None
        Points per optimiser step on the approximate path; None: full batch up to
        :data:`AUTO_FULL_BATCH_POINTS` points, else ``max(AUTO_BATCH_SIZE, N / 16)``. The dense and
        sparse paths always train full batch.
    n_components : int or None, default None
        Size of the approximation: Fourier features (default :data:`AUTO_FOURIER_COMPONENTS`)
        or landmarks of the diffusion kernel (default :data:`AUTO_LANDMARKS`).

    Attributes
    ----------
    model_ : keras.Model
        The kept network, raw x -> probabilities (standardisation included); saveable with
        ``model_.save("x.keras")``.
    kernel_ : clustering.kernels.Kernel
    kernel_param_ : float, int or None
        The parameter used (the default resolved).
    scaler_ : sklearn.preprocessing.StandardScaler or None
    loss_history_ : list of float
        Loss at each epoch of the kept network.
    n_epochs_ : int
        Epochs the kept network was trained for.
    restart_losses_ : list of float
        Final loss of each restart (in training order).
    restart_epochs_ : list of int
        Epochs trained in each restart (their sum is the whole run's optimiser steps).
    best_restart_ : int
    labels_ : ndarray of shape (n_samples,)
        ``argmax`` of the final probabilities on the training points.
    proba_ : ndarray of shape (n_samples, n_clusters)
    loss_ : float
        Final loss of the kept network on the training points.
    stopped_ : bool
        True when training was ended by ``stop``.
    solver_ : str
        The solver used ("dense", "sparse" or "approx").
    solver_reason_ : str
        Why (one sentence, with the memory estimate and the limit).
    plan_ : ScalePlan
        The full plan (estimates of every solver, batch size, components).
    batch_size_ : int
        Points per optimiser step (n_samples: full batch).
    n_features_in_ : int
    """

    #: What each parameter may be (:mod:`clustering.constraints`), checked by
    #: :func:`clustering.constraints.check_params` at the start of ``fit`` and ``plan``; the
    #: bounds of :mod:`clustering.limits`, the kernel's own parameter check and the data-dependent
    #: checks follow (:meth:`_checked_params`). ``optimizer`` is matched in any case.
    _parameter_constraints: dict = {
        "n_clusters": [Interval(_WHOLE, 1, None, closed="left")],
        "kernel": [str, kern.Kernel],
        # the kernel checks its own parameter (kernels.check_param): its meaning is the kernel's
        "kernel_param": [_REAL, None],
        "hidden_layers": [Items(Interval(_WHOLE, 1, None, closed="left")),
                          Interval(_WHOLE, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "sharpness": [Interval(_REAL, 0, None, closed="neither")],
        "sharpness_start": [Interval(_REAL, 0, None, closed="left")],
        "anneal_epochs": [Interval(_WHOLE, 1, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(_REAL, 0, None, closed="neither")],
        "max_epochs": [Interval(_WHOLE, 1, None, closed="left")],
        "patience": [Interval(_WHOLE, 1, None, closed="left")],
        "min_delta": [Interval(_REAL, 0, None, closed="left")],
        "n_restarts": [Interval(_WHOLE, 1, None, closed="left")],
        "fourier_features": [Interval(_WHOLE, 0, None, closed="left")],
        "fourier_scale": [Interval(_REAL, 0, None, closed="neither")],
        "standardize": ["boolean"],
        "random_state": [Interval(_WHOLE, 0, 2**31 - 1, closed="both"), None],
        "verbose": [Interval(_WHOLE, 0, None, closed="left"), "boolean", None],
        "solver": [StrOptions(set(SOLVERS))],
        "memory_limit": SIZE_CONSTRAINT,
        "batch_size": SIZE_CONSTRAINT,
        "n_components": SIZE_CONSTRAINT,
    }

    def __init__(self, n_clusters: int = 3, kernel: str = "diffusion", kernel_param=None,
                 hidden_layers: tuple = (20, 20, 20), activation: str = "relu",
                 sharpness: float = 3.0, sharpness_start: float = 0.0, anneal_epochs: int = 500,
                 optimizer: str = "adam", learning_rate: float = 0.01, max_epochs: int = 5000,
                 patience: int = 50, min_delta: float = 0.001, n_restarts: int = 5,
                 fourier_features: int = 0, fourier_scale: float = 0.5, standardize: bool = True,
                 random_state: int = 0, verbose: int = 0, solver: str = "auto",
                 memory_limit: Optional[int] = None, batch_size: Optional[int] = None,
                 n_components: Optional[int] = None):
        self.n_clusters = n_clusters
        self.kernel = kernel
        self.kernel_param = kernel_param
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.sharpness = sharpness
        self.sharpness_start = sharpness_start
        self.anneal_epochs = anneal_epochs
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_delta = min_delta
        self.n_restarts = n_restarts
        self.fourier_features = fourier_features
        self.fourier_scale = fourier_scale
        self.standardize = standardize
        self.random_state = random_state
        self.verbose = verbose
        self.solver = solver
        self.memory_limit = memory_limit
        self.batch_size = batch_size
        self.n_components = n_components

    # ------------------------------------------------------------------------------- presets
    @classmethod
    def seed_preset(cls, n_clusters: int = 3, **overrides) -> "NeuralSoftClustering":
        """The notes' configuration: raw (unscaled) data, rational kernel s = 0.1, A = 3,
        3 x Dense(20, relu), Adam with its defaults, full batch, up to 5000 epochs,
        EarlyStopping(patience=50, min_delta=0.01), one network."""
        params = dict(n_clusters=n_clusters, kernel="rational", kernel_param=0.1,
                      hidden_layers=(20, 20, 20), activation="relu", sharpness=3.0,
                      sharpness_start=0.0, anneal_epochs=500, optimizer="adam",
                      learning_rate=0.001, max_epochs=5000, patience=50, min_delta=0.01,
                      n_restarts=1, fourier_features=0, fourier_scale=0.5, standardize=False)
        params.update(overrides)
        return cls(**params)

    @classmethod
    def recommended(cls, n_clusters: int = 3, **overrides) -> "NeuralSoftClustering":
        """Settings that find the blobs, moons and circles partitions without looking at labels.

        Standardised inputs; the diffusion kernel (t = 0.2 N random-walk steps on the 10-NN graph,
        see :mod:`clustering.kernels`), which makes the shape-following partition the clear optimum;
        the notes' network (3 x Dense(20, relu), A = 3) trained by Adam at 0.01; early stopping
        with min_delta 0.001 (the loss lies in [-K, 0]); 5 restarts, keeping the lowest loss.
        """
        params = dict(n_clusters=n_clusters, kernel="diffusion", kernel_param=0.2,
                      hidden_layers=(20, 20, 20), activation="relu", sharpness=3.0,
                      sharpness_start=0.0, anneal_epochs=500, optimizer="adam",
                      learning_rate=0.01, max_epochs=5000, patience=50, min_delta=0.001,
                      n_restarts=5, fourier_features=0, fourier_scale=0.5, standardize=True)
        params.update(overrides)
        return cls(**params)

    # ------------------------------------------------------------------------------- checks
    def _checked_params(self, n_samples: int) -> dict:
        """Every parameter checked (declared constraints, then limits, the kernel's parameter
        and the checks that need the number of points); the normalised values by name."""
        declared = dict(self._parameter_constraints)
        optimizer = declared.pop("optimizer")
        p = cons.check_params(self, declared)
        p["optimizer"] = cons.check_value("optimizer", self.optimizer.lower() if isinstance(
            self.optimizer, str) else self.optimizer, optimizer)
        limits.check("n_clusters", p["n_clusters"], "n_clusters")
        if p["n_clusters"] > n_samples:
            raise ConfigError(N_("n_clusters: {k} clusters for {n} points; use at most one "
                                 "cluster per point."), k=p["n_clusters"], n=n_samples)
        p["kernel"] = kern.get_kernel(p["kernel"])
        p["kernel_param"] = kern.check_param(p["kernel"], p["kernel_param"], n_samples)
        layers = p["hidden_layers"]
        layers = (layers,) if isinstance(layers, int) else layers
        limits.check("hidden_layers", len(layers), "hidden_layers")
        p["hidden_layers"] = tuple(limits.check("layer_units", u, f"hidden_layers[{i}]")
                                   for i, u in enumerate(layers))
        for name, bound in (("anneal_epochs", "epochs"), ("max_epochs", "epochs"),
                            ("n_restarts", "restarts"), ("fourier_features", "fourier_features")):
            limits.check(bound, p[name], name)
        if p["random_state"] is None:
            p["random_state"] = 0
        return p

    def _plan(self, p: dict, n_samples: int, n_features: int, Xs) -> ScalePlan:
        # only a sparse form's edges may need the points to be sized (a radius graph)
        return plan_solver(n_samples, n_features, n_clusters=p["n_clusters"], kernel=p["kernel"],
                           kernel_param=p["kernel_param"], hidden_layers=p["hidden_layers"],
                           solver=p["solver"], memory_limit=p["memory_limit"],
                           batch_size=p["batch_size"], n_components=p["n_components"],
                           X=Xs if p["kernel"].sparse is not None else None,
                           optimizer=p["optimizer"], fourier_features=p["fourier_features"])

    def plan(self, X=None, n_samples: Optional[int] = None,
             n_features: Optional[int] = None) -> ScalePlan:
        """What :meth:`fit` would do on ``X`` (or on data of the given shape): the solver, its
        memory estimate and why (a :class:`~clustering.neural_plan.ScalePlan`, which is a
        :class:`clustering.planning.Plan`). Checks the parameters, the data and the limits and
        raises :class:`ConfigError` naming the setting to change when the job would exceed one;
        trains nothing and leaves nothing on the estimator. The app calls it before a run."""
        Xs = None
        if X is not None:
            X = self._validate(X, reset=False) if hasattr(self, "n_features_in_") else \
                self._checked_array(X)
            n_samples, n_features = X.shape
        if n_samples is None or n_features is None:
            raise ConfigError(N_("plan: give the data X, or n_samples and n_features."))
        p = self._checked_params(int(n_samples))
        if X is not None and p["kernel"].sparse is not None:
            Xs = StandardScaler().fit_transform(X) if p["standardize"] else X
        return self._plan(p, int(n_samples), int(n_features), Xs)

    # ------------------------------------------------------------------------------- fit
    def _build_model(self, p: dict, n_features: int, seed: int, scaler):
        return build_model(p, n_features, seed, scaler, activation=p["activation"])

    def fit(self, X, y=None, *, callback: Optional[Callable[[Progress], None]] = None,
            stop=None) -> "NeuralSoftClustering":
        """Train on ``X`` (n_samples, n_features); ``y`` is ignored.

        ``callback(Progress)`` is called about every :data:`STEPS_PER_CALL` / 2 epochs, at the
        end of each restart and once with ``done=True``; ``payload()`` -> current probabilities;
        ``step`` counts the epochs of all restarts so far, ``total = max_epochs * n_restarts``;
        ``metrics`` holds ``loss``, ``best_loss`` (the restart's lowest), ``restart`` (1-based),
        ``n_restarts``, ``epoch``, ``max_epochs``, ``elapsed`` (seconds since ``fit`` began) and
        ``early_stopped`` (1.0 on the report of a restart that early stopping ended), so
        ``Progress.fraction`` counts restarts (:func:`clustering.progress.restart_fraction`);
        the message reads "restart r of R: epoch e (at most E), loss L (best B)", or "restart r
        of R stopped early at epoch e: no improvement for P epochs". ``stop.is_set()`` ends
        training after the current compiled chunk (at most :data:`STEPS_PER_CALL` epochs),
        starts no further restart and keeps the best network so far, the interrupted one
        included (``stopped_ = True``).
        """
        X = self._validate(X, reset=True)
        n = X.shape[0]
        if n < 2:
            raise DataError(N_("Neural clustering needs at least 2 points, got {n} sample."),
                            n=n)
        p = self._checked_params(n)
        self.kernel_, self.kernel_param_ = p["kernel"], p["kernel_param"]
        scaler = StandardScaler().fit(X) if p["standardize"] else None
        self.scaler_ = scaler
        Xs = scaler.transform(X) if scaler is not None else X
        plan = self._plan(p, n, X.shape[1], Xs)
        self.plan_, self.solver_, self.solver_reason_ = plan, plan.solver, plan.reason
        self.batch_size_ = plan.batch_size
        x_t = ops.convert_to_tensor(X.astype(np.float32))
        objective, self._approx = make_objective(
            plan.solver, p["kernel"], p["kernel_param"], Xs, x_t, seed=p["random_state"],
            n_components=plan.n_components, limit=plan.limit)

        rng = np.random.RandomState(p["random_state"])
        seeds = [int(v) for v in rng.randint(0, 2**30, size=p["n_restarts"])]
        self.stopped_ = False
        self.restart_losses_, self.restart_epochs_ = [], []
        # One network and one compiled loop serve every restart (tracing costs ~0.3 s): each
        # restart loads the initial weights of a freshly built network of its own seed and
        # resets the optimiser's state.
        model = self._build_model(p, X.shape[1], seeds[0], scaler)
        trainer = make_trainer(model, make_optimizer(p["optimizer"], p["learning_rate"]),
                               objective, batch_size=plan.batch_size, seed=p["random_state"])
        best, last = None, {}
        total = p["max_epochs"] * p["n_restarts"]
        done_before, started = 0, time.monotonic()
        for r, seed in enumerate(seeds):
            if r > 0:
                model.set_weights(self._build_model(p, X.shape[1], seed, scaler).get_weights())
            trainer.reset()
            report = None if callback is None else (
                lambda h, early, r=r, before=done_before: callback(self._progress(
                    p, r, h, early, started, before, trainer.proba)))
            history, final, early = self._train_one(trainer, p, report, stop)
            last = self._restart_metrics(p, r, history, early, started)
            self.restart_losses_.append(final)
            self.restart_epochs_.append(len(history))
            if p["verbose"]:
                print(f"restart {r + 1}/{p['n_restarts']}: {len(history)} epochs"
                      f"{' (stopped early)' if early else ''}, loss {final:.6g}")
            done_before += len(history)
            if best is None or final < best[2]:
                best = (model.get_weights(), history, final, r)
            if self.stopped_:
                break
        weights, self.loss_history_, self.loss_, self.best_restart_ = best
        model.set_weights(weights)
        self.model_ = model
        self.n_epochs_ = len(self.loss_history_)
        self.proba_ = trainer.proba()
        self.labels_ = np.argmax(self.proba_, axis=1)
        if callback is not None:
            kept = (f"kept restart {self.best_restart_ + 1} of {len(seeds)}, "
                    if len(seeds) > 1 else "")
            metrics = {**last, "loss": self.loss_, "best_loss": self.loss_,
                       "elapsed": round(time.monotonic() - started, 3)}
            callback(Progress("neural", done_before, total, metrics,
                              message=f"finished: {kept}epoch {self.n_epochs_}",
                              payload=lambda: self.proba_, done=True))
        return self

    @staticmethod
    def _restart_metrics(p, r, history, early, started) -> dict:
        """Where restart ``r`` (0-based) stands after ``len(history)`` epochs (numbers only)."""
        return {"loss": history[-1], "best_loss": min(history), "restart": float(r + 1),
                "n_restarts": float(p["n_restarts"]), "epoch": float(len(history)),
                "max_epochs": float(p["max_epochs"]),
                "elapsed": round(time.monotonic() - started, 3),
                "early_stopped": float(bool(early))}

    def _progress(self, p, r, history, early, started, done_before, payload) -> Progress:
        """The report of restart ``r`` after ``len(history)`` epochs; ``early``: early stopping
        has just ended it."""
        m = self._restart_metrics(p, r, history, early, started)
        R, E, e = p["n_restarts"], p["max_epochs"], len(history)
        which = f"restart {r + 1} of {R}" if R > 1 else ""
        if early:
            text = (f"{which} stopped early at epoch {e}: no improvement for {p['patience']} "
                    f"epochs (best loss {m['best_loss']:.5g})").lstrip()
        else:
            text = (f"{which + ': ' if which else ''}epoch {e} (at most {E}), "
                    f"loss {m['loss']:.5g} (best {m['best_loss']:.5g})")
        return Progress("neural", done_before + e, E * R, m, message=f"training: {text}",
                        payload=payload)

    def _train_one(self, trainer, p, report, stop):
        """Train from the current weights with per-epoch early stopping (Keras' rule on the
        loss); ``report(history, early_stopped)`` every half chunk and at the end. Returns
        (loss history, final loss, whether early stopping ended it)."""
        history: list[float] = []
        early = False
        best, wait, reported = math.inf, 0, 0
        A0, A1 = p["sharpness_start"], p["sharpness"]
        anneal = A0 > 0 and A0 != A1
        n_anneal = p["anneal_epochs"] if anneal else 0
        trainer.set_sharpness(A0 if anneal else A1)
        while len(history) < p["max_epochs"]:
            epoch = len(history)
            per_call = trainer.epochs_per_call
            steps = min(per_call, p["max_epochs"] - epoch)
            if anneal and epoch < n_anneal:
                # A grows geometrically, updated every tenth of a chunk
                steps = min(steps, max(1, per_call // 10), n_anneal - epoch)
                trainer.set_sharpness(A0 * (A1 / A0) ** (epoch / n_anneal))
            elif anneal:
                trainer.set_sharpness(A1)
            if epoch >= n_anneal:
                # the chunk ends at the first epoch at which the patience rule could stop
                steps = min(steps, p["patience"] - wait)
            losses = trainer.run(steps)
            if not np.all(np.isfinite(losses)):
                bad = int(np.argmin(np.isfinite(losses)))
                raise ConfigError(N_("The loss became {loss} at epoch {epoch}; lower the "
                                     "learning rate or the sharpness."), loss=losses[bad],
                                  epoch=epoch + bad + 1)
            stop_now = False
            for value in losses:
                history.append(float(value))
                if len(history) <= n_anneal:
                    continue  # early stopping starts once A has reached its final value
                wait += 1
                if value < best - p["min_delta"]:  # Keras: improvement when loss + d < best
                    best, wait = value, 0
                elif wait >= p["patience"] and len(history) > 1:
                    stop_now = early = True
            stop_now = stop_now or len(history) >= p["max_epochs"]
            if report is not None and (len(history) - reported >= max(1, per_call // 2)
                                       or stop_now):
                reported = len(history)
                report(history, early)
            if stop_requested(stop):
                self.stopped_ = True
                break
            if stop_now:
                break
        trainer.set_sharpness(A1)
        return history, trainer.loss(), early

    # ------------------------------------------------------------------------------- use
    @staticmethod
    def _checked_array(X) -> np.ndarray:
        try:
            return check_array(X, dtype=np.float64, ensure_min_samples=1)
        except ValueError as err:
            raise DataError(N_("Neural clustering: {error}"), error=str(err)) from err

    def _validate(self, X, reset: bool):
        X = self._checked_array(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            # scikit-learn's wording in the parentheses (its estimator checks match it)
            raise DataError(N_("Neural clustering: expected {expected} features, got {got} "
                               "(X has {got} features, but {estimator} is expecting {expected} "
                               "features as input)."), expected=self.n_features_in_,
                            got=X.shape[1], estimator=type(self).__name__)
        return X

    def _forward(self, x, model=None) -> np.ndarray:
        model = self.model_ if model is None else model
        return np.asarray(ops.convert_to_numpy(model(x, training=False)), dtype=np.float64)

    def predict_proba(self, X) -> np.ndarray:
        """Membership probabilities (n_samples, n_clusters) of any points, new ones included."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        out = [self._forward(ops.convert_to_tensor(X[i:i + _PREDICT_ROWS].astype(np.float32)))
               for i in range(0, X.shape[0], _PREDICT_ROWS)]
        return np.concatenate(out, axis=0)

    def predict(self, X) -> np.ndarray:
        """The most probable cluster of each point."""
        return np.argmax(self.predict_proba(X), axis=1)

    def fit_predict(self, X, y=None, **fit_params) -> np.ndarray:
        return self.fit(X, **fit_params).labels_

    def loss(self, X) -> float:
        """The loss of the fitted network on ``X`` (kernel recomputed on ``X``)."""
        check_is_fitted(self, "model_")
        X = self._validate(X, reset=False)
        Xs = self.scaler_.transform(X) if self.scaler_ is not None else X
        plan = getattr(self, "plan_", None)
        if plan is None or plan.solver == "dense":
            M = ops.convert_to_tensor(kern.kernel_matrix(Xs, self.kernel_, self.kernel_param_))
            proba = ops.convert_to_tensor(self.predict_proba(X).astype(np.float32))
            return float(ops.convert_to_numpy(cluster_loss(proba, M, self.kernel_.minimise)))
        x_t = ops.convert_to_tensor(X.astype(np.float32))
        objective, _ = make_objective(plan.solver, self.kernel_, self.kernel_param_, Xs, x_t,
                                      seed=0, n_components=plan.n_components, limit=plan.limit,
                                      approx=self._approx)
        return objective.evaluate(self.predict_proba(X))

    def score(self, X, y=None) -> float:
        """``-loss(X)``: higher is better (scikit-learn's convention)."""
        return -self.loss(X)