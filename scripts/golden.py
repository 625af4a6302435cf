"""Golden outputs: record what a set of reference audits produce, and compare two recordings.

Refactors are measured: record before the first move, compare after the last.

    python scripts/golden.py record DIR      # runs the audits below, writes DIR/<name>.json
    python scripts/golden.py compare A B     # every difference, key by key; exit 1 if any

The audits: the demo (`data/`), and, when ../shared/data is there, CHAIR `original` on an
OPERA caption file and POPE `original` on both reference answer sets, each of those also with
bad lines put in (`*_bad_lines`: at the start, a few together in the middle, blank ones, and a
last line cut without its line end; written to a fixed folder under the temporary directory),
and the first POPE set without its question ids, aligned by order, clean and with bad and blank
lines.
Each recording holds results.json and items.jsonl with what legitimately changes between runs
removed (run ids, timings, absolute paths, output hashes).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
_VOLATILE = {"run_id", "outputs", "digest", "wall_time_s", "started", "finished"}
BAD_INPUTS = Path(tempfile.gettempdir()) / "halluscope-golden-bad-lines"
_BAD = [b'{"question_id": 1, "answer": "Ye\n', b'{"answer": ["Yes"]}\n', b"\n",
        b'{"answer": "caf\xe9"}\n', b"17\n"]


def _by_order(source: Path, bad: bool) -> Path:
    """POPE answers without their question ids (aligned by order, as evaluate.py aligns
    them); with ``bad``, some replaced by bad lines and blank lines put in (the count of
    answers, blank lines not counted, kept)."""
    lines = [json.dumps({k: v for k, v in json.loads(line).items() if k != "question_id"}
                        ).encode() + b"\n" for line in source.read_bytes().splitlines()]
    if bad:
        middle = len(lines) // 2
        lines[0], lines[middle:middle + 3] = _BAD[0], [_BAD[1], _BAD[3], _BAD[4]]
        lines[middle + 10:middle + 10] = [b"\n", b"  \n"]
        lines[-1] = b'{"answer": "Yes", '
    BAD_INPUTS.mkdir(exist_ok=True)
    out = BAD_INPUTS / f"{source.stem}_by_order{'_bad_lines' if bad else ''}{source.suffix}"
    out.write_bytes(b"".join(lines))
    return out


def _with_bad_lines(source: Path) -> Path:
    """A copy of ``source`` with bad lines put in (the answers and captions all kept)."""
    lines = source.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    lines = ([_BAD[0]] + lines[:middle] + _BAD[1:4] + lines[middle:middle + 5] + [_BAD[4]]
             + lines[middle + 5:] + [b'{"answer": "Yes", '])
    BAD_INPUTS.mkdir(exist_ok=True)
    out = BAD_INPUTS / f"{source.stem}_bad_lines{source.suffix}"
    out.write_bytes(b"".join(lines))
    return out


def _audits() -> dict[str, dict]:
    runs = {"demo": {"inputs": ROOT / "data"}}
    if SHARED.is_dir():
        chair = SHARED / "chair"
        runs["chair_original_llava15_ours"] = {
            "inputs": chair / "captions" / "opera" / "llava-1.5_ours.jsonl", "metrics": "chair",
            "chair_variant": "original", "gt_objects": chair / "gt_objects_coco2014.json"}
        for answers in ("a_clean", "b_verbose"):
            runs[f"pope_original_{answers}"] = {
                "inputs": SHARED / "pope" / "answers" / f"coco_pope_random__{answers}.jsonl",
                "metrics": "pope", "pope_parser": "original",
                "questions": SHARED / "pope" / "coco" / "v3" / "coco_pope_random.json"}
        for name in [n for n in runs if n != "demo"]:
            runs[f"{name}_bad_lines"] = {**runs[name],
                                         "inputs": _with_bad_lines(runs[name]["inputs"])}
        clean = runs["pope_original_a_clean"]
        for bad in (False, True):
            runs[f"pope_original_a_clean_by_order{'_bad_lines' if bad else ''}"] = {
                **clean, "pope_align": "order", "inputs": _by_order(clean["inputs"], bad)}
    return runs


def _clean(value, roots: tuple[str, ...]):
    if isinstance(value, dict):
        return {k: _clean(v, roots) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_clean(v, roots) for v in value]
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root, "<root>")
    return value


def record(folder: Path) -> None:
    import halluscope
    folder.mkdir(parents=True, exist_ok=True)
    roots = (str(ROOT), str(SHARED.resolve()), str(SHARED), str(BAD_INPUTS))
    for name, options in _audits().items():
        options = dict(options)
        with tempfile.TemporaryDirectory() as tmp:
            halluscope.audit(options.pop("inputs"), out=tmp, write_report=False, **options)
            results = json.loads((Path(tmp) / "results.json").read_text())
            with open(Path(tmp) / "items.jsonl", encoding="utf-8") as fh:
                items = [json.loads(line) for line in fh]
        data = _clean({"results": results, "items": items}, roots)
        (folder / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True))
        errors = sum("error" in item for item in items)
        print(f"golden: {name}: {len(items)} items, {errors} with an error")


def _diff(a, b, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'only in B' if k not in a else 'only in A'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}")


def compare(a: Path, b: Path) -> int:
    differences = []
    for f in sorted({p.name for p in a.glob("*.json")} | {p.name for p in b.glob("*.json")}):
        if not (a / f).is_file() or not (b / f).is_file():
            differences.append(f"{f}: missing in {'A' if not (a / f).is_file() else 'B'}")
            continue
        _diff(json.loads((a / f).read_text()), json.loads((b / f).read_text()), f[:-5],
              differences)
    for line in differences[:200]:
        print(line)
    print(f"golden: {len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "record":
        record(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        print(__doc__)
        sys.exit(2)
