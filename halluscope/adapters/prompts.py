"""The prompts of ``halluscope query``: read, resolved and checked before any call.

:func:`iter_prompts` turns a JSON-lines file (or dicts, or Records) into :class:`PromptItem`
objects (a bad line as its :class:`~halluscope.errors.RecordError`); :func:`check_prompts`
refuses a file with bad lines or repeated ids before the first request goes out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halluscope.adapters.images import file_uri_path, is_data_url, is_url
from halluscope.adapters.prompt_ids import duplicate_id_problem
from halluscope.errors import InputError, RecordError
from halluscope.records import Record, iter_json_values, record_from_dict

MAX_PROBLEMS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class PromptItem:
    """One prompt line: its id, original fields, resolved image and prompt text."""

    id: str
    fields: dict[str, Any]
    image: str | None
    prompt: str
    line: int | None = None
    file: str | None = None
    id_from_line: bool = False      # the line had no id: its line number stands in


# -- prompts --------------------------------------------------------------------------------
def _item(obj: Any, *, file: str | None, line: int | None, base: Path | None,
          image_root: Path | None, index: int | None = None) -> PromptItem:
    rec: Record = record_from_dict(obj, file=file, line=line, require_response=False,
                                   index=index)
    if rec.prompt is None:
        raise RecordError("expected the question in 'prompt' (or 'text', 'question'), found none",
                          file=file, line=line, field="prompt")
    image = rec.image
    if isinstance(obj.get("image"), str) and not obj["image"].strip():
        # asked as a text-only prompt without a word before
        raise RecordError("expected an image path or URL, got an empty string (leave 'image' "
                          "out for a text-only prompt)", file=file, line=line, field="image")
    if image and image.startswith("file://"):  # a file as a URI; Path() made it 'file:/...'
        image = file_uri_path(image, file=file, line=line)     # file://img.png: refused
    if image and not is_url(image) and not is_data_url(image):
        p = Path(image).expanduser()
        if not p.is_absolute():
            root = image_root if image_root is not None else base
            p = (root / p) if root is not None else p
        image = str(p)
    if not rec.id:
        raise RecordError("expected an 'id' (or 'question_id'), found none", file=file,
                          line=line, field="id")
    return PromptItem(rec.id, dict(obj), image, rec.prompt, line, file, rec.id_from_line)


def iter_prompts(source: str | Path | Iterable[Mapping[str, Any] | Record], *,
                 image_root: str | Path | None = None) -> Iterator[PromptItem | RecordError]:
    """Prompt items of a JSONL file or of an iterable of dicts/Records; bad ones as errors."""
    root = Path(image_root).expanduser() if image_root is not None else None
    if isinstance(source, (str, Path)):
        name = str(source)
        base = Path(source).parent
        # a JSON array's element: its problems name the file line where it starts, as an
        # audit's do (they named its element number as the line: 'p.json:2' for line 3)
        for lineno, index, obj in iter_json_values(source):
            if isinstance(obj, RecordError):
                yield obj
                continue
            try:
                yield _item(obj, file=name, line=lineno, base=base, image_root=root, index=index)
            except RecordError as exc:
                yield exc
        return
    for i, obj in enumerate(source, 1):
        if isinstance(obj, Record):
            obj = obj.to_dict()
        try:
            yield _item(obj, file=None, line=i, base=None, image_root=root)
        except RecordError as exc:
            yield exc


def check_prompts(source, *, image_root=None) -> list[str]:
    """Validate every prompt (fields, unique ids); their ids, or :class:`InputError`."""
    problems: list[str] = []
    seen: dict[str, tuple[int | None, bool]] = {}     # id -> (line, given the line number)
    n = 0
    for item in iter_prompts(source, image_root=image_root):
        if isinstance(item, RecordError):
            problems.append(str(item))
            continue
        n += 1
        if item.id in seen:
            problems.append(duplicate_id_problem(item, *seen[item.id]))
        else:
            seen[item.id] = (item.line, item.id_from_line)
    if not n and not problems:      # nothing to ask: exit 0 would say every prompt was asked
        raise InputError(f"{source if isinstance(source, (str, Path)) else 'the prompts'}: "
                         f"expected at least one prompt line, found none")
    if problems:
        shown = "\n  ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = (f"\n  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more"
                if len(problems) > MAX_PROBLEMS_SHOWN else "")
        raise InputError(f"{len(problems)} bad prompt line(s):\n  {shown}{more}")
    return list(seen)


# -- output file ----------------------------------------------------------------------------
#: What an output line holds that is not copied from its prompt line as it is: the fields a run
#: writes itself (its id, answer, model, sample, the image's sha256) and the two a resume
#: compares apart (the prompt; the image, written relative to the output file).
_NOT_COPIED = frozenset({"id", "image", "prompt", "model", "sample_of", "sample_index",
                         "response", "finish_reason", "requested_model", "error",
                         "error_status", "refused", "reasoning", "image_sha256"})
_ABSENT = object()


def copied_fields(line: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an output (or prompt) line that an output line copies from its prompt
    line: a POPE ``label``, a ``question_id``, a category, ..."""
    return {k: v for k, v in line.items() if k not in _NOT_COPIED}


def changed_fields(then: Mapping[str, Any], item: PromptItem) -> list[tuple[str, Any, Any]]:
    """``(field, value then, value now)`` for each field that the output line (``then``: its
    :func:`copied_fields`) holds otherwise than ``item``'s prompt line now; the line was written
    redacted, so a value that equals today's redacted value is the same."""
    from halluscope.redact import redact_mapping
    now = copied_fields(item.fields)
    shown = redact_mapping(now)

    def same(a: Any, b: Any) -> bool:      # as JSON: NaN equals NaN, 1 and 1.0 stay apart
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    out = []
    for key in sorted(set(then) | set(now)):
        old, new = then.get(key, _ABSENT), now.get(key, _ABSENT)
        if not (same(old, new) or same(old, shown.get(key, _ABSENT))):
            out.append((key, None if old is _ABSENT else old, None if new is _ABSENT else new))
    return out


def same_url(then: Any, now: Any) -> bool:
    """Whether two redacted URLs are the same but for how their query is escaped: a line
    written before redaction kept a URL's other parameters as written had them re-encoded
    (``a/b`` as ``a%2Fb``, ``%20`` as ``+``), and its resume is no changed image."""
    if not (isinstance(then, str) and isinstance(now, str) and "://" in then and "?" in then):
        return False
    from urllib.parse import parse_qsl, urlsplit
    try:
        a, b = urlsplit(then), urlsplit(now)
    except ValueError:
        return False
    return (a.scheme, a.netloc, a.path, a.fragment) == (b.scheme, b.netloc, b.path, b.fragment) \
        and parse_qsl(a.query, keep_blank_values=True) == parse_qsl(b.query, keep_blank_values=True)


def _portable_image(item: PromptItem, out_dir: Path | None) -> Any:
    original = item.fields.get("image")
    if item.image is None or is_url(item.image) or is_data_url(item.image) or out_dir is None:
        return original
    try:
        return os.path.relpath(item.image, out_dir)
    except ValueError:  # different drive on Windows
        return item.image
