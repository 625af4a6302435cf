"""AMBER: the published scorer's rules on hand-computed cases, and AMBER's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from halluscope.errors import ConfigError
from halluscope.metrics.amber import AmberMetric, amber_generative, parse_answer
from halluscope.records import record_from_dict

SHARED = Path(os.environ.get("HALLUSCOPE_SHARED_DATA") or
              Path(__file__).resolve().parents[2] / "shared" / "data")
AMBER = SHARED / "amber"
needs_amber = pytest.mark.skipif(not (AMBER / "annotations.json").is_file(),
                                 reason="AMBER annotations not in ../shared/data/amber")

ASSOC = {"grass": ["ground"], "ground": ["floor"], "dog": [], "cat": [], "sky": [],
         "person": ["man", "people"], "car": ["window"]}


def test_generative_counts():
    c = amber_generative(["man", "grass", "dog", "sky", "window", "table"],
                         truth=["person", "grass"], hallu=["dog", "car"], association=ASSOC,
                         global_safe=["sky"])
    # kept: man grass dog sky window (table is no AMBER word); sky safe; dog, window hallucinated
    assert c["chair_num"] == 5 and c["chair_score"] == 2
    assert c["safe_cover_score"] == 2 and c["safe_cover_num"] == 2      # man covers person
    assert c["hallu_cover_score"] == 2 and c["hallu_cover_num"] == 2    # window covers car
    assert c["non_hallu_score"] == 0 and c["non_hallu_num"] == 1


def test_original_cover_quirk_and_refined_fix():
    # "ground" is grass's association word, listed before the truth words: the original marks
    # grass covered, not ground.
    orig = amber_generative(["ground"], ["grass", "ground"], [], ASSOC, [])
    fixed = amber_generative(["ground"], ["grass", "ground"], [], ASSOC, [], refined=True)
    assert orig["safe_cover_score"] == 1 and fixed["safe_cover_score"] == 1
    both = amber_generative(["ground", "grass"], ["grass", "ground"], [], ASSOC, [])
    assert both["safe_cover_score"] == 1                 # original: ground never covered
    both = amber_generative(["ground", "grass"], ["grass", "ground"], [], ASSOC, [],
                            refined=True)
    assert both["safe_cover_score"] == 2


def test_similarity_hook():
    sim = lambda a, b: {a, b} == {"puppy", "dog"}  # noqa: E731
    assoc = {**ASSOC, "puppy": []}
    c = amber_generative(["puppy"], ["dog"], [], assoc, [], similar=sim)
    assert c["chair_score"] == 0 and c["safe_cover_score"] == 1


def test_answers():
    assert parse_answer("Yes", "original") == "yes"
    assert parse_answer("yes", "original") is None
    assert parse_answer("No.", "original") is None
    assert parse_answer("No.", "refined") == "no"
    assert parse_answer("  YES, there is.", "refined") == "yes"
    assert parse_answer("I cannot tell", "refined") is None


RESPONSES = [{"id": 1, "response": "The image shows a man on a road near the lake with a dog "
                                   "and clouds."},
             {"id": 1005, "response": "Yes"}, {"id": 1006, "response": "No"},
             {"id": 8633, "response": "no."}]


@needs_amber
def test_original_by_hand():
    from halluscope.evidence.amber import load_amber
    m = AmberMetric(load_amber(AMBER), variant="original", n_boot=0)
    for r in RESPONSES:
        m.update(record_from_dict(r))
    res = {k: v.value for k, v in m.compute().results.items()}
    # item 1: nouns man road lake dog cloud; dog and cloud are hallu objects -> 2 of 5
    assert res["chair"] == pytest.approx(0.400)        # round(2 / 5.001 * 100, 1) / 100
    assert res["cover"] == pytest.approx(0.429)        # person, road, lake of 7 truth
    assert res["hal"] == pytest.approx(1.0)
    assert res["cog"] == pytest.approx(0.400)          # dog, cloud of 5 hallu
    # "no." is not exactly "No": wrong for the original
    assert res["accuracy"] == pytest.approx(0.666)     # 2 / 3.001
    assert res["precision"] == pytest.approx(0.999)    # 1 / 1.001
    assert res["recall"] == pytest.approx(0.500)       # 1 / 2.001
    assert res["f1"] == pytest.approx(0.666)
    assert res["amber_score"] == pytest.approx((1 - 0.4 + 0.666) / 2)
    assert res["existence_f1"] == pytest.approx(0.0)
    assert res["n_generative"] == 1 and res["n_discriminative"] == 3


@needs_amber
def test_refined_by_hand():
    from halluscope.evidence.amber import load_amber
    m = AmberMetric(load_amber(AMBER), variant="refined", n_boot=0)
    for r in RESPONSES:
        m.update(record_from_dict(r))
    res = {k: v.value for k, v in m.compute().results.items()}
    assert res["chair"] == pytest.approx(0.4)
    assert res["cover"] == pytest.approx(3 / 7)
    assert res["accuracy"] == 1.0 and res["f1"] == 1.0
    assert res["amber_score"] == pytest.approx((1 - 0.4 + 1.0) / 2)


@needs_amber
def test_case_is_kept_by_the_original():
    from halluscope.evidence.amber import load_amber
    data = load_amber(AMBER)
    orig = AmberMetric(data, variant="original", n_boot=0)
    ref = AmberMetric(data, variant="refined", n_boot=0)
    rec = record_from_dict({"id": 1, "response": "Dog. Dog."})
    assert orig.score(rec).payload["chair_score"] == 0     # "Dog" is no AMBER word
    assert ref.score(rec).payload["chair_score"] == 2


@needs_amber
def test_from_config_detects_amber_and_rejects_bad_variant(tmp_path):
    from halluscope.config import AuditConfig
    cfg = AuditConfig(annotations=[AMBER / "annotations.json"], n_boot=0,
                      options={"amber_variant": "refined"})
    m = AmberMetric.from_config(cfg)
    assert m.variant == "refined" and m.describe()["variant"] == "refined"
    assert m.applies_to(record_from_dict({"id": 3, "response": "x"}))
    assert m.applies_to(record_from_dict({"id": 999999, "response": "x"}))  # a bad record
    with pytest.raises(ConfigError):
        AmberMetric.from_config(AuditConfig(annotations=[AMBER / "annotations.json"],
                                            options={"amber_variant": "new"}))
    with pytest.raises(ConfigError, match="AMBER"):
        AmberMetric.from_config(AuditConfig())


@needs_amber
def test_shared_files_format():
    ann = json.loads((AMBER / "annotations.json").read_text())
    assert len(ann) == 15220 and [a["id"] for a in ann] == list(range(1, 15221))
    assert {a["type"] for a in ann[:1004]} == {"generative"}
    assert all(a["truth"] in ("yes", "no") for a in ann[1004:])
    metrics = dict(line.split("=") for line in (AMBER / "metrics.txt").read_text().split())
    assert all(float(v) == (0.001 if k.endswith("_num") else 0) for k, v in metrics.items())


def test_a_word_maps_to_the_same_amber_node_whatever_the_hash_seed():
    import os
    import subprocess
    import sys

    from halluscope.claims.vocab import default_amber_dir
    folder = default_amber_dir()
    if folder is None or not (folder / "relation.json").is_file():
        pytest.skip("AMBER's relation.json is not in ../shared/data")
    code = ("from halluscope.claims.vocab import default_amber_dir, load_amber_vocabulary\n"
            "v = load_amber_vocabulary(default_amber_dir() / 'relation.json')\n"
            "print([v._hypernym(w) for w in ('automobile', 'trolley', 'puppy')])")
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}
                           ).stdout.strip() for seed in (1, 2, 3)}
    # an automobile is WordNet's car.n.01, whose own word is the node ``car``; a trolley is a
    # wheeled vehicle: not "container"
    assert seen == {"['car', 'vehicle', 'dog']"}


def test_each_statistic_counts_the_items_it_is_computed_over():
    """Every statistic had n = all records (66), so intervals came out over 6 answers, such as
    number_accuracy 1.0 [1.0, 1.0], which the fewer-than-10-units rule is there to prevent."""
    from pathlib import Path as _P

    from halluscope.evidence.amber import AmberData
    items = {1: {"type": "generative", "truth": ["dog"], "hallu": ["cat"]},
             2: {"type": "discriminative-hallucination", "truth": "yes"},
             3: {"type": "discriminative-attribute-number", "truth": "no"}}
    m = AmberMetric(AmberData(path=_P("a.json"), items=items, association={"dog": [], "cat": []}),
                    variant="refined", n_boot=0)
    for i, r in enumerate([{"id": 1, "response": "A dog."}, {"id": 2, "response": "Yes"},
                           {"id": 3, "response": "No"}], 1):
        m.update(record_from_dict(r, line=i))
    res = m.compute().results
    assert (res["chair"].n, res["accuracy"].n, res["existence_accuracy"].n,
            res["attribute_accuracy"].n, res["number_accuracy"].n) == (1, 2, 1, 1, 1)


def test_a_line_number_is_no_amber_id_and_the_image_name_wins():
    """A record without an id gets its line number as id; that id names no AMBER item: the
    documented AMBER_<n>.jpg mapping is read instead, and a record with neither is a bad
    record, not AMBER item <line> (found by a bug hunt)."""
    from halluscope.errors import RecordError
    from halluscope.evidence.amber import AmberData, amber_id
    by_image = record_from_dict({"image": "AMBER_7.jpg", "response": "A beach."},
                                file="r.jsonl", line=2)
    assert by_image.id == "2" and by_image.id_from_line
    assert amber_id(by_image) == 7
    bare = record_from_dict({"response": "Yes"}, file="r.jsonl", line=2)
    assert amber_id(bare) is None
    assert amber_id(record_from_dict({"id": 2, "response": "Yes"}, line=5)) == 2
    assert not record_from_dict({"id": 2, "response": "Yes"}, line=5).id_from_line
    m = AmberMetric(AmberData(items={1005: {"id": 1005, "type": "discriminative-attribute-state",
                                            "truth": "yes"}},
                              path=Path("ann.json")), n_boot=0)
    assert not m.applies_to(bare)
    err = m.refusal(bare)                           # asked for: listed, not passed by
    assert "no AMBER id" in err.message
    assert (err.location.file, err.location.line, err.location.field) == ("r.jsonl", 2, "id")
    with pytest.raises(RecordError, match="no AMBER id"):
        m.score(bare)


def test_amber_annotations_found_in_a_folder_or_named_when_missing(tmp_path):
    # --annotations DIR (AMBER's folder) is accepted; a folder without annotations.json and
    # a file that is not AMBER's are named in the error
    from halluscope.errors import ConfigError
    from halluscope.evidence.amber import amber_among
    folder = tmp_path / "amber"
    folder.mkdir()
    (folder / "annotations.json").write_text(json.dumps(
        [{"id": 1, "type": "generative", "truth": ["dog"], "hallu": ["cat"]}]))
    assert amber_among([folder]) == folder / "annotations.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "coco.json"
    other.write_text(json.dumps({"images": {}}))
    with pytest.raises(ConfigError, match=r"got the folder .*empty \(no annotations.json in "
                                          r"it\), .*coco.json \(not AMBER's annotations\)"):
        amber_among([empty, other])
