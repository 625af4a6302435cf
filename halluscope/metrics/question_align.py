"""Answers paired with the rows of a question file, for the benchmarks whose answer lines do not
carry their whole question (Object HalBench's question file, MMHal-Bench's template).

The original scorers pair the i-th answer with the i-th question. halluscope pairs them as POPE
does (:mod:`halluscope.metrics.pope`):

* by the answer's ``question_id`` where it has one: the question file's own ``question_id`` when
  its rows carry one, else the row's 0-based index (RLAIF-V's generation scripts number the
  answers so: ``question_id`` 0 answers the first row);
* else by position (blank lines aside, :mod:`halluscope.metrics.positions`); a file aligned so
  must hold exactly as many answers as there are questions, or it is refused before scoring
  (:class:`~halluscope.errors.AlignmentError`): one missing line would move every later answer
  onto the previous question;
* an answer without ``question_id`` in a file whose first answer has one (or in a table with a
  ``question_id`` column) is a bad record;
* an answer that repeats its question (``prompt``) is checked against the question it was
  paired with: another question is a bad record ("answers and questions are misaligned").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from halluscope.errors import AlignmentError, RecordError
from halluscope.metrics.pope_questions import float_id_problem, normalise_question
from halluscope.records import Record, record_from_dict

__all__ = ["QuestionRows", "RowAligner", "asks_another", "rows_of"]


def asks_another(text: str | None, prompt: str | None) -> bool:
    """Whether an answer's own question ``prompt`` is not the question ``text`` (the same after
    case and spacing, or ``text`` within ``prompt``, is the same question)."""
    if not prompt or not text or prompt == text:
        return False
    return normalise_question(text) not in normalise_question(prompt)


@dataclass(frozen=True)
class QuestionRows:
    """The questions answers are paired with: where they come from, each one's text (``None``
    when unknown), file line and own ``question_id`` (all ``None`` when the file has none)."""

    path: str
    texts: tuple[str | None, ...]
    lines: tuple[int, ...]
    ids: tuple[str | None, ...] = ()
    by_id: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        ids = self.ids or (None,) * len(self.texts)
        object.__setattr__(self, "ids", tuple(ids))
        object.__setattr__(self, "by_id", {q: i for i, q in enumerate(ids) if q is not None})

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_ids(self) -> bool:
        return bool(self.by_id)


def _always(record: Record) -> bool:
    return True


class RowAligner:
    """Finds the question row of each answer (see the module docstring).

    Args:
        questions: The question rows.
        what: What the rows are, for messages ("the question file's lines", ...).
        needs_row: Whether a record needs a question row at all (an Object HalBench answer with
            its own ``image_id``, an MMHal-Bench row with its own image contents does not).
    """

    def __init__(self, questions: QuestionRows, what: str,
                 needs_row: Callable[[Record], bool] | None = None):
        self.questions, self.what = questions, what
        self.needs_row = needs_row or _always       # module-level: the metric pickles
        self._by_id: dict[str, bool] = {}          # answer file -> its answers carry ids

    def begin(self, inputs: Iterable[str | Path]) -> None:
        """Note how each answer file aligns (by its first answer) and refuse a file aligned by
        position whose answer count is not the question count."""
        from halluscope.metrics.pope_answers import first_answer, scan_answers
        from halluscope.tables import is_table, table_columns
        for path in map(Path, inputs):
            if is_table(path):
                # a table's rows are the table reader's: its question_id column says how
                # they pair (a row past the questions is refused as it comes)
                columns = table_columns(path)
                if columns is not None:
                    by_id = "question_id" in columns
                    self._by_id[str(path)] = self._by_id[str(path.resolve())] = by_id
                continue
            head = first_answer(path)
            if head is None or not isinstance(head[0], dict):
                continue
            try:
                rec = record_from_dict(head[0], file=str(path), line=1, require_response=False)
            except RecordError:
                continue
            if not self.needs_row(rec):
                continue
            by_id = rec.question_id is not None
            self._by_id[str(path)] = self._by_id[str(path.resolve())] = by_id
            if by_id:
                continue
            scan = head[1] or scan_answers(path)
            n = scan[0] if scan is not None else None
            if n is not None and n != len(self.questions):
                raise AlignmentError(
                    f"answers file {path} has {n:,} answers without question_id but "
                    f"{self.questions.path} has {len(self.questions):,} questions: pairing "
                    f"the i-th answer with the i-th question would put answers on the wrong "
                    f"question; give each answer its question_id or pass the matching file")

    def _file_by_id(self, record: Record) -> bool:
        file = record.source.file if record.source is not None else None
        if file is None:
            return False
        found = self._by_id.get(str(file))
        if found is None:
            found = self._by_id.get(str(Path(file).resolve()), False)
        return found

    def index(self, record: Record) -> tuple[int, str]:
        """``(row index, "id" or "order")`` of ``record``'s question; raises
        :class:`RecordError` (without a location) when it has none or asks another."""
        qs, qid = self.questions, record.question_id
        if qid is not None:
            index, mode = self._by_question_id(qid), "id"
        elif self._file_by_id(record):
            raise RecordError("expected a question_id, as the first answer of this file has: "
                              "without it the answer cannot be paired with its question",
                              field="question_id")
        else:
            from halluscope.metrics.positions import position
            index, mode = position(record), "order"
            if index is None:
                raise RecordError("expected a question_id or a line number to pair the answer "
                                  "with its question, found neither", field="question_id")
            if index >= len(qs):
                raise RecordError(f"expected at most {len(qs)} answers, one per row of "
                                  f"{self.what}, got answer {index + 1}", field="response")
        text = qs.texts[index]
        if asks_another(text, record.prompt):
            raise RecordError(f"expected the question {text!r} ({qs.path} line "
                              f"{qs.lines[index]}), got {record.prompt!r:.120}: answers and "
                              f"questions are misaligned (paired by {mode})", field="prompt")
        return index, mode

    def _by_question_id(self, qid: str) -> int:
        qs = self.questions
        if qs.has_ids:
            index = qs.by_id.get(qid)
            if index is None:
                as_float = float_id_problem(qid, qs.by_id)
                raise RecordError(f"{as_float} ({qs.path})" if as_float else
                                  f"expected a question_id of {qs.path}, got {qid!r}",
                                  field="question_id")
            return index
        text = qid.strip()
        if not text.isdigit() or int(text) >= len(qs):
            raise RecordError(f"expected a question_id from 0 to {len(qs) - 1} (the question's "
                              f"0-based row in {qs.path}, which numbers none itself), got "
                              f"{qid!r}", field="question_id")
        return int(text)


def rows_of(path: str, rows: Sequence[dict], text_keys: Sequence[str],
            lines: Sequence[int] | None = None) -> QuestionRows:
    """:class:`QuestionRows` from parsed question rows (the first of ``text_keys`` a row has is
    its text; ``question_id`` its own id)."""
    def text(row: dict) -> str | None:
        for key in text_keys:
            if isinstance(row.get(key), str):
                return row[key]
        return None
    ids = tuple(None if r.get("question_id") is None else str(r["question_id"]) for r in rows)
    return QuestionRows(path, tuple(text(r) for r in rows),
                        tuple(lines) if lines is not None else tuple(range(1, len(rows) + 1)),
                        ids if any(i is not None for i in ids) else ())
