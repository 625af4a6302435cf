"""The README run as written: its Python snippets (the notebook block on the sample,
``split_claims``, comparing two runs), the tables and messages its quick start and compare
example show against what the commands print now, and every relative link of README.md and
docs/ (the file, and the heading an anchor names). Docs drifted in silence before: a table
that left out rows, a notebook view with blank interval cells, paths that named no file."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import halluscope
from conftest import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "data" / "README.md"]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^ *```{lang}\n(.*?)^ *```", README, re.S | re.M)


def _block(lang: str, marker: str) -> str:
    found = [b for b in _blocks(lang) if marker in b]
    assert len(found) == 1, f"expected one ```{lang} block of the README with {marker!r}"
    return found[0]


def _output_after(marker: str) -> str:
    """The plain ``` block (console output) that follows the block holding ``marker``."""
    start = README.index(marker)
    start += re.search(r"^ *```\n", README[start:], re.M).end()    # the end of its block
    return re.search(r"^ *```\n(.*?)^ *```", README[start:], re.S | re.M).group(1)


def _comments(code: str) -> str:
    """The comments of a snippet as one line of text."""
    return " ".join(" ".join(line.split("#", 1)[1].split()) for line in code.splitlines()
                    if "#" in line)


def _numbers(text: str) -> list[str]:
    return re.findall(r"[-+]?\d[\d,]*(?:\.\d+)?", text)


def _table(text: str) -> dict[str, list[str]]:
    """statistic -> the numbers its row shows (value, interval ends, n), from a console
    table as the README shows it or the CLI prints it (rules and headers skipped)."""
    rows = {}
    for line in text.splitlines():
        line = re.sub(r"\(0\.5 ideal: off by [\d.]+\)", "", line).replace("│", " ")
        words = re.sub(r"\s+[↑↓]", "", line).split()
        if len(words) >= 3 and words[0] in ("chair", "pope", "claims"):
            words = words[1:]
        if len(words) >= 3 and re.fullmatch(r"[a-z_0-9]+", words[0]) and _numbers(words[1]):
            rows[words[0]] = _numbers(" ".join(words[1:]))
    return rows


# -- Python ------------------------------------------------------------------------------------
def test_the_python_section_runs_on_the_sample_and_says_what_it_prints(tmp_path, monkeypatch):
    code = _block("python", 'result = halluscope.audit("data/")')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(ROOT / "data")
    scope: dict = {}
    exec(compile(code, "README.md (Python)", "exec"), scope)
    result = scope["result"]
    shown = re.search(r'"chair\.chair_i": ([0-9.]+)', code).group(1)
    assert f"{result.summary['chair.chair_i']:.{len(shown) - 2}f}" == shown
    # "(None on the sample: 4 images are too few clusters; .ci_note says why)"
    images = re.search(r"None on the sample: (\d+) images are too few clusters",
                       _comments(code)).group(1)
    chair_i = result.get("chair.chair_i")
    assert chair_i.ci is None and f"{images} clusters resampled" in chair_i.ci_note
    f1 = result.get("pope.f1")
    assert isinstance(f1.value, float) and f1.why_no_value is None
    written = sorted(p.name for p in (tmp_path / "runs" / "notebook").iterdir())
    listed = re.search(r'result\.save\("runs/notebook"\)\s+# (.*)', code).group(1)
    assert written == sorted(listed.split(", "))
    assert {"id", "response"} <= set(result.items[0]) and result.errors
    view = result._repr_html_()         # each statistic in words, why no interval, the report
    assert "share of object mentions that the ground truth lacks" in view
    assert "no interval: 4 clusters resampled, fewer than 10'>too few clusters<" in view
    assert (tmp_path / "runs" / "notebook" / "report.html").resolve().as_uri() in view


def test_split_claims_returns_the_claims_its_comment_lists():
    code = _block("python", "halluscope.split_claims(")
    text = re.search(r'split_claims\("([^"]+)"\)', code).group(1)
    want = re.findall(r"(\w+)\(([^)]*)\)", _comments(code).split("--")[0])
    claims = halluscope.split_claims(text)
    got = [(c.kind, ", ".join(str(x) for x in {
        "existence": (c.subject,), "attribute": (c.subject, c.value), "count": (c.subject, c.value),
        "relation": (c.subject, c.relation, c.object)}[c.kind])) for c in claims]
    assert got == want
    assert all(c.span and c.node and c.analytic is False for c in claims)


# -- the quick start and compare, run as written -----------------------------------------------
def _run(command: str, shared: Path, out: Path) -> subprocess.CompletedProcess:
    """A README command line run here: the venv's halluscope is this interpreter's, the
    reference data the shared folder, ``--out`` a folder of the test's."""
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[0].endswith("halluscope"), argv
    argv = [sys.executable, "-m", "halluscope",
            *(a.replace("../shared/data", str(shared)) for a in argv[1:])]
    if "--out" in argv:
        argv[argv.index("--out") + 1] = str(out)
    env = {**os.environ, "COLUMNS": "110", "PYTHONPATH": str(ROOT)}
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def _commands(marker: str) -> list[str]:
    """The quick start's commands in the one block holding ``marker`` (``.venv/bin/...``)."""
    (block,) = [b for b in _blocks("bash") if marker in b and ".venv/bin/halluscope" in b]
    return [c for c in re.split(r"(?<!\\)\n", block) if c.strip().startswith(".venv")]


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory):
    shared = shared_data_dir("chair/gt_objects_coco2014.json", "pope/coco/v3")
    if shared is None:
        pytest.skip("shared reference data not found")
    return shared, tmp_path_factory.mktemp("quick")


CHAIR = "gt_objects_coco2014.json --out runs/chair"
POPE = "--pope-parser original --out runs/pope"
GATE = "--quiet --out runs/gate"


@pytest.mark.parametrize("marker", [CHAIR, POPE])
def test_the_quick_start_tables_are_what_the_audits_print(quick_start, marker):
    shared, tmp = quick_start
    (command,) = _commands(marker)
    done = _run(command, shared, tmp / marker.split("/")[-1])
    assert done.returncode == 0, done.stderr
    want = _table(_output_after(marker))
    got = _table(done.stdout)
    assert want and {k: got.get(k) for k in want} == want
    items = re.search(r"^\s*([\d,]+) items audited", _output_after(marker), re.M).group(1)
    assert done.stdout.lstrip().startswith(f"{items} items audited")


def test_the_quick_start_gate_fails_as_shown_and_its_bounds_are_the_intervals(quick_start):
    shared, tmp = quick_start
    (command,) = _commands(GATE)
    done = _run(command, shared, tmp / "gate")
    shown = [line.strip() for line in _output_after(GATE).splitlines()]
    assert done.returncode == int(shown[1]) == 1
    assert done.stderr.strip() == shown[0]
    # "(0.1444 and 0.8486 here: exit 0)": the upper end of chair_i's and the lower of f1's
    ends = re.search(r"\(([\d.]+) and ([\d.]+) here: exit 0\)", README).groups()
    tables = {**_table(_output_after(CHAIR)),
              **{f"pope.{k}": v for k, v in _table(_output_after(POPE)).items()}}
    assert (tables["chair_i"][2], tables["pope.f1"][1]) == ends
    again = _run(command.replace("chair.chair_i=0.12", "chair.chair_i@upper=0.15")
                 .replace("pope.f1=0.8", "pope.f1@lower=0.8"), shared, tmp / "gate2")
    assert again.returncode == 0, again.stderr


def test_the_compare_example_prints_the_readme_table_and_the_python_block_runs(
        quick_start, tmp_path, monkeypatch):
    shared, _ = quick_start
    loop = _block("bash", "for run in llava-1.5_greedy")
    runs = re.search(r"for run in ([^;]+);", loop).group(1).split()
    audit = re.search(r"(halluscope audit .*?-q)\n", loop, re.S).group(1)
    for run in runs:
        done = _run(".venv/bin/" + audit.replace("$run", run), shared, tmp_path / "runs" / run)
        assert done.returncode == 0, done.stderr
    compare = re.search(r"^(halluscope compare .*)$", loop, re.M).group(1)
    done = _run(".venv/bin/" + compare.replace("runs/", f"{tmp_path}/runs/"), shared,
                tmp_path / "runs" / "compare")
    assert done.returncode == 0, done.stderr
    shown = _output_after("for run in llava-1.5_greedy")
    pattern = r"(chair\.\w+)\s+(.*)"
    want = {m[0]: _numbers(m[1]) for m in re.findall(pattern, shown)}
    got = {m[0]: _numbers(m[1]) for m in re.findall(pattern, done.stdout)}
    assert want and got == want
    changed = re.search(r"items that changed verdict: .*", shown).group(0)
    assert changed in done.stdout
    # the Python block on the same two folders
    monkeypatch.chdir(tmp_path)
    code = _block("python", "comparison = halluscope.compare(")
    scope: dict = {"halluscope": halluscope}
    exec(compile(code, "README.md (compare)", "exec"), scope)
    comparison = scope["comparison"]
    entry = comparison.metrics["chair.chair_i"]
    assert [f"{entry['a']:.4f}", f"{entry['b']:.4f}", f"{entry['diff']:+.4f}",
            f"{entry['ci'][0]:+.4f}", f"{entry['ci'][1]:+.4f}", str(entry["n_paired"])] \
        == want["chair.chair_i"][:6]
    frame = comparison.to_pandas()
    assert list(frame["statistic"]) == [k.split(".")[1] for k in want]
    assert frame.loc[frame.statistic == "len", "ci_upper"].round(4).tolist() == [
        float(want["chair.len"][4])]
    assert (tmp_path / "runs" / "compare" / "compare.json").is_file()
    view = comparison._repr_html_()
    assert "chair.chair_i" in view and changed.strip() in view


# -- links --------------------------------------------------------------------------------------
def _anchors(text: str) -> set[str]:
    heads = re.findall(r"^#+\s+(.*)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_and_named_file_of_the_docs_exists(doc):
    text = doc.read_text(encoding="utf-8")
    broken = []
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (doc.parent / path) if path else doc
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md" and anchor not in _anchors(
                target.read_text(encoding="utf-8")):
            broken.append(link)
    # a file of this repository named in backticks: `tests/test_x.py`, `halluscope/metrics/...`
    for name in re.findall(r"`((?:examples|tests|scripts|benchmarks|halluscope|docs|judges|"
                           r"requirements)/[\w./-]+\.\w+)`", text):
        if not (ROOT / name).exists() and not (doc.parent / name).exists():
            broken.append(name)
    assert not broken, f"{doc.name}: links or files that are not there: {broken}"
