"""AppTest: train every method on small data; results, downloads, state across pages, Stop."""

import re

import numpy as np
import pandas as pd
import pytest

from tests.apptest_helpers import check, click, generate, goto, new_app, stop_all_jobs, set_number, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _no_leftover_jobs():
    yield
    stop_all_jobs()


def _small_neural(at, epochs=15):
    goto(at, "neural")
    set_number(at, "nn_max_epochs", epochs)
    set_number(at, "nn_patience", epochs)
    at.run()


def _download(at, file_name):
    for d in at.get("download_button"):
        if d.proto.label and file_name in str(d.proto.url) or file_name in d.proto.label:
            return d
    return None


def test_neural_trains_and_draws_results_with_downloads():
    at = generate(new_app(), "blobs", 60)
    _small_neural(at)
    click(at, "nn_train")
    check(at)
    job = wait_job(at)
    assert job.error is None
    check(at)
    res = at.session_state["cm_results"]["neural"]
    assert res.labels.shape == (60,)
    assert res.proba.shape == (60, 3)
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0, atol=1e-5)
    assert 1 <= len(res.estimator.loss_history_) <= 15
    assert "ARI" in res.metrics or "ari" in {k.lower() for k in res.metrics}
    # soft, hard, regions, entropy, loss charts (the default diffusion kernel has no curve)
    keys = {c.key for c in at.get("plotly_chart")}
    assert {"nn_soft", "nn_hard", "nn_regions", "nn_entropy", "nn_loss"} <= keys
    assert any("No curve to draw" in c.value for c in at.caption)
    import json

    hard = json.loads(next(c for c in at.get("plotly_chart") if c.key == "nn_hard").proto.spec)
    legends = {t.get("name", "") for t in hard["data"]}  # clusters named by their majority class
    assert any(re.fullmatch(r"cluster \d \(mostly 'class \d'\)", n) for n in legends), legends
    hover = hard["data"][0]["text"][0]  # the object's id, values and probabilities
    assert hover.startswith("id ") and "x1 = " in hover and "P(cluster" in hover, hover
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Labels and probabilities (CSV)", "Labels and probabilities (Excel)",
                      "Run configuration (JSON)", "Trained model (.keras)", "Metrics (CSV)"]
    assert any(f"{res.estimator.n_epochs_} epochs" in t.value for t in at.text)
    # the progress panel's history was recorded during training
    assert len(job.series("loss")) >= 1


def test_results_and_data_survive_page_switches():
    at = generate(new_app(), "moons", 60)
    _small_neural(at, epochs=5)
    click(at, "nn_train")
    wait_job(at)
    first = at.session_state["cm_results"]["neural"]
    for page in ("som", "data", "compare", "home", "neural"):
        goto(at, page)
    assert at.session_state["cm_results"]["neural"] is first
    assert at.session_state["cm_dataset"].X.shape == (60, 2)
    # widget values persist across the switches
    assert at.number_input(key="nn_max_epochs").value == 5
    assert any(d.proto.label == "Trained model (.keras)" for d in at.get("download_button"))


def test_stop_keeps_the_model_and_clicks_during_training_do_not_lose_it():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    set_number(at, "nn_max_epochs", 20000)
    set_number(at, "nn_patience", 5000)
    at.run()
    click(at, "nn_train")
    job = at.session_state["cm_job"]
    assert job.running
    # settings are locked while training; clicks elsewhere and page switches leave the job be
    assert at.number_input(key="nn_learning_rate").disabled
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    goto(at, "neural")
    assert at.session_state["cm_job"] is job
    import time

    deadline = time.monotonic() + 60
    while len(job.series("loss")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert job.running, "training finished too early for the test"
    at.button(key="stop_neural").click().run()
    wait_job(at, timeout=60)
    res = at.session_state["cm_results"]["neural"]
    assert res.stopped
    assert 3 <= len(res.estimator.loss_history_) < 20000
    assert res.labels.shape == (60,)
    check(at)


def test_one_job_at_a_time():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    set_number(at, "nn_max_epochs", 20000)
    set_number(at, "nn_patience", 5000)
    at.run()
    click(at, "nn_train")
    job = at.session_state["cm_job"]
    goto(at, "som")
    assert at.button(key="som_train").disabled
    assert at.warning  # says which training holds the session
    job.request_stop()
    wait_job(at, timeout=60)
    assert not at.button(key="som_train").disabled


def test_som_trains_and_draws_lattice_maps():
    at = generate(new_app(), "blobs", 60)
    goto(at, "som")
    set_number(at, "som_rows", 4)
    set_number(at, "som_cols", 5)
    set_number(at, "som_n_steps", 200)
    at.run()
    click(at, "som_train")
    job = wait_job(at)
    assert job.error is None
    check(at)
    res = at.session_state["cm_results"]["som"]
    assert res.labels.shape == (60,)
    som = res.estimator
    assert np.asarray(som.codebook_).reshape(-1, 2).shape[0] == 20
    assert len(at.get("plotly_chart")) >= 6
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Labels (CSV)", "Labels (Excel)", "Run configuration (JSON)",
                      "Codebook (CSV)", "Metrics (CSV)"]
    assert any(f"{som.rows_} x {som.cols_} hexagonal lattice" in t.value for t in at.text)
    # the job ran on a Dask worker of the server, the map inside that worker's process
    assert som.execution_["path"] == "local" and job.worker.startswith("tcp://")
    shown = [c.value.replace("\\", "") for c in at.caption]
    assert any(c.startswith(f"Ran on Dask worker {job.worker}: ") for c in shown)


def test_som_above_the_memory_limit_is_refused_before_it_starts(monkeypatch):
    monkeypatch.setenv("CLUSTERMAP_MEMORY_LIMIT", "1M")
    monkeypatch.delenv("CLUSTERMAP_DASK_SCHEDULER", raising=False)
    at = generate(new_app(), "blobs", 60)
    goto(at, "som")
    set_number(at, "som_rows", 30)
    set_number(at, "som_cols", 30)
    at.run()
    click(at, "som_train")
    assert at.session_state["cm_results"].get("som") is None
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes
    assert "memory_limit" in errors and "CLUSTERMAP_MEMORY_LIMIT" in errors, errors
    assert not any("Traceback" in e.value for e in at.error)


def test_som_suggestion_button_uses_five_sqrt_n():
    at = generate(new_app(), "blobs", 100)
    goto(at, "som")
    click(at, "som_suggest")
    rows = at.number_input(key="som_rows").value
    cols = at.number_input(key="som_cols").value
    assert abs(rows * cols - 50) <= 6  # 5 sqrt(100) = 50 units


def _example_on_ensemble_page():
    at = new_app()
    goto(at, "data")
    at.radio(key="data_source").set_value("Example").run()
    click(at, "example_button")
    return goto(at, "ensemble")


def _small_grid(at, steps=100):
    at.text_input(key="qbm_tau1_grid").set_value("140, 700")
    at.text_input(key="qbm_tau2_grid").set_value("125, 625")
    set_number(at, "qbm_n_replicates", 2)
    for key, value in (("qbm_rows", 4), ("qbm_cols", 4), ("qbm_n_steps", steps)):
        set_number(at, key, value)
    at.run()


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


ENSEMBLE_TABS = ["Choice of M", "Networks (table 2)", "Filter (table 5)", "Table 3", "Table 4",
                 "Posterior", "Co-association", "Decisions", "Cluster profile", "vs k-means"]


def test_ensemble_runs_and_rebuilds_the_tables():
    at = _example_on_ensemble_page()
    _small_grid(at)
    click(at, "qbm_train")
    job = wait_job(at, timeout=240)
    assert job.error is None, job.error
    check(at)
    res = at.session_state["cm_results"]["qbm"]
    qbm = res.estimator
    assert len(pd.DataFrame(qbm.networks_)) == 4
    assert res.proba.shape[0] == at.session_state["cm_dataset"].X.shape[0]
    comp = res.extra["kmeans"]
    assert comp["method"] == "MacQueen's k-means (25)" and 0.0 <= comp["agreement"] <= 1.0
    assert [t.label for t in at.tabs] == ENSEMBLE_TABS
    keys = {c.key for c in at.get("plotly_chart")}
    assert {"qbm_reps", "qbm_filter", "qbm_posterior", "qbm_profile", "qbm_kmeans"} <= keys
    assert "qbm_selection" not in keys  # M was set: the tab says how to get the curve
    assert any("Choose M from the curve" in c.value for c in at.caption)
    # the headline under the run status
    shown = _metrics(at)
    sizes = np.bincount(res.labels, minlength=qbm.n_clusters_)
    assert shown["Cluster sizes"] == " / ".join(map(str, sizes))
    assert shown["Reliable objects"] == f"{qbm.summary()['reliable_share']:.0%}"
    assert shown["Θ (34)"] == f"{qbm.theta_mean_:.4g}"
    verdicts = [e.value.replace("\\", "") for e in list(at.info) + list(at.warning)]
    assert comp["verdict"] in verdicts
    # table 4 of the map chosen in its selector
    other = runs_map_choice(at, qbm)
    assert any(f"Table 4 for {qbm.maps_table_['name'].iloc[other]}" in c.value.replace("\\", "")
               for c in at.caption)
    labels = [d.proto.label for d in at.get("download_button")]
    for label in ("Labels and posteriors (CSV)", "Run configuration (JSON)",
                  "Cells and clusters per map, table 3 (CSV)",
                  "Best map's distances, table 4 (CSV)", "Cluster decisions (CSV)",
                  "Object decisions (CSV)"):
        assert label in labels
    assert any("map" in (p.message or "") for p in [job.progress])
    assert qbm.execution_["path"] == "local" and qbm.execution_["workers"] == 1
    assert any(f"Ran on Dask worker {job.worker}: {len(qbm.maps_)} maps one after the other."
               in c.value.replace("\\", "") for c in at.caption)


def runs_map_choice(at, qbm) -> int:
    """Choose a map other than the best (shown first) in table 4's selector; its position."""
    box = at.selectbox(key="qbm_map")
    best = qbm.maps_.index(qbm.best_map_)
    assert box.value == best
    other = next(k for k in range(len(qbm.maps_)) if k != best)
    box.set_value(other).run()
    check(at)
    assert at.selectbox(key="qbm_map").value == other
    return other


def test_ensemble_chooses_m_and_finds_the_planted_groups_of_the_example():
    """Default settings, M chosen from the curve over 2..8: the planted groups found (ARI at
    least 0.9), the planted outliers singled out, the headline and the curve shown."""
    from sklearn.metrics import adjusted_rand_score

    from clustering.ensemble_selection import suggest

    at = _example_on_ensemble_page()
    at.checkbox(key="qbm_auto_m").check().run()
    check(at)
    assert at.text_input(key="qbm_n_clusters_candidates").value == "2, 3, 4, 5, 6, 7, 8"
    click(at, "qbm_train")
    job = wait_job(at, timeout=600)
    assert job.error is None, job.error
    check(at)
    res = at.session_state["cm_results"]["qbm"]
    qbm = res.estimator
    ds = at.session_state["cm_dataset"]
    assert res.config.params["n_clusters"] == "auto"
    assert qbm.selection_["M"].tolist() == list(range(2, 9))
    assert qbm.n_clusters_ == suggest(qbm.selection_)
    ari = adjusted_rand_score(ds.labels, res.labels)
    assert ari >= 0.9, (ari, qbm.n_clusters_, qbm.selection_.to_dict("list"))
    shown = _metrics(at)
    assert shown["Clusters M"] == str(qbm.n_clusters_)
    sizes = np.bincount(res.labels, minlength=qbm.n_clusters_)
    assert shown["Cluster sizes"] == " / ".join(map(str, sizes))
    summary = qbm.summary()
    assert shown["Reliable objects"] == f"{summary['reliable_share']:.0%}"
    warnings = [w.value.replace("\\", "") for w in at.warning]
    for text in summary["warnings"]:
        assert text in warnings
    assert "qbm_selection" in {c.key for c in at.get("plotly_chart")}
    # the planted outliers are singled out by the article's rules (Phi, the table's score)
    outlier = ds.label_names.index("outlier")
    planted = set(np.flatnonzero(ds.labels == outlier).tolist())
    _, objects = qbm.decisions(ds.frame, "Phi")
    assert planted <= set(objects["object"]), (planted, objects.to_dict("list"))


def test_article_button_sets_every_setting_of_the_article():
    from clustering.ensemble import QuasiBayesianEnsemble

    at = _example_on_ensemble_page()
    _small_grid(at, steps=30)
    at.checkbox(key="qbm_auto_m").check().run()
    at.selectbox(key="qbm_init").set_value("pca").run()
    set_number(at, "qbm_tol", 0.01)
    at.run()
    click(at, "qbm_article")
    check(at)
    assert at.selectbox(key="qbm_mode").value == "epoch"
    assert at.number_input(key="qbm_n_steps").value == 500
    assert at.number_input(key="qbm_tol").value == 0
    assert at.number_input(key="qbm_rows").value == 12
    assert at.number_input(key="qbm_cols").value == 16
    assert at.checkbox(key="qbm_auto_m").value is False
    article = QuasiBayesianEnsemble.article().get_params()
    assert at.number_input(key="qbm_n_clusters").value == article["n_clusters"] == 3
    assert at.selectbox(key="qbm_init").value == article["init"] == "random"
    assert at.text_input(key="qbm_tau1_grid").value == "140, 280, 700"
    assert at.text_input(key="qbm_tau2_grid").value == "125, 250, 625"
    assert at.number_input(key="qbm_n_replicates").value == 3
    assert at.number_input(key="qbm_sigma0").value == article["sigma0"]
    assert at.number_input(key="qbm_eta0").value == article["eta0"]


def test_saved_run_choosing_m_ticks_the_box_in_a_new_session():
    at = _example_on_ensemble_page()
    _small_grid(at, steps=20)
    at.text_input(key="qbm_tau2_grid").set_value("125")
    at.checkbox(key="qbm_auto_m").check().run()
    at.text_input(key="qbm_n_clusters_candidates").set_value("2, 3").run()
    click(at, "qbm_train")
    job = wait_job(at, timeout=240)
    assert job.error is None, job.error
    first = at.session_state["cm_results"]["qbm"]
    assert first.config.params["n_clusters"] == "auto"
    saved = first.config.to_json().encode()

    fresh = new_app()
    goto(fresh, "ensemble")
    fresh.file_uploader(key="qbm_cfg_upload").upload("qbm_config.json", saved,
                                                      "application/json").run()
    fresh.button(key="qbm_cfg_apply").click().run()
    wait_job(fresh, timeout=240)
    check(fresh)
    again = fresh.session_state["cm_results"]["qbm"]
    assert again.config.params["n_clusters"] == "auto"
    np.testing.assert_array_equal(again.labels, first.labels)
    assert fresh.checkbox(key="qbm_auto_m").value is True
    assert isinstance(fresh.number_input(key="qbm_n_clusters").value, int)


def test_compare_runs_selected_methods():
    at = generate(new_app(), "blobs", 60)
    goto(at, "compare")
    at.multiselect(key="cmp_methods").set_value(["kmeans", "macqueen", "dbscan", "gmm"]).run()
    click(at, "cmp_run")
    job = wait_job(at)
    assert job.error is None
    check(at)
    res = at.session_state["cm_results"]["compare"]
    table = res.extra["table"]
    assert len(table) == 4
    assert set(res.extra["partitions"]) == {"k-means", "MacQueen k-means", "DBSCAN",
                                            "Gaussian mixture"}
    assert at.get("plotly_chart")


def test_home_two_clicks_to_a_trained_network():
    at = new_app()
    click(at, "home_generate")
    click(at, "home_train")
    check(at)
    assert at.title[0].value == "Neural clustering"
    job = at.session_state["cm_job"]
    assert job.method == "neural"
    assert job.running or job.finished
    # the recommended settings are what runs (and what the page shows afterwards)
    import time

    deadline = time.monotonic() + 60
    while job.running and len(job.series("loss")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    job.request_stop()
    wait_job(at, timeout=60)
    check(at)
    res = at.session_state["cm_results"]["neural"]
    assert res.labels.shape == (500,)
    assert at.get("plotly_chart")


def test_saved_configuration_repeats_the_run_in_a_new_session():
    at = generate(new_app(), "blobs", 60)
    goto(at, "som")
    set_number(at, "som_rows", 3)
    set_number(at, "som_cols", 3)
    set_number(at, "som_n_steps", 100)
    at.run()
    click(at, "som_train")
    wait_job(at)
    first = at.session_state["cm_results"]["som"]
    saved = first.config.to_json().encode()

    fresh = new_app()
    goto(fresh, "som")  # no data yet: the loader is still offered
    fresh.file_uploader(key="som_cfg_upload").upload("som_config.json", saved,
                                                      "application/json").run()
    check(fresh)
    fresh.button(key="som_cfg_apply").click().run()
    wait_job(fresh)
    check(fresh)
    again = fresh.session_state["cm_results"]["som"]
    np.testing.assert_array_equal(again.labels, first.labels)
    np.testing.assert_allclose(np.asarray(again.estimator.codebook_),
                               np.asarray(first.estimator.codebook_))
    assert fresh.number_input(key="som_rows").value == 3


def test_bad_configuration_file_is_a_message():
    at = generate(new_app(), "blobs", 60)
    goto(at, "neural")
    at.file_uploader(key="nn_cfg_upload").upload("x.json", b'{"method": "neural", "params": '
                                                 b'{"max_epochs": "many"}}', "application/json")
    at.run()
    assert not at.exception
    assert at.error and "params.max_epochs" in at.error[0].value.replace("\\", "")
