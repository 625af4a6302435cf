"""Diff gates of ``halluscope compare``: specs checked before anything is written, and no gate
passing on a comparison that paired too few of the runs' items."""

from typer.testing import CliRunner

from halluscope.cli import EXIT_GATE, EXIT_USAGE, app

from tests.test_compare import _rows, _run


def test_a_bad_diff_gate_name_writes_nothing(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q",
                                   "--bootstrap", "50", "--fail-above", "diff.pope.nope=0"])
    assert out.exit_code == EXIT_USAGE, out.output
    assert "pope.nope" in out.output
    assert not (tmp_path / "c").exists()      # neither compare.json nor compare.html


def test_a_diff_gate_fails_when_less_than_half_the_items_pair(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))        # 60 items
    other = [dict(r, image_id=r["image_id"] + 1000, question_id="x" + r["question_id"])
             for r in _rows(right_images=set(range(1, 11)))]              # other images
    b = _run(tmp_path, "b", other + _rows(right_images={1, 2}, n_images=2))   # 6 pair
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q",
                                   "--bootstrap", "0", "--fail-above", "diff.pope.accuracy=0.9"],
                             env={"COLUMNS": "200"})
    assert out.exit_code == EXIT_GATE, out.output
    assert "6 of A's 60 and B's 66 items" in out.output


def test_a_diff_gate_holds_when_half_the_items_pair(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16)), n_images=20))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 16)), n_images=10))  # 30 of 60
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q",
                                   "--bootstrap", "0", "--fail-above", "diff.pope.accuracy=0.9"])
    assert out.exit_code == 0, out.output
