"""AMBER (Wang et al., 2023): generative CHAIR/Cover/Hal/Cog and discriminative yes/no scores.

Records are matched to AMBER items by id (``{"id": 12, "response": ...}`` as AMBER's own
response files are written, or ``metadata["amber_id"]``, or an image ``AMBER_<n>.jpg`` for the
generative item). Items 1-1004 are generative (descriptions), the rest yes/no questions. A
record that is another benchmark's (a POPE line: its ``question_id`` beside a COCO image, a label
and "Is there a ... in the image?") is passed by with its reason, never read as an AMBER item;
an id that is off (its question or ``AMBER_<n>.jpg`` image is another item's) is a bad record
(:mod:`halluscope.metrics.amber_records` says which is which).

**Generative** (per response, summed over responses):
nouns are extracted (NLTK tokenizer and POS tagger, WordNet lemmatiser) and kept when they are
AMBER object or association words; a noun that is not a safe word and is neither a truth object
nor one of their association words is hallucinated. ``CHAIR`` = hallucinated nouns / nouns;
``Cover`` = truth objects mentioned / truth objects; ``Hal`` = responses with a hallucinated
noun / responses; ``Cog`` = hallu objects (AMBER's likely hallucinations) mentioned / hallu
objects.

**Discriminative**: accuracy, and precision, recall, F1 with "No" as the positive class, for
all questions and per existence / attribute (state, number, action) / relation.
``amber_score = (1 - CHAIR + F1) / 2`` with the overall discriminative F1.

Each statistic's n is the units it is over (nouns for CHAIR, truth objects for Cover, hallu
objects for Cog, descriptions for Hal; answers for accuracy, answers read No for precision, labels
No for recall, either for F1). A statistic whose half or question group has nothing scored has no
value (``why_no_value`` says why), whatever the starting counters give; ``amber_score`` needs both
halves.

Variants (``options["amber_variant"]``):

* ``original`` reproduces junyangwang0410/AMBER ``inference.py``: the case of the response is
  kept (a sentence-initial "Dog" is no noun match, nor is the list word "TV"); counters start at
  ``metrics.txt``'s values (0.001 for every denominator); cover marks the first matching word in
  association-then-truth order (a truth word that is also another truth word's association
  word covers that other word); answers count only when exactly ``"Yes"`` or ``"No"``; P and R
  are rounded to 0.1 % before F1, which adds 0.0001 (0.001 for existence) to its denominator.
  AMBER also treats a noun as safe when spaCy's ``en_core_web_lg`` word vectors give it a
  similarity above 0.8 to a truth word; that runs when ``en_core_web_lg`` is installed and is
  skipped otherwise (``describe()`` says which). The POS tagger is NLTK's averaged perceptron
  when its data is installed, else spaCy's tagger over the same tokens (also recorded).
* ``refined`` lower-cases responses, lets a truth word cover itself first, parses answers
  leniently (first word yes/no, any case and punctuation), uses no vector similarity, and
  computes exact ratios without the initial counters (a statistic over no unit of its own has
  no value; the original keeps inference.py's number from its counters there, within a scored
  group, and lists it in ``values_from_starting_counters``).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from halluscope.errors import ConfigError, RecordError
from halluscope.evidence.amber import AmberData, amber_among, amber_id, dimension, load_amber
from halluscope.metrics.amber_meanings import MEANINGS, UNIT_WORDS
from halluscope.metrics.amber_records import (amber_item, answer_tallies, check_words, coverage,
                                              foreign, parse_answer, refusal, skip_reason,
                                              warn_answers, warn_partial)
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.explain import ExplainsClaimVerdicts
from halluscope.metrics.repeats import Repeats
from halluscope.metrics.stats import Statistic, rate
from halluscope.records import Record

log = logging.getLogger(__name__)

VARIANTS = ("original", "refined")
GEN = ("chair_score", "chair_num", "safe_cover_score", "safe_cover_num", "hallu_cover_score",
       "hallu_cover_num", "non_hallu_score", "non_hallu_num")
GROUPS = ("qa", "ha", "as", "an", "aa", "asso")      # all, existence, state, number, action, rel
QA = ("correct_score", "correct_num", "no_score", "no_num", "ans_no_score", "ans_no_num",
      "either_no_num")
"""AMBER's counters of each question group, and ``either_no_num`` (answers read No or labelled
No: the units F1 is computed over, as POPE's F1 is over TP + FP + FN)."""
_SUB = {"state": "as", "number": "an", "action": "aa"}


def col(group: str, key: str) -> str:
    """AMBER's counter names: ``qa_correct_num`` (all questions), ``ha_qa_correct_num``, ..."""
    return f"qa_{key}" if group == "qa" else f"{group}_qa_{key}"


# -- the generative rules -----------------------------------------------------------------------
def _mark(flags: list[int], j: int, tail: int) -> None:
    """AMBER's cover bookkeeping: positions before the tail hold the index of the truth (or
    hallu) word an association word belongs to; the tail holds the coverage flags."""
    if j < len(flags) - tail:
        flags[flags[j] + len(flags) - tail] = 1
    else:
        flags[j] = 1


def amber_generative(nouns: list[str], truth: list[str], hallu: list[str],
                     association: dict[str, list[str]], global_safe: list[str], *,
                     similar=None, refined: bool = False) -> dict[str, float]:
    """Counters of one generative response (pure function; ``nouns`` already lemmatised)."""
    vocab = set(association)
    for v in association.values():
        vocab.update(v)
    if refined:
        vocab = {w.lower() for w in vocab}
    nouns = [n for n in nouns if n in vocab]
    safe_words, safe_flags = [], []
    for i, w in enumerate(truth):
        safe_words += association.get(w, [])
        safe_flags += [i] * len(association.get(w, []))
    ha_words, ha_flags = [], []
    for i, w in enumerate(hallu):
        ha_words += association.get(w, [])
        ha_flags += [i] * len(association.get(w, []))
    safe_words += truth
    safe_flags += [0] * len(truth)
    ha_words += hallu
    ha_flags += [0] * len(hallu)
    if refined:
        safe_words = [w.lower() for w in safe_words]
        ha_words = [w.lower() for w in ha_words]
    hallucinated = [0] * len(nouns)

    def find(words: list[str], tail: int, noun: str) -> int:
        if refined:                       # a truth (hallu) word covers itself first
            own = words[len(words) - tail:]
            if noun in own:
                return len(words) - tail + own.index(noun)
        return words.index(noun)          # the original: first match, associations first

    for idx, noun in enumerate(nouns):
        if noun in global_safe:
            continue
        if noun in safe_words:
            _mark(safe_flags, find(safe_words, len(truth), noun), len(truth))
            continue
        if noun in ha_words:
            _mark(ha_flags, find(ha_words, len(hallu), noun), len(hallu))
        if similar is not None:
            for j, w in enumerate(ha_words):
                if similar(noun, w):
                    _mark(ha_flags, j, len(hallu))
                    break
            near_safe = False
            for j, w in enumerate(safe_words):
                if similar(noun, w):
                    _mark(safe_flags, j, len(truth))
                    near_safe = True
                    break
            if near_safe:
                continue
        hallucinated[idx] = 1
    cover = safe_flags[-len(truth):] if truth else []
    cog = ha_flags[-len(hallu):] if hallu else []
    return {"chair_score": sum(hallucinated), "chair_num": len(hallucinated),
            "safe_cover_score": sum(cover), "safe_cover_num": len(cover),
            "hallu_cover_score": sum(cog), "hallu_cover_num": len(cog),
            "non_hallu_score": int(sum(hallucinated) == 0), "non_hallu_num": 1}


# -- noun extraction ----------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _tokenizer():
    try:
        from halluscope.metrics.chair_text import word_tokenizer
        return word_tokenizer(), "nltk.word_tokenize (halluscope.metrics.chair_text)"
    except Exception:  # noqa: BLE001 - fall back to NLTK itself
        import nltk
        return nltk.word_tokenize, "nltk.word_tokenize"


NLTK_TAGGER = "taggers/averaged_perceptron_tagger_eng"


def nltk_tagger_available() -> bool:
    """Whether NLTK's averaged-perceptron tagger data (what AMBER's ``nltk.pos_tag`` loads) is
    found on ``nltk.data.path`` (``NLTK_DATA``; users get it with
    ``nltk.download("averaged_perceptron_tagger_eng")``)."""
    from halluscope._nltk import import_nltk
    nltk = import_nltk()
    try:
        nltk.data.find(NLTK_TAGGER)
    except LookupError:
        return False
    return True


def _tagger():
    """``(tag function, description)``: NLTK's tagger when its data is found, else spaCy's.

    Decided afresh whenever ``nltk.data.path`` changes, so pointing NLTK at its data after
    import takes effect.
    """
    from halluscope._nltk import import_nltk
    nltk = import_nltk()
    return _tagger_for(tuple(nltk.data.path))


@lru_cache(maxsize=4)
def _tagger_for(paths: tuple[str, ...]):
    if nltk_tagger_available():
        import nltk
        from nltk.tag.perceptron import PerceptronTagger
        tagger = PerceptronTagger()      # what nltk.pos_tag builds on every call, built once
        return tagger.tag, f"nltk averaged perceptron ({nltk.data.find(NLTK_TAGGER)})"
    from halluscope.claims.splitter import load_pipeline
    nlp = load_pipeline()
    from spacy.tokens import Doc
    names = [n for n in ("tok2vec", "tagger") if n in nlp.pipe_names]

    def tag(tokens):
        doc = Doc(nlp.vocab, words=list(tokens))
        for n in names:
            doc = nlp.get_pipe(n)(doc)
        return [(t.text, t.tag_) for t in doc]
    log.warning("AMBER: NLTK's averaged-perceptron tagger data is not found (%s); tagging with "
                "spaCy's tagger, so nouns may differ from AMBER's (nltk.download("
                "'averaged_perceptron_tagger_eng') gives the original's)", NLTK_TAGGER)
    return tag, "spaCy tagger (NLTK tagger data absent; nouns may differ from AMBER's)"


@lru_cache(maxsize=1)
def _lemmatizer():
    from halluscope.claims.wordnet import load_wordnet
    load_wordnet()
    from nltk.stem import WordNetLemmatizer
    return WordNetLemmatizer()


def extract_nouns(text: str) -> list[str]:
    """AMBER's noun extraction: tokens tagged NN* and lemmatised as nouns by WordNet."""
    tokens = _tokenizer()[0](text)
    if not tokens:
        return []
    lem = _lemmatizer()
    return [lem.lemmatize(w) for w, pos in _tagger()[0](tokens) if pos.startswith("NN")]


@lru_cache(maxsize=1)
def vector_similarity():
    """AMBER's near-synonym test (``en_core_web_lg`` similarity > 0.8), or ``None``."""
    try:
        from halluscope._nltk import import_spacy
        nlp = import_spacy().load("en_core_web_lg",
                                  exclude=["ner", "parser", "tagger", "lemmatizer"])
    except (OSError, ImportError):
        log.warning("AMBER original: spaCy's en_core_web_lg is not installed, so AMBER's "
                    "similarity step (a noun whose word vectors are > 0.8 similar to a truth "
                    "or hallu word counts as that word) is skipped: CHAIR, Hal, Cover and Cog "
                    "can differ from AMBER's own scorer's (python -m spacy download "
                    "en_core_web_lg runs it; run sheet: similarity)")
        return None

    @lru_cache(maxsize=200_000)
    def similar(a: str, b: str) -> bool:
        return nlp(a).similarity(nlp(b)) > 0.8
    return similar


# -- statistics ---------------------------------------------------------------------------------
def _r1(x):
    """``round(x, 1)`` elementwise as inference.py prints (``np.round`` differs by near-ties)."""
    a = np.asarray(x, dtype=float)
    out = np.round(a, 1)
    with np.errstate(invalid="ignore"):
        near = np.abs(a * 10 - np.floor(a * 10) - 0.5) < 1e-6
    if not near.any():
        return out
    if a.ndim == 0:
        return np.float64(round(float(a), 1))
    out[near] = [round(float(v), 1) for v in a[near]]
    return out


def _fraction(percent, digits: int):
    """A percentage as the fraction a reader writes down: 33.3 -> 0.333, not 0.33299999999999996."""
    out = np.round(np.asarray(percent, dtype=float) / 100, digits)
    return out if out.ndim else float(out)


def initial_value(counter: str) -> float:
    """A counter's start in AMBER's ``metrics.txt`` (when none is found): 0.001 for ``*_num``,
    0 for ``*_score`` (0.001 there made a precision 1.0 over no answer read No)."""
    return 0.001 if counter.endswith("_num") else 0.0


def _stats(variant: str, init: dict[str, float]) -> dict[str, Statistic]:
    orig = variant == "original"

    def num(s, name):
        return s[name] + (init.get(name, initial_value(name)) if orig else 0.0)

    def div(a, b):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)
        return out if out.ndim else float(out)

    def pct(a, b):
        v = div(a, b) * 100
        return _r1(v) if orig else v

    def grp(s, g, key):
        names = [col(x, key) for x in (("as", "an", "aa") if g == "attr" else (g,))]
        return sum(num(s, n) for n in names)

    def f1(p, r, eps):                   # p, r in percent, as printed
        if orig:
            return _r1(div(2 * (p / 100) * (r / 100), (p / 100) + (r / 100) + eps) * 100)
        return div(2 * p * r, p + r)

    def share(fn):                       # percent -> fraction (the original's: the printed decimal)
        return (lambda s: _fraction(fn(s), 3)) if orig else (lambda s: fn(s) / 100)

    def disc(g, eps=0.0001):             # accuracy, precision, recall (percent) and F1
        acc, prec, rec = (lambda s, k=k: pct(grp(s, g, k + "_score"), grp(s, g, k + "_num"))
                          for k in ("correct", "ans_no", "no"))
        return (*map(share, (acc, prec, rec)), share(lambda s: f1(prec(s), rec(s), eps)))

    # each statistic's n is the units it is computed over (nouns for CHAIR, truth objects for
    # Cover, the answers read No for precision, ...); a statistic has no value where they are
    # none (refined) or, for the original, where the half or question group it belongs to has
    # none scored: inference.py prints a half only when asked for it (--evaluation_type g|d),
    # and its 0.001 starting counters made values up (Hal 1.0 over no description). CHAIR,
    # Cover, Hal, Cog, accuracy, precision and recall count each unit 0 or 1 (a noun
    # hallucinated, an object mentioned, an answer right): proportions (the original's, rounded
    # to 0.1 %, take their interval around the rounded value); F1 and amber_score are no shares
    def over(units, fn, items, higher_is_better=False, proportion=True):
        return _over(units, fn, items if orig else units, higher_is_better, proportion)

    def ratio(score, units):
        return share(lambda s: pct(s[score], num(s, units)))
    gen = "non_hallu_num"
    out: dict[str, Statistic] = {
        "chair": over("chair_num", ratio("chair_score", "chair_num"), gen),
        "cover": over("safe_cover_num", ratio("safe_cover_score", "safe_cover_num"), gen,
                      higher_is_better=True),
        "hal": over(gen, share(lambda s: _r1(100 - div(s["non_hallu_score"], num(s, gen)) * 100))
                    if orig else lambda s: 1 - div(s["non_hallu_score"], s[gen]), gen),
        "cog": over("hallu_cover_num", ratio("hallu_cover_score", "hallu_cover_num"), gen),
    }
    for g, prefix in STAT_GROUPS.items():
        acc, prec, rec, f = disc(g, 0.001 if g == "ha" else 0.0001)
        answers = _group_units(g, "correct_num")
        for name, key, fn in (("accuracy", "correct_num", acc), ("precision", "ans_no_num", prec),
                              ("recall", "no_num", rec), ("f1", "either_no_num", f)):
            out[prefix + name] = over(_group_units(g, key), fn, answers, higher_is_better=True,
                                      proportion=name != "f1")
    chair, f1_all = out["chair"].fn, out["f1"].fn      # no value unless both halves have one
    out["amber_score"] = rate(lambda s: _fraction((1 - chair(s) + f1_all(s)) * 50, 4) if orig
                              else (1 - chair(s) + f1_all(s)) / 2, higher_is_better=True)
    out["n_generative"] = Statistic(lambda s: s["non_hallu_num"], count=True)
    out["n_discriminative"] = Statistic(lambda s: s["qa_correct_num"], count=True)
    return out


#: The statistics of each question group: AMBER's counter prefix -> the statistic's prefix.
STAT_GROUPS = {"qa": "", "ha": "existence_", "attr": "attribute_", "as": "state_",
               "an": "number_", "aa": "action_", "asso": "relation_"}


def _group_units(g: str, key: str) -> tuple[str, ...]:
    """The columns of counter ``key`` in question group ``g`` (attribute: its three types)."""
    return tuple(col(x, key) for x in (("as", "an", "aa") if g == "attr" else (g,)))


def _over(units: str | tuple[str, ...], fn, defined_by: str | tuple[str, ...],
          higher_is_better: bool = False, proportion: bool = False) -> Statistic:
    """A rate computed by ``fn`` over the units summed in ``units`` (its n), with no value
    (NaN) where the columns ``defined_by`` sum to 0, whatever starting counters ``fn`` adds."""
    names = (defined_by,) if isinstance(defined_by, str) else defined_by

    def value(s):
        n = sum(np.asarray(s[c], dtype=float) for c in names)
        with np.errstate(invalid="ignore"):
            out = np.where(n > 0, np.asarray(fn(s), dtype=float), np.nan)
        return out if out.ndim else float(out)
    return rate(value, higher_is_better=higher_is_better, units=units, proportion=proportion)


def _items_of(name: str) -> tuple[str, ...]:
    """The columns counting the items statistic ``name`` belongs to: the descriptions for the
    generative ones, the answers of its question group for the others."""
    if name in ("chair", "cover", "hal", "cog"):
        return ("non_hallu_num",)
    prefix = name.rpartition("_")[0] + "_" if "_" in name else ""
    group = next(g for g, p in STAT_GROUPS.items() if p == prefix)
    return _group_units(group, "correct_num")


def _unit_words(name: str, column: str) -> str:
    """What ``column`` (a unit column of statistic ``name``) counts, in words."""
    key = column.split("_qa_", 1)[1] if "_qa_" in column else column.removeprefix("qa_")
    group = name.rpartition("_")[0].replace("_", " ")        # "existence_f1" -> "existence"
    return UNIT_WORDS.get(key, key).format(g=f"{group} " if group else "")


def why_no_value(name: str, stat: Statistic, sums: Mapping[str, float],
                 results: Mapping[str, Any]) -> str | None:
    """Why statistic ``name`` has no value given the column ``sums`` (``None`` when no reason
    is known): no item of its half or group scored, no unit of its own, or (``amber_score``)
    a half without a value."""
    if name == "amber_score":
        missing = [f"{half} ({k}: {results[k].why_no_value or 'no value'})"
                   for k, half in (("chair", "CHAIR, the generative half"),
                                   ("f1", "F1, the discriminative half"))
                   if k in results and not results[k].defined]
        return ("amber_score = (1 - CHAIR + F1) / 2 needs both halves; no value for "
                + " and ".join(missing)) if missing else None
    if stat.units is None or stat.count:
        return None
    for columns in (_items_of(name), stat.unit_columns):
        if not sum(sums[c] for c in columns):
            return f"computed over 0 {_unit_words(name, columns[0])}"
    return None


def counter_values(statistics: Mapping[str, Statistic], sums: Mapping[str, float]
                   ) -> dict[str, str]:
    """The original variant's statistics that have a value over no unit of their own (a
    question group scored, but no answer read No for its precision, ...): the value is the
    original's, from its 0.001 starting counters, as inference.py prints it."""
    out = {}
    for name, stat in statistics.items():
        if stat.units is None or stat.count or not sum(sums[c] for c in _items_of(name)):
            continue
        units = stat.unit_columns
        if not sum(sums[c] for c in units):
            out[name] = (f"over 0 {_unit_words(name, units[0])}: the original's value, from "
                         f"its 0.001 starting counters (refined: no value)")
    return out


class AmberMetric(ExplainsClaimVerdicts, Metric):
    """AMBER's generative and discriminative scores."""

    name: ClassVar[str] = "amber"
    empty_answer: ClassVar[str] = ("a description with no noun (generative), an answer that is "
                                   "neither yes nor no, so wrong (discriminative)")
    headline: ClassVar[tuple[str, ...]] = ("accuracy", "f1")
    options: ClassVar[tuple[MetricOption, ...]] = (
        MetricOption("amber_variant", str, "original", "original or refined (module docstring)",
                     choices=VARIANTS),
        MetricOption("amber_annotations", Path, None, "AMBER's annotations.json (default: the "
                     "AMBER file among --annotations)"),
        MetricOption("annotations", tuple, (), "annotation files", config_field=True),
    )
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    columns: ClassVar[tuple[str, ...]] = GEN + tuple(col(g, k) for g in GROUPS for k in QA)
    statistics: ClassVar[dict[str, Statistic]] = _stats("original", {})  # names; see __init__
    meanings: ClassVar[dict[str, str]] = MEANINGS

    @classmethod
    def statistics_for(cls, info: Mapping[str, Any]) -> dict[str, Statistic] | None:
        """The run's variant with the initial counters it started from (run sheets from before
        they were recorded do not say: ``None``)."""
        if info.get("variant") not in VARIANTS or not isinstance(info.get("initial"), dict):
            return None
        return _stats(info["variant"], {k: float(v) for k, v in info["initial"].items()})

    def __init__(self, data: AmberData, *, variant: str = "original", **kw):
        if variant not in VARIANTS:
            raise ConfigError(f"expected amber_variant in {VARIANTS}, got {variant!r}")
        self.data = data
        self.variant = variant
        self.statistics = _stats(variant, data.initial)
        self._words = set(data.words())
        super().__init__(**kw)

    @classmethod
    def from_config(cls, config, **kw):
        path = cls.option(config, "amber_annotations")
        if path is None:
            path = amber_among(config.annotations)
        return cls(load_amber(path), variant=cls.option(config, "amber_variant"),
                   n_boot=config.n_boot, seed=config.seed, confidence=config.confidence, **kw)

    def reset(self) -> None:
        super().reset()
        self._repeats = Repeats()

    def applies_to(self, record: Record) -> bool:
        return record.response is not None and amber_id(record) is not None and \
            foreign(record, self.data) is None

    def refusal(self, record: Record) -> RecordError | None:
        return refusal(record, self.data)

    def skip_reason(self, record: Record) -> str:
        return skip_reason(record, self.data)

    def score(self, record: Record) -> ItemScore:
        _, item = amber_item(record, self.data)
        row = dict.fromkeys(self.columns, 0.0)
        text = record.response or ""
        if item["type"] == "generative":
            refined = check_words(self.data) and self.variant == "refined"
            from halluscope.metrics.chair_text import check_tokenizable, tokenizer_gave_up
            from halluscope.record_fields import answer_field
            field = answer_field(record)
            check_tokenizable(text, field)  # by its length, not by NLTK's wall clock
            try:
                nouns = extract_nouns(text.lower() if refined else text)
            except TimeoutError as exc:  # a second guard: NLTK bounds its regexes in time
                raise tokenizer_gave_up(text, exc, field) from None
            c = amber_generative(nouns, item["truth"], item["hallu"], self.data.association,
                                 self.data.safe_words, refined=refined,
                                 similar=None if refined else vector_similarity())
            row.update(c)
            safe = set(self.data.safe_words)
            payload = {"type": "generative", "nouns": [n for n in nouns if n in self._words or
                                                        (refined and n.lower() in self._words)],
                       **{k: c[k] for k in ("chair_score", "chair_num", "safe_cover_score",
                                            "hallu_cover_score")}}
            payload["safe_nouns"] = [n for n in payload["nouns"] if n in safe]
            answer = None
        else:
            dim, sub = dimension(item["type"])
            g = "ha" if dim == "existence" else "asso" if dim == "relation" else _SUB[sub]
            answer = parse_answer(text, self.variant)
            truth = item["truth"]
            for grp in ("qa", g):
                row[col(grp, "correct_num")] = 1.0
                row[col(grp, "correct_score")] = float(answer == truth)
                row[col(grp, "no_num")] = float(truth == "no")
                row[col(grp, "no_score")] = float(truth == "no" and answer == "no")
                row[col(grp, "ans_no_num")] = float(answer == "no")
                row[col(grp, "ans_no_score")] = float(answer == "no" and truth == "no")
                row[col(grp, "either_no_num")] = float(answer == "no" or truth == "no")
            payload = {"type": item["type"], "truth": truth, "answer": answer,
                       "correct": answer == truth}
        return ItemScore(payload=payload, row=tuple(row[c] for c in self.columns),
                         tallies=answer_tallies(item["type"], text, answer, self.variant))

    def fold(self, record: Record, item: ItemScore) -> None:
        self.add(item, record=record)
        self._repeats.note(amber_id(record))

    def merge(self, other: Metric) -> None:
        super().merge(other)
        if isinstance(other, AmberMetric):
            self._repeats.merge(other._repeats)

    def finish(self) -> None:
        self._repeats.warn(self.name, "an AMBER id")
        warn_partial(coverage(self.data, self._repeats.seen))
        warn_answers(self.name, self.variant, self.tallies.get("answers"))
        self.flush()            # rows held back (fewer than a chunk) are in no sum before it
        if self.variant == "original":
            made = counter_values(self.statistics, self.state.sums())
            if made:
                log.warning("amber original: %s computed over no unit of their own: their "
                            "values are the original's, from its 0.001 starting counters, and a "
                            "gate on them fails: they measure nothing "
                            "(info.values_from_starting_counters)",
                            ", ".join(made))

    def _results(self, state):
        out = {name: state.result(name, stat, self.confidence, self.min_units)
               for name, stat in self.statistics.items()}
        sums = state.sums()
        for name, stat in self.statistics.items():
            if not out[name].defined:
                why = why_no_value(name, stat, sums, out)
                if why is not None:
                    out[name] = dataclasses.replace(out[name], why_no_value=why)
        return out

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "annotations": str(self.data.path),
                               "initial": dict(self.data.initial)}
        self._repeats.describe(out)
        out["coverage"] = coverage(self.data, self._repeats.seen)
        self.flush()
        if self.variant == "original":
            made = counter_values(self.statistics, self.state.sums())
            if made:
                out["values_from_starting_counters"] = made
        try:
            out["tokenizer"] = _tokenizer()[1]
            out["tagger"] = _tagger()[1]
        except Exception:  # noqa: BLE001
            pass
        if self.variant == "original":
            out["similarity"] = "en_core_web_lg > 0.8" if vector_similarity() else \
                "skipped (en_core_web_lg not installed)"
            departs = ["no en_core_web_lg similarity step"] if not vector_similarity() else []
            departs += ["spaCy's tagger"] if out.get("tagger", "").startswith("spaCy") else []
            if departs:         # said beside the variant's name wherever it is shown
                out["departs_from_variant"] = departs
        return out
