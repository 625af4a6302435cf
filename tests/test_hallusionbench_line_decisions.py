"""HallusionBench's consistency decisions on the items.jsonl lines: a user opening items.jsonl
for one question sees whether the original's "same" check read its answer as consistent with the
pair's original figure, and the LH / VI / Mixed label it got. They were only in the run sheet,
as lists of 1,129 keys (29 KB of its 60 KB). The check runs once every answer is in, so
items.jsonl is rewritten after the pass: in input order, and the same bytes for one process,
``--workers 2``, and a run resumed after an interrupt in the pass or in the finish step."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from fake_openai_server import FakeServer
import halluscope


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def _rows() -> list[dict]:
    """Three question sets (VD and VS), two figures by three questions each, answers drawn
    from their names; a bad row (no question) in the middle, which carries no decision."""
    rows = []
    for cat, sub, set_id in (("VD", "illusion", "0"), ("VS", "chart", "1"), ("VD", "math", "2")):
        for fig in ("0", "1"):
            for q in ("0", "1", "2"):
                yes = int(hashlib.sha256(f"{set_id}{fig}{q}".encode()).hexdigest(), 16) % 3
                rows.append({"category": cat, "subcategory": sub, "visual_input": "1" if fig == "0"
                             else "2", "set_id": set_id, "figure_id": fig, "question_id": q,
                             "question": f"Is it so ({set_id}, {fig}, {q})?",
                             "gt_answer_details": "It is so.", "gt_answer": "1",
                             "model_prediction": ["Yes.", "No.", "Yes, surely."][yes]})
    rows.insert(7, {**rows[7], "question": None, "question_id": "9"})
    return rows


def _reply(prompt: str, body) -> str:
    """Deterministic by the prompt: correctness and consistency replies of both kinds."""
    pick = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    if "response2:" in prompt:
        return ["same", "different", "Not the same."][pick % 3]
    return ["Correct", "Incorrect"][pick % 2]


def _audit(answers: Path, out: Path, url: str, **kw):
    return halluscope.audit(answers, metrics="hallusionbench", judge="hallusionbench-gpt-4",
                            n_boot=0, out=out, cache_dir=out.parent / "cache",
                            write_report=False, options={"hallusionbench_variant": "original",
                                                         "judge_base_url": url}, **kw)


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]


def test_each_question_line_carries_its_consistency_decision(tmp_path):
    answers = tmp_path / "hb.jsonl"
    answers.write_text("".join(json.dumps(row) + "\n" for row in _rows()))
    with FakeServer(responder=_reply) as server:
        result = _audit(answers, tmp_path / "one", server.url)
    lines = _lines(tmp_path / "one")
    assert [line["source"].rsplit(":", 1)[0] for line in lines] == [str(answers)] * 19
    assert "error" in lines[7] and "same" not in json.dumps(lines[7].get("hallusionbench", {}))
    scored = [line["hallusionbench"] for i, line in enumerate(lines) if i != 7]
    assert [p["key"] for p in scored] == [f"{r['category']}_{r['subcategory']}_{r['set_id']}_"
                                          f"{r['figure_id']}_{r['question_id']}"
                                          for i, r in enumerate(_rows()) if i != 7]
    for p in scored:     # utils.py's reading of the reply: "same" anywhere, "not the same" too
        assert p["same"] == ("1" if "same" in p["same_judge_raw"].lower() else "0"), p
        assert p["diagnosis"] in ("LH", "VI", "Mixed", None)
    diag = result.metrics["hallusionbench"].info["diagnosis"]
    assert diag["same_replies"] == {"1": sum(p["same"] == "1" for p in scored),
                                    "0": sum(p["same"] == "0" for p in scored), "failed": 0}
    assert {k: diag["counts"][k] for k in ("LH", "VI", "Mixed")} == \
        {k: sum(p["diagnosis"] == k for p in scored) for k in ("LH", "VI", "Mixed")}
    assert diag["questions"]["checked"] == 18 and diag["questions"]["on"] == "items.jsonl"
    sheet = json.loads((tmp_path / "one" / "runsheet.json").read_text())
    assert "VD_illusion_0_0_0" not in json.dumps(sheet)      # keys are no longer listed
    # results.json's hash of items.jsonl is the rewritten file's
    saved = json.loads((tmp_path / "one" / "results.json").read_text())
    assert saved["outputs"]["items.jsonl"]["sha256"] == \
        hashlib.sha256((tmp_path / "one" / "items.jsonl").read_bytes()).hexdigest()


@pytest.mark.parametrize("layout", ["jsonl", "array"])
def test_workers_and_resumes_write_the_same_items(tmp_path, monkeypatch, layout):
    """JSON Lines, and the original's layout: one JSON array on one line, as ``json.dump``
    writes it (counted as one record, it ran in one process whatever ``--workers`` said)."""
    answers = tmp_path / ("hb.jsonl" if layout == "jsonl" else "hb.json")
    answers.write_text("".join(json.dumps(row) + "\n" for row in _rows()) if layout == "jsonl"
                       else json.dumps(_rows()))
    with FakeServer(responder=_reply) as server:
        _audit(answers, tmp_path / "one", server.url)
        two = _audit(answers, tmp_path / "two", server.url, workers=2)
        assert two.runsheet["execution"]["workers"] == 2

        def stop_at(progress):          # killed in the pass, after 9 lines
            if progress.done == 9:
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, tmp_path / "cut", server.url, on_progress=stop_at)
        assert (tmp_path / "cut" / "items.journal.part").exists()
        _audit(answers, tmp_path / "cut", server.url, resume=True)

        from halluscope.metrics import hallusionbench_diagnosis as diagnosis
        real = diagnosis.diagnose_with

        def killed(judge, questions):   # killed in the finish step, after the pass
            raise KeyboardInterrupt
        monkeypatch.setattr(diagnosis, "diagnose_with", killed)
        with pytest.raises(KeyboardInterrupt):
            _audit(answers, tmp_path / "late", server.url)
        monkeypatch.setattr(diagnosis, "diagnose_with", real)
        _audit(answers, tmp_path / "late", server.url, resume=True)
    want = (tmp_path / "one" / "items.jsonl").read_bytes()
    assert b'"same":' in want
    for name in ("two", "cut", "late"):
        assert (tmp_path / name / "items.jsonl").read_bytes() == want, name
        assert not list((tmp_path / name).glob("*.part")), name
