"""The command line, ``python -m clustering``: listings, runs, outputs, reproducibility, errors."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from clustering import datasets, i18n
from clustering.cli import cli_language, main

ROOT = Path(__file__).resolve().parents[1]
TAXPAYERS = ROOT / "data" / "taxpayers_synthetic.csv"
OUTLIERS = {"E045", "E047", "E057", "E105"}


@pytest.fixture(autouse=True)
def english_environment(monkeypatch):
    """The tests' own locale: no LC_ALL/LC_MESSAGES, LANG=C (English), whatever the shell has."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C")


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def read(path_or_text) -> pd.DataFrame:
    if isinstance(path_or_text, Path):
        return pd.read_csv(path_or_text, dtype={"id": str})
    return pd.read_csv(io.StringIO(path_or_text), dtype={"id": str})


def test_listings_name_every_generator_kernel_and_method(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    assert "moons: n_samples=500, noise=0.1" in out and "circles:" in out and "factor=0.2" in out
    code, out, _ = run_cli(capsys, "kernels")
    assert code == 0
    for name in ("rational (s = 0.1)", "threshold (eps = 0.1)", "identity", "spread",
                 "gaussian", "knn (k = 10)", "diffusion"):
        assert name in out
    code, out, _ = run_cli(capsys, "methods")
    for name in ("neural:", "som:", "qbm:", "kmeans:", "macqueen:", "spectral:", "dbscan:", "gmm:"):
        assert name in out
    code, out, _ = run_cli(capsys, "methods", "neural")
    assert code == 0 and "kernel = 'diffusion'" in out and "presets: seed, recommended" in out


def test_kmeans_on_blobs_recovers_the_generator_labels(capsys, tmp_path):
    out_csv = tmp_path / "blobs.csv"
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--data", "blobs",
                           "--clusters", "3", "--out", str(out_csv))
    assert code == 0, err
    frame = read(out_csv)
    _, y = datasets.make_blobs()
    assert list(frame.columns) == ["id", "cluster", "true_label"]
    assert len(frame) == 500 and np.array_equal(frame["true_label"], y)
    assert adjusted_rand_score(y, frame["cluster"]) > 0.98
    assert "ari " in err and f"wrote 500 rows to {out_csv}" in err


def test_neural_writes_probabilities_and_repeats_from_its_saved_config(capsys, tmp_path):
    args = ["run", "--method", "neural", "--data", "moons", "--samples", "120", "--clusters", "2",
            "--param", "n_restarts=1", "--param", "max_epochs=150", "--quiet"]
    code, out, err = run_cli(capsys, *args, "--save-config", str(tmp_path / "run.json"),
                             "--save-model", str(tmp_path / "net.keras"))
    assert code == 0, err
    assert err == ""  # --quiet
    first = read(out)
    assert list(first.columns) == ["id", "cluster", "p_0", "p_1", "p_max", "true_label"]
    P = first[["p_0", "p_1"]].to_numpy()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first["cluster"], P.argmax(axis=1))
    assert (tmp_path / "net.keras").stat().st_size > 0
    saved = (tmp_path / "run.json").read_text()
    assert '"max_epochs": 150' in saved and '"name": "moons"' in saved

    code, out, err = run_cli(capsys, "run", "--config", str(tmp_path / "run.json"), "--quiet")
    assert code == 0, err
    again = read(out)
    np.testing.assert_array_equal(again["cluster"], first["cluster"])
    np.testing.assert_allclose(again[["p_0", "p_1"]], P, atol=1e-6)


def test_seed_preset_is_the_notes_configuration(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--method", "neural", "--preset", "seed", "--data",
                           "blobs", "--samples", "60", "--param", "max_epochs=5", "--quiet",
                           "--out", str(tmp_path / "r.csv"), "--save-config",
                           str(tmp_path / "seed.json"))
    assert code == 0, err
    text = (tmp_path / "seed.json").read_text()
    for fragment in ('"kernel": "rational"', '"kernel_param": 0.1', '"sharpness": 3.0',
                     '"standardize": false', '"n_restarts": 1'):
        assert fragment in text


@pytest.mark.slow
def test_ensemble_on_the_taxpayer_csv_flags_the_planted_outliers(capsys, tmp_path):
    out_csv = tmp_path / "qbm.csv"
    codebook = tmp_path / "codebook.csv"
    code, _, err = run_cli(
        capsys, "run", "--method", "qbm", "--csv", str(TAXPAYERS), "--id-column", "enterprise_id",
        "--features", "Phi11,Phi13,Phi21,Phi24,Phi", "--label-column", "planted_group",
        "--clusters", "auto", "--out", str(out_csv), "--save-model", str(codebook))
    assert code == 0, err
    frame = read(out_csv)
    assert len(frame) == 120 and frame["id"].iloc[0].startswith("E")
    P = frame.filter(regex=r"^p_\d+$").to_numpy()
    assert P.shape[1] >= 4  # M chosen from the curve: three groups and the outliers apart
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    flagged = set(frame.loc[frame["flags"].fillna("").str.contains("anomalous cluster"), "id"])
    assert OUTLIERS <= flagged
    cb = pd.read_csv(codebook)
    assert list(cb.columns[:3]) == ["unit", "row", "col"] and len(cb) == 12 * 16
    assert cb["hits"].sum() == 120 and cb["row"].max() == 11 and cb["col"].max() == 15
    assert "[qbm] 27/27" in err


def test_csv_ids_that_look_like_formulas_are_neutralised(capsys, tmp_path):
    rows = ["name,a,b"] + [f"{prefix}{i},{i % 3 + 0.1 * i},{(i * 7) % 5}"
                           for i, prefix in enumerate(["=cmd|", "+", "-", "@", "ok"] * 4)]
    src = tmp_path / "hostile.csv"
    src.write_text("\n".join(rows) + "\n")
    out_csv = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--csv", str(src),
                           "--id-column", "name", "--clusters", "2", "--out", str(out_csv))
    assert code == 0, err
    ids = out_csv.read_text().splitlines()[1:]
    starts = [line.split(",")[0] for line in ids]
    assert starts[:5] == ["'=cmd|0", "'+1", "'-2", "'@3", "ok4"]
    assert not any(s.startswith(("=", "+", "-", "@")) for s in starts)


def test_som_writes_the_cell_of_every_object(capsys):
    code, out, err = run_cli(capsys, "run", "--method", "som", "--data", "blobs", "--samples",
                             "200", "--param", "rows=4", "--param", "cols=5", "--param",
                             "n_steps=20", "--param", "mode=\"batch\"", "--quiet")
    assert code == 0, err
    frame = read(out)
    assert list(frame.columns) == ["id", "cluster", "cell", "true_label"]
    assert frame["cell"].between(0, 19).all() and frame["cluster"].between(0, 2).all()


@pytest.mark.parametrize("argv, message", [
    (["run", "--method", "nope", "--data", "blobs"], "--method: unknown method 'nope'"),
    (["run", "--method", "kmeans", "--data", "spiral"], "--data: unknown generator 'spiral'"),
    (["run", "--method", "kmeans"], "give the data"),
    (["run", "--data", "blobs"], "give --method"),
    (["run", "--method", "kmeans", "--csv", "/no/such/file.csv"], "--csv: no such file"),
    (["run", "--method", "kmeans", "--data", "blobs", "--param", "n_init=many"],
     "params.n_init: expected an integer"),
    (["run", "--method", "kmeans", "--data", "blobs", "--param", "colour=1"],
     "params.colour: not a parameter of kmeans"),
    (["run", "--method", "kmeans", "--data", "blobs", "--param", "oops"], "write NAME=VALUE"),
    (["run", "--method", "neural", "--preset", "haykin", "--data", "blobs"],
     "neural has the presets seed, recommended"),
    (["run", "--method", "kmeans", "--data", "blobs", "--clusters", "0"],
     "--clusters: expected a positive integer"),
    (["run", "--method", "kmeans", "--data", "moons", "--noise", "-1"], "--data moons: noise"),
    (["run", "--method", "kmeans", "--data", "blobs", "--out", "/no/such/dir/x.csv"],
     "cannot access '/no/such/dir/x.csv'"),
    (["methods", "nope"], "unknown method 'nope'"),
    (["run", "--method", "kmeans", "--data", "moons", "--samples", "900000"],
     "900000 rows (points), over the limit of 200000 (setting max_rows, environment variable "
     "CLUSTERMAP_MAX_ROWS)"),
])
def test_bad_input_ends_with_one_clear_line_and_status_2(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_bad_csv_and_bad_config_name_the_problem(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,x,y\na,1,2\nb,hello,3\nc,2,4\n")
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--csv", str(bad),
                           "--id-column", "id", "--features", "x,y", "--clusters", "2")
    assert code == 2
    assert "Column 'x' has cells that are not numbers: row 3: 'hello'" in err, err
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"method": "kmeans", "params": {"n_clusters": "three"}, '
                   '"data": {"source": "generator", "name": "blobs"}}')
    code, _, err = run_cli(capsys, "run", "--config", str(cfg))
    assert code == 2 and f"--config {cfg}: params.n_clusters: expected an integer" in err, err


def test_python_dash_m_runs_without_traceback_on_error(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "clustering", "run", "--method", "kmeans",
                           "--data", "blobs", "--clusters", "-3"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --clusters: expected a positive integer, got -3."


def test_reading_options_force_delimiter_and_encoding_and_are_replayed(capsys, tmp_path):
    table = tmp_path / "t.csv"
    table.write_bytes("id;x;y\nА;1,5;2\nБ;2,5;3\nВ;9,0;9\nГ;9,5;8\n".encode("cp1251"))
    base = ["run", "--method", "kmeans", "--csv", str(table), "--id-column", "id",
            "--clusters", "2", "--quiet"]
    code, _, err = run_cli(capsys, *base, "--delimiter", "comma")
    assert code == 2 and "read as comma separated" in err, err
    code, _, err = run_cli(capsys, *base, "--encoding", "ebcdic")
    assert code == 2 and err.startswith("error: --encoding: expected one of utf-8"), err
    saved = tmp_path / "run.json"
    code, out, _ = run_cli(capsys, *base, "--delimiter", "semicolon", "--encoding", "cp1251",
                           "--save-config", str(saved))
    # standard output keeps the table's semicolons (and decimal commas)
    assert code == 0 and pd.read_csv(io.StringIO(out), sep=";", decimal=",",
                                     dtype={"id": str})["id"].tolist() == ["А", "Б", "В", "Г"]
    assert json.loads(saved.read_text())["data"]["read"] == {"delimiter": ";",
                                                             "encoding": "cp1251"}
    code, again, _ = run_cli(capsys, "run", "--config", str(saved), "--csv", str(table), "--quiet")
    assert code == 0 and again == out


def test_out_file_is_written_in_the_input_tables_format(capsys, tmp_path):
    table = tmp_path / "ru.csv"
    table.write_bytes("код;отрасль;x;y\nА1;торговля;1,5;2,25\nБ2;услуги;2,5;3,5\n"
                      "В3;торговля;9,25;9,75\nГ4;услуги;9,5;8,0\n".encode("cp1251"))
    out_csv = tmp_path / "out.csv"
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--csv", str(table),
                           "--id-column", "код", "--label-column", "отрасль", "--clusters", "2",
                           "--quiet", "--out", str(out_csv))
    assert code == 0, err
    back = pd.read_csv(out_csv, sep=";", decimal=",", encoding="cp1251")
    assert back["id"].tolist() == ["А1", "Б2", "В3", "Г4"]
    assert back["true_label"].tolist() == ["торговля", "услуги", "торговля", "услуги"]
    # a comma separated UTF-8 table (and generated data) give UTF-8 with a byte-order mark
    utf8 = tmp_path / "t.csv"
    utf8.write_text("name,x,y\nа,1.5,2\nб,2.5,3\nв,9.0,9\nг,9.5,8\n", encoding="utf-8")
    for source in (["--csv", str(utf8), "--id-column", "name"], ["--data", "blobs"]):
        code, _, err = run_cli(capsys, "run", "--method", "kmeans", *source, "--clusters", "2",
                               "--quiet", "--out", str(out_csv))
        assert code == 0, err
        data = out_csv.read_bytes()
        assert data.startswith(b"\xef\xbb\xbfid,cluster")
    assert pd.read_csv(out_csv)["id"].iloc[0] == 0  # pandas reads past the mark


def test_sheet_chooses_a_workbooks_sheet_and_is_refused_for_a_csv(capsys, tmp_path):
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"note": ["not data"]}).to_excel(writer, sheet_name="About", index=False)
        pd.DataFrame({"name": ["a", "b", "c", "d"], "x": [1.0, 1.5, 9.0, 9.5],
                      "y": [2.0, 2.5, 8.0, 8.5]}).to_excel(writer, sheet_name="Data",
                                                           index=False)
    base = ["run", "--method", "kmeans", "--csv", str(book), "--clusters", "2", "--quiet"]
    code, out, err = run_cli(capsys, *base, "--sheet", "Data", "--id-column", "name")
    assert code == 0, err
    frame = read(out)
    assert frame["id"].tolist() == ["a", "b", "c", "d"] and frame["cluster"].nunique() == 2
    code, _, err = run_cli(capsys, *base, "--sheet", "Nope")
    assert code == 2 and "no sheet 'Nope'; its sheets are 'About', 'Data'" in err, err
    assert "Traceback" not in err
    csv_file = tmp_path / "t.csv"
    csv_file.write_text("x,y\n1,2\n2,3\n9,9\n")
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--csv", str(csv_file),
                           "--clusters", "2", "--sheet", "Data")
    assert code == 2 and err.startswith("error: --sheet: 't.csv' is a text CSV"), err


REMOTE = "tcp://10.255.255.1:8786"


def _shared_config(tmp_path) -> Path:
    """A configuration someone else saved: a batch SOM sent to their Dask scheduler, with
    their process count and a memory budget (1000 bytes) no fit here could meet."""
    from clustering.config import RunConfig

    cfg = RunConfig("som", {"rows": 4, "cols": 5, "n_steps": 20, "mode": "batch",
                            "scheduler": REMOTE, "n_jobs": 3, "memory_limit": 1000},
                    {"source": "generator", "name": "blobs", "params": {"n_samples": 200}})
    path = tmp_path / "shared.json"
    path.write_text(cfg.to_json())
    return path


@pytest.fixture
def no_dask_client(monkeypatch):
    """Fail the test if anything opens a Dask client (a connection to some scheduler)."""
    import distributed

    def refuse(*args, **kwargs):
        raise AssertionError(f"distributed.Client called with {args} {kwargs}")

    monkeypatch.setattr(distributed, "Client", refuse)
    monkeypatch.delenv("CLUSTERMAP_DASK_SCHEDULER", raising=False)
    monkeypatch.delenv("CLUSTERMAP_MEMORY_LIMIT", raising=False)


def test_config_file_cannot_choose_scheduler_jobs_or_memory(capsys, tmp_path, no_dask_client):
    path = _shared_config(tmp_path)
    saved = tmp_path / "again.json"
    code, out, err = run_cli(capsys, "run", "--config", str(path), "--quiet",
                             "--save-config", str(saved))
    assert code == 0, err
    assert len(read(out)) == 200
    notices = [line for line in err.splitlines() if line.startswith("ignored ")]
    assert notices == [
        f"ignored scheduler='{REMOTE}' from the configuration file: pass --scheduler to use it",
        "ignored n_jobs=3 from the configuration file: pass --n-jobs to use it",
        "ignored memory_limit=1000 from the configuration file: pass --memory-limit to use it"]
    params = json.loads(saved.read_text())["params"]
    assert not {"scheduler", "n_jobs", "memory_limit"} & set(params)
    assert params["rows"] == 4 and params["mode"] == "batch"  # the rest of the run is kept


def test_execution_settings_on_the_command_line_are_used(capsys, tmp_path, no_dask_client):
    path = _shared_config(tmp_path)
    code, out, err = run_cli(capsys, "run", "--config", str(path), "--quiet",
                             "--scheduler", "local", "--n-jobs", "2", "--memory-limit", "2G")
    assert code == 0, err
    assert "ignored" not in err and len(read(out)) == 200
    # the configuration's own value, given again on the command line, is used: here the tiny
    # memory budget, refused before any work starts
    code, _, err = run_cli(capsys, "run", "--config", str(path), "--quiet",
                           "--scheduler", "local", "--param", "memory_limit=1000")
    assert code == 2 and "memory_limit" in err and "ignored n_jobs=3" in err, err


def test_execution_options_are_checked(capsys, monkeypatch):
    import distributed

    seen = []

    def fake_client(address, **kwargs):
        seen.append(address)
        raise OSError("no route to host")

    monkeypatch.setattr(distributed, "Client", fake_client)
    base = ["run", "--method", "som", "--data", "blobs", "--samples", "100", "--quiet",
            "--param", "mode=\"batch\"", "--param", "n_steps=5"]
    code, _, err = run_cli(capsys, *base, "--scheduler", REMOTE)
    assert code == 2 and seen == [REMOTE] and "no Dask scheduler answered" in err, err
    for option, value, message in (("--scheduler", "ftp://x", "--scheduler: expected 'local'"),
                                   ("--n-jobs", "0", "--n-jobs: expected a non-zero integer"),
                                   ("--memory-limit", "lots", "--memory-limit: expected bytes")):
        code, _, err = run_cli(capsys, *base, option, value)
        assert code == 2 and message in err, err
    code, _, err = run_cli(capsys, "run", "--method", "kmeans", "--data", "blobs",
                           "--scheduler", "local")
    assert code == 2 and "--scheduler: kmeans has no scheduler setting" in err, err


# ----------------------------------------------------------------------------------- languages
MISSING = "/no/such/файл.csv"
BAD_CSV = ["run", "--method", "kmeans", "--csv", MISSING]


def test_lang_ru_gives_a_russian_error_with_its_parameters_intact(capsys):
    code, _, err = run_cli(capsys, "run", "--lang", "ru", "--method", "kmeans", "--csv", MISSING)
    assert code == 2
    assert err == f"ошибка: --csv: нет такого файла {MISSING!r}.\n", err
    code, _, err = run_cli(capsys, "--lang=ru", "run", "--method", "kmeans", "--data", "blobs",
                           "--clusters", "0")  # before the command too
    assert code == 2 and err.startswith("ошибка: --clusters: ") and "0." in err, err
    assert i18n.language() == "en"  # the caller's language is left as it was


def test_the_environment_chooses_the_language(capsys, monkeypatch):
    assert cli_language([], {"LANG": "ru_RU.UTF-8"}) == "ru"
    assert cli_language([], {"LC_ALL": "C.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"
    assert cli_language(["run", "--lang", "en"], {"LANG": "ru_RU.UTF-8"}) == "en"
    assert cli_language(["--lang=ru"], {}) == "ru"
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    code, _, err = run_cli(capsys, *BAD_CSV)
    assert code == 2 and err.startswith("ошибка: --csv: нет такого файла") and MISSING in err, err


def test_the_default_is_english(capsys, monkeypatch):
    for lang in ("C", None):
        if lang is None:
            monkeypatch.delenv("LANG", raising=False)
        else:
            monkeypatch.setenv("LANG", lang)
        code, _, err = run_cli(capsys, *BAD_CSV)
        assert code == 2 and err == f"error: --csv: no such file {MISSING!r}.\n", err


def test_lang_en_wins_over_a_russian_environment(capsys, monkeypatch):
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    code, _, err = run_cli(capsys, *BAD_CSV, "--lang", "en")
    assert code == 2 and err == f"error: --csv: no such file {MISSING!r}.\n", err
    code, out, _ = run_cli(capsys, "methods", "neural", "--lang", "en")
    assert code == 0 and "presets: seed, recommended" in out
