"""Release gates on halluscope's sample data: ``pytest examples/``.

The sample outputs (``data/outputs.jsonl``) contain deliberate hallucinations: a laptop next to
the astronaut, a dog beside Chelsea the cat, cake beside the coffee, cars and a bird at the launch
pad, and POPE answers that say yes to absent objects. The gates below pass on them, except the two
named ``..._fails_on_sample``, which are strict on purpose so that you can see what a failure
tells you: the metric, its confidence interval, the bound compared, the threshold and the worst
items with their evidence.

Settings (which outputs, which metrics, the baseline file) are in ``examples/pytest.ini``.
"""

import pytest


def test_captions_hallucinate_less_than_half_the_objects(halluscope_audit):
    # CHAIR_i: hallucinated object mentions / all object mentions (lower is better)
    halluscope_audit.assert_below("chair.chair_i", 0.5)


def test_pope_f1_is_at_least_0_6(halluscope_audit):
    # POPE F1 of the yes/no answers (higher is better)
    halluscope_audit.assert_above("pope.f1", 0.6)


@pytest.mark.halluscope(metric="chair.chair_s", max_rate=0.95)
def test_even_the_pessimistic_caption_rate_is_below_0_95(halluscope_audit):
    # The marker checks after the test body: CHAIR_s (captions with at least one hallucinated
    # object) must be at most 0.95. On a real set, bound="upper" gates the interval's upper end;
    # the sample's four images are too few clusters for an interval (10 are needed).
    pass


def test_no_regression_against_the_baseline(halluscope_audit):
    # Compared with examples/halluscope-baseline.json; worse by more than 0.02 fails.
    halluscope_audit.assert_no_regression("chair.chair_i", tolerance=0.02)
    halluscope_audit.assert_no_regression("pope.f1", tolerance=0.02)


def test_strict_gate_fails_on_sample(halluscope_audit):
    # Deliberately fails: a gate on the upper bound asks the data to prove that at most 5% of
    # object mentions are invented, and captions of four images cannot prove anything: there is
    # no interval at all (fewer than 10 images), and the failure says so.
    halluscope_audit.assert_below("chair.chair_i", 0.05, bound="upper")


@pytest.mark.halluscope(metric="pope.precision", min_value=0.9, bound="lower")
def test_strict_pope_gate_fails_on_sample(halluscope_audit):
    # Deliberately fails: the sample model says yes to a laptop and a bed that are not there.
    pass
