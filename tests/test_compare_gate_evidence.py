"""Diff gates of ``halluscope compare``: specs checked before anything is written, and no gate
passing on a comparison that paired too few of the runs' items."""

from typer.testing import CliRunner

from halluscope.cli import EXIT_USAGE, app

from tests.test_compare import _rows, _run


def test_a_bad_diff_gate_name_writes_nothing(tmp_path):
    a = _run(tmp_path, "a", _rows(right_images=set(range(1, 16))))
    b = _run(tmp_path, "b", _rows(right_images=set(range(1, 11))))
    out = CliRunner().invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "c"), "-q",
                                   "--bootstrap", "50", "--fail-above", "diff.pope.nope=0"])
    assert out.exit_code == EXIT_USAGE, out.output
    assert "pope.nope" in out.output
    assert not (tmp_path / "c").exists()      # neither compare.json nor compare.html

