"""The method registry: one :class:`MethodSpec` per clustering method, the one place that knows it.

The command line (:mod:`clustering.cli`), the run configuration's schema
(:mod:`clustering.runconfig`), the runner (:mod:`clustering.runner`), the comparison and the
app's navigation, sidebar, forms, live panel and page template (``ui/``) all read a method's
name, labels, estimator, parameter constraints, presets and views from here. Adding a method is
one module (its estimator) plus one :func:`register_method` call; see the README's "Adding a
method".

Everything is named by import path (``"module:attribute"``) and loaded only when used, so the
registry imports neither TensorFlow nor scikit-learn's estimators, and ``clustering/`` imports no
Streamlit (the ``ui.*`` paths below are resolved by the app only).

Example
-------
>>> from clustering import registry
>>> registry.get("kmeans").label
'k-means'
>>> "qbm" in registry.names()
True
"""
from __future__ import annotations

import importlib
import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Optional

from clustering.errors import ConfigError
from clustering.i18n import N_

__all__ = ["MethodSpec", "register_method", "unregister_method", "get", "names", "specs",
           "resolve", "default_params", "estimator_class", "constraints", "build",
           "preload_modules"]

#: Constraint kinds :mod:`clustering.constraints` checks; others (scikit-learn's ``callable``,
#: ``"array-like"``, ``Hidden``) name values the app never offers and are left out.
_CHECKED = ("boolean", "random_state", None)


@dataclass
class MethodSpec:
    """Everything the app, the CLI and the configuration know about one method.

    Parameters
    ----------
    name : str
        The method's name in configurations, on the command line and in widget keys.
    label : str
        Its display name (a page title, the sidebar, a stored run's title).
    estimator : str
        ``"module:Class"`` of its scikit-learn style estimator.
    short : str
        Its name in Compare's choices and tables (default: ``label``).
    sidebar : str
        Its word in the sidebar's list of results (default: ``name``).
    description : str
        One line for ``python -m clustering methods``.
    classic : bool
        Run through :func:`clustering.classic.run_classic` (``n_clusters`` is passed as
        ``n_clusters_param``; ``defaults`` are the parameters the app exposes) rather than
        as the estimator itself.
    n_clusters_param : str or None
        A classic estimator's name for the number of clusters (None: it finds its own).
    defaults : dict or None
        A classic method's exposed parameters and defaults (None: the estimator's signature).
    fixed : dict
        Keyword arguments always given to a classic estimator (never exposed).
    proba : bool
        Whether it gives membership probabilities.
    presets : dict
        Preset name -> name of a classmethod of the estimator returning a configured instance
        (``--preset`` on the command line).
    page, form_key, icon : str or None
        Its app page (``pages/x.py``), the prefix of its settings' widget keys, its icon.
    compare : bool
        Offered on the Compare page.
    compare_params : str or None
        ``"module:function"`` giving its settings in a comparison, called as
        ``f(n_clusters=, seed=, eps=, min_samples=, n_objects=)``; None: the same K and seed.
    preflight : str or None
        ``"module:function"`` ``f(estimator, X)`` refusing a fit before it starts; None: the
        estimator's public ``plan(X)`` when it has one.
    downloads : str or None
        ``"module:function"`` ``f(result, dataset)`` giving the rows of its results' download
        buttons (``ui.downloads``); None: labels, configuration and metrics.
    preload : tuple
        Modules a job or a results page of it imports ahead of time.
    live_x_title : str
        The x axis of its live training curves.
    result_columns : str or None
        ``"module:function"`` ``f(estimator, frame)`` adding the CLI result frame's own columns.
    save_model : str or None
        ``"module:function"`` ``f(estimator, dataset, path)`` writing ``--save-model``.
    execution_text : str or None
        ``"module:function"`` ``f(result)``: how a finished run ran ("" when nothing is known).
    after_train : str or None
        ``"module:function"`` ``f(result, dataset)`` run on the job's worker after the fit
        (views that need the model).
    hidden : tuple
        Parameters its page does not show (besides the server's execution settings).
    app_settings : dict
        Settings the app always gives it, whatever a page or a file says (the ensemble's maps
        one after the other in the session's job: ``n_jobs=1``).
    choices : dict
        A page's options of a parameter (a list, or a ``"module:attribute"`` path), used where
        the estimator declares no constraint.
    form : dict
        How its page lays out the generic settings (``columns``: how many, default 3).
    """

    name: str
    label: str
    estimator: str
    short: str = ""
    sidebar: str = ""
    description: str = ""
    classic: bool = False
    n_clusters_param: Optional[str] = "n_clusters"
    defaults: Optional[dict] = None
    fixed: dict = field(default_factory=dict)
    proba: bool = False
    presets: dict = field(default_factory=dict)
    page: Optional[str] = None
    form_key: Optional[str] = None
    icon: Optional[str] = None
    compare: bool = False
    compare_params: Optional[str] = None
    preflight: Optional[str] = None
    downloads: Optional[str] = None
    preload: tuple = ()
    live_x_title: str = N_("step")
    result_columns: Optional[str] = None
    save_model: Optional[str] = None
    execution_text: Optional[str] = None
    after_train: Optional[str] = None
    hidden: tuple = ("callback", "stop", "verbose")
    app_settings: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)
    form: dict = field(default_factory=dict)

    def __post_init__(self):
        self.short = self.short or self.label
        self.sidebar = self.sidebar or self.name
        self.form_key = self.form_key or (self.name if self.page else None)

    @property
    def uses_n_clusters(self) -> bool:
        return not self.classic or self.n_clusters_param is not None


_REGISTRY: dict[str, MethodSpec] = {}


def register_method(spec: MethodSpec, *, replace: bool = False) -> MethodSpec:
    """Add ``spec`` to the registry (every reader sees it at once); returns it."""
    if not isinstance(spec, MethodSpec):
        raise TypeError(f"expected a MethodSpec, got {type(spec).__name__}")
    if spec.name in _REGISTRY and not replace:
        raise ConfigError(N_("method: {name!r} is already registered."), name=spec.name)
    if spec.name == "compare":
        raise ConfigError(N_("method: 'compare' names the comparison of several methods."))
    _REGISTRY[spec.name] = spec
    return spec


def unregister_method(name: str) -> None:
    """Remove the method ``name`` (a test's toy method, say)."""
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    """Every registered method, in registration order."""
    return list(_REGISTRY)


def specs() -> list[MethodSpec]:
    return list(_REGISTRY.values())


def get(name: str) -> MethodSpec:
    """The spec of ``name``; :class:`ConfigError` naming the known methods otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(N_("method: unknown method {name!r}; choose one of {names}."),
                          name=name, names=", ".join(_REGISTRY)) from None


def resolve(path: Optional[str]) -> Any:
    """The object an ``"module:attribute"`` path names (None for None). The paths are the
    registry entries' own, written in code; nothing read from a file is ever resolved."""
    if path is None:
        return None
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def estimator_class(name: str) -> type:
    """The estimator class of the method ``name``."""
    return resolve(get(name).estimator)


def _signature_defaults(cls: type) -> dict[str, Any]:
    out = {}
    for pname, p in inspect.signature(cls.__init__).parameters.items():
        if pname in ("self", "X", "y") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[pname] = None if p.default is inspect.Parameter.empty else p.default
    return out


def default_params(name: str) -> dict[str, Any]:
    """The hyper-parameters of ``name`` with their default values (``n_clusters`` included for
    every classic method, as a configuration names it)."""
    spec = get(name)
    if not spec.classic:
        return _signature_defaults(resolve(spec.estimator))
    params = dict(spec.defaults or {})
    params.setdefault("n_clusters", 3)
    return params


def _checkable(allowed: list) -> list:
    from clustering.constraints import Interval, Items, Options, StrOptions

    return [c for c in allowed if c in _CHECKED or isinstance(c, (Interval, Options, StrOptions,
                                                                 Items, type))]


def constraints(name: str) -> Optional[dict[str, list]]:
    """The parameter constraints of ``name``'s exposed parameters: the estimator's own
    ``_parameter_constraints`` (a classic method's ``n_clusters`` under the estimator's name for
    it); None when the estimator declares none."""
    spec = get(name)
    declared = getattr(resolve(spec.estimator), "_parameter_constraints", None)
    if not declared:
        return None
    out = {}
    for pname in default_params(name):
        source = spec.n_clusters_param if spec.classic and pname == "n_clusters" else pname
        if source in declared:
            kept = _checkable(list(declared[source]))
            if kept:
                out[pname] = kept
    if spec.classic and "n_clusters" not in out:
        from clustering.constraints import Interval

        out["n_clusters"] = [Interval(numbers.Integral, 1, None, closed="left")]
    return out


def build(name: str, n_clusters: int, **params) -> Any:
    """An unfitted estimator of the classic method ``name`` with ``n_clusters`` clusters."""
    spec = get(name)
    kwargs = {**spec.fixed, **params}
    if spec.n_clusters_param is not None:
        kwargs[spec.n_clusters_param] = n_clusters
    return resolve(spec.estimator)(**kwargs)


def preload_modules() -> tuple[str, ...]:
    """Every module the registered methods ask to have imported ahead of the first job."""
    out: list[str] = []
    for spec in _REGISTRY.values():
        for module in spec.preload:
            if module not in out:
                out.append(module)
    return tuple(out)


# ----------------------------------------------------------------------------------- entries

for _spec in (
    MethodSpec("neural", N_("Neural clustering"), "clustering.neural:NeuralSoftClustering",
               short=N_("Neural (recommended network)"), sidebar=N_("neural"),
               description=N_("neural soft clustering on a proximity-kernel loss (probabilities)"),
               proba=True,
               presets={"seed": "seed_preset", "recommended": "recommended"},
               page="pages/neural.py", form_key="nn", icon=":material/hub:", compare=True,
               compare_params="ui.training:neural_compare_params",
               downloads="ui.downloads:neural_rows",
               preload=("clustering.neural",),
               live_x_title=N_("epoch (restarts one after another)"),
               save_model="clustering.runner:save_keras_model",
               after_train="ui.training:neural_views"),
    MethodSpec("som", N_("Self-organizing map"), "clustering.som:SOM", short=N_("SOM clusters"),
               sidebar=N_("SOM"), description=N_("Kohonen self-organizing map, cells grouped into "
               "clusters"), presets={"haykin": "haykin"}, page="pages/som.py", form_key="som",
               icon=":material/hexagon:", compare=True,
               compare_params="ui.training:som_compare_params",
               downloads="ui.downloads:som_rows",
               preload=("clustering.som",), result_columns="clustering.runner:som_cells",
               save_model="clustering.runner:save_codebook",
               execution_text="ui.map_views:som_execution",
               hidden=("callback", "stop", "verbose", "chunk_size"), form={"columns": 4}),
    MethodSpec("qbm", N_("Quasi-Bayesian ensemble"), "clustering.ensemble:QuasiBayesianEnsemble",
               short=N_("Quasi-Bayesian ensemble"), sidebar=N_("ensemble"),
               description=N_("quasi-Bayesian ensemble of SOMs (posterior probabilities, flags)"),
               proba=True, page="pages/ensemble.py", form_key="qbm", icon=":material/stacks:",
               presets={"article": "article"},
               downloads="ui.downloads:ensemble_rows",
               preload=("clustering.ensemble",), live_x_title=N_("map"),
               result_columns="clustering.runner:qbm_flags",
               save_model="clustering.runner:save_codebook",
               execution_text="ui.map_views:qbm_execution",
               after_train="ui.map_views:attach_kmeans_comparison",
               app_settings={"n_jobs": 1}, form={"columns": 4}),
    MethodSpec("kmeans", N_("k-means"), "sklearn.cluster:KMeans", classic=True, compare=True,
               description=N_("scikit-learn's k-means (Lloyd, k-means++)"),
               defaults={"n_init": 10, "max_iter": 300, "random_state": 0},
               preload=("clustering.classic",)),
    MethodSpec("macqueen", N_("MacQueen k-means"), "clustering.classic:MacQueenKMeans",
               classic=True, compare=True,
               description=N_("the article's sequential k-means (formula 25)"),
               defaults={"n_passes": 1, "init": "first", "tol": 0.0, "random_state": 0}),
    MethodSpec("spectral", N_("Spectral"), "sklearn.cluster:SpectralClustering", classic=True,
               compare=True, description=N_("spectral clustering on a k-nearest-neighbour graph"),
               defaults={"affinity": "nearest_neighbors", "n_neighbors": 10,
                         "random_state": 0}),
    MethodSpec("dbscan", N_("DBSCAN"), "sklearn.cluster:DBSCAN", classic=True, compare=True,
               n_clusters_param=None, compare_params="ui.training:dbscan_compare_params",
               description=N_("density-based; finds its own number of clusters"),
               defaults={"eps": 0.3, "min_samples": 5}),
    MethodSpec("hdbscan", N_("HDBSCAN"), "sklearn.cluster:HDBSCAN", classic=True,
               n_clusters_param=None, fixed={"copy": True},
               description=N_("hierarchical density-based; no eps to choose"),
               defaults={"min_cluster_size": 15, "min_samples": 3}),
    MethodSpec("gmm", N_("Gaussian mixture"), "sklearn.mixture:GaussianMixture", classic=True,
               compare=True, n_clusters_param="n_components", proba=True,
               description=N_("EM for a mixture of Gaussians (membership probabilities)"),
               defaults={"covariance_type": "full", "n_init": 1, "random_state": 0}),
    MethodSpec("agglomerative", N_("Agglomerative (Ward)"),
               "sklearn.cluster:AgglomerativeClustering",
               classic=True, description=N_("bottom-up merging of clusters"),
               defaults={"linkage": "ward"}),
):
    register_method(_spec)
del _spec
