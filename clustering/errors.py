"""Error types raised by the backend.

Every error meant for the user derives from :class:`ClusteringError` (a ``ValueError``), so the CLI
and the app can show its message as it is and never a traceback. An error is raised with its
sentence as an English template and its parameters as data (``DataError(N_("Row {row}: {value}
is not a number."), row=5, value="'abc'")``): ``str(err)`` is the English sentence, and
:func:`clustering.i18n.text` gives it in the language of whoever shows it (the app's visitor, the
CLI's ``--lang``), with the same parameters. A finished sentence (no parameters) is shown as it is,
translated when the catalog has it.
"""
from __future__ import annotations

from clustering.i18n import Joined, Message


class ClusteringError(ValueError):
    """Base class of the backend's user-facing errors; ``str(err)`` says what to fix.

    Parameters
    ----------
    message : str, Message or Joined
        The sentence: an English template (marked ``N_`` for the catalogs) or a built message.
    **params
        The template's parameters (column names, rows, values, limits): data, never translated.
    """

    def __init__(self, message="", /, **params):
        if not isinstance(message, (Message, Joined)):
            message = Message(str(message), **params)
        self.message = message
        super().__init__(str(message))

    def prefixed(self, prefix, /, **params) -> "ClusteringError":
        """The same error (same type) with ``prefix`` before its sentence (``"--data x.csv: "``),
        the prefix a template formatted with ``params``."""
        err = type(self).__new__(type(self))
        ClusteringError.__init__(err, Message("{prefix}{message}",
                                              prefix=Message(prefix, **params),
                                              message=self.message))
        return err


class DataError(ClusteringError):
    """The input table or array cannot be used (bad file, bad cell, too large, too small...)."""


class ConfigError(ClusteringError):
    """A hyper-parameter or a saved configuration is invalid; the message names the field."""
