"""Ray, imported only when a command asks for it (``--engine ray``), with a clear error when
the ``ray`` extra is missing. A low module so that every layer (adapters for ``halluscope
query``, the audit engines) can use it without importing the layers above."""

from __future__ import annotations

from halluscope.errors import ConfigError


def import_ray():
    """The ``ray`` module, or a usage error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray Data: pip install 'halluscope[ray]' "
                          f"(expected the ray package, got {exc})") from None
    return ray
