"""Command line: ``python -m clustering ...``, the same backend the app uses.

Sub-commands
------------
``datasets``   the generators and their default parameters
``kernels``    the proximity kernels of the neural method
``methods``    the clustering methods and their hyper-parameters
``run``        fit one method on generated data, a CSV table (or a workbook's sheet, ``--sheet``)
               or a saved configuration, and write one row per object (id, cluster, one
               probability column per cluster), in the input table's CSV format
               (:func:`clustering.export.csv_format`)

Where and how a run executes (``scheduler``, ``n_jobs``, ``memory_limit``) is this machine's
choice: a ``--config`` file's values for them are ignored, with one line on stderr each, unless the
command line gives them (``--scheduler``, ``--n-jobs``, ``--memory-limit`` or ``--param``), so a
shared configuration cannot send the data to a Dask scheduler of its choosing.

Every user error (a bad file, an unknown parameter, an impossible value) ends with one line
``error: ...`` saying what to fix and exit status 2; Ctrl-C during training stops it after the
current step and writes what was trained so far (a second Ctrl-C aborts, status 130).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import inspect
import json
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from clustering import registry
from clustering.progress import RESTART_METRICS, STATUS_METRICS
from clustering.errors import ClusteringError, ConfigError

#: Execution settings taken from this command line only, never from a ``--config`` file:
#: hyper-parameter -> its option.
EXECUTION_OPTIONS = {"scheduler": "--scheduler", "n_jobs": "--n-jobs",
                     "memory_limit": "--memory-limit"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the same one-line form as the rest (status 2)."""

    def error(self, message: str):  # pragma: no cover - exercised through main()
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def _prog() -> str:
    """The command's name as it was started: the ``clustermap`` console script of an installed
    package, or ``python -m clustering`` from a checkout."""
    return "clustermap" if os.path.basename(sys.argv[0] or "") == "clustermap" \
        else "python -m clustering"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=_prog(),
                     description="clustermap: neural soft clustering, Kohonen maps and their "
                                 "quasi-Bayesian ensemble on generated data or your CSV tables.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    sub.add_parser("datasets", help="list the data generators and their defaults")
    sub.add_parser("kernels", help="list the proximity kernels of the neural method")
    m = sub.add_parser("methods", help="list the methods and their hyper-parameters")
    m.add_argument("method", nargs="?", help="show one method's hyper-parameters")

    r = sub.add_parser("run", help="fit a method and write labels and probabilities",
                       description="Fit METHOD and write one row per object: id, cluster, "
                                   "p_0 .. p_{K-1} and p_max (methods that give probabilities), "
                                   "the true label when there is one.")
    r.add_argument("--method", help="the method (see `methods`); read from --config if given")
    src = r.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="GENERATOR", help="blobs, moons or circles")
    src.add_argument("--csv", metavar="FILE", help="a CSV table (comma, semicolon or tab; "
                                                   "decimal comma; UTF-8 or cp1251) or a "
                                                   "workbook (.xlsx, .xls, .ods; see --sheet)")
    r.add_argument("--config", metavar="FILE",
                   help="repeat a run saved by the app or by --save-config (give --csv again "
                        "when that run used an uploaded table)")
    g = r.add_argument_group("generated data")
    g.add_argument("--samples", type=int, help="n_samples of the generator")
    g.add_argument("--noise", type=float, help="noise of moons/circles (std of blobs: use "
                                               "--data-param cluster_std=...)")
    g.add_argument("--data-seed", type=int, help="random_state of the generator")
    g.add_argument("--data-param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other generator parameter (repeatable)")
    t = r.add_argument_group("CSV table")
    t.add_argument("--delimiter", choices=("comma", "semicolon", "tab"),
                   help="the separator, when detection guesses wrong (default: detected)")
    t.add_argument("--encoding", help="the text encoding, when detection guesses wrong: utf-8, "
                                      "utf-8-sig, cp1251, cp1252, latin-1, utf-16 (default: "
                                      "detected)")
    t.add_argument("--sheet", metavar="NAME", help="the sheet of a workbook given as --csv "
                                                   "(default: its first sheet)")
    t.add_argument("--id-column", help="column naming the objects")
    t.add_argument("--features", help="comma-separated feature columns (default: every "
                                      "numeric column but the id and label columns)")
    t.add_argument("--label-column", help="known classes, used only for scoring")
    t.add_argument("--missing", choices=("refuse", "drop", "median"), default="refuse",
                   help="missing feature values: refuse (default), drop their rows, or impute "
                        "the column median")
    t.add_argument("--scaling", choices=("standard", "minmax", "none"), default="standard")
    f = r.add_argument_group("method")
    f.add_argument("--clusters", type=_clusters_arg,
                   help="number of clusters (n_clusters); 'auto' lets the ensemble choose M")
    f.add_argument("--preset", help="; ".join(f"{s.name}: {' or '.join(s.presets)}"
                                              for s in registry.specs() if s.presets))
    f.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a hyper-parameter (repeatable); VALUE is JSON when it parses "
                        "(3, 0.1, true, [20,20]) and text otherwise")
    x = r.add_argument_group("execution (never read from --config)")
    x.add_argument("--scheduler", help="som, qbm: 'local', 'auto', 'localcluster' or a Dask "
                                       "scheduler address such as tcp://10.0.0.5:8786 (default: "
                                       "CLUSTERMAP_DASK_SCHEDULER, else local)")
    x.add_argument("--n-jobs", type=int, help="som, qbm: worker processes (-1: every core)")
    x.add_argument("--memory-limit", metavar="BYTES",
                   help="neural, som, qbm: memory budget of the job, e.g. 8G or 8000000000 "
                        "(default: CLUSTERMAP_MEMORY_LIMIT, else the worker's share)")
    o = r.add_argument_group("output")
    o.add_argument("--out", metavar="FILE",
                   help="write the result CSV here, in the input table's format (a semicolon, "
                        "decimal comma, cp1251 table gives such a file; else UTF-8 with a "
                        "byte-order mark, comma separated); default: standard output, in the "
                        "same delimiter and decimal separator")
    o.add_argument("--save-config", metavar="FILE",
                   help="write the run's full configuration as JSON (reload with --config)")
    o.add_argument("--save-model", metavar="FILE",
                   help="neural: the trained Keras model (.keras); som/qbm: the codebook (CSV)")
    o.add_argument("--quiet", action="store_true", help="no progress or figures on stderr")
    return parser


# ----------------------------------------------------------------------------------- helpers
def _pairs(items: Sequence[str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"{what} {item!r}: write NAME=VALUE.")
        try:
            out[name] = json.loads(text)
        except json.JSONDecodeError:
            out[name] = text
    return out


def _execution_params(args) -> dict[str, Any]:
    """The execution settings given as options (``--scheduler``, ``--n-jobs``,
    ``--memory-limit``), checked; the hyper-parameter names as keys."""
    from clustering import distributed

    out: dict[str, Any] = {}
    if args.scheduler is not None:
        out["scheduler"] = distributed.check_scheduler(args.scheduler, "--scheduler")
    if args.n_jobs is not None:
        distributed.check_n_jobs(args.n_jobs, "--n-jobs")
        out["n_jobs"] = args.n_jobs
    if args.memory_limit is not None:
        out["memory_limit"] = distributed.parse_bytes(args.memory_limit, "--memory-limit")
    return out


def _drop_execution_settings(method: str, params: dict, given: Sequence[str]) -> dict:
    """``params`` of a ``method`` read from a configuration file, without the settings of
    :data:`EXECUTION_OPTIONS` that the command line did not give: each such setting away from
    its default is dropped (the default applies) and said on stderr, in one line."""
    from clustering import config

    defaults = config.default_params(method)
    kept = dict(params)
    for name, option in EXECUTION_OPTIONS.items():
        if name in given or name not in kept or kept[name] == defaults.get(name):
            continue
        value = kept.pop(name)
        print(f"ignored {name}={value!r} from the configuration file: pass {option} to use it",
              file=sys.stderr, flush=True)
    return kept


def _with_execution(method: str, params: dict, execution: dict) -> dict:
    """``params`` updated with the execution options, refusing one ``method`` does not take."""
    from clustering import config

    defaults = config.default_params(method)
    for name, value in execution.items():
        if name not in defaults:
            raise ConfigError(f"{EXECUTION_OPTIONS[name]}: {method} has no {name} setting.")
        params[name] = value
    return params


def _clusters_arg(text: str):
    """``--clusters``: a whole number, or ``auto`` (a method that chooses M itself)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'auto', got {text!r}")


def _preset_params(method: str, preset: Optional[str], n_clusters: Optional[int]) -> dict:
    """The parameters of ``method``'s preset (a classmethod the registry names)."""
    if preset is None:
        return {}
    spec = registry.get(method)
    if preset not in spec.presets:
        raise ConfigError(f"--preset: {method} has "
                          + (f"the presets {', '.join(spec.presets)}" if spec.presets
                             else "no presets") + f", not {preset!r}.")
    factory = getattr(registry.estimator_class(method), spec.presets[preset])
    takes_k = n_clusters is not None and "n_clusters" in inspect.signature(factory).parameters
    return factory(**({"n_clusters": n_clusters} if takes_k else {})).get_params(deep=False)


def _data_spec(args, n_clusters: Optional[int]):
    """``(spec, dataset, format)`` for --data or --csv; ``format`` is how the result CSV is
    written (:func:`clustering.export.csv_format` of the table as read)."""
    from clustering import config, datasets, export, tables, workbook

    if args.data is not None:
        if args.data not in datasets.GENERATORS:
            raise ConfigError(f"--data: unknown generator {args.data!r}; choose one of "
                              f"{', '.join(datasets.GENERATORS)}.")
        params = _pairs(args.data_param, "--data-param")
        for key, value in (("n_samples", args.samples), ("noise", args.noise),
                           ("random_state", args.data_seed)):
            if value is not None:
                params[key] = value
        try:
            spec = config.validate_data({"source": "generator", "name": args.data,
                                         "params": params})
            return spec, config.load_data(spec), export.CsvFormat()
        except ClusteringError as err:
            raise type(err)(f"--data {args.data}: {err}") from err
    path = Path(args.csv)
    if not path.is_file():
        raise ConfigError(f"--csv: no such file {args.csv!r}.")
    raw = path.read_bytes()
    read = tables.read_options(args.delimiter, args.encoding, "--", sheet=args.sheet)
    if args.sheet is not None and not workbook.is_workbook_bytes(raw):
        raise ConfigError(f"--sheet: {path.name!r} is a text CSV, not a workbook; leave --sheet "
                          "out.")
    frame = tables.read_csv(raw, **read)
    features = None
    if args.features:
        features = [c.strip() for c in args.features.split(",") if c.strip()]
    dataset = tables.prepare(frame, feature_columns=features, id_column=args.id_column,
                             label_column=args.label_column, missing=args.missing,
                             scaling=args.scaling, n_clusters=n_clusters)
    spec = config.validate_data({
        "source": "csv", "sha256": config.sha256_of(raw), "file_name": path.name,
        **({"read": read} if read else {}), "aggregations": [],
        "prepare": {"feature_columns": [str(c) for c in dataset.feature_names],
                    "id_column": args.id_column, "label_column": args.label_column,
                    "missing": args.missing, "scaling": args.scaling}})
    return spec, dataset, export.csv_format(frame)


def _progress_printer(quiet: bool):
    if quiet:
        return None
    state = {"last": 0.0}

    def show(p):
        now = time.monotonic()
        if not p.done and now - state["last"] < 1.0:
            return
        state["last"] = now
        metrics = p.metrics or {}
        restarts = all(k in metrics for k in RESTART_METRICS)
        figures = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()
                            if isinstance(v, (int, float)) and math.isfinite(v)
                            and not (restarts and k in STATUS_METRICS))
        # a neural run: the share of its restarts (its message names restart and epoch)
        where = (f"{p.fraction:.0%}" if restarts else
                 f"{p.step}/{p.total}" if p.total else str(p.step))
        line = f"[{p.method}] {where}" + (f"  {figures}" if figures else "") \
            + (f"  {p.message}" if p.message else "")
        print(line, file=sys.stderr, flush=True)

    return show


def _result_frame(method: str, est, dataset, labels, proba):
    """One row per object: id, cluster, probabilities, the true label, and the method's own
    columns (the registry's ``result_columns``)."""
    from clustering import export

    ids = dataset.ids if dataset.ids is not None else np.arange(dataset.n_samples)
    known = export.true_labels(dataset)
    extra = {} if known is None else {"true_label": known}
    frame = export.assignments_frame(ids, labels, proba, extra=extra)
    columns = registry.resolve(registry.get(method).result_columns)
    if columns is not None:
        columns(est, frame)
    return frame


def _save_model(method: str, est, dataset, path: str) -> None:
    """``--save-model``: the registry's ``save_model`` of ``method``."""
    save = registry.resolve(registry.get(method).save_model)
    if save is None:
        with_model = ", ".join(s.name for s in registry.specs() if s.save_model)
        raise ConfigError(f"--save-model: {method} has no model to save; it applies to "
                          f"{with_model}.")
    save(est, dataset, path)


# ----------------------------------------------------------------------------------- commands
def cmd_datasets(_args) -> int:
    from clustering import datasets

    for name in datasets.GENERATORS:
        defaults = datasets.generator_defaults(name)
        print(f"{name}: " + ", ".join(f"{k}={v!r}" for k, v in defaults.items()))
    return 0


def cmd_kernels(_args) -> int:
    from clustering import kernels

    for name in kernels.kernel_names():
        k = kernels.get_kernel(name)
        param = f" ({k.param_name} = {k.default_param})" if k.has_param else ""
        print(f"{name}{param}: {k.description}")
    return 0


def cmd_methods(args) -> int:
    from clustering import config

    names = config.method_names()
    if args.method:
        if args.method not in names:
            raise ConfigError(f"unknown method {args.method!r}; choose one of {', '.join(names)}.")
        for key, value in config.default_params(args.method).items():
            print(f"{key} = {value!r}")
        presets = registry.get(args.method).presets
        if presets:
            print(f"presets: {', '.join(presets)}")
        return 0
    for name in names:
        print(f"{name}: {registry.get(name).description}")
    return 0


def cmd_run(args) -> int:
    """``run``: build the run (from a saved configuration or the options), fit it, write the
    result table, the configuration and the model asked for, and report the figures."""
    if args.config is None and args.method is None:
        raise ConfigError("run: give --method (or --config with a saved run).")
    if args.config is None and args.data is None and args.csv is None:
        raise ConfigError("run: give the data: --data blobs|moons|circles or --csv FILE.")
    if isinstance(args.clusters, int) and args.clusters < 1:
        raise ConfigError(f"--clusters: expected a positive integer, got {args.clusters}.")
    cfg, dataset, fmt = _saved_run(args) if args.config is not None else _new_run(args)
    stop = threading.Event()
    started = time.perf_counter()
    outcome = _run_interruptibly(cfg, dataset, stop, args.quiet)
    elapsed = time.perf_counter() - started
    frame = _write_outputs(args, cfg, dataset, outcome, fmt)
    if not args.quiet:
        _report(args, cfg, dataset, outcome, frame, elapsed, stop.is_set())
    return 0


def _saved_run(args):
    """The run of ``--config``, with ``--param``, ``--clusters`` and the execution options
    applied; its data rebuilt (``--csv`` for an uploaded table); the output format of
    :func:`_data_spec` (read from the rebuilt table's notes)."""
    from clustering import config, export, tables

    try:
        cfg = config.load_config(Path(args.config))
    except ClusteringError as err:
        raise type(err)(f"--config {args.config}: {err}") from err
    if args.method is not None and args.method != cfg.method:
        raise ConfigError(f"--method: the configuration is a {cfg.method} run; leave "
                          "--method out or give the same one.")
    if args.data is not None:
        raise ConfigError("--data: a configuration holds its data recipe; give --csv only "
                          "for a run on an uploaded table.")
    overrides = _pairs(args.param, "--param")
    execution = _execution_params(args)
    params = _drop_execution_settings(cfg.method, dict(cfg.params), [*overrides, *execution])
    params.update(overrides)
    _with_execution(cfg.method, params, execution)
    if args.clusters is not None:
        params["n_clusters"] = args.clusters
    cfg = config.RunConfig(cfg.method, config.validate_params(cfg.method, params), cfg.data,
                           cfg.note)
    if cfg.data["source"] == "generator":
        return cfg, config.load_data(cfg.data), export.CsvFormat()
    # load_data's two steps: the format is read from the table as read
    table = config.load_table(cfg.data, csv=args.csv)
    return cfg, tables.prepare(table, **cfg.data["prepare"]), export.csv_format(table)


def _new_run(args):
    """The run of ``--method`` (its preset, ``--param``, ``--clusters``) on ``--data`` or
    ``--csv``."""
    from clustering import config

    method = args.method
    if method not in config.method_names():
        raise ConfigError(f"--method: unknown method {method!r}; choose one of "
                          f"{', '.join(config.method_names())}.")
    params = _preset_params(method, args.preset, args.clusters)
    params.update(_pairs(args.param, "--param"))
    _with_execution(method, params, _execution_params(args))
    if args.clusters is not None:
        params["n_clusters"] = args.clusters
    params = config.validate_params(method, params)
    k = params.get("n_clusters")
    spec, dataset, fmt = _data_spec(args, k if isinstance(k, int) else None)
    return config.RunConfig(method, params, spec, note="python -m clustering run"), dataset, fmt


def _run_interruptibly(cfg, dataset, stop: threading.Event, quiet: bool):
    """Fit ``cfg``; the first Ctrl-C sets ``stop`` (the fit ends after its current step and
    keeps what it has), a second one aborts."""
    from clustering import config

    interrupts = {"n": 0}

    def on_sigint(_sig, _frame):
        interrupts["n"] += 1
        if interrupts["n"] > 1:
            raise KeyboardInterrupt
        stop.set()
        print("stopping after the current step (Ctrl-C again to abort)", file=sys.stderr,
              flush=True)

    previous = signal.signal(signal.SIGINT, on_sigint) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        return config.run(cfg, dataset, callback=_progress_printer(quiet), stop=stop)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _write_outputs(args, cfg, dataset, outcome, fmt):
    """The result table to ``--out`` in ``fmt`` (or standard output: its delimiter and decimal
    separator, in the terminal's encoding, no byte-order mark), then ``--save-config`` and
    ``--save-model``; returns the table."""
    from clustering import config, export

    frame = _result_frame(cfg.method, outcome.estimator, dataset, outcome.labels, outcome.proba)
    if args.out:
        Path(args.out).write_bytes(export.csv_bytes(frame, fmt=fmt))
    else:
        text = export.csv_bytes(frame, fmt=dataclasses.replace(fmt, encoding="utf-8"))
        sys.stdout.write(text.decode("utf-8"))
        sys.stdout.flush()
    if args.save_config:
        config.save_config(cfg, args.save_config)
    if args.save_model:
        _save_model(cfg.method, outcome.estimator, dataset, args.save_model)
    return frame


def _report(args, cfg, dataset, outcome, frame, elapsed: float, stopped: bool) -> None:
    """One line of figures on standard error (and where the table went)."""
    from clustering import metrics

    report = metrics.quality_report(dataset.X, outcome.labels, dataset.labels)
    shown = ("n_clusters", "noise", "ari", "nmi", "silhouette", "theta")
    figures = ", ".join(f"{k} {report[k]:.4g}" for k in shown
                        if k in report and math.isfinite(report[k]))
    note = " (stopped early by Ctrl-C)" if stopped else ""
    print(f"{cfg.method} on {dataset.n_samples} objects x {dataset.n_features} features in "
          f"{elapsed:.1f} s{note}: {figures}", file=sys.stderr)
    if args.out:
        print(f"wrote {len(frame)} rows to {args.out}", file=sys.stderr)


COMMANDS = {"datasets": cmd_datasets, "kernels": cmd_kernels, "methods": cmd_methods,
            "run": cmd_run}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 130 aborted)."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ClusteringError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable --out, unreadable file: say which, no traceback
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"error: cannot access{where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aborted", file=sys.stderr)
        return 130
