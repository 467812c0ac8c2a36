"""clustermap's backend: data, proximity kernels and clustering estimators, free of any UI.

Modules
-------
registry       one spec per method: the CLI, the configuration, Compare and the app read it
constraints    declarative parameter checks (``_parameter_constraints``), one checker
validation     one check of input arrays (``validate_data``)
planning       the plan ``estimator.plan(X)`` returns before any work starts
datasets       the blobs / moons / circles generators
tables         CSV loading, validation and scaling of real tables (steps in csv_reader,
               cell_numbers, prepare_steps; messages in table_messages)
aggregation    grouped means and their product (the article's generalised criterion Phi)
kernels        proximity kernels of squared distance and their capabilities (registry)
neural         soft clustering by a Keras network trained on a pairwise kernel loss; its
               layers (network), losses (objectives), memory planning (neural_plan) and the
               compiled loop per Keras backend (training)
som            Kohonen self-organizing map (online and batch, formulas 4, 10, 11)
lattice        the SOM's lattice: unit positions, neighbours, U-matrix, suggested size
som_training   the SOM's online and batch training loops, distances, chunks, memory estimate
ensemble       the quasi-Bayesian ensemble of SOMs (posterior membership probabilities)
classic        MacQueen's sequential k-means (formula 25) and the classic methods' runner
metrics        quality functionals (formulas 22, 26-31), agreement of partitions, external indices
runconfig      the saved run's and comparison's JSON schema
runner         loading a run's data and fitting a method from its configuration
config         the public names of registry, runconfig and runner under one import
cli            ``python -m clustering`` / ``clustermap``
memory         the memory budget (``CLUSTERMAP_MEMORY_LIMIT``) and byte sizes
distributed    Dask execution of the batch SOM's sums and the ensemble's maps
cluster        the app's Dask cluster (embedded, or ``CLUSTERMAP_DASK_SCHEDULER``)
tasks, preload what a Dask worker runs and imports ahead of the first job
limits, resources  the bounds on a job's size and the worker's share of the machine
export, plots  tables and Plotly figures of results
progress       progress reports and cooperative stopping shared by all estimators
errors         the user-facing error types
"""
from clustering.errors import ClusteringError, ConfigError, DataError
from clustering.progress import Progress, StopToken

__version__ = "0.1.0"
__all__ = ["ClusteringError", "ConfigError", "DataError", "Progress", "StopToken", "__version__"]
