"""End-to-end: nothing is lost. A reload mid-training, a second tab on the same address and a
restart of the server process on the same data directory bring back the same data, results and
training; a new address starts empty. Screenshots in test-artifacts/."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import ARTIFACTS, start_server, stop_server
from tests.e2e.test_browser import generate, nav, progress_values, set_number, settle, shot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAIN = '[data-testid="stMain"]'


def train_som(page, rows=4, cols=4, steps=300) -> None:
    nav(page, "Self-organizing map")
    set_number(page, "rows", rows)
    set_number(page, "columns", cols)
    set_number(page, "T (training steps)", steps)
    page.get_by_role("button", name="Train the map").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    page.get_by_text(re.compile(rf"{rows} x {cols} hexagonal lattice")).wait_for()


def start_neural(page) -> None:
    """A network that trains long (10 restarts of up to 15,000 epochs, a minute or more on this
    machine); wait until its progress moves."""
    nav(page, "Neural clustering")
    set_number(page, "max epochs", 15000)
    set_number(page, "patience", 5000)
    set_number(page, "restarts", 10)
    page.get_by_role("button", name="Train", exact=True).click()
    values = progress_values(page, 45)
    assert len(values) >= 2 and values[-1] > values[0], f"progress did not advance: {values}"


def token(page) -> str:
    found = re.search(r"[?&]ws=([A-Za-z0-9_-]+)", page.url)
    assert found, f"no workspace in the address {page.url}"
    return found.group(1)


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(url)
    tab.wait_for_selector('[data-testid="stSidebarNav"]')
    settle(tab)
    return tab


def test_reload_and_a_second_tab_bring_back_the_data_the_training_and_the_results(page, browser,
                                                                                    server):
    generate(page, "blobs", 150)
    train_som(page)
    start_neural(page)
    ws = token(page)  # navigation kept the workspace in the address
    page.reload()
    page.wait_for_selector('[data-testid="stSidebarNav"]')
    assert token(page) == ws
    sidebar(page).get_by_text(re.compile(r"blobs \(150 points\)")).wait_for()
    # the running training is shown again, live
    values = progress_values(page, 30)
    assert len(values) >= 2 and values[-1] > values[0], f"no live progress after reload: {values}"
    shot(page, "20-reload-mid-training")

    other = open_tab(browser, f"{server}/?ws={ws}")  # a second tab on the same address
    sidebar(other).get_by_text(re.compile(r"blobs \(150 points\)")).wait_for()
    sidebar(other).get_by_text("Training in the background").wait_for()
    nav(other, "Self-organizing map")
    other.get_by_role("heading", name="Results").wait_for()  # the earlier result
    shot(other, "21-second-tab-same-workspace")

    page.locator(MAIN).get_by_role("button", name="Stop").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    nav(other, "Run history")
    runs = other.get_by_test_id("stSelectbox").filter(has_text="Run")
    runs.click()  # the history's list of runs (the table itself is drawn on a canvas)
    for name in ("Neural clustering · blobs (150 points)", "Self-organizing map · blobs (150 points)"):
        other.get_by_role("option").filter(has_text=name).first.wait_for()
    other.keyboard.press("Escape")
    shot(other, "22-run-history")

    fresh = open_tab(browser, server)  # a new address: a new, empty workspace
    assert token(fresh) != ws
    sidebar(fresh).get_by_text("No data set yet.").wait_for()
    for tab in (other, fresh):
        tab.context.close()
    assert ws not in (ARTIFACTS / "streamlit-server.log").read_text(errors="replace")


def test_a_server_restart_keeps_the_work_and_says_which_training_it_interrupted(browser,
                                                                               tmp_path):
    env = {"CLUSTERMAP_DATA_DIR": str(tmp_path / "data")}
    proc, url = start_server("restart-server-1.log", **env)
    try:
        page = open_tab(browser, url)
        generate(page, "moons", 120)
        train_som(page, 3, 5)
        start_neural(page)
        ws = token(page)
    finally:
        stop_server(proc, timeout=90)  # mid-training (SIGTERM: it marks its job at exit)
    page.context.close()

    proc, url = start_server("restart-server-2.log", **env)
    try:
        page = open_tab(browser, f"{url}/?ws={ws}")
        sidebar(page).get_by_text(re.compile(r"moons \(120 points\)")).wait_for()
        # at once when the first server exited normally; once its heartbeat went stale (about
        # 75 s, seen on a reload) if it had to be killed
        notice = sidebar(page).get_by_text(re.compile("1 training was interrupted by a server "
                                                      "restart"))
        for _ in range(8):
            try:
                notice.wait_for(timeout=20_000)
                break
            except Exception:
                page.reload()
                page.wait_for_selector('[data-testid="stSidebarNav"]')
        notice.wait_for(timeout=5_000)
        nav(page, "Self-organizing map")
        page.get_by_role("heading", name="Results").wait_for()
        page.get_by_text(re.compile(r"3 x 5 hexagonal lattice")).wait_for()
        nav(page, "Run history")
        page.get_by_text(re.compile(r"Neural clustering, started .* was interrupted")).wait_for()
        shot(page, "23-after-restart-history")
        page.get_by_role("button", name="Run it again").click()
        settle(page)
        sidebar(page).get_by_text("Training in the background").wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "24-rerun-after-restart.png"), full_page=True)
        page.context.close()
    finally:
        stop_server(proc)
    for name in ("restart-server-1.log", "restart-server-2.log"):  # tokens never in the logs
        assert ws not in (ARTIFACTS / name).read_text(errors="replace")
