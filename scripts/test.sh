#!/usr/bin/env bash
# Set up what is missing (Chromium included), then run the whole suite: lint, unit + AppTest, browser tests, and the
# quick modes of the performance and load benchmarks as smoke tests (they print figures; they do not fail on them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest tests/unit tests/app -n 2 -q "$@"
.venv/bin/python -m pytest tests/e2e -q "$@"
.venv/bin/python benchmarks/run.py --quick
.venv/bin/python benchmarks/load.py --quick  # many planners at once: smoke only, exits 1 only if the app breaks
