"""AppTest: the live panel under Train, the settings collapsing while a run is live, the plain-words
headline before the full metrics table, one default K with its origin, "Suggest K", and the
order of Compare's columns."""
import time

import pytest

from tests.apptest_helpers import (check, click, generate, goto, new_app, set_number,
                                   stop_all_jobs, train_som, wait_job)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _flat(node, out=None) -> list:
    """The page's elements in the order they are drawn."""
    out = [] if out is None else out
    for child in getattr(node, "children", {}).values():
        out.append(child)
        _flat(child, out)
    return out


def _where(elements, kind: str, label: str = None, key: str = None) -> int:
    for i, el in enumerate(elements):
        if type(el).__name__ != kind:
            continue
        if label is not None and getattr(el, "label", None) != label:
            continue
        if key is not None and getattr(el, "key", None) != key:
            continue
        return i
    raise AssertionError(f"no {kind} {label or key} on the page")


def _settings(at):
    return next(e for e in at.expander if e.label == "Settings")


def test_live_panel_under_train_settings_collapse_and_headline_leads_the_results():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    assert _settings(at).proto.expanded
    set_number(at, "nn_max_epochs", 20000)
    set_number(at, "nn_patience", 5000)
    at.run()
    click(at, "nn_train")
    check(at)
    job = at.session_state["cm_job"]
    assert job.running
    assert not _settings(at).proto.expanded  # collapsed while the run is live
    page = _flat(at.main)
    settings = _where(page, "Expander", label="Settings")
    train = _where(page, "Button", key="nn_train")
    stop = _where(page, "Button", key="stop_neural")
    loader = _where(page, "Expander", label="Repeat a saved run (upload its configuration JSON)")
    assert settings < train < stop < loader  # the progress right under Train
    goto(at, "data")
    goto(at, "neural")
    assert not _settings(at).proto.expanded  # coming back while it runs: still the progress
    deadline = time.monotonic() + 60
    while len(job.series("loss")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    job.request_stop()
    wait_job(at, timeout=60)
    check(at)
    assert not _settings(at).proto.expanded  # the results come into view, not the form
    page = _flat(at.main)
    heading = _where(page, "Subheader")
    sizes = _where(page, "Metric", label="Cluster sizes")
    table = _where(page, "Expander", label="All quality figures")
    soft = _where(page, "UnknownElement", key="nn_soft")
    assert heading < sizes < table < soft
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Cluster sizes", "Silhouette"]
    assert "Agreement with the labels (ARI)" in labels  # the generator's labels
    figures = at.dataframe[0].value
    assert list(figures.columns) == ["figure", "value", "meaning"]
    assert not any("_" in name for name in figures["figure"])
    rows = figures.set_index("figure")["value"]
    assert rows["clusters"] in ("1", "2", "3")
    assert (figures["meaning"].str.len() > 0).all()


def test_som_page_gets_the_headline_and_the_suggest_k_panel():
    at = generate(new_app(), "blobs", 60)
    train_som(at)
    check(at)
    assert [m.label for m in at.metric][:2] == ["Cluster sizes", "Silhouette"]
    assert any(e.label.startswith("Suggest K") for e in at.expander)
    assert any(c.value.startswith("Default number of clusters\\: 3") for c in at.caption)


def test_suggest_k_draws_the_curve_on_a_worker_and_uses_its_k():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    set_number(at, "nn_n_clusters", 6)
    at.run()
    click(at, "nn_k_draw")
    check(at)
    _, table, suggested = at.session_state["nn_k_curve"]
    assert table["K"].tolist() == list(range(2, 9))
    assert suggested in range(2, 9)
    assert "nn_k_chart" in {c.key for c in at.get("plotly_chart")}
    assert any(c.value.startswith(f"Suggested K = {suggested}") for c in at.caption)
    click(at, "nn_k_use")
    check(at)
    assert at.number_input(key="nn_n_clusters").value == suggested


def test_compare_defaults_k_without_the_outlier_class_and_says_so():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    goto(at, "compare")
    assert at.number_input(key="cmp_k").value == 3  # average, strong, weak; not the outliers
    assert any("not counting \\'outlier\\'" in c.value for c in at.caption)
    goto(at, "neural")
    assert at.number_input(key="nn_n_clusters").value == 3


def test_compare_says_which_method_is_poor_and_puts_key_columns_first():
    at = generate(new_app(), "moons", 80)
    goto(at, "compare")
    at.multiselect(key="cmp_methods").set_value(["kmeans", "gmm"]).run()
    set_number(at, "cmp_k", 4)
    at.run()
    click(at, "cmp_run")
    job = wait_job(at)
    assert job.error is None
    check(at)
    assert any(w.value.startswith("k\\-means is poor") for w in at.warning)
    shown = at.dataframe[0].value
    assert list(shown.columns)[:4] == ["clusters", "ARI", "silhouette", "seconds"]
    assert len(set(shown.columns)) == len(shown.columns)
    assert "clusters found" not in shown.columns and "n_clusters" not in shown.columns
    page = _flat(at.main)
    assert _where(page, "Button", key="cmp_run") < _where(page, "Subheader")


def test_the_settings_close_for_a_run_and_open_again_when_it_failed(monkeypatch):
    from types import SimpleNamespace

    from ui import method_page

    fake = SimpleNamespace(session_state={})
    monkeypatch.setattr(method_page, "st", fake)
    ss = fake.session_state
    key = method_page.settings_state("nn", running=False)
    assert ss[key] is True  # first view: open
    method_page.settings_state("nn", running=True)
    assert ss[key] is False  # a run starts: closed, the live panel in view
    method_page.settings_state("nn", running=False)
    assert ss[key] is False  # it ended with a result: the results in view
    method_page.settings_state("nn", running=True)
    method_page.settings_state("nn", running=False, failed=True)
    assert ss[key] is True  # it failed: the settings are what to change
