"""Yes/no answer parsers for POPE: how a free-text answer becomes ``yes``, ``no`` or ``unknown``.

Published POPE numbers disagree partly because the scripts that produced them read answers
differently. Each rule below is named after the code it reproduces and is a pure function
``str -> "yes" | "no" | "unknown"``. :data:`PARSERS` maps names to :class:`AnswerParser` entries
(function + description); a name whose rule equals another is registered as an alias of it.

===============  ==============================================================================
name             rule (see each function for details)
===============  ==============================================================================
original         RUCAIBox/POPE ``evaluate.py``: first sentence, a negative word means no, else yes
llava            alias of ``original``: LLaVA-1.5 ``eval_pope.py`` reads answers with the same rule
opera            shikiw/OPERA ``pope_eval.py``: whole answer, adds ``NO`` and words ending in n't
vlmevalkit       VLMEvalKit@e8e78f0 ``YOrN_Extraction``: yes xor no among the words, else unknown
vlmevalkit-v0.2  VLMEvalKit before 2025-05-13 (v0.1, v0.2): its full-stop rule also deletes
                 stops after a digit (see :func:`parse_vlmevalkit_v02`)
lmms-eval        lmms-eval ``pope`` task: the whole answer must be exactly yes or no, else unknown;
                 scored with lmms-eval's own metric definitions (see :data:`UNKNOWN_TREATMENTS`)
exact            halluscope: the ``lmms-eval`` rule, scored with halluscope's unknown treatment
strict           halluscope's own: a clear yes or no as the first word, else unknown
===============  ==============================================================================

Each parser also names how the POPE metric treats the answers it reads as unknown
(:attr:`AnswerParser.unknowns`, a key of :data:`UNKNOWN_TREATMENTS`): a number labelled with a
peer's name is that peer's number, so ``lmms-eval`` carries lmms-eval's metric definitions, and
halluscope's own treatment is offered under halluscope's own names (``exact``, ``strict``).

The ``original``, ``llava`` and ``opera`` rules never return ``unknown``: anything without a
negative word counts as yes, which is why verbose or evasive models look better under them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from halluscope.errors import ConfigError

YES, NO, UNKNOWN = "yes", "no", "unknown"
ANSWERS: tuple[str, ...] = (YES, NO, UNKNOWN)


def _text(answer: object) -> str:
    if answer is None:
        return ""
    if not isinstance(answer, str):
        raise TypeError(f"expected the answer as a string, got {type(answer).__name__}")
    return answer


# -- original (RUCAIBox/POPE evaluate.py) ------------------------------------------------------
_ORIGINAL_NEGATIVES = frozenset({"No", "not", "no"})


def parse_original(answer: str) -> str:
    """The rule of the original POPE scorer.

    Only the text before the first full stop is read (the whole answer when it has none); commas
    are deleted; the rest is cut at every single space character (tabs and newlines do not
    separate words). If one of the pieces is exactly ``No``, ``not`` or ``no``, the answer is no;
    in every other case, including an empty answer, it is yes. Matching is case-sensitive, so
    ``NO`` and ``Not`` count as yes, and ``No!`` or ``"no"`` (punctuation attached) count as yes.
    This parser never returns ``unknown``.
    """
    words = _text(answer).split(".", 1)[0].replace(",", "").split(" ")
    return NO if _ORIGINAL_NEGATIVES.intersection(words) else YES


# -- opera (shikiw/OPERA pope_eval.py) --------------------------------------------------------
_OPERA_NEGATIVES = frozenset({"No", "not", "no", "NO"})


def parse_opera(answer: str) -> str:
    """The rule of OPERA's POPE evaluation (``recorder`` in ``pope_eval.py``).

    Unlike the original, the whole answer is read: every full stop and comma is deleted, then the
    text is cut at single spaces. The answer is no when a piece is exactly ``No``, ``not``, ``no``
    or ``NO``, or when a piece ends in ``n't`` (``isn't``, ``can't``, ``don't``); otherwise yes.
    Never returns ``unknown``.
    """
    words = _text(answer).replace(".", "").replace(",", "").split(" ")
    if _OPERA_NEGATIVES.intersection(words) or any(w.endswith("n't") for w in words):
        return NO
    return YES


# -- vlmevalkit (open-compass/VLMEvalKit YOrN_Extraction) -------------------------------------
_VLM_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<",
              "@", "`", ",", "?", "!")
_DIGIT_COMMA_DIGIT = re.compile(r"\d,\d")
_PERIOD_NOT_BY_DIGIT = re.compile(r"(?<!\d)\.(?!\d)")       # @e8e78f0 (since 928a95b0)
_PERIOD_NOT_BEFORE_DIGIT = re.compile(r"\.(?!\d)")            # v0.1, v0.2 (see below)
VLMEVALKIT_PERIODS = {"vlmevalkit": _PERIOD_NOT_BY_DIGIT,
                      "vlmevalkit-v0.2": _PERIOD_NOT_BEFORE_DIGIT}
"""Each VLMEvalKit release's full-stop rule, by the name its parser and variant go by."""
_VLM_MAX_PERIODS = 32


def vlmevalkit_punctuation(text: str, variant: str = "vlmevalkit") -> str:
    """VLMEvalKit's ``process_punctuation``, quirks included (the one copy: POPE's parsers and
    HallusionBench's VLMEvalKit variants both read answers through it). Each punctuation mark is
    either deleted or turned into a space, decided once for the whole text: deleted when the
    mark stands next to a space anywhere in it (or when the text has a digit-comma-digit group),
    else replaced by a space. Full stops are then deleted, at most 32 of them (VLMEvalKit passes
    re.UNICODE where re.sub takes count). Which stops (``variant``): @e8e78f0 (since 928a95b0,
    2025-05-13) those neither preceded nor followed by a digit, so in "1. ... 40. no." the
    numbers' stops stay, do not use up the 32, and "no" is read; ``vlmevalkit-v0.2`` (before)
    every stop not followed by a digit, so the stops of 1. to 32. use up the 32 and "no." keeps
    its stop: unknown."""
    out = text
    keep_glued = _DIGIT_COMMA_DIGIT.search(text) is not None
    for p in _VLM_PUNCT:
        if keep_glued or (p + " ") in text or (" " + p) in text:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return VLMEVALKIT_PERIODS[variant].sub("", out, count=_VLM_MAX_PERIODS)


def vlmevalkit_yes_no(text: str, variant: str = "vlmevalkit") -> str:
    """VLMEvalKit's ``YOrN_Extraction`` on ``text`` (not lower-cased here): ``yes`` when the
    word yes occurs and no does not, ``no`` in the opposite case, else ``unknown``."""
    words = vlmevalkit_punctuation(text, variant).split()
    has_yes, has_no = "yes" in words, "no" in words
    if has_yes and not has_no:
        return YES
    if has_no and not has_yes:
        return NO
    return UNKNOWN


def parse_vlmevalkit(answer: str) -> str:
    """VLMEvalKit's rule-based yes/no extraction (``YOrN_Extraction``, @e8e78f0), used before
    any judge.

    The answer is lower-cased; punctuation is deleted or turned into spaces the way VLMEvalKit's
    VQA normaliser does it (a mark is deleted when it stands next to a space somewhere in the
    answer, else replaced by a space; full stops neither after nor before a digit are deleted, at
    most 32);
    the text is split on whitespace. The answer is yes when ``yes`` is among the words and ``no``
    is not, no in the opposite case, and ``unknown`` when both or neither appear (``Not sure``,
    ``There is no dog`` -> no, ``Yes and no`` -> unknown, ``I cannot tell`` -> unknown).
    VLMEvalKit may then ask an LLM judge about the unknown ones; that step is not reproduced.
    """
    return vlmevalkit_yes_no(_text(answer).lower())


def parse_vlmevalkit_v02(answer: str) -> str:
    """:func:`parse_vlmevalkit` as VLMEvalKit read answers from 2024-01-30 (4b191c21) until
    2025-05-13 (928a95b0; releases v0.1 and v0.2), which made many published numbers.

    Its full-stop pattern was ``(?!<=\\d)(\\.)(?!\\d)``: ``(?!<=\\d)`` is a negative
    *lookahead* for the text "<=digit", which a stop never starts, so it excludes nothing. Every
    stop not followed by a digit is deleted, those after a digit included, and they count toward
    the 32: a list numbered "1." to "40." ending in "no." is ``unknown`` here, ``no`` under
    :func:`parse_vlmevalkit`. Short answers read the same under both.
    """
    return vlmevalkit_yes_no(_text(answer).lower(), "vlmevalkit-v0.2")


# -- lmms-eval (EvolvingLMMs-Lab/lmms-eval tasks/pope/utils.py) -------------------------------
def parse_lmms_eval(answer: str) -> str:
    """The rule of lmms-eval's ``pope`` task (``pope_process_results``).

    The answer is lower-cased and stripped of surrounding whitespace; it is yes or no only when
    what remains is exactly ``yes`` or ``no``. ``Yes.``, ``No, there is not.`` or any longer
    answer is ``unknown``. (lmms-eval itself then leaves such answers out of recall's denominator
    and reports the share of yes *labels* as its yes ratio; the ``lmms-eval`` parser is scored
    that way, the ``exact`` parser, the same rule, with halluscope's treatment of unknowns.)
    """
    text = _text(answer).lower().strip()
    return text if text in (YES, NO) else UNKNOWN


# -- strict (halluscope) ----------------------------------------------------------------------
_STRICT = re.compile(
    r"""^[\s"'“”‘’*_`(\[]*            # leading quotes, markdown emphasis, brackets
        (yes|no)                     # the answer word, any case
        (?=$|[\s.,!;:)\]"'“”’*_`])   # ... ending there or at punctuation, not '-', '/', letters
        (?:[\s"'”’*_`)\]]*           # closing marks after it
           ([a-z]+))?                # and the next word, if any
    """,
    re.IGNORECASE | re.VERBOSE)
_STRICT_HEDGES = frozenset({"or", "and", "idea", "clue"})


def parse_strict(answer: str) -> str:
    """halluscope's strict rule: only a clear yes or no at the start counts.

    After leading whitespace, quotes, markdown emphasis and brackets, the first word must be
    ``yes`` or ``no`` (any case), ended by the end of the answer, whitespace or punctuation other
    than ``-`` and ``/``. It is not clear, hence ``unknown``, when the next word is ``or``,
    ``and``, ``idea`` or ``clue`` (``Yes or no``, ``No idea``). Everything else is ``unknown``:
    ``Not sure``, ``There is no dog``, ``I cannot tell``, an empty answer.
    """
    m = _STRICT.match(_text(answer))
    if m is None:
        return UNKNOWN
    if m.group(2) is not None and m.group(2).lower() in _STRICT_HEDGES:
        return UNKNOWN
    return m.group(1).lower()


# -- registry ---------------------------------------------------------------------------------
#: How the POPE metric scores answers a parser reads as unknown: treatment name -> description.
UNKNOWN_TREATMENTS: dict[str, str] = {
    "halluscope": "unknown answers are wrong for accuracy, outside precision's denominator, a "
                  "miss for recall when the label is yes; yes_ratio = yes predictions / answers",
    "lmms-eval": "lmms-eval's definitions: unknown answers are wrong for accuracy and outside "
                 "both precision's and recall's denominators; yes_ratio = share of yes LABELS; "
                 "a ratio whose denominator is 0 is 0",
    "vlmevalkit": "VLMEvalKit's POPE_rating: as halluscope (unknown answers wrong for accuracy, "
                  "outside precision's denominator, a miss for recall when the label is yes), "
                  "but a precision, recall or F1 whose denominator is 0 is 0",
}


@dataclass(frozen=True)
class AnswerParser:
    """A named answer parser.

    Attributes:
        name: Registry name (what ``--pope-parser`` takes).
        fn: The pure function ``str -> "yes" | "no" | "unknown"``.
        description: One line on the rule and where it comes from.
        alias_of: Name of the parser whose rule this one shares, if any.
        returns_unknown: Whether the rule can answer ``unknown`` at all.
        unknowns: How the POPE metric treats unknown answers, a key of
            :data:`UNKNOWN_TREATMENTS` (``lmms-eval`` for the peer's own metric definitions).
        explodes_categories: Whether an answer whose own ``category`` lists several splits
            (``"adversarial,popular,random"``) counts once in each split and once per split in
            the overall numbers, as the peer's scorer counts it (VLMEvalKit's ``POPE_rating``).
    """

    name: str
    fn: Callable[[str], str]
    description: str
    alias_of: str | None = None
    returns_unknown: bool = True
    unknowns: str = "halluscope"
    explodes_categories: bool = False

    def __call__(self, answer: str) -> str:
        return self.fn(answer)


PARSERS: dict[str, AnswerParser] = {
    p.name: p for p in (
        AnswerParser(
            "original", parse_original,
            "RUCAIBox/POPE evaluate.py: text before the first '.', commas removed, split on "
            "spaces; a word 'No', 'not' or 'no' means no, anything else yes (never unknown)",
            returns_unknown=False),
        AnswerParser(
            "llava", parse_original,
            "alias of 'original': LLaVA-1.5 llava/eval/eval_pope.py reads answers with the same "
            "rule, never unknown (the script differs only in grouping answers by category)",
            alias_of="original", returns_unknown=False),
        AnswerParser(
            "opera", parse_opera,
            "shikiw/OPERA pope_eval.py: whole answer, '.' and ',' removed, split on spaces; "
            "'No', 'not', 'no', 'NO' or a word ending in n't means no, else yes (never unknown)",
            returns_unknown=False),
        AnswerParser(
            "vlmevalkit", parse_vlmevalkit,
            "VLMEvalKit@e8e78f0 YOrN_Extraction: lower-cased, VQA punctuation handling, "
            "whitespace "
            "words; 'yes' without 'no' -> yes, 'no' without 'yes' -> no, else unknown; an answer "
            "whose category lists several splits counts once in each, overall too "
            "(POPE_rating)", unknowns="vlmevalkit", explodes_categories=True),
        AnswerParser(
            "vlmevalkit-v0.2", parse_vlmevalkit_v02,
            "VLMEvalKit 2024-01-30 to 2025-05-13 (v0.1, v0.2): as 'vlmevalkit', but its "
            "full-stop rule also deletes stops after a digit, which use up the 32 it deletes "
            "(differs on long answers only); scored as 'vlmevalkit'",
            unknowns="vlmevalkit", explodes_categories=True),
        AnswerParser(
            "lmms-eval", parse_lmms_eval,
            "lmms-eval pope task: lower-cased and stripped answer must be exactly 'yes' or 'no', "
            "else unknown; scored with lmms-eval's metric definitions",
            unknowns="lmms-eval"),
        AnswerParser(
            "exact", parse_lmms_eval,
            "halluscope: the lmms-eval rule (lower-cased, stripped answer exactly 'yes' or 'no', "
            "else unknown) scored with halluscope's treatment of unknowns"),
        AnswerParser(
            "strict", parse_strict,
            "halluscope: the first word must be a clear 'yes' or 'no' (not 'yes or no', "
            "'no idea'), else unknown"),
    )
}


def get_parser(name: str | AnswerParser) -> AnswerParser:
    """The parser registered as ``name`` (an :class:`AnswerParser` is returned unchanged)."""
    if isinstance(name, AnswerParser):
        return name
    try:
        return PARSERS[name]
    except KeyError:
        raise ConfigError(f"unknown POPE answer parser {name!r}; expected one of: "
                          f"{', '.join(PARSERS)}") from None


def describe_parsers() -> list[str]:
    """Lines for ``halluscope metrics``: every parser with the first line of its description
    and how it scores unknown answers, then the unknown-answer treatments."""
    lines = ["answer parsers (pope_parser):"]
    for name, parser in PARSERS.items():
        doc = (getattr(parser, "description", None) or getattr(parser, "__doc__", "") or "")
        unknowns = getattr(parser, "unknowns", "halluscope")
        lines.append(f"  {name}: {doc.strip().splitlines()[0] if doc.strip() else ''} "
                     f"[unknown answers: {unknowns}]")
    lines.append("unknown-answer treatments:")
    lines.extend(f"  {name}: {text}" for name, text in UNKNOWN_TREATMENTS.items())
    return lines
