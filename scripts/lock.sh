#!/usr/bin/env bash
# Regenerate requirements.lock: every package of every extra the set-up installs, pinned.
# Usage: scripts/lock.sh [--upgrade | --upgrade-package NAME ...]   (make lock / make lock-upgrade)
# Without --upgrade, pins already in the lock are kept and only new requirements are resolved.
# Review the diff and run `make test` before committing a new lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-lock/bin/pip-compile ] || { "$PY" -m venv .venv-lock && .venv-lock/bin/python -m pip install -q "pip-tools>=7.4"; }
.venv-lock/bin/pip-compile --quiet --strip-extras --extra all --extra dev \
    --no-emit-index-url --no-emit-find-links \
    --constraint requirements/lock-constraints.txt \
    --output-file requirements.lock "$@" pyproject.toml
echo "lock: wrote requirements.lock ($(grep -c '^[A-Za-z]' requirements.lock) packages)"
