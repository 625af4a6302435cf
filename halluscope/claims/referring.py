"""The object a referring prompt asks a model to locate: MiniGPT-v2's ``[refer]`` task.

MiniGPT-v2 answers a referring prompt with the box alone: asked ``[refer] cup`` (or ``[refer]
give me the location of <p>the left cup</p>``, as its RefCOCO evaluation asks), it writes
``{<28><4><69><71>}``, and the answer names no object. The prompt does: :func:`referred_phrase`
reads it, and :func:`label_from_prompt` gives its object (:func:`head_of`: ``the man on the
left`` is a ``man``) to each cited box whose object the answer itself did not name (a label
the answer writes, ``<p>cup</p>{<..>}`` or prose, is kept). Such a box says so
(``label_from="prompt"``): items.jsonl lists its ``label_source`` as ``prompt`` and the report
writes "named by the prompt, not the answer" under its object, so a verdict on an object the
answer never named is not read as the answer's own.

The phrase is the text after ``[refer]`` (up to ``[/INST]`` where the record keeps the chat
template), or the ``<p>...</p>`` phrase in it; the instruction wordings of MiniGPT-v2's
training templates around it are dropped: ``give me the location of X``, ``where is X ?``,
``from this image, tell me the location of X``, ``the location of X is``, ``could you tell me
the location for X ?``, ``where can I locate the X ?``. A prompt without ``[refer]`` names
nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

_REFER = re.compile(r"\[refer\]\s*(?P<ask>.*?)\s*(?:\[/INST\]|</s>|$)", re.IGNORECASE | re.DOTALL)
_PHRASE_TAG = re.compile(r"<p>\s*(.*?)\s*</p>", re.IGNORECASE | re.DOTALL)
_ASKING = re.compile(
    r"^(?:(?:from\s+this\s+image,?\s+|could\s+you\s+|can\s+you\s+|please\s+)?"
    r"(?:give|tell|show)\s+me\s+the\s+location\s+(?:of|for)"
    r"|(?:could|can)\s+you\s+(?:locate|find)|where\s+can\s+i\s+(?:locate|find)"
    r"|where\s+(?:is|are)|(?:locate|find)|(?P<of>the\s+location\s+of))\s+", re.IGNORECASE)
MAX_PHRASE = 120
"""Longest phrase taken as an object's name (characters); a longer one is an instruction."""


def referred_phrase(prompt: Any) -> str | None:
    """The phrase a ``[refer]`` prompt asks to locate (``"[refer] where is the cup ?"`` ->
    ``"the cup"``), or ``None`` (no ``[refer]``, nothing after it, a phrase too long to name
    an object)."""
    if not isinstance(prompt, str) or "[refer]" not in prompt.lower():
        return None
    m = _REFER.search(prompt)
    ask = m.group("ask") if m else ""
    tag = _PHRASE_TAG.search(ask)
    if tag:
        phrase = tag.group(1)
    else:
        asking = _ASKING.match(ask)
        phrase = ask[asking.end():] if asking else ask
        if asking and asking.group("of"):           # "the location of X is"
            phrase = re.sub(r"\s+is\s*[?.:]*\s*$", "", phrase, flags=re.IGNORECASE)
        phrase = phrase.rstrip(" ?.!:")
    phrase = " ".join(phrase.split())
    return phrase if phrase and len(phrase) <= MAX_PHRASE else None


#: Words after which a referring expression qualifies its object rather than names it (where
#: it is, what it wears or does): ``man in red shirt``, ``cat sitting on the table``.
_QUALIFIERS = frozenset("""
    in on at with near behind under beside besides by next from over above below across along
    against between inside outside into onto toward towards to for without among around
    that who which whose where while
    wearing holding sitting standing eating looking walking lying laying riding carrying
    playing talking facing leaning running touching dressed covered partially closest
    nearest furthest farthest""".split())


def head_of(phrase: str) -> str:
    """The object a referring expression names, its qualifiers dropped: ``the man on the
    left`` -> ``man``, ``cat sitting on the table`` -> ``cat``, ``left cup`` kept (the head
    is its last word). The object was read as the last word: the cat's box asked as ``the cat
    sitting on the table`` was judged against the table, hallucinated. A phrase that starts
    with a qualifier (``on the left``) is kept whole."""
    words = phrase.split()
    for k, word in enumerate(words[1:], 1):
        if word.lower().strip(",;") in _QUALIFIERS:
            words = words[:k]
            break
    while len(words) > 1 and words[0].lower() in ("the", "a", "an", "this", "that"):
        words.pop(0)
    return " ".join(words).rstrip(",;")


def label_from_prompt(boxes: Sequence[Any], prompt: Any) -> list[Any]:
    """``boxes`` (cited boxes), each whose object the answer did not name labelled with the
    object its ``[refer]`` prompt asks for (:func:`referred_phrase`, its head:
    :func:`head_of`; the phrase as asked is the ``label_written``); unchanged otherwise."""
    if not any(b.label is None for b in boxes):
        return list(boxes)
    phrase = referred_phrase(prompt)
    if phrase is None:
        return list(boxes)
    head = head_of(phrase)
    written = phrase if phrase != head else None
    return [dataclasses.replace(b, label=head, label_written=written, label_from="prompt")
            if b.label is None else b for b in boxes]
