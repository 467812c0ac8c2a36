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

The messages (errors, progress, summaries, help) are in English unless the environment asks for
another language of :data:`clustering.i18n.LANGUAGES` (``LC_ALL``, ``LC_MESSAGES`` or ``LANG``,
e.g. ``LANG=ru_RU.UTF-8``) or ``--lang ru`` does (any command takes it; it wins over the
environment). The result table, the JSON configuration and the metric names stay as they are.
"""
from __future__ import annotations

import argparse
import contextvars
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

from clustering import i18n, registry
from clustering.i18n import N_, _
from clustering.progress import RESTART_METRICS, STATUS_METRICS
from clustering.errors import ClusteringError, ConfigError

#: Execution settings taken from this command line only, never from a ``--config`` file:
#: hyper-parameter -> its option.
EXECUTION_OPTIONS = {"scheduler": "--scheduler", "n_jobs": "--n-jobs",
                     "memory_limit": "--memory-limit"}


class _Formatter(argparse.HelpFormatter):
    """argparse's help with its "usage: " in the language of the messages."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in the same one-line form as the rest (status 2), its
    ``-h`` help in the language of the messages, and the global ``--lang`` option."""

    def __init__(self, *args, **kwargs):
        kwargs["add_help"] = False
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        # argparse's own section titles (its catalog is not ours)
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=_("show this help message and exit"))
        # every command takes it (read before parsing by :func:`cli_language`)
        self.add_argument("--lang", choices=tuple(i18n.LANGUAGES), default=argparse.SUPPRESS,
                          help=_("the language of the messages: {choices} (default: from "
                                 "LC_ALL, LC_MESSAGES or LANG, else en)").format(
                              choices=", ".join(i18n.LANGUAGES)))

    def error(self, message: str):  # pragma: no cover - exercised through main()
        self.print_usage(sys.stderr)
        self.exit(2, _("error: {message}").format(message=message) + "\n")


def _prog() -> str:
    """The command's name as it was started: the ``clustermap`` console script of an installed
    package, or ``python -m clustering`` from a checkout."""
    return "clustermap" if os.path.basename(sys.argv[0] or "") == "clustermap" \
        else "python -m clustering"


def build_parser() -> argparse.ArgumentParser:
    """The parser, its help texts in the current language (:func:`clustering.i18n.set_language`
    first)."""
    parser = _Parser(prog=_prog(),
                     description=_("clustermap: neural soft clustering, Kohonen maps and their "
                                   "quasi-Bayesian ensemble on generated data or your CSV "
                                   "tables."))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    sub.add_parser("datasets", help=_("list the data generators and their defaults"))
    sub.add_parser("kernels", help=_("list the proximity kernels of the neural method"))
    m = sub.add_parser("methods", help=_("list the methods and their hyper-parameters"))
    m.add_argument("method", nargs="?", help=_("show one method's hyper-parameters"))

    r = sub.add_parser("run", help=_("fit a method and write labels and probabilities"),
                       description=_("Fit METHOD and write one row per object: id, cluster, "
                                     "p_0 .. p_{K-1} and p_max (methods that give "
                                     "probabilities), the true label when there is one."))
    r.add_argument("--method", help=_("the method (see `methods`); read from --config if given"))
    src = r.add_mutually_exclusive_group()
    src.add_argument("--data", metavar="GENERATOR", help=_("blobs, moons or circles"))
    src.add_argument("--csv", metavar="FILE", help=_("a CSV table (comma, semicolon or tab; "
                                                     "decimal comma; UTF-8 or cp1251) or a "
                                                     "workbook (.xlsx, .xls, .ods; see --sheet)"))
    r.add_argument("--config", metavar="FILE",
                   help=_("repeat a run saved by the app or by --save-config (give --csv again "
                          "when that run used an uploaded table)"))
    g = r.add_argument_group(_("generated data"))
    g.add_argument("--samples", type=int, help=_("n_samples of the generator"))
    g.add_argument("--noise", type=float, help=_("noise of moons/circles (std of blobs: use "
                                                 "--data-param cluster_std=...)"))
    g.add_argument("--data-seed", type=int, help=_("random_state of the generator"))
    g.add_argument("--data-param", action="append", default=[], metavar="NAME=VALUE",
                   help=_("any other generator parameter (repeatable)"))
    t = r.add_argument_group(_("CSV table"))
    t.add_argument("--delimiter", choices=("comma", "semicolon", "tab"),
                   help=_("the separator, when detection guesses wrong (default: detected)"))
    t.add_argument("--encoding", help=_("the text encoding, when detection guesses wrong: "
                                        "utf-8, utf-8-sig, cp1251, cp1252, latin-1, utf-16 "
                                        "(default: detected)"))
    t.add_argument("--sheet", metavar="NAME", help=_("the sheet of a workbook given as --csv "
                                                     "(default: its first sheet)"))
    t.add_argument("--id-column", help=_("column naming the objects"))
    t.add_argument("--features", help=_("comma-separated feature columns (default: every "
                                        "numeric column but the id and label columns)"))
    t.add_argument("--label-column", help=_("known classes, used only for scoring"))
    t.add_argument("--missing", choices=("refuse", "drop", "median"), default="refuse",
                   help=_("missing feature values: refuse (default), drop their rows, or "
                          "impute the column median"))
    t.add_argument("--scaling", choices=("standard", "minmax", "none"), default="standard")
    f = r.add_argument_group(_("method"))
    f.add_argument("--clusters", type=_clusters_arg,
                   help=_("number of clusters (n_clusters); 'auto' lets the ensemble choose M"))
    # " or " joins preset names (data): "neural: seed or recommended"
    f.add_argument("--preset", help="; ".join(
        _("{method}: {presets}").format(method=s.name, presets=_(" or ").join(s.presets))
        for s in registry.specs() if s.presets))
    f.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help=_("a hyper-parameter (repeatable); VALUE is JSON when it parses "
                          "(3, 0.1, true, [20,20]) and text otherwise"))
    x = r.add_argument_group(_("execution (never read from --config)"))
    x.add_argument("--scheduler", help=_("som, qbm: 'local', 'auto', 'localcluster' or a Dask "
                                         "scheduler address such as tcp://10.0.0.5:8786 "
                                         "(default: CLUSTERMAP_DASK_SCHEDULER, else local)"))
    x.add_argument("--n-jobs", type=int, help=_("som, qbm: worker processes (-1: every core)"))
    x.add_argument("--memory-limit", metavar="BYTES",
                   help=_("neural, som, qbm: memory budget of the job, e.g. 8G or 8000000000 "
                          "(default: CLUSTERMAP_MEMORY_LIMIT, else the worker's share)"))
    o = r.add_argument_group(_("output"))
    o.add_argument("--out", metavar="FILE",
                   help=_("write the result CSV here, in the input table's format (a "
                          "semicolon, decimal comma, cp1251 table gives such a file; else UTF-8 "
                          "with a byte-order mark, comma separated); default: standard output, "
                          "in the same delimiter and decimal separator"))
    o.add_argument("--save-config", metavar="FILE",
                   help=_("write the run's full configuration as JSON (reload with --config)"))
    o.add_argument("--save-model", metavar="FILE",
                   help=_("neural: the trained Keras model (.keras); som/qbm: the codebook "
                          "(CSV)"))
    o.add_argument("--quiet", action="store_true", help=_("no progress or figures on stderr"))
    return parser


# ----------------------------------------------------------------------------------- helpers
def _pairs(items: Sequence[str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(N_("{option} {item!r}: write NAME=VALUE."), option=what, item=item)
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
        print(_("ignored {name}={value!r} from the configuration file: pass {option} to use "
                "it").format(name=name, value=value, option=option), file=sys.stderr, flush=True)
    return kept


def _with_execution(method: str, params: dict, execution: dict) -> dict:
    """``params`` updated with the execution options, refusing one ``method`` does not take."""
    from clustering import config

    defaults = config.default_params(method)
    for name, value in execution.items():
        if name not in defaults:
            raise ConfigError(N_("{option}: {method} has no {name} setting."),
                              option=EXECUTION_OPTIONS[name], method=method, name=name)
        params[name] = value
    return params


def _clusters_arg(text: str):
    """``--clusters``: a whole number, or ``auto`` (a method that chooses M itself)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a positive integer or 'auto', got {value!r}").format(value=text))


def _preset_params(method: str, preset: Optional[str], n_clusters: Optional[int]) -> dict:
    """The parameters of ``method``'s preset (a classmethod the registry names)."""
    if preset is None:
        return {}
    spec = registry.get(method)
    if preset not in spec.presets:
        if spec.presets:
            raise ConfigError(N_("--preset: {method} has the presets {presets}, not {preset!r}."),
                              method=method, presets=", ".join(spec.presets), preset=preset)
        raise ConfigError(N_("--preset: {method} has no presets, not {preset!r}."),
                          method=method, preset=preset)
    factory = getattr(registry.estimator_class(method), spec.presets[preset])
    takes_k = n_clusters is not None and "n_clusters" in inspect.signature(factory).parameters
    return factory(**({"n_clusters": n_clusters} if takes_k else {})).get_params(deep=False)


def _data_spec(args, n_clusters: Optional[int]):
    """``(spec, dataset, format)`` for --data or --csv; ``format`` is how the result CSV is
    written (:func:`clustering.export.csv_format` of the table as read)."""
    from clustering import config, datasets, export, tables, workbook

    if args.data is not None:
        if args.data not in datasets.GENERATORS:
            raise ConfigError(N_("--data: unknown generator {name!r}; choose one of {names}."),
                              name=args.data, names=", ".join(datasets.GENERATORS))
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
            raise err.prefixed(N_("--data {data}: "), data=args.data) from err
    path = Path(args.csv)
    if not path.is_file():
        raise ConfigError(N_("--csv: no such file {file!r}."), file=args.csv)
    raw = path.read_bytes()
    read = tables.read_options(args.delimiter, args.encoding, "--", sheet=args.sheet)
    if args.sheet is not None and not workbook.is_workbook_bytes(raw):
        raise ConfigError(N_("--sheet: {file!r} is a text CSV, not a workbook; leave --sheet "
                             "out."), file=path.name)
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


def _number(value, spec: str = "", code: Optional[str] = None) -> str:
    """``value`` formatted by ``spec`` (``".4g"``) as in English; in Russian with a decimal
    comma (and thin-space thousands), as :class:`clustering.i18n.Message` writes numbers."""
    text = format(value, spec)
    if (code or i18n.language()) == "ru":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def _progress_printer(quiet: bool):
    if quiet:
        return None
    state = {"last": 0.0}
    code = i18n.language()  # the CLI's, also when a worker thread reports

    def show(p):
        now = time.monotonic()
        if not p.done and now - state["last"] < 1.0:
            return
        state["last"] = now
        metrics = p.metrics or {}
        restarts = all(k in metrics for k in RESTART_METRICS)
        figures = ", ".join(f"{k} {_number(v, '.4g', code)}" for k, v in metrics.items()
                            if isinstance(v, (int, float)) and math.isfinite(v)
                            and not (restarts and k in STATUS_METRICS))
        # a neural run: the share of its restarts (its message names restart and epoch)
        where = (_number(p.fraction, ".0%", code) if restarts else
                 f"{p.step}/{p.total}" if p.total else str(p.step))
        line = f"[{p.method}] {where}" + (f"  {figures}" if figures else "") \
            + (f"  {i18n.text(p.message)}" if p.message else "")
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
        raise ConfigError(N_("--save-model: {method} has no model to save; it applies to "
                             "{methods}."), method=method, methods=with_model)
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
        param = f" ({k.param_name} = {_number(k.default_param)})" if k.has_param else ""
        print(f"{name}{param}: {_(k.description) if k.description else ''}")
    return 0


def cmd_methods(args) -> int:
    from clustering import config

    names = config.method_names()
    if args.method:
        if args.method not in names:
            raise ConfigError(N_("unknown method {method!r}; choose one of {names}."),
                              method=args.method, names=", ".join(names))
        for key, value in config.default_params(args.method).items():
            print(f"{key} = {value!r}")
        presets = registry.get(args.method).presets
        if presets:
            print(_("presets: {names}").format(names=", ".join(presets)))
        return 0
    for name in names:
        description = registry.get(name).description
        print(f"{name}: {_(description) if description else ''}")
    return 0


def cmd_run(args) -> int:
    """``run``: build the run (from a saved configuration or the options), fit it, write the
    result table, the configuration and the model asked for, and report the figures."""
    if args.config is None and args.method is None:
        raise ConfigError(N_("run: give --method (or --config with a saved run)."))
    if args.config is None and args.data is None and args.csv is None:
        raise ConfigError(N_("run: give the data: --data blobs|moons|circles or --csv FILE."))
    if isinstance(args.clusters, int) and args.clusters < 1:
        raise ConfigError(N_("--clusters: expected a positive integer, got {value}."),
                          value=args.clusters)
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
        raise err.prefixed(N_("--config {config}: "), config=args.config) from err
    if args.method is not None and args.method != cfg.method:
        raise ConfigError(N_("--method: the configuration is a {method} run; leave "
                             "--method out or give the same one."), method=cfg.method)
    if args.data is not None:
        raise ConfigError(N_("--data: a configuration holds its data recipe; give --csv only "
                             "for a run on an uploaded table."))
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
        raise ConfigError(N_("--method: unknown method {method!r}; choose one of {names}."),
                          method=method, names=", ".join(config.method_names()))
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
        print(_("stopping after the current step (Ctrl-C again to abort)"), file=sys.stderr,
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
    figures = ", ".join(f"{k} {_number(report[k], '.4g')}" for k in shown
                        if k in report and math.isfinite(report[k]))
    if stopped:
        line = _("{method} on {objects} objects x {features} features in {seconds} s (stopped "
                 "early by Ctrl-C): {figures}")
    else:
        line = _("{method} on {objects} objects x {features} features in {seconds} s: "
                 "{figures}")
    print(line.format(method=cfg.method, objects=dataset.n_samples, features=dataset.n_features,
                      seconds=_number(elapsed, ".1f"), figures=figures), file=sys.stderr)
    if args.out:
        print(_("wrote {rows} rows to {file}").format(rows=len(frame), file=args.out),
              file=sys.stderr)


COMMANDS = {"datasets": cmd_datasets, "kernels": cmd_kernels, "methods": cmd_methods,
            "run": cmd_run}


def _lang_option(argv: Sequence[str]) -> Optional[str]:
    """The value of the last ``--lang`` (``--lang ru`` or ``--lang=ru``) in ``argv``, before a
    ``--``; None without one. Read before the parser is built, so that its help and its errors
    are in that language; the parser checks the value."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return found


def cli_language(argv: Sequence[str] = (), environ=None) -> str:
    """The language of the command line's messages: ``--lang`` when ``argv`` gives one of
    :data:`clustering.i18n.LANGUAGES`, else the environment's (``LC_ALL``, ``LC_MESSAGES``,
    ``LANG``: :func:`clustering.i18n.language_from_env`), else English."""
    code = _lang_option(list(argv))
    return code if code in i18n.LANGUAGES else i18n.language_from_env(environ)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 130 aborted). The messages are in
    the language of :func:`cli_language`, set for this call only (a copy of the context)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return contextvars.copy_context().run(_main, argv)


def _main(argv: list) -> int:
    i18n.set_language(cli_language(argv))
    args = build_parser().parse_args(argv)
    if getattr(args, "lang", None):  # an abbreviation (--lan) the early reading did not see
        i18n.set_language(args.lang)
    try:
        return COMMANDS[args.command](args)
    except ClusteringError as err:
        print(_("error: {message}").format(message=i18n.text(err)), file=sys.stderr)
        return 2
    except OSError as err:  # unwritable --out, unreadable file: say which, no traceback
        reason = err.strerror or err
        if getattr(err, "filename", None):
            line = _("error: cannot access {file!r}: {reason}").format(file=err.filename,
                                                                       reason=reason)
        else:
            line = _("error: cannot access: {reason}").format(reason=reason)
        print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("aborted"), file=sys.stderr)
        return 130
