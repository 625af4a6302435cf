"""Google Gemini through the ``google-genai`` SDK (``pip install "halluscope[gemini]"``).

* key from ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``) only; ``--base-url`` for gateways/tests;
* images inline (``Part.from_bytes``) after the ``gemini`` image policy;
* ``temperature``, ``top_p``, ``seed``, ``max_output_tokens`` and stop sequences are sent;
* the SDK's own retries are off (``HttpRetryOptions(attempts=1)``): the client retries;
* the model version Gemini reports (``model_version``) is recorded as the served model.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from halluscope.adapters.images import ImagePolicy, part_bytes, policy, prepare
from halluscope.adapters.offline import OFFLINE_KEY, is_offline
from halluscope.adapters.types import (AdapterError, AuthError, ConnectFailed, ImagePart,
                                       MalformedResponse, Request, RequestError, RequestTimeout,
                                       Response, error_for_status, redact_secrets)
from halluscope.errors import MissingExtraError

KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def _import_genai():
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("the Gemini adapter", "gemini", "google-genai") from exc
    return genai, types, errors


def _headers(exc: Any) -> dict[str, str]:
    try:
        return dict(getattr(getattr(exc, "response", None), "headers", None) or {})
    except Exception:  # noqa: BLE001
        return {}


class GeminiModel:
    """Gemini models through ``generate_content``.

    Args:
        model: Model name, e.g. ``gemini-2.0-flash-001`` (prefer versioned names: they are pins).
        base_url: Override the API URL.
        timeout: Seconds per request given to the SDK.
        image_policy: Policy name or object (default ``gemini``).
    """

    concurrency_hint = None

    def __init__(self, model: str, *, provider: str = "gemini", base_url: str | None = None,
                 timeout: float | None = 120.0, image_policy: str | ImagePolicy | None = None,
                 max_side: int | None = None, pin: str | None = None,
                 api_version: str | None = None):
        genai, types, errors = _import_genai()
        self._types = types
        self._errors = errors
        self.provider = provider
        self.model = model
        self._pin = pin or model
        self.base_url = base_url
        self.image_policy = policy(image_policy or "gemini", max_side=max_side)
        key = next((os.environ[v] for v in KEY_ENV if os.environ.get(v)), None)
        if not key and is_offline():
            key = OFFLINE_KEY  # cache-only: no request is ever sent
        if not key:
            raise AuthError("GEMINI_API_KEY is not set: the gemini provider reads its API key "
                            "from the environment only (export GEMINI_API_KEY=...)")
        self._key = key
        from halluscope.redact import register_secret, register_url
        register_secret(key)
        register_url(base_url)
        http: dict[str, Any] = {}
        if hasattr(types, "HttpRetryOptions"):  # SDKs that retry by themselves: once only
            http["retry_options"] = types.HttpRetryOptions(attempts=1)
        if base_url:
            http["base_url"] = base_url
        if api_version:
            http["api_version"] = api_version
        if timeout is not None:
            http["timeout"] = int(timeout * 1000)  # milliseconds
        self._client = genai.Client(api_key=key, http_options=types.HttpOptions(**http))

    @property
    def pin(self) -> str:
        return self._pin

    def build(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``aio.models.generate_content`` for ``request``."""
        types = self._types
        d = request.decoding
        system = "\n\n".join(m.text() for m in request.messages if m.role == "system")
        contents = []
        for m in request.messages:
            if m.role == "system":
                continue
            parts = []
            for p in m.content:
                if isinstance(p, ImagePart):
                    img = prepare(part_bytes(p), self.image_policy, name=p.source)
                    parts.append(types.Part.from_bytes(data=img.data, mime_type=img.mime))
                else:
                    parts.append(types.Part.from_text(text=p.text))
            contents.append(types.Content(role="model" if m.role == "assistant" else "user",
                                          parts=parts))
        config: dict[str, Any] = {"temperature": d.temperature,
                                  "max_output_tokens": d.max_tokens}
        if system:
            config["system_instruction"] = system
        if d.top_p is not None:
            config["top_p"] = d.top_p
        if d.seed is not None:
            config["seed"] = d.seed
        if d.stop:
            config["stop_sequences"] = list(d.stop)
        return {"model": self.model, "contents": contents,
                "config": types.GenerateContentConfig(**config)}

    def _map(self, exc: BaseException) -> AdapterError:
        errors = self._errors
        if isinstance(exc, errors.APIError):
            code = int(getattr(exc, "code", 0) or 0)
            message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
            if code == 400 and ("API_KEY_INVALID" in str(exc) or "API key not valid" in message):
                return AuthError(f"authentication failed (HTTP 400): {message}", status=400)
            return error_for_status(code or 500, message, _headers(exc))
        name = type(exc).__name__
        if "Timeout" in name:
            return RequestTimeout(f"request timed out: {name}")
        if any(w in name for w in ("Connect", "Network", "RemoteProtocol", "ReadError")):
            return ConnectFailed(f"connection failed: {name}: {exc}")
        if isinstance(exc, ValueError):
            return MalformedResponse(f"malformed response: {name}: {exc}")
        return AdapterError(f"unexpected failure: {name}: {exc}")

    async def generate(self, request: Request) -> Response:
        if request.images():
            kwargs = await asyncio.to_thread(self.build, request)
        else:
            kwargs = self.build(request)
        try:
            resp = await self._client.aio.models.generate_content(**kwargs)
        except Exception as exc:  # noqa: BLE001
            raise self._map(exc) from None
        feedback = getattr(resp, "prompt_feedback", None)
        if not resp.candidates:
            reason = getattr(feedback, "block_reason", None)
            if reason:
                raise RequestError(f"prompt blocked by Gemini: {reason}")
            raise MalformedResponse("the response has no candidates")
        cand = resp.candidates[0]
        parts = getattr(getattr(cand, "content", None), "parts", None) or []
        # a thinking model's thought summary is no part of its answer
        texts = [p.text for p in parts if getattr(p, "text", None)
                 and not getattr(p, "thought", False)]
        finish = getattr(cand, "finish_reason", None)
        finish = getattr(finish, "value", finish)
        if not texts:
            raise MalformedResponse(f"the response has no text (finish reason {finish})")
        usage = {}
        meta = getattr(resp, "usage_metadata", None)
        if meta is not None:
            usage = {"input_tokens": meta.prompt_token_count or 0,
                     "output_tokens": meta.candidates_token_count or 0}
        return Response(text="".join(texts), model=getattr(resp, "model_version", None),
                        usage=usage, finish_reason=str(finish) if finish is not None else None)

    async def aclose(self) -> None:
        try:
            await self._client.aio.aclose()
        except AttributeError:  # older SDKs have no aclose
            pass

    @property
    def endpoint(self) -> str:
        """The server this adapter asks (no credentials): part of the cache key."""
        from halluscope.redact import endpoint_url
        return endpoint_url(self.base_url) or "https://generativelanguage.googleapis.com"

    def describe(self) -> dict[str, Any]:
        from halluscope.adapters.openai_compat import safe_url
        return {"provider": self.provider, "model": self.model, "pin": self.pin,
                "base_url": safe_url(self.base_url) or "https://generativelanguage.googleapis.com",
                "image_policy": self.image_policy.name}

    def redact(self, text: str) -> str:
        return redact_secrets(text, (self._key,))


def create(model: str, *, provider: str = "gemini", base_url: str | None = None,
           **options: Any) -> GeminiModel:
    """Entry-point factory: ``gemini/<model>``."""
    return GeminiModel(model, provider=provider, base_url=base_url, **options)
