"""Reefknot (Zheng et al., 2024): relation hallucination in yes/no and multiple-choice answers.

Reefknot's rows (``YESNO.jsonl``, ``Multichoice.jsonl``) carry ``query_prompt``, ``label``
(``yes``/``no`` or ``A``-``D``), ``relation_type`` (perception / cognitive) and the model's
``response``. Yes/no rows come in pairs, a "yes" question followed by a "no" question on the same
image. Its scorer (JackChen-seu/Reefknot ``RLC-bench/neok_code/utils.py`` @3811890) prints

* yes/no: accuracy, hallucination rate (1 - accuracy) and the share of answers read as yes;
* pairwise: right answers in the first (yes) and second (no) slot of each pair, their rates over
  the pairs, and the share of pairs with both right;
* multiple choice: accuracy.

Variants (``options["reefknot_variant"]``):

* ``original`` reads answers as that code does: yes/no is ``yes`` when "yes" occurs anywhere in
  the lower-cased answer, else no ("eyes" -> yes). The pairwise scorer reads the first row of a
  pair that way but the second as ``no`` when "no" occurs anywhere, else yes, so an empty or
  evasive answer is no in the first slot and yes in the second ("know" reads as no). A choice is
  the first character of the answer, upper-cased (" B", "(B)", "Option B" are wrong; an option
  word counts by its initial). The original crashes on an empty choice answer (IndexError);
  here it is a counted non-answer (wrong) instead.
* ``corrected`` reads every yes/no answer with halluscope's ``strict`` rule (a clear yes or no
  first, else a non-answer, wrong in both slots) and a choice as the option letter the answer
  gives (the answer is the letter alone, any case: ``b``, ``(B)``; or begins with a capital
  letter and ``)``, ``.`` or ``:``: ``B. toward``, ``(B) toward``; or ``Option B``, ``The answer
  is B.``), or the option whose text the answer is, else a non-answer (wrong): "a dog walks
  toward ...", "A or B" and "B is wrong; A" give no letter.

Pairs: a pair is a ``yes`` row and the ``no`` row right after it on the same image (lines 1-2,
3-4, ... of Reefknot's files). The rows of each input file are paired before scoring; a row no
pair holds (its partner missing, another image, the labels not yes then no) is a bad record
with its file, line and reason, and not scored, so one missing line costs its own pair, not
every later one. Labels: ``yes``/``no``, or an option letter the question offers (A-D); a row
without a label, or with another, is a bad record.

Every variant counts non-answers (``non_answers``) so that a low score from evasive answers can
be told apart from wrong ones.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from halluscope.errors import ConfigError, InputError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.pope_parsers import parse_strict
from halluscope.metrics.positions import position
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.records import Record, iter_records

log = logging.getLogger(__name__)

VARIANTS = ("original", "corrected")


# -- answer readers -----------------------------------------------------------------------------
def read_yes_no(response: str | None, variant: str, slot: int = 0) -> str | None:
    """``yes``/``no`` as the variant reads ``response``; ``None`` is a non-answer (corrected).

    ``slot`` is the row's place in its pair for the original's pairwise scorer: 0 (first, read
    by "yes" anywhere) or 1 (second, read by "no" anywhere).
    """
    text = (response or "").strip().lower()
    if variant == "original":
        if slot == 1:
            return "no" if "no" in text else "yes"
        return "yes" if "yes" in text else "no"
    answer = parse_strict(response or "")
    return answer if answer in ("yes", "no") else None


_OPTIONS = re.compile(r"\b([A-D])\.\s*(.+?)(?=\s+[A-D]\.\s|,\s*please choose|$)")
_LETTER = re.compile(r"""^\W*(?i:(?:the\s+)?(?:correct\s+)?(?:answer|option|choice)(?:\s+is)?
                         \s*:?\s*)?\(?([A-D])(?:\W*$|[).:]\s)""", re.VERBOSE)
_BARE_LETTER = re.compile(r"^\W*([A-Da-d])\W*$")


def options_of(prompt: str | None) -> dict[str, str]:
    """Option letter -> option text, as Reefknot poses them (``A. into B. toward ...``)."""
    return {m.group(1): m.group(2).strip().lower() for m in _OPTIONS.finditer(prompt or "")}


def read_choice(response: str | None, variant: str, prompt: str | None = None) -> str | None:
    """The option letter the variant reads from ``response``; ``None`` is a non-answer."""
    text = response or ""
    if variant == "original":
        return text[0].upper() if text else None    # the original raises IndexError here
    stripped = text.strip()
    m = _BARE_LETTER.match(stripped) or _LETTER.match(stripped)
    if m is not None:               # "b", "(B)", "B. toward", "Option B", "The answer is B."
        return m.group(1).upper()   # (not "a dog ...", "A or B", "B is wrong; A")
    answer = stripped.rstrip(".").strip().lower()
    hits = [k for k, v in options_of(prompt).items() if v == answer]
    return hits[0] if len(hits) == 1 else None


# -- pure-function scorers (the original's printed numbers) -------------------------------------
@dataclass(frozen=True)
class YesNoScores:
    """What ``calculate_yes_no_accuracy`` prints, plus counted non-answers."""

    total: int
    correct: int
    yes: int
    non_answers: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    @property
    def hallucination_rate(self) -> float:
        return 1 - self.accuracy

    @property
    def yes_rate(self) -> float:
        return self.yes / self.total if self.total else float("nan")


@dataclass(frozen=True)
class PairScores:
    """What ``calculate_pairwise_accuracy`` prints, plus counted non-answers."""

    pairs: int
    yes_right: int
    no_right: int
    pair_right: int
    non_answers: int

    @property
    def yes_accuracy(self) -> float:
        return self.yes_right / self.pairs if self.pairs else float("nan")

    @property
    def no_accuracy(self) -> float:
        return self.no_right / self.pairs if self.pairs else float("nan")

    @property
    def pairwise_accuracy(self) -> float:
        return self.pair_right / self.pairs if self.pairs else float("nan")


def yes_no_decisions(rows: Iterable[Mapping[str, Any]], variant: str = "original"):
    """``(parsed, correct)`` per yes/no row."""
    out = []
    for row in rows:
        parsed = read_yes_no(row.get("response"), variant)
        out.append((parsed, parsed is not None and parsed == str(row["label"]).strip().lower()))
    return out


def score_yes_no(rows: Iterable[Mapping[str, Any]], variant: str = "original") -> YesNoScores:
    """Yes/no accuracy over rows (``label``, ``response``)."""
    d = yes_no_decisions(rows, variant)
    return YesNoScores(total=len(d), correct=sum(c for _, c in d),
                       yes=sum(p == "yes" for p, _ in d), non_answers=sum(p is None for p, _ in d))


def pair_decisions(rows: Sequence[Mapping[str, Any]], variant: str = "original"):
    """``(first_right, second_right)`` per pair of consecutive rows (0-1, 2-3, ...).

    Raises :class:`ConfigError` on an odd number of rows (the original would crash there).
    """
    if len(rows) % 2:
        raise ConfigError(f"expected yes/no rows in pairs, got an odd number ({len(rows)})")
    out = []
    for i in range(0, len(rows), 2):
        first = read_yes_no(rows[i].get("response"), variant, 0)
        second = read_yes_no(rows[i + 1].get("response"), variant, 1)
        out.append((first is not None and first == str(rows[i]["label"]).strip().lower(),
                    second is not None and second == str(rows[i + 1]["label"]).strip().lower(),
                    (first is None) + (second is None)))
    return out


def score_pairs(rows: Sequence[Mapping[str, Any]], variant: str = "original") -> PairScores:
    """Pairwise scores over consecutive yes/no rows."""
    d = pair_decisions(rows, variant)
    return PairScores(pairs=len(d), yes_right=sum(a for a, _, _ in d),
                      no_right=sum(b for _, b, _ in d), pair_right=sum(a and b for a, b, _ in d),
                      non_answers=sum(n for _, _, n in d))


def score_multichoice(rows: Iterable[Mapping[str, Any]], variant: str = "original"):
    """``(total, correct, non_answers)`` over multiple-choice rows."""
    total = correct = missing = 0
    for row in rows:
        total += 1
        choice = read_choice(row.get("response"), variant, row.get("query_prompt"))
        missing += choice is None
        correct += choice is not None and choice == str(row["label"]).strip().upper()
    return total, correct, missing


# -- streaming metric ---------------------------------------------------------------------------
class ReefknotMetric(Metric):
    """Reefknot's yes/no and multiple-choice scores over records.

    A record's label is ``record.label`` (yes/no) or ``metadata["label"]`` (``A``-``D``); the
    prompt (or ``metadata["query_prompt"]``) gives the options. Pairs are a "yes" row and the
    "no" row right after it on the same image (module docstring).
    """

    name: ClassVar[str] = "reefknot"
    own_group_fields: ClassVar[tuple[str, ...]] = ("relation_type",)   # beside --by's
    headline: ClassVar[tuple[str, ...]] = ("accuracy", "hallucination_rate")
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("reefknot_variant", str, "original", "original or corrected (module "
                     "docstring)", choices=VARIANTS),
    )
    columns: ClassVar[tuple[str, ...]] = (
        "yn_n", "yn_correct", "yn_yes", "yn_none", "pair_n", "pair_first", "pair_second",
        "pair_both", "mc_n", "mc_correct", "mc_none")
    # every rate is a share of its answers or pairs, each counted 0 or 1: proportions
    statistics: ClassVar[dict[str, Statistic]] = {
        "accuracy": rate(lambda s: ratio(s["yn_correct"], s["yn_n"]), higher_is_better=True,
                         units="yn_n", proportion=True),
        "hallucination_rate": rate(lambda s: 1 - ratio(s["yn_correct"], s["yn_n"]), units="yn_n",
                                   proportion=True),
        "yes_rate": rate(lambda s: ratio(s["yn_yes"], s["yn_n"]), units="yn_n", proportion=True),
        "yes_accuracy": rate(lambda s: ratio(s["pair_first"], s["pair_n"]), higher_is_better=True,
                             units="pair_n", proportion=True),
        "no_accuracy": rate(lambda s: ratio(s["pair_second"], s["pair_n"]),
                            higher_is_better=True, units="pair_n", proportion=True),
        "pairwise_accuracy": rate(lambda s: ratio(s["pair_both"], s["pair_n"]),
                                  higher_is_better=True, units="pair_n", proportion=True),
        "multichoice_accuracy": rate(lambda s: ratio(s["mc_correct"], s["mc_n"]),
                                     higher_is_better=True, units="mc_n", proportion=True),
        "non_answers": Statistic(lambda s: s["yn_none"] + s["mc_none"], count=True),
        "n_yes_no": Statistic(lambda s: s["yn_n"], count=True),
        "n_multichoice": Statistic(lambda s: s["mc_n"], count=True),
    }
    meanings: ClassVar[dict[str, str]] = {
        "accuracy": "share of the yes/no relation questions answered right; higher is better",
        "hallucination_rate": "1 - accuracy: share of the yes/no relation questions answered "
                              "wrong (Reefknot's relation hallucination rate); lower is better",
        "yes_rate": "share of the yes/no answers read as yes (half the questions' truth is yes)",
        "yes_accuracy": "share of the pairs whose first question (truth yes) is answered right",
        "no_accuracy": "share of the pairs whose second question (truth no) is answered right",
        "pairwise_accuracy": "share of the pairs with both questions answered right; higher is "
                             "better",
        "multichoice_accuracy": "share of the multiple-choice questions answered with the right "
                                "option; higher is better",
        "non_answers": "answers read as no yes/no or option at all (each scored wrong)",
        "n_yes_no": "yes/no questions scored",
        "n_multichoice": "multiple-choice questions scored"}

    def __init__(self, *, variant: str = "original", **kw):
        if variant not in VARIANTS:
            raise ConfigError(f"expected reefknot_variant in {VARIANTS}, got {variant!r}")
        self.variant = variant
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw):
        return cls(variant=cls.option(config, "reefknot_variant"), n_boot=config.n_boot,
                   seed=config.seed, confidence=config.confidence, **kw)

    def reset(self) -> None:
        super().reset()
        self._pending: dict[tuple[str, int], tuple[Record, str]] = {}
        self._unpaired = 0

    def begin(self, inputs) -> None:
        """Pair each input file's yes/no rows before scoring (:func:`pair_rows`), so that both
        rows of a broken pair are bad records."""
        self._scanned: dict[str, dict[int, int | str]] = {}
        for path in map(Path, inputs):
            try:
                rows = [(position(r), r.source.line, _label_of(r), _image_of(r))
                        for r in iter_records(path, require_response=False)
                        if isinstance(r, Record)]
            except (OSError, InputError):
                continue
            plan = pair_rows([r for r in rows if r[0] is not None and r[2] is not None
                              and r[2].lower() in ("yes", "no")])
            self._scanned[str(path)] = self._scanned[str(path.resolve())] = plan

    def _plan(self, record: Record) -> dict[int, int | str] | None:
        scanned = getattr(self, "_scanned", None)
        if not scanned or record.source is None or record.source.file is None:
            return None
        file = str(record.source.file)
        return scanned.get(file) or scanned.get(str(Path(file).resolve()))

    def applies_to(self, record: Record) -> bool:
        return record.response is not None

    def score(self, record: Record) -> ItemScore:
        row = dict.fromkeys(self.columns, 0.0)
        label = _label_of(record)
        meta = record.metadata or {}
        prompt = meta.get("query_prompt") or record.prompt
        if label is None:
            raise _bad(record, "expected a label ('yes'/'no', or the option letter of a "
                       "multiple-choice question), found none", "label")
        groups = (f"relation_type:{meta['relation_type']}",) if meta.get("relation_type") else ()
        if label.lower() in ("yes", "no"):
            parsed = read_yes_no(record.response, self.variant)
            row.update(yn_n=1, yn_correct=float(parsed == label.lower()),
                       yn_yes=float(parsed == "yes"), yn_none=float(parsed is None))
            payload: dict[str, Any] = {"kind": "yes-no", "label": label.lower(),
                                       "parsed": parsed, "correct": parsed == label.lower()}
        else:
            offered = sorted(options_of(prompt)) or ["A", "B", "C", "D"]
            if label.upper() not in offered:
                raise _bad(record, f"expected 'yes', 'no' or an option letter the question "
                           f"offers ({', '.join(offered)}), got {label!r}", "label")
            choice = read_choice(record.response, self.variant, prompt)
            row.update(mc_n=1, mc_correct=float(choice == label.upper()),
                       mc_none=float(choice is None))
            payload = {"kind": "multichoice", "label": label.upper(), "parsed": choice,
                       "correct": choice == label.upper()}
        payload["variant"] = self.variant
        return ItemScore(payload=payload, row=tuple(row[c] for c in self.columns), groups=groups)

    def update(self, record: Record) -> ItemScore:
        """Score ``record``; the second row of a yes/no pair also carries the pair's result."""
        item = self.score(record)
        if item.payload["kind"] == "yes-no":
            row = dict(zip(self.columns, item.row))
            extra = self._pair(record, item.payload["label"], row)
            item = ItemScore(payload={**item.payload, **extra},
                             row=tuple(row[c] for c in self.columns), groups=item.groups)
        self.add(item, record=record)   # weights drawn from the record's unit, not its position
        return item

    def _slot(self, record: Record, label: str, at: int) -> int:
        """1 or 2: the record's place in its pair; a row of a broken pair is a bad record."""
        plan = self._plan(record)
        if plan is not None:
            slot = plan.get(at)
            if isinstance(slot, str):
                raise _bad(record, slot, "label")
            if slot is not None:
                return slot
        # not scanned before scoring (records in memory): a "no" row completes the "yes" row
        # just before it on the same image, checked here; a "yes" row waits for its "no" row
        if label == "yes":
            return 1
        first = self._pending.get((str(record.source.file), at - 1))
        if first is None or _image_of(first[0]) != _image_of(record):
            raise _bad(record, "expected this 'no' question right after the 'yes' question on "
                       f"the same image (image {_image_of(record)}), found "
                       + ("none" if first is None else f"image {_image_of(first[0])}")
                       + ": a row is missing or out of order, so the pair is not scored",
                       "label")
        return 2

    def _pair(self, record: Record, label: str, row: dict[str, float]) -> dict[str, Any]:
        src, at = record.source, position(record)     # blank lines aside
        if at is None:
            return {}
        if self._slot(record, label, at) == 1:
            if self._pending.pop((str(src.file), at - 1), None) is not None:
                self._unpaired += 1                   # a "yes" row no "no" row followed
            self._pending[(str(src.file), at)] = (record, label)
            return {"pair_slot": 1}
        first = self._pending.pop((str(src.file), at - 1), None)
        if first is None:
            raise _bad(record, "expected the 'yes' row before this one to be scored as the "
                       "first of its pair, it was not (no answer, or a bad record): the pair "
                       "is not scored", "label")
        r1 = read_yes_no(first[0].response, self.variant, 0)
        r2 = read_yes_no(record.response, self.variant, 1)
        a, b = r1 is not None and r1 == first[1], r2 is not None and r2 == label
        row.update(pair_n=1, pair_first=float(a), pair_second=float(b), pair_both=float(a and b))
        return {"pair_slot": 2, "pair_first_right": a, "pair_second_right": b}

    def finish(self) -> None:
        self._unpaired += len(self._pending)
        self._pending.clear()
        if self._unpaired:
            log.warning("reefknot: %d 'yes' rows had no 'no' row after them on the same image: "
                        "their pairs are not scored", self._unpaired)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variant": self.variant,
            "source": "JackChen-seu/Reefknot RLC-bench/neok_code/utils.py @3811890",
            "pairs": "a 'yes' row and the 'no' row right after it on the same image"}
        if self._unpaired:
            out["unpaired_yes_rows"] = self._unpaired
        return out


def _label_of(record: Record) -> str | None:
    """The row's label: ``yes``/``no`` or a choice letter (``metadata["label"]``)."""
    label = record.label or (record.metadata or {}).get("label")
    return str(label).strip() if label is not None and str(label).strip() else None


def _image_of(record: Record) -> Any:
    return record.image_id if record.image_id is not None else record.image


def _bad(record: Record, message: str, field: str) -> RecordError:
    src = record.source
    return RecordError(message, field=field, file=src.file if src else None,
                       line=src.line if src else None)


def pair_rows(rows: Sequence[tuple[int, int | None, str, Any]]) -> dict[int, int | str]:
    """How the yes/no rows of one file pair up: ``rows`` are ``(position, line, label, image)``
    in file order; the result maps a position to its slot (1 or 2) or, for a row no pair holds,
    to the reason. A pair is a ``yes`` row and the ``no`` row right after it on the same image
    (Reefknot's layout, lines 1-2, 3-4, ...); a row that is not is left unpaired, so one missing
    line costs its own pair only."""
    out: dict[int, int | str] = {}
    i = 0
    while i < len(rows):
        at, line, label, image = rows[i]
        nxt = rows[i + 1] if i + 1 < len(rows) else None
        if label.lower() == "yes" and nxt is not None and nxt[0] == at + 1 \
                and nxt[2].lower() == "no" and nxt[3] == image:
            out[at], out[nxt[0]] = 1, 2
            i += 2
            continue
        if label.lower() == "yes":
            got = "no further row" if nxt is None or nxt[0] != at + 1 else \
                f"line {nxt[1]}: label {nxt[2]!r} on image {nxt[3]}"
            out[at] = (f"expected the 'no' question on the same image (image {image}) right "
                       f"after this 'yes' question, got {got}: a row is missing or out of "
                       f"order, so the pair is not scored")
        else:
            prev = rows[i - 1] if i > 0 and rows[i - 1][0] == at - 1 else None
            got = "no row before it" if prev is None else \
                f"line {prev[1]}: label {prev[2]!r} on image {prev[3]}"
            out[at] = (f"expected this 'no' question right after the 'yes' question on the same "
                       f"image (image {image}), got {got}: a row is missing or out of order, so "
                       f"the pair is not scored")
        i += 1
    return out
