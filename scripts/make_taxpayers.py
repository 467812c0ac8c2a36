#!/usr/bin/env python
"""Write the SYNTHETIC taxpayer demo table (data/taxpayers_synthetic.csv and its Russian-locale copy).

The table is shaped like the article's taxpayer study (digest part B) but its enterprises are
invented: three planted groups in a weak, average and strong financial state plus a few outliers far
from every group (like the article's enterprise 7, Phi = 3.38), so that tests and users can see
whether a method finds them. Deterministic: the same seed writes the same bytes.

For each enterprise the script draws the four indicators around its group's centre, turns them into
quarterly-mean raw figures in thousand roubles (rounded to 0.1), recomputes the indicators from the
rounded figures (rounded to 6 decimals, as the article prints them) and adds the aggregates with
:func:`clustering.aggregation.aggregate`:

* Phi11 = net_profit / cost_of_sales          (profitability per unit of cost)
* Phi13 = fixed_assets / cost_of_sales         (X1 / X8)
* Phi21 = (revenue - cost_of_sales) / revenue_prev  (net margin, formula 20)
* Phi24 = revenue / revenue_prev                    (sales growth index, formula 21)
* Phi1 = (Phi11 + Phi13) / 2, Phi2 = (Phi21 + Phi24) / 2, Phi = Phi1 * Phi2

The article prints (20) as "Ф21 = (Y-Xs)/Y (20)" but says "В знаменателе (20) стоит среднее
значение Y за предшествующий период наблюдений" (the denominator of (20) is the mean of Y over the
preceding period of observation); the text is followed, so Phi21's denominator is ``revenue_prev``,
the same as Phi24's ("во сколько раз возрос этот объем по отношению к среднему значению за
предшествующий период"). The raw figures are built from the drawn indicators accordingly:
``revenue_prev = cost_of_sales / (Phi24 - Phi21)`` and ``revenue = Phi24 * revenue_prev``.

Usage: ``python scripts/make_taxpayers.py [--out-dir DIR] [--seed N]``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from clustering.aggregation import TAXPAYER_GROUPS, aggregate  # noqa: E402

SEED = 20170601
FILE = "taxpayers_synthetic.csv"
FILE_RU = "taxpayers_synthetic_ru.csv"
FLOAT = "%.12g"

#: Planted groups: size, centre and spread of (Phi11, Phi13, Phi21, Phi24).
GROUPS = {
    "weak": (38, [0.30, 0.25, 0.05, 0.80], [0.10, 0.06, 0.025, 0.07]),
    "average": (42, [1.00, 0.42, 0.15, 1.05], [0.12, 0.07, 0.030, 0.08]),
    "strong": (36, [1.80, 0.62, 0.28, 1.50], [0.15, 0.08, 0.035, 0.10]),
}
#: Outliers, each far from every group in its own direction.
OUTLIERS = [
    [3.60, 0.90, 0.36, 2.645],  # exceptionally profitable and growing (Phi 3.38)
    [-0.60, 1.60, -0.25, 0.45],  # loss-making, asset-heavy, shrinking sales
    [0.90, 2.80, 0.12, 1.00],   # capital-intensive: fixed assets far above costs
    [0.35, 0.30, 0.08, 4.20],   # sales quadrupled in a year
]
SECTORS = {
    "manufacturing": "производство",
    "retail": "торговля",
    "construction": "строительство",
    "agriculture": "сельское хозяйство",
    "transport": "транспорт",
    "services": "услуги",
}
SECTOR_COLUMN_RU = "отрасль"


def make_taxpayers(seed: int = SEED) -> pd.DataFrame:
    """The synthetic table: ids, sector, raw figures, indicators, aggregates and planted groups."""
    rng = np.random.default_rng(seed)
    feats, planted = [], []
    for name, (n, centre, spread) in GROUPS.items():
        feats.append(rng.normal(centre, spread, size=(n, 4)))
        planted += [name] * n
    feats.append(np.asarray(OUTLIERS, dtype=float))
    planted += ["outlier"] * len(OUTLIERS)
    phi = np.vstack(feats)
    phi[:, 3] = np.maximum(phi[:, 3], 0.2)  # a growth index is a positive ratio
    phi[:, 2] = np.minimum(phi[:, 2], phi[:, 3] - 0.1)  # cost of sales = (Phi24 - Phi21) Y_prev > 0
    order = rng.permutation(len(phi))
    phi, planted = phi[order], [planted[i] for i in order]
    n = len(phi)

    cost = np.round(rng.lognormal(np.log(40_000.0), 0.7, size=n), 1)  # X8, thousand roubles
    net_profit = np.round(phi[:, 0] * cost, 1)
    fixed_assets = np.round(phi[:, 1] * cost, 1)  # X1
    revenue_prev = np.round(cost / (phi[:, 3] - phi[:, 2]), 1)  # mean Y of the preceding period
    revenue = np.round(phi[:, 3] * revenue_prev, 1)  # Y
    frame = pd.DataFrame({
        "enterprise_id": [f"E{i + 1:03d}" for i in range(n)],
        "sector": rng.choice(list(SECTORS), size=n),
        "cost_of_sales": cost,
        "net_profit": net_profit,
        "fixed_assets": fixed_assets,
        "revenue": revenue,
        "revenue_prev": revenue_prev,
        # the indicators from the rounded figures, printed to 6 decimals like the article's table 1
        "Phi11": np.round(net_profit / cost, 6),
        "Phi13": np.round(fixed_assets / cost, 6),
        "Phi21": np.round((revenue - cost) / revenue_prev, 6),
        "Phi24": np.round(revenue / revenue_prev, 6),
    })
    frame = aggregate(frame, TAXPAYER_GROUPS, criterion="Phi")
    frame["planted_group"] = planted
    return frame


def russian_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """The same table with the text column in Russian (header and values)."""
    ru = frame.copy()
    ru["sector"] = ru["sector"].map(SECTORS)
    return ru.rename(columns={"sector": SECTOR_COLUMN_RU})


def write(out_dir: Path, seed: int = SEED) -> list[Path]:
    """Write both copies into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = make_taxpayers(seed)
    path, path_ru = out_dir / FILE, out_dir / FILE_RU
    # 12 significant digits: the figures and indicators exactly, the aggregates to 1e-12 relative.
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", float_format=FLOAT)
    russian_copy(frame).to_csv(path_ru, index=False, sep=";", decimal=",", lineterminator="\r\n",
                               encoding="cp1251", float_format=FLOAT)
    return [path, path_ru]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=ROOT / "data",
                        help="folder to write the two CSV files into (default: data/)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    for p in write(args.out_dir, args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
