#!/usr/bin/env bash
# Build a release of syncer: the wheel in dist/ and its notes (dist/RELEASE-NOTES.md, the
# CHANGELOG.md section of the version). With a TAG (the release jobs pass the pushed tag), first
# check that it is exactly pyproject's version; always check that CHANGELOG.md has a section for
# the version and that the copies pinned in the pipeline files (the component's and the reusable
# workflows' `version` defaults) say the same. The wheel is built without network: the Python
# running this ($PYTHON, default python3) needs setuptools installed.
#   ci/release.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
fail() { echo "ci/release.sh: $*" >&2; exit 1; }

version=$(sed -n 's/^version = "\([^"]*\)".*/\1/p' pyproject.toml | head -n 1)
[ -n "$version" ] || fail "pyproject.toml: no version"
tag="${1:-}"
if [ -n "$tag" ] && [ "$tag" != "$version" ]; then
  fail "tag $tag is not pyproject.toml's version $version (tag the commit that has it, as X.Y.Z)"
fi
grep -q "^## $version\$" CHANGELOG.md || fail "CHANGELOG.md: no section '## $version'"
for pinned in templates/mirror/template.yml .github/workflows/syncer-*.yml; do
  # the `version:` input's default is the line after it that starts with `default:`
  found=$(awk '/^ *version:$/ {v=1; next} v && /default:/ {gsub(/[" ]/, "", $2); print $2; exit}' "$pinned")
  [ "$found" = "$version" ] || fail "$pinned: the version input defaults to '$found', not $version"
done

rm -rf dist build
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist . >/dev/null
awk -v v="## $version" '$0 == v {p=1; next} p && /^## / {exit} p' CHANGELOG.md > dist/RELEASE-NOTES.md
wheel=$(ls dist/*.whl)
echo "$wheel"
