"""groundingdino-py (the original GroundingDINO code) under transformers 5: a tiny model built
from its own config file with random weights, saved as a .pth checkpoint and loaded through
``groundingdino:<config>,<weights>,<text encoder folder>``."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
try:
    import groundingdino  # noqa: F401
    import groundingdino.models  # noqa: F401
except ImportError as exc:                              # the gdino extra is optional
    pytest.skip(f"groundingdino-py not installed: {exc}", allow_module_level=True)

from halluscope.errors import ConfigError  # noqa: E402
from halluscope.evidence.detect import THRESHOLDS, load_detector  # noqa: E402
from halluscope.evidence.detect_gdino import TEXT_ENCODER_ENV, build_model  # noqa: E402
from tests.tiny_detectors import build_gdino_py, isolated_cache  # noqa: E402,F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_gdino_py(tmp_path_factory.mktemp("gdino_py"))


@pytest.fixture(scope="module")
def detector(tiny):
    cfg, ckpt, bert = tiny
    return load_detector(f"groundingdino:{cfg},{ckpt},{bert}", image_size=128, max_size=200,
                         floor=0.0)


def test_loads_and_detects_with_the_installed_transformers(detector):
    rng = np.random.default_rng(0)
    image = (rng.random((70, 100, 3)) * 255).astype(np.uint8)
    dets = detector.detect(image, ["dog", "teddy bear"])
    assert detector.calls == 1 and len(dets) == 20            # one per query, floor 0
    for d in dets:
        assert d.label in ("dog", "teddy bear")
        assert 0 <= d.box[0] <= d.box[2] <= 100 and 0 <= d.box[1] <= d.box[3] <= 70
    assert detector.thresholds == THRESHOLDS["groundingdino"]
    prov = detector.provenance()
    assert prov["backend"] == "groundingdino" and len(prov["weights_sha256"]) == 16


def test_checkpoint_weights_are_the_ones_loaded(tiny, detector):
    import torch
    _, ckpt, _ = tiny
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    mine = detector.model.state_dict()
    for key in ("bert.embeddings.word_embeddings.weight", "feat_map.weight",
                "transformer.decoder.layers.0.linear1.weight"):
        assert torch.equal(mine[key], state[key].float()), key


def test_text_encoder_from_env_and_folder_with_weights(tiny, tmp_path, monkeypatch):
    cfg, ckpt, _ = tiny
    _, _, bert_w = build_gdino_py(tmp_path / "w", bert_weights=True)
    monkeypatch.setenv(TEXT_ENCODER_ENV, str(bert_w))
    det = load_detector(f"groundingdino:{cfg},{ckpt}", image_size=96, max_size=128)
    assert det.text_encoder == str(bert_w)
    assert det.detect(np.zeros((40, 40, 3), np.uint8), ["cat"]) is not None


def test_errors(tiny, tmp_path):
    cfg, ckpt, bert = tiny
    with pytest.raises(ConfigError, match="checkpoint"):
        load_detector(f"groundingdino:{cfg},{tmp_path / 'no.pth'},{bert}")
    with pytest.raises(ConfigError, match="config file"):
        build_model(tmp_path / "no.py", str(bert))
    with pytest.raises(ConfigError, match="text-encoder folder"):
        load_detector(f"groundingdino:{cfg},{ckpt},{tmp_path / 'nobert'}")


def test_original_wrapper_fails_on_transformers_5_and_is_restored_after_building(tiny):
    """The reason for the shim: the package's own BERT wrapper needs BERT methods that
    transformers 5 removed."""
    import transformers
    import groundingdino.models.GroundingDINO.groundingdino as gmod
    from groundingdino.models.GroundingDINO.bertwarper import BertModelWarper
    assert gmod.BertModelWarper is BertModelWarper
    if int(transformers.__version__.split(".")[0]) >= 5:
        _, _, bert = tiny
        with pytest.raises(AttributeError):
            BertModelWarper(transformers.BertModel.from_pretrained(str(bert))
                            if (bert / "model.safetensors").exists() else
                            transformers.BertModel(transformers.BertConfig.from_pretrained(
                                str(bert))))
