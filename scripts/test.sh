#!/usr/bin/env bash
# Set up what is missing (Chromium included), then run the whole suite: lint, unit + AppTest, browser tests, and the
# performance benchmark's quick mode as a smoke test (it prints figures; it does not fail on them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest tests/unit tests/app -n 2 -q "$@"
.venv/bin/python -m pytest tests/e2e -q "$@"
.venv/bin/python benchmarks/run.py --quick
