"""Widgets for hyper-parameters: one input per parameter, drawn from its declared constraints.

A method's parameters are drawn from the estimator's constraints
(:func:`clustering.registry.constraints`, :func:`clustering.constraints.field_spec`): whole or
real number, the options of a choice, and the bounds the constraint closes. An end a constraint
leaves open or unbounded takes the form's practical range (:data:`PARAM_META`'s ``min``/``max``,
e.g. at most 30 clusters); a parameter without constraints (a generator's) is typed by its
default value. :data:`PARAM_META` holds each parameter's label and help text, once.

Values persist for the whole session (``persist_state="session"``), so leaving a page and coming
back finds the settings as they were. Preset buttons write the widget keys through
:func:`set_values` in an ``on_click`` callback (before the widgets are drawn).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import streamlit as st

from clustering.constraints import FieldSpec, field_spec
from clustering import i18n
from clustering.i18n import N_, _
from ui.widgets import md_escape

#: Label, help, step and the form's practical range of parameters the app knows by name: a
#: ``min``/``max`` here bounds an end the parameter's constraint leaves open or unbounded (at most
#: 30 clusters; a learning rate above 0 starts at 1e-6); the constraint's closed ends apply as
#: they are (:func:`_bounds`). A generator's parameters have no constraint: their range is here.
PARAM_META: dict[str, dict[str, Any]] = {
    # generators
    "n_samples": dict(label=N_("points"), min=10, max=20000, step=50,
                      help=N_("Number of points to generate.")),
    "noise": dict(label=N_("noise"), min=0.0, max=2.0, step=0.01,
                  help=N_("Standard deviation of the Gaussian noise added to the points.")),
    "factor": dict(label=N_("factor"), min=0.01, max=0.99, step=0.05,
                   help=N_("Scale of the inner circle relative to the outer one.")),
    "centers": dict(label=N_("centres"), min=1, max=20, step=1, help=N_("Number of blobs.")),
    "n_features": dict(label=N_("features"), min=1, max=50, step=1,
                       help=N_("Dimension of the points.")),
    "cluster_std": dict(label=N_("cluster std"), min=0.01, max=20.0, step=0.1,
                        help=N_("Standard deviation of each blob.")),
    "center_box": dict(label=N_("centre box (low, high)"),
                       help=N_("Bounding box of the blob centres, two numbers.")),
    "random_state": dict(label=N_("random seed"), min=0, max=2**31 - 1, step=1,
                         help=N_("Fixes the randomness: the same seed gives the same result.")),
    "shuffle": dict(label=N_("shuffle"), help=N_("Shuffle the points.")),
    # neural
    "n_clusters": dict(label=N_("clusters K"), max=30, step=1, help=N_("Number of clusters.")),
    "kernel": dict(label=N_("kernel")),
    "kernel_param": dict(label=N_("kernel parameter"), min=0.0, max=1e6, step=0.01,
                         help=N_("The kernel's scale (e.g. c in c / (d² + c), the threshold "
                                 "of the hard kernel).")),
    "hidden_layers": dict(label=N_("hidden layers (units per layer)"),
                          help=N_("Comma-separated sizes, e.g. 20, 20, 20 (the notes' network).")),
    "activation": dict(label=N_("activation"), help=N_("Activation of the hidden layers.")),
    "sharpness": dict(label=N_("softmax sharpness A"), min=0.01, max=100.0, step=0.5,
                      help=N_("Output = softmax(A (x - max x)); the notes use A = 3.")),
    "learning_rate": dict(label=N_("learning rate"), min=1e-6, max=1.0, step=0.0005, format="%.5f",
                          help=N_("Adam's step size.")),
    "max_epochs": dict(label=N_("max epochs"), max=20000, step=50,
                       help=N_("Upper bound on the full-batch epochs.")),
    "patience": dict(label=N_("patience"), max=5000, step=10,
                     help=N_("Early stopping: epochs without an improvement of at least "
                             "min_delta.")),
    "min_delta": dict(label=N_("min delta"), max=10.0, step=0.001, format="%.4f",
                      help=N_("Early stopping: the smallest loss decrease that counts.")),
    "batch_size": dict(label=N_("batch size"), max=100000, step=64,
                       help=N_("Full batch when at least the number of points.")),
    # SOM
    "rows": dict(label=N_("rows"), max=100, step=1, help=N_("Lattice rows.")),
    "cols": dict(label=N_("columns"), max=100, step=1, help=N_("Lattice columns.")),
    "lattice": dict(label=N_("lattice"), help=N_("Hexagonal (6 neighbours) or rectangular (4).")),
    "init": dict(label=N_("initialisation"), help=N_("How the codebook starts.")),
    "sigma0": dict(label=N_("σ0 (initial radius)"), min=0.01, max=100.0, step=0.5,
                   help=N_("Initial neighbourhood width, about the lattice radius.")),
    "eta0": dict(label=N_("η0 (initial learning rate)"), min=0.0001, step=0.01,
                 help=N_("Initial learning rate; the study used 0.3.")),
    "tau1": dict(label=N_("τ1 (radius decay)"), min=0.01, max=1e6, step=10.0,
                 help=N_("σ(t) = σ0 exp(-t / τ1).")),
    "tau2": dict(label=N_("τ2 (rate decay)"), min=0.01, max=1e6, step=10.0,
                 help=N_("η(t) = η0 exp(-t / τ2).")),
    "n_steps": dict(label=N_("T (training steps)"), max=1_000_000, step=100,
                    help=N_("Training steps (online: one object per step; epoch: one pass of "
                            "single-object updates, the article's T; batch: one whole-data update "
                            "per pass).")),
    "mode": dict(label=N_("mode"),
                 help=N_("online: one object per step (Haykin); epoch: every object "
                         "once per epoch, σ and η advancing per epoch (the article); "
                         "batch: one update from the whole data per epoch.")),
    "n_replicates": dict(label=N_("replicates per network"), max=20, step=1,
                         help=N_("Maps trained per grid point with different seeds (the "
                                 "article: 3).")),
    "tol": dict(label=N_("tolerance"), max=10.0, step=0.0001, format="%.5f",
                help=N_("Stop early when no unit moved more than this since the last check; 0: "
                        "never.")),
    "convergence_steps": dict(label=N_("convergence steps"), max=1_000_000, step=100,
                              help=N_("Steps of a second phase at a small fixed learning rate "
                                      "(Haykin); 0: none.")),
    "convergence_eta": dict(label=N_("convergence η"), min=0.0, step=0.005,
                            help=N_("Learning rate of the convergence phase (Haykin: 0.01).")),
    "cluster_method": dict(label=N_("grouping of cells"),
                           help=N_("kmeans: k-means on the codebook; hierarchical: Ward's merging "
                                   "of neighbouring cells only (contiguous regions).")),
    "history_every": dict(label=N_("record errors every"), max=10_000, step=1,
                          help=N_("Record the errors every this many intervals (larger: faster on "
                                  "big data).")),
    # neural (besides the above)
    "optimizer": dict(label=N_("optimizer"), help=N_("Keras optimiser of the network's weights.")),
    "n_restarts": dict(label=N_("restarts"), max=100, step=1,
                       help=N_("Networks trained from different initial weights; the one with the "
                               "lowest loss is kept (never chosen by the labels).")),
    "sharpness_start": dict(label=N_("sharpness start"), max=100.0, step=0.5,
                            help=N_("Start the softmax sharpness here and raise it to A over the "
                                    "anneal epochs; 0: no annealing.")),
    "anneal_epochs": dict(label=N_("anneal epochs"), max=20000, step=50,
                          help=N_("Epochs over which the sharpness grows to A (when annealing).")),
    "fourier_features": dict(label=N_("Fourier features"), max=4096, step=8,
                             help=N_("Random Fourier features in front of the network (0: none); "
                                     "they help a small network draw curved borders.")),
    "fourier_scale": dict(label=N_("Fourier scale"), min=0.0, max=100.0, step=0.1,
                          help=N_("Frequency scale of the Fourier features.")),
    "standardize": dict(label=N_("standardise inputs"),
                        help=N_("Scale every feature to zero mean and unit variance inside the "
                                "network (the kernel is computed on the scaled points too).")),
    "solver": dict(label=N_("solver"),
                   help=N_("How the loss meets the kernel: dense N x N matrix, its sparse form "
                           "(knn, threshold, identity) or an approximation (Fourier features, "
                           "landmarks) for large data; auto chooses by a memory estimate.")),
    "memory_limit": dict(label=N_("memory limit (bytes)"), max=2**50, step=2**20,
                         help=N_("A job estimated above it is refused before any work; empty: the "
                                 "server's default.")),
    "n_components": dict(label=N_("approximation size"), max=100_000, step=64,
                         help=N_("Fourier features or landmarks of the approximate solver; empty: "
                                 "the default.")),
    # ensemble
    "alpha": dict(label=N_("α (Cochran's test)"), min=0.001, max=0.5, step=0.01,
                  help=N_("Significance level of Cochran's test of the replicate variances.")),
    "theta_centre": dict(label=N_("centre in Θ (22)"),
                         help=N_("map: the centre of each cluster the map found (the article's "
                                 "reading; replicates differ continuously); objects: the mean of "
                                 "the cluster's objects.")),
    "network_filter": dict(label=N_("network filter"),
                           help=N_("cochran+level: Cochran's rule (33), then keep the networks "
                                   "whose mean Θ is at most the median (gives the article's "
                                   "3.68); cochran: rule (33) only; level: the level of Θ only; "
                                   "none.")),
    "level_quantile": dict(label=N_("level filter quantile"), min=0.01, max=1.0, step=0.05,
                           help=N_("The level filter keeps networks whose mean Θ is at most this "
                                   "quantile of the networks' means (0.5: the median).")),
    "reliable_posterior": dict(label=N_("reliable posterior"), min=0.01, max=1.0, step=0.01,
                               format="%.4f",
                               help=N_("An assignment is reliable at this posterior or more (the "
                                       "article: 26/27 = 0.963).")),
    "split_margin": dict(label=N_("split margin"), min=0.0, max=1.0, step=0.05,
                         help=N_("An object is split between two clusters when their posteriors "
                                 "differ by at most this (the article's enterprise 24).")),
    "midpoint_tolerance": dict(label=N_("midpoint tolerance"), min=0.0, max=1.0, step=0.05,
                               help=N_("...and its score lies within this share of half the gap "
                                       "from the midpoint of the two clusters' means.")),
    "anomaly_max_size": dict(label=N_("anomalous cluster size"), min=1, max=100_000, step=1,
                             help=N_("A cluster of at most this many objects is anomalous "
                                     "(individual analysis, like the article's enterprise 7); "
                                     "empty: 5 percent of the objects, at least 1.")),
    "outlier_z": dict(label=N_("distance z-score (not the article's)"), min=0.1, max=100.0,
                      step=0.5,
                      help=N_("Not a rule of the article: also flag objects further from their "
                              "cluster's centre than this robust z-score; empty: off.")),
    "max_coassociation": dict(label=N_("co-association up to (objects)"), min=1, max=20000,
                              step=500, help=N_("Largest data set whose co-association matrix is "
                                                "kept and drawn.")),
    "n_clusters_candidates": dict(label=N_("candidate M"),
                                  help=N_("The numbers of clusters tried when M is chosen from the "
                                          "curve, comma-separated (default 2, 3, ..., 8).")),
    "tau1_grid": dict(label=N_("τ1 grid"), help=N_("Decay constants of σ, comma-separated (the "
                                                   "article: 140, 280, 700).")),
    "tau2_grid": dict(label=N_("τ2 grid"), help=N_("Decay constants of η, comma-separated (the "
                                                   "article: 125, 250, 625).")),
}

def kernel_param_help(kernel) -> str:
    """Help text for the parameter of ``kernel`` (a :class:`clustering.kernels.Kernel`): the
    kernel's own :attr:`~clustering.kernels.Kernel.help`, in the visitor's language."""
    if kernel.help:
        return _(kernel.help)
    return f"{kernel.param_name}: {kernel_description(kernel)}"


def kernel_label(kernel) -> str:
    """The kernel's name as shown (its :attr:`~clustering.kernels.Kernel.label`, translated; the
    registry marks the built-in kernels' labels with ``N_``)."""
    return _(kernel.label) if kernel.label else ""


def kernel_description(kernel) -> str:
    """The kernel's one-line description as shown (translated, as :func:`kernel_label`)."""
    text = getattr(kernel, "description", "") or getattr(kernel, "formula", "")
    return _(text) if text else ""


def _label(name: str) -> str:
    meta = PARAM_META.get(name, {})
    return _(meta["label"]) if "label" in meta else name.replace("_", " ")


def parse_number_list(text: str, like: Sequence) -> tuple:
    """Numbers separated by commas ("0.5, 1.5") or, with decimal commas, by semicolons
    ("0,5; 1,5", :func:`clustering.i18n.parse_number`); whole numbers stay ints when the
    default's are (so a saved run's "140.0, 700.0" reads back), any other number is a float."""
    parts = text.split(";") if ";" in text else text.split(",")
    values = [i18n.parse_number(p) for p in parts if p.strip()]
    ints = bool(like) and all(isinstance(v, int) and not isinstance(v, bool) for v in like)
    if ints and all(v.is_integer() for v in values):
        return tuple(int(v) for v in values)
    return tuple(values)


def set_values(values: Mapping[str, Any], key_prefix: str) -> None:
    """Write ``values`` into the widgets' keys (use as an ``on_click`` callback)."""
    for name, value in values.items():
        key = f"{key_prefix}_{name}"
        if isinstance(value, (tuple, list)):
            value = ", ".join(str(v) for v in value)
        st.session_state[key] = value


def _options(field: Optional[FieldSpec], default: Any) -> Optional[list]:
    """A choice's options from its constraint: the default first, then the others."""
    if field is None or field.kind != "option":
        return None
    options = list(field.options)
    return ([default] if default in options else []) + [o for o in options if o != default]


def _bounds(field: Optional[FieldSpec], meta: Mapping[str, Any]) -> tuple:
    """The widget's min and max: the constraint's closed ends, else the form's practical range."""
    lo, hi = meta.get("min"), meta.get("max")
    if field is None or field.kind not in ("int", "float"):
        return lo, hi
    whole = field.kind == "int"  # an open end of whole numbers is the next one in
    if field.low is not None and (field.low_closed or whole):
        low = field.low if field.low_closed else field.low + 1
        lo = low if lo is None else max(low, lo)
    if field.high is not None and (field.high_closed or whole):
        high = field.high if field.high_closed else field.high - 1
        hi = high if hi is None else min(high, hi)
    return lo, hi


def param_input(name: str, default: Any, key: str, *, choices: Optional[Sequence] = None,
                help: Optional[str] = None, disabled: bool = False, on_change=None,
                args: tuple = (), label: Optional[str] = None,
                field: Optional[FieldSpec] = None) -> Any:
    """One input for parameter ``name``: drawn from ``field`` (its constraint's
    :class:`~clustering.constraints.FieldSpec`) when given, else typed like ``default``;
    returns its value."""
    meta = PARAM_META.get(name, {})
    label = label or _label(name)
    help = help or (_(meta["help"]) if meta.get("help") else None)
    ss = st.session_state
    choices = choices if choices is not None else _options(field, default)
    if choices is not None:
        choices = list(choices)
        if key not in ss or ss[key] not in choices:
            ss[key] = default if default in choices else choices[0]
        return st.selectbox(label, choices, key=key, help=help, disabled=disabled,
                            persist_state="session", on_change=on_change, args=args)
    if isinstance(default, bool):
        ss.setdefault(key, default)
        return st.checkbox(label, key=key, help=help, disabled=disabled, persist_state="session")
    if isinstance(default, (tuple, list)):
        return _tuple_input(label, default, key, help, disabled)
    if isinstance(default, str):
        ss.setdefault(key, default)
        return st.text_input(label, key=key, help=help, disabled=disabled, persist_state="session")
    # numbers (and None, an optional number: whole when its constraint says so)
    if field is not None and field.kind in ("int", "float"):
        is_int = field.kind == "int"
    else:
        is_int = isinstance(default, int)
    return _number_input(label, default, key, help, disabled, is_int, _bounds(field, meta), meta)


def _tuple_input(label: str, default: Sequence, key: str, help, disabled: bool) -> tuple:
    st.session_state.setdefault(key, ", ".join(str(v) for v in default))
    text = st.text_input(label, key=key, help=help, disabled=disabled, persist_state="session")
    try:
        value = parse_number_list(text, default)
        if not value:
            raise ValueError
        return value
    except ValueError:
        st.error(md_escape(_("{label}: write numbers separated by commas, e.g. {example} (or "
                             "by semicolons with decimal commas). Using the default.").format(
            label=label, example=", ".join(str(v) for v in default))))
        return tuple(default)


def _number_input(label: str, default: Any, key: str, help, disabled: bool, is_int: bool,
                  bounds: tuple, meta: Mapping[str, Any]):
    ss = st.session_state
    lo, hi = bounds
    if key not in ss:
        ss[key] = default
    current = ss[key]
    if current is not None and not isinstance(current, bool):  # presets may write 3 for 3.0
        try:
            ss[key] = int(current) if is_int else float(current)
        except (TypeError, ValueError):
            ss[key] = default
    if is_int:
        step = int(meta.get("step", 1))
        return st.number_input(label, min_value=None if lo is None else int(lo),
                               max_value=None if hi is None else int(hi), step=step, key=key,
                               help=help, disabled=disabled, persist_state="session")
    step = float(meta.get("step", 0.01))
    if i18n.language() != "en":  # a number box is the browser's: it drops a decimal comma
        return _decimal_text_input(label, key, help, disabled, (lo, hi), default is None)
    return st.number_input(label, min_value=None if lo is None else float(lo),
                           max_value=None if hi is None else float(hi), step=step,
                           format=meta.get("format", "%.4g"), key=key, help=help,
                           disabled=disabled, persist_state="session")


def _decimal_text_input(label: str, key: str, help, disabled: bool, bounds: tuple,
                        optional: bool) -> Optional[float]:
    """A decimal typed either way ("0,25" or "0.25", :func:`clustering.i18n.parse_number`) in a
    text box whose own key is ``{key}__text``; the number stays in ``key`` (as the number box of
    the English form keeps it, so a switch of language, a preset or a saved run's loader keep
    working). A text that is no number, or one out of ``bounds``, is said under the box and the
    number is kept."""
    ss = st.session_state
    text_key, shown_key = f"{key}__text", f"{key}__shown"
    if text_key not in ss or ss.get(shown_key) != ss[key]:  # a loader or a preset wrote key
        ss[text_key] = "" if ss[key] is None else i18n.fmt(ss[key], "g")
        ss[shown_key] = ss[key]
    st.text_input(label, key=text_key, help=help, disabled=disabled,
                  on_change=_read_decimal, args=(key, bounds, optional, label))
    problem = ss.get(f"{key}__error")
    if problem:
        st.error(md_escape(problem))
    return ss[key]


def _read_decimal(key: str, bounds: tuple, optional: bool, label: str) -> None:
    """The text box's callback: its number into ``key`` when it is one within ``bounds``."""
    ss = st.session_state
    text = str(ss.get(f"{key}__text", "")).strip()
    ss.pop(f"{key}__error", None)
    lo, hi = bounds
    try:
        value = None if (optional and not text) else i18n.parse_number(text)
    except ValueError:
        ss[f"{key}__error"] = _("{label}: {text!r} is not a number; write it as 0,5 or 0.5. "
                                "The previous value is kept.").format(label=label, text=text)
        return
    if value is not None and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        ss[f"{key}__error"] = _("{label}: {value} is outside {low} to {high}. The previous "
                                "value is kept.").format(
            label=label, value=i18n.fmt(value, "g"), low=i18n.fmt(lo, "g") if lo is not None
            else "−∞", high=i18n.fmt(hi, "g") if hi is not None else "∞")
        return
    ss[key] = ss[f"{key}__shown"] = value


def param_inputs(defaults: Mapping[str, Any], key_prefix: str, *, columns: int = 3,
                 choices: Optional[Mapping[str, Sequence]] = None, skip: Sequence[str] = (),
                 disabled: bool = False,
                 constraints: Optional[Mapping[str, list]] = None) -> dict:
    """Inputs for every parameter in ``defaults`` laid out in ``columns``; returns the values.

    ``constraints`` (a method's, :func:`clustering.registry.constraints`) give each input its
    kind, options and bounds; ``choices`` name options where no constraint does."""
    choices = choices or {}
    constraints = constraints or {}
    names = [n for n in defaults if n not in skip]
    cols = st.columns(columns)
    values = {}
    for i, name in enumerate(names):
        field = field_spec(constraints[name]) if name in constraints else None
        with cols[i % columns]:
            values[name] = param_input(name, defaults[name], f"{key_prefix}_{name}",
                                       choices=choices.get(name), disabled=disabled,
                                       field=field)
    return values
