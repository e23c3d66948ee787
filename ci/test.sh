#!/usr/bin/env bash
# Set up, then run every check: lint, format, types, and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"
