"""Figure builders: colours, WebGL switch, lattice geometry, projections."""
import numpy as np
import plotly.graph_objects as go
import pytest

from clustering import plots


def _hexagonal(rows, cols):
    return np.array([[c + 0.5 * (r % 2), r * np.sqrt(3) / 2] for r in range(rows) for c in range(cols)])


def test_soft_rgb_is_the_notes_rgb_for_three_clusters():
    proba = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
    rgb = plots.soft_rgb(proba)
    np.testing.assert_allclose(rgb[:3], plots.base_colors(3))
    np.testing.assert_allclose(rgb[3], plots.base_colors(3).mean(axis=0))
    # pure cluster colours are dominated by their own channel
    assert np.argmax(rgb[0]) == 0 and np.argmax(rgb[1]) == 1 and np.argmax(rgb[2]) == 2


def test_soft_rgb_blends_palette_beyond_three_and_normalises_rows():
    proba = np.array([[2.0, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0]])
    rgb = plots.soft_rgb(proba)
    base = plots.base_colors(5)
    np.testing.assert_allclose(rgb[0], base[0])
    np.testing.assert_allclose(rgb[1], (base[0] + base[1]) / 2)


def test_hard_colour_matches_pure_soft_colour():
    for k in (2, 3, 6):
        proba = np.eye(k)
        for label in range(k):
            r, g, b = (int(round(v)) for v in plots.soft_rgb(proba)[label])
            assert plots.cluster_color(label, k) == f"rgb({r},{g},{b})"
    assert plots.cluster_color(-1, 3) == "rgb(150,150,150)"


def test_normalized_entropy_bounds():
    proba = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    ent = plots.normalized_entropy(proba)
    assert ent[0] == pytest.approx(0.0, abs=1e-9)
    assert ent[1] == pytest.approx(1.0)
    assert ent[2] == pytest.approx(np.log(2) / np.log(3))


def test_webgl_above_threshold():
    small = plots.scatter(np.zeros((plots.WEBGL_THRESHOLD, 2)))
    big = plots.scatter(np.zeros((plots.WEBGL_THRESHOLD + 1, 2)))
    assert isinstance(small.data[0], go.Scatter)
    assert isinstance(big.data[0], go.Scattergl)
    soft = plots.soft_scatter(np.zeros((5000, 2)), np.full((5000, 3), 1 / 3))
    assert isinstance(soft.data[0], go.Scattergl)


def test_scatter_one_trace_per_label_with_noise_grey():
    X = np.arange(12, dtype=float).reshape(6, 2)
    fig = plots.scatter(X, np.array([0, 0, 1, 1, -1, 2]))
    names = [t.name for t in fig.data]
    assert names == ["noise", "cluster 0", "cluster 1", "cluster 2"]
    assert fig.data[0].marker.color == "rgb(150,150,150)"
    assert sum(len(t.x) for t in fig.data) == 6


def test_project_2d_keeps_two_features_and_uses_pca_beyond():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    P, names = plots.project_2d(X, ["a", "b"])
    np.testing.assert_array_equal(P, X)
    assert names == ["a", "b"]
    X5 = rng.normal(size=(40, 5)) * [10, 1, 1, 1, 1]
    P5, names5 = plots.project_2d(X5)
    assert P5.shape == (40, 2) and names5[0].startswith("PC1")
    # the first component follows the dominant feature
    assert abs(np.corrcoef(P5[:, 0], X5[:, 0])[0, 1]) > 0.99


def test_hexagon_cells_tile_a_hexagonal_lattice():
    poly = plots.cell_polygon(0.0, 0.0, "hexagonal")
    assert poly.shape == (7, 2)
    np.testing.assert_allclose(poly[0], poly[-1])
    # all six vertices on the circumcircle of radius 1/sqrt(3)
    np.testing.assert_allclose(np.hypot(poly[:6, 0], poly[:6, 1]), 1 / np.sqrt(3))
    # neighbours one apart share an edge: the right neighbour's cell shares two vertices
    right = plots.cell_polygon(1.0, 0.0, "hexagonal")
    shared = sum(np.any(np.all(np.isclose(v, right[:6]), axis=1)) for v in poly[:6])
    assert shared == 2
    diag = plots.cell_polygon(0.5, np.sqrt(3) / 2, "hexagonal")
    shared = sum(np.any(np.all(np.isclose(v, diag[:6]), axis=1)) for v in poly[:6])
    assert shared == 2
    square = plots.cell_polygon(2.0, 3.0, "rectangular")
    np.testing.assert_allclose(square[:4], [[1.5, 2.5], [2.5, 2.5], [2.5, 3.5], [1.5, 3.5]])


def test_lattice_map_draws_every_cell_with_hover():
    coords = _hexagonal(4, 5)
    hover = [f"cell {i}" for i in range(20)]
    fig = plots.lattice_map(coords, np.arange(20.0), hover=hover)
    polygons = [t for t in fig.data if t.fill == "toself"]
    n_cells = sum(list(t.x).count(None) for t in polygons)
    assert n_cells == 20
    hover_trace = fig.data[-1]
    assert list(hover_trace.text) == hover
    # row 0 drawn at the top
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]
    cats = plots.lattice_map(coords, categories=np.arange(20) % 3)
    assert [t.name for t in cats.data if t.fill == "toself"] == ["cluster 0", "cluster 1", "cluster 2"]
    with pytest.raises(ValueError):
        plots.lattice_map(coords)


def test_component_planes_one_subplot_per_feature():
    coords = _hexagonal(3, 4)
    planes = np.random.default_rng(1).normal(size=(12, 3))  # units x features, detected
    fig = plots.component_planes(coords, planes, ["f1", "f2", "f3"], cols=2)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["f1", "f2", "f3"]
    hover = [t for t in fig.data if t.mode == "markers"]
    assert len(hover) == 3 and hover[1].text[0].startswith("f2 = ")


def test_som_grid_links_lattice_neighbours():
    coords = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    fig = plots.som_grid_in_data(np.zeros((4, 2)), codebook, coords, labels=np.array([0, 0, 1, 1]))
    links = next(t for t in fig.data if t.name == "lattice links")
    assert list(links.x).count(None) == 2  # 0-1 and 1-2, not 0-2


def test_decision_regions_image_covers_the_grid():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    xs, ys, grid = plots.plane_grid(X, resolution=10)
    assert grid.shape == (100, 2)
    proba = np.column_stack([grid[:, 0] > 0.5, grid[:, 0] <= 0.5]).astype(float)
    fig = plots.decision_regions(xs, ys, proba, X, np.eye(2))
    image = fig.data[0]
    assert isinstance(image, go.Image)
    z = np.asarray(image.z)
    assert z.shape == (10, 10, 3)
    # left half is cluster 1 (blue-ish), right half cluster 0 (red-ish)
    assert z[0, 0, 2] > z[0, 0, 0] and z[0, -1, 0] > z[0, -1, 2]
    with pytest.raises(ValueError):
        plots.decision_regions(xs, ys, proba[:5], X, np.eye(2))


def test_posterior_and_coassociation():
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.55, 0.45]])
    labels = proba.argmax(axis=1)
    fig = plots.posterior_plot(proba, labels, ids=["a", "b", "c", "d"], threshold=0.6)
    bar = fig.data[0]
    assert list(bar.x) == ["d", "b", "c", "a"]
    np.testing.assert_allclose(bar.y, [0.55, 0.6, 0.8, 0.9])
    C = proba @ proba.T
    heat = plots.coassociation_heatmap(C, labels, ids=["a", "b", "c", "d"])
    order = list(heat.data[0].x)
    assert set(order[:2]) == {"a", "d"} and set(order[2:]) == {"b", "c"}


def test_objects_sharing_an_id_keep_their_own_bar_and_cell():
    """A category axis merges equal names: repeated ids (allowed in a table) are numbered."""
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.55, 0.45]])
    labels = proba.argmax(axis=1)
    ids = ["E1", "E1", "E2", "E1"]
    bar = plots.posterior_plot(proba, labels, ids=ids).data[0]
    assert len(set(bar.x)) == 4 and set(bar.x) == {"E1", "E1 (2)", "E2", "E1 (3)"}
    heat = plots.coassociation_heatmap(proba @ proba.T, labels, ids=ids).data[0]
    assert len(set(heat.x)) == 4 and list(heat.x) == list(heat.y)
    assert plots.category_names(["A", "A (2)", "A"], 3) == ["A", "A (2)", "A (3)"]


def test_small_multiples_and_curves():
    X = np.random.default_rng(2).normal(size=(30, 2))
    fig = plots.small_multiples(X, {"a": np.zeros(30, int), "b": np.arange(30) % 2, "c": -np.ones(30, int)},
                                cols=2)
    assert len(fig.data) == 3
    curve = plots.line_curves({"qe": [3, 2, 1], "te": [0.3, 0.2, 0.1]}, secondary=["te"])
    assert [t.name for t in curve.data] == ["qe", "te"]
    assert list(plots.loss_curve([5.0, 4.0]).data[0].x) == [1, 2]


def test_user_text_is_shown_literally_not_rendered():
    """Plotly renders tags in titles, ticks and hovers: names from a CSV are escaped."""
    import json

    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    fig = plots.scatter(X, np.array(["<b>a</b>", "b", "b"], dtype=object),
                        axis_names=["<b>x</b>", "**y**"], hover=["<i>e1</i>", "e2", "e3\nline"],
                        title="<a href='x'>t</a>")
    assert fig.layout.xaxis.title.text == "&lt;b&gt;x&lt;/b&gt;"
    assert fig.layout.yaxis.title.text == "**y**"
    assert fig.layout.title.text.startswith("&lt;a href")
    assert {t.name for t in fig.data} == {"&lt;b&gt;a&lt;/b&gt;", "b"}
    texts = [t for tr in fig.data for t in tr.text]
    assert "&lt;i&gt;e1&lt;/i&gt;" in texts and "e3<br>line" in texts
    coords = np.array([[0.0, 0.0], [1.0, 0.0]])
    planes = plots.component_planes(coords, np.array([[0.0, 1.0], [1.0, 0.0]]),
                                    ["<b>x</b>", "<script>y</script>"])
    spec = json.dumps(planes.to_plotly_json())
    assert "<b>x" not in spec and "<script>" not in spec and "&lt;script&gt;" in spec
    post = plots.posterior_plot(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0, 1]),
                                ["<b>e1</b>", "e2"])
    assert "&lt;b&gt;e1&lt;/b&gt;" in list(post.data[0].x)


# ----------------------------------------------------------------------------- bounded drawing
def _category_names_reference(ids):
    """The former quadratic numbering (a ``while label in taken`` from 1 for every name)."""
    taken, out = set(), []
    for name in map(plots.plain, ids):
        label, k = name, 1
        while label in taken:
            k += 1
            label = f"{name} ({k})"
        taken.add(label)
        out.append(label)
    return out


def test_category_names_are_unchanged_and_linear_for_repeated_ids():
    rng = np.random.default_rng(3)
    for _ in range(50):
        pool = ["A", "B", "A (2)", "A (3)", "B (2) (2)", "B (2)", "<b>"]
        ids = list(rng.choice(pool, size=int(rng.integers(1, 30))))
        assert plots.category_names(ids, len(ids)) == _category_names_reference(ids)
    names = plots.category_names(["A"] * 50_000, 50_000)  # was 1.25e9 set look-ups
    assert len(set(names)) == 50_000 and names[:3] == ["A", "A (2)", "A (3)"]
    assert names[-1] == "A (50000)"


def test_one_palette_indexed_per_point_gives_the_same_colours():
    rng = np.random.default_rng(4)
    for k in (1, 2, 3, 4, 7, 40):
        labels = rng.integers(-1, k + 2, size=200)  # noise and labels past n_clusters too
        marker = plots.indexed_colors(labels, k, size=4)
        assert marker["size"] == 4 and len(marker["colorscale"]) <= 2 * (k + 3)
        assert _drawn_colours(go.scatter.Marker(marker)) == [plots.cluster_color(int(v), k)
                                                             for v in labels]
        proba = rng.dirichlet(np.ones(k), size=50)
        assert plots.soft_colors(proba) == [plots.css(c) for c in plots.soft_rgb(proba)]
    assert plots.cluster_color(5, 3) == plots.css(plots.base_colors(6)[5])
    labels = np.array([0, 1, 2, 0, 1, -1])
    fig = plots.small_multiples(rng.normal(size=(6, 2)), {"a": labels})
    assert _drawn_colours(fig.data[0].marker) == [plots.cluster_color(int(v), 3) for v in labels]
    labels = np.array([0, 1, 2, 0, 1, 2])
    bar = plots.posterior_plot(rng.dirichlet(np.ones(3), size=6), labels).data[0]
    assert _drawn_colours(bar.marker) == [plots.cluster_color(int(labels[int(i)]), 3)
                                          for i in bar.x]


def _drawn_colours(marker):
    """The colour Plotly draws for each point of a marker with an indexed colour scale."""
    assert marker.cmin == -0.5 and marker.cmax == len(marker.colorscale) / 2 - 0.5
    return [marker.colorscale[2 * int(c)][1] for c in marker.color]


def test_scatter_groups_are_unchanged():
    X = np.arange(12, dtype=float).reshape(6, 2)
    fig = plots.scatter(X, np.array(["b", "a", "b", "c", "a", "b"], dtype=object),
                        hover=list("uvwxyz"))
    assert [t.name for t in fig.data] == ["a", "b", "c"]
    assert list(fig.data[1].x) == [0.0, 4.0, 10.0] and list(fig.data[1].text) == ["u", "w", "z"]
    fig = plots.scatter(X, np.array([2, -1, 2, 0, 0, 2]))
    assert [t.name for t in fig.data] == ["noise", "cluster 0", "cluster 2"]
    assert list(fig.data[2].y) == [1.0, 5.0, 11.0]


def _blocks(sizes, rng):
    labels = np.repeat(np.arange(len(sizes)), sizes)
    C = (labels[:, None] == labels[None, :]) * 0.8 + rng.uniform(0, 0.2, (len(labels),) * 2)
    return (C + C.T) / 2, labels


def test_coassociation_heatmap_draws_a_bounded_stratified_sample():
    rng = np.random.default_rng(5)
    C, labels = _blocks([700, 250, 50], rng)
    fig = plots.coassociation_heatmap(C, labels, title="Together")
    z = np.asarray(fig.data[0].z)
    assert z.shape == (300, 300) and len(fig.data[0].x) == 300
    assert fig.layout.title.text == "Together (300 of 1000 objects shown)"
    shown = [int(name) for name in fig.data[0].x]  # ids default to the row numbers
    assert np.bincount(labels[shown]).tolist() == [210, 75, 15]  # each cluster its share
    assert len(fig.layout.shapes) == 4  # two cluster boundaries, each a row and a column
    again = plots.coassociation_heatmap(C, labels, title="Together")
    assert list(again.data[0].x) == list(fig.data[0].x)  # deterministic
    # many tiny clusters (more than the limit): still at most the limit
    C, labels = _blocks([2] * 400, rng)
    fig = plots.coassociation_heatmap(C, labels, max_objects=300)
    assert np.asarray(fig.data[0].z).shape == (300, 300)
    assert fig.layout.title.text == "300 of 800 objects shown"
    # fewer clusters than the limit but tiny ones: every cluster keeps at least one object
    C, labels = _blocks([990] + [1] * 20, rng)
    shown = [int(n) for n in plots.coassociation_heatmap(C, labels, max_objects=50).data[0].x]
    assert len(shown) == 50 and set(labels[shown]) == set(labels)


def test_coassociation_heatmap_of_small_inputs_is_unchanged():
    rng = np.random.default_rng(6)
    C, labels = _blocks([30, 20, 10], rng)
    fig = plots.coassociation_heatmap(C, labels, title="Together")
    order = np.lexsort((-C.sum(axis=1), labels))
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), C[np.ix_(order, order)])
    assert list(fig.data[0].x) == [str(i) for i in order]
    assert fig.layout.title.text == "Together"
    lines = go.Figure(go.Heatmap(z=[[0]]))
    for c in (29.5, 49.5):  # the boundaries as add_hline / add_vline drew them
        lines.add_hline(y=c, line_color="rgb(200,40,40)", line_width=1)
        lines.add_vline(x=c, line_color="rgb(200,40,40)", line_width=1)
    assert fig.layout.shapes == lines.layout.shapes


# ----------------------------------------------------------------------------------- ensemble
def _selection_table():
    import pandas as pd

    return pd.DataFrame({"M": [4, 2, 3], "reliable_share": [0.7, 0.99, 0.95],
                         "silhouette": [0.5, 0.6, 0.7], "theta_mean": [90.0, 280.0, 150.0],
                         "smallest": [1, 40, 30], "small_clusters": [1, 0, 0],
                         "empty": [0, 0, 0]})


def test_selection_curve_draws_three_curves_over_m_and_marks_the_choice():
    from clustering import ensemble_plots

    fig = ensemble_plots.selection_curve(_selection_table(), chosen=3, min_reliable=0.8,
                                         title="<b>M</b>")
    assert [t.name for t in fig.data] == ["reliable share", "silhouette", "Θ (34)"]
    for t in fig.data:
        assert list(t.x) == [2, 3, 4]  # sorted by M
    assert list(fig.data[0].y) == [0.99, 0.95, 0.7]
    assert list(fig.data[1].y) == [0.6, 0.7, 0.5]
    assert list(fig.data[2].y) == [280.0, 150.0, 90.0]
    assert fig.data[2].yaxis == "y2" and fig.data[0].yaxis == "y"  # Θ on its own axis
    lines = {(s.type, s.x0, s.y0) for s in fig.layout.shapes}
    assert ("line", 3, 0) in lines  # the chosen M, a vertical line
    assert any(s.y0 == 0.8 and s.y1 == 0.8 for s in fig.layout.shapes)
    texts = [a.text for a in fig.layout.annotations]
    assert "chosen M = 3" in texts
    assert fig.layout.title.text == "&lt;b&gt;M&lt;/b&gt;"
    assert list(fig.layout.xaxis.tickvals) == [2, 3, 4]


def test_filter_plot_splits_kept_and_removed_networks_and_draws_the_level():
    import pandas as pd

    from clustering import ensemble_plots

    table = pd.DataFrame({"network": [1, 2, 3, 4], "theta_mean": [3.0, 5.0, 2.5, 6.0],
                          "kept": [True, False, True, False]})
    fig = ensemble_plots.filter_plot(table, threshold=4.0)
    kept, removed = fig.data
    assert (kept.name, list(kept.x), list(kept.y)) == ("kept", ["1", "3"], [3.0, 2.5])
    assert (removed.name, list(removed.x), list(removed.y)) == ("removed", ["2", "4"],
                                                                [5.0, 6.0])
    assert [s.y0 for s in fig.layout.shapes] == [4.0]
    assert len(ensemble_plots.filter_plot(table, None).layout.shapes) == 0
    assert len(ensemble_plots.filter_plot(table, float("nan")).layout.shapes) == 0


def test_profile_chart_one_bar_trace_per_cluster_named_with_its_recommendation():
    import pandas as pd

    from clustering import ensemble_plots

    means = pd.DataFrame({"Phi": [-1.0, 1.5], "Phi11": [-0.8, 1.2], "Phi13": [0.1, -0.1]},
                         index=pd.Index([2, 0], name="cluster"))
    names = {2: "cluster 2 · rank 1: lenient measures", 0: "cluster 0 · rank 2: no relief"}
    fig = ensemble_plots.profile_chart(means, names, score="Phi")
    assert [t.name for t in fig.data] == [names[2], names[0]]  # the rank order of the rows
    assert list(fig.data[0].x) == ["Phi11", "Phi13", "Phi (score)"]  # the score drawn last
    assert list(fig.data[0].y) == [-0.8, 0.1, -1.0] and list(fig.data[1].y) == [1.2, -0.1, 1.5]
    assert fig.data[0].marker.color == plots.cluster_color(2, 3)
    assert fig.layout.barmode == "group" and [s.y0 for s in fig.layout.shapes] == [0.0]
    plain = ensemble_plots.profile_chart(means)
    assert [t.name for t in plain.data] == ["cluster 2", "cluster 0"]
    assert list(plain.data[0].x) == ["Phi", "Phi11", "Phi13"]


def test_criteria_bars_mark_the_more_compact_partition():
    from clustering import ensemble_plots

    comp = {"theta_kmeans": 38.82, "theta_ensemble": 3.68, "more_compact": "ensemble"}
    fig = ensemble_plots.criteria_bars(comp)
    bar = fig.data[0]
    assert list(bar.y) == [38.82, 3.68]
    assert list(bar.x) == ["MacQueen's k-means (25)", "ensemble (34)"]
    assert bar.marker.color[1] != bar.marker.color[0] and bar.marker.color[1] == "rgb(60,160,90)"
    other = ensemble_plots.criteria_bars({**comp, "more_compact": "k-means"})
    assert other.data[0].marker.color[0] == "rgb(60,160,90)"


# ----------------------------------------------------------------------------- readable figures
def _every_builder():
    """One figure of every builder of clustering.plots, ensemble_plots and neighbour_plots."""
    import pandas as pd

    from clustering import ensemble_plots, neighbour_plots

    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 2))
    labels = np.arange(12) % 3
    proba = rng.dirichlet(np.ones(3), size=12)
    coords = _hexagonal(3, 4)
    xs, ys, grid = plots.plane_grid(X, resolution=5)
    table = pd.DataFrame({"network": [1, 2], "theta_mean": [1.0, 2.0], "kept": [True, False],
                          "M": [2, 3], "reliable_share": [0.9, 0.8], "silhouette": [0.5, 0.4],
                          "theta_u1": [1.0, 2.0]})
    return {
        "scatter": plots.scatter(X, labels, title="t"),
        "soft_scatter": plots.soft_scatter(X, proba, title="t"),
        "entropy_scatter": plots.entropy_scatter(X, proba),
        "decision_regions": plots.decision_regions(xs, ys, rng.dirichlet(np.ones(3), 25), X, proba),
        "small_multiples": plots.small_multiples(X, {"a": labels, "b": labels}),
        "line_curves": plots.line_curves({"qe": [3, 2, 1]}, title="t"),
        "stacked_curves": plots.stacked_curves({"qe": [3, 2, 1], "te": [0.3, 0.2, 0.1]}),
        "loss_curve": plots.loss_curve([2.0, 1.0]),
        "kernel_plot": plots.kernel_plot(np.arange(3.0), np.ones(3)),
        "lattice_map": plots.lattice_map(coords, np.arange(12.0), title="t"),
        "hit_map": plots.hit_map(coords, np.arange(12)),
        "component_planes": plots.component_planes(coords, rng.normal(size=(12, 2)), ["a", "b"]),
        "som_grid_in_data": plots.som_grid_in_data(X, X[:12], coords, labels=labels),
        "posterior_plot": plots.posterior_plot(proba, labels, title="t"),
        "coassociation_heatmap": plots.coassociation_heatmap(np.eye(12), labels),
        "replicate_plot": plots.replicate_plot(table, ["theta_u1"], name_column="network"),
        "profile_plot": plots.profile_plot(pd.DataFrame({"a": [1.0, 2.0]}), ["a"]),
        "selection_curve": ensemble_plots.selection_curve(table, 2, title="t"),
        "filter_plot": ensemble_plots.filter_plot(table, 1.5),
        "profile_chart": ensemble_plots.profile_chart(pd.DataFrame({"a": [1.0, -1.0]})),
        "criteria_bars": ensemble_plots.criteria_bars({"theta_kmeans": 1.0,
                                                       "theta_ensemble": 2.0}),
        "k_distance_plot": neighbour_plots.k_distance_plot(np.arange(5.0), eps=1.0),
    }


def test_every_builder_keeps_title_and_legend_clear_of_the_mode_bar():
    for name, fig in _every_builder().items():
        lay = fig.layout
        has_subtitles = any(a.yref == "paper" and a.y is not None and a.y >= 1 and a.text
                            for a in lay.annotations)
        assert lay.margin.t >= plots.top_margin(bool(lay.title.text), has_subtitles), name
        assert lay.margin.t >= plots.MODEBAR_PX, name
        if lay.title.text:  # under the mode-bar row, at the left
            assert lay.title.yref == "container" and lay.title.pad.t >= plots.MODEBAR_PX, name
            assert lay.title.xanchor == "left", name
        # the legend never reaches into the top margin, where the mode-bar is
        assert lay.legend.y is not None and lay.legend.y <= 1, name
        assert lay.legend.yanchor == "top", name


def test_hit_map_writes_the_count_in_every_cell():
    coords = _hexagonal(3, 4)
    hits = np.array([0, 3, 1, 7, 0, 2, 2, 9, 1, 0, 4, 5])
    fig = plots.hit_map(coords, hits, hover=[f"unit {u}" for u in range(12)])
    centres = fig.data[-1]
    assert "text" in centres.mode
    assert list(centres.text) == [str(h) for h in hits]
    assert list(centres.hovertext) == [f"unit {u}" for u in range(12)]
    assert list(centres.customdata) == list(range(12))


def test_component_planes_have_a_titled_colour_bar_each():
    coords = _hexagonal(3, 4)
    planes = np.random.default_rng(1).normal(size=(3, 12))
    fig = plots.component_planes(coords, planes, ["income", "debt", "age"], cols=2,
                                 units="original units")
    bars = [t.marker for t in fig.data if t.mode == "markers" and t.marker.showscale]
    assert len(bars) == 3
    assert [b.colorbar.title.text for b in bars] == ["income, original units",
                                                    "debt, original units", "age, original units"]
    # each bar sits right of its own subplot
    assert bars[0].colorbar.x < bars[1].colorbar.x and bars[0].colorbar.y > bars[2].colorbar.y
    np.testing.assert_allclose([b.cmin for b in bars], planes.min(axis=1))


def test_stacked_curves_two_rows_with_their_own_titled_y_axes():
    fig = plots.stacked_curves({"quantization_error": [3, 2, 1], "topographic_error": [.3, .2, .1]},
                               x=[0, 10, 20], y_titles={"quantization_error": "QE",
                                                        "topographic_error": "TE"})
    lay = fig.layout
    assert lay.yaxis.title.text == "QE" and lay.yaxis2.title.text == "TE"
    assert lay.yaxis.overlaying is None and lay.yaxis2.overlaying is None
    assert lay.yaxis.side != "right" and lay.yaxis2.side != "right"
    # two rows, one above the other, sharing x
    top, bottom = sorted([lay.yaxis.domain, lay.yaxis2.domain], key=lambda d: -d[0])
    assert top[0] >= bottom[1]
    assert lay.xaxis.matches == "x2" or lay.xaxis2.matches == "x"
    assert [t.yaxis for t in fig.data] == ["y", "y2"]


def test_small_multiples_show_ticks_on_shared_ranges():
    X = np.random.default_rng(2).normal(size=(30, 2))
    fig = plots.small_multiples(X, {"a": np.zeros(30, int), "b": np.arange(30) % 2},
                                axis_names=["u", "v"])
    lay = fig.layout
    assert lay.xaxis.showticklabels and lay.xaxis2.showticklabels
    assert list(lay.xaxis.range) == list(lay.xaxis2.range)
    assert list(lay.yaxis.range) == list(lay.yaxis2.range)
    assert lay.xaxis.range[0] < X[:, 0].min() and lay.xaxis.range[1] > X[:, 0].max()
    assert lay.xaxis.title.text == "u" and lay.yaxis.title.text == "v"


def test_legends_name_clusters_by_their_majority_class_and_classes_by_name():
    labels = np.array([0, 0, 0, 1, 1, 1])
    classes = np.array([1, 1, 0, 0, 0, 0])  # codes of ["risky", "sound"]
    names = plots.cluster_names(labels, classes, ["risky", "sound"])
    assert names == {0: "cluster 0 (mostly 'sound')", 1: "cluster 1 (mostly 'risky')"}
    assert plots.cluster_names(labels) == {0: "cluster 0", 1: "cluster 1"}
    X = np.arange(12.0).reshape(6, 2)
    fig = plots.scatter(X, labels, label_names=names)
    assert [t.name for t in fig.data] == list(names.values())
    truth = plots.scatter(X, classes,
                          label_names=plots.class_names_map(classes, ["risky", "sound"]))
    assert [t.name for t in truth.data] == ["risky", "sound"]
    soft = plots.soft_scatter(X, np.eye(2)[labels], label_names=names)
    assert [t.name for t in soft.data[1:]] == [t.name for t in fig.data]


def test_hover_shows_the_id_the_original_values_and_the_probabilities():
    import pandas as pd

    raw = pd.DataFrame({"income": [1200.0, 35.5], "sector": ["A", "B"]})
    proba = np.array([[0.93, 0.07], [0.2, 0.8]])
    hover = plots.object_hover(["t-1", "t-2"], raw, proba, {0: "cluster 0", 1: "cluster 1"})
    assert hover[0].split("\n") == ["id t-1", "income = 1200", "sector = A",
                                    "P(cluster 0) = 0.93", "P(cluster 1) = 0.07"]
    fig = plots.scatter(raw[["income"]].assign(y=0.0).to_numpy(), np.array([0, 1]), hover=hover)
    texts = [t for tr in fig.data for t in tr.text]
    assert any("id t-2" in t and "P(cluster 1) = 0.80" in t for t in texts)


def test_selected_units_reads_the_cells_customdata():
    points = [{"curve_number": 5, "point_index": 3, "customdata": 3},
              {"customdata": [7]}, {"customdata": 3}, {"x": 1.0}]
    assert plots.selected_units(points) == [3, 7]
    assert plots.selected_units([]) == []
