"""One harness for every metric: each registered metric that runs offline (and the example
``WordCount``) goes through the same checks on the same small fixtures.

* merging 2 and 3 shards gives what one pass gives (values, intervals, n, tallies);
* ``reset`` empties a metric (it computes what a fresh instance computes) and it can be reused;
* an item's score does not depend on the order of the records;
* the class agrees with its pure-function twin where the metric has one;
* the declaration (options, headline, report view, explanations) is well formed.

Fixtures: the demo folder ``data/`` (CHAIR, POPE, claims, FaithScore, region, page, WordCount),
hand-written records (consistency, Reefknot, Object HalBench) and, where present, AMBER's
annotations in ../shared/data. HallusionBench and MMHal-Bench put answers to a judge (a replay
server in their own tests) and are left out here, as the ``EXCLUDED`` table says.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from halluscope.config import AuditConfig
from halluscope.metrics.base import (Metric, MetricOption, available_metrics, metric_class)
from halluscope.pipeline import resolve_inputs
from halluscope.readers import iter_input_records
from halluscope.records import Record, Source, record_from_dict
from tests.conftest import shared_data_dir
from tests.tiny_detectors import isolated_cache  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
EXAMPLE = ROOT / "examples" / "custom_metric.py"
WORDCOUNT = f"{EXAMPLE}:WordCount"
EXCLUDED = {"hallusionbench": "every variant but vlmevalkit needs a judge; fidelity data only",
            "mmhal": "every answer goes to a judge (replay server in test_mmhal_fidelity)"}


@dataclass
class Case:
    """A metric, how to build it, the records it is checked on, and its twin check."""

    build: Callable[[], Metric]
    records: list[Record]
    group_of: Callable[[Record], Any] = lambda r: r.id
    """Records with the same value go to the same shard and keep their order (consistency's
    sample groups, Reefknot's yes/no pairs: the original pairs consecutive rows)."""
    twin: Callable[[Metric, list[Record]], None] | None = None
    inputs: list[Path] = field(default_factory=list)
    cluster_by: str = "image"
    """The resampling unit (``item`` where every record shows the same image)."""


def _demo_records() -> list[Record]:
    # the photo only the demo's detector knows is left out: this harness drops the detector,
    # and with annotation files alone an image none of them knows is a bad record
    return [r for r in iter_input_records(DATA / "outputs.jsonl") if isinstance(r, Record)
            and not (r.image or "").endswith("grace_hopper.jpg")]


def _variants(demo: list[Record], task_key: str, responses: list[str]) -> list[Record]:
    """The demo's one region (or page) record again with other responses: the same image and
    regions (or document), other citations, so that there are enough items to shard."""
    base = next(r for r in demo if (task_key in r.metadata if task_key == "regions"
                                    else r.task == task_key))
    out = [base]
    for i, text in enumerate(responses, 1):
        out.append(Record(id=f"{base.id}-v{i}", task=base.task, image=base.image,
                          image_id=base.image_id, document=base.document, prompt=base.prompt,
                          response=text, metadata=dict(base.metadata),
                          source=Source(base.source.file, 100 * (1 + len(task_key)) + i)))
    return out


REGION_TEXTS = ["The astronaut [R1] holds a helmet [R3].", "A flag [R2] and a dog [R4].",
                "The astronaut is at [11, 10, 370, 510] and the flag at [0, 0, 95, 512].",
                "A cat sits at [400, 50, 500, 150]; the helmet [R3] is white."]
PAGE_TEXTS = ["Revenue reached 4,210 units (p. 1).", "Page 7 lists the board members.",
              '"Costs fell by 12%" (p. 2) and staff grew to 185 people [page 3].',
              'The report says "profits tripled" on page 1.']


def _demo_config(**extra: Any) -> AuditConfig:
    _, manifest = resolve_inputs(DATA)
    manifest.pop("detector", None)           # annotations only: no detector in this harness
    return AuditConfig(**{**manifest, "n_boot": 200, "seed": 3, **extra})


# -- twins --------------------------------------------------------------------------------------
def _applied(metric: Metric, records: list[Record]) -> list[Record]:
    return [r for r in records if metric.applies_to(r)]


def _chair_twin(metric: Metric, records: list[Record]) -> None:
    from halluscope.metrics.chair import chair_scores
    recs = [r for r in _applied(metric, records) if r.image_id in metric.gt]
    assert len(recs) >= 5
    twin = chair_scores([(r.image_id, r.response) for r in recs], metric.gt, metric.variant)
    res = _run(metric, recs).results
    for stat in ("chair_s", "chair_i", "recall", "len"):
        assert res[stat].value == pytest.approx(twin["overall"][stat]), stat
    assert res["chair_s"].n == twin["overall"]["n_captions"] == len(recs)


def _pope_twin(metric: Metric, records: list[Record]) -> None:
    from halluscope.metrics.pope import pope_scores
    recs = _applied(metric, records)
    payloads = [metric.score(r).payload for r in recs]
    twin = pope_scores([p["prediction"] for p in payloads], [p["label"] for p in payloads])
    res = _run(metric, recs).results
    assert len(recs) >= 10
    for stat in ("accuracy", "precision", "recall", "f1"):
        assert res[stat].value == pytest.approx(twin[stat]), stat


def _faithscore_twin(metric: Metric, records: list[Record]) -> None:
    from halluscope.metrics.faithscore import faithscore_scores
    recs = _applied(metric, records)
    twin = faithscore_scores([metric.verdicts(r) for r in recs], empty=metric.empty,
                             unverifiable=metric.unverifiable)
    res = _run(metric, recs).results
    assert math.isfinite(res["faithscore"].value)
    assert res["faithscore"].value == pytest.approx(twin["faithscore"])
    assert res["faithscore_sentence"].value == pytest.approx(twin["faithscore_sentence"])


def _wordcount_twin(metric: Metric, records: list[Record]) -> None:
    import importlib
    module = importlib.import_module(type(metric).__module__)
    recs = _applied(metric, records)
    twin = module.wordcount_scores([r.response for r in recs], min_words=metric.min_words)
    res = _run(metric, recs).results
    assert res["mean_words"].value == pytest.approx(twin["mean_words"])
    assert res["short_rate"].value == pytest.approx(twin["short_rate"])
    assert res["responses"].value == twin["responses"] == len(recs)
    # hand-worked: "A dog, a cat." has four words
    assert module.count_words("A dog, a cat.") == 4
    assert module.count_words("don't black-and-white") == 2


def _consistency_twin(metric: Metric, records: list[Record]) -> None:
    from halluscope.metrics.consistency import consistency_scores
    recs = _applied(metric, records)
    groups: dict[str, list[str]] = {}
    for r in recs:
        groups.setdefault(r.metadata["sample_of"], []).append(r.response)
    twin = consistency_scores(groups)
    res = _run(metric, recs).results
    assert res["self_consistency"].value == pytest.approx(twin["agreement"])
    assert res["self_consistent_rate"].value == pytest.approx(twin["consistent_rate"])


# -- fixtures -----------------------------------------------------------------------------------
def _consistency_records() -> list[Record]:
    answers = {"q1": ["Yes", "yes.", "No"], "q2": ["No", "No", "No", "no"], "q3": ["Yes", "No"],
               "q4": ["A dog.", "A dog", "a cat"]}
    rows = [{"id": f"{g}-{i}", "prompt": f"question {g}", "response": a, "sample_of": g,
             "image": f"{g}.jpg"}
            for g, group in answers.items() for i, a in enumerate(group)]
    return [record_from_dict(r, file="samples.jsonl", line=i) for i, r in enumerate(rows, 1)]


def _reefknot_records() -> list[Record]:
    rows = [("Is the man riding the horse?", "Yes, he is.", "yes", "perception"),
            ("Is the man feeding the horse?", "No.", "no", "perception"),
            ("Is the cup on the table?", "No, it is under it.", "yes", "perception"),
            ("Is the cup under the table?", "Yes", "no", "perception"),
            ("Is the dog chasing the cat?", "yes", "yes", "cognition"),
            ("Is the cat chasing the dog?", "Yes.", "no", "cognition"),
            ("What is the man doing with the horse? A. riding B. feeding", "A", "a",
             "perception")]
    return [Record(id=str(i), task="vqa", prompt=q, response=a,
                   label=label if label in ("yes", "no") else None,
                   metadata={"label": label, "relation_type": kind},
                   source=Source("reefknot.jsonl", i)) for i, (q, a, label, kind) in
            enumerate(rows, 1)]


def _objhal_case() -> Case:
    from halluscope.metrics.objhal import ObjhalMetric, ObjhalVocabulary
    vocab = ObjhalVocabulary.from_lines(["person, girl, boy, man, people", "dining table, table",
                                         "cat, kitten", "dog, puppy", "chair, seat"], "test")
    gt = {7: ["person", "dining table"], 8: ["dog", "chair"], 9: ["cat"]}

    def extract(question: str, answer: str):
        words = [w.strip(".,").lower() for w in answer.split()]
        return [w for w in words if w in ("man", "table", "cat", "dog", "chair", "kitten",
                                           "people", "puppy")], []

    texts = [(7, "A man sits at a table with a cat."), (8, "A dog under a chair."),
             (9, "A kitten and a dog."), (7, "People at a table."), (8, "A puppy."),
             (9, "Nothing here.")]
    records = [Record(id=f"o{i}", task="vqa", image_id=img, prompt="Describe the image.",
                      response=text, source=Source("objhal.jsonl", i))
               for i, (img, text) in enumerate(texts, 1)]
    return Case(lambda: ObjhalMetric(gt, extractor=extract, vocabulary=vocab, n_boot=200),
                records)


def _amber_case() -> Case | None:
    shared = shared_data_dir("amber")
    if shared is None:
        return None
    folder = shared / "amber"
    from halluscope.evidence.amber import load_amber
    from halluscope.metrics.amber import AmberMetric
    data = load_amber(folder)
    rows = [{"id": 1, "response": "The image shows a man on a road near the lake with a dog."},
            {"id": 2, "response": "A cat on a sofa beside a lamp."},
            {"id": 1005, "response": "Yes"}, {"id": 1006, "response": "No"},
            {"id": 8633, "response": "no."}]
    records = [record_from_dict(r, file="amber.jsonl", line=i) for i, r in enumerate(rows, 1)]
    return Case(lambda: AmberMetric(data, variant="refined", n_boot=200), records)


def _cases() -> dict[str, Case]:
    demo = _demo_records()
    inputs = [DATA / "outputs.jsonl"]
    cfg = _demo_config()

    def build(name: str) -> Callable[[], Metric]:
        return lambda: metric_class(name).from_config(cfg)

    cases = {
        "chair": Case(build("chair"), demo, twin=_chair_twin, inputs=inputs),
        "pope": Case(build("pope"), demo, twin=_pope_twin, inputs=inputs),
        "claims": Case(build("claims"), demo, inputs=inputs),
        "faithscore": Case(build("faithscore"), demo, twin=_faithscore_twin, inputs=inputs),
        "region": Case(build("region"), _variants(demo, "regions", REGION_TEXTS),
                       inputs=inputs, cluster_by="item"),
        "page": Case(build("page"), _variants(demo, "document", PAGE_TEXTS), inputs=inputs,
                     cluster_by="item"),
        "wordcount": Case(lambda: metric_class(WORDCOUNT).from_config(
            _demo_config(options={"wordcount_min_words": 12})), demo, twin=_wordcount_twin,
            inputs=inputs),
        "consistency": Case(lambda: metric_class("consistency").from_config(cfg),
                            _consistency_records(), group_of=lambda r: r.metadata["sample_of"],
                            twin=_consistency_twin),
        "reefknot": Case(lambda: metric_class("reefknot").from_config(cfg), _reefknot_records(),
                         group_of=lambda r: (int(r.id) + 1) // 2),
        "objhal": _objhal_case(),
    }
    amber = _amber_case()
    if amber is not None:
        cases["amber"] = amber
    return cases


_CASES: dict[str, Case] | None = None


def _with_intervals(build: Callable[[], Metric], cluster_by: str) -> Callable[[], Metric]:
    """Intervals from 2 units on (the fixtures are small), so that they are compared too."""
    def built() -> Metric:
        metric = build()
        for m in (metric, getattr(metric, "samples", None), getattr(metric, "paraphrases", None)):
            if m is not None:
                m.min_units = 2
                m.cluster_by = cluster_by
        return metric
    return built


def case(name: str) -> Case:
    global _CASES
    if _CASES is None:
        _CASES = _cases()
        for c in _CASES.values():
            c.build = _with_intervals(c.build, c.cluster_by)
    if name not in _CASES:
        pytest.skip(f"{name}: its fixture data is not here (../shared/data)")
    return _CASES[name]


NAMES = ["chair", "pope", "claims", "faithscore", "region", "page", "wordcount", "consistency",
         "reefknot", "objhal", "amber"]


# -- helpers ------------------------------------------------------------------------------------
def _run(metric: Metric, records: list[Record], inputs: list[Path] = ()) -> Any:
    metric.begin(list(inputs))
    for r in records:
        if metric.applies_to(r):
            metric.update(r)
    metric.finish()
    return metric.compute()


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal JSON-like values, floats to 1e-9 (sums may be added in another order), NaN == NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {set(a) ^ set(b)}"
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{path}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        if math.isnan(a):
            assert math.isnan(b), f"{path}: {a} != {b}"
        else:
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _summary(metric_summary: Any) -> dict[str, Any]:
    out = metric_summary.to_dict()
    out.get("info", {}).pop("bootstrap", None)   # holds no value; clusters are compared via n
    return out


def _shards(records: list[Record], k: int, group_of) -> list[list[Record]]:
    """``k`` shards, contiguous by group, none empty."""
    keys = list(dict.fromkeys(group_of(r) for r in records))
    assert len(keys) >= k
    bounds = [round(i * len(keys) / k) for i in range(k + 1)]
    chunks = [set(keys[bounds[i]:bounds[i + 1]]) for i in range(k)]
    return [[r for r in records if group_of(r) in chunk] for chunk in chunks]


# -- the checks ---------------------------------------------------------------------------------
def test_every_registered_metric_is_checked_or_excluded_with_a_reason():
    registered = set(available_metrics())
    assert registered >= {"chair", "pope", "claims", "faithscore", "amber", "hallusionbench",
                          "mmhal", "region", "page", "consistency", "reefknot", "objhal"}
    assert registered - set(EXCLUDED) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [2, 3])
def test_merging_shards_equals_one_pass(name, k, isolated_cache):
    c = case(name)
    whole = c.build()
    one = _summary(_run(whole, c.records, c.inputs))
    assert one["n"] > 0
    assert any(isinstance(v, dict) and v.get("ci") for v in one.values()), "no interval"
    parts = []
    for shard in _shards([r for r in c.records if whole.applies_to(r)], k, c.group_of):
        m = c.build()
        m.begin(list(c.inputs))
        for r in shard:
            m.update(r)
        parts.append(m)
    merged = parts[0]
    for other in parts[1:]:
        merged.merge(other)
    merged.finish()
    _same(one, _summary(merged.compute()))


@pytest.mark.parametrize("name", NAMES)
def test_reset_empties_and_the_metric_can_be_reused(name, isolated_cache):
    c = case(name)
    m = c.build()
    first = _summary(_run(m, c.records, c.inputs))
    m.reset()
    fresh = c.build()
    empty = m.compute()
    assert empty.n == 0 and fresh.compute().n == 0
    _same(_summary(fresh.compute()), _summary(empty))
    assert not any(empty.tallies.values())
    _same(first, _summary(_run(m, c.records, c.inputs)))


@pytest.mark.parametrize("name", NAMES)
def test_an_items_score_does_not_depend_on_record_order(name, isolated_cache):
    """The records in reverse order (groups that must stay together reversed as wholes):
    every item scores the same, and so does the dataset."""
    c = case(name)
    forward, backward = c.build(), c.build()
    for m in (forward, backward):
        m.begin(list(c.inputs))
    recs = [r for r in c.records if forward.applies_to(r)]
    assert len(recs) >= 3
    got = {}
    for r in recs:
        item = forward.update(r)
        got[(r.id, r.question_id, r.source.line)] = (item.row, item.payload)
    groups: dict[Any, list[Record]] = {}
    for r in recs:
        groups.setdefault(c.group_of(r), []).append(r)
    assert len(groups) >= 3
    for r in [r for g in reversed(list(groups.values())) for r in g]:   # groups reversed
        item = backward.update(r)
        row, payload = got[(r.id, r.question_id, r.source.line)]
        _same(row, item.row, f"{r.id}.row")
        _same(payload, item.payload, f"{r.id}.payload")
    forward.finish()
    backward.finish()
    _same(_summary(forward.compute()), _summary(backward.compute()))


TWINS = [n for n in NAMES if n in ("chair", "pope", "faithscore", "wordcount", "consistency")]


@pytest.mark.parametrize("name", TWINS)
def test_the_class_equals_its_pure_function_twin(name, isolated_cache):
    c = case(name)
    assert c.twin is not None
    c.twin(c.build(), c.records)


@pytest.mark.parametrize("name", sorted(set(NAMES) | set(EXCLUDED)))
def test_the_declaration_is_well_formed(name):
    cls = metric_class(WORDCOUNT if name == "wordcount" else name)
    assert cls.name == name
    assert cls.report_view in ("details", "mentions", "yes-no")
    assert all(isinstance(o, MetricOption) and o.help for o in cls.options)
    assert len({o.name for o in cls.options}) == len(cls.options)
    assert cls.summary_line()
    fields = set(AuditConfig.model_fields)
    for opt in cls.options:
        assert (opt.name in fields) == opt.config_field, opt.name
        if opt.choices and opt.default is not None:
            assert opt.default in opt.choices
    if cls.statistics:        # class-level statistics: the headline names some of them
        assert set(cls.headline) <= set(cls.statistics)
    assert cls.needs_verification == (name in ("claims", "faithscore", "region", "page"))
    assert cls.explain_item({"id": 1}, "x", None) is None


def test_options_are_typed_and_checked():
    from halluscope.errors import ConfigError
    cls = metric_class(WORDCOUNT)
    assert cls.option(AuditConfig(), "wordcount_min_words") == 0
    assert cls.option(AuditConfig(options={"wordcount_min_words": "7"}),
                      "wordcount_min_words") == 7
    with pytest.raises(ConfigError, match="expected int, got 'many'"):
        cls.option(AuditConfig(options={"wordcount_min_words": "many"}), "wordcount_min_words")
    chair = metric_class("chair")
    assert chair.option(AuditConfig(), "chair_variant") == "refined"
    assert chair.option(AuditConfig(chair_variant="original"), "chair_variant") == "original"
    with pytest.raises(ConfigError, match=r"option 'faithscore_empty' of metric 'faithscore': "
                                          r"expected faithscore_empty in \('zero', 'skip', "
                                          r"'original'\), got 'never'"):
        metric_class("faithscore").option(AuditConfig(options={"faithscore_empty": "never"}),
                                          "faithscore_empty")


def test_unknown_names_and_references():
    from halluscope.errors import ConfigError, UnknownNameError
    with pytest.raises(UnknownNameError, match=r"unknown metric 'chiar'; did you mean 'chair'\?; "
                                               r"expected one of: amber, chair"):
        metric_class("chiar")
    with pytest.raises(ConfigError, match="expected a Python file"):
        metric_class("no/such/file.py:Thing")
    with pytest.raises(ConfigError, match="expected a Metric subclass named 'count_words'"):
        metric_class(f"{EXAMPLE}:count_words")
    assert metric_class("halluscope.metrics.chair:ChairMetric") is metric_class("chair")
    assert metric_class(WORDCOUNT) is metric_class(WORDCOUNT)     # the file runs once


def test_a_registered_metric_is_looked_up_in_the_entry_points_once(monkeypatch):
    """Each look-up read every installed package's entry points; an audit looks its metrics up
    several times. The class loaded first is kept; an unknown name is still looked for."""
    from halluscope.errors import UnknownNameError
    from halluscope.metrics import base
    monkeypatch.setattr(base, "_REGISTERED", {})
    scans = []
    real = base.available_metrics
    monkeypatch.setattr(base, "available_metrics", lambda: scans.append(1) or real())
    chair = metric_class("chair")
    assert metric_class("chair") is chair and base.declared("chair") is chair
    assert len(scans) == 1
    with pytest.raises(UnknownNameError):
        metric_class("chiar")
    assert len(scans) == 2


def test_wordcount_runs_through_audit_by_reference(tmp_path):
    import halluscope
    res = halluscope.audit(DATA, metrics=[WORDCOUNT], out=tmp_path, n_boot=200,
                           cluster_by="item", write_report=False)
    mean = res.metrics["wordcount"].results["mean_words"]
    assert res.metrics["wordcount"].n == 23 and mean.n == 23
    lo, hi = mean.ci
    assert lo < mean.value < hi
    from halluscope.metrics.base import _SEEN
    count_words = __import__(_SEEN["wordcount"].__module__).count_words
    demo = [r for r in iter_input_records(DATA / "outputs.jsonl") if isinstance(r, Record)]
    assert mean.value == pytest.approx(sum(count_words(r.response) for r in demo) / 23)


def test_every_rate_of_every_builtin_metric_is_bounded_to_fractions():
    """A statistic named as a rate, an accuracy, a precision, recall, F1 or CHAIR value is a
    fraction: its bounds are [0, 1] so that a gate refuses `=80` meaning 80 %."""
    import re

    from halluscope.metrics.base import available_metrics
    from halluscope.metrics.pope import PopeMetric

    rate_like = re.compile(r"(rate|ratio|accuracy|precision|recall|^f1$|^chair|^obj_rec$|cover)")
    classes = {name: ep.load() for name, ep in available_metrics().items()}
    tables = [(name, cls.statistics) for name, cls in classes.items()
              if getattr(cls, "statistics", None)]
    tables.append(("pope[lmms-eval]", PopeMetric.lmms_eval_statistics))
    checked = 0
    for name, stats in tables:
        for key, stat in stats.items():
            if stat.count or not rate_like.search(key):
                continue
            checked += 1
            assert stat.bounds == (0.0, 1.0), f"{name}.{key} is a rate without [0, 1] bounds"
    assert checked >= 20
