"""The Judge: an adapter + a pinned spec + prompt templates + answer parsers.

>>> judge = Judge.load("gpt-4o-2024-08-06")                # judges/gpt-4o-2024-08-06.toml
>>> verdict = await judge.verify(claim, "photo.jpg")       # Verdict, evidence keeps the raw answer
>>> await judge.classify_yes_no("Well, I can see one.", question="Is there a cat?")  # "yes"
>>> claims = await judge.decompose("A dog sits on a red sofa.")

Every method has a blocking twin (``verify_sync``, ...) for scripts; ``verify_many`` checks
several claims concurrently (the adapter's concurrency limit applies). Calls go through the same
client as ``halluscope query`` (cache, retries, adaptive concurrency), so judging the same claim
twice costs one call; with ``offline=True`` (or ``$HALLUSCOPE_OFFLINE``) the cache is all there
is and a miss raises :class:`~halluscope.errors.CacheMiss`. The judge records the model name the
server reports; an answer from a model other than the pinned one is counted (``stats``, run
sheet) and, with ``strict_pin=True``, raises :class:`PinMismatch` (a
:class:`~halluscope.errors.ConfigError`), as does an answer whose server names no model at all:
a strict pin is one that was verified.

:func:`halluscope.judges.load_judge` builds a judge from a spec name or file (and
:func:`~halluscope.judges.loading.judge_from_config` from an audit configuration).

A judge answer that its parser cannot read gives an ``unverifiable`` verdict (``verify``), the
label ``unknown`` (``classify_yes_no``) or :class:`JudgeParseError` (``decompose``), always with
the raw answer kept -- never a default.

A refusal (the judge model declined, or its provider's filter withheld the answer:
:class:`~halluscope.adapters.types.Declined`) is no verdict either: ``unverifiable`` with the
reason "the judge refused: ..." and, in the evidence, ``refused: true`` and the text it declined
with (``refusal``); ``refused`` / ``refusal`` on a :class:`JudgeAnswer`; :class:`JudgeError`
from ``decompose``. It counts as a failed call (``call_failures``, of them ``refusals``). A
pinned judge's refusal is its answer to that request, so it is kept in the response cache and
read back as the same refusal: a rerun or a resumed audit never asks again and rolls another
answer.

A reply the judge did not finish (cut at the spec's ``max_tokens``: OpenAI ``finish_reason``
``length``, Anthropic ``max_tokens``, Gemini ``MAX_TOKENS``, a local model stopped by the limit;
or cut by the provider's filter after some text: ``content_filter``, ``refusal``, ``SAFETY``)
is never read: the call counts as failed (``call_failures`` and ``cut_replies`` in ``stats``) with
the reason "the judge's reply was cut at max_tokens=N", and its text is kept as ``cut`` (in a
verdict's evidence: ``payload["cut_reply"]``). No parser output is trusted from it, not even a
verdict word at its start: the words after the cut could have taken it back ("Correct? No --
incorrect"), and a benchmark's original reader (substring, last "Rating: N") reads the whole
reply the original judge was allowed to finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from halluscope._json import without_surrogates
from halluscope.adapters.cache import ResponseCache, open_response_cache
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.images import ImageLoader
from halluscope.adapters.registry import check_base_url, get_model, server_and_options
from halluscope.adapters.types import (AdapterError, AuthError, Declined, Decoding, Message,
                                       Request, cut_at_token_limit, cut_short)
from halluscope.errors import ConfigError, HalluscopeError
from halluscope.judges.ahead import fetch_ahead, take_held
from halluscope.judges.claim_words import (claim_words_said,  # noqa: F401 (its old home)
                                           claims_from_decomposition)
from halluscope.judges.parsers import PARSERS, UNVERIFIABLE, Parsed
from halluscope.judges.reliability import JudgeStats, human_agreement, repeat_agreement
from halluscope.judges.spec import JudgeSpec, deployment_hint, load_spec
from halluscope.types import Claim, Evidence, Verdict


class JudgeError(HalluscopeError):
    """A judge could not do what was asked."""


class PinMismatch(JudgeError, ConfigError):
    """The server answered with a model other than the pinned one (``strict_pin=True``, or
    ``--option judge_fatal_mismatch=true`` in an audit): the run is not using the judge its
    configuration names."""


class JudgeParseError(JudgeError):
    """The judge's answer could not be parsed; ``raw`` keeps it."""

    def __init__(self, message: str, raw: str | None):
        self.raw = raw
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class JudgeAnswer:
    """A judge's answer to one question: the parsed label, the raw text, whether it parsed.
    A failed call has ``raw`` None and ``error`` saying why; when it failed because the reply
    was cut at the token limit, ``cut`` keeps the unfinished text (never parsed); when the
    judge refused, ``refused`` is True and ``refusal`` keeps what it declined with."""

    label: Any
    raw: str | None
    parsed: bool
    error: str | None = None
    model: str | None = None
    cut: str | None = None
    refused: bool = False
    refusal: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """What :meth:`Judge._ask` gives in place of a parsed answer when the judge refused:
    ``text`` what it declined with (None when a filter withheld the answer)."""

    text: str | None


def claim_statement(claim: Claim) -> str:
    """A plain sentence stating ``claim`` (what the judge is asked to check)."""
    s = claim.subject
    if claim.kind == "existence":
        return f"There is a {s} in the image."
    if claim.kind == "count":
        exactly = "at least" if claim.relation == "at least" else "exactly"
        return f"There are {exactly} {claim.value} {s}(s) in the image."
    if claim.kind == "attribute":
        return f"The {s} is {claim.value}."
    if claim.kind == "relation":
        return f"The {s} is {claim.relation} the {claim.object}."
    if claim.text:
        return claim.text
    return f"The image shows: {s} {claim.value if claim.value is not None else ''}".strip()


#: Provider options that would replace what a spec pins (its model's revision, the cache pin)
_PINNED_OPTIONS = ("revision", "pin")


def _refuse_pin_options(spec: JudgeSpec, options: dict[str, Any] | None) -> None:
    """A :class:`ConfigError` when ``options`` would run another model than ``spec`` pins
    while the run sheet and every verdict still named the spec's pin."""
    given = [k for k in _PINNED_OPTIONS if k in (options or {})]
    if given:
        raise ConfigError(f"judge {spec.name!r}: option {given[0]!r} would replace what the spec "
                          f"pins ({spec.pin}); a judge at another revision is another judge: "
                          f"write a spec for it (judges/README.md)")


class Judge:
    """A pinned judge model (see the module docstring).

    Args:
        spec: A :class:`JudgeSpec` or a spec name/path.
        api: An adapter to use instead of building one from the spec (tests, mocks).
        cache: Cache directory, a :class:`ResponseCache`, or False (default: the user cache).
        base_url: Override the spec's base URL (e.g. a vLLM server hosting the judge model).
        strict_pin: Raise :class:`PinMismatch` when the served model is not the pinned one, or
            when the server reports no model name (the pin cannot then be verified).
        offline: Answer from the cache only (default: ``$HALLUSCOPE_OFFLINE``); a miss raises
            :class:`~halluscope.errors.CacheMiss` and no connection is ever opened.
    """

    def __init__(self, spec: JudgeSpec | str | Path, *, api: Any = None,
                 cache: str | Path | ResponseCache | bool | None = None,
                 base_url: str | None = None, max_connections: int = 4,
                 strict_pin: bool = False, timeout: float | None = None,
                 max_attempts: int = 6, allow_urls: bool = False,
                 model_options: dict[str, Any] | None = None, offline: bool | None = None):
        from halluscope.adapters.offline import is_offline
        self.spec = spec if isinstance(spec, JudgeSpec) else load_spec(spec)
        s = self.spec
        self.offline = is_offline(offline)
        if api is None:
            check_base_url(base_url)
            _refuse_pin_options(s, model_options)
            server, opts = server_and_options(s.base_url,
                                              s.adapter_options() | dict(model_options or {}))
            api = get_model(f"{s.provider}/{s.model}", base_url=base_url or server,
                            offline=self.offline, **opts)
        self.api = api
        store, self._owns_cache = open_response_cache(cache, create=not self.offline)
        self.cache = store
        if timeout is None:
            timeout = getattr(api, "default_timeout", 120.0)
        self.client = ModelClient(api, cache=store, max_connections=max_connections,
                                  retry=RetryPolicy(max_attempts=max_attempts), timeout=timeout,
                                  images=ImageLoader(allow_urls=allow_urls),
                                  offline=self.offline, role="judge", name=s.pin,
                                  keep_declined=True)     # a refusal is read back the same
        self.strict_pin = strict_pin
        self.stats = JudgeStats()
        d = s.decoding
        self.decoding = Decoding(temperature=d.temperature, top_p=d.top_p,
                                 max_tokens=d.max_tokens, seed=d.seed, stop=d.stop)
        self._runner: asyncio.Runner | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = None
        self._held: dict[Request, Any] = {}     # answers asked ahead (:mod:`.ahead`)

    @classmethod
    def load(cls, name_or_path: str | Path, **kwargs: Any) -> "Judge":
        return cls(load_spec(name_or_path), **kwargs)

    @property
    def pin(self) -> str:
        return self.spec.pin

    # -- one call ---------------------------------------------------------------------------
    def _request(self, use: str, prompt: str, images: Sequence[str] = (),
                 replicate: int = 0) -> Request:
        if self.spec.prompt(use).role == "system":  # as the original scorer sends it
            message = Message.system(prompt)
        else:
            message = Message.user(prompt, tuple(str(i) for i in images), self.spec.image.detail)
        return Request((message,), self.decoding, replicate=replicate)

    def ask_ahead(self, questions: Iterable[tuple]) -> int:
        """Send the ``(use, prompt or the values its template is filled with[, images])``
        questions concurrently (at most ``max_connections`` in flight) and hold their answers
        for the calls that ask them (:meth:`ask`, :meth:`classify_yes_no_detailed`,
        :meth:`decompose`, :meth:`verify`), which count them as their own calls
        (:mod:`halluscope.judges.ahead`); returns the number sent."""
        requests = [self._request(use, p if isinstance(p, str) else
                                  self.spec.prompt(use).render(**p), *images)
                    for use, p, *images in questions]
        return self._run(fetch_ahead(self.client, requests, self._held)) if requests else 0

    def forget_ahead(self) -> None:
        """Drop the answers asked ahead that no question took."""
        self._held.clear()

    async def _ask(self, use: str, prompt: str, images: Sequence[str] = (),
                   replicate: int = 0
                   ) -> tuple[Parsed | Refusal | None, str | None, str | None, str | None]:
        """(parsed, or None when the call failed, or a :class:`Refusal`; raw text, served
        model, call error); a reply cut at the token limit is a failed call whose raw text is
        the unfinished reply."""
        stats = self.stats.use(use)
        stats.calls += 1
        request = self._request(use, prompt, images, replicate)
        try:
            held, resp = take_held(self._held, request)
            if not held:
                resp = await self.client.generate(request)
        except AuthError:
            raise
        except Declined as exc:     # its answer to this request, kept in the cache: no verdict
            stats.call_failures += 1
            stats.refusals += 1
            stats.cached += exc.cached
            model = without_surrogates(exc.model) if exc.model else None
            self._check_pin(stats, model)
            return (Refusal(without_surrogates(exc.refusal) if exc.refusal else None), None,
                    model, f"the judge refused: {without_surrogates(str(exc))}")
        except AdapterError as exc:
            stats.call_failures += 1
            return None, None, None, f"{type(exc).__name__}: {exc}"
        if resp.cached:
            stats.cached += 1
        # a lone surrogate (an answer cut inside an emoji) in the raw answer, its reason or the
        # served name ended the audit where items.jsonl was written: U+FFFD stands in for it
        resp = replace(resp, text=without_surrogates(resp.text),
                       model=without_surrogates(resp.model) if resp.model else resp.model)
        self._check_pin(stats, resp.model)
        if cut_short(resp.finish_reason):   # an unfinished reply: read nothing from it
            stats.call_failures += 1
            stats.cut_replies += 1
            where = (f"at max_tokens={self.decoding.max_tokens}"
                     if cut_at_token_limit(resp.finish_reason) else
                     "by the provider's filter or a refusal")
            return None, resp.text, resp.model, (
                f"the judge's reply was cut {where} (finish reason {resp.finish_reason!r}): not "
                f"read, a verdict from an unfinished reply is not the judge's")
        parser = PARSERS[use][self.spec.prompt(use).parser]
        parsed = parser(resp.text)
        if not parsed.ok:
            stats.parse_failures += 1
        return parsed, resp.text, resp.model, None

    def _check_pin(self, stats: Any, model: str | None) -> None:
        """Count the model the server named (or that it named none) against the pin; raise
        :class:`PinMismatch` where the pin is strict and it is another, or none."""
        pinned = self.spec.pinned_model
        if model:
            self.stats.reported_models[model] += 1
            if model != pinned:
                stats.pin_mismatches += 1
                if self.strict_pin:
                    raise PinMismatch(f"judge {self.spec.name!r} pins {pinned!r} but the server "
                                      f"answered as {model!r} (the pin is enforced: "
                                      f"strict_pin / judge_fatal_mismatch)"
                                      + deployment_hint(self.spec.provider,
                                                        self.spec.expected_model, model))
        else:                   # answered, but by whom: the pin is not verified
            stats.model_not_reported += 1
        if not model and self.strict_pin:   # strict means verified: a name nobody
            raise PinMismatch(f"judge {self.spec.name!r} pins {pinned!r} but the server "
                              f"reported no model name, so the pin cannot be verified (it is "
                              f"enforced: strict_pin / judge_fatal_mismatch)")

    def _evidence(self, use: str, raw: str | None, model: str | None, *, label=None,
                  score=None, error: str | None = None, cut: str | None = None,
                  refusal: Refusal | None = None) -> Evidence:
        prompt = self.spec.prompt(use)
        payload: dict[str, Any] = {"raw": raw, "judge": self.pin}
        if error:
            payload["error"] = error
        if cut is not None:
            payload["cut_reply"] = cut
        if refusal is not None:     # never whether it came from the cache: reruns read alike
            payload.update(refused=True, refusal=refusal.text)
        return Evidence(source="judge", label=label, score=score, payload=payload,
                        provenance={"component": "judge", "spec": self.spec.name,
                                    "model": self.spec.model, "revision": self.spec.revision,
                                    "reported_model": model, "prompt_sha256": prompt.sha256,
                                    "parser": prompt.parser})

    # -- uses -------------------------------------------------------------------------------
    async def verify(self, claim: Claim, image_path: str | Path, *, context: str | None = None,
                     replicate: int = 0) -> Verdict:
        """Check ``claim`` against the image; the raw answer is in the verdict's evidence."""
        _, prompt, images = self.verify_question(claim, image_path, context)
        parsed, raw, model, error = await self._ask("verify", prompt, images, replicate)
        checker = f"judge-{claim.kind}"
        if isinstance(parsed, Refusal):     # the judge's refusal: shown as one, never scored
            return Verdict(claim, UNVERIFIABLE, None,
                           (self._evidence("verify", None, model, label=claim.subject,
                                           error=error, refusal=parsed),), error, checker)
        # a call that failed, or an answer no parser reads, gave no confidence: None, not 0.0
        if parsed is None:      # raw: the unfinished text of a reply cut at the token limit
            return Verdict(claim, UNVERIFIABLE, None,
                           (self._evidence("verify", None, model, label=claim.subject,
                                           error=error, cut=raw),),
                           error if raw is not None else f"the judge could not be asked: {error}",
                           checker)
        if not parsed.ok:
            return Verdict(claim, UNVERIFIABLE, None,
                           (self._evidence("verify", raw, model, label=claim.subject,
                                           error=parsed.error),),
                           f"the judge's answer could not be parsed ({parsed.error})", checker)
        if parsed.value == UNVERIFIABLE:
            self.stats.use("verify").abstains += 1
        if parsed.confidence is None:   # none given (an abstention too): absent, never 1.0 or 0.0
            self.stats.use("verify").no_confidence += 1
        reason = parsed.reason or f"the judge answered {parsed.value}"
        return Verdict(claim, parsed.value, parsed.confidence,
                       (self._evidence("verify", raw, model, label=claim.subject,
                                       score=parsed.confidence),),
                       reason, checker)

    def verify_question(self, claim: Claim, image_path: str | Path, context: str | None = None
                        ) -> tuple[str, str, tuple[str]]:
        """``("verify", prompt, images)``: what :meth:`verify` asks about ``claim`` (for
        :meth:`ask_ahead`)."""
        prompt = self.spec.prompt("verify").render(
            statement=claim_statement(claim), context=context or claim.text or "",
            kind=claim.kind, subject=claim.subject, value=claim.value,
            relation=claim.relation, object=claim.object)
        return "verify", prompt, (str(image_path),)

    async def verify_many(self, items: Sequence[tuple[Claim, str | Path, str | None]]
                          ) -> list[Verdict]:
        """:meth:`verify` for each ``(claim, image, context)``, concurrently (the adapter's
        concurrency limit applies); verdicts in the order of ``items``. When a call raises
        (:class:`~halluscope.errors.CacheMiss`, :class:`PinMismatch`, an auth failure), every
        other call still finishes before the first such error is raised."""
        results = await asyncio.gather(*[self.verify(c, img, context=ctx)
                                         for c, img, ctx in items], return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)

    async def ask(self, use: str, **values: Any) -> JudgeAnswer:
        """Put one of the spec's prompts (``use``) to the judge with ``values`` filled in; the
        answer's ``label`` is the parsed value (``None`` when it did not parse), ``raw`` the text.
        Benchmark scorers use this to send their original prompt byte for byte."""
        return await self.ask_prompt(use, self.spec.prompt(use).render(**values))

    async def ask_prompt(self, use: str, prompt: str, *, replicate: int = 0) -> JudgeAnswer:
        """Send ``prompt`` (already rendered from the spec's ``use`` template, as the spec's
        role) and parse the answer with the use's parser; ``replicate`` > 0 asks again past the
        response cache (a benchmark scorer's retry). ``label`` is the parsed value, ``None`` when
        it did not parse."""
        parsed, raw, model, error = await self._ask(use, prompt, replicate=replicate)
        if isinstance(parsed, Refusal):
            return JudgeAnswer(None, None, False, error, model, refused=True,
                               refusal=parsed.text)
        if parsed is None:
            return JudgeAnswer(None, None, False, error, model, cut=raw)
        if not parsed.ok:
            return JudgeAnswer(None, raw, False, parsed.error, model)
        return JudgeAnswer(parsed.value, raw, True, None, model)

    def ask_sync(self, use: str, **values: Any) -> JudgeAnswer:
        """Blocking :meth:`ask`."""
        return self._run(self.ask(use, **values))

    async def classify_yes_no_detailed(self, answer: str, question: str | None = None, *,
                                       replicate: int = 0) -> JudgeAnswer:
        """Like :meth:`classify_yes_no`, with the raw answer and whether it parsed."""
        prompt = self.spec.prompt("classify_yes_no").render(
            answer=answer, question=question or "(not given)")
        parsed, raw, model, error = await self._ask("classify_yes_no", prompt,
                                                    replicate=replicate)
        if isinstance(parsed, Refusal):
            return JudgeAnswer("unknown", None, False, error, model, refused=True,
                               refusal=parsed.text)
        if parsed is None:
            return JudgeAnswer("unknown", None, False, error, model, cut=raw)
        if not parsed.ok:
            return JudgeAnswer("unknown", raw, False, parsed.error, model)
        if parsed.value == "unknown":
            self.stats.use("classify_yes_no").abstains += 1
        return JudgeAnswer(parsed.value, raw, True, None, model)

    async def classify_yes_no(self, answer: str, question: str | None = None) -> str:
        """``yes`` | ``no`` | ``unknown`` for a free-text answer that no rule could read."""
        return (await self.classify_yes_no_detailed(answer, question)).label

    async def decompose(self, text: str, *, image_path: str | Path | None = None
                        ) -> list[Claim]:
        """Split a response into claims; raises :class:`JudgeParseError` (with ``raw``) when
        the answer cannot be read, and :class:`JudgeError` when the call failed."""
        prompt = self.spec.prompt("decompose").render(text=text)
        images = (str(image_path),) if image_path is not None else ()
        parsed, raw, _, error = await self._ask("decompose", prompt, images)
        if isinstance(parsed, Refusal):
            raise JudgeError(f"judge {self.spec.name!r}: {error}")
        if parsed is None:
            raise JudgeError(f"judge {self.spec.name!r}: {error}" if raw is not None else
                             f"judge {self.spec.name!r} could not be asked: {error}")
        if not parsed.ok:
            raise JudgeParseError(f"judge {self.spec.name!r}: cannot parse the decomposition "
                                  f"({parsed.error})", raw)
        claims, unfounded = claims_from_decomposition(parsed.value, text)
        # a claim whose words are not in the response is the judge's, never scored against it
        self.stats.use("decompose").unfounded_claims += unfounded
        return claims

    def decomposed_ahead(self, text: str) -> list[Claim] | None:
        """The claims :meth:`decompose` will find in the answer to ``text`` asked ahead
        (:meth:`ask_ahead`), read without taking it or counting anything; ``None`` when it was
        not asked ahead or gives no claims list (a failed call, a cut reply, an answer its
        parser cannot read, a pin a strict judge refuses)."""
        prompt = self.spec.prompt("decompose").render(text=text)
        parsed = self._peek("decompose", prompt)
        return None if parsed is None else claims_from_decomposition(parsed.value, text)[0]

    def _peek(self, use: str, prompt: str) -> Parsed | None:
        """The parsed answer held for ``prompt`` (asked ahead), read as :meth:`_ask` reads it
        but left held and uncounted; ``None`` where :meth:`_ask` would read none."""
        resp = self._held.get(self._request(use, prompt))
        if resp is None or isinstance(resp, BaseException) or cut_short(resp.finish_reason):
            return None
        model = without_surrogates(resp.model) if resp.model else resp.model
        if self.strict_pin and model != self.spec.pinned_model:
            return None
        parsed = PARSERS[use][self.spec.prompt(use).parser](without_surrogates(resp.text))
        return parsed if parsed.ok else None

    # -- reliability ------------------------------------------------------------------------
    async def repeatability(self, items: Sequence[tuple[Claim, str | Path]], repeats: int = 3
                            ) -> dict[str, Any]:
        """Verify each (claim, image) ``repeats`` times as deliberate repeats (each its own
        call, not a cache hit) and report how often the verdicts agree. A repeat that gave no
        verdict (a failed call, an answer no parser reads: its ``unverifiable`` is no label
        the judge chose) leaves its item out, counted as ``items_left_out`` with the first
        reason: a judge whose every call failed used to agree with itself perfectly."""
        if repeats < 2:
            raise ConfigError(f"expected repeats >= 2, got {repeats}")
        rows, why = [], None
        for claim, image in items:
            verdicts = await asyncio.gather(*[self.verify(claim, image, replicate=r)
                                              for r in range(repeats)])
            labels = [None if v.evidence and "error" in v.evidence[0].payload else v.label
                      for v in verdicts]
            if why is None and None in labels:
                why = f"{claim_statement(claim)!r}: {verdicts[labels.index(None)].reason}"
            rows.append(labels)
        out = repeat_agreement(rows)
        if why:
            out["items_left_out_why"] = (f"a repeat gave no verdict (a failed call or an "
                                         f"unreadable answer); first: {why}")
        return out

    def reliability(self, *, judge_labels: dict[str, str] | None = None,
                    human_labels: dict[str, str] | None = None,
                    repeat: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parse-failure/abstain rates, plus human agreement and repeatability when given."""
        out: dict[str, Any] = {"judge": self.pin, **self.stats.to_dict()}
        if judge_labels is not None and human_labels is not None:
            out["human_agreement"] = human_agreement(judge_labels, human_labels)
        if repeat is not None:
            out["repeat_agreement"] = repeat
        return out

    def describe(self) -> dict[str, Any]:
        """For the run sheet and ``results.json``: the spec, the served model names, mismatches
        and stats (added up over workers and a resumed run's first part). The response cache
        is named without its hit/miss/write counters: they count one process's lookups (none
        in the parent when workers call the judge), so they made ``results.json`` differ by
        engine; ``stats.uses[*].cached`` counts the calls answered from the cache."""
        reported = dict(self.stats.reported_models)
        return {**self.spec.describe(), "adapter": self.api.describe(),
                "reported_models": reported,
                "pin_mismatch": any(m != self.spec.pinned_model for m in reported),
                "strict_pin": self.strict_pin, "offline": self.offline,
                "cache": _cache_place(self.cache),
                "stats": self.stats.to_dict()}

    # -- blocking twins and lifecycle -------------------------------------------------------
    def _run(self, coro):
        """Run ``coro`` on this judge's own event loop (one loop for the judge's lifetime, so
        that connections and limiter stay valid). Called from inside a running event loop
        (a notebook), the loop runs in a helper thread while the caller waits."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._runner.run(coro)
        if self._thread is None:
            self._thread = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="halluscope-judge")
        return self._thread.submit(self._runner.run, coro).result()

    def verify_sync(self, claim: Claim, image_path: str | Path, **kw: Any) -> Verdict:
        return self._run(self.verify(claim, image_path, **kw))

    def verify_many_sync(self, items: Sequence[tuple[Claim, str | Path, str | None]]
                         ) -> list[Verdict]:
        return self._run(self.verify_many(items))

    def classify_yes_no_sync(self, answer: str, question: str | None = None) -> str:
        return self._run(self.classify_yes_no(answer, question))

    def classify_yes_no_detailed_sync(self, answer: str, question: str | None = None
                                      ) -> JudgeAnswer:
        return self._run(self.classify_yes_no_detailed(answer, question))

    def decompose_sync(self, text: str, **kw: Any) -> list[Claim]:
        return self._run(self.decompose(text, **kw))

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._owns_cache and self.cache is not None:
            self.cache.close()

    def close(self) -> None:
        """Release the model/connections (blocking form of :meth:`aclose`)."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        self._run(self.aclose())
        runner, self._runner = self._runner, None
        if self._thread is not None:
            self._thread.submit(runner.close).result()
            self._thread.shutdown()
            self._thread = None
        else:
            runner.close()

    async def __aenter__(self) -> "Judge":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def _cache_place(cache: ResponseCache | None) -> dict[str, Any] | None:
    """Where a judge's response cache is and what happened to it, without the per-process
    hit/miss/write (and write-error) counters (see :meth:`Judge.describe`)."""
    if cache is None:
        return None
    counters = ("hits", "misses", "writes", "write_errors")
    return {k: v for k, v in cache.describe().items() if k not in counters}
