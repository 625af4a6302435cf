"""compare's modules keep to the project's 100 columns: a docstring line of 118 in
compare_by_group.worst_group_changes (and two in compare_groups) ran past it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "halluscope"


def test_compare_modules_stay_within_100_columns():
    files = [ROOT / "comparison.py", *sorted(ROOT.glob("compare_*.py"))]
    wide = [f"{p.name}:{n}: {len(line)}" for p in files
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if len(line) > 100]
    assert not wide, "wrap these: " + "; ".join(wide)
