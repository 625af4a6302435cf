"""The parse snapshot the claim rules read: every attribute equals spaCy's own, token by token."""

from __future__ import annotations

import pytest

pytest.importorskip("spacy")

from halluscope.claims.parse import load_pipeline, needs_repair, repair  # noqa: E402
from halluscope.claims.tokens import snapshot  # noqa: E402

TEXTS = [
    "A brown dog is sitting on a red sofa next to two small cats.",
    "A man, a woman and two children are standing near a table; they are holding hands.",
    "There is no car in the image.  It is raining.\n\nThe cat, which is black, sleeps.",
    "Un café à côté d'une crème brûlée 🐱 sits on “the mat”, naïvely.",
    "The table has apples, oranges, bananas, two knives, and a bowl of soup.",
    "   leading and trailing spaces   ",
    "Overall, the scene suggests a cozy atmosphere, possibly a family home.",
    "A slice of cake lies on a plate.",
    "A herd of cows grazes in the field.",
    "x",
]


def _same(view, doc, text):
    assert len(view) == len(doc) and view.text == text
    for t, s in zip(view, doc):
        assert (t.i, t.text, t.lower_, t.lemma_, t.pos_, t.tag_, t.dep_, t.idx, len(t)) == \
            (s.i, s.text, s.lower_, s.lemma_, s.pos_, s.tag_, s.dep_, s.idx, len(s))
        assert t.head.i == s.head.i and t.doc is view
        for attr in ("lefts", "rights", "children", "conjuncts", "subtree"):
            assert [x.i for x in getattr(t, attr)] == [x.i for x in getattr(s, attr)], attr
        assert (t.sent.start, t.sent.end) == (s.sent.start, s.sent.end)
        assert [x.i for x in t.sent] == [x.i for x in s.sent]
    assert [(s.start, s.end, s.start_char, s.end_char) for s in view.sents] == \
        [(s.start, s.end, s.start_char, s.end_char) for s in doc.sents]


@pytest.mark.parametrize("text", TEXTS)
def test_snapshot_reads_what_spacy_reads(text):
    doc = load_pipeline()(text)
    _same(snapshot(doc), doc, text)
    _same(snapshot(doc, text, exact_edges=True), doc, text)


@pytest.mark.parametrize("text,fixed", [("A slice of cake lies on a plate.", 1),
                                        ("A herd of cows grazes in the field.", 1),
                                        ("The cake has frosting, making it a treat.", 0)])
def test_snapshot_after_a_repair_and_needs_repair(text, fixed):
    doc = load_pipeline()(text)
    assert needs_repair(snapshot(doc)) is bool(fixed)
    assert repair(doc) == fixed
    _same(snapshot(doc, exact_edges=True), doc, text)
    assert not needs_repair(snapshot(doc, exact_edges=True))


def test_release_breaks_the_links():
    doc = load_pipeline()("A cat sits on a mat.")
    view = snapshot(doc)
    toks = list(view)
    view.release()
    assert len(view) == 0 and view.sents == []
    assert all(t.head is None for t in toks)


def test_empty_doc():
    view = snapshot(load_pipeline()(""))
    assert len(view) == 0 and view.sents == [] and view.text == ""
