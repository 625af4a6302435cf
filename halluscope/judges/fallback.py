"""How metrics fall back on a judge: claims no evidence decides, yes/no answers no rule reads.

* :func:`judge_claims` (``claims``, ``faithscore``): every descriptive claim (existence, count,
  attribute, relation) still ``unverifiable`` after the annotation and detector sources goes to
  ``judge.verify`` with the record's image; a record's claims are asked concurrently. The judge's
  verdict replaces the undecided one: it carries ``Evidence(source="judge", payload={"raw":
  <answer>, "judge": <pin>})`` and ``checker="judge-<kind>"``; an answer the judge's parser cannot
  read stays ``unverifiable`` with the raw answer kept.
* :func:`judge_yes_no` (``pope``): an answer the named parser maps to ``unknown`` goes to
  ``judge.classify_yes_no``; the item records ``judged: true`` and the judge's raw answer.

:func:`claim_questions` and :func:`yes_no_question` say what each asks, for a chunk's questions
to be asked ahead together (:meth:`Judge.ask_ahead <halluscope.judges.judge.Judge.ask_ahead>`).

In offline mode a judge answer missing from the cache raises
:class:`~halluscope.errors.CacheMiss`, here completed with the record's id.
"""

from __future__ import annotations

import logging
from typing import Any

from halluscope.errors import CacheMiss
from halluscope.types import Verdict

log = logging.getLogger(__name__)

#: Claim kinds a judge is asked about.
JUDGED_KINDS = ("existence", "count", "attribute", "relation")
_CONTEXT_CHARS = 300


def is_model_judge(judge: Any) -> bool:
    """Whether ``judge`` is a model judge (:class:`~halluscope.judges.judge.Judge`-like) rather
    than a ``check_claim`` hook for :func:`halluscope.checks.check_claim`."""
    return judge is not None and hasattr(judge, "verify_many_sync")


def claim_context(response: str, span: tuple[int, int]) -> str:
    """The sentence of ``response`` that holds ``span`` (the whole response, shortened, when the
    span is unknown)."""
    start, end = span
    if not response:
        return ""
    if end <= start:
        return response[:_CONTEXT_CHARS]
    left = max(response.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (response.find(c, end) for c in ".!?\n") if i >= 0]
    right = min(rights) + 1 if rights else len(response)
    return response[left:right].strip()[:_CONTEXT_CHARS]


def _image(record) -> str | None:
    path = record.image_path()
    if path is not None:
        return str(path)
    return record.image or None          # a URL: the judge's image loader decides


def _judged_items(record, verdicts: list[Verdict], include_analytic: bool
                  ) -> tuple[list[int], list[tuple]]:
    """The places of the verdicts the judge is asked about and their ``(claim, image,
    context)``; an image file that cannot be read raises
    :class:`~halluscope.errors.UnreadableImage` (the record is bad, the judge not asked)."""
    todo = [i for i, v in enumerate(verdicts)
            if v.label == "unverifiable" and v.claim.kind in JUDGED_KINDS
            and (include_analytic or not v.claim.analytic)]
    if not todo:
        return [], []
    image = _image(record)
    if image is None:
        log.debug("record %s has no image: its %d undecided claims are not judged",
                  record.id, len(todo))
        return [], []
    if record.image_path() is not None:
        from halluscope.imageio import open_image
        open_image(image)
    response = record.response or ""
    return todo, [(verdicts[i].claim, image,
                   verdicts[i].claim.text or claim_context(response, verdicts[i].claim.span))
                  for i in todo]


def judge_claims(judge: Any, record, verdicts: list[Verdict], *, include_analytic: bool = False
                 ) -> tuple[list[Verdict], int]:
    """``verdicts`` with the undecided descriptive ones decided by ``judge`` (see the module
    docstring), and how many the judge was asked about."""
    todo, items = _judged_items(record, verdicts, include_analytic)
    if not todo:
        return verdicts, 0
    try:
        judged = judge.verify_many_sync(items)
    except CacheMiss as exc:
        raise exc.for_record(record.id, record.source.file, record.source.line) from None
    out = list(verdicts)
    for i, v in zip(todo, judged):
        out[i] = v
    return out, len(todo)


def claim_questions(judge: Any, record, verdicts: list[Verdict], *,
                    include_analytic: bool = False) -> list[tuple]:
    """The questions :func:`judge_claims` puts to ``judge`` for ``verdicts``, for
    :meth:`~halluscope.judges.judge.Judge.ask_ahead` (it asks them concurrently, with other
    records'); raises what :func:`judge_claims` raises before asking."""
    return [judge.verify_question(*item)
            for item in _judged_items(record, verdicts, include_analytic)[1]]


def yes_no_question(record, question: str | None) -> tuple[str, dict[str, str]]:
    """The question :func:`judge_yes_no` puts to the judge, for ``Judge.ask_ahead``."""
    return "classify_yes_no", {"answer": record.response or "",
                               "question": question or "(not given)"}


def judge_yes_no(judge: Any, record, question: str | None):
    """The judge's reading of ``record.response`` as yes/no/unknown (a
    :class:`~halluscope.judges.judge.JudgeAnswer`)."""
    try:
        return judge.classify_yes_no_detailed_sync(record.response or "", question)
    except CacheMiss as exc:
        raise exc.for_record(record.id, record.source.file, record.source.line) from None


def judge_info(judge: Any, use: str) -> dict[str, Any]:
    """What a metric's run-sheet entry says about its judge: the judge's own description (spec,
    pin, template sha256s, decoding, the model names the server reported, the mismatch flag)
    and the reliability of ``use`` (calls, cached calls, parse-failure and abstain rates)."""
    from halluscope.judges.reliability import UseStats
    info = judge.describe()
    uses = getattr(getattr(judge, "stats", None), "uses", {})
    stats = (uses.get(use) or UseStats()).to_dict()
    return {"judge": info, "judge_reliability": {"use": use, **stats}}


__all__ = ["JUDGED_KINDS", "claim_context", "claim_questions", "is_model_judge", "judge_claims",
           "judge_info", "judge_yes_no", "yes_no_question"]
