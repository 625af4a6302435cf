"""Characters of model text that an HTML page would hide or misuse, made visible: C0 control
characters other than tab and line ends (a NUL byte, an escape) become their Unicode control
pictures (U+2400...), and the bidirectional overrides, embeddings and isolates (U+202A-U+202E,
U+2066-U+2069), which reorder the text around them on screen, become ``⟨U+202E⟩`` markers.
HTML escaping leaves all of these as they are."""

from __future__ import annotations

_TABLE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}
_TABLE[0x7F] = 0x2421
_TABLE.update({c: f"⟨U+{c:04X}⟩" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def visible_controls(text: str) -> str:
    """``text`` with hidden control and bidirectional characters shown (see the module)."""
    return text.translate(_TABLE)


__all__ = ["visible_controls"]
