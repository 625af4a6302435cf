"""Parsers of model text are total, bounded and linear: hostile responses never crash an audit.

Property tests (hypothesis) feed arbitrary and pathological text to every parser and check the
result type; regression tests replay the inputs that once crashed or stalled an audit.
"""

from __future__ import annotations

import json
import time

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from halluscope.claims.citations import (CitedBox, CitedRegion, PageCitation,  # noqa: E402
                                         page_number, parse_cited_boxes, parse_cited_regions,
                                         parse_page_citations)
from halluscope.jsonblobs import json_blobs, walk_dicts  # noqa: E402
from halluscope.judges.parsers import (Parsed, parse_claims_json, parse_verdict_json,  # noqa: E402
                                       parse_verdict_line, parse_yes_no_word)
from halluscope.metrics.pope_parsers import get_parser  # noqa: E402

PIECES = ["[", "]", "{", "}", '"', "\\", ",", ":", "p. ", "page ", "pp. ", "region ", "[R",
          "<box>", "</box>", "<ref>", "</ref>", "<|box_start|>", "<|box_end|>", "```json\n",
          "```", ".", "...", "!", "\n\n", " ", "-", "–", "²", "٣", "9" * 50, "1e999",
          '{"page": ', '{"bbox": [', '"quote": "', "yes", "No", "hallucinated", "supported"]
hostile = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.lists(st.sampled_from(PIECES), max_size=80).map("".join),
    st.builds(lambda p, n: p * n, st.sampled_from(PIECES), st.integers(0, 3000)),
)
FAST = settings(deadline=2000, max_examples=150)


@FAST
@given(hostile)
def test_region_parsers_are_total(text):
    boxes = parse_cited_boxes(text)
    regions = parse_cited_regions(text, known=["dog", "cat"])
    assert all(isinstance(b, CitedBox) for b in boxes)
    assert all(isinstance(r, CitedRegion) for r in regions)


@FAST
@given(hostile)
def test_page_parser_is_total(text):
    cites = parse_page_citations(text)
    assert all(isinstance(c, PageCitation) and all(isinstance(p, int) for p in c.pages)
               for c in cites)


@FAST
@given(hostile)
def test_json_finder_is_total(text):
    for value, start, end in json_blobs(text):
        assert 0 <= start <= end <= len(text)
        assert all(isinstance(d, dict) for d in walk_dicts(value))


@FAST
@given(hostile)
def test_judge_parsers_are_total(text):
    for parse in (parse_verdict_json, parse_verdict_line, parse_yes_no_word, parse_claims_json):
        assert isinstance(parse(text), Parsed)


@FAST
@given(hostile)
def test_pope_parsers_are_total(text):
    for name in ("original", "opera", "vlmevalkit", "lmms-eval", "strict"):
        assert isinstance(get_parser(name)(text), str)


@settings(deadline=5000, max_examples=60)
@given(hostile)
def test_chair_tokeniser_is_total(text):
    from halluscope.metrics.chair_text import token_spans, word_tokenizer
    tokens = word_tokenizer()(text)
    assert isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
    assert len(token_spans(text, tokens)) == len(tokens)


@pytest.mark.parametrize("text", ["[" * 100_000, "```json\n" + "[" * 100_000 + "```",
                                  '{"page": "²"}', "p. " + "5" * 5_000, "p. " + "5" * 5_000 + ".",
                                  '{"bbox": [' + "9" * 4000 + ', 1, 2, 3]}',
                                  '"\\"' * 50_000, "." * 200_000 + "x", "<ref>a</ref> " * 20_000,
                                  "<box>" * 50_000, "p. 1 " * 40_000, "\n" * 100_000])
def test_hostile_responses_parse_quickly(text):
    t = time.perf_counter()
    assert isinstance(parse_cited_boxes(text, known=["dog"]), list)
    assert isinstance(parse_cited_regions(text, known=["dog"]), list)
    assert isinstance(parse_page_citations(text), list)
    for parse in (parse_verdict_json, parse_verdict_line, parse_yes_no_word, parse_claims_json):
        assert isinstance(parse(text), Parsed)
    assert time.perf_counter() - t < 20


def test_page_numbers_are_plain_and_capped():
    assert page_number("12") == 12 and page_number(7) == 7
    assert page_number("²") is None and page_number("5" * 5000) is None
    assert page_number(True) is None and page_number(10**9) is None
    # a JSON page value that is no page number is kept as unread (the record is listed as
    # bad), not dropped: dropped, the record's made-up quote went uncounted
    assert [(c.pages, c.unread) for c in parse_page_citations('{"page": "²"}')] == [
        ((), ('"²"',))]
    assert parse_page_citations("p. " + "5" * 5000) == []
    assert [c.pages for c in parse_page_citations('{"page": "3", "quote": "x"}')] == [(3,)]


def test_linear_in_length():
    """Ten times the text costs about ten times the time, not a hundred."""
    def once(n):
        text = ("The dog [R1] sits at [1, 2, 3, 4] (p. 2). \"quoted text\" ... " * n)
        t = time.perf_counter()
        parse_cited_boxes(text, known=["dog"])
        parse_cited_regions(text, known=["dog"])
        parse_page_citations(text)
        return time.perf_counter() - t

    def cost(n):        # the best of three: a busy machine slows runs, never speeds them up
        return min(once(n) for _ in range(3))
    small, big = cost(300), cost(3000)
    # linear: ~10x; quadratic would be ~100x. The margin absorbs a loaded CI machine.
    assert big < 40 * max(small, 1e-3)


def test_deep_brackets_through_the_cli(tmp_path):
    """100,000 '[' (and a 5,000-digit page) in responses through ``halluscope audit --metric
    region --metric page``: the run finishes and the good records are scored."""
    import shutil
    from pathlib import Path

    import subprocess
    import sys
    data = Path(__file__).resolve().parents[1] / "data"
    (tmp_path / "docs").mkdir()
    shutil.copy(data / "docs" / "report.pdf", tmp_path / "docs")
    region = {"id": "ok-region", "task": "vqa", "response": "The dog [R1] is here.",
              "metadata": {"regions": [{"id": 1, "box": [0, 0, 5, 5], "label": "dog"}]}}
    page = {"id": "ok-page", "task": "document", "document": "docs/report.pdf",
            "response": "Revenue reached 4,210 units (p. 1)."}
    records = [{**region, "id": "deep-region", "response": "[" * 100_000}, region,
               {**page, "id": "deep-page", "response": "[" * 100_000}, page,
               {**page, "id": "digits-page", "response": "p. " + "5" * 5_000},
               {**page, "id": "sup-page", "response": '{"page": "²"}'}]
    path = tmp_path / "outputs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    proc = subprocess.run([sys.executable, "-m", "halluscope", "audit", str(path), "--metric",
                           "region", "--metric", "page", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    items = {i["id"]: i for i in map(json.loads, (tmp_path / "run" / "items.jsonl").open())}
    assert set(items) == {r["id"] for r in records}
    assert "region" in items["ok-region"] and "page" in items["ok-page"]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "region" in json.dumps(results) and "page" in json.dumps(results)


def test_long_caption_report_is_linear_and_truncated(tmp_path):
    """A 500 KB caption with hundreds of mentions: report.html costs at most a small multiple of
    scoring the same audit, and shows the response truncated with a marker and the full text."""
    import random

    from halluscope.metrics.chair import ChairMetric
    from halluscope.api import audit
    from halluscope.report.html import write_report

    rng = random.Random(0)
    filler = "the a big small red blue scene with near under over and very some".split()
    words, n_mentions, length = [], 0, 0
    while length < 500_000:
        if rng.random() < 0.01:
            words.append(rng.choice(["dog", "cat", "sofa", "bus"]))
            n_mentions += 1
        else:
            words.append(rng.choice(filler))
        length += len(words[-1]) + 1
    caption = " ".join(words)
    assert len(caption) >= 500_000 and n_mentions >= 200
    records = [{"id": "long", "task": "caption", "image_id": 1, "response": caption},
               {"id": "short", "task": "caption", "image_id": 1, "response": "A cat on a sofa."}]
    t0 = time.perf_counter()
    res = audit(records=records, metrics=[ChairMetric({1: ["cat", "dog"]}, n_boot=0)])
    t1 = time.perf_counter()
    write_report(res, tmp_path / "report.html")
    t2 = time.perf_counter()
    html = (tmp_path / "report.html").read_text()
    assert "… truncated, " in html and "characters more" in html
    assert "<details class=\"fulltext\">" in html
    assert (t2 - t1) < 4 * (t1 - t0) + 0.5, (t1 - t0, t2 - t1)


def test_claim_splitter_refuses_an_oversized_response_per_record():
    from halluscope.claims.splitter import MAX_SPLIT_CHARS, split_claims
    with pytest.raises(ValueError, match="at most"):
        split_claims("a dog " * (MAX_SPLIT_CHARS // 5))


def test_claims_metric_reports_an_oversized_response_as_the_records_error(tmp_path):
    from halluscope.claims.splitter import MAX_SPLIT_CHARS
    from halluscope.errors import RecordError
    from halluscope.records import read_records
    from halluscope.verification import Verifier
    path = tmp_path / "outputs.jsonl"
    path.write_text(json.dumps({"id": "huge", "task": "caption", "image": "x.jpg",
                                "response": "a dog " * (MAX_SPLIT_CHARS // 5)}) + "\n")
    rec, = read_records(path)
    with pytest.raises(RecordError) as err:
        Verifier().split_record(rec)
    assert err.value.location.field == "response"
    # the engine scoring the record names its line (the verifier leaves that to it)
    from halluscope.engines import score_outcomes
    from halluscope.metrics.claims import ClaimsMetric
    (kind, error), = score_outcomes(rec, [ClaimsMetric(config_key="k")])
    assert kind == "error" and error.location.field == "response"
    assert error.location.line == 1 and str(error).startswith(f"{path}:1: ")


def test_truncate_segments_cuts_inside_a_piece_and_counts_the_rest():
    from halluscope.report.itemview import Mark, segment_text, truncate_segments
    text = "a cat " * 10                                  # 60 characters
    segs = segment_text(text, [Mark(2, 5, "mention", "supported"), Mark(20, 30, "claim",
                                                                           "hallucinated")])
    kept, more = truncate_segments(segs, 25)
    assert "".join(s["text"] for s in kept) == text[:25] and more == 35
    assert kept[-1]["cls"] == "claim v-hallucinated" and kept[-1]["text"] == text[20:25]
    assert truncate_segments(segs, 1000) == (segs, 0)
