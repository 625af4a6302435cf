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
