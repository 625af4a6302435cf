"""What a line of a text input is, for every reader that counts or reads lines, and companion
files read whole.

Lines. A line is what ends at ``\\n`` (as in JSON Lines: a U+2028 or ``\\r`` inside a line is
part of it; ``str.splitlines()`` would split there), numbered from 1. A UTF-8 byte order mark
before the first line is not part of it. A *blank* line holds nothing but whitespace as Python's
``str.strip()`` knows it (Unicode's: U+00A0, U+3000 and the like included); the record reader
skips blank lines, and whatever counts answers or works out an answer's position
(:mod:`halluscope.metrics.pope_answers`, :mod:`halluscope.metrics.positions`) counts with the
same definition, so that the i-th answer read is the i-th answer counted.

Companion files (question files, templates, annotations a metric reads beside the answers):
:func:`read_text_file` and :func:`read_json_file` read them whole as UTF-8 (a leading BOM
accepted, as in every other input) and refuse a file that is not UTF-8 or not JSON with a
:class:`~halluscope.errors.ConfigError` naming the file (and line), never a traceback.

Compressed inputs: :func:`open_binary` and :func:`open_text` un-gzip a file named ``*.gz`` (any
case, :func:`is_gzip_name`); a stream cut short or corrupt raises
:class:`~halluscope.errors.InputError` naming the file.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from halluscope import _json as fast_json
from halluscope.errors import ConfigError, InputError, RecordError

BOM = codecs.BOM_UTF8

#: Every whitespace character but ``\n`` (the line end): what ``str.strip()`` removes. All of
#: Unicode's whitespace lies below U+3001 (tested against the whole range).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace() and c != "\n")



def _blank_line_pattern() -> re.Pattern[bytes]:
    """``\n``, then :data:`WHITESPACE` characters in UTF-8, then ``\n``: the encodings grouped
    by their leading bytes, each group's last bytes one class (a regular expression as fast as
    the ASCII-only one was; 25 alternatives made it three times slower)."""
    groups: dict[bytes, list[bytes]] = {}
    for c in WHITESPACE:
        code = c.encode("utf-8")
        groups.setdefault(code[:-1], []).append(code[-1:])
    parts = [re.escape(lead) + b"[" + b"".join(re.escape(b) for b in sorted(lasts)) + b"]"
             for lead, lasts in sorted(groups.items())]
    return re.compile(b"\n(?:" + b"|".join(parts) + b")*\n")


#: A blank line inside a run of whole lines, as bytes: ``\n``, whitespace only, ``\n``.
BLANK_LINE = _blank_line_pattern()


_SURROGATES = re.compile("[\ud800-\udfff]")


def path_text(path: Any) -> str:
    """A file name as text that any UTF-8 file or terminal can hold: ``str(path)``, except that
    a byte of a name that is not UTF-8 (which Python holds as a lone surrogate, ``cap\udce9``)
    is written as Python writes undecodable bytes, ``cap\\xe9``; writing the name into
    items.jsonl, results.json or the report stopped the audit with an internal error."""
    import os
    text = os.fsdecode(path) if not isinstance(path, str) else path
    if text.isascii() or not _SURROGATES.search(text):
        return text
    return _SURROGATES.sub(lambda m: (f"\\x{ord(m[0]) - 0xDC00:02x}"
                                      if 0xDC80 <= ord(m[0]) < 0xDD00
                                      else f"\\u{ord(m[0]):04x}"), text)


def text_of(value: Any) -> Any:
    """``value`` (JSON-ready data: dicts, lists, strings) with every string made
    :func:`path_text`-safe; the same object where nothing needs it."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, str):
        return path_text(value)
    if isinstance(value, dict):
        # numbers and ASCII keys inline: a results.json with 50,000 groups holds millions
        return {k if type(k) is str and k.isascii() else text_of(k):
                v if type(v) in _PLAIN else text_of(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _PLAIN else text_of(v) for v in value]
    return value


#: Types :func:`text_of` returns as they are (no strings inside).
_PLAIN = frozenset({int, float, bool, type(None)})


def drop_bom(data: bytes) -> bytes:
    """``data`` (a file's first line or first bytes) without a leading UTF-8 BOM."""
    return data[len(BOM):] if data.startswith(BOM) else data


# UTF-32 LE first: its byte-order mark starts with UTF-16 LE's
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
              (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def wide_encoding(head: bytes) -> str | None:
    """``"UTF-16"`` or ``"UTF-32"`` when a file's first bytes show it is written so (a
    byte-order mark, or text whose first two characters each have a NUL byte beside them: what
    Excel's "Unicode Text" and Windows PowerShell's ``>`` write); ``None`` otherwise."""
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    if len(head) >= 4 and (head[1] == head[3] == 0 and head[0] and head[2]
                           or head[0] == head[2] == 0 and head[1] and head[3]):
        return "UTF-16"
    return None


def is_blank(text: str) -> bool:
    """Whether a decoded line is blank (whitespace only, Unicode's included)."""
    return not text.strip()


def is_blank_bytes(raw: bytes) -> bool:
    """Whether a raw line (its BOM already dropped) is blank; a line that is not UTF-8 is not
    (the reader reports it as a bad line, so it counts as one)."""
    try:
        return is_blank(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def is_blank_file(path: str | Path) -> bool:
    """Whether ``path`` (un-gzipped) holds nothing but whitespace, a BOM and line ends: an empty
    input (no header, no rows, no records), as a 0-byte file is. Read until its first other
    character: the first block of any file that holds data."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with open_binary(path) as fh:
        block = drop_bom(fh.read(1 << 16))
        while block:
            if decoder.decode(block).strip():
                return False
            block = fh.read(1 << 16)
    return not decoder.decode(b"", final=True).strip()


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line with its end)`` of ``text``, split at ``\\n`` only."""
    start, lineno = 0, 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield lineno, text[start:end]
        start, lineno = end, lineno + 1


def read_text_file(path: str | Path, what: str) -> str:
    """The text of the companion file ``path`` (``what`` it is, for messages), decoded as
    UTF-8 without a leading BOM; :class:`ConfigError` naming the file when it cannot be read
    or is not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return drop_bom(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}:{line}: expected {what} in UTF-8, got byte "
                          f"0x{data[exc.start]:02x} (at offset {exc.start}), which is not "
                          f"UTF-8: save the file as UTF-8") from None


def read_json_file(path: str | Path, what: str) -> Any:
    """The JSON document of the companion file ``path`` (see :func:`read_text_file`);
    :class:`ConfigError` naming file and line when it is not JSON."""
    text = read_text_file(path, what)
    try:
        return fast_json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: expected {what} as JSON, got invalid JSON: "
                          f"{exc.msg}") from None


__all__ = ["BLANK", "BLANK_LINE", "BOM", "WHITESPACE", "drop_bom", "is_blank", "is_blank_bytes",
           "is_blank_file", "json_line", "json_problem", "not_utf8", "read_json_file", "read_text_file",
           "split_lines"]


class _CheckedGzipFile(gzip.GzipFile):
    """A gzip input whose stream, cut short or corrupt, raises :class:`InputError` naming the
    file, not ``EOFError`` or ``zlib.error`` (command-line tools take an ``EOFError`` for the
    end of input at a prompt, and would report an interrupted run)."""

    def __init__(self, path: Path, fileobj: Any = None):
        super().__init__(path, "rb", fileobj=fileobj)
        if fileobj is not None:
            self.myfileobj = fileobj        # closed with this file, as one it opened is
        self._path = str(path)

    def _checked(self, read, *args):
        try:
            return read(*args)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise gzip_error(self._path, exc) from None

    def read(self, size=-1):
        return self._checked(super().read, size)

    def read1(self, size=-1):
        return self._checked(super().read1, size)

    def readline(self, size=-1):
        return self._checked(super().readline, size)

    def peek(self, n):
        return self._checked(super().peek, n)


def gzip_error(name: str, exc: BaseException) -> InputError:
    """The error for a gzip input that cannot be decompressed to its end."""
    return InputError(f"{name}: expected a complete gzip file, but its compressed stream "
                      f"{'ends early' if isinstance(exc, EOFError) else 'is corrupt'} "
                      f"({exc}); is the file truncated?")


def gunzip(data: bytes, name: str) -> bytes:
    """``gzip.decompress(data)`` of the file ``name``, failing as :class:`_CheckedGzipFile`."""
    try:
        return gzip.decompress(data)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise gzip_error(name, exc) from None


def is_gzip_name(path: str | Path) -> bool:
    """Whether ``path`` is named as gzip-compressed: its suffix is ``.gz`` in any case
    (``.GZ``, ``.Gz``); every reader that un-gzips decides by this one test."""
    return Path(path).suffix.lower() == ".gz"


def open_binary(path: str | Path, hasher: Any = None):
    """Open an input file for reading bytes, un-gzipping ``*.gz`` (any case; a damaged gzip
    stream raises :class:`InputError` naming the file). ``hasher`` (a :mod:`hashlib` object) is
    given the file's bytes as stored, compressed ones too, as they are read."""
    path = Path(path)
    if hasher is None:
        return _CheckedGzipFile(path) if is_gzip_name(path) else open(path, "rb")
    raw = _HashedReader(open(path, "rb"), hasher)
    return _CheckedGzipFile(path, raw) if is_gzip_name(path) else raw


class _HashedReader:
    """A file read in binary whose bytes, as they are read, also go to ``hasher``."""

    def __init__(self, fh: Any, hasher: Any):
        self._fh, self._hasher = fh, hasher

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._hasher.update(data)
        return data

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> _HashedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a UTF-8 text file for reading (a leading BOM is skipped), un-gzipping ``*.gz``
    (any case)."""
    path = Path(path)
    if is_gzip_name(path):
        return io.TextIOWrapper(_CheckedGzipFile(path), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    """Why a raw line is not UTF-8: the first bad byte, counted within the line."""
    return (f"not UTF-8 at byte {exc.start + 1} of the line: expected UTF-8 text, got byte "
            f"0x{raw[exc.start]:02x}")


BLANK = object()
"""What :func:`json_line` gives for a blank line (the reader skips it: no record, no item)."""


def json_line(raw: bytes, lineno: int, name: str) -> Any:
    """One raw line of a JSON-lines file (its BOM dropped when it is the first) as the reader
    reads it: the parsed value, :data:`BLANK`, or a :class:`RecordError` (not UTF-8, not
    JSON). The line-by-line reader and the columnar path's bad lines
    (:mod:`halluscope.column_scoring`) both read lines here."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RecordError(not_utf8(raw, exc), file=name, line=lineno)
    if is_blank(text):        # the same blank lines as every counter
        return BLANK
    try:
        value = fast_json.loads(text)
    except json.JSONDecodeError:
        why = json_problem(text)
        if not raw.endswith(b"\n"):        # (only a file's last line has no line end)
            why += "; it is the file's last line, without a line end: cut short as written?"
        return RecordError(why, file=name, line=lineno)
    key = fast_json.repeated_key(text, value)
    if key is not None:
        return RecordError(fast_json.repeated_key_message(key), file=name, line=lineno,
                           field=key)
    return value


def json_problem(line: str) -> str:
    """Why ``line`` is not JSON, said of the line without its end (the line end the reader
    keeps made an unterminated string read as an 'invalid control character'), with the
    column: ``invalid JSON: Unterminated string starting at column 29``."""
    try:
        fast_json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        if exc.msg == fast_json.TOO_DEEP or exc.msg.startswith("expected numbers of at most"):
            return f"invalid JSON: {exc.msg}"
        if exc.msg.endswith(" at"):
            return f"invalid JSON: {exc.msg} column {exc.colno}"
        return f"invalid JSON at column {exc.colno}: {exc.msg}"
    return "invalid JSON: a line end inside the value"
