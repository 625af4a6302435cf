"""Follow-ups of the adapter bug hunt: data: image URLs, reasoning kept out of answers, stop
strings of local models, Gemini's model version. Servers here are the loopback FakeServer."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from fake_openai_server import FakeServer
from halluscope.adapters import images
from halluscope.adapters.images import ImageLoader
from halluscope.adapters.query import query
from halluscope.adapters.types import ImageError


def _png(size=(20, 12), colour=(10, 200, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def _data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


# -- data: URLs are images, not missing files ------------------------------------------------
def test_a_data_url_image_is_read_and_hashed_as_its_bytes(tmp_path):
    """``data:image/png;base64,...`` was looked up as a file: "image not found"."""
    png = _png()
    (tmp_path / "a.png").write_bytes(png)
    loader = ImageLoader()
    url = _data_url(png)
    assert loader.read(url) == png
    assert loader.sha256(url) == loader.sha256(str(tmp_path / "a.png"))
    assert loader.open(url).size == (20, 12)
    wrapped = url[:40] + "\n" + url[40:]                  # base64 broken over lines
    assert loader.read(wrapped) == png


@pytest.mark.parametrize("url, said", [
    ("data:image/png;base64,@@@not-base64@@@", "not valid base64"),
    ("data:text/plain;base64,aGVsbG8=", "not an image"),
    ("data:image/png,%89PNG", "only base64"),
    ("data:image/png;base64,", "no data"),
])
def test_a_bad_data_url_is_a_clear_image_error(url, said):
    with pytest.raises(ImageError, match=said) as info:
        ImageLoader().read(url)
    assert "not found" not in str(info.value)


def test_a_data_url_over_the_size_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_DOWNLOAD_BYTES", 100)
    with pytest.raises(ImageError, match="larger than"):
        ImageLoader().read(_data_url(b"x" * 400))


def test_an_undecodable_data_url_error_does_not_repeat_the_whole_url():
    url = _data_url(b"not a picture at all" * 50)
    with pytest.raises(ImageError) as info:
        ImageLoader().open(url)
    assert len(str(info.value)) < 300 and "data:image/png;base64," in str(info.value)


def test_a_prompt_with_a_data_url_image_is_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-adaptfollow-0123456789")
    png = _png()
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "what?", "image": _data_url(png)}) + "\n")
    with FakeServer() as server:
        query(prompts, "openai/gpt-x", base_url=server.base, cache=None,
              out=tmp_path / "out.jsonl")
        sent = json.dumps(server.requests)
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert "error" not in line and isinstance(line["response"], str), line["error"]
    assert "data:image/" in sent and line["image"] == _data_url(png)


# -- a reasoning model's inline <think> block is not the answer ---------------------------------
THOUGHT = "The user asks what is shown. I see a dog, maybe a cat too."
REPLIES = {
    "closed": {"text": f"<think>\n{THOUGHT}\n</think>\n\nA dog on a sofa."},
    "cut": {"text": f"<think>\n{THOUGHT} Let me look ag", "finish_reason": "length"},
    "plain": {"text": "A dog on a sofa."},
    "later": {"text": "A dog. <think>not at the start</think> On a sofa."},
    "empty": {"text": "<think></think>A dog."},
}


def test_a_leading_think_block_is_kept_apart_from_the_answer(tmp_path, monkeypatch):
    """A reasoning model behind a server without a reasoning parser puts ``<think>...</think>``
    at the start of the content: the thoughts were written as the response and audited as
    the answer. A closed leading block goes to ``reasoning``; an unclosed one (cut at the
    token limit) leaves an empty answer whose finish_reason tells the cut; a ``<think>`` later
    in the text is the model's answer and kept as is."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-adaptfollow-0123456789")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": k, "prompt": f"q {k}"}) + "\n" for k in REPLIES))
    cache = tmp_path / "cache"
    for run in ("fresh", "cached"):
        out = tmp_path / f"{run}.jsonl"
        with FakeServer(responder=lambda prompt, body: REPLIES[prompt.split()[-1]]) as server:
            query(prompts, "openai/gpt-x", base_url=server.base, cache=cache, out=out)
        lines = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert lines["closed"]["response"] == "A dog on a sofa."
        assert lines["closed"]["reasoning"] == THOUGHT
        assert lines["cut"]["response"] == "" and lines["cut"]["finish_reason"] == "length"
        assert lines["cut"]["reasoning"].startswith(THOUGHT)
        assert lines["plain"]["response"] == "A dog on a sofa." and "reasoning" not in lines["plain"]
        assert lines["later"]["response"] == REPLIES["later"]["text"]
        assert "reasoning" not in lines["later"]
        assert lines["empty"]["response"] == "A dog." and lines["empty"]["reasoning"] == ""
        sheet = json.loads(out.with_name(out.name + ".runsheet.json").read_text())
        assert sheet["counts"]["reasoning"] == 3, sheet["counts"]
        assert sheet["counts"]["truncated"] == 1


def test_split_thoughts():
    from halluscope.adapters.types import split_thoughts
    assert split_thoughts("  <think>a</think>  b") == ("b", "a")
    assert split_thoughts("<think>a") == ("", "a")
    assert split_thoughts("b <think>a</think>") == ("b <think>a</think>", None)
    assert split_thoughts("<Think>a</Think>b") == ("<Think>a</Think>b", None)


# -- Gemini: a model version that is no string is unknown, as OpenAI's model -------------------
@pytest.mark.parametrize("version", [123, {"name": "x"}, ["v"], None, "gemini-x-001"])
def test_a_gemini_model_version_that_is_no_string_is_unknown(version, monkeypatch):
    """The SDK refused the whole body (a pydantic ValidationError, retried as malformed) and
    the record failed after 6 attempts; OpenAI's parser takes such a model as unknown."""
    import asyncio

    from halluscope.adapters.registry import get_model
    from halluscope.adapters.types import Message, Request
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-0123456789")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    body = {"candidates": [{"content": {"parts": [{"text": "A cat."}], "role": "model"},
                            "finishReason": "STOP"}], "modelVersion": version}

    async def ask(api):
        try:
            return await api.generate(Request((Message.user("x"),)))
        finally:
            await api.aclose()

    with FakeServer(responder=lambda prompt, b: {"body": body}) as server:
        resp = asyncio.run(ask(get_model("gemini/gemini-x", base_url=server.base)))
    assert resp.text == "A cat." and resp.finish_reason == "STOP"
    assert resp.model == (version if isinstance(version, str) else None)
