"""Environment variables changed for a while and put back: :func:`saved_environ` and
:func:`environ_set`, context managers that restore what they name however the block ends (an
exception, a ``KeyboardInterrupt``, a ``return`` from inside it).

Three places kept a copy of the variables they changed and wrote it back by hand (the tracking
hush, the thread limit of a forking engine, the pytest plugin's offline switch), each with its
own loop for "unset when it was unset". They share this one now.

Importing this module loads only the standard library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


def _put(values: Mapping[str, str | None]) -> None:
    """Set each variable to its value, or unset it where the value is ``None``."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@contextmanager
def saved_environ(names: Iterable[str]) -> Iterator[None]:
    """The variables ``names`` as they are now, restored when the block ends (set again, or
    unset where they were unset), whatever the block did to them; other variables are left
    as the block leaves them."""
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        _put(saved)


@contextmanager
def environ_set(values: Mapping[str, str | None]) -> Iterator[None]:
    """``values`` in the environment for the block (``None``: the variable unset), and each
    put back as it was when the block ends (:func:`saved_environ`). A value that cannot be set
    (a NUL in it) raises with the ones set before it already put back."""
    with saved_environ(values):
        _put(values)
        yield


__all__ = ["environ_set", "saved_environ"]
