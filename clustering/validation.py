"""The one check of an input array: every estimator and every quality function reads ``X`` here.

:func:`validate_data` turns ``X`` into a finite 2-D float64 array with
:func:`sklearn.utils.check_array` and, given the estimator, records the number of features on
``fit`` (``reset=True``: ``n_features_in_``) and checks it on ``predict``, ``transform`` and the
like (``reset=False``), as scikit-learn's estimators do. Its errors are
:class:`~clustering.errors.DataError` (a ``ValueError``) whose message names the array and says
what to fix; the wording of scikit-learn's own message ("X has 3 features, but SOM is expecting
2 features as input") is kept, so that scikit-learn's estimator checks recognise it.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from clustering.errors import DataError
from clustering.i18n import Message, N_

__all__ = ["validate_data"]

#: What a refused table is told to be instead.
ADVICE = N_("Give a table of numbers, one row per object, with no missing or infinite values.")


def validate_data(X, *, estimator: Any = None, reset: bool = True, name: str = "X",
                  min_samples: int = 1, fitted: Optional[str] = None) -> np.ndarray:
    """``X`` as a finite 2-D float64 array (objects x features).

    Parameters
    ----------
    X : array-like
        The data; a DataFrame's numeric values, a list of rows or an array.
    estimator : estimator or None
        With ``reset=True`` (``fit``) its ``n_features_in_`` is set to the number of columns;
        with ``reset=False`` (a fitted estimator's ``predict``, ``transform``...) the columns
        must match it.
    reset : bool
        Record (True) or check (False) the number of features.
    name : str
        The array's name in the messages.
    min_samples : int
        Fewest rows accepted.
    fitted : str or None
        With ``reset=False``: the fitted attribute whose absence raises scikit-learn's
        ``NotFittedError`` before ``X`` is read (default ``n_features_in_``).

    Raises
    ------
    DataError
        Saying what is wrong and what to give.
    """
    if estimator is not None and not reset:
        check_is_fitted(estimator, fitted or "n_features_in_")
    try:
        X = check_array(X, dtype=np.float64, ensure_min_samples=min_samples, input_name=name)
    except ValueError as err:
        raise DataError(N_("{name}: {error} {advice}"), name=name, error=str(err),
                        advice=Message(ADVICE)) from err
    if estimator is None:
        return X
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise DataError(N_("{name} has {n} features, but {estimator} is expecting {expected} "
                           "features as input (the number of features it was fitted on)."),
                        name=name, n=X.shape[1], estimator=type(estimator).__name__,
                        expected=estimator.n_features_in_)
    return X
