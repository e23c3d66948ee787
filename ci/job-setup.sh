#!/bin/sh
# Prepare a CI job: skopeo and syncer. A no-op in the job image built from ci/Dockerfile.
#
# GitLab: source it (`. ci/job-setup.sh`) so that the job's later lines find `syncer`;
# GitHub Actions: run it (`sh ci/job-setup.sh`), it adds syncer to $GITHUB_PATH (the action,
# action.yml, runs it from its own checkout). syncer goes into its own virtual environment
# ($SYNCER_VENV, default .syncer-venv), so it works where pip refuses to touch the system Python
# (PEP 668, "externally-managed-environment"), and needs no root when skopeo is already
# installed. pip installs $SYNCER_INSTALL (words split: a path, a requirement such as
# syncer-mirror==0.2.0, options), default `.[keyless]`: this checkout, keyless rules included.
syncer_setup() {
  if ! command -v skopeo >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""
    elif command -v sudo >/dev/null 2>&1; then sudo="sudo"
    else echo "ci/job-setup.sh: skopeo is missing and there is no root to install it (apt-get install skopeo)" >&2; return 1
    fi
    $sudo apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      skopeo git ca-certificates python3-venv >/dev/null || return 1
  fi
  if ! command -v syncer >/dev/null 2>&1; then
    venv="${SYNCER_VENV:-$PWD/.syncer-venv}"
    if [ ! -x "$venv/bin/python" ]; then
      python3 -m venv "$venv" || {
        echo "ci/job-setup.sh: python3 -m venv failed (apt-get install python3-venv)" >&2
        return 1
      }
    fi
    # shellcheck disable=SC2086  # several words on purpose
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ${SYNCER_INSTALL:-".[keyless]"} || return 1
    PATH="$venv/bin:$PATH"
    export PATH
    if [ -n "${GITHUB_PATH:-}" ]; then echo "$venv/bin" >> "$GITHUB_PATH"; fi
  fi
  syncer --version
}
syncer_setup || { echo "ci/job-setup.sh: set-up failed" >&2; exit 1; }
