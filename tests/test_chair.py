"""CHAIR on hand-worked captions, both variants; ground truth, caching and the metric protocol."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError, InputError, RecordError
from halluscope.metrics.chair import ChairMetric, chair_scores, parser_for
from halluscope.metrics.chair_gt import (GroundTruth, load_coco_ground_truth,
                                         load_ground_truth, objects_from_mapping)
from halluscope.metrics.chair_singular import pattern_singular, plural_forms, singular_table
from halluscope.metrics.chair_text import span_finder, token_spans, word_tokenizer
from halluscope.records import Record, Source
from halluscope.resources import spec_path

ORIGINAL, REFINED = parser_for("original"), parser_for("refined")


def mentions(parser, caption):
    return [(m.word, m.node) for m in parser.parse(caption).mentions]


def nodes(parser, caption):
    return [m.node for m in parser.parse(caption).mentions]


# -- the pinned vocabulary ---------------------------------------------------------------------

def test_spec_path_finds_the_vocabulary_and_names_what_is_missing():
    path = spec_path("metrics", "chair-coco.json")
    data = json.loads(path.read_text())
    assert data["name"] == "chair-coco" and data["version"] == 1 and data["description"]
    assert len(data["objects"]) == 80
    with pytest.raises(ConfigError, match="metrics/nope.json not found"):
        spec_path("metrics", "nope.json")
    with pytest.raises(ConfigError):
        spec_path("..", "pyproject.toml")


def test_vocabulary_records_the_never_matching_entries():
    spec = ORIGINAL.spec
    unmatchable = {u["word"]: u["as_written"] for u in spec.data["original"]["unmatchable"]}
    assert unmatchable["motor bike"] == " motor bike"
    assert unmatchable["cheesecake"] == " cheesecake"
    assert unmatchable["iphone"] == "iPhone"
    for word in ("motor bike", "cheesecake", "iphone"):
        assert word not in ORIGINAL.vocabulary
        assert word in REFINED.vocabulary or word in REFINED._phrases.values() \
            or REFINED._key(word) in REFINED._phrases
    assert spec.label == "chair-coco@1"


# -- Pattern's singularize ---------------------------------------------------------------------

@pytest.mark.parametrize("word, singular", [
    ("dogs", "dog"), ("bus", "bu"), ("buses", "bus"), ("ties", "ty"), ("glass", "glas"),
    ("glasses", "glass"), ("tennis", "tenni"), ("women", "woman"), ("people", "person"),
    ("children", "child"), ("mice", "mouse"), ("knives", "knife"), ("leaves", "leaf"),
    ("geese", "goose"), ("oxen", "ox"), ("skis", "ski"), ("scissors", "scissors"),
    ("sheep", "sheep"), ("boxes", "box"), ("benches", "bench"), ("cherries", "cherry"),
    ("is", "is"), ("has", "ha"), ("process", "proces"), ("broccoli", "broccoli"),
    ("cacti", "cactus"), ("your", "ymy"), ("slice", "slouse"), ("ears", "ears"),
    ("dogs'", "dog's"), ("'s", "'"), ("mothers-in-law", "mother-in-law"),
    ("horse-drawn", "horse-drawn"), ("hot-dogs", "hot-dog"), ("doggies", "doggies"),
    ("species", "species"), ("analyses", "analysis"), ("bases", "basis"), ("data", "datum"),
    ("", ""),
])
def test_pattern_singular(word, singular):
    assert pattern_singular(word) == singular


@pytest.mark.parametrize("word, plurals", [
    ("bus", {"buses", "busses"}), ("tie", {"ties"}), ("person", {"people", "persons"}),
    ("knife", {"knives", "knifes"}), ("policeman", {"policemen", "policemans"}),
    ("puppy", {"puppies", "puppys"}), ("bench", {"benches"}), ("sheep", {"sheep", "sheeps"}),
    ("buffalo", {"buffalo", "buffaloes", "buffalos"}), ("wine glass", {"wine glasses"}),
    ("teddy bear", {"teddy bears"}), ("calf", {"calves", "calfs"}), ("ski", {"skis"}),
])
def test_plural_forms(word, plurals):
    assert plurals <= plural_forms(word)


def test_refined_singulars_of_the_vocabulary():
    table = REFINED._plurals
    for plural, singular in {"buses": "bus", "ties": "tie", "knives": "knife", "calves": "calf",
                             "giraffes": "giraffe", "glasses": "glass", "tracks": "track",
                             "slices": "slice", "geese": "goose", "kittens": "kitten"}.items():
        assert table[plural] == singular, plural
    for word in ("bus", "skis", "people", "scissors", "sports", "tennis", "is", "has", "was"):
        assert REFINED._singular(word) == word
    assert "skis" not in singular_table({"ski", "skis"})     # a listed word is never remapped


def test_refined_plurals_cover_what_lemminflect_knows():
    """Every noun plural lemminflect knows for a vocabulary word is recognised (where
    lemminflect is installed; the refined variant itself does not need it)."""
    lemminflect = pytest.importorskip("lemminflect")
    vocab, missing = REFINED.vocabulary, []
    for word, node in vocab.items():
        for form in lemminflect.getAllInflections(word, upos="NOUN").get("NNS", ()):
            last = form.split("-")[-1]              # hyphenated tokens are split into parts
            if vocab.get(REFINED._singular(last)) != node:
                missing.append((word, form))
    assert not missing


# -- the tokenizer -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a dog. the cat sat on the mat. ",
    "the dog's bowl, the dogs' bowls; i can't see it -- really? yes!",
    '"quoted" words (in brackets) and [square] ones... and e.g. mr. smith at 3 p.m.',
    "gonna wanna cannot 'tis more'n d'ye, 1,000 people: 3.5 feet",
    "it’s “curly” — a test… done.\n\nnew paragraph:  two  spaces.",
    "",
])
def test_tokenizer_equals_nltk_word_tokenize(text):
    import nltk.tokenize as nt
    ours = word_tokenizer()
    saved = nt._get_punkt_tokenizer
    nt._get_punkt_tokenizer = lambda language="english": ours._splitter
    try:
        assert ours(text) == nt.word_tokenize(text)
        assert ours(text.upper()) == nt.word_tokenize(text.upper())
    finally:
        nt._get_punkt_tokenizer = saved


def test_tokenizer_equals_nltk_on_random_strings():
    import nltk.tokenize as nt
    ours = word_tokenizer()
    saved = nt._get_punkt_tokenizer
    nt._get_punkt_tokenizer = lambda language="english": ours._splitter
    rng = random.Random(7)
    pieces = list("ab .,:;'\"`!?()-*\n") + ["dog", "e.g.", "...", "--", "'s", "n't", "cannot",
                                           "gonna", ". The", "1,5", "’", "“", "«", "–"]
    try:
        for _ in range(3000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
            assert ours(text) == nt.word_tokenize(text), repr(text)
    finally:
        nt._get_punkt_tokenizer = saved


def test_spans_fast_and_slow_agree():
    tok = word_tokenizer()
    for text in ("a dog and\n\n two  cats.", "  leading space, then \"quotes\" here.",
                 "dogs' toys; it's fine."):
        tokens = tok(text)
        fast, slow = span_finder(text, tokens), token_spans(text, tokens)
        for j, sp in enumerate(slow):
            assert fast(j, j) == sp


# -- the original variant ------------------------------------------------------------------------

def test_original_synonyms_plurals_and_words_as_written():
    assert mentions(ORIGINAL, "A puppy chases two kittens while people watch.") == [
        ("puppy", "dog"), ("kitten", "cat"), ("person", "person")]


def test_original_two_word_phrases_fuse_and_shorten_the_caption():
    parsed = ORIGINAL.parse("Two hot dogs and a teddy bear on a baseball bat.")
    assert [(m.word, m.node) for m in parsed.mentions] == [
        ("hot dog", "hot dog"), ("teddy bear", "teddy bear"), ("baseball bat", "baseball bat")]
    assert parsed.n_tokens == 12 - 3           # 12 tokens, three pairs fused
    # dining table is not fused; 'table' alone maps to it
    parsed = ORIGINAL.parse("A dining table.")
    assert [(m.word, m.node) for m in parsed.mentions] == [("table", "dining table")]
    assert parsed.n_tokens == 4
    assert nodes(ORIGINAL, "A stove top oven.") == ["oven", "oven"]


def test_original_bus_ties_hyphens_and_orange():
    assert nodes(ORIGINAL, "A bus.") == []
    assert mentions(ORIGINAL, "Two buses.") == [("bus", "bus")]
    assert nodes(ORIGINAL, "He ties a tie.") == ["tie"]
    assert nodes(ORIGINAL, "A horse-drawn cart and hot-dogs.") == []
    assert nodes(ORIGINAL, "An orange cat and an orange.") == ["orange", "cat", "orange"]
    assert nodes(ORIGINAL, "A man on a motor bike with cheesecake and an iPhone.") == ["person"]
    assert nodes(ORIGINAL, "Train tracks near a train.") == ["train"]


def test_original_toilet_removes_every_seat_and_shifts_positions():
    caption = "The seat of the toilet is up, and a dog sits on a seat."
    parsed = ORIGINAL.parse(caption)
    assert [m.node for m in parsed.mentions] == ["toilet", "dog"]
    # tokens: the0 seat1 of2 the3 toilet4 is5 up6 ,7 and8 a9 dog10 ...; with 'seat' dropped
    # the original reports toilet at 3 and dog at 9 (one to the left)
    assert [m.index for m in parsed.mentions] == [3, 9]
    spans = [caption[m.span[0]:m.span[1]] for m in parsed.mentions]
    assert spans == ["toilet", "dog"]          # spans are where the words really are
    assert nodes(ORIGINAL, "A seat next to a toilet seat.") == ["toilet"]
    assert nodes(ORIGINAL, "A seat.") == ["chair"]


def _literal_original(parser, caption):
    """The original's caption_to_words written out literally (for checking positions)."""
    _, words, idxs = parser.words(caption)
    if "toilet" in words and "seat" in words:
        words = [w for w in words if w != "seat"]
    vocab = parser.vocabulary
    idxs = [idxs[i] for i, w in enumerate(words) if w in vocab]
    words = [w for w in words if w in vocab]
    return words, [vocab[w] for w in words], idxs


def test_original_positions_match_the_literal_algorithm_on_random_captions():
    rng = random.Random(3)
    parts = ["a", "the", "toilet", "seat", "seats", "hot", "dogs", "dog", "baby", "elephant",
             "passenger", "train", "tracks", "motor", "bike", "and", ".", ",", "wine", "glass",
             "toilet seat", "bow", "tie", "stop", "sign", "people"]
    for _ in range(500):
        caption = " ".join(rng.choice(parts) for _ in range(rng.randint(0, 30)))
        words, nodes_, idxs = _literal_original(ORIGINAL, caption)
        parsed = ORIGINAL.parse(caption)
        assert [m.word for m in parsed.mentions] == words, caption
        assert [m.node for m in parsed.mentions] == nodes_, caption
        assert [m.index for m in parsed.mentions] == idxs, caption
        assert parsed.n_tokens == len(ORIGINAL.words(caption)[1])


def test_original_animal_and_vehicle_qualifiers():
    assert mentions(ORIGINAL, "A baby elephant and an adult giraffe.") == [
        ("elephant", "elephant"), ("giraffe", "giraffe")]
    assert nodes(ORIGINAL, "A baby and a passenger train.") == ["person", "train"]
    assert nodes(ORIGINAL, "Passenger buses.") == ["person", "bus"]


def test_empty_caption():
    for parser in (ORIGINAL, REFINED):
        parsed = parser.parse("")
        assert parsed.mentions == () and parsed.n_tokens == 0
    out = chair_scores([(1, ""), (1, "A dog.")], {1: {"dog"}})
    assert out["captions"][0]["chair_s"] == 0 and out["captions"][0]["chair_i"] is None
    assert out["overall"]["chair_i"] == 0.0 and out["overall"]["len"] == 1.5


# -- the refined variant -------------------------------------------------------------------------

def test_refined_bus_ties_hyphens():
    assert mentions(REFINED, "A bus and two buses.") == [("bus", "bus"), ("bus", "bus")]
    assert nodes(REFINED, "A man wears ties.") == ["person", "tie"]
    assert nodes(REFINED, "A horse-drawn cart next to hot-dogs and a double-decker.") == [
        "horse", "hot dog", "bus"]


def test_refined_phrases_and_unmatchable_synonyms():
    assert mentions(REFINED, "A dining table and a stove top oven.") == [
        ("dining table", "dining table"), ("stove top oven", "oven")]
    assert nodes(REFINED, "A man on a motor bike with cheesecake and an iPhone.") == [
        "person", "motorcycle", "cake", "cell phone"]
    assert nodes(REFINED, "A bow in her hair, a bow tie, and a tennis ball.") == [
        "tie", "sports ball"]
    assert nodes(REFINED, "Train tracks, toilet paper and a tennis court.") == []
    parsed = REFINED.parse("A dining table.")
    assert parsed.n_tokens == 3


@pytest.mark.parametrize("caption, fruit", [
    ("An orange on a plate.", True),
    ("Orange slices and a knife.", True),
    ("Two oranges.", True),
    ("The orange is ripe.", True),
    ("An orange cat.", False),
    ("A bright orange kite.", False),
    ("An orange and white bus.", False),
    ("A white and orange bus.", False),
    ("An orange-colored wall.", False),
    ("She holds an orange.", True),
])
def test_refined_orange_colour_or_fruit(caption, fruit):
    assert ("orange" in nodes(REFINED, caption)) is fruit
    # the original counts every 'orange' token ('orange-colored' is one token: never matches)
    assert ("orange" in nodes(ORIGINAL, caption)) is ("orange-" not in caption)


def test_refined_toilet_seat_and_qualifiers():
    assert nodes(REFINED, "The seat of the toilet is up.") == ["toilet"]
    assert nodes(REFINED, "A toilet seat.") == ["toilet"]
    assert nodes(REFINED, "A toilet in one room, and in the other room a seat.") == [
        "toilet", "chair"]
    assert nodes(REFINED, "A baby giraffe, a passenger bus and a baby.") == [
        "giraffe", "bus", "person"]
    parsed = REFINED.parse("The seat of the toilet and a dog.")
    assert [m.index for m in parsed.mentions] == [4, 7]


def test_spans_point_at_the_words_in_the_caption():
    caption = "Two Dogs near a HOT DOG stand; the Teddy-Bear sleeps. İstanbul has a Cat."
    for parser in (ORIGINAL, REFINED):
        for m in parser.parse(caption).mentions:
            assert m.span is not None
            assert caption[m.span[0]:m.span[1]].lower().replace("-", " ") in {
                "dogs", "hot dog", "teddy bear", "cat", "teddy", "bear"}


# -- scores ---------------------------------------------------------------------------------------

GT = {1: frozenset({"person", "dog"}), 2: frozenset({"cat"}), 3: frozenset()}
CAPTIONS = [(1, "A man walks two dogs past a bus."),       # bus: lone 'bus' only in refined
            (2, "A cat sleeps on a couch next to a cat."),
            (3, "An empty room.")]


def test_chair_scores_by_hand():
    out = chair_scores(CAPTIONS, GT, "refined", spans=True)
    c1, c2, c3 = out["captions"]
    assert c1["words"] == ["person", "dog", "bus"] and c1["hallucinated"] == [("bus", "bus")]
    assert c1["hallucination_idxs"] == [7] and c1["chair_s"] == 1
    assert c1["chair_i"] == pytest.approx(1 / 3) and c1["recall"] == 1.0
    assert c2["hallucinated"] == [("couch", "couch")] and c2["recall"] == 1.0
    assert c3["mentioned"] == [] and c3["recall"] is None and c3["gt"] == []
    o = out["overall"]
    assert o["chair_s"] == pytest.approx(2 / 3)
    assert o["chair_i"] == pytest.approx(2 / 6)                 # 2 hallucinated of 6 mentions
    assert o["recall"] == pytest.approx(3 / 3)                  # (2 + 1 + 0) / (2 + 1 + 0)
    assert o["len"] == pytest.approx((9 + 11 + 4) / 3)
    assert all(len(c["spans"]) == len(c["mentioned"]) for c in out["captions"])
    orig = chair_scores(CAPTIONS, GT, "original")
    assert orig["captions"][0]["words"] == ["person", "dog"]     # 'bus' -> 'bu'
    assert "spans" not in orig["captions"][0]
    with pytest.raises(InputError, match="unknown image id 9"):
        chair_scores([(9, "A dog.")], GT)


def record(image_id, caption, line=1, task="caption"):
    return Record(id=str(line), task=task, image_id=image_id, response=caption,
                  source=Source("caps.jsonl", line))


def test_metric_results_intervals_payload_and_tallies():
    m = ChairMetric(GT, "refined", n_boot=200, seed=1)
    payloads = [m.update(record(i, c, k)).payload for k, (i, c) in enumerate(CAPTIONS, 1)]
    p = payloads[0]
    assert p["mentioned"] == [("man", "person"), ("dog", "dog"), ("bus", "bus")]
    assert p["hallucinated"] == [("bus", "bus")] and p["gt"] == ["dog", "person"]
    assert p["hallucination_idxs"] == [7] and p["n_tokens"] == 9
    assert p["chair_s"] == 1 and p["chair_i"] == pytest.approx(1 / 3)
    assert [CAPTIONS[0][1][a:b] for a, b in p["spans"]] == ["man", "dogs", "bus"]
    json.dumps(payloads)                                          # JSON-ready
    summary = m.compute()
    assert set(summary.results) == {"chair_s", "chair_i", "recall", "len"}
    for name in ("chair_s", "chair_i", "recall"):
        r = summary.results[name]
        # three captions: no interval means anything; it is flagged instead
        assert r.ci is None and "fewer than 10" in r.ci_note
    assert summary.results["chair_s"].n == 3 and summary.results["chair_i"].n == 6
    assert summary.results["chair_i"].value == pytest.approx(2 / 6)
    assert summary.results["recall"].higher_is_better
    assert not summary.results["chair_s"].higher_is_better
    assert summary.tallies["hallucinated"] == {"bus": 1, "couch": 1}
    assert summary.tallies["mentioned"]["cat"] == 2
    info = summary.info
    assert info["variant"] == "refined" and info["vocabulary"] == "chair-coco@1"


def test_merge_of_two_shards_equals_one_pass():
    rng = random.Random(0)
    words = ["dog", "dogs", "cat", "a man", "bus", "couch", "people", "an orange", "toilet"]
    caps = [(rng.choice([1, 2, 3]), "A " + " and ".join(rng.sample(words, 3)) + ".")
            for _ in range(60)]
    whole = ChairMetric(GT, "original", n_boot=50)
    a, b = ChairMetric(GT, "original", n_boot=50), ChairMetric(GT, "original", n_boot=50)
    for k, (i, c) in enumerate(caps):
        whole.update(record(i, c, k))
        (a if k < 25 else b).update(record(i, c, k))
    for m in (whole, a, b):
        m.min_units = 1                 # 3 images only; intervals wanted for the comparison
    a.merge(b)
    one, two = whole.compute(), a.compute()
    for name in ("chair_s", "chair_i", "recall", "len"):
        assert two.results[name].value == pytest.approx(one.results[name].value)
        assert two.results[name].n == one.results[name].n
        # weights come from each image's identity: sharding changes no interval
        assert two.results[name].ci == pytest.approx(one.results[name].ci)
    assert one.results["chair_s"].n == 60 and one.results["chair_s"].clusters == 3
    assert two.tallies == one.tallies


def test_unknown_or_missing_image_id_is_a_record_error():
    m = ChairMetric(GT, "original", n_boot=0)
    with pytest.raises(RecordError) as err:
        m.score(record(123, "A dog.", line=7))
    assert err.value.location.file == "caps.jsonl" and err.value.location.line == 7
    assert err.value.location.field == "image_id"
    assert "unknown image id 123: not in" in str(err.value)
    with pytest.raises(RecordError, match="image id"):
        m.score(record(None, "A dog."))


def test_applies_to_free_text_tasks_only():
    m = ChairMetric(GT, n_boot=0)
    assert m.applies_to(record(1, "x", task="caption"))
    assert m.applies_to(record(1, "x", task="vqa"))
    assert not m.applies_to(record(1, "x", task="document"))
    assert not m.applies_to(record(1, "x", task="yes-no"))
    # a photo that is not a COCO image is not a CHAIR item; a bare caption without an id is,
    # and is reported as missing its image id
    assert not m.applies_to(Record(id="p", task="caption", image="photos/me.jpg", response="x"))
    assert m.applies_to(Record(id="q", task="caption", response="x"))


# -- ground truth --------------------------------------------------------------------------------

def test_from_config_needs_ground_truth(tmp_path):
    with pytest.raises(ConfigError, match="--gt-objects.*--coco-annotations"):
        ChairMetric.from_config(AuditConfig())
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"1": ["dog", "puppy", "man"], "COCO_val2014_000000000002.jpg":
                                ["cat"], "3": []}))
    m = ChairMetric.from_config(AuditConfig(gt_objects=path, chair_variant="original",
                                            n_boot=10, seed=3, confidence=0.9))
    assert m.variant == "original" and m.n_boot == 10 and m.seed == 3 and m.confidence == 0.9
    assert m.gt[1] == {"dog", "person"} and m.gt[2] == {"cat"} and m.gt[3] == frozenset()
    info = m.describe()
    assert info["ground_truth"]["files"][0]["path"] == str(path)
    assert len(info["ground_truth"]["files"][0]["sha256"]) == 64
    assert ChairMetric.from_config(AuditConfig(gt_objects=path)).variant == "refined"


def test_gt_objects_file_shapes_and_errors(tmp_path):
    words = {"dog": "dog", "puppy": "dog", "cat": "cat"}
    assert objects_from_mapping({"5": ["puppy", "cat"]}, words) == {5: {"dog", "cat"}}
    wrapped = tmp_path / "cache.json"
    wrapped.write_text(json.dumps({"imid_to_objects": {"7": ["dog"]}}))
    gt = load_ground_truth(ORIGINAL, wrapped)
    assert isinstance(gt, GroundTruth) and gt[7] == {"dog"} and gt.source == "gt-objects"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"x": ["dog"]}))
    with pytest.raises(ConfigError, match="expected COCO image ids"):
        load_ground_truth(ORIGINAL, bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected"):
        load_ground_truth(ORIGINAL, bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_ground_truth(ORIGINAL, bad)


def _coco_files(folder):
    cats = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"},
            {"id": 67, "name": "dining table"}]
    images = [{"id": i, "file_name": f"{i}.jpg"} for i in (10, 11, 12)]
    inst = {"images": images, "categories": cats, "annotations": [
        {"id": 1, "image_id": 10, "category_id": 18, "bbox": [0, 0, 1, 1], "area": 1,
         "iscrowd": 0},
        {"id": 2, "image_id": 11, "category_id": 67, "bbox": [0, 0, 1, 1], "area": 1,
         "iscrowd": 0}]}
    caps = {"images": images, "annotations": [
        {"id": 1, "image_id": 10, "caption": "A man walking his dog."},
        {"id": 2, "image_id": 11, "caption": "Buses and a bus near a table."},
        {"id": 3, "image_id": 11, "caption": "Wine glasses on it."}]}
    (folder / "instances.json").write_text(json.dumps(inst))
    (folder / "captions.json").write_text(json.dumps(caps))
    return [folder / "instances.json", folder / "captions.json"]


def test_coco_ground_truth_is_built_the_original_way_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    files = _coco_files(tmp_path)
    gt = load_ground_truth(ORIGINAL, None, files)
    assert gt[10] == {"dog", "person"}
    assert gt[11] == {"dining table", "bus", "wine glass"}
    assert gt[12] == frozenset() and gt.source == "coco"
    cached = list((tmp_path / "cache" / "chair").glob("gt-original-*.json"))
    assert len(cached) == 1
    block = json.loads(cached[0].read_text())
    assert block["vocabulary"] == "chair-coco@1" and block["variant"] == "original"
    # a second start reads the cache (the builder is not called)
    import halluscope.metrics.chair_gt as cg
    monkeypatch.setattr(cg, "build_objects_from_coco",
                        lambda *a, **k: pytest.fail("rebuilt instead of reading the cache"))
    again = load_ground_truth(ORIGINAL, None, files)
    assert dict(again) == dict(gt)
    # the refined variant has its own cache entry; a changed file is a new key
    monkeypatch.undo()
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    refined = load_coco_ground_truth(files, REFINED)
    assert refined[11] == {"dining table", "bus", "wine glass"}
    files[1].write_text(files[1].read_text().replace("his dog", "his cat"))
    changed = load_coco_ground_truth(files, ORIGINAL)
    assert changed[10] == {"dog", "person", "cat"}
    assert len(list((tmp_path / "cache" / "chair").glob("gt-*.json"))) == 3


def test_a_gt_objects_value_that_is_an_object_is_refused_with_file_and_key(tmp_path):
    """{"1": {"dog": true, "person": false}} was read as its keys, person (false) counted as
    present; a string value was already refused. Both name the file and the image key."""
    gt = tmp_path / "gt.json"
    for value in ({"dog": True, "person": False}, "dog"):
        gt.write_text(json.dumps({"1": value}))
        with pytest.raises(ConfigError, match=r"gt.json: image 1: expected a list of object "
                                              r"words .*got (dict|str)"):
            load_ground_truth(ORIGINAL, gt)


def test_original_from_instances_only_warns_that_it_cannot_be_the_original(
        tmp_path, monkeypatch, caplog):
    """The original always adds the object words of the reference captions; built from the
    instances alone its numbers differ in silence. Said as a warning (also when the ground
    truth comes from the cache), and in the description (reference_captions: 0)."""
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    instances, captions = _coco_files(tmp_path)
    for _ in range(2):                      # built, then read from the cache
        caplog.clear()
        with caplog.at_level("WARNING"):
            gt = load_ground_truth(ORIGINAL, None, [instances])
        assert gt[10] == {"dog"} and gt.describe()["reference_captions"] == 0
        assert any("hold no reference captions" in r.getMessage() for r in caplog.records)
        # the advice must be a command line that works: the CLI's --coco-annotations takes one
        # file per flag, a second file after it would be read as an input of model outputs
        assert any("--coco-annotations instances.json --coco-annotations captions.json"
                   in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING"):
        full = load_ground_truth(ORIGINAL, None, [instances, captions])
        load_ground_truth(REFINED, None, [instances])
    assert full[10] == {"dog", "person"} and "reference_captions" not in full.describe()
    assert not any("reference captions" in r.getMessage() for r in caplog.records)


def test_from_config_with_coco_annotations(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    files = _coco_files(tmp_path)
    m = ChairMetric.from_config(AuditConfig(coco_annotations=files, n_boot=0))
    payload = m.update(record(10, "A dog and a cat.")).payload
    assert payload["hallucinated"] == [("cat", "cat")]
    assert m.describe()["ground_truth"]["source"] == "coco"
    assert Counter(m.tallies["hallucinated"]) == {"cat": 1}


def test_chair_commands(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from halluscope.cli import app
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    files = _coco_files(tmp_path)
    out = tmp_path / "gt.json"
    args = ["chair", "gt", "-a", str(files[0]), "-a", str(files[1]), "-o", str(out),
            "--variant", "original"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    written = json.loads(out.read_text())
    assert written["imid_to_objects"]["10"] == ["dog", "person"]
    assert load_ground_truth(ORIGINAL, out)[11] == {"dining table", "bus", "wine glass"}
    res = CliRunner().invoke(app, ["chair", "words", "Two hot dogs and a bus.", "--variant",
                                   "original"])
    assert res.exit_code == 0 and "hot dog\thot dog\ttoken 1\t'hot dogs'" in res.output
    assert "1 mentions" in res.output


def test_a_broken_vocabulary_file_is_a_config_error(tmp_path):
    from halluscope.metrics.chair_vocab import load_spec, make_parser
    data = json.loads(spec_path("metrics", "chair-coco.json").read_text())
    data["refined"]["phrases"]["flying saucer"] = "ufo"
    bad = tmp_path / "vocab.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="'flying saucer' counts as 'ufo'"):
        make_parser("refined", load_spec(bad))
    bad.write_text(json.dumps({"name": "x"}))
    with pytest.raises(ConfigError, match="expected a CHAIR vocabulary with 'version'"):
        load_spec(bad)
    with pytest.raises(ConfigError, match="expected CHAIR variant"):
        parser_for("nope")


def test_a_coco_name_with_a_typo_is_a_bad_record_not_a_non_coco_image():
    """'COCO_val2014_00000000000x.jpg' gave no COCO id and was passed by as "not a COCO image",
    counted among the skipped; a name that is no COCO name at all still is."""
    m = ChairMetric(GT, "original", n_boot=0)
    typo = Record(id="c2", task="caption", image="COCO_val2014_00000000000x.jpg",
                  response="A cat.", source=Source("a.jsonl", 2))
    assert m.applies_to(typo)
    with pytest.raises(RecordError) as info:
        m.score(typo)
    assert info.value.location.field == "image" and "got 'COCO_val2014_0" in info.value.message
    other = Record(id="c1", task="caption", image="photos/beach.jpg", response="A cat.")
    assert not m.applies_to(other) and "not a COCO image" in m.skip_reason(other)


def test_the_plain_shape_key_check_agrees_with_the_per_key_rule():
    """The lazy ground truth takes only canonical decimal keys (its lookup is ``str(int)``);
    the one-match check over the joined keys says what the per-key test says, for keys with a
    leading zero, a sign, spaces, other scripts' digits, a newline inside, or none at all."""
    from halluscope.metrics.chair_gt import _decimal_keys
    rng = random.Random(3)
    pieces = ["0", "7", "139", "007", "+1", "-2", " 3", "4 ", "\u0663", "1\n2", "\n", "",
              "12a", "1.0", "²", "9" * 25, "10"]
    for _ in range(3000):
        keys = {rng.choice(pieces) + rng.choice(["", "", "5", "0"])
                for _ in range(rng.randrange(0, 5))}
        want = all(k.isascii() and k.isdigit() and (len(k) == 1 or k[0] != "0") for k in keys)
        assert _decimal_keys(dict.fromkeys(keys, [])) is want, keys


def test_gt_objects_with_unusual_keys_give_what_the_general_path_gives(tmp_path):
    """Keys the lazy path refuses ("007", other scripts' digits) are read by the general path,
    as before; a value that is not a list, or a word that is not a string, is refused."""
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"007": ["dog"], "\u0668": ["puppy"], "12": []}))
    gt = load_ground_truth(ORIGINAL, path)
    assert dict(gt) == {7: {"dog"}, 8: {"dog"}, 12: frozenset()}
    path.write_text(json.dumps({"1": ["dog"], "2": ["cat"], "3": [7]}))
    with pytest.raises(ConfigError, match="image 3: expected object words, got 7"):
        load_ground_truth(ORIGINAL, path)
