"""Hostile input: every good record is scored, every bad one is listed with file:line and why.

One test per finding of issue 10: a non-UTF-8 line in the middle of a file, a BOM, a JSON
array with a syntax error, unreadable images of every kind through ``claims --detector`` and
``region``, and a decompression-bomb PNG in the region and page paths. Fixtures are made here.
"""

from __future__ import annotations

import codecs
import gzip
import json
import shutil
from pathlib import Path

import pytest

from halluscope.errors import RecordError, UnreadableImage
from halluscope.records import iter_json_lines, iter_records

DATA = Path(__file__).resolve().parents[1] / "data"


def _caption(i: int) -> bytes:
    return json.dumps({"image_id": i, "caption": f"A dog number {i}."}).encode() + b"\n"


# -- encoding -------------------------------------------------------------------------------

def test_a_non_utf8_line_in_the_middle_is_one_bad_record(tmp_path):
    path = tmp_path / "captions.jsonl"
    lines = [_caption(i) for i in range(1, 1001)]
    lines[499] = b'{"image_id": 500, "caption": "caf\xe9"}\n'      # Latin-1, not UTF-8
    path.write_bytes(b"".join(lines))
    items = list(iter_records(path))
    assert len(items) == 1000
    bad = [i for i in items if isinstance(i, RecordError)]
    assert len(bad) == 1
    assert bad[0].location.line == 500 and bad[0].location.file == str(path)
    assert "not UTF-8 at byte 34" in bad[0].message and "0xe9" in bad[0].message
    good = [i.image_id for i in items if not isinstance(i, RecordError)]
    assert good == [i for i in range(1, 1001) if i != 500]


def test_a_non_utf8_line_through_the_audit_is_listed_and_the_rest_scored(tmp_path):
    from halluscope.api import audit
    path = tmp_path / "captions.jsonl"
    path.write_bytes(_caption(1) + b'{"image_id": 2, "caption": "\xff"}\n' + _caption(3))
    res = audit(path, records=None, metrics="chair", gt_objects=_gt(tmp_path), n_boot=0,
                out=tmp_path / "out", write_report=False)
    assert len(res.items) == 3 and res.metrics["chair"].n == 2
    assert [(e["line"], e["file"]) for e in res.errors] == [(2, str(path))]
    assert "not UTF-8 at byte 29" in res.errors[0]["message"]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["errors"][0]["line"] == 2
    items = [json.loads(x) for x in open(tmp_path / "out" / "items.jsonl")]
    assert "not UTF-8" in items[1]["error"] and "error" not in items[0]


def _gt(folder: Path) -> Path:
    gt = folder / "gt.json"
    gt.write_text(json.dumps({str(i): ["dog"] for i in range(1, 4)}))
    return gt


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_bom_is_accepted_in_json_lines(tmp_path, suffix):
    data = codecs.BOM_UTF8 + _caption(1) + _caption(2)
    path = tmp_path / f"c{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    assert [r.image_id for r in iter_records(path)] == [1, 2]


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_a_bom_is_accepted_in_a_json_array(tmp_path, suffix):
    data = codecs.BOM_UTF8 + json.dumps([{"image_id": 1, "caption": "a"},
                                         {"image_id": 2, "caption": "b"}]).encode()
    path = tmp_path / f"c{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    assert [r.image_id for r in iter_records(path)] == [1, 2]


# -- JSON arrays ----------------------------------------------------------------------------

def test_an_array_with_a_syntax_error_scores_the_elements_before_it(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[\n  {"image_id": 1, "caption": "a"},\n  {"image_id": 2,\n   "caption": "b"},\n'
                    '  {"image_id": 3, "caption": oops},\n  {"image_id": 4, "caption": "d"}\n]\n')
    items = list(iter_records(path))
    assert [r.image_id for r in items[:2]] == [1, 2]
    assert len(items) == 3 and isinstance(items[2], RecordError)
    err = items[2]
    assert err.location.line == 5
    assert "line 5 column 30" in err.message and "Expecting value" in err.message


def test_an_array_element_with_a_non_utf8_byte_is_one_bad_record(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'[{"image_id": 1, "caption": "a"},\n {"image_id": 2, "caption": "\xff"},\n'
                     b' {"image_id": 3, "caption": "c"}]')
    items = list(iter_records(path))
    assert [type(i).__name__ for i in items] == ["Record", "RecordError", "Record"]
    assert items[1].location.line == 2 and "not UTF-8 at byte 30" in items[1].message


@pytest.mark.parametrize("text, where, what", [
    ("[1, 2,]", "line 1 column 7", "Expecting value"),
    ("[1, 2", "line 1 column 6", "got the end of the file"),
    ("[1 2]", "line 1 column 4", "expected ',' or ']'"),
    ("[1]\nx", "line 2 column 1", "after the array"),
])
def test_array_syntax_errors_name_line_and_column(tmp_path, text, where, what):
    path = tmp_path / "a.json"
    path.write_text(text)
    out = list(iter_json_lines(path))
    assert isinstance(out[-1][1], RecordError)
    assert where in out[-1][1].message and what in out[-1][1].message
    assert [v for _, v in out[:-1]] == [1, 2][:len(out) - 1]


def test_a_large_array_is_streamed_with_elements_spanning_lines(tmp_path):
    path = tmp_path / "a.json"
    elems = [{"image_id": i, "caption": "x" * 5000, "nested": {"k": [i, i]}} for i in range(50)]
    path.write_text(json.dumps(elems, indent=2))
    assert [v["image_id"] for _, v in iter_json_lines(path)] == list(range(50))


# -- images ---------------------------------------------------------------------------------

def _unreadable(folder: Path) -> dict[str, str]:
    """One image path per unreadable kind, relative to ``folder``."""
    from PIL import Image
    (folder / "dir.jpg").mkdir()
    (folder / "text.jpg").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "link.jpg").symlink_to(folder / "text.jpg")
    (folder / "broken.jpg").symlink_to(folder / "gone.jpg")
    full = folder / "full.jpg"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(full, quality=90)
    (folder / "truncated.jpg").write_bytes(full.read_bytes()[:300])
    return {"missing": "missing.jpg", "directory": "dir.jpg", "not an image": "text.jpg",
            "symlink to a non-image": "link.jpg", "broken symlink": "broken.jpg",
            "truncated": "truncated.jpg", "bomb": _bomb(folder).name}


def _bomb(folder: Path) -> Path:
    """A 20000 x 20000 PNG of a few kilobytes (1-bit, saved with Pillow's limit lifted)."""
    from PIL import Image
    path = folder / "bomb.png"
    if not path.exists():
        old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            Image.new("1", (20000, 20000)).save(path, optimize=True)
        finally:
            Image.MAX_IMAGE_PIXELS = old
    return path


@pytest.mark.parametrize("kind, reason", [
    ("missing", "not found"), ("directory", "is a directory"),
    ("not an image", "not an image"), ("symlink to a non-image", "not an image"),
    ("broken symlink", "broken link"), ("truncated", "truncated or corrupt"),
    ("bomb", "400,000,000 pixels is over the limit of 89,478,485"),
])
def test_open_image_names_every_unreadable_kind(tmp_path, kind, reason):
    from halluscope.imageio import open_image
    path = tmp_path / _unreadable(tmp_path)[kind]
    with pytest.raises(UnreadableImage, match=reason) as info:
        open_image(path)
    assert info.value.path == str(path) and info.value.location.field == "image"


def test_the_pixel_limit_is_an_option(tmp_path, monkeypatch):
    from halluscope.imageio import max_image_pixels, open_image, set_max_image_pixels
    img = tmp_path / "full.png"
    from PIL import Image
    Image.new("RGB", (40, 30)).save(img)
    set_max_image_pixels(1000)
    try:
        with pytest.raises(UnreadableImage, match="40x30 = 1,200 pixels is over the limit"):
            open_image(img)
    finally:
        set_max_image_pixels(None)
    monkeypatch.setenv("HALLUSCOPE_MAX_IMAGE_PIXELS", "1200")
    assert max_image_pixels() == 1200 and open_image(img).size == (40, 30)


def test_a_16_bit_greyscale_image_keeps_its_picture(tmp_path):
    """Pillow's I;16 -> RGB conversion clips every value over 255: Chelsea saved as a 16-bit
    PNG became a white picture, in which the COCO detector found no cat (hallucinated)."""
    import numpy as np
    from PIL import Image

    from halluscope.evidence.detect import load_rgb
    from halluscope.imageio import open_image
    grey = np.asarray(Image.open(DATA / "images" / "chelsea.jpg").convert("L"))
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "wide.png")
    assert Image.open(tmp_path / "wide.png").mode == "I;16"
    rgb = load_rgb(tmp_path / "wide.png")
    assert rgb.shape == (*grey.shape, 3) and (rgb[..., 0] == grey).all()
    assert (np.asarray(open_image(tmp_path / "wide.png", mode="L")) == grey).all()


def test_an_in_memory_16_bit_or_float_picture_keeps_its_picture():
    """An image handed over in memory (the Python API, a detector's caller) as a PIL I;16
    image, a uint16 array or a 0-255 float array was clipped to white as the 16-bit file was;
    each is scaled alike, and values no scale fits are refused rather than clipped."""
    import numpy as np
    from PIL import Image

    from halluscope.evidence.detect import load_rgb
    grey = np.asarray(Image.open(DATA / "images" / "chelsea.jpg").convert("L"))
    wide = grey.astype(np.uint16) * 257
    for image in (Image.fromarray(wide), wide, np.stack([wide] * 3, axis=-1),
                  grey.astype(np.float32) / 255, grey.astype(np.int32)):
        rgb = load_rgb(image)
        assert rgb.dtype == np.uint8 and rgb.shape == (*grey.shape, 3)
        assert (np.abs(rgb[..., 0].astype(int) - grey) <= 1).all(), type(image)
    for bad in (grey.astype(np.float32), grey.astype(np.int32) * 4, -grey.astype(np.int16)):
        if bad.max() > 1 or bad.min() < 0:
            with pytest.raises(ValueError, match="expected image values in"):
                load_rgb(bad)


def _image_records(folder: Path, metric: str) -> Path:
    """A good record first and last, one record per unreadable image kind between them."""
    shutil.copy(DATA / "images" / "chelsea.jpg", folder / "chelsea.jpg")
    bad = _unreadable(folder)
    recs = []
    for i, name in enumerate(["chelsea.jpg", *bad.values(), "chelsea.jpg"]):
        rec = {"id": f"r{i}", "task": "vqa" if metric == "region" else "caption",
               "image": name, "response": "A cat lies on a bed next to a dog."}
        if metric == "region":
            rec["prompt"] = "Where is the cat? Give a box in pixels."
            rec["response"] = "The cat is at [10, 10, 200, 200]."
            rec["metadata"] = {"box_format": "pixels"}
        recs.append(rec)
    path = folder / "outputs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


@pytest.mark.parametrize("metric", ["claims", "region"])
def test_unreadable_images_are_bad_records_through_the_detector(tmp_path, metric):
    pytest.importorskip("cv2")
    from typer.testing import CliRunner

    from halluscope.cli import app
    path = _image_records(tmp_path, metric)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["audit", str(path), "--metric", metric, "--detector",
                                   "coco-ssd", "--cache-dir", str(tmp_path / "cache"),
                                   "--out", str(out), "--bootstrap", "0", "--no-report"])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    errors = results["errors"]
    assert [e["line"] for e in errors] == list(range(2, 9))
    assert all(e["file"] == str(path) and e["field"] == "image" and e["metric"] == metric
               and e["kind"] == "unreadable_image" for e in errors)
    assert "not found" in errors[0]["message"] and "broken link" in errors[4]["message"]
    assert "pixels is over the limit" in errors[6]["message"]
    summary = results["metrics"][metric]
    assert summary["n"] == 2                              # the two good records only
    assert summary["tallies"]["unreadable"] == {"records": 7}
    items = [json.loads(x) for x in open(out / "items.jsonl")]
    assert len(items) == 9
    assert ["error" in i for i in items] == [False] + [True] * 7 + [False]
    assert "cannot read image" in items[3]["error"]


def test_unreadable_images_stay_out_of_unverifiable_claims(tmp_path):
    pytest.importorskip("cv2")
    from halluscope.api import audit
    path = _image_records(tmp_path, "claims")
    res = audit(path, metrics="claims", detector="coco-ssd", cache_dir=str(tmp_path / "cache"),
                n_boot=0, out=tmp_path / "out", write_report=True)
    claims = res.metrics["claims"]
    assert claims.n == 2 and claims.tallies["unreadable"] == {"records": 7}
    assert (tmp_path / "out" / "report.html").is_file()
    # the same numbers as an audit of the two readable records alone: nothing of the seven
    # unreadable ones is counted, as unverifiable or otherwise
    lines = path.read_text().splitlines()
    good = tmp_path / "good.jsonl"
    good.write_text(lines[0] + "\n" + lines[-1] + "\n")
    alone = audit(good, metrics="claims", detector="coco-ssd",
                  cache_dir=str(tmp_path / "cache"), n_boot=0, write_report=False)
    for key in ("n_claims", "unverifiable_rate", "hallucination_rate"):
        assert claims.results[key].value == alone.metrics["claims"].results[key].value
    assert claims.results["n_claims"].value > 0


def test_region_without_a_detector_lists_a_bomb_image(tmp_path):
    from halluscope.api import audit
    _bomb(tmp_path)
    shutil.copy(DATA / "images" / "chelsea.jpg", tmp_path / "chelsea.jpg")
    recs = [{"id": "ok", "task": "vqa", "image": "chelsea.jpg", "prompt": "Where is the cat?",
             "response": "The cat is at [10, 10, 200, 200]."},
            {"id": "bomb", "task": "vqa", "image": "bomb.png", "prompt": "Where is the cat?",
             "response": "The cat is at [10, 10, 200, 200]."}]
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = audit(path, metrics="region", n_boot=0, out=tmp_path / "out", write_report=True)
    assert res.metrics["region"].n == 1
    assert [e["line"] for e in res.errors] == [2]
    assert "400,000,000 pixels is over the limit" in res.errors[0]["message"]
    assert (tmp_path / "out" / "report.html").is_file()


def test_page_images_that_are_a_bomb_or_truncated_are_bad_records(tmp_path):
    pytest.importorskip("pypdfium2")
    from halluscope.api import audit
    _bomb(tmp_path)
    _unreadable_dir = tmp_path / "u"
    _unreadable_dir.mkdir()
    names = _unreadable(_unreadable_dir)
    recs = [{"id": "bomb", "task": "document", "document": ["bomb.png"],
             "response": 'It says "hello" (p. 1).'},
            {"id": "trunc", "task": "document", "document": ["u/" + names["truncated"]],
             "response": 'It says "hello" (p. 1).'},
            {"id": "dir", "task": "document", "document": "u/dir.jpg",
             "response": 'It says "hello" (p. 1).'},
            {"id": "pdf", "task": "document", "document": "u/text.pdf",
             "response": 'It says "hello" (p. 1).'}]
    (_unreadable_dir / "text.pdf").write_text("%PDF-1.4 this is not a pdf")
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = audit(path, metrics="page", n_boot=0, out=tmp_path / "out", write_report=True)
    assert res.metrics["page"].n == 0
    assert [e["line"] for e in res.errors] == [1, 2, 3, 4]
    assert all(e["field"] == "document" for e in res.errors)
    msgs = [e["message"] for e in res.errors]
    assert "400,000,000 pixels is over the limit" in msgs[0] and "truncated or corrupt" in msgs[1]
    assert "is a directory" in msgs[2]
    assert res.metrics["page"].tallies["unreadable"] == {"records": 4}


def test_the_audit_option_max_image_pixels_sets_the_limit(tmp_path):
    from halluscope.imageio import set_max_image_pixels
    from halluscope.api import audit
    shutil.copy(DATA / "images" / "chelsea.jpg", tmp_path / "chelsea.jpg")
    path = tmp_path / "o.jsonl"
    path.write_text(json.dumps({"id": "c", "task": "vqa", "image": "chelsea.jpg",
                                "prompt": "Where is the cat?",
                                "response": "The cat is at [10, 10, 200, 200]."}) + "\n")
    try:
        res = audit(path, metrics="region", n_boot=0, options={"max_image_pixels": 1000},
                    write_report=False)
    finally:
        set_max_image_pixels(None)
    assert res.metrics["region"].n == 0
    assert [e["line"] for e in res.errors] == [1]
    assert "pixels is over the limit of 1,000 (option max_image_pixels" in res.errors[0]["message"]
    res = audit(path, metrics="region", n_boot=0, write_report=False)
    assert res.metrics["region"].n == 1 and not res.errors


@pytest.mark.parametrize("kind", ["not an image", "truncated", "directory"])
def test_a_judge_is_not_asked_about_an_unreadable_image(tmp_path, kind):
    from halluscope.judges.fallback import judge_claims
    from halluscope.records import record_from_dict
    from halluscope.types import Claim, Verdict

    class NeverCalled:
        def verify_many_sync(self, items):
            raise AssertionError("the judge was asked about an unreadable image")

    name = _unreadable(tmp_path)[kind]
    rec = record_from_dict({"id": "j", "image": name, "response": "A red cup."},
                           file=str(tmp_path / "o.jsonl"), line=7)
    undecided = [Verdict(Claim("attribute", "cup", value="red"), "unverifiable")]
    with pytest.raises(UnreadableImage, match=name):
        judge_claims(NeverCalled(), rec, undecided)
