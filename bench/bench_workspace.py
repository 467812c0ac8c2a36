#!/usr/bin/env python
"""The workspace store: what a reload costs, and what each kind of result takes on disk.

Runs in this process against a throwaway SQLite store (or ``CLUSTERMAP_DATABASE_URL``), with no
Dask cluster: results are trained here (``ui.runs.train``/``compare``, as a worker would). Prints:

* the store size of each kind of result (blobs and JSON) on the default data (500 blobs): a
  neural network with its model, a SOM, a quasi-Bayesian ensemble (3 x 3 grid, 2 replicates), a
  comparison of five methods;
* the time to restore a workspace after a reload, as a new server process pays it (nothing
  decoded in memory: the data set, the working table and the latest result of each method read
  and decoded), for the small data set with its four results and for a 200,000-row table with a
  SOM result; and the time to open an already decoded workspace (a reload on the same process);
* the time to write each.

Example: ``.venv/bin/python bench/bench_workspace.py`` (``--rows 50000`` for a smaller table).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CLUSTERMAP_DATA_DIR", tempfile.mkdtemp(prefix="clustermap-bench-"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def results_on(ds, spec, token: int) -> dict:
    """One result of each kind, trained here on data set number ``token`` of a workspace."""
    from ui import quick, runs

    som = {"rows": 6, "cols": 6, "n_clusters": 3, "n_steps": 2000, "random_state": 0}
    qbm = {"n_clusters": 3, "rows": 4, "cols": 4, "n_replicates": 2, "random_state": 0}
    out = {"neural": runs.train("neural", quick.recommended_neural_params(3), ds, spec,
                                data_token=token),
           "som": runs.train("som", som, ds, spec, data_token=token),
           "qbm": runs.train("qbm", qbm, ds, spec, data_token=token)}
    methods = runs.compare_params(["kmeans", "gmm", "dbscan", "spectral", "som"], 3, 0, 0.3, 5,
                                  n_objects=ds.X.shape[0])
    out["compare"] = runs.compare(methods, ds, spec, data_token=token)
    return out


def record_size(meta, blobs) -> int:
    import json

    return len(json.dumps(meta).encode()) + sum(len(b) for b in blobs.values())


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def restore_times(token: str) -> tuple[float, float]:
    """(cold: a new process decodes everything, warm: this process already has it decoded)."""
    from ui import workspace as wsp

    def cold():
        wsp.reset_store()
        return wsp.open_workspace(token)

    cold_s, _ = timed(cold)
    warm_s, _ = timed(lambda: wsp.open_workspace(token))
    return cold_s, warm_s


def big_table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 5)).round(4), columns=[f"f{i}" for i in range(5)])
    frame.insert(0, "id", [f"enterprise-{i:06d}" for i in range(rows)])
    frame["group"] = rng.choice(["A", "B", "C"], size=rows)
    return frame


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the large table")
    args = ap.parse_args(argv)

    from clustering import config as cfg
    from clustering import tables
    from ui import codec, runs
    from ui import workspace as wsp

    print(f"store: {wsp.store().where}")
    spec = {"source": "generator", "name": "blobs", "params": {"n_samples": 500}}
    ds = cfg.load_data(spec)
    small = wsp.new_workspace()
    t_data, _ = timed(lambda: small.set_dataset(ds, spec, "blobs (500 points)",
                                                seen=small.version), repeat=1)
    results = results_on(ds, spec, small.data_token)
    print("\nstore size per result (500 points, 2 features):")
    for method, res in results.items():
        meta, blobs = codec.encode_result(res)
        print(f"  {runs.RESULT_TITLES[method]:<26} {record_size(meta, blobs) / 1024:8.1f} KB "
              f"({len(blobs)} blobs)")

    t_runs, _ = timed(lambda: [small.add_result(m, r) for m, r in results.items()], repeat=1)
    cold, warm = restore_times(small.token)
    assert set(wsp.open_workspace(small.token).results) == set(results), "results not restored"
    print(f"\nsmall workspace (500 points, 4 results): written in {t_data + t_runs:.3f} s; "
          f"restored after a reload in {cold:.3f} s by a new process, {warm * 1000:.1f} ms by "
          f"the same one")

    frame = big_table(args.rows)
    prep = {"id_column": "id", "label_column": "group"}
    big_ds = tables.prepare(frame, **prep)
    big = wsp.new_workspace()
    table = {"frame": frame, "base": frame, "aggregations": [], "label": "big.csv",
             "origin": {"source": "csv", "file_name": "big.csv", "sha256": "0" * 64}}
    t0 = time.perf_counter()
    big.set_table(table, seen=big.version)
    big.set_dataset(big_ds, {**table["origin"], "aggregations": [], "prepare": prep},
                    "big.csv", seen=big.version)
    som = runs.train("som", {"rows": 10, "cols": 10, "n_clusters": 3, "n_steps": 2000,
                             "random_state": 0}, big_ds, big.spec, data_token=big.data_token)
    big.add_result("som", som)
    written = time.perf_counter() - t0
    cold, warm = restore_times(big.token)
    assert "som" in wsp.open_workspace(big.token).results, "result not restored"
    size = wsp.store().usage(big.token)
    print(f"large workspace ({args.rows:,} rows x 7 columns, its table, a SOM): "
          f"{size / 1024**2:.1f} MB stored, written in {written:.2f} s; restored after a "
          f"reload in {cold:.2f} s by a new process, {warm * 1000:.1f} ms by the same one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
