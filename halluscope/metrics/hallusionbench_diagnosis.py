"""HallusionBench's failure diagnosis (``original`` variant): language hallucination (LH),
visual illusion (VI) or both (Mixed), as evaluation.py prints it.

Each question's answer is compared by the judge (``hallusionbench_same`` prompt, byte for byte)
with the answer to the same question on the pair's original figure (figure 0; figure-0 questions
are compared with themselves); the reply reads as "same" when the word ``same`` occurs anywhere
(so "not the same" is the same), else different. utils.py's ``get_eval_pair_all`` then labels
every question with (LH, VI) from the category, the pair's figure-0 judge code, its own code,
``visual_input`` and that consistency flag; the shares reported are those labels' counts over
all labelled questions (``LH_cg``, ``VI_cg``, ``Mix_cg``). The run also keeps what the original
computes but does not print: get_eval_pair_all's pair-level LH / VI / Mix counts (``pairs``) and
each question's decision, on its own items.jsonl line (:func:`question_fields`: ``same``, the
judge's reply ``same_judge_raw`` and the ``diagnosis`` label, added once the check has run after
every answer is in: :mod:`halluscope.late_fields`); the run sheet says only how many lines carry
them and a digest of the decisions (``questions``: :func:`question_decisions`), where it listed
every question's key (29 KB of a 60 KB run sheet for the benchmark's 1,129 questions).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

SAME = "hallusionbench_same"


@dataclass(frozen=True)
class Answered:
    """What the diagnosis needs of one question."""

    category: str
    subcategory: str
    set_id: str
    figure_id: str
    question_id: str
    visual_input: str
    code: str               # the judge code "0" / "1" / "2"
    response: str
    part: str = ""          # whose answer (the --by groups): compared with its own figure 0
    at: int = -1            # its position among the metric's items (its items.jsonl line)

    @property
    def pair(self) -> str:
        key = "_".join((self.category, self.subcategory, self.set_id, self.question_id))
        return f"{self.part}|{key}" if self.part else key


def original_same(judge_text: str | None) -> str:
    """utils.py's reading of the consistency reply: ``"1"`` when "same" occurs, else ``"0"``."""
    return "1" if "same" in (judge_text or "").lower() else "0"


def _vd(code: str, orig: str, same: str) -> tuple[int, int]:
    if orig == "1" and code == "0":
        return (1, 1) if same == "1" else (0, 1)
    if code in ("0", "2"):
        return (0, 1)
    return (0, 0)


def _vs(code: str, orig: str, same: str, visual: str) -> tuple[int, int]:
    if orig == "0":
        if code == "0":
            return (1, 0) if same == "1" else (1, 1)
        return (1, 1) if code == "2" else (0, 0)
    if orig == "2":
        return (0, 1) if code in ("0", "2") else (0, 0)
    if code == "2":
        return (0, 1)
    if code == "0":
        if visual == "1":
            return (0, 1)
        if visual == "2":
            return (1, 0) if same == "1" else (0, 1)
        raise ValueError(f"expected visual_input 1 or 2 on an edited figure, got {visual!r}")
    return (0, 0)


def analysis(q: Answered, orig_code: str, same: str) -> tuple[int, int]:
    """The (LH, VI) label of one question, as get_eval_pair_all assigns it."""
    if q.figure_id == "0":
        if q.category == "VD":
            return (0, 1) if q.code in ("0", "2") else (0, 0)
        return (1, 0) if q.code == "0" else (0, 0)
    if q.category == "VD":
        return _vd(q.code, orig_code, same)
    return _vs(q.code, orig_code, same, q.visual_input)


def same_questions(questions: list[Answered]) -> list[tuple[str, str]]:
    """The ``(response1, response2)`` consistency questions :func:`diagnose` asks, in its
    order, up to where it stops: before a question whose pair has no figure-0 question, after
    one it cannot label (whatever the reply: :func:`analysis` raises before reading it)."""
    originals = {q.pair: q for q in questions if q.figure_id == "0"}
    out = []
    for q in questions:
        orig = originals.get(q.pair)
        if orig is None:
            break
        out.append((q.response, orig.response))
        try:
            analysis(q, orig.code, "1")
        except ValueError:
            break
    return out


Labels = list[tuple[Answered, str | None, tuple[int, int] | None, str | None]]


def diagnose(questions: list[Answered], ask_same) -> tuple[dict[str, Any], dict[int, Any]]:
    """Ask the consistency prompt for every question (``ask_same(response1, response2)`` returns
    the judge's raw text or ``None`` when the call failed) and label the failures. A question
    whose call failed is labelled all the same where its label does not depend on the reply
    (a figure-0 question, a right answer), else left out; ``same_replies["failed"]`` counts the
    failed calls. Returns the counts and the shares (percent, rounded to 4 places as
    printed), the pair-level counts (:func:`pair_counts`) and what the lines carry
    (:func:`question_decisions`); and each question's fields for its line, by its position
    (:func:`question_fields`)."""
    originals = {q.pair: q for q in questions if q.figure_id == "0"}
    counts = {"LH": 0, "VI": 0, "Mixed": 0}
    same_replies = {"1": 0, "0": 0, "failed": 0}
    labels: Labels = []
    for q in questions:
        orig = originals.get(q.pair)
        if orig is None:
            raise ValueError(f"question pair {q.pair} has no figure-0 question; the original "
                             f"stops here with a KeyError")
        raw = ask_same(q.response, orig.response)
        same = None if raw is None else original_same(raw)
        if same is None:
            same_replies["failed"] += 1
            label = analysis(q, orig.code, "1")
            if label != analysis(q, orig.code, "0"):
                labels.append((q, None, None, raw))
                continue        # the label needs the reply the judge did not give
        else:                   # it does not: a failed call leaves no question out in vain
            same_replies[same] += 1
            label = analysis(q, orig.code, same)
        labels.append((q, same, label, raw))
        if (name := _label_name(label)) is not None:
            counts[name] += 1
    total = sum(counts.values())
    shares = {k: (round(100 * v / total, 4) if total else None) for k, v in counts.items()}
    return ({"counts": counts, "percent": shares, "same_replies": same_replies,
             "pairs": pair_counts(labels), "questions": question_decisions(labels)},
            question_fields(labels))


def _label_name(label: tuple[int, int]) -> str | None:
    """``LH``, ``VI`` or ``Mixed`` for an (LH, VI) label; ``None`` for (0, 0)."""
    lh, vi = label
    return "Mixed" if lh and vi else "LH" if lh else "VI" if vi else None


def pair_counts(labels: Labels) -> dict[str, int]:
    """get_eval_pair_all's pair-level diagnosis (its ``LH`` / ``VI`` / ``Mix``, not printed by
    evaluation.py): each question pair's (LH, VI) labels summed, the pair Mixed when both sums
    are positive, else LH or VI; ``none``: pairs with neither; ``left_out``: pairs holding a
    question left unlabelled (a failed consistency call its label depended on), not counted."""
    sums: dict[str, list[int] | None] = {}
    for q, _, label, _ in labels:
        if q.pair in sums and sums[q.pair] is None:
            continue
        if label is None:
            sums[q.pair] = None
            continue
        acc = sums.setdefault(q.pair, [0, 0])
        acc[0] += label[0]
        acc[1] += label[1]
    out = {"LH": 0, "VI": 0, "Mixed": 0, "none": 0, "left_out": 0}
    for acc in sums.values():
        name = "left_out" if acc is None else _label_name((acc[0], acc[1])) or "none"
        out[name] += 1
    return {"total": len(sums), **out}


def _question_key(q: Answered) -> str:
    """A question's items.jsonl ``key``, prefixed with ``model:<name>|`` when the answers name
    their model."""
    key = "_".join((q.category, q.subcategory, q.set_id, q.figure_id, q.question_id))
    return f"{q.part}|{key}" if q.part else key


def _label_of(label: tuple[int, int] | None) -> str | None:
    """``LH`` / ``VI`` / ``Mixed``; ``left_out`` where the label needed the reply the judge did
    not give; ``None`` where no failure is attributed."""
    return "left_out" if label is None else _label_name(label)


def question_fields(labels: Labels) -> dict[int, dict[str, Any]]:
    """Each checked question's fields for its items.jsonl line, by its position (its
    ``Answered.at``): ``same`` ``"1"`` / ``"0"`` as utils.py reads the reply (``null`` where
    the call failed), ``same_judge_raw`` (the reply, where there is one) and ``diagnosis``:
    ``LH`` / ``VI`` / ``Mixed``, ``left_out`` (the label needed the reply the judge did not
    give) or ``null`` (no failure attributed)."""
    out = {}
    for q, read, lab, raw in labels:
        fields: dict[str, Any] = {"same": read}
        if raw is not None:
            fields["same_judge_raw"] = raw
        fields["diagnosis"] = _label_of(lab)
        out[q.at] = fields
    return out


def question_decisions(labels: Labels) -> dict[str, Any]:
    """What the run sheet says of the questions' decisions, which their items.jsonl lines
    carry (:func:`question_fields`): the fields, how many questions were checked, and a
    ``digest``: ``sha256:`` and the sha256 of ``[[key, same, diagnosis], ...]`` in the lines'
    order as compact JSON (keys as items.jsonl's ``key``, prefixed with ``model:<name>|`` when
    the answers name their model), so that two runs' decisions are told apart without reading
    their items. No key is named ``sha256``: compare takes those for the input files read."""
    rows = sorted((q.at, _question_key(q), read, _label_of(lab)) for q, read, lab, _ in labels)
    text = json.dumps([list(r[1:]) for r in rows], separators=(",", ":"), ensure_ascii=False)
    return {"on": "items.jsonl", "fields": ["same", "same_judge_raw", "diagnosis"],
            "checked": len(rows),
            "digest": "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()}


def diagnose_with(judge: Any, questions: list[Answered]
                  ) -> tuple[dict[str, Any], dict[int, Any]]:
    """:func:`diagnose` with ``judge``'s consistency prompt; its questions asked together
    (:meth:`Judge.ask_ahead <halluscope.judges.judge.Judge.ask_ahead>`, where the judge has
    it) and taken one at a time in :func:`diagnose`'s order, so each is counted as asked then.
    A pair without its figure-0 question gives ``{"error": ...}`` and no question's fields."""
    def ask(first: str, second: str) -> str | None:
        return judge.ask_sync(SAME, response1=first, response2=second).raw
    ahead = getattr(judge, "ask_ahead", None)
    try:
        if ahead is not None:
            ahead([(SAME, {"response1": a, "response2": b}) for a, b in same_questions(questions)])
        return diagnose(questions, ask)
    except ValueError as exc:
        return {"error": str(exc)}, {}
    finally:
        if ahead is not None:
            judge.forget_ahead()


__all__ = ["Answered", "analysis", "diagnose", "diagnose_with", "original_same", "pair_counts",
           "question_decisions", "question_fields", "same_questions"]
