"""Each claim of items.jsonl carries ``said``: the words of the response its span covers, so
a pronoun's claim ("It is red" -> the kite's colour) can be read beside what it was checked as."""

from __future__ import annotations

import json

import pytest

from halluscope.cli import app

pytest.importorskip("spacy")


def test_items_show_what_each_claim_quotes(tmp_path):
    from typer.testing import CliRunner
    ann = {"images": {"a.jpg": {"objects": [
        {"label": "person", "box": [10, 10, 100, 300]},
        {"label": "kite", "box": [200, 10, 260, 60], "attributes": ["red"]}]}}}
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "1", "image": "a.jpg", "response": "A man holds a kite. It is red."}) + "\n")
    res = CliRunner().invoke(app, ["audit", str(tmp_path / "out.jsonl"), "--metric", "claims",
                                   "--annotations", str(tmp_path / "ann.json"), "--out",
                                   str(tmp_path / "run"), "--no-report", "-q"])
    assert res.exit_code == 0, res.output
    item = json.loads((tmp_path / "run" / "items.jsonl").read_text().splitlines()[0])
    said = {(c["kind"], c["subject"], c["value"]): c["said"] for c in item["claims"]}
    assert said[("attribute", "kite", "red")] == "It is red"
    assert said[("existence", "man", None)] == "man"
    for c in item["claims"]:
        s, e = c["span"]
        assert c["said"] == item["response"][s:e]
    red = next(c for c in item["claims"] if c["value"] == "red")
    assert red["verdict"] == "supported" and red["evidence"][0]["label"] == "kite"
