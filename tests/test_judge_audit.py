"""End to end: ``halluscope query`` then ``halluscope audit --judge`` through the CLI, against the
loopback OpenAI-compatible server and against a tiny random-weight local VLM; POPE answers no rule
reads resolved by the judge; the response cache (no new calls on a re-run) and offline mode
(a cache miss is a :class:`CacheMiss` naming the model, the record and the cache)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from fake_openai_server import FakeServer, scripted_responder
from test_workers import Stop, stop_after
import halluscope
from halluscope.cli import app
from halluscope.errors import CacheMiss, ConfigError

HERE = Path(__file__).resolve().parent
SPEC = HERE / "judges" / "loopback-judge.toml"
JUDGE_MODEL = "loopback-judge-2025-01-01"
JUDGE_PIN = f"vllm/{JUDGE_MODEL}"
REASON = 'the dog is <b>brown</b> & "small"'

# Judge prompts first: they quote the model's words, which the model keys would also match.
PURPLE = json.dumps({"verdict": "hallucinated", "confidence": 0.8, "reason": REASON})
REPLIES = [
    ("Answer: I believe there might be one", "Yes."),
    ("Answer: Hard to say", "Perhaps."),
    ("Statement: The dog is purple.", PURPLE),
    ("Statement: There is a zebra", "I cannot tell, sorry."),  # the judge's parser fails
    ("next to the zebra.", "I cannot tell, sorry."),
    ("Statement:", '{"verdict": "supported", "confidence": 0.9, "reason": "visible"}'),
    ("Describe the image.", "A purple dog sits on a sofa."),
    ("Describe this picture briefly.", "A cat sleeps next to a zebra."),
    ("Is there a dog", "I believe there might be one."),
    ("Is there a cat", "No."),
    ("Is there a zebra", "Hard to say."),
    ("Is there a sofa", "Yes, there is."),
]


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """No key, no offline flag from the environment."""
    for var in ("OPENAI_API_KEY", "VLLM_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def work(tmp_path):
    """Images, caption and yes/no prompts, and annotations for the images."""
    (tmp_path / "img").mkdir()
    Image.new("RGB", (64, 64), (120, 80, 40)).save(tmp_path / "img" / "a.png")
    Image.new("RGB", (64, 64), (20, 20, 20)).save(tmp_path / "img" / "b.png")
    write_jsonl(tmp_path / "captions.jsonl", [
        {"id": "c1", "image": "img/a.png", "prompt": "Describe the image."},
        {"id": "c2", "image": "img/b.png", "prompt": "Describe this picture briefly."}])
    write_jsonl(tmp_path / "yesno.jsonl", [
        {"id": f"q{i}", "image": "img/a.png", "prompt": f"Is there a {obj} in the image?",
         "label": label}
        for i, (obj, label) in enumerate([("dog", "yes"), ("cat", "no"), ("zebra", "no"),
                                          ("sofa", "yes")], 1)])
    (tmp_path / "ann.json").write_text(json.dumps({"images": {
        "a.png": {"size": [64, 64], "objects": [{"label": "dog", "box": [0, 0, 30, 30]},
                                                {"label": "sofa", "box": [0, 20, 64, 64]}]},
        "b.png": {"size": [64, 64], "objects": [{"label": "cat", "box": [5, 5, 40, 40]}]}}}))
    return tmp_path


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def invoke(runner, args, expect=0):
    res = runner.invoke(app, args)
    assert res.exit_code == expect, res.output + repr(res.exception)
    return res


def query_args(prompts, out, url, cache, *extra):
    return ["query", str(prompts), "--model", "openai/fake-vlm", "--base-url", url,
            "--cache", str(cache), "--out", str(out), "--quiet", *extra]


def audit_args(inputs, out, url, cache, *extra):
    return ["audit", *map(str, inputs), "--judge", str(SPEC), "--option",
            f"judge_base_url={url}", "--cache-dir", str(cache), "--bootstrap", "0",
            "--out", str(out), "--quiet", *extra]


def claim(item, kind, subject, value=None):
    found = [c for c in item["claims"] if c["kind"] == kind and c["subject"] == subject
             and (value is None or c["value"] == value)]
    assert found, (kind, subject, value, item["claims"])
    return found[0]


# -- (a) loopback server: query, then audit with a judge -------------------------------------
def test_query_then_audit_with_a_judge_on_the_loopback_server(work, runner):
    cache = work / "cache"
    with FakeServer(responder=scripted_responder(REPLIES)) as server:
        url = server.url
        invoke(runner, query_args(work / "captions.jsonl", work / "out.jsonl", url, cache))
        records = read_jsonl(work / "out.jsonl")
        assert [(r["id"], r["model"]) for r in records] == [("c1", "fake-vlm"),
                                                            ("c2", "fake-vlm")]
        n_query = len(server.requests)
        invoke(runner, audit_args([work / "out.jsonl"], work / "run", server.url, cache,
                                  "--annotations", str(work / "ann.json")))
        judge_requests = server.requests[n_query:]
    assert judge_requests and all(r["model"] == JUDGE_MODEL for r in judge_requests)
    assert all(r["temperature"] == 0.0 and r["seed"] == 7 for r in judge_requests)

    items = {i["id"]: i for i in read_jsonl(work / "run" / "items.jsonl")}
    purple = claim(items["c1"], "attribute", "dog", "purple")
    assert purple["verdict"] == "hallucinated" and purple["checker"] == "judge-attribute"
    assert purple["reason"] == REASON and purple["confidence"] == 0.8
    ev = purple["evidence"][0]
    assert ev["source"] == "judge" and ev["judge"] == JUDGE_PIN and ev["raw"] == PURPLE
    assert ev["provenance"]["prompt_sha256"] == sha256(HERE / "judges/templates/verify.txt")
    # annotation-decided claims are not sent to the judge
    assert claim(items["c1"], "existence", "dog")["checker"].startswith("annotation")
    zebra = claim(items["c2"], "existence", "zebra")
    assert zebra["verdict"] == "unverifiable" and "could not be parsed" in zebra["reason"]
    assert zebra["evidence"][0]["raw"] == "I cannot tell, sorry."

    html = (work / "run" / "report.html").read_text(encoding="utf-8")
    assert "the dog is &lt;b&gt;brown&lt;/b&gt; &amp; " in html and "<b>brown</b>" not in html

    sheet = json.loads((work / "run" / "runsheet.json").read_text())
    info = sheet["metrics"]["claims"]
    assert sheet["config"]["judge"] == str(SPEC)
    judge = info["judge"]
    assert judge["pin"] == JUDGE_PIN and judge["name"] == "loopback-judge"
    assert judge["prompts"]["verify"]["sha256"] == sha256(HERE / "judges/templates/verify.txt")
    assert judge["decoding"]["max_tokens"] == 200                 # not mistaken for a secret
    assert judge["reported_models"] == {JUDGE_MODEL: len(judge_requests)}
    assert judge["pin_mismatch"] is False and judge["adapter"]["base_url"] == url
    rel = info["judge_reliability"]
    assert rel["calls"] == len(judge_requests) and rel["cached"] == 0
    assert rel["parse_failures"] >= 1 and 0 < rel["parse_failure_rate"] < 1
    results = json.loads((work / "run" / "results.json").read_text())
    assert results["metrics"]["claims"]["info"]["judge_reliability"] == rel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- (c) POPE: unknown answers go to the judge -----------------------------------------------
def test_pope_unknown_answers_are_resolved_by_the_judge(work, runner):
    cache = work / "cache"
    with FakeServer(responder=scripted_responder(REPLIES)) as server:
        invoke(runner, query_args(work / "yesno.jsonl", work / "answers.jsonl", server.url,
                                  cache))
        invoke(runner, audit_args([work / "answers.jsonl"], work / "run", server.url, cache,
                                  "--metric", "pope", "--pope-parser", "strict"))
        classify = [r for r in server.requests
                    if "yes/no question" in json.dumps(r["messages"])]
    assert len(classify) == 2                           # only the two answers strict cannot read
    items = {i["id"]: i["pope"] for i in read_jsonl(work / "run" / "items.jsonl")}
    assert items["q1"]["prediction"] == "yes" and items["q1"]["judged"] is True
    assert items["q1"]["judge_raw"] == "Yes." and items["q1"]["parser"] == "strict"
    assert items["q3"]["prediction"] == "unknown" and items["q3"]["judged"] is True
    assert items["q3"]["judge_raw"] == "Perhaps." and items["q3"]["judge_label"] == "unknown"
    assert "judged" not in items["q2"] and "judged" not in items["q4"]
    sheet = json.loads((work / "run" / "runsheet.json").read_text())
    pope = sheet["metrics"]["pope"]
    assert pope["judge_answers"] == {"asked": 2, "resolved": 1}
    assert pope["judge"]["pin"] == JUDGE_PIN
    assert pope["judge_reliability"]["use"] == "classify_yes_no"
    assert pope["judge_reliability"]["parse_failures"] == 1
    result = json.loads((work / "run" / "results.json").read_text())
    text = json.dumps(result)
    assert '"tp"' in text


# -- (d) the cache: re-running makes no call; offline with an empty cache fails --------------
def test_rerun_uses_the_cache_and_offline_misses_name_model_record_and_cache(work, runner):
    cache = work / "cache"
    args = ("--annotations", str(work / "ann.json"))
    with FakeServer(responder=scripted_responder(REPLIES)) as server:
        url = server.url
        invoke(runner, query_args(work / "captions.jsonl", work / "out.jsonl", url, cache))
        invoke(runner, audit_args([work / "out.jsonl"], work / "run1", url, cache, *args))
        calls = len(server.requests)
        invoke(runner, audit_args([work / "out.jsonl"], work / "run2", url, cache, *args))
        assert len(server.requests) == calls        # zero new model calls
    first = json.loads((work / "run1" / "runsheet.json").read_text())["metrics"]["claims"]
    again = json.loads((work / "run2" / "runsheet.json").read_text())["metrics"]["claims"]
    rel = again["judge_reliability"]
    assert rel["calls"] == rel["cached"] == first["judge_reliability"]["calls"] > 0
    assert read_jsonl(work / "run1" / "items.jsonl") == read_jsonl(work / "run2" / "items.jsonl")

    # the server is gone: offline mode must not try to reach it
    dead = url
    invoke(runner, audit_args([work / "out.jsonl"], work / "run3", dead, cache, *args,
                              "--offline"))
    query_out = work / "again.jsonl"
    invoke(runner, query_args(work / "captions.jsonl", query_out, dead, cache, "--offline"))
    assert [r["response"] for r in read_jsonl(query_out)] == \
        [r["response"] for r in read_jsonl(work / "out.jsonl")]

    empty = work / "empty-cache"
    res = invoke(runner, audit_args([work / "out.jsonl"], work / "run4", dead, empty, *args,
                                    "--option", "offline=true"), expect=2)
    assert f"no cached answer of judge '{JUDGE_PIN}' for record 'c1'" in res.output
    assert f"record 'c1' ({work / 'out.jsonl'}:1)" in res.output     # where it is, too
    assert str(empty) in res.output
    assert not empty.exists()                       # offline mode creates no cache
    res = invoke(runner, query_args(work / "captions.jsonl", work / "o.jsonl", dead, empty,
                                    "--offline"), expect=2)
    assert "no cached answer of model 'openai/fake-vlm' for record 'c1'" in res.output
    assert f"({work / 'captions.jsonl'}:1)" in res.output

    with pytest.raises(CacheMiss) as info:
        halluscope.audit(work / "out.jsonl", annotations=work / "ann.json", judge=str(SPEC),
                         cache_dir=empty, n_boot=0, options={"offline": True,
                                                             "judge_base_url": dead})
    assert info.value.record_id == "c1" and info.value.model == JUDGE_PIN
    assert info.value.at == f"{work / 'out.jsonl'}:1"
    assert info.value.cache_path == str(empty / "responses.sqlite3")


def test_env_offline_and_fatal_mismatch(work, runner, monkeypatch):
    cache = work / "cache"
    with FakeServer(responder=scripted_responder(REPLIES), model_name="other-model") as server:
        invoke(runner, query_args(work / "captions.jsonl", work / "out.jsonl", server.url,
                                  cache))
        # the server answers as another model: flagged, and fatal when asked for
        invoke(runner, audit_args([work / "out.jsonl"], work / "run", server.url, cache,
                                  "--annotations", str(work / "ann.json")))
        judge = json.loads((work / "run" / "runsheet.json").read_text())["metrics"]["claims"][
            "judge"]
        assert judge["pin_mismatch"] is True and judge["reported_models"] == {
            "other-model": judge["stats"]["uses"]["verify"]["calls"]}
        with pytest.raises(ConfigError, match="answered as 'other-model'"):
            halluscope.audit(work / "out.jsonl", annotations=work / "ann.json",
                             judge=str(SPEC), cache_dir=cache, n_boot=0,
                             options={"judge_base_url": server.url,
                                      "judge_fatal_mismatch": True})
        res = invoke(runner, audit_args([work / "out.jsonl"], work / "run2", server.url, cache,
                                        "--annotations", str(work / "ann.json"), "--option",
                                        "judge_fatal_mismatch=true"), expect=2)
        assert "other-model" in res.output
    monkeypatch.setenv("HALLUSCOPE_OFFLINE", "1")
    with pytest.raises(CacheMiss, match="record 'c1'"):
        halluscope.audit(work / "out.jsonl", annotations=work / "ann.json", judge=str(SPEC),
                         cache_dir=work / "nothing", n_boot=0)


def test_judge_splitter_uses_load_judge(work, runner):
    """``claim_splitter="judge"``: the configured judge splits the response, then verifies."""
    replies = [("List the atomic claims", json.dumps(
        [{"kind": "existence", "subject": "dog", "text": "A purple dog"},
         {"kind": "attribute", "subject": "dog", "value": "purple", "text": "A purple dog"}])),
        *REPLIES]
    cache = work / "cache"
    with FakeServer(responder=scripted_responder(replies)) as server:
        invoke(runner, query_args(work / "captions.jsonl", work / "out.jsonl", server.url,
                                  cache))
        invoke(runner, audit_args([work / "out.jsonl"], work / "run", server.url, cache,
                                  "--annotations", str(work / "ann.json"),
                                  "--claim-splitter", "judge"))
    items = {i["id"]: i for i in read_jsonl(work / "run" / "items.jsonl")}
    assert [(c["kind"], c["subject"], c["verdict"]) for c in items["c1"]["claims"]] == [
        ("existence", "dog", "supported"), ("attribute", "dog", "hallucinated")]
    stats = json.loads((work / "run" / "runsheet.json").read_text())["metrics"]["claims"][
        "judge"]["stats"]["uses"]
    assert stats["decompose"]["calls"] == 2 and stats["verify"]["calls"] >= 1


def test_load_judge_by_name_path_and_hash_check(tmp_path):
    from halluscope.judges import load_judge
    judge = load_judge("gpt-4o-2024-08-06", cache_dir=tmp_path / "c", offline=True)
    assert judge.spec.path.name == "gpt-4o-2024-08-06.toml" and judge.offline
    judge.close()
    copy = tmp_path / "j"
    shutil.copytree(SPEC.parent, copy)
    (copy / "templates" / "verify.txt").write_text("Statement: $statement (be kind)\n")
    with pytest.raises(ConfigError, match="has sha256"):
        load_judge(copy / SPEC.name, offline=True, cache_dir=tmp_path / "c")
    with pytest.raises(ConfigError, match="unknown judge 'no-such-judge'"):
        load_judge("no-such-judge")


# -- (b) a tiny local transformers VLM as the model and as the judge -------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_vlms import tiny_vlm
    return tiny_vlm("qwen2vl", tmp_path_factory.getbasetemp() / "tiny-vlms")


@pytest.fixture
def tiny_spec(tiny_model, tmp_path):
    """The loopback judge's prompts, served by the tiny local model (``hf`` provider)."""
    folder = tmp_path / "judges"
    shutil.copytree(SPEC.parent / "templates", folder / "templates")
    text = SPEC.read_text()
    text = (text.replace('provider = "vllm"', 'provider = "hf"')
                .replace(f'model = "{JUDGE_MODEL}"', f'model = "{tiny_model}"')
                .replace('base_url = "http://127.0.0.1:8000/v1"\n', "")
                .replace('name = "loopback-judge"', 'name = "tiny-qwen2vl"')
                .replace("max_tokens = 200", "max_tokens = 12")
                .replace('policy = "openai"\n', ""))
    path = folder / "tiny-qwen2vl.toml"
    path.write_text(text)
    return path


def test_query_and_audit_with_a_tiny_local_vlm(work, runner, tiny_model, tiny_spec):
    from halluscope.metrics.pope_parsers import parse_strict
    cache = work / "cache"
    prompts = write_jsonl(work / "mixed.jsonl", read_jsonl(work / "yesno.jsonl")
                          + read_jsonl(work / "captions.jsonl"))
    invoke(runner, ["query", str(prompts), "--model", f"hf/{tiny_model}", "--max-tokens", "8",
                    "--cache", str(cache), "--out", str(work / "out.jsonl"), "--quiet"])
    records = read_jsonl(work / "out.jsonl")
    assert [r["id"] for r in records] == ["q1", "q2", "q3", "q4", "c1", "c2"]
    assert all(isinstance(r["response"], str) and r["model"] == str(tiny_model)
               for r in records)
    sheet = json.loads((work / "out.jsonl.runsheet.json").read_text())
    assert sheet["model"]["pin"].startswith("files:")
    # the tiny model's captions are noise: audit a fixed caption of the same image beside them
    fixed = write_jsonl(work / "fixed.jsonl", [
        {"id": "f1", "image": "img/a.png", "response": "A purple dog sits on a sofa."}])
    # the random tiny judge runs on to max_tokens=12: a reply it did not finish is never read,
    # so POPE answers only the judge could read are left out (nothing scored: exit 2)
    readable = [q for q in records[:4] if parse_strict(q["response"]) != "unknown"]
    invoke(runner, ["audit", str(work / "out.jsonl"), str(fixed), "--judge", str(tiny_spec),
                    "--annotations", str(work / "ann.json"), "--metric", "claims,pope",
                    "--pope-parser", "strict", "--cache-dir", str(cache), "--bootstrap", "0",
                    "--out", str(work / "run"), "--quiet"], expect=0 if readable else 2)
    items = {i["id"]: i for i in read_jsonl(work / "run" / "items.jsonl")}
    cut_errors = [e for e in json.loads((work / "run" / "results.json").read_text())["errors"]
                  if e["metric"] == "pope" and "cut at max_tokens=12" in e["message"]]
    judged = [c for c in items["f1"]["claims"]
              if c["evidence"] and c["evidence"][0]["source"] == "judge"]
    assert any(c["kind"] == "attribute" and c["value"] == "purple" for c in judged)
    for c in judged:
        ev = c["evidence"][0]
        assert c["checker"] == f"judge-{c['kind']}"
        assert isinstance(ev["raw"] if ev["raw"] is not None else ev["cut_reply"], str)
        if "could not be parsed" in c["reason"] or "cut at max_tokens=12" in c["reason"]:
            assert c["verdict"] == "unverifiable" and c["confidence"] is None
    left_out = 0
    for qid in ("q1", "q2", "q3", "q4"):
        pope = items.get(qid, {}).get("pope")
        if parse_strict(next(r for r in records if r["id"] == qid)["response"]) != "unknown":
            assert "judged" not in pope
        elif pope is None:                  # the judge's reading was cut: not scored
            left_out += 1
        else:
            assert pope["judged"] is True and isinstance(pope["judge_raw"], str)
    assert len(cut_errors) == left_out
    info = json.loads((work / "run" / "runsheet.json").read_text())["metrics"]["claims"]
    assert info["judge"]["adapter"]["pin"].startswith("files:")
    assert info["judge"]["pin_mismatch"] is False
    rel = info["judge_reliability"]
    assert rel["calls"] == len(judged)
    assert rel["parse_failures"] == sum("could not be parsed" in c["reason"] for c in judged)
    assert rel["cut_replies"] == sum("cut at max_tokens=12" in c["reason"] for c in judged)


@pytest.mark.parametrize("engine", [["--workers", "2"], ["--engine", "ray", "--workers", "2"]])
def test_judge_calls_made_by_workers_are_counted_in_the_run_sheet(work, runner, engine):
    """With workers or Ray, the judge ran in other processes and the parent's run sheet said
    calls 0, reported_models {} and pin_mismatch false, though another model had answered."""
    if "ray" in engine:
        pytest.importorskip("ray")
    rows = [{"id": f"c{i}", "image": "img/a.png", "caption": "A purple dog sits on a sofa."}
            for i in range(8)]
    answers = write_jsonl(work / "answers.jsonl", rows)
    sheets = {}
    with FakeServer(responder=scripted_responder(REPLIES), model_name="impostor") as server:
        for name, extra in (("one", ["--workers", "1"]), ("many", engine)):
            invoke(runner, audit_args([answers], work / name, server.url, work / f"cache-{name}",
                                      "--annotations", str(work / "ann.json"), *extra))
            sheets[name] = json.loads((work / name / "runsheet.json").read_text())
    one, many = (sheets[k]["metrics"]["claims"] for k in ("one", "many"))
    assert one["judge_reliability"]["calls"] > 0
    # every count but 'cached': two workers may both ask what one process asked once, then read
    drop = (lambda d: {k: v for k, v in d.items() if k != "cached"})
    assert drop(many["judge_reliability"]) == drop(one["judge_reliability"])
    assert many["judge"]["reported_models"] == one["judge"]["reported_models"] == {
        "impostor": one["judge_reliability"]["calls"]}
    assert many["judge"]["pin_mismatch"] is True
    assert (work / "one" / "items.jsonl").read_bytes() == (work / "many" / "items.jsonl"
                                                          ).read_bytes()
    # results.json is the same for both engines: the judge's cache is named without the
    # hit/miss/write counters of one process (the parent made no call with workers: 0 writes
    # beside 8 rows in the cache), and the counts that do come back are added up
    results = {}
    for name in ("one", "many"):
        data = json.loads((work / name / "results.json").read_text())
        info = data["metrics"]["claims"]["info"]
        assert set(info["judge"]["cache"]) == {"path"}, info["judge"]["cache"]
        info["judge"]["cache"].pop("path")
        for counts in (info["judge_reliability"], *info["judge"]["stats"]["uses"].values()):
            counts.pop("cached")           # see above: two workers may both ask one prompt
        results[name] = {k: v for k, v in data.items() if k not in ("run_id", "outputs", "digest")}
    assert results["many"] == results["one"]


@pytest.mark.parametrize("workers", [1, 2])
def test_resume_counts_the_judge_calls_of_the_interrupted_part(work, workers):
    """The first part of an audit answered by a judge reporting another model than its pin,
    then a kill, then --resume against a server answering as pinned: the run sheet counted only
    the resumed part's calls (pin_mismatch false, the impostor's answers gone)."""
    from halluscope.api import audit
    rows = [{"id": f"c{i}", "image": "img/a.png" if i % 2 else "img/b.png",
             "caption": "A purple dog sits on a sofa." if i % 2 else
             "A cat sleeps next to a zebra."} for i in range(8)]
    answers = write_jsonl(work / "answers.jsonl", rows)

    def run(out, server, cache, **kw):
        return audit(answers, out=out, metrics="claims", judge=str(SPEC), n_boot=0,
                     options={"judge_base_url": server.url}, cache_dir=str(cache),
                     annotations=[str(work / "ann.json")], workers=workers,
                     write_report=False, **kw)

    with FakeServer(responder=scripted_responder(REPLIES), model_name="impostor") as server:
        run(work / "whole", server, work / "cache-whole")
        with pytest.raises(Stop):
            run(work / "cut", server, work / "cache-1", on_progress=stop_after(4))
        assert (work / "cut" / "items.journal.part").is_file()
        server.model_name = JUDGE_MODEL       # the same address now answers as pinned
        run(work / "cut", server, work / "cache-2", resume=True)
    whole, cut = (json.loads((work / d / "runsheet.json").read_text())["metrics"]["claims"]
                  for d in ("whole", "cut"))
    models = cut["judge"]["reported_models"]
    assert models.get("impostor", 0) > 0 and models.get(JUDGE_MODEL, 0) > 0, models
    assert cut["judge"]["pin_mismatch"] is True
    rel = cut["judge_reliability"]
    assert rel["calls"] == sum(models.values()) and rel["pin_mismatches"] == models["impostor"]
    assert rel["parse_failures"] > 0
    results = json.loads((work / "cut" / "results.json").read_text())
    assert results["metrics"]["claims"]["info"]["judge_reliability"] == rel
    # each line's calls counted once, as in one uninterrupted run (the kill landed inside a
    # chunk: 64 records in one process, 4 in a worker)
    assert rel["calls"] == whole["judge_reliability"]["calls"]
    assert rel["parse_failures"] == whole["judge_reliability"]["parse_failures"]
    # the items differ where the evidence names the model that answered; one line per input
    assert [i["id"] for i in read_jsonl(work / "cut" / "items.jsonl")] == [r["id"] for r in rows]


@pytest.mark.parametrize("workers,cache", [(1, "fresh"), (1, "same"), (2, "fresh"),
                                           (2, "same"), ("ray", "fresh")])
def test_resumed_judge_counters_are_an_uninterrupted_runs(work, workers, cache, request):
    """A kill inside a chunk (one process scores 64 records at a time, a worker 4, a Ray actor
    its batch): the counters of the whole chunk were journaled with its first record, and its
    other records, scored again after --resume, were counted twice. Now each line's counters
    are journaled with it: results.json equals an uninterrupted run's, counters included but
    'cached' (what the cache held); with the same cache folder the lines asked again are
    answered from it and counted as cached, as the run sheet says."""
    from halluscope.api import audit
    engine = {}
    if workers == "ray":
        ray = pytest.importorskip("ray")
        engine, workers = {"engine": "ray"}, 2
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)   # once for all 3
        request.addfinalizer(ray.shutdown)
    rows = [{"id": f"c{i}", "image": "img/a.png" if i % 2 else "img/b.png",
             "caption": "A purple dog sits on a sofa." if i % 2 else
             "A cat sleeps next to a zebra."} for i in range(8)]
    answers = write_jsonl(work / "answers.jsonl", rows)

    def run(out, cache_dir, **kw):
        return audit(answers, out=out, metrics="claims", judge=str(SPEC), n_boot=0,
                     options={"judge_base_url": server.url}, cache_dir=str(cache_dir),
                     annotations=[str(work / "ann.json")], workers=workers,
                     write_report=False, **engine, **kw)

    with FakeServer(responder=scripted_responder(REPLIES)) as server:
        run(work / "whole", work / "cache-whole")
        with pytest.raises(Stop):
            run(work / "cut", work / "cache-1", on_progress=stop_after(3))
        asked = len(server.requests)
        run(work / "cut", work / ("cache-1" if cache == "same" else "cache-2"), resume=True)
        again = len(server.requests) - asked
    results, cached = {}, {}
    for name in ("whole", "cut"):
        data = json.loads((work / name / "results.json").read_text())
        info = data["metrics"]["claims"]["info"]
        assert info["judge"]["cache"].pop("path")       # cache-whole, cache-1 or cache-2
        # 'cached' depends on what the cache held: one run reads its own repeated prompts
        # from it, and a resume with another cache folder asks them again
        cached[name] = info["judge_reliability"].pop("cached")
        info["judge"]["stats"]["uses"]["verify"].pop("cached")
        results[name] = {k: v for k, v in data.items() if k not in ("run_id", "outputs", "digest")}
    rel = results["whole"]["metrics"]["claims"]["info"]["judge_reliability"]
    assert rel["calls"] > 0 and rel["parse_failures"] > 0
    assert results["cut"] == results["whole"]        # calls, failures, reported models
    sheet = json.loads((work / "cut" / "runsheet.json").read_text())
    assert sheet["execution"]["resumed"]["lines_from_the_journal"] == 3
    assert "answered from the response cache" in sheet["execution"]["resumed"]["judge_counters"]
    if cache == "same":     # the lines the kill cut had asked: read from the cache after it
        assert cached["whole"] <= cached["cut"] <= rel["calls"] - again


def test_a_judge_that_fails_its_calls_is_said_not_only_recorded(work, caplog):
    """Every judge call failed (an unreachable server) and the audit said nothing: the reasons
    were only in items.jsonl and the run sheet."""
    rows = [{"id": "q1", "task": "yes-no", "label": "yes", "prompt": "Is there a dog?",
             "response": "I believe there might be one."},
            {"id": "q2", "task": "yes-no", "label": "no", "prompt": "Is there a cat?",
             "response": "No."}]
    result = halluscope.audit(records=rows, metrics="pope", judge=str(SPEC), n_boot=0,
                              pope_parser="strict", cache_dir=work / "cache",
                              options={"judge_base_url": "http://127.0.0.1:9/v1"},
                              out=work / "run", write_report=False)
    rel = result.runsheet["metrics"]["pope"]["judge_reliability"]
    assert rel["call_failures"] == rel["calls"] == 1
    assert "pope: the judge failed 1 of 1 calls" in caplog.text


def test_pope_answers_the_judge_could_not_be_asked_about_are_left_out_not_scored(work, runner):
    """Every judge call failed (server unreachable) and the audit exited 0 with an accuracy:
    each unread answer was scored as a wrong one, a number from nothing. Those records are now
    left out of POPE with the call's error, counted; when all are, POPE scored nothing (exit 2);
    when some are, the values are over the rest."""
    unread = [{"id": f"u{i}", "task": "yes-no", "label": "yes", "prompt": "Is there a dog?",
               "response": "I believe there might be one."} for i in range(14)]
    write_jsonl(work / "unread.jsonl", unread)
    dead = "http://127.0.0.1:9/v1"                     # nothing listens on the discard port
    args = audit_args([work / "unread.jsonl"], work / "all", dead, work / "cache", "--metric",
                      "pope", "--pope-parser", "strict")
    res = invoke(runner, args, expect=2)
    assert "pope scored nothing" in res.output and "judge could not be asked" in res.output
    results = json.loads((work / "all" / "results.json").read_text())
    assert "pope" in results["unscored"]
    assert any("14 records" in r and "judge could not be asked" in r
               for r in results["unscored"]["pope"])
    # partial: two answers the rule reads, two the judge could not be asked about
    mixed = [{"id": "y", "task": "yes-no", "label": "yes", "prompt": "Is there a dog?",
              "response": "Yes."},
             {"id": "n", "task": "yes-no", "label": "no", "prompt": "Is there a cat?",
              "response": "Yes."}] + unread[:2]
    write_jsonl(work / "mixed.jsonl", mixed)
    invoke(runner, audit_args([work / "mixed.jsonl"], work / "part", dead, work / "cache",
                              "--metric", "pope", "--pope-parser", "strict"))
    results = json.loads((work / "part" / "results.json").read_text())
    pope = results["metrics"]["pope"]
    assert pope["accuracy"]["value"] == 0.5 and pope["accuracy"]["n"] == 2   # not 0.25 of 4
    assert pope["unknown_rate"]["value"] == 0.0
    failed = [e for e in results["errors"] if "judge could not be asked" in e["message"]]
    assert len(failed) == 2 and {e["metric"] for e in failed} == {"pope"}
    sheet = json.loads((work / "part" / "runsheet.json").read_text())
    assert sheet["metrics"]["pope"]["judge_reliability"]["call_failures"] == 2


def test_claims_the_judge_could_not_be_asked_about_fail_the_run_naming_the_judge(work, runner):
    """Claims only a judge could decide, the judge unreachable (12 of 12 calls failed): claims
    scored nothing and the run fails (exit 2); the reason now names the judge's failed calls,
    not only '100% unverifiable'."""
    write_jsonl(work / "caps.jsonl", [{"id": f"c{i}", "image": "img/a.png", "prompt": "Describe.",
                                       "response": "A purple dog sits on a red sofa."}
                                      for i in range(2)])
    res = invoke(runner, audit_args([work / "caps.jsonl"], work / "run", "http://127.0.0.1:9/v1",
                                    work / "cache", "--metric", "claims"), expect=2)
    assert "claims scored nothing" in res.output
    reasons = json.loads((work / "run" / "results.json").read_text())["unscored"]["claims"]
    failed = [r for r in reasons if r.startswith("the judge failed")]
    assert failed and " of " in failed[0] and "judge_error" in failed[0]
    items = read_jsonl(work / "run" / "items.jsonl")
    verdicts = [c for i in items for c in i["claims"]]
    assert verdicts and all(c["verdict"] == "unverifiable" for c in verdicts)
    assert all("could not be asked" in c["reason"] for c in verdicts)


REFUSAL = "I'm sorry,\n I can't help with that."


def refusing(prompt: str, body: dict) -> dict:
    """A judge that declines every question: OpenAI's ``message.refusal``, no content."""
    return {"body": {"id": "chatcmpl-no", "object": "chat.completion", "model": JUDGE_MODEL,
                     "choices": [{"index": 0, "finish_reason": "stop", "message": {
                         "role": "assistant", "content": None, "refusal": REFUSAL}}]}}


def test_a_judge_that_refuses_is_a_failed_call_never_a_verdict(work, runner):
    """An OpenAI judge's refusal (``message.refusal``, content null) was taken as its answer.
    Now it is a failed call: under POPE the answer is a bad record carrying the refusal (not
    scored), under claims the claims are unverifiable and counted as the judge's failures."""
    write_jsonl(work / "yn.jsonl", [
        {"id": "y", "task": "yes-no", "label": "yes", "prompt": "Is there a dog?",
         "response": "Yes."},
        {"id": "u", "task": "yes-no", "label": "yes", "prompt": "Is there a dog?",
         "response": "I believe there might be one."}])
    write_jsonl(work / "caps.jsonl", [{"id": "c", "image": "img/a.png", "prompt": "Describe.",
                                       "response": "A purple dog sits on a red sofa."}])
    with FakeServer(responder=refusing) as server:
        invoke(runner, audit_args([work / "yn.jsonl"], work / "pope", server.url,
                                  work / "cache", "--metric", "pope", "--pope-parser", "strict"))
        asked = len(server.requests)
        res = invoke(runner, audit_args([work / "caps.jsonl"], work / "claims", server.url,
                                        work / "cache", "--metric", "claims"), expect=2)
        verify_calls = len(server.requests) - asked
    assert asked == 1                                       # only the unread answer; not retried
    results = json.loads((work / "pope" / "results.json").read_text())
    accuracy = results["metrics"]["pope"]["accuracy"]
    assert accuracy["value"] == 1.0 and accuracy["n"] == 1  # over the answer the rule read
    [bad] = [e for e in results["errors"] if e["metric"] == "pope"]
    assert "declined" in bad["message"] and "I'm sorry, I can't help with that." in bad["message"]
    assert [i["id"] for i in read_jsonl(work / "pope" / "items.jsonl") if "pope" in i] == ["y"]
    assert "claims scored nothing" in res.output
    verdicts = [c for i in read_jsonl(work / "claims" / "items.jsonl") for c in i["claims"]]
    assert verdicts and all(c["verdict"] == "unverifiable" for c in verdicts)
    assert all("declined" in c["reason"] and "can't help" in c["reason"] for c in verdicts)
    rel = json.loads((work / "claims" / "runsheet.json").read_text()
                     )["metrics"]["claims"]["judge_reliability"]
    assert rel["call_failures"] == rel["calls"] == verify_calls == len(verdicts) > 0
