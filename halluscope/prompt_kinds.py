"""Whether a prompt asks a yes/no question (split from :mod:`halluscope.records`, which
infers a record's ``task`` by it and re-exports it)."""

from __future__ import annotations

import re

# A yes/no question starts a prompt, a line or follows a template's mark (<image>, [INST], USER:,
# Question:); "can you" asks only with see/spot/find/notice/observe/detect/tell if (not describe)
_YES_NO_WORD = re.compile(
    r"(?:is|are|does|do|was|were|has|have|can(?!\s+you\s+(?!(?:please\s+)?(?:see|spot|find|"
    r"notice|observe|detect|tell(?:\s+me)?\s+(?:if|whether))\b)))\b", re.IGNORECASE)
_QUESTION_MARK = re.compile(r"[\n>\]:][ \t\r\f\v]*")
_ROLE = re.compile(r"\b(?:user|human|question|q)\s*\Z", re.IGNORECASE)


def yes_no_prompt(prompt: str) -> bool:
    """Whether ``prompt`` asks a yes/no question: a question word where a question starts and a
    ``?`` after it (linear in the prompt: a few steps per line or mark before its last ``?``)."""
    last = prompt.rfind("?")
    if last < 0:
        return False
    if _YES_NO_WORD.match(prompt, len(prompt) - len(prompt.lstrip()), last):
        return True
    for mark in _QUESTION_MARK.finditer(prompt, 0, last):
        at = mark.start()
        if (prompt[at] != ":" or _ROLE.search(prompt, max(0, at - 12), at)) and \
                _YES_NO_WORD.match(prompt, mark.end(), last):
            return True
    return False


__all__ = ["yes_no_prompt"]
