"""A judge on Azure OpenAI: requests go to a deployment (the spec's ``model``), the server
reports the deployed model (``gpt-4o-2024-08-06``), so a pin on ``model`` never matched and
``judge_fatal_mismatch`` stopped every Azure run. The spec's ``expected_model`` is the name the
pin checks; the run sheet records the deployment and the expected model. Against the loopback
server answering as Azure does (its own model name, whatever deployment was asked for)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from PIL import Image

from fake_openai_server import FakeServer, scripted_responder
import halluscope
from halluscope.judges.judge import Judge, PinMismatch
from halluscope.judges.spec import load_spec
from halluscope.types import Claim

REPO_JUDGES = Path(__file__).resolve().parents[1] / "judges"
SERVED = "gpt-4o-2024-08-06"
DEPLOYMENT = "my-gpt4o"
VERDICT = '{"verdict": "supported", "confidence": 0.9, "reason": "visible"}'


@pytest.fixture(autouse=True)
def azure_key(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-judge-test-0000000000")
    for var in ("AZURE_OPENAI_ENDPOINT", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.png"
    Image.new("RGB", (48, 48), (250, 250, 0)).save(path)
    return path


def azure_spec(tmp_path: Path, expected: str | None) -> Path:
    """The shipped GPT-4o spec (its templates and hashes) as an Azure deployment's."""
    folder = tmp_path / "judges"
    if not folder.exists():
        shutil.copytree(REPO_JUDGES / "templates", folder / "templates")
    text = (REPO_JUDGES / "gpt-4o-2024-08-06.toml").read_text()
    extra = f'\nexpected_model = "{expected}"' if expected else ""
    text = text.replace('provider = "openai"\nmodel = "gpt-4o-2024-08-06"',
                        f'provider = "azure"\nmodel = "{DEPLOYMENT}"{extra}')
    assert f'model = "{DEPLOYMENT}"' in text
    path = folder / f"azure-{expected or 'bare'}.toml"
    path.write_text(text)
    return path


def test_expected_model_is_what_a_strict_pin_checks_on_azure(tmp_path, image):
    spec = load_spec(azure_spec(tmp_path, SERVED))
    assert spec.pinned_model == SERVED and spec.pin == f"azure/{DEPLOYMENT}"
    with FakeServer(responder=lambda prompt, body: VERDICT, model_name=SERVED) as server:
        judge = Judge(spec, base_url=server.base, cache=False, strict_pin=True)
        verdict = judge.verify_sync(Claim("existence", "dog"), image)
        info = judge.describe()
        judge.close()
        asked = [r["model"] for r in server.requests]
    assert asked == [DEPLOYMENT]                # requests go to the deployment
    assert verdict.label == "supported"
    assert verdict.evidence[0].provenance["reported_model"] == SERVED
    assert info["model"] == DEPLOYMENT and info["expected_model"] == SERVED
    assert info["reported_models"] == {SERVED: 1} and info["pin_mismatch"] is False
    assert info["stats"]["uses"]["verify"]["pin_mismatches"] == 0


def test_a_deployment_moved_to_another_model_still_stops_a_strict_run(tmp_path, image):
    spec = load_spec(azure_spec(tmp_path, SERVED))
    with FakeServer(responder=lambda prompt, body: VERDICT,
                    model_name="gpt-4o-2024-05-13") as server:
        judge = Judge(spec, base_url=server.base, cache=False, strict_pin=True)
        with pytest.raises(PinMismatch, match="pins 'gpt-4o-2024-08-06' but the server "
                                              "answered as 'gpt-4o-2024-05-13'") as info:
            judge.verify_sync(Claim("existence", "dog"), image)
        judge.close()
    assert "expected_model =" not in str(info.value)     # the spec has one: no hint


def test_an_azure_spec_without_expected_model_says_what_to_add(tmp_path, image):
    spec = load_spec(azure_spec(tmp_path, None))
    assert spec.pinned_model == DEPLOYMENT and "expected_model" not in spec.describe()
    with FakeServer(responder=lambda prompt, body: VERDICT, model_name=SERVED) as server:
        judge = Judge(spec, base_url=server.base, cache=False, strict_pin=True)
        with pytest.raises(PinMismatch, match=f"add expected_model = '{SERVED}' to the spec"):
            judge.verify_sync(Claim("existence", "dog"), image)
        judge.close()


def test_other_providers_get_no_azure_hint(image):
    from halluscope.judges.spec import deployment_hint
    assert deployment_hint("openai", None, "gpt-4o-2024-05-13") == ""
    assert deployment_hint("azure", SERVED, "gpt-4o-2024-05-13") == ""
    assert "expected_model = 'x'" in deployment_hint("Azure", None, "x")


def test_an_empty_expected_model_is_a_bad_spec(tmp_path):
    from halluscope.errors import ConfigError
    path = azure_spec(tmp_path, None)
    path.write_text(path.read_text().replace(f'model = "{DEPLOYMENT}"',
                                             f'model = "{DEPLOYMENT}"\nexpected_model = ""'))
    with pytest.raises(ConfigError, match="expected_model"):
        load_spec(path)


def _outputs(tmp_path: Path) -> tuple[Path, Path]:
    Image.new("RGB", (64, 64), (120, 80, 40)).save(tmp_path / "a.png")
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "c1", "image": "a.png", "prompt": "Describe the image.",
                               "response": "A purple dog sits on a sofa."}) + "\n")
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": {"a.png": {"size": [64, 64], "objects": [
        {"label": "dog", "box": [0, 0, 30, 30]}, {"label": "sofa", "box": [0, 20, 64, 64]}]}}}))
    return out, ann


def test_an_audit_with_judge_fatal_mismatch_runs_on_azure(tmp_path, caplog):
    """The audit option, end to end: with ``expected_model`` the Azure judge's answers pass
    the fatal pin and the run sheet names deployment and model; without it the audit stops,
    and a lax one says what to add beside the numbers."""
    out, ann = _outputs(tmp_path)
    replies = scripted_responder([("Statement:", VERDICT)])
    with FakeServer(responder=replies, model_name=SERVED) as server:
        def run(spec, folder, **options):
            return halluscope.audit(out, annotations=ann, judge=str(spec), n_boot=0,
                                    cache_dir=tmp_path / "cache", out=tmp_path / folder,
                                    write_report=False, metrics="claims",
                                    options={"judge_base_url": server.base, **options})
        result = run(azure_spec(tmp_path, SERVED), "ok", judge_fatal_mismatch=True)
        sheet = json.loads((tmp_path / "ok" / "runsheet.json").read_text())
        judge = sheet["metrics"]["claims"]["judge"]
        assert result.metrics["claims"].n == 1
        assert (judge["model"], judge["expected_model"]) == (DEPLOYMENT, SERVED)
        assert judge["pin_mismatch"] is False and judge["strict_pin"] is True
        bare = azure_spec(tmp_path, None)
        with pytest.raises(PinMismatch, match="add expected_model"):
            run(bare, "stopped", judge_fatal_mismatch=True)
        with caplog.at_level(logging.WARNING):
            run(bare, "lax")
    assert f"the judge is pinned to '{DEPLOYMENT}' but the server answered as '{SERVED}'" \
        in caplog.text
    assert f"add expected_model = '{SERVED}'" in caplog.text
