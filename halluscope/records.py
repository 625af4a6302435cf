"""Records: one model output (or one question) per line, read as a stream.

A :class:`Record` is what every later stage works on. :func:`iter_records` reads JSON Lines
(optionally gzip-compressed, or a JSON array) one line at a time and accepts, besides our own
format, the formats peers publish:

===================================================  ===========================================
shape of a line                                      read as
===================================================  ===========================================
``{"id", "image", "prompt", "response", ...}``        halluscope's own format (``task`` optional)
``{"image_id", "caption"}``                           CHAIR caption logs (OPERA and others)
``{"question_id", "image_id"|"image", "text", ...}``  LLaVA-style answer files (``text`` = answer)
``{"question_id", "image", "text", "label"}``         POPE question files (``text`` = question)
``{"question", "answer"}``                            POPE answer files
===================================================  ===========================================

A malformed line never stops the stream: it is yielded as a :class:`~halluscope.errors.RecordError`
naming file, line and field, so that a caller can report it and go on (or stop, when strict).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from halluscope import _json as fast_json
from halluscope.answer_fields import ambiguous_answer
from halluscope.errors import ReadingStopped, RecordError
from halluscope.record_documents import (document_source, file_folder,  # noqa: F401
                                         record_document_source)
from halluscope.finish_reasons import withheld_error
from halluscope.prompt_kinds import yes_no_prompt   # (re-exported: long imported from here)
from halluscope.record_fields import (blank_id, file_name, model_name, not_an_object,
                                      quoted as _quoted)
from halluscope.tables import first_image
from halluscope.textfiles import (  # noqa: F401 - the gzip readers, long imported from here
    BLANK, drop_bom, gunzip, gzip_error, is_blank, is_gzip_name, json_line, json_problem,
    not_utf8, open_binary, open_text)

Task = Literal["caption", "yes-no", "vqa", "document"]
TASKS: tuple[str, ...] = ("caption", "yes-no", "vqa", "document")

_COCO_ID = re.compile(r"^(?:COCO_[a-z]+\d{4}_)?0*(\d+)(?:\.(?:jpe?g|png))?$", re.IGNORECASE)


def coco_image_id(value: Any) -> int | None:
    """Return the integer COCO image id in ``139``, ``"139"``, ``"000000000139.jpg"`` or
    ``"COCO_val2014_000000000139.jpg"`` (a path prefix, and a URL's query, are ignored:
    :func:`~halluscope.record_fields.file_name`); ``None`` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        m = _COCO_ID.match(file_name(value))
        if m:
            return int(m.group(1))
    return None


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: its file, the 1-based file line where it starts, and for an
    element of a JSON array or a row of a table its 1-based number among them (``index``; its
    position, as a JSON line's is its line less the blank lines before it)."""

    file: str | None
    line: int | None
    index: int | None = None
    #: ``index`` numbers the elements of a JSON array (not a table's rows), several of which
    #: may start on one line: a bad record's message names its element
    array: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """One model output, or one question awaiting an answer.

    Attributes:
        id: Identifier, unique within a file (``id``, else ``question_id``, else ``image_id``,
            else the line number).
        task: ``caption`` | ``yes-no`` | ``vqa`` | ``document``.
        image: Image path or URL as written (relative paths are relative to the file).
        image_id: COCO-style integer image id when one can be read from the record.
        prompt: The prompt or question put to the model.
        response: The model's answer; ``None`` for a question that has not been answered yet.
        label: Ground-truth answer for yes/no questions (``"yes"``/``"no"``), when the file has it
            (a multiple-choice letter such as ``"B"`` is kept in ``metadata["label"]``).
        model: The model name, when recorded.
        document: A document (PDF path or list of page images) for document tasks.
        question_id: The question id of POPE/LLaVA-style files (kept apart from ``id``).
        metadata: Every other field of the line, untouched.
        source: File and 1-based line number.
        id_from_line: Whether ``id`` is only the line number (the line had no ``id``,
            ``question_id`` or ``image_id``): such an id names no item, image or question, and
            metrics that look up ground truth by id must not read it as one.
        response_field: The field of the line ``response`` was read from (``caption``,
            ``text``, ``prediction``, ...), named in the errors about it; ``None``: ``response``.
        image_field: The field of the line ``image`` was read from when it is not ``image``:
            ``image_id`` (a file name or other text there) or VLMEvalKit's ``image_path``, named
            in the errors about it; ``None``: ``image``.
    """

    id: str
    task: str
    image: str | None = None
    image_id: int | None = None
    prompt: str | None = None
    response: str | None = None
    label: str | None = None
    model: str | None = None
    document: Any = None
    question_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: Source = Source(None, None)
    id_from_line: bool = False
    response_field: str | None = None
    image_field: str | None = None

    def image_path(self) -> Path | None:
        """The image as a local path, resolved against the record's file; ``None`` for URLs."""
        if not self.image or "://" in self.image:
            return None
        p = Path(self.image)
        if not p.is_absolute() and self.source.file:
            p = file_folder(self.source.file) / p
        return p

    def to_dict(self) -> dict[str, Any]:
        """The record in halluscope's own JSONL format."""
        out: dict[str, Any] = {"id": self.id, "task": self.task}
        for key in ("image", "image_id", "question_id", "prompt", "response", "label", "model",
                    "document"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


_KNOWN = {"id", "task", "image", "image_id", "prompt", "response", "label", "model", "document",
          "question_id", "caption", "text", "question", "answer", "metadata", "model_id", "model_prediction", "prediction",
          "model_answer"}


def _string(value: Any, name: str, where: dict) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if name.endswith("id") and not value.strip():       # ("id", "question_id")
            raise blank_id(value, name, where)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name.endswith("id"):
        if value == value and value not in (math.inf, -math.inf):
            return str(value)   # (NaN and Infinity, which Python's json reads, named no item)
        raise RecordError(f"expected an id (text or a whole number), got {value!r}",
                          field=name, **where)
    raise RecordError(f"expected a string, got {type(value).__name__} {_quoted(value)}",
                      field=name, **where)


_CHOICE_LABEL = re.compile(r"[A-Za-z]")


def _label(value: Any, where: dict) -> str | None:
    if value is None or (isinstance(value, str) and _CHOICE_LABEL.fullmatch(value.strip())):
        return None    # a multiple-choice label (Reefknot's A-D) stays in metadata["label"]
    if value == "yes" or value == "no":
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower()
    if isinstance(value, bool):
        return "yes" if value else "no"
    raise RecordError(f"expected 'yes' or 'no', got {value!r:.60}", field="label", **where)


#: Fields that hold the model's answer, in the order looked for: the first a line has is its
#: answer, and when null the line has none ('answer' or 'text' beside it are never read in its
#: place: a null 'response' beside the truth in 'answer' scored the truth against itself).
ANSWER_FIELDS = ("response", "model_prediction", "prediction", "model_answer", "caption")
#: Answer fields other than VLMEvalKit's 'prediction' (halluscope's, HallusionBench's and
#: MMHal-Bench's): a VLMEvalKit-looking row that answers in one does not take its label from
#: 'answer'.
_OTHER_ANSWERS = frozenset({"response", "model_prediction", "model_answer"})
#: Fields LLaVA's answer files have beside 'text' (the answer) that its question files
#: ('question_id', 'image', 'text': the question, 'category') never have.
_ANSWER_MARKS = ("answer_id", "model_id", "model")
#: Fields every row of HallusionBench's question file has (its answer goes in 'model_prediction').
_HALLUSIONBENCH_KEYS = ("category", "subcategory", "set_id", "figure_id")


def _texts_of(obj: dict[str, Any], where: dict[str, Any], vlmevalkit: bool
              ) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """``(label, question_id, prompt, response, field)`` of a line, from halluscope's own
    fields or the ones peers write (HallusionBench, VLMEvalKit, MMHal-Bench, CHAIR logs, POPE,
    LLaVA); ``field``: the answer field read (null when ``response`` is ``None``).
    ``vlmevalkit``: :func:`_vlmevalkit_row` of the line."""
    # strings and absent fields are checked inline (the common case); anything else by _string
    label = obj.get("label")
    if label is not None:
        label = _label(label, where)
    question_id = obj.get("question_id")
    if question_id is not None and (type(question_id) is not str or not question_id.strip()):
        question_id = _string(question_id, "question_id", where)
    prompt = obj.get("prompt")
    if prompt is not None and type(prompt) is not str:
        prompt = _string(prompt, "prompt", where)
    field = next((key for key in ANSWER_FIELDS if key in obj), None)
    response = None if field is None else obj[field]
    if response is not None and type(response) is not str:
        response = _string(response, field, where)
    if vlmevalkit and field not in _OTHER_ANSWERS:
        # its 'answer' is the truth, not the model's answer (read from 'prediction', or from
        # no answer column; not when another column held the model's answer)
        if label is None and isinstance(obj.get("answer"), str) \
                and obj["answer"].strip().lower() in ("yes", "no"):
            label = obj["answer"].strip().lower()
    elif field is None and "answer" in obj:                        # POPE answer files
        field = "answer"
        response = _string(obj["answer"], "answer", where)
    if prompt is None and "question" in obj:
        prompt = _string(obj["question"], "question", where)
    if "text" in obj:
        text = _string(obj["text"], "text", where)
        if field is None and prompt is None and (label is not None or _asks(obj)):
            prompt = text                             # POPE or LLaVA question file
        elif field is None:
            field, response = "text", text                         # LLaVA-style answer file
        elif prompt is None:
            prompt = text
    return label, question_id, prompt, response, field


def _asks(obj: dict[str, Any]) -> bool:
    """Whether a line (no other field holding a prompt or answer) is laid out as a LLaVA
    question (``text``: the question, ``category``), not a LLaVA answer (``_ANSWER_MARKS``)."""
    return "category" in obj and not any(key in obj for key in _ANSWER_MARKS)


def _image_of(obj: dict[str, Any], where: dict[str, Any]) -> tuple[str | None, int | None]:
    """``(image, image_id)``: the path or URL, and the COCO image id read from ``image_id`` or
    from the image's file name (an ``image_id`` that is a file name is also the image); a
    VLMEvalKit row's ``image_path``, as its tables are read (it was left in the metadata)."""
    image = obj.get("image")
    if image is None and obj.get("image_path") is not None and _vlmevalkit_row(obj):
        image = first_image(obj["image_path"])
    if image is not None and not isinstance(image, str):
        raise RecordError(f"expected a path or URL string, got {type(image).__name__}",
                          field="image", **where)
    raw_image_id = obj.get("image_id")
    image_id = None
    if raw_image_id is not None:
        if isinstance(raw_image_id, str) and not raw_image_id.strip():
            raise blank_id(raw_image_id, "image_id", where)       # (it was the image "")
        image_id = coco_image_id(raw_image_id)
        if image_id is None and not isinstance(raw_image_id, str):
            raise RecordError(f"expected a COCO image id (139, '000000000139.jpg', "
                              f"'COCO_val2014_000000000139.jpg'), got {raw_image_id!r:.60}",
                              field="image_id", **where)
        if image is None and isinstance(raw_image_id, str) and (
                image_id is None or "." in raw_image_id):
            image = raw_image_id                                   # a file name, keep it
    if image_id is None and image is not None:
        image_id = coco_image_id(image)
    return image, image_id


def _image_field(obj: dict[str, Any], image: str | None) -> str | None:
    """The field :func:`_image_of` read ``image`` from, when not ``image`` (see
    :attr:`Record.image_field`)."""
    if image is None or obj.get("image") is not None:
        return None
    return "image_id" if obj.get("image_id") is not None and image == obj["image_id"] \
        else "image_path"


def _task_of(obj: dict[str, Any], label: str | None, prompt: str | None,
             where: dict[str, Any]) -> str:
    """The line's ``task``, or the one its fields imply."""
    task = obj.get("task")
    if task is not None and task not in TASKS:
        raise RecordError(f"expected one of {', '.join(TASKS)}, got {task!r:.60}",
                          field="task", **where)
    if task is not None:
        return task
    if label is not None or (prompt is not None and yes_no_prompt(prompt)):
        return "yes-no"
    if obj.get("document") is not None:
        return "document"
    if "caption" in obj or prompt is None:
        return "caption"
    return "vqa"


def _vlmevalkit_row(obj: dict[str, Any]) -> bool:
    """Whether a line is a VLMEvalKit row (``index``, ``answer`` the truth, ``prediction`` the
    model's answer when it has one): decided once a line, by :func:`_record_of`."""
    return "prediction" in obj or ("index" in obj and "answer" in obj and "response" not in obj)


def _no_response(obj: dict[str, Any], label: str | None, prompt: str | None,
                 null_field: str | None, where: dict[str, Any], vlmevalkit: bool) -> RecordError:
    """The error for a line without the model's answer (a question line, or an answer field
    that is null, is named)."""
    if null_field is not None:
        instead = " and ".join(repr(k) for k in ("answer", "text") if k in obj and k != null_field)
        beside = f" (not read in its place: {instead} beside it)" if instead else ""
        return RecordError(f"expected the model's answer in '{null_field}', got null{beside}",
                           field=null_field, **where)
    if vlmevalkit:                  # (with no 'prediction': that would be null_field)
        return RecordError("expected the model's answer in 'prediction' beside 'index' and "
                           "'answer' (a VLMEvalKit row, whose 'answer' is the truth), found "
                           "none", field="prediction", **where)
    if "text" in obj and prompt == obj.get("text") and label is not None:
        return RecordError("expected the model's answer, got a POPE question (question_id, "
                           "image, text, label: 'text' is the question): pass the question "
                           "file as --questions and the model's answers as the input",
                           field="response", **where)
    if "text" in obj and prompt == obj.get("text") and _asks(obj):
        return RecordError("expected the model's answer, got a question, not an answer: a line "
                           "laid out as LLaVA's question files (question_id, image, text: the "
                           "question, category), not as its answers (prompt, text: the answer, "
                           "answer_id, model_id); pass the model's answers (for POPE, the "
                           "questions as --questions), or write an answer so laid out as "
                           "'response'", field="text", **where)
    if isinstance(obj.get("imgToEval"), dict):
        return RecordError("expected the model's answer, got coco-caption's evaluation layout "
                           "(overall, imgToEval: the original CHAIR's input) read as one JSON "
                           "line: leave --format out (it is detected) or pass --format "
                           "coco-caption", field="imgToEval", **where)
    if all(key in obj for key in _HALLUSIONBENCH_KEYS):
        return RecordError("expected the model's answer in 'model_prediction' beside "
                           "HallusionBench's question fields (evaluation.py's input rows), "
                           "found none", field="model_prediction", **where)
    return RecordError("expected the model's answer in 'response' (or 'model_prediction', "
                       "'prediction', 'model_answer', 'caption', 'text', 'answer'), found "
                       "none", field="response", **where)


def _record_id(obj: dict[str, Any], question_id: str | None, line: int | None,
               where: dict[str, Any], vlmevalkit: bool) -> str:
    """``id``, else the question id, else the image id, else the line number."""
    raw_id = obj.get("id")
    if raw_id is not None:
        return _string(raw_id, "id", where)
    if question_id is not None:
        return question_id
    index = obj.get("index")
    if isinstance(index, (str, int)) and not isinstance(index, bool) and vlmevalkit:
        if not str(index).strip():
            raise blank_id(index, "index", where)
        return str(index)                   # as read from VLMEvalKit's tables
    if obj.get("image_id") is not None:
        return str(obj["image_id"])
    return str(line) if line is not None else ""


def _metadata_of(obj: dict[str, Any], label: str | None, vlmevalkit: bool,
                 where: dict[str, Any]) -> dict[str, Any]:
    """The fields halluscope does not read itself, plus the line's ``metadata`` object."""
    metadata = {k: v for k, v in obj.items() if k not in _KNOWN}
    if label is None and isinstance(obj.get("label"), str) and obj["label"].strip():
        metadata["label"] = obj["label"].strip()                  # a choice letter
    if label is None and obj.get("answer") is not None and vlmevalkit:
        metadata["answer"] = obj["answer"]        # a VLMEvalKit truth other than Yes or No
    extra = obj.get("metadata")
    if isinstance(extra, dict):
        metadata.update(extra)
    elif extra is not None:      # a string or list here was dropped in silence
        raise RecordError(f"expected an object of further fields, got {type(extra).__name__} "
                          f"{_quoted(extra)}", field="metadata", **where)
    return metadata


def record_from_dict(obj: Any, *, file: str | None = None, line: int | None = None,
                     require_response: bool = True, index: int | None = None,
                     answer_field: str | None = None, array: bool = False) -> Record:
    """Build a :class:`Record` from one parsed line in any of the accepted formats (``index``:
    the element or row number, for JSON arrays (``array``) and tables; see :class:`Source`;
    ``answer_field``: the field of the file the line's ``response`` was read from, when the
    line was made from another layout: an lmms-eval sample's ``resps``).

    Raises :class:`RecordError` naming the field that is missing or malformed.
    """
    where = {"file": file, "line": line}
    if not isinstance(obj, dict):
        raise RecordError(not_an_object(obj, index), **where)
    try:
        _check_utf8(obj, where)
        return _record_of(obj, Source(file, line, index, array and index is not None),
                          require_response, where, answer_field)
    except RecordError as exc:
        # the line's id, when it has a plain one, stays with its error (items.jsonl keeps it)
        if exc.record_id is None:
            exc.record_id = id_hint(obj.get("id", obj.get("question_id", obj.get("index"))))
        if array and exc.element is None:       # which of the line's elements
            exc.element = index
        raise


def id_hint(value: Any) -> str | None:
    """A bad line's own id, kept with its error (items.jsonl shows it), when it is a plain
    string (not empty or blanks: no id) or number: cut to 200 characters, a lone surrogate
    written as its escape."""
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return fast_json.writable(str(value)[:200])
    return None


def _check_utf8(obj: dict[str, Any], where: dict[str, Any]) -> None:
    """Refuse a line holding a string no UTF-8 file can hold (it stopped the audit when its
    item was written): a lone surrogate, from JSON's ``\\ud83d`` escape (a model output cut
    inside an emoji), naming the field (``metadata.note``, ``regions[2]``)."""
    found = fast_json.unencodable(obj)
    if found is not None:
        path, char, at = fast_json.writable(found[0]), found[1], found[2]
        raise RecordError(f"expected text that UTF-8 can hold, got a lone surrogate "
                          f"\\u{ord(char):04x} at character {at + 1} (an escape without its "
                          f"pair: text cut inside an emoji?)", field=path or None, **where)


def is_request_error(failure: Any) -> bool:
    """Whether a line's ``"error"`` (a :class:`Record`'s ``metadata["error"]``) says the request
    failed: such a record carries no answer of the model's and is never scored."""
    return failure not in (None, "", False)


def _record_of(obj: dict[str, Any], source: Source, require_response: bool,
               where: dict[str, Any], answer_field: str | None = None) -> Record:
    failure = obj.get("error")
    if require_response and is_request_error(failure):
        # `halluscope query` (and peers) write a failed request as a line with an "error": it
        # carries the prompt and the question fields but no answer, and is never scored.
        raise RecordError(f"the model gave no answer: {str(failure):.300}", field="error",
                          **where)
    vlmevalkit = _vlmevalkit_row(obj)
    label, question_id, prompt, response, field = _texts_of(obj, where, vlmevalkit)
    if require_response and (ambiguous := ambiguous_answer(obj, ANSWER_FIELDS, vlmevalkit,
                                                            where)):
        raise ambiguous
    image, image_id = _image_of(obj, where)
    task = _task_of(obj, label, prompt, where)
    metadata = _metadata_of(obj, label, vlmevalkit, where)
    if require_response and (withheld := withheld_error(metadata, where)) is not None:
        raise withheld          # a filter's verdict (finish reason), not the model's answer
    if response is None and require_response and not _carries_samples(obj):
        raise _no_response(obj, label, prompt, field, where, vlmevalkit)
    number = source.line if source.index is None else source.index
    rid = _record_id(obj, question_id, number, where, vlmevalkit)
    from_line = obj.get("id") is None and question_id is None and obj.get("image_id") is None \
        and not (obj.get("index") is not None and rid == str(obj["index"]))
    return Record(id=rid, task=task, image=image, image_id=image_id, prompt=prompt,
                  response=response, label=label, model=model_name(obj, where),
                  document=obj.get("document"), question_id=question_id,
                  metadata=metadata, source=source, id_from_line=from_line,
                  response_field=None if response is None else answer_field or (
                      None if field == "response" else field),
                  image_field=_image_field(obj, image))


def _carries_samples(obj: dict[str, Any]) -> bool:
    """Whether a line carries its answers in a non-empty ``samples`` list (Self-Consistency@N
    written by peers: the consistency metric reads them; other metrics find no answer)."""
    samples = obj.get("samples")
    return isinstance(samples, list) and bool(samples)


def iter_text_lines(path: str | Path, *, errors: str = "strict"
                    ) -> Iterator[tuple[int, str | RecordError]]:
    """Yield ``(line_number, text)`` for every line of ``path``, decoded one line at a time.

    A leading UTF-8 BOM is dropped. A line that is not UTF-8 comes out as a
    :class:`RecordError` ("not UTF-8 at byte N", 1-based within the line) and the lines after it
    are still read; with ``errors="surrogateescape"`` such a line is decoded with escapes and
    yielded together with the error (as a ``(text, error)`` pair) so a caller can go on parsing.
    """
    path = Path(path)
    name = str(path)
    with open_binary(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1:
                raw = drop_bom(raw)
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                err = RecordError(not_utf8(raw, exc), file=name, line=lineno)
                if errors == "strict":
                    yield lineno, err
                else:
                    yield lineno, (raw.decode("utf-8", errors), err)  # type: ignore[misc]


def iter_json_lines(path: str | Path) -> Iterator[tuple[int, Any | RecordError]]:
    """``(number, parsed_object_or_error)`` of :func:`iter_json_values`: the line number of a
    JSON line, the element number of a JSON array's element."""
    for line, index, item in iter_json_values(path):
        yield (line if index is None else index), item


def iter_json_values(path: str | Path
                     ) -> Iterator[tuple[int | None, int | None, Any | RecordError]]:
    """Yield ``(line, index, parsed_object_or_error)`` for every non-blank line of ``path``
    (``index`` is ``None`` for JSON lines).

    Each line is decoded on its own: a line that is not UTF-8, or not JSON, comes out as a
    :class:`RecordError` and the rest of the file is still read. A file whose first non-blank
    character is ``[`` is read as one JSON array instead (peers publish a few such files),
    streamed element by element (see :func:`halluscope.json_array.iter_json_elements`): its
    elements are numbered from 1 (``index``), and ``line`` is the file line where each starts.
    """
    name = str(path)
    first = first_char(path)
    if first == "[":
        from halluscope.json_array import iter_json_elements
        for n, line, item in iter_json_elements(
                iter_text_lines(path, errors="surrogateescape"), name):
            yield line, n, item
        return
    with open_binary(Path(path)) as fh:       # (errors name the file as iter_text_lines did)
        for lineno, raw in enumerate(fh, 1):
            value = json_line(drop_bom(raw) if lineno == 1 else raw, lineno, str(Path(path)))
            if value is not BLANK:
                yield lineno, None, value


def first_char(path: str | Path) -> str:
    """The first non-blank character of ``path`` (after a BOM), ``""`` when there is none: ``[``
    for a JSON array."""
    for _, text in iter_text_lines(path, errors="surrogateescape"):
        if isinstance(text, tuple):
            text = text[0]
        stripped = text.strip()
        if stripped:
            return stripped[0]
    return ""


def iter_records(path: str | Path, *, require_response: bool = True
                 ) -> Iterator[Record | RecordError]:
    """Stream the records of ``path``; malformed lines come out as :class:`RecordError` values."""
    name = str(path)
    for lineno, index, obj in iter_json_values(path):
        if isinstance(obj, RecordError):
            yield obj
            continue
        try:
            yield record_from_dict(obj, file=name, line=lineno, require_response=require_response,
                                   index=index, array=index is not None)
        except RecordError as exc:
            yield exc


def read_records(path: str | Path, *, strict: bool = True, require_response: bool = True
                 ) -> list[Record]:
    """Read every record of a (small) file into a list; raise on the first bad line when strict,
    else skip bad lines (use :func:`iter_records` to see them). A syntax error that stopped the
    reading of a JSON array (:class:`~halluscope.errors.ReadingStopped`) is raised either way:
    the list would hold the records before it as if they were the file's."""
    out = []
    for item in iter_records(path, require_response=require_response):
        if isinstance(item, RecordError):
            if strict or isinstance(item, ReadingStopped):
                raise item
            continue
        out.append(item)
    return out


def write_records(path: str | Path, records) -> int:
    """Write records (or plain dicts) as JSON Lines; return how many were written."""
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            obj = rec.to_dict() if isinstance(rec, Record) else rec
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n
