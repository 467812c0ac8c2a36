"""The app's default number of clusters and the "suggest K" curve (clustering.k_selection)."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from clustering import k_selection


def _data(labels, names=None):
    return SimpleNamespace(labels=None if labels is None else np.asarray(labels),
                           label_names=names)


def test_default_k_leaves_out_an_outlier_class():
    ds = _data([0, 0, 1, 1, 2, 2, 3], ["average", "strong", "weak", "outlier"])
    k, origin = k_selection.default_k(ds)
    assert k == 3
    assert "3 = the number of classes in the known labels" in origin
    assert "'outlier'" in origin


def test_default_k_counts_every_class_of_numbered_labels():
    assert k_selection.default_k(_data([0, 1, 2, 3, 1]))[0] == 4


def test_default_k_without_labels_is_the_fixed_default_and_says_so():
    k, origin = k_selection.default_k(_data(None))
    assert k == k_selection.DEFAULT_K == 3
    assert "no label column" in origin


def test_default_k_falls_back_when_only_noise_classes_are_left():
    k, origin = k_selection.default_k(_data([0, 1, 1], ["Noise", "normal"]))
    assert k == 3 and "too few" in origin and "'Noise'" in origin


def test_default_k_is_capped_at_the_forms_limit():
    k, origin = k_selection.default_k(_data(np.arange(40)), limit=30)
    assert k == 30 and "40 classes" in origin


def test_curve_suggests_three_on_three_well_separated_blobs():
    X, _ = make_blobs(300, centers=[[0, 0], [10, 0], [0, 10]], cluster_std=0.6,
                      random_state=3)
    table = k_selection.k_curve(X)
    assert table["K"].tolist() == list(range(2, 9))
    three = table.set_index("K").loc[3]
    assert three["stability"] == 1.0 and three["silhouette"] > 0.8
    assert k_selection.suggest_k(table) == 3
    note = k_selection.suggestion_note(table, 3)
    assert note.startswith("Suggested K = 3") and "300 objects" in note


def test_curve_samples_large_data_and_skips_k_not_below_n():
    X = np.random.default_rng(0).normal(size=(50, 2))
    table = k_selection.k_curve(X, ks=[2, 3, 60], sample=40)
    assert table["K"].tolist() == [2, 3]
    assert (table["n_objects"] == 40).all()


def test_suggestion_without_a_stable_k_takes_the_largest_silhouette():
    table = pd.DataFrame({"K": [2, 3], "silhouette": [0.2, 0.3], "stability": [0.5, 0.6],
                          "n_objects": [10, 10]})
    assert k_selection.suggest_k(table) == 3
    assert "no K reached" in k_selection.suggestion_note(table, 3)
    assert k_selection.suggest_k(table.iloc[:0]) is None


def test_k_figure_draws_both_curves_and_marks_the_suggestion():
    from clustering.plots_curves import choice_curve
    from ui.k_panel import k_figure

    X, _ = make_blobs(120, centers=[[0, 0], [10, 0], [0, 10]], cluster_std=0.6, random_state=3)
    table = k_selection.k_curve(X, ks=[2, 3, 4])
    fig = k_figure(table, 3)
    assert [t.name.split(" ")[0] for t in fig.data] == ["silhouette", "stability"]
    assert list(fig.data[0].x) == [2, 3, 4]
    lines = [s for s in fig.layout.shapes if s.x0 == 3 and s.x1 == 3]
    assert lines and any("suggested K = 3" in a.text for a in fig.layout.annotations)
    # the same component draws the ensemble's curve over M, Θ on a right axis
    m_table = pd.DataFrame({"M": [2, 3], "reliable_share": [0.9, 0.8],
                            "silhouette": [0.5, 0.6], "theta_mean": [3.0, 2.0]})
    fig = choice_curve(m_table, "M", {"reliable_share": "reliable share",
                                      "silhouette": "silhouette"},
                       right={"theta_mean": "Θ (34)"}, chosen=3, chosen_text="chosen M =",
                       x_title="number of clusters M")
    assert [t.name for t in fig.data] == ["reliable share", "silhouette", "Θ (34)"]
    assert fig.data[2].yaxis == "y2"
