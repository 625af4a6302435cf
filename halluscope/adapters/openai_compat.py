"""OpenAI-compatible chat completions through the ``openai`` SDK.

One adapter serves every server that speaks ``POST /v1/chat/completions``: OpenAI itself, Azure
OpenAI, vLLM, SGLang, Ollama, TGI and LM Studio. The provider name picks the default base URL and
the environment variable the key is read from (keys come from the environment only):

==========  ================================  =========================================
provider    default base URL                  key from
==========  ================================  =========================================
openai      https://api.openai.com/v1         ``OPENAI_API_KEY``
azure       ``AZURE_OPENAI_ENDPOINT``         ``AZURE_OPENAI_API_KEY`` (+ ``OPENAI_API_VERSION``)
vllm        http://localhost:8000/v1          ``VLLM_API_KEY``, else ``OPENAI_API_KEY``
sglang      http://localhost:30000/v1         ``SGLANG_API_KEY``, else ``OPENAI_API_KEY``
ollama      http://localhost:11434/v1         ``OLLAMA_API_KEY``, else ``OPENAI_API_KEY``
tgi         http://localhost:8080/v1          ``TGI_API_KEY``/``HF_TOKEN``, else ``OPENAI_API_KEY``
lmstudio    http://localhost:1234/v1          ``LMSTUDIO_API_KEY``, else ``OPENAI_API_KEY``
==========  ================================  =========================================

With ``--base-url`` any of them talks to any compatible server; a local server that needs no key
gets the placeholder ``EMPTY``; in offline mode (cache only) no key is needed. Images go as
base64 ``data:`` URLs after the ``openai`` image policy (or ``openai-low`` for ``detail=low``).
The SDK's own retries are off: the client retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from halluscope.adapters.images import ImagePolicy, SendsPreparedImages, part_bytes, policy
from halluscope.adapters.offline import OFFLINE_KEY, is_offline
from halluscope.adapters.sdk_errors import map_sdk_error
from halluscope.adapters.types import (AuthError, Declined, ImagePart, MalformedResponse,
                                       Request, Response, check_detail, clip,
                                       finish_reply, redact_secrets, reread_reply,
                                       token_counts)
from halluscope.errors import MissingExtraError
from halluscope.redact import endpoint_url, register_options, register_secret, register_url

log = logging.getLogger(__name__)

DEFAULT_BASE_URLS = {
    "vllm": "http://localhost:8000/v1",
    "sglang": "http://localhost:30000/v1",
    "ollama": "http://localhost:11434/v1",
    "tgi": "http://localhost:8080/v1",
    "lmstudio": "http://localhost:1234/v1",
}
KEY_ENV = {
    "openai": ("OPENAI_API_KEY",),
    "azure": ("AZURE_OPENAI_API_KEY",),
    "vllm": ("VLLM_API_KEY", "OPENAI_API_KEY"),
    "sglang": ("SGLANG_API_KEY", "OPENAI_API_KEY"),
    "ollama": ("OLLAMA_API_KEY", "OPENAI_API_KEY"),
    "tgi": ("TGI_API_KEY", "HF_TOKEN", "OPENAI_API_KEY"),
    "lmstudio": ("LMSTUDIO_API_KEY", "OPENAI_API_KEY"),
}


def safe_url(url: str | None) -> str | None:
    """``url`` without user info, query and fragment (which may carry credentials)."""
    from halluscope.redact import endpoint_url
    return endpoint_url(url, strip_slash=False)


def split_query(url: str | None) -> tuple[str | None, dict[str, str] | None]:
    """``url`` without its query string, and the query as the SDK's ``default_query`` (a query in
    the base URL, such as ``?api-key=...``, would otherwise be glued in front of the path)."""
    if not url or "?" not in url:
        return url, None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment)), query or None


def _import_openai():
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - the extra is installed in development
        raise MissingExtraError("the OpenAI-compatible adapter", "openai", "openai") from exc
    return openai


class OpenAICompatible(SendsPreparedImages):
    """Chat completions against an OpenAI-compatible server.

    Args:
        model: Model (or Azure deployment) name as the server knows it.
        provider: ``openai`` | ``azure`` | ``vllm`` | ``sglang`` | ``ollama`` | ``tgi`` |
            ``lmstudio`` (or any name registered with this factory).
        base_url: Server URL ending in ``/v1`` (Azure: the resource endpoint).
        timeout: Seconds per request given to the SDK.
        detail: OpenAI image ``detail`` sent with each image (``low`` | ``high`` | ``auto``).
        image_policy: Policy name or object (default from ``detail``).
        max_tokens_param: ``max_tokens`` or ``max_completion_tokens`` (default: the latter for
            OpenAI/Azure, the former for other servers).
        pin: The model pin for the cache key (default: ``model``).
        api_version: Azure API version (default ``$OPENAI_API_VERSION``).
        max_side: Tighten the image policy's longest side.
    """

    concurrency_hint = None

    def __init__(self, model: str, *, provider: str = "openai", base_url: str | None = None,
                 timeout: float | None = 120.0, detail: str | None = None,
                 image_policy: str | ImagePolicy | None = None,
                 max_tokens_param: str | None = None, pin: str | None = None,
                 api_version: str | None = None, max_side: int | None = None,
                 default_headers: dict[str, str] | None = None):
        openai = _import_openai()
        self._sdk = openai
        self.provider = provider
        self.model = model
        self.detail = check_detail(detail, "the detail option")
        self._pin = pin or model
        self.image_policy = policy(image_policy or ("openai-low" if detail == "low" else "openai"),
                                   max_side=max_side)
        if max_tokens_param is None:
            max_tokens_param = ("max_completion_tokens" if provider in ("openai", "azure")
                                else "max_tokens")
        if max_tokens_param not in ("max_tokens", "max_completion_tokens"):
            from halluscope.errors import ConfigError
            raise ConfigError(f"expected max_tokens_param 'max_tokens' or "
                              f"'max_completion_tokens', got {max_tokens_param!r}")
        self.max_tokens_param = max_tokens_param
        base_url = base_url or (os.environ.get("AZURE_OPENAI_ENDPOINT") if provider == "azure"
                                else DEFAULT_BASE_URLS.get(provider))
        self.base_url = base_url
        key = None
        for var in KEY_ENV.get(provider, ("OPENAI_API_KEY",)):
            key = os.environ.get(var)
            if key:
                break
        if not key and is_offline():
            key = OFFLINE_KEY  # cache-only: no request is ever sent
        if not key:
            if provider == "azure" or (provider == "openai" and base_url is None):
                var = KEY_ENV.get(provider, ("OPENAI_API_KEY",))[0]
                raise AuthError(f"{var} is not set: the {provider} provider reads its API key "
                                f"from the environment only (export {var}=...)")
            key = "EMPTY"  # local servers started without --api-key accept anything
        self._key = key
        register_secret(key if key not in ("EMPTY", OFFLINE_KEY) else None)
        register_url(base_url)
        register_options({"default_headers": default_headers or {}})
        self._headers_option = default_headers  # as given: named when of the wrong type
        base_url, default_query = split_query(base_url)
        common = dict(api_key=key, max_retries=0, default_headers=default_headers,
                      default_query=default_query)
        if timeout is not None:
            common["timeout"] = timeout
        if provider == "azure":
            if not base_url and key == OFFLINE_KEY:
                base_url = "https://offline.invalid"
            if not base_url:
                raise AuthError("AZURE_OPENAI_ENDPOINT is not set and no --base-url was given")
            # the version the endpoint's URL names (``?api-version=``, as Azure shows it) is
            # the one asked for: the SDK's own api-version would silently replace it
            url_version = (default_query or {}).pop("api-version", None)
            common["default_query"] = default_query or None
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=base_url, api_version=api_version or url_version
                or os.environ.get("OPENAI_API_VERSION", "2024-10-21"), **common)
        else:
            self._client = openai.AsyncOpenAI(base_url=base_url, **common)
        _look_up_platform(self._client)

    @property
    def pin(self) -> str:
        return self._pin

    @property
    def default_detail(self) -> str | None:
        """The image ``detail`` sent with every image the request leaves without one (the
        ``detail`` provider option): the cache key records it as that image's detail."""
        return self.detail

    @property
    def endpoint(self) -> str:
        """The server this adapter asks (no credentials): part of the cache key."""
        return endpoint_url(self.base_url) or "https://api.openai.com/v1"

    def _content(self, message) -> Any:
        parts = message.content
        if all(not isinstance(p, ImagePart) for p in parts):
            return message.text()
        out = []
        for p in parts:
            if isinstance(p, ImagePart):
                img = self.prepared_image(part_bytes(p), p.source)
                image_url: dict[str, Any] = {"url": img.data_url()}
                if p.detail or self.detail:
                    image_url["detail"] = p.detail or self.detail
                out.append({"type": "image_url", "image_url": image_url})
            else:
                out.append({"type": "text", "text": p.text})
        return out

    def build(self, request: Request) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for ``request``."""
        d = request.decoding
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": self._content(m)} for m in request.messages],
            "temperature": d.temperature,
            self.max_tokens_param: d.max_tokens,
        }
        if d.top_p is not None:
            kwargs["top_p"] = d.top_p
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if d.stop:
            kwargs["stop"] = list(d.stop)
        return kwargs

    async def generate(self, request: Request) -> Response:
        if request.images():  # resizing/encoding is CPU work: keep it off the event loop
            kwargs = await asyncio.to_thread(self.build, request)
        else:
            kwargs = self.build(request)
        try:
            # The SDK's documented way to send a request as is: the same client, auth, Azure
            # routing and error types as chat.completions.create, without re-validating our
            # plain-dict parameters or building pydantic models (~1 ms of CPU per call that
            # otherwise caps throughput at a few hundred requests/s).
            body = await self._client.post("/chat/completions", body=kwargs, cast_to=bytes)
        except Exception as exc:  # noqa: BLE001 - every SDK failure is mapped
            raise map_sdk_error(exc, self._sdk, body=kwargs,
                                headers=self._headers_option) from None
        return parse_completion(body)

    async def aclose(self) -> None:
        await self._client.close()

    def describe(self) -> dict[str, Any]:
        return {"provider": self.provider, "model": self.model, "pin": self.pin,
                "base_url": safe_url(self.base_url) or "https://api.openai.com/v1",
                "image_policy": self.image_policy.name, "detail": self.detail,
                "max_tokens_param": self.max_tokens_param}

    def reread(self, response: Response) -> Response:
        """A cached answer as this adapter parses a reply today
        (:func:`~halluscope.adapters.types.reread_reply`)."""
        return reread_reply(response)

    def redact(self, text: str) -> str:
        return redact_secrets(text, (self._key,) if self._key not in ("EMPTY", OFFLINE_KEY)
                              else ())


def _look_up_platform(client: Any) -> None:
    """Tell ``client`` the platform for its ``X-Stainless-OS`` header now. The SDK looks it up
    on a worker thread at the first request, and every request that starts before the first
    lookup ends makes its own: a run's first wave of N connections waited for N threads
    (~20 ms before the first request went out). Skipped where the SDK keeps it otherwise."""
    if getattr(client, "_platform", "") is not None:
        return
    try:
        from openai._base_client import get_platform
        client._platform = get_platform()
    except Exception:  # noqa: BLE001 - the SDK then looks it up itself, as before
        pass


_USAGE_NAMES = {"input_tokens": "prompt_tokens", "output_tokens": "completion_tokens"}


def _served(obj: Any) -> str | None:
    """The model a completion body names, when it names one as a string (else unknown)."""
    model = obj.get("model") if isinstance(obj, dict) else None
    return model if isinstance(model, str) and model else None


def parse_completion(body: bytes | str) -> Response:
    """A chat-completions JSON body as a :class:`Response`; :class:`MalformedResponse` when it
    is not one (bad JSON, no choices, no content); :class:`Declined` (not retried) when a
    content filter withheld the answer or the model declined (``message.refusal`` with no
    content). Token counts that make no sense are left out
    (:func:`~halluscope.adapters.types.token_counts`): the answer is kept."""
    try:
        obj = json.loads(body)
        choices = obj.get("choices")
        if not choices:
            said = obj.get("error") if isinstance(obj, dict) else None
            said = said.get("message") if isinstance(said, dict) else said
            # a proxy's error sent with status 200: its reason is the useful part
            raise MalformedResponse("the response has no choices" + (
                f"; the server said: {clip(said, 300)}" if said else ""))
        message = choices[0].get("message") or {}
        text = message.get("content")
        if isinstance(text, list):  # some servers answer with content parts
            text = _parts_text(text, choices[0].get("finish_reason") == "content_filter")
        if choices[0].get("finish_reason") == "content_filter" and not text:
            # no answer: the provider's filter withheld it (an empty string, or parts holding
            # no text, is no answer)
            raise Declined("the provider's content filter withheld the answer "
                           "(finish_reason content_filter)", model=_served(obj))
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal.strip() and not (
                isinstance(text, str) and text.strip()):
            # the model declined (OpenAI's message.refusal), as Anthropic's stop_reason
            # refusal: no answer to score, and asking again gets the same. Content given
            # beside a refusal is the model's answer and is kept.
            raise Declined("the model declined to answer (message.refusal): "
                           + " ".join(refusal.split())[:500], refusal=refusal,
                           model=_served(obj))
        finish = choices[0].get("finish_reason")
        sent = _sent_reasoning(message)
        if text is None:
            if finish == "length" or (sent is not None and finish == "stop"):
                # the token limit came before any answer text (a reasoning model that spent
                # it thinking): an empty answer cut short, as Anthropic's and Gemini's are --
                # not a malformed body retried to the same end. A model that stopped after
                # reasoning alone answered too: an empty answer with its reasoning, as a
                # content that is all <think> block is, and as Claude's thinking with no text
                text = ""
            else:
                raise MalformedResponse("the response has no message content")
        if not isinstance(text, str):
            raise MalformedResponse(f"expected the content as a string, got "
                                    f"{type(text).__name__}")
        # a reasoning parser's output (vLLM's reasoning_content, a newer server's reasoning)
        # and a reasoning model's inline <think> block (no parser on the server) are not the
        # answer: kept apart in ``reasoning``; the reply as sent is kept too (``raw``), so a
        # cached answer is derived again by the rules of the day when it is read
        answer, reasoning = finish_reply(text, sent)
        usage = token_counts(obj.get("usage"), _USAGE_NAMES, where="chat completion")
        # a name or reason that is no string (a number, an object) is not written into the
        # output, counted as a served model, or compared with a pin: it is unknown
        return Response(text=answer, model=_served(obj),
                        usage=usage, finish_reason=finish if isinstance(finish, str) else None,
                        reasoning=reasoning, raw=text, sent_reasoning=sent)
    except MalformedResponse:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise MalformedResponse(f"malformed response: {type(exc).__name__}: "
                                f"{clip(exc, 200)}") from None


def _parts_text(parts: list, filtered: bool = False) -> str:
    """The text of a message's content parts (``[{"type": "text", "text": ...}, ...]``), parts
    of other kinds (no ``text``) left out. A part that is no object, or whose ``text`` is no
    string, is a :class:`MalformedResponse` (retried): it was written as an empty answer, which
    an audit scores (POPE's original parser reads ``""`` as yes). With ``filtered`` (the
    content filter stopped it) such a part is no text: the filter's verdict decides."""
    texts = []
    for part in parts:
        text = part.get("text", "") if isinstance(part, dict) else None
        if filtered and not isinstance(text, str):
            continue
        if not isinstance(text, str):
            raise MalformedResponse(f"expected the content parts as objects with a text, got "
                                    f"{clip(repr(part), 80)}")
        texts.append(text)
    return "".join(texts)


#: The message fields in which OpenAI-compatible servers send a reasoning parser's output:
#: vLLM's (and SGLang's) ``reasoning_content``; ``reasoning`` in newer vLLM and OpenRouter.
REASONING_FIELDS = ("reasoning_content", "reasoning")


def _sent_reasoning(message: Any) -> str | None:
    """The reasoning a server sent beside the content (the first of :data:`REASONING_FIELDS`
    holding non-blank text); ``None`` when none did. A value that is no text (an object some
    gateway sends) is not reasoning halluscope can write: it is left out."""
    for name in REASONING_FIELDS:
        value = message.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def create(model: str, *, provider: str = "openai", base_url: str | None = None,
           **options: Any) -> OpenAICompatible:
    """Entry-point factory for all OpenAI-compatible providers."""
    from halluscope.adapters.option_types import check_option_types
    check_option_types(OpenAICompatible, provider, options)
    return OpenAICompatible(model, provider=provider, base_url=base_url, **options)
