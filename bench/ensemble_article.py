"""Time the quasi-Bayesian ensemble's article preset (27 maps, 12 x 16, T = 500 epochs of the
online rule) on 24 and on 10,000 objects, and the choice of M on the bundled taxpayer table.

    .venv/bin/python bench/ensemble_article.py [--large 10000] [--jobs -1]

Prints one line per run: objects, maps, seconds, and for the bundled table the default (M = 3)
against the suggested M (ARI with the planted groups, reliable share, flags).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from clustering.ensemble import QuasiBayesianEnsemble  # noqa: E402
from clustering.tables import load_csv  # noqa: E402

FEATURES = ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]


def timed_article(n: int, jobs: int) -> None:
    X = np.random.default_rng(0).normal(size=(n, 5))
    start = time.perf_counter()
    qbm = QuasiBayesianEnsemble.article(n_jobs=jobs, scheduler="local").fit(X)
    took = time.perf_counter() - start
    print(f"article preset: {n:>6,} objects, {len(qbm.maps_)} maps of 500 epochs, "
          f"{qbm.maps_[0].rows_}x{qbm.maps_[0].cols_}, n_jobs={jobs}: {took:.1f} s")


def bundled(jobs: int) -> None:
    root = Path(__file__).resolve().parents[1]
    ds = load_csv(root / "data" / "taxpayers_synthetic.csv", feature_columns=FEATURES,
                  id_column="enterprise_id", scaling="standard")
    y = ds.frame["planted_group"].to_numpy()
    outliers = set(np.flatnonzero(y == "outlier"))
    for k in (3, "auto"):
        start = time.perf_counter()
        q = QuasiBayesianEnsemble(n_clusters=k, n_jobs=jobs, scheduler="local").fit(ds.X)
        took = time.perf_counter() - start
        s = q.summary()
        flagged = outliers & set(q.flags_["object"])
        print(f"bundled table, n_clusters={k!r}: M={q.n_clusters_}, sizes {s['sizes']}, "
              f"ARI {adjusted_rand_score(y, q.labels_):.3f}, reliable "
              f"{s['reliable_share']:.3f}, planted outliers flagged {len(flagged)}/"
              f"{len(outliers)}, flags {q.flags_.groupby('flag').size().to_dict()}, "
              f"{took:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=-1)
    args = parser.parse_args()
    bundled(args.jobs)
    timed_article(24, args.jobs)
    timed_article(args.large, args.jobs)


if __name__ == "__main__":
    main()
