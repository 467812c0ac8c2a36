#!/usr/bin/env bash
# Install everything the tests need (Python packages into .venv; Debian's chromium for the browser
# tests when run as root) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" requirements-dev.txt

# System packages for the end-to-end tests (headless browser), installed once.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The Docker image smoke test (scripts/docker_smoke.sh): daemonless buildah, debootstrap for the
# stand-in base image, iproute2 for its offline network namespace.
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# The workspace store's PostgreSQL tests: tests/test_store.py starts its own throwaway server
# with the server package's initdb and pg_ctl (postgresql-client has the folder, not these).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[clustermap] installing Debian packages: ${need[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts the package's own cluster where it can; the tests do not use it.
    if [[ " ${need[*]} " == *" postgresql "* ]] && command -v service >/dev/null 2>&1; then
      service postgresql stop >/dev/null 2>&1 || true
    fi
  else
    echo "[clustermap] missing ${need[*]} and not root: the tests that need them will report it" >&2
  fi
fi

# The message catalogs compile (a syntax error in a translation fails here, before the tests;
# tests/test_i18n.py checks that every message has a translation).
for po in locales/*/LC_MESSAGES/clustermap.po; do
  .venv/bin/pybabel compile --use-fuzzy -i "$po" -o /dev/null -l "$(basename "$(dirname "$(dirname "$po")")")" >/dev/null
done

export KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
# The whole suite runs on TensorFlow (the default backend); a plain run (no pytest arguments)
# then runs the neural estimator's tests again on JAX, the second Keras backend
# (clustering/training/): the backend is fixed when Keras is imported, hence a second process.
if [ $rc -eq 0 ] && [ $# -eq 0 ]; then
  echo "[clustermap] the neural tests on the JAX backend"
  KERAS_BACKEND=jax .venv/bin/python -m pytest -q tests/test_neural.py tests/test_kernel_registry.py
  rc=$?
fi
set -e
# pytest: 0 all passed, 1 some failed, 2 interrupted, 3 internal error, 4 usage error,
# 5 no test collected. Every non-zero code is a failure here, 5 included: a run that tests
# nothing must not pass.
case $rc in
  0) echo "[clustermap] all tests passed" ;;
  5) echo "[clustermap] pytest collected no test: treating as failure" >&2 ;;
  *) echo "[clustermap] pytest exited with $rc" >&2 ;;
esac
exit $rc
