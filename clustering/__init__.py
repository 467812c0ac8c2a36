"""clustermap's backend: data, proximity kernels and clustering estimators, free of any UI.

Modules
-------
datasets     the blobs / moons / circles generators with the seed's defaults
tables       CSV loading, validation and scaling of real tables
aggregation  grouped means and their product (the article's generalised criterion Phi)
kernels      proximity kernels of squared distance (registry)
neural       soft clustering by a Keras network trained on a pairwise kernel loss
som          Kohonen self-organizing map (online and batch)
ensemble     the quasi-Bayesian ensemble of SOMs (posterior membership probabilities)
classic      k-means (scikit-learn and MacQueen's sequential form) and other classic methods
metrics      quality functionals (formulas 22, 26-31), agreement of partitions, external indices
progress     progress reports and cooperative stopping shared by all estimators
errors       the user-facing error types
"""
from clustering.errors import ClusteringError, ConfigError, DataError
from clustering.progress import Progress, StopToken

__version__ = "0.1.0"
__all__ = ["ClusteringError", "ConfigError", "DataError", "Progress", "StopToken", "__version__"]
