"""The cache key of a model request: the sha256 of a canonical JSON document
(:func:`key_material`, hashed by :func:`hash_material`) holding exactly what decides an answer.
:class:`~halluscope.adapters.cache.ResponseCache` stores answers under it.

The document holds:

* the provider, the endpoint (base URL without credentials or query: another server that serves
  a model of the same name is asked anew) and the resolved model pin (dated snapshot, hub
  revision or weights hash),
* every message, with images replaced by the sha256 of their bytes and the image policy that
  decided what was sent, and, for an image that is not sent as its own bytes, the sha256 of
  what is sent in its place (``sent``): the bytes :func:`~halluscope.adapters.images.prepare`
  made (shrunk, re-encoded, turned upright, 16-bit scaled) for an HTTP provider, the decoded
  pixels a local model's processor is handed (the adapter's ``sent_image_digest``). A change
  to image preparation therefore moves the keys of exactly the images whose prepared bytes or
  pixels it changed (their answers were asked with another picture: asked again, counted as
  misses), and no other; an image sent as its own bytes keeps the key it always had. (A new
  Pillow whose encoder writes other bytes moves the keys of the re-encoded images too: the
  model would be sent other bytes.) The key names what is sent rather than a version number
  of the rules, which would move every image's key at each change. Entries cached before the
  key named ``sent`` (for images a policy re-encoded, and for every image a local model was
  given) cannot tell which picture they were asked with: they miss once and are asked again,
  counted as ``superseded`` (:meth:`~halluscope.adapters.cache.ResponseCache.describe`, the
  run sheet) and warned about.
  Working out ``sent`` costs a preparation (a second or more for a large photo), so the
  cache file remembers each image's digest in a table of its own (``sent_images``), under the
  identity of the code and libraries that prepare it (its source files, Pillow, numpy:
  :func:`~halluscope.adapters.images.preparer_identity`); an edit of that code prepares each
  image once more to name it, and moves no key whose picture it left alone,
* the decoding parameters (temperature, top_p, max_tokens, seed, stop),
* the sample index when decoding is sampled (temperature > 0), the seed a further sample sends
  when it is not the decoding's own (:attr:`Request.seed`), and the replicate number of a
  deliberate repeat,
* an adapter's own settings that change what the model sees or how it answers
  (``answer_settings``, when it has any: a local model's ``processor_kwargs`` such as Qwen's
  ``max_pixels``, the device type, dtype and attention implementation it runs with, and the
  installed transformers and torch versions), and an image's detail as sent: the request's,
  else the adapter's default
  (``default_detail``: the OpenAI ``detail`` given as a provider option).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from halluscope.adapters.types import ImagePart, Request

KEY_VERSION = 1  # adding the endpoint changed the keys of HTTP providers only: no bump needed


def key_material(provider: str, pin: str, request: Request, image_hashes: list[str],
                 image_policy: dict[str, Any] | None,
                 endpoint: str | None = None,
                 settings: dict[str, Any] | None = None,
                 default_detail: str | None = None,
                 sent_images: list[str | None] | None = None) -> dict[str, Any]:
    """The canonical document whose hash is the cache key (see the module docstring).
    ``sent_images``: for each image, the digest of what is sent in its place, or ``None``
    where that is the image's bytes."""
    hashes = iter(image_hashes)
    sent = iter(sent_images or [None] * len(image_hashes))
    messages = []
    for m in request.messages:
        parts = []
        for p in m.content:
            if isinstance(p, ImagePart):
                part = {"image": next(hashes), "detail": p.detail or default_detail}
                sent_digest = next(sent)
                if sent_digest is not None:
                    part["sent"] = sent_digest
                parts.append(part)
            else:
                parts.append({"text": p.text})
        messages.append({"role": m.role, "content": parts})
    doc: dict[str, Any] = {
        "v": KEY_VERSION, "provider": provider, "model": pin, "messages": messages,
        "decoding": request.decoding.to_dict(),
    }
    if endpoint:
        doc["endpoint"] = endpoint
    if settings:        # none: the keys of adapters without settings stay as they were
        doc["settings"] = settings
    if request.images():
        doc["image_policy"] = image_policy
    if request.decoding.sampled:
        doc["sample"] = request.sample_index
    if request.seed != request.decoding.seed:
        # a further sample's own seed (Request.seed): samples cached when every one went out
        # with the one seed (the same draw N times) are not served as distinct draws
        doc["seed_sent"] = request.seed
    if request.replicate:
        doc["replicate"] = request.replicate
    return doc


def superseded_key(doc: dict[str, Any]) -> str | None:
    """The key ``doc`` had before the key named what is sent for an image (``sent``), when it
    names any: an answer there was asked with the image as an older halluscope prepared it."""
    if not any("sent" in part for m in doc["messages"] for part in m["content"]):
        return None
    old = dict(doc, messages=[dict(m, content=[{k: v for k, v in part.items() if k != "sent"}
                                               for part in m["content"]])
                              for m in doc["messages"]])
    return hash_material(old)


def hash_material(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
