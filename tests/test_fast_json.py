"""halluscope._json.loads gives exactly json.loads's result (through orjson where it can)."""

from __future__ import annotations

import json

import pytest

from halluscope._json import gc_paused, loads

CASES = ['{"a": 1, "a": 2}', "[NaN, Infinity, -Infinity]", "123456789012345678901234567890",
         '{"question_id": 99999999999999999999}', "9223372036854775807",
         "9223372036854775808", "-9223372036854775809", '"\\ud800"', "1.0000000000000002",
         "-0.0", "1e400", '{"caption": "A dog. \\u00e9", "image_id": 139}', "[]", "null"]


@pytest.mark.parametrize("text", CASES)
def test_same_as_json(text):
    for data in (text, text.encode()):
        got, want = loads(data), json.loads(data)
        assert repr(got) == repr(want)
        assert type(got) is type(want)


def test_invalid_json_raises_jsons_error():
    with pytest.raises(json.JSONDecodeError) as exc:
        loads('{"a": }')
    assert exc.value.colno == 7


def test_gc_paused_restores_the_collector():
    import gc
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_long_digit_runs_found_as_the_regex_finds_them():
    """The translate-and-search test for 19 digits in a row agrees with the regex on random
    text of digits, separators and a non-ASCII digit, as str, bytes, bytearray, memoryview."""
    import random
    import re

    from halluscope._json import _has_long_digits
    rng = random.Random(7)
    regex = re.compile("[0-9]{19}")
    for _ in range(2000):
        n = rng.randrange(0, 60)
        text = "".join(rng.choice("0123456789" * 6 + ',": \u0663é') for _ in range(n))
        if rng.random() < 0.3:
            text = text[:n // 2] + "7" * rng.randrange(17, 21) + text[n // 2:]
        want = regex.search(text) is not None
        raw = text.encode()
        for data in (text, raw, bytearray(raw), memoryview(raw)):
            assert _has_long_digits(data) is want, (data, want)


def test_gc_paused_long_lived_moves_the_block_to_the_oldest_generation():
    """What a long-lived block built is not scanned by the next young collection; the collector
    stays on; objects someone else froze stay frozen."""
    import gc
    gc.collect()
    with gc_paused(long_lived=True):
        kept = [[i] for i in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.is_tracked(kept[0]) and all(o is not kept[0] for o in gc.get_objects(0))
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused(long_lived=True):
            [[i] for i in range(10)]
        # not unfrozen by the block (unfreezing empties the permanent generation; frozen
        # objects that die meanwhile leave it, so the count may drop by a few, never to 0)
        assert 0 < frozen and gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()
