"""AppTest: hostile names shown as text, session isolation, time cap, one job per session,
reloadable comparison, kernels' curves and help, aggregation name clashes, the ensemble's flags."""
import json
import re

import numpy as np
import pytest

from tests.apptest_helpers import ROOT, check, click, generate, goto, new_app, set_number, \
    stop_all_jobs, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _upload(at, data: bytes, name: str):
    goto(at, "data")
    at.radio(key="data_source").set_value("Upload a CSV").run()
    at.file_uploader(key="csv_upload").upload(name, data, "text/csv").run()
    return at


def _rendered_markdown(at) -> list[str]:
    """The text of every element Streamlit renders as Markdown."""
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                 "subheader", "header"):
        out += [e.value for e in at.get(kind)]
    return out


def _chart_specs(at) -> str:
    """Every chart's figure as JSON text with Plotly's \\u003c-style escapes decoded."""
    return " ".join(json.dumps(json.loads(c.proto.spec), ensure_ascii=False)
                    for c in at.get("plotly_chart"))


HOSTILE = ("id,<b>x</b>,**y**,kind\n"
           + "".join(f"<i>e{i}</i>,{(i % 3) * 2 + 0.1 * i},{(i % 3) * 3 - 0.05 * i},"
                     f"{'[a](http://evil)' if i % 2 else ':red[b]'}\n" for i in range(30))).encode()


def test_html_and_markdown_in_names_are_shown_as_text():
    at = _upload(new_app(), HOSTILE, "<b>file</b>.csv")
    check(at)
    at.selectbox(key="tbl_label").set_value("kind").run()
    assert at.multiselect(key="tbl_features").value == ["<b>x</b>", "**y**"]
    click(at, "tbl_use")
    check(at)
    ds = at.session_state["cm_dataset"]
    assert list(ds.feature_names) == ["<b>x</b>", "**y**"] and ds.ids[0] == "<i>e0</i>"
    goto(at, "som")
    for key, value in (("som_rows", 3), ("som_cols", 3), ("som_n_steps", 60)):
        set_number(at, key, value)
    click(at, "som_train")
    wait_job(at)
    check(at)
    for page in ("data", "som"):
        goto(at, page)
        for text in _rendered_markdown(at):
            # names reach Markdown only escaped: no raw tag, no bold, no link, no colour directive
            assert "<b>" not in text and "<i>" not in text and "**y**" not in text, text
            assert "](http" not in text and ":red[" not in text, text
        specs = _chart_specs(at)
        assert "<b>x</b>" not in specs and "<i>e" not in specs
        assert "&lt;b&gt;x&lt;/b&gt;" in specs or page == "data" and "&lt;i&gt;e0" in specs


def test_two_sessions_never_see_each_others_data_or_results():
    a = generate(new_app(), "blobs", 60)
    b = generate(new_app(), "moons", 80)
    goto(a, "compare")
    a.multiselect(key="cmp_methods").set_value(["kmeans"]).run()
    click(a, "cmp_run")
    wait_job(a)
    for at in (a, b):
        goto(at, "compare")
    assert a.session_state["cm_dataset"].X.shape == (60, 2)
    assert b.session_state["cm_dataset"].X.shape == (80, 2)
    assert "compare" in a.session_state["cm_results"]
    assert not b.session_state["cm_results"]
    assert "cm_job" not in b.session_state or b.session_state["cm_job"] is None
    assert any("Pick methods" in i.value for i in b.info)
    assert b.session_state["cm_data_label"].startswith("moons")


def test_nothing_user_specific_goes_into_a_shared_cache():
    """Streamlit's caches are shared by every session: the app uses none (per-session state
    lives in st.session_state, the work in the visitor's workspace), and no module keeps a
    registry that sessions would share. Two exceptions, each for a reason: the decoded
    workspaces of this process (``ui.workspace``), shared only by the sessions that hold the
    same unguessable token (tests/test_app_workspace.py: a new visitor never sees another's),
    and the store's table of schema migrations (code, no user data)."""
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")),
               *sorted((ROOT / "ui").glob("*.py"))]
    allowed = {"store_schema.py": "MIGRATIONS"}
    for path in sources:
        text = path.read_text()
        if path.name in allowed:
            text = re.sub(rf"^{allowed[path.name]}\b.*$", "", text, flags=re.M)
        assert not re.search(r"cache_data|cache_resource|experimental_memo|"
                             r"experimental_singleton", text), path
        # module-level mutable containers would be shared by all sessions
        assert not re.search(r"^_?[A-Z_]+\s*(:[^=]*)?=\s*(\{\}|\[\]|dict\(\)|list\(\))", text,
                             re.M), path


def test_time_cap_stops_training_and_says_so(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_MAX_TRAIN_SECONDS", "1.5")
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    set_number(at, "nn_max_epochs", 20000)
    set_number(at, "nn_patience", 5000)
    at.run()
    click(at, "nn_train")
    job = wait_job(at, timeout=60)
    assert job.timed_out and job.time_limit == 1.5
    res = at.session_state["cm_results"]["neural"]
    assert res.stopped and res.stop_reason == "time"
    assert 1 <= res.estimator.n_epochs_ < 20000 and res.labels.shape == (60,)
    check(at)
    assert any("stopped at the time cap" in t.value for t in at.text)


def test_second_training_while_one_runs_is_refused_with_a_message():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    set_number(at, "nn_max_epochs", 20000)
    set_number(at, "nn_patience", 5000)
    at.run()
    click(at, "nn_train")
    job = at.session_state["cm_job"]
    assert job.running
    # every start button is disabled meanwhile (a start that still gets through, e.g. from a
    # stale page, is refused by ui.state.start_job: tests/test_app_units.py)
    saved = json.dumps({"format": "clustermap-run", "version": 1, "method": "som",
                        "params": {"rows": 3, "cols": 3, "n_steps": 50},
                        "data": at.session_state["cm_data_spec"]}).encode()
    goto(at, "som")
    assert at.button(key="som_train").disabled and at.warning
    at.file_uploader(key="som_cfg_upload").upload("som.json", saved, "application/json").run()
    assert at.button(key="som_cfg_apply").disabled
    for page, key in (("home", "home_train"), ("ensemble", "qbm_train"), ("compare", "cmp_run"),
                      ("neural", "nn_train")):
        goto(at, page)
        assert at.button(key=key).disabled, key
    assert at.session_state["cm_job"] is job and job.running
    job.request_stop()
    wait_job(at, timeout=60)
    assert at.session_state["cm_results"]["neural"].stop_reason == "user"


def test_saved_comparison_repeats_in_a_new_session():
    at = generate(new_app(), "blobs", 60)
    goto(at, "compare")
    at.multiselect(key="cmp_methods").set_value(["kmeans", "gmm", "dbscan"]).run()
    click(at, "cmp_run")
    wait_job(at)
    check(at)
    first = at.session_state["cm_results"]["compare"]
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["All partitions (CSV)", "Metrics table (CSV)",
                      "Comparison configuration (JSON)"]
    from ui import runs

    saved = runs.config_json(first)
    assert json.loads(saved)["format"] == "clustermap-comparison"
    fresh = new_app()
    goto(fresh, "compare")  # no data yet: the loader is offered
    fresh.file_uploader(key="cmp_cfg_upload").upload("comparison_config.json", saved,
                                                     "application/json").run()
    check(fresh)
    fresh.button(key="cmp_cfg_apply").click().run()
    wait_job(fresh)
    check(fresh)
    again = fresh.session_state["cm_results"]["compare"]
    assert set(again.extra["partitions"]) == set(first.extra["partitions"])
    for name, lab in first.extra["partitions"].items():
        np.testing.assert_array_equal(again.extra["partitions"][name], lab)
    # a single-method configuration on the Compare page is a message, not a traceback
    fresh.file_uploader(key="cmp_cfg_upload").upload(
        "x.json", first.config.run_configs()["kmeans"].to_json().encode(),
        "application/json").run()
    assert not fresh.exception and "kmeans" in fresh.error[0].value


def test_graph_kernels_draw_on_the_data_or_say_why_not():
    at = generate(new_app(), "moons", 80)
    goto(at, "neural")
    at.selectbox(key="nn_kernel").set_value("knn").run()
    check(at)
    assert at.number_input(key="nn_kernel_param").value == 10
    assert "nearest-neighbour graph" in at.number_input(key="nn_kernel_param").help
    assert "kernel_plot" in {c.key for c in at.get("plotly_chart")}
    at.selectbox(key="nn_kernel").set_value("diffusion").run()
    assert "random walk" in at.number_input(key="nn_kernel_param").help
    assert "kernel_plot" not in {c.key for c in at.get("plotly_chart")}
    assert any("No curve to draw" in c.value for c in at.caption)
    at.selectbox(key="nn_kernel").set_value("identity").run()
    check(at)
    assert any("has no parameter" in c.value for c in at.caption)
    at.selectbox(key="nn_kernel").set_value("gaussian").run()
    assert at.number_input(key="nn_kernel_param").value == pytest.approx(0.2)
    assert "kernel_plot" in {c.key for c in at.get("plotly_chart")}


def test_aggregate_name_clash_is_a_message_and_overwrite_replaces():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    at.number_input(key="agg_n").set_value(1).run()
    at.text_input(key="agg_name_0").set_value("Phi11")
    at.multiselect(key="agg_cols_0").set_value(["Phi21", "Phi24"])
    at.text_input(key="agg_criterion").set_value("C").run()
    assert any("Already columns of the table" in c.value for c in at.caption)
    click(at, "agg_add")
    assert not at.exception and at.error and "Phi11" in at.error[0].value
    at.checkbox(key="agg_overwrite").check().run()
    click(at, "agg_add")
    check(at)
    frame = at.session_state["cm_table"]["frame"]
    np.testing.assert_allclose(frame["Phi11"], (frame["Phi21"] + frame["Phi24"]) / 2)
    assert at.session_state["cm_table"]["aggregations"][-1]["overwrite"] is True


def test_example_carries_its_planted_label_and_the_ensemble_flags_by_id():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    ds = at.session_state["cm_dataset"]
    assert ds.labels is not None and "outlier" in ds.label_names
    goto(at, "ensemble")
    at.text_input(key="qbm_tau1_grid").set_value("140, 700")
    at.text_input(key="qbm_tau2_grid").set_value("125")
    set_number(at, "qbm_n_replicates", 2)
    at.selectbox(key="qbm_network_filter").set_value("none")  # all 4 maps vote: some disagree
    for key, value in (("qbm_rows", 4), ("qbm_cols", 4), ("qbm_n_steps", 60),
                       ("qbm_reliable_posterior", 0.95)):
        set_number(at, key, value)
    at.run()
    click(at, "qbm_train")
    job = wait_job(at, timeout=120)
    assert job.error is None, job.error
    check(at)
    res = at.session_state["cm_results"]["qbm"]
    qbm = res.estimator
    assert qbm.n_jobs == 1 and qbm.reliable_posterior == 0.95
    assert "ari" in res.metrics
    # the Decisions tab's objects (the article's rules on Phi), each shown with its own id
    flags = [d for d in at.dataframe if {"id", "flag", "reason"} <= set(d.value.columns)]
    assert flags
    shown = flags[0].value
    _, objects = qbm.decisions(ds.frame, "Phi")
    assert len(objects) > 0
    assert shown["id"].tolist() == [ds.ids[i] for i in objects["object"]]
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Flagged objects (CSV)" in labels and "Codebook of the best map (CSV)" in labels
