"""The demo's Docker image (issue 5): the Dockerfile's promises, its helper scripts, and a real
build-and-run of the image (scripts/docker_smoke.sh: buildah without a daemon, offline run), with
the web, scheduler and worker roles of a scaled deployment started from it.

The smoke test needs root (rootful buildah, a network namespace); where buildah is missing it is
installed with apt-get (scripts/test.sh does that up front), otherwise the test is skipped with
the reason. A first run takes a few minutes (base image, ~700 MB of wheels); later runs reuse the
layers cached in /var/tmp/clustermap-buildah and take about a minute or two.
"""
from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
SMOKE_TIMEOUT_S = 1800

sys.path.insert(0, str(ROOT / "scripts" / "docker"))
import dns_recorder  # noqa: E402


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def test_dockerfile_layout():
    steps = instructions()
    keywords = [k for k, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    # Dependencies in their own layer, before the code: code edits keep the pip layer cached.
    copy_req = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and "requirements.txt" in a)
    pip = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install" in a)
    copy_code = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and a.startswith(". "))
    assert copy_req < pip < copy_code
    user = [a for k, a in steps if k == "USER"]
    assert user and user[-1] not in {"root", "0"}
    assert keywords.index("USER") < copy_code
    assert ("EXPOSE", "8501 8786") in steps  # the web server; a scheduler role's port
    env = " ".join(a for k, a in steps if k == "ENV")
    # the worker role imports the backend; the scheduler role never retries a dead worker's job
    assert "PYTHONPATH=/app" in env and "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0" in env
    assert "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE=False" in env
    # the workspaces live on a volume, after the dependency layer (which stays cached)
    assert "CLUSTERMAP_DATA_DIR=/data" in env and ("VOLUME", '["/data"]') in steps
    assert keywords.index("VOLUME") > pip
    health = next(a for k, a in steps if k == "HEALTHCHECK")
    assert "curl" not in health and "python" in health
    cmd = next(a for k, a in steps if k == "CMD")
    assert '"streamlit", "run", "app.py"' in cmd
    assert "--server.address=0.0.0.0" in cmd and "--server.headless=true" in cmd


def test_dockerignore_keeps_tests_caches_and_venvs_out():
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".venv", "tests", "**/__pycache__", ".pytest_cache", ".hypothesis",
                   "test-artifacts"):
        assert needed in patterns, needed
    # What the running app needs must not be ignored.
    for kept in ("app.py", "pages", "ui", "clustering", "data", "scripts", ".streamlit",
                 "requirements.txt"):
        assert kept not in patterns, kept


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b"ok"

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/_stcore/health" else 404)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def _healthcheck(port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "STREAMLIT_SERVER_PORT": str(port)}
    return subprocess.run([sys.executable, str(ROOT / "scripts/docker/healthcheck.py")],
                          env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("body, healthy", [(b"ok", True), (b"starting", False)])
def test_healthcheck_script(body, healthy):
    handler = type("H", (_Handler,), {"body": body})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _healthcheck(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy, result.stderr


def test_healthcheck_script_nothing_listening():
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = _healthcheck(port)
    assert result.returncode == 1
    assert "unhealthy" in result.stderr


def test_dns_recorder_reads_the_name_and_refuses():
    # A standard query for checkip.amazonaws.com, type A, class IN, recursion desired.
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p for p in (b"checkip", b"amazonaws", b"com")) + b"\0"
    query += struct.pack("!HH", 1, 1)
    assert dns_recorder.question_name(query) == "checkip.amazonaws.com"
    reply = dns_recorder.refused(query)
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    assert ident == 0x1234 and qd == 1 and an == ns == ar == 0
    assert flags & 0x8000 and flags & 0x0100  # a response, recursion desired kept
    assert flags & 0xF == 5  # REFUSED
    assert reply[12:] == query[12:]


@pytest.mark.slow
def test_image_builds_and_serves_the_app_offline():
    if os.geteuid() != 0:
        if shutil.which("buildah") is None:
            pytest.skip("buildah is absent and cannot be installed (not root)")
        pytest.skip("the image smoke test needs root (rootful buildah, network namespace)")
    if shutil.which("buildah") is None and shutil.which("apt-get") is None:
        pytest.skip("buildah is absent and cannot be installed (no apt-get)")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts/docker_smoke.sh")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the scripts' traps stop the server and remove their containers.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        pytest.fail(f"smoke test ran past {SMOKE_TIMEOUT_S} s:\n{output[-5000:]}")
    print(output)
    tail = "\n".join(output.splitlines()[-60:])
    assert proc.returncode == 0, tail
    assert re.search(r"PASSED in \d+ s \(build \d+ s, image size [\d.]+ [kMG]?B\)", output), tail
    for step in ("/_stcore/health == ok", "GET / -> 200", "HEALTHCHECK", "no DNS lookup",
                 "trained a SOM on the worker role", "the workspace store is /data/"):
        assert step in output, step


def test_shipped_streamlit_settings_are_the_production_ones():
    """`.streamlit/config.toml` is what the image and `scripts/app.sh` run with."""
    import tomllib

    conf = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert conf["client"]["showErrorDetails"] == "none"  # messages, never tracebacks
    assert conf["server"]["maxUploadSize"] == 50
    assert conf["server"]["fileWatcherType"] == "none"
    assert conf["server"]["headless"] is True
    assert conf["browser"]["gatherUsageStats"] is False
