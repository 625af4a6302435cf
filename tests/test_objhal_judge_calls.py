"""Object HalBench's ``info.judge_calls`` (the extraction judge's calls, which the original's
303 are compared with) is the whole audit's, whatever the engine: it was a count kept on the
extractor of the process that wrote ``results.json``, so ``--workers 2`` and Ray said 0 and a
resumed audit counted only the part after ``--resume``, while every other number was the one
process's. Driven against a loopback judge that answers most prompts with an object list and
the others with text no parser reads (asked again, as the original asks, up to its limit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halluscope.api import audit
from replay_judge_server import ReplayServer
from test_question_align import nlp  # noqa: F401 - the spaCy pipeline fixture, shared
from test_workers import Stop, stop_after

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "judges" / "objhal-gpt-3.5-turbo-0613.toml"
N = 12


class _ByPrompt(dict):
    """Replies by the prompt's sha256: most get an object list, about one in four a text no
    parser reads."""

    def __contains__(self, key) -> bool:
        return True

    def __missing__(self, key) -> str:
        return "Objects: dog" if int(key[:4], 16) % 4 == 0 else '["dog", "sofa"]'


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for var in ("OPENAI_API_KEY", "HALLUSCOPE_OFFLINE"):
        monkeypatch.delenv(var, raising=False)


def _files(tmp: Path) -> tuple[Path, Path, Path]:
    questions = tmp / "q.jsonl"
    questions.write_text("".join(json.dumps({"image_id": 100 + i, "question": "Describe it."})
                                 + "\n" for i in range(N)))
    answers = tmp / "answers.jsonl"
    answers.write_text("".join(json.dumps(
        {"question_id": i, "image_id": 100 + i, "prompt": "Describe it.",
         "text": f"A dog and a cat sit on a sofa in room {i}.", "model_id": "m"}) + "\n"
        for i in range(N)))
    gt = tmp / "gt.json"
    gt.write_text(json.dumps({str(100 + i): ["dog"] if i % 2 else ["cat"] for i in range(N)}))
    return answers, questions, gt


def _comparable(out: Path) -> dict:
    """results.json less what names the run (its id, the digests of the files beside it) and
    the judge's cached calls and cache file, which depend on the cache folder's state."""
    data = json.loads((out / "results.json").read_text())
    for key in ("run_id", "outputs", "digest"):
        data.pop(key)
    info = data["metrics"]["objhal"]["info"]
    info["judge"].pop("cache", None)
    for counts in (info["judge_reliability"], *info["judge"]["stats"]["uses"].values()):
        counts.pop("cached")
    return data


@pytest.mark.parametrize("how", ["workers", "resumed"])
def test_judge_calls_are_the_whole_audits(tmp_path, nlp, how):  # noqa: F811
    answers, questions, gt = _files(tmp_path)

    def run(out, cache, server, **kw):
        return audit(answers, out=out, metrics="objhal", gt_objects=str(gt),
                     questions=str(questions), judge=str(SPEC), n_boot=50,
                     cache_dir=str(tmp_path / cache), write_report=False,
                     options={"judge_base_url": server.url}, **kw)

    with ReplayServer(_ByPrompt(), model="gpt-3.5-turbo-0613") as server:
        run(tmp_path / "one", "cache-one", server, workers=1)
        if how == "workers":
            run(tmp_path / "other", "cache-other", server, workers=2)
        else:
            with pytest.raises(Stop):
                run(tmp_path / "other", "cache-other", server, workers=1,
                    on_progress=stop_after(5))
            run(tmp_path / "other", "cache-other", server, workers=1, resume=True)
    one, other = _comparable(tmp_path / "one"), _comparable(tmp_path / "other")
    calls = one["metrics"]["objhal"]["info"]["judge_calls"]
    assert calls == one["metrics"]["objhal"]["info"]["judge_reliability"]["calls"] > N
    assert other == one
    assert (tmp_path / "one" / "items.jsonl").read_bytes() == \
        (tmp_path / "other" / "items.jsonl").read_bytes()

