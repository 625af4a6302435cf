"""Which records are answers to AMBER items, and which are another benchmark's, passed by.

AMBER's own response files are ``[{"id": N, "response": ...}]``; its questions
(``query/query_all.json``) put each id to an image ``AMBER_<n>.jpg``, asking "Describe this
image." (ids 1-1004) or a yes/no question "Is/Are/Does ... in this image?" or "Is there direct
contact between the a and b?" (ids 1005-15220). A bare whole-number id is all such a file holds,
so a whole-number ``id`` or ``question_id`` is read as an AMBER id -- unless the record says it
is another benchmark's (:func:`foreign`), as a POPE line does: its ``question_id`` 1 beside a COCO
image, the label "no" and "Is there a dog in the image?" is no answer to AMBER item 1 (a
description). Such a record is passed by, counted under its reason, never scored or listed.

A record is AMBER's, whatever else it holds, when it says so: ``metadata["amber_id"]``, an image
named ``AMBER_<n>.jpg``, or ``benchmark`` "amber" (``halluscope query --benchmark amber`` writes
it). Otherwise it is another benchmark's when:

* its ``benchmark`` names another benchmark;
* it names an image that is not ``AMBER_<n>.jpg`` (a COCO image, ...);
* its id is a description item (1-1004) but it is a yes/no question (a label, or a yes/no prompt
  not worded as AMBER's);
* its label is not AMBER's truth for its id, or its question is none of AMBER's: not the
  item's own query (when ``query_all.json`` is beside the annotations) and not worded as AMBER
  words its questions, or worded as POPE's ("Is there a ... in the image?").

A question worded as AMBER's that is not its id's own query (an id off by some lines) and an
``AMBER_<n>.jpg`` image that is not its id's are bad records (:func:`amber_item`): the record is
AMBER's, its id is wrong.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any

from halluscope.errors import ConfigError, RecordError
from halluscope.evidence.amber import AmberData, amber_id, amber_image
from halluscope.records import Record, yes_no_prompt

log = logging.getLogger(__name__)

#: How AMBER words its yes/no questions (every one of its 14,216 does one or the other).
_AMBER_WORDED = re.compile(r"\bin this image\s*\?|\bis there direct contact between\b",
                           re.IGNORECASE)
#: How POPE words its questions ("imange": a typo of POPE's first release).
_POPE_WORDED = re.compile(r"\bis there an? .+? in the imm?an?ge\s*\?", re.IGNORECASE)
_SPACE = re.compile(r"\s+")

NOT_AMBER_IMAGE = ("another benchmark's record: its image is not an AMBER image "
                   "(AMBER_<n>.jpg; or mark it AMBER's with metadata 'amber_id')")
YES_NO_ON_DESCRIPTION = ("another benchmark's record: a yes/no question, but its id is an AMBER "
                         "description item (ids 1-1004 ask 'Describe this image.')")
OTHER_LABEL = "another benchmark's record: its label is not AMBER's truth for its id"
OTHER_QUESTION = ("another benchmark's record: its question is not AMBER's for its id, nor "
                  "worded as AMBER's ('... in this image?')")
POPE_QUESTION = ("another benchmark's record: a POPE question ('Is there a ... in the "
                 "image?'; AMBER asks '... in this image?')")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def question_of(record: Record) -> str | None:
    """The question put to the model: ``prompt``, else an AMBER query file's ``query``."""
    if isinstance(record.prompt, str):
        return record.prompt
    query = (record.metadata or {}).get("query")
    return query if isinstance(query, str) else None


def _benchmark(record: Record) -> str | None:
    """The benchmark a ``benchmark`` field names (``"amber@1"`` -> ``"amber"``), if any."""
    name = (record.metadata or {}).get("benchmark")
    if not isinstance(name, str):
        return None
    return name.split("@", 1)[0].strip().lower() or None


def amber_worded(question: str) -> bool:
    """Whether a question is a yes/no question worded as AMBER words its own."""
    return bool(_AMBER_WORDED.search(question)) and yes_no_prompt(question)


def unasked_query(data: AmberData, i: int, question: str) -> str | None:
    """AMBER item ``i``'s own query (``query_all.json``) when ``question`` does not hold it
    (spacing and case aside): the question is another item's; ``None`` when it holds it or
    no query of the item is known."""
    query = (data.queries.get(i) or {}).get("query")
    return query if isinstance(query, str) and _norm(query) not in _norm(question) else None


def foreign(record: Record, data: AmberData) -> str | None:
    """Why ``record`` is another benchmark's, not an answer to an AMBER item (the counted cause
    it is passed by with); ``None`` when it may be AMBER's (module docstring)."""
    bench = _benchmark(record)
    if bench is not None and bench != "amber":
        return f"another benchmark's record: its 'benchmark' is {bench!r:.40}, not amber"
    if bench == "amber" or (record.metadata or {}).get("amber_id") is not None or \
            amber_image(record.image) is not None:
        return None
    if record.image:
        return NOT_AMBER_IMAGE
    i = amber_id(record)
    item = data.items.get(i) if i is not None else None
    question = question_of(record)
    if item is None or (question is not None and amber_worded(question)):
        return None                        # no AMBER item, or AMBER's wording: read as AMBER's
    if item.get("type") == "generative":
        return YES_NO_ON_DESCRIPTION if record.label is not None or record.task == "yes-no" \
            else None
    if record.label is not None and item.get("truth") in ("yes", "no") and \
            record.label != item["truth"]:
        return OTHER_LABEL
    if question is None:
        return None
    if unasked_query(data, i, question) is not None:
        return OTHER_QUESTION
    return POPE_QUESTION if _POPE_WORDED.search(question) else None


def refusal(record: Record, data: AmberData) -> RecordError | None:
    """An answer without an AMBER id (an id that is only the line number is none) that is no
    other benchmark's record: a bad record of AMBER's, when amber was asked for."""
    if record.response is None or amber_id(record) is not None or \
            foreign(record, data) is not None:
        return None
    got = "no id" if record.id_from_line else f"id {record.id!r:.60}"
    image = f" and image {record.image!r:.80}" if record.image else ""
    return RecordError(f"no AMBER id: expected a whole-number 'id' (or 'question_id', "
                       f"metadata 'amber_id') or an image named AMBER_<n>.jpg, got {got}"
                       f"{image}", field="id", file=record.source.file,
                       line=record.source.line)


def skip_reason(record: Record, data: AmberData) -> str:
    """Why AMBER passed ``record`` by: no answer, another benchmark's record, or no AMBER id."""
    if record.response is None:
        return "no model answer"
    return foreign(record, data) or "no AMBER id ('id', 'question_id' or an AMBER_<n>.jpg image)"


def amber_item(record: Record, data: AmberData) -> tuple[int, dict[str, Any]]:
    """``(id, annotation)`` of the AMBER item ``record`` answers, or the bad record's error: no
    AMBER id, an id the annotations do not hold, an ``AMBER_<n>.jpg`` image or a question worded
    as AMBER's that is not that id's (the id is off)."""
    where = {"file": record.source.file, "line": record.source.line}
    i = amber_id(record)
    if i is None:
        raise refusal(record, data) or RecordError("no AMBER id", field="id", **where)
    item = data.items.get(i)
    if item is None:
        # AMBER's inference.py indexes its ground truth by id - 1: an id outside it is no
        # AMBER question (the wrong file, or a typo), listed rather than passed by
        raise RecordError(f"expected the id of one of the annotations' {len(data.items):,} "
                          f"AMBER items ({min(data.items)} to {max(data.items)}), got {i}, "
                          f"which is none of them", field="id", **where)
    own, image = data.image_of(i), amber_image(record.image)
    if own is not None and image is not None and amber_image(own) != image:
        raise RecordError(f"expected AMBER item {i}'s image {own}, got AMBER_{image}.jpg: is "
                          f"the id off?", field="image", **where)
    question = question_of(record)
    if question is None or not amber_worded(question):
        return i, item
    query = unasked_query(data, i, question)
    if item.get("type") == "generative" or query is not None:
        want = "a description" if item.get("type") == "generative" else f"its question {query!r}"
        raise RecordError(f"expected {want} for AMBER item {i}, got the yes/no question "
                          f"{question!r:.120}: is the id off?", field="id", **where)
    return i, item


def coverage(data: AmberData, answered: Collection[int]) -> dict[str, dict[str, int]]:
    """Per AMBER question type (``generative``, ``discriminative-hallucination``, ...), the
    questions the annotations hold and how many of them a scored answer answers (an id answered
    only by a bad record is not)."""
    out: dict[str, dict[str, int]] = {}
    for i, item in data.items.items():
        counts = out.setdefault(str(item.get("type")), {"answered": 0, "questions": 0})
        counts["questions"] += 1
        counts["answered"] += i in answered
    return out


def warn_partial(cov: dict[str, dict[str, int]]) -> None:
    """Say which question types hold answers to some of their questions only (a file cut
    short, failed requests): their scores, and the AMBER score, are then over those answers, not
    the benchmark's. A type with no answer at all is a part of AMBER not asked (a generative-only
    run, as AMBER's own query files allow), said by the statistics that have no value."""
    partial = [f"{kind} {c['answered']:,} of {c['questions']:,}"
               for kind, c in cov.items() if 0 < c["answered"] < c["questions"]]
    if partial:
        log.warning("amber: some questions have no scored answer (answered: %s); the scores "
                    "over those question types, and the AMBER score, are over the answered "
                    "ones only -- not the benchmark's numbers (info.coverage)",
                    "; ".join(partial))


_FIRST = re.compile(r"[a-z]+")
#: A bare yes/no answer ("Yes", "no.", " NO! "): no description of anything.
_BARE_YES_NO = re.compile(r"\s*(?:yes|no)\W*", re.IGNORECASE)


def parse_answer(response: str, variant: str) -> str | None:
    """``yes``/``no`` as the variant reads an answer to a yes/no question (``None``: neither):
    ``original`` only the exact ``"Yes"`` / ``"No"`` inference.py compares with, ``refined``
    the first word, any case and punctuation."""
    if variant == "original":
        return "yes" if response == "Yes" else "no" if response == "No" else None
    m = _FIRST.search((response or "").lower())
    if m and m.group(0) in ("yes", "no"):
        return m.group(0)
    return None


def answer_tallies(kind: str, text: str, answer: str | None, variant: str
                   ) -> dict[str, Counter]:
    """What an answer says about the file rather than the model, counted for :func:`warn_answers`:
    a bare yes/no answer to a description item (``yes_no_on_description``: the ids are
    likely the yes/no questions' numbered from 1), a non-empty answer to a yes/no question read
    neither yes nor no (``neither_yes_nor_no``, wrong in both variants), and of those, the ones
    the refined variant reads (``refined_reads``: "Yes.", "no, ...")."""
    out: Counter = Counter()
    if kind == "generative":
        if _BARE_YES_NO.fullmatch(text):
            out["yes_no_on_description"] += 1
    elif answer is None and text.strip():
        out["neither_yes_nor_no"] += 1
        if variant == "original" and parse_answer(text, "refined") is not None:
            out["refined_reads"] += 1
    return {"answers": out} if out else {}


def warn_answers(metric: str, variant: str, counts: Mapping[str, int] | None) -> None:
    """Say what :func:`answer_tallies` counted (the metric's ``tallies["answers"]``): each such
    answer is scored as the variant's rule scores it, and the warning says why the numbers may
    not be the model's."""
    counts = counts or {}
    if n := counts.get("yes_no_on_description", 0):
        log.warning("%s: %d answer(s) to AMBER description items (ids 1-1004, 'Describe this "
                    "image.') are a bare yes/no, scored as descriptions naming no object: are "
                    "the ids off? AMBER's yes/no questions are ids 1005-15220 "
                    "(tallies.answers.yes_no_on_description)", metric, n)
    if n := counts.get("neither_yes_nor_no", 0):
        lenient = counts.get("refined_reads", 0)
        hint = (f"; {lenient} of them start with yes or no ('Yes.', 'No, ...'), which "
                f"amber_variant=refined reads" if lenient else "")
        rule = "exactly 'Yes' or 'No'" if variant == "original" else "yes or no first"
        log.warning("%s %s: %d answer(s) to yes/no questions are not %s, each scored as a "
                    "wrong answer%s (tallies.answers.neither_yes_nor_no)", metric, variant, n,
                    rule, hint)


def check_words(data: AmberData) -> bool:
    """True when AMBER's object and association words (``relation.json``) are loaded; a
    description cannot be scored without them (they are the only nouns AMBER counts: with none,
    every description named no object and Cover read 0 over every truth object)."""
    if not data.association:
        raise ConfigError(f"AMBER's descriptions (ids 1-1004) need relation.json, its object and "
                          f"association words (the nouns it counts), beside {data.path} (or in "
                          f"its data/ folder); found none there")
    return True
