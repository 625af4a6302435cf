"""``halluscope query`` leftovers of a user hunt, driven as a user drives it against loopback
servers: a prompt whose image fails is named by its prompts file, line and field, on every
adapter and on the Ray engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fake_openai_server import FakeServer
from fake_vendor_servers import VendorServer

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"OPENAI_API_KEY": "sk-left6-test-0000", "ANTHROPIC_API_KEY": "sk-ant-left6-0000",
        "GEMINI_API_KEY": "AIzaLeft6-0000"}


def _bad_image_prompts(tmp_path: Path) -> Path:
    Image.new("RGB", (32, 24), (5, 100, 200)).save(tmp_path / "ok.png")
    (tmp_path / "text.png").write_text("not an image at all")
    (tmp_path / "folder.png").mkdir()
    rows = [("ok", "ok.png"), ("gone", "missing.png"), ("text", "text.png"),
            ("dir", "folder.png")]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": i, "image": im, "prompt": f"Describe {i}"}) + "\n"
                           for i, im in rows))
    return src


def _text_prompts(tmp_path: Path, n: int = 5) -> Path:
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps({"id": f"t{i}", "prompt": f"Say {i}"}) + "\n"
                           for i in range(n)))
    return src


def _query(tmp_path: Path, model: str, base: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **KEYS, PYTHONPATH=str(ROOT), COLUMNS="80",
               HALLUSCOPE_CACHE=str(tmp_path / "cache"))
    env.pop("GOOGLE_API_KEY", None)
    cmd = [sys.executable, "-m", "halluscope", "query", "p.jsonl", "-m", model,
           "--base-url", base, "-o", "out.jsonl", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)


def _check_named_by_line(tmp_path: Path, res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 1, res.stdout + res.stderr
    lines = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text()
                                     .splitlines())}
    assert "response" in lines["ok"]
    for rid, line in (("gone", 2), ("text", 3), ("dir", 4)):
        assert lines[rid]["error"].startswith(f"ImageError: p.jsonl:{line}: field 'image': "), \
            lines[rid]["error"]
        assert "refused" not in lines[rid]
    said = " ".join((res.stdout + res.stderr).split())
    assert "p.jsonl:2: field 'image': image not found: missing.png" in said


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_a_failed_image_is_named_by_prompts_file_line_and_field(provider, tmp_path):
    """A missing file, a file that is no image and a folder were reported by record id and
    image path only (``ImageError (gone): image not found: missing.png``), never the prompts
    file and line a user opens to fix them, as every other bad prompt line is."""
    _bad_image_prompts(tmp_path)
    if provider == "openai":
        with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
            res = _query(tmp_path, "openai/m", server.url)
    else:
        with VendorServer(provider) as server:
            res = _query(tmp_path, f"{provider}/model-x", server.base)
    _check_named_by_line(tmp_path, res)


def test_a_failed_image_is_named_by_line_on_the_ray_engine(tmp_path):
    pytest.importorskip("ray.data", reason="Ray Data is not installed")
    _bad_image_prompts(tmp_path)
    with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
        res = _query(tmp_path, "openai/m", server.url, "--engine", "ray", "--ray-address",
                     "local", "--ray-workers", "1")
    _check_named_by_line(tmp_path, res)


@pytest.mark.parametrize("header", ['{"X-Team": "a\\nb"}', '{"X Team": "a"}',
                                    '{"X-Team": "caf\\u00e9"}'])
def test_a_header_http_refuses_stops_the_run_at_once(header, tmp_path):
    """An illegal header from ``-O default_headers=...`` (a newline in a value, a space in a
    name, a character outside ASCII) was retried as a lost connection (``LocalProtocolError``)
    or a malformed response (``UnicodeEncodeError``) ``--max-attempts`` times for every
    record, each failing the same way. It is the set-up, not the record: the run stops at once
    (exit 2) saying so, nothing sent and no record written failed."""
    _text_prompts(tmp_path)
    with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
        res = _query(tmp_path, "openai/m", server.url, "--no-cache", "--max-attempts", "5",
                     "-c", "1", "-O", f"default_headers={header}")
        assert server.requests == []
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    assert "the request cannot be sent as set up" in said and "attempts" not in said
    out = tmp_path / "out.jsonl"
    assert not out.exists() or not any("error" in json.loads(x)
                                       for x in out.read_text().splitlines())


@pytest.mark.parametrize("provider", ["gemini"])
def test_a_key_with_a_character_http_refuses_stops_the_run(provider, tmp_path):
    """A key pasted with a character outside ASCII (a typographic dash) cannot go in a header:
    every record was retried, then failed as a malformed response. The run stops at once.
    (Anthropic's SDK sends such a key as it is, and the server answers for it.)"""
    _text_prompts(tmp_path)
    env_key = "ANTHROPIC_API_KEY" if provider == "anthropic" else "GEMINI_API_KEY"
    before = dict(KEYS)
    KEYS[env_key] = "sk\u2011left6-0000"
    try:
        with VendorServer(provider) as server:
            res = _query(tmp_path, f"{provider}/model-x", server.base, "--no-cache", "-c", "1")
            assert server.requests == []
    finally:
        KEYS.update(before)
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    assert "the request cannot be sent as set up" in said


def test_a_header_http_refuses_stops_a_ray_run(tmp_path):
    pytest.importorskip("ray.data", reason="Ray Data is not installed")
    _text_prompts(tmp_path)
    with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
        res = _query(tmp_path, "openai/m", server.url, "--no-cache", "--engine", "ray",
                     "--ray-address", "local", "--ray-workers", "1", "-O",
                     'default_headers={"X-Team": "a\\nb"}')
        assert server.requests == []
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    assert "the request cannot be sent as set up" in said


def _proxied(tmp_path: Path, base: str, proxy: str, no_proxy: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **KEYS, PYTHONPATH=str(ROOT), HALLUSCOPE_CACHE=str(tmp_path / "c"),
               HTTP_PROXY=proxy, http_proxy=proxy, NO_PROXY=no_proxy, no_proxy=no_proxy)
    cmd = [sys.executable, "-m", "halluscope", "query", "p.jsonl", "-m", "openai/m",
           "--base-url", base, "-o", "out.jsonl", "--no-cache", "--max-attempts", "1", "-q"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)


def test_the_openai_adapter_honours_the_proxy_and_no_proxy(tmp_path):
    """The OpenAI-compatible adapter goes through the proxy ``HTTP_PROXY`` names (here the
    server is the proxy and the base URL a loopback address where nothing listens), and
    straight to a 127.0.0.1 server that ``NO_PROXY`` names past a proxy that is down."""
    _text_prompts(tmp_path, 2)
    with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
        res = _proxied(tmp_path, "http://127.0.0.2:9/v1", server.url.rsplit("/v1", 1)[0], "")
        asked = [h.get("host") for h in server.headers]
        assert res.returncode == 0, res.stdout + res.stderr
        assert asked == ["127.0.0.2:9"] * 2, asked
        (tmp_path / "out.jsonl").unlink()
        for no_proxy in ("127.0.0.1", "localhost,127.0.0.1"):
            res = _proxied(tmp_path, server.url, "http://127.0.0.1:9", no_proxy)
            assert res.returncode == 0, res.stdout + res.stderr
            (tmp_path / "out.jsonl").unlink()


def test_a_proxy_that_is_down_is_named_when_the_run_stops(tmp_path):
    """With ``HTTP_PROXY`` naming a proxy that is down and no ``NO_PROXY``, a run against a
    local server that is up stopped with "cannot reach http://127.0.0.1:.../v1 ... is the
    server running?", which it was: the message never named the proxy it went through."""
    _text_prompts(tmp_path, 6)
    with FakeServer(api_key=KEYS["OPENAI_API_KEY"]) as server:
        res = _proxied(tmp_path, server.url, "http://proxyuser:Secr3tPw9@127.0.0.1:9", "")
        assert server.requests == []
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2, said
    assert "asked through the proxy 127.0.0.1:9 that HTTP_PROXY " \
           "names (NO_PROXY=127.0.0.1 to go direct)" in said
    assert "Secr3tPw9" not in said and "proxyuser" not in said  # host:port only
