"""compare refuses runs whose paired items are not the same questions, however the files were
given: POPE answer files with their labels inline (no question file) from the random and the
popular question files ask the same ids of the same images, their absent objects differ and
all are labelled "no", so only the object asked about tells them apart."""

import json

import pytest
from typer.testing import CliRunner

import halluscope
from halluscope.cli import app
from halluscope.errors import ConfigError

ABSENT = {"random": ["car", "kite"], "popular": ["dining table", "kite"]}


def _run(tmp_path, name, split, prompt_suffix="", answer="Yes", images=range(20)):
    """20 images, each asked about a dog (yes) and about an absent object (no): the random
    file's or the popular file's, the second image of each pair asking the same object."""
    rows = []
    for img in images:
        absent = ABSENT[split][img % 2]
        for qid, (obj, label) in enumerate((("dog", "yes"), (absent, "no"))):
            article = "an" if obj[0] in "aeiou" else "a"
            rows.append({"question_id": 2 * img + qid, "image": f"{img}.jpg", "label": label,
                         "question": f"Is there {article} {obj} in the image?{prompt_suffix}",
                         "answer": answer if qid else "Yes"})
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0, write_report=False)
    return tmp_path / name


def test_pope_inline_labels_of_another_question_file_are_refused(tmp_path):
    """Before: 'items that changed verdict' and B − A over 40 pairs, 10 of which asked about
    a car in A and a dining table in B, exit 0 and the gates judged."""
    a = _run(tmp_path, "a", "random")
    b = _run(tmp_path, "b", "popular", answer="No")
    with pytest.raises(ConfigError) as info:
        halluscope.compare([a, b], n_boot=0)
    said = str(info.value)
    assert "10 paired question(s) asked about another object" in said
    assert "'0|1': a question about 'car' in A, a question about 'dining table' in B" \
        in said
    res = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"),
                                   "--fail-below", "diff.pope.accuracy=-1"])
    assert res.exit_code == 2 and not (tmp_path / "c").exists()


def test_pope_same_questions_worded_otherwise_still_pair(tmp_path):
    """The same objects asked with another instruction after the question pair (the object is
    what must match, not the prompt's wording), and another answer compares."""
    a = _run(tmp_path, "a", "random")
    b = _run(tmp_path, "b", "random", prompt_suffix=" Answer yes or no.", answer="No")
    res = halluscope.compare([a, b], n_boot=0)
    assert res.metrics["pope.accuracy"]["diff"] == pytest.approx(20 / 40)


def test_few_pairs_said_beside_the_table_and_in_compare_html(tmp_path):
    """Runs on mostly other data (2 of 20 images shared): the log said 'only 4 of A's 40 and
    B's 40 items pair', but neither the lines beside the table nor compare.html did, where
    B − A over those 4 items read as the runs' difference."""
    a = _run(tmp_path, "a", "random")
    b = _run(tmp_path, "b", "random", answer="No", images=range(18, 38))
    res = halluscope.compare([a, b], out=tmp_path / "c", n_boot=0)
    note = ("pope: only 4 of A's 40 and B's 40 items pair (by image, document and id); its "
            "numbers hold those 4 items alone, and a diff gate on it fails")
    assert note in res.comparisons[0].notes()
    html = (tmp_path / "c" / "compare.html").read_text(encoding="utf-8")
    assert note.replace("'", "&#x27;") in html
    cli = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c2"),
                                   "--fail-below", "diff.pope.accuracy=-1"])
    assert cli.exit_code == 1 and "only 4 of A's 40" in cli.output
    same = halluscope.compare([a, a], n_boot=0)          # all paired: nothing said
    assert not [n for n in same.comparisons[0].notes() if "pair (by image" in n]


def test_metric_scored_nothing_names_a_few_causes(tmp_path):
    """CHAIR against a ground truth of other images: a cause per image id ('unknown image id
    226988: not in gt.json'), all of them in 'scored nothing', the audit's error and
    compare's (60,000 characters for 500 captions). The five most common are named, the rest
    counted; each record's reason stays in results.json 'errors'."""
    from halluscope.compare_inputs import unscored_reasons
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"imid_to_objects": {"999": ["dog"]}}), encoding="utf-8")
    captions = tmp_path / "captions.jsonl"
    captions.write_text("".join(json.dumps({"image_id": i, "caption": "A dog on a bed."}) + "\n"
                                for i in range(1, 31)), encoding="utf-8")
    res = CliRunner().invoke(app, ["audit", str(captions), "--metric", "chair", "--gt-objects",
                                   str(gt), "--out", str(tmp_path / "run"), "-q",
                                   "--no-report"])
    assert res.exit_code == 2
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    reasons = results["unscored"]["chair"]
    assert len(reasons) == 1 + 5 + 1 and reasons[0] == "0 of 30 records scored"
    assert reasons[-1] == ("25 more causes (25 records; each record's reason is in "
                           "results.json 'errors')")
    assert len(results["errors"]) == 30
    # a run written before the cap: compare names 7 reasons and counts the rest
    results["unscored"]["chair"] = [f"1 record: unknown image id {i}" for i in range(40)]
    said = unscored_reasons(results)["chair"]
    assert said.endswith("unknown image id 6; 33 more)") and "id 7" not in said


def test_compare_html_shows_model_text_as_written_and_escaped(tmp_path):
    """compare.html's evidence of a changed item showed 'it\\u2019s \\ud83d\\udc36' for
    "it’s 🐶" (JSON's ASCII escapes); now the text as written, HTML-escaped."""
    a = _run(tmp_path, "a", "random")
    b = _run(tmp_path, "b", "random", answer="No — it’s 🐶 猫 </pre><script>x()</script>")
    halluscope.compare([a, b], out=tmp_path / "c", n_boot=0)
    html = (tmp_path / "c" / "compare.html").read_text(encoding="utf-8")
    assert "No — it’s 🐶 猫 &lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;" in html
    assert "<script>" not in html and "\\u2019" not in html


def _two_models(tmp_path, name, order, llava_wrong=()):
    """40 questions, each answered by llava (right, but for ``llava_wrong``) and qwen (wrong),
    one file, the two models' lines in ``order``."""
    rows = []
    for i in range(40):
        label = "yes" if i % 2 else "no"
        wrong = "no" if label == "yes" else "yes"
        answers = {"llava": wrong if i in llava_wrong else label, "qwen": wrong}
        rows += [{"question_id": i, "image": f"{i // 4}.jpg", "label": label, "model": m,
                  "question": "Is there a dog in the image?", "answer": answers[m]}
                 for m in order]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0, write_report=False)
    return tmp_path / name


def test_several_models_answers_pair_model_by_model(tmp_path):
    """A file of two models' answers to each question, the models listed in another order in
    B: paired by occurrence, llava's answer met qwen's, and compare listed 40 better and 40
    worse for the same answers. Each model's answer pairs with its own."""
    a = _two_models(tmp_path, "a", ("llava", "qwen"))
    b = _two_models(tmp_path, "b", ("qwen", "llava"), llava_wrong={1, 2, 3})
    comp = halluscope.compare([a, b], n_boot=0).comparisons[0]
    assert comp.change_counts()["better"] == 0 and comp.change_counts()["worse"] == 3
    assert sorted(c["key"] for c in comp.changed) == ["0|1~llava", "0|2~llava", "0|3~llava"]
    assert comp.metrics["pope.accuracy"]["n_paired"] == 80
    assert comp.metrics["pope.accuracy"]["diff"] == pytest.approx(-3 / 80)
