"""Fidelity of AMBER ``original`` against AMBER's own ``inference.py`` output.

``shared/data/reference/amber/dev_responses.expected.json`` is the original scorer (AMBER @534babf,
evaluation type ``a``, its ``en_core_web_lg`` similarity step off) on 66 responses, with NLTK's
averaged-perceptron tagger (``shared/data/nltk``) and WordNet 3.0. halluscope must give every
printed number, every raw counter and every response's nouns and counters, when NLTK's tagger
data is found. Skipped when the shared data is absent.
"""

from __future__ import annotations

import json

import pytest

from conftest import shared_data_dir
from halluscope.metrics import amber as amber_mod
from halluscope.metrics.amber import AmberMetric, extract_nouns
from halluscope.records import Record, Source

DATA = shared_data_dir("amber/annotations.json", "reference/amber/dev_responses.expected.json",
                       "nltk/taggers/averaged_perceptron_tagger_eng")
pytestmark = pytest.mark.skipif(
    DATA is None, reason="shared data with amber/, reference/amber/ and nltk/ not found (set "
                         "HALLUSCOPE_SHARED_DATA or place it at ../shared/data)")

# what inference.py prints -> halluscope's statistic
PRINTED = {"Generative Task/CHAIR": "chair", "Generative Task/Cover": "cover",
           "Generative Task/Hal": "hal", "Generative Task/Cog": "cog",
           "Descriminative Task/Accuracy": "accuracy", "Descriminative Task/Precision": "precision",
           "Descriminative Task/Recall": "recall", "Descriminative Task/F1": "f1"}
for _title, _prefix in (("Exsitence", "existence_"), ("Attribute", "attribute_"),
                        ("State", "state_"), ("Number", "number_"), ("Action", "action_"),
                        ("Relation", "relation_")):
    for _stat in ("Accuracy", "Precision", "Recall", "F1"):
        PRINTED[f"{_title}/{_stat}"] = _prefix + _stat.lower()


@pytest.fixture
def nltk_data(monkeypatch):
    """Point NLTK at the shared data (tagger + punkt_tab), as ``NLTK_DATA`` would."""
    import nltk
    monkeypatch.setattr(nltk.data, "path", [str(DATA / "nltk"), *nltk.data.path])
    monkeypatch.setenv("NLTK_DATA", str(DATA / "nltk"))
    return DATA / "nltk"


def _load():
    ref = json.loads((DATA / "reference/amber/dev_responses.expected.json").read_text("utf-8"))
    responses = json.loads((DATA / "reference/amber/dev_responses.json").read_text("utf-8"))
    return ref, responses


def _records(responses):
    return [Record(id=str(r["id"]), task="caption", response=r["response"],
                   metadata={"amber_id": r["id"]},
                   source=Source("dev_responses.json", i))
            for i, r in enumerate(responses, 1)]


def _metric():
    from halluscope.evidence.amber import load_amber
    return AmberMetric(load_amber(DATA / "amber"), variant="original", n_boot=0)


def test_nltk_tagger_is_used_when_its_data_is_found(nltk_data):
    assert amber_mod.nltk_tagger_available()
    assert amber_mod._tagger()[1].startswith("nltk averaged perceptron")
    info = _metric().describe()
    assert info["tagger"].startswith("nltk averaged perceptron")
    assert str(nltk_data) in info["tagger"]


def test_every_printed_number_and_counter_matches_inference_py(nltk_data):
    ref, responses = _load()
    metric = _metric()
    for rec in _records(responses):
        metric.update(rec)
    summary = metric.compute()
    for printed, name in PRINTED.items():
        assert round(summary.results[name].value * 100, 1) == pytest.approx(
            ref["printed"][printed], abs=1e-9), (printed, summary.results[name].value)
    # the raw counters: halluscope's columns start at 0, the original's at metrics.txt's values
    state = {c: float(v) for c, v in zip(metric.columns, metric.state.totals)}
    init = metric.data.initial
    for key, want in ref["counters"].items():
        assert state[key] + init.get(key, 0.0) == pytest.approx(want, abs=1e-9), key


def test_every_response_nouns_and_counters_match(nltk_data):
    ref, responses = _load()
    metric = _metric()
    by_id = {r["id"]: r["response"] for r in responses}
    init = metric.data.initial
    checked = 0
    for item in ref["items"]:
        text = by_id[item["id"]]
        if "nouns_all" in item:
            assert extract_nouns(text) == item["nouns_all"], item["id"]
        score = metric.score(_records([{"id": item["id"], "response": text}])[0])
        row = dict(zip(metric.columns, score.row))
        for key, want in item["counters"].items():
            assert row[key] + init.get(key, 0.0) == pytest.approx(want, abs=1e-9), \
                (item["id"], key)
        checked += 1
    assert checked == len(responses) == 66


def test_without_nltk_tagger_data_spacy_tags_and_says_so(monkeypatch, tmp_path):
    import nltk
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    assert not amber_mod.nltk_tagger_available()
    try:
        tagger = amber_mod._tagger()
    except Exception as exc:  # noqa: BLE001 - spaCy pipeline not installed here
        pytest.skip(f"no spaCy pipeline to fall back to: {exc}")
    assert tagger[1].startswith("spaCy tagger")
    assert [t for _, t in tagger[0](["a", "dog", "runs"])][1].startswith("NN")


def test_audit_end_to_end_with_nltk_data(nltk_data, tmp_path):
    from typer.testing import CliRunner

    from halluscope.cli import app
    ref, _ = _load()
    res = CliRunner().invoke(app, [
        "audit", str(DATA / "reference/amber/dev_responses.json"), "--metric", "amber",
        "--annotations", str(DATA / "amber/annotations.json"), "--option",
        "amber_variant=original", "--bootstrap", "0", "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "results.json").read_text("utf-8"))["metrics"]["amber"]
    for printed, name in PRINTED.items():
        assert round(got[name]["value"] * 100, 1) == pytest.approx(ref["printed"][printed]), \
            printed
        # stored as the decimal of the printed figure (33.3 -> 0.333, never 0.33299999999999996)
        assert got[name]["value"] == round(ref["printed"][printed] / 100, 3), printed
    chair, f1 = ref["printed"]["Generative Task/CHAIR"], ref["printed"]["Descriminative Task/F1"]
    assert got["amber_score"]["value"] == round((100 - chair + f1) / 2 / 100, 4)
    sheet = json.loads((tmp_path / "runsheet.json").read_text("utf-8"))["metrics"]["amber"]
    assert sheet["tagger"].startswith("nltk averaged perceptron")


# AMBER item 1: truth sky, forest, grass, person, lake, mountain, road (association words
# include man, water, ...); hallu cloud, sun, bird, dog, flower. Each case was also run through
# inference.py itself (its similarity step off), which printed these numbers.
@pytest.mark.parametrize("responses,printed", [
    # "Dogs"/"Dog" keep their capital: WordNet leaves "Dogs" as it is and neither is an AMBER
    # word, so only "grass" counts (a truth word): CHAIR 0 / 1.001, Cover 1 / 7.001, and Hal
    # 100 - 1 / 1.001 * 100 = 0.0999 -> 0.1 although nothing was hallucinated
    (["Dogs are on the grass. Dog."], (0.0, 14.3, 0.1, 0.0)),
    # every repeat is a noun of its own: six nouns, none a truth or association word (a
    # hallu word is still hallucinated): CHAIR 6 / 6.001 -> 100.0; Cog 1 (dog) / 5.001 -> 20.0
    (["dog dog dog dog cat cat"], (100.0, 0.0, 100.0, 20.0)),
    # one id answered twice is scored twice: dog (hallucinated), lake, person per answer:
    # CHAIR 2 / 6.001 -> 33.3, Cover 4 / 14.001 -> 28.6, Hal 100.0, Cog 2 / 10.001 -> 20.0
    (["A dog sits by the lake near a person."] * 2, (33.3, 28.6, 100.0, 20.0)),
    # an empty answer, one of punctuation only, and one whose nouns are hyphenated words
    # ("dog-walker", "road-side": no AMBER word) are descriptions without a noun: CHAIR
    # 0 / 0.001, Cover 0 / 7.001, Cog 0 / 5.001, and Hal 100 - 1 / 1.001 * 100 -> 0.1
    ([""], (0.0, 0.0, 0.1, 0.0)),
    (["..."], (0.0, 0.0, 0.1, 0.0)),
    (["A dog-walker on the road-side."], (0.0, 0.0, 0.1, 0.0)),
    # curly quotes are tokens of their own (NLTK tags the closing ones NN, no AMBER word):
    # dog (a hallu word, hallucinated) and grass (truth): CHAIR 1 / 2.001 -> 50.0, Cover
    # 1 / 7.001 -> 14.3, Hal 100.0, Cog 1 / 5.001 -> 20.0
    (["\u201cdog\u201d on the \u2018grass\u2019."], (50.0, 14.3, 100.0, 20.0)),
    # WordNet: "mice" -> mouse (an AMBER word, not of this image: hallucinated), "people"
    # (person's association word), "trees" -> tree (forest's): CHAIR 1 / 3.001 -> 33.3, Cover
    # 2 / 7.001 -> 28.6, Hal 100.0, Cog 0.0
    (["Two mice and some people near trees."], (33.3, 28.6, 100.0, 0.0)),
])
def test_generative_edge_cases_print_as_inference_py(nltk_data, responses, printed):
    metric = _metric()
    for rec in _records([{"id": 1, "response": r} for r in responses]):
        metric.update(rec)
    res = metric.compute().results
    got = tuple(round(res[k].value * 100, 1) for k in ("chair", "cover", "hal", "cog"))
    assert got == printed
