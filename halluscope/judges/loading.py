"""Building a judge from a spec name or file, or from an audit configuration.

>>> from halluscope.judges import load_judge
>>> judge = load_judge("gpt-4o-2024-08-06")                   # judges/gpt-4o-2024-08-06.toml
>>> judge = load_judge("my-judge.toml", base_url="http://localhost:8000/v1", offline=True)

A spec is looked up as: an existing file path; else a pinned spec shipped with halluscope
(:func:`halluscope.resources.spec_path`, ``judges/<name>.toml``); else by name in the folders
:func:`~halluscope.judges.spec.load_spec` searches (``$HALLUSCOPE_JUDGES`` and the rest). Loading
checks every template against its pinned sha256 (:class:`~halluscope.errors.ConfigError` on a
mismatch) before the adapter is built through the provider registry.

Audit options (``AuditConfig.options``, ``--option KEY=VALUE``) read by :func:`judge_from_config`:

=========================  =========================================================================
option                     meaning
=========================  =========================================================================
``judge_base_url``         server of the judge model (overrides the spec's ``base_url``), http(s)
``judge_fatal_mismatch``   ``true``: an answer from a model other than the pinned one stops the run
                           (:class:`~halluscope.judges.judge.PinMismatch`, a ``ConfigError``); the
                           pinned one is the spec's ``expected_model``, else its ``model`` (Azure
                           OpenAI: ``model`` is the deployment, ``expected_model`` the model it
                           serves, which Azure reports; judges/README.md)
``judge_max_connections``  judge calls in flight at most (default 4; local models run one at a time)
``judge_options``          extra provider options for the judge's adapter (a JSON object; never
                           ``revision`` or ``pin``: what the spec pins takes another spec)
``offline``                answer from the cache only (default ``$HALLUSCOPE_OFFLINE``)
``device``                 (``--device``) where a judge of provider ``hf`` runs, when neither
                           ``judge_options`` nor the spec names a device (a spec's ``"auto"`` is
                           none: :func:`spec_sets_device`)
=========================  =========================================================================

The judge's answers are cached in ``AuditConfig.cache_dir`` (default: the user cache folder,
``$HALLUSCOPE_CACHE``), in the same response cache ``halluscope query`` uses.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError
from halluscope.judges.spec import SPEC_SUFFIX, JudgeSpec, load_spec

log = logging.getLogger(__name__)


def find_spec(spec: str | Path) -> Path | str:
    """The spec file ``spec`` names (see the module docstring); a bare name that no pinned file
    matches is returned as it is, for :func:`~halluscope.judges.spec.load_spec` to search."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    name = str(spec)
    if "/" in name or "\\" in name:
        raise ConfigError(f"judge spec file {name} does not exist")
    from halluscope.resources import spec_path
    try:
        return spec_path("judges", name if name.endswith(SPEC_SUFFIX) else name + SPEC_SUFFIX)
    except ConfigError:
        return name


def load_judge(spec: str | Path | JudgeSpec, *, base_url: str | None = None,
               cache_dir: str | Path | None = None, offline: bool | None = None,
               strict_pin: bool = False, max_connections: int = 4, api: Any = None,
               **provider_kw: Any):
    """A :class:`~halluscope.judges.judge.Judge` for a spec name, spec file or loaded spec.

    Args:
        spec: Spec name (``gpt-4o-2024-08-06``), path to a spec file, or a :class:`JudgeSpec`.
        base_url: Server of the judge model, overriding the spec's ``base_url``.
        cache_dir: Response cache folder (default ``$HALLUSCOPE_CACHE`` or the user cache).
        offline: Cache only, no connection (default ``$HALLUSCOPE_OFFLINE``).
        strict_pin: Stop with :class:`~halluscope.judges.judge.PinMismatch` when the server
            answers as another model than the pinned one.
        max_connections: Judge calls in flight at most.
        api: An adapter object to use instead of building one (tests).
        **provider_kw: Options for the provider factory, added to the spec's own (``device``,
            ``dtype``, ``timeout``, ...).

    Raises:
        ConfigError: unknown spec, invalid spec, a template whose sha256 is not the pinned one,
            an unknown provider or provider option.
    """
    from halluscope.judges.judge import Judge
    loaded = spec if isinstance(spec, JudgeSpec) else load_spec(find_spec(spec))
    judge = Judge(loaded, api=api, cache=Path(cache_dir) if cache_dir is not None else None,
                  base_url=base_url, max_connections=max_connections, strict_pin=strict_pin,
                  model_options=provider_kw or None, offline=offline)
    log.info("judge %s: %s (offline=%s)", loaded.name, loaded.pin, judge.offline)
    return judge


def _flag(value: Any) -> bool:
    from halluscope.adapters.offline import as_flag
    return bool(as_flag(value))


def judge_from_config(config, **kw: Any):
    """The judge ``config.judge`` names, built with the audit's cache folder and options (see the
    module docstring); ``None`` when the configuration names no judge."""
    if not getattr(config, "judge", None):
        return None
    opts = dict(config.options or {})
    provider_kw = opts.get("judge_options") or {}
    if not isinstance(provider_kw, dict):
        raise ConfigError(f"expected option judge_options as a JSON object, got "
                          f"{provider_kw!r:.80}")
    provider_kw = dict(provider_kw)
    from halluscope.adapters.registry import check_base_url
    from halluscope.redact import register_options, register_url
    register_url(opts.get("judge_base_url"))
    register_options(provider_kw)
    check_base_url(opts.get("judge_base_url"), name="option judge_base_url")
    try:
        connections = int(opts.get("judge_max_connections", 4))
        if connections < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"expected option judge_max_connections as a number of calls >= 1, "
                          f"got {opts.get('judge_max_connections')!r}") from None
    args: dict[str, Any] = dict(
        base_url=opts.get("judge_base_url"), cache_dir=config.cache_dir,
        offline=opts.get("offline"), strict_pin=_flag(opts.get("judge_fatal_mismatch")),
        max_connections=max(1, connections))
    args.update(kw)
    spec = load_spec(find_spec(config.judge))
    if spec.provider == "hf" and opts.get("device") and "device" not in provider_kw \
            and not spec_sets_device(spec):
        provider_kw["device"] = opts["device"]
    return load_judge(spec, **args, **provider_kw)


def spec_sets_device(spec: JudgeSpec) -> bool:
    """Whether a judge spec names a device of its own: ``device = "auto"`` (the shipped Qwen
    judge's) is no choice, and an audit's ``--device`` replaces it (it was kept, so
    ``--device cuda:1`` ran the judge on the first GPU); a device the spec or
    ``judge_options`` names is kept. The run sheet's ``judge.adapter`` records the device asked
    for (``device_requested``) and the one the model ran on (``device``)."""
    device = spec.options.get("device")
    return device is not None and str(device).strip().lower() != "auto"


__all__ = ["find_spec", "judge_from_config", "load_judge", "spec_sets_device"]
