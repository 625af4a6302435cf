"""halluscope.redact decides by the name a value is given under, not only by its shape: a
letters-only token, key or password under a credential name was echoed in messages (the secret
detector wanted a digit, a symbol or 20 characters)."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from halluscope.errors import ConfigError
from halluscope.redact import (REDACTED, is_secret_key, redact_mapping, redact_text, redact_url,
                               register_named_secret, register_options, register_url)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]      # closed again on exit: connections are refused


@pytest.mark.parametrize("address", ["127.0.0.1:1?token=TOPSECRETTOKEN",
                                     "127.0.0.1:1/?a=1&access_token=TOPSECRETTOKEN"])
def test_the_ray_cannot_reach_error_hides_a_letters_only_token(address):
    """The reviewer's case: the "cannot reach" error quoted the address as given."""
    from halluscope._ray import _check_reachable
    from halluscope.config import AuditConfig
    with pytest.raises(ConfigError, match="cannot reach the Ray cluster at 127.0.0.1:1") as got:
        _check_reachable(address, timeout=1)
    assert "TOPSECRETTOKEN" not in str(got.value) and f"token={REDACTED}" in str(got.value)
    assert "TOPSECRETTOKEN" not in repr(AuditConfig(engine="ray", ray_address=address))
    from types import SimpleNamespace

    from halluscope.engine_choice import make_engine
    with pytest.raises(ConfigError, match="is for --engine ray") as got:
        make_engine("local", 1, [], SimpleNamespace(ray_address=address), [], [])
    assert "TOPSECRETTOKEN" not in str(got.value) and "127.0.0.1:1" in str(got.value)


def test_a_letters_only_password_in_user_info_is_redacted_everywhere():
    for url in ("http://bob:opensesame@127.0.0.1:9/v1", "bob:opensesame@127.0.0.1:9/v1",
                "ray://bob:opensesame@127.0.0.1:1"):
        assert "opensesame" not in redact_url(url) and f"bob:{REDACTED}@" in redact_url(url)
        assert "opensesame" not in redact_text(f"cannot reach {url}: refused")
    register_url("http://bob:opensesame@127.0.0.1:9/v1")
    # quoted on its own (a library's message that dropped the URL around it)
    assert redact_text("login failed for password 'opensesame'") == (
        f"login failed for password '{REDACTED}'")
    # the audited text is never rewritten by a pattern or a named value
    assert redact_text("opensesame, said the model", patterns=False) == (
        "opensesame, said the model")
    assert redact_mapping({"response": "opensesame"}) == {"response": "opensesame"}


def test_a_base_url_with_a_letters_only_key_is_redacted():
    from halluscope.adapters.registry import check_base_url
    assert redact_url("http://h:8000/v1?key=abcdef") == f"http://h:8000/v1?key={REDACTED}"
    assert redact_url("h:8000/v1?key=abcdef&model=m") == f"h:8000/v1?key={REDACTED}&model=m"
    for url in ("127.0.0.1:8000/v1?key=abcdef", "ftp://h/v1?key=abcdef"):
        with pytest.raises(ConfigError) as got:
            check_base_url(url, name="option judge_base_url")
        assert "abcdef" not in str(got.value) and f"key={REDACTED}" in str(got.value)


def test_the_query_command_hides_a_letters_only_key_of_an_unreachable_server(tmp_path):
    from halluscope.cli import app
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "p0", "prompt": "Is there a dog?"}) + "\n")
    out = tmp_path / "out.jsonl"
    url = f"http://127.0.0.1:{_closed_port()}/v1?key=abcdef"
    res = CliRunner().invoke(app, ["query", str(prompts), "-m", "vllm/qwen-tiny", "--base-url",
                                   url, "-o", str(out), "-q", "--no-cache", "-c", "1"])
    assert "cannot reach" in res.output, res.output
    assert "abcdef" not in res.output
    for path in tmp_path.iterdir():
        if path.is_file():
            assert "abcdef" not in path.read_text(encoding="utf-8"), path.name


def test_names_decide_and_ordinary_names_stay_readable():
    text = ("?token=TOPSECRETTOKEN&api-key=abc&apikey=abc&pwd=abc&sig=abc&signature=abc"
            "&session=abc&credentials=abc&auth=abc&secret=abc&passwd=abc&x=keep&page=2"
            "&max_tokens=5&keyword=cat")
    out = redact_text(f"see 127.0.0.1:9/v1{text}")
    assert out.count(REDACTED) == 11
    assert "x=keep" in out and "page=2" in out and "max_tokens=5" in out and "keyword=cat" in out
    for name in ("pwd", "X-API-KEY", "credentials", "Authorization"):
        assert is_secret_key(name), name
    # in data, a bare "key", "session" or "signature" is a lookup key, a group, a hash
    assert redact_mapping({"key": "COCO_42", "session": "morning", "pwd": "abc"}) == {
        "key": "COCO_42", "session": "morning", "pwd": REDACTED}
    # a header given under a secret name: its letters-only value leaves messages too
    register_options({"default_headers": {"x-api-key": "lettersonlykey"}})
    assert redact_text("rejected lettersonlykey") == f"rejected {REDACTED}"


def test_placeholders_and_names_as_values_stay_readable():
    register_named_secret("EMPTY", "ollama", "PASSWORD", "TOKEN", "abc")
    text = "EMPTY ollama PASSWORD TOKEN abc"
    assert redact_text(text) == text


def test_an_image_fetch_error_hides_a_letters_only_signature():
    from halluscope.adapters.images import ImageLoader
    from halluscope.adapters.types import ImageError
    url = "https://bucket.example/cat.jpg?X-Amz-Signature=lettersonlysig&size=2"
    with pytest.raises(ImageError, match="fetching URLs is off") as got:
        ImageLoader(allow_urls=False).read(url)
    assert "lettersonlysig" not in str(got.value) and "size=2" in str(got.value)
    url = f"http://127.0.0.1:{_closed_port()}/cat.jpg?sig=lettersonlysig"
    with pytest.raises(ImageError, match="fetching") as got:
        ImageLoader(allow_urls=True, timeout=2).read(url)
    assert "lettersonlysig" not in str(got.value)
