"""AppTest: the Data page's column roles on the taxpayer table: the article's preset, the form
showing the data set in use, roles remembered when the user comes back."""
import pytest

from tests.apptest_helpers import check, click, goto, new_app, stop_all_jobs
from ui import roles
from ui.datasource import EXAMPLE_FEATURES, EXAMPLE_PATH

pytestmark = pytest.mark.slow

ALL_NUMERIC = ["cost_of_sales", "net_profit", "fixed_assets", "revenue", "revenue_prev", "Phi11",
               "Phi13", "Phi21", "Phi24", "Phi1", "Phi2", "Phi"]


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _form(at):
    return (at.selectbox(key="tbl_id").value, at.selectbox(key="tbl_label").value,
            at.multiselect(key="tbl_features").value)


def _example(at):
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    check(at)
    return at


def _upload_taxpayers(at):
    goto(at, "data")
    at.radio(key="data_source").set_value("Upload a CSV").run()
    at.file_uploader(key="csv_upload").upload("taxpayers.csv", EXAMPLE_PATH.read_bytes(),
                                              "text/csv").run()
    check(at)
    return at


def test_after_loading_the_example_the_form_shows_the_roles_in_use():
    at = _example(new_app())
    ds = at.session_state["cm_dataset"]
    assert list(ds.feature_names) == EXAMPLE_FEATURES
    assert _form(at) == ("enterprise_id", "planted_group", EXAMPLE_FEATURES)
    assert at.session_state["cm_data_spec"]["prepare"]["label_column"] == "planted_group"
    assert not at.caption or not any("was made with" in c.value for c in at.caption)


def test_an_uploaded_taxpayer_table_starts_with_the_article_preset():
    at = _upload_taxpayers(new_app())
    assert _form(at) == ("enterprise_id", "planted_group", EXAMPLE_FEATURES)
    # all twelve numeric columns chosen, then the preset button brings back the five
    at.selectbox(key="tbl_label").set_value(None).run()
    at.multiselect(key="tbl_features").set_value(ALL_NUMERIC).run()
    assert len(at.multiselect(key="tbl_features").value) == 12
    assert "Phi11, Phi13, Phi21, Phi24, Phi" in at.button(key="tbl_preset").help.replace("\\", "")
    click(at, "tbl_preset")
    check(at)
    assert _form(at) == ("enterprise_id", "planted_group", EXAMPLE_FEATURES)
    click(at, "tbl_use")
    check(at)
    assert list(at.session_state["cm_dataset"].feature_names) == EXAMPLE_FEATURES


def test_a_table_without_the_article_columns_has_no_preset():
    data = "id,x,y\n" + "".join(f"{i},{i * 0.5},{i % 3}\n" for i in range(12))
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Upload a CSV").run()
    at.file_uploader(key="csv_upload").upload("xy.csv", data.encode(), "text/csv").run()
    check(at)
    assert _form(at) == ("id", None, ["x", "y"])
    assert not [b for b in at.button if b.key == "tbl_preset"]


def test_roles_are_remembered_when_the_user_comes_back():
    at = _upload_taxpayers(new_app())
    at.selectbox(key="tbl_label").set_value("sector").run()
    at.multiselect(key="tbl_features").set_value(["Phi1", "Phi2"]).run()
    chosen = ("enterprise_id", "sector", ["Phi1", "Phi2"])
    assert _form(at) == chosen
    goto(at, "som")  # away (the role widgets are not drawn there) and back
    goto(at, "data")
    assert at.radio(key="data_source").value == "Upload a CSV"
    assert _form(at) == chosen
    # the example in between, then the same table uploaded again: its roles come back
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    assert _form(at) == ("enterprise_id", "planted_group", EXAMPLE_FEATURES)
    at.radio(key="data_source").set_value("Upload a CSV").run()
    at.file_uploader(key="csv_upload").upload("taxpayers.csv", EXAMPLE_PATH.read_bytes(),
                                              "text/csv").run()
    check(at)
    assert _form(at) == chosen


def test_a_new_session_on_the_workspace_shows_the_roles_in_use():
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT
    from ui import workspace as wsp

    at = _upload_taxpayers(new_app())
    at.multiselect(key="tbl_features").set_value(["Phi11", "Phi24"]).run()
    click(at, "tbl_use")
    check(at)
    other = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    other.query_params[wsp.TOKEN_PARAM] = at.session_state["cm_workspace"].token
    other.run()
    goto(other, "data")
    other.radio(key="data_source").set_value("Upload a CSV").run()
    assert _form(other) == ("enterprise_id", "planted_group", ["Phi11", "Phi24"])


def test_roles_helpers_fit_and_describe():
    chosen = {"id_column": "gone", "label_column": "a", "feature_columns": ["a", "b", "zz"]}
    assert roles.fit(chosen, ["a", "b"]) == {"id_column": None, "label_column": "a",
                                             "feature_columns": ["b"]}
    assert roles.describe({"id_column": None, "label_column": "a", "feature_columns": ["b"]}) \
        == "1 feature (b), label a"
