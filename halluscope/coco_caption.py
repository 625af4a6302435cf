"""coco-caption's evaluation layout: the caption results file the original CHAIR reads.

The original CHAIR (LisaAnne/Hallucination ``utils/chair.py``, ``load_generated_captions``)
reads one JSON object, ``{"overall": {metric: value}, "imgToEval": {key: entry}}``, as
coco-caption's ``COCOEvalCap`` and self-critical.pytorch's ``eval_utils`` write it
(``json.dump``, on one line): each entry holds the ``image_id`` (an integer, as COCO's results
carry it), the ``caption`` (added by the captioning code; coco-caption writes only the
metrics) and that caption's metrics (``Bleu_1`` ... ``SPICE``). The original takes
``caps['imgToEval'].values()`` and reads each entry's ``image_id`` and ``caption``; the key (a
string, as JSON writes every key) is never read. RLAIF-V's Object HalBench scorer reads a
``.json`` caption file the same way.

Here each entry is one record: ``image_id`` and ``caption`` as a CHAIR caption log's line, the
key and the entry's scalar metrics in ``metadata`` (``coco_eval_key``, ``coco_eval``; a
per-image SPICE breakdown, a nested object, is left out). The entries are streamed
(:func:`halluscope.json_array.iter_object_members`): a large file is never parsed whole. An
entry that is not an object, has no ``image_id`` or ``caption``, an ``image_id`` that is no
COCO id or that names another image than its key, or a caption that is not text, is a bad
record naming the file, the line where the entry starts, its number among the entries (as an
array's element: ``file:1 (element 5)``) and its JSON path (``imgToEval["139"].caption``). ``overall`` is not read (the original requires it; the
captions do not need it).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from halluscope.errors import RecordError
from halluscope.json_array import iter_object_members
from halluscope.records import coco_image_id, id_hint, iter_text_lines
from halluscope.textfiles import open_binary

logger = logging.getLogger(__name__)

#: The format's name (``--format coco-caption``).
FORMAT = "coco-caption"
ENTRIES = "imgToEval"
# the object's first key, as coco-caption and self-critical.pytorch write it (json.dump keeps
# the order: overall, imgToEval), with or without an indent
_FIRST_KEY = re.compile(r'\A\s*\{\s*"(overall|imgToEval)"\s*:\s*')
_NEXT_KEY = re.compile(r'\s*,\s*"imgToEval"\s*:')
_HEAD_BYTES = 1 << 16
_DECODER = json.JSONDecoder()


def is_coco_caption(path: str | Path) -> bool:
    """Whether ``path`` (plain or gzip) starts as coco-caption's evaluation file: a JSON
    object whose first key is ``imgToEval``, or ``overall`` (an object) followed by
    ``imgToEval``, within its first 64 KiB (a JSON line of another format that starts with
    ``overall`` is not taken for one)."""
    with open_binary(Path(path)) as fh:
        head = fh.read(_HEAD_BYTES).decode("utf-8", "ignore").lstrip("\ufeff")
    first = _FIRST_KEY.match(head)
    if first is None or first.group(1) == "imgToEval":
        return first is not None
    try:
        overall, end = _DECODER.raw_decode(head, first.end())
    except ValueError:
        return False
    return isinstance(overall, dict) and _NEXT_KEY.match(head, end) is not None


def coco_caption_rows(path: str | Path
                      ) -> Iterator[tuple[int | None, int, dict[str, Any] | RecordError]]:
    """``(line, number, record dict or bad record)`` of each ``imgToEval`` entry of ``path``:
    the file line where the entry starts and its number among the entries (1-based).
    Raises :class:`~halluscope.errors.InputError` for a JSON object holding no ``imgToEval``
    object."""
    name = str(path)
    strings: list[str] = []
    entries = iter_object_members(iter_text_lines(path, errors="surrogateescape"), name,
                                  ENTRIES)
    for n, key, line, value in entries:
        if isinstance(value, RecordError):
            yield line, n, value
            continue
        row = entry_row(key or "", value, name, line)
        if isinstance(row, RecordError):
            row.element = n     # (the file's entries are all on line 1 as json.dump writes)
        if not isinstance(row, RecordError) and isinstance(row["image_id"], str):
            strings.append(row["image_id"])
        yield line, n, row
    if strings:
        logger.warning("%s: %d image ids of '%s' are strings (%r, ...): read as COCO ids; the "
                       "original CHAIR compares them with COCO's integer ids, finds no ground "
                       "truth for them and counts every object they name as hallucinated",
                       name, len(strings), ENTRIES, strings[0])


def count_coco_caption(path: str | Path) -> int:
    """How many entries ``path``'s ``imgToEval`` holds (each is a record or a bad record)."""
    return sum(1 for _ in iter_object_members(
        iter_text_lines(path, errors="surrogateescape"), str(path), ENTRIES))


def entry_row(key: str, value: Any, name: str, line: int | None
              ) -> dict[str, Any] | RecordError:
    """One ``imgToEval`` entry (``key``: its key) as a record dict, or the bad record it is."""
    path = f"{ENTRIES}[{json.dumps(key, ensure_ascii=False)}]"

    def bad(message: str, field: str) -> RecordError:
        err = RecordError(message, file=name, line=line, field=path + field)
        err.record_id = id_hint(key)
        return err
    if not isinstance(value, Mapping):
        return bad(f"expected an object with 'image_id' and 'caption', got "
                   f"{type(value).__name__} {value!r:.60}", "")
    image_id = value.get("image_id")
    if image_id is None:
        return bad(f"expected the image id in 'image_id' (the original CHAIR reads it there, "
                   f"never the key), got {'null' if 'image_id' in value else 'none'}",
                   ".image_id")
    read = coco_image_id(image_id)
    if read is None:
        return bad(f"expected a COCO image id such as 139, got {image_id!r:.60}", ".image_id")
    if coco_image_id(key) != read:
        return bad(f"expected the image id of its key {key!r:.40}, got {image_id!r:.40}: one "
                   f"of them is wrong (the original CHAIR reads 'image_id', never the key)",
                   ".image_id")
    caption = value.get("caption")
    if not isinstance(caption, str):
        got = ("none: coco-caption's evaluation writes only the metrics, the captioning code "
               "adds the caption (as self-critical.pytorch's eval_utils does)"
               if "caption" not in value else "null" if caption is None
               else f"{type(caption).__name__} {caption!r:.60}")
        return bad(f"expected the caption as text in 'caption', got {got}", ".caption")
    metrics = {k: v for k, v in value.items() if k not in ("image_id", "caption")
               and isinstance(v, (str, int, float, bool))}
    meta: dict[str, Any] = {"coco_eval_key": key}
    if metrics:
        meta["coco_eval"] = metrics
    return {"image_id": image_id, "caption": caption, "metadata": meta}


__all__ = ["FORMAT", "coco_caption_rows", "count_coco_caption", "entry_row", "is_coco_caption"]
