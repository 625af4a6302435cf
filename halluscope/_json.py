"""JSON parsing through orjson when it is installed (faster than ``json``), with exactly
``json``'s results: a document orjson refuses is parsed again by ``json`` (which also gives the
error message for invalid JSON; a document nested too deep for it is a ``JSONDecodeError``, not
a ``RecursionError``), and one with a run of 19 or more digits (a possible integer
beyond 64 bits, which orjson would read as a float) goes to ``json`` directly."""

from __future__ import annotations

import contextlib
import gc
import json
import re
import sys
from collections import deque
from collections.abc import Iterator
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a core dependency
    _orjson = None


#: 19 digits in a row: possibly an integer beyond 64 bits, which orjson reads as a float and
#: ``json`` as the exact integer; such documents go to ``json``.
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")
_RUN = "0" * 19
_TO_ZERO = str.maketrans("123456789", "000000000")
_TO_ZERO_BYTES = bytes.maketrans(b"123456789", b"000000000")


def _has_long_digits(data: str | bytes | bytearray) -> bool:
    """Whether ``data`` holds 19 ASCII digits in a row. Every digit becomes ``0`` in a copy, in
    which a substring search finds the run: ten times faster than searching with the regular
    expression, which tries a run at every digit (0.05 s for the 5.5 MB CHAIR ground truth,
    whose keys are all digits). ``str.translate`` is fast for ASCII text only; other text (and
    other bytes-like objects) is searched with the regular expression."""
    if isinstance(data, str):
        if data.isascii():
            return _RUN in data.translate(_TO_ZERO)
        return _LONG_DIGITS.search(data) is not None
    if isinstance(data, (bytes, bytearray)):
        return _RUN.encode() in data.translate(_TO_ZERO_BYTES)
    return _LONG_DIGITS_BYTES.search(data) is not None


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)``, through orjson when it gives the same result."""
    if _orjson is not None:
        if not _has_long_digits(data):
            try:
                return _orjson.loads(data)
            except _orjson.JSONDecodeError as exc:
                # too deep for orjson (1,024 levels) is too deep, whatever recursion limit
                # json would meet in this process (a library may have raised it)
                if str(exc).startswith("depth limit exceeded"):
                    raise json.JSONDecodeError(TOO_DEEP, "", 0) from None
    try:
        return json.loads(data)
    except RecursionError:
        raise json.JSONDecodeError(TOO_DEEP, "", 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:       # an integer longer than Python converts (4,300 digits)
        raise json.JSONDecodeError(too_long_number(exc), "", 0) from None


def try_loads_utf8(data: bytes) -> tuple[bool, Any]:
    """``(True, value)`` where orjson parses the UTF-8 bytes ``data`` to what
    ``loads(data.decode("utf-8"))`` gives (no run of 19 digits, valid JSON, valid UTF-8), with
    no decoded copy of the text; ``(False, None)`` otherwise: the caller decodes and parses it
    as before (its errors, its blank lines)."""
    if _orjson is None or _has_long_digits(data):
        return False, None
    try:
        return True, _orjson.loads(data)
    except _orjson.JSONDecodeError:
        return False, None


#: Why a document nested deeper than Python's JSON parser recurses is not read (orjson stops at
#: 1,024 levels, ``json`` at the interpreter's recursion limit, about 1,000).
TOO_DEEP = ("expected JSON nested at most about 1,000 brackets deep, got deeper nesting "
            "(Python's JSON parser cannot read it)")


def too_long_number(exc: ValueError) -> str:
    """Why a document holding an integer longer than Python converts is not read (the
    ``ValueError`` ``json`` raises for it stopped the audit as an internal error)."""
    found = re.search(r"has (\d+) digits", str(exc))
    return too_long_digits(int(found.group(1)) if found else None)


def too_long_digits(digits: int | None) -> str:
    """Why an integer of ``digits`` digits (``None``: not known) is not read."""
    got = f"one of {digits:,} digits" if digits is not None else "a longer one"
    return (f"expected numbers of at most {sys.get_int_max_str_digits():,} digits (Python's "
            f"limit on converting an integer's text), got {got}")


def dumps_finite(obj: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` up to spacing, through orjson, for data the caller
    knows holds no NaN or infinity (orjson writes those as ``null``) and only string keys."""
    if _orjson is None:   # pragma: no cover - orjson is a core dependency
        return json.dumps(obj, ensure_ascii=False)
    return _orjson.dumps(obj).decode("utf-8")


@contextlib.contextmanager
def gc_paused(*, long_lived: bool = False) -> Iterator[None]:
    """Garbage collection off for a block that builds many small containers and no cycles
    (parsing a large JSON document and converting it): Python's collector would otherwise
    rescan the growing document again and again, which costs more than the parsing itself.

    ``long_lived``: what the block built is kept for the rest of the run (a ground truth).
    When the block ends without an error, every tracked object is moved to the collector's
    oldest generation (``gc.freeze()`` then ``gc.unfreeze()``), so that the first young
    collection after the block does not scan it all (0.03-0.05 s for the 120k lists of the
    CHAIR ground truth); cyclic garbage is still collected, by the next full collection. Not
    done when something else has frozen objects (``gc.unfreeze()`` would undo it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if long_lived and gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
    finally:
        if was_enabled:
            gc.enable()


def unencodable(value: Any, path: str = "") -> tuple[str, str, int] | None:
    """``(path, character, index)`` of a string inside ``value`` (dict keys included) that no
    UTF-8 file can hold, the shallowest first: a lone surrogate, which ``json`` reads from a
    ``\\ud83d`` escape (orjson refuses it); ``None`` when there is none. ``path`` names where
    it is (``metadata.note``, ``regions[2]``) below the ``path`` given for ``value``.
    Breadth first, without recursion: a value nested as deep as a JSON parser reads is fine."""
    queue = deque([(path, value)])
    while queue:
        where, item = queue.popleft()
        if type(item) is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    return where, item[exc.start], exc.start
        elif isinstance(item, dict):
            for key, inner in item.items():
                if type(key) is str and key.isascii() and (
                        inner is None or type(inner) in _SCALARS or
                        type(inner) is str and inner.isascii()):
                    continue                    # the common case, without a path made
                name = f"{where}.{key}" if where else str(key)
                queue.append((name, key))
                queue.append((name, inner))
        elif isinstance(item, (list, tuple)):
            queue.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))
    return None


_SCALARS = (int, float, bool)


#: The end of a JSON key (its closing quote, blanks, the colon); text inside a string can match
#: too (an escaped quote before a colon), never fewer times than there are keys.
_KEY_END = re.compile(r'"\s*:')


def _n_keys(value: Any) -> int:
    """How many keys the dicts inside ``value`` hold together (without recursion)."""
    n, stack = 0, [value]
    while stack:
        item = stack.pop()
        inner = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict):
            n += len(item)
        stack.extend(v for v in inner if isinstance(v, (dict, list)))
    return n


def repeated_key(text: str | bytes, value: Any) -> str | None:
    """The first key that an object of the JSON document ``text`` (parsed as ``value``) holds
    more than once, ``None`` when none does. A parser keeps a repeated key's last value and
    drops the others without a word, so a reader refuses such a line rather than score a value
    the file also contradicts. Cheap in the common case: every key is followed by a colon, so
    a document with no more colons (a C-speed count), or key ends (:data:`_KEY_END`), than
    ``value`` has keys repeats none; otherwise it is parsed again, keeping every pair."""
    if not isinstance(value, (dict, list)):
        return None
    colons = text.count(b":" if isinstance(text, (bytes, bytearray)) else ":")
    if isinstance(value, dict) and colons <= len(value):   # the top level alone: a flat line
        return None
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    n = _n_keys(value)
    if colons <= n or len(_KEY_END.findall(text)) <= n:
        return None
    found: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if not found and len(set(keys)) < len(keys):
            found.append(next(k for i, k in enumerate(keys) if k in keys[:i]))
        return dict(pairs)
    try:
        json.loads(text, object_pairs_hook=pairs_hook)
    except (ValueError, RecursionError):    # parsed once already; nothing more to say here
        return None
    return found[0] if found else None


def repeated_key_message(key: str) -> str:
    """What a reader says of a line or array element that holds ``key`` more than once."""
    return (f"expected each key once in an object, got {key!r} more than once (JSON readers "
            f"keep only its last value)")


def writable(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\ud83d``), for messages."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps_utf8(value: Any, **kwargs: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, **kwargs)`` that a UTF-8 file (or SQLite) can
    hold: a lone surrogate in a string (a model's answer cut inside an emoji, sent as JSON's
    ``\\ud83d`` escape) is written as that escape, which reads back as the same string, where
    writing it raised ``UnicodeEncodeError`` and ended the run. Surrogates occur only inside
    JSON strings, where the escape is valid JSON."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return text if text.isascii() else writable(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the replacement character), for
    text halluscope reads and then writes in pieces, such as a judge's answer: its reason and
    raw text went into every output of the audit, none of which UTF-8 can write with one."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


__all__ = ["dumps_finite", "dumps_utf8", "gc_paused", "loads", "repeated_key", "try_loads_utf8",
           "repeated_key_message",
           "unencodable",
           "without_surrogates", "writable"]
