"""Judge questions of a batch of records' verifications asked together (``claims``,
``faithscore``).

Verifying a record puts up to two kinds of question to a judge: the split of its response
into claims (``claim_splitter="judge"``: :meth:`Judge.decompose
<halluscope.judges.judge.Judge.decompose>`) and, for each descriptive claim no evidence
decides, the check of that claim (:func:`~halluscope.judges.fallback.judge_claims`). One record
at a time, the records' calls never overlapped, whatever ``judge_max_connections`` said.

:func:`ask_judge_ahead` asks a batch's questions ahead through :meth:`Judge.ask_ahead
<halluscope.judges.judge.Judge.ask_ahead>` (:mod:`halluscope.judges.ahead`): first the
splits, together; then, reading each split from its answer without taking it
(:meth:`Judge.decomposed_ahead <halluscope.judges.judge.Judge.decomposed_ahead>`; the rules
splitter's from the batch's one parse), it gathers the facts about each image, checks the
claims and asks the checks the judge will be asked, together. The claims and facts are kept
for :meth:`Verifier.verify <halluscope.verification.Verifier.verify>`, which takes them (a
detector runs once per image, as before), takes each judge answer in turn and counts it then:
the same items, numbers, judge counters and cache entries as one call at a time, with up to
``judge_max_connections`` calls in flight. A record that fails before a question (a split the
judge's answer cannot give, an unreadable image) asks nothing ahead: verifying it fails as it
always did, with the same error.
"""

from __future__ import annotations

from typing import Any

from halluscope.record_fields import answer_field
from halluscope.records import Record
from halluscope.verification import _AHEAD, _PREPARED, Verifier


class AskedAhead:
    """What a batch asked ahead: the judges asked and the records whose claims and facts were
    prepared; :meth:`forget_ahead` drops what no record took (:func:`halluscope.metrics.
    judge_ahead.judges_asked_ahead` calls it after the batch)."""

    def __init__(self, judges: list[Any], key: tuple, prepared: dict[int, tuple]):
        self.judges = judges
        self.key = key
        self.ids = list(prepared)
        if prepared:
            _PREPARED.setdefault(key, {}).update(prepared)

    def forget_ahead(self) -> None:
        for judge in self.judges:
            judge.forget_ahead()
        entries = _PREPARED.get(self.key)
        if entries is not None:
            for i in self.ids:
                entries.pop(i, None)
            if not entries:
                _PREPARED.pop(self.key, None)


def _splitting_judge(verifier: Verifier) -> Any:
    """The judge the verifier's claim splitter asks (a judge that can be asked ahead), else
    None."""
    target = getattr(verifier.decomposer, "target", None)
    if all(hasattr(target, name) for name in ("ask_ahead", "decomposed_ahead", "decompose_sync")):
        return target
    return None


def _claims(verifier: Verifier, record: Record, splitter: Any) -> list | None:
    """The claims verifying ``record`` will find (None where it cannot tell: it fails)."""
    text = record.response or ""
    if splitter is not None:
        claims = splitter.decomposed_ahead(text)
        return None if claims is None else verifier.decomposer.with_nodes(claims)
    ready = _AHEAD.get().get(verifier.key, {}).get(text)
    return ready[-1] if ready else verifier.split(text, answer_field(record))


def _prepare(verifier: Verifier, records: list[Record], splitter: Any
             ) -> tuple[dict[int, tuple], list[tuple]]:
    """(id of a record -> its claims and facts, or the error gathering them raised; the judge
    questions verifying the records will ask, in their order)."""
    from halluscope.checks import check_claim
    from halluscope.evidence.providers import gather_facts, unknown_image
    from halluscope.judges.fallback import claim_questions
    prepared: dict[int, tuple] = {}
    questions: list[tuple] = []
    for record in records:
        try:
            claims = _claims(verifier, record, splitter)
        except Exception:       # verifying it says why, and asks nothing
            continue
        if claims is None:
            continue
        try:
            facts = gather_facts(list(verifier.providers), record, claims) if claims else []
        except Exception as exc:    # raised again when the record is verified, not gathered
            prepared[id(record)] = (claims, exc)
            continue
        prepared[id(record)] = (claims, facts)
        if not claims or not facts and not record.image and record.image_id is None or \
                unknown_image(verifier.providers, record, facts, verifier.judge) is not None:
            continue            # no claims, or a bad record: no judge question
        verdicts = [check_claim(c, facts, None) for c in claims]
        try:
            questions += claim_questions(verifier.judge, record, verdicts,
                                         include_analytic=verifier.include_analytic)
        except Exception:       # an unreadable image: the record is bad, the judge not asked
            continue
    return prepared, questions


def ask_judge_ahead(verifier: Verifier, records: list[Record]) -> AskedAhead | None:
    """Ask the judge questions that verifying ``records`` (with ``verifier``) will ask,
    together, and keep their claims and facts for :meth:`Verifier.verify`; what to forget
    after the batch, or None when nothing was asked (no model judge, or one that cannot be
    asked ahead)."""
    from halluscope.judges.fallback import is_model_judge
    judge = verifier.judge if is_model_judge(verifier.judge) else None
    if not hasattr(judge, "ask_ahead"):
        judge = None
    splitter = _splitting_judge(verifier)
    if verifier.decomposer is not None and splitter is None:
        judge = None            # its claims cannot be known ahead
    asked: list[Any] = []
    prepared: dict[int, tuple] = {}
    try:
        if splitter is not None:
            asked.append(splitter)
            splitter.ask_ahead([("decompose", {"text": r.response or ""}) for r in records])
        if judge is not None:
            asked.append(judge)
            prepared, questions = _prepare(verifier, records, splitter)
            judge.ask_ahead(questions)
    except BaseException:       # (a Ctrl-C while asking) nothing asked is left held
        AskedAhead(asked, verifier.key, {}).forget_ahead()
        raise
    return AskedAhead(asked, verifier.key, prepared) if asked else None


__all__ = ["AskedAhead", "ask_judge_ahead"]
