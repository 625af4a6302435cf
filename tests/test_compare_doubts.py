"""Doubts left by the bug hunt of compare and the report (tests/test_compare_hunt.py), each
found real and mended: damaged ``unscored`` entries, the wording of a folder whose items.jsonl
was changed, repeated keys paired across input files, differing bootstrap settings, each
statistic's own n in group tables, and the report's small wordings."""

import json
from pathlib import Path

import pytest

import halluscope
from halluscope.api import audit
from halluscope.errors import ConfigError, InputError
from conftest import write_results

DATA = Path(__file__).resolve().parents[1] / "data"
INSTANCES = DATA / "annotations" / "instances.json"


def _pope_rows(n=12, off=0, prefix="q"):
    return [{"id": f"{prefix}{i}", "question_id": i, "image_id": i % 4 + 1,
             "prompt": "Is there a dog in the image?",
             "response": "Yes" if (i + off) % 3 else "No",
             "label": "yes" if i % 2 else "no"} for i in range(n)]


def _pope(tmp_path, name, rows=None, **kw):
    audit(records=rows or _pope_rows(), metrics="pope", n_boot=kw.pop("n_boot", 0),
          out=tmp_path / name, write_report=False, **kw)
    return tmp_path / name


@pytest.mark.parametrize("unscored, field", [
    ("x", "unscored"), ([1, 2], "unscored"), ({"chair": "no captions"}, "unscored.chair"),
    ({"chair": 5}, "unscored.chair"), ({"chair": {"why": 1}}, "unscored.chair"),
])
def test_a_damaged_unscored_entry_is_an_input_error_naming_results_json(
        tmp_path, unscored, field):
    """``"unscored": "x"`` or ``{"chair": 5}`` were dropped in silence: a metric that scored
    nothing then read as "did not compute it"."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    results = json.loads((b / "results.json").read_text())
    results["unscored"] = unscored
    write_results(b, results)
    with pytest.raises(ConfigError) as caught:
        halluscope.compare([a, b], n_boot=0)
    assert str(caught.value).startswith(f"{b / 'results.json'}: field '{field}': expected "), \
        caught.value


def test_an_edited_or_truncated_items_file_is_said_as_such_not_as_two_runs(tmp_path):
    """A truncated items.jsonl was refused with "the folder mixes two runs", which it need
    not: the message names what is known, the sha256 results.json records."""
    a, b = _pope(tmp_path, "a"), _pope(tmp_path, "b")
    items = b / "items.jsonl"
    items.write_bytes(items.read_bytes()[:-40])       # cut short
    with pytest.raises(InputError) as caught:
        halluscope.compare([a, b], n_boot=0)
    text = str(caught.value)
    assert "mixes two runs" not in text
    assert "does not match the sha256 results.json records for it" in text
    assert "edited, truncated or is from another run" in text and str(b) in text


def test_compare_html_names_a_change_as_what_it_is(tmp_path):
    """An item whose POPE answer went from right to wrong was listed under "fine in A,
    hallucinated in B": a wrong "no" is no hallucination."""
    a = _pope(tmp_path, "a")
    b = _pope(tmp_path, "b", _pope_rows(off=1))
    halluscope.compare([a, b], n_boot=0, out=tmp_path / "c")
    page = (tmp_path / "c" / "compare.html").read_text()
    assert "hallucinated" not in page
    assert "worse in B than in A (" in page and "better in B than in A (" in page
    assert "pope.accuracy: 1 → 0 (worse)" in page


def test_the_report_draws_no_verdict_colour_for_a_statistic_without_a_direction(tmp_path):
    """yes_ratio (no better direction; 0.5 is ideal on balanced splits) had a red bar, and an
    input file of 0 bytes a blank size."""
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _pope_rows()))
    (tmp_path / "empty.jsonl").write_bytes(b"")
    audit([tmp_path / "a.jsonl", tmp_path / "empty.jsonl"], metrics="pope", n_boot=0,
          out=tmp_path / "r")
    page = (tmp_path / "r" / "report.html").read_text()
    row = page.split("<td>yes_ratio")[1].split("</tr>")[0]
    assert 'class="fill neutral"' in row and "badfill" not in row
    accuracy = page.split("<td>accuracy")[1].split("</tr>")[0]
    assert 'class="fill good"' in accuracy
    files = page.split("empty.jsonl")[1].split("</tr>")[0]
    assert '<td class="r">0</td>' in files, files


def _chair_by_model(**kw):
    rows = [{"id": f"c{i}", "image_id": i, "model": model,
             "caption": "A cat and a dog and a bed and a person."}
            for i in (1, 2, 3, 4) for model in ("x", "y")]
    return audit(records=rows, metrics="chair", coco_annotations=[INSTANCES], n_boot=0, **kw)


def test_group_tables_label_each_value_with_its_own_n(tmp_path):
    """CHAIR by model: the row's n was 16 (mentions, chair_i's n) beside chair_s, which is over
    4 captions; each statistic now carries its own n where they differ."""
    from rich.console import Console

    from halluscope.report.console import groups_table
    res = _chair_by_model(out=tmp_path / "r")
    group = res.metrics["chair"].groups["model:x"]
    assert (group["chair_s"].n, group["chair_i"].n) == (4, 16)
    console = Console(width=200, record=True)
    console.print(groups_table(res)[0])
    text = console.export_text()
    row = next(line for line in text.splitlines() if "model:x" in line)
    assert "1.0000 (4)" in row and "0.8750 (16)" in row, text
    assert " n " not in next(line for line in text.splitlines() if "group" in line)
    page = (tmp_path / "r" / "report.html").read_text()
    table = page.split('id="groups"')[1].split("</table>")[0]
    assert '<th class="r">n</th>' not in table
    cells = table.split("<td>x</td>")[1].split("</tr>")[0]
    assert "1.0000 <span class=\"muted small\">(n 4)</span>" in cells, cells
    assert "0.8750 <span class=\"muted small\">(n 16)</span>" in cells, cells



def _files(folder: Path, files: dict[str, list[dict]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in files.items():
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        paths.append(folder / name)
    return paths


def test_repeated_keys_pair_within_their_input_file_whatever_the_order(tmp_path):
    """x.jsonl and y.jsonl repeat ids (q0..q11 about the same images) with other answers. Run A
    read x then y, run B the same files (copies elsewhere) y then x: repeats were paired by
    occurrence, x's q0 with y's q0, so one model against itself showed changed items and a
    difference from nothing."""
    x, y = _pope_rows(12, off=0), _pope_rows(12, off=1)
    xa, ya = _files(tmp_path / "in", {"x.jsonl": x, "y.jsonl": y})
    yb, xb = _files(tmp_path / "copy", {"y.jsonl": y, "x.jsonl": x})
    audit([xa, ya], metrics="pope", n_boot=0, out=tmp_path / "a", write_report=False)
    audit([yb, xb], metrics="pope", n_boot=0, out=tmp_path / "b", write_report=False)
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=200)
    acc = res.metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (24, 0, 0)
    assert acc["diff"] == 0 and res.comparisons[0].changed == []
    # the same files given as one run's single inputs still pair with another name
    audit([xa], metrics="pope", n_boot=0, out=tmp_path / "x", write_report=False)
    (tmp_path / "renamed.jsonl").write_text(xa.read_text())
    audit([tmp_path / "renamed.jsonl"], metrics="pope", n_boot=0, out=tmp_path / "r",
          write_report=False)
    one = halluscope.compare([tmp_path / "x", tmp_path / "r"], n_boot=0)
    assert one.metrics["pope.accuracy"]["n_paired"] == 12
    # run B read x alone: its items pair with A's x items, none with A's y
    two = halluscope.compare([tmp_path / "a", tmp_path / "x"], n_boot=0).metrics
    assert (two["pope.accuracy"]["n_paired"], two["pope.accuracy"]["only_a"]) == (12, 12)
    assert two["pope.accuracy"]["diff"] == 0


def test_a_repeated_key_whose_files_cannot_be_told_apart_is_left_unpaired_and_said(
        tmp_path, caplog):
    """Run A read x.jsonl and y.jsonl, run B p.jsonl and q.jsonl, ids repeating across files:
    which of B's files answers which of A's is not known, so those items are not paired (they
    were, by order of occurrence) and the comparison says so."""
    import logging
    x, y = _pope_rows(12, off=0), _pope_rows(12, off=1)
    _files(tmp_path / "in", {"x.jsonl": x, "y.jsonl": y, "p.jsonl": y, "q.jsonl": x})
    audit([tmp_path / "in" / "x.jsonl", tmp_path / "in" / "y.jsonl"], metrics="pope",
          n_boot=0, out=tmp_path / "a", write_report=False)
    audit([tmp_path / "in" / "p.jsonl", tmp_path / "in" / "q.jsonl"], metrics="pope",
          n_boot=0, out=tmp_path / "b", write_report=False)
    with caplog.at_level(logging.WARNING, logger="halluscope.comparison"):
        with pytest.raises(ConfigError, match="share no item") as caught:
            halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0)
    said = " ".join(caplog.text.split())
    assert "ambiguous" in said and "x.jsonl" in said and "p.jsonl" in said
    assert "repeat" in str(caught.value)



def test_items_left_unpaired_as_ambiguous_are_recorded_beside_the_numbers(tmp_path):
    x, y = _pope_rows(12, off=0), _pope_rows(12, off=1)
    own = _pope_rows(6, prefix="u")
    _files(tmp_path / "in", {"x.jsonl": x, "y.jsonl": y, "p.jsonl": y, "q.jsonl": x,
                             "u.jsonl": own})
    for run, names in (("a", ["x", "y", "u"]), ("b", ["p", "q", "u"])):
        audit([tmp_path / "in" / f"{n}.jsonl" for n in names], metrics="pope", n_boot=0,
              out=tmp_path / run, write_report=False)
    res = halluscope.compare([tmp_path / "a", tmp_path / "b"], n_boot=0, out=tmp_path / "c")
    acc = res.metrics["pope.accuracy"]
    assert (acc["n_paired"], acc["only_a"], acc["only_b"]) == (6, 24, 24), acc
    assert "ambiguous" in acc["ambiguous_pairs"] and "x.jsonl, y.jsonl" in acc["ambiguous_pairs"]
    saved = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert saved["metrics"]["pope.accuracy"]["ambiguous_pairs"] == acc["ambiguous_pairs"]
    assert "ambiguous" in (tmp_path / "c" / "compare.html").read_text()


def test_runs_bootstrapped_otherwise_are_said_and_their_clusters_joined(tmp_path, caplog):
    """A resampled items (--cluster-by item), B images: compare's paired bootstrap took A's
    units (60 single items over 12 images, so items of one image were drawn apart, as B's
    setting forbids), and neither the warning nor compare.json said the runs differed."""
    import logging
    rows = [{**r, "image_id": i % 12 + 1} for i, r in enumerate(_pope_rows(60))]
    a = _pope(tmp_path, "a", rows, cluster_by="item", n_boot=50, seed=1)
    b = _pope(tmp_path, "b", [dict(r, response="Yes") for r in rows], n_boot=100)
    with caplog.at_level(logging.WARNING, logger="halluscope.comparison"):
        res = halluscope.compare([a, b], n_boot=200, out=tmp_path / "c")
    acc = res.metrics["pope.accuracy"]
    assert acc["n_paired"] == 60 and acc["clusters"] == 12
    assert acc["ci"] is not None
    assert acc["bootstrap_differs"] == ["cluster_by: 'item' in A, 'image' in B",
                                        "n_boot: 50 in A, 100 in B", "seed: 1 in A, 0 in B"]
    saved = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert saved["bootstrap"] == {"n_boot": 200, "seed": 0, "confidence": 0.95}
    assert saved["metrics"]["pope.accuracy"]["bootstrap_differs"] == acc["bootstrap_differs"]
    said = " ".join(caplog.text.split())
    assert "pope's two runs bootstrapped otherwise (cluster_by: 'item' in A" in said
    assert "A's units joined with B's" in said
    assert "bootstrapped otherwise" in (tmp_path / "c" / "compare.html").read_text()
    # the same setting in both: A's units, as before (B's finer units join nothing)
    same = halluscope.compare([b, a], n_boot=200).metrics["pope.accuracy"]
    assert same["clusters"] == 12
    alone = halluscope.compare([b, b], n_boot=200).metrics["pope.accuracy"]
    assert "bootstrap_differs" not in alone and alone["clusters"] == 12


def test_joined_units_keep_a_units_names_where_b_is_finer():
    from halluscope.compare_runs import joined_units
    a = {"k1": ([1.0], "image:1", {}), "k2": ([1.0], "image:1", {}), "k3": ([0.0], "image:2", {})}
    finer = {"k1": ([1.0], "item:1", {}), "k2": ([1.0], "item:2", {}), "k3": ([0.0], "item:3", {})}
    assert joined_units(["k1", "k2", "k3"], a, finer) == ["image:1", "image:1", "image:2"]
    coarser = {k: (v[0], "model:m", {}) for k, v in a.items()}
    assert joined_units(["k1", "k2", "k3"], a, coarser) == ["image:1+image:2"] * 3
