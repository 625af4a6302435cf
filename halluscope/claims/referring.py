"""The object a referring prompt asks a model to locate: MiniGPT-v2's ``[refer]`` task.

MiniGPT-v2 answers a referring prompt with the box alone: asked ``[refer] cup`` (or ``[refer]
give me the location of <p>the left cup</p>``, as its RefCOCO evaluation asks), it writes
``{<28><4><69><71>}``, and the answer names no object. The prompt does: :func:`referred_phrase`
reads it, and :func:`label_from_prompt` gives it to each cited box whose object the answer
itself did not name (a label the answer writes, ``<p>cup</p>{<..>}`` or prose, is kept). Such a
box says so (``label_from="prompt"``): items.jsonl lists its ``label_source`` as ``prompt`` and
the report marks its object "from the prompt", so a verdict on an object the answer never
named is not read as the answer's own.

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


def label_from_prompt(boxes: Sequence[Any], prompt: Any) -> list[Any]:
    """``boxes`` (cited boxes), each whose object the answer did not name labelled with the
    phrase its ``[refer]`` prompt asks for (:func:`referred_phrase`); unchanged otherwise."""
    if not any(b.label is None for b in boxes):
        return list(boxes)
    phrase = referred_phrase(prompt)
    if phrase is None:
        return list(boxes)
    return [dataclasses.replace(b, label=phrase, label_written=None, label_from="prompt")
            if b.label is None else b for b in boxes]
