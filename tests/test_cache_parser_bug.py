"""A bug in halluscope's own reading of an evidence-cache entry (or anywhere else in its own
evidence sources) is an internal error: ``halluscope audit`` exits 3 saying so. It was caught
by the per-source catch-all (facts_of) and listed as a bad record ("the evidence source ...
failed on 0.png: KeyError ..."), and an audit of such records exited 2, as if the input were
at fault; nor is it a cache miss that quietly runs the detector again."""

from __future__ import annotations

import sys

import pytest

from halluscope import cli
from halluscope.evidence import detector_facts
from halluscope.records import record_from_dict
from halluscope.types import Claim
from tests.tiny_detectors import isolated_cache, owl_folder  # noqa: F401
from tests.tiny_detectors import captioned_photos as _photos


def _main(monkeypatch, capsys, args: list) -> tuple[int, str]:
    """``halluscope <args>`` through the console script's entry point: its exit code and
    stderr."""
    monkeypatch.setattr(sys, "argv", ["halluscope", *map(str, args)])
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv(cli.ENV_DEBUG, raising=False)
    with pytest.raises(SystemExit) as exc:
        cli.main()
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize("kind", [KeyError, TypeError])
def test_a_bug_reading_a_cached_detection_exits_3(tmp_path, monkeypatch, capsys, owl_folder,
                                                  kind):
    """The first audit fills the detections cache; in the second, halluscope's reader of those
    entries raises: exit 3, "internal error" naming the exception, no results.json, and the
    detector is not run again in its place."""
    path = _photos(tmp_path, 2)
    common = ["audit", path, "--metric", "claims", "--detector", f"hf:{owl_folder}",
              "--cache-dir", tmp_path / "cache", "--bootstrap", "0", "--workers", "1",
              "--no-report", "--quiet"]
    code, err = _main(monkeypatch, capsys, [*common, "--out", tmp_path / "warm"])
    assert code == 0, err
    assert list((tmp_path / "cache" / "detections").rglob("*.json"))

    def broken(hit):
        raise kind("a bug in halluscope's reader")
    monkeypatch.setattr(detector_facts, "_cached_detections", broken)
    passes = []
    real = detector_facts.DetectorFacts.detect

    def counted(self, *a, **kw):
        passes.append(self.passes)
        return real(self, *a, **kw)
    monkeypatch.setattr(detector_facts.DetectorFacts, "detect", counted)
    code, err = _main(monkeypatch, capsys, [*common, "--out", tmp_path / "bug"])
    assert code == 3, err
    assert f"internal error: {kind.__name__}" in err and "a bug in halluscope's reader" in err
    assert not (tmp_path / "bug" / "results.json").exists()
    assert passes == [0]        # stopped at the first entry read, the detector never run


def test_a_foreign_source_failing_on_a_record_is_still_that_records_error(tmp_path):
    """A facts source of the user's own (passed to the claims metric from Python) that fails on
    one record still makes that record a bad record naming the source; halluscope's own
    sources pass their failures on (a model's failure on an image is already a RecordError)."""
    from halluscope.errors import RecordError
    from halluscope.evidence.providers import facts_of

    class Theirs:
        name = "theirs"

        def facts(self, record, claims):
            raise KeyError("their bug")

    rec = record_from_dict({"id": "1", "image": "a.png", "response": "x"},
                           file=str(tmp_path / "out.jsonl"), line=3)
    with pytest.raises(RecordError, match="the evidence source theirs failed on a.png: "
                                          "KeyError"):
        facts_of(Theirs(), rec, [Claim("existence", "cat", node="cat")])

    class Ours(Theirs):
        pass
    Ours.__module__ = "halluscope.evidence.example"
    with pytest.raises(KeyError, match="their bug"):
        facts_of(Ours(), rec, [Claim("existence", "cat", node="cat")])
