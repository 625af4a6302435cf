"""HallusionBench (Guan et al., CVPR 2024): aAcc, fAcc and qAcc, per category and subcategory.

HallusionBench asks yes/no questions about figures, in groups: a *figure* (category,
subcategory, set, figure) carries several questions, and a *question pair* (category,
subcategory, set, question) asks the same question of the original and of edited figures.

* aAcc -- share of questions answered correctly;
* fAcc -- share of figures whose questions are all answered correctly;
* qAcc -- share of question pairs answered correctly on every figure.

Variants (``options["hallusionbench_variant"]``):

``original``
    tianyi-lab/HallusionBench@744007c (evaluation.py + utils.py). Input: the question rows plus
    ``model_prediction`` (``HallusionBench_result.json``). Each answer goes to the judge's
    ``hallusionbench_correctness`` prompt (the original text, byte for byte); the judge's text is
    read by substring: ``incorrect`` anywhere -> 0, else ``correct`` anywhere -> 1, else 2
    (unclear). A question is correct when the code is 1, or -- for a VS question without an
    image -- when it is 1 or 2 (so an empty or refused judge answer counts as correct there).
    fAcc leaves out the image-less VS rows. It also reports ``easy_qacc`` / ``hard_qacc``, the
    Yes/No bias and figure consistency of evaluation.py's last table (as ``refined`` does;
    :mod:`~halluscope.metrics.hallusionbench_bias`) and, in the run sheet, the consistency
    check's LH / VI / Mixed diagnosis (:mod:`halluscope.metrics.hallusionbench_diagnosis`).
``vlmevalkit``
    open-compass/VLMEvalKit@e8e78f0 keyword path (``YOrN_Extraction`` after
    ``process_punctuation``; ``Hallusion_rating``), no judge. Input: VLMEvalKit's rows (``index``
    = ``<cat>_<subcat>_<visual_input>_<set>_<figure>_<question>``, ``l2-category``, ``answer``
    Yes/No, ``prediction``). An answer with both or neither of yes/no is ``Unknown``, scored wrong.
``vlmevalkit-v0.2``
    The same as VLMEvalKit read answers from 2024-01-30 to 2025-05-13 (releases v0.1, v0.2,
    which made many published numbers): its full-stop pattern ``(?!<=\\d)(\\.)(?!\\d)`` deleted
    every stop not followed by a digit, those after a digit included, and these used up the 32
    deletions; long answers (a list numbered past 32, many years) can read Unknown where
    @e8e78f0 reads Yes or No (:func:`vlmevalkit_punctuation`).
``refined``
    The original's rows, prompt and rules, except that the judge's text must be exactly one of
    correct / incorrect / unclear: anything else is *unverifiable*, counted in ``unverifiable``
    and left out of every accuracy (with the figure and pair it belongs to, unless another of
    their answers is wrong: they are wrong whatever it is, and counted so), never a default.

Rows: a row without ``question`` or ``gt_answer_details`` (the judge's prompt needs both;
utils.py joins them with ``+`` and stops), whose category is neither VD nor VS (evaluation.py
scores no other), a VS row whose ``figure_id`` is not a whole number (utils.py reads it with
``int()``), a row whose subcategory is no text, whose set, figure or question id is null, empty
or holds ``_`` (the names utils.py joins with ``_``), or whose visual_input is not 0, 1 or 2 is
a bad record naming its field. The ``original`` variant refuses a question answered twice by one
model (utils.py's ``get_eval_all`` asserts each question once) and a pair answered without its
figure-0 question (utils.py looks that answer up: KeyError): the run
stops with exit 2 and gives no number; the others score every row and count the repeats.

Whose answers: figures and question pairs are keyed by the record's ``model`` as well (whatever
``--by`` says: other ``--by`` groups only report), so one file holding two models' answers gives
each model's figures and pairs (and ``model:...`` groups), never pooled ones.

Coverage: each question set is a grid (each figure asks each question); a figure or pair lacking
one of its set's questions is never counted fully correct by ``refined``: counted wrong where it
already holds a wrong answer (determined), else left out; the peers' variants count it over the
questions it has, as utils.py and VLMEvalKit do. Questions answered are counted against the
benchmark's (1,129; VLMEvalKit's rows 951) per model: ``info.coverage``, ``unanswered`` and a
warning say what a partial file lacks.

Intervals: Poisson bootstrap clustered by question *set* (category, subcategory, set), the unit
holding both the figures and the pairs, so fAcc and qAcc resample whole units; each set's
weights are drawn from its key (``question_set:<set>``) and the seed by
:mod:`halluscope.metrics.draws`, so any sharding gives the same interval; ``info.bootstrap``
names the unit and counts the sets. Another ``--cluster-by`` is refused (exit 2). ``compare``
pairs questions (aAcc, the unverifiable count, the Yes/No bias from the payload's ``gt_answer``)
by their row, visual_input included (:func:`question_identity`), resampling their sets; it
rebuilds fAcc, qAcc, easy / hard qAcc and the consistency shares figure by figure and pair by
pair (:meth:`compare_groups`).

visual_input: utils.py names a question ``<category>_<subcategory>_<set>_<figure>_<question>``
(asserted once) and groups figures and pairs without it, as VLMEvalKit does, whose rows are told
apart by their ``index``, which holds it. So two rows differing only in visual_input are one
question answered twice for ``original`` (refused) and ``refined`` (a repeat), and two rows for
the keyword variants (both scored); all put both in the same figure and pair, and the easy /
hard split follows each row's own visual_input. In HallusionBench.json each figure is asked
with one visual_input, so none of this moves its numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from halluscope.errors import ConfigError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption, MetricSummary
from halluscope.metrics.draws import block_replicates
from halluscope.metrics.hallusionbench_bias import (BIAS_COLUMNS, BIAS_PAIRED, MEANINGS,
                                                    bias_row, bias_scores, items_tallies,
                                                    question_truth, set_ratios, truth_of,
                                                    variant_statistics)
from halluscope.metrics.hallusionbench_units import (  # noqa: F401  (UNIT_PREFIX re-exported)
    NOT_PAIRED, UNIT_PREFIX, Unit, bare_group_fields, bare_group_problem, check_row_ids, coverage,
    easy_and_hard, expected_total, group_tallies, lone_pairs, no_verdict_info, original_correctness,
    original_is_correct, question_identity, vlmevalkit_extract, warn_coverage, warn_no_verdict)
from halluscope.metrics.pope_parsers import (  # noqa: F401  (vlmevalkit_punctuation re-exported)
    vlmevalkit_punctuation)
from halluscope.metrics.repeats import Repeats
from halluscope.metrics.intervals import decide_interval
from halluscope.metrics.stats import (MIN_UNITS, NO_ITEM_COUNTED, RATE_BOUNDS, MetricResult,
                                      Statistic, rate, ratio)
from halluscope.metrics.units import CLUSTER_DEFAULT, group_names
from halluscope.records import Record

VARIANTS = ("original", "vlmevalkit", "vlmevalkit-v0.2", "refined")
#: The variants that read answers by keywords, VLMEvalKit's way (no judge).
KEYWORD_VARIANTS = ("vlmevalkit", "vlmevalkit-v0.2")
_SOURCES = {"vlmevalkit": "open-compass/VLMEvalKit@e8e78f0 (keyword extraction)",
            "vlmevalkit-v0.2": "open-compass/VLMEvalKit v0.2 (2024-01-30 to 2025-05-13, before "
                               "928a95b0: keyword extraction, its full-stop rule)"}
CORRECTNESS = "hallusionbench_correctness"
#: The benchmark's questions (metrics/benchmarks/hallusionbench.toml: HallusionBench.json has
#: 1,129; VLMEvalKit's rows leave out the 178 asked without a figure).
EXPECTED_QUESTIONS = {"original": 1129, "refined": 1129, "vlmevalkit": 951, "vlmevalkit-v0.2": 951}


# -- per-item bookkeeping ------------------------------------------------------------------
def _imageless(md: dict) -> bool:
    """A HallusionBench row asked without a figure (``visual_input`` 0)."""
    return str(md.get("visual_input", "")) == "0"


def _keys(record: Record, variant: str) -> tuple[str, str, str, str, str, str]:
    """(category, subcategory, visual_input, set, figure, question) of a row."""
    md = record.metadata
    if variant in KEYWORD_VARIANTS and "index" in md:
        index = str(md["index"])
        parts = index.split("_")
        if len(parts) != 6 or not all(p.strip() for p in parts):
            raise RecordError(f"expected VLMEvalKit's index <cat>_<subcat>_<visual_input>_<set>_"
                              f"<figure>_<question>, got {index!r:.80}", field="index",
                              file=record.source.file, line=record.source.line)
        return tuple(parts)  # type: ignore[return-value]
    md = {**md, "question_id": record.question_id} if record.question_id is not None else md
    try:
        keys = tuple(str(md[k]) for k in ("category", "subcategory", "visual_input", "set_id",
                                          "figure_id", "question_id"))
    except KeyError as exc:
        raise RecordError(f"expected HallusionBench's field {exc.args[0]!r} (evaluation.py's "
                          f"input rows), found none", field=exc.args[0],
                          file=record.source.file, line=record.source.line) from None
    if md["category"] not in ("VD", "VS"):   # evaluation.py keeps only data_vd and data_vs
        raise RecordError(f"expected HallusionBench's category VD or VS, got "
                          f"{md['category']!r:.60}: evaluation.py scores no other row",
                          field="category", file=record.source.file, line=record.source.line)
    check_row_ids(md, record.source.file, record.source.line)
    return keys  # type: ignore[return-value]


def set_key(cluster: str) -> str:
    """The bootstrap key of question set ``cluster`` (its weights, its unit in items.jsonl)."""
    return UNIT_PREFIX + cluster


def hallusionbench_scores(units: list[Unit], *, n_boot: int = 0, seed: int = 0,
                          confidence: float = 0.95, easy_hard: bool = False,
                          min_units: int = MIN_UNITS, whole_only: bool = True,
                          bias: bool = False) -> dict[str, MetricResult]:
    """aAcc, fAcc, qAcc (fractions) of ``units`` with cluster-bootstrap intervals; the pure twin
    of :class:`HallusionBenchMetric`. Units whose correctness is ``None`` are left out, with the
    figure and pair they belong to. With ``easy_hard``, also ``easy_qacc`` / ``hard_qacc``: what
    evaluation.py prints as "easy aAcc" / "hard aAcc", which are pair accuracies over the
    questions on original / edited figures. An interval over fewer than ``min_units``
    questions, figures or pairs, or over fewer question sets (the sets holding them), is not
    computed (``ci_note`` says why), as for every metric. ``whole_only``: incomplete figures and
    pairs tallied by the refined rule, else as the peers count them (:func:`group_tallies`).
    ``bias``: also the Yes/No bias and consistency shares (:func:`bias_scores`)."""
    out = _scores(units, n_boot, seed, confidence, min_units, whole_only)
    if easy_hard:
        for name, part in easy_and_hard(units):
            out[name] = dataclasses.replace(
                _scores(part, n_boot, seed, confidence, min_units, whole_only)["qacc"],
                name=name)
    if bias:
        out.update(bias_scores(units, n_boot, seed, confidence, min_units, whole_only))
    return out


def _scores(units: list[Unit], n_boot: int, seed: int, confidence: float,
            min_units: int = MIN_UNITS, whole_only: bool = True) -> dict[str, MetricResult]:
    clusters = sorted({u.cluster for u in units})
    index = {c: i for i, c in enumerate(clusters)}
    counts = np.zeros((len(clusters), 6))  # q_ok q_n f_ok f_n p_ok p_n
    for u in units:
        if u.correct is not None:
            counts[index[u.cluster], 0] += u.correct
            counts[index[u.cluster], 1] += 1
    for col, table in zip((2, 4), group_tallies(units, whole_only)):  # figures, pairs
        for _, right, counted, cluster in table.values():
            counts[index[cluster], col] += right
            counts[index[cluster], col + 1] += counted
    reps = None
    if n_boot and clusters:     # each set's weights drawn from its key, as every metric's
        reps = block_replicates(counts, [set_key(c) for c in clusters], n_boot, seed,
                                integers=True)
    out = {}
    for name, col in (("aacc", 0), ("facc", 2), ("qacc", 4)):
        den = counts[:, col + 1].sum()
        value = counts[:, col].sum() / den if den else float("nan")
        # the sets this statistic is over (a set whose figures are all incomplete adds no
        # figure to fAcc): an interval needs min_units units and sets, as every metric's
        over = int((counts[:, col + 1] > 0).sum())
        ci = reason = None
        if reps is not None:    # a score interval where every set is all right (or wrong)
            ci, reason = decide_interval(int(den), over, min_units, confidence,
                                         lambda col=col: set_ratios(reps, col),
                                         score=(float(value), over))
        out[name] = MetricResult(name, float(value), int(den), True, ci, confidence if ci else None,
                                 bounds=RATE_BOUNDS, ci_note=reason.note if reason else None,
                                 clusters=over, ci_reason=reason,
                                 ci_method=reason.method if ci is not None and reason else None)
    n_unv = sum(u.correct is None for u in units)
    out["unverifiable"] = MetricResult("unverifiable", n_unv if units else None, len(units),
                                       False, why_no_value=None if units else NO_ITEM_COUNTED)
    return out


class HallusionBenchMetric(Metric):
    """HallusionBench's aAcc / fAcc / qAcc (see the module docstring)."""

    name: ClassVar[str] = "hallusionbench"
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("hallusionbench_variant", str, "refined", "original, vlmevalkit, "
                     "vlmevalkit-v0.2 or refined (module docstring)", choices=VARIANTS),
        MetricOption("judge", str, None, "judge spec (name in judges/ or a .toml path)",
                     config_field=True),
    )
    columns: ClassVar[tuple[str, ...]] = ("questions", "correct", "unverifiable", "decided")
    statistics: ClassVar[dict[str, Statistic]] = {}
    meanings: ClassVar[dict[str, str]] = MEANINGS     # of what its variant reports, in words
    #: What ``compare`` recomputes from the items' rows: aAcc, over the decided questions, and
    #: the questions left unverifiable (a count, without an interval).
    PAIRED: ClassVar[dict[str, Statistic]] = {
        "aacc": rate(lambda s: ratio(s["correct"], s["decided"]), higher_is_better=True,
                     units="decided", proportion=True),
        "unverifiable": Statistic(lambda s: s["unverifiable"], count=True)}

    def __init__(self, *, variant: str = "refined", judge: Any = None, **kw):
        if variant not in VARIANTS:
            raise ConfigError(f"expected hallusionbench_variant in {VARIANTS}, got {variant!r}")
        if variant not in KEYWORD_VARIANTS and judge is None:
            raise ConfigError(f"the {variant!r} HallusionBench variant puts every answer to a "
                              f"judge: pass --judge hallusionbench-gpt-4 (or use "
                              f"hallusionbench_variant=vlmevalkit, which needs none)")
        self.variant, self.judge = variant, judge
        self._judge_info: dict[str, Any] | None = None
        super().__init__(**kw)

    #: What ``compare`` rebuilds from the items and pairs group by group: statistic -> its
    #: groups (:meth:`compare_groups`); the last five only where the variant reports them.
    GROUPED: ClassVar[dict[str, str]] = {
        "facc": "figures", "qacc": "question pairs",
        "easy_qacc": "easy question pairs (no figure or the original)",
        "hard_qacc": "hard question pairs (edited figures)",
        "consistency_inconsistent": "figures", "consistency_wrong": "figures",
        "figure_score": "figures"}
    #: Of those, the statistics with no better direction, the means of each group's share right
    #: (not a share of groups); what compare does not pair, and why
    UNDIRECTED: ClassVar[frozenset] = frozenset({"consistency_inconsistent", "consistency_wrong"})
    MEANS: ClassVar[frozenset] = frozenset({"figure_score"})
    NOT_PAIRED: ClassVar[dict[str, str]] = NOT_PAIRED
    bare_group_problem = staticmethod(bare_group_problem)   # its groups, checked before scoring
    bare_group_fields = staticmethod(bare_group_fields)     # their fields, for @FIELD:* gates

    @classmethod
    def declared_statistics(cls, config) -> dict[str, Statistic]:
        """What its variant reports (:func:`variant_statistics`): gates checked before scoring."""
        judged = cls.option(config, "hallusionbench_variant") not in KEYWORD_VARIANTS
        return variant_statistics(judged)

    @classmethod
    def statistics_for(cls, info) -> dict[str, Statistic] | None:
        """aAcc and the unverifiable count (:data:`PAIRED`): sums over questions, which
        compare pairs one by one and resamples by question set (each item's unit); the
        groups' statistics it rebuilds from the items (:meth:`compare_groups`)."""
        return dict(cls.PAIRED)

    @classmethod
    def compare_groups(cls, info, scored) -> dict[str, dict[str, tuple[str, int, int, str]]]:
        """What compare pairs group by group, rebuilt from a run's items.jsonl lines as the
        audit tallies them (:func:`~halluscope.metrics.hallusionbench_bias.items_tallies`):
        statistic -> key -> (whose answers, right, counted, the question set's bootstrap key).
        ValueError where the lines cannot say."""
        variant = info.get("variant")
        if variant not in VARIANTS:
            raise ValueError(f"its results.json names no hallusionbench variant "
                             f"(info.variant: {variant!r})")
        return items_tallies(scored, variant in KEYWORD_VARIANTS, variant == "refined")

    @classmethod
    def compare_item_statistics(cls, info) -> tuple[tuple[str, ...], dict[str, Statistic]]:
        """The statistics compare pairs question by question from rows it reads off each
        items.jsonl line (:meth:`compare_item_row`): the judged variants' Yes/No bias."""
        judged = info.get("variant") in VARIANTS and info.get("variant") not in KEYWORD_VARIANTS
        return BIAS_COLUMNS, (dict(BIAS_PAIRED) if judged else {})

    compare_item_row, compare_truth = staticmethod(bias_row), staticmethod(question_truth)

    @classmethod
    def compare_identity(cls, item) -> tuple[str, str]:
        """The question an items.jsonl line answers (its visual_input included), and whose
        answer it is, which compare pairs aAcc by (:func:`question_identity`), never by the
        line's order."""
        return question_identity(item)

    @classmethod
    def from_config(cls, config, **kw) -> "HallusionBenchMetric":
        variant = cls.option(config, "hallusionbench_variant")
        args: dict[str, Any] = {"variant": variant, "n_boot": config.n_boot, "seed": config.seed,
                                "confidence": config.confidence}
        args.update(kw)
        if "judge" not in args and variant not in KEYWORD_VARIANTS and config.judge:
            from halluscope.judges.loading import judge_from_config
            args["judge"] = judge_from_config(config)
        return cls(**args)

    def reset(self) -> None:
        super().reset()
        self.units: list[Unit] = []
        self._codes: dict[str, int] = {}
        self._no_verdict = 0        # original: judge answers read as unclear for holding none
        self._answered: list = []
        self._diagnosis: dict[str, Any] | None = None
        self._taken, self._late = 0, {}     # items taken; position -> late fields
        self._repeats = Repeats()
        self._first_repeat: str | None = None
        self._coverage: dict[str, Any] | None = None

    def begin(self, inputs) -> None:
        """Refuse a ``--cluster-by`` it cannot honour: fAcc and qAcc need whole figures and
        question pairs in each resampling unit, so the unit is the question set (which holds
        both), whatever field is named."""
        if self.cluster_by != CLUSTER_DEFAULT:
            unit, origin = self.cluster_by or "item", getattr(self, "cluster_by_origin", None)
            said, out = ((f"cluster_by = {unit!r} (set in {origin})", f"cluster_by out of "
                          f"{origin.rpartition(':')[0] or origin}") if origin else
                         (f"--cluster-by {unit}", "--cluster-by out"))
            raise ConfigError(f"hallusionbench resamples whole question sets (the unit holding "
                              f"both its figures and its question pairs, which fAcc and qAcc "
                              f"need), not by {said}: leave {out} (and audit metrics that need "
                              f"it in a run of their own)")

    def applies_to(self, record: Record) -> bool:
        """A VLMEvalKit row (``index``), or a row of HallusionBench's own question file
        (``category`` ...; for the vlmevalkit variant with its ``gt_answer``), as ``halluscope
        query --benchmark hallusionbench`` writes them."""
        md = record.metadata
        if record.response is None:
            return False
        if self.variant in KEYWORD_VARIANTS:
            return "index" in md or ("category" in md and not _imageless(md) and (
                "gt_answer" in md or record.label is not None))
        return "category" in md

    def skip_reason(self, record: Record) -> str:
        if self.variant in KEYWORD_VARIANTS and record.response is not None and _imageless(
                record.metadata) and "index" not in record.metadata:
            return ("an image-less question (visual_input 0): VLMEvalKit's HallusionBench has "
                    "none, so its variant leaves them out")
        return super().skip_reason(record)

    def score(self, record: Record) -> ItemScore:
        cat, sub, visual, set_id, fig, qid = _keys(record, self.variant)
        by = group_names(record, self.by)       # the groups it reports in
        # whose answers: the model alone (each model answers every question), never the other
        # --by groups, which split the questions and would each be counted against all of them
        part = f"model:{record.model}" if record.model else ""
        # a repeat is a question answered again: VLMEvalKit's rows by their index (which holds
        # visual_input), utils.py's by the name get_eval_all asserts once (which does not)
        seen = (visual,) if self.variant in KEYWORD_VARIANTS else ()
        payload: dict[str, Any] = {"key": "_".join((cat, sub, set_id, fig, qid)),
                                   "category": cat, "subcategory": sub, "visual_input": visual,
                                   "_seen": (part, cat, sub, *seen, set_id, fig, qid)}
        if self.variant in KEYWORD_VARIANTS:
            l2 = str(record.metadata.get("l2-category") or f"{cat}_{sub}")
            truth = {"yes": "Yes", "no": "No"}.get(record.label or "")
            if "index" not in record.metadata and "gt_answer" in record.metadata:
                # HallusionBench's own row: gt_answer 1 / 0 (lmms-eval's reader has already
                # read doc.gt_answer as the label, so a row without it keeps that)
                truth = {"1": "Yes", "0": "No"}.get(str(record.metadata.get("gt_answer")))
            if truth is None and "index" not in record.metadata:
                raise RecordError(f"expected the truth in 'gt_answer' as 1 or 0, got "
                                  f"{record.metadata.get('gt_answer')!r}", field="gt_answer",
                                  file=record.source.file, line=record.source.line)
            if truth is None:       # (a row without 'prediction' is a bad record when read)
                got = record.metadata.get("answer", record.metadata.get("label"))
                raise RecordError("expected VLMEvalKit's truth Yes or No in 'answer', " + (
                    f"got {got!r:.80}" if got is not None else "found none (no benchmark row)"),
                                  field="answer", file=record.source.file,
                                  line=record.source.line)
            extracted = vlmevalkit_extract(record.response, self.variant)
            correct: bool | None = extracted == truth
            payload.update(index=str(record.metadata.get("index", "_".join(
                               (cat, sub, visual, set_id, fig, qid)))), answer=truth,
                           extracted=extracted, score=correct)
            stem = f"{l2}_{set_id}"
            unit = Unit(stem, f"{part}|{stem}_{fig}", f"{part}|{stem}_{qid}", correct,
                        (cat, l2, *by), visual == "2", part, (fig, qid), visual)
        else:
            correct = self._judged(record, cat, fig, payload)
            if self.variant == "original" and "gpt4v_output_gpt_check" in payload:
                from halluscope.metrics.hallusionbench_diagnosis import Answered
                payload["_answered"] = Answered(cat, sub, set_id, fig, qid, visual,
                                                payload["gpt4v_output_gpt_check"],
                                                record.response or "", part)
            stem = f"{cat}_{sub}_{set_id}"
            figure = None if (cat == "VS" and fig == "0") else f"{part}|{stem}_{fig}"
            payload["gt_answer"] = record.metadata.get("gt_answer")   # compare's bias reads it
            unit = Unit(stem, figure, f"{part}|{stem}_{qid}", correct,
                        (cat, f"{cat}_{sub}", *by), visual == "2", part, (fig, qid),
                        truth=truth_of(payload["gt_answer"]))
        payload["correct"] = correct
        payload["_unit"] = unit
        return ItemScore(payload=payload, row=(1.0, float(bool(correct)), float(correct is None),
                                               float(correct is not None)),
                         groups=unit.groups, unit=set_key(unit.cluster))

    def _question(self, record: Record) -> dict[str, str]:
        """What the correctness prompt is filled with; a bad record lacks what it needs."""
        where = {"file": record.source.file, "line": record.source.line}
        if record.prompt is None:       # utils.py joins the prompt with +: it never sends ""
            raise RecordError("expected the question (a string) the judge is shown, found "
                              "none", field="question", **where)
        reference = record.metadata.get("gt_answer_details")
        if not isinstance(reference, str):
            raise RecordError(f"expected the reference answer as a string for the judge, got "
                              f"{'none' if reference is None else type(reference).__name__}",
                              field="gt_answer_details", **where)
        return {"question": record.prompt, "reference": reference,
                "prediction": record.response or ""}

    def ask_judge_ahead(self, records: list[Record]) -> Any:
        """Ask the judge the correctness questions of ``records`` together, those that
        :meth:`score` reaches its call with (:mod:`halluscope.metrics.judge_ahead`)."""
        from halluscope.metrics.judge_ahead import asker
        ask = asker(self.judge) if self.variant not in KEYWORD_VARIANTS else None
        if ask is None:
            return None
        questions = []
        for record in records:
            try:        # what score checks before the judge is asked, in its order
                _keys(record, self.variant)
                group_names(record, self.by)
                questions.append((CORRECTNESS, self._question(record)))
            except Exception:       # a bad record: score says so, and asks nothing
                continue
        ask(questions)
        return self.judge

    def _judged(self, record: Record, cat: str, fig: str, payload: dict) -> bool | None:
        values = self._question(record)
        from halluscope.errors import CacheMiss
        try:
            ans = self.judge.ask_sync(CORRECTNESS, **values)
        except CacheMiss as exc:
            raise exc.for_record(record.id, record.source.file, record.source.line) from None
        payload.update(judge_raw=ans.raw, judge_label=ans.label)
        if ans.raw is None:     # the call failed, or its reply was cut at max_tokens: not read
            payload.update(verdict="unverifiable", judge_error=ans.error)
            if ans.cut is not None:
                payload["judge_cut_reply"] = ans.cut
            return None
        if self.variant == "original":
            code = original_correctness(ans.raw)
            payload["gpt4v_output_gpt_check"] = code
            if code == "2" and ans.label is None:   # no verdict at all, not the judge's unclear
                payload["_no_verdict"] = True
            return original_is_correct(code, cat, fig)
        if ans.label is None:
            payload.update(verdict="unverifiable", judge_error=ans.error)
            return None
        code = {"incorrect": "0", "correct": "1", "unclear": "2"}[ans.label]
        payload["gpt4v_output_gpt_check"] = code
        return original_is_correct(code, cat, fig)

    def add(self, item: ItemScore, record: Record | None = None) -> None:
        unit = item.payload.pop("_unit")
        seen = item.payload.pop("_seen", item.payload["key"])
        if self._first_repeat is None and seen in self._repeats.seen:
            at = f" at {record.source.file}:{record.source.line}" if record is not None else ""
            self._first_repeat = f"{item.payload['key']}{at}"
        self._repeats.note(seen)
        self.units.append(unit)
        self._no_verdict += bool(item.payload.pop("_no_verdict", False))
        if (answered := item.payload.pop("_answered", None)) is not None:
            self._answered.append(dataclasses.replace(answered, at=self._taken))
        self._taken += 1        # the item's position, for its late fields (late_item_fields)
        code = item.payload.get("gpt4v_output_gpt_check", item.payload.get("extracted"))
        key = "unverifiable" if unit.correct is None else str(code)
        self._codes[key] = self._codes.get(key, 0) + 1
        super().add(item, record=record)

    def merge(self, other: "HallusionBenchMetric") -> None:
        super().merge(other)
        self.units.extend(other.units)
        self._first_repeat = self._first_repeat or other._first_repeat
        self._repeats.merge(other._repeats)
        self._answered.extend(dataclasses.replace(a, at=a.at + self._taken)
                              for a in other._answered)
        self._taken += other._taken
        for k, n in other._codes.items():
            self._codes[k] = self._codes.get(k, 0) + n
        self._no_verdict += other._no_verdict

    def finish(self) -> None:
        lone = lone_pairs(self.units) if self.variant == "original" else None
        if self.variant == "original" and (self._repeats.count or lone):
            from halluscope.errors import InputError
            if self.judge is not None:
                self.judge.close()
            first = f" (first: {self._first_repeat})" if self._first_repeat else ""
            why = lone if not self._repeats.count else (
                f"{self._repeats.count} answer(s) repeat a question already answered{first}; "
                f"the original refuses such input (utils.py get_eval_all asserts each "
                f"question once)")
            raise InputError(
                f"hallusionbench (original variant): {why}, so this variant gives no number "
                f"for it: answer each question once per model, figure 0 included, or use "
                f"hallusionbench_variant=refined, which scores every row and counts the "
                f"repeats")
        if self.variant != "original":
            self._repeats.warn(self.name, "a question", why=(
                "VLMEvalKit scores every row" if self.variant in KEYWORD_VARIANTS else
                "the refined variant scores every row; the original refuses a repeat"))
        self._coverage = self._covered()
        warn_coverage(self._coverage, self.variant == "refined")
        warn_no_verdict(no_verdict_info(self._no_verdict, self._codes))
        if self.judge is not None and self._judge_info is None:
            from halluscope.judges.fallback import judge_info
            self._diagnose()
            self._judge_info = judge_info(self.judge, CORRECTNESS)
            if self._diagnosis is not None:
                self._judge_info["judge_reliability_same"] = judge_info(
                    self.judge, "hallusionbench_same")["judge_reliability"]
            self.judge.close()

    def _diagnose(self) -> None:
        """The original's consistency check and LH / VI / Mixed diagnosis (original variant,
        when the judge spec has the ``hallusionbench_same`` prompt)."""
        from halluscope.metrics.hallusionbench_diagnosis import SAME, diagnose_with
        if self.variant != "original" or not self._answered \
                or SAME not in getattr(getattr(self.judge, "spec", None), "prompts", {}):
            return
        self._diagnosis, self._late = diagnose_with(self.judge, self._answered)

    def late_item_fields(self) -> dict[int, dict[str, Any]]:
        """Each question's consistency decision, for its items.jsonl line once the check has
        run (:mod:`halluscope.late_fields`; :func:`~.hallusionbench_diagnosis.question_fields`)."""
        return self._late

    def compute(self) -> MetricSummary:
        self.flush()
        kw = {"n_boot": self.n_boot, "seed": self.seed, "confidence": self.confidence,
              "easy_hard": self.variant not in KEYWORD_VARIANTS, "min_units": self.min_units,
              "whole_only": self.variant == "refined",
              "bias": self.variant not in KEYWORD_VARIANTS}
        names = sorted({g for u in self.units for g in u.groups})
        results = hallusionbench_scores(self.units, **kw)
        cov = self._coverage or self._covered()
        # a count, 0 included, so that a gate on it passes on a whole file (it was left out
        # then, and the gate refused as naming no statistic); nothing scored: no value, not 0
        results["unanswered"] = MetricResult(
            "unanswered", cov["unanswered"] if self.units else None, expected_total(cov),
            False, why_no_value=None if self.units else NO_ITEM_COUNTED)
        return MetricSummary(
            name=self.name, results=results, n=len(self.units),
            groups={g: hallusionbench_scores([u for u in self.units if g in u.groups], **kw)
                    for g in names},
            tallies={"decisions": dict(sorted(self._codes.items()))},
            info={**self.describe(), "bootstrap": {
                "n_boot": self.n_boot, "cluster_by": "question_set",
                "clusters": len({u.cluster for u in self.units}), "min_units": self.min_units}})

    def _covered(self) -> dict[str, Any]:
        return coverage(self.units, EXPECTED_QUESTIONS[self.variant], self.variant == "refined")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variant": self.variant,
            "source": _SOURCES.get(self.variant, "tianyi-lab/HallusionBench@744007c"),
            "intervals": "Poisson bootstrap clustered by question set (category_subcategory_set)",
            "figures_keyed_by": "model",
        }
        if self._coverage is not None:
            out["coverage"] = self._coverage
        out.update(no_verdict_info(self._no_verdict, self._codes))
        if self.judge is not None:
            from halluscope.judges.fallback import judge_info
            out.update(self._judge_info or judge_info(self.judge, CORRECTNESS))
        if self._diagnosis is not None:
            out["diagnosis"] = self._diagnosis
        self._repeats.describe(out)
        return out


__all__ = ["HallusionBenchMetric", "Unit", "VARIANTS", "hallusionbench_scores", "original_correctness",
           "original_is_correct", "vlmevalkit_extract", "vlmevalkit_punctuation"]
