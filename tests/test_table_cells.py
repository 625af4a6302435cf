"""Tables and peer logs read as written: empty answer cells, JSON-looking text, quotes that
swallow rows, whitespace lines, ``*.GZ`` names, lmms-eval lines that hold no answer.

Every expected value is worked by hand from the few rows written in each test.
"""

import gzip
import json

import pytest

from halluscope.api import audit
from halluscope.errors import RecordError
from halluscope.readers import detect_format, iter_input_records, rows_of
from halluscope.records import Record, is_gzip_name, iter_records, open_binary, open_text

pd = pytest.importorskip("pandas")


def _split(items):
    good = [x for x in items if isinstance(x, Record)]
    bad = [x for x in items if isinstance(x, RecordError)]
    assert len(good) + len(bad) == len(items)
    return good, bad


# --- 12. gzip in any case ---------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".gz", ".GZ", ".Gz"])
def test_gzip_inputs_are_decompressed_whatever_the_case_of_their_suffix(tmp_path, suffix):
    from halluscope.columns import read_record_columns
    lines = b'{"id": "a", "response": "Yes", "label": "yes"}\n' \
            b'{"id": "b", "response": "Yes", "label": "no"}\n'
    path = tmp_path / f"answers.jsonl{suffix}"
    path.write_bytes(gzip.compress(lines))
    assert is_gzip_name(path) and not is_gzip_name(tmp_path / "a.gzip")
    with open_binary(path) as fh:
        assert fh.read() == lines
    with open_text(path) as fh:
        assert fh.readline() == lines.decode().splitlines(True)[0]
    assert detect_format(path) == "jsonl"
    assert [(r.id, r.response) for r in iter_records(path)] == [("a", "Yes"), ("b", "Yes")]
    columns = read_record_columns(path)
    assert columns is not None and columns.column("id") == ["a", "b"]
    # a TP and an FP: accuracy 1/2, precision 1/2
    res = audit(path, metrics="pope", n_boot=0)
    assert res.get("pope.accuracy").value == pytest.approx(0.5)
    assert res.get("pope.precision").value == pytest.approx(0.5)
