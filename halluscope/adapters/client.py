"""ModelClient: one provider wrapped with the cache, the adaptive limiter, retries and timeouts.

Every provider gets the same behaviour from here:

1. images are read (paths; URLs only when allowed) and hashed; the cache key is computed;
2. a cache hit returns at once (no slot, no call); identical requests already in flight are
   joined rather than sent twice (identical: the same image bytes, even under other file names;
   an :class:`~halluscope.adapters.types.ImageError` is not shared between requests whose
   images have other names, since it names the file: each such request prepares its own);
   a miss is claimed in the cache file first, and one that another process sharing the file
   claimed is waited for there (:mod:`~halluscope.adapters.shared_calls`: workers ask it once);
   the claims a client holds are renewed while their requests wait in line, are retried or
   are answered, so that a long queue is not taken for a hung process;
3. otherwise one attempt runs inside a limiter slot under a timeout;
4. :class:`~halluscope.adapters.types.RetryableError` failures are retried with exponential
   backoff and jitter, honouring ``Retry-After``; 429s also shrink the concurrency limit;
   :class:`~halluscope.adapters.types.AuthError` and other non-retryable errors are raised at once
   (after one AuthError every later call fails with it without reaching the provider: the
   credentials are the same);
5. the answer is written to the cache as soon as it arrives; with ``keep_declined`` (a judge's
   client) so is a refusal (:class:`~halluscope.adapters.types.Declined`), which a later call
   with the same key meets again, raised from the cache (``cached``), rather than asking anew
   (:mod:`halluscope.adapters.cache`).

A connection that cannot be made (refused, unresolvable host, connect timeout:
:class:`~halluscope.adapters.types.ConnectFailed`) is not retried record after record: after
``RetryPolicy.max_connect_failures`` consecutive connection failures with no sign of the server in
between (an answer, an HTTP status, a response that broke off), every call fails at once with
:class:`ServerUnreachable` (the caller stops the run). A response that broke off mid-way
(:class:`~halluscope.adapters.types.ConnectionLost`) shows the server is up: it is retried for its
own record like any retryable failure and never counts toward the stop. Likewise, once
``RetryPolicy.max_not_found`` requests got HTTP 404 while none got an answer, the server knows
no such model (or the base URL's path is wrong): every later call fails at once with
:class:`~halluscope.adapters.types.ModelNotFound` (a ``ServerUnreachable``: the run stops)
rather than each prompt being sent to the same 404. After one answer, a 404 is its own
record's failure.
Time spent waiting before retries is measured (``waited_s``; ``rate_limit_wait_s`` for the part
that a 429 or ``Retry-After`` asked for) and reported by :meth:`ModelClient.describe`.

In offline mode (``offline=True``) step 2 is the last: a cache miss raises
:class:`~halluscope.errors.CacheMiss` and the provider is never called.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from halluscope.adapters import shared_calls
from halluscope.adapters.cache import UNKNOWN, ResponseCache, hash_material, key_material
from halluscope.adapters.images import ImageLoader, preparer_identity
from halluscope.adapters.limiter import AdaptiveLimiter
from halluscope.adapters.sdk_errors import proxy_note
from halluscope.adapters.types import (AdapterError, AuthError, ConnectFailed, ConnectionLost,
                                       Declined, ImageError, ImagePart, MalformedResponse,
                                       Message, ModelAPI, ModelNotFound, RateLimited, Request,
                                       RequestTimeout, Response, RetryableError,
                                       ServerUnreachable)
from halluscope.errors import CacheMiss

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed attempts are retried.

    Attributes:
        max_attempts: Attempts per request, the first included.
        base_delay: Backoff cap of the first retry in seconds; doubles with each attempt.
        max_delay: Upper bound of the backoff cap.
        max_retry_after: Upper bound on a server's ``Retry-After``.
        max_connect_failures: Consecutive connection failures (no answer in between) after
            which the server counts as unreachable and no further call is tried.
        max_not_found: HTTP 404s, with no answer before them, after which the model counts as
            unknown to the server and no further call is tried.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_connect_failures: int = 4
    max_not_found: int = 4

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + rng.uniform(0, 0.1 * self.base_delay)
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return rng.uniform(cap / 10, cap)


class ModelClient:
    """Calls one model the careful way (see the module docstring).

    Args:
        api: The provider adapter.
        cache: Response cache, or None for no caching.
        max_connections: Concurrency bound (the provider's ``concurrency_hint`` may lower it).
        retry: Retry policy.
        timeout: Seconds one attempt may take (None: no limit).
        images: Image loader (URL policy, root for relative paths).
        offline: Answer from the cache only; a miss raises :class:`CacheMiss`.
        role: ``model`` or ``judge``, for the :class:`CacheMiss` message.
        name: The name a :class:`CacheMiss` gives (default ``provider/model``).
        keep_declined: Record refusals in the cache and raise them again from it (a pinned
            judge's, so that a rerun reads the refusal the first run read).
    """

    def __init__(self, api: ModelAPI, *, cache: ResponseCache | None = None,
                 max_connections: int = 8, retry: RetryPolicy | None = None,
                 timeout: float | None = 120.0, images: ImageLoader | None = None,
                 seed: int | None = None, offline: bool = False, role: str = "model",
                 name: str | None = None, keep_declined: bool = False):
        hint = getattr(api, "concurrency_hint", None)
        bound = max(1, min(max_connections, hint) if hint else max_connections)
        self.api = api
        self.cache = cache
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.images = images or ImageLoader()
        self.limiter = AdaptiveLimiter(bound)
        self._rng = random.Random(seed)
        # cache key -> (the answer's future, the image sources of the request that asked)
        self._inflight: dict[str, tuple[asyncio.Future, tuple[str, ...]]] = {}
        # an image's sha256 -> the digest of what the adapter sends for it (None: its bytes)
        self._sent: dict[str, str | None] = {}
        self._preparer: str | None = None
        self._auth_failure: AuthError | None = None
        self._unreachable: ServerUnreachable | None = None
        self._connect_failures = 0
        self._not_found = 0             # HTTP 404s while no call has been answered
        self._answered = False          # a call of this client got an answer
        self.waited_s = 0.0
        self.rate_limit_wait_s = 0.0
        self.rate_limited = 0
        self.offline = offline
        self.keep_declined = keep_declined
        self.role = role
        self.name = name or f"{api.provider}/{getattr(api, 'model', '?')}"
        self.reported_models: Counter[str] = Counter()
        self.unreported_models = 0      # answers whose server named no model
        self.calls = 0
        self.cache_hits = 0
        #: most seconds a request waits for another process's answer (it claimed it first)
        self.shared_wait_s = shared_calls.WAIT_S
        self._claimed: set[str] = set()     # keys this client claimed, not let go yet
        self._renewing: asyncio.Task | None = None     # renews them (shared_calls.refresh)
        self.retries = 0
        self.failures = 0

    @property
    def policy_key(self) -> dict[str, Any] | None:
        pol = getattr(self.api, "image_policy", None)
        return pol.key() if pol is not None and hasattr(pol, "key") else None

    async def _hash_images(self, request: Request) -> list[str]:
        sources = [p.source for p in request.images() if p.sha256 is None]
        hashes: dict[str, str] = {}
        for src in dict.fromkeys(sources):
            hashes[src] = await asyncio.to_thread(self.images.sha256, src)
        return [p.sha256 or hashes[p.source] for p in request.images()]

    async def _sent_digests(self, request: Request, hashes: list[str]) -> list[str | None]:
        """For each image, the digest of what the adapter sends in its place when that is not
        the file's bytes (``sent_image_digest``: prepared bytes, or a local model's pixels);
        ``None`` for all where the adapter sends the bytes as they are. Worked out once per
        image (by its sha256) and remembered here and in the cache file
        (:meth:`~halluscope.adapters.cache.ResponseCache.sent_image`): preparing is CPU work."""
        digest = getattr(self.api, "sent_image_digest", None)
        if digest is None:
            return [None] * len(hashes)
        parts = request.images()

        def work() -> None:
            if self._preparer is None:
                self._preparer = preparer_identity(self.api)
            for part, sha in zip(parts, hashes):
                if sha in self._sent:
                    continue
                known = (self.cache.sent_image(sha, self._preparer) if self.cache is not None
                         else UNKNOWN)
                if known == UNKNOWN:
                    data = part.data if part.data is not None else self.images.read(part.source)
                    known = digest(data, part.source)
                    if self.cache is not None:
                        self.cache.remember_sent_image(sha, self._preparer, known)
                self._sent[sha] = known
        if any(sha not in self._sent for sha in hashes):
            await asyncio.to_thread(work)
        return [self._sent[sha] for sha in hashes]

    async def key(self, request: Request, *, name_sent: bool = True
                  ) -> tuple[str, dict[str, Any]]:
        """The cache key of ``request`` and the document it hashes. ``name_sent=False``: a key
        that leaves out what is sent in an image's place (no preparation to name it) -- good
        only for joining identical requests in flight, where one client's image sha256 decides
        what it sends."""
        hashes = await self._hash_images(request)
        sent = await self._sent_digests(request, hashes) if name_sent else None
        doc = key_material(self.api.provider, self.api.pin, request, hashes, self.policy_key,
                           endpoint=getattr(self.api, "endpoint", None),
                           settings=getattr(self.api, "answer_settings", None),
                           default_detail=getattr(self.api, "default_detail", None),
                           sent_images=sent)
        return hash_material(doc), doc

    async def _with_image_bytes(self, request: Request) -> Request:
        if not request.images():
            return request

        def load() -> Request:
            messages = []
            for m in request.messages:
                parts = []
                for p in m.content:
                    if isinstance(p, ImagePart) and p.data is None:
                        p = dataclasses.replace(p, data=self.images.read(p.source),
                                                sha256=p.sha256 or self.images.sha256(p.source))
                    parts.append(p)
                messages.append(Message(m.role, tuple(parts)))
            return dataclasses.replace(request, messages=tuple(messages))
        return await asyncio.to_thread(load)

    async def generate(self, request: Request, *, use_cache: bool = True) -> Response:
        """The model's answer to ``request``; raises :class:`AdapterError` when it fails."""
        # this call's place in line for a connection, taken before the image work below,
        # which finishes in any order: calls are sent in the order they were made
        ticket = self.limiter.ticket()
        # without a cache the key only joins identical requests in flight: naming the
        # prepared bytes in it would prepare each image once more than sending it does
        key, doc = await self.key(request, name_sent=self.cache is not None)
        if self.cache is not None and use_cache:
            hit = self._cached(key)
            if hit is not None:
                return hit
            self.cache.note_superseded(doc)
        if self.offline:
            raise CacheMiss(self.name, str(self.cache.path) if self.cache is not None else None,
                            role=self.role)
        sources = tuple(p.source for p in request.images())
        joined = self._inflight.get(key)
        if joined is not None:
            try:
                response = await asyncio.shield(joined[0])
            except ImageError:
                if joined[1] == sources:
                    raise
                # same bytes under another name: the error names the other request's file,
                # so this one is prepared (and fails, or not) under its own name
                return await self._answer(key, doc, request, None, ticket)
            self._count_model(response)
            return response
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key] = (future, sources)
        claims = self.cache is not None and use_cache and self.cache.claims_calls
        held = False
        try:
            if claims:      # asked by another process sharing the cache file: its answer
                hit = await self._answered_elsewhere(key, future)
                if hit is not None:
                    claims = False      # (the claim was not this process's)
                    return hit
                self._hold_claim(key)
                held = True
            return await self._answer(key, doc, request, future, ticket)
        finally:
            self._inflight.pop(key, None)
            if claims:      # answered, failed or interrupted: let the others know
                shared_calls.release(self.cache, key)
            if held:
                self._let_go_claim(key)

    def _cached(self, key: str) -> Response | None:
        """The answer the cache holds for ``key`` as the adapter reads it today, or None;
        raises the refusal it holds there for a client that keeps them (``keep_declined``)."""
        hit = self.cache.get(key, declined=self.keep_declined)
        if hit is None:
            return None
        self.cache_hits += 1
        if isinstance(hit, Declined):
            raise hit
        reread = getattr(self.api, "reread", None)
        if reread is not None:   # post-processed by the rules of the day
            hit = reread(hit)
        self._count_model(hit)
        return hit

    def _hold_claim(self, key: str) -> None:
        """Note the claim on ``key`` this client now holds; while it holds any, they are
        renewed every ``REFRESH_SHARE`` of :attr:`shared_wait_s` (:meth:`_renew_claims`):
        its own, never a claim this process left behind (a call abandoned), which stays void
        after the bound."""
        self._claimed.add(key)
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.get_running_loop().create_task(self._renew_claims())

    def _let_go_claim(self, key: str) -> None:
        self._claimed.discard(key)
        if not self._claimed and self._renewing is not None:
            self._renewing.cancel()
            self._renewing = None

    async def _renew_claims(self) -> None:
        """Renew this process's claims in the cache file while this client holds any: their
        requests wait in line, for a retry or for their answer (:func:`shared_calls.refresh`)."""
        cache = self.cache
        while True:
            await asyncio.sleep(self.shared_wait_s * shared_calls.REFRESH_SHARE)
            shared_calls.refresh(cache, tuple(self._claimed))

    async def _answered_elsewhere(self, key: str, future: asyncio.Future) -> Response | None:
        """The answer another process sharing the cache file asked for ``key`` while this one
        waited (a cache hit, given to the requests here that joined ``future`` too), or None:
        this process asks (:mod:`~halluscope.adapters.shared_calls`)."""
        try:
            found = await shared_calls.claim_or_wait(self.cache, key, self.shared_wait_s)
            hit = self._cached(key) if found else None
        except BaseException as exc:    # (a refusal kept, a Ctrl-C while waiting) the joiners
            if not future.done():       # are told too
                future.set_exception(exc)
                future.exception()
            raise
        if hit is None:
            return None
        future.set_result(hit)
        return hit

    async def _answer(self, key: str, doc: dict[str, Any], request: Request,
                      future: asyncio.Future | None, ticket: int | None = None) -> Response:
        """Call the model for ``request`` (its place in line: ``ticket``), cache the answer and
        settle ``future`` (the one identical requests in flight join) with the answer or the
        failure."""
        try:
            response = await self._call(await self._with_image_bytes(request), ticket)
        except BaseException as exc:
            if isinstance(exc, Declined) and self.keep_declined and self.cache is not None:
                self.cache.put_declined(key, doc, exc)  # a rerun meets the same refusal
            if future is not None and not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved: joiners re-raise it themselves
            raise
        if future is not None:
            future.set_result(response)
        try:
            if self.limiter.waiting:
                # let the call this slot was handed to send its request before this answer
                # is cached and written: answers come in waves, and each freed connection
                # otherwise stayed idle while its answer's bookkeeping ran
                await asyncio.sleep(0)
        finally:
            if self.cache is not None:
                self.cache.put(key, doc, response)
            self._count_model(response)
        return response

    def _count_model(self, response: Response) -> None:
        """Count the model ``response`` names, or that it names none."""
        if response.model:
            self.reported_models[response.model] += 1
        else:
            self.unreported_models += 1

    async def _call(self, request: Request, ticket: int | None = None) -> Response:
        if ticket is None:
            ticket = self.limiter.ticket()
        attempt = 0
        while True:
            attempt += 1
            async with self.limiter.slot(ticket) as generation:  # a retry keeps its place
                if self._auth_failure is not None:  # refused once: refused for every call
                    self.failures += 1
                    raise type(self._auth_failure)(str(self._auth_failure),
                                                   status=self._auth_failure.status)
                if self._unreachable is not None:
                    self.failures += 1
                    raise type(self._unreachable)(str(self._unreachable),
                                                  status=self._unreachable.status)
                self.calls += 1
                t0 = time.perf_counter()
                try:
                    async with asyncio.timeout(self.timeout):  # None: no limit
                        response = await self.api.generate(request)
                except asyncio.TimeoutError:
                    error: AdapterError = RequestTimeout(
                        f"no answer within {self.timeout:g} s")
                except RetryableError as exc:
                    error = exc
                    if isinstance(exc, RateLimited):
                        self.rate_limited += 1
                        self.limiter.on_rate_limited(generation, exc.retry_after)
                    if not isinstance(exc, ConnectFailed) and _server_was_reached(exc):
                        self._connect_failures = 0  # it is up: this call's failure is its own
                    if isinstance(exc, ConnectFailed):
                        self._connect_failures += 1
                        if (self._connect_failures >= self.retry.max_connect_failures
                                and self._unreachable is None):
                            where = getattr(self.api, "endpoint", None) or self.name
                            self._unreachable = ServerUnreachable(_redact(self.api,
                                f"cannot reach {where}: {exc} ({self._connect_failures} "
                                f"connection attempts in a row failed; is the server running "
                                f"and the --base-url right?{proxy_note(where)})"))
                        if self._unreachable is not None:
                            self.failures += 1
                            raise ServerUnreachable(str(self._unreachable)) from None
                except AdapterError as exc:
                    self.failures += 1
                    if _server_was_reached(exc):
                        self._connect_failures = 0
                    error = _finish(exc, attempt, self.api.redact(str(exc)))
                    if isinstance(error, AuthError):
                        self._auth_failure = error
                    elif error.status == 404:
                        self._count_not_found(error)
                    raise error from None
                else:
                    self._connect_failures = 0
                    self._answered = True
                    self.limiter.on_success()
                    return dataclasses.replace(response, attempts=attempt,
                                               latency_s=time.perf_counter() - t0)
            if attempt >= self.retry.max_attempts:
                self.failures += 1
                # a connection not made through a proxy may be the proxy's fault: named
                # (host:port) on each record, not only in the stop after several
                via = (proxy_note(getattr(self.api, "endpoint", None))
                       if isinstance(error, ConnectFailed) else "")
                message = self.api.redact(f"{error} (gave up after {attempt} attempts{via})")
                raise _finish(error, attempt, message) from None
            retry_after = getattr(error, "retry_after", None)
            delay = self.retry.delay(attempt, retry_after, self._rng)
            self.retries += 1
            log.debug("attempt %d failed (%s); retrying in %.2f s", attempt,
                      type(error).__name__, delay)
            await self._wait_before_retry(delay, isinstance(error, RateLimited)
                                          or retry_after is not None)

    def _count_not_found(self, error: AdapterError) -> None:
        """Count an HTTP 404 while no call has been answered; at the
        ``RetryPolicy.max_not_found``-th, every later call fails with :class:`ModelNotFound`
        (this one fails as its own record, with the server's message)."""
        if self._answered or self._unreachable is not None:
            return
        self._not_found += 1
        if self._not_found < self.retry.max_not_found:
            return
        where = getattr(self.api, "endpoint", None) or "the server"
        model = getattr(self.api, "model", None) or self.name
        self._unreachable = ModelNotFound(_redact(self.api,
            f"{where} answered HTTP 404 to {self._not_found} requests and none with an "
            f"answer: it knows no model {model!r}, or the --base-url path is wrong (an "
            f"OpenAI-compatible server's ends in /v1; Anthropic's and Gemini's name the host "
            f"only); the server said: {error}"), status=404)

    async def _wait_before_retry(self, delay: float, asked_by_server: bool) -> None:
        """Sleep ``delay`` seconds before a retry and count the time slept: an interrupted
        run counts what it waited, not the 30 s a Retry-After asked for that it never waited
        (5 such retries stopped after 3 s read ``retry_wait_s: 150``)."""
        t0 = time.monotonic()
        try:
            await asyncio.sleep(delay)
        finally:
            waited = min(delay, time.monotonic() - t0)
            self.waited_s += waited
            if asked_by_server:
                self.rate_limit_wait_s += waited

    def describe(self) -> dict[str, Any]:
        return {"calls": self.calls, "cache_hits": self.cache_hits, "retries": self.retries,
                "retry_wait_s": round(self.waited_s, 3),
                "rate_limited": self.rate_limited,
                "rate_limit_wait_s": round(self.rate_limit_wait_s, 3),
                "offline": self.offline,
                "failures": self.failures, "limiter": self.limiter.describe(),
                "reported_models": dict(self.reported_models),
                "unreported_models": self.unreported_models}

    async def aclose(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            self._renewing = None
        await self.api.aclose()


def _server_was_reached(error: AdapterError) -> bool:
    """Whether ``error`` shows the server answered or accepted the connection: an HTTP status,
    a body that was no answer, or a connection lost mid-response."""
    return error.status is not None or isinstance(error, (ConnectionLost, MalformedResponse))


def _redact(api: Any, text: str) -> str:
    from halluscope.redact import redact_text
    return redact_text(api.redact(text))


def _finish(error: AdapterError, attempts: int, message: str) -> AdapterError:
    """``error`` with its (redacted) final message and the number of attempts it took."""
    from halluscope.redact import redact_text
    error.args = (redact_text(message),)
    error.attempts = attempts
    return error
