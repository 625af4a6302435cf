"""The model protocol: one ``generate`` over a request of messages, and the errors a call raises.

A provider implements :class:`ModelAPI`: an object with ``provider``, ``model``, ``pin``,
``image_policy`` and ``async generate(request) -> Response``. One ``generate`` is one attempt:
retries, concurrency limits, timeouts and caching live in
:class:`~halluscope.adapters.client.ModelClient`, so that every provider gets the same behaviour.

Errors of one call (all derive from :class:`AdapterError`)::

    AdapterError              one model call failed
    ├── AuthError             missing/invalid credentials, no permission: never retried
    │   └── SetupError        no request can be sent as set up (an illegal header): the run stops
    ├── RequestError          a wrong request (400, 404 unknown model, 413, 422): not retried
    │   └── Declined          the model declined, or a filter withheld the answer
    ├── ImageError            an image cannot be read, or is a URL while URLs are off
    ├── ServerUnreachable     several connections in a row failed: the run stops (not retried)
    │   └── ModelNotFound     several HTTP 404s and no answer: no such model or path; the run stops
    └── RetryableError        may succeed later; ``retry_after`` (s) when the server said
        ├── RateLimited       429
        ├── ServerError       5xx, overloaded
        ├── RequestTimeout    no answer within the timeout
        ├── ConnectFailed     no connection: refused, unresolvable host, connect timed out
        ├── ConnectionLost    the server was reached but the response broke off (reset, cut)
        └── MalformedResponse the body is not an answer (bad JSON, no choices)

Only :class:`ConnectFailed` counts toward :class:`ServerUnreachable`: a response cut mid-way
shows the server is up, so it is retried for its own record only.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from halluscope.adapters.usage import MAX_TOKEN_COUNT, token_counts  # noqa: F401 (old home)
from halluscope.errors import HalluscopeError
# the finish reasons of an answer cut at the token limit (TRUNCATED) or stopped by a filter
# (FILTERED): one set each, which the audit reads the answers' finish reasons with too
from halluscope.finish_reasons import FILTERED, TRUNCATED

log = logging.getLogger(__name__)


# -- errors -------------------------------------------------------------------------------------
class AdapterError(HalluscopeError):
    """A model call failed."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None):
        self.status = status
        super().__init__(message)


class AuthError(AdapterError):
    """Credentials are missing, invalid, or lack permission; retrying cannot help."""


class SetupError(AuthError):
    """The client refuses to send any request as it is set up, before it reaches a server: an
    option's header name or value HTTP does not allow (a newline, a space in a name, a
    character outside ASCII), a key pasted with such a character. Every call meets it, so, as
    refused credentials do, it stops the run at once rather than being retried as a lost
    connection and failing every record."""


class RequestError(AdapterError):
    """The request is wrong (bad parameter, unknown model, payload too large)."""


class Declined(RequestError):
    """The model declined or the provider's filter withheld the answer (``message.refusal`` or
    ``content_filter`` with no text, Claude's ``refusal``, Gemini's ``SAFETY`` or a blocked
    prompt): its decision on this request, not a fault. ``refusal``: the text it declined
    with, if any; ``model``: the model the server named; ``cached``: read from the cache."""

    def __init__(self, message: str, *, refusal: str | None = None, model: str | None = None,
                 cached: bool = False):
        self.refusal, self.model, self.cached = refusal, model, cached
        super().__init__(message)


class ImageError(AdapterError):
    """An image could not be loaded or prepared."""


class ServerUnreachable(AdapterError):
    """Several connections in a row could not be made: the server is down or the URL wrong.
    Raised by :class:`~halluscope.adapters.client.ModelClient` for every later call too."""


class ModelNotFound(ServerUnreachable):
    """The server answered HTTP 404 to several requests and to none with an answer: it knows
    no such model (a name mistyped, a deployment removed) or the ``--base-url`` path is wrong
    (an OpenAI-compatible server's ends in ``/v1``, Anthropic's does not). Every later call
    fails with it at once, as after :class:`ServerUnreachable`: the run stops."""


class RetryableError(AdapterError):
    """A failure that may go away: retry after ``retry_after`` seconds when given."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message, status=status)


class RateLimited(RetryableError):
    """HTTP 429: too many requests or tokens."""


class ServerError(RetryableError):
    """HTTP 5xx or an overloaded server."""


class RequestTimeout(RetryableError):
    """No answer within the timeout."""


class ConnectFailed(RetryableError):
    """No connection could be made: refused, unresolvable host, TLS set-up or connect timeout."""


class ConnectionLost(RetryableError):
    """The server was reached, but the connection broke before the whole response arrived
    (closed or reset mid-way, a body shorter than announced): a fault of this one exchange."""


class MalformedResponse(RetryableError):
    """The server answered with something that is not a readable completion."""


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    if not headers:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(status: int, message: str, headers: Mapping[str, str] | None = None
                     ) -> AdapterError:
    """The :class:`AdapterError` subclass that an HTTP status maps to."""
    if status in (401, 403):
        return AuthError(f"authentication failed (HTTP {status}): {message}", status=status)
    if status == 402:  # the account's credit or billing (Anthropic, Gemini): every call alike
        return AuthError(f"payment required (HTTP 402): {message}", status=status)
    if status == 429:
        return RateLimited(f"rate limited (HTTP 429): {message}", status=status,
                           retry_after=parse_retry_after(headers))
    if status == 408:
        return RequestTimeout(f"server timed out (HTTP 408): {message}", status=status)
    if status >= 500:
        return ServerError(f"server error (HTTP {status}): {message}", status=status,
                           retry_after=parse_retry_after(headers))
    return RequestError(f"request rejected (HTTP {status}): {message}", status=status)


#: HTTP statuses of a request the server rejects for what it holds (malformed, an invalid
#: image, too large, unprocessable): the same request is rejected again every time.
REJECTED_AS_SENT = frozenset({400, 413, 415, 422})


def is_refusal(error: BaseException) -> bool:
    """Whether ``error`` is a failure the same request meets again every time it is asked: a
    provider's filter or the model declining (a :class:`RequestError` with no HTTP status:
    ``content_filter``, ``message.refusal``, Gemini ``SAFETY`` or a blocked prompt, Claude's
    ``refusal``, a local processor rejecting the input) or a request the server rejects as
    sent (HTTP 400, 413, 415, 422: an invalid image, a payload too large). Not a 404 (the
    model or the path, not the request), not an :class:`ImageError` (the image is read here:
    a file fixed since is read anew), not a :class:`RetryableError` (429, 5xx, timeouts).
    ``halluscope query`` keeps such a record's failure on resume (``"refused": true``)."""
    return isinstance(error, Declined) or (type(error) is RequestError and (
        error.status is None or error.status in REJECTED_AS_SENT))


# -- request / response -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TextPart:
    """A piece of text in a message."""

    text: str


#: The image ``detail`` values the OpenAI API accepts (the openai SDK's
#: ``ImageURL.detail`` Literal, openai/types/chat/chat_completion_content_part_image_param.py).
IMAGE_DETAILS = ("auto", "low", "high", "original")


def check_detail(detail: str | None, name: str = "detail") -> str | None:
    """``detail`` when the OpenAI API accepts it (or ``None``); else a :class:`ConfigError`
    naming ``name`` (``--detail``, a judge spec's ``image.detail``): a value the API would
    refuse is a usage error before the first call, not a failed record per request."""
    if detail is not None and detail not in IMAGE_DETAILS:
        from halluscope.errors import ConfigError
        raise ConfigError(f"expected {name} to be one of {', '.join(IMAGE_DETAILS)} (the image "
                          f"detail values the OpenAI API accepts), got {detail!r}")
    return detail


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image in a message.

    Attributes:
        source: Local path (absolute, or relative to the working directory) or ``http(s)`` URL.
        detail: OpenAI's ``detail`` (:data:`IMAGE_DETAILS`); other providers ignore it.
        data: The image's bytes, filled in by the client before a provider sees the request
            (providers then never read paths or URLs themselves).
        sha256: Hex sha256 of ``data``.
    """

    source: str
    detail: str | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: ``role`` is ``system`` | ``user`` | ``assistant``."""

    role: str
    content: tuple[TextPart | ImagePart, ...]

    @classmethod
    def user(cls, text: str | None = None, images: tuple[str, ...] | list[str] = (),
             detail: str | None = None) -> "Message":
        """A user message with images first, then the text (the order providers recommend)."""
        parts: list[TextPart | ImagePart] = [ImagePart(str(i), detail) for i in images]
        if text is not None:
            parts.append(TextPart(text))
        return cls("user", tuple(parts))

    @classmethod
    def system(cls, text: str) -> "Message":
        return cls("system", (TextPart(text),))

    def text(self) -> str:
        """The message's text parts joined by newlines."""
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    def images(self) -> list[ImagePart]:
        return [p for p in self.content if isinstance(p, ImagePart)]


@dataclass(frozen=True, slots=True)
class Decoding:
    """Decoding parameters; all of them enter the cache key.

    Attributes:
        temperature: 0 for greedy / deterministic decoding.
        top_p: Nucleus sampling mass, ``None`` for the provider default.
        max_tokens: Upper bound on generated tokens.
        seed: Sampling seed where the provider supports one.
        stop: Stop sequences.
    """

    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 512
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self):
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"expected temperature as a number >= 0, got {self.temperature}")
        if self.top_p is not None and not 0 < self.top_p <= 1:     # nan fails it too
            raise ValueError(f"expected top_p in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"expected max_tokens >= 1, got {self.max_tokens}")

    @property
    def sampled(self) -> bool:
        return self.temperature > 0

    def to_dict(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed, "stop": list(self.stop)}


@dataclass(frozen=True, slots=True)
class Request:
    """What one ``generate`` call is asked.

    Attributes:
        messages: The conversation.
        decoding: Decoding parameters.
        sample_index: Which sample this is when several are drawn per prompt; it enters the
            cache key only for sampled decoding (temperature > 0): greedy samples are one answer.
        replicate: A deliberate repeat of an identical request (judge reliability); enters the
            cache key whenever it is not 0.
    """

    messages: tuple[Message, ...]
    decoding: Decoding = Decoding()
    sample_index: int = 0
    replicate: int = 0

    def images(self) -> list[ImagePart]:
        return [p for m in self.messages for p in m.images()]

    @property
    def seed(self) -> int | None:
        """The seed this request sends: the decoding's seed, except for the further samples of
        sampled decoding (``sample_index`` > 0), which each get their own, derived from it (the
        same in every run, below 2**31 as Gemini's int32 field takes): sent the one seed,
        a server that honours it draws the same sample N times."""
        seed = self.decoding.seed
        if seed is None or not self.sample_index or not self.decoding.sampled:
            return seed
        return (seed * 1_000_003 + self.sample_index) % (2 ** 31 - 1)


def with_a_user_turn(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """``messages``, or, when they are all system messages, their parts as one user turn: for
    APIs whose conversation must hold a turn (Anthropic's ``messages``, Gemini's ``contents``
    refuse an empty one), a system prompt that is the whole request (a judge prompt sent as a
    system message, as the original scorer sends it) is what the user asks."""
    if not messages or any(m.role != "system" for m in messages):
        return messages
    return (Message("user", tuple(p for m in messages for p in m.content)),)


def cut_at_token_limit(finish_reason: str | None) -> bool:
    """Whether a response with ``finish_reason`` stopped at the token limit (its text is not
    the whole answer the model meant to give)."""
    return finish_reason is not None and str(finish_reason).lower() in TRUNCATED


def cut_by_filter(finish_reason: str | None) -> bool:
    """Whether a response with ``finish_reason`` was stopped by a filter or a refusal after
    some of its text (:data:`FILTERED`)."""
    if finish_reason is None:
        return False
    reason = str(finish_reason).lower()
    return reason.removeprefix("finishreason.") in FILTERED


def cut_short(finish_reason: str | None) -> bool:
    """Whether a response's text is not the whole answer: cut at the token limit
    (:func:`cut_at_token_limit`) or by a filter (:func:`cut_by_filter`)."""
    return cut_at_token_limit(finish_reason) or cut_by_filter(finish_reason)


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def split_thoughts(text: str) -> tuple[str, str | None]:
    """``(answer, reasoning)`` of a reply that may open with a reasoning model's inline
    ``<think>...</think>`` block (a server without a reasoning parser sends it in the content).

    Only a block at the very start (after whitespace) counts: its inside, stripped, is the
    reasoning and the text after it the answer. A ``<think>`` never closed (cut at the token
    limit) leaves the answer empty, all of it reasoning. Anything else -- a ``<think>`` later
    in the text, ``<Think>`` -- is the model's answer as written: ``(text, None)``.
    """
    body = text.lstrip()
    if not body.startswith(THINK_OPEN):
        return text, None
    inner, closed, rest = body[len(THINK_OPEN):].partition(THINK_CLOSE)
    if not closed:
        return "", inner.strip()
    return rest.lstrip(), inner.strip()


def finish_reply(content: str, sent_reasoning: str | None = None) -> tuple[str, str | None]:
    """``(answer, reasoning)`` of an OpenAI-compatible reply: its ``content`` as the server sent
    it and the reasoning the server sent in a field of its own (``sent_reasoning``: vLLM's
    ``message.reasoning_content`` or a newer server's ``message.reasoning``, from a reasoning
    parser), never part of the answer.

    The content's inline ``<think>`` block (:func:`split_thoughts`) is reasoning too; with both,
    the server's comes first. Blank sent reasoning is none. These are the rules a cached reply is
    read by again (:meth:`Response.from_cache` keeps ``raw``), so an answer cached before a rule
    changed is served as the rule of the day makes it, without asking the model again."""
    text, inline = split_thoughts(content)
    if not (isinstance(sent_reasoning, str) and sent_reasoning.strip()):
        return text, inline
    sent = sent_reasoning.strip()
    return text, (f"{sent}\n\n{inline}" if inline else sent)


@dataclass(frozen=True, slots=True)
class Response:
    """A model's answer.

    Attributes:
        text: The generated text.
        model: The model name the server reported (``None`` when it reported none).
        usage: Token counts (``input_tokens``, ``output_tokens``), each only when the provider
            reported it as a sensible number (:func:`token_counts`); absent means unknown.
        latency_s: Seconds the successful attempt took (for a cache hit: the original call's).
        finish_reason: Why generation stopped, as the provider says it.
        cached: True when read from the cache instead of calling the model.
        attempts: Attempts the call took (1 = no retry).
        reasoning: A reasoning model's thoughts kept out of ``text`` (the inline
            ``<think>`` block of :func:`split_thoughts`, the reasoning field an OpenAI-compatible
            server's parser fills, Claude's thinking blocks, Gemini's thought summary);
            ``None`` when there were none.
        raw: The reply's content as the server (or a local model) sent it, before
            :func:`finish_reply` made ``text`` and ``reasoning`` of it (``None``: the adapter
            post-processes nothing, or it is the answer as it is). Stored in the cache, so that
            reading an entry derives them again by the current rules (the adapter's
            ``reread``).
        sent_reasoning: The reasoning the server sent in a field of its own (``None``: none),
            stored beside ``raw`` for the same reason.
    """

    text: str
    model: str | None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    finish_reason: str | None = None
    cached: bool = False
    attempts: int = 1
    reasoning: str | None = None
    raw: str | None = field(default=None, repr=False)
    sent_reasoning: str | None = field(default=None, repr=False)

    def to_cache(self) -> dict[str, Any]:
        """The cache entry: ``text`` and ``reasoning`` as derived (what a person, or an older
        halluscope, reads) and, where the adapter post-processes its replies, the reply as
        sent (``raw`` as ``content``, ``sent_reasoning`` as ``reasoning_content``: keys that
        :mod:`halluscope.redact` treats as model text) that a read derives them from again."""
        obj = {"text": self.text, "model": self.model, "usage": self.usage,
               "latency_s": round(self.latency_s, 4), "finish_reason": self.finish_reason}
        if self.reasoning is not None:
            obj["reasoning"] = self.reasoning
        if self.raw is not None:
            obj["content"] = self.raw
        if self.sent_reasoning is not None:
            obj["reasoning_content"] = self.sent_reasoning
        return obj

    @classmethod
    def from_cache(cls, obj: Mapping[str, Any]) -> "Response":
        """An entry as stored (entries written before ``content`` was kept have none); ``KeyError``
        or ``TypeError`` for one that holds no answer text."""
        if not isinstance(obj["text"], str):
            raise TypeError(f"expected the cached answer as text, got {type(obj['text'])}")
        if not isinstance(obj.get("content"), (str, type(None))):
            # the reply as sent is split again when read: one that is not text is no answer
            raise TypeError(f"expected the cached reply as text, got {type(obj['content'])}")
        return cls(text=obj["text"], model=obj.get("model"), usage=dict(obj.get("usage") or {}),
                   latency_s=float(obj.get("latency_s") or 0.0),
                   finish_reason=obj.get("finish_reason"), cached=True, attempts=0,
                   reasoning=obj.get("reasoning"), raw=obj.get("content"),
                   sent_reasoning=obj.get("reasoning_content"))



def reread_reply(response: Response) -> Response:
    """A cached answer of an adapter that post-processes its replies (an OpenAI-compatible
    server's, a local transformers model's) as the adapter makes it today: ``text`` and
    ``reasoning`` derived again (:func:`finish_reply`) from the reply as sent (``raw``); an
    entry cached before ``raw`` was kept gets its ``<think>`` block split off now, unless it was
    split when cached (it has a ``reasoning``)."""
    if response.raw is not None:
        text, reasoning = finish_reply(response.raw, response.sent_reasoning)
    elif response.reasoning is None:
        text, reasoning = finish_reply(response.text)
    else:
        return response
    if (text, reasoning) == (response.text, response.reasoning):
        return response
    log.debug("cached answer derived again by the current rules (its <think> block split off)")
    return replace(response, text=text, reasoning=reasoning)

@runtime_checkable
class ModelAPI(Protocol):
    """What a provider implements.

    Attributes:
        provider: Provider name as registered (``openai``, ``vllm``, ``anthropic``, ``hf``, ...).
        model: Model name as requested.
        pin: The resolved model pin that enters the cache key: the dated snapshot name for APIs,
            the hub revision (or a hash of the local files) for local models.
        image_policy: How images are resized/re-encoded before they are sent.
        concurrency_hint: An upper bound on useful concurrency (1 for a local model), or None.

    Optional: ``answer_settings``, a dict of the adapter's own settings that change an answer
    (none or empty when there are none), and ``default_detail``, the image detail sent with
    images a request gives none; both enter the cache key. ``sent_image_digest(data, name)``:
    the sha256 of what the adapter sends in an image's place (prepared bytes, decoded pixels),
    ``None`` where it sends the bytes as they are; it enters the cache key too. ``reread(
    response)``: a cached answer as the adapter's reply parsing makes it today (see
    :mod:`halluscope.adapters.cache`).
    """

    provider: str
    model: str
    image_policy: Any
    concurrency_hint: int | None

    @property
    def pin(self) -> str: ...

    async def generate(self, request: Request) -> Response:
        """One attempt; raises :class:`AdapterError` subclasses."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads or device memory."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the run sheet records about this model (never credentials)."""
        ...

    def redact(self, text: str) -> str:
        """``text`` with every credential this adapter holds replaced by ``<redacted>``."""
        ...


def clip(text: Any, limit: int) -> str:
    """``text`` (a server's message) on one line, redacted, then cut to ``limit`` characters:
    redacted first, since a credential the cut fell inside no longer matches the whole secret
    and its first part would be kept."""
    from halluscope.redact import redact_text
    return redact_text(" ".join(str(text).split()))[:limit]


def redact_secrets(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with each given secret and every known one redacted
    (:func:`halluscope.redact.redact_text`)."""
    from halluscope.redact import redact_text
    return redact_text(text, secrets)
