#!/usr/bin/env bash
# Set up everything syncer needs on Debian/Ubuntu: skopeo, the CNCF registry, git, and a
# virtual environment (.venv) with the package installed. With --test, also what the tests
# need (pytest & co., gitlab-ci-local). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=false
[ "${1:-}" = "--test" ] && for_tests=true

packages=(skopeo docker-registry git ca-certificates rsync openssl)
# containerd: the tests pull through the mirror with a real one (tests/test_mirrors.py)
$for_tests && packages+=(containerd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
sudo_or_empty=""
[ "$(id -u)" -eq 0 ] || sudo_or_empty="sudo"
if ((${#missing[@]})); then
  sudo="$sudo_or_empty"
  echo "ci/setup.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
if ! $for_tests; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  exit 0
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,keyless]'

# gitlab-ci-local runs our .gitlab-ci.yml jobs in tests (4.60.1: the last for Node 20).
if [ ! -x .tools/node_modules/.bin/gitlab-ci-local ]; then
  if ! command -v npm >/dev/null 2>&1; then
    $sudo_or_empty apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  npm install --silent --no-audit --no-fund --prefix .tools gitlab-ci-local@4.60.1 >/dev/null
fi
