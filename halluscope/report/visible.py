"""Characters of model text that a page or a terminal would hide or misuse, made visible: C0
control characters other than tab and line ends (a NUL byte, an escape) become their Unicode
control pictures (U+2400...); the C1 controls (U+0080-U+009F: U+009B starts a terminal escape
sequence as ESC [ does) and the bidirectional overrides, embeddings and isolates (U+202A-U+202E,
U+2066-U+2069), which reorder the text around them on screen, become ``⟨U+202E⟩`` markers; and a
lone surrogate, which no UTF-8 file or terminal can hold (Python reads a file name that is not
UTF-8, ``cap\\xe9.jsonl``, with one per undecodable byte), becomes the byte as Python writes it
(``\\xe9``), or a ``⟨U+D800⟩`` marker. HTML escaping and rich's markup escaping leave all of
these as they are."""

from __future__ import annotations

_TABLE: dict[int, int | str] = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
_TABLE[0x7F] = 0x2421
_TABLE.update({c: f"⟨U+{c:04X}⟩" for c in (*range(0x80, 0xA0), *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A))})
_TABLE.update({c: f"⟨U+{c:04X}⟩" for c in range(0xD800, 0xE000)})
_TABLE.update({c: f"\\x{c - 0xDC00:02x}" for c in range(0xDC80, 0xDD00)})   # surrogateescape


def visible_controls(text: str) -> str:
    """``text`` with hidden control and bidirectional characters and lone surrogates shown
    (see the module)."""
    return text.translate(_TABLE)


__all__ = ["visible_controls"]
