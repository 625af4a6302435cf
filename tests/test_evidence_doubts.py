"""Doubts a hunt of the evidence checks left (tests/test_evidence_hunt.py): image identity in
``halluscope query``, evidence sources that failed quietly, and region citations read too
kindly. Each test is a case that went wrong."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

# -- query: an image replaced with its size and modification time kept ---------------------------

_STAMP = (1_700_000_000, 1_700_000_000)


def _bmp(path: Path, colour) -> None:
    from PIL import Image
    Image.new("RGB", (8, 8), colour).save(path, format="BMP")   # same size for every colour
    os.utime(path, _STAMP)


def _replace(path: Path, colour, how: str) -> None:
    size = path.stat().st_size
    if how == "in place":
        _bmp(path, colour)
    else:
        other = path.with_name("other.bmp")
        _bmp(other, colour)
        os.replace(other, path)
    os.utime(path, _STAMP)
    assert path.stat().st_size == size and path.stat().st_mtime_ns == _STAMP[0] * 10**9


@pytest.mark.parametrize("how", ["in place", "renamed over"])
def test_an_image_replaced_with_size_and_mtime_kept_is_read_and_hashed_anew(tmp_path, how):
    """The loader's memos knew an image by path, size and mtime: a picture copied over another
    of the same size with its time kept (cp -p, rsync -a) was hashed and sent as the old one."""
    from halluscope.adapters.images import ImageLoader
    path = tmp_path / "img.bmp"
    _bmp(path, (255, 0, 0))
    loader = ImageLoader()
    old_bytes, old_hash = loader.read(str(path)), loader.sha256(str(path))
    _replace(path, (0, 0, 255), how)
    assert loader.read(str(path)) == path.read_bytes() != old_bytes
    assert loader.sha256(str(path)) != old_hash


def _ask(client, path: Path) -> str:
    from halluscope.adapters.types import Message, Request
    return asyncio.run(client.generate(Request((Message.user("Describe.", [str(path)]),)))).text


def test_query_does_not_answer_a_replaced_image_from_the_cache(tmp_path):
    """`halluscope query` served the old image's answer for a same-size image copied over it
    with its time kept; an unchanged image still hits the persisted cache, in a new process
    and after a chmod (its key is the bytes' sha256, which the stamp never enters)."""
    from halluscope.adapters.cache import ResponseCache
    from halluscope.adapters.client import ModelClient as Client
    from halluscope.adapters.mock import MockModel
    path = tmp_path / "img.bmp"
    _bmp(path, (255, 0, 0))
    seen = []

    def responder(request):
        seen.append(request.images()[0].data)
        return f"answer {len(seen)}"
    client = Client(MockModel(responder=responder), cache=ResponseCache(tmp_path / "cache"))
    assert _ask(client, path) == "answer 1"
    _replace(path, (0, 0, 255), "in place")
    assert _ask(client, path) == "answer 2"
    assert seen[1] == path.read_bytes() != seen[0] and client.cache_hits == 0
    os.chmod(path, 0o600)                                # a new change time, the same bytes
    warm = Client(MockModel(responder=responder), cache=ResponseCache(tmp_path / "cache"))
    assert _ask(warm, path) == "answer 2" and warm.cache_hits == 1 and len(seen) == 2
