"""A crossed diff gate writes the difference with the digits that keep it from reading as its
threshold: '+0.0000 is above 0' read as if 0 > 0 held."""

from halluscope.gates.diff import diff_gate_failures


def _entry(diff, ci=None):
    return {"diff": diff, "ci": ci, "n_paired": 500, "only_a": 0, "only_b": 0,
            "diff_bounds": [-1.0, 1.0]}


def test_small_difference_is_not_written_as_its_limit():
    metrics = {"metrics": {"chair.chair_i": _entry(0.00003, [-0.00001, 0.000011]),
                           "pope.accuracy": _entry(-0.100004), "pope.f1": _entry(-0.05)}}
    fails = diff_gate_failures(metrics, above={"diff.chair.chair_i": 0,
                                               "diff.chair.chair_i@upper": 0.00001},
                               below={"diff.pope.accuracy": -0.1, "diff.pope.f1": 0})
    assert fails == ["diff.chair.chair_i = +3e-05 is above 0",
                     "diff.chair.chair_i@upper = +1.1e-05 is above 1e-05",
                     "diff.pope.accuracy = -0.100004 is below -0.1",
                     "diff.pope.f1 = -0.0500 is below 0"]


def test_out_that_is_a_file_is_a_usage_error(tmp_path):
    """compare --out FILE said '[Errno 17] File exists: ...' after reading both runs; now the
    flag and what it expects, before any run is read (exit 2)."""
    from typer.testing import CliRunner

    from halluscope.cli import app
    out = tmp_path / "notes.txt"
    out.write_text("mine", encoding="utf-8")
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                   "--out", str(out)])
    assert res.exit_code == 2
    said = " ".join(res.output.replace("│", " ").split())     # the panel wraps it
    assert "expected a folder for compare.json and compare.html, got a file" in said
    assert out.read_text(encoding="utf-8") == "mine"
