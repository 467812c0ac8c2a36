"""Fixtures of the browser tests: a real `streamlit run` server and headless Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CLUSTERMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


#: The running server's process id (set by the ``server`` fixture).
SERVER: dict = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_warm(pid: int, seconds: float = 120) -> None:
    """After the first page (whose script run starts the Dask cluster), wait until the server and
    its workers are idle: the first test should not race three TensorFlow imports on two cores."""
    import psutil

    deadline = time.monotonic() + seconds
    server = psutil.Process(pid)
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        procs = [server] + server.children(recursive=True)
        busy = sum(p.cpu_percent(None) for p in procs if p.is_running())
        quiet = quiet + 1 if busy < 30 else 0
        time.sleep(1)


def start_server(log_name: str = "streamlit-server.log", **env_extra: str):
    """``streamlit run app.py`` on a free localhost port, healthy; ``(process, url)``."""
    port = _free_port()
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONUNBUFFERED="1", **env_extra)
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / log_name, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()  # the child holds its own descriptor
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start: see test-artifacts/{log_name}")
        time.sleep(0.3)


def stop_server(proc, timeout: float = 30) -> None:
    """SIGTERM (Streamlit's own clean shutdown), then SIGKILL if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="session")
def server():
    """Start the app on a free localhost port; wait for /_stcore/health."""
    proc, url = start_server()
    SERVER["pid"] = proc.pid
    yield url
    stop_server(proc, 15)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (scripts/test.sh installs Debian's "
                    "chromium as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and "page" in item.fixturenames:
        pg = item.funcargs.get("page")
        if pg is not None:
            try:
                pg.screenshot(path=str(ARTIFACTS / f"FAILED-{item.name}.png"), full_page=True)
            except Exception:
                pass


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(server)
    pg.wait_for_selector('[data-testid="stSidebarNav"]')
    if not SERVER.get("warm"):
        _wait_until_warm(SERVER["pid"])
        SERVER["warm"] = True
    yield pg
    context.close()
