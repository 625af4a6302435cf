"""Importing halluscope, its CLI and its pytest plugin loads nothing heavy; NLTK comes without
SciPy/scikit-learn; the CHAIR tokenizer does not drag them in. Checked in fresh interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("nltk", "scipy", "sklearn", "matplotlib", "spacy", "torch", "transformers", "cv2",
         "pandas")


def loaded_after(code: str) -> set[str]:
    """Top-level packages from ``HEAVY`` in ``sys.modules`` after running ``code``."""
    probe = (code + "\nimport json, sys\n"
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", ["halluscope", "halluscope.cli", "halluscope.pytest_plugin",
                                    "halluscope.pipeline", "halluscope.metrics.chair"])
def test_import_loads_nothing_heavy(module):
    assert loaded_after(f"import {module}") == set()


def test_cli_help_loads_nothing_heavy():
    code = ("import sys\nfrom halluscope.cli import main\nsys.argv = ['halluscope', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert loaded_after(code) == set()


def test_chair_tokenizer_needs_nltk_only():
    code = ("from halluscope.metrics.chair_text import word_tokenizer\n"
            "assert word_tokenizer()('a dog. a cat.') == ['a', 'dog', '.', 'a', 'cat', '.']")
    assert loaded_after(code) == {"nltk"}


def test_nltk_features_that_need_scipy_still_work():
    """The names NLTK could not import while SciPy/scikit-learn were hidden resolve on use."""
    pytest.importorskip("scipy")
    code = ("from halluscope._nltk import import_nltk\nimport_nltk()\n"
            "from nltk.metrics import association\n"
            "assert association.fisher_exact([[8, 2], [1, 5]])[1] < 0.05\n"
            "from nltk.parse import transitionparser\n"
            "assert transitionparser.sparse.csr_matrix is not None")
    assert {"nltk", "scipy"} <= loaded_after(code)


def test_the_claim_splitter_loads_spacy_without_torch_and_torch_still_imports():
    pytest.importorskip("spacy")
    split = ("from halluscope.claims.splitter import split_claims\n"
             "assert [c.subject for c in split_claims('A dog on a sofa.')][:1] == ['dog']\n")
    assert "torch" not in loaded_after(split)
    pytest.importorskip("torch")
    later = split + ("import torch, thinc.compat\n"
                     "assert torch.ones(2).sum().item() == 2 and not thinc.compat.has_torch")
    assert {"spacy", "torch"} <= loaded_after(later)
    first = ("import torch\n" + split + "import thinc.compat\n"   # torch already there: kept
             "assert thinc.compat.has_torch")
    assert {"spacy", "torch"} <= loaded_after(first)
