#!/usr/bin/env bash
# Set up halluscope on a fresh Debian machine: Debian packages, a virtual environment in .venv,
# the package with every extra, and NLTK's WordNet. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: WordNet for NLTK (claims), tesseract as the alternative OCR engine.
DEBS=(wordnet-base wordnet-sense-index tesseract-ocr tesseract-ocr-eng)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv

# Reinstall only when the lock, the project's requirements or this script change.
stamp=.venv/.halluscope-setup
want=$(cat pyproject.toml requirements.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing halluscope and its locked dependencies into .venv"
    .venv/bin/python -m pip install -q "pip==26.3"
    # A lock that names a path or URL (or the project itself) binds to one machine: refuse it here.
    .venv/bin/python scripts/check_lock.py --lint requirements.lock
    # Every package comes at the version requirements.lock pins (scripts/lock.sh writes it; torch
    # and torchvision there are the releases this machine kind carries on local disk). The lock
    # is a constraints file: the project's own requirements decide what is installed, the lock
    # decides which version.
    .venv/bin/python -m pip install -q -c requirements.lock -e ".[all,dev,hf-datasets,wandb,mlflow]"
    # The original GroundingDINO code, without its conflicting pins (see pyproject's gdino extra).
    .venv/bin/python -m pip install -q --no-deps "groundingdino-py==0.4.0"
    # Fail here, not in a test, when anything installed differs from the lock.
    .venv/bin/python scripts/check_lock.py requirements.lock
    echo "$want" > "$stamp"
fi

# yapf (GroundingDINO's config code) pickles its grammar into the user cache on first import;
# two test workers importing it at once on a fresh machine read a half-written pickle
# (EOFError). Import it once here, before any test runs.
.venv/bin/python -c "import yapf.yapflib.yapf_api" >/dev/null

# NLTK WordNet from the Debian files (NLTK refuses symlinks; it needs a copy and a lexnames file).
.venv/bin/python -m halluscope.claims.wordnet >/dev/null
