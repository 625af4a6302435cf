#!/usr/bin/env bash
# Regenerate requirements.lock: every package of every extra the set-up installs, pinned.
# Usage: scripts/lock.sh [--upgrade | --upgrade-package NAME ...]   (make lock / make lock-upgrade)
# Without --upgrade, pins already in the lock are kept and only new requirements are resolved.
# Review the diff and run `make test` before committing a new lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-lock/bin/pip-compile ] || { "$PY" -m venv .venv-lock && .venv-lock/bin/python -m pip install -q "pip-tools>=7.4"; }
.venv-lock/bin/pip-compile --quiet --strip-extras --extra all --extra dev --extra hf-datasets --extra wandb --extra mlflow \
    --no-emit-index-url --no-emit-find-links \
    --constraint requirements/lock-constraints.txt \
    --output-file requirements.lock "$@" pyproject.toml
# The `all` extra names halluscope's own extras, so pip-compile pins the project itself to this
# checkout's path ("halluscope @ file:///..."): a constraint that no other clone can satisfy (CI
# failed on it with ResolutionImpossible). The project is never part of its own lock.
"$PY" - <<'PYEOF'
import re
from pathlib import Path
lock = Path("requirements.lock")
out, skip = [], False
for line in lock.read_text(encoding="utf-8").splitlines():
    if re.match(r"^halluscope\b", line):
        skip = True
        continue
    if skip and line.startswith("    #"):
        continue
    skip = False
    out.append(line)
lock.write_text("\n".join(out) + "\n", encoding="utf-8")
PYEOF
.venv-lock/bin/python scripts/check_lock.py --lint requirements.lock
echo "lock: wrote requirements.lock ($(grep -c '^[A-Za-z]' requirements.lock) packages)"
