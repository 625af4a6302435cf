"""compare's fast paths when it reads items.jsonl give what the checked, general paths give:
the file of a ``source`` as the regular expression reads it, rows as checked value by value,
lines parsed from bytes as from decoded text, and the same errors."""

import math

import pytest

from halluscope.compare_inputs import checked_scores
from halluscope.compare_runs import _SOURCE, _item, source_file
from halluscope.errors import ConfigError


@pytest.mark.parametrize("source", [
    "a.jsonl:12", "/x/y:z/a.jsonl:3", "a.jsonl:3: field 'answer'", "a.jsonl:3: field x:45",
    "<input>:7", "<input>", "a.jsonl", "a.jsonl:", ":5", "a.jsonl:1２", "a:١٢", "a.jsonl:12\n",
    "line\nbreak.jsonl:4", "", "a.jsonl:007"])
def test_source_file_as_the_regex_reads_it(source):
    match = _SOURCE.fullmatch(source)
    expected = match[1] if match and match[1] != "<input>" else None
    assert source_file({"source": source}) == expected


def slow_scores(item):
    """The checks value by value (every row is copied as floats)."""
    out = {}
    for name, score in item["scores"].items():
        row = score["row"]
        for v in row:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ConfigError("bad")
        out[name] = ([float(v) for v in row], score.get("unit"))
    return out


@pytest.mark.parametrize("row", [[0.0, 1.0, 2.5], [1, 2.0], [], [1e308, 1e308], [True, 0.0],
                                 [float("nan"), 0.0], [float("inf")], [1.0, "x"], [10 ** 400]])
def test_checked_scores_fast_and_slow_agree(row):
    item = {"scores": {"m": {"row": row, "unit": "image:1"}}}
    try:
        expected = slow_scores(item)
    except (ConfigError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            checked_scores(item, "f:1", {})
        return
    got = checked_scores(item, "f:1", {})
    assert got == expected
    assert [type(v) for v in got["m"][0]] == [float] * len(row)


def test_checked_scores_fast_path_keeps_width_and_unit_checks():
    widths = {}
    checked_scores({"scores": {"m": {"row": [0.0, 1.0], "unit": None}}}, "f:1", widths)
    assert widths == {"m": (2, "f:1")}
    with pytest.raises(ConfigError, match=r"2 values, as at f:1"):
        checked_scores({"scores": {"m": {"row": [0.0, 1.0, 2.0]}}}, "f:2", widths)
    with pytest.raises(ConfigError, match=r"scores\.m\.unit"):
        checked_scores({"scores": {"m": {"row": [0.0, 1.0], "unit": 3}}}, "f:3", widths)


@pytest.mark.parametrize("raw", [b'{"a": 1}\n', b"\n", b"   \r\n", b'{"n": 12345678901234567890}\n',
                                 "{\"t\": \"caf\u00e9 \U0001f436\"}\n".encode(),
                                 b'{"s": "\\ud83d"}\n', b"\xe3\x80\x80\n"])
def test_item_from_bytes_as_from_text(raw, tmp_path):
    from halluscope import _json as fast_json
    line = raw.decode("utf-8")
    expected = ((fast_json.loads(line) if line.strip() else None), not line.strip())
    assert _item(raw, tmp_path, 1) == expected


def test_item_errors_name_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r":4: expected UTF-8 text, got byte 0xff"):
        _item(b'{"a": "\xff"}\n', tmp_path, 4)
    with pytest.raises(ConfigError, match=r":5: invalid JSON"):
        _item(b'{"a": \n', tmp_path, 5)
