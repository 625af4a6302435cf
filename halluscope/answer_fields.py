"""Which field of a line is the model's answer, where peers disagree.

RLAIF-V's scorers read the answer from one of ``model_answer``, ``answer`` and ``text``, each in
its own order (RLHF-V/RLAIF-V @83d917b): its Object HalBench scorer
(``eval/eval_gpt_obj_halbench.py``, ``load_generated_captions``) reads ``text``, else
``answer``; its MMHal-Bench merge (``eval/eval_gpt_mmhal.py``, ``merge_template_answer``)
``answer``, else ``text``, else ``model_answer``; halluscope's reader ``model_answer``, else
``answer``, else ``text`` (:data:`halluscope.records.ANSWER_FIELDS`). Its own answer files
(``muffin/eval/muffin_vqa.py``) hold ``text`` alone, so the orders agree on them; on a line
that holds two of these fields with different texts they do not, and such a line is a bad
record (:func:`ambiguous_answer`) rather than scored on a text that a peer would not read.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from halluscope.errors import RecordError

#: The answer fields RLAIF-V's scorers choose among, in halluscope's order.
PEER_ANSWERS = ("model_answer", "answer", "text")


def ambiguous_answer(obj: Mapping[str, Any], answer_fields: Collection[str], vlmevalkit: bool,
                     where: Mapping[str, Any]) -> RecordError | None:
    """The error for a line whose answer is one of :data:`PEER_ANSWERS` (no other of
    ``answer_fields``, the fields read first, is there) while another of them holds a
    different text, compared as those scorers read it (``"Assistant:"`` removed, blanks
    stripped); ``None`` otherwise. ``text`` does not count where it is the line's question
    (no ``prompt`` or ``question`` beside it, as halluscope then reads it), nor ``answer`` in a
    VLMEvalKit row (``vlmevalkit``: its truth)."""
    if any(key in obj for key in answer_fields if key not in PEER_ANSWERS):
        return None
    texts = {key: obj[key].replace("Assistant:", "").strip() for key in PEER_ANSWERS
             if isinstance(obj.get(key), str)
             and not (key == "text" and "prompt" not in obj and "question" not in obj)
             and not (key == "answer" and vlmevalkit)}
    if len(set(texts.values())) < 2:
        return None
    first = next(iter(texts))
    named = " and ".join(f"'{key}' {obj[key]!r:.50}" for key in texts)
    return RecordError(
        f"expected the model's answer in one field, got different texts in {named}: RLAIF-V's "
        f"Object HalBench scorer reads 'text' first, its MMHal-Bench merge 'answer' first, "
        f"halluscope '{first}' first, so the text scored would depend on the scorer; keep the "
        f"answer in one field (or write it as 'response')", field=first, **where)


__all__ = ["PEER_ANSWERS", "ambiguous_answer"]
