#!/usr/bin/env python
"""Jobs on the server's Dask workers: start-up, first-job latency, idle memory, and the web
process's share of the CPU a training uses.

Runs as a fresh "server" would: this process plays the web process (it starts the embedded
cluster as the app's first page run does, imports the backends for drawing, and watches the jobs
through :class:`ui.jobs.Job`, polling each job's state as the live panel does), the trainings run
on the cluster's worker processes. Prints:

* the seconds until the cluster is ready (workers started, TensorFlow imported in each);
* resident memory at idle: the web process, each worker, and their sum;
* the home quick start's job (default blobs, the recommended network), first and second time:
  seconds from submit to result;
* CPU seconds of the web process and of the workers while the second job ran, and the web
  process's share (target: under 5 %).

Example: ``.venv/bin/python bench/bench_workers.py`` (``--jobs 3`` repeats the warm job).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _processes():
    """This (web) process and every process of the embedded cluster (scheduler, nannies,
    workers)."""
    import psutil

    web = psutil.Process()
    return web, web.children(recursive=True)


def _is_worker(proc) -> bool:
    return "spawn_main" in " ".join(proc.cmdline())


def _cpu(proc) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def _quick_start_job(epochs=None):
    from ui import quick, runs
    from ui.jobs import Job

    from clustering import datasets, tables

    params = dict(datasets.generator_defaults(quick.DEFAULT_GENERATOR))
    X, y = datasets.generate(quick.DEFAULT_GENERATOR, **params)
    ds = tables.from_arrays(X, y)
    spec = {"source": "generator", "name": quick.DEFAULT_GENERATOR, "params": params}
    nn = quick.recommended_neural_params(quick.DEFAULT_CLUSTERS)
    if epochs:  # a long run: no early stop
        nn.update(max_epochs=epochs, patience=epochs, n_restarts=1)

    def target(callback, stop):
        return runs.train("neural", nn, ds, spec, callback=callback, stop=stop)

    return Job("neural", target, {}, label="Neural clustering")


def run_job(poll: float = 1.0, epochs=None) -> tuple[float, object]:
    """Submit the quick-start job and watch it as the live panel does; (seconds, job)."""
    job = _quick_start_job(epochs)
    t0 = time.monotonic()
    job.start()
    while not job.wait(poll):
        job.status_line(), job.series("loss"), job.snapshot  # what the panel reads
    return time.monotonic() - t0, job


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=1, help="warm jobs after the first (default 1)")
    ap.add_argument("--long-epochs", type=int, default=4000,
                    help="epochs of the long warm job (no early stop; default 4000; 0: none)")
    args = ap.parse_args(argv)

    from clustering import cluster, resources
    from clustering.preload import import_all

    t0 = time.monotonic()
    cluster.start()
    import_all()  # the web process imports the backends to draw results, as the app does
    cluster.client()
    ready = time.monotonic() - t0
    print(f"resources: {resources.describe()}")
    print(f"cluster ready in {ready:.1f} s: {cluster.describe()}")
    time.sleep(2)
    web, others = _processes()
    workers = [p.memory_info().rss for p in others if _is_worker(p)]
    rest = sum(p.memory_info().rss for p in others if not _is_worker(p))
    total = web.memory_info().rss + sum(workers) + rest
    print(f"idle memory: web {_mb(web.memory_info().rss)}, workers "
          f"{', '.join(_mb(r) for r in workers)}, scheduler and nannies {_mb(rest)}, "
          f"together {_mb(total)}")
    cpu = _cpu(web)
    time.sleep(10)
    print(f"idle CPU of the web process: {100 * (_cpu(web) - cpu) / 10:.1f} % of a core")

    first, job = run_job()
    assert job.error is None, job.error
    print(f"first job (quick start, {job.result.estimator.n_epochs_} epochs): {first:.2f} s")
    runs = [("warm job", None)] * args.jobs
    if args.long_epochs:
        runs.append((f"long job ({args.long_epochs} epochs)", args.long_epochs))
    for i, (name, epochs) in enumerate(runs):
        web, workers = _processes()
        cpu_web, cpu_workers = _cpu(web), sum(_cpu(p) for p in workers)
        seconds, job = run_job(epochs=epochs)
        assert job.error is None, job.error
        web, workers = _processes()
        d_web = _cpu(web) - cpu_web
        d_workers = sum(_cpu(p) for p in workers) - cpu_workers
        share = d_web / (d_web + d_workers) if d_web + d_workers else float("nan")
        print(f"{name} {i + 1}: {seconds:.2f} s; CPU web {d_web:.2f} s, cluster "
              f"{d_workers:.2f} s; web share {100 * share:.1f} % (target < 5 %)")
    cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
