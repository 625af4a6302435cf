"""The worst items of an audit for one metric, with the evidence against each.

Failure messages of :mod:`halluscope.gates.assertions` show them. Items are streamed from
``result.items`` (``items.jsonl``) and only the ``k`` worst are kept, so that this works on audits
of any size. Each metric family has an *explainer* ``(item, statistic, group) -> (severity,
lines) | None``: CHAIR lists the hallucinated object words and the ground truth, POPE the wrong
answers (false positives first), claim-level metrics the hallucinated claims with the checker's
reason and evidence; other metrics get a generic reading of payload fields about hallucinations.
A metric class can bring its own by defining ``explain_item(item, statistic, group)``.

Importing this module loads only the standard library.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_WORST = 5
_TEXT = 160

Explanation = tuple[float, list[str]]
Explainer = Callable[[dict, str, "str | None"], "Explanation | None"]


def short_text(text: Any, limit: int = _TEXT) -> str:
    """``text`` on one line, cut to ``limit`` characters, quoted."""
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def split_name(name: str) -> tuple[str, str, str | None]:
    """``"pope.f1@split:random"`` -> ``("pope", "f1", "split:random")``."""
    metric, _, stat = name.partition(".")
    group = None
    if "@" in stat:
        stat, _, group = stat.partition("@")
    return metric, stat, group


def display_source(source: str) -> str:
    """``/abs/path/outputs.jsonl:3`` relative to the current folder when it lies under it."""
    from pathlib import Path
    path, sep, line = str(source).rpartition(":")
    if not sep or not line.isdigit():
        path, line = str(source), ""
    try:
        rel = Path(path).relative_to(Path.cwd())
    except ValueError:
        return str(source)
    return f"{rel}:{line}" if line else str(rel)


@dataclass(frozen=True)
class WorstItem:
    """One item that pulls a metric the wrong way, with the evidence for it."""

    severity: float
    index: int
    id: Any
    source: str | None
    image: Any
    lines: tuple[str, ...]
    response: str | None


def _word(entry: Any) -> str:
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


def _words(entries: Any) -> str:
    counts = Counter(_word(e) for e in entries)
    return ", ".join(f"'{w}'" + (f" (x{c})" if c > 1 else "") for w, c in counts.items())


def _first(mapping: Mapping, *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def explain_chair(item: dict, stat: str, group: str | None) -> Explanation | None:
    """CHAIR: the hallucinated object words of a caption, and what the image really holds."""
    payload = item.get("chair")
    if not isinstance(payload, Mapping):
        return None
    gt = _first(payload, "gt_objects", "gt_words", "ground_truth", "gt")
    if stat == "recall":
        mentioned = _first(payload, "objects", "mentioned", "words", "nodes") or []
        nodes = {_word(m).split("→")[-1] for m in mentioned}
        missed = sorted(set(map(str, gt or ())) - nodes)
        if not missed:
            return None
        return float(len(missed)), [f"missed objects: {', '.join(missed)}"]
    halluc = _first(payload, "hallucinated", "hallucinated_words", "hallucinations",
                    "hallucinated_objects")
    if isinstance(halluc, (int, float)):
        if not halluc:
            return None
        return float(halluc), [f"hallucinated mentions: {halluc}"]
    if not halluc:
        return None
    text = f"hallucinated: {_words(halluc)}"
    if gt is not None:
        gt_list = sorted(map(str, gt))
        shown = ", ".join(gt_list[:12]) + (", …" if len(gt_list) > 12 else "")
        text += f"; ground truth: {shown or '(none)'}"
    return float(len(halluc)), [text]


_POPE_FP = ("precision", "fp", "yes_ratio")
_POPE_FN = ("recall", "fn", "tp")


def explain_pope(item: dict, stat: str, group: str | None) -> Explanation | None:
    """POPE: a wrong yes/no answer; false positives (a yes for an absent object) first."""
    payload = item.get("pope")
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
    if stat in _POPE_FP and not fp:
        return None
    if stat in _POPE_FN and not (label == "yes" and pred != "yes"):
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
            piece += f" {ev['score']:.2f}" if isinstance(ev["score"], float) else f" {ev['score']}"
        if ev.get("box") is not None:
            piece += f" box {ev['box']}"
        if ev.get("answer") is not None:
            piece += f" answer {short_text(ev['answer'], 60)}"
        out.append(piece)
    more = len(evidence) - 3
    return "; ".join(out) + (f"; +{more} more" if more > 0 else "")


def explain_claims(item: dict, stat: str, group: str | None) -> Explanation | None:
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
        if c.get("reason"):
            line += f": {c['reason']}"
        line += f" [evidence: {_evidence_text(c.get('evidence'))}]"
        lines.append(line)
    if len(bad) > 4:
        lines.append(f"… and {len(bad) - 4} more hallucinated claims")
    return float(len(bad)), lines


def explain_generic(metric: str) -> Explainer:
    """Fallback for metrics this module does not know: payload fields about hallucinations."""
    def explain(item: dict, stat: str, group: str | None) -> Explanation | None:
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
                parts.append(f"{key}: {_words(value)}")
        if severity <= 0:
            return None
        return severity, ["; ".join(parts)]
    return explain


EXPLAINERS: dict[str, Explainer] = {
    "chair": explain_chair,
    "pope": explain_pope,
    "claims": explain_claims,
    "faithscore": explain_claims,
    "amber": explain_claims,
    "region": explain_claims,
    "page": explain_claims,
}


def explainer_for(metric: str) -> Explainer:
    """The metric class's own ``explain_item`` when it has one, else a built-in explainer."""
    try:
        from halluscope.metrics.base import metric_class
        cls = metric_class(metric)
    except Exception:  # noqa: BLE001 - an unregistered metric still gets the fallback
        cls = None
    own = getattr(cls, "explain_item", None)
    if callable(own):
        return own
    return EXPLAINERS.get(metric) or explain_generic(metric)


def worst_items(result: Any, name: str, k: int = DEFAULT_WORST
                ) -> tuple[list[WorstItem], int, int]:
    """The ``k`` items that pull metric ``name`` the wrong way the most, streamed from
    ``result.items``; also how many items are bad at all and how many could not be scored."""
    metric, stat, group = split_name(name)
    explain = explainer_for(metric)
    heap: list[tuple[float, int, WorstItem]] = []
    bad = 0
    errors = 0
    for index, item in enumerate(result.items):
        if "error" in item and metric in str(item.get("error_detail", {}).get("metric", metric)):
            errors += 1
        try:
            found = explain(item, stat, group)
        except Exception:  # noqa: BLE001 - a message must never fail on an odd item
            found = None
        if not found:
            continue
        severity, lines = found
        if severity <= 0:
            continue
        bad += 1
        if k <= 0:
            continue
        entry = WorstItem(severity=float(severity), index=index, id=item.get("id"),
                          source=item.get("source"), image=item.get("image"),
                          lines=tuple(lines), response=item.get("response"))
        key = (float(severity), -index, entry)
        if len(heap) < k:
            heapq.heappush(heap, key)  # type: ignore[misc]
        elif key[:2] > heap[0][:2]:
            heapq.heapreplace(heap, key)  # type: ignore[misc]
    ordered = [e for _, _, e in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    return ordered, bad, errors


def worst_items_block(result: Any, name: str, k: int = DEFAULT_WORST) -> list[str]:
    """The "worst items" lines of a failure message."""
    if k <= 0:
        return []
    try:
        items, bad, errors = worst_items(result, name, k)
    except Exception as exc:  # noqa: BLE001 - e.g. items.jsonl was deleted
        return [f"  worst items: unavailable ({type(exc).__name__}: {exc})"]
    lines = []
    if items:
        lines.append(f"  worst items ({len(items)} of {bad} items that count against "
                     f"{name}):")
        for rank, it in enumerate(items, 1):
            head = f"    {rank}. id {it.id}"
            if it.source:
                head += f" ({display_source(it.source)})"
            if it.image:
                head += f", image {it.image}"
            lines.append(head)
            lines.extend(f"       {line}" for line in it.lines)
            if it.response is not None:
                lines.append(f"       response: {short_text(it.response)}")
    else:
        lines.append(f"  worst items: none of the {len(getattr(result, 'items', ()))} items "
                     f"has evidence against {name}")
    if errors:
        lines.append(f"  {errors} record(s) could not be scored; see result.errors")
    return lines


__all__ = ["DEFAULT_WORST", "EXPLAINERS", "Explainer", "Explanation", "WorstItem",
           "explain_chair", "explain_claims", "explain_generic", "explain_pope", "explainer_for",
           "short_text", "split_name", "worst_items", "worst_items_block"]
