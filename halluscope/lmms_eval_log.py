"""lmms-eval ``samples_*.jsonl`` logs (``--log_samples``): one sample per line, as a record dict.

Two layouts are read. Before 0.4 a line holds the task's ``doc``, the request ``arguments``
and nested ``resps`` / ``filtered_resps``. Since 0.4 the logger pops ``doc`` and
``arguments`` (writing ``input``, the prompt, and ``str(target)``), and since 0.7 it flattens a
one-element ``filtered_resps`` to its string and drops ``resps`` when it says the same. What a
task's ``process_results`` returned is logged beside, one dict per metric: POPE's carry the
``question_id``, CHAIR's the ``image_id``, and HallusionBench's the whole doc less its image
(plus ``model_prediction``), which is then the only place the doc's fields are left.
From v0.1 to v0.2.4 (January to September 2024) the samples went into one ``<task>.json``
instead: ``{"args", "model_configs", "logs": [samples], "time"}``, written with indent=4
(:func:`one_document`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from halluscope.errors import InputError, RecordError
from halluscope.records import id_hint, iter_text_lines
from halluscope.textfiles import open_binary

logger = logging.getLogger(__name__)

_LMMS_RESPONSE_KEYS = ("filtered_resps", "resps")
#: What a task adds to the copy of its doc that it logs per metric (HallusionBench's
#: hb_process_results: the doc less its image, plus the answer as ``model_prediction``)
_RESULT_KEYS = frozenset({"model_prediction", "prediction", "pred", "score", "ground_truth"})


def is_lmms_eval(obj: Mapping[str, Any]) -> bool:
    """An lmms-eval sample: its responses beside ``doc_id`` or its ``doc`` (some early logs
    have no ``doc_id``)."""
    return (("doc_id" in obj or isinstance(obj.get("doc"), Mapping))
            and any(k in obj for k in _LMMS_RESPONSE_KEYS))


def yes_no(value: Any, *, numeric: bool = False) -> str | None:
    """``"yes"``/``"no"`` of a truth written as a bool, ``yes``/``no`` in any case, or with
    ``numeric`` as HallusionBench's 1/0; ``None`` for anything else."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if numeric and isinstance(value, int) and value in (0, 1):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("yes", "no"):
            return text
        if numeric and text in ("0", "1"):
            return "yes" if text == "1" else "no"
    return None


def doc_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The task's doc of a sample: ``doc`` (before 0.4), else, as the logger has dropped it
    since 0.4, a per-metric dict that copies the doc (one holding the doc's ``question``, as
    HallusionBench's do), less what the task added to it; empty when there is neither."""
    doc = obj.get("doc")
    if isinstance(doc, Mapping):
        return doc
    for value in obj.values():
        if isinstance(value, Mapping) and isinstance(value.get("question"), str):
            return {k: v for k, v in value.items() if k not in _RESULT_KEYS}
    return {}


def _first_text(value: Any) -> str | None:
    """The first string inside ``arguments`` (lists nest one or two deep)."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value if isinstance(value, str) else None


class SampleRow(dict):
    """The record dict of an lmms-eval sample, with the field its answer was read from
    (:attr:`answer_field`: ``filtered_resps`` or ``resps``), which the record keeps so that an
    error about the answer (too long to split) names the field as the file has it: it said
    ``response``, a field no lmms-eval log holds."""

    answer_field: str | None = None


def _lmms_response(obj: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The model's answer of a sample and its field: the first string inside
    ``filtered_resps`` (lists nest one or two deep), else, when the sample has no
    ``filtered_resps``, inside ``resps``; ``(None, None)`` when it has neither. A present one that holds no string (empty, a number, null)
    raises :class:`RecordError` naming it: lmms-eval scores ``filtered_resps``, so reading
    ``resps`` or another field instead would score an answer it never scored."""
    key = next((k for k in _LMMS_RESPONSE_KEYS if k in obj), None)
    if key is None:
        return None, None
    value = obj[key]
    while isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str):
        return value, key
    got = ("an empty list" if value == [] else "null" if value is None
           else f"{type(value).__name__} {value!r:.60}")
    raise RecordError(f"expected the model's answer as a string in '{key}', got {got}",
                      field=key)


def lmms_eval_row(obj: Mapping[str, Any]) -> SampleRow:
    """One lmms-eval ``--log_samples`` line as a halluscope record dict.

    The answer is ``filtered_resps`` (else ``resps``); the label is ``target`` when it is
    yes/no; the question id comes from the per-metric dicts (``pope_accuracy: {"question_id":
    ...}``) or the doc (:func:`doc_of`: ``doc``, or since 0.4 a per-metric copy of it); the
    prompt from ``doc.question``, ``input`` or the first of ``arguments``; the image from
    ``doc.image_source`` / ``image_id`` / ``image``. Everything else of the doc is metadata.
    The row is a :class:`SampleRow`, which names the field the answer was read from. An
    answer field that holds no string raises
    :class:`RecordError` naming it (without file or line: :func:`iter_input_records` adds them).
    """
    doc = doc_of(obj)
    per_metric = [v for k, v in obj.items() if isinstance(v, Mapping) and k != "doc"]
    out = SampleRow()
    response, out.answer_field = _lmms_response(obj)
    if response is not None:
        out["response"] = response
    label = yes_no(obj.get("target"))
    if label is None:
        label = yes_no(doc.get("answer"))
    if label is None and "gt_answer" in doc:         # hallusion_bench: "1" yes, "0" no
        label = yes_no(doc.get("gt_answer"), numeric=True)
    if label is not None:
        out["label"] = label
    qid = next((m["question_id"] for m in per_metric if m.get("question_id") is not None),
               doc.get("question_id"))
    if qid is not None:
        out["question_id"] = str(qid)
    prompt = doc.get("question")
    if prompt is None and isinstance(obj.get("input"), str):
        prompt = obj["input"]
    if prompt is None:
        prompt = _first_text(obj.get("arguments"))
    if isinstance(prompt, str):
        out["prompt"] = prompt
    image_id = next((m["image_id"] for m in per_metric if m.get("image_id") is not None),
                    doc.get("image_id", doc.get("image_source")))
    if image_id is not None:
        out["image_id"] = image_id
    elif isinstance(doc.get("image"), str) and len(doc["image"]) < 1024:
        out["image"] = doc["image"]
    if qid is not None or obj.get("doc_id") is not None:
        out["id"] = str(qid if qid is not None else obj["doc_id"])
    meta = {k: v for k, v in doc.items()
            if k not in ("question", "answer", "gt_answer", "image", "image_source", "image_id",
                         "question_id")
            and isinstance(v, (str, int, float, bool))}
    if "doc_id" in obj:
        meta["doc_id"] = obj["doc_id"]
    if label is None and obj.get("target") is not None:
        meta["target"] = obj["target"]
    out["metadata"] = meta
    return out


#: lmms-eval's POPE tasks of one split, as their samples files are named (with or without the
#: date lmms-eval >= 0.4 puts before ``samples_``), and the split (doc.category) each holds
_POPE_SPLIT_TASK = re.compile(r"(?:^|_)samples_pope_(adv|pop|random)(?![a-z0-9])", re.IGNORECASE)
_POPE_SPLITS = {"adv": "adversarial", "pop": "popular", "random": "random"}


class PopeSplitOfFile:
    """The POPE split of a samples file's samples that carry none: lmms-eval >= 0.4 drops
    ``doc`` (and with it ``category``), so a POPE sample (its per-metric ``pope_*`` dicts) is
    in no split group and the splits of a pooled log cannot be told apart (an id asked in
    each split repeats). The split is taken from the file's name (``samples_pope_adv``,
    ``_pope_pop``, ``_pope_random``, dated or not) and said once (a warning, and
    ``split_from: "file name"`` in the metadata); with no such name, a warning says once that
    the file's splits cannot be told apart."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        found = _POPE_SPLIT_TASK.search(Path(path).name)
        self.split = _POPE_SPLITS[found.group(1).lower()] if found else None
        self._said = False

    def fill(self, obj: Mapping[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        """``row`` (the record dict of sample ``obj``) with the split, when it needs one."""
        meta = row.setdefault("metadata", {})
        if "category" in meta or "split" in meta or not any(
                str(k).startswith("pope_") and isinstance(v, Mapping) for k, v in obj.items()):
            return row
        if self.split is not None:
            meta.update(category=self.split, split_from="file name")
        if not self._said:
            self._said = True
            if self.split is not None:
                logger.warning("%s: its POPE samples carry no split (lmms-eval >= 0.4 drops "
                               "doc.category): split %r taken from the file's name",
                               self.path, self.split)
            else:
                logger.warning("%s: its POPE samples carry no split (lmms-eval >= 0.4 drops "
                               "doc.category) and the file's name names none (samples_pope_adv"
                               ", _pope_pop, _pope_random): splits cannot be told apart; they "
                               "are pooled, and an id asked in several splits repeats",
                               self.path)
        return row


def lmms_eval_line(obj: dict[str, Any], name: str, line: int | None, origin: str,
                   splits: PopeSplitOfFile | None = None) -> dict[str, Any] | RecordError:
    """A line of an lmms-eval samples file as a record dict, or the bad record it is: a line of
    another format (``origin`` says why the file is read as lmms-eval), or a sample whose
    answer field holds no string. ``splits``: the POPE split of the file's samples that carry
    none (:class:`PopeSplitOfFile`)."""
    if not is_lmms_eval(obj):
        if "doc_id" in obj or isinstance(obj.get("doc"), Mapping):
            message = ("expected the model's answer in 'filtered_resps' or 'resps' of this "
                       "lmms-eval sample, found neither")
        else:
            keys = ", ".join(sorted(map(str, obj))[:8])
            message = (f"expected an lmms-eval sample (doc_id or doc, with filtered_resps or "
                       f"resps), as {origin}; got a line of another format (keys: {keys:.200})"
                       f": a file holds one format")
        err = RecordError(message, file=name, line=line, field="filtered_resps")
    else:
        try:
            row = lmms_eval_row(obj)
            return splits.fill(obj, row) if splits is not None else row
        except RecordError as exc:
            err = RecordError(exc.message, file=name, line=line, field=exc.location.field)
    doc = doc_of(obj)
    err.record_id = id_hint(doc.get("question_id", obj.get("question_id", obj.get(
        "doc_id", obj.get("id")))))
    return err


def _lone_brace_line(path: Path) -> int | None:
    """The number of the first non-blank line of ``path`` when it is ``{`` alone (which no
    JSON line is: the file is one JSON object written over several lines), else ``None``."""
    for lineno, text in iter_text_lines(path, errors="surrogateescape"):
        first = (text[0] if isinstance(text, tuple) else text).strip()
        if first:
            return lineno if first == "{" else None
    return None


def one_document(path: Path, small: int) -> list[tuple[int | None, Any]] | None:
    """``(line, sample)`` of a JSON file holding one object written over several lines, when it is
    an lmms-eval v0.1-v0.2 ``<task>.json`` (its ``logs`` beside ``args``); ``None`` for a
    file of any other shape (JSON lines, an array). Any other such object raises
    :class:`InputError` saying what it is (read as JSON lines it gave an "invalid JSON" bad
    record per line): lmms-eval's aggregated ``results_*.json`` (parsed to say so when at most
    ``small`` bytes), any ``json.dump(obj, indent=2)``. A log is read and parsed once: the
    samples' lines are found in the same text."""
    brace = _lone_brace_line(path)
    if brace is None:
        return None
    how = "write it one object per line (jq -c .) or as a JSON array"
    whole = text = broken = None
    try:
        text = _document_text(path, small)
        whole = json.loads(text) if text is not None else None
    except json.JSONDecodeError as exc:     # (a log cut short was called only "several lines")
        broken = (f"; nor is it one JSON document (line {exc.lineno} column {exc.colno}: "
                  f"{exc.msg}): cut short as written?")
    except (ValueError, OSError, InputError):
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("logs"), list) and "args" in whole:
        return list(zip(_element_lines(text, len(whole["logs"])), whole["logs"]))
    if isinstance(whole, dict) and "imgToEval" in whole:
        how = ("it is coco-caption's evaluation layout (overall, imgToEval), the original "
               "CHAIR's input: leave --format out (it is detected) or pass --format coco-caption")
    if isinstance(whole, dict) and "results" in whole and (
            "configs" in whole or "config" in whole):
        how = ("it is lmms-eval's aggregated results (results, configs), which hold no "
               "answers: pass the samples_<task>.jsonl files that --log_samples writes "
               "beside it")
    raise InputError(f"{path}: expected one JSON object per line (or a JSON array), got one "
                     f"JSON object written over several lines (line {brace} is '{{' alone): "
                     f"{how}{broken or ''}")


_ELEMENT_BRACE = " " * 8 + "{"
_HEAD_BYTES = 1 << 16


def _element_lines(text: str, n: int) -> list[int | None]:
    """The line of ``text`` (a v0.1-v0.2 log) where each of its ``n`` samples starts:
    json.dumps with indent=4 opens each element of a top-level list with ``{`` alone on its
    line, indented 8 (``logs`` is the one list of objects at that depth); ``None`` each when
    the count disagrees."""
    starts = [0] if text.startswith(_ELEMENT_BRACE) else []
    pos = text.find("\n" + _ELEMENT_BRACE)
    while pos >= 0:
        starts.append(pos + 1)
        pos = text.find("\n" + _ELEMENT_BRACE, pos + 1)
    lines, line, at = [], 1, 0
    for start in starts:
        end = start + len(_ELEMENT_BRACE)
        while text[end:end + 1] == "\r":      # (as a line's "\r\n" end is stripped)
            end += 1
        if text[end:end + 1] in ("", "\n"):    # the brace alone on its line
            line += text.count("\n", at, start)
            at = start
            lines.append(line)
    return lines if len(lines) == n else [None] * n


def _document_text(path: Path, small: int) -> str | None:
    """The text of a one-object file, read once: all of it when it is at most ``small`` bytes
    or an lmms-eval v0.1-v0.2 log (``"args"`` among its first lines: json.dumps writes keys in
    order, args, model_configs, logs, time); ``None`` for a larger file of another kind, which
    is not read whole. Not UTF-8: :class:`UnicodeDecodeError`."""
    with open_binary(path) as fh:
        if path.stat().st_size > small:
            head = fh.read(_HEAD_BYTES)
            if b'\n    "args": {' not in head:
                return None
            raw = head + fh.read()
        else:
            raw = fh.read()
    return raw.decode("utf-8-sig")


__all__ = ["PopeSplitOfFile", "SampleRow", "is_lmms_eval", "lmms_eval_line", "lmms_eval_row",
           "one_document", "yes_no"]
