#!/usr/bin/env python
"""Load test: many concurrent browser sessions against the app on localhost.

Starts the app with ``streamlit run`` on a free localhost port (or attaches to one with ``--url``),
then drives ``--sessions`` concurrent sessions, each a Playwright page in its own browser context
of one headless Chromium: open Home, press "Generate the default data", press "Train the
recommended network" (the home quick start: 500 points, the recommended network), and wait for the
results on the Neural clustering page. Everything is bounded: the number of sessions, a deadline per
session and one for the whole run.

It reports the share of sessions that completed, the slowest completion, the rows the sessions
wrote to the server's workspace store (a throwaway SQLite file, or ``CLUSTERMAP_DATABASE_URL``)
and their rate, and the server process's resident memory (RSS; psutil when installed, else /proc):

* ``cold``: right after start, before any session;
* ``baseline``: after one warm-up session has run and closed (the first training imports
  TensorFlow and builds its kernels once per process: memory no later session gives back, so the
  target compares with this);
* ``peak``: the highest RSS sampled while the sessions ran;
* ``after``: once the sessions closed and the server dropped them. Streamlit keeps a disconnected
  session for ``server.disconnectedSessionTTL`` seconds (120 by default) in case it reconnects:
  the script waits past it, then opens and closes one idle page, which makes Streamlit evict the
  expired sessions. ``--quick`` (the test suite's short form, about two minutes on 2 cores) starts the
  server with a 5 s TTL to keep this short and runs no warm-up, so its baseline is the cold server
  and the memory target is judged by the full form only.

On a 2-core machine that also runs the browser, ten sessions share the CPU with ten Chromium pages:
the server trains at most ``CLUSTERMAP_MAX_CONCURRENT_JOBS`` (default: the cores) networks at once
and queues the rest, so sessions finish one pair after another, each within the session deadline.

Target: every session completes and ``after`` is within 20 % of ``baseline``. Exit status 0 when
every session completed (and, with ``--check-memory``, memory met the target), 1 otherwise, 2 when
the server or the browser could not be started.

Hostile mode (``--hostile H``): the honest sessions first run alone (the quiet reference), then
again alongside H hostile sessions that upload, over and over, configurations built to exhaust
the server (a network of two 100,000-unit layers, an ensemble of 27 million maps, a comparison
with n_init = 10^9); a probe (a process of its own) asks ``/_stcore/health`` every 0.2 s
throughout. The browser's processes run at niceness 10: they stand for visitors' machines, and
would otherwise take the CPU from the server being measured. It reports the share
of honest sessions completed, their slowest time against the quiet one (target under 2x), how
many hostile uploads were refused naming their limit (target: all), and the health latency p50 and
p99 (target p99 under 1 s).

Examples
--------
    .venv/bin/python scripts/load_sessions.py --sessions 10
    .venv/bin/python scripts/load_sessions.py --sessions 4 --hostile 2
    .venv/bin/python scripts/load_sessions.py --sessions 10 --quick --json out.json
    .venv/bin/python scripts/load_sessions.py --url http://127.0.0.1:8501 --pid 1234
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CLUSTERMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
MAX_SESSIONS = 50  # one Chromium with 50 Streamlit pages is already ~5 GB
STREAMLIT_SESSION_TTL = 120.0  # server.disconnectedSessionTTL's default; .streamlit/ sets none


# ----------------------------------------------------------------------------------- memory
def rss_bytes(pid: int) -> Optional[int]:
    """Resident memory of process ``pid`` in bytes (psutil if installed, else /proc), or None."""
    try:
        import psutil  # optional

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        pass
    except Exception:  # the process is gone
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def pid_listening_on(port: int) -> Optional[int]:
    """The process listening on TCP ``port`` (Linux /proc; only processes this user can read)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


class Sampler(threading.Thread):
    """Samples a process's RSS every ``interval`` seconds until stopped; keeps the peak."""

    def __init__(self, pid: Optional[int], interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set() and self.pid is not None:
            value = rss_bytes(self.pid)
            if value is not None:
                self.peak = max(self.peak, value)
                self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join(5)
        return self.peak


# ----------------------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, deadline: float, proc: Optional[subprocess.Popen] = None) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.3)
    return False


class Server:
    """``streamlit run app.py`` on a free localhost port, stopped on exit."""

    def __init__(self, session_ttl: Optional[float], log_path: Optional[Path]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.session_ttl = session_ttl
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        #: the workspace store of this server: a throwaway SQLite file (unless one is set)
        self.data_dir = tempfile.mkdtemp(prefix="clustermap-load-")
        self.database_url = os.environ.get("CLUSTERMAP_DATABASE_URL") or \
            f"sqlite:///{self.data_dir}/clustermap.db"

    def __enter__(self) -> "Server":
        env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"),
                   TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
                   CLUSTERMAP_DATA_DIR=self.data_dir, CLUSTERMAP_DATABASE_URL=self.database_url)
        # every session of this script comes from one address (127.0.0.1): lift the per-visitor
        # share of the job queue, which would otherwise refuse all but two of them
        env.setdefault("CLUSTERMAP_MAX_JOBS_PER_CLIENT", str(MAX_SESSIONS))
        env.setdefault("CLUSTERMAP_MAX_QUEUED", str(MAX_SESSIONS))
        log = open(self.log_path, "w") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"]
            + ([] if self.session_ttl is None else
               ["--server.disconnectedSessionTTL", str(max(1, int(round(self.session_ttl))))]),
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        if log is not subprocess.DEVNULL:
            log.close()
        if not wait_healthy(self.url, time.monotonic() + 90, self.proc):
            self.__exit__(None, None, None)
            raise RuntimeError("streamlit did not start"
                               + (f": see {self.log_path}" if self.log_path else ""))
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def store_totals(database_url: Optional[str]) -> Optional[tuple[int, int]]:
    """Rows and blob bytes in the workspace store (workspaces, data sets, runs, jobs, blobs):
    zero before the server made its tables; None without a store to read."""
    if not database_url:
        return None
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        if not sa.inspect(engine).has_table("blobs"):
            return 0, 0
        with engine.connect() as conn:
            rows = sum(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                       for t in ("workspaces", "datasets", "runs", "jobs", "blobs"))
            size = conn.execute(sa.text("SELECT COALESCE(SUM(size), 0) FROM blobs")).scalar_one()
        return int(rows), int(size)
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------- sessions
@dataclass
class SessionResult:
    index: int
    completed: bool = False
    seconds: Optional[float] = None  # open Home -> results shown
    step: str = "start"  # the step reached (or failed in)
    error: str = ""
    websockets: int = 0  # more than 1: the page lost its connection and reconnected
    #: seconds from the start at which each step began (where a slow session lost its time)
    timeline: dict = field(default_factory=dict)


async def run_session(result: SessionResult, browser, url: str, timeout_s: float,
                      artifacts: Optional[Path] = None) -> SessionResult:
    """One user: Home, generate the default data, train the recommended network, see results.
    ``result`` is filled in as the session goes (so a run cut short still says where it was)."""
    index = result.index
    page = None
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    started = time.monotonic()
    try:
        page = await context.new_page()
        page.set_default_timeout(timeout_s * 1000)

        def opened(ws):
            if "/_stcore/stream" in ws.url:
                result.websockets += 1

        page.on("websocket", opened)

        def reach(step):
            result.step = step
            result.timeline[step] = round(time.monotonic() - started, 1)

        async def steps():
            reach("open home")
            await page.goto(url)
            await page.get_by_role("heading", name="clustermap").first.wait_for()
            reach("generate")
            await page.get_by_role("button", name=re.compile("Generate the default data")).click()
            await page.get_by_text(re.compile(r"500 objects, 2 features")).first.wait_for()
            reach("train")
            await page.get_by_role("button",
                                   name=re.compile("Train the recommended network")).click()
            reach("wait for results")
            await page.get_by_role("heading", name="Results").first.wait_for()
            await page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
            reach("done")

        await asyncio.wait_for(steps(), timeout_s)
        result.completed = True
        result.seconds = time.monotonic() - started
    except asyncio.TimeoutError:
        result.error = f"no result within {timeout_s:.0f} s"
    except asyncio.CancelledError:
        result.error = "cut short by --total-timeout"
        raise
    except Exception as err:  # a browser error ends this session, not the run
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    finally:
        if not result.completed and artifacts is not None and page is not None \
                and not result.error.startswith("cut short"):
            try:
                artifacts.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(artifacts / f"load-session-{index}.png"),
                                      full_page=True, timeout=10_000)
            except Exception:
                pass
        try:
            await context.close()
        except Exception:
            pass
    return result


# ----------------------------------------------------------------------------------- hostile mode
def hostile_configs() -> list[tuple[str, str, bytes, str]]:
    """What a hostile visitor of the public demo uploads: (page title, file name, configuration,
    the setting its refusal must name). Each passes the JSON checks of a saved run and would, if
    accepted, hold a worker for hours or take hundreds of GB."""
    sys.path.insert(0, str(ROOT))
    from clustering import config as cfg

    blobs = {"source": "generator", "name": "blobs", "params": {"n_samples": 300}}

    def run(method, params):
        return cfg.RunConfig(method, params, blobs).to_json().encode()

    comparison = cfg.ComparisonConfig({"kmeans": {"n_clusters": 3, "n_init": 10**9},
                                       "gmm": {"n_clusters": 3, "n_init": 10**9}}, blobs)
    return [
        ("Neural clustering", "wide.json", run("neural", {"hidden_layers": [100000, 100000]}),
         "CLUSTERMAP_MAX_LAYER_UNITS"),
        ("Quasi-Bayesian ensemble", "maps.json", run("qbm", {"n_replicates": 3_000_000}),
         "CLUSTERMAP_MAX_ENSEMBLE_MAPS"),
        ("Compare", "restarts.json", comparison.to_json().encode(), "CLUSTERMAP_MAX_N_INIT"),
    ]


@dataclass
class HostileResult:
    index: int
    submitted: int = 0  # configurations uploaded
    refused: int = 0  # ... and refused with a message naming their setting
    accepted: list = field(default_factory=list)  # any that was not refused (a failure)
    error: str = ""


async def open_page(page, title: str, tries: int = 3) -> None:
    """Click ``title`` in the sidebar until its page shows (a click that lands while the server
    is still running the previous page's script, on a loaded machine, can be dropped)."""
    heading = "Compare methods" if title == "Compare" else title
    for attempt in range(tries):
        await page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
        try:
            await page.get_by_role("heading", name=heading).first.wait_for(timeout=20_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise


async def run_hostile(result: HostileResult, browser, url: str, stop: asyncio.Event) -> None:
    """Upload every hostile configuration on its page, over and over, until ``stop``."""
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = await context.new_page()
        page.set_default_timeout(60_000)
        await page.goto(url)
        await page.get_by_role("heading", name="clustermap").first.wait_for()
        files = hostile_configs()
        while not stop.is_set():
            for title, name, data, setting in files:
                if stop.is_set():
                    break
                await open_page(page, title)
                await page.get_by_text(re.compile(r"Repeat a saved (run|comparison)")).first.click()
                await page.locator('[data-testid="stFileUploaderDropzoneInput"]').first\
                    .set_input_files(files=[{"name": name, "mimeType": "application/json",
                                             "buffer": data}])
                result.submitted += 1
                error = page.locator('[data-testid="stAlertContentError"]')
                apply = page.get_by_role("button", name=re.compile(r"Apply and (train|run)"))
                await apply.or_(error).first.wait_for()
                if await apply.count():
                    await apply.first.click()
                try:
                    await error.filter(has_text=setting).first.wait_for(timeout=30_000)
                    result.refused += 1
                except Exception:
                    result.accepted.append(name)
    except Exception as err:  # the hostile session's own failure is reported, not raised
        result.error = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
    finally:
        try:
            await context.close()
        except Exception:
            pass


#: The health probe's loop, run by a Python process of its own.
_PROBE = r"""
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
while True:
    t0 = time.monotonic()
    try:
        with opener.open(sys.argv[1] + "/_stcore/health", timeout=5) as r:
            ok = r.status == 200
    except OSError:
        ok = False
    print(time.monotonic() - t0 if ok else "inf", flush=True)
    time.sleep(0.2)
"""


class HealthProbe:
    """Ask ``/_stcore/health`` every 0.2 s; latencies in seconds (a failed request: inf).

    The probe is a process of its own: in this one, the interpreter is busy driving the browser
    pages, and a thread here would time its own wait for the interpreter lock, not the server."""

    def __init__(self, url: str):
        self.url = url
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _PROBE, self.url],
                                     stdout=subprocess.PIPE, text=True)

    def stop(self) -> list:
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return [float(line) for line in out.split()]


def percentile(values: list, q: float) -> Optional[float]:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def idle_page(browser, url: str) -> None:
    """Open and close one page: its disconnect makes Streamlit evict expired sessions."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(url)
        await page.get_by_role("heading", name="clustermap").first.wait_for(timeout=60_000)
    finally:
        await context.close()


@dataclass
class Report:
    url: str
    sessions: int
    completed: int = 0
    share_completed: float = 0.0
    slowest_s: Optional[float] = None
    median_s: Optional[float] = None
    wall_s: float = 0.0
    warmup_s: Optional[float] = None
    rss_cold_mb: Optional[float] = None
    rss_baseline_mb: Optional[float] = None
    rss_peak_mb: Optional[float] = None
    rss_after_mb: Optional[float] = None
    after_vs_baseline: Optional[float] = None  # after / baseline
    memory_ok: Optional[bool] = None
    hostile: int = 0  # hostile sessions alongside the honest ones
    quiet_slowest_s: Optional[float] = None  # the same honest sessions, no hostile one
    slowdown: Optional[float] = None  # slowest / quiet_slowest (target < 2)
    hostile_submitted: int = 0
    hostile_refused: int = 0
    health_p50_s: Optional[float] = None
    health_p99_s: Optional[float] = None
    health_failed: int = 0
    store_rows: Optional[int] = None  # rows the sessions added to the workspace store
    store_mb: Optional[float] = None  # and the bytes of their blobs
    store_rows_per_s: Optional[float] = None
    failures: list = field(default_factory=list)
    results: list = field(default_factory=list)


def deprioritise_browser(niceness: int = 10) -> None:
    """Run the browser's processes (and the pages they start later, which inherit it) at
    ``niceness``: they stand for visitors on machines of their own, and on one shared machine
    they would otherwise take the CPU from the server being measured. Best effort."""
    try:
        import psutil
    except ImportError:
        return
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                child.nice(max(child.nice(), niceness))
        except psutil.Error:
            continue


def mb(n: Optional[int]) -> Optional[float]:
    return None if n is None else round(n / 1024**2, 1)


async def drive(url: str, pid: Optional[int], args, database_url: Optional[str] = None) -> Report:
    from playwright.async_api import async_playwright

    report = Report(url=url, sessions=args.sessions)
    report.rss_cold_mb = mb(rss_bytes(pid)) if pid else None
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS,
                                          headless=True)
        deprioritise_browser()
        try:
            if args.warmup:
                warm = await run_session(SessionResult(-1), browser, url, args.session_timeout,
                                         args.artifacts)
                report.warmup_s = warm.seconds
                if not warm.completed:
                    report.failures.append(f"warm-up: {warm.step}: {warm.error}")
                await settle(browser, url, pid, args)
            baseline = rss_bytes(pid) if pid else None
            report.rss_baseline_mb = mb(baseline)

            if args.hostile:  # the reference: the same honest sessions on a quiet server
                quiet = await honest_round(browser, url, args)
                times = [r.seconds for r in quiet if r.completed]
                report.quiet_slowest_s = round(max(times), 1) if times else None
            sampler = Sampler(pid)
            sampler.start()
            probe = HealthProbe(url)
            probe.start()
            stop = asyncio.Event()
            hostile = [HostileResult(i) for i in range(args.hostile)]
            attackers = [asyncio.ensure_future(run_hostile(h, browser, url, stop))
                         for h in hostile]
            before = store_totals(database_url)
            t0 = time.monotonic()
            results = await honest_round(browser, url, args)
            report.wall_s = round(time.monotonic() - t0, 1)
            after_store = store_totals(database_url)
            if before and after_store:
                report.store_rows = after_store[0] - before[0]
                report.store_mb = round((after_store[1] - before[1]) / 1024**2, 2)
                report.store_rows_per_s = round(report.store_rows / max(report.wall_s, 1e-9), 2)
            stop.set()
            await asyncio.gather(*attackers, return_exceptions=True)
            latencies = probe.stop()
            peak = sampler.stop()
            record_hostile(report, hostile, latencies)
            report.rss_peak_mb = mb(peak) if pid else None

            await settle(browser, url, pid, args)
            after = rss_bytes(pid) if pid else None
            report.rss_after_mb = mb(after)
        finally:
            await browser.close()

    done = [r for r in results if r.completed]
    times = sorted(r.seconds for r in done)
    report.completed = len(done)
    report.share_completed = round(len(done) / max(1, args.sessions), 3)
    report.slowest_s = round(times[-1], 1) if times else None
    report.median_s = round(times[len(times) // 2], 1) if times else None
    report.failures += [f"session {r.index}: {r.step}: {r.error}" for r in results
                        if not r.completed]
    report.results = [asdict(r) for r in results]
    if report.slowest_s and report.quiet_slowest_s:
        report.slowdown = round(report.slowest_s / report.quiet_slowest_s, 2)
    if baseline and after:
        report.after_vs_baseline = round(after / baseline, 3)
        report.memory_ok = after <= 1.2 * baseline
    return report


async def honest_round(browser, url: str, args) -> list:
    """``--sessions`` honest sessions at once, each bounded in time."""
    results = [SessionResult(i) for i in range(args.sessions)]
    tasks = [asyncio.ensure_future(run_session(r, browser, url, args.session_timeout,
                                               args.artifacts)) for r in results]
    _, pending = await asyncio.wait(tasks, timeout=args.total_timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return results


def record_hostile(report: Report, hostile: list, latencies: list) -> None:
    """The hostile sessions' figures and the health endpoint's latencies into ``report``."""
    report.hostile = len(hostile)
    report.hostile_submitted = sum(h.submitted for h in hostile)
    report.hostile_refused = sum(h.refused for h in hostile)
    for h in hostile:
        report.failures += [f"hostile {h.index}: {name} was not refused" for name in h.accepted]
        if h.error:
            report.failures.append(f"hostile {h.index}: {h.error}")
    answered = [t for t in latencies if t != float("inf")]
    report.health_failed = len(latencies) - len(answered)
    report.health_p50_s = percentile(answered, 0.5)
    report.health_p99_s = percentile(answered, 0.99)


async def settle(browser, url: str, pid: Optional[int], args) -> None:
    """Wait until the server has dropped closed sessions: past the session TTL, one idle page to
    trigger the eviction, then until RSS stops falling (at most ``--settle`` seconds)."""
    await asyncio.sleep(args.session_ttl + 1)
    try:
        await idle_page(browser, url)
    except Exception:
        pass
    end = time.monotonic() + args.settle
    last = rss_bytes(pid) if pid else None
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        now = rss_bytes(pid) if pid else None
        if now is None or last is None or now >= last - 2 * 1024**2:
            break
        last = now


def print_report(r: Report, out=sys.stdout) -> None:
    print(f"sessions: {r.completed}/{r.sessions} completed ({100 * r.share_completed:.0f} %) in "
          f"{r.wall_s:.1f} s; slowest {r.slowest_s} s, median {r.median_s} s"
          + (f"; warm-up session {r.warmup_s:.1f} s" if r.warmup_s else ""), file=out)
    if r.rss_baseline_mb is not None:
        print(f"server RSS: cold {r.rss_cold_mb} MB, baseline {r.rss_baseline_mb} MB, "
              f"peak {r.rss_peak_mb} MB, after {r.rss_after_mb} MB "
              f"(after/baseline {r.after_vs_baseline}; target <= 1.2: "
              f"{'met' if r.memory_ok else 'NOT met'})", file=out)
    else:
        print("server RSS: unknown (give --pid, or run on the server's machine)", file=out)
    if r.hostile:
        print(f"hostile: {r.hostile} session(s) uploaded {r.hostile_submitted} configurations, "
              f"{r.hostile_refused} refused naming their limit; honest slowest {r.slowest_s} s "
              f"against {r.quiet_slowest_s} s on a quiet server (x{r.slowdown}; target < 2)",
              file=out)
    if r.health_p50_s is not None:
        print(f"health: p50 {1000 * r.health_p50_s:.0f} ms, p99 {1000 * r.health_p99_s:.0f} ms, "
              f"{r.health_failed} failed (target p99 < 1 s)", file=out)
    if r.store_rows is not None:
        print(f"store: {r.store_rows} rows written ({r.store_mb} MB of blobs) in {r.wall_s:.1f} s, "
              f"{r.store_rows_per_s} rows/s", file=out)
    for line in r.failures:
        print(f"  FAILED {line}", file=out)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10, help="concurrent sessions (default 10)")
    ap.add_argument("--url", help="attach to a running app instead of starting one")
    ap.add_argument("--pid", type=int, help="the server's process id when attaching (default: "
                                            "the process listening on the URL's port)")
    ap.add_argument("--quick", action="store_true",
                    help="short form for the test suite (about 2 minutes): no warm-up session, "
                         "tighter time bounds, a 5 s session TTL, short settling")
    ap.add_argument("--session-timeout", type=float, help="seconds per session (default 240, "
                                                          "quick 180)")
    ap.add_argument("--total-timeout", type=float, help="seconds for all sessions (default 300, "
                                                        "quick 200)")
    ap.add_argument("--session-ttl", type=float, default=None,
                    help="server.disconnectedSessionTTL in seconds: set on a server this script "
                         "starts (default: left as the app ships it, Streamlit's 120 s; quick: "
                         "5 s); when attaching, say the server's own (default 120)")
    ap.add_argument("--settle", type=float, help="most seconds to wait for memory to settle "
                                                 "(default 20, quick 3)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="measure the baseline on the cold server")
    ap.add_argument("--check-memory", action="store_true",
                    help="exit 1 when memory after is over 1.2 x baseline")
    ap.add_argument("--hostile", type=int, default=0,
                    help="hostile sessions uploading configurations built to exhaust the "
                         "server, alongside the honest ones; first the honest sessions run "
                         "alone, for the quiet reference (default 0)")
    ap.add_argument("--chromium", default=CHROMIUM, help=f"browser binary (default {CHROMIUM})")
    ap.add_argument("--json", type=Path, help="write the report as JSON here")
    ap.add_argument("--log", type=Path, help="server log file (started server only)")
    ap.add_argument("--artifacts", type=Path, help="save a screenshot of each failed session here")
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        ap.error(f"--sessions: between 1 and {MAX_SESSIONS}")
    quick = args.quick
    if quick:
        args.warmup = False
    if args.session_timeout is None:
        args.session_timeout = 180.0 if quick else 240.0
    if args.total_timeout is None:
        args.total_timeout = 200.0 if quick else 300.0
    if args.settle is None:
        args.settle = 3.0 if quick else 20.0
    args.set_ttl = args.session_ttl is not None or quick
    if args.session_ttl is None:
        args.session_ttl = 5.0 if quick and not args.url else STREAMLIT_SESSION_TTL
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not (Path(args.chromium).exists() or shutil.which(args.chromium)):
        print(f"load_sessions: Chromium not found at {args.chromium}", file=sys.stderr)
        return 2
    try:
        if args.url:
            url = args.url.rstrip("/")
            if not wait_healthy(url, time.monotonic() + 10):
                print(f"load_sessions: no healthy app at {url}", file=sys.stderr)
                return 2
            pid = args.pid or pid_listening_on(urlparse(url).port or 80)
            report = asyncio.run(drive(url, pid, args))
        else:
            with Server(args.session_ttl if args.set_ttl else None, args.log) as server:
                report = asyncio.run(drive(server.url, server.proc.pid, args,
                                           server.database_url))
    except RuntimeError as err:
        print(f"load_sessions: {err}", file=sys.stderr)
        return 2
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    ok = report.completed == report.sessions
    if args.hostile:
        ok = ok and report.hostile_refused == report.hostile_submitted > 0 \
            and report.health_failed == 0 and (report.health_p99_s or 0) < 1.0
    if args.check_memory:
        ok = ok and bool(report.memory_ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
