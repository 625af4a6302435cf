"""What ``halluscope query`` says about a run, taken at its word: the run sheet's counts on a
fresh and a resumed run, the model named on a failed line, and what a resume checked of an
image given by URL. Servers are loopback ones (127.0.0.1) that the tests start and stop."""

from __future__ import annotations

import json

from halluscope.adapters.query import query
from halluscope.query_sheets import query_run
from test_query_reliability import app, runner  # noqa: F401 - fixtures
from test_query_resume import _image_server


def _sheet(out):
    return json.loads(out.with_name(out.name + ".runsheet.json").read_text())


def _counts(out, *keys):
    counts = _sheet(out)["counts"]
    return tuple(counts.get(k) for k in keys)


def _prompts(folder, n):
    from PIL import Image
    for k in range(n):
        Image.new("RGB", (8, 8), (30 * k, 90, 200)).save(folder / f"img{k}.png")
    path = folder / f"p{n}.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{k}", "image": f"img{k}.png",
                                        "prompt": f"Is there a dog {k}?"}) + "\n"
                            for k in range(n)))
    return path


def test_counts_total_is_every_request_of_the_set_on_a_fresh_and_a_resumed_run(tmp_path):
    # a resumed run said total 1 (the one left to ask) of a set of 3, and a run that found
    # everything answered total 0: 'total' meant 'left', which the audit then added back
    out = tmp_path / "out.jsonl"
    query(_prompts(tmp_path, 2), "mock/yes-no", out=out, cache=False)
    keys = ("total", "skipped", "to_ask", "new")
    assert _counts(out, *keys) == (2, 0, 2, 2)
    three = _prompts(tmp_path, 3)
    query(three, "mock/yes-no", out=out, cache=False)
    assert _counts(out, *keys) == (3, 2, 1, 1)
    query(three, "mock/yes-no", out=out, cache=False)
    assert _counts(out, *keys) == (3, 3, 0, 0)
    run = query_run(out)
    assert (run["requests"], run["answered"]) == (3, 3)


def test_an_older_run_sheet_whose_total_was_what_was_left_is_still_read(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": "a", "response": "yes"}) + "\n")
    out.with_name(out.name + ".runsheet.json").write_text(json.dumps({
        "kind": "query", "aborted": "interrupted (Ctrl-C); run again to ask what is left",
        "counts": {"total": 3, "skipped": 2, "cached": 0, "new": 1, "failed": 0}}))
    run = query_run(out)
    assert (run["requests"], run["answered"]) == (5, 3)


def test_a_failed_line_names_the_model_asked_never_as_one_a_server_reported(tmp_path):
    # a failed line said "model": "<requested>", the field an answered line fills with the
    # name its server reported: no server named a model for a request it refused
    from fake_openai_server import FakeServer

    import halluscope
    prompts = tmp_path / "pope.jsonl"
    _prompts(tmp_path, 4)
    prompts.write_text("".join(json.dumps({
        "question_id": k, "image": f"img{k}.png", "text": f"q{k} Is there a dog?",
        "label": "yes" if k % 2 else "no"}) + "\n" for k in range(4)))
    out = tmp_path / "out.jsonl"
    with FakeServer(model_name="served", script={"q1 ": ["refuse"] * 3}) as server:
        query(prompts, "vllm/asked", out=out, base_url=server.url, cache=False,
              max_attempts=1)
    lines = [json.loads(t) for t in out.read_text().splitlines()]
    failed = [r for r in lines if "error" in r]
    assert [r["id"] for r in failed] == ["1"]
    assert failed[0]["model"] is None and failed[0]["requested_model"] == "asked"
    assert all(r["model"] == "served" for r in lines if "response" in r)
    sheet = _sheet(out)
    assert sheet["reported_models"] == {"served": 3} and sheet["model_not_reported"] == 0
    result = halluscope.audit(out, metrics=["pope"])
    assert result.metrics["pope"].results["accuracy"].n == 3    # the failed line never scored
    assert [e["field"] for e in result.errors] == ["error"]


def test_a_resume_says_it_did_not_fetch_url_images_again_and_lines_carry_their_hash(
        app, runner, tmp_path):
    # a resume checks a local image's bytes (image_sha256) but kept an answer for an image URL
    # whose bytes had changed without a word: its lines carried no hash, and nothing said the
    # URL was compared by address only
    import hashlib

    _prompts(tmp_path, 2)
    web = tmp_path / "web"
    web.mkdir()
    (web / "a.png").write_bytes((tmp_path / "img0.png").read_bytes())
    images = _image_server(web)
    try:
        url = f"http://127.0.0.1:{images.server_address[1]}/a.png"
        prompts = tmp_path / "urls.jsonl"
        prompts.write_text(json.dumps({"id": "u", "image": url, "prompt": "Any dog?"}) + "\n"
                           + json.dumps({"id": "f", "image": "img1.png", "prompt": "Any dog?"})
                           + "\n")
        out = tmp_path / "out.jsonl"
        args = ["query", str(prompts), "-m", "mock/yes-no", "--allow-urls", "--no-cache",
                "-o", str(out)]
        assert runner.invoke(app, args).exit_code == 0
        first = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        sent = hashlib.sha256((web / "a.png").read_bytes()).hexdigest()
        assert first["u"]["image_sha256"] == sent          # the bytes the model was sent
        assert _counts(out, "url_images_unchecked") == (0,)
        (web / "a.png").write_bytes((tmp_path / "img1.png").read_bytes())   # other bytes
        res = runner.invoke(app, args)
    finally:
        images.shutdown()
        images.server_close()
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "1 kept answer(s) are about an image URL, compared by address only" in said
    assert "not fetched again" in said
    assert _counts(out, "skipped", "url_images_unchecked") == (2, 1)
