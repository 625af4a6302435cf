"""A JSON array read element by element, so that a large file never sits in memory whole.

:func:`iter_json_array` takes the decoded lines of a file (from
:func:`halluscope.records.iter_text_lines` with ``errors="surrogateescape"``) and parses one
element at a time with :meth:`json.JSONDecoder.raw_decode` over a buffer that holds little more
than the element being read. Lines are always fed whole, and no JSON token can span a line
break, so a parse error whose position is at the end of the buffer means "read more"; any other
error is a real syntax error, reported with the file line and column where it is. The elements
before it have already been yielded.

An element that contains bytes that are not UTF-8 (inside a string) is yielded as a
:class:`~halluscope.errors.RecordError` naming the line and byte, and the array goes on; so is
one with a raw control character inside a string (a NUL byte), which JSON forbids but which
leaves the element's end plain to find (it is found with ``strict=False``), and one with an
integer longer than Python converts (``int()`` refuses more than 4,300 digits): its end is
found with such integers read as ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from halluscope._json import repeated_key, repeated_key_message
from halluscope.errors import InputError, ReadingStopped, RecordError
from halluscope.textfiles import drop_bom

_DECODER = json.JSONDecoder()
_LENIENT = json.JSONDecoder(strict=False)    # control characters inside strings allowed
_WS = " \t\n\r"
_NOT_WS = re.compile(r"[^ \t\n\r]")


class _Buffer:
    """The unread text of the array, from ``text[at]``, with the file line and column of that
    character. Read text is skipped by moving ``at`` (and dropped only when more is read and
    it is most of the buffer): cutting the buffer after each element copied all that was left
    of it, so a one-line array (``json.dump`` writes one) took time quadratic in its size,
    8 minutes for 11 MB."""

    def __init__(self, lines: Iterator[tuple[int, Any]], name: str):
        self.lines = lines
        self.name = name
        self.text = ""
        self.at = 0            # index in text of the first unread character
        self.line = 1          # file line of text[at]
        self.col = 1           # 1-based column of text[at]
        self.last_line = 0     # file line of the last line appended
        self.eof = False
        self.bad: list[RecordError] = []  # not-UTF-8 lines not yet claimed by an element

    def unread(self) -> int:
        """How many characters are left to read."""
        return len(self.text) - self.at

    def more(self, at_least: int = 1) -> bool:
        """Append whole lines until ``at_least`` characters were added; False at end of file."""
        if self.at and self.at * 2 >= len(self.text):
            self.text, self.at = self.text[self.at:], 0
        added = 0
        while added < at_least:
            try:
                lineno, text = next(self.lines)
            except StopIteration:
                self.eof = True
                return added > 0
            if isinstance(text, tuple):
                text, err = text
                self.bad.append(err)
            if not self.unread():
                self.text, self.at = "", 0
                self.line, self.col = lineno, 1
            self.text += text
            self.last_line = lineno
            added += len(text)
        return True

    def where(self, pos: int) -> tuple[int, int]:
        """File line and column of the unread character ``pos`` (``text[at + pos]``)."""
        end = self.at + pos
        newlines = self.text.count("\n", self.at, end)
        if not newlines:
            return self.line, self.col + pos
        return self.line + newlines, end - self.text.rfind("\n", self.at, end)

    def drop(self, pos: int) -> None:
        """Forget the next ``pos`` unread characters."""
        self.line, self.col = self.where(pos)
        self.at += pos

    def skip_ws(self) -> str:
        """Drop blanks (reading on as needed); the next character, ``""`` at end of file."""
        while True:
            found = _NOT_WS.search(self.text, self.at)
            if found:
                self.drop(found.start() - self.at)
                return found.group()
            self.drop(self.unread())
            if self.eof or not self.more():
                return ""

    def error(self, pos: int, what: str, *, stops: bool = True, tail: str = "") -> RecordError:
        """The syntax error at the unread character ``pos``: a :class:`ReadingStopped` where
        text follows it in the file that is now not read (``stops``), which says about how
        many elements it holds where they can be counted (:meth:`count_after`); a plain bad
        record where the file ends inside the value being read (cut short: nothing after it
        is lost) or after the array's ``]``."""
        line, col = self.where(pos)
        # json's messages end with " at" before the position it adds ("Unterminated string
        # starting at"), which is given here as the line and column
        what = what.removesuffix(" starting at").removesuffix(" at")
        head = f"invalid JSON {self.what} at line {line} column {col}: {what}"
        if not stops:
            return RecordError(head + tail, file=self.name, line=line)
        unread = self.count_after() if self.what == "array" else None
        if unread == 0:     # the array's last element: nothing after it is lost
            return RecordError(f"{head}; no element follows it", file=self.name, line=line)
        rest = (f"about {unread:,} {self.after} after it were not read" if unread is not None
                else f"the rest of the file (the {self.after} after it) was not read")
        err = ReadingStopped(f"{head}; reading stopped here: {rest}",
                             file=self.name, line=line)
        err.unread = unread
        return err

    def count_after(self) -> int | None:
        """The elements after the one that starts at the unread text, counted from the commas
        and brackets of the rest of the file (:class:`_ElementCount`, which reads it to its
        end): ``None`` unless the count found the array's ``]`` outside a string with nothing
        but blanks after it (a broken string or bracket upsets the count)."""
        count = _ElementCount()
        count.feed(self.text[self.at:].encode("utf-8", "surrogateescape"))
        for _, text in self.lines:
            text = text[0] if isinstance(text, tuple) else text
            raw = text.encode("utf-8", "surrogateescape")
            if count.ended:
                count.after_end = count.after_end or bool(raw.strip(_WS_BYTES))
            else:
                count.feed(raw)
        self.eof = True
        if not count.ended or count.after_end or count.in_string:
            return None
        return count.commas

    what = "array"          # what the file holds, and what follows an error, for messages
    after = "elements"


class _Control:
    """Why an element that parsed only with control characters allowed, or with integers
    longer than Python converts read as ``None``, is a bad record."""

    __slots__ = ("line", "why")

    def __init__(self, line: int, why: str):
        self.line, self.why = line, why


def _decoder(strict: bool, long_ints: list[str] | None) -> json.JSONDecoder:
    """The decoder for a try of :func:`_value`: control characters inside strings allowed
    unless ``strict``; with ``long_ints``, an integer longer than Python converts (its
    ``int()`` raises ``ValueError``) is read as ``None`` and its text added to the list, so
    that the element's end is found and the array read on past it."""
    if long_ints is None:
        return _DECODER if strict else _LENIENT

    def parse_int(text: str) -> int | None:
        try:
            return int(text)
        except ValueError:
            long_ints.append(text)
            return None
    return json.JSONDecoder(strict=strict, parse_int=parse_int)


def _too_long(buf: _Buffer, long_ints: list[str], end: int) -> _Control:
    """Why the value that ends at ``text[end]`` is a bad record: the integers ``long_ints``
    (their text) are longer than Python converts; the first is located."""
    from halluscope._json import too_long_digits
    first = long_ints[0]
    found = buf.text.find(first, buf.at, end)
    line, col = buf.where(max(found - buf.at, 0))
    more = f" (and {len(long_ints) - 1:,} more)" if len(long_ints) > 1 else ""
    return _Control(line, f"the integer at line {line} column {col}: "
                          f"{too_long_digits(len(first.lstrip('-')))}{more}")


def _value(buf: _Buffer) -> tuple[Any, int] | RecordError:
    """Parse the value at the start of the buffer: ``(value, end)`` or the syntax error; the
    value is a :class:`_Control` where the element holds a raw control character or an
    integer longer than Python converts (a bad record, and the array goes on after it)."""
    strict, control, long_ints = True, None, None
    while True:
        if long_ints:       # each try reads the element from its start again: its integers
            long_ints.clear()   # were listed by the try before (a second "(and 1 more)")
        try:
            value, end = _decoder(strict, long_ints).raw_decode(buf.text, buf.at)
            if control is None and long_ints:
                control = _too_long(buf, long_ints, end)
            return (value if control is None else control), end - buf.at
        except RecursionError:
            from halluscope._json import TOO_DEEP
            return buf.error(0, TOO_DEEP)
        except ValueError as exc:
            if not isinstance(exc, json.JSONDecodeError):   # a number past Python's digits
                if long_ints is None:       # read again, such integers as None
                    long_ints = []
                    continue
                from halluscope._json import too_long_number
                return buf.error(0, too_long_number(exc))
            pos = exc.pos - buf.at
            if control is None and exc.msg.startswith("Invalid control character"):
                line, col = buf.where(pos)
                control = _Control(line, f"invalid JSON at line {line} column {col}: a "
                                   f"control character (U+{ord(buf.text[exc.pos]):04X}) "
                                   f"inside a string")
                strict = False
                continue
            if buf.text[exc.pos:].strip(_WS) or buf.eof:
                return buf.error(pos, exc.msg, tail=_CUT, stops=not (
                    control is None and _cut_short(buf, exc)))
            if not buf.more(at_least=max(buf.unread(), 4096)):
                return buf.error(pos, exc.msg, stops=False, tail=_CUT)


#: What is left of the file at a parse error when the file ends inside a value: a number, a
#: literal or a ``\\u`` escape cut short (json names where it began).
_PARTIAL = re.compile(r"[-+.eE0-9]{0,40}|t|tr|tru|f|fa|fal|fals|n|nu|nul|N|Na|I|In|Inf|Infi"
                      r"|Infin|Infini|Infinit|-I|-In|-Inf|-Infi|-Infin|-Infini|-Infinit"
                      r"|u[0-9a-fA-F]{0,3}")


_CUT = "; the file ends inside this value (cut short?)"


def _cut_short(buf: _Buffer, exc: json.JSONDecodeError) -> bool:
    """Whether the parse error ``exc`` is the file ending inside the value (a file cut short:
    nothing after it is lost), not a syntax error with text after it: a string that runs to
    the end (json says it only then: a line end inside it is another error), or a token cut
    short at the end, with nothing but blanks left in the file."""
    rest = buf.text[exc.pos:].strip(_WS)
    if not (exc.msg.startswith("Unterminated string") or _PARTIAL.fullmatch(rest)):
        return False
    while not buf.eof:
        size = len(buf.text)
        if buf.more() and buf.text[size:].strip(_WS):
            return False
    return True


def iter_json_array(lines: Iterator[tuple[int, Any]], name: str
                    ) -> Iterator[tuple[int, Any | RecordError]]:
    """Yield ``(element_number, element_or_error)`` for the JSON array in ``lines``."""
    for n, _, item in iter_json_elements(lines, name):
        yield n, item


def iter_json_elements(lines: Iterator[tuple[int, Any]], name: str
                       ) -> Iterator[tuple[int, int | None, Any | RecordError]]:
    """Yield ``(element_number, file_line, element_or_error)`` for the JSON array in
    ``lines``: the line where the element starts (an error's own line for an error)."""
    for n, item in _elements(lines, name):
        if isinstance(item, RecordError):
            yield n, item.location.line, item
        else:
            yield n, item[0], item[1]


def _elements(lines: Iterator[tuple[int, Any]], name: str
              ) -> Iterator[tuple[int, tuple[int, Any] | RecordError]]:
    buf = _Buffer(lines, name)
    if buf.skip_ws() != "[":
        yield 1, buf.error(0, "expected '['")
        return
    buf.drop(1)
    if buf.skip_ws() == "]":
        buf.drop(1)
        yield from _trailing(buf, 0)
        return
    n = 0
    while True:
        if buf.skip_ws() == "":
            yield n + 1, buf.error(0, "expected a value, got the end of the file", stops=False)
            return
        start_line = buf.line
        parsed = _value(buf)
        if isinstance(parsed, RecordError):
            parsed.element = n + 1      # (its line may hold many: a one-line array's do)
            yield n + 1, parsed
            return
        n += 1
        yield n, _taken(buf, parsed, start_line, f"element {n}")
        sep = buf.skip_ws()
        if sep == "]":
            buf.drop(1)
            yield from _trailing(buf, n)
            return
        if sep != ",":
            got = "the end of the file" if sep == "" else repr(sep)
            err = buf.error(0, f"expected ',' or ']' after element {n}, got {got}",
                            stops=sep != "")
            if sep != "":       # (the element that starts there, which was not read)
                err.element = n + 1
            yield n + 1, err
            return
        buf.drop(1)


def _taken(buf: _Buffer, parsed: tuple[Any, int], start_line: int, label: str
           ) -> tuple[int, Any] | RecordError:
    """``(start_line, value)`` of the value just parsed at the buffer's start (``parsed``:
    :func:`_value`'s), which is then dropped, or the bad record it is: it spans a line that is
    not UTF-8, holds a raw control character in a string, or repeats a key. ``label`` names
    it in the message (``element 3``)."""
    value, end = parsed
    end_line = buf.where(end - 1)[0]
    name = buf.name
    bad = [e for e in buf.bad if start_line <= (e.location.line or 0) <= end_line]
    buf.bad = [e for e in buf.bad if (e.location.line or 0) > end_line]
    key = None if isinstance(value, _Control) else repeated_key(
        buf.text[buf.at:buf.at + end], value)
    buf.drop(end)
    if bad:
        return RecordError(f"{label}: line {bad[0].location.line} is {bad[0].message}",
                           file=name, line=bad[0].location.line)
    if isinstance(value, _Control):
        return RecordError(f"{label}: {value.why}", file=name, line=value.line)
    if key is not None:
        return RecordError(f"{label}: {repeated_key_message(key)}", file=name, line=start_line,
                           field=key)
    return start_line, value


def _trailing(buf: _Buffer, n: int) -> Iterator[tuple[int, RecordError]]:
    """Text after the array's ``]``: a bad record; where it opens a second array or object
    (``[...][...]``, two dumps in one file) the records in it are not read, so the reading
    stopped there as at a syntax error (the audit fails: they are in no number)."""
    got = buf.skip_ws()
    if got in ("[", "{"):
        line, col = buf.where(0)
        what = "array" if got == "[" else "object"
        err = ReadingStopped(f"invalid JSON array at line {line} column {col}: a second "
                             f"{what} follows the array's ']'; reading stopped here: it and "
                             "the rest of the file were not read (a file holds one JSON "
                             "array; JSON Lines hold one record per line)",
                             file=buf.name, line=line)
        err.element = n + 1     # the second array's first element: the first not read
        yield n + 1, err
    elif got != "":
        yield n + 1, buf.error(0, "expected the end of the file after the array's ']'",
                               stops=False)


# --- counting an array's elements ------------------------------------------------------------

_STRUCTURE = b"[]{},"
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in _STRUCTURE)
_INNER_PAIR = re.compile(rb"[\[{],*[\]}]")    # an innermost array or object, strings gone
_OPENER = re.compile(rb"[\[{]")
_CLOSER = re.compile(rb"[\]}]")
_COUNT_BLOCK = 1 << 20
_WS_BYTES = _WS.encode()


class _ElementCount:
    """The running count of :func:`count_array_elements`: the commas between the array's
    elements seen so far, with what is needed to go on in the next block: whether the last
    block ended inside a string, a run of backslashes it ended with, and the brackets opened
    in the element being read (its commas are not counted, so they are not kept)."""

    def __init__(self):
        self.commas = 0
        self.in_string = False
        self.backslashes = b""
        self.open = b""
        self.ended = False
        self.after_end = False      # structure after the array's ']' (:meth:`_Buffer.count_after`)

    def feed(self, block: bytes) -> None:
        block = self.backslashes + block
        cut = len(block.rstrip(b"\\"))
        block, self.backslashes = block[:cut], block[cut:]     # (an escape may go on)
        # escapes stand only inside strings: without them, every '"' starts or ends one
        pieces = block.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')
        outside = pieces[1::2] if self.in_string else pieces[::2]
        if len(pieces) % 2 == 0:
            self.in_string = not self.in_string
        structure = self.open + b"".join(outside).translate(None, _NOT_STRUCTURE)
        while True:
            reduced = _INNER_PAIR.sub(b"", structure)
            if reduced == structure:
                break
            structure = reduced
        opened = _end_or(_OPENER.search(structure), len(structure))
        closed = _end_or(_CLOSER.search(structure), len(structure))
        if closed < opened:         # the array's own ']': what follows is not counted
            self.commas += structure.count(b",", 0, closed)
            self.ended = True
            self.after_end = bool(structure[closed + 1:])
            return
        self.commas += structure.count(b",", 0, opened)
        self.open = structure[opened:].replace(b",", b"")


def _end_or(match: re.Match | None, default: int) -> int:
    return match.start() if match is not None else default


def count_array_elements(fh: Any) -> int | None:
    """The elements of the JSON array in the binary file ``fh`` (its first non-blank byte,
    after a BOM, is ``[``; ``None`` for a file that is not one), counted from its commas and
    brackets outside strings without parsing a value: for progress bars and for sharing the
    elements out to workers (a one-line array was one "record" when lines were counted, and
    ``--workers 2`` ran one process). Counted as :func:`iter_json_elements` yields them in a
    valid array; in a broken one, the reader's bad records say what is wrong."""
    head = fh.read(_COUNT_BLOCK)
    while len(head) < 3 and (block := fh.read(_COUNT_BLOCK)):
        head += block                   # (a BOM is 3 bytes)
    head = drop_bom(head).lstrip(_WS_BYTES)
    while not head:
        block = fh.read(_COUNT_BLOCK)
        if not block:
            return None
        head = block.lstrip(_WS_BYTES)
    if head[:1] != b"[":
        return None
    head = head[1:].lstrip(_WS_BYTES)
    while not head:
        block = fh.read(_COUNT_BLOCK)
        if not block:
            return 1        # '[' and the end of the file: one bad record says so
        head = block.lstrip(_WS_BYTES)
    if head[:1] == b"]":
        return 0
    count = _ElementCount()
    count.feed(head)
    while not count.ended and (block := fh.read(_COUNT_BLOCK)):
        count.feed(block)
    return count.commas + 1


# --- one object's members ---------------------------------------------------------------------

def iter_object_members(lines: Iterator[tuple[int, Any]], name: str, key: str
                        ) -> Iterator[tuple[int, str | None, int | None, Any | RecordError]]:
    """Yield ``(number, member_key, file_line, value_or_error)`` for each member of the object
    that the JSON object in ``lines`` holds under ``key`` (coco-caption's ``imgToEval``),
    streamed as an array's elements are (:func:`iter_json_elements`); the object's other
    members are parsed and passed over. A syntax error is yielded last, as for an array (with
    ``member_key`` ``None``). Raises :class:`InputError` when the file is a JSON object with
    no object under ``key`` (naming the keys it has)."""
    buf = _Buffer(lines, name)
    buf.what, buf.after = "object", "entries"
    keys: list[str] = []
    n, found = 0, False
    for top in _members(buf):
        if isinstance(top, RecordError):
            yield n + 1, None, top.location.line, top
            return
        keys.append(top)
        if top != key:
            parsed = _value(buf)
            if isinstance(parsed, RecordError):
                yield n + 1, None, parsed.location.line, parsed
                return
            buf.drop(parsed[1])
            continue
        if buf.skip_ws() != "{":
            raise InputError(f"{name}:{buf.line}: expected an object of entries under {key!r}, "
                             f"got {buf.text[buf.at:buf.at + 40]!r}...")
        found = True
        for inner in _members(buf):     # (errors name their entry as an array's element)
            if isinstance(inner, RecordError):
                inner.element = n + 1
                yield n + 1, None, inner.location.line, inner
                return
            start_line = buf.line
            parsed = _value(buf)
            if isinstance(parsed, RecordError):
                parsed.element = n + 1
                yield n + 1, inner, parsed.location.line, parsed
                return
            n += 1
            taken = _taken(buf, parsed, start_line, f"{key}[{json.dumps(inner)}]")
            if isinstance(taken, RecordError):
                taken.element = n
                yield n, inner, taken.location.line, taken
            else:
                yield n, inner, taken[0], taken[1]
    if buf.skip_ws() != "":
        yield n + 1, None, buf.line, buf.error(0, "expected the end of the file after the "
                                                 "object's '}'", stops=False)
    elif not found:
        raise InputError(f"{name}: expected a JSON object holding {key!r}, got one with the "
                         f"keys {', '.join(map(repr, keys[:8])) or 'none'}")


def _members(buf: _Buffer) -> Iterator[str | RecordError]:
    """The key of each member of the object at the buffer's start, the buffer being at the
    member's value when it is yielded (the caller reads the value, or stops); a syntax error
    is yielded last. The object's closing brace is read."""
    if buf.skip_ws() != "{":
        yield buf.error(0, "expected '{'")
        return
    buf.drop(1)
    if buf.skip_ws() == "}":
        buf.drop(1)
        return
    while True:
        if buf.skip_ws() != '"':
            got = buf.text[buf.at:buf.at + 1]
            yield buf.error(0, f"expected a key in double quotes, got "
                               f"{got or 'the end of the file'!r}", stops=bool(got))
            return
        parsed = _value(buf)
        if isinstance(parsed, RecordError) or not isinstance(parsed[0], str):
            yield parsed if isinstance(parsed, RecordError) else buf.error(
                0, "a control character inside a key")
            return
        key, end = parsed
        buf.drop(end)
        if (sep := buf.skip_ws()) != ":":
            yield buf.error(0, f"expected ':' after the key {key!r:.60}", stops=sep != "")
            return
        buf.drop(1)
        if buf.skip_ws() == "":
            yield buf.error(0, "expected a value, got the end of the file", stops=False)
            return
        yield key
        sep = buf.skip_ws()
        if sep == "}":
            buf.drop(1)
            return
        if sep != ",":
            got = "the end of the file" if sep == "" else repr(sep)
            yield buf.error(0, f"expected ',' or '}}' after the value of {key!r:.60}, got {got}",
                            stops=sep != "")
            return
        buf.drop(1)
