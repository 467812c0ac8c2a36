"""The workspace through the app (AppTest): the address names it, a second session on the same
address sees the same data and results, a bad token gets a fresh workspace, the history lists,
reopens and deletes runs, and a write from a tab that drew an older state is refused."""
from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests import apptest_helpers as helpers
from tests.apptest_helpers import APP, TIMEOUT, check, click, generate, goto, new_app
from tests.apptest_helpers import stop_all_jobs
from ui import workspace as wsp

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _join_jobs():
    yield
    stop_all_jobs()


def token_of(at: AppTest) -> str:
    """The token in the session's address (the browser tests check the address bar itself)."""
    value = at.query_params[wsp.TOKEN_PARAM]
    return value if isinstance(value, str) else value[0]


def workspace_of(at: AppTest) -> str:
    return at.session_state["cm_workspace"].token


def open_at(token: str) -> AppTest:
    """A new browser session on the address ``?ws=token``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params[wsp.TOKEN_PARAM] = token
    return at.run()


def train_som(at: AppTest):
    """A 3 x 3 map of 150 steps through its page; its result."""
    return helpers.train_som(at, 3, 3, 150)[1]


def test_a_new_visitor_gets_a_workspace_named_in_the_address():
    a, b = new_app(), new_app()
    assert wsp.store().valid_token(token_of(a)) and token_of(a) != token_of(b)
    assert a.session_state["cm_dataset"] is None
    assert any("address is the key" in i.value for i in a.sidebar.info)


def test_the_same_address_shows_the_same_data_and_results():
    a = generate(new_app(), "blobs", 90)
    som = train_som(a)
    b = open_at(token_of(a))
    check(b)
    assert b.session_state["cm_data_spec"] == a.session_state["cm_data_spec"]
    np.testing.assert_array_equal(b.session_state["cm_dataset"].X, a.session_state["cm_dataset"].X)
    np.testing.assert_array_equal(b.session_state["cm_results"]["som"].labels, som.labels)
    goto(b, "som")  # the result page draws from the shared workspace
    assert token_of(b) == token_of(a)  # navigation keeps the address
    # its settings are the run's, not the defaults
    assert (b.number_input(key="som_rows").value, b.number_input(key="som_cols").value) == (3, 3)


def test_a_network_trained_on_a_worker_is_kept_in_the_history():
    """With the page's own kernel: what a worker sends back is stored and read back."""
    a = generate(new_app(), "blobs", 80)
    goto(a, "neural")
    for key, value in (("nn_max_epochs", 30), ("nn_patience", 30), ("nn_n_restarts", 1)):
        helpers.set_number(a, key, value)
    a.run()
    click(a, "nn_train")
    job = helpers.wait_job(a)
    assert job.error is None and not getattr(job.result, "store_error", None), \
        getattr(job.result, "store_error", job.error)
    ws = wsp.open_workspace(workspace_of(a))
    assert [r.method for r in ws.runs()] == ["neural"]
    wsp.reset_store()
    back = open_at(workspace_of(a)).session_state["cm_results"]["neural"]
    np.testing.assert_array_equal(back.proba, job.result.proba)


def test_a_restarted_process_reads_the_workspace_back_from_the_store():
    a = generate(new_app(), "moons", 80)
    som = train_som(a)
    wsp.reset_store()  # what a new server process starts with: nothing decoded in memory
    b = open_at(token_of(a))
    check(b)
    ds = b.session_state["cm_dataset"]
    np.testing.assert_array_equal(ds.X, a.session_state["cm_dataset"].X)
    np.testing.assert_array_equal(b.session_state["cm_results"]["som"].labels, som.labels)
    np.testing.assert_array_equal(b.session_state["cm_results"]["som"].estimator.codebook_,
                                  som.estimator.codebook_)


@pytest.mark.parametrize("token", ["nonsense", "A" * 43, "../../etc/passwd", ""])
def test_a_bad_or_unknown_token_gets_a_fresh_workspace(token):
    a = generate(new_app(), "blobs", 60)
    b = open_at(token)
    check(b)
    assert token_of(b) not in (token, token_of(a))
    assert b.session_state["cm_dataset"] is None
    if token:
        assert any("named no workspace" in w.value for w in b.warning)


def test_new_workspace_starts_afresh_and_the_old_address_still_works():
    old = token_of(generate(new_app(), "blobs", 60))
    a = open_at(old)  # (AppTest draws no sidebar after a page switch: a session on its home page)
    a.sidebar.button(key="ws_new").click().run()
    check(a)
    assert token_of(a) != old and a.session_state["cm_dataset"] is None
    assert open_at(old).session_state["cm_dataset"] is not None


def test_the_history_lists_reopens_and_deletes_runs():
    a = generate(new_app(), "blobs", 90)
    first = train_som(a)
    second = train_som(a)
    goto(a, "history")
    table = a.dataframe[0].value
    assert list(table["method"]) == ["Self-organizing map"] * 2
    assert set(table["objects"]) == {90}
    infos = wsp.open_workspace(token_of(a)).runs()
    assert len(infos) == 2 and infos[0].run_id == second.run_id
    a.selectbox(key="hist_run").set_value(first.run_id).run()
    labels = [d.label for d in a.get("download_button")]
    assert labels, "the history offers the run's downloads"
    a.button(key="hist_reopen").click().run()
    np.testing.assert_array_equal(a.session_state["cm_results"]["som"].labels, first.labels)
    goto(a, "history")
    a.selectbox(key="hist_run").set_value(first.run_id).run()
    a.button(key="hist_delete").click().run()
    check(a)
    assert [i.run_id for i in wsp.open_workspace(workspace_of(a)).runs()] == [second.run_id]


def test_a_tab_that_drew_older_data_is_told_and_writes_nothing():
    a = generate(new_app(), "blobs", 60)
    b = open_at(token_of(a))
    goto(b, "data")
    b.radio(key="data_source").set_value("Generate").run()
    b.selectbox(key="gen_name").set_value("moons").run()
    generate(a, "circles", 70)  # tab A changes the data meanwhile
    click(b, "gen_button")  # tab B still shows the blobs when it asks for moons
    assert any("changed in another tab" in e.value for e in b.error), [e.value for e in b.error]
    assert b.session_state["cm_data_spec"]["name"] == "circles"  # B now shows the current state
    assert wsp.open_workspace(token_of(a)).spec["name"] == "circles"
    click(b, "gen_button")  # having seen it, B's next write goes through
    check(b)
    assert wsp.open_workspace(token_of(a)).spec["name"] == "moons"


def test_a_full_workspace_says_so_and_the_result_stays_on_its_page(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_WORKSPACE_MAX_BYTES", "14000")  # the data fit, a SOM not
    wsp.reset_store()
    try:
        a = generate(new_app(), "blobs", 60)
        helpers.train_som(a, 3, 3, 150)  # (its result is kept on the page, not stored)
        warnings = [w.value.replace("\\", "") for w in a.warning]  # markdown-escaped
        assert any("CLUSTERMAP_WORKSPACE_MAX_BYTES" in w and "history" in w for w in warnings), \
            warnings
        assert "som" in a.session_state["cm_results"]  # shown, and downloadable from its page
        assert not wsp.open_workspace(workspace_of(a)).runs()  # but not kept
    finally:
        monkeypatch.delenv("CLUSTERMAP_WORKSPACE_MAX_BYTES")
        wsp.reset_store()


def test_an_uploaded_table_and_its_aggregates_come_back_in_a_new_process():
    rows = ["name;a;b;c;kind"] + [f"e{i};{i % 5},5;{i % 3};{i % 7};{'x' if i < 15 else 'y'}"
                                   for i in range(30)]
    a = new_app()
    goto(a, "data")
    a.radio(key="data_source").set_value("Upload a CSV").run()
    a.file_uploader(key="csv_upload").upload("firms.csv", "\n".join(rows).encode(), "text/csv")
    a.run()
    check(a)
    a.number_input(key="agg_n").set_value(1).run()
    a.multiselect(key="agg_cols_0").set_value(["a", "b"])
    a.text_input(key="agg_name_0").set_value("ab")
    a.text_input(key="agg_criterion").set_value("crit").run()
    click(a, "agg_add")
    check(a)
    wsp.reset_store()  # a new server process
    b = open_at(workspace_of(a))
    goto(b, "data")
    b.radio(key="data_source").set_value("Upload a CSV").run()
    check(b)
    table = b.session_state["cm_table"]
    assert table["origin"]["file_name"] == "firms.csv" and table["label"] == "firms.csv"
    assert list(table["frame"].columns) == ["name", "a", "b", "c", "kind", "ab", "crit"]
    np.testing.assert_allclose(table["frame"]["ab"], (table["base"]["a"] + table["base"]["b"]) / 2)
    assert table["base"].attrs["csv"]["decimal"] == ","  # how the file was read
    assert any("firms.csv: 30 rows x 7 columns" in t.value for t in b.text)


def test_a_damaged_run_is_left_out_with_a_note_and_the_rest_opens():
    import sqlalchemy as sa

    a = generate(new_app(), "blobs", 60)
    som = train_som(a)
    with wsp.store().engine.begin() as conn:  # someone edits the database by hand
        changed = conn.execute(sa.text("UPDATE blobs SET data = :junk WHERE owner = :owner"),
                               {"junk": b"junk", "owner": f"run:{som.run_id}"}).rowcount
    assert changed
    wsp.reset_store()
    b = open_at(workspace_of(a))
    check(b)
    assert b.session_state["cm_dataset"] is not None and "som" not in b.session_state["cm_results"]
    notes = [w.value.replace("\\", "") for w in b.sidebar.warning]
    assert any("could not be read back" in n and "damaged" in n for n in notes), notes


def test_a_job_left_by_a_killed_server_is_marked_interrupted_by_the_next_heartbeat(monkeypatch):
    """A server killed (no exit handler) and restarted at once: its job's heartbeat stops, and
    the running server's next beat past STALE_SECONDS marks it; the server's own job stays."""
    a = generate(new_app(), "blobs", 60)
    ws = wsp.open_workspace(workspace_of(a))
    s = wsp.store()
    dead = s.put_job(ws.token, method="som", label="Self-organizing map", status="running",
                     config={"method": "som"}, process="a-killed-server", data_token=1)
    mine = s.put_job(ws.token, method="neural", label="Neural clustering", status="running",
                     config=None, process=wsp.PROCESS_ID, data_token=1)
    assert wsp.beat_once() == 0  # both fresh: nothing marked
    time.sleep(0.1)
    monkeypatch.setattr(wsp, "STALE_SECONDS", 0.05)
    assert wsp.beat_once() == 1  # this server's beat keeps its own job fresh
    assert s.job(ws.token, dead).status == "interrupted"
    assert s.job(ws.token, mine).status == "running"
    assert [j.job_id for j in wsp.open_workspace(ws.token).interrupted()] == [dead]
    s.update_job(ws.token, mine, status="stopped")


def test_a_job_running_on_another_web_server_is_shown_and_blocks_a_second_one():
    a = generate(new_app(), "blobs", 60)
    ws = wsp.open_workspace(workspace_of(a))
    s = wsp.store()
    other = s.put_job(ws.token, method="som", label="Self-organizing map", status="running",
                      config=None, process="another-replica", data_token=ws.data_token)
    try:
        b = open_at(ws.token)
        captions = [c.value for c in b.sidebar.caption]
        assert any("on another server" in c for c in captions), captions
        goto(a, "som")
        click(a, "som_train")
        assert any("on another server of this site" in e.value for e in a.error)
        assert a.session_state["cm_job"] is None or not a.session_state["cm_job"].running
    finally:
        s.update_job(ws.token, other, status="finished")
