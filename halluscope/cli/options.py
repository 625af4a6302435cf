"""Option parsing shared by the CLI modules (no heavy imports)."""

from __future__ import annotations

import json

import typer


def parse_key_values(values: list[str] | None, flag: str = "--option") -> dict[str, object]:
    """``["k=v", ...]`` -> ``{"k": v}``; values are read as JSON where they parse, else kept as
    strings."""
    out: dict[str, object] = {}
    for raw in values or ():
        key, sep, value = raw.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {raw!r}", param_hint=flag)
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def whole_number(value: str | int) -> int:
    """A count given on the command line (``--workers``): typer's own check said "Input should
    be a valid integer, unable to parse string as an integer" without the value given."""
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except (ValueError, AttributeError):
        raise typer.BadParameter(f"expected a whole number, got {value!r}") from None


def at_least(minimum: int):
    """A parser of a whole number ``>= minimum`` (``--images``, ``--workers``): typer's own
    range check said "Input should be greater than or equal to 1" without the value given, and
    a settings check named the setting (``workers``), not the flag. Click names the flag; keep
    ``min=`` on the option as well, for the ``x>=1`` that ``--help`` shows."""
    def parse(value: str | int) -> int:
        number = whole_number(value)
        if number < minimum:
            raise typer.BadParameter(f"expected a whole number >= {minimum}, got {number}")
        return number
    return parse
