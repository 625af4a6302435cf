"""MMHal-Bench (Sun et al., 2023, LLaVA-RLHF): a judge rates each of 96 answers 0-6.

The judge (``mmhal_rating`` prompt: the original review prompt, byte for byte) reads the image's
contents, the question, the human answer and the model's answer and ends with ``Rating: N``.
Reported: ``average_score`` (mean rating, 0-6), ``hallucination_rate`` (share rated below 3) and
both per question type (eight types); ``informativeness`` as RLAIF-V's
summarize_gpt_mmhal_review.py computes it (the mean of ``s - 3`` for ratings of 3 or more, else
``s``, over 3: the 0-3 informativeness scale the rating encodes; it prints the percentage).

Variants (``options["mmhal_variant"]``):

``original``
    llava-rlhf/LLaVA-RLHF@830a083 Eval/eval_gpt_mmhal.py (the same rules in RLAIF-V): the rating
    is the single N in 0..6 for which ``"rating: N"`` occurs in the lower-cased text; none or
    several -> **0**, silently (and so counted as a hallucination); ``"Rating: 10"`` reads as 1
    and ``"Rating: 3.5"`` as 3. The question type is the record's position modulo 8, so the 96
    records must be in template order. ``parse_fallback_to_0`` counts the silent zeros.
``refined``
    The same prompt; the rating must be a whole ``Rating: N`` (the same N wherever it occurs).
    Anything else is *unverifiable*: counted in ``unverifiable``, left out of both averages,
    never 0. The question type is the row's own ``question_type``.

Input: the template layout (the 96 rows of ``mmhal-bench_answer_template.json`` with
``model_answer``) or RLAIF-V's JSON Lines (``answer``/``text``/``model_answer`` per line, merged
with the template given as ``--option mmhal_template=PATH``; ``"Assistant:"`` is removed and the
answer stripped, as RLAIF-V's merge does). RLAIF-V's merge pairs the i-th line with the i-th
template row; halluscope pairs a line by its ``question_id`` (the template row's 0-based index)
where it has one, else by position with the counts checked first, and a line whose own question
is not its row's is a bad record (:mod:`halluscope.metrics.question_align`): two swapped lines
were judged against each other's questions. A row without the question, standard answer or image
contents the judge prompt is built from is a bad record (the original fails on it). A template
row answered twice is scored twice, as the original scores every line, and counted
(``repeated_answers``); a template row never answered is counted (``unanswered``); both are said
(:mod:`halluscope.metrics.repeats`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from halluscope.errors import CacheMiss, ConfigError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.question_align import RowAligner, rows_of
from halluscope.metrics.repeats import (UNANSWERED, UNANSWERED_NOT_PAIRED, Repeats,
                                        describe_unanswered, unanswered_result,
                                        warn_unanswered)
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.record_fields import image_field
from halluscope.records import Record
from halluscope.textfiles import read_json_file

log = logging.getLogger(__name__)

VARIANTS = ("original", "refined")
USE = "mmhal_rating"
#: Question types in template order (``i % 8``).
QUESTION_TYPES = ("attribute", "adversarial", "comparison", "counting", "relation",
                  "environment", "holistic", "other")
TEMPLATE_SIZE = 96


def original_rating(judge_text: str | None) -> tuple[int, bool]:
    """(rating, fell back to 0) as the original reads the judge's text."""
    low = (judge_text or "").lower()
    found = [s for s in range(7) if f"rating: {s}" in low]
    if len(found) == 1:
        return found[0], False
    return 0, True


def _informative(rating: int) -> float:
    """A rating's informativeness, 0-3, as RLAIF-V's summary reads it: the rating less 3 when
    it is 3 or more (no hallucination), else the rating itself."""
    return float(rating - 3 if rating >= 3 else rating)


def _stats() -> dict[str, Statistic]:
    return {
        "average_score": Statistic(lambda s: ratio(s["score"], s["rated"]), higher_is_better=True,
                                   units="rated"),
        "hallucination_rate": rate(lambda s: ratio(s["hallucinated"], s["rated"]), units="rated",
                                   proportion=True),
        "informativeness": Statistic(lambda s: ratio(s["informative"], s["rated"]) / 3,
                                     higher_is_better=True, units="rated"),
        "rated": Statistic(lambda s: s["rated"], count=True),
        "unverifiable": Statistic(lambda s: s["unverifiable"], count=True),
        "parse_fallback_to_0": Statistic(lambda s: s["fallback"], count=True),
    }


#: What the judge prompt is built from, per question row: the original formats these into it
#: (``template.format(..., record['question'], record['gt_answer'], ...)``): a missing one is a
#: KeyError there, a null one the text "None"; halluscope sent an empty section.
PROMPT_FIELDS = ("question", "gt_answer")


def missing_prompt_field(row: dict[str, Any]) -> tuple[str, str] | None:
    """``(field, what it holds)`` for the first field of the judge prompt that ``row`` lacks
    (absent, null or not text; ``image_content`` must be a list), else ``None``."""
    for key in PROMPT_FIELDS:
        if not isinstance(row.get(key), str):
            return key, "nothing" if key not in row else f"{type(row[key]).__name__} " \
                f"{row[key]!r:.40}"
    contents = row.get("image_content")
    if not isinstance(contents, list):
        return "image_content", "nothing" if "image_content" not in row else \
            f"{type(contents).__name__} {contents!r:.40}"
    return None


def _missing_message(field: str, got: str) -> str:
    return (f"expected {'a list of object names' if field == 'image_content' else 'text'} in "
            f"{field!r}, which the judge prompt is built from, got {got}: the original scorer "
            f"cannot rate this row (it fails on a missing field and sends 'None' for a null "
            f"one), so it is not judged")


def _prompt_values(row: dict[str, Any], answer: str) -> dict[str, str]:
    """What the rating prompt is filled with, for a question row and the answer."""
    return {"image_content": ", ".join(map(str, row["image_content"])),
            "question": row["question"], "standard_answer": row["gt_answer"], "response": answer}


def load_template(path: str | Path) -> list[dict[str, Any]]:
    """The 96 question rows of ``mmhal-bench_answer_template.json`` (each with the question, the
    standard answer and the image contents the judge prompt is built from)."""
    rows = read_json_file(path, "the MMHal-Bench template (a JSON array of question rows)")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ConfigError(f"{path}: expected a JSON array of MMHal-Bench question rows")
    for i, row in enumerate(rows):
        missing = missing_prompt_field(row)
        if missing is not None:
            raise ConfigError(f"{path}: row {i} (0-based): {_missing_message(*missing)}")
    return rows


def _image_names(row: Mapping[str, Any]) -> set[str]:
    """What names a template row's image: its ``image_id``, its ``image_src`` URL, that file's
    name and stem (``query --benchmark mmhal`` saves it so)."""
    names = {str(row.get("image_id") or "")}
    src = str(row.get("image_src") or "")
    base = src.rsplit("/", 1)[-1]
    names |= {src, base, base.rsplit(".", 1)[0]}
    return names - {""}


def _check_image(record: Record, template: list[dict[str, Any]], index: int, mode: str) -> None:
    """A line paired with template row ``index`` whose image is another row's answers that
    row's question, whatever its question_id says (RLAIF-V's muffin_vqa.py numbers every
    --num-chunks chunk from 0): a bad record, never judged against the wrong image, which the
    question check misses where several rows ask the same ("Describe the image in detail.")."""
    image = record.image
    if image is None or image in _image_names(template[index]):
        return
    base = image.replace("\\", "/").rsplit("/", 1)[-1]
    for n, row in enumerate(template):
        if n != index and {image, base, base.rsplit(".", 1)[0]} & _image_names(row):
            raise RecordError(f"expected the image of template row {index} "
                              f"({template[index].get('image_id')!r}), got {image!r}, the image "
                              f"of row {n}: answers and questions are misaligned (paired by "
                              f"{mode})", field=image_field(record))


def _without_contents(record: Record) -> bool:
    """An answer line that needs its template row (the template layout carries its own)."""
    return "image_content" not in record.metadata


class MMHalMetric(Metric):
    """MMHal-Bench average score and hallucination rate (see the module docstring)."""

    name: ClassVar[str] = "mmhal"
    headline: ClassVar[tuple[str, ...]] = ("hallucination_rate",)
    #: compare pairs two runs' answers by the template row they answer (payload ``index``):
    #: the template layout's rows carry no id, RLAIF-V's lines a question_id
    pair_field: ClassVar[str] = "index"
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("mmhal_variant", str, "refined", "original or refined (module docstring)",
                     choices=VARIANTS),
        MetricOption("mmhal_template", Path, None, "question template file (image contents "
                     "and standard answers for records without them)"),
        MetricOption("judge", str, None, "judge spec (name in judges/ or a .toml path)",
                     config_field=True),
    )
    columns: ClassVar[tuple[str, ...]] = ("rated", "score", "hallucinated", "unverifiable",
                                          "fallback", "informative")
    statistics: ClassVar[dict[str, Statistic]] = _stats()
    meanings: ClassVar[dict[str, str]] = {
        "average_score": "mean judge rating of the rated answers, 0-6 (6: very informative, "
                         "no hallucination; below 3: a hallucination); higher is better",
        "hallucination_rate": "share of the rated answers rated below 3, i.e. with a "
                              "hallucination (original: an unread rating is 0); lower is better",
        "informativeness": "mean informativeness on the rating's 0-3 scale (rating - 3 from "
                           "3 up, else the rating) over 3, as RLAIF-V's summary; higher is better",
        "rated": "answers given a rating (original: a judge text it cannot read gives 0)",
        "unverifiable": "answers left without a rating (the judge call failed; refined: its "
                        "text held no single 'Rating: N'), out of both averages",
        "parse_fallback_to_0": "original: answers rated 0 because the judge's text held no "
                               "single 'rating: N' (each counts as a hallucination)",
        "unanswered": "questions of the 96-question template that no scored answer answered"}
    NOT_PAIRED: ClassVar[dict[str, str]] = UNANSWERED_NOT_PAIRED

    @classmethod
    def declared_statistics(cls, config) -> dict[str, Statistic]:
        """Its statistics and ``unanswered`` (:meth:`compute`): gates checked before scoring."""
        return {**cls.statistics, "unanswered": UNANSWERED}

    def __init__(self, *, judge: Any, variant: str = "refined",
                 template: list[dict[str, Any]] | None = None, **kw):
        if variant not in VARIANTS:
            raise ConfigError(f"expected mmhal_variant in {VARIANTS}, got {variant!r}")
        if judge is None:
            raise ConfigError("MMHal-Bench is scored by a judge: pass --judge mmhal-gpt-4-0314 "
                              "(LLaVA-RLHF's), --judge mmhal-gpt-4-1106-preview (RLAIF-V's) "
                              "or --judge mmhal-gpt-4o-2024-08-06")
        self.variant = variant
        self.judge = judge
        self.template = template
        self.aligner = None if template is None else RowAligner(
            rows_of("the MMHal-Bench template", template, ("question",)),
            "the MMHal-Bench template", needs_row=_without_contents)
        self._judge_info: dict[str, Any] | None = None
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw) -> "MMHalMetric":
        args: dict[str, Any] = {"variant": cls.option(config, "mmhal_variant"),
                                "n_boot": config.n_boot, "seed": config.seed,
                                "confidence": config.confidence}
        if cls.option(config, "mmhal_template"):
            args["template"] = load_template(cls.option(config, "mmhal_template"))
        args.update(kw)
        if "judge" not in args:
            from halluscope.judges.loading import judge_from_config
            args["judge"] = judge_from_config(config)
        return cls(**args)

    def applies_to(self, record: Record) -> bool:
        return record.response is not None and (
            "image_content" in record.metadata or self.template is not None)

    def skip_reason(self, record: Record) -> str:
        """An answer line without its question row (RLAIF-V's JSONL: ``question_id``, ``answer``)
        says what it lacks: the template, which was given nowhere (it was "not a mmhal item")."""
        if record.response is not None and "image_content" not in record.metadata \
                and self.template is None:
            return (f"an answer line without its question row (image contents, question, gt "
                    f"answer): pass --option mmhal_template=PATH "
                    f"(mmhal-bench_answer_template.json, {TEMPLATE_SIZE} rows)")
        return super().skip_reason(record)

    def begin(self, inputs) -> None:
        """Refuse an answer file paired with the template by position whose answer count is not
        the template's row count (:meth:`RowAligner.begin`)."""
        if self.aligner is not None:
            self.aligner.begin(inputs)

    def _row(self, record: Record) -> tuple[dict[str, Any], str, int]:
        """The question row, the answer as the original sends it and the row's index."""
        from halluscope.metrics.positions import position
        md = record.metadata
        if "image_content" in md:
            row = {**md, "question": record.prompt}
            missing = missing_prompt_field(row)
            if missing is not None:
                raise RecordError(_missing_message(*missing), field=missing[0],
                                  file=record.source.file, line=record.source.line)
            return row, record.response or "", position(record) or 0    # blank lines aside
        if self.template is None or self.aligner is None:
            raise ConfigError(f"{record.source.file}:{record.source.line}: an answer line "
                              f"without its question: pass --option mmhal_template=PATH "
                              f"(mmhal-bench_answer_template.json, {TEMPLATE_SIZE} rows)")
        index, mode = self.aligner.index(record)    # by question_id, else by position
        _check_image(record, self.template, index, mode)
        answer = (record.response or "").replace("Assistant:", "").strip()
        return self.template[index], answer, index

    def ask_judge_ahead(self, records: list[Record]) -> Any:
        """Ask the judge the rating questions of ``records`` together, those whose row
        :meth:`score` finds (:mod:`halluscope.metrics.judge_ahead`); the judge asked."""
        from halluscope.metrics.judge_ahead import asker
        ask = asker(self.judge)
        if ask is None:
            return None
        questions = []
        for record in records:
            try:
                row, answer, _ = self._row(record)
            except Exception:       # a bad record: score says so, and asks nothing
                continue
            questions.append((USE, _prompt_values(row, answer)))
        ask(questions)
        return self.judge

    def score(self, record: Record) -> ItemScore:
        row, answer, position = self._row(record)
        if self.variant == "original":
            qtype = QUESTION_TYPES[position % 8]
        else:
            qtype = str(row.get("question_type") or QUESTION_TYPES[position % 8])
        try:
            ans = self.judge.ask_sync(USE, **_prompt_values(row, answer))
        except CacheMiss as exc:
            raise exc.for_record(record.id, record.source.file, record.source.line) from None
        payload: dict[str, Any] = {"index": position, "question_type": qtype,
                                   "judge_raw": ans.raw}
        if ans.raw is None:     # the call failed, or its reply was cut at max_tokens: not read
            payload.update(rating=None, verdict="unverifiable", judge_error=ans.error)
            if ans.cut is not None:
                payload["judge_cut_reply"] = ans.cut
            return ItemScore(payload, (0.0, 0.0, 0.0, 1.0, 0.0, 0.0), groups=(qtype,))
        if self.variant == "original":
            rating, fallback = original_rating(ans.raw)
            payload.update(rating=rating, parse_fallback_to_0=fallback,
                           hallucination=int(rating < 3))
            return ItemScore(payload, (1.0, float(rating), float(rating < 3), 0.0,
                                       float(fallback), _informative(rating)), groups=(qtype,))
        if ans.label is None:
            payload.update(rating=None, verdict="unverifiable", judge_error=ans.error)
            return ItemScore(payload, (0.0, 0.0, 0.0, 1.0, 0.0, 0.0), groups=(qtype,))
        rating = int(ans.label)
        payload.update(rating=rating, hallucination=int(rating < 3))
        return ItemScore(payload, (1.0, float(rating), float(rating < 3), 0.0, 0.0,
                                   _informative(rating)), groups=(qtype,))

    def reset(self) -> None:
        super().reset()
        self._repeats = Repeats()                # keyed by the question's template row
        self._pinned = False    # answers of `query --benchmark mmhal`: the 96 rows, in order

    def compute(self):
        """The statistics, and ``unanswered``: the count of the template's rows no scored
        answer answered (0 included; no value where the question set is not known)."""
        summary = super().compute()
        questions = self._questions()
        summary.results["unanswered"] = unanswered_result(
            self._repeats.missing(questions), len(questions), len(self._repeats.seen),
            "the question set is not known: refined scores a file of template rows as its own "
            "question set; pass --option mmhal_template=PATH (the 96-row template) to count "
            "the benchmark's questions never answered")
        return summary

    def fold(self, record: Record, item: ItemScore) -> None:
        self.add(item, record=record)
        self._repeats.note(item.payload["index"])
        if str(record.metadata.get("benchmark", "")).startswith("mmhal@"):
            self._pinned = True

    def merge(self, other: Metric) -> None:
        super().merge(other)
        if isinstance(other, MMHalMetric):
            self._repeats.merge(other._repeats)
            self._pinned = self._pinned or other._pinned

    def _questions(self) -> range:
        """The questions every answer file must answer: the template's rows; on the template
        layout, the 96 rows the original asserts, and those a file of ``query --benchmark
        mmhal`` asks (its lines name ``mmhal@...``; otherwise refined takes the file as the
        question set)."""
        if self.template is not None:
            return range(len(self.template))
        return range(TEMPLATE_SIZE) if self.variant == "original" or self._pinned else range(0)

    def _count_check(self) -> str | None:
        """What the original would assert against: not exactly 96 distinct questions, once
        each (a repeated row counts once among the questions, however many lines it has)."""
        answered = len(self._repeats.seen)
        records = answered + self._repeats.count
        if self.variant != "original" or (answered == records == TEMPLATE_SIZE):
            return None
        return f"{records} records" if records == answered else \
            f"{records} records answering {answered} distinct questions"

    def finish(self) -> None:
        self._repeats.warn(self.name, "a template row")
        questions = self._questions()
        warn_unanswered(self.name, self._repeats.missing(questions), len(questions),
                        "template rows (0-based)")
        got = self._count_check()
        if got is not None:
            log.warning("mmhal original: %s, but the original asserts %d in template order and "
                        "takes each one's question type from its position: a missing, repeated "
                        "or extra row shifts the types of every later one", got, TEMPLATE_SIZE)
        self._warn_fallbacks()
        if self._judge_info is None:
            from halluscope.judges.fallback import judge_info
            self._judge_info = judge_info(self.judge, USE)
            self.judge.close()

    def _warn_fallbacks(self) -> None:
        """Say how many judge answers the original variant scored 0 for want of a rating (a
        refusal, a reply without "Rating: N"): each counts as a hallucination, as in the
        original, but only the table's ``parse_fallback_to_0`` row showed it."""
        if self.variant != "original":
            return
        self.flush()
        sums = self.state.sums()
        fell, rated = int(sums["fallback"]), int(sums["rated"])
        if fell and fell < rated:       # all of them: the run fails as deciding nothing
            log.warning("mmhal original: %d of %d judge answers held no rating the original "
                        "reads, each scored 0 and counted as a hallucination, as the original "
                        "does (parse_fallback_to_0; each item's judge_raw shows the answer); "
                        "mmhal_variant=refined leaves such an answer unverifiable", fell, rated)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variant": self.variant,
            "source": "llava-rlhf/LLaVA-RLHF@830a083 Eval/eval_gpt_mmhal.py",
            "question_type": "position % 8" if self.variant == "original" else "row's own",
        }
        got = self._count_check()
        if got is not None:
            out["warning"] = (f"the original asserts {TEMPLATE_SIZE} records in template order; "
                              f"got {got}")
        self._repeats.describe(out)
        describe_unanswered(out, self._repeats.missing(self._questions()))
        self.flush()
        sums = self.state.sums()
        if self.variant == "original" and sums["rated"] and sums["fallback"] == sums["rated"]:
            # the original reads an answer without a rating as 0: when every one fell back, the
            # scores are its default, not the judge's (pipeline: the run fails, exit 2)
            out["decided_nothing"] = (f"every one of the {int(sums['rated'])} judge answers "
                                      f"had no rating the original could read, each scored 0 "
                                      f"(parse_fallback_to_0)")
        from halluscope.judges.fallback import judge_info
        out.update(self._judge_info or judge_info(self.judge, USE))
        return out


__all__ = ["MMHalMetric", "QUESTION_TYPES", "VARIANTS", "load_template", "original_rating"]
