"""Parsers that read a judge's raw answer. Each returns a :class:`Parsed`; a failure is a
``Parsed`` with ``ok=False`` and the reason -- never a default value.

=================  ===================  ==========================================================
use                parser               accepts
=================  ===================  ==========================================================
verify             ``verdict-json``     a JSON object (a code fence or text around it is fine) with
                                        ``verdict`` in supported / hallucinated / unverifiable (or
                                        the synonyms below), optional ``confidence`` and ``reason``
verify             ``verdict-json-``    the same, its template asking for ``confidence`` in percent
                   ``percent``          (0 to 100); ``verdict-json`` reads it from 0 to 1, and a
                                        number off the template's scale is no confidence (None)
verify             ``verdict-line``     a line ``Verdict: <label>`` (or the label alone)
classify_yes_no    ``yes-no-word``      ``yes``, ``no`` or ``unknown`` as the first word
decompose          ``claims-json``      a JSON array of claim objects (or ``{"claims": [...]}``)
=================  ===================  ==========================================================
"""

from __future__ import annotations

import json
import re
from itertools import islice
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from halluscope.types import CLAIM_KINDS

SUPPORTED, HALLUCINATED, UNVERIFIABLE = "supported", "hallucinated", "unverifiable"
_VERDICT_WORDS = {
    "supported": SUPPORTED, "support": SUPPORTED, "true": SUPPORTED, "yes": SUPPORTED,
    "correct": SUPPORTED, "consistent": SUPPORTED, "entailed": SUPPORTED,
    "hallucinated": HALLUCINATED, "hallucination": HALLUCINATED, "false": HALLUCINATED,
    "no": HALLUCINATED, "incorrect": HALLUCINATED, "unsupported": HALLUCINATED,
    "contradicted": HALLUCINATED, "inconsistent": HALLUCINATED, "refuted": HALLUCINATED,
    "unverifiable": UNVERIFIABLE, "unknown": UNVERIFIABLE, "unsure": UNVERIFIABLE,
    "uncertain": UNVERIFIABLE, "undetermined": UNVERIFIABLE, "cannot determine": UNVERIFIABLE,
    "not sure": UNVERIFIABLE, "abstain": UNVERIFIABLE,
}


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parser's result: ``value`` when ``ok``, else ``error`` says why not."""

    ok: bool
    value: Any = None
    error: str | None = None
    confidence: float | None = None
    reason: str | None = None


def _fail(why: str) -> Parsed:
    return Parsed(False, error=why)


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


MAX_JSON_STARTS = 64
"""How many ``{``/``[`` positions :func:`extract_json` tries before giving up."""


def extract_json(text: str, opener: str) -> Any:
    """The first JSON value starting with ``opener`` (``{`` or ``[``) in ``text``; raises
    ``ValueError`` when there is none."""
    from halluscope.jsonblobs import MAX_DEPTH, nesting_depth
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    tries = 0
    for cand in candidates:
        start = cand.find(opener)
        # a bounded number of starts (each try may read to the end), none too deep to decode
        while start != -1 and tries < MAX_JSON_STARTS:
            tries += 1
            try:
                if nesting_depth(cand[start:start + 100_000]) <= MAX_DEPTH:
                    value, _ = decoder.raw_decode(cand, start)
                    return value
            except (json.JSONDecodeError, RecursionError):
                pass
            start = cand.find(opener, start + 1)
    raise ValueError(f"no JSON {'object' if opener == '{' else 'array'} found")


def _verdict_word(value: Any) -> str | None:
    if isinstance(value, bool):
        return SUPPORTED if value else HALLUCINATED
    if not isinstance(value, str):
        return None
    key = " ".join(value.strip().strip(".!\"'").lower().split())
    return _VERDICT_WORDS.get(key)


def _confidence(given: Any, scale: str = "unit") -> float | None:
    """A judge's confidence as a share, read on the scale its template asks for.

    ``unit`` (the shipped ``verify_claim.txt``: "a number from 0 to 1"): a number in [0, 1];
    anything else is none given (``None``) -- ``90`` could be a percentage, ``4`` a 1-5 or 1-10
    rating: guessing which would put a number into the scores that the judge did not give.
    ``percent`` (a template asking for 0 to 100): a number in [0, 100] read as a percentage,
    except a fraction below 1 (``0.7``: 0.7% or 70%?). ``true`` is no number on either scale."""
    if given is None or isinstance(given, bool):
        return None
    try:
        conf = float(given)
    except (TypeError, ValueError, OverflowError):
        return None
    if scale == "percent":
        if 0.0 <= conf <= 100.0 and (conf >= 1.0 or conf == 0.0):
            return conf / 100.0
        return None
    return conf if 0.0 <= conf <= 1.0 else None


def _parse_verdict_json(text: str, scale: str) -> Parsed:
    try:
        obj = extract_json(text or "", "{")
    except ValueError as exc:
        return _fail(str(exc))
    if not isinstance(obj, dict):
        return _fail("expected a JSON object")
    raw = next((obj[k] for k in ("verdict", "label", "answer") if k in obj), None)
    if raw is None:
        return _fail("the JSON object has no 'verdict'")
    label = _verdict_word(raw)
    if label is None:
        return _fail(f"expected verdict supported, hallucinated or unverifiable, got {raw!r:.40}")
    conf = _confidence(obj.get("confidence"), scale)
    reason = obj.get("reason")
    return Parsed(True, label, confidence=conf, reason=str(reason) if reason else None)


def parse_verdict_json(text: str) -> Parsed:
    """A verdict object whose template asks for ``confidence`` from 0 to 1."""
    return _parse_verdict_json(text, "unit")


def parse_verdict_json_percent(text: str) -> Parsed:
    """A verdict object whose template asks for ``confidence`` as a percentage (0 to 100)."""
    return _parse_verdict_json(text, "percent")


# horizontal space only before the colon: "^\s*" would rescan every following blank line from
# every line start (quadratic on a run of newlines)
_LINE = re.compile(r"^[ \t]*(?:verdict|answer|label)[ \t]*[:=]\s*(.+?)[ \t\r\f\v]*$",
                   re.IGNORECASE | re.M)


def parse_verdict_line(text: str) -> Parsed:
    text = text or ""
    m = _LINE.search(text)
    word = m.group(1) if m else text.strip().splitlines()[0] if text.strip() else ""
    label = _verdict_word(word)
    if label is None:
        return _fail(f"expected 'Verdict: supported|hallucinated|unverifiable', got {word!r:.40}")
    return Parsed(True, label)


_WORD = re.compile(r"[a-z]+")


_YES_NO = ("yes", "no", "unknown")


def parse_yes_no_word(text: str) -> Parsed:
    """The first word, when it is yes, no or unknown -- unless the reply goes on to name
    another of them as its alternative ("Yes/No", "yes or no", "No, yes"): a reply that says
    both says neither, and its first word was read as the verdict."""
    words = [m.group(0) for m in islice(_WORD.finditer((text or "").lower()), 3)]
    word = words[0] if words else ""
    if word not in _YES_NO:
        return _fail(f"expected yes, no or unknown as the first word, got {word!r:.40}")
    rest = [w for w in words[1:3] if w not in ("or", "and")]
    if rest and rest[0] in _YES_NO and rest[0] != word:
        return _fail(f"expected one of yes, no or unknown, got both {word!r} and {rest[0]!r}")
    return Parsed(True, word)


_CLAIM_FIELDS = ("kind", "subject", "value", "relation", "object", "text")


def parse_claims_json(text: str) -> Parsed:
    """A list of claim dicts (fields as in :class:`~halluscope.types.Claim`); items that
    are not valid claims make the parse fail rather than vanish."""
    try:
        obj = extract_json(text or "", "[")
    except ValueError:
        try:
            obj = extract_json(text or "", "{")
        except ValueError as exc:
            return _fail(str(exc))
        obj = obj.get("claims") if isinstance(obj, dict) else None
        if obj is None:
            return _fail("expected a JSON array of claims (or an object with 'claims')")
    if not isinstance(obj, list):
        return _fail("expected a JSON array of claims")
    claims = []
    for i, item in enumerate(obj):
        if not isinstance(item, dict):
            return _fail(f"claim {i}: expected an object, got {type(item).__name__}")
        kind = str(item.get("kind") or "").strip().lower()
        subject = item.get("subject")
        if kind not in CLAIM_KINDS:
            return _fail(f"claim {i}: expected kind in {', '.join(CLAIM_KINDS)}, got {kind!r:.30}")
        if not isinstance(subject, str) or not subject.strip():
            return _fail(f"claim {i}: expected a 'subject' noun")
        claims.append({k: item.get(k) for k in _CLAIM_FIELDS} | {"kind": kind,
                                                                 "subject": subject.strip()})
    return Parsed(True, claims)


_WORDS = re.compile(r"[a-z]+(?:'t)?")
_NEGATIONS = {"not", "no", "never", "isn't", "wasn't", "don't", "doesn't"}


def _one_label(text: str, labels: tuple[str, ...]) -> Parsed:
    """The single label word of ``labels`` that ``text`` uses (as a whole word, maybe more than
    once); none, two different ones, or a negated one ("not incorrect", "not the same": a
    negation within the two words before it) is a parse failure."""
    words = _WORDS.findall((text or "").lower())
    found = {w for w in words if w in labels}
    negated = any(w in labels and _NEGATIONS & set(words[max(0, i - 2):i])
                  for i, w in enumerate(words))
    if len(found) == 1 and not negated:
        return Parsed(True, found.pop())
    why = ("a negated label" if negated else "several labels" if found else "no label")
    return _fail(f"expected one of {', '.join(labels)}, found {why} in {text!r:.80}")


def parse_correct_incorrect(text: str) -> Parsed:
    """HallusionBench's judge answer: exactly one of the words ``correct``, ``incorrect``,
    ``unclear`` ("The prediction is correct." reads; "CORRECT?? incorrect??", "Output: N/A" and
    "The prediction is not incorrect." do not)."""
    return _one_label(text, ("correct", "incorrect", "unclear"))


def parse_same_different(text: str) -> Parsed:
    """HallusionBench's consistency answer: exactly one of the words ``same``, ``different``
    ("The two responses are not the same." does not read)."""
    return _one_label(text, ("same", "different"))


_RATING = re.compile(r"rating:\s*([0-6])(?![\d.]\d|\d)", re.IGNORECASE)


def parse_mmhal_rating(text: str) -> Parsed:
    """MMHal-Bench's rating: ``Rating: N`` with N a whole number in 0..6 (``Rating:4`` too, not
    ``Rating: 3.5`` or ``Rating: 10``), the same N wherever it occurs; none, or two that
    disagree, is a parse failure."""
    found = {int(m.group(1)) for m in _RATING.finditer(text or "")}
    if len(found) == 1:
        return Parsed(True, found.pop())
    if not found:
        return _fail(f"expected 'Rating: N' with N in 0..6, got {text[-60:] if text else text!r}")
    return _fail(f"expected one rating, got several that disagree: {sorted(found)}")


def parse_object_list_original(text: str) -> Parsed:
    """Object HalBench's reading of the extraction answer (RLAIF-V ``parse_object_list``): the
    whole answer as JSON, else, when it contains ``["``, its last line as JSON; any JSON value is
    accepted (the scorer then iterates it: a bare string letter by letter)."""
    try:
        return Parsed(True, json.loads(text))
    except (ValueError, TypeError):
        pass
    if '["' in (text or ""):
        try:
            return Parsed(True, json.loads(text.strip().split("\n")[-1]))
        except ValueError:
            pass
    return _fail(f"expected a JSON list (or one on the last line), got {text!r:.60}")


#: use -> parser name -> function
PARSERS: dict[str, dict[str, Callable[[str], Parsed]]] = {
    "verify": {"verdict-json": parse_verdict_json,
               "verdict-json-percent": parse_verdict_json_percent,
               "verdict-line": parse_verdict_line},
    "classify_yes_no": {"yes-no-word": parse_yes_no_word},
    "decompose": {"claims-json": parse_claims_json},
    "hallusionbench_correctness": {"correct-incorrect-unclear": parse_correct_incorrect},
    "hallusionbench_same": {"same-different": parse_same_different},
    "mmhal_rating": {"mmhal-rating": parse_mmhal_rating},
    "objhal_extract": {"object-list-original": parse_object_list_original},
}
