"""A mock model inside the package, for tests, examples and dry runs (``mock/<behaviour>``).

==============  ===================================================================================
behaviour       answer
==============  ===================================================================================
``echo``        the text of the last user message
``yes`` / ``no``  ``Yes.`` / ``No.``
``yes-no``      ``Yes.`` or ``No.``, a deterministic function of prompt, images and (when sampled)
                the sample index and seed
``caption``     a short caption built from a fixed vocabulary, chosen the same way
``script``      the first ``responses`` entry whose key occurs in the prompt, else ``default``
==============  ===================================================================================

Options: ``latency`` (seconds per call), ``responses`` (dict, for ``script``), ``default``,
``responder`` (a callable ``Request -> str`` that overrides the behaviour). The reported model
name is the behaviour's name; the pin (cache key) is ``mock-<behaviour>``.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from halluscope.adapters.images import POLICIES
from halluscope.adapters.types import ImagePart, Request, Response

BEHAVIOURS = ("echo", "yes", "no", "yes-no", "caption", "script")
_OBJECTS = ("cat", "dog", "person", "car", "bicycle", "cup", "chair", "bird", "boat", "clock")
_PLACES = ("on a table", "in a room", "on the street", "near a window", "in a field")


class MockModel:
    """A deterministic stand-in model (see the module docstring)."""

    concurrency_hint = None
    image_policy = POLICIES["none"]

    def __init__(self, behaviour: str = "echo", *, provider: str = "mock", latency: float = 0.0,
                 responses: Mapping[str, str] | None = None, default: str = "I don't know.",
                 responder: Callable[[Request], str] | None = None):
        if behaviour not in BEHAVIOURS and responder is None:
            from halluscope.errors import ConfigError
            raise ConfigError(f"unknown mock behaviour {behaviour!r}; expected one of "
                              f"{', '.join(BEHAVIOURS)}")
        self.provider = provider
        self.model = behaviour
        self.latency = latency
        self.responses = dict(responses or {})
        self.default = default
        self.responder = responder
        self.calls = 0

    @property
    def pin(self) -> str:
        return f"mock-{self.model}"

    def _digest(self, request: Request) -> int:
        h = hashlib.sha256()
        for m in request.messages:
            for p in m.content:
                h.update(p.sha256.encode() if isinstance(p, ImagePart) and p.sha256
                         else (p.source if isinstance(p, ImagePart) else p.text).encode())
        if request.decoding.sampled:
            h.update(f"|{request.sample_index}|{request.decoding.seed}".encode())
        return int.from_bytes(h.digest()[:8], "big")

    def answer(self, request: Request) -> str:
        prompt = request.messages[-1].text() if request.messages else ""
        if self.responder is not None:
            return self.responder(request)
        b = self.model
        if b == "echo":
            return prompt
        if b in ("yes", "no"):
            return f"{b.capitalize()}."
        d = self._digest(request)
        if b == "yes-no":
            return "Yes." if d % 2 else "No."
        if b == "caption":
            a, c = _OBJECTS[d % len(_OBJECTS)], _OBJECTS[(d // 7) % len(_OBJECTS)]
            return f"A {a} and a {c} {_PLACES[(d // 49) % len(_PLACES)]}."
        for key, value in self.responses.items():
            if key in prompt:
                return value
        return self.default

    async def generate(self, request: Request) -> Response:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        text = self.answer(request)
        return Response(text=text, model=self.model,
                        usage={"input_tokens": sum(len(m.text().split())
                                                   for m in request.messages),
                               "output_tokens": len(text.split())},
                        finish_reason="stop")

    async def aclose(self) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "pin": self.pin}

    def redact(self, text: str) -> str:
        return text


def create(model: str, *, provider: str = "mock", base_url: str | None = None,
           **options: Any) -> MockModel:
    """Entry-point factory: ``mock/<behaviour>``."""
    for ignored in ("timeout", "detail", "image_policy", "max_side", "revision"):
        options.pop(ignored, None)  # what judge specs pass to real providers
    from halluscope.adapters.option_types import check_option_types
    check_option_types(MockModel, provider, options)
    return MockModel(model, provider=provider, **options)
