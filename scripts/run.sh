#!/usr/bin/env bash
# Set up what is missing, then serve the app (http://localhost:8501 unless --server.port says otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh app
exec .venv/bin/python -m streamlit run serve.py "$@"
