"""compare across runs whose answers sit in several input files: where the model alone tells
a question's answers apart (each model's answers in one file of each run) they pair model by
model whatever the files are called; the same two models in files named otherwise were left
unpaired with a warning. One model's answers in two files are still told apart by the file,
and never paired by guess where the files are named otherwise."""

import json

import pytest

import halluscope
from halluscope.errors import ConfigError

N = 20


def _file(folder, name, model, wrong=()):
    """POPE answers of ``model`` to the same ``N`` questions (wrong on ``wrong``)."""
    rows = []
    for i in range(N):
        label = "yes" if i % 2 else "no"
        answer = ("no" if label == "yes" else "yes") if i in wrong else label
        rows.append({"question_id": i, "image": f"{i // 4}.jpg", "label": label, "model": model,
                     "question": "Is there a dog in the image?", "answer": answer})
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _audit(tmp_path, run, files):
    """An audit of ``files`` ((name, model, wrong) each) written to ``tmp_path/run``."""
    folder = tmp_path / f"{run}-in"
    folder.mkdir()
    paths = [_file(folder, *f) for f in files]
    halluscope.audit(paths, metrics="pope", out=tmp_path / run, n_boot=0, write_report=False)
    return tmp_path / run


def _accuracy(tmp_path, a, b):
    comp = halluscope.compare([a, b], n_boot=0).comparisons[0]
    return comp, comp.metrics["pope.accuracy"]


def test_the_same_models_in_files_named_otherwise_pair_model_by_model(tmp_path):
    a = _audit(tmp_path, "a", [("llava.jsonl", "llava", ()), ("qwen.jsonl", "qwen", ())])
    b = _audit(tmp_path, "b", [("llava-v2.jsonl", "llava", ()),
                               ("qwen-v2.jsonl", "qwen", range(5))])
    comp, acc = _accuracy(tmp_path, a, b)
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (2 * N, 0, 0), acc
    assert "ambiguous_pairs" not in acc
    changed = sorted(c["key"] for c in comp.changed)
    assert len(changed) == 5 and all(k.endswith("~qwen") for k in changed), changed
    assert not any("@" in k for k in changed)       # no file where the model tells them apart


def test_one_file_of_both_models_pairs_with_a_file_each(tmp_path):
    """Both models' answers in one file against a file each: model by model too."""
    a = _audit(tmp_path, "a", [("llava.jsonl", "llava", ()), ("qwen.jsonl", "qwen", ())])
    folder = tmp_path / "b-in"
    folder.mkdir()
    both = folder / "both.jsonl"
    both.write_text(_file(folder, "l.jsonl", "llava").read_text()
                    + _file(folder, "q.jsonl", "qwen", wrong={3}).read_text())
    halluscope.audit(both, metrics="pope", out=tmp_path / "b", n_boot=0, write_report=False)
    comp, acc = _accuracy(tmp_path, a, tmp_path / "b")
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (2 * N, 0, 0), acc
    assert [c["key"] for c in comp.changed] == ["0|3~qwen"]


def test_one_models_answers_in_two_files_are_still_told_apart_by_the_file(tmp_path):
    """Greedy and sampled answers of one model: the model does not tell them apart, the file
    does; files named alike pair each with its own, files named otherwise pair none (said)."""
    a = _audit(tmp_path, "a", [("greedy.jsonl", "llava", ()), ("sampled.jsonl", "llava", ())])
    b = _audit(tmp_path, "b", [("greedy.jsonl", "llava", ()),
                               ("sampled.jsonl", "llava", {2, 7})])
    comp, acc = _accuracy(tmp_path, a, b)
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (2 * N, 0, 0), acc
    assert sorted(c["key"] for c in comp.changed) == ["0|2@sampled.jsonl",
                                                      "1|7@sampled.jsonl"]
    c = _audit(tmp_path, "c", [("greedy-2.jsonl", "llava", ()),
                               ("sampled-2.jsonl", "llava", {2, 7})])
    with pytest.raises(ConfigError, match="named otherwise in the two runs"):
        _accuracy(tmp_path, a, c)       # nothing pairs: refused, saying why


def test_two_models_one_of_them_in_two_files_keeps_the_files_for_that_one(tmp_path):
    """llava answers in two files of B (greedy and sampled) beside qwen's: the model does not
    tell llava's answers apart there, so the files do, and B's files named otherwise than A's
    pair none of llava's answers, said, never by guess; qwen's pair by model."""
    a = _audit(tmp_path, "a", [("llava.jsonl", "llava", ()), ("qwen.jsonl", "qwen", ())])
    b = _audit(tmp_path, "b", [("llava-greedy.jsonl", "llava", ()),
                               ("llava-sampled.jsonl", "llava", range(N)),
                               ("qwen-v2.jsonl", "qwen", ())])
    comp, acc = _accuracy(tmp_path, a, b)
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (N, N, 2 * N), acc
    assert "(A: llava.jsonl; B: llava-greedy.jsonl, llava-sampled.jsonl)" in \
        acc["ambiguous_pairs"]
    assert not comp.changed         # qwen's answers alone paired: the same in both
