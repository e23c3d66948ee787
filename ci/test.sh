#!/usr/bin/env bash
# Set up, then run every check: lint, format, types, and the test suite with branch coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Branch coverage of syncer/, the `python -m syncer` subprocesses included ([tool.coverage] in
# pyproject.toml: patch = ["subprocess"]). pytest-cov combines every process's data file into
# .coverage; the report is printed, not held to a threshold. It is printed when tests fail too.
rm -f .coverage .coverage.*  # no report from an earlier run
status=0
.venv/bin/pytest --cov --cov-report= "$@" || status=$?
if [ -f .coverage ]; then
  .venv/bin/coverage report
  .venv/bin/coverage json -q -o - | .venv/bin/python -c '
import json, sys
totals = json.load(sys.stdin)["totals"]
taken, branches, both = totals["covered_branches"], totals["num_branches"], totals["percent_covered"]
print(f"branch coverage: {100 * taken / max(branches, 1):.1f}% ({taken} of {branches} branches"
      f" taken); statements and branches together (the TOTAL row): {both:.1f}%")
'
fi
exit "$status"
