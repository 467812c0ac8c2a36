# Sourced by scripts/docker_smoke.sh and the helpers beside this file: one buildah store for all
# of them (vfs, rootful, no daemon) in a predictable place, kept between runs as a build cache.
# Override the place with CLUSTERMAP_BUILDAH_DIR.
BUILDAH_DIR="${CLUSTERMAP_BUILDAH_DIR:-/var/tmp/clustermap-buildah}"
BASE_IMAGE="docker.io/library/python:3.11-slim"   # what the Dockerfile's FROM line resolves to
IMAGE="${CLUSTERMAP_IMAGE:-localhost/clustermap:latest}"
STANDIN_LABEL="org.clustermap.stand-in"

BH=(buildah --root "$BUILDAH_DIR/storage" --runroot "$BUILDAH_DIR/run" --storage-driver vfs)
bh() { "${BH[@]}" "$@"; }

log() { echo "[docker-smoke] $*"; }
die() { echo "[docker-smoke] FAILED: $*" >&2; exit 1; }
