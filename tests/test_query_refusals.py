"""Failures that asking again repeats (a provider's content filter, the model declining, a
request the server rejects as invalid: HTTP 400/413/415/422) are written with ``"refused":
true`` and kept by a resume instead of being asked again on every re-run; ``--retry-failed``
asks them again. Rate limits, server errors and timeouts are still asked again by every
resume, and a refusal is never an answer an audit scores."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fake_openai_server import FakeServer
from halluscope.cli.query import EXIT_FAILED

KEY = "sk-refusal-test-0000000000"


@pytest.fixture
def app():
    from halluscope.cli import app
    return app


@pytest.fixture
def prompts(tmp_path):
    from PIL import Image
    Image.new("RGB", (30, 30)).save(tmp_path / "a.png")
    Image.new("RGB", (30, 30), "red").save(tmp_path / "b.png")
    path = tmp_path / "prompts.jsonl"
    rows = [{"id": f"p{i}", "image": "b.png" if i == 3 else "a.png",
             "prompt": f"Is there a dog {i}?"} for i in range(6)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _responder(prompt, body):
    """p1: the content filter withholds the answer; p2: the model declines (OpenAI's
    message.refusal); everything else is answered."""
    if "dog 1?" in prompt:
        return {"text": "", "finish_reason": "content_filter"}
    if "dog 2?" in prompt:
        return {"body": {"id": "x", "object": "chat.completion", "model": "m", "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": None,
                         "refusal": "I can't help with that."}}]}}
    return f"answer to {prompt}"


def _query(app, prompts, out, server, *extra):
    return CliRunner().invoke(app, ["query", str(prompts), "-m", "openai/m", "--base-url",
                                    server.url, "--out", str(out), "--max-attempts", "2",
                                    "--cache", str(out.parent / "cache"), *extra])


def _lines(out) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}


def _asked(server) -> list[str]:
    return [next(p["text"] for p in m["content"] if p.get("type") == "text")
            if isinstance(m["content"], list) else m["content"]
            for r in server.requests for m in r["messages"] if m["role"] == "user"]


def test_refusals_are_kept_by_a_resume_and_transient_failures_asked_again(app, prompts,
                                                                           tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    # p3: a 400 the server gives every time (an invalid image); p4: 500s (transient)
    with FakeServer(api_key=KEY, responder=_responder,
                    script={"dog 3?": ["refuse"], "dog 4?": ["500"] * 2}) as server:
        res = _query(app, prompts, out, server)
        assert res.exit_code == EXIT_FAILED, res.output
        first = _lines(out)
        assert [first[i].get("refused") for i in ("p1", "p2", "p3")] == [True] * 3
        assert "refused" not in first["p4"] and first["p4"]["error_status"] == 500
        assert first["p3"]["error_status"] == 400
        assert "content filter" in first["p1"]["error"] and "declined" in first["p2"]["error"]
        assert all("response" not in first[i] for i in ("p1", "p2", "p3", "p4"))
        # the refusals carry the sha256 of the image sent (a resume sees it fixed)
        assert len(first["p3"]["image_sha256"]) == 64
        sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["counts"]
        assert (sheet["failed"], sheet["refused"], sheet["kept_failed"]) == (4, 3, 0)
        text = " ".join(res.output.split())
        assert "3 of the failed record(s) were refused" in text
        n = len(server.requests)

        res = _query(app, prompts, out, server)         # the re-run: p4 alone is asked
        assert res.exit_code == EXIT_FAILED, res.output     # the file still holds refusals
        assert _asked(server)[n:] == ["Is there a dog 4?"]
        again = _lines(out)
        assert list(again) == [f"p{i}" for i in range(6)]     # in prompt order, once each
        assert again["p4"]["response"] == "answer to Is there a dog 4?"
        assert {i: again[i] for i in ("p1", "p2", "p3")} == \
            {i: first[i] for i in ("p1", "p2", "p3")}
        sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["counts"]
        assert (sheet["skipped"], sheet["kept_failed"], sheet["new"]) == (5, 3, 1)
        text = " ".join(res.output.split())
        assert "3 record(s) refused by an earlier run" in text and "--retry-failed" in text

        n = len(server.requests)
        res = _query(app, prompts, out, server)         # nothing left to ask: none asked
        assert len(server.requests) == n and res.exit_code == EXIT_FAILED

        res = _query(app, prompts, out, server, "--retry-failed")   # asked again, all three
        assert sorted(_asked(server)[n:]) == [f"Is there a dog {i}?" for i in (1, 2, 3)]
        assert res.exit_code == EXIT_FAILED, res.output     # p1, p2 refused again
        final = _lines(out)
        assert final["p1"]["refused"] is True and final["p2"]["refused"] is True
        assert final["p3"]["response"] and "refused" not in final["p3"]


def test_a_refusal_whose_prompt_or_image_changed_is_asked_again(app, prompts, tmp_path,
                                                                monkeypatch):
    """A refusal stands for the request that met it: a prompt reworded or an image fixed since
    is another request, asked again (an answered line would refuse the resume instead)."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(api_key=KEY, responder=_responder,
                    script={"dog 3?": ["refuse"]}) as server:
        assert _query(app, prompts, out, server).exit_code == EXIT_FAILED
        n = len(server.requests)
        from PIL import Image
        Image.new("RGB", (30, 30), "blue").save(tmp_path / "b.png")    # p3's image fixed
        rows = [json.loads(t) for t in prompts.read_text().splitlines()]
        rows[1]["prompt"] = "Is there a cat 1?"                          # p1 reworded
        prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
        res = _query(app, prompts, out, server)
        assert sorted(_asked(server)[n:]) == ["Is there a cat 1?", "Is there a dog 3?"]
        final = _lines(out)
    assert final["p1"]["response"] == "answer to Is there a cat 1?"
    assert final["p3"]["response"] == "answer to Is there a dog 3?"
    assert final["p2"]["refused"] is True                   # unchanged: kept, not asked
    assert res.exit_code == EXIT_FAILED and list(final) == [f"p{i}" for i in range(6)]


def test_an_audit_lists_a_kept_refusal_as_a_bad_record_never_scored(app, prompts, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(api_key=KEY, responder=_responder) as server:
        _query(app, prompts, out, server)
        _query(app, prompts, out, server)       # kept as they are
    from halluscope.errors import RecordError
    from halluscope.readers import iter_input_records
    read = list(iter_input_records(out))
    bad = [r for r in read if isinstance(r, RecordError)]
    assert len(read) == 6 and len(bad) == 2
    assert all("the model gave no answer" in str(e) for e in bad)
    assert sorted(" ".join(str(e).split()) for e in bad)[0].count("out.jsonl:") == 1
    assert {r.id for r in read if not isinstance(r, RecordError)} == {"p0", "p3", "p4", "p5"}


def test_the_api_default_keeps_refusals_and_retry_failed_false_keeps_every_failure(
        prompts, tmp_path, monkeypatch):
    from halluscope.adapters.query import _run_sync, aquery
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "out.jsonl"
    with FakeServer(api_key=KEY, responder=_responder,
                    script={"dog 4?": ["500"] * 4}) as server:
        def run(**kw):
            return _run_sync(aquery(prompts, "openai/m", base_url=server.url, out=out,
                                    cache=False, max_attempts=2, collect=False, **kw))
        first = run()
        assert (first.counts.failed, first.counts.refused) == (3, 2)
        n = len(server.requests)
        kept = run(retry_failed=False)          # every failure kept: none asked
        assert len(server.requests) == n and kept.counts.kept_failed == 3
        assert kept.exit_code == 1
        again = run()                           # p4 (a 500) asked again, twice more
        assert _asked(server)[n:] == ["Is there a dog 4?"] * 2
        assert again.counts.kept_failed == 2 and again.counts.failed == 1


def test_the_ray_engine_writes_and_keeps_refusals_as_the_local_one(app, prompts, tmp_path,
                                                                  local_ray, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    outs = {}
    with FakeServer(api_key=KEY, responder=_responder) as server:
        for engine in ("local", "ray"):
            out = outs[engine] = tmp_path / f"{engine}.jsonl"
            for _ in range(2):          # the second run keeps the refusals, asks nothing
                n = len(server.requests)
                res = CliRunner().invoke(app, [
                    "query", str(prompts), "-m", "openai/m", "--base-url", server.url,
                    "-o", str(out), "-q", "--no-cache", "--engine", engine,
                    *(["--ray-workers", "2"] if engine == "ray" else [])])
                assert res.exit_code == EXIT_FAILED, res.output
            assert len(server.requests) == n
    local, ray_lines = _lines(outs["local"]), _lines(outs["ray"])
    assert ray_lines == local and local["p1"]["refused"] is True and local["p2"]["refused"]
    sheet = json.loads((tmp_path / "ray.jsonl.runsheet.json").read_text())["counts"]
    assert (sheet["kept_failed"], sheet["skipped"], sheet["failed"]) == (2, 6, 0)
