"""A third bug hunt on the evidence side (detectors, segmenters, their cache and the checks that
read them), done as a user would: each test is a case that went wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner


def _cli(*args: str):
    from halluscope.cli import app
    return CliRunner().invoke(app, ["audit", *args, "--no-report", "-q"])


def _claims(out: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    return [(c["subject"], c["verdict"]) for row in rows for c in row.get("claims", [])
            if c["kind"] == "existence"]


# -- 1. a 32-bit float image decoded to a black picture -------------------------------------------

def _chelsea_grey() -> np.ndarray:
    from skimage import data
    from PIL import Image
    return np.asarray(Image.fromarray(data.chelsea()).convert("L"))


def test_a_float_image_in_0_to_1_is_scaled_not_read_as_black(tmp_path):
    """A 32-bit float TIFF (mode F) holding values in [0, 1] became a black picture (Pillow
    truncates each value to 0 or 1), in which the detector found nothing: the cat in it was
    "no cat detected", hallucinated, a verdict from no pixels."""
    from PIL import Image

    from halluscope.evidence.detect import load_rgb
    grey = _chelsea_grey()
    Image.fromarray(grey.astype(np.float32) / 255, "F").save(tmp_path / "cat.tiff")
    Image.fromarray(grey.astype(np.float32), "F").save(tmp_path / "cat255.tiff")
    want = np.stack([grey] * 3, axis=-1)
    assert np.abs(load_rgb(tmp_path / "cat.tiff").astype(int) - want).max() <= 1
    assert np.array_equal(load_rgb(tmp_path / "cat255.tiff"), want)      # [0, 255] as it is


@pytest.mark.parametrize("values, said", [
    (300.0, "in [0, 1] or [0, 255], got 0 to 300"),
    (np.nan, "NaN or infinity"),
])
def test_a_float_image_of_no_known_range_is_unreadable(tmp_path, values, said):
    from PIL import Image

    from halluscope.errors import UnreadableImage
    from halluscope.evidence.detect import load_rgb
    arr = np.zeros((8, 8), np.float32)
    arr[2:4, 2:4] = values
    Image.fromarray(arr, "F").save(tmp_path / "odd.tiff")
    with pytest.raises(UnreadableImage, match=r"odd\.tiff: expected .*" + said.replace(
            "[", r"\[").replace("]", r"\]")):
        load_rgb(tmp_path / "odd.tiff")


def test_an_audit_detects_the_cat_of_a_float_tiff(tmp_path, monkeypatch):
    """End to end with the packaged COCO SSD: the same cat as an 8-bit PNG is found."""
    pytest.importorskip("cv2")
    from PIL import Image
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    Image.fromarray(_chelsea_grey().astype(np.float32) / 255, "F").save(tmp_path / "cat.tiff")
    (tmp_path / "out.jsonl").write_text(json.dumps(
        {"id": "f", "image": "cat.tiff", "response": "A cat."}) + "\n")
    res = _cli(str(tmp_path / "out.jsonl"), "--metric", "claims", "--detector", "coco-ssd",
               "--out", str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert _claims(tmp_path / "run") == [("cat", "supported")]
