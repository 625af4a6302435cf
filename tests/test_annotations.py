"""Annotation formats, facts providers, image keys, WordNet installation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError
from halluscope.evidence.annotations import detect_format, load_annotations
from halluscope.evidence.providers import (AnnotationProvider, build_providers, image_keys,
                                           provider_labels)
from halluscope.records import record_from_dict

SHARED = Path(os.environ.get("HALLUSCOPE_SHARED_DATA") or
              Path(__file__).resolve().parents[2] / "shared" / "data")
AMBER = SHARED / "amber"

SIMPLE = {"images": {"dog.jpg": {
    "size": [640, 480],
    "objects": [{"label": "dog", "box": [10, 20, 200, 220], "attributes": ["brown"]},
                {"label": "sofa", "box": [0, 100, 640, 480]}],
    "relations": [["dog", "on", "sofa"]], "absent": ["car"]},
    "7": {"objects": [{"label": "cat"}], "closed_world": True}}}


def write(tmp_path, name, obj):
    p = tmp_path / name
    p.write_text(json.dumps(obj), encoding="utf-8")
    return p


def test_simple_format(tmp_path):
    src = load_annotations(write(tmp_path, "ann.json", SIMPLE))
    f = src.get("dog.jpg")
    assert f.size == (640, 480) and not f.closed_world
    assert [i.label for i in f.instances] == ["dog", "sofa"]
    assert f.instances[0].box == (10.0, 20.0, 200.0, 220.0)
    assert f.instances[0].attributes == ("brown",)
    assert ("dog", "on", "sofa") in f.relations and "car" in f.absent
    g = src.get("7")
    assert g.closed_world and g.vocabulary >= {"dog", "sofa", "cat", "car"}


def test_simple_format_counts_and_labels(tmp_path):
    data = {"images": {"a.jpg": {"objects": [{"label": "tower", "box": [0, 0, 1, 1]}],
                                 "not_exhaustive": ["tower"]},
                       "b.jpg": {"objects": [{"label": "space suit"}],
                                 "exhaustive_counts": False}}}
    src = load_annotations(write(tmp_path, "counts.json", data))
    a, b = src.get("a.jpg"), src.get("b.jpg")
    assert a.provenance["exhaustive_counts"] and a.provenance["not_exhaustive"] == ["tower"]
    assert not b.provenance["exhaustive_counts"]
    assert src.labels() == {"tower", "space suit"}
    assert AnnotationProvider(src).labels() == src.labels()
    plain = load_annotations(write(tmp_path, "ann.json", SIMPLE))
    assert plain.get("dog.jpg").provenance["exhaustive_counts"] is True     # the default
    assert provider_labels([AnnotationProvider(src), AnnotationProvider(plain)]) >= {
        "tower", "space suit", "dog", "sofa", "car", "cat"}


def test_simple_format_errors(tmp_path):
    bad = {"images": {"a": {"objects": [{"label": "dog", "box": [10, 10, 5, 5]}]}}}
    with pytest.raises(ConfigError, match="x2 >= x1"):
        load_annotations(write(tmp_path, "bad.json", bad))
    with pytest.raises(ConfigError, match="expected COCO"):
        load_annotations(write(tmp_path, "other.json", {"foo": 1}))
    with pytest.raises(ConfigError, match="not found"):
        load_annotations(tmp_path / "missing.json")


@pytest.mark.parametrize("where,key,value,message", [
    ("image", "closed_world", "false", "image 'a.jpg': expected closed_world true or false, "
                                       "got 'false'"),
    ("image", "exhaustive_counts", "false", "image 'a.jpg': expected exhaustive_counts true or "
                                            "false, got 'false'"),
    ("top", "closed_world", 0, "bools.json: expected closed_world true or false, got 0"),
    ("top", "exhaustive_counts", "no", "expected exhaustive_counts true or false, got 'no'"),
    ("object", "crowd", "false", r"objects\[0\]: expected crowd true or false, got 'false'"),
])
def test_simple_format_booleans_must_be_json_booleans(tmp_path, where, key, value, message):
    # bool("false") is True: a quoted "false" closed the world it meant to leave open
    image = {"objects": [{"label": "dog", "box": [0, 0, 10, 10]}]}
    data = {"images": {"a.jpg": image}}
    {"image": image, "top": data, "object": image["objects"][0]}[where][key] = value
    with pytest.raises(ConfigError, match=message):
        load_annotations(write(tmp_path, "bools.json", data))
    {"image": image, "top": data, "object": image["objects"][0]}[where][key] = False
    assert load_annotations(write(tmp_path, "bools2.json", data)).get("a.jpg") is not None


def test_coco_iscrowd_must_be_0_or_1(tmp_path):
    data = {"images": [{"id": 1}], "categories": [{"id": 1, "name": "dog"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": "0",
                             "bbox": [0, 0, 1, 1]}]}
    with pytest.raises(ConfigError, match=r"annotations\[0\]: expected iscrowd 0 or 1, got '0'"):
        load_annotations(write(tmp_path, "crowd.json", data))


@pytest.mark.parametrize("change, message", [
    ({"bbox": [9, 0, -399, 297]}, r"annotations\[0\]: expected bbox .* width and height >= 0"),
    ({"image_id": 7}, r"annotations\[0\]: image_id 7 is not in 'images'"),
    ({"images": [{"id": 2, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}]},
     r"images\[1\]: expected distinct image ids, got id 2 again \(images\[0\]\)"),
    # an id no dict or set can hold was an internal error (TypeError: unhashable), exit 3
    ({"image_id": {"id": 2}}, r"annotations\[0\]\.image_id: expected an id .* got \{'id': 2\}"),
    ({"category_id": [17]}, r"annotations\[0\]\.category_id: expected an id .* got \[17\]"),
    ({"images": [{"id": [2], "file_name": "a.jpg"}]}, r"images\[0\]\.id: expected an id"),
])
def test_coco_entries_that_were_taken_in_silence_are_errors(tmp_path, change, message):
    """A negative width became a box with x2 < x1; an annotation of an unknown image was
    dropped, so its cat was absent (hallucinated) in a closed world; of two images with one
    id the later replaced the earlier."""
    ann = {"id": 1, "image_id": 2, "category_id": 17, "bbox": [9, 0, 399, 297], "iscrowd": 0}
    data = {"images": [{"id": 2, "file_name": "a.jpg"}], "categories": [{"id": 17,
                                                                        "name": "cat"}]}
    if "images" in change:
        data.update(change)
    else:
        ann.update(change)
    data["annotations"] = [ann]
    with pytest.raises(ConfigError, match=message):
        load_annotations(write(tmp_path, "instances.json", data))


def test_coco_instances(tmp_path):
    coco = {"images": [{"id": 139, "file_name": "000000000139.jpg", "width": 640,
                        "height": 426}],
            "annotations": [{"id": 1, "image_id": 139, "category_id": 18,
                             "bbox": [10, 20, 30, 40], "area": 1200, "iscrowd": 0},
                            {"id": 2, "image_id": 139, "category_id": 18,
                             "bbox": [100, 20, 30, 40], "area": 1200, "iscrowd": 0}],
            "categories": [{"id": 18, "name": "dog"}, {"id": 17, "name": "cat"}]}
    src = load_annotations(write(tmp_path, "instances.json", coco))
    assert src.kind == "coco" and src.labels() == frozenset()     # the splitter knows COCO
    f = src.get("139")
    assert f.closed_world and f.vocabulary == {"dog", "cat"} and f.size == (640, 426)
    assert [i.box for i in f.instances] == [(10, 20, 40, 60), (100, 20, 130, 60)]
    assert src.get("000000000139.jpg") is f        # by file name
    assert src.get("1") is None
    rec = record_from_dict({"image": "val/COCO_val2014_000000000139.jpg", "caption": "x"})
    assert AnnotationProvider(src).facts(rec) is f


def test_visual_genome_style(tmp_path):
    vg = [{"image_id": 1, "objects": [
        {"object_id": 5, "x": 1, "y": 2, "w": 10, "h": 20, "names": ["Dog"],
         "attributes": ["Brown"]},
        {"object_id": 6, "x": 0, "y": 0, "w": 50, "h": 50, "names": ["bed"]}],
        "relationships": [{"subject_id": 5, "object_id": 6, "predicate": "ON"}]}]
    src = load_annotations(write(tmp_path, "scene_graphs.json", vg))
    f = src.get("1")
    assert src.kind == "visual-genome"
    assert f.instances[0].label == "dog" and f.instances[0].attributes == ("brown",)
    assert f.instances[0].box == (1.0, 2.0, 11.0, 22.0)
    assert f.relations == {("dog", "on", "bed")}


def test_visual_genome_attributes_json(tmp_path):
    # Visual Genome's attributes.json lists each image's objects under "attributes"
    data = [{"image_id": 7, "attributes": [
        {"object_id": 1, "x": 10, "y": 20, "w": 100, "h": 50, "names": ["Dog"],
         "synsets": ["dog.n.01"], "attributes": ["Brown"]},
        {"object_id": 2, "x": 0, "y": 0, "w": 5, "h": 5, "names": ["ball"]}]}]
    src = load_annotations(write(tmp_path, "attributes.json", data))
    assert src.kind == "visual-genome"
    f = src.get("7")
    assert [(i.label, i.box, i.attributes) for i in f.instances] == [
        ("dog", (10.0, 20.0, 110.0, 70.0), ("brown",)), ("ball", (0.0, 0.0, 5.0, 5.0), ())]


def test_detect_format():
    assert detect_format({"annotations": [], "categories": [], "images": []}) == "coco"
    assert detect_format({"images": {}}) == "halluscope-json"
    assert detect_format([{"id": 1, "type": "generative", "truth": []}]) == "amber"
    assert detect_format([{"image_id": 1, "objects": []}]) == "visual-genome"


def test_image_keys_order():
    rec = record_from_dict({"id": "r1", "image": "a/b/pic.jpg", "caption": "x",
                            "metadata": {"image_key": "K"}})
    assert image_keys(rec) == ["K", "pic.jpg", "a/b/pic.jpg", "r1"]
    rec = record_from_dict({"image_id": 139, "caption": "x"})
    assert image_keys(rec)[0] == "139"


def test_build_providers_and_cache(tmp_path):
    p = write(tmp_path, "ann.json", SIMPLE)
    cfg = AuditConfig(annotations=[p])
    provs = build_providers(cfg)
    assert len(provs) == 1 and provs[0].name == "halluscope-json:ann.json"
    assert build_providers(cfg)[0].source is provs[0].source          # cached per path
    rec = record_from_dict({"id": "x", "image": "imgs/dog.jpg", "response": "A dog."})
    assert provs[0].facts(rec, []).key == "dog.jpg"


@pytest.mark.skipif(not (AMBER / "annotations.json").is_file(),
                    reason="AMBER annotations not in ../shared/data/amber")
def test_amber_facts_from_shared_data():
    src = load_annotations(AMBER / "annotations.json")
    assert src.kind == "amber" and len(src) == 1004
    f = src.get("AMBER_1.jpg")
    assert {"sky", "forest", "person", "man", "people"} <= f.present    # truth + associations
    assert {"cloud", "dog"} <= f.absent and f.closed_world
    assert ("person", "contact", "grass") in f.relations
    sky = f.of("sky")[0]
    assert "sunny" in sky.attributes and "gloomy" in sky.payload["absent_attributes"]
    data = src.data
    assert len(data.items) == 15220 and len(data.queries) == 15220
    for item in data.items.values():            # every generative word has associations
        if item["type"] == "generative":
            assert all(w in data.association for w in item["truth"] + item["hallu"])
    assert data.initial["chair_num"] == 0.001 and data.safe_words[0] == "orange"


def test_ensure_wordnet_idempotent(tmp_path):
    from halluscope.claims.wordnet import ensure_wordnet, lexnames_text
    lines = lexnames_text().splitlines()
    assert len(lines) == 45 and lines[0] == "00\tadj.all\t3" and lines[-1] == "44\tadj.ppl\t3"
    if not Path("/usr/share/wordnet/data.noun").is_file():
        with pytest.raises(ConfigError, match="apt-get install wordnet-base"):
            ensure_wordnet(tmp_path / "wn")
        return
    target = ensure_wordnet(tmp_path / "wn")
    assert (target / "lexnames").is_file() and not (target / "data.noun").is_symlink()
    mtime = (target / "data.noun").stat().st_mtime
    assert ensure_wordnet(tmp_path / "wn") == target
    assert (target / "data.noun").stat().st_mtime == mtime


def test_wordnet_loads_faster_into_the_same_reader():
    import warnings

    from halluscope.claims.wordnet import load_wordnet
    try:
        wn = load_wordnet()
    except (ConfigError, LookupError) as exc:
        pytest.skip(f"WordNet is not installed: {exc}")
    assert wn.get_version() == "3.0" and wn.map30 is None

    class AsNLTKLoadsIt(type(wn)):      # NLTK's own map_wn and open
        map_wn = type(wn).map_wn.original
        open = type(wn).open.original

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # "multilingual functions are not available"
        nltk_reader = AsNLTKLoadsIt(wn.root, None)
    assert nltk_reader._lemma_pos_offset_map == wn._lemma_pos_offset_map
    assert len(wn._lemma_pos_offset_map) > 147_000
    assert nltk_reader._exception_map == wn._exception_map
    assert nltk_reader.satellite_offsets == wn.satellite_offsets
    # the map NLTK builds for 3.0 (1.5 s) sends each synset to itself (an adjective
    # satellite's "-a" key also to its "-s"): nothing is lost by skipping it
    assert len(nltk_reader.map30) > 117_000
    assert all(k == v or (k[:-1] == v[:-1] and (k[-1], v[-1]) == ("a", "s"))
               for k, v in nltk_reader.map30.items())


def test_ensure_wordnet_missing_source(tmp_path):
    from halluscope.claims.wordnet import ensure_wordnet
    with pytest.raises(ConfigError, match="apt-get install wordnet-base wordnet-sense-index"):
        ensure_wordnet(tmp_path / "wn", source=tmp_path / "nothing")


@pytest.mark.parametrize("image,message", [
    ({"objects": [{"label": "dog", "bbox": [0, 0, 10, 10]}]},
     r"image 'a.jpg': objects\[0\]: unknown key 'bbox', .*did you mean 'box'\?"),
    ({"objects": [{"label": "dog"}], "absnet": ["car"]},
     r"image 'a.jpg': unknown key 'absnet', .*did you mean 'absent'\?"),
    ({"objects": [{"label": "dog"}], "colour": ["red"]},
     r"image 'a.jpg': unknown key 'colour', expected one of size, objects"),
    ({"objects": [{"label": "car"}], "absent": ["car"]},
     r"image 'a.jpg': expected a label either among 'objects' or in 'absent', got 'car' in both"),
    ({"size": [100, 50], "objects": [{"label": "dog", "box": [10, 10, 90, 60]}]},
     r"objects\[0\]: expected a box inside the image's size \[100, 50\], got "
     r"\[10.0, 10.0, 90.0, 60.0\]"),
])
def test_simple_format_mistakes_are_errors(tmp_path, image, message):
    # each of these was silently accepted: the box or absent list dropped, or a contradiction
    with pytest.raises(ConfigError, match=message):
        load_annotations(write(tmp_path, "typo.json", {"images": {"a.jpg": image}}))


def test_simple_format_keeps_unknown_object_keys_and_file_notes(tmp_path):
    # an object's own extra keys are payload, a top-level note is fine; a near miss is not
    data = {"description": "my set", "images": {"a.jpg": {
        "size": [100, 50], "objects": [{"label": "dog", "box": [0, 0, 100, 50], "id": 7}]}}}
    f = load_annotations(write(tmp_path, "ok.json", data)).get("a.jpg")
    assert f.instances[0].payload == {"id": 7}
    data["vocabulary"] = ["dog"]
    data["closed_wrold"] = True
    with pytest.raises(ConfigError, match=r"ok2.json: unknown key 'closed_wrold', .*did you "
                                          r"mean 'closed_world'\?"):
        load_annotations(write(tmp_path, "ok2.json", data))


def test_visual_genome_object_with_part_of_a_box(tmp_path):
    data = [{"image_id": 1, "objects": [{"object_id": 1, "x": 3, "names": ["dog"]}]}]
    with pytest.raises(ConfigError, match=r"image 1: objects\[0\]: expected a box as x, y, w and "
                                          r"h, got x without y, w, h"):
        load_annotations(write(tmp_path, "vg.json", data))


def test_a_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(ConfigError, match=r"expected an annotation JSON file .*got the folder"):
        load_annotations(tmp_path)


def test_a_visual_genome_image_listed_twice_is_an_error(tmp_path):
    """The second entry of image 2 replaced the first, and its cat vanished in silence."""
    data = [{"image_id": 2, "objects": [{"object_id": 1, "names": ["cat"]}]},
            {"image_id": 2, "objects": [{"object_id": 5, "names": ["dog"]}]}]
    with pytest.raises(ConfigError, match="image 2: expected one entry per image"):
        load_annotations(write(tmp_path, "vg.json", data))


@pytest.mark.parametrize("rel, message", [
    ("cat on mat", r"vg\.json: image 2: relationships\[0\]: expected an object with subject"),
    ({"subject_id": [1], "object_id": 1, "predicate": "on"},
     r"relationships\[0\]: subject_id: expected an id"),
    ({"subject": {"names": "cat"}, "object_id": 1, "predicate": "on"},
     r"vg\.json: image 2: relationships\[0\]: subject: expected 'names' as a list"),
])
def test_a_visual_genome_relationship_that_cannot_be_read_is_named(tmp_path, rel, message):
    """A relationship that is a string or holds a list as an id ended the audit as an internal
    error (AttributeError, unhashable type); a subject with text for names said where by ':'
    alone."""
    data = [{"image_id": 2, "objects": [{"object_id": 1, "names": ["cat"]}],
             "relationships": [rel]}]
    with pytest.raises(ConfigError, match=message):
        load_annotations(write(tmp_path, "vg.json", data))


def test_visual_genome_entries_without_facts_are_counted_and_said(tmp_path, caplog):
    """Real Visual Genome files hold relationships to object ids that are not there and
    objects with empty names: not fatal, but they were dropped in silence; now a warning
    gives the count and examples and the run sheet and results record them."""
    import halluscope
    from PIL import Image
    vg = [{"image_id": 1, "objects": [
        {"object_id": 5, "x": 1, "y": 2, "w": 10, "h": 20, "names": ["dog"]},
        {"object_id": 6, "x": 0, "y": 0, "w": 30, "h": 20, "names": []},
        {"object_id": 7, "x": 0, "y": 0, "w": 30, "h": 20, "names": ["bed"]}],
        "relationships": [{"subject_id": 5, "object_id": 7, "predicate": "on"},
                          {"subject_id": 5, "object_id": 99, "predicate": "near"},
                          {"subject_id": 6, "object_id": 7, "predicate": "on"},
                          {"subject_id": 5, "object_id": 7, "predicate": ""}]},
          {"image_id": 2, "objects": [{"object_id": 8, "names": []}],
           "relationships": [{"subject_id": 98, "object_id": 8, "predicate": "has"}]}]
    path = write(tmp_path, "vg.json", vg)
    with caplog.at_level("WARNING", logger="halluscope.evidence.annotations"):
        src = load_annotations(path)
    assert src.get("1").relations == {("dog", "on", "bed")}
    assert src.skipped == {
        "objects_without_names": {"count": 2, "examples": ["image 1 objects[1]",
                                                           "image 2 objects[0]"]},
        "relationships_to_missing_objects": {"count": 2, "examples": [
            "image 1 relationships[1]: object_id 99", "image 2 relationships[0]: subject_id 98"]},
        "relationships_to_unnamed_objects": {"count": 1, "examples": [
            "image 1 relationships[2]: subject 6"]},
        "relationships_without_predicate": {"count": 1, "examples": [
            "image 1 relationships[3]: predicate ''"]}}
    said = [r.getMessage() for r in caplog.records]
    assert any("skipped 2 objects with empty 'names'" in m and "image 2 objects[0]" in m
               for m in said)
    assert any("skipped 2 relationships naming an object id the image lacks" in m
               for m in said)
    Image.new("RGB", (30, 20)).save(tmp_path / "1.jpg")
    (tmp_path / "in.jsonl").write_text(json.dumps(
        {"id": "a", "image": "1.jpg", "image_id": 1, "response": "A dog on a bed."}) + "\n")
    halluscope.audit(tmp_path / "in.jsonl", metrics="claims", n_boot=0, annotations=[path],
                     out=tmp_path / "o", write_report=False)
    for name in ("results.json", "runsheet.json"):
        text = (tmp_path / "o" / name).read_text()
        assert '"relationships_to_missing_objects"' in text and '"count": 2' in text, name
    from halluscope.metrics.grounding import RegionMetric
    (info,) = RegionMetric(annotations=[AnnotationProvider(src)]).describe()["annotations"]
    assert info["skipped"]["objects_without_names"]["count"] == 2
    ok = load_annotations(write(tmp_path, "ok.json", [{"image_id": 3, "objects": []}]))
    assert ok.describe()["skipped"] == {}                   # nothing skipped, said so


def test_coco_string_image_ids_are_looked_up_as_written(tmp_path):
    """check_coco takes an image id that is a string, but the lookup read it with int(): every
    record of such a file failed ("invalid literal for int()"), listed as a bad record naming
    the source, which now, as halluscope's own bug, would stop the audit with exit 3."""
    data = {"images": [{"id": "img-a", "file_name": "a.png", "width": 64, "height": 48},
                       {"id": 7, "file_name": "b.png", "width": 64, "height": 48}],
            "annotations": [{"id": 1, "image_id": "img-a", "category_id": 18, "iscrowd": 0,
                             "bbox": [1, 1, 10, 10], "area": 100},
                            {"id": 2, "image_id": 7, "category_id": 18, "iscrowd": 0,
                             "bbox": [2, 2, 4, 4], "area": 16}],
            "categories": [{"id": 18, "name": "dog"}]}
    (tmp_path / "c.json").write_text(json.dumps(data))
    src = load_annotations(tmp_path / "c.json")
    for key, box in (("a.png", (1.0, 1.0, 11.0, 11.0)), ("img-a", (1.0, 1.0, 11.0, 11.0)),
                     ("b.png", (2.0, 2.0, 6.0, 6.0)), ("7", (2.0, 2.0, 6.0, 6.0))):
        facts = src.get(key)
        assert [(i.label, i.box) for i in facts.instances] == [("dog", box)], key
    assert src.get("img-b") is None
