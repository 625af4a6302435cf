"""Provider options checked against the types an adapter declares, before it is built.

``-O KEY=VALUE`` values are read as JSON where they parse, else kept as text, so
``-O timeout=abc`` reaches an adapter as the string ``'abc'``. Passed on as it was, such a value
failed deep inside an SDK while the adapter was made (``TypeError: Invalid timeout`` from httpx:
an internal error, exit 3), or was taken silently (``send_sampling_params=maybe`` is a true
string). :func:`check_option_types` compares each given option with the annotation of the
parameter it fills (``timeout: float | None``) and raises a :class:`ConfigError` (exit 2) that
names the option, the type expected and the type given. The value itself is shown only where it
cannot be a credential: never under a credential-like name (``api_key``, ``default_headers``),
never a mapping or list (headers hide in them), never a string that looks like a key.

What an annotation cannot say (a value in a range, a name among several) stays the adapter's own
check; an annotation this module does not know (a class of the adapter's own) accepts anything.
"""

from __future__ import annotations

import builtins
import inspect
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from halluscope.errors import ConfigError

#: What the user is told a type is (as a value written after ``-O KEY=``).
_SAID = {bool: "true or false", int: "a whole number", float: "a number", str: "a string",
         type(None): "null"}


def parameter_types(target: Callable[..., Any]) -> dict[str, Any]:
    """Parameter name -> annotation for ``target`` (a class: its ``__init__``); each annotation
    is resolved on its own, so that one naming a type only imported for type checkers leaves
    the others readable (it is left out: anything is accepted there)."""
    function = target.__init__ if isinstance(target, type) else target
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    module = sys.modules.get(getattr(function, "__module__", ""), None)
    space = {**vars(typing), **vars(builtins), **(vars(module) if module else {})}
    out: dict[str, Any] = {}
    for name, param in params.items():
        hint = param.annotation
        if hint is inspect.Parameter.empty or param.kind in (param.VAR_KEYWORD,
                                                            param.VAR_POSITIONAL):
            continue
        if isinstance(hint, str):
            try:
                hint = eval(hint, space)        # noqa: S307 - the adapter's own annotation
            except Exception:                   # noqa: BLE001 - unknown: not checked
                continue
        out[name] = hint
    return out


def _fits(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` is of the type ``hint`` names; None where the hint is not understood
    (no check)."""
    if hint is Any or hint is object:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        verdicts = [_fits(value, arg) for arg in typing.get_args(hint)]
        if any(v is True for v in verdicts):
            return True
        return None if any(v is None for v in verdicts) else False
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    base = origin or hint
    if base is type(None) or hint is None:
        return value is None
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    if isinstance(base, type) and issubclass(base, Mapping) or base is dict:
        return isinstance(value, Mapping)
    if base in (list, tuple, Sequence):
        return isinstance(value, (list, tuple))
    if base is Callable or base is typing.Callable:
        return callable(value)
    if isinstance(base, type):
        return isinstance(value, base) or None
    return None


def _said(hint: Any) -> str:
    """``float | None`` -> ``"a number (or null)"``."""
    args = typing.get_args(hint) if (typing.get_origin(hint) is typing.Union
                                     or type(hint).__name__ == "UnionType") else (hint,)
    optional = type(None) in args or None in args
    words: list[str] = []
    for arg in args:
        if arg is type(None) or arg is None:
            continue
        base = typing.get_origin(arg) or arg
        if typing.get_origin(arg) is typing.Literal:
            word = "one of " + ", ".join(repr(a) for a in typing.get_args(arg))
        elif base in _SAID:
            word = _SAID[base]
        elif base is dict or isinstance(base, type) and issubclass(base, Mapping):
            word = "a JSON object"
        elif base in (list, tuple, Sequence):
            word = "a JSON array"
        else:
            word = getattr(base, "__name__", str(base))
        if word not in words:
            words.append(word)
    text = " or ".join(words) or "null"
    return f"{text} (or null)" if optional and words else text


def _may_show(name: str, value: Any) -> bool:
    """Whether the message may show ``value`` as given: never under a credential-like name or a
    header's, never a mapping or list (headers hide in them), never a key-like string."""
    from halluscope.redact import credential_like, is_secret_key
    if is_secret_key(name) or "header" in name.lower() or isinstance(value, (Mapping, list,
                                                                              tuple)):
        return False
    return not (isinstance(value, str) and credential_like(value))


def _given(name: str, value: Any) -> str:
    """The value given, as the message may show it: its type always, the value itself only
    where :func:`_may_show`."""
    kind = type(value).__name__
    if not _may_show(name, value):
        return f"a value of type {kind} (not shown)"
    return f"{value!r:.60} ({kind})"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _how(name: str, value: Any, expected: str) -> str:
    """How to write the option instead, where that is plain from the value given."""
    if isinstance(value, str) and expected.startswith(("a number", "a whole number")):
        return (f": write the number without quotes (-O {name}={value.strip()})"
                if _is_number(value) and _may_show(name, value) else "")
    if (isinstance(value, (int, float)) and not isinstance(value, bool)
            and expected.startswith("a string") and _may_show(name, value)):
        return f": quote it as JSON text (-O '{name}=\"{value}\"')"
    if isinstance(value, str) and expected.startswith("a JSON object"):
        return f": write it as a JSON object (-O '{name}={{\"name\": \"value\"}}')"
    return ""


def check_option_types(target: Callable[..., Any], provider: str,
                       options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` for the first option in ``options`` whose value is not of
    the type ``target`` (an adapter class or a factory) declares for it."""
    hints = parameter_types(target)
    for name, value in options.items():
        if name not in hints or _fits(value, hints[name]) is not False:
            continue
        expected = _said(hints[name])
        raise ConfigError(f"provider option {name} ({provider}): expected {expected}, got "
                          f"{_given(name, value)}{_how(name, value, expected)}")
