"""Small judge leftovers: the confidence scale a template declares, one warning per shared
judge, and the judge named in the console summary."""

from __future__ import annotations

import pytest

from halluscope.judges.parsers import PARSERS, parse_verdict_json, parse_verdict_json_percent


@pytest.mark.parametrize("given", ["4", "5", "10", "7", "90", "100"])
def test_a_rating_off_the_unit_scale_is_no_confidence_not_a_percentage(given):
    """`"confidence": 4` (a 1-5 or 1-10 rating) was read as 4% (0.04); the shipped template
    (judges/templates/verify_claim.txt) asks for a number from 0 to 1, so it is none given."""
    got = parse_verdict_json('{"verdict": "supported", "confidence": %s}' % given)
    assert got.ok and got.value == "supported" and got.confidence is None


def test_the_shipped_verify_template_declares_the_unit_scale():
    from pathlib import Path
    text = (Path(__file__).parent.parent / "judges/templates/verify_claim.txt").read_text()
    assert '"confidence": a number from 0 to 1' in text


@pytest.mark.parametrize("given,read", [
    ("90", 0.9), ("4", 0.04), ("100", 1.0), ("0", 0.0), ("37.5", 0.375), ("1", 0.01),
    ("0.7", None), ("101", None), ("-3", None), ("true", None)])
def test_a_percent_template_reads_percentages(given, read):
    """`verdict-json-percent` is for a template asking for 0 to 100: a fraction below 1 there
    (0.7: 0.7% or 70%?) is ambiguous and reads as none."""
    got = parse_verdict_json_percent('{"verdict": "hallucinated", "confidence": %s}' % given)
    assert got.ok and got.value == "hallucinated"
    assert got.confidence == (pytest.approx(read) if read is not None else None)
    assert PARSERS["verify"]["verdict-json-percent"] is parse_verdict_json_percent
