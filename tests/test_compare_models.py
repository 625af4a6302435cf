"""compare pairs answers to a question that several models answered model by model, never by
line order: runs holding other sets of models, or a model under another name, paired qwen's
answer with gpt's without a word. Answers that pair with none are said (a warning, the
entries' ambiguous_pairs, compare.html), and runs of which nothing pairs are refused (exit 2)."""

import json
import logging

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import EXIT_USAGE, app
from halluscope.errors import ConfigError

N = 40


def _run(tmp_path, name, models, wrong=None, by=None, repeat=1):
    """POPE answers of ``models`` to the same ``N`` questions, each model's after the other's
    on every question (``repeat`` answers each); ``wrong``: model -> question ids it gets
    wrong (all others right)."""
    rows = []
    for i in range(N):
        label = "yes" if i % 2 else "no"
        for m in models:
            for _ in range(repeat):
                bad = i in (wrong or {}).get(m, ())
                rows.append({"question_id": i, "image": f"{i // 4}.jpg", "label": label,
                             "model": m, "question": "Is there a dog in the image?",
                             "answer": ("no" if label == "yes" else "yes") if bad else label})
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kw = {} if by is None else {"by": by}
    halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0, write_report=False,
                     **kw)
    return tmp_path / name


def test_other_sets_of_models_pair_the_models_both_hold_and_say_the_rest(tmp_path, caplog):
    """A holds llava's and qwen's answers, B llava's and gpt's: by line order qwen's answers
    met gpt's (40 pairs of unrelated answers in the numbers). Only llava's pair now."""
    a = _run(tmp_path, "a", ("llava", "qwen"), wrong={"qwen": range(N)})
    b = _run(tmp_path, "b", ("llava", "gpt"), wrong={"llava": {1, 2}})
    with caplog.at_level(logging.WARNING):
        comp = halluscope.compare([a, b], n_boot=0, out=tmp_path / "cmp").comparisons[0]
    acc = comp.metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (N, N, N)
    assert acc["a"] == 1.0 and acc["b"] == pytest.approx(1 - 2 / N)
    assert sorted(c["key"] for c in comp.changed) == ["0|1~llava", "0|2~llava"]
    note = acc["ambiguous_pairs"]
    assert "only A holds: qwen (40)" in note and "only B holds: gpt (40)" in note
    assert any("qwen (40)" in n for n in comp.notes())
    assert "qwen (40)" in caplog.text
    assert "only A holds: qwen (40)" in (tmp_path / "cmp" / "compare.html").read_text()
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert "gpt (40)" in saved["metrics"]["pope.accuracy"]["ambiguous_pairs"]


def test_a_model_under_another_name_is_said_not_paired_with_another(tmp_path):
    """B names llava otherwise and lists it second: by order, llava-v1.5's answers met qwen's
    and qwen's met llava-1.5's."""
    a = _run(tmp_path, "a", ("llava-1.5", "qwen"))
    b = _run(tmp_path, "b", ("qwen", "llava-v1.5"), wrong={"qwen": {3}})
    comp = halluscope.compare([a, b], n_boot=0).comparisons[0]
    acc = comp.metrics["pope.accuracy"]
    assert acc["n_paired"] == N and [c["key"] for c in comp.changed] == ["0|3~qwen"]
    assert "llava-1.5 (40)" in acc["ambiguous_pairs"]
    assert "llava-v1.5 (40)" in acc["ambiguous_pairs"]
    assert "same model names" in acc["ambiguous_pairs"]


def test_runs_whose_models_all_differ_are_refused_naming_them(tmp_path):
    a = _run(tmp_path, "a", ("llava", "qwen"))
    b = _run(tmp_path, "b", ("llava-7b", "qwen-7b"))
    with pytest.raises(ConfigError, match="share no item") as exc:
        halluscope.compare([a, b], n_boot=0)
    assert "llava (40), qwen (40)" in str(exc.value)
    assert "llava-7b (40), qwen-7b (40)" in str(exc.value)
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                                   "--bootstrap", "0"])
    assert res.exit_code == EXIT_USAGE
    assert "qwen-7b" in res.output


def test_one_model_against_a_file_of_several_pairs_with_its_own(tmp_path):
    """A holds llava's answers alone (each question once), B llava's after qwen's: by order
    A's only answer met qwen's."""
    a = _run(tmp_path, "a", ("llava",))
    b = _run(tmp_path, "b", ("qwen", "llava"), wrong={"qwen": range(N)})
    acc = halluscope.compare([a, b], n_boot=0).comparisons[0].metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"], acc["diff"]) == (N, 0, N, 0)
    assert "only B holds: qwen (40)" in acc["ambiguous_pairs"]


def test_answers_naming_no_model_are_said_not_paired_by_order(tmp_path):
    """B audited with --by leaving model out: its lines do not say whose answer each is."""
    a = _run(tmp_path, "a", ("llava", "qwen"))
    b = _run(tmp_path, "b", ("llava", "qwen"), by=[])
    with pytest.raises(ConfigError, match="80 line.s. of B name no model"):
        halluscope.compare([a, b], n_boot=0)


def test_one_model_a_run_answering_twice_still_pairs_by_occurrence(tmp_path):
    """Two checkpoints, each run one model (named otherwise), each question answered twice:
    the answers pair by occurrence as before, whatever the model is called."""
    a = _run(tmp_path, "a", ("ckpt-1",), repeat=2)
    b = _run(tmp_path, "b", ("ckpt-2",), repeat=2, wrong={"ckpt-2": {5}})
    comp = halluscope.compare([a, b], n_boot=0).comparisons[0]
    acc = comp.metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (2 * N, 0, 0)
    assert "ambiguous_pairs" not in acc
    assert sorted(c["key"] for c in comp.changed) == ["1|5", "1|5#2"]
