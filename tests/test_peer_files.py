"""Peers' caption and answer files: coco-caption's evaluation layout (``overall`` +
``imgToEval``, which the original CHAIR and RLAIF-V's Object HalBench scorer read), one-line
JSON arrays, and lines whose answer is in more than one field."""

from __future__ import annotations

import json
import time

from halluscope.records import iter_json_values


def test_a_one_line_json_array_is_read_in_linear_time(tmp_path):
    """``json.dump(list)`` writes an array on one line: each element cut from the buffer copied
    what was left of it, so 20,000 captions (3 MB) took 23 s and 80,000 took 8 minutes."""
    rows = [{"image_id": i, "caption": "A man rides a horse on a beach beside a dog. " * 3}
            for i in range(40_000)]
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(rows))
    start = time.perf_counter()
    read = [obj for _, _, obj in iter_json_values(path)]
    assert time.perf_counter() - start < 10
    assert read == rows
