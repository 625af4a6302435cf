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


# --- coco-caption's evaluation layout ---------------------------------------------------------

import pytest  # noqa: E402
from conftest import shared_data_dir  # noqa: E402

import halluscope  # noqa: E402
from halluscope.errors import InputError, RecordError  # noqa: E402
from halluscope.readers import (count_input_records, detect_format,  # noqa: E402
                                iter_input_records)

_METRICS = {"Bleu_1": 0.7, "Bleu_4": 0.3, "METEOR": 0.25, "CIDEr": 1.1, "ROUGE_L": 0.5}


def _coco_eval(captions, **dump) -> str:
    """``captions`` ((image id, caption) pairs) as self-critical.pytorch's eval_utils writes
    them: ``json.dump({"overall": ..., "imgToEval": {id: {"image_id", "caption", metrics}}})``
    (the int keys written as strings, as json.dump writes every key)."""
    return json.dumps({"overall": dict(_METRICS, SPICE=0.2), "imgToEval": {
        str(i): {"image_id": i, "caption": c, **_METRICS,
                 "SPICE": {"All": {"f": 0.2, "pr": 0.3}}} for i, c in captions}}, **dump)


@pytest.mark.parametrize("indent", [None, 2])
def test_coco_caption_entries_are_records(tmp_path, indent):
    """Each imgToEval entry is one record: its image id as the original reads it (the entry's
    'image_id', an int), its caption, the metrics and key in metadata; each found on the line
    where it starts. Before, the file was one JSON line with no answer ('found no response'),
    or, indented, refused whole as 'one JSON object written over several lines'."""
    path = tmp_path / "fc_beam5_test.json"
    path.write_text(_coco_eval([(139, "A man rides a horse."), (285, "A bear in the grass.")],
                               indent=indent))
    assert detect_format(path) == "coco-caption"
    records = list(iter_input_records(path))
    assert [(r.id, r.image_id, r.response, r.task) for r in records] == [
        ("139", 139, "A man rides a horse.", "caption"), ("285", 285, "A bear in the grass.",
                                                           "caption")]
    assert records[0].metadata["coco_eval_key"] == "139"
    assert records[0].metadata["coco_eval"] == _METRICS        # (SPICE's breakdown left out)
    if indent:
        text = path.read_text().splitlines()
        assert [text[r.source.line - 1].strip() for r in records] == ["\"139\": {", "\"285\": {"]
    assert [r.source.index for r in records] == [1, 2]


def test_coco_caption_bad_entries_are_named_by_json_path(tmp_path):
    """A bad entry is listed with the file, its line and JSON path, and why; the others are
    read. Entries the original CHAIR would crash on (no caption, no image_id) or score against
    another image (its key says 140, its image_id 141) are never scored."""
    good = {"image_id": 139, "caption": "A man rides a horse."}
    entries = {"139": good, "140": {"image_id": 141, "caption": "A dog."},
               "142": {"image_id": 142, **_METRICS}, "143": {"caption": "A cat."},
               "144": {"image_id": 144, "caption": None}, "145": "A bird.",
               "146": {"image_id": "abc", "caption": "A cow."}}
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"overall": _METRICS, "imgToEval": entries}, indent=1))
    out = list(iter_input_records(path))
    assert [r.id for r in out if not isinstance(r, RecordError)] == ["139"]
    bad = [(e.location.field, e.location.line, e.record_id) for e in out
           if isinstance(e, RecordError)]
    assert [b[0] for b in bad] == ['imgToEval["140"].image_id', 'imgToEval["142"].caption',
                                   'imgToEval["143"].image_id', 'imgToEval["144"].caption',
                                   'imgToEval["145"]', 'imgToEval["146"].image_id']
    assert all(line is not None and e.location.file == str(path)
               for (_, line, _), e in zip(bad, [e for e in out if isinstance(e, RecordError)]))
    assert [b[2] for b in bad] == ["140", "142", "143", "144", "145", "146"]
    assert count_input_records(path) == 7           # (progress bars, Ray's count check)
    messages = [e.message for e in out if isinstance(e, RecordError)]
    assert "its key '140', got 141" in messages[0]
    assert "adds the caption" in messages[1]


def test_coco_caption_syntax_error_keeps_the_entries_before_it(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text('{"overall": {}, "imgToEval": {"1": {"image_id": 1, "caption": "A dog."}, '
                    '"2": {"image_id": 2 "caption": "A cat."}}}')
    out = list(iter_input_records(path))
    assert out[0].response == "A dog."
    assert isinstance(out[1], RecordError) and "line 1 column" in out[1].message


def test_coco_caption_without_img_to_eval_is_an_input_error(tmp_path):
    path = tmp_path / "captions.json"
    path.write_text(json.dumps({"overall": _METRICS, "imgToEvl": {}}))
    with pytest.raises(InputError, match="expected a JSON object holding 'imgToEval', got one "
                                         "with the keys 'overall', 'imgToEvl'"):
        list(iter_input_records(path, "coco-caption"))


def test_coco_caption_forced_or_gzipped(tmp_path):
    import gzip
    path = tmp_path / "captions.json.gz"
    path.write_bytes(gzip.compress(_coco_eval([(139, "A horse.")]).encode()))
    assert detect_format(path) == "coco-caption"
    assert [r.response for r in iter_input_records(path, "coco-caption")] == ["A horse."]


DATA = shared_data_dir("chair/gt_objects_coco2014.json", "chair/captions/opera",
                       "reference/chair")


@pytest.mark.fidelity
@pytest.mark.skipif(DATA is None, reason="shared data with chair/ not found")
def test_audit_of_a_coco_caption_file_gives_the_original_chair(tmp_path):
    """OPERA's 500 LLaVA-1.5 greedy captions written in coco-caption's layout:
    `halluscope audit captions.json --metric chair --chair-variant original` gives what the
    original CHAIR gives on them (CHAIR_s 0.45, CHAIR_i 0.1278...), caption for caption."""
    lines = (DATA / "chair" / "captions" / "opera" / "llava-1.5_greedy.jsonl").read_text()
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()]
    path = tmp_path / "llava-1.5_greedy.json"
    path.write_text(_coco_eval([(r["image_id"], r["caption"]) for r in rows]))
    ref = json.loads((DATA / "reference" / "chair" / "opera__llava-1.5_greedy.json").read_text())
    result = halluscope.audit(path, metrics="chair", chair_variant="original",
                              gt_objects=DATA / "chair" / "gt_objects_coco2014.json",
                              n_boot=0)
    assert result.get("chair.chair_s").n == 500
    assert result.summary["chair.chair_s"] == pytest.approx(ref["overall"]["CHAIRs"])
    assert result.summary["chair.chair_i"] == pytest.approx(ref["overall"]["CHAIRi"])


# --- which field is the answer ----------------------------------------------------------------

def _lines(tmp_path, rows, name="answers.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return list(iter_input_records(path))


def test_two_different_answers_in_text_and_answer_are_a_bad_record(tmp_path):
    """RLAIF-V's Object HalBench scorer reads 'text' before 'answer'; halluscope read
    'answer': on this line it scored "A cat." where the original scores "A dog on a sofa."."""
    out = _lines(tmp_path, [{"question_id": 0, "prompt": "Describe the image.",
                             "text": "A dog on a sofa.", "answer": "A cat."}])
    assert isinstance(out[0], RecordError), out[0]
    assert out[0].location.field == "answer" and out[0].location.line == 1
    assert "'answer' 'A cat.' and 'text' 'A dog on a sofa.'" in out[0].message
    assert "Object HalBench scorer reads 'text' first" in out[0].message


def test_an_empty_model_answer_beside_a_text_is_a_bad_record(tmp_path):
    """RLAIF-V's MMHal-Bench merge reads 'answer', then 'text', then 'model_answer': an empty
    'model_answer' left from the template beside the answer in 'text' was scored as an empty
    answer; MMHal scores the text."""
    out = _lines(tmp_path, [{"question_id": 0, "question": "What color is the cap?",
                             "model_answer": "", "text": "The cap is yellow."}])
    assert isinstance(out[0], RecordError) and out[0].location.field == "model_answer"


def test_answer_fields_that_agree_or_are_not_answers_are_read(tmp_path):
    """The same text twice ("Assistant:" aside, as the peers strip it), 'text' that is the
    line's question (no prompt beside it), a VLMEvalKit row's 'answer' (the truth): read."""
    out = _lines(tmp_path, [
        {"question_id": 0, "prompt": "Describe it.", "text": "Assistant: A dog.",
         "answer": "A dog."},
        {"question_id": 1, "image": "x.jpg", "text": "Is there a dog?", "label": "yes",
         "answer": "no"},
        {"index": 2, "question": "Is there a dog?", "answer": "Yes", "prediction": "No"},
        {"question_id": 3, "prompt": "Describe it.", "text": "A dog."}])
    assert [(r.response, r.prompt) for r in out] == [
        ("A dog.", "Describe it."), ("no", "Is there a dog?"), ("No", "Is there a dog?"),
        ("A dog.", "Describe it.")]


def test_a_table_with_two_different_answers_is_a_bad_record_too(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("question_id,prompt,text,answer\n0,Describe it.,A dog.,A cat.\n"
                    "1,Describe it.,A dog.,A dog.\n")
    out = list(iter_input_records(path))
    assert isinstance(out[0], RecordError) and out[0].location.line == 2
    assert not isinstance(out[1], RecordError) and out[1].response == "A dog."


def test_a_json_line_starting_with_overall_is_not_taken_for_coco_caption(tmp_path):
    """Only an object whose 'overall' is followed by 'imgToEval' is coco-caption's file."""
    path = tmp_path / "answers.jsonl"
    path.write_text('{"overall": {"score": 3}, "id": 1, "response": "A dog."}\n'
                    '{"overall": {"score": 2}, "id": 2, "response": "A cat."}\n')
    assert detect_format(path) == "jsonl"
    assert [r.response for r in iter_input_records(path)] == ["A dog.", "A cat."]
