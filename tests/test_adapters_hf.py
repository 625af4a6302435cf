"""The local transformers adapter on tiny random-weight VLMs (LLaVA, Qwen2-VL, Idefics3) built
from configs and saved with save_pretrained: loaded through the same path as real models."""

from __future__ import annotations

import asyncio
import json
import shutil
from importlib import metadata

import pytest
from PIL import Image

from tiny_vlms import KINDS, tiny_vlm
from halluscope.adapters.client import ModelClient
from halluscope.adapters.hf_local import HFLocalModel, files_pin
from halluscope.adapters.query import query
from halluscope.adapters.registry import get_model
from halluscope.adapters.types import Decoding, Message, Request
from halluscope.errors import ConfigError

pytest.importorskip("torch")


@pytest.fixture(scope="session")
def vlm_dirs(tmp_path_factory):
    base = tmp_path_factory.getbasetemp() / "tiny-vlms"
    return {kind: tiny_vlm(kind, base) for kind in KINDS}


@pytest.fixture(scope="session")
def photo(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "photo.jpg"
    Image.new("RGB", (96, 72), (180, 40, 40)).save(path)
    return path


def generate(api, request):
    async def main():
        return await ModelClient(api).generate(request)
    return asyncio.run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_generates_with_an_image_and_without(kind, vlm_dirs, photo):
    api = get_model(f"hf/{vlm_dirs[kind]}", device="cpu", dtype="float32")
    assert isinstance(api, HFLocalModel) and api.concurrency_hint == 1
    req = Request((Message.user("Is there a dog in the image?", (str(photo),)),),
                  Decoding(max_tokens=5))
    first = generate(api, req)
    assert isinstance(first.text, str) and first.model == str(vlm_dirs[kind])
    assert 1 <= first.usage["output_tokens"] <= 5 and first.usage["input_tokens"] > 5
    assert generate(api, req).text == first.text                     # greedy is deterministic
    text_only = generate(api, Request((Message.user("Describe a cat."),), Decoding(max_tokens=3)))
    assert text_only.usage["output_tokens"] <= 3
    info = api.describe()
    assert info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["model_class"].endswith("ForConditionalGeneration")
    asyncio.run(api.aclose())


def test_sampling_is_seeded_per_sample_index(vlm_dirs, photo):
    api = get_model(f"hf/{vlm_dirs['qwen2vl']}")

    def sample(k):
        return generate(api, Request((Message.user("What is this?", (str(photo),)),),
                                     Decoding(temperature=1.0, max_tokens=8, seed=11),
                                     sample_index=k)).text
    assert sample(0) == sample(0)
    assert len({sample(k) for k in range(4)}) > 1


def test_bfloat16_on_cpu(vlm_dirs, photo):
    api = get_model(f"hf/{vlm_dirs['llava']}", device="cpu", dtype="bfloat16")
    out = generate(api, Request((Message.user("Hi", (str(photo),)),), Decoding(max_tokens=2)))
    assert api.describe()["dtype"] == "bfloat16" and out.usage["output_tokens"] <= 2


def test_pin_is_content_addressed(vlm_dirs, tmp_path):
    src = vlm_dirs["idefics3"]
    moved = tmp_path / "moved"
    shutil.copytree(src, moved)
    assert files_pin(src) == files_pin(moved) and files_pin(src).startswith("files:")
    assert get_model(f"hf/{moved}").pin == get_model(f"hf/{src}").pin
    with pytest.raises(ConfigError, match="does not apply"):
        get_model(f"hf/{src}", base_url="http://127.0.0.1:8000/v1")


def test_unknown_local_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ConfigError, match="cannot find model"):
        get_model("hf/nobody/no-such-model-xyz")


def test_query_with_a_local_model_is_cached(vlm_dirs, photo, tmp_path):
    src = tmp_path / "p.jsonl"
    with open(src, "w") as fh:
        for i in range(3):
            fh.write(json.dumps({"id": str(i), "image": str(photo),
                                 "prompt": f"Question {i}?"}) + "\n")
    model = f"hf/{vlm_dirs['llava']}"
    first = query(src, model, out=tmp_path / "o.jsonl", cache=tmp_path / "c", max_tokens=4)
    assert len(first) == 3 and all("response" in r for r in first)
    sheet = json.loads((tmp_path / "o.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["new"] == 3 and sheet["model"]["pin"].startswith("files:")
    again = query(src, model, out=tmp_path / "o2.jsonl", cache=tmp_path / "c", max_tokens=4)
    sheet = json.loads((tmp_path / "o2.jsonl.runsheet.json").read_text())
    assert sheet["counts"]["cached"] == 3 and sheet["client"]["calls"] == 0
    assert [r["response"] for r in again] == [r["response"] for r in first]


def test_the_transformers_and_torch_versions_enter_the_cache_key(vlm_dirs, photo, monkeypatch):
    """A local model's key named no library version: after an upgrade of transformers (whose
    generation code changes answers) or torch (its kernels), the answers the older release
    made were served. The key names both installed versions, read from their metadata as an
    hf: detector's identity reads the transformers version."""
    from halluscope.evidence.cache import hf_model_identity
    folder = vlm_dirs["llava"]
    req = Request((Message.user("Is there a dog?", (str(photo),)),), Decoding(max_tokens=3))

    def key():
        api = HFLocalModel(str(folder), device="cpu", dtype="float32")
        return asyncio.run(ModelClient(api).key(req))

    before, doc = key()
    assert doc["settings"]["transformers"] == hf_model_identity(str(folder))["transformers"]
    real = metadata.version
    for dist in ("transformers", "torch"):
        monkeypatch.setattr(metadata, "version",
                            lambda name, d=dist: "0.0.1" if name == d else real(name))
        other, doc = key()
        assert doc["settings"][dist] == "0.0.1" and other != before
    monkeypatch.setattr(metadata, "version", real)
    assert key()[0] == before                                # the same versions: the same key


def test_numerics_settings_enter_the_cache_key(vlm_dirs, photo, tmp_path):
    """dtype, device and attn_implementation were not in the cache key: a bfloat16 run (or one
    on a GPU, or with eager attention) was served the greedy answers a float32 CPU run made.
    The key names what the load resolves ``auto`` to on this machine, before the lazy load."""
    folder = vlm_dirs["llava"]
    req = Request((Message.user("Is there a dog?", (str(photo),)),), Decoding(max_tokens=3))

    def key(**options):
        return asyncio.run(ModelClient(HFLocalModel(str(folder), **options)).key(req))

    k32, doc = key(device="cpu", dtype="float32")
    assert doc["settings"] == {"device": "cpu", "dtype": "float32",
                               "attn_implementation": "default",
                               "transformers": metadata.version("transformers"),
                               "torch": metadata.version("torch")}
    assert key(device="cpu", dtype="bfloat16")[0] != k32
    assert key(device="cpu", dtype="float32", attn_implementation="eager")[0] != k32
    assert key(device="cuda", dtype="bfloat16")[0] != key(device="cpu", dtype="bfloat16")[0]
    # the device type decides the numerics, not which card of that type
    assert key(device="cuda:1", dtype="float16")[0] == key(device="cuda", dtype="float16")[0]
    api = HFLocalModel(str(folder))                    # auto: resolved as the load resolves it
    auto = asyncio.run(ModelClient(api).key(req))
    generate(api, req)
    assert asyncio.run(ModelClient(api).key(req)) == auto           # the same key once loaded
    assert auto[1]["settings"]["device"] == api.device.split(":")[0]
    assert auto[1]["settings"]["dtype"] == api.describe()["dtype"]
    src = tmp_path / "p.jsonl"
    src.write_text(json.dumps({"id": "0", "image": str(photo), "prompt": "What is it?"}) + "\n")
    for n, dtype in enumerate(("float32", "bfloat16", "float32")):
        query(src, f"hf/{folder}", out=tmp_path / f"o{n}.jsonl", cache=tmp_path / "c",
              max_tokens=3, model_options={"device": "cpu", "dtype": dtype})
    counts = [json.loads((tmp_path / f"o{n}.jsonl.runsheet.json").read_text())["counts"]
              for n in range(3)]
    assert counts[1]["new"] == 1 and counts[1].get("cached", 0) == 0   # not fp32's answer
    assert counts[2]["cached"] == 1


def test_a_stop_string_is_not_part_of_a_local_answer(vlm_dirs, monkeypatch):
    """The API providers end the answer before the stop string; the local adapter kept it."""
    import transformers

    from halluscope.adapters import hf_local
    api = get_model(f"hf/{vlm_dirs['llava']}", device="cpu", dtype="float32")
    full = generate(api, Request((Message.user("Describe a cat."),), Decoding(max_tokens=8)))
    words = full.text.split()
    stop = " " + words[2]
    monkeypatch.setattr(hf_local, "_stop_criteria",
                        lambda tok, stops: transformers.StoppingCriteriaList())
    cut = generate(api, Request((Message.user("Describe a cat."),),
                                Decoding(max_tokens=8, stop=(stop,))))
    assert cut.text == full.text[:full.text.index(stop)].strip()
    assert cut.finish_reason == "stop"
    asyncio.run(api.aclose())


def test_stop_strings_the_tokenizer_cannot_check_are_a_clear_error(vlm_dirs, tmp_path):
    """transformers' stop-string check raised a bare ValueError (substring not found) on the
    word-level test tokenizer: it escaped as a crash (exit 3)."""
    api = get_model(f"hf/{vlm_dirs['llava']}", device="cpu", dtype="float32")
    with pytest.raises(ConfigError, match="stop strings.*tokenizer"):
        generate(api, Request((Message.user("Describe a cat."),),
                              Decoding(max_tokens=4, stop=("zz",))))
    asyncio.run(api.aclose())


def test_the_cache_key_names_the_pixels_a_local_model_is_handed(vlm_dirs, photo, tmp_path):
    """A local model is handed decoded pixels, so its key named only the file's bytes: the
    answer made when a 16-bit scan was clipped to a white picture was served after the scaling
    rule came. The key names the sha256 of the pixels the processor gets (``max_side``
    included), so a change of decoding moves exactly the keys whose pixels it changed."""
    import numpy as np

    from halluscope.adapters.images import pixels_digest
    ramp = np.linspace(0, 65535, 60 * 80).reshape(60, 80).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    api = HFLocalModel(str(vlm_dirs["llava"]), device="cpu", dtype="float32")
    keys = {}
    for name in (str(tmp_path / "scan.png"), str(photo)):
        req = Request((Message.user("Is there a dog?", (name,)),), Decoding(max_tokens=3))
        key, doc = asyncio.run(ModelClient(api).key(req))
        part = doc["messages"][0]["content"][0]
        assert part["sent"] == pixels_digest(api.conversation(req)[1][0])
        keys[name] = key
    gradient = np.asarray(api.conversation(Request((Message.user(
        "?", (str(tmp_path / "scan.png"),)),)))[1][0])
    assert 100 < gradient.mean() < 155                       # scaled, not clipped white
    small = HFLocalModel(str(vlm_dirs["llava"]), device="cpu", dtype="float32", max_side=32)
    req = Request((Message.user("Is there a dog?", (str(photo),)),), Decoding(max_tokens=3))
    assert asyncio.run(ModelClient(small).key(req))[0] != keys[str(photo)]
