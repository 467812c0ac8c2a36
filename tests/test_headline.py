"""The plain-words headline of a result and the readable metrics tables (ui.headline)."""
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_moons

from ui import headline
from ui.result import quality


def _figures(h):
    return {f.label: f for f in h.figures}


def test_headline_of_a_good_partition_of_blobs():
    X, y = make_blobs(90, centers=[[0, 0], [8, 0], [0, 8]], cluster_std=0.5, random_state=0)
    labels = KMeans(3, n_init=5, random_state=0).fit_predict(X)
    proba = np.eye(3)[labels] * 0.95 + 0.05 / 3
    h = headline.build(labels, quality(X, labels, y_true=y), proba)
    figs = _figures(h)
    assert figs["Cluster sizes"].value == "30 / 30 / 30"
    assert figs["Agreement with the labels (ARI)"].value == "1.00"
    assert float(figs["Silhouette"].value) > 0.8
    assert "clearly separated" in figs["Silhouette"].meaning
    assert figs["Reliable objects"].value == "100%"
    assert all(f.meaning for f in h.figures)
    assert not h.poor and h.verdict is None


def test_wrong_k_on_moons_is_called_poor():
    X, y = make_moons(200, noise=0.05, random_state=0)
    labels = KMeans(4, n_init=5, random_state=0).fit_predict(X)
    metrics = quality(X, labels, y_true=y)
    assert metrics["ari"] < 0.5
    h = headline.build(labels, metrics)
    assert h.poor
    assert h.verdict.startswith("This partition is poor: it agrees little with the known labels")
    assert f"ARI {metrics['ari']:.2f}" in h.verdict


def test_no_labels_no_ari_and_a_poor_silhouette_is_said():
    labels = np.repeat([0, 1, 2], 10)
    h = headline.build(labels, {"n_clusters": 3.0, "silhouette": 0.12})
    assert "Agreement with the labels (ARI)" not in _figures(h)
    assert "Reliable objects" not in _figures(h)
    assert "its clusters are not separated (silhouette 0.12, below 0.25)" in h.verdict
    assert "not separated" in _figures(h)["Silhouette"].meaning


def test_sizes_say_noise_and_empty_clusters():
    fig = headline.sizes_figure(np.array([0, 0, 2, -1, -1]), n_clusters=3)
    assert fig.value == "2 / 0 / 1"
    assert "1 of 3 clusters empty" in fig.meaning and "2 objects in no cluster" in fig.meaning


def test_reliable_share_counts_the_largest_probability():
    proba = np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.5, 0.5]])
    fig = headline.reliable_figure(proba, 0.9)
    assert fig.value == "50%" and fig.meaning.startswith("2 of 4 objects")


def test_one_cluster_is_poor():
    h = headline.build(np.zeros(10, int), {"n_clusters": 1.0, "silhouette": float("nan")})
    assert "fewer than 2 clusters" in h.verdict
    assert _figures(h)["Silhouette"].value == "not defined"


def test_metrics_display_has_readable_names_whole_counts_and_every_meaning():
    frame = headline.metrics_display({"n_clusters": 2.0, "noise": 0.0, "silhouette": 0.41234,
                                      "ari": float("nan"), "own_figure": 1.5})
    assert list(frame.columns) == ["figure", "value", "meaning"]
    rows = frame.set_index("figure")["value"].to_dict()
    assert rows["clusters"] == "2" and rows["noise objects"] == "0"
    assert rows["silhouette"] == "0.4123" and rows["ARI"] == "not defined"
    assert rows["own figure"] == "1.5"
    assert not any("_" in name for name in frame["figure"])
    assert frame["meaning"].str.len().gt(0).all()


def test_comparison_puts_key_columns_first_and_drops_repeats():
    table = pd.DataFrame({"theta": [1.0, 2.0], "n_clusters": [3.0, 2.0], "noise": [0.0, 5.0],
                          "silhouette": [0.5, 0.2], "ari": [0.9, 0.3], "nmi": [0.9, 0.3],
                          "clusters found": [3.0, 2.0], "noise points": [0.0, 5.0],
                          "seconds": [0.1, 0.2]},
                         index=pd.Index(["k-means", "DBSCAN"], name="method"))
    shown = headline.comparison_display(table)
    assert list(shown.columns)[:4] == ["clusters", "ARI", "silhouette", "seconds"]
    assert "clusters found" not in shown.columns and "noise points" not in shown.columns
    assert len(shown.columns) == len(set(shown.columns)) == 7
    verdicts = headline.compare_verdicts(table)
    assert list(verdicts) == ["DBSCAN"] and verdicts["DBSCAN"].startswith("DBSCAN is poor")


def test_comparison_without_labels_has_no_ari_column():
    table = pd.DataFrame({"n_clusters": [3.0], "silhouette": [0.5], "ari": [float("nan")],
                          "seconds": [0.1]})
    assert list(headline.comparison_order(table).columns) == ["n_clusters", "silhouette",
                                                               "seconds"]
