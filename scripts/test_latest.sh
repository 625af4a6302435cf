#!/usr/bin/env bash
# Drift check (make test-latest, not part of CI): install halluscope with every extra WITHOUT the
# lock into .venv-latest, i.e. the newest releases pyproject.toml allows, and run the tests there.
# Only torch/torchvision stay at the releases this machine kind carries on disk
# (requirements/lock-constraints.txt). A failure here and not in `make test` is a release that
# breaks us: cap it in pyproject.toml with the reason, or port the code, then `make lock-upgrade`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null   # Debian packages
PY=${PYTHON:-python3}
V=.venv-latest
rm -rf "$V"
"$PY" -m venv "$V"
"$V/bin/python" -m pip install -q --upgrade pip
"$V/bin/python" -m pip install -q -c requirements/lock-constraints.txt -e ".[all,dev]"
"$V/bin/python" -m pip install -q --no-deps "groundingdino-py==0.4.0"
"$V/bin/python" -m halluscope.claims.wordnet >/dev/null
echo "test-latest: newer than the lock:"
"$V/bin/python" scripts/check_lock.py requirements.lock 2>&1 | sed 's/^check_lock: /  /' || true
exec "$V/bin/python" -m pytest -n 2 -q "$@"
