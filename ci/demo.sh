#!/usr/bin/env bash
# Set up, then run the main job offline against local registries (see testing/demo.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
.venv/bin/python -m testing.demo "$@"
