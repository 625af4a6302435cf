"""Segmenters (GrabCut, segment-anything, transformers SAM) and colour naming in CIELAB."""

from __future__ import annotations

import numpy as np
import pytest

from halluscope.errors import ConfigError
from halluscope.evidence.segment import (COLOUR_NAMES, SWATCHES, ColourMeasure, Segmenter,
                                         colour_names, load_segmenter, mask_box,
                                         measure_colour, sam_architecture, srgb_to_lab)
from tests.tiny_detectors import isolated_cache  # noqa: F401,E402


def test_lab_reference_values():
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    assert np.allclose(lab[0], [100, 0, 0], atol=0.05)
    assert np.allclose(lab[1], [0, 0, 0], atol=0.05)
    assert np.allclose(lab[2], [53.24, 80.09, 67.20], atol=0.1)     # CIE standard values


def test_every_swatch_names_itself():
    for name, shades in SWATCHES.items():
        got = colour_names(np.array(shades, np.uint8))
        assert set(got.tolist()) == {name}, name
    assert len(COLOUR_NAMES) == 11


@pytest.mark.parametrize("rgb,name", [
    ((0, 0, 128), "blue"), ((135, 206, 235), "blue"), ((128, 0, 0), "red"),
    ((255, 215, 0), "yellow"), ((255, 0, 255), "purple"), ((192, 192, 192), "grey"),
    ((0, 255, 0), "green"), ((210, 180, 140), "brown"), ((250, 250, 250), "white"),
    ((10, 10, 10), "black"), ((255, 105, 180), "pink"), ((255, 127, 80), "orange")])
def test_common_colours(rgb, name):
    assert colour_names(np.array([rgb], np.uint8))[0] == name


def test_measure_colour_in_a_mask():
    img = np.zeros((40, 40, 3), np.uint8)
    img[:] = (0, 60, 220)                       # blue background
    img[10:30, 10:30] = (220, 20, 30)           # red square
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    m = measure_colour(img, mask)
    assert m.colours == ("red",) and m.dominant == "red" and m.pixels == 400
    whole = measure_colour(img)
    assert whole.colours == ("blue", "red") and whole.shares["blue"] == 0.75
    assert ColourMeasure.from_dict(m.to_dict()) == m
    assert measure_colour(img, np.zeros((40, 40), bool)).colours == ()
    assert mask_box(mask) == (10.0, 10.0, 30.0, 30.0) and mask_box(~np.ones_like(mask)) is None


def square_image():
    img = np.zeros((64, 80, 3), np.uint8)
    img[:] = (30, 90, 200)
    img[16:48, 20:56] = (230, 40, 40)
    return img


def test_grabcut_finds_the_red_square():
    pytest.importorskip("cv2")
    seg = load_segmenter("grabcut")
    assert isinstance(seg, Segmenter)
    img = square_image()
    (mask,) = seg.segment(img, [(14, 10, 62, 54)])
    assert seg.calls == 1
    truth = np.zeros(mask.shape, bool)
    truth[16:48, 20:56] = True
    inter, union = (mask & truth).sum(), (mask | truth).sum()
    assert inter / union > 0.8
    assert measure_colour(img, mask).dominant == "red"
    assert seg.segment(img, [(0, 0, 1, 1)])[0].sum() == 0        # degenerate box


def test_grabcut_is_deterministic():
    pytest.importorskip("cv2")
    skdata = pytest.importorskip("skimage.data")
    seg = load_segmenter("grabcut:2")
    img = skdata.coffee()
    a = seg.segment(img, [(170, 15, 410, 240)])[0]
    b = seg.segment(img, [(170, 15, 410, 240)])[0]
    assert (a == b).all() and 0 < a.mean() < 1


@pytest.fixture(scope="module")
def sam_ckpt(tmp_path_factory):
    pytest.importorskip("segment_anything")
    from tests.tiny_detectors import build_sam_checkpoint
    return build_sam_checkpoint(tmp_path_factory.mktemp("sam") / "sam_tiny.pth")


@pytest.mark.slow
def test_segment_anything_checkpoint_loads_by_its_shapes(sam_ckpt):
    import torch
    state = torch.load(sam_ckpt, map_location="cpu", weights_only=True)
    arch = sam_architecture(state)
    assert arch == {"variant": "custom", "embed_dim": 64, "depth": 2, "heads": 2,
                    "global_attn": [1]}
    seg = load_segmenter(f"sam:{sam_ckpt}")
    img = square_image()
    masks = seg.segment(img, [(14, 10, 62, 54), (0, 0, 40, 30)])
    assert seg.calls == 1 and len(masks) == 2               # one encoding, two boxes
    assert all(m.shape == (64, 80) and m.dtype == bool for m in masks)
    assert seg.segment(img, []) == []
    assert seg.provenance()["variant"] == "custom"
    with pytest.raises(ConfigError, match="vit_b"):
        load_segmenter(f"sam:vit_b:{sam_ckpt}")


def test_known_sam_variants_are_recognised():
    import types
    def fake(dim, depth):
        t = types.SimpleNamespace(shape=(dim, 3, 16, 16))
        state = {"image_encoder.patch_embed.proj.weight": t}
        for b in range(depth):
            state[f"image_encoder.blocks.{b}.attn.qkv.weight"] = None
        return state
    assert sam_architecture(fake(768, 12))["variant"] == "vit_b"
    assert sam_architecture(fake(1280, 32))["global_attn"] == [7, 15, 23, 31]
    with pytest.raises(ConfigError):
        sam_architecture({})


def test_transformers_sam_from_a_saved_folder(tmp_path):
    pytest.importorskip("transformers")
    from tests.tiny_detectors import build_hf_sam
    folder = build_hf_sam(tmp_path / "sam")
    seg = load_segmenter(f"hf-sam:{folder}")
    img = square_image()
    masks = seg.segment(img, [(14, 10, 62, 54), (0, 0, 40, 30)])
    assert seg.calls == 1 and len(masks) == 2
    assert all(m.shape == (64, 80) and m.dtype == bool for m in masks)
    assert len(seg.provenance()["weights_sha256"]) == 16


@pytest.mark.parametrize("spec", ["", "nope", "sam:", "hf-sam:", "sam:/no/such.pth"])
def test_bad_segmenter_specs(spec):
    with pytest.raises(ConfigError):
        load_segmenter(spec)
