"""The evidence cache: keys, hits, atomic files, weights hashes; one pass per image."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from halluscope.evidence.cache import (EvidenceCache, evidence_cache_dir, image_sha256,
                                       weights_hash)
from halluscope.evidence.detect import Detection, Thresholds
from halluscope.evidence.detector_facts import DetectorFacts
from halluscope.records import record_from_dict
from halluscope.types import Claim
from tests.tiny_detectors import as_if_cuda, isolated_cache  # noqa: F401


class CountingDetector:
    """An open-vocabulary detector that finds every phrase at a fixed box."""

    name = "counting"
    backend = "test"
    vocabulary = None
    thresholds = Thresholds(present=0.5, absent=0.2)

    def __init__(self):
        self.calls = 0
        self.asked: list[list[str]] = []

    def detect(self, image, phrases):
        self.calls += 1
        self.asked.append(list(phrases))
        return [Detection(p, (1.0, 2.0, 10.0, 12.0), 0.9) for p in phrases if p != "ghost"]

    def provenance(self):
        return {"backend": "test", "weights_sha256": "0" * 16}


def test_evidence_cache_dir(monkeypatch, tmp_path):
    from halluscope.config import AuditConfig
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "env"))
    assert evidence_cache_dir() == tmp_path / "env"
    assert evidence_cache_dir(AuditConfig(cache_dir=tmp_path / "cfg")) == tmp_path / "cfg"
    monkeypatch.setenv("HALLUSCOPE_CACHE", "off")
    assert evidence_cache_dir() is None and not EvidenceCache.from_config().enabled
    monkeypatch.delenv("HALLUSCOPE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert evidence_cache_dir() == tmp_path / "xdg" / "halluscope"


def test_get_put_and_counters(tmp_path):
    c = EvidenceCache(tmp_path)
    k = EvidenceCache.key("a", 1, {"b": [1, 2]})
    assert k == EvidenceCache.key("a", 1, {"b": [1, 2]}) != EvidenceCache.key("a", 2)
    assert c.get("ns", k) is None and c.misses == 1
    c.put("ns", k, {"x": np.float32(0.5), "y": np.arange(2)})
    assert c.get("ns", k) == {"x": 0.5, "y": [0, 1]} and c.hits == 1
    path = tmp_path / "ns" / k[:2] / f"{k}.json"
    assert path.is_file() and not list(path.parent.glob(".*.part"))      # no temporary left
    assert path.stat().st_mode & 0o777 == 0o600                          # a private cache
    path.write_text("{broken")
    assert c.get("ns", k) is None                         # unreadable entries are misses
    off = EvidenceCache(None)
    off.put("ns", k, 1)
    assert off.get("ns", k) is None and not off.enabled


def test_image_hash_by_bytes_and_by_pixels(tmp_path):
    from PIL import Image
    arr = (np.random.default_rng(0).random((8, 9, 3)) * 255).astype(np.uint8)
    p = tmp_path / "a.png"
    Image.fromarray(arr).save(p)
    assert image_sha256(arr) == image_sha256(Image.fromarray(arr))
    assert image_sha256(p) != image_sha256(arr)           # files hash by their bytes
    assert len(image_sha256(p)) == 64


def test_weights_hash_is_remembered_by_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv("HALLUSCOPE_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"abc")
    (folder / "config.json").write_text("{}")
    (folder / "README.md").write_text("ignored")
    h1 = weights_hash(folder)
    index = json.loads((tmp_path / "cache" / "weights-index.json").read_text())
    assert len(index) == 2
    (folder / "README.md").write_text("still ignored")
    assert weights_hash(folder) == h1
    (folder / "model.safetensors").write_bytes(b"abd")
    assert weights_hash(folder) != h1
    assert weights_hash(folder / "config.json") != weights_hash(folder)
    with pytest.raises(FileNotFoundError):
        weights_hash(tmp_path / "empty_dir_missing")


def make_records(tmp_path, n_images=3, per_image=4):
    from PIL import Image
    f = tmp_path / "outputs.jsonl"
    recs = []
    for i in range(n_images):
        arr = np.full((20, 30, 3), 40 * i, np.uint8)
        Image.fromarray(arr).save(tmp_path / f"img{i}.png")
        for j in range(per_image):
            recs.append(record_from_dict({"id": f"{i}-{j}", "image": f"img{i}.png",
                                          "response": "x"}, file=str(f), line=len(recs) + 1))
    return recs


def test_one_detector_pass_per_image_with_all_phrases(tmp_path):
    recs = make_records(tmp_path, n_images=3, per_image=4)
    det = CountingDetector()
    facts = DetectorFacts(det, cache=EvidenceCache(tmp_path / "cache"))
    claims = [Claim("existence", "dog"), Claim("relation", "cat", relation="on", object="bed"),
              Claim("count", "dog", value=2), Claim("existence", "ghost")]
    out = [facts.facts(r, claims) for r in recs]
    assert det.calls == 3 and facts.passes == 3              # one per image, not per record
    assert det.asked[0] == ["bed", "cat", "dog", "ghost"]    # every phrase in that one pass
    f = out[0]
    assert {i.label for i in f.instances} == {"dog", "cat", "bed"}
    assert f.absent == {"ghost"} and f.vocabulary == {"dog", "cat", "bed", "ghost"}
    assert f.size == (30, 20) and len(f.key) == 64
    # a new provider on the same cache runs nothing
    det2 = CountingDetector()
    facts2 = DetectorFacts(det2, cache=EvidenceCache(tmp_path / "cache"))
    assert [facts2.facts(r, claims) for r in recs] == out
    assert det2.calls == 0


def test_cache_key_changes_with_weights_or_options(tmp_path):
    recs = make_records(tmp_path, n_images=1, per_image=1)
    det = CountingDetector()
    cache = EvidenceCache(tmp_path / "cache")
    DetectorFacts(det, cache=cache).facts(recs[0], [Claim("existence", "dog")])
    det.provenance = lambda: {"backend": "test", "weights_sha256": "1" * 16}
    DetectorFacts(det, cache=cache).facts(recs[0], [Claim("existence", "dog")])
    assert det.calls == 2


def test_spec_identity_does_not_load_the_model(tmp_path):
    from halluscope.evidence.detector_facts import spec_identity
    ident = spec_identity("coco-ssd")
    assert ident["spec_backend"] == "coco-ssd" and "openpibo" in ident["package"]
    assert spec_identity("hf:org/model")["model"] == "org/model"
    (tmp_path / "w.pth").write_bytes(b"x")
    gd = spec_identity(f"groundingdino:{tmp_path / 'c.py'},{tmp_path / 'w.pth'}")
    assert len(gd["weights"]) == 1


def test_cache_files_are_plain_json(tmp_path):
    recs = make_records(tmp_path, n_images=1, per_image=1)
    DetectorFacts(CountingDetector(), cache=EvidenceCache(tmp_path / "c")).facts(
        recs[0], [Claim("existence", "dog")])
    (entry,) = list((tmp_path / "c" / "detections").rglob("*.json"))
    data = json.loads(entry.read_text())
    assert data == {"detections": [{"label": "dog", "box": [1.0, 2.0, 10.0, 12.0],
                                    "score": 0.9}], "size": [30, 20]}
    assert os.access(entry, os.R_OK)


def test_the_pixel_limit_holds_when_the_detections_are_cached(tmp_path):
    """An over-limit image was a bad record with a cold cache and scored from the cache the
    next run: one command, two results."""
    from halluscope.errors import UnreadableImage
    from halluscope.imageio import set_max_image_pixels
    recs = make_records(tmp_path, n_images=1, per_image=1)            # a 30 x 20 image
    claims = [Claim("existence", "dog")]
    DetectorFacts(CountingDetector(), cache=EvidenceCache(tmp_path / "cache")).facts(recs[0],
                                                                                    claims)
    set_max_image_pixels(100)
    try:
        with pytest.raises(UnreadableImage, match="over the limit of 100"):
            DetectorFacts(CountingDetector(), cache=EvidenceCache(tmp_path / "cache")).facts(
                recs[0], claims)
    finally:
        set_max_image_pixels(None)


class TwoCatsDetector(CountingDetector):
    """One sure cat and, apart from it, a second one the detector is unsure of (0.35)."""

    def detect(self, image, phrases):
        self.calls += 1
        return [Detection("cat", (0.0, 0.0, 10.0, 10.0), 0.9),
                Detection("cat", (1.0, 1.0, 10.0, 10.0), 0.4),      # a duplicate of the first
                Detection("cat", (15.0, 5.0, 28.0, 18.0), 0.35)][:self.n]


@pytest.mark.parametrize("n, verdicts", [(3, ("unverifiable", "unverifiable")),
                                         (2, ("supported", "hallucinated"))])
def test_a_count_is_not_decided_past_an_unsure_detection(tmp_path, n, verdicts):
    """A second cat scored between the absent and present thresholds left the count at one,
    and "two cats" was hallucinated ("cat: 1 annotated, not 2") although the detector was
    unsure about exactly that second cat; a duplicate box of the sure one changes nothing."""
    from halluscope.checks import check_claim
    recs = make_records(tmp_path, n_images=1, per_image=1)
    det = TwoCatsDetector()
    det.n = n
    # (detector_counts=exact; by default, "two cats" over one sure cat is unverifiable anyway:
    # tests/test_claims_leftovers8.py)
    facts = DetectorFacts(det, cache=EvidenceCache(None), counts="exact").facts(
        recs[0], [Claim("existence", "cat"), Claim("count", "cat", value=1)])
    assert len(facts.instances) == 1 and "cat" not in facts.absent
    got = tuple(check_claim(Claim("count", "cat", value=k, node="cat"), facts).label
                for k in (1, 2))
    assert got == verdicts


def _hub_snapshots(tmp_path, monkeypatch, repo_id):
    """A local Hugging Face cache holding two snapshots of ``repo_id`` (commits a... and
    b...), ``refs/main`` at a...; returns the ``refs/main`` file."""
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(hub))
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    for commit in ("a" * 40, "b" * 40):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    return repo / "refs" / "main"


def test_a_hub_id_keys_the_detections_by_the_snapshot_it_loads(tmp_path, monkeypatch):
    """hf:<hub id> was keyed by the id alone: after the local cache took a newer snapshot of
    the weights, the old snapshot's detections were reused."""
    from halluscope.evidence.detector_facts import spec_identity
    ref = _hub_snapshots(tmp_path, monkeypatch, "org/owl")
    repo = ref.parents[1]
    first = spec_identity("hf:org/owl")
    (repo / "refs" / "main").write_text("b" * 40)
    second = spec_identity("hf:org/owl")
    assert first["revision"] == "a" * 40 and second["revision"] == "b" * 40
    assert EvidenceCache.key("detect", "x", "hf:org/owl", first) != \
        EvidenceCache.key("detect", "x", "hf:org/owl", second)
    assert spec_identity("hf:org/missing")["revision"] is None


def test_a_detector_that_cannot_load_stops_the_audit_as_a_usage_error(tmp_path):
    """hf:<a folder that does not exist> beside an annotation file: one warning per record,
    the audit went on without the detector, with other numbers, and exited 0."""
    import halluscope
    from halluscope.errors import ConfigError
    from PIL import Image
    Image.new("RGB", (30, 20)).save(tmp_path / "a.png")
    (tmp_path / "ann.json").write_text(json.dumps(
        {"images": {"a.png": {"size": [30, 20], "objects": [{"label": "cat"}]}}}))
    (tmp_path / "in.jsonl").write_text(json.dumps(
        {"id": "a", "image": "a.png", "response": "A cat."}) + "\n")
    with pytest.raises(ConfigError, match="no such folder"):
        halluscope.audit(tmp_path / "in.jsonl", metrics="claims", n_boot=0,
                         annotations=[tmp_path / "ann.json"],
                         detector=f"hf:{tmp_path / 'missing'}", out=tmp_path / "o",
                         write_report=False)


def _grey16_png(path):
    """A 16-bit greyscale PNG (a mid-grey square on black): Pillow's own conversion clipped
    it to a white picture before the decoding rules scaled it (imageio.DECODING_RULES 2)."""
    from PIL import Image
    arr = np.zeros((20, 30), np.uint16)
    arr[5:15, 5:20] = 30000
    Image.fromarray(arr).save(path)
    return path


def test_detections_cached_under_older_decoding_rules_are_not_served(tmp_path):
    """Detections cached before 16-bit greyscale PNGs were scaled (found on the white
    picture: no dog) were keyed by the file's bytes alone, so the same file kept them after
    the decoding fix; the key now holds the version of the decoding rules."""
    png = _grey16_png(tmp_path / "grey16.png")
    cache = EvidenceCache(tmp_path / "cache")
    det = CountingDetector()
    facts = DetectorFacts(det, cache=cache)
    # what an older release left in the cache for this file: nothing found in the white picture
    old = EvidenceCache.key("detect", image_sha256(png), facts.spec, facts.identity, ["dog"])
    cache.put("detections", old, {"detections": [], "size": [30, 20]})
    f = facts.image_facts(png, [Claim("existence", "dog")])
    assert det.calls == 1 and "dog" not in f.absent and [i.label for i in f.instances] == ["dog"]
    facts.image_facts(png, [Claim("existence", "dog")])
    assert det.calls == 1                                    # the new entry is served


class FakeSegmenter:
    name = "fake-seg"

    def __init__(self):
        self.calls = 0

    def segment(self, image, boxes):
        self.calls += 1
        rgb = np.asarray(image)
        return [np.ones(rgb.shape[:2], bool) for _ in boxes]

    def provenance(self):
        return {"component": "segmenter", "backend": "fake"}


def test_a_change_of_the_decoding_rules_misses_every_pixel_cache(tmp_path, monkeypatch):
    """Detections, measured colours and OCR text are computed from decoded pixels: bumping
    imageio.DECODING_RULES (as a decoding change must) makes each of them miss, for a file
    keyed by its bytes and for an EXIF-turned one alike (one mechanism, no special mark)."""
    from PIL import Image

    from halluscope import imageio
    from halluscope.evidence.ocr import OcrLine, cached_read
    from halluscope.hashing import sha256_file
    png = _grey16_png(tmp_path / "grey16.png")
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (20, 30), (200, 30, 30)).save(turned, exif=exif.tobytes())
    assert image_sha256(turned) == sha256_file(turned)

    class Ocr:
        name = "fake-ocr"
        calls = 0

        def read(self, image):
            Ocr.calls += 1
            return [OcrLine("text", (0.0, 0.0, 5.0, 5.0), 0.9)]

        def provenance(self):
            return {"component": "ocr", "engine": "fake"}

    cache = EvidenceCache(tmp_path / "cache")
    det, seg = CountingDetector(), FakeSegmenter()
    claims = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]

    def run():
        for image in (png, turned):
            DetectorFacts(det, segmenter=seg, cache=cache).image_facts(image, claims)
            cached_read(Ocr(), image, cache)
        return det.calls, seg.calls, Ocr.calls

    assert run() == (2, 2, 2)
    assert run() == (2, 2, 2)                                # warm: nothing runs
    monkeypatch.setattr(imageio, "DECODING_RULES", imageio.DECODING_RULES + 1)
    assert run() == (4, 4, 4)                                # other rules: all of it again


def test_a_hub_id_keys_the_segmenter_colours_by_the_snapshot_it_loads(tmp_path, monkeypatch):
    """hf-sam:<hub id> keyed the measured colours by the id alone: after the local cache took
    a newer snapshot of the SAM weights, the old snapshot's masks and colours were reused."""
    from halluscope.evidence.segment import HFSamSegmenter
    ref = _hub_snapshots(tmp_path, monkeypatch, "org/sam")
    recs = make_records(tmp_path, n_images=1, per_image=1)
    claims = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]
    cache, seg = EvidenceCache(tmp_path / "cache"), FakeSegmenter()

    def measure():
        facts = DetectorFacts(CountingDetector(), segmenter="hf-sam:org/sam", cache=cache)
        facts._segmenter = seg                   # the spec's model, without loading it
        facts.facts(recs[0], claims)
        return seg.calls

    assert measure() == 1 and measure() == 1                 # same snapshot: cached
    ref.write_text("b" * 40)
    assert measure() == 2                                    # another snapshot: measured again
    # a loaded model's provenance names the snapshot too (the same code)
    loaded = HFSamSegmenter.__new__(HFSamSegmenter)
    loaded._local, loaded.model_id, loaded.name = None, "org/sam", "hf-sam:org/sam"
    assert loaded.provenance()["revision"] == "b" * 40


def test_grabcut_colours_are_keyed_by_the_opencv_version(tmp_path, monkeypatch):
    """The grabcut segmenter has no weights, and its key named only the spec: after an OpenCV
    upgrade (whose GrabCut gives other masks) the colours measured under the old one were
    reused. The key names the OpenCV version, as the segmenter's provenance does."""
    cv2 = pytest.importorskip("cv2")
    from halluscope.evidence.segment import GrabCutSegmenter
    recs = make_records(tmp_path, n_images=1, per_image=1)
    claims = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]
    cache, seg = EvidenceCache(tmp_path / "cache"), FakeSegmenter()

    def measure():
        facts = DetectorFacts(CountingDetector(), segmenter="grabcut", cache=cache)
        facts._segmenter = seg                   # GrabCut's place, counting its calls
        facts.facts(recs[0], claims)
        return seg.calls

    assert measure() == 1 and measure() == 1                 # the same OpenCV: cached
    monkeypatch.setattr(cv2, "__version__", "0.0.1", raising=False)
    assert measure() == 2                                    # another OpenCV: measured again
    assert GrabCutSegmenter().provenance()["opencv"] == "0.0.1"


def test_a_change_of_the_colour_rules_misses_the_cached_colours(tmp_path, monkeypatch):
    """The colour key named the pixels, the segmenter and the boxes but not the measuring
    rules: after the swatches or the shares changed, colours named under the old rules were
    served. segment.COLOUR_RULES (bumped with such a change) enters the key."""
    from halluscope.evidence import segment
    recs = make_records(tmp_path, n_images=1, per_image=1)
    claims = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]
    cache, det, seg = EvidenceCache(tmp_path / "cache"), CountingDetector(), FakeSegmenter()

    def measure():
        DetectorFacts(det, segmenter=seg, cache=cache).facts(recs[0], claims)
        return det.calls, seg.calls

    assert measure() == (1, 1) and measure() == (1, 1)       # the same rules: cached
    monkeypatch.setattr(segment, "COLOUR_RULES", segment.COLOUR_RULES + 1)
    assert measure() == (1, 2)          # other rules: colours measured again, detections kept


@pytest.mark.parametrize("segmenter,dists", [
    ("sam:{ckpt}", ("segment-anything", "torch")),
    ("sam:vit_b:{ckpt}", ("segment-anything", "torch")),
    ("hf-sam:{folder}", ("transformers", "torch")),
])
def test_the_segmenter_colours_are_keyed_by_its_library_versions(tmp_path, monkeypatch,
                                                                  segmenter, dists):
    """A sam: segmenter was keyed by its weights hash alone, and an hf-sam: one named
    transformers but not torch: after an upgrade of segment-anything or torch (other mask
    decoding, other kernels) the colours measured under the old release were reused."""
    from importlib import metadata
    ckpt = tmp_path / "sam.pth"
    ckpt.write_bytes(b"weights")
    folder = tmp_path / "hfsam"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    spec = segmenter.format(ckpt=ckpt, folder=folder)
    recs = make_records(tmp_path, n_images=1, per_image=1)
    claims = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]
    cache, seg = EvidenceCache(tmp_path / "cache"), FakeSegmenter()

    def measure():
        facts = DetectorFacts(CountingDetector(), segmenter=spec, cache=cache)
        facts._segmenter = seg                   # the spec's model, without loading it
        facts.facts(recs[0], claims)
        return seg.calls

    assert measure() == 1 and measure() == 1                 # the same releases: cached
    real, calls = metadata.version, 1
    for dist in dists:
        monkeypatch.setattr(metadata, "version",
                            lambda name, d=dist: "0.0.1" if name == d else real(name))
        calls += 1
        assert measure() == calls                            # another release: measured again


@pytest.mark.parametrize("dist", ["transformers", "torch"])
def test_an_hf_detector_is_keyed_by_the_transformers_and_torch_versions(tmp_path, monkeypatch,
                                                                         dist):
    """An hf: detector's identity named transformers but not torch, whose kernels decide
    the scores too."""
    from importlib import metadata

    from halluscope.evidence.detector_facts import spec_identity
    (tmp_path / "config.json").write_text("{}")
    before = spec_identity(f"hf:{tmp_path}")
    real = metadata.version
    monkeypatch.setattr(metadata, "version",
                        lambda name: "0.0.1" if name == dist else real(name))
    after = spec_identity(f"hf:{tmp_path}")
    assert after[dist] == "0.0.1"
    assert EvidenceCache.key("detect", "x", before) != EvidenceCache.key("detect", "x", after)


def test_detections_are_keyed_by_the_device_type_they_ran_on(tmp_path, monkeypatch):
    """The device was in no key unless --device named it, as written: on a GPU machine a run
    without --device (cuda) and one under HALLUSCOPE_DEVICE=cpu shared their detections (the
    run sheet of the second said cpu), while --device cpu and no --device on a CPU machine
    missed each other. The key now holds the type the device resolves to."""
    pytest.importorskip("torch")
    (tmp_path / "config.json").write_text("{}")
    spec = f"hf:{tmp_path}"

    def key(cuda, env=None, **options):
        as_if_cuda(monkeypatch, cuda)
        monkeypatch.delenv("HALLUSCOPE_DEVICE", raising=False)
        if env:
            monkeypatch.setenv("HALLUSCOPE_DEVICE", env)
        facts = DetectorFacts(spec, options=options)
        return EvidenceCache.key(facts.identity), facts.identity["device"]

    gpu_auto, gpu_cpu = key(True), key(True, env="cpu")
    assert gpu_auto[1] == "cuda" and gpu_cpu[1] == "cpu" and gpu_auto[0] != gpu_cpu[0]
    assert key(True, device="cuda:0") == key(True, device="cuda") == gpu_auto
    assert key(False) == key(False, device="cpu") == gpu_cpu
    # OpenCV's coco-ssd runs on no torch device: nothing to key
    assert "device" not in DetectorFacts("coco-ssd").identity


def test_a_detector_object_and_a_segmenter_are_keyed_by_their_device(tmp_path, monkeypatch):
    """A detector of one's own that runs on a device, and a torch segmenter's colours, were
    keyed without it too."""
    recs = make_records(tmp_path, n_images=1, per_image=1)
    cache, claims = EvidenceCache(tmp_path / "cache"), [Claim("existence", "dog")]
    det = CountingDetector()
    for device in ("cuda:0", "cuda:1", "cpu"):
        det.device = device
        facts = DetectorFacts(det, cache=cache)
        assert facts.facts(recs[0], claims).provenance["identity"]["device"] == device[:4]
    assert det.calls == 2                    # cuda:1 reused cuda:0's; cpu ran again
    pytest.importorskip("torch")
    ckpt = tmp_path / "sam.pth"
    ckpt.write_bytes(b"weights")
    seg = FakeSegmenter()
    colour = [Claim("existence", "dog"), Claim("attribute", "dog", value="red", node="dog")]
    for cuda in (True, False, True):
        as_if_cuda(monkeypatch, cuda)
        facts = DetectorFacts(CountingDetector(), segmenter=f"sam:{ckpt}", cache=cache)
        facts._segmenter = seg
        facts.facts(recs[0], colour)
    assert seg.calls == 2                    # measured on cuda, on cpu, then cuda's reused
