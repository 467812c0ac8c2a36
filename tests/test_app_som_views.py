"""The SOM's results as the analyst reads them: why it stopped, the schedule drawn, counts in
the hit map, label names in the legends, a clicked cell's objects (AppTest and the plain
functions behind the page)."""
import json

import numpy as np
import pandas as pd
import pytest

from clustering import plots, tables
from clustering.som import SOM
from tests.apptest_helpers import check, click, goto, new_app, stop_all_jobs, train_som
from ui import map_views


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _two_groups(n=40):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.3, (n, 2)), rng.normal(3, 0.3, (n, 2))]
    y = np.array(["sound"] * n + ["risky"] * n, dtype=object)
    return X, y


# ----------------------------------------------------------------------------- plain functions
def test_stop_reason_of_an_early_stopped_map_names_tol_and_the_steps():
    X, _ = _two_groups()
    som = SOM(rows=4, cols=5, n_steps=3000, mode="batch", tol=1e-3, random_state=0).fit(X)
    assert som.converged_ and som.n_steps_done_ < 3000
    text = map_views.som_stop_reason(som)
    assert text.startswith(f"it stopped early after {som.n_steps_done_:,} of 3,000 steps")
    assert "no unit moved more than tol = 0.001" in text
    assert "learning rate was small" in text  # eta had decayed below a tenth of eta0
    assert map_views.som_stop_reason(som, "time").startswith("the server's time cap")
    full = SOM(rows=3, cols=3, n_steps=50, mode="batch", tol=0, random_state=0).fit(X)
    assert map_views.som_stop_reason(full) == "it ran the whole schedule of 50 steps"


@pytest.mark.parametrize("params", [dict(mode="batch", n_steps=300, tol=1e-3),
                                    dict(mode="online", n_steps=400, tol=0,
                                         convergence_steps=100, convergence_eta=0.02)])
def test_schedule_curve_ends_at_sigma_end_and_eta_end(params):
    X, _ = _two_groups()
    som = SOM(rows=3, cols=4, random_state=0, **params).fit(X)
    sched = map_views.som_schedule(som)
    assert sched["steps"][0] == 0 and sched["steps"][-1] == som.n_steps_done_
    assert sched["sigma"][-1] == pytest.approx(som.sigma_end_, rel=1e-12)
    assert sched["eta"][-1] == pytest.approx(som.eta_end_, rel=1e-12)
    assert sched["sigma"][0] == pytest.approx(som.sigma0_)
    if som.converged_:  # the rest of the plan is drawn dotted
        assert sched["planned_steps"][-1] == map_views.planned_steps(som)
    else:
        assert len(sched["planned_steps"]) == 0
    note = map_views.schedule_note(som)
    assert f"at the end σ = {som.sigma_end_:.3g} cells and η = {som.eta_end_:.3g}" in note


def test_selection_rows_list_exactly_the_objects_of_the_picked_cell():
    X, y = _two_groups()
    ds = tables.from_arrays(X, y)
    som = SOM(rows=3, cols=3, n_steps=40, mode="batch", random_state=0, n_clusters=2).fit(ds.X)
    ids = [f"t{i}" for i in range(len(X))]
    unit = int(np.argmax(som.hit_counts_))
    names = plots.cluster_names(som.labels_, ds.labels, ds.label_names)
    proba = np.eye(2)[som.labels_]
    rows = map_views.selection_rows([{"curve_number": 9, "point_index": unit, "customdata": unit}],
                                    som, ids, ds.raw, som.labels_, proba, names)
    members = np.flatnonzero(som.bmu_ == unit)
    assert list(rows["id"]) == [ids[i] for i in members]
    assert list(rows.columns) == ["id", "cell", "x1", "x2", "cluster", "probability"]
    np.testing.assert_allclose(rows[["x1", "x2"]].to_numpy(), ds.raw.to_numpy()[members])
    assert set(rows["cluster"]) == {names[int(som.labels_[members[0]])]}
    assert (rows["probability"] == 1.0).all()
    cluster = map_views.selection_rows([{"customdata": unit}], som, ids, ds.raw, som.labels_,
                                       scope="cluster")
    m = som.cell_clusters_[unit]
    assert list(cluster["id"]) == [ids[i] for i in np.flatnonzero(som.labels_ == m)]
    assert map_views.selection_rows([], som, ids, ds.raw, som.labels_).empty


# ----------------------------------------------------------------------------- the page
def _chart(at, key):
    for element in at.get("plotly_chart"):
        if element.proto.id and key in element.proto.id:
            return json.loads(element.proto.spec)
    raise AssertionError(f"no chart {key}")


def _example(at):
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")  # a new session: no results to replace, nothing to confirm
    check(at)
    return at.session_state["cm_dataset"]


@pytest.mark.slow
def test_som_page_says_why_it_stopped_draws_schedule_counts_and_label_names():
    at = new_app()
    ds = _example(at)
    assert ds.label_names, "the example has named classes"
    job, res = train_som(at, rows=4, cols=4, steps=200)
    check(at)
    som = res.estimator
    status = " ".join(t.value for t in at.text)
    assert map_views.som_stop_reason(som, res.stop_reason) in status
    assert any("σ(t) =" in c.value for c in at.caption)
    assert any(c.value == "Click a cell (shift-click for more) to list its objects below the map."
               for c in at.caption)
    hits = _chart(at, "som_hits")["data"][-1]
    assert hits["text"] == [str(int(h)) for h in som.hit_counts_]
    schedule = _chart(at, "som_schedule")
    assert schedule["layout"]["yaxis"]["title"]["text"].startswith("σ")
    assert schedule["layout"]["yaxis2"]["title"]["text"].startswith("η")
    curves = _chart(at, "som_curves")["layout"]
    assert "overlaying" not in curves.get("yaxis2", {})
    classes = _chart(at, "som_classes")
    assert sorted(t["name"] for t in classes["data"]) == sorted(
        str(ds.label_names[int(c)]) for c in np.unique(ds.labels))
    clusters = [t["name"] for t in _chart(at, "som_scatter")["data"]]
    assert all(n.startswith("cluster ") for n in clusters)
    hover = next(t for t in _chart(at, "som_scatter")["data"] if t.get("text"))["text"][0]
    assert hover.startswith("id ") and "Phi11 = " in hover
    planes = _chart(at, "som_planes")
    bars = [t["marker"]["colorbar"]["title"]["text"] for t in planes["data"]
            if t.get("marker", {}).get("showscale")]
    assert bars[0].startswith("Phi11")
