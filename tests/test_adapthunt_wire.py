"""``halluscope query`` driven as a user drives it, against loopback servers that answer as
Anthropic's Messages API and Gemini's generateContent answer on the wire
(:mod:`fake_vendor_servers`), and against a tiny random-weight local transformers model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fake_vendor_servers import VendorServer

ANTHROPIC_KEY = "sk-ant-api03-WIREHUNT7q2Zx9"
GEMINI_KEY = "AIzaSyWIREHUNT-3kq8Lm0pQ"
ROOT = Path(__file__).resolve().parents[1]


def _prompts(tmp_path: Path, words: list[str]) -> Path:
    Image.new("RGB", (64, 48), (200, 10, 10)).save(tmp_path / "cat.png")
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": w, "image": "cat.png",
                                       "prompt": f"Describe {w} please"}) + "\n"
                           for w in words))
    return src


def _run(tmp_path: Path, model: str, base: str | None, *args: str, timeout: float = 120
         ) -> subprocess.CompletedProcess:
    """``halluscope query`` in its own process, as a user runs it (keys from the
    environment, the cache under ``tmp_path``)."""
    env = dict(os.environ, ANTHROPIC_API_KEY=ANTHROPIC_KEY, GEMINI_API_KEY=GEMINI_KEY,
               PYTHONPATH=str(ROOT), COLUMNS="80", HALLUSCOPE_CACHE=str(tmp_path / "cache"))
    env.pop("GOOGLE_API_KEY", None)
    cmd = [sys.executable, "-m", "halluscope", "query", str(tmp_path / "p.jsonl"), "-m", model,
           "-o", str(tmp_path / "out.jsonl"), *args]
    if base:
        cmd += ["--base-url", base]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _lines(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_anthropic_monthly_spend_cap_stops_the_run_instead_of_retrying(tmp_path):
    """Anthropic's 429 for the tier's monthly spend cap (``error.details.error_code``
    ``enforced_spend_limit_reached``, no ``retry-after``) was retried as a rate limit: every
    record asked ``--max-attempts`` times, each failing, for a cap that lifts next month. It
    stops the run as OpenAI's ``insufficient_quota`` does."""
    _prompts(tmp_path, ["a1", "a2", "a3", "a4"])
    script = {w: ["spend"] * 10 for w in ("a1", "a2", "a3", "a4")}
    with VendorServer("anthropic", script, key=ANTHROPIC_KEY) as server:
        res = _run(tmp_path, "anthropic/claude-test-1", server.base, "--max-attempts", "4",
                   "-c", "1")
        asked = len(server.requests)
    text = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, text
    assert "quota exhausted (HTTP 429, enforced_spend_limit_reached)" in text
    assert asked == 1, f"the spend cap was asked {asked} times"


def test_anthropic_spend_limit_400_is_no_refusal_kept_by_a_resume(tmp_path):
    """A spend limit the organisation set answers HTTP 400 (``invalid_request_error``, "You have
    reached your specified API usage limits ..."). Read as a request rejected as sent, every
    record was written ``"refused": true`` and the resume after the limit was raised kept them
    all, asking nothing. It stops the run as a spent quota, and the re-run asks them."""
    _prompts(tmp_path, ["a1", "a2", "a3", "a4", "a5", "a6"])
    with VendorServer("anthropic", {"a1": ["spend400"]}) as server:
        res = _run(tmp_path, "anthropic/claude-test-1", server.base, "-c", "1")
        text = " ".join((res.stdout + res.stderr).split())
        assert res.returncode == 2, text
        assert "quota exhausted (HTTP 400" in text and "API usage limits" in text
        assert len(server.requests) <= 2  # the one in flight beside it may be answered
        assert not any(r.get("refused") for r in _lines(tmp_path / "out.jsonl").values())
        again = _run(tmp_path, "anthropic/claude-test-1", server.base, "-c", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert all("response" in r for r in _lines(tmp_path / "out.jsonl").values())


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_a_key_is_in_no_file_and_no_output_of_a_run(provider, tmp_path):
    """Every outcome at once -- answers, a truncated one, refusals, retried 429 and 5xx, a
    gateway that quotes the key back -- and the key is nowhere: the outputs, run sheet, lock,
    cache (SQLite bytes), stdout and stderr. The key was sent (the server saw it)."""
    key = ANTHROPIC_KEY if provider == "anthropic" else GEMINI_KEY
    over = "529" if provider == "anthropic" else "503"
    refuse = "refusal" if provider == "anthropic" else "safety"
    _prompts(tmp_path, ["w1", "w2", "w3", "w4", "w5", "w6"])
    script = {"w2": ["max_tokens"], "w3": [refuse], "w4": ["429", over, "ok"],
              "w5": ["echo_key"] * 9, "w6": [over] * 9}
    with VendorServer(provider, script, key=key) as server:
        res = _run(tmp_path, f"{provider}/model-x", server.base, "--max-attempts", "3",
                   "--system", "Answer briefly.")
        sent = [r["headers"] for r in server.requests]
    assert res.returncode == 1, res.stdout + res.stderr
    assert any(key in json.dumps(h) for h in sent)
    lines = _lines(tmp_path / "out.jsonl")
    assert lines["w1"]["response"].startswith("A photo for")
    assert lines["w3"]["refused"] is True and "response" not in lines["w3"]
    assert "<redacted>" in lines["w5"]["error"]
    assert lines["w6"]["error_status"] in (503, 529) and "3 attempts" in lines["w6"]["error"]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite3" for p in written)
    for path in written:
        assert key.encode() not in path.read_bytes(), f"the key leaked into {path}"
    assert key not in res.stdout + res.stderr


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_a_run_killed_midway_resumes_without_asking_again(provider, tmp_path):
    """``kill -9`` part way through a ``--no-cache`` run (no cache to fall back on), then the
    same command: the answers written before the kill are kept, the server is asked only for
    the others, and the file ends whole, in prompt order, each id once."""
    import signal
    import time

    words = [f"k{i}" for i in range(12)]
    _prompts(tmp_path, words)
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, ANTHROPIC_API_KEY=ANTHROPIC_KEY, GEMINI_API_KEY=GEMINI_KEY,
               PYTHONPATH=str(ROOT))
    with VendorServer(provider, latency=0.3) as server:
        cmd = [sys.executable, "-m", "halluscope", "query", str(tmp_path / "p.jsonl"), "-m",
               f"{provider}/model-x", "-o", str(out), "--base-url", server.base, "--no-cache",
               "-c", "2", "-q"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while (not out.exists() or len(out.read_text().splitlines()) < 4) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kept = [json.loads(x)["id"] for x in out.read_text().splitlines() if x.endswith("}")]
        assert 4 <= len(kept) < len(words)
        before = len(server.requests)
        res = _run(tmp_path, f"{provider}/model-x", server.base, "--no-cache", "-c", "2")
        asked = [r["body"] for r in server.requests[before:]]
    assert res.returncode == 0, res.stdout + res.stderr
    asked_words = {w for b in asked for w in words if f"Describe {w} please" in json.dumps(b)}
    assert not asked_words & set(kept), f"asked again: {sorted(asked_words & set(kept))}"
    assert asked_words == set(words) - set(kept)
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == words


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_retries_wait_what_the_server_asks_and_stop_at_max_attempts(provider, tmp_path):
    """A 429 asking for 1 s (Anthropic's ``retry-after`` header, Gemini's ``RetryInfo`` in the
    body) is waited before the next attempt; an overloaded server (529 / 503) is asked
    ``--max-attempts`` times and no more, and its record fails naming the status."""
    over = "529" if provider == "anthropic" else "503"
    _prompts(tmp_path, ["r1", "r2"])
    with VendorServer(provider, {"r1": ["429", "ok"], "r2": [over] * 9}) as server:
        res = _run(tmp_path, f"{provider}/model-x", server.base, "--max-attempts", "3")
        times = server.times
    assert res.returncode == 1, res.stdout + res.stderr
    assert len(times["r1"]) == 2 and times["r1"][1] - times["r1"][0] >= 0.95
    assert len(times["r2"]) == 3
    lines = _lines(tmp_path / "out.jsonl")
    assert lines["r1"]["response"].startswith("A photo for")
    assert lines["r2"]["error_status"] == int(over) and "refused" not in lines["r2"]
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["client"]["rate_limit_wait_s"] >= 0.95 and sheet["retry"]["max_attempts"] == 3
    assert sheet["model"]["provider"] == provider and sheet["model"]["model"] == "model-x"
    lib = {"anthropic": "anthropic", "gemini": "google-genai"}[provider]
    assert sheet["environment"]["libraries"][lib]


def test_a_run_an_unexpected_error_ends_has_a_run_sheet_saying_so(tmp_path):
    """An exception no adapter error names (a bug, a library's own failure) ends the run with
    exit 3; the run sheet it left said ``"aborted": null``, the sheet of a finished run, while
    the file held one answer of three."""
    from halluscope.adapters.mock import MockModel
    from halluscope.adapters.query import query

    class Breaks(MockModel):
        async def generate(self, request):
            if "b2" in request.messages[-1].text():
                raise ZeroDivisionError("a bug in an adapter")
            return await super().generate(request)

    _prompts(tmp_path, ["b1", "b2", "b3"])
    with pytest.raises(ZeroDivisionError):
        query(tmp_path / "p.jsonl", Breaks("echo"), out=tmp_path / "out.jsonl", cache=None,
              max_connections=1)
    sheet = json.loads((tmp_path / "out.jsonl.runsheet.json").read_text())
    assert sheet["aborted"] and "ZeroDivisionError: a bug in an adapter" in sheet["aborted"]


def test_a_local_model_that_fails_on_one_prompt_fails_that_record_only(tmp_path, monkeypatch):
    """A tiny random-weight Qwen2-VL, saved and loaded as a real one. ``model.generate``
    running out of memory on one prompt (an image larger than the rest) ended the whole run
    as an internal error (exit 3), and every resume met the same prompt and ended again: the
    run could never finish. That record fails, is not kept as a refusal (memory may be free
    next time), and the others are answered."""
    torch = pytest.importorskip("torch")
    from tiny_vlms import tiny_vlm
    from halluscope.adapters.query import query
    from halluscope.adapters.registry import get_model

    folder = tiny_vlm("qwen2vl", tmp_path / "vlms")
    _prompts(tmp_path, ["dog", "cat", "car"])   # words the tiny tokenizer knows
    api = get_model(f"hf/{folder}", device="cpu")
    api.load()
    cat = api._processor.tokenizer.convert_tokens_to_ids("cat")
    cls = type(api._model)
    real = cls.generate
    failed = []

    def generate(self, **kwargs):
        if not failed and (kwargs["input_ids"] == cat).any():  # the first time it is asked
            failed.append(1)
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20 GiB")
        return real(self, **kwargs)
    monkeypatch.setattr(cls, "generate", generate)
    records = query(tmp_path / "p.jsonl", api, out=tmp_path / "out.jsonl", cache=None,
                    max_tokens=3, max_connections=1)
    by_id = {r["id"]: r for r in records}
    assert "response" in by_id["dog"] and "response" in by_id["car"], records
    assert "CUDA out of memory" in by_id["cat"]["error"] and "refused" not in by_id["cat"]
    assert by_id["dog"]["finish_reason"] == "length"         # 3 tokens: cut at the limit
    again = query(tmp_path / "p.jsonl", api, out=tmp_path / "out.jsonl", cache=None,
                  max_tokens=3, max_connections=1)
    assert all("response" in r for r in again)


def test_an_error_out_of_query_carries_no_unrelated_context():
    """An exception raised out of ``halluscope.query`` (outside a running event loop) was
    chained to "RuntimeError: no running event loop" (the probe for a notebook's loop), and
    crash logs printed that first, "during handling of which" the real failure happened."""
    from halluscope.adapters.query import _run_sync

    async def fails():
        raise ZeroDivisionError("the real failure")
    with pytest.raises(ZeroDivisionError) as info:
        _run_sync(fails())
    assert info.value.__context__ is None


@pytest.mark.parametrize("provider, behaviour, said", [
    ("anthropic", "402", "HTTP 402"),
    ("gemini", "402", "HTTP 402"),
    ("gemini", "precondition", "FAILED_PRECONDITION"),
])
def test_an_account_that_cannot_be_served_stops_the_run(provider, behaviour, said, tmp_path):
    """Answers about the account, not the request: Anthropic's 402 ``billing_error`` and
    Gemini's 402 (prepaid credit spent) failed every record one by one, and Gemini's 400
    ``FAILED_PRECONDITION`` (no free tier in this country, billing off) wrote every record
    ``"refused": true``, kept by the resume after billing was turned on. They stop the run
    as refused credentials do (exit 2, nothing marked refused), and the re-run asks all."""
    words = ["a1", "a2", "a3", "a4", "a5", "a6"]
    _prompts(tmp_path, words)
    with VendorServer(provider, {"a1": [behaviour]}) as server:
        res = _run(tmp_path, f"{provider}/model-x", server.base, "-c", "1")
        text = " ".join((res.stdout + res.stderr).split())
        assert res.returncode == 2, text
        assert said in text
        assert len(server.requests) <= 2
        lines = _lines(tmp_path / "out.jsonl") if (tmp_path / "out.jsonl").exists() else {}
        assert not any(r.get("refused") for r in lines.values())
        again = _run(tmp_path, f"{provider}/model-x", server.base, "-c", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(_lines(tmp_path / "out.jsonl")) == sorted(words)


def test_a_local_answer_ended_by_any_of_the_models_end_tokens_is_complete(tmp_path,
                                                                         monkeypatch):
    """Models whose generation config names several end tokens (Gemma 3 ends a turn with
    ``<end_of_turn>``, Qwen2.5-VL with ``<|im_end|>`` or ``<|endoftext|>``) stop at any of
    them; an answer whose last allowed token was such an end token (not the tokenizer's own
    ``eos_token``) was written ``finish_reason: length``, an answer cut short."""
    torch = pytest.importorskip("torch")
    from tiny_vlms import tiny_vlm
    from halluscope.adapters.registry import get_model
    from halluscope.adapters.types import Decoding, Message, Request
    from fake_openai_server import ask_once

    folder = tiny_vlm("qwen2vl", tmp_path / "vlms")
    api = get_model(f"hf/{folder}", device="cpu")
    api.load()
    tok = api._processor.tokenizer
    end_of_turn = tok.convert_tokens_to_ids("<|endoftext|>")
    api._model.generation_config.eos_token_id = [tok.eos_token_id, end_of_turn]
    words = [tok.convert_tokens_to_ids(w) for w in ("a", "dog")]
    cls = type(api._model)

    def generate(self, **kwargs):
        ids = kwargs["input_ids"]
        return torch.cat([ids, torch.tensor([words + [end_of_turn]])], dim=1)
    monkeypatch.setattr(cls, "generate", generate)
    api.load = lambda: None             # keep the model loaded (and patched) for this call
    resp = ask_once(api, Request((Message.user("Describe it."),), Decoding(max_tokens=3)))
    assert resp.text == "a dog" and resp.finish_reason == "stop"


def test_decoding_anthropic_does_not_receive_is_said(tmp_path):
    """``-t 0`` (the default, for reproducible POPE answers) or ``-t 0.7 -n 2`` against
    Anthropic: the API version the SDK speaks takes no temperature, top_p or seed, so none
    went out, and the console said nothing while the run sheet's decoding read
    ``temperature: 0.0``. The console says the answers come at the model's default
    sampling."""
    _prompts(tmp_path, ["a1"])
    with VendorServer("anthropic") as server:
        res = _run(tmp_path, "anthropic/m", server.base, "-q")
        sent = [r["body"] for r in server.requests]
    assert res.returncode == 0, res.stdout + res.stderr
    assert not any("temperature" in b for b in sent)
    text = " ".join(res.stderr.split())
    assert "--temperature and --top-p were not sent" in text and "default sampling" in text


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_the_proxy_the_environment_names_is_used(provider, tmp_path):
    """Behind a proxy (``HTTP_PROXY``/``HTTPS_PROXY``, as on many company and cluster
    networks) the Gemini adapter connected directly: the transport it gives the SDK (to
    tolerate a non-string ``modelVersion``) made httpx ignore the environment's proxies, so
    every record failed ``ConnectFailed`` where the Anthropic adapter's went through. Here
    the server is the proxy, and the base URL a loopback port where nothing listens."""
    _prompts(tmp_path, ["a1"])
    with VendorServer(provider) as proxy:
        env = dict(os.environ, HTTP_PROXY=proxy.base, http_proxy=proxy.base, NO_PROXY="",
                   no_proxy="", ANTHROPIC_API_KEY=ANTHROPIC_KEY, GEMINI_API_KEY=GEMINI_KEY,
                   PYTHONPATH=str(ROOT), HALLUSCOPE_CACHE=str(tmp_path / "cache"))
        env.pop("GOOGLE_API_KEY", None)
        res = subprocess.run([sys.executable, "-m", "halluscope", "query",
                              str(tmp_path / "p.jsonl"), "-m", f"{provider}/m", "-o",
                              str(tmp_path / "out.jsonl"), "--base-url", "http://127.0.0.2:9",
                              "--max-attempts", "1", "-q"], env=env, capture_output=True,
                             text=True, timeout=120)
        asked = [r["path"] for r in proxy.requests]
    assert res.returncode == 0, res.stdout + res.stderr
    assert asked and asked[0].startswith("http://127.0.0.2:9/")
    assert _lines(tmp_path / "out.jsonl")["a1"]["response"].startswith("A photo for")


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_a_key_read_with_a_trailing_newline_is_sent_without_it(provider, tmp_path):
    """A key from a file or a Kubernetes secret often ends in a newline. Anthropic's was
    sent as it was, httpx refused the header value (``Illegal header value``), and every
    record was retried as a lost connection until it failed. The key is sent stripped."""
    key = ANTHROPIC_KEY if provider == "anthropic" else GEMINI_KEY
    _prompts(tmp_path, ["a1"])
    with VendorServer(provider, key=key) as server:
        env = dict(os.environ, ANTHROPIC_API_KEY=ANTHROPIC_KEY + "\n",
                   GEMINI_API_KEY=GEMINI_KEY + "\n", PYTHONPATH=str(ROOT),
                   HALLUSCOPE_CACHE=str(tmp_path / "cache"))
        env.pop("GOOGLE_API_KEY", None)
        res = subprocess.run([sys.executable, "-m", "halluscope", "query",
                              str(tmp_path / "p.jsonl"), "-m", f"{provider}/m", "-o",
                              str(tmp_path / "out.jsonl"), "--base-url", server.base,
                              "--max-attempts", "2", "-q"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert _lines(tmp_path / "out.jsonl")["a1"]["response"].startswith("A photo for")
