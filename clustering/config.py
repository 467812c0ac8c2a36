"""Run configurations, as the rest of the project imports them (``clustering.config as cfg``).

The names live in three modules by responsibility, re-exported here: the method registry
(:mod:`clustering.registry`), the configuration's schema and JSON (:mod:`clustering.runconfig`),
and the runner that rebuilds the data and refits the method (:mod:`clustering.runner`).
"""
from __future__ import annotations

from collections.abc import Mapping

from clustering import registry
from clustering.registry import estimator_class  # noqa: F401
from clustering.runconfig import (AGGREGATION_FIELDS, COMPARISON_FORMAT, DATA_FIELDS,  # noqa: F401
                                  DATA_SOURCES, FORMAT, MAX_CONFIG_BYTES, MAX_DEPTH, MISSING,
                                  PREPARE_FIELDS, READ_FIELDS, ROOT, SCALING, VERSION,
                                  ComparisonConfig, RunConfig, check_value, default_params,
                                  load_comparison, load_config, method_names, parse_json,
                                  save_config, validate_data, validate_params)
from clustering.runner import (RunOutcome, fit_method, load_data, load_table,  # noqa: F401
                               preflight, run, sha256_of)


class _Estimators(Mapping):
    """The estimator-backed (not classic) methods: name -> (module, class), read from the
    registry each time (a method registered later is in it)."""

    def _specs(self):
        return {s.name: s for s in registry.specs() if not s.classic}

    def __getitem__(self, name):
        module, _, cls = self._specs()[name].estimator.partition(":")
        return module, cls

    def __iter__(self):
        return iter(self._specs())

    def __len__(self):
        return len(self._specs())


#: Methods backed by an estimator class: name -> (module, class).
ESTIMATORS: Mapping[str, tuple[str, str]] = _Estimators()

__all__ = ["ESTIMATORS", "estimator_class", "FORMAT", "VERSION", "COMPARISON_FORMAT",
           "RunConfig", "ComparisonConfig", "RunOutcome", "check_value", "default_params",
           "fit_method", "load_comparison", "load_config", "load_data", "load_table",
           "method_names", "parse_json", "preflight", "run", "save_config", "sha256_of",
           "validate_data", "validate_params"]
