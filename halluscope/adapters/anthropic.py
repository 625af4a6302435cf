"""Anthropic's Messages API through the ``anthropic`` SDK (``pip install "halluscope[anthropic]"``).

* key from ``ANTHROPIC_API_KEY`` only; ``--base-url`` for gateways and tests;
* system messages go to the ``system`` field; images as base64 blocks after the ``anthropic`` image
  policy (long edge 1568 px, ~1.15 MP, 5 MB), placed before the text as Anthropic recommends;
* the SDK (2.x) no longer has sampling parameters and the API version it sends rejects them, so
  ``temperature``/``top_p`` are not sent unless ``send_sampling_params=True`` (for gateways or
  older API versions that accept them); they still enter the cache key. The run sheet says so;
* extended thinking: the text of ``thinking`` blocks is the answer's ``reasoning``, never part of
  the answer (the ``text`` blocks); a ``redacted_thinking`` block (encrypted by Anthropic) is
  noted there as :data:`REDACTED_THINKING`, its data never kept (:func:`message_text`).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from halluscope.adapters.images import ImagePolicy, SendsPreparedImages, part_bytes, policy
from halluscope.adapters.offline import OFFLINE_KEY, is_offline
from halluscope.adapters.openai_compat import split_query
from halluscope.adapters.sdk_errors import map_sdk_error
from halluscope.adapters.types import (AdapterError, AuthError, Declined, ImagePart,
                                       MalformedResponse, Request, RequestError, Response,
                                       redact_secrets, token_counts, with_a_user_turn)
from halluscope.errors import MissingExtraError

KEY_ENV = "ANTHROPIC_API_KEY"


def _import_anthropic():
    try:
        import anthropic
    except ImportError as exc:  # pragma: no cover
        raise MissingExtraError("the Anthropic adapter", "anthropic", "anthropic") from exc
    return anthropic


# stop reasons of a message that ended normally: with no text it is an empty answer
_ENDED = frozenset({"end_turn", "stop_sequence", "max_tokens", "model_context_window_exceeded"})


def _no_answer(stop_reason: str | None, model: str | None = None) -> None:
    """Decide a message with no answer text: return when it is an empty answer (no text, or
    ``""``, after a normal stop or at the token limit: kept as ``""``, as the other providers
    do); raise :class:`Declined` (not retried) when Claude declined (``stop_reason``
    ``refusal``), :class:`MalformedResponse` (retried) otherwise."""
    if stop_reason == "refusal":
        raise Declined("Claude declined to answer (stop_reason refusal)", model=model)
    if stop_reason not in _ENDED:
        raise MalformedResponse(f"the response has no text block (stop_reason {stop_reason})")


#: How the message of Anthropic's HTTP 400 for a spend limit an organisation or workspace set
#: begins ("... API usage limits" or "... workspace API usage limits"; it names no error code).
_SPEND_LIMIT = "You have reached your specified"


def spend_limit(error: AdapterError) -> AdapterError:
    """``error``, or an :class:`AuthError` when it is Anthropic's HTTP 400 for a spend limit
    the user set: not a request rejected as sent (a refusal a resume keeps for every record)
    but a spent quota that stops the run, so that the re-run after the limit is raised asks
    the records again."""
    if type(error) is RequestError and error.status == 400 and _SPEND_LIMIT in str(error):
        return AuthError(str(error).replace("request rejected", "quota exhausted", 1),
                         status=400)
    return error


#: What ``reasoning`` holds in place of each ``redacted_thinking`` block: that Claude thought
#: there and Anthropic sent the thoughts encrypted. The encrypted ``data`` is never kept: it is
#: no text a person can read, and nothing of it goes into an output, a log or the cache.
REDACTED_THINKING = "[redacted_thinking: encrypted by Anthropic, not kept]"


def message_text(blocks: Any) -> tuple[str, str | None]:
    """``(answer, reasoning)`` of a message's content blocks: the answer is its ``text`` blocks
    joined; the reasoning its ``thinking`` blocks' text (extended thinking), one paragraph each,
    with :data:`REDACTED_THINKING` where a block was ``redacted_thinking``; ``None`` when there
    was no thinking. Blank thinking is none; other block types (tool use) are neither."""
    if not isinstance(blocks, (list, tuple)):
        # ``"content": null`` read as no blocks was written as an empty answer
        raise MalformedResponse(f"expected the message content as a list of blocks, got "
                                f"{type(blocks).__name__}")
    texts: list[str] = []
    thoughts: list[str] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            if not isinstance(getattr(block, "text", None), str):
                raise MalformedResponse("expected a text block's text as a string, got "
                                        f"{type(getattr(block, 'text', None)).__name__}")
            texts.append(block.text)
        elif kind == "thinking":
            thought = getattr(block, "thinking", None)
            if isinstance(thought, str) and thought.strip():
                thoughts.append(thought.strip())
        elif kind == "redacted_thinking":
            thoughts.append(REDACTED_THINKING)
    return "".join(texts), ("\n\n".join(thoughts) if thoughts else None)


class AnthropicModel(SendsPreparedImages):
    """Claude models through the Messages API.

    Args:
        model: Model name, e.g. ``claude-sonnet-4-5-20250929`` (prefer dated names: they are pins).
        base_url: Override the API URL.
        timeout: Seconds per request given to the SDK.
        image_policy: Policy name or object (default ``anthropic``).
        send_sampling_params: Send ``temperature``/``top_p`` (see the module docstring).
    """

    concurrency_hint = None

    def __init__(self, model: str, *, provider: str = "anthropic", base_url: str | None = None,
                 timeout: float | None = 120.0, image_policy: str | ImagePolicy | None = None,
                 send_sampling_params: bool = False, max_side: int | None = None,
                 pin: str | None = None):
        sdk = _import_anthropic()
        self._sdk = sdk
        self.provider = provider
        self.model = model
        self._pin = pin or model
        self.base_url = base_url
        self.send_sampling_params = send_sampling_params
        self.image_policy = policy(image_policy or "anthropic", max_side=max_side)
        # a key read from a file or a Kubernetes secret often ends in a newline, which httpx
        # refuses in a header: every record was retried as a lost connection until it failed
        key = (os.environ.get(KEY_ENV) or "").strip()
        if not key and is_offline():
            key = OFFLINE_KEY  # cache-only: no request is ever sent
        if not key:
            raise AuthError(f"{KEY_ENV} is not set: the anthropic provider reads its API key "
                            f"from the environment only (export {KEY_ENV}=...)")
        self._key = key
        from halluscope.redact import register_secret, register_url
        register_secret(key)
        register_url(base_url)
        kwargs: dict[str, Any] = {"api_key": key, "max_retries": 0}
        if base_url:
            # a gateway's query (``?key=...``) goes with every request, not glued in front of
            # the SDK's path (``/?key=.../v1/messages``)
            kwargs["base_url"], kwargs["default_query"] = split_query(base_url)
        if timeout is not None:
            kwargs["timeout"] = timeout
        self._client = sdk.AsyncAnthropic(**kwargs)

    @property
    def pin(self) -> str:
        return self._pin

    def build(self, request: Request) -> dict[str, Any]:
        """Keyword arguments of ``messages.create`` for ``request``."""
        d = request.decoding
        turns = with_a_user_turn(request.messages)
        system = "\n\n".join(m.text() for m in turns if m.role == "system")
        messages = []
        for m in turns:
            if m.role == "system":
                continue
            blocks: list[dict[str, Any]] = []
            for p in m.content:
                if isinstance(p, ImagePart):
                    img = self.prepared_image(part_bytes(p), p.source)
                    blocks.append({"type": "image", "source": {
                        "type": "base64", "media_type": img.mime, "data": img.base64()}})
                else:
                    blocks.append({"type": "text", "text": p.text})
            messages.append({"role": m.role, "content": blocks})
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": d.max_tokens,
                                  "messages": messages}
        if system:
            kwargs["system"] = system
        if d.stop:
            kwargs["stop_sequences"] = list(d.stop)
        if self.send_sampling_params:
            extra: dict[str, Any] = {"temperature": d.temperature}
            if d.top_p is not None:
                extra["top_p"] = d.top_p
            kwargs["extra_body"] = extra
        return kwargs

    async def generate(self, request: Request) -> Response:
        if request.images():
            kwargs = await asyncio.to_thread(self.build, request)
        else:
            kwargs = self.build(request)
        try:
            message = await self._client.messages.create(**kwargs)
        except Exception as exc:  # noqa: BLE001
            raise spend_limit(map_sdk_error(exc, self._sdk, body=kwargs)) from None
        try:
            text, reasoning = message_text(message.content)
            if not text:
                _no_answer(message.stop_reason, message.model or None)
            usage = token_counts(message.usage, {"input_tokens": "input_tokens",
                                                 "output_tokens": "output_tokens"},
                                 where="anthropic message")
            # stored in the cache as it is made here (text and reasoning): no reread needed,
            # the thinking never entered ``text`` in any version
            return Response(text=text, model=message.model or None, usage=usage,
                            finish_reason=message.stop_reason, reasoning=reasoning)
        except (MalformedResponse, RequestError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise MalformedResponse(f"malformed response: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        await self._client.close()

    @property
    def endpoint(self) -> str:
        """The server this adapter asks (no credentials): part of the cache key."""
        from halluscope.redact import endpoint_url
        return endpoint_url(self.base_url) or "https://api.anthropic.com"

    def describe(self) -> dict[str, Any]:
        from halluscope.adapters.openai_compat import safe_url
        return {"provider": self.provider, "model": self.model, "pin": self.pin,
                "base_url": safe_url(self.base_url) or "https://api.anthropic.com",
                "image_policy": self.image_policy.name,
                "sampling_params_sent": self.send_sampling_params}

    def redact(self, text: str) -> str:
        return redact_secrets(text, (self._key,))


def create(model: str, *, provider: str = "anthropic", base_url: str | None = None,
           **options: Any) -> AnthropicModel:
    """Entry-point factory: ``anthropic/<model>``."""
    from halluscope.adapters.option_types import check_option_types
    check_option_types(AnthropicModel, provider, options)
    return AnthropicModel(model, provider=provider, base_url=base_url, **options)
