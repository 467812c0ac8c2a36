#!/usr/bin/env bash
# Smoke test of the demo image, for real and without a Docker engine: build the image from the
# Dockerfile with buildah (rootful, chroot isolation, vfs storage: no daemon, no kernel overlay),
# start the image's own command with the network cut off, wait for the health endpoint, fetch the
# app's page, run the image's HEALTHCHECK and the app script inside the image, stop it. Exits
# non-zero on any failure.
#
#   sudo bash scripts/docker_smoke.sh            # build (cached) + run
#   sudo bash scripts/docker_smoke.sh --no-cache # rebuild every layer (the base image is kept)
#
# When python:3.11-slim cannot be pulled (no Docker Hub), a stand-in is built from Debian's
# packages and tagged with that name (scripts/docker/make_standin_base.sh), so the unchanged
# Dockerfile builds. Storage: /var/tmp/clustermap-buildah (CLUSTERMAP_BUILDAH_DIR), kept between
# runs so that a second run only rebuilds what changed; remove that folder to start cold.
# CLUSTERMAP_STANDIN=1 builds the stand-in without trying Docker Hub first.
# Missing tools (buildah, debootstrap, iproute2) are installed with apt-get.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/docker/common.sh
trap 'exit 143' TERM INT   # so that the helpers' EXIT traps clean up on a kill too

no_cache=()
for arg in "$@"; do
  case "$arg" in
    --no-cache) no_cache=(--no-cache) ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (see --help)" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "needs root (buildah without a daemon, chroot isolation, network namespace)"

# --- tools ---------------------------------------------------------------------------------------
missing=()
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$BUILDAH_DIR/logs"
# One run at a time per store (a second one waits): runs share the image name and the logs.
exec 9>"$BUILDAH_DIR/lock"
flock -w "${CLUSTERMAP_LOCK_WAIT:-1800}" 9 || die "another smoke test holds $BUILDAH_DIR/lock"
SECONDS=0

# --- base image ----------------------------------------------------------------------------------
if bh inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  if bh inspect --type image "$BASE_IMAGE" | grep -q "\"$STANDIN_LABEL\""; then
    log "base: $BASE_IMAGE (local stand-in, cached)"
  else
    log "base: $BASE_IMAGE (cached)"
  fi
elif [ "${CLUSTERMAP_STANDIN:-0}" != 1 ] \
     && timeout "${CLUSTERMAP_PULL_TIMEOUT:-90}" "${BH[@]}" pull --quiet "$BASE_IMAGE" \
          >"$BUILDAH_DIR/logs/pull.log" 2>&1; then
  log "base: pulled $BASE_IMAGE"
else
  [ "${CLUSTERMAP_STANDIN:-0}" = 1 ] || log "base: cannot pull $BASE_IMAGE ($(tail -n1 "$BUILDAH_DIR/logs/pull.log" | cut -c1-160))"
  t0=$SECONDS
  bash scripts/docker/make_standin_base.sh
  log "base: stand-in built in $((SECONDS - t0)) s"
fi

# --- build ---------------------------------------------------------------------------------------
t0=$SECONDS
log "building $IMAGE from Dockerfile (log: $BUILDAH_DIR/logs/build.log)"
set +e
bh bud --isolation chroot --layers --force-rm --format docker --pull=never "${no_cache[@]}" \
  -f Dockerfile -t "$IMAGE" . 2>&1 | tee "$BUILDAH_DIR/logs/build.log" \
  | grep --line-buffered -E '^(STEP [0-9]+/[0-9]+: [A-Z]+|Successfully tagged|Error)' | cut -c1-100
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { tail -n 40 "$BUILDAH_DIR/logs/build.log" >&2; die "image build failed (exit $rc)"; }
build_s=$((SECONDS - t0))
# Drop what earlier builds left behind (their untagged images); the current chain stays as cache.
bh rmi --prune >/dev/null 2>&1 || true
size="$(bh images --format '{{.Size}}' "$IMAGE" | head -n1)"
log "built $IMAGE in ${build_s} s; image size $size"

# --- run, offline --------------------------------------------------------------------------------
# A fresh network namespace with only the loopback device: the container can reach nothing
# outside, and port 8501 cannot clash with anything running on the host.
unshare --net -- bash scripts/docker/run_sandboxed.sh "$IMAGE"

log "PASSED in ${SECONDS} s (build ${build_s} s, image size $size)"
