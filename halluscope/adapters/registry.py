"""Providers are found through the ``halluscope.providers`` entry-point group.

The built-in providers register there exactly as a third-party package would::

    [project.entry-points."halluscope.providers"]
    openai = "halluscope.adapters.openai_compat:create"
    mycloud = "mypackage.halluscope_adapter:create"

An entry point names a factory ``create(model, *, provider, base_url=None, **options) ->
ModelAPI``. A model string is ``provider/model``: the text before the first ``/`` picks the
provider, the rest is the model as the provider names it (``vllm/Qwen/Qwen2.5-VL-7B-Instruct`` is
the model ``Qwen/Qwen2.5-VL-7B-Instruct`` on a vLLM server). When halluscope runs from a source tree
that was never installed, :data:`BUILTIN` stands in for the entry points.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any, Callable

from halluscope.errors import ConfigError

ENTRY_POINT_GROUP = "halluscope.providers"

_OPENAI = "halluscope.adapters.openai_compat:create"
BUILTIN: dict[str, str] = {
    "openai": _OPENAI,
    "azure": _OPENAI,
    "vllm": _OPENAI,
    "sglang": _OPENAI,
    "ollama": _OPENAI,
    "tgi": _OPENAI,
    "lmstudio": _OPENAI,
    "anthropic": "halluscope.adapters.anthropic:create",
    "gemini": "halluscope.adapters.gemini:create",
    "hf": "halluscope.adapters.hf_local:create",
    "mock": "halluscope.adapters.mock:create",
}


def parse_model(spec: str) -> tuple[str, str]:
    """Split ``provider/model``; raises :class:`ConfigError` when there is no provider."""
    provider, sep, model = spec.partition("/")
    if not sep or not provider or not model:
        raise ConfigError(f"expected a model as PROVIDER/MODEL (e.g. openai/gpt-4o-2024-08-06, "
                          f"vllm/Qwen/Qwen2.5-VL-7B-Instruct), got {spec!r}")
    return provider.strip().lower(), model.strip()


def available_providers() -> dict[str, str]:
    """Provider name -> ``module:factory`` (installed entry points, then the built-in table)."""
    out = dict(BUILTIN)
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        out[ep.name] = ep.value
    return dict(sorted(out.items()))


def provider_factory(name: str) -> Callable[..., Any]:
    """The factory registered as ``name``."""
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    target = BUILTIN.get(name)
    if target is None:
        known = ", ".join(available_providers())
        raise ConfigError(f"unknown provider {name!r}; expected one of: {known} "
                          f"(or install a package that registers it under the "
                          f"'{ENTRY_POINT_GROUP}' entry-point group)")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def server_and_options(base_url: str | None, options: dict[str, Any] | None
                       ) -> tuple[str | None, dict[str, Any]]:
    """The model server and the provider options, from ``--base-url`` and ``--option``s:
    ``base_url`` given as an option is the server, as with ``--base-url`` (a usage error when
    both name different servers); ``provider``, ``model`` and ``offline`` are set by the model
    name and ``--offline``, never as options."""
    options = dict(options or {})
    for key in ("provider", "model", "offline"):
        if key in options:
            raise ConfigError(f"option {key!r} cannot be given as a provider option: it comes "
                              f"from {'--offline' if key == 'offline' else 'the model name'}")
    if "base_url" in options:
        given = options.pop("base_url")
        if base_url is not None and given != base_url:
            raise ConfigError("two servers given: --base-url and option base_url differ; "
                              "give one")
        base_url = given
    check_base_url(base_url)
    return base_url, options


def check_base_url(url: Any, *, name: str | None = None) -> None:
    """A usage error for a server address no request can reach (it was an internal error at
    the first request: a port out of range, a host missing, another scheme, ``user:PASS@host``
    without its scheme); ``name`` (``option judge_base_url``) says where it was given. The
    address is shown redacted."""
    if url is None:
        return
    from urllib.parse import urlsplit

    from halluscope.redact import redact_url
    shown = redact_url(str(url))
    try:
        parts = urlsplit(str(url))
        parts.port                          # noqa: B018 - raises for a bad port
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        where = f"{name}: " if name else ""
        raise ConfigError(f"{where}expected the server as an http(s) URL such as "
                          f"http://127.0.0.1:8000/v1, got {shown!r}")


def get_model(spec: str | Any, *, base_url: str | None = None, offline: bool | None = None,
              **options: Any):
    """A :class:`~halluscope.adapters.types.ModelAPI` for ``provider/model`` (an adapter object
    is returned as it is).

    ``offline`` (default: ``$HALLUSCOPE_OFFLINE``) builds the adapter for cache-only use: the
    factory runs inside :func:`~halluscope.adapters.offline.offline_mode`, so that it neither
    requires an API key nor downloads model files (see :mod:`halluscope.adapters.offline`).
    """
    if not isinstance(spec, str):
        return spec
    from halluscope.adapters.offline import is_offline, offline_mode
    provider, model = parse_model(spec)
    factory = provider_factory(provider)
    try:
        with offline_mode(is_offline(offline)):
            return factory(model, provider=provider, base_url=base_url, **options)
    except TypeError as exc:
        if "unexpected keyword argument" not in str(exc):
            raise
        bad = str(exc).rsplit("argument", 1)[-1].strip()
        raise ConfigError(f"provider {provider!r} does not take the option {bad} "
                          f"(given: {', '.join(sorted(options)) or 'none'})") from None
