"""compare keeps of each items.jsonl line only what it reads (compare_lines.projected): the
lines whole held 244 MB at 50,000 POPE answers a run (benchmarks/compare_scale.py)."""

import json
import tracemalloc
from pathlib import Path

import halluscope
from halluscope.compare_lines import LINE_FIELDS
from halluscope.comparison import load_run

OBJECTS = ["dog", "cat", "car", "bus", "skis", "person"]
PHRASES = ["Yes", "No", "Not sure.", "There is a {o} in the image.", "I see no {o}."]


def _pope_run(tmp_path, name, n, seed=0, extra=None):
    """``n`` POPE answers with their labels inline (six questions an image), audited."""
    rows = []
    for i in range(n):
        obj = OBJECTS[i * 7 % len(OBJECTS)]
        rows.append({"question_id": i, "image": f"{i // 6}.jpg", "label": "yes" if i % 2 else "no",
                     "question": f"Is there a {obj} in the image?",
                     "answer": PHRASES[(i * 3 + seed) % len(PHRASES)].format(o=obj),
                     **(extra or {})})
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if path.parent.resolve() == Path.cwd().resolve():
        path = Path(path.name)
    halluscope.audit(path, metrics="pope", out=tmp_path / name, n_boot=0, write_report=False)
    return tmp_path / name


def test_a_line_is_kept_projected_and_its_repeats_once(tmp_path):
    """A line's other fields (its task) are not kept; its payload, groups (whose answer it is,
    and the groups per-group diff gates read) and listing fields are; equal rows, repeated
    strings and equal groups are one object."""
    run = _pope_run(tmp_path, "a", 60, extra={"model": "llava"})
    whole = json.loads((run / "items.jsonl").read_text().splitlines()[0])
    assert whole["task"] and "object:dog" in whole["scores"]["pope"]["groups"]
    items = list(load_run(run).metrics["pope"].values())
    row, unit, line = items[0]
    assert set(line) <= set(LINE_FIELDS) | {"pope", "pope_summary", "scores"}
    assert line["pope"] == whole["pope"] and line["response"] == whole["response"]
    assert line["scores"] == {"pope": {"groups": tuple(whole["scores"]["pope"]["groups"])}}
    assert "model:llava" in line["scores"]["pope"]["groups"] and "task" not in line
    alike = [v[2]["scores"]["pope"] for v in items
             if v[2]["scores"]["pope"] == line["scores"]["pope"]]
    assert len(alike) > 1 and all(g is line["scores"]["pope"] for g in alike)
    same = [r for r, _, _ in items if r == row]
    assert len(same) > 1 and all(r is row for r in same)     # one tuple for equal rows
    assert len({id(v[2]["prompt"]) for v in items}) == len({v[2]["prompt"] for v in items})


def test_a_run_is_held_in_far_less_than_its_whole_lines(tmp_path, monkeypatch):
    """Held whole, a POPE answer's line took about 2.2 KB (30 objects); projected, about
    0.8-0.9 KB, so a run of 50,000 answers holds about 40 MB, not 110 MB."""
    n = 3000
    monkeypatch.chdir(tmp_path)         # each line's source as short wherever tests run
    run = _pope_run(tmp_path, "a", n)
    load_run(run)       # imports and caches warmed
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = load_run(run)
        per_answer = (tracemalloc.get_traced_memory()[0] - before) / n
    finally:
        tracemalloc.stop()
    assert len(held.metrics["pope"]) == n
    assert per_answer < 1200, per_answer


def test_compare_lists_the_same_evidence_from_projected_lines(tmp_path):
    """What compare.html shows of a changed item (id, prompt, response, the POPE payload) is
    the items.jsonl line's, though the line is kept projected."""
    a, b = _pope_run(tmp_path, "a", 60), _pope_run(tmp_path, "b", 60, seed=1)
    comp = halluscope.compare([a, b], n_boot=0).comparisons[0]
    assert comp.changed
    lines = {json.loads(t)["id"]: json.loads(t)
             for t in (b / "items.jsonl").read_text().splitlines()}
    for c in comp.changed:
        whole = lines[c["item_b"]["id"]]
        assert c["item_b"] == {**{k: whole[k] for k in ("id", "image", "image_id", "prompt",
                                                         "response") if k in whole},
                               "evidence": whole["pope"]}
