"""Fields a metric decides only once every record is in, put on the items.jsonl lines they are
about.

``items.jsonl`` is written as the records are scored, one line per input line, before the
metrics' finish step. Some decisions about one item need the whole group it belongs to:
HallusionBench's consistency check (``original`` variant) compares each question's answer with
the answer on the pair's original figure, which may come later in the file, and asks the judge
once every answer is in. Such a metric offers ``late_item_fields()``, called after ``finish``:
``{position: {field: value}}``, ``position`` being the 0-based order in which the metric took
its scored items (the order of its ``add`` calls: input order, whichever engine scored them).
:func:`add_late_fields` then rewrites ``items.jsonl`` once, streaming: the ``k``-th line that
holds the metric's payload gets the fields of position ``k`` added to that payload; every other
line is copied byte for byte, and the lines keep their order.

The rewrite is a function of the items file and the decisions alone, both of which a resumed
run and a run with ``--workers N`` or Ray produce identically, so the rewritten file is the
same bytes too. It goes through a temporary file renamed over ``items.jsonl``
(:func:`~halluscope.atomicfiles.replace_atomically`): a run killed midway leaves the file it
had, and the journal (kept until the outputs are written) lets ``--resume`` redo the step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from halluscope._json import dumps_utf8
from halluscope.atomicfiles import replace_atomically


def late_fields_of(metrics: Sequence[Any]) -> dict[str, dict[int, Mapping[str, Any]]]:
    """Metric name -> its ``late_item_fields()`` (position -> fields), for the metrics that
    have any."""
    out = {}
    for metric in metrics:
        late = getattr(metric, "late_item_fields", None)
        fields = late() if callable(late) else None
        if fields:
            out[metric.name] = dict(fields)
    return out


def _payload_key(item: Mapping[str, Any], name: str) -> str | None:
    """Where a line keeps metric ``name``'s payload: ``<name>_summary`` when the metric's own
    item-level key took its name (the scoring writes it so), else ``<name>``; ``None`` when the
    line holds none (a bad line, one the metric passed by or refused)."""
    for key in (f"{name}_summary", name):
        if isinstance(item.get(key), dict):
            return key
    return None


def add_late_fields(items_path: Path, metrics: Sequence[Any]) -> str | None:
    """Add the metrics' late fields (:func:`late_fields_of`) to their payloads in
    ``items_path``, rewritten whole; returns the new file's sha256, or ``None`` when no metric
    has any (the file is left as it is). ValueError where the file holds fewer payloads of a
    metric than it has fields for (the items are not the ones it scored)."""
    wanted = late_fields_of(metrics)
    if not wanted:
        return None
    from halluscope.redact import known_secrets, redact_text
    secrets = known_secrets()
    marks = {name: (f'"{name}":{{'.encode(), f'"{name}_summary":{{'.encode()) for name in wanted}
    taken = dict.fromkeys(wanted, 0)
    digest = hashlib.sha256()

    def write(tmp: Path) -> None:
        with open(items_path, "rb") as src, open(tmp, "wb") as dst:
            for raw in src:
                hit = [n for n, m in marks.items() if m[0] in raw or m[1] in raw]
                if hit:
                    raw = _with_fields(raw, hit, wanted, taken, secrets, redact_text)
                digest.update(raw)
                dst.write(raw)
    replace_atomically(items_path, write)
    short = [f"{n}: {taken[n]} scored item(s) in {items_path}, fields for position "
             f"{max(f)}" for n, f in wanted.items() if max(f) >= taken[n]]
    if short:
        raise ValueError("the items file holds fewer scored items than the metric took: "
                         + "; ".join(short))
    return digest.hexdigest()


def _with_fields(raw: bytes, names: list[str], wanted: Mapping[str, Mapping[int, Any]],
                 taken: dict[str, int], secrets: Any, redact_text: Any) -> bytes:
    """One line with the late fields of ``names`` added (each metric's position counted in
    ``taken``); the line as it was where none is for it."""
    item = json.loads(raw)
    changed = False
    for name in names:
        key = _payload_key(item, name)
        if key is None:
            continue
        fields = wanted[name].get(taken[name])
        taken[name] += 1
        if fields:
            item[key].update(fields)
            changed = True
    if not changed:
        return raw
    # compact, as the scoring writes its lines; the judge's text may quote a known secret
    line = dumps_utf8(item, separators=(",", ":"))
    if secrets and any(secret in line for secret in secrets):
        line = redact_text(line, secrets=secrets, patterns=False)
    return (line + "\n").encode("utf-8")


__all__ = ["add_late_fields", "late_fields_of"]
