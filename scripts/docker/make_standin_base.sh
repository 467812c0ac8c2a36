#!/usr/bin/env bash
# Build a local stand-in for python:3.11-slim when Docker Hub cannot be reached, and tag it with
# that name so the unchanged Dockerfile builds on it.
#
# Debian bookworm (minbase) from the Debian mirror + Debian's python3 (3.11), python3-pip and
# python3-venv; `python` and `pip` on PATH like the real image; pip may install system-wide
# (the EXTERNALLY-MANAGED marker is removed, as in the real image where Python is not Debian's).
# The build host's extra certificate authorities (pip's `cert` setting or PIP_CERT) are added
# to the stand-in's trust store, and pip there is pointed at that store: without them pip inside
# the build cannot reach the package index through the host's TLS-inspecting proxy.
#
# Needs root, debootstrap and buildah. Usage: make_standin_base.sh   (env: CLUSTERMAP_DEBIAN_MIRROR)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

mirror="${CLUSTERMAP_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ] && grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then
  # The host's own Debian mirror (deb822 "URIs:" or one-line "deb" sources), else the public one.
  mirror="$( { sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p' /etc/apt/sources.list.d/*.sources
               sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' \
                 /etc/apt/sources.list /etc/apt/sources.list.d/*.list; } 2>/dev/null \
             | grep -v -- '-security' | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

# The host's CA bundle as pip sees it: PIP_CERT, else pip's `cert` setting, else Debian's default.
host_ca="${PIP_CERT:-}"
if [ -z "$host_ca" ]; then
  host_ca="$(python3 -m pip config list 2>/dev/null | sed -nE "s/^[a-z]+\.cert='(.*)'$/\1/p" | head -n1 || true)"
fi
host_ca="${host_ca:-/etc/ssl/certs/ca-certificates.crt}"

mkdir -p "$BUILDAH_DIR"
rootfs="$(mktemp -d "$BUILDAH_DIR/standin-rootfs.XXXXXX")"
ctr=""
cleanup() {
  [ -n "$ctr" ] && bh rm "$ctr" >/dev/null 2>&1 || true
  # debootstrap mounts /proc and /sys in the target: out of them before removing it.
  awk -v r="$rootfs/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$rootfs"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

log "stand-in base: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
  bookworm "$rootfs" "$mirror" >"$BUILDAH_DIR/debootstrap.log" 2>&1 \
  || { tail -n 30 "$BUILDAH_DIR/debootstrap.log" >&2; die "debootstrap failed (log: $BUILDAH_DIR/debootstrap.log)"; }

# python and pip on PATH under the names the real image uses.
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED

# Extra CAs: the certificates of the host's bundle that Debian's own bundle lacks.
if [ -r "$host_ca" ]; then
  n="$(python3 - "$host_ca" "$rootfs/etc/ssl/certs/ca-certificates.crt" \
        "$rootfs/usr/local/share/ca-certificates/build-host" <<'PY'
import os, re, sys
pem = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")
def certs(path):
    with open(path, encoding="ascii", errors="replace") as f:
        return ["".join(c.split()) for c in pem.findall(f.read())], path
host, _ = certs(sys.argv[1])
own = set(certs(sys.argv[2])[0]) if os.path.exists(sys.argv[2]) else set()
extra = [c for c in dict.fromkeys(host) if c not in own]
os.makedirs(sys.argv[3], exist_ok=True)
for i, c in enumerate(extra):
    body = c[len("-----BEGINCERTIFICATE-----"):-len("-----ENDCERTIFICATE-----")]
    lines = [body[j:j + 64] for j in range(0, len(body), 64)]
    with open(os.path.join(sys.argv[3], f"build-host-{i:03d}.crt"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n")
print(len(extra))
PY
)"
  log "stand-in base: trusting $n extra CA certificate(s) from $host_ca"
  chroot "$rootfs" /usr/sbin/update-ca-certificates >/dev/null 2>&1 \
    || die "update-ca-certificates failed in the stand-in root"
else
  log "stand-in base: no host CA bundle at $host_ca; using Debian's CAs only"
fi
cat >"$rootfs/etc/pip.conf" <<'CONF'
# Stand-in for python:3.11-slim (see scripts/docker/make_standin_base.sh).
[global]
cert = /etc/ssl/certs/ca-certificates.crt
break-system-packages = true
CONF

# Leave no package caches behind (as the real slim image).
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
  "$rootfs"/tmp/* "$rootfs"/root/.cache

ctr="$(bh from scratch)"
mnt="$(bh mount "$ctr")"
tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
bh umount "$ctr" >/dev/null
bh config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 \
  --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
  --env REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
  --cmd python3 \
  --label "$STANDIN_LABEL=debootstrap bookworm minbase + Debian python3 $(chroot "$rootfs" python3 -c 'import platform; print(platform.python_version())')" \
  "$ctr"
bh commit --quiet --format docker "$ctr" "$BASE_IMAGE" >/dev/null
log "stand-in base: committed as $BASE_IMAGE"
