"""Google Gemini through the ``google-genai`` SDK (``pip install "halluscope[gemini]"``).

* key from ``GEMINI_API_KEY`` (or ``GOOGLE_API_KEY``) only; ``--base-url`` for gateways/tests;
* images inline (``Part.from_bytes``) after the ``gemini`` image policy;
* ``temperature``, ``top_p``, ``seed``, ``max_output_tokens`` and stop sequences are sent;
* the SDK's own retries are off (``HttpRetryOptions(attempts=1)``): the client retries,
  waiting what a 429's ``google.rpc.RetryInfo`` asks (Gemini sends no ``Retry-After``);
* the model version Gemini reports (``model_version``) is recorded as the served model; one
  that is no string is unknown (``None``), as the OpenAI adapter takes such a model name;
* a thinking model's thought summary (parts marked ``thought``) is the answer's ``reasoning``,
  never part of the answer (:func:`candidate_thoughts`).
"""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any

from halluscope.adapters.images import ImagePolicy, SendsPreparedImages, part_bytes, policy
from halluscope.adapters.offline import OFFLINE_KEY, is_offline
from halluscope.adapters.sdk_errors import (is_transport_failure, transport_error, unbuildable,
                                            unsendable)
from halluscope.adapters.types import (AdapterError, AuthError, Declined, ImagePart,
                                       MalformedResponse, Request, Response, clip, cut_by_filter,
                                       error_for_status, redact_secrets, token_counts,
                                       with_a_user_turn)
from halluscope.errors import MissingExtraError

KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def _import_genai():
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("the Gemini adapter", "gemini", "google-genai") from exc
    return genai, types, errors


def candidate_text(cand: Any) -> tuple[str, str | None]:
    """The answer in a Gemini candidate and its finish reason.

    The answer is its text parts joined, a thinking model's thought summary left out. A
    candidate with parts but no answer text (``[{"text": ""}]``, or thoughts only) that stopped
    normally or at the token limit is an empty answer, ``""``, as with the other providers; so
    is one cut at the token limit before any part. Raises :class:`Declined` (not retried)
    when Gemini withheld the answer (``SAFETY``, ``RECITATION``, ...:
    :func:`~halluscope.adapters.types.cut_by_filter`; asking again gets the same verdict, as
    with OpenAI's content filter) and nothing came, :class:`MalformedResponse` (retried) for any other candidate without text.
    """
    finish = getattr(cand, "finish_reason", None)
    finish = getattr(finish, "value", finish)
    finish = str(finish) if finish is not None else None
    parts = getattr(getattr(cand, "content", None), "parts", None)
    texts = [p.text for p in parts or () if isinstance(getattr(p, "text", None), str)
             and not getattr(p, "thought", False)]
    if "".join(texts):
        return "".join(texts), finish
    if cut_by_filter(finish):
        raise Declined(f"Gemini withheld the answer (finish reason {finish})")
    if finish == "MAX_TOKENS" or (parts and finish == "STOP"):
        return "", finish
    raise MalformedResponse(f"the response has no text (finish reason {finish})")


def candidate_thoughts(cand: Any) -> str | None:
    """A thinking model's thought summary in a Gemini candidate: the text of its parts marked
    ``thought`` (``includeThoughts``), joined as the answer's parts are, stripped; ``None`` when
    there is none (or only blank text). It is the answer's ``reasoning``, never the answer."""
    parts = getattr(getattr(cand, "content", None), "parts", None)
    thoughts = "".join(p.text for p in parts or () if getattr(p, "thought", False)
                       and isinstance(getattr(p, "text", None), str)).strip()
    return thoughts or None


def _headers(exc: Any) -> dict[str, str]:
    try:
        return dict(getattr(getattr(exc, "response", None), "headers", None) or {})
    except Exception:  # noqa: BLE001
        return {}


def _google_details(body: Any) -> list[dict[str, Any]]:
    """The ``error.details`` entries of a Google error body."""
    err = body.get("error") if isinstance(body, dict) else None
    items = err.get("details") if isinstance(err, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def per_day_quota(body: Any) -> str | None:
    """The id of a per-day quota a Google 429 body's ``QuotaFailure`` names (it resets in
    hours: no retry within a run can succeed), else None."""
    for item in _google_details(body):
        if str(item.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            for v in item.get("violations") or ():
                quota = v.get("quotaId") if isinstance(v, dict) else None
                if isinstance(quota, str) and "PerDay" in quota:
                    return quota
    return None


def retry_delay(body: Any) -> float | None:
    """Seconds a Google error body asks to wait before a retry: its ``google.rpc.RetryInfo``
    ``retryDelay``, a protobuf duration (``"58s"``, ``"1.250s"``, or ``{"seconds", "nanos"}``).
    Gemini sends it in a 429's body and no ``Retry-After`` header. None when there is none."""
    for item in _google_details(body):
        if not str(item.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = item.get("retryDelay")
        try:
            if isinstance(delay, str) and delay.endswith("s"):
                seconds = float(delay[:-1])
            elif isinstance(delay, dict):
                seconds = float(delay.get("seconds") or 0) + float(delay.get("nanos") or 0) / 1e9
            else:
                return None
        except (TypeError, ValueError):
            return None
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _tolerant_transport():
    """An httpx transport that drops a ``generateContent`` body's ``modelVersion`` when it is
    no string, before the SDK validates the body: the SDK refuses the whole answer for it (a
    pydantic error, retried as malformed until the record fails), where a model name that is
    no string is unknown to the OpenAI adapter. Other responses pass untouched."""
    import json

    import httpx

    class Tolerant(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            # a client, not a bare transport, underneath: httpx reads the environment's
            # proxies (HTTPS_PROXY, NO_PROXY) only in a client given no transport, so the
            # SDK's client, given this one, would connect directly behind any proxy
            self._inner = httpx.AsyncClient(trust_env=True, timeout=None)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            resp = await self._inner.send(request, stream=True)
            if (resp.status_code != 200 or not request.url.path.endswith(":generateContent")
                    or "json" not in resp.headers.get("content-type", "")):
                return resp
            try:
                body = await resp.aread()  # content-encoding undone
            finally:
                await resp.aclose()
            try:
                obj = json.loads(body)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and not isinstance(obj.get("modelVersion", ""), str):
                del obj["modelVersion"]
                body = json.dumps(obj).encode()
            headers = [(k, v) for k, v in resp.headers.multi_items()
                       if k.lower() not in ("content-encoding", "content-length",
                                            "transfer-encoding")]
            return httpx.Response(resp.status_code, headers=headers, content=body,
                                  request=request)

        async def aclose(self) -> None:
            await self._inner.aclose()

    return Tolerant()


class GeminiModel(SendsPreparedImages):
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
        key = next((os.environ[v].strip() for v in KEY_ENV if os.environ.get(v, "").strip()),
                   None)  # stripped, as the Anthropic adapter's: no newline from a key file
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
        if "async_client_args" in getattr(types.HttpOptions, "model_fields", {}):
            http["async_client_args"] = {"transport": _tolerant_transport()}
        self._client = genai.Client(api_key=key, http_options=types.HttpOptions(**http))

    @property
    def pin(self) -> str:
        return self._pin

    def build(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``aio.models.generate_content`` for ``request``."""
        types = self._types
        d = request.decoding
        turns = with_a_user_turn(request.messages)
        system = "\n\n".join(m.text() for m in turns if m.role == "system")
        contents = []
        for m in turns:
            if m.role == "system":
                continue
            parts = []
            for p in m.content:
                if isinstance(p, ImagePart):
                    img = self.prepared_image(part_bytes(p), p.source)
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
        if request.seed is not None:
            config["seed"] = request.seed
        if d.stop:
            config["stop_sequences"] = list(d.stop)
        return {"model": self.model, "contents": contents,
                "config": types.GenerateContentConfig(**config)}

    def _map(self, exc: BaseException) -> AdapterError:
        errors = self._errors
        if isinstance(exc, errors.APIError):
            code = int(getattr(exc, "code", 0) or 0)
            message = clip(getattr(exc, "message", None) or exc, 300)
            if code == 400 and ("API_KEY_INVALID" in str(exc) or "API key not valid" in message):
                return AuthError(f"authentication failed (HTTP 400): {message}", status=400)
            if code == 400 and getattr(exc, "status", None) == "FAILED_PRECONDITION":
                # the project, not the request: no free tier in this country, billing off.
                # Every call meets it; as a request rejected as sent, every record was
                # written refused and kept by the resume after billing was turned on
                return AuthError(f"account not ready (HTTP 400 FAILED_PRECONDITION): "
                                 f"{message}", status=400)
            body = getattr(exc, "details", None)
            daily = per_day_quota(body) if code == 429 else None
            if daily:
                return AuthError(f"quota exhausted (HTTP 429, per-day quota {daily}): "
                                 f"{message}", status=429)
            headers = _headers(exc)
            delay = retry_delay(body)
            if delay is not None and not any(k.lower() in ("retry-after", "retry-after-ms")
                                             for k in headers):
                headers["retry-after"] = repr(delay)
            return error_for_status(code or 500, message, headers)
        name = type(exc).__name__
        if (setup := unsendable(exc) or unbuildable(exc)) is not None:
            return setup
        if is_transport_failure(exc) or "Timeout" in name:
            return transport_error(exc, timed_out="Timeout" in name)
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
        served = getattr(resp, "model_version", None)
        if not resp.candidates:
            reason = getattr(feedback, "block_reason", None)
            if reason:
                raise Declined(f"prompt blocked by Gemini: {getattr(reason, 'value', reason)}",
                               model=served)
            raise MalformedResponse("the response has no candidates")
        try:
            text, finish = candidate_text(resp.candidates[0])
        except Declined as exc:     # the model that withheld it, for a judge's pin
            exc.model = served
            raise
        usage = token_counts(getattr(resp, "usage_metadata", None),
                             {"input_tokens": "prompt_token_count",
                              "output_tokens": "candidates_token_count"}, where="gemini response")
        # stored in the cache as made here (text and reasoning): no version ever put a thought
        # into ``text``, so a hit needs no re-derivation
        return Response(text=text, model=served,
                        usage=usage, finish_reason=finish,
                        reasoning=candidate_thoughts(resp.candidates[0]))

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
    from halluscope.adapters.option_types import check_option_types
    check_option_types(GeminiModel, provider, options)
    return GeminiModel(model, provider=provider, base_url=base_url, **options)
