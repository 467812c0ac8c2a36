#!/usr/bin/env bash
# Start the clustermap workbench on http://localhost:8501 (installs what it needs into .venv first).
# Extra arguments go to `streamlit run`, e.g. scripts/app.sh --server.port 8600
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" requirements.txt
exec .venv/bin/python -m streamlit run app.py "$@"
