"""Does a judge template ask for what its parser reads? Checked when a spec is loaded.

A template whose instructions and parser disagree does not fail at once: it gives answers the
parser reads wrong or not at all, counted as parse failures or, worse, read on another scale
(a template asking for a confidence "from 0 to 100" under ``verdict-json``, which reads 0 to 1:
every confidence is dropped as off the scale; a template asking for "yes or no" under
``verdict-json``: every answer is a parse failure). :func:`wording_problems` says what in a
template contradicts its parser; :func:`~halluscope.judges.spec.load_spec` refuses such a spec
(a :class:`~halluscope.errors.ConfigError` naming the template file: exit 2).

The rules look for what the parser cannot do without, and for statements that contradict it;
wording is otherwise free (``"0 to 1"``, ``"between 0.0 and 1.0"``, ``"[0, 1]"``, ``"a
probability"`` all state the unit scale). Placeholders (``$answer``) are not words of the
template. What each parser needs:

==============================  ==============================================================
parser                          the template must
==============================  ==============================================================
``verdict-json``                ask for JSON; name the ``verdict`` key (or a quoted ``"label"``
                                or ``"answer"`` key); offer only verdict words the parser
                                knows (``"verdict": "supported" or ...``); not ask for one
                                word; state ``confidence``, if it asks for one, from 0 to 1
                                (or no scale)
``verdict-json-percent``        the same, with ``confidence`` stated from 0 to 100 (percent)
``verdict-line``                not ask for JSON
``yes-no-word``                 name yes and no; not ask for JSON
``claims-json``                 ask for JSON; name ``kind`` and ``subject``
``correct-incorrect-unclear``   name correct and incorrect
``same-different``              name same and different
``mmhal-rating``                show ``Rating: N`` with every N in 0..6
``object-list-original``        ask for a JSON list
==============================  ==============================================================

A confidence scale is read in the sentence or JSON field that names ``confidence``: a range
(``0 to 1``, ``0-100``, ``between 0 and 1``, ``[0, 1]``, ``out of 100``), ``percent`` /
``percentage`` / ``%`` (not after ``not``), ``probability``, an example value (``"confidence":
85``), or words and no number (``high, medium or low``: no parser reads those). Two different
scales stated for it are a mismatch too. A spec whose template is right and trips a rule can say
so with ``check_wording = false`` under its prompt (judges/README.md).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

_JSON = re.compile(r"\bjson\b|\{\s*[\"']|\[\s*\{", re.I)
_JSON_LIST = re.compile(r"\bjson\b[^.\n]{0,60}\b(?:list|array)\b|\[\s*[\"'{]|\bjson\s*\[", re.I)
_VERDICT_KEY = re.compile(r"\bverdict\b|[\"'](?:label|answer)[\"']\s*:", re.I)
_ONE_WORD = re.compile(r"\b(?:one|a single|exactly one|only one)\s+word\b", re.I)
# the quoted words offered after "verdict": ("supported" or "hallucinated", ...), up to the
# next key ("confidence": is no verdict)
_ITEM = r"[\"'][^\"'\n]{1,40}[\"'](?!\s*:)"
_OFFERED = re.compile(r"[\"']verdict[\"']\s*:\s*(" + _ITEM + r"(?:\s*(?:,\s*or|or|,|/|\|)\s*"
                      + _ITEM + r")*)", re.I)
_QUOTED = re.compile(r"[\"']([^\"'\n]{1,40})[\"']")
_NUM = r"(\d+(?:\.\d+)?)"
_RANGE = re.compile(_NUM + r"\s*%?\s*(?:to|-|\u2013|\u2014|and|\.\.\.?|\u2026)\s*" + _NUM + r"\s*%?"
                    r"|\[\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*\]|\bout\s+of\s+" + _NUM, re.I)
_PERCENT = re.compile(r"\bper\s?cent(?:age)?s?\b|%", re.I)
_NOT_PERCENT = re.compile(r"\b(?:not|never|no)\s+(?:as\s+|in\s+)?(?:a\s+)?"
                          r"(?:per\s?cent(?:age)?s?\b|%)", re.I)
_EXAMPLE = re.compile(r"[\"']confidence[\"']\s*:\s*" + _NUM + r"\s*(?=[,}\n])")
_CONFIDENCE = re.compile(r"\bconfidence\b", re.I)
_WINDOW_END = re.compile(r"\n|,\s*[\"']\w|\.\s|;")


def _text(template: str) -> str:
    """The template without its ``$placeholders`` (their names are no instruction)."""
    return string.Template.pattern.sub(
        lambda m: " " if (m.group("named") or m.group("braced")) else m.group(0), template)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _scale_name(lo: float, hi: float) -> str:
    return "unit" if hi == 1 else "percent" if hi == 100 else f"{lo:g} to {hi:g}"


def confidence_scales(template: str) -> set[str]:
    """The scales ``template`` states for ``confidence``: ``unit`` (0 to 1), ``percent`` (0 to
    100), ``words`` (high, medium, low: no number), or a range as written (``1 to 5``); empty
    when it asks for none or states none."""
    text = _text(template)
    found: set[str] = set()
    for m in _CONFIDENCE.finditer(text):
        start = m.end()
        end = _WINDOW_END.search(text, start + 1)
        window = _NOT_PERCENT.sub(" ", text[start:end.start() if end else start + 200][:200])
        for r in _RANGE.finditer(window):
            nums = [float(g) for g in r.groups() if g is not None]
            found.add(_scale_name(*(nums if len(nums) == 2 else (0.0, nums[0]))))
        if _PERCENT.search(window):
            found.add("percent")
        if re.search(r"\bprobabilit(?:y|ies)\b", window, re.I):
            found.add("unit")
        if re.search(r"\b(?:high|medium|low)\b", window, re.I) and not re.search(r"\d", window):
            found.add("words")
    for m in _EXAMPLE.finditer(text):       # an example value: 85 or 0.85 (0 and 1 say nothing)
        value = float(m.group(1))
        if value not in (0.0, 1.0):
            found.add("percent" if value > 1 else "unit")
    return found


_SCALE_WORDS = {"unit": "from 0 to 1", "percent": "from 0 to 100 (percent)",
                "words": "as words (high, medium, low)"}


def _verdict_json(scale: str) -> Callable[[str], list[str]]:
    def check(template: str) -> list[str]:
        from halluscope.judges.parsers import _VERDICT_WORDS
        text = _text(template)
        out = []
        if not _JSON.search(text):
            out.append("the template asks for no JSON object, but the parser reads one with a "
                       "\"verdict\"")
        elif not _VERDICT_KEY.search(text):
            out.append("the template names no \"verdict\" key (nor \"label\" or \"answer\"), "
                       "which the parser reads the verdict from")
        if _ONE_WORD.search(text):
            out.append("the template asks for one word, but the parser reads a JSON object")
        for m in _OFFERED.finditer(text):
            bad = [w for w in _QUOTED.findall(m.group(1))
                   if " ".join(w.lower().strip(".!").split()) not in _VERDICT_WORDS]
            if bad:
                out.append(f"the template offers the verdict(s) {', '.join(map(repr, bad))}, "
                           f"which the parser does not read (it reads supported, hallucinated, "
                           f"unverifiable and their synonyms)")
        out += _confidence_problems(template, scale)
        return out
    return check


def _confidence_problems(template: str, scale: str) -> list[str]:
    stated = confidence_scales(template)
    want = _SCALE_WORDS[scale]
    if len(stated) > 1:
        return [f"the template states two scales for confidence "
                f"({', '.join(sorted(_SCALE_WORDS.get(s, s) for s in stated))}); the parser "
                f"reads it {want}"]
    if stated and stated != {scale}:
        (got,) = stated
        other = {"unit": "verdict-json", "percent": "verdict-json-percent"}.get(got)
        hint = f" (parser {other!r} reads that)" if other else " (no parser reads that scale)"
        return [f"the template asks for confidence {_SCALE_WORDS.get(got, got)}, but the "
                f"parser reads it {want}{hint}"]
    if scale == "percent" and not stated and _CONFIDENCE.search(_text(template)):
        return ["the template asks for a confidence without saying it is from 0 to 100, which "
                "the parser reads (a judge answering 0.8 gives no confidence)"]
    return []


def _not_json(what: str) -> Callable[[str], list[str]]:
    def check(template: str) -> list[str]:
        if re.search(r"\bjson\b", _text(template), re.I):
            return [f"the template asks for JSON, but the parser reads {what}"]
        return []
    return check


def _needs_words(*words: str, json: bool = False, what: str = "") -> Callable[[str], list[str]]:
    def check(template: str) -> list[str]:
        text = _text(template)
        out = []
        missing = [w for w in words if w not in _words(text)]
        if missing:
            out.append(f"the template never says {' or '.join(map(repr, missing))}, which the "
                       f"parser reads {what}".rstrip())
        if json and not _JSON.search(text):
            out.append("the template asks for no JSON, but the parser reads JSON")
        return out
    return check


def _yes_no(template: str) -> list[str]:
    return _needs_words("yes", "no", what="as the first word of the answer")(template) + \
        _not_json("a first word yes, no or unknown")(template)


def _mmhal(template: str) -> list[str]:
    shown = [int(n) for n in re.findall(r"rating:\s*(\d+)", _text(template), re.I)]
    if not shown:
        return ["the template shows no 'Rating: N', which the parser reads"]
    off = sorted({n for n in shown if not 0 <= n <= 6})
    if off:
        return [f"the template offers the rating(s) {off}, but the parser reads 0 to 6"]
    return []


def _object_list(template: str) -> list[str]:
    if not _JSON_LIST.search(_text(template)):
        return ["the template asks for no JSON list, which the parser reads"]
    return []


#: parser name -> its check (a parser not named here is not checked)
CHECKS: dict[str, Callable[[str], list[str]]] = {
    "verdict-json": _verdict_json("unit"),
    "verdict-json-percent": _verdict_json("percent"),
    "verdict-line": _not_json("a line 'Verdict: <label>'"),
    "yes-no-word": _yes_no,
    "claims-json": _needs_words("kind", "subject", json=True, what="in each claim object"),
    "correct-incorrect-unclear": _needs_words("correct", "incorrect"),
    "same-different": _needs_words("same", "different"),
    "mmhal-rating": _mmhal,
    "object-list-original": _object_list,
}


def wording_problems(parser: str, template: str) -> list[str]:
    """What in ``template`` contradicts what ``parser`` reads (see the module docstring);
    empty when nothing does, or when the parser has no check."""
    check = CHECKS.get(parser)
    return check(template) if check else []


__all__ = ["CHECKS", "confidence_scales", "wording_problems"]
