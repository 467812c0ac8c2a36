"""Error types raised by the backend.

Every error meant for the user derives from :class:`ClusteringError` (a ``ValueError``), so the CLI
and the app can show its message as it is and never a traceback.
"""


class ClusteringError(ValueError):
    """Base class of the backend's user-facing errors; ``str(err)`` says what to fix."""


class DataError(ClusteringError):
    """The input table or array cannot be used (bad file, bad cell, too large, too small...)."""


class ConfigError(ClusteringError):
    """A hyper-parameter or a saved configuration is invalid; the message names the field."""
