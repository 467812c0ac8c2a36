"""Aggregates and the generalised criterion against the article's surviving rows of table 1."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clustering.aggregation import TAXPAYER_GROUPS, aggregate
from clustering.errors import ConfigError, DataError

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "taxpayer_table1_rows.csv"


def test_article_rows_phi1_phi2_phi_to_six_digits():
    ref = pd.read_csv(REFERENCE)
    assert ref["enterprise"].tolist() == [1, 24]
    out = aggregate(ref[["enterprise", "Phi11", "Phi13", "Phi21", "Phi24"]], TAXPAYER_GROUPS,
                    criterion="Phi")
    for col in ("Phi1", "Phi2", "Phi"):
        np.testing.assert_allclose(out[col], ref[col], rtol=0, atol=1e-6, err_msg=col)
    assert list(out.columns) == ["enterprise", "Phi11", "Phi13", "Phi21", "Phi24", "Phi1", "Phi2",
                                 "Phi"]
    # the article's enterprise 1, by hand: (1.085608 + 0.320537) / 2 * (0.147356 + 0.734811) / 2
    assert out["Phi"].iloc[0] == pytest.approx(0.7030725 * 0.4410835, abs=1e-15)


def test_recomputing_identical_columns_is_not_a_clash():
    ref = pd.read_csv(REFERENCE)
    once = aggregate(ref[["Phi11", "Phi13", "Phi21", "Phi24"]], TAXPAYER_GROUPS)
    again = aggregate(once, TAXPAYER_GROUPS)
    pd.testing.assert_frame_equal(once, again)
    # the reference's printed values differ from the exact means in the 7th digit: a real clash
    with pytest.raises(ConfigError, match=r"already has columns 'Phi1', 'Phi2', 'Phi' with other "
                                          r"values.*overwrite=True"):
        aggregate(ref, TAXPAYER_GROUPS)
    out = aggregate(ref, TAXPAYER_GROUPS, overwrite=True)
    assert list(out.columns) == list(ref.columns)  # replaced in place
    assert out["Phi1"].iloc[0] == pytest.approx(0.7030725, abs=1e-15)


FRAME = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 0.0, 1.0], "c": [2.0, 4.0, 8.0],
                      "name": ["x", "y", "z"]})


def test_weighted_means_are_normalised():
    out = aggregate(FRAME, {"A": ["a", "b"], "C": ["c"]}, weights={"a": 3, "b": 1},
                    criterion="P")
    np.testing.assert_allclose(out["A"], [1.5, 1.5, 2.5])  # 0.75 a + 0.25 b
    np.testing.assert_allclose(out["C"], FRAME["c"])
    np.testing.assert_allclose(out["P"], out["A"] * out["C"])
    # unlisted columns weigh 1: b weighs 2, a and c 1 each
    out = aggregate(FRAME, {"A": ["a", "b", "c"]}, weights={"b": 2})
    np.testing.assert_allclose(out["A"], (FRAME["a"] + 2 * FRAME["b"] + FRAME["c"]) / 4)
    np.testing.assert_allclose(out["Phi"], out["A"])
    assert "Phi" in out and "Phi" not in FRAME  # the input is not modified


def test_criterion_none_adds_only_the_aggregates():
    out = aggregate(FRAME, {"A": ["a", "b"]}, criterion=None)
    assert list(out.columns) == ["a", "b", "c", "name", "A"]


def test_missing_values_give_missing_aggregates():
    frame = FRAME.assign(b=[3.0, np.nan, 1.0])
    out = aggregate(frame, {"A": ["a", "b"], "C": ["c"]})
    assert np.isnan(out["A"].iloc[1]) and np.isnan(out["Phi"].iloc[1])
    np.testing.assert_allclose(out["Phi"].iloc[[0, 2]], [2.0 * 2.0, 2.0 * 8.0])


@pytest.mark.parametrize("groups, kwargs, error, message", [
    ({"A": ["a", "q"]}, {}, ConfigError, r"groups\.A: no column named 'q'\. Available columns: "
                                         r"'a', 'b', 'c', 'name'"),
    ({"A": []}, {}, ConfigError, r"groups\.A: the group is empty"),
    ({}, {}, ConfigError, r"groups: expected at least one aggregate"),
    ({"A": "a"}, {}, ConfigError, r"groups\.A: expected a list of column names"),
    ({"": ["a"]}, {}, ConfigError, r"non-empty name"),
    ({"A": ["a", "a"]}, {}, ConfigError, r"column 'a' is twice in this group"),
    ({"A": ["a"], "B": ["a", "b"]}, {}, ConfigError, r"groups\.B: column 'a' is also in 'A'"),
    ({"A": ["a", "name"]}, {}, DataError, r"column 'name' is not numeric \(e\.g\. 'x'\)"),
    ({"A": ["a", "b"]}, {"weights": {"a": -1}}, ConfigError,
     r"weights\.a: weights must be greater than 0 \(formula 19\), got -1\."),
    ({"A": ["a", "b"]}, {"weights": {"a": 0}}, ConfigError,
     r"^weights\.a: weights must be greater than 0 \(formula 19\), got 0\.$"),
    ({"A": ["a", "b"]}, {"weights": {"a": 1, "b": 0.0}}, ConfigError,
     r"weights\.b: weights must be greater than 0 \(formula 19\), got 0\."),
    ({"A": ["a", "b"]}, {"weights": {"a": -0.0}}, ConfigError, r"weights\.a: .* greater than 0"),
    ({"A": ["a", "b"]}, {"weights": {"c": 1}}, ConfigError, r"weights\.c: 'c' is in no group"),
    ({"A": ["a", "b"]}, {"weights": {"a": float("nan")}}, ConfigError,
     r"weights\.a: expected a finite number"),
    ({"A": ["a", "b"]}, {"weights": {"a": "2"}}, ConfigError, r"weights\.a: expected a finite"),
    ({"a": ["b", "c"]}, {}, ConfigError, r"already has a column 'a' with other values"),
    ({"A": ["a"]}, {"criterion": "name"}, ConfigError, r"already has a column 'name'"),
    ({"A": ["a"]}, {"criterion": "A"}, ConfigError, r"criterion: 'A' is also an aggregate"),
    ({"A": ["a"]}, {"criterion": " "}, ConfigError, r"criterion: expected a non-empty"),
])
def test_bad_groups_weights_and_names(groups, kwargs, error, message):
    with pytest.raises(error, match=message):
        aggregate(FRAME, groups, **kwargs)


def test_overwrite_replaces_an_existing_column():
    out = aggregate(FRAME, {"a": ["b", "c"]}, criterion=None, overwrite=True)
    np.testing.assert_allclose(out["a"], [2.5, 2.0, 4.5])
    assert list(out.columns) == list(FRAME.columns)


# ----------------------------------------------------------------------------------- demo table
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CLUSTER_VARIABLES = ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]


def test_make_taxpayers_script_reproduces_the_shipped_files(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_taxpayers.py"),
                           "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("taxpayers_synthetic.csv", "taxpayers_synthetic_ru.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_generator_phi21_divides_by_the_preceding_revenue():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_taxpayers",
                                                  ROOT / "scripts" / "make_taxpayers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    f = mod.make_taxpayers()
    np.testing.assert_array_equal(f.Phi21, np.round((f.revenue - f.cost_of_sales)
                                                    / f.revenue_prev, 6))
    # the planted intent survives: weak < average < strong in margin and growth
    means = f.groupby("planted_group")[["Phi21", "Phi24"]].mean()
    for col in ("Phi21", "Phi24"):
        assert means.loc["weak", col] < means.loc["average", col] < means.loc["strong", col]
    assert ((f.Phi24 - f.Phi21) > 0).all()  # cost of sales = (Phi24 - Phi21) * revenue_prev > 0


def _load(name):
    from clustering.tables import load_csv

    return load_csv(DATA / name, feature_columns=CLUSTER_VARIABLES, id_column="enterprise_id",
                    label_column="planted_group")


def test_shipped_tables_load_and_agree():
    from clustering.tables import read_csv

    en, ru = read_csv(DATA / "taxpayers_synthetic.csv"), read_csv(DATA / "taxpayers_synthetic_ru.csv")
    assert ru.attrs["csv"]["encoding"] == "cp1251" and ru.attrs["csv"]["delimiter"] == ";"
    assert ru.attrs["csv"]["decimal"] == ","
    assert "отрасль" in ru.columns and "sector" in en.columns
    numbers = [c for c in en.columns if c != "sector"]
    pd.testing.assert_frame_equal(en[numbers], ru[numbers])
    assert en.shape == (120, 15)
    assert en["enterprise_id"].tolist() == [f"E{i:03d}" for i in range(1, 121)]
    assert en["planted_group"].value_counts().to_dict() == {"average": 42, "weak": 38,
                                                           "strong": 36, "outlier": 4}
    a, b = _load("taxpayers_synthetic.csv"), _load("taxpayers_synthetic_ru.csv")
    assert a.X.shape == (120, 5) and a.feature_names == CLUSTER_VARIABLES
    np.testing.assert_array_equal(a.X, b.X)
    assert a.label_names == ["average", "outlier", "strong", "weak"]


def test_shipped_table_satisfies_the_formulas():
    from clustering.tables import read_csv

    f = read_csv(DATA / "taxpayers_synthetic.csv")
    again = aggregate(f, TAXPAYER_GROUPS, criterion="Phi")  # same values: no clash
    for col in ("Phi1", "Phi2", "Phi"):
        np.testing.assert_allclose(f[col], again[col], rtol=1e-11)
    np.testing.assert_allclose(f["Phi1"], (f.Phi11 + f.Phi13) / 2, rtol=1e-11)
    np.testing.assert_allclose(f["Phi"], f.Phi1 * f.Phi2, rtol=1e-11)
    # the indicators follow from the raw figures (rounded to 6 decimals)
    np.testing.assert_allclose(f.Phi11, f.net_profit / f.cost_of_sales, atol=5e-7)
    np.testing.assert_allclose(f.Phi13, f.fixed_assets / f.cost_of_sales, atol=5e-7)
    # Phi21's denominator is the preceding period's mean revenue (the article's text on (20))
    np.testing.assert_array_equal(
        f.Phi21, ((f.revenue - f.cost_of_sales) / f.revenue_prev).round(6))
    np.testing.assert_array_equal(f.Phi24, (f.revenue / f.revenue_prev).round(6))
    # an outlier like the article's enterprise 7
    assert f.loc[f.planted_group == "outlier", "Phi"].max() == pytest.approx(3.38, abs=0.01)


def test_planted_groups_are_separated_and_outliers_far():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    ds = _load("taxpayers_synthetic.csv")
    out = np.array([ds.label_names[i] == "outlier" for i in ds.labels])
    groups = ds.X[~out]
    labels = KMeans(3, n_init=10, random_state=0).fit_predict(groups)
    assert adjusted_rand_score(ds.labels[~out], labels) > 0.95
    # every outlier is further from its nearest enterprise than any grouped enterprise is
    d = np.linalg.norm(ds.X[:, None, :] - ds.X[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    nearest = d.min(axis=1)
    assert nearest[out].min() > 2 * nearest[~out].max()
