"""Offline mode: model and judge answers come from the response cache only.

Offline mode is on when it is asked for explicitly (``query(..., offline=True)``,
``Judge(..., offline=True)``, ``AuditConfig.options["offline"]``, ``--offline``) or, when nothing
explicit is given, when the environment variable ``HALLUSCOPE_OFFLINE`` is set to anything but
``""``/``0``/``false``/``no``/``off`` (the pytest plugin's ``--halluscope-offline`` sets it).

In offline mode:

* :class:`~halluscope.adapters.client.ModelClient` answers from the cache and raises
  :class:`~halluscope.errors.CacheMiss` on a miss, before any provider call;
* adapters are still built (their pin and image policy decide the cache key) but must not need
  what only a live call needs: a missing API key is no error, and a local model's files are
  looked up in the local hub cache only, never downloaded;
* a response cache that does not exist yet is not created.

:func:`get_model <halluscope.adapters.registry.get_model>` runs provider factories inside
:func:`offline_mode`, so that an adapter (third-party ones included) asks :func:`is_offline`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ENV_OFFLINE = "HALLUSCOPE_OFFLINE"
_FALSE = ("", "0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")
_FORCED: ContextVar[bool | None] = ContextVar("halluscope_offline", default=None)


def offline_from_env() -> bool:
    """Whether ``$HALLUSCOPE_OFFLINE`` asks for offline mode."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in _FALSE


def as_flag(value: object) -> bool | None:
    """``value`` read as a flag (``True``, ``"true"``, ``1``, ``"1"``, ...); ``None`` stays."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _FALSE or text in _TRUE:
        return text in _TRUE
    from halluscope.errors import ConfigError
    raise ConfigError(f"expected a flag (true/false, yes/no, on/off, 1/0), got {value!r:.40}")


def is_offline(explicit: object = None) -> bool:
    """``explicit`` when given, else the enclosing :func:`offline_mode`, else the environment."""
    flag = as_flag(explicit)
    if flag is not None:
        return flag
    forced = _FORCED.get()
    if forced is not None:
        return forced
    return offline_from_env()


@contextmanager
def offline_mode(flag: bool) -> Iterator[None]:
    """Within the block, :func:`is_offline` (without an explicit value) returns ``flag``."""
    token = _FORCED.set(bool(flag))
    try:
        yield
    finally:
        _FORCED.reset(token)


#: What adapters send as the API key when offline mode let them start without one.
OFFLINE_KEY = "offline-no-key"
