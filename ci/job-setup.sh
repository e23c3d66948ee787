#!/bin/sh
# Prepare a CI job: skopeo and syncer. A no-op in the job image built from ci/Dockerfile.
set -eu
if ! command -v skopeo >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends skopeo git ca-certificates >/dev/null
fi
if ! command -v syncer >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check .
fi
syncer --version
