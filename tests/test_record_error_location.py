"""RecordError.located: the one place a record's error gets its file:line (the engines)."""

import pickle

from halluscope.errors import RecordError, UnreadableImage
from halluscope.records import Source


def test_located_copies_the_error_to_the_records_place():
    err = RecordError("expected a box, got 3", field="metadata.objects")
    err.record_id = "r7"
    at = err.located(Source("out.jsonl", 4))
    assert type(at) is RecordError and at is not err
    assert str(at) == "out.jsonl:4: field 'metadata.objects': expected a box, got 3"
    assert (at.message, at.location.field, at.record_id) == (err.message, "metadata.objects",
                                                             "r7")
    assert err.location.line is None                  # the original is left as it was
    assert pickle.loads(pickle.dumps(at)).to_dict() == at.to_dict()


def test_an_error_that_names_its_place_keeps_it():
    err = RecordError("question_id 9 appears twice", file="questions.jsonl", line=2)
    assert err.located(Source("out.jsonl", 4)) is err
    only_line = RecordError("element 3 is not an object", line=3)
    assert only_line.located(Source("out.jsonl", 4)) is only_line


def test_an_unreadable_image_stays_one_when_located():
    err = UnreadableImage("not found", path="cat.png")
    at = err.located(Source("out.jsonl", 2))
    assert isinstance(at, UnreadableImage) and at.path == "cat.png"
    assert str(at) == "out.jsonl:2: field 'image': cannot read image cat.png: not found"
