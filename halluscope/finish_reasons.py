"""Why the model stopped: the finish reason an answer line carries, read alike everywhere.

Model servers say why an answer ended, and the files written from them keep it:
``halluscope query`` and OpenAI-compatible servers write ``finish_reason`` (``stop``,
``length``, ``content_filter``), Anthropic ``stop_reason`` (``end_turn``, ``max_tokens``,
``refusal``), Gemini ``finishReason`` (``STOP``, ``MAX_TOKENS``, ``SAFETY``, ...), Ollama
``done_reason``. The first of :data:`FIELDS` a record has (in its line or its ``metadata``) is
its finish reason, read case-blind (``FinishReason.MAX_TOKENS``, an SDK enum's text, too), and
is one of four kinds (:func:`finish_kind`):

* ``complete`` (:data:`COMPLETE`): the model ended its answer; read as any answer.
* ``filtered`` (:data:`FILTERED`): a provider's filter, a safety stop or a refusal withheld
  the answer (what ``query`` counts as ``filtered``): whatever text came is not the model's
  answer, and the record is a bad record (:class:`~halluscope.errors.WithheldAnswer`), never
  scored, wherever answers are read (:func:`withheld_error`, called by the record reader).
* ``truncated`` (:data:`TRUNCATED`): cut at the token limit (or where the context ran out).
  What it says is what the model said: scored, but counted and said (``counts.truncated``);
  ``--complete-only`` leaves such records out as bad records.
* ``unrecognised``: any other value (``tool_calls``, Gemini's ``OTHER``, vLLM's ``abort``, a
  number): halluscope cannot tell whether the answer is whole. Scored as written (its text is
  the model's), never taken for complete in silence: counted by value
  (``counts.unrecognised_finish``), warned about, and left out with ``--complete-only``.

A line without any of the fields, or whose field is null or blank, has no finish reason and
is read as it always was. :class:`FinishScreen` counts the kinds on the records an audit reads
and applies ``complete_only``; the columnar reader reads columns only where every finish reason
in them is ``complete`` (:func:`all_complete`), and the lines of any other are read apart and
screened by the same :class:`FinishScreen`, so both paths give the same items.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from halluscope.errors import RecordError, WithheldAnswer

#: The fields a finish reason is read from, the first one a record has winning: OpenAI's (and
#: ``halluscope query``'s, vLLM's, TGI's), Anthropic's, Gemini's REST, Ollama's.
FIELDS = ("finish_reason", "stop_reason", "finishReason", "done_reason")

#: Finish reasons of an answer the model ended itself (compared lower-cased): OpenAI's and
#: Gemini's ``stop``, Anthropic's ``end_turn`` and ``stop_sequence``, TGI's ``eos_token``.
COMPLETE = frozenset({"stop", "end_turn", "stop_sequence", "eos", "eos_token"})

#: ``finish_reason`` values (OpenAI, Anthropic, Gemini, local) of an answer cut at the token
#: limit (compared lower-cased: Gemini's ``MAX_TOKENS``, its enum's ``FinishReason.MAX_TOKENS``),
#: or cut where the context window ran out (Claude's ``model_context_window_exceeded``).
TRUNCATED = frozenset({"length", "max_tokens", "finishreason.max_tokens",
                       "model_context_window_exceeded"})

#: ``finish_reason`` values of an answer a provider's filter (or the model declining part way)
#: stopped after some text came: OpenAI's ``content_filter``, Anthropic's ``refusal``, Gemini's
#: withheld reasons (``SAFETY``, ``RECITATION``, ..., compared lower-cased). With no text at
#: all such a response is a failed request; with some, the text is kept but is not the whole
#: answer.
FILTERED = frozenset({"content_filter", "refusal", "safety", "recitation", "language",
                      "blocklist", "prohibited_content", "spii", "image_safety",
                      "image_prohibited_content", "image_recitation", "model_armor"})

#: Distinct unrecognised values counted one by one; the others are counted together.
MAX_VALUES = 20
OTHER_VALUES = "<other values>"


def plain_reason(value: Any) -> str:
    """``value`` as compared: text, stripped, lower-cased, without an SDK enum's
    ``FinishReason.`` prefix."""
    return str(value).strip().lower().removeprefix("finishreason.")


def finish_kind(value: Any) -> str | None:
    """``complete``, ``truncated``, ``filtered`` or ``unrecognised`` (see the module
    docstring); ``None`` for no finish reason (``None``, a blank string)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    reason = plain_reason(value)
    if reason in COMPLETE:
        return "complete"
    if reason in TRUNCATED:
        return "truncated"
    if reason in FILTERED:
        return "filtered"
    return "unrecognised"


def finish_reason_of(fields: Mapping[str, Any] | None) -> tuple[str, Any] | None:
    """``(field, value)`` of the first of :data:`FIELDS` that ``fields`` (a record's metadata)
    holds with a value, else ``None``."""
    if not fields:
        return None
    for name in FIELDS:
        value = fields.get(name)
        if value is not None and not (isinstance(value, str) and not value.strip()):
            return name, value
    return None


def unfinished_reason(metadata: Mapping[str, Any] | None) -> Any:
    """The finish reason of a record whose answer is not known to be whole (``truncated`` or
    ``unrecognised``), as written (a string or a whole number; anything else, an SDK's enum
    in a record built in Python, as its text); ``None`` otherwise. A scored item carries it as
    ``finish_reason``."""
    found = finish_reason_of(metadata)
    if found is None or finish_kind(found[1]) not in ("truncated", "unrecognised"):
        return None
    value = found[1]
    return value if type(value) is str or type(value) is int else str(value)


def shown(value: Any) -> str:
    """A finish reason as a message quotes it (cut to 60 characters)."""
    return repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."


def withheld_error(metadata: Mapping[str, Any], where: Mapping[str, Any]
                   ) -> WithheldAnswer | None:
    """The bad record for an answer whose finish reason says a filter withheld it (``where``:
    its ``file`` and ``line``), else ``None``."""
    found = finish_reason_of(metadata)
    if found is None or finish_kind(found[1]) != "filtered":
        return None
    name, value = found
    return WithheldAnswer(f"the model's answer was withheld ({name} {shown(value)}: a "
                          f"provider's filter, a safety stop or a refusal): not the model's "
                          f"answer, not scored", field=name, **where)


def all_complete(values: Iterable[Any], blank: bool = True) -> bool:
    """Whether every value (the distinct values of a file's finish-reason column) is
    ``complete``, or none at all where ``blank`` (a blank value is no finish reason: the
    next of :data:`FIELDS` is read instead)."""
    ok = ("complete", None) if blank else ("complete",)
    return all(finish_kind(v) in ok for v in values)


class FinishScreen:
    """Counts the finish reasons of the records an audit reads and, with ``complete_only``,
    turns the truncated and unrecognised ones into bad records (:meth:`screen`)."""

    def __init__(self, complete_only: bool = False):
        self.complete_only = complete_only
        self.kinds: Counter = Counter()
        self.unrecognised: Counter = Counter()

    def screen(self, stream: Iterable[Any]) -> Iterator[Any]:
        """``stream`` (records and bad lines), each record counted by the kind of its finish
        reason; with ``complete_only`` one not ``complete`` comes out as a bad record."""
        for rec in stream:
            if isinstance(rec, WithheldAnswer):
                self.kinds["filtered"] += 1
            elif not isinstance(rec, RecordError):
                found = finish_reason_of(getattr(rec, "metadata", None))
                kind = None if found is None else finish_kind(found[1])
                if kind == "truncated" and _said_nothing(rec):
                    rec = _cut_before_answering(rec, *found)
                elif kind == "truncated" or kind == "unrecognised":
                    rec = self._count(rec, kind, *found)
            yield rec

    def _count(self, rec: Any, kind: str, name: str, value: Any) -> Any:
        self.kinds[kind] += 1
        if kind == "unrecognised":
            key = shown(value) if not isinstance(value, str) else value[:60]
            if key not in self.unrecognised and len(self.unrecognised) >= MAX_VALUES:
                key = OTHER_VALUES
            self.unrecognised[key] += 1
        if not self.complete_only:
            return rec
        why = ("cut at the token limit" if kind == "truncated"
               else "a finish reason halluscope does not know (is the answer whole?)")
        err = RecordError(f"the model's answer is not known to be whole ({name} {shown(value)}: "
                          f"{why}): left out by --complete-only", field=name,
                          file=rec.source.file, line=rec.source.line)
        err.record_id = rec.id
        return err

    def counts(self) -> dict[str, Any]:
        """The run sheet's counts of what was read (only those seen): ``truncated``,
        ``filtered`` and ``unrecognised_finish`` (value -> records)."""
        out: dict[str, Any] = {}
        for kind in ("truncated", "filtered"):
            if self.kinds[kind]:
                out[kind] = self.kinds[kind]
        if self.unrecognised:
            out["unrecognised_finish"] = dict(self.unrecognised.most_common())
        return out


def _said_nothing(rec: Any) -> bool:
    """Whether ``rec``'s answer is text holding nothing (``""``, whitespace)."""
    response = getattr(rec, "response", None)
    return isinstance(response, str) and not response.strip()


def _cut_before_answering(rec: Any, name: str, value: Any) -> RecordError:
    """The bad record of an answer cut at the token limit before any of it was said (a
    reasoning model that spent ``--max-tokens`` thinking: Gemini's ``MAX_TOKENS`` candidate
    without parts, Claude's thinking alone, a ``<think>`` never closed): the model gave no
    answer, so there is none to score -- never read as an empty answer (POPE's original
    parser reads ``""`` as yes)."""
    err = RecordError(f"the model gave no answer before the token limit ({name} "
                      f"{shown(value)} with an empty answer): nothing to score; ask again with "
                      f"a higher --max-tokens", field=name, file=rec.source.file,
                      line=rec.source.line)
    err.record_id = rec.id
    return err


def finish_counts(runsheet: Mapping[str, Any] | None) -> dict[str, Any]:
    """The finish-reason counts a run sheet holds (:meth:`FinishScreen.counts`), ``{}`` when
    none (an audit of answers without finish reasons, or all complete)."""
    counts = (runsheet or {}).get("counts") or {}
    return {k: counts[k] for k in ("truncated", "filtered", "unrecognised_finish")
            if counts.get(k)}


def finish_facts(counts: Mapping[str, Any], complete_only: bool
                 ) -> list[tuple[int, str, str]]:
    """``(records, what, how they were read)`` of each kind of answer not known to be whole
    that an audit read, as its summary shows them (the console's first line, the report)."""
    left = "left out as bad records (--complete-only)"
    unknown = sum((counts.get("unrecognised_finish") or {}).values())
    facts = [(counts.get("truncated") or 0, "cut at the token limit",
              left if complete_only else "scored as written"),
             (counts.get("filtered") or 0, "withheld by a filter", "bad records, not scored"),
             (unknown, "of an unknown finish reason",
              left if complete_only else "scored as written")]
    return [fact for fact in facts if fact[0]]


def finish_notes(counts: Mapping[str, Any], complete_only: bool) -> list[str]:
    """What the finish reasons read mean for the numbers, one line each (logged, and said by
    the console summary)."""
    lines = []
    if counts.get("truncated"):
        lines.append(f"{counts['truncated']:,} answer(s) were cut at the token limit (finish "
                     f"reason 'length', 'max_tokens', 'MAX_TOKENS'): " + (
                         "left out as bad records (complete_only)" if complete_only else
                         "scored as written; --complete-only leaves them out"))
    if counts.get("filtered"):
        lines.append(f"{counts['filtered']:,} answer(s) were withheld by a filter, a safety "
                     f"stop or a refusal (finish reason 'content_filter', 'refusal', "
                     f"'SAFETY', ...): bad records, not scored")
    unknown = counts.get("unrecognised_finish") or {}
    if unknown:
        values = ", ".join(f"{v} ({n:,})" for v, n in list(unknown.items())[:5])
        lines.append(f"{sum(unknown.values()):,} answer(s) have a finish reason halluscope does "
                     f"not know ({values}): " + (
                         "left out as bad records (complete_only)" if complete_only else
                         "scored as written, though they may not be whole; --complete-only "
                         "leaves them out"))
    return lines


__all__ = ["COMPLETE", "FIELDS", "FILTERED", "TRUNCATED", "FinishScreen", "all_complete",
           "finish_counts", "finish_facts", "finish_kind", "finish_notes", "finish_reason_of",
           "unfinished_reason", "withheld_error"]
