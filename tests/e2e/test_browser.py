"""End-to-end: the real app in headless Chromium (Playwright), screenshots in test-artifacts/."""
from __future__ import annotations

import re
import signal
import sys
import threading
import time
import urllib.request

import psutil
import pytest

from tests.e2e.conftest import ARTIFACTS, ROOT, SERVER

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def shot(page, name: str) -> None:
    settle(page)  # no stale elements of the previous run in the picture
    page.wait_for_timeout(600)  # let plotly finish drawing
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def settle(page) -> None:
    """Wait until the app has finished its current script run."""
    page.wait_for_timeout(400)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)


def nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title if title != "Compare" else "Compare methods").first \
        .wait_for()
    settle(page)


def set_number(page, label: str, value) -> None:
    box = page.get_by_role("spinbutton", name=label).first
    box.fill(str(value))
    box.press("Enter")
    settle(page)


def generate(page, name="blobs", n=200):
    nav(page, "Data")
    page.get_by_test_id("stSelectbox").filter(has_text="Generator").click()
    page.get_by_role("option", name=name, exact=True).click()
    settle(page)
    set_number(page, "points", n)
    page.get_by_role("button", name="Generate").click()
    page.get_by_text(re.compile(rf"{name} \({n} points\): {n} objects")).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()


def progress_values(page, seconds: float) -> list[float]:
    """Sample the live panel's progress bar until it has moved (or ``seconds`` pass)."""
    bar = page.locator('[data-testid="stMain"] [data-testid="stProgress"] [role="progressbar"]')
    bar.first.wait_for()
    values: list[float] = []
    stop = page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop")
    for _ in range(int(seconds / 0.25)):
        try:
            values.append(float(bar.first.get_attribute("aria-valuenow", timeout=1000) or 0))
        except Exception:  # redrawn under our feet, or replaced by the results
            if not stop.count():
                break
            continue
        if len(set(values)) >= 2:
            break
        page.wait_for_timeout(250)
    return values


def test_home_page_and_generate(page):
    page.get_by_role("heading", name="clustermap").wait_for()
    shot(page, "01-home")
    generate(page, "moons", 300)
    shot(page, "02-data-generated")


def in_viewport(page, locator) -> bool:
    """Whether ``locator`` is wholly inside the window as it is scrolled now."""
    box, view = locator.bounding_box(), page.viewport_size
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= view["height"]


def start_long_training(page, seconds: float) -> None:
    """150 blobs, a network that trains long (no early stop); wait until its progress moves.
    The progress appears where the user's eye is: in the window, without scrolling, after the
    click on Train (in a window of an ordinary laptop's height)."""
    generate(page, "blobs", 150)
    nav(page, "Neural clustering")
    set_number(page, "max epochs", 5000)
    set_number(page, "patience", 5000)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 800})
    train = page.get_by_role("button", name="Train", exact=True)
    train.scroll_into_view_if_needed()
    train.click()
    bar = page.locator('[data-testid="stMain"] [data-testid="stProgress"]').first
    bar.wait_for()
    stop = page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop")
    assert in_viewport(page, bar) and in_viewport(page, stop), "the progress is out of view"
    page.set_viewport_size(size)
    values = progress_values(page, seconds)
    assert len(values) >= 2 and values[-1] > values[0], f"progress did not advance: {values}"


def test_train_neural_live_then_download(page):
    # long enough to watch it live, then Stop keeps the model
    start_long_training(page, 45)
    live = page.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]')
    stop = page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop")
    # while training runs: the loss curve and the soft-coloured scatter, drawn live (the
    # diffusion kernel has no curve of its own to draw above them)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stMain\"] "
                           "[data-testid=\"stPlotlyChart\"]').length >= 2", timeout=60_000)
    assert stop.is_visible(), "training ended before its live charts could be seen"
    page.screenshot(path=str(ARTIFACTS / "03-neural-training.png"), full_page=True)
    page.get_by_text(re.compile(r"Neural clustering: training: restart \d of 5: epoch \d+")).first\
        .wait_for(timeout=10_000)
    assert stop.is_visible() and live.count() >= 2  # still training, both charts drawn live
    stop.click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    # the model as it was is kept
    page.get_by_text(re.compile(r"Training stopped by you in [\d.]+ s")).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    shot(page, "04-neural-results")
    page.get_by_role("tab", name="Decision regions").click()
    shot(page, "05-neural-decision-regions")
    with page.expect_download() as dl:
        page.get_by_role("button", name="Labels and probabilities (CSV)").click()
    path = dl.value.path()
    raw = open(path, "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # generated data: UTF-8 with a BOM, for Excel
    text = raw.decode("utf-8-sig").splitlines()
    assert text[0].startswith("id,cluster,cluster_name,p_0,p_1,p_2,p_max,true_label,x1,x2")
    assert len(text) == 151


def _health_latencies(url: str, stop: threading.Event, out: list) -> None:
    """Ask the health endpoint every 0.2 s until ``stop``; (seconds, status) per request."""
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
                status = r.status
        except OSError:
            status = 0
        out.append((time.monotonic() - t0, status))
        stop.wait(0.2)


def test_a_killed_worker_costs_one_training_and_the_server_keeps_serving(page, server):
    start_long_training(page, 60)
    workers = [p for p in psutil.Process(SERVER["pid"]).children(recursive=True)
               if "spawn_main" in " ".join(p.cmdline())]
    assert workers, "the server has no worker processes"
    health: list = []
    done = threading.Event()
    probe = threading.Thread(target=_health_latencies, args=(server, done, health), daemon=True)
    probe.start()
    try:
        for worker in workers:  # every worker, so the one training is surely among them
            worker.send_signal(signal.SIGKILL)
        page.get_by_text(re.compile("Neural clustering stopped because the worker process "
                                    "running it ended")).wait_for(timeout=60_000)
        shot(page, "06-worker-killed")
        # the next training runs, on a fresh worker
        set_number(page, "max epochs", 30)
        set_number(page, "patience", 30)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(r"Training finished in [\d.]+ s")).wait_for(timeout=240_000)
    finally:
        done.set()
        probe.join(10)
    assert health and all(status == 200 for _, status in health), health
    assert max(seconds for seconds, _ in health) < 1.0, max(health)


def test_train_som_live(page):
    generate(page, "blobs", 200)
    nav(page, "Self-organizing map")
    set_number(page, "rows", 6)
    set_number(page, "columns", 8)
    set_number(page, "T (training steps)", 3000)
    page.get_by_role("button", name="Train the map").click()
    values = progress_values(page, 20)
    assert values, "no progress bar"
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    page.get_by_text(re.compile(r"6 x 8 hexagonal lattice")).wait_for()
    shot(page, "06-som-umatrix")
    page.get_by_role("tab", name="Component planes").click()
    shot(page, "07-som-component-planes")
    page.get_by_role("tab", name="Map in data space").click()
    shot(page, "08-som-in-data-space")


def test_upload_csv_through_file_chooser(page, tmp_path):
    csv = tmp_path / "enterprises.csv"
    rows = ["enterprise,x,y"] + [f"E{i},{(i % 7) * 1.5:.1f},{(i % 3) * 2 + 0.25 * i:.2f}"
                                 for i in range(40)]
    csv.write_text("\n".join(rows), encoding="utf-8")
    nav(page, "Data")
    page.get_by_text("Upload a CSV", exact=True).click()
    with page.expect_file_chooser() as fc:
        page.get_by_role("button", name=re.compile("Browse files|Upload")).first.click()
    fc.value.set_files(str(csv))
    page.get_by_text(re.compile(r"enterprises\.csv: 40 rows x 3 columns")).wait_for()
    page.get_by_role("button", name="Use this table").click()
    page.get_by_text(re.compile(r"enterprises\.csv: 40 objects, 2 features")).wait_for()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    shot(page, "09-data-uploaded")


def test_example_ensemble_and_compare(page):
    nav(page, "Data")
    page.get_by_text("Example", exact=True).click()
    page.get_by_role("button", name="Load the taxpayer example").click()
    page.get_by_text(re.compile(r"taxpayer example: \d+ objects, 5 features")).wait_for()
    nav(page, "Quasi-Bayesian ensemble")
    # the article's 3 x 3 grid with 2 replicates (18 maps) keeps the test short on a busy machine
    set_number(page, "replicates per network", 2)
    page.get_by_text(re.compile(r"Choose M from the curve")).click()
    page.get_by_role("button", name="Run the ensemble").click()
    page.get_by_text(re.compile(r"map \d+ of 18")).first.wait_for()  # live progress
    page.get_by_role("heading", name="Results").wait_for(timeout=360_000)
    # the headline: the chosen M finds the three planted groups and sets the outliers apart
    page.get_by_text(re.compile(r"only 1 object\(s\) of 120")).first.wait_for()
    shot(page, "10-ensemble-headline-choice-of-m")
    for tab, name in (("Filter (table 5)", "10b-ensemble-filter"),
                      ("Decisions", "10c-ensemble-decisions"),
                      ("Cluster profile", "10d-ensemble-profile"),
                      ("Posterior", "11-ensemble-posterior"),
                      ("Co-association", "12-ensemble-coassociation")):
        page.get_by_role("tab", name=tab).click()
        shot(page, name)
    nav(page, "Compare")
    page.get_by_role("button", name="Run the comparison").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=240_000)
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
    shot(page, "13-compare")


def _hostile_files() -> list[tuple[str, str, bytes, str]]:
    """The load script's hostile configurations (one list for both)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from load_sessions import hostile_configs

    return hostile_configs()


def _upload_and_apply(page, name: str, data: bytes) -> None:
    page.get_by_text(re.compile(r"Repeat a saved (run|comparison)")).first.click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": data}])
    # the upload's own rerun shows either the file's summary with its button, or a refusal
    apply = page.get_by_role("button", name=re.compile(r"Apply and (train|run)"))
    apply.or_(page.locator('[data-testid="stAlertContentError"]')).first.wait_for()
    if apply.count():
        apply.first.click()
        settle(page)


def test_a_hostile_visitor_is_refused_while_an_honest_one_trains(page, browser, server):
    """While one session uploads each hostile configuration, a second session's small training
    completes, the health endpoint answers within 1 s throughout, and every refusal names the
    limit's setting."""
    health: list = []
    done = threading.Event()
    probe = threading.Thread(target=_health_latencies, args=(server, done, health), daemon=True)
    probe.start()
    hostile_ctx = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        generate(page, "blobs", 150)
        nav(page, "Neural clustering")
        set_number(page, "max epochs", 300)
        set_number(page, "patience", 300)
        page.get_by_role("button", name="Train", exact=True).click()
        hostile = hostile_ctx.new_page()
        hostile.set_default_timeout(60_000)
        hostile.goto(server)
        hostile.wait_for_selector('[data-testid="stSidebarNav"]')
        for title, name, data, setting in _hostile_files():
            nav(hostile, title)
            _upload_and_apply(hostile, name, data)
            refusal = hostile.locator('[data-testid="stAlertContentError"]').filter(
                has_text=setting)
            refusal.first.wait_for(timeout=60_000)
            assert "is above the limit of" in refusal.first.inner_text()
        hostile.screenshot(path=str(ARTIFACTS / "14-hostile-refused.png"), full_page=True)
        page.get_by_text(re.compile(r"Training finished in [\d.]+ s")).wait_for(timeout=240_000)
    except Exception:
        if "hostile" in locals():
            hostile.screenshot(path=str(ARTIFACTS / "FAILED-hostile.png"), full_page=True)
        raise
    finally:
        done.set()
        probe.join(10)
        hostile_ctx.close()
    assert health and all(status == 200 for _, status in health), health
    assert max(seconds for seconds, _ in health) < 1.0, max(health)
