"""The home page's quick start: default data and the recommended network."""
from __future__ import annotations

from clustering.i18n import N_, _
from ui import runs, state

DEFAULT_GENERATOR = "blobs"
DEFAULT_CLUSTERS = 3
#: The default data in words (what :func:`ui.state.ask` names before it replaces results);
#: translated where it is used: ``_(DEFAULT_DATA)``.
DEFAULT_DATA = N_("the default data (three blobs, 500 points)")


def generate_default() -> None:
    """Blobs with the generator's defaults become the session's data set."""
    from clustering import datasets, tables

    params = dict(datasets.generator_defaults(DEFAULT_GENERATOR))
    X, y = datasets.generate(DEFAULT_GENERATOR, **params)
    state.set_dataset(tables.from_arrays(X, y),
                      {"source": "generator", "name": DEFAULT_GENERATOR, "params": params},
                      _("{name} ({n} points)").format(
                          name=_(datasets.GENERATOR_LABELS[DEFAULT_GENERATOR]), n=len(X)))


def recommended_neural_params(n_clusters: int = DEFAULT_CLUSTERS) -> dict:
    from clustering.neural import NeuralSoftClustering

    return dict(NeuralSoftClustering.recommended(n_clusters).get_params())


def train_recommended() -> None:
    """Start the recommended network on the current data (a background job)."""
    ds = state.dataset()
    spec = state.data_spec()
    token = state.data_token()
    params = recommended_neural_params(DEFAULT_CLUSTERS)

    def target(callback, stop):
        return runs.train("neural", params, ds, spec, callback=callback, stop=stop,
                          data_token=token)

    state.start_job("neural", target, N_("Neural clustering"),
                    config=runs.job_config("neural", params, spec))
