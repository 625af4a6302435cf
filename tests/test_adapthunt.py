"""A user-style hunt through the model adapters and judges against loopback servers: each test
is a bug that was found this way (the fix named in its docstring)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from fake_openai_server import FakeServer, ask_once
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import Message, Request
from halluscope.errors import ConfigError
from halluscope.judges.spec import load_spec

REPO_JUDGES = Path(__file__).resolve().parents[1] / "judges"

ANTHROPIC_KEY = "sk-ant-hunt-0123456789"


def test_anthropic_base_url_with_a_query_string_keeps_its_path(monkeypatch):
    """A gateway address carrying its own query (``?key=...``) was glued in front of the
    SDK's path (``/?key=.../v1/messages``: HTTP 404 for every prompt); the query now goes
    with every request as the OpenAI-compatible adapter sends it."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    with FakeServer() as server:
        api = get_model("anthropic/claude-hunt", base_url=server.base + "/?key=GATEWAY1234567")
        resp = ask_once(api, Request((Message.user("hello"),)))
        base = server.base
    assert resp.text == "echo: hello"
    assert api.describe()["base_url"] == base + "/"     # never the key


@pytest.mark.parametrize("line", ["top_p = 1.5", "top_p = 0.0", "top_p = nan",
                                  "temperature = inf", "temperature = nan"])
def test_a_judge_spec_with_decoding_no_request_can_carry_is_refused_when_loaded(tmp_path, line):
    """A spec with ``top_p = 1.5`` (or an infinite temperature) was listed and shown as
    valid, then crashed the audit as an internal error (exit 3, ``ValueError: expected top_p
    in (0, 1]``) when the judge was built; it is a bad spec, named with the file and field."""
    shutil.copytree(REPO_JUDGES / "templates", tmp_path / "templates")
    text = (REPO_JUDGES / "gpt-4o-2024-08-06.toml").read_text()
    key = line.split()[0]
    kept = [raw for raw in text.splitlines() if not raw.startswith(f"{key} =")]
    at = kept.index("[decoding]") + 1
    spec = tmp_path / "bad.toml"
    spec.write_text("\n".join([*kept[:at], line, *kept[at:]]) + "\n")
    with pytest.raises(ConfigError, match=key):
        load_spec(spec)


def _sixteen_bit(width: int, fmt: str) -> bytes:
    """A 16-bit grayscale left-to-right ramp over the whole 0..65535 range."""
    import io

    import numpy as np
    from PIL import Image
    ramp = np.linspace(0, 65535, width, dtype=np.float64).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(np.tile(ramp, (60, 1))).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("width, fmt, name", [(3000, "PNG", "openai"), (400, "TIFF", "anthropic"),
                                              (400, "TIFF", "gemini")])
def test_a_16_bit_image_is_sent_as_itself_not_white(width, fmt, name):
    """A 16-bit grayscale image (an X-ray, a depth map, a microscope frame) that had to be
    re-encoded (resized, or a format the provider does not take) was converted to 8 bits by
    clipping: everything above 255 of 65535 became white, and the model was asked about a
    blank picture (98% white pixels for a full-range ramp). It is scaled to 8 bits instead."""
    import io

    import numpy as np
    from PIL import Image

    from halluscope.adapters.images import POLICIES, prepare
    prepared = prepare(_sixteen_bit(width, fmt), POLICIES[name])
    assert prepared.resized              # re-encoded
    gray = np.asarray(Image.open(io.BytesIO(prepared.data)).convert("L"), dtype=np.float64)
    assert (gray == 255).mean() < 0.05
    assert 110 < gray.mean() < 145                    # the ramp's middle grey, not white
    row = gray[gray.shape[0] // 2]
    assert row[0] < 10 and row[-1] > 245               # dark on the left, light on the right


def test_a_16_bit_image_reaches_a_local_model_as_itself():
    """The same clipping for local (``hf/``) models, which get a PIL image."""
    import numpy as np

    from halluscope.adapters.images import part_image
    from halluscope.adapters.types import ImagePart
    img = part_image(ImagePart("ramp.png", data=_sixteen_bit(300, "PNG")))
    gray = np.asarray(img.convert("L"), dtype=np.float64)
    assert img.mode == "RGB" and 110 < gray.mean() < 145 and (gray == 255).mean() < 0.05


def test_a_16_bit_image_reaches_a_detector_as_itself(tmp_path):
    """The image loader that evidence reads (detectors, segmenters) clipped alike."""
    import numpy as np

    from halluscope.adapters.images import ImageLoader
    (tmp_path / "ramp.png").write_bytes(_sixteen_bit(300, "PNG"))
    gray = np.asarray(ImageLoader().open(str(tmp_path / "ramp.png")).convert("L"), dtype=float)
    assert 110 < gray.mean() < 145 and (gray == 255).mean() < 0.05


def test_an_azure_endpoint_keeps_the_api_version_its_url_names(monkeypatch):
    """An Azure endpoint copied with its ``?api-version=...`` was sent with the default
    version instead (2024-10-21, or ``$OPENAI_API_VERSION``), silently: the URL's version is
    the one the user asked for. An ``api_version`` option still wins."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-hunt-0123456789")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    seen = []

    def respond(prompt, body):
        return "fine"
    with FakeServer(responder=respond) as server:
        import fake_openai_server as fake
        handler_post = fake._Handler.do_POST

        def recording_post(self):
            seen.append(self.path)
            return handler_post(self)
        monkeypatch.setattr(fake._Handler, "do_POST", recording_post)
        for options in ({}, {"api_version": "2024-02-01"}):
            api = get_model("azure/deploy", base_url=server.base + "/?api-version=2025-01-01",
                            **options)
            assert ask_once(api, Request((Message.user("hi"),))).text == "fine"
    assert seen[0].endswith("/openai/deployments/deploy/chat/completions?api-version=2025-01-01")
    assert seen[1].endswith("?api-version=2024-02-01")


@pytest.mark.parametrize("provider", ["vllm", "gemini"])
def test_samples_drawn_with_a_seed_are_not_one_sample_n_times(provider, tmp_path, monkeypatch):
    """``-n 4 -t 0.7 --seed 3`` sent seed 3 with every sample: a server that honours the seed
    (vLLM, Gemini) gave the same answer four times, and Self-Consistency@N read a perfectly
    consistent model. The first sample keeps the seed asked for; each other sample gets its
    own, derived from it (the same in every run)."""
    from halluscope.adapters.query import query
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-hunt-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "describe"}\n')
    runs = []
    for _ in range(2):
        with FakeServer() as server:
            query(prompts, f"{provider}/m", base_url=server.url if provider == "vllm"
                  else server.base, cache=False, samples=4, temperature=0.7, seed=3)
            runs.append(sorted(b.get("seed", b.get("generationConfig", {}).get("seed"))
                               for b in server.requests))
    assert len(set(runs[0])) == 4 and 3 in runs[0] and runs[0] == runs[1]
    assert all(0 <= s < 2 ** 31 for s in runs[0])           # Gemini's seed is an int32


@pytest.mark.parametrize("spec, option", [("qwen2.5-vl-7b-instruct", "revision"),
                                          ("gpt-4o-2024-08-06", "pin")])
def test_judge_options_cannot_replace_the_pin(spec, option, tmp_path, monkeypatch):
    """``--option 'judge_options={"revision": "<other commit>"}'`` ran the judge at another
    revision while the run sheet's ``pin`` (and every verdict's provenance) still named the
    spec's; the served name matched, so no mismatch was flagged either. What a spec pins is
    changed by writing another spec, never by an option."""
    from halluscope.config import AuditConfig
    from halluscope.judges.loading import judge_from_config, load_judge
    monkeypatch.setenv("OPENAI_API_KEY", "sk-hunt-0123456789")
    with pytest.raises(ConfigError, match=rf"{option}.*pins"):
        load_judge(spec, cache_dir=tmp_path, **{option: "0123abcd"})
    config = AuditConfig(judge=spec, cache_dir=tmp_path,
                         options={"judge_options": {option: "0123abcd"}})
    with pytest.raises(ConfigError, match=rf"{option}.*pins"):
        judge_from_config(config)


def _gemini_quota_429(monkeypatch, message: str, quota_id: str, delay: str, expected):
    """Ask a Gemini adapter once against a fake server that answers every request with a 429
    naming ``quota_id`` and ``delay`` (``google.rpc`` details, as Gemini sends them); return
    the ``expected`` exception raised."""
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-hunt-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    import fake_openai_server as fake

    def quota(self, kind, prompt, model, body):
        return self._json(429, {"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED", "message": message,
            "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                         "violations": [{"quotaId": quota_id}]},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                         "retryDelay": delay}]}})
    monkeypatch.setattr(fake._Handler, "_answer", quota)
    with FakeServer() as server:
        api = get_model("gemini/g", base_url=server.base)
        with pytest.raises(expected) as caught:
            ask_once(api, Request((Message.user("hi"),)))
    return caught.value


def test_gemini_429_waits_the_retry_delay_its_body_names(monkeypatch):
    """Gemini sends no Retry-After header: a 429's wait is a ``google.rpc.RetryInfo`` in the
    body (``"retryDelay": "1.25s"``, a protobuf duration). It was ignored, so the backoff
    (0.5 s, 1 s, 2 s, ... ) spent every attempt inside a per-minute quota window that asked
    for ~50 s, and the records failed; the delay is now honoured as Retry-After is."""
    from halluscope.adapters.types import RateLimited
    error = _gemini_quota_429(monkeypatch, "You exceeded your current quota. Please retry in "
                              "1.25s.", "PerMinute", "1.250s", RateLimited)
    assert error.retry_after == pytest.approx(1.25)


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_a_system_only_request_reaches_anthropic_and_gemini_with_a_user_turn(provider,
                                                                               monkeypatch):
    """A judge prompt whose role is ``system`` (Object HalBench's extraction prompt, sent as the
    original scorer sends it) is the whole conversation. Anthropic's ``messages`` and Gemini's
    ``contents`` must hold at least one turn ("messages: at least one message is required"),
    so every such call was refused with HTTP 400 on those providers; the text now goes as the
    user's turn there (OpenAI-compatible servers still get it as the system message)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-hunt-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    api = get_model(f"{provider}/m", base_url="http://127.0.0.1:9")
    kwargs = api.build(Request((Message.system("List the objects in: a dog on a sofa"),)))
    asyncio.run(api.aclose())
    if provider == "anthropic":
        assert "system" not in kwargs
        assert kwargs["messages"] == [{"role": "user", "content": [
            {"type": "text", "text": "List the objects in: a dog on a sofa"}]}]
    else:
        assert kwargs["config"].system_instruction is None
        [turn] = kwargs["contents"]
        assert turn.role == "user" and turn.parts[0].text == "List the objects in: a dog on a sofa"


def test_gemini_per_day_quota_is_not_waited_out(monkeypatch):
    """A 429 whose ``QuotaFailure`` names a per-day quota resets in hours: waiting its retry
    delay (up to the 120 s cap, six times per record) only stretched a run that cannot succeed
    today. It stops the run at once, as OpenAI's ``insufficient_quota`` does."""
    from halluscope.adapters.types import AuthError
    error = _gemini_quota_429(monkeypatch, "You exceeded your quota.",
                              "GenerateRequestsPerDayPerProjectPerModel", "38s", AuthError)
    assert "per-day quota GenerateRequestsPerDay" in str(error)


def test_a_claude_reply_cut_by_the_context_window_is_cut_short(tmp_path, monkeypatch):
    """Claude's ``stop_reason`` ``model_context_window_exceeded`` ends a reply that ran out of
    room, as ``max_tokens`` does; it was read as a finished answer: not counted as truncated by
    ``query``, and parsed as a verdict when a judge's reply."""
    from halluscope.adapters.query import query
    from halluscope.adapters.types import cut_at_token_limit
    assert cut_at_token_limit("model_context_window_exceeded")
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    reply = {"body": {"id": "msg_1", "type": "message", "role": "assistant", "model": "c",
                      "content": [{"type": "text", "text": "A dog sits on a"}],
                      "stop_reason": "model_context_window_exceeded", "stop_sequence": None,
                      "usage": {"input_tokens": 3, "output_tokens": 5}}}
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "describe"}\n')
    with FakeServer(responder=lambda prompt, body: reply) as server:
        query(prompts, "anthropic/c", base_url=server.base, cache=False, out=tmp_path / "o.jsonl")
    import json
    sheet = json.loads((tmp_path / "o.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["truncated"] == 1


def test_a_sample_cached_before_its_seed_was_its_own_is_not_served(tmp_path):
    """Samples after the first used to go out with the one seed (the same answer N times
    from a server honouring it) and were cached under keys that do not say which seed went
    out; now that each sample sends its own seed, its key names that seed, so a sample cached
    the old way is asked again rather than served as a distinct draw."""
    from halluscope.adapters.cache import hash_material, key_material
    from halluscope.adapters.types import Decoding
    sampled = Decoding(temperature=0.7, seed=3)
    first, second = (Request((Message.user("describe"),), sampled, sample_index=k)
                     for k in (0, 1))
    old_second = {"v": 1, "provider": "vllm", "model": "m", "endpoint": "http://h/v1",
                  "messages": [{"role": "user", "content": [{"text": "describe"}]}],
                  "decoding": sampled.to_dict(), "sample": 1}
    new_second = key_material("vllm", "m", second, [], None, endpoint="http://h/v1")
    assert hash_material(new_second) != hash_material(old_second)
    assert key_material("vllm", "m", first, [], None, endpoint="http://h/v1") == {
        **old_second, "sample": 0}                          # the first sample's key is kept


LONG_KEY = "sk-HUNTsecretKEY9876543210abcdefXYZ"


@pytest.mark.parametrize("provider", ["vllm", "anthropic", "gemini"])
def test_a_key_the_server_echoes_is_never_cut_in_half_into_the_message(provider, monkeypatch):
    """Server messages are shortened (300 characters) before they reach a record's error; a
    key echoed where the cut fell was shortened too, so the whole key no longer matched and its
    first 10-20 characters stood in the error, the output file and the summary. Messages are
    now redacted before they are shortened."""
    from halluscope.adapters.client import ModelClient, RetryPolicy
    from halluscope.adapters.types import AdapterError
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.setenv(var, LONG_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    import fake_openai_server as fake
    pads = iter(range(262, 302, 3))

    def echo(self, kind, prompt, model, body):
        text = "x" * next(pads) + f" your key {LONG_KEY} is not valid"
        return self._json(400, {"error": {"code": 400, "message": text,
                                          "status": "INVALID_ARGUMENT"}})
    monkeypatch.setattr(fake._Handler, "_answer", echo)
    seen = []

    async def main(url):
        client = ModelClient(get_model(f"{provider}/m", base_url=url),
                             retry=RetryPolicy(max_attempts=1))
        try:
            for k in range(13):
                with pytest.raises(AdapterError) as caught:
                    await client.generate(Request((Message.user(f"q{k}"),)), use_cache=False)
                seen.append(str(caught.value))
        finally:
            await client.aclose()
    with FakeServer() as server:
        asyncio.run(main(server.url if provider == "vllm" else server.base))
    leaked = [m for m in seen if LONG_KEY[:6] in m]
    assert not leaked, leaked[0][-80:]
