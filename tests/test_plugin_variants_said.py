"""The pytest plugin's summary says which variant each audit's metrics ran, as the CLI's
headline does. A gate on AMBER's ``original`` run without NLTK's tagger data (or on a CHAIR
audit against ground truth built by the other variant) passed with a number that is not the
original's, and nothing in the halluscope section said so: the CLI's headline says
``amber variant original (no en_core_web_lg similarity step; spaCy's tagger)``."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]

GATES = '''
import pytest

@pytest.mark.halluscope(metric="chair.chair_i", max_rate=0.5, chair_variant="original")
def test_passes(halluscope_audit):
    halluscope_audit.assert_below("chair.chair_s", 0.5)

@pytest.mark.halluscope(metric="chair.chair_i", max_rate=0.2, chair_variant="original")
def test_fails(halluscope_audit):
    pass
'''


def test_summary_and_report_name_the_variant_each_audit_ran(pytester, monkeypatch):
    monkeypatch.delenv("HALLUSCOPE_OFFLINE", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    captions = [{"image_id": 1, "caption": "A dog and a cat on the grass."},
                {"image_id": 2, "caption": "A man rides a horse."}]
    (pytester.path / "captions.jsonl").write_text(
        "".join(json.dumps(c) + "\n" for c in captions))
    (pytester.path / "gt.json").write_text(json.dumps({"1": ["dog"], "2": ["person", "horse"]}))
    pytester.makeini(textwrap.dedent("""
        [pytest]
        halluscope_outputs = captions.jsonl
        halluscope_gt_objects = gt.json
        halluscope_metrics = chair
        addopts = -p no:asyncio
    """))
    pytester.makepyfile(test_gate=GATES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--halluscope-report",
                                           "report.json")
    out = result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    assert "2 items, 0 problem(s) · chair variant original" in out, out
    assert "PASSED chair.chair_i = 0.2500, required <= 0.5000" in out
    assert "FAILED chair.chair_i = 0.2500, required <= 0.2000" in out
    audits = json.loads((pytester.path / "report.json").read_text())["audits"]
    assert [a["variants"] for a in audits] == ["chair variant original"]
