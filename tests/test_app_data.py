"""AppTest: home page, data page (generate, upload valid and malformed CSV, example)."""
import numpy as np
import pytest

from tests.apptest_helpers import check, click, generate, goto, new_app, stop_all_jobs

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def test_home_page_explains_and_offers_quick_start():
    at = new_app()
    check(at)
    assert at.title[0].value == "clustermap"
    labels = [b.label for b in at.button]
    assert any("Generate the default data" in b for b in labels)
    assert any("Train the recommended network" in b for b in labels)


def test_home_generate_default_data_uses_seed_defaults():
    at = new_app()
    click(at, "home_generate")
    check(at)
    ds = at.session_state["cm_dataset"]
    assert ds.X.shape == (500, 2)
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=500, centers=3, n_features=2, center_box=(-15, 15), random_state=0)
    np.testing.assert_allclose(ds.X, X)
    np.testing.assert_array_equal(ds.labels, y)
    assert at.session_state["cm_data_spec"]["name"] == "blobs"


@pytest.mark.parametrize("name", ["blobs", "moons", "circles"])
def test_generate_each_generator(name):
    at = generate(new_app(), name, n_samples=60)
    ds = at.session_state["cm_dataset"]
    assert ds.X.shape == (60, 2)
    assert at.session_state["cm_data_spec"] == {
        "source": "generator", "name": name,
        "params": at.session_state["cm_data_spec"]["params"]}
    assert at.session_state["cm_data_spec"]["params"]["n_samples"] == 60
    # preview, statistics and scatter drawn
    assert len(at.dataframe) >= 2
    assert at.get("plotly_chart")


def test_generated_points_follow_the_chosen_noise():
    at = new_app()
    goto(at, "data")
    at.selectbox(key="gen_name").set_value("moons").run()
    at.number_input(key="gen_moons_n_samples").set_value(80)
    at.number_input(key="gen_moons_noise").set_value(0.0)
    click(at, "gen_button")
    from sklearn.datasets import make_moons

    X, _ = make_moons(n_samples=80, noise=0.0, random_state=0)
    np.testing.assert_allclose(at.session_state["cm_dataset"].X, X)


def _upload(at, data: bytes, name: str):
    goto(at, "data")
    at.radio(key="data_source").set_value("Upload a CSV").run()
    at.file_uploader(key="csv_upload").upload(name, data, "text/csv").run()
    return at


def test_upload_valid_csv_with_semicolons_and_decimal_comma():
    rows = ["name;height;weight;kind"] + [
        f"obj{i};{1.5 + 0.01 * i:.2f};{60 + i},5;{'a' if i < 10 else 'b'}".replace(".", ",")
        for i in range(20)]
    at = _upload(new_app(), "\n".join(rows).encode("utf-8"), "people.csv")
    check(at)
    at.selectbox(key="tbl_id").set_value("name")
    at.selectbox(key="tbl_label").set_value("kind").run()
    assert at.multiselect(key="tbl_features").value == ["height", "weight"]
    click(at, "tbl_use")
    check(at)
    ds = at.session_state["cm_dataset"]
    assert ds.X.shape == (20, 2)
    assert list(ds.ids[:2]) == ["obj0", "obj1"]
    np.testing.assert_allclose(ds.raw.iloc[:3, 0], [1.5, 1.51, 1.52])
    spec = at.session_state["cm_data_spec"]
    assert spec["source"] == "csv" and len(spec["sha256"]) == 64
    assert spec["prepare"]["id_column"] == "name"


def test_upload_reading_options_override_detection_and_replay(tmp_path):
    """A cp1251 table whose detection the analyst overrides: the choice is applied, shown,
    recorded in the run's recipe and used again when the run is repeated."""
    from clustering import config as cfg

    rows = ["предприятие;x;y"] + [f"П{i};{i},5;{i % 4}" for i in range(12)]
    data = "\n".join(rows).encode("cp1251")
    at = _upload(new_app(), data, "enterprises.csv")
    check(at)
    captions = lambda: [c.value.replace("\\", "") for c in at.caption]  # noqa: E731 (escaped)
    assert "Read as semicolon separated, decimal comma, encoding cp1251 (detected)." in captions()
    at.selectbox(key="csv_delimiter").set_value("comma").run()
    assert at.error and "read as comma separated" in at.error[0].value  # said, nothing lost
    at.selectbox(key="csv_delimiter").set_value("semicolon")
    at.selectbox(key="csv_encoding").set_value("cp1251").run()
    check(at)
    assert "Read as semicolon separated, decimal comma, encoding cp1251 (as chosen)." in captions()
    at.selectbox(key="tbl_id").set_value("предприятие").run()
    click(at, "tbl_use")
    check(at)
    spec = at.session_state["cm_data_spec"]
    assert spec["read"] == {"delimiter": ";", "encoding": "cp1251"}
    again = cfg.load_data(spec, data)
    np.testing.assert_allclose(again.X, at.session_state["cm_dataset"].X)
    assert list(again.ids[:2]) == ["П0", "П1"]


def test_upload_malformed_csv_shows_message_not_traceback():
    at = _upload(new_app(), b"\x00\x01\x02 not a table", "broken.csv")
    assert not at.exception
    assert at.error, "a malformed file must produce an error message"
    assert "Traceback" not in at.error[0].value
    assert at.session_state["cm_dataset"] is None  # no data set was made


def test_upload_non_numeric_feature_names_the_column():
    data = "id,a,b\n1,1.0,x\n2,2.0,y\n3,3.0,z\n4,4.0,w\n".encode()
    at = _upload(new_app(), data, "mixed.csv")
    at.multiselect(key="tbl_features").set_value(["a", "b"]).run()
    click(at, "tbl_use")
    assert not at.exception
    assert at.error and "b" in at.error[0].value
    assert at.session_state["cm_dataset"] is None  # no data set was made


def test_example_loads_in_one_click():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    check(at)
    ds = at.session_state["cm_dataset"]
    assert ds.X.shape[1] == 5
    assert list(ds.feature_names) == ["Phi11", "Phi13", "Phi21", "Phi24", "Phi"]
    assert at.session_state["cm_data_spec"]["source"] == "example"


def test_aggregation_builder_adds_columns():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    click(at, "agg_preset")
    check(at)
    at.text_input(key="agg_criterion").set_value("Phi_new")
    click(at, "agg_add")
    check(at)
    frame = at.session_state["cm_table"]["frame"]
    for col in ("Phi1", "Phi2", "Phi_new"):
        assert col in frame.columns
    np.testing.assert_allclose(frame["Phi_new"],
                               (frame.Phi11 + frame.Phi13) / 2 * (frame.Phi21 + frame.Phi24) / 2)


def test_upload_guesses_a_text_column_of_unique_names_as_the_id():
    data = ("enterprise,x,y\n" + "".join(f"E{i},{i % 7 * 1.5},{(i * 3) % 8 * 0.75}\n"
                                        for i in range(40))).encode()
    at = _upload(new_app(), data, "enterprises.csv")
    check(at)
    assert at.selectbox(key="tbl_id").value == "enterprise"
    assert at.multiselect(key="tbl_features").value == ["x", "y"]
    click(at, "tbl_use")
    check(at)
    assert list(at.session_state["cm_dataset"].ids[:2]) == ["E0", "E1"]
    assert "data_scatter" in {c.key for c in at.get("plotly_chart")}


def test_upload_workbook_choosing_the_second_sheet_and_replay():
    """An .xlsx of two sheets: the Sheet box offers both, the second is read, recorded in the
    recipe and read again when the run is repeated."""
    import io

    openpyxl = pytest.importorskip("openpyxl")
    from clustering import config as cfg

    book = openpyxl.Workbook()
    book.active.title = "Титул"
    book.active.append(["заметка"])
    book.active.append(["не данные"])
    ws = book.create_sheet("Данные")
    ws.append(["предприятие", "x", "y"])
    for i in range(12):
        ws.append([f"П{i}", i + 0.5, float(i % 4)])
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    at = _upload(new_app(), data, "enterprises.xlsx")
    check(at)
    assert at.selectbox(key="csv_sheet").options == ["Титул", "Данные"]
    at.selectbox(key="csv_sheet").set_value("Данные").run()
    check(at)
    assert list(at.session_state["cm_table"]["frame"].columns) == ["предприятие", "x", "y"]
    captions = [c.value.replace("\\", "") for c in at.caption]
    assert "Read from sheet 'Данные' of the xlsx workbook." in captions
    at.selectbox(key="tbl_id").set_value("предприятие").run()
    click(at, "tbl_use")
    check(at)
    spec = at.session_state["cm_data_spec"]
    assert spec["source"] == "csv" and spec["read"] == {"sheet": "Данные"}
    np.testing.assert_allclose(at.session_state["cm_dataset"].raw["x"][:2], [0.5, 1.5])
    again = cfg.load_data(spec, data)
    np.testing.assert_allclose(again.X, at.session_state["cm_dataset"].X)
    assert list(again.ids[:2]) == ["П0", "П1"]
