"""The OpenAI-compatible adapter and the query loop against a real loopback HTTP server."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time

import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters.client import RetryPolicy
from halluscope.adapters.query import aquery, query, read_done
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import AuthError, Decoding, Message, Request
from halluscope.records import read_records

KEY = "sk-test-abcdefghijklmnop"
FAST = RetryPolicy(max_attempts=10, base_delay=0.02, max_delay=0.2)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


@pytest.fixture
def prompts(tmp_path):
    Image.new("RGB", (320, 240), (200, 10, 10)).save(tmp_path / "red.jpg")
    Image.new("RGB", (64, 64), (10, 200, 10)).save(tmp_path / "green.png")

    def make(n=20, name="prompts.jsonl"):
        path = tmp_path / name
        with open(path, "w") as fh:
            for i in range(n):
                fh.write(json.dumps({"id": f"q{i}", "image": "red.jpg" if i % 2 else "green.png",
                                     "prompt": f"Is there a dog in picture {i}?"}) + "\n")
        return path
    return make


def ids_of(path):
    return [json.loads(line)["id"] for line in open(path)]


def test_every_fault_is_retried_or_recorded_and_nothing_is_lost(tmp_path, prompts):
    src = prompts(120)
    faults = {"429": 0.08, "500": 0.05, "503": 0.03, "timeout": 0.03, "malformed": 0.04,
              "empty": 0.03, "disconnect": 0.03, "wrong_model": 0.04}
    # random faults, plus every kind at least once for certain
    script = {"picture 5?": ["429", "500", "503"], "picture 7?": ["timeout", "malformed"],
              "picture 11?": ["empty", "disconnect"], "picture 13?": ["wrong_model"]}
    with FakeServer(latency=0.005, faults=faults, script=script, hang=2.0, api_key=KEY,
                    seed=7) as server:
        result = asyncio.run(aquery(src, "openai/gpt-test", out=tmp_path / "out.jsonl",
                                    base_url=server.url, cache=tmp_path / "cache",
                                    max_connections=16, timeout=0.3, retry=FAST))
        outcomes = server.outcomes
    out_ids = ids_of(tmp_path / "out.jsonl")
    assert sorted(out_ids) == sorted(f"q{i}" for i in range(120))      # none lost, none twice
    assert out_ids == [f"q{i}" for i in range(120)]                     # prompt order
    records = [json.loads(line) for line in open(tmp_path / "out.jsonl")]
    assert all(("response" in r) != ("error" in r) for r in records)
    assert result.counts.new + result.counts.failed == 120
    for fault in ("429", "500", "503", "timeout", "malformed", "empty", "disconnect",
                  "wrong_model"):
        assert outcomes[fault] > 0, fault
    wrong = [r for r in records if r.get("model") == "some-other-model"]
    assert wrong and all(r["requested_model"] == "gpt-test" for r in wrong)
    assert result.runsheet["model_mismatch"] is True
    assert all(r["response"] == f"echo: {r['prompt']}" for r in records if "response" in r)


def test_persistent_failure_is_recorded_with_error(tmp_path, prompts):
    src = prompts(5)
    with FakeServer(script={"picture 3?": ["500"] * 10}) as server:
        recs = query(src, "openai/m", out=tmp_path / "o.jsonl", base_url=server.url,
                     cache=False, max_attempts=3)
        assert server.outcomes["500"] == 3
    bad = [r for r in recs if "error" in r]
    assert [r["id"] for r in bad] == ["q3"]
    assert "ServerError" in bad[0]["error"] and "3 attempts" in bad[0]["error"]
    assert "response" not in bad[0]
    assert bad[0]["model"] is None and bad[0]["requested_model"] == "m"    # none answered


def test_auth_failure_stops_without_retry(tmp_path, prompts, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-000000")
    src = prompts(30)
    with FakeServer(api_key=KEY) as server:
        with pytest.raises(AuthError, match="HTTP 401"):
            query(src, "openai/m", out=tmp_path / "o.jsonl", base_url=server.url, cache=False,
                  max_connections=1)
        assert server.outcomes["401"] == 1


def test_missing_key_is_a_clear_error(monkeypatch, tmp_path, prompts):
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(AuthError, match="OPENAI_API_KEY is not set"):
        get_model("openai/gpt-4o-2024-08-06")
    model = get_model("vllm/Qwen/Qwen2.5-VL-7B-Instruct", base_url="http://127.0.0.1:1/v1")
    assert model.describe()["base_url"] == "http://127.0.0.1:1/v1"   # local: no key needed


def test_retry_after_is_honoured(tmp_path, prompts):
    src = prompts(1)
    with FakeServer(script={"picture 0?": ["429"]}, retry_after="0.4") as server:
        t0 = time.perf_counter()
        recs = query(src, "openai/m", base_url=server.url, cache=False)
        assert time.perf_counter() - t0 >= 0.4
    assert recs[0]["response"].startswith("echo:")


def test_concurrency_bound_and_backoff_on_429(tmp_path, prompts):
    src = prompts(80)
    with FakeServer(latency=0.02, faults={"429": 0.3}, retry_after="0.01", seed=3) as server:
        result = asyncio.run(aquery(src, "openai/m", base_url=server.url, cache=False,
                                    max_connections=8, max_attempts=20))
        assert server.peak_in_flight <= 8
    assert result.counts.failed == 0
    assert result.runsheet["client"]["limiter"]["decreases"] >= 1


def test_payload_has_data_url_detail_seed_and_system(tmp_path, prompts):
    src = prompts(2)
    with FakeServer() as server:
        query(src, "openai/gpt-4o-2024-08-06", base_url=server.url, cache=False, seed=5,
              temperature=0.0, max_tokens=77, system="Answer briefly.", detail="low")
        # requests run concurrently: pick the one for q0 (the 64x64 PNG)
        body = next(b for b in server.requests
                    if "picture 0?" in b["messages"][-1]["content"][-1]["text"])
        auth = server.headers[0]["authorization"]
    assert auth == f"Bearer {KEY}"
    assert body["model"] == "gpt-4o-2024-08-06" and body["seed"] == 5
    assert body["max_completion_tokens"] == 77 and body["temperature"] == 0.0
    assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}
    image, text = body["messages"][1]["content"]
    assert text == {"type": "text", "text": "Is there a dog in picture 0?"}
    assert image["image_url"]["detail"] == "low"
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.size == (64, 64)


def test_vllm_provider_uses_max_tokens_and_base_url(tmp_path, prompts):
    src = prompts(1)
    with FakeServer() as server:
        recs = query(src, "vllm/Qwen/Qwen2.5-VL-7B-Instruct", base_url=server.url, cache=False)
        assert server.requests[0]["max_tokens"] == 512
    assert recs[0]["model"] == "Qwen/Qwen2.5-VL-7B-Instruct"


def test_azure_style_base_url(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-123456")
    with FakeServer() as server:
        api = get_model("azure/my-deployment", base_url=server.base, api_version="2024-10-21")

        async def main():
            r = await api.generate(Request((Message.user("hello"),), Decoding()))
            await api.aclose()
            return r
        r = asyncio.run(main())
        headers = server.headers[0]
    assert r.text == "echo: hello"
    assert headers.get("api-key") == "azure-key-123456"


def test_finished_run_makes_no_calls_and_cache_serves_new_files(tmp_path, prompts):
    src = prompts(25)
    with FakeServer() as server:
        query(src, "openai/m", out=tmp_path / "o.jsonl", base_url=server.url,
              cache=tmp_path / "c")
        n = len(server.requests)
        assert n == 25
        again = query(src, "openai/m", out=tmp_path / "o.jsonl", base_url=server.url,
                      cache=tmp_path / "c")
        assert len(again) == 25 and len(server.requests) == n          # nothing left to do
        copy = query(src, "openai/m", out=tmp_path / "o2.jsonl", base_url=server.url,
                     cache=tmp_path / "c")
        assert len(copy) == 25 and len(server.requests) == n           # all from the cache
    strip = [{k: v for k, v in json.loads(line).items()} for line in open(tmp_path / "o.jsonl")]
    assert strip == [json.loads(line) for line in open(tmp_path / "o2.jsonl")]


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path, prompts):
    src = prompts(200)     # more than the 64 requests a run keeps in flight
    out = tmp_path / "o.jsonl"
    with FakeServer(latency=0.02) as server:
        def asked():
            return [m["messages"][-1]["content"][-1]["text"] for m in server.requests]

        async def interrupted():
            def stop_after_ten(counts):  # like Ctrl-C: cancel the run mid-way
                if counts.done >= 10:
                    task.cancel()
            task = asyncio.create_task(aquery(src, "openai/m", out=out, base_url=server.url,
                                              cache=tmp_path / "c", max_connections=4,
                                              progress=stop_after_ten))
            with pytest.raises(asyncio.CancelledError):
                await task
        asyncio.run(interrupted())
        first = asked()
        written = len(out.read_text().splitlines())
        answered_before = {json.loads(line)["prompt"] for line in out.read_text().splitlines()}
        assert 10 <= written < 200
        with open(out, "a") as fh:       # a write cut short, and a failed line
            fh.write('{"id": "q199", "respo')
        lines = out.read_text().splitlines()[:-1]
        failed = json.loads(lines[0]) | {"error": "ServerError: boom"}
        failed.pop("response")
        out.write_text("\n".join([json.dumps(failed)] + lines[1:]) + "\n" + '{"id": "q5')
        query(src, "openai/m", out=out, base_url=server.url, cache=tmp_path / "c",
              max_connections=4)
        second = asked()[len(first):]
    ids = ids_of(out)
    assert sorted(ids) == sorted(f"q{i}" for i in range(200)) and len(ids) == 200
    # nothing answered before the interruption is asked again (the failed line is served from
    # the cache); only requests in flight when it was cancelled (at most 4) are repeated. The
    # answers that finished before the cancel are written, even behind a gap (with 60 prompts
    # all of them could finish before the tenth was written: nothing was left to resume). The
    # callback cancels again for every answer the clean-up writes: that second cancellation
    # left the output lock held and the run sheet unwritten, and the resume was refused
    assert not answered_before & set(second)
    assert len(set(first) & set(second)) <= 4
    assert len(second) == len(set(second)) and len(first) == len(set(first))
    assert all("response" in json.loads(line) for line in open(out))


def test_read_done_drops_errors_and_partial_lines(tmp_path):
    out = tmp_path / "o.jsonl"
    out.write_text('{"id": "a", "response": "x"}\n{"id": "b", "error": "E"}\n'
                   '{"id": "a", "response": "dup"}\n{"id": "c", "resp')
    assert set(read_done(out)) == {"a"}
    assert out.read_text() == '{"id": "a", "response": "x"}\n'


def test_samples_sampled_and_greedy(tmp_path, prompts):
    src = prompts(4)
    with FakeServer() as server:
        recs = query(src, "openai/m", out=tmp_path / "s.jsonl", base_url=server.url,
                     cache=tmp_path / "c", samples=3, temperature=0.9, seed=1)
        assert len(server.requests) == 12
        assert [r["id"] for r in recs[:3]] == ["q0#0", "q0#1", "q0#2"]
        assert {r["sample_of"] for r in recs[:3]} == {"q0"}
        assert len({r["response"] for r in recs[:3]}) == 3
        n = len(server.requests)
        greedy = query(src, "openai/m", base_url=server.url, cache=tmp_path / "c", samples=3)
        assert len(server.requests) == n + 4                        # one call per prompt
        assert len(greedy) == 12 and len({r["response"] for r in greedy[:3]}) == 1


def test_pope_question_file_is_queried_directly(tmp_path):
    Image.new("RGB", (32, 32)).save(tmp_path / "COCO_val2014_000000000042.jpg")
    q = tmp_path / "coco_pope_random.json"
    with open(q, "w") as fh:
        for i, (obj, label) in enumerate([("dog", "yes"), ("cat", "no")], 1):
            fh.write(json.dumps({"question_id": i, "image": "COCO_val2014_000000000042.jpg",
                                 "text": f"Is there a {obj} in the image?",
                                 "label": label}) + "\n")
    with FakeServer(responder=lambda p, b: "Yes, there is." if "dog" in p else "No.") as server:
        query(q, "openai/m", out=tmp_path / "answers.jsonl", base_url=server.url, cache=False)
    recs = read_records(tmp_path / "answers.jsonl")
    assert [(r.id, r.task, r.label, r.response) for r in recs] == [
        ("1", "yes-no", "yes", "Yes, there is."), ("2", "yes-no", "no", "No.")]
    assert recs[0].prompt == "Is there a dog in the image?" and recs[0].image_id == 42
    assert recs[0].image_path().is_file()


def test_bad_prompts_fail_before_any_call(tmp_path):
    from halluscope.errors import InputError
    src = tmp_path / "p.jsonl"
    src.write_text('{"id": "a", "prompt": "x"}\n{"id": "a", "prompt": "y"}\n{"id": "b"}\n'
                   'not json\n')
    with FakeServer() as server:
        with pytest.raises(InputError) as info:
            query(src, "openai/m", base_url=server.url, cache=False)
        assert server.requests == []
    msg = str(info.value)
    assert "duplicate id 'a'" in msg and "field 'prompt'" in msg and "invalid JSON" in msg


def test_image_urls_need_permission(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"id": "u", "image": "http://127.0.0.1:9/x.png",
                               "prompt": "hi"}) + "\n")
    with FakeServer() as server:
        recs = query(src, "openai/m", base_url=server.url, cache=False)
        assert server.requests == []
    assert "ImageError" in recs[0]["error"] and "--allow-urls" in recs[0]["error"]


def test_an_answer_whose_server_names_no_model_says_null_beside_the_requested_model(
        tmp_path, prompts):
    src = prompts(4)
    with FakeServer(script={"picture 1?": ["no_model"], "picture 2?": ["no_model"]}) as server:
        result = asyncio.run(aquery(src, "openai/gpt-test", out=tmp_path / "out.jsonl",
                                    base_url=server.url, cache=False))
    lines = {r["id"]: r for r in map(json.loads, open(tmp_path / "out.jsonl"))}
    for rid in ("q1", "q2"):
        assert lines[rid]["model"] is None and lines[rid]["requested_model"] == "gpt-test"
    for rid in ("q0", "q3"):
        assert lines[rid]["model"] == "gpt-test" and "requested_model" not in lines[rid]
    assert result.runsheet["reported_models"] == {"gpt-test": 2}
    assert result.runsheet["model_not_reported"] == 2
    assert result.runsheet["model_mismatch"] is False
    # audit reads them as before: the model asked, the answer scored
    assert {r.id: r.model for r in read_records(tmp_path / "out.jsonl")} == {
        f"q{i}": "gpt-test" for i in range(4)}
