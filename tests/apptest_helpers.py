"""Helpers for the AppTest-driven tests of the workbench (imported by tests/test_app_*.py)."""
from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TIMEOUT = 90


_OPEN: list[AppTest] = []


def new_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    _OPEN.append(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    check(at)
    return at


def check(at: AppTest) -> None:
    """No uncaught exception and no error box."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    return at


def set_number(at: AppTest, key: str, value) -> None:
    at.number_input(key=key).set_value(value)


def generate(at: AppTest, name: str = "blobs", n_samples: int = 60) -> AppTest:
    goto(at, "data")
    at.radio(key="data_source").set_value("Generate").run()
    at.selectbox(key="gen_name").set_value(name).run()
    set_number(at, f"gen_{name}_n_samples", n_samples)
    click(at, "gen_button")
    check(at)
    return at


def wait_job(at: AppTest, timeout: float = 120) -> object:
    """Wait for the session's training job, then rerun so the page draws its results."""
    job = at.session_state["cm_job"]
    deadline = time.monotonic() + timeout
    while not job.wait(0.2):
        assert time.monotonic() < deadline, "training job did not finish in time"
    at.run()
    return job


def train_som(at: AppTest, rows: int = 4, cols: int = 4, steps: int = 200):
    """Train a small SOM on the session's data through its page; ``(job, result)``."""
    goto(at, "som")
    for key, value in (("som_rows", rows), ("som_cols", cols), ("som_n_steps", steps)):
        set_number(at, key, value)
    at.run()
    click(at, "som_train")
    check(at)
    job = wait_job(at)
    assert job.error is None, job.error
    return job, at.session_state["cm_results"]["som"]


def download_labels(at: AppTest) -> list[str]:
    return [d.label for d in at.get("download_button")]


def stop_all_jobs() -> None:
    """Stop and join the training threads the tests started (no thread outlives its test)."""
    while _OPEN:
        at = _OPEN.pop()
        try:
            job = at.session_state["cm_job"]
        except KeyError:
            continue
        if job is not None:
            job.request_stop()
            job.wait(60)
