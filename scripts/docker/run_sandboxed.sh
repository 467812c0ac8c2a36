#!/usr/bin/env bash
# Start an image's own command (Entrypoint + Cmd, its user, working folder and environment) with
# buildah, check it, stop it. Meant to run inside `unshare --net` (see scripts/docker_smoke.sh):
# brings up loopback, proves that nothing outside is reachable, then
#   1. waits for GET /_stcore/health == "ok" on the image's port (from this namespace, like a
#      browser going through `docker run -p`),
#   2. fetches / and checks for the Streamlit page shell (<title>, <div id="root">),
#   3. runs the image's HEALTHCHECK command inside the container,
#   4. runs app.py once inside the container with Streamlit's AppTest (the app script itself,
#      which GET / does not execute) and checks it raised nothing,
#   5. stops the server (SIGTERM to its process group),
#   6. runs the scaled deployment's other two roles from the same image (README, "Scale out"):
#      `dask scheduler` and one `dask worker ... --preload clustering.preload`, points the app at
#      them with CLUSTERMAP_DASK_SCHEDULER, trains a SOM through the app (AppTest) and checks the
#      job ran on that worker; then stops them and removes the working container.
# Usage: run_sandboxed.sh IMAGE
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"
IMAGE="$1"
WAIT_S="${CLUSTERMAP_HEALTH_WAIT:-240}"
LOG="$BUILDAH_DIR/logs/run.log"

ip link set lo up
python3 - <<'PY' || die "the sandbox is not offline"
import socket
for host, port in (("1.1.1.1", 53), ("151.101.0.223", 443), ("pypi.org", 443)):
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        continue
    raise SystemExit(f"reached {host}:{port}")
PY
log "network: loopback only (outside addresses unreachable)"

# The image's configuration: its command, port and health check.
eval "$(bh inspect --type image "$IMAGE" | python3 -c '
import json, shlex, sys
cfg = json.load(sys.stdin)["Docker"]["config"]
argv = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
ports = sorted(int(p.split("/")[0]) for p in (cfg.get("ExposedPorts") or {}))
test = (cfg.get("Healthcheck") or {}).get("Test") or []
if test[:1] == ["CMD"]:
    hc = test[1:]
elif test[:1] == ["CMD-SHELL"]:
    hc = ["/bin/sh", "-c", test[1]]
else:
    hc = []
print("argv=(" + " ".join(map(shlex.quote, argv)) + ")")
print("hc=(" + " ".join(map(shlex.quote, hc)) + ")")
print("port=" + str(ports[0] if ports else ""))
print("user=" + shlex.quote(cfg.get("User") or "root"))
')"
[ ${#argv[@]} -gt 0 ] || die "the image has no Entrypoint/Cmd"
[ -n "$port" ] || die "the image exposes no port"
[ ${#hc[@]} -gt 0 ] || die "the image has no HEALTHCHECK (built without --format docker?)"

ctr=""
pgid=""
role_pgids=()
mnt=""
dns_pid=""
stop_server() {
  [ -n "$pgid" ] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  wait "$pgid" 2>/dev/null || true
  pgid=""
  sweep_container
}
sweep_container() {
  # Anything still running from the container's root (left its process group, e.g. the
  # embedded Dask scheduler of an in-container AppTest run) goes too.
  if [ -n "$mnt" ]; then
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$mnt" ] && kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
  fi
}
stop_roles() {
  local g
  for g in "${role_pgids[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  sleep 2
  for g in "${role_pgids[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
  role_pgids=()
}
cleanup() {
  stop_roles
  stop_server
  sweep_container
  [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
  [ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT

ctr="$(bh from --pull=never --quiet "$IMAGE")"
mnt="$(bh mount "$ctr")"

# Every name the container looks up is recorded: its nameservers become local addresses here,
# answered by dns_recorder.py (which refuses them all).
mapfile -t ns < <(bh run --isolation chroot "$ctr" -- cat /etc/resolv.conf \
  | sed -nE 's/^nameserver[[:space:]]+([0-9.]+)[[:space:]]*$/\1/p')
[ ${#ns[@]} -gt 0 ] || die "the container has no IPv4 nameserver to watch"
for a in "${ns[@]}"; do
  case "$a" in 127.*) ;; *) ip addr add "$a/32" dev lo ;; esac
done
QUERIES="$BUILDAH_DIR/logs/dns-queries.log"
: >"$QUERIES"
coproc DNS { exec python3 "$HERE/dns_recorder.py" "$QUERIES" "${ns[@]}" 2>&1; }
dns_pid=$DNS_PID
read -r -t 10 ready <&"${DNS[0]}" && [ "$ready" = ready ] || die "the DNS recorder did not start"
log "recording DNS lookups sent to ${ns[*]}"
log "starting the image's command as user $user: ${argv[*]}"
setsid "${BH[@]}" run --isolation chroot "$ctr" -- "${argv[@]}" >"$LOG" 2>&1 &
pgid=$!

fail() { echo "----- server log (last 40 lines) -----" >&2; tail -n 40 "$LOG" >&2; die "$*"; }

python3 - "$port" "$WAIT_S" "$pgid" <<'PY' || fail "no healthy server on port $port"
import os, sys, time, urllib.request
port, wait_s, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
t0 = time.monotonic()
while time.monotonic() - t0 < wait_s:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit("the server exited")
    try:
        body = opener.open(f"http://127.0.0.1:{port}/_stcore/health", timeout=3).read()
        if body.strip() == b"ok":
            print(f"[docker-smoke] /_stcore/health == ok after {time.monotonic() - t0:.1f} s")
            sys.exit(0)
    except OSError:
        pass
    time.sleep(1)
sys.exit(f"not healthy within {wait_s:.0f} s")
PY

python3 - "$port" <<'PY' || fail "GET / is not the Streamlit page"
import re, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(f"http://127.0.0.1:{sys.argv[1]}/", timeout=10) as r:
    status, html = r.status, r.read().decode("utf-8", "replace")
title = re.search(r"<title>(.*?)</title>", html, re.S)
assert status == 200, status
assert title, "no <title>"
assert '<div id="root">' in html, 'no <div id="root">'
print(f"[docker-smoke] GET / -> {status}, {len(html)} bytes, <title>{title.group(1).strip()}</title>, <div id=\"root\">")
PY

bh run --isolation chroot "$ctr" -- "${hc[@]}" || fail "the image's HEALTHCHECK failed: ${hc[*]}"
log "HEALTHCHECK (${hc[*]}) passed inside the container"

uid="$(bh run --isolation chroot "$ctr" -- python -c 'import os; print(os.getuid())')"
[ "$uid" != 0 ] || fail "the app runs as root"
log "runs as uid $uid"

bh run --isolation chroot "$ctr" -- python - <<'PY' 2>"$BUILDAH_DIR/logs/apptest.log" \
  || { cat "$BUILDAH_DIR/logs/apptest.log" >&2; fail "app.py does not run inside the image"; }
import time
from streamlit.testing.v1 import AppTest
t0 = time.monotonic()
at = AppTest.from_file("app.py", default_timeout=180).run()
errors = [e.value for e in at.exception] + [e.value for e in at.error]
assert not errors, errors
print(f"[docker-smoke] app.py ran inside the image in {time.monotonic() - t0:.1f} s, "
      f"{len(at.markdown)} markdown blocks, no exception")
import os
from ui import workspace
db = os.path.join(os.environ["CLUSTERMAP_DATA_DIR"], "clustermap.db")
assert os.path.getsize(db) > 0, db
print(f"[docker-smoke] the workspace store is {db} (the image's volume), "
      f"{len(workspace.store().runs(at.session_state['cm_workspace'].token))} runs")
PY

stop_server
if grep -q "Traceback" "$LOG"; then fail "the server log holds a traceback"; fi
log "server stopped; log: $LOG"
if [ -s "$QUERIES" ]; then
  die "the container looked up $(sort -u "$QUERIES" | paste -sd, -): it must need no network at run time"
fi
log "no DNS lookup: the container asked for nothing outside"

# --- the scheduler and worker roles --------------------------------------------------------------
SCHED="tcp://127.0.0.1:8786"
setsid "${BH[@]}" run --isolation chroot "$ctr" -- dask scheduler --no-dashboard \
  >"$BUILDAH_DIR/logs/scheduler.log" 2>&1 &
role_pgids+=($!)
setsid "${BH[@]}" run --isolation chroot "$ctr" -- dask worker "$SCHED" --nthreads 1 \
  --memory-limit 3GB --preload clustering.preload --name role-worker --no-dashboard \
  >"$BUILDAH_DIR/logs/worker.log" 2>&1 &
role_pgids+=($!)
log "started the image's scheduler and worker roles (dask scheduler; dask worker $SCHED --preload clustering.preload)"
bh run --isolation chroot "$ctr" -- env CLUSTERMAP_DASK_SCHEDULER="$SCHED" python - \
  <<'PY' 2>"$BUILDAH_DIR/logs/roles.log" \
  || { cat "$BUILDAH_DIR/logs/roles.log" >&2; tail -n 20 "$BUILDAH_DIR/logs/worker.log" >&2; die "the web role did not train on the worker role"; }
import time
import distributed
from streamlit.testing.v1 import AppTest

t0 = time.monotonic()
deadline = t0 + 240
while True:
    try:
        probe = distributed.Client("tcp://127.0.0.1:8786", timeout=5)
        break
    except OSError:
        assert time.monotonic() < deadline, "the scheduler role did not start"
        time.sleep(1)
probe.wait_for_workers(1, timeout=240)
workers = {w["name"]: a for a, w in probe.scheduler_info(n_workers=-1)["workers"].items()}
probe.close()
ready = time.monotonic() - t0

at = AppTest.from_file("app.py", default_timeout=180).run()
at.switch_page("pages/data.py").run()
at.radio(key="data_source").set_value("Generate").run()
at.selectbox(key="gen_name").set_value("blobs").run()
at.number_input(key="gen_blobs_n_samples").set_value(120)
at.button(key="gen_button").click().run()
at.switch_page("pages/som.py").run()
for key, value in (("som_rows", 4), ("som_cols", 4), ("som_n_steps", 200)):
    at.number_input(key=key).set_value(value)
at.run()
at.button(key="som_train").click().run()
job = at.session_state["cm_job"]
assert job.wait(240), "the training did not finish"
at.run()
errors = [e.value for e in at.exception] + [e.value for e in at.error]
assert not errors, errors
assert job.error is None, job.error
assert job.worker == workers["role-worker"], (job.worker, workers)
result = at.session_state["cm_results"]["som"]
assert len(set(result.labels.tolist())) >= 2, result.labels
print(f"[docker-smoke] roles: worker ready after {ready:.1f} s; the web role trained a SOM on "
      f"the worker role {job.worker} ({len(result.labels)} objects)")
PY
stop_roles
if grep -q "Traceback" "$BUILDAH_DIR/logs/worker.log"; then
  tail -n 30 "$BUILDAH_DIR/logs/worker.log" >&2; die "the worker role's log holds a traceback"
fi

