"""Regressions found by a user-style bug hunt on the model-calling side (``halluscope query``,
the answer cache, resume, judges); every server here is the loopback :class:`FakeServer`."""

from __future__ import annotations

import json

import pytest

from fake_openai_server import FakeServer
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.openai_compat import parse_completion
from halluscope.adapters.query import aquery, query  # noqa: F401
from halluscope.errors import InputError

KEY = "sk-hunt-test-0123456789"
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.02)


def _lines(path):
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _prompts(tmp_path, texts, name="p.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps({"id": k, "prompt": v}) + "\n" for k, v in texts.items()))
    return path


def test_no_content_at_the_token_limit_is_an_empty_answer_cut_short(tmp_path, monkeypatch):
    """A reasoning model that spends max_tokens thinking answers ``content: null`` with
    finish_reason ``length``: that was a MalformedResponse, asked 6 times and then a failed
    record, where Anthropic and Gemini keep the same case as ``""`` cut at the limit."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    body = {"model": "m", "choices": [{"message": {"role": "assistant", "content": None,
                                                   "reasoning_content": "Let me think"},
                                       "finish_reason": "length"}]}
    prompts = _prompts(tmp_path, {"a": "hi"})
    with FakeServer(responder=lambda prompt, b: {"body": body}) as server:
        query(prompts, "vllm/m", base_url=server.url, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
        assert len(server.requests) == 1                       # not retried
    line = _lines(tmp_path / "out.jsonl")["a"]
    assert line["response"] == "" and line["finish_reason"] == "length" and "error" not in line
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["truncated"] == 1
    body["choices"][0]["finish_reason"] = "stop"      # reasoning alone: an answer, empty
    resp = parse_completion(json.dumps(body))            # (tests/test_reasoning_providers.py)
    assert (resp.text, resp.reasoning) == ("", "Let me think")
    del body["choices"][0]["message"]["reasoning_content"]   # no text, nothing: malformed
    with pytest.raises(Exception, match="no message content"):
        parse_completion(json.dumps(body))


def test_a_model_name_or_finish_reason_that_is_no_string_is_unknown():
    body = {"model": 5, "choices": [{"message": {"content": "a dog"},
                                     "finish_reason": {"why": "stop"}}]}
    resp = parse_completion(json.dumps(body))
    assert resp.text == "a dog" and resp.model is None and resp.finish_reason is None


def test_a_local_model_run_can_be_resumed_and_a_changed_dtype_is_refused(tmp_path):
    """The hf adapter describes its device, dtype and class once loaded (``auto`` resolved):
    the run sheet a run ends with differed from what the next run asked, so every resume of a
    local model was refused as "answers of another run"."""
    pytest.importorskip("torch")
    from PIL import Image

    from halluscope.errors import ConfigError
    from tiny_vlms import tiny_vlm
    model = f"hf/{tiny_vlm('llava', tmp_path / 'vlms')}"
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (96, 72), (180, 40, 40)).save(photo)
    src, out = tmp_path / "p.jsonl", tmp_path / "o.jsonl"

    def ask(n, **kw):
        src.write_text("".join(json.dumps({"id": str(i), "image": str(photo),
                                           "prompt": f"Question {i}?"}) + "\n"
                               for i in range(n)))
        return query(src, model, out=out, cache=tmp_path / "c", max_tokens=3, **kw)
    assert len(ask(2)) == 2
    assert len(ask(3)) == 3                                    # resumed: one more asked
    sheet = json.loads((tmp_path / "o.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["skipped"] == 2 and sheet["counts"]["new"] == 1
    assert sheet["model"]["dtype"] == "float32" and sheet["model"]["dtype_requested"] == "auto"
    with pytest.raises(ConfigError, match=r"model\.dtype_requested: 'auto' then, "
                                          r"'bfloat16' now"):
        ask(4, model_options={"dtype": "bfloat16"})


def test_adapter_settings_that_change_the_answer_enter_the_cache_key(monkeypatch, tmp_path):
    """A local model's processor_kwargs (Qwen's max_pixels: the resolution the model sees) and
    the OpenAI image detail given as a provider option were not in the key: a run with other
    settings got the first run's answers from the cache."""
    import asyncio

    from halluscope.adapters.client import ModelClient
    from halluscope.adapters.hf_local import HFLocalModel
    from halluscope.adapters.registry import get_model
    from halluscope.adapters.types import Message, Request
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    request = Request((Message.user("What is this?"),))

    def key(api):
        return asyncio.run(ModelClient(api).key(request))[0]
    plain = key(HFLocalModel(str(folder)))
    small = key(HFLocalModel(str(folder), processor_kwargs={"max_pixels": 200704}))
    assert plain != small
    assert small == key(HFLocalModel(str(folder), processor_kwargs={"max_pixels": 200704}))
    url = "http://127.0.0.1:9/v1"
    photo = tmp_path / "p.png"
    from PIL import Image
    Image.new("RGB", (8, 8)).save(photo)
    request = Request((Message.user("What is this?", (str(photo),)),))
    plain = key(get_model("vllm/m", base_url=url))
    high = key(get_model("vllm/m", base_url=url, detail="high"))
    assert plain != high            # the option is sent with the image: another request
    request = Request((Message.user("What is this?", (str(photo),), "high"),))
    assert key(get_model("vllm/m", base_url=url)) == high   # the same request as --detail high


_CUT = ('{"model": "m", "choices": [{"message": {"role": "assistant", "content": '
        '"A dog \\ud83d"}, "finish_reason": "length"}]}')       # cut inside an emoji


def test_an_answer_cut_inside_an_emoji_is_written_and_cached(tmp_path, monkeypatch):
    """A lone surrogate (JSON's \\ud83d escape without its pair) in an answer ended the whole
    run with exit 3 (UnicodeEncodeError) when the answer was cached or written: it is written
    as the escape it came as, and reads back as the same answer."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    prompts = _prompts(tmp_path, {"a": "cut", "b": "fine"})
    out = tmp_path / "out.jsonl"

    def responder(prompt, body):
        return {"body": _CUT} if prompt == "cut" else "fine"
    with FakeServer(responder=responder) as server:
        query(prompts, "vllm/m", base_url=server.url, cache=tmp_path / "c", retry=FAST, out=out)
        again = query(prompts, "vllm/m", base_url=server.url, cache=tmp_path / "c",
                      retry=FAST, out=tmp_path / "again.jsonl")
        assert len(server.requests) == 2                       # the second run: all cached
    assert '"A dog \\ud83d"' in out.read_text(encoding="utf-8")
    assert _lines(out)["a"]["response"] == "A dog \ud83d" == again[0]["response"]
    assert _lines(out)["b"]["response"].endswith("fine")


def test_a_judge_answer_cut_inside_an_emoji_is_read(tmp_path, monkeypatch):
    """The judge's raw answer and reason reach every output of an audit: a lone surrogate in
    them ended the audit at items.jsonl; U+FFFD stands in for it."""
    from halluscope.judges.judge import Judge
    from halluscope.judges.spec import load_spec
    from halluscope.types import Claim
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    photo = tmp_path / "p.png"
    from PIL import Image
    Image.new("RGB", (8, 8)).save(photo)
    body = ('{"model": "gpt-4o-2024-08-06", "choices": [{"message": {"content": '
            '"{\\"verdict\\": \\"supported\\", \\"reason\\": \\"a dog \\ud83d\\"}"}, '
            '"finish_reason": "stop"}]}')
    with FakeServer(responder=lambda prompt, b: {"body": body}) as server:
        judge = Judge(load_spec("gpt-4o-2024-08-06"), base_url=server.url, cache=False)
        try:
            verdict = judge.verify_sync(Claim(kind="existence", subject="dog"), photo)
        finally:
            judge.close()
    assert verdict.label == "supported" and verdict.reason == "a dog \ufffd"
    assert "\ufffd" in verdict.evidence[0].payload["raw"]
    json.dumps(verdict.reason, ensure_ascii=False).encode("utf-8")   # writable


_MADE_UP = [  # a judge's split of "A brown dog sleeps on a sofa next to two cats."
    {"kind": "existence", "subject": "dog", "text": "A brown dog"},
    {"kind": "attribute", "subject": "dog", "value": "brown", "text": "A brown dog"},
    {"kind": "attribute", "subject": "dog", "value": "sleeping", "text": "dog sleeps"},
    {"kind": "relation", "subject": "dog", "relation": "on", "object": "sofa",
     "text": "dog sleeps on a sofa"},
    {"kind": "count", "subject": "cat", "value": 2, "text": "two cats"},
    # made up: the response says none of these values, objects or numbers
    {"kind": "attribute", "subject": "dog", "value": "purple", "text": "The dog is purple"},
    {"kind": "relation", "subject": "dog", "relation": "under", "object": "table",
     "text": "the dog is under the table"},
    {"kind": "count", "subject": "cat", "value": 3, "text": "three cats"}]


def test_a_claim_with_a_value_the_response_never_said_is_not_the_models():
    """A judge's claim whose subject is in the response but whose attribute value, relation
    object or count is not (``purple`` for "a brown dog") was kept and scored against the
    model as its hallucination; the README promises such claims are dropped and counted."""
    from halluscope.adapters.mock import MockModel
    from halluscope.claims.llm import parse_decomposition
    from halluscope.judges.judge import Judge
    text = "A brown dog sleeps on a sofa next to two cats."
    api = MockModel("script", responder=lambda request: json.dumps(_MADE_UP))
    judge = Judge("gpt-4o-2024-08-06", api=api, cache=False)
    try:
        claims = judge.decompose_sync(text)
    finally:
        judge.close()
    assert [(c.kind, c.value, c.object) for c in claims] == [
        ("existence", None, None), ("attribute", "brown", None),
        ("attribute", "sleeping", None), ("relation", None, "sofa"), ("count", 2, None)]
    assert judge.stats.to_dict()["uses"]["decompose"]["unfounded_claims"] == 3
    lines = "\n".join(json.dumps(c) for c in _MADE_UP)
    kept, skipped = parse_decomposition(lines, text, vocabulary=False)
    assert [(c.kind, c.value, c.object) for c in kept] == [
        ("existence", None, None), ("attribute", "brown", None),
        ("attribute", "sleeping", None), ("relation", None, "sofa"), ("count", 2, None)]
    assert skipped == 3


def test_an_error_sent_with_status_200_keeps_the_servers_reason():
    """A proxy answering 200 with ``{"error": {...}}`` was recorded as "the response has no
    choices", its reason (overloaded, context too long) lost from the failure groups."""
    body = {"error": {"message": "This model's maximum context length is 8192 tokens",
                      "type": "invalid_request_error"}}
    with pytest.raises(Exception, match="no choices; the server said: This model's maximum"):
        parse_completion(json.dumps(body))
    with pytest.raises(Exception, match="no choices; the server said: overloaded"):
        parse_completion(json.dumps({"error": "overloaded"}))
    with pytest.raises(Exception, match="no choices$"):
        parse_completion(json.dumps({"choices": []}))


def test_a_served_judges_revision_enters_the_cache_key(tmp_path):
    """A judge spec for a served model (vLLM serving a hub commit) with ``revision``: the
    revision reached neither the adapter's pin nor the cache key, so a spec moved to another
    revision read the old revision's verdicts from the cache."""
    import asyncio
    import shutil
    from pathlib import Path

    from halluscope.adapters.types import Message, Request
    from halluscope.judges.judge import Judge
    from halluscope.judges.spec import load_spec
    here = Path(__file__).parent / "judges"
    shutil.copytree(here / "templates", tmp_path / "templates")
    text = (here / "loopback-judge.toml").read_text()

    def key(revision):
        spec = tmp_path / f"j-{revision}.toml"
        spec.write_text(text.replace('base_url =', f'revision = "{revision}"\nbase_url ='))
        judge = Judge(load_spec(spec), cache=False)
        try:
            assert judge.api.pin == f"loopback-judge-2025-01-01@{revision}"
            return asyncio.run(judge.client.key(Request((Message.user("x"),))))[0]
        finally:
            judge.close()
    assert key("abc123") != key("def456")


def test_an_image_rewritten_in_place_is_read_and_keyed_anew(tmp_path):
    """The loader's bytes memo was keyed by path alone: a long-lived client (a judge over a
    notebook session) kept hashing and sending an image's old bytes after the file was
    rewritten, so the cache answered for the old picture."""
    import os

    from PIL import Image

    from halluscope.adapters.images import ImageLoader
    path = tmp_path / "img.png"
    Image.new("RGB", (16, 16), (255, 0, 0)).save(path)
    loader = ImageLoader()
    first, first_hash = loader.read(str(path)), loader.sha256(str(path))
    Image.new("RGB", (32, 8), (0, 0, 255)).save(path)
    os.utime(path, ns=(10**18, 10**18))                  # a new mtime, whatever the clock
    assert loader.read(str(path)) == path.read_bytes() != first
    assert loader.sha256(str(path)) != first_hash


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGTERM"), reason="POSIX signals")
def test_sigterm_stops_a_query_as_ctrl_c_does(tmp_path):
    """SIGTERM (a supervisor, a CI cancel) ended query at once: no run sheet but the one that
    says the run was killed before it wrote its own, no counts, a resumed file left out of
    prompt order; it now stops as Ctrl-C does and exits 143, as audit does."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    prompts = _prompts(tmp_path, {f"p{i}": f"question {i}" for i in range(400)})
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "halluscope", "query", str(prompts), "-m",
                             "mock/echo", "-O", "latency=0.05", "-c", "2", "-o", str(out),
                             "--no-cache", "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and (
            not out.is_file() or out.read_text().count("\n") < 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert "SIGTERM" in sheet["aborted"]
    written = out.read_text().count("\n")
    assert 4 <= sheet["counts"]["new"] == written < 400


def test_an_image_given_as_a_file_uri_is_read(tmp_path):
    """``file:///abs/img.png`` (Qwen-VL's message style) became the relative name
    ``file:/abs/img.png`` under the prompts file's folder: every such record failed with
    "image not found" although the image loader reads file URIs."""
    from PIL import Image
    (tmp_path / "imgs").mkdir()
    photo = tmp_path / "imgs" / "red.png"
    Image.new("RGB", (8, 8), (255, 0, 0)).save(photo)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "What colour?",
                                   "image": photo.as_uri()}) + "\n")
    out = tmp_path / "out.jsonl"
    records = query(prompts, "mock/echo", out=out, cache=False)
    assert "error" not in records[0] and records[0]["response"] == "What colour?"
    assert records[0]["image"] == "imgs/red.png"        # a path the audit reads, as others
    assert len(query(prompts, "mock/echo", out=out, cache=False)) == 1   # resumes as well


def test_a_file_uri_without_a_path_is_a_bad_prompt_line(tmp_path):
    """``file://red.png`` names a host and no file: its path was empty, so the prompt was asked
    as text only and written with "image": "" -- an answer without the picture it was about."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "What colour?",
                                   "image": "file://red.png"}) + "\n")
    with pytest.raises(InputError, match=r"p\.jsonl:1: field 'image': expected a file URI as "
                       r"file:///absolute/path, got 'file://red.png'"):
        query(prompts, "mock/echo", out=tmp_path / "out.jsonl", cache=False)
    from halluscope.adapters.images import ImageLoader
    spaced = tmp_path / "my photo.png"
    assert ImageLoader().resolve(spaced.as_uri()) == str(spaced)     # %20 read as a space


def test_an_output_reused_as_prompts_loses_its_old_error_status(tmp_path):
    """Asking model B the prompts of model A's output file (its lines as they are) kept A's
    ``error_status`` on B's answer: a line holding a response and an HTTP 500 beside it."""
    prompts = tmp_path / "a.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "x", "model": "A",
                                   "error": "ServerError: boom", "error_status": 500}) + "\n"
                       + json.dumps({"id": "b", "prompt": "y", "image": "gone.png",
                                     "model": "A", "response": "old", "finish_reason": "stop",
                                     "requested_model": "A0"}) + "\n")
    a, b = query(prompts, "mock/echo", out=tmp_path / "b.jsonl", cache=False)
    assert a["response"] == "x" and "error" not in a and "error_status" not in a
    assert "ImageError" in b["error"]                    # B failed: nothing of A's
    assert b["model"] is None and b["requested_model"] == "echo"    # B asked, none answered
    assert not {"response", "finish_reason"} & set(b)


def test_a_count_the_judge_writes_in_words_is_read():
    from halluscope.judges.judge import claim_words_said
    text = "Two cats and a dog."
    assert claim_words_said(text, "count", "two") and claim_words_said(text, "count", 2.0)
    assert not claim_words_said(text, "count", "three") and not claim_words_said(text, "count", 5)
    assert claim_words_said(text, "count", "several")    # no number: left to the checker


def test_judge_count_said_in_words_past_twelve_is_the_models_claim():
    """The number words stopped at twelve: a judge's count of 21 for "twenty-one birds" (as
    the rule-based claims read it since numerals are read whole) or of 13 for "thirteen" was
    dropped as a claim the response never made."""
    from halluscope.judges.judge import claim_words_said
    text = "Twenty-one birds sit on a wire beside thirteen eggs and forty cows."
    for said in (21, "21", "twenty-one", 13, "thirteen", 40, 20, 1):
        assert claim_words_said(text, "count", said), said
    for said in (22, "twenty-two", 14, 30, 41):
        assert not claim_words_said(text, "count", said), said


def test_an_answer_a_filter_cut_short_is_kept_and_counted(tmp_path, monkeypatch):
    """OpenAI's content filter (or a refusal) stopping an answer after some text: the text is
    kept as the answer, but the run sheet counts it and the command says so, apart from the
    answers cut at the token limit."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    bodies = {"a": ("I see a man holding a", "content_filter"), "b": ("A cat.", "stop"),
              "c": ("A dog on a", "length")}

    def responder(prompt, body):
        text, finish = bodies[prompt]
        return {"body": {"model": "m", "choices": [{"message": {"role": "assistant",
                                                                "content": text},
                                                    "finish_reason": finish}]}}
    prompts = _prompts(tmp_path, {k: k for k in bodies})
    with FakeServer(responder=responder) as server:
        query(prompts, "vllm/m", base_url=server.url, cache=None, retry=FAST,
              out=tmp_path / "out.jsonl")
    lines = _lines(tmp_path / "out.jsonl")
    assert lines["a"]["response"] == "I see a man holding a"
    assert lines["a"]["finish_reason"] == "content_filter" and "error" not in lines["a"]
    counts = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())["counts"]
    assert (counts["filtered"], counts["truncated"], counts["new"]) == (1, 1, 3)
