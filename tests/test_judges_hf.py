"""A local VLM judge on tiny random-weight models: the spec's path to a real model, end to end.

A random model answers gibberish, which is exactly what the parse-failure path needs: every
verdict must be unverifiable with the raw answer kept, never a default."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tiny_vlms import tiny_vlm
from halluscope.judges.judge import Judge, JudgeError, JudgeParseError
from halluscope.judges.spec import load_spec
from halluscope.types import Claim

pytest.importorskip("torch")
REPO_JUDGES = Path(__file__).resolve().parents[1] / "judges"


@pytest.fixture(scope="module")
def local_spec(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    model_dir = tiny_vlm("qwen2vl", base / "tiny-vlms")
    folder = tmp_path_factory.mktemp("judges")
    shutil.copytree(REPO_JUDGES / "templates", folder / "templates")
    text = (REPO_JUDGES / "qwen2.5-vl-7b-instruct.toml").read_text()
    text = (text.replace('model = "Qwen/Qwen2.5-VL-7B-Instruct"', f'model = "{model_dir}"')
                .replace('revision = "cc594898137f460bfe9f0759e9844b3ce807cfb5"\n', "")
                .replace("processor_kwargs = { min_pixels = 200704, max_pixels = 1003520 }",
                         "")
                .replace('name = "qwen2.5-vl-7b-instruct"', 'name = "tiny-qwen2vl"')
                .replace("max_tokens = 600", "max_tokens = 12"))
    path = folder / "tiny-qwen2vl.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "judge-photo.png"
    Image.new("RGB", (80, 60), (30, 160, 30)).save(path)
    return path


def test_shipped_local_spec_points_at_the_pinned_hub_commit():
    spec = load_spec("qwen2.5-vl-7b-instruct")
    opts = spec.adapter_options()
    assert opts["revision"] == "cc594898137f460bfe9f0759e9844b3ce807cfb5"
    assert opts["processor_kwargs"] == {"min_pixels": 256 * 28 * 28,
                                        "max_pixels": 1280 * 28 * 28}


def test_local_judge_keeps_raw_answers_and_never_defaults(local_spec, photo, tmp_path):
    judge = Judge.load(local_spec, cache=tmp_path / "cache")
    assert judge.api.describe()["model"] == judge.spec.model
    verdict = judge.verify_sync(Claim("existence", "dog", text="A dog."), photo)
    payload = verdict.evidence[0].payload
    # a random tiny model runs on to max_tokens: its reply is cut and kept unread
    raw = payload["raw"] if payload["raw"] is not None else payload["cut_reply"]
    assert isinstance(raw, str) and raw                      # the model's own words, kept
    assert payload["judge"] == judge.pin
    if payload["raw"] is None:
        assert verdict.reason.startswith("the judge's reply was cut at max_tokens=12")
    if verdict.reason.startswith(("the judge's answer could not be parsed", "the judge's reply")):
        assert verdict.label == "unverifiable" and verdict.confidence is None
    label = judge.classify_yes_no_sync("It might be.", "Is there a dog?")
    assert label in ("yes", "no", "unknown")
    with pytest.raises(JudgeError) as info:        # unparsable (JudgeParseError) or cut
        judge.decompose_sync("A dog on a sofa.")
    assert (info.value.raw is not None if isinstance(info.value, JudgeParseError)
            else "cut at max_tokens=12" in str(info.value))
    info_sheet = judge.describe()
    assert info_sheet["pin_mismatch"] is False                # served model == pinned folder
    assert info_sheet["adapter"]["pin"].startswith("files:")
    assert info_sheet["stats"]["uses"]["verify"]["calls"] == 1
    # same claim again: answered from the cache, identical verdict
    again = judge.verify_sync(Claim("existence", "dog", text="A dog."), photo)
    assert again.evidence[0].payload == payload and again.reason == verdict.reason
    assert judge.client.cache_hits == 1
    judge.close()


def test_local_judge_spec_hash_is_still_checked(local_spec, tmp_path):
    folder = tmp_path / "j"
    shutil.copytree(local_spec.parent, folder)
    tpl = folder / "templates" / "classify_yes_no.txt"
    tpl.write_text(tpl.read_text().replace("exactly one word", "one word"))
    assert hashlib.sha256(tpl.read_bytes()).hexdigest() != \
        load_spec(local_spec).prompts["classify_yes_no"].sha256
    from halluscope.errors import ConfigError
    with pytest.raises(ConfigError, match="classify_yes_no"):
        Judge.load(folder / local_spec.name, cache=False)
