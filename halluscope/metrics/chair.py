"""CHAIR (Rohrbach et al., "Object Hallucination in Image Captioning", EMNLP 2018).

CHAIR finds the COCO-80 objects a caption mentions and compares them with the objects the image
really holds (instance annotations plus the object words of its reference captions):

* ``chair_s`` — captions with at least one hallucinated mention / captions;
* ``chair_i`` — hallucinated mentions / all mentions (repeats counted);
* ``recall`` — sum over captions of |mentioned categories ∩ ground truth| / sum of
  |ground truth| (as the CHAIR re-implementations of Maxlinn and OPERA define it);
* ``len`` — mean number of tokens per caption after phrases are fused.

Two variants; the run sheet records which one ran.

``original`` reproduces LisaAnne/Hallucination@6e4d33c ``utils/chair.py`` caption for caption:
``nltk.word_tokenize`` on the lower-cased caption, Pattern's ``singularize`` on every token,
two-token phrases fused left to right, the synonym list of ``data/synonyms.txt``. With it come
its quirks, kept on purpose:

* ``bus`` is singularised to ``bu`` and never counts (``buses`` does);
* ``ties`` becomes ``ty`` and never counts; ``glass`` becomes ``glas`` (hence the extra phrase
  ``wine glas``); ``tennis racket`` never fuses (``tenni``) but ``racket`` alone counts;
* an object word inside a hyphenated token (``horse-drawn``, ``hot-dog``) never counts;
* ``orange`` always counts as the fruit, colour or not;
* ``dining table`` is not a phrase to fuse and ``stove top oven`` has three words, so neither
  matches as a phrase (``table``, ``stove`` and ``oven`` still count on their own);
* the synonyms `` motor bike`` and `` cheesecake`` start with a space and ``iPhone`` has a
  capital, so they never match; ``motor bike`` is still fused, and then counts as nothing;
* ``train track`` and ``home plate`` are fused, so ``train`` in "train tracks" does not count;
* any ``toilet`` in a caption removes every ``seat`` from it; the token positions
  (``hallucination_idxs``) of mentions after a removed ``seat`` are then shifted, as the
  original reports them;
* ``baby``/``adult`` before an animal word and ``passenger`` before ``jet``/``train`` are fused
  with it (no person counted); anywhere else they are persons.

``refined`` (the default) fixes these, each on purpose:

1. a token is looked up as written first, then as a plural of a vocabulary word (every plural
   of the closed vocabulary is generated from rules and tables of irregular and plural-only
   nouns): ``bus``, ``buses``, ``ties``, ``wine glasses``, ``people``, ``knives``, ``calves``
   and ``skis`` all come out right, and no other word is singularised into an object word;
2. hyphenated tokens are split into their parts (``horse-drawn`` mentions a horse,
   ``hot-dogs`` fuses to ``hot dog``, ``double-decker`` is a bus);
3. phrases of up to three words are fused, longest first, on singular forms: ``dining table``,
   ``stove top oven``, ``stove top``, ``motor bike``, ``tennis racket``, ``teddy bears``;
   a few phrases count as nothing (``train track``, ``train station``, ``bus stop``,
   ``home plate``, ``passenger seat``, ``toilet paper``, ``tennis court``, ``pizza box``) and a
   few count as another category (``tennis ball``, ``wine bottle``, ``toilet bowl``,
   ``computer monitor``, ``computer mouse``, ``remote control``);
4. the unmatchable synonyms match: ``motor bike``, ``cheesecake``, ``iphone``; the lone word
   ``bow`` (hair bow, bow of a boat) no longer counts as a tie (``bow tie`` does);
5. ``orange`` is the fruit unless the caption uses it as a colour (followed by a colour word or
   by a noun that is not a fruit part, preceded by a colour modifier: ``orange cat``,
   ``bright orange``, ``orange and white``); ``oranges`` is always the fruit;
6. ``seat`` is dropped only within three tokens of ``toilet`` (``the seat of the toilet``), not
   anywhere in a caption that mentions a toilet; token positions are never shifted;
7. ``baby``/``adult`` before any animal word and ``passenger`` before any vehicle word are not
   persons (``passenger bus``, ``baby giraffe``).

Token positions (``hallucination_idxs``) are indices into NLTK's tokens in both variants (the
first token of a fused phrase); ``len`` counts tokens after phrase fusion, and for ``refined``
after hyphenated tokens are split, so the two variants' ``len`` differ slightly.

Everything the variants share (tokenizer, vocabulary file ``metrics/chair-coco.json``, ground
truth) lives in ``chair_text``, ``chair_singular``, ``chair_vocab`` and ``chair_gt``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from halluscope.errors import InputError, RecordError
from halluscope.metrics.base import ItemScore, Metric, MetricOption
from halluscope.metrics.explain import Explanation, first_of, word_of, words_of
from halluscope.metrics.chair_gt import GroundTruth, load_ground_truth
from halluscope.metrics.chair_text import check_tokenizable, tokenizer_gave_up
from halluscope.record_fields import answer_field, file_name
from halluscope.metrics.chair_vocab import ChairSpec, Parsed, load_spec, make_parser
from halluscope.metrics.stats import DEFAULT_BOOTSTRAP, RATE_BOUNDS, Statistic, ratio
from halluscope.records import Record

VARIANTS = ("original", "refined")

__all__ = ["VARIANTS", "ChairMetric", "chair_scores", "parser_for", "score_caption"]


_PARSERS: dict[tuple[str, str, str], Any] = {}


def parser_for(variant: str = "original", spec: ChairSpec | str | Path | None = None):
    """The (shared) caption parser of a variant and vocabulary file; a vocabulary file that
    changed on disk gets a new parser."""
    if not isinstance(spec, ChairSpec):
        spec = load_spec(spec)
    key = (variant, spec.path, spec.sha256)
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _PARSERS[key] = make_parser(variant, spec)
    return parser


#: why a caption's ``chair_i`` has no value (CHAIR_i divides by the caption's mentions)
NO_MENTION = "the caption mentions no object of CHAIR's vocabulary (CHAIR_i divides by mentions)"
#: why a caption's ``recall`` has no value (recall divides by the image's ground-truth objects)
NO_GT_OBJECT = "the image has no ground-truth object (recall divides by them)"


def score_caption(parsed: Parsed, gt: frozenset[str], gt_sorted: list[str] | None = None,
                  spans: bool = True) -> dict[str, Any]:
    """One caption's CHAIR detail from its parse and its image's ground truth.

    Word/category pairs and spans are tuples (JSON arrays once written). A ``chair_i`` or
    ``recall`` of ``None`` comes with ``chair_i_why_no_value`` / ``recall_why_no_value``."""
    ms = parsed.mentions
    mentioned = [(m.word, m.node) for m in ms]
    bad = [k for k, m in enumerate(ms) if m.node not in gt]
    n = len(ms)
    out = {
        "mentioned": mentioned,
        "hallucinated": [mentioned[k] for k in bad],
        "gt": sorted(gt) if gt_sorted is None else gt_sorted,
        "hallucination_idxs": [ms[k].index for k in bad],
        "n_tokens": parsed.n_tokens,
        "chair_s": 1 if bad else 0,
        "chair_i": len(bad) / n if n else None,
        "recalled": len(gt.intersection([m.node for m in ms])) if n else 0,
    }
    out["recall"] = out["recalled"] / len(gt) if gt else None
    # a missing value says why (the report reads "<key>_why_no_value" beside its "—")
    if out["chair_i"] is None:
        out["chair_i_why_no_value"] = NO_MENTION
    if out["recall"] is None:
        out["recall_why_no_value"] = NO_GT_OBJECT
    if spans:
        out["spans"] = [m.span for m in ms]
    return out


def chair_scores(captions: Iterable[tuple[int, str]], gt: Mapping[int, Iterable[str]],
                 variant: str = "original", *, spec: ChairSpec | str | Path | None = None,
                 spans: bool = False) -> dict[str, Any]:
    """CHAIR of ``(image_id, caption)`` pairs against ``gt`` (image id -> categories).

    Returns ``{"variant", "vocabulary", "overall": {chair_s, chair_i, recall, len, n_captions,
    n_mentions, n_hallucinated, n_gt, n_recalled}, "captions": [per caption]}``; a per-caption
    entry holds ``image_id``, ``caption``, ``words`` (mentioned categories in order) and the
    fields of :func:`score_caption` (``spans`` only when asked for: placing mentions in the
    caption costs about a fifth of the time). Raises :class:`InputError` for an image id not in
    ``gt``.
    """
    parser = parser_for(variant, spec)
    parse = parser.parse
    known: dict[int, tuple[frozenset[str], list[str]]] = {}
    per = []
    n_h_caps = n_mentions = n_h = n_gt = n_rec = n_tok = 0
    for image_id, caption in captions:
        entry = known.get(image_id)
        if entry is None:
            try:
                raw = gt[image_id]
            except KeyError:
                raise InputError(f"unknown image id {image_id}: not in the ground truth") from None
            g = raw if isinstance(raw, frozenset) else frozenset(raw)
            entry = known[image_id] = (g, sorted(g))
        g = entry[0]
        detail = score_caption(parse(caption, spans=spans), g, entry[1], spans)
        n_h_caps += detail["chair_s"]
        n_mentions += len(detail["mentioned"])
        n_h += len(detail["hallucinated"])
        n_gt += len(g)
        n_rec += detail["recalled"]
        n_tok += detail["n_tokens"]
        detail["image_id"] = image_id
        detail["caption"] = caption
        detail["words"] = [node for _, node in detail["mentioned"]]
        per.append(detail)
    n = len(per)
    overall = {
        "chair_s": n_h_caps / n if n else float("nan"),
        "chair_i": n_h / n_mentions if n_mentions else float("nan"),
        "recall": n_rec / n_gt if n_gt else float("nan"),
        "len": n_tok / n if n else float("nan"),
        "n_captions": n, "n_mentions": n_mentions, "n_hallucinated": n_h, "n_gt": n_gt,
        "n_recalled": n_rec,
    }
    return {"variant": variant, "vocabulary": parser.spec.label, "overall": overall,
            "captions": per}


def _stat(num: str, den: str, higher_is_better: bool = False, *, fraction: bool = True,
          direction: bool = True, formula: str = "", none: str = "") -> Statistic:
    """``num / den`` over the ``den`` units (captions, mentions or ground-truth objects);
    with no ``den`` it has no value, saying ``formula`` and why (``none``)."""
    return Statistic(lambda s: ratio(s[num], s[den]), higher_is_better=higher_is_better,
                     bounds=RATE_BOUNDS if fraction else None, units=den, direction=direction,
                     proportion=fraction, why_none=lambda s: _why_none(s, den, formula, none))


def _why_none(sums, den: str, formula: str, none: str) -> str | None:
    """Why a CHAIR statistic whose denominator ``den`` sums to nothing has no value."""
    if float(sums[den]):
        return None
    captions = int(round(float(sums["captions"])))
    if not captions:
        return f"{formula} has nothing to divide by: no caption was scored"
    return f"{formula} has {none.format(captions=captions)}"


_COCO_NAME = re.compile(r"(?i)^(coco_|\d{6,})")


def _looks_coco(image: str) -> bool:
    """Whether an image name that gave no COCO id still looks meant as one (``COCO_val2014_
    00000000013x.jpg``, a run of digits): a typo to report, not a non-COCO image to pass by."""
    return bool(_COCO_NAME.match(file_name(image)))


class ChairMetric(Metric):
    """CHAIR_s, CHAIR_i, recall and mean length, streamed over caption-like records.

    Args:
        gt: Image id -> COCO categories (a :class:`GroundTruth` keeps its source for the run
            sheet; a plain mapping is accepted).
        variant: ``original`` or ``refined``.
        spec: Vocabulary file (default: the pinned ``chair-coco.json``).
    """

    name = "chair"
    own_group_fields: ClassVar[tuple[str, ...]] = ()      # groups: --by's alone
    headline = ("chair_i", "chair_s")
    report_view = "mentions"
    options = (
        MetricOption("chair_variant", str, "refined", "original reproduces Rohrbach et al.'s "
                     "code, refined fixes its known defects", config_field=True,
                     choices=VARIANTS),
        MetricOption("gt_objects", Path, None, "ground-truth objects file (image id -> object "
                     "words)", config_field=True),
        MetricOption("coco_annotations", tuple, (), "COCO instance (and caption) annotation "
                     "files the ground truth is built from", config_field=True),
        MetricOption("chair_vocabulary_file", str, None, "another vocabulary file than the "
                     "pinned chair-coco.json"),
    )
    columns = ("hallucinated_captions", "captions", "hallucinated_mentions", "mentions",
               "recalled", "gt_objects", "tokens")
    meanings = {"chair_s": "share of captions naming an object the ground truth lacks",
                "chair_i": "share of object mentions that the ground truth lacks",
                "recall": "share of the ground-truth objects the captions mention",
                "len": "mean caption length in tokens"}
    statistics = {
        "chair_s": _stat("hallucinated_captions", "captions",
                         formula="CHAIR_s = hallucinated captions/captions"),
        "chair_i": _stat("hallucinated_mentions", "mentions",
                         formula="CHAIR_i = hallucinated mentions/mentions",
                         none="no mentions: the {captions} scored caption(s) mention no object "
                              "of CHAIR's vocabulary"),
        "recall": _stat("recalled", "gt_objects", higher_is_better=True,
                        formula="recall = recalled objects/ground-truth objects",
                        none="no ground-truth objects: the images of the {captions} scored "
                             "caption(s) have none"),
        "len": _stat("tokens", "captions", fraction=False, direction=False,
                     formula="len = tokens/captions"),
    }

    def __init__(self, gt: Mapping[int, Iterable[str]], variant: str = "refined", *,
                 spec: ChairSpec | str | Path | None = None, n_boot: int = DEFAULT_BOOTSTRAP,
                 seed: int = 0, confidence: float = 0.95):
        self.parser = parser_for(variant, spec)
        self.variant = variant
        if not isinstance(gt, GroundTruth):
            gt = GroundTruth({int(k): v if isinstance(v, frozenset) else frozenset(v)
                              for k, v in gt.items()}, "mapping", ())
        self.gt = gt
        super().__init__(n_boot=n_boot, seed=seed, confidence=confidence)

    @classmethod
    def from_config(cls, config, **kw) -> "ChairMetric":
        """Build from an :class:`~halluscope.config.AuditConfig` (``chair_variant``,
        ``gt_objects``, ``coco_annotations``; ``options["chair_vocabulary_file"]`` may name
        another vocabulary file)."""
        variant = kw.pop("variant", config.chair_variant)
        spec = kw.pop("spec", cls.option(config, "chair_vocabulary_file"))
        parser = parser_for(variant, spec)
        gt = kw.pop("gt", None)
        if gt is None:
            gt = load_ground_truth(parser, config.gt_objects, config.coco_annotations)
        kw.setdefault("n_boot", config.n_boot)
        kw.setdefault("seed", config.seed)
        kw.setdefault("confidence", config.confidence)
        return cls(gt, variant, spec=spec, **kw)

    infer_rank = 20

    @classmethod
    def fits(cls, sample, config) -> bool:
        """Inferred for captions and free-form answers when ground truth is given."""
        return bool(sample.tasks & {"caption", "vqa"}) and bool(
            config.gt_objects or config.coco_annotations)

    @classmethod
    def explain_item(cls, item: dict, statistic: str, group: str | None
                     ) -> Explanation | None:
        """The hallucinated object words of a caption and what the image really holds (for
        ``recall``: the objects it missed)."""
        payload = item.get(cls.name)
        if not isinstance(payload, Mapping):
            return None
        gt = first_of(payload, "gt_objects", "gt_words", "ground_truth", "gt")
        if statistic == "recall":
            mentioned = first_of(payload, "objects", "mentioned", "words", "nodes") or []
            nodes = {word_of(m).split("→")[-1] for m in mentioned}
            missed = sorted(set(map(str, gt or ())) - nodes)
            if not missed:
                return None
            return float(len(missed)), [f"missed objects: {', '.join(missed)}"]
        halluc = first_of(payload, "hallucinated", "hallucinated_words", "hallucinations",
                          "hallucinated_objects")
        if isinstance(halluc, (int, float)):
            if not halluc:
                return None
            return float(halluc), [f"hallucinated mentions: {halluc}"]
        if not halluc:
            return None
        text = f"hallucinated: {words_of(halluc)}"
        if gt is not None:
            gt_list = sorted(map(str, gt))
            shown = ", ".join(gt_list[:12]) + (", …" if len(gt_list) > 12 else "")
            text += f"; ground truth: {shown or '(none)'}"
        return float(len(halluc)), [text]

    empty_answer: ClassVar[str] = ("a caption that mentions no object: it counts in CHAIR_s "
                                   "as not hallucinated and adds nothing to CHAIR_i")

    def applies_to(self, record: Record) -> bool:
        """Captions and free-form answers about COCO images. A record whose image is not a COCO
        image (an image path with no COCO id in it and no ``image_id``) is not a CHAIR item; one
        with neither an image nor an id is, and is reported as missing its image id."""
        if record.task not in ("caption", "vqa"):
            return False
        return record.image_id is not None or not record.image or _looks_coco(record.image)

    def refusal(self, record: Record) -> RecordError | None:
        """A caption or free-form answer whose image has no COCO id (``dog.jpg``, an
        ``image_id`` of ``"abc"``)."""
        if record.task not in ("caption", "vqa") or not record.image:
            return None
        # one message for all (the problems table counts them as one cause); the item and
        # file:line say which image
        return RecordError("expected a COCO image id ('image_id' such as 139, or a COCO file "
                           "name such as '000000000139.jpg' in 'image'), got an image without "
                           "one: CHAIR scores captions of COCO images only", field="image",
                           file=record.source.file, line=record.source.line)

    def skip_reason(self, record: Record) -> str:
        if record.task not in ("caption", "vqa"):
            return f"not a caption or free-form answer ({record.task} record)"
        return "its image is not a COCO image (no COCO id in 'image' or 'image_id')"

    def score(self, record: Record) -> ItemScore:
        where = {"file": record.source.file, "line": record.source.line}
        image_id = record.image_id
        if image_id is None and record.image:      # a COCO name with a typo in its digits
            raise RecordError(f"expected a COCO image id (139, '000000000139.jpg', "
                              f"'COCO_val2014_000000000139.jpg'), got {record.image!r:.80}",
                              field="image", **where)
        if image_id is None:
            raise RecordError("expected a COCO image id ('image_id', or a COCO file name in "
                              "'image'), found none", field="image_id", **where)
        gt = self.gt.get(image_id)
        if gt is None:
            raise RecordError(f"unknown image id {image_id}: not in {self.gt.name}",
                              field="image_id", **where)
        if record.response is None:
            raise RecordError("expected a caption in 'response', found none", field="response",
                              **where)
        field = answer_field(record)
        check_tokenizable(record.response, field, **where)  # by its length, not NLTK's clock
        try:
            parsed = self.parser.parse(record.response)
        except TimeoutError as exc:     # a second guard: NLTK bounds its regexes in time
            raise tokenizer_gave_up(record.response, exc, field, **where) from None
        detail = score_caption(parsed, gt)
        recalled = detail.pop("recalled")
        detail["spans"] = [list(sp) if sp else None for sp in detail["spans"]]
        n_h = len(detail["hallucinated"])
        row = (detail["chair_s"], 1, n_h, len(detail["mentioned"]), recalled, len(gt),
               detail["n_tokens"])
        tallies = {"hallucinated": Counter(node for _, node in detail["hallucinated"]),
                   "mentioned": Counter(node for _, node in detail["mentioned"])}
        return ItemScore(payload=detail, row=row, tallies=tallies)

    def describe(self) -> dict[str, Any]:
        spec = self.parser.spec
        return {"variant": self.variant, "vocabulary": spec.label,
                "vocabulary_sha256": spec.sha256, "ground_truth": self.gt.describe()}
