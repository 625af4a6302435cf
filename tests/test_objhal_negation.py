"""Object HalBench's offline rule extractor leaves out the objects an answer denies.

The benchmark's judge prompt asks only for the objects the answer says are shown; before, the
rule extractor took every noun chunk, so "There is no cat, dog or person" made all three
hallucinated (CHAIRs 1.0). The denial rules are the claim splitter's
(halluscope/claims/negation.py, pinned in test_claims_negation.py); hand-worked cases here.
"""

from __future__ import annotations

import pytest

from halluscope.metrics.objhal import ObjhalMetric, ObjhalVocabulary, rule_extractor
from halluscope.records import Record, Source

VOCAB = ObjhalVocabulary.from_lines([
    "person, girl, boy, man, people",
    "dining table, table",
    "sink", "cat, cats", "dog, dogs", "bird, birds",
], source="test")

DENIED = [
    ("There is no cat, dog or person in the image.", ["image"]),
    ("Neither a cat nor a dog is visible.", []),
    ("Cats are not present in this picture.", []),
    ("There is no sign of a cat.", []),
    ("I don't think there is a cat.", []),
    ("The cat is absent.", []),
    ("There is a dog, not a cat.", ["dog"]),
    ("The photo lacks any cats.", ["photo"]),
    ("There are zero cats.", []),
    ("There are no cats or birds.", []),
]

KEPT = [
    ("A man sits at a wooden table with a cat.", ["man", "table", "cat"]),
    ("There is a cat and no dog.", ["cat"]),
    ("A cat sits next to a dog.", ["cat", "dog"]),
    ("The dog is not sleeping.", ["dog"]),
]


def _nlp():
    from halluscope.metrics.objhal import _nlp as load
    try:
        return load()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no spaCy English pipeline: {exc}")


@pytest.mark.parametrize("answer,phrases", DENIED + KEPT)
def test_rule_extractor_leaves_out_denied_objects(answer, phrases):
    assert rule_extractor(_nlp())("Describe the image.", answer) == (phrases, [])


def test_denied_objects_are_not_hallucinated():
    """The bug hunt's answer: a sink shown, a cat, a dog and a person denied (the image has a
    sink only): nothing hallucinated, CHAIRs 0 and CHAIRi 0 over the one mention (sink)."""
    _nlp()
    m = ObjhalMetric({5: ["sink"]}, vocabulary=VOCAB, n_boot=0)
    answer = "The image shows a sink. There is no cat, dog or person in the image."
    item = m.update(Record(id="x", task="vqa", image_id=5, prompt="Describe.", response=answer,
                           source=Source("m", 1)))
    assert item.payload["extracted"] == ["image", "sink", "image"]
    assert item.payload["hallucinated"] == []
    assert item.payload["coco_mentions"] == [["sink", "sink"]]
    res = m.compute().results
    assert res["chairs"].value == 0.0 and res["chairi"].value == 0.0


def test_an_asserted_object_beside_a_denied_one_is_still_scored():
    _nlp()
    m = ObjhalMetric({5: ["sink"]}, vocabulary=VOCAB, n_boot=0)
    item = m.update(Record(id="y", task="vqa", image_id=5, prompt="Describe.",
                           response="There is a cat next to the sink, but no dog.",
                           source=Source("m", 1)))
    assert item.payload["hallucinated"] == [["cat", "cat"]]
    assert m.compute().results["chairi"].value == 1 / 2      # cat / cat, sink


def test_an_answer_over_the_length_limit_is_a_bad_record_before_spacy_runs():
    """Without a limit spaCy parsed any answer whole (about 1 GB per 100k characters): an
    answer longer than CHAIR's and AMBER's limit is that record's error, named by its field,
    and the extractor is never called; one at the limit is scored."""
    from halluscope.errors import RecordError
    from halluscope.metrics.chair_text import MAX_TOKENIZE_CHARS

    seen = []

    def extractor(question, answer):
        seen.append(len(answer))
        return [], []

    m = ObjhalMetric({5: ["sink"]}, vocabulary=VOCAB, n_boot=0, extractor=extractor)
    long = "A sink. " * (MAX_TOKENIZE_CHARS // 8 + 1)
    with pytest.raises(RecordError, match="at most 200,000 characters") as info:
        m.update(Record(id="z", task="vqa", image_id=5, prompt="Describe.", response=long,
                        source=Source("m", 1)))
    assert info.value.location.field == "response" and seen == []
    m.update(Record(id="w", task="vqa", image_id=5, prompt="Describe.",
                    response=long[:MAX_TOKENIZE_CHARS], source=Source("m", 2)))
    assert seen == [len(long[:MAX_TOKENIZE_CHARS].strip())]
