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


def start_ray(ray, address: str | None) -> None:
    """Start a local Ray instance, or join the cluster at ``address``, for one command: no
    dashboard, workers' logs kept in Ray's session folder, and Ray's own messages on this
    terminal from warnings up (from INFO when halluscope logs at INFO, ``-v``), without the
    warning that progress bars are off (halluscope shows its own)."""
    import logging
    level = logging.INFO if logging.getLogger("halluscope").isEnabledFor(logging.INFO) \
        else logging.WARNING
    ray.init(address=address, log_to_driver=False, include_dashboard=False,
             ignore_reinit_error=True, logging_level=level)
    logging.getLogger("ray.data").setLevel(level)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
