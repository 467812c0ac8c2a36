"""AppTest: new data over results is asked first (which data, which results; Cancel keeps them,
Confirm replaces them), no question without results; a replay's errors next to its control."""
import hashlib
import json

import numpy as np
import pytest

from tests import apptest_helpers as helpers
from tests.apptest_helpers import check, click, generate, goto, new_app, stop_all_jobs

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _with_som(n: int = 60):
    at = generate(new_app(), "blobs", n)
    helpers.train_som(at, 3, 3, 100)
    return at


def _question(at, key: str) -> str:
    boxes = [w.value for w in at.warning if "clears the results" in w.value]
    assert at.button(key=f"{key}_confirm") and at.button(key=f"{key}_cancel")
    assert len(boxes) == 1, boxes
    return boxes[0].replace("\\", "")


def test_no_question_without_results():
    at = generate(new_app(), "blobs", 60)
    first = at.session_state["cm_dataset"]
    generate(at, "moons", 70)
    assert at.session_state["cm_dataset"] is not first
    assert at.session_state["cm_dataset"].X.shape == (70, 2)
    assert not [w for w in at.warning if "clears the results" in w.value]
    assert "gen_button_ask" not in at.session_state


def test_generate_over_results_asks_and_cancel_keeps_them():
    at = _with_som()
    som = at.session_state["cm_results"]["som"]
    data = at.session_state["cm_dataset"]
    generate(at, "moons", 70)
    question = _question(at, "gen_button")
    assert "generated moons (70 points)" in question
    assert "Self-organizing map" in question and "they stay in the run history" in question
    assert at.session_state["cm_dataset"] is data  # nothing replaced yet
    click(at, "gen_button_cancel")
    check(at)
    assert not [w for w in at.warning if "clears the results" in w.value]
    assert at.session_state["cm_dataset"] is data
    assert at.session_state["cm_results"]["som"] is som


def test_generate_over_results_confirm_replaces_them():
    at = _with_som()
    generate(at, "moons", 70)
    click(at, "gen_button_confirm")
    check(at)
    assert at.session_state["cm_dataset"].X.shape == (70, 2)
    assert at.session_state["cm_data_spec"]["name"] == "moons"
    assert not at.session_state["cm_results"]
    assert not [w for w in at.warning if "clears the results" in w.value]
    ws = at.session_state["cm_workspace"]
    assert [r.method for r in ws.runs()] == ["som"]  # still in the history


def test_loading_the_example_over_results_asks_first():
    at = _with_som()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    assert "the taxpayer example" in _question(at, "example_button")
    assert at.session_state["cm_data_spec"]["source"] == "generator"
    click(at, "example_button_confirm")
    check(at)
    assert at.session_state["cm_data_spec"]["source"] == "example"
    assert not at.session_state["cm_results"]


def test_using_a_table_over_results_asks_first():
    at = _with_som()
    goto(at, "data")
    at.radio(key="data_source").set_value("Upload a CSV").run()
    rows = "id,x,y\n" + "".join(f"o{i},{i * 0.5},{i % 3}\n" for i in range(20))
    at.file_uploader(key="csv_upload").upload("xy.csv", rows.encode(), "text/csv").run()
    check(at)
    assert at.session_state["cm_results"]  # an upload alone changes no data set
    click(at, "tbl_use")
    assert "xy.csv with 2 features (x, y), ID id" in _question(at, "tbl_use")
    click(at, "tbl_use_cancel")
    assert at.session_state["cm_results"]["som"] is not None
    click(at, "tbl_use")
    click(at, "tbl_use_confirm")
    check(at)
    assert list(at.session_state["cm_dataset"].ids[:2]) == ["o0", "o1"]
    assert not at.session_state["cm_results"]


def _moons_config() -> bytes:
    return json.dumps({"format": "clustermap-run", "version": 1, "method": "som",
                       "params": {"rows": 3, "cols": 3, "n_steps": 50},
                       "data": {"source": "generator", "name": "moons",
                                "params": {"n_samples": 50}}}).encode()


def _loader(at, label: str = "Repeat a saved run"):
    found = [e for e in at.expander if e.label.startswith(label)]
    assert len(found) == 1
    return found[0]


def test_a_replay_on_other_data_asks_first():
    at = _with_som()
    som = at.session_state["cm_results"]["som"]
    at.file_uploader(key="som_cfg_upload").upload("moons.json", _moons_config(),
                                                  "application/json").run()
    click(at, "som_cfg_apply")
    check(at)
    loader = _loader(at)
    assert loader.proto.expanded
    question = [w.value.replace("\\", "") for w in loader.warning
                if "clears the results" in w.value]
    assert question and "the run's data (moons)" in question[0]
    assert at.session_state["cm_job"].finished  # nothing started
    click(at, "som_cfg_apply_cancel")
    assert at.session_state["cm_results"]["som"] is som
    assert at.session_state["cm_data_spec"]["name"] == "blobs"
    click(at, "som_cfg_apply")
    click(at, "som_cfg_apply_confirm")
    job = helpers.wait_job(at)
    check(at)
    assert job.error is None
    assert at.session_state["cm_data_spec"]["name"] == "moons"
    assert at.session_state["cm_results"]["som"] is not som


def test_a_replay_on_the_same_data_does_not_ask():
    at = _with_som()
    saved = at.session_state["cm_results"]["som"].config.to_json().encode()
    at.file_uploader(key="som_cfg_upload").upload("same.json", saved, "application/json").run()
    click(at, "som_cfg_apply")
    check(at)
    assert "som_cfg_apply_ask" not in at.session_state
    helpers.wait_job(at)


def _csv_config(csv: bytes, features) -> bytes:
    return json.dumps({"format": "clustermap-run", "version": 1, "method": "som",
                       "params": {"rows": 2, "cols": 2, "n_steps": 20},
                       "data": {"source": "csv", "file_name": "table.csv",
                                "sha256": hashlib.sha256(csv).hexdigest(),
                                "prepare": {"feature_columns": features}}}).encode()


CSV = b"x,y\n" + b"".join(f"{i * 0.5},{i % 3}\n".encode() for i in range(20))


def test_a_replay_given_another_table_says_so_inside_its_loader():
    at = generate(new_app(), "blobs", 60)
    goto(at, "som")
    at.file_uploader(key="som_cfg_upload").upload("table.json", _csv_config(CSV, ["x", "y"]),
                                                  "application/json").run()
    other = CSV + b"10,1\n"
    at.file_uploader(key="som_cfg_csv").upload("other.csv", other, "text/csv").run()
    loader = _loader(at)
    assert loader.proto.expanded
    assert len(loader.error) == 1 and len(at.error) == 1  # beside the uploader, nowhere else
    message = loader.error[0].value.replace("\\", "")
    expected = hashlib.sha256(CSV).hexdigest()
    assert (f"This run was made on a different table: expected SHA-256 {expected} (table.csv), "
            f"the file 'other.csv' has {hashlib.sha256(other).hexdigest()}; upload that table."
            == message)
    assert not [b for b in at.button if b.key == "som_cfg_apply"]  # nothing to apply


def test_a_replay_that_fails_says_why_inside_its_loader_which_stays_open():
    at = generate(new_app(), "blobs", 60)
    data, spec = at.session_state["cm_dataset"], at.session_state["cm_data_spec"]
    goto(at, "som")
    at.file_uploader(key="som_cfg_upload").upload("table.json", _csv_config(CSV, ["x", "zz"]),
                                                  "application/json").run()
    at.file_uploader(key="som_cfg_csv").upload("table.csv", CSV, "text/csv").run()
    check(at)
    click(at, "som_cfg_apply")
    assert not at.exception
    loader = _loader(at)
    assert loader.proto.expanded
    assert len(loader.error) == 1 and len(at.error) == 1
    assert "zz" in loader.error[0].value
    assert json.dumps(at.session_state["cm_data_spec"]) == json.dumps(spec)  # nothing replaced
    np.testing.assert_array_equal(at.session_state["cm_dataset"].X, data.X)


def _boxes_holding(node, key: str):
    """The bordered containers of the page whose elements include the button ``key``."""
    found = []
    for child in getattr(node, "children", {}).values():
        found += _boxes_holding(child, key)
    proto = getattr(node, "proto", None)
    bordered = getattr(getattr(proto, "flex_container", None), "border", False)
    if bordered and any(b.key == key for b in node.button):
        found.append(node)
    return found


def test_run_it_again_says_why_not_inside_its_box():
    at = generate(new_app(), "blobs", 60)
    ws = at.session_state["cm_workspace"]
    from ui import workspace as wsp

    bad = {"format": "clustermap-run", "version": 1, "method": "som",
           "params": {"rows": 3, "cols": 3, "n_steps": "many"},
           "data": at.session_state["cm_data_spec"]}
    job_id = wsp.store().put_job(ws.token, method="som", label="Self-organizing map",
                                 status="interrupted", config=bad, process="gone",
                                 data_token=ws.data_token)
    wsp.reset_store()  # as after a server restart: the interrupted job is read back
    at = helpers.AppTest.from_file(str(helpers.APP), default_timeout=helpers.TIMEOUT)
    at.query_params[wsp.TOKEN_PARAM] = ws.token
    at.run()
    goto(at, "history")
    key = f"hist_rerun_{job_id}"
    click(at, key)
    assert not at.exception
    (box,) = _boxes_holding(at.main, key)
    assert len(box.error) == 1 and len(at.error) == 1  # beside its button, not on top
    assert "params.n_steps" in box.error[0].value.replace("\\", "")
    assert at.button(key=key)  # still listed: it did not run again


def test_the_home_pages_default_data_asks_over_results_too():
    at = _with_som()
    data = at.session_state["cm_dataset"]
    goto(at, "home")
    click(at, "home_generate")
    assert "the default data (three blobs, 500 points)" in _question(at, "home_generate")
    assert at.session_state["cm_dataset"] is data
    click(at, "home_generate_confirm")
    check(at)
    assert at.session_state["cm_dataset"].X.shape == (500, 2)
    assert not at.session_state["cm_results"]
