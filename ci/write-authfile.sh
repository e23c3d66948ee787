#!/bin/sh
# Write the docker config.json from $REGISTRY_AUTH_JSON (a CI secret) to a private file and
# point syncer at it. Does nothing when the secret is empty. The secret never reaches argv.
set -eu
[ -n "${REGISTRY_AUTH_JSON:-}" ] || exit 0
dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
umask 077
printf '%s' "$REGISTRY_AUTH_JSON" > "$dir/syncer-auth.json"
if [ -n "${GITHUB_ENV:-}" ]; then
  echo "SYNCER_AUTHFILE=$dir/syncer-auth.json" >> "$GITHUB_ENV"
fi
