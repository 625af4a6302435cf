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
