"""Per-item explanations: why one line of ``items.jsonl`` counts against a statistic.

A metric's :meth:`~halluscope.metrics.base.Metric.explain_item` returns ``(severity, lines)``
or ``None``; gate failure messages (:mod:`halluscope.worst_items`) list the items with the
highest severity. This module holds what explainers share: :func:`explain_payload`, the default
(payload fields about hallucinations), and :func:`explain_claim_verdicts`, for the metrics that
write a claim-level ``"claims"`` list (hallucinated claims with the checker's reason and the
evidence it looked at), plus small text helpers.

Importing this module loads only the standard library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from halluscope.numbers import fixed_any

Explanation = tuple[float, list[str]]
Explainer = Callable[[dict, str, "str | None"], "Explanation | None"]
_TEXT = 160


def short_text(text: Any, limit: int = _TEXT) -> str:
    """``text`` on one line, cut to ``limit`` characters, quoted."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def word_of(entry: Any) -> str:
    """An object word as shown: ``node``, or ``word→node`` when the text said it otherwise."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, (list, tuple)) and entry:
        # [word as written, vocabulary node]: show the node, and the word when it differs
        word, node = str(entry[0]), str(entry[-1])
        return node if word == node else f"{word}→{node}"
    if isinstance(entry, Mapping):
        word = entry.get("word") or entry.get("text") or entry.get("node")
        node = entry.get("node") or entry.get("object")
        if word and node and word != node:
            return f"{word}→{node}"
        return str(word or node)
    return str(entry)


def words_of(entries: Any) -> str:
    """Object words, quoted, repeats counted: ``'dog' (x2), 'cat'``."""
    counts = Counter(word_of(e) for e in entries)
    return ", ".join(f"'{w}'" + (f" (x{c})" if c > 1 else "") for w, c in counts.items())


def first_of(mapping: Mapping, *keys: str) -> Any:
    """The value of the first of ``keys`` that ``mapping`` holds (not ``None``)."""
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _claim_text(claim: Mapping, response: str | None) -> str:
    span = claim.get("span")
    if response and isinstance(span, (list, tuple)) and len(span) == 2 \
            and 0 <= span[0] < span[1] <= len(response):
        return response[span[0]:span[1]]
    parts = [claim.get("value") if claim.get("kind") in ("attribute", "count") else None,
             claim.get("subject"), claim.get("relation"), claim.get("object")]
    return " ".join(str(p) for p in parts if p not in (None, ""))


def _evidence_text(evidence: Any) -> str:
    if not evidence:
        return "nothing found"
    out = []
    for ev in list(evidence)[:3]:
        if not isinstance(ev, Mapping):
            out.append(str(ev))
            continue
        piece = str(ev.get("source", "evidence"))
        if ev.get("label") is not None:
            piece += f" {ev['label']}"
        if ev.get("score") is not None:
            score = ev["score"]
            piece += f" {fixed_any(score, 2)}" if isinstance(score, float) else f" {score}"
        if ev.get("box") is not None:
            piece += f" box {ev['box']}"
        if ev.get("answer") is not None:
            piece += f" answer {short_text(ev['answer'], 60)}"
        out.append(piece)
    more = len(evidence) - 3
    return "; ".join(out) + (f"; +{more} more" if more > 0 else "")


class ExplainsClaimVerdicts:
    """Mixin for a metric whose items list claim verdicts (claims, FaithScore, AMBER, region,
    page): a gate failure names the item's hallucinated claims, with the checker's reason and
    evidence (:func:`explain_claim_verdicts`). Put it before ``Metric`` in the bases."""

    @classmethod
    def explain_item(cls, item: dict, statistic: str, group: str | None
                     ) -> Explanation | None:
        """The hallucinated claims, with the checker's reason and evidence."""
        return explain_claim_verdicts(item, statistic, group)


def explain_claim_verdicts(item: dict, stat: str, group: str | None) -> Explanation | None:
    """Claim-level metrics (claims, FaithScore, AMBER, grounding): the hallucinated claims with
    the checker's reason and the evidence it looked at."""
    claims = item.get("claims")
    if not isinstance(claims, list):
        return None
    kind = None
    if group and group.startswith("kind:"):
        kind = group.split(":", 1)[1]
    else:
        for k in ("existence", "count", "attribute", "relation", "region", "page"):
            if k in stat:
                kind = k
    bad = [c for c in claims if isinstance(c, Mapping) and c.get("verdict") == "hallucinated"
           and (kind is None or c.get("kind") == kind)]
    if not bad:
        return None
    response = item.get("response")
    lines = []
    for c in bad[:4]:
        line = f"{c.get('kind', 'claim')} claim {short_text(_claim_text(c, response), 60)}"
        if c.get("label_source") == "prompt":   # a [refer] box: the answer names no object
            line += f" (of {short_text(c.get('subject'), 40)}, named by the prompt)"
        if c.get("reason"):
            line += f": {c['reason']}"
        line += f" [evidence: {_evidence_text(c.get('evidence'))}]"
        lines.append(line)
    if len(bad) > 4:
        lines.append(f"… and {len(bad) - 4} more hallucinated claims")
    return float(len(bad)), lines


_FP_STATS = ("precision", "fp", "yes_ratio")
_FN_STATS = ("recall", "fn", "tp")


def explain_yes_no(item: dict, metric: str, stat: str, group: str | None
                   ) -> Explanation | None:
    """A wrong yes/no answer in the ``metric`` payload (``prediction``, ``label``,
    ``question``): false positives (a yes for an absent object) first, then unparseable answers,
    then false negatives; only those that bear on ``stat`` (and on an ``object:`` group)."""
    payload = item.get(metric)
    if not isinstance(payload, Mapping):
        return None
    pred, label = payload.get("prediction"), payload.get("label")
    if pred == label:
        return None
    question = payload.get("question") or item.get("prompt") or ""
    if group and group.startswith("object:"):
        obj = group.split(":", 1)[1].lower()
        if obj not in str(question).lower():
            return None
    fp = pred == "yes" and label == "no"
    unknown = pred not in ("yes", "no")
    if stat in _FP_STATS and not fp:
        return None
    if stat in _FN_STATS and not (label == "yes" and pred != "yes"):
        return None
    if stat == "unknown_rate" and not unknown:
        return None
    if fp:
        kind, severity = "false positive: said yes to an object that is not there", 3.0
    elif unknown:
        kind, severity = "unparseable answer", 2.0
    else:
        kind, severity = "false negative: denied an object that is there", 1.0
    qid = payload.get("question_id")
    return severity, [f"question{f' {qid}' if qid is not None else ''}: {short_text(question, 100)}",
                      f"truth {label}, answer read as {pred} ({kind})"]


def explain_payload(item: dict, metric: str) -> Explanation | None:
    """The default explanation: the fields of the item's ``metric`` payload about
    hallucinations (``hallucinated...``, ``wrong``, ``errors``, ``incorrect``)."""
    payload = item.get(metric)
    if not isinstance(payload, Mapping):
        return None
    severity = 0.0
    parts = []
    for key, value in payload.items():
        if "halluc" not in key and key not in ("wrong", "errors", "incorrect"):
            continue
        if isinstance(value, bool):
            severity += float(value)
            if value:
                parts.append(key)
        elif isinstance(value, (int, float)):
            severity += float(value)
            if value:
                parts.append(f"{key} = {value:g}")
        elif isinstance(value, (list, tuple)) and value:
            severity += len(value)
            parts.append(f"{key}: {words_of(value)}")
    if severity <= 0:
        return None
    return severity, ["; ".join(parts)]


def explain_generic(metric: str) -> Explainer:
    """An explainer reading ``metric``'s payload (:func:`explain_payload`), for a metric whose
    class is unknown here."""
    def explain(item: dict, stat: str, group: str | None) -> Explanation | None:
        return explain_payload(item, metric)
    return explain


__all__ = ["Explainer", "Explanation", "ExplainsClaimVerdicts", "explain_claim_verdicts",
           "explain_generic", "explain_payload", "explain_yes_no", "first_of", "short_text", "word_of", "words_of"]
