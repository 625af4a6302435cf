"""Which engine scores an audit's records, and with how many processes: ``--workers`` as given,
or a default from the work (:func:`choose_workers`); the engine itself (:func:`make_engine`:
local, processes or Ray, chosen here, above both engine modules). Moved out of
:mod:`halluscope.pipeline`, which imports both names from here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from halluscope.config import AuditConfig
from halluscope.errors import ConfigError
from halluscope.metrics.base import Metric


log = logging.getLogger(__name__)

WORKERS_PER_CORE = 4
"""Most processes per core that ``--workers`` starts: more than one per core helps where the
records wait on a judge's answers, and past a few per core the processes only cost their
start and memory (``--workers 100000`` forked one per record: 401 for 401 records)."""

HEAVY_RECORDS = 64
"""Fewest input records on which heavy work is spread over all cores by default: below it, the
workers' start (a fork after loading the models once) costs more than it saves."""


def _local_judge(cfg: AuditConfig) -> bool:
    """Whether the audit's judge is a model this process loads (``provider = "hf"``)."""
    if not cfg.judge:
        return False
    from halluscope.judges.loading import find_spec
    from halluscope.judges.spec import load_spec
    return load_spec(find_spec(cfg.judge)).provider == "hf"


def choose_workers(cfg: AuditConfig, remote: list[Metric], paths: list[Path],
                   total: int | None = None) -> tuple[int, str]:
    """How many processes score the records, and why: ``--workers`` as given (0: one per core);
    without it, one per core where the work is heavy (a metric that verifies claims against a
    detector or segmenter, on at least :data:`HEAVY_RECORDS` records, where the workers can be
    forked from this process), else this process alone; this process alone, too, with a local
    judge model (each worker would hold its own copy: 16 GB for a 7B judge). ``total``: the
    records, where the progress bar has counted them already."""
    from halluscope import engines
    from halluscope.readers import count_input_records
    count = (lambda: total) if total is not None else (
        lambda: sum(count_input_records(p, cfg.input_format) for p in paths))
    if cfg.workers is not None:
        n, why = capped_workers(cfg.workers)
        # no more processes than records: the others would start and never score
        records = count() if n > 1 else 0
        return (n, why) if n <= 1 or records >= n else (
            max(1, records), f"--workers {cfg.workers}, capped at the {records} records")
    cores = engines.default_workers()
    if _local_judge(cfg):
        return 1, ("default: the local judge model would be loaded once per worker (pass "
                   "--workers N for N copies)")
    heavy = (cfg.detector or cfg.segmenter) and any(m.needs_verification for m in remote)
    if not heavy or cores <= 1:
        return 1, "default: light work" if not heavy else "default: one core"
    if not engines.fork_is_safe():
        return 1, "default: workers cannot be forked here (pass --workers to spawn them)"
    records = count()
    if records < HEAVY_RECORDS:
        return 1, f"default: {records} records, fewer than {HEAVY_RECORDS}"
    return cores, "default: heavy work (detector or segmenter), one worker per core"


def capped_workers(workers: int) -> tuple[int, str]:
    """``--workers`` as processes to start (``0``: one per core), at most
    :data:`WORKERS_PER_CORE` per core, with a warning that says what was asked and what is
    used; and why, for the run sheet. Results are the same for any number."""
    from halluscope import engines
    cores = engines.default_workers()
    if workers == 0:
        return cores, "--workers"
    most = WORKERS_PER_CORE * cores
    if workers <= most:
        return workers, "--workers"
    why = (f"--workers {workers}, capped at {most} ({WORKERS_PER_CORE} per core on "
           f"{cores} {'core' if cores == 1 else 'cores'})")
    log.warning("--workers %d asked for more processes than this machine can run: using %d "
                "(%d per core on %d %s); the results are the same", workers, most,
                WORKERS_PER_CORE, cores, "core" if cores == 1 else "cores")
    return most, why


def make_engine(engine: str, workers: int | None, names: list[str], config: Any,
                paths: list[Path], remote: list[Metric]):
    """The engine that scores ``remote`` (metrics built from ``names``): local, processes or
    Ray (chosen here, above both engine modules); ``workers`` processes (``None``: one)."""
    from halluscope import engines
    if engine == "ray":
        from halluscope.ray_engine import RayEngine
        return RayEngine(names, config, paths, workers=workers,
                         address=getattr(config, "ray_address", None), covers=remote)
    if engine not in ("local", "processes"):
        raise ConfigError(f"expected engine 'local', 'processes' or 'ray', got {engine!r}")
    if getattr(config, "ray_address", None):    # else silently ignored: scored here instead
        from halluscope.redact import redact_text
        raise ConfigError(f"--ray-address {redact_text(config.ray_address)} is for --engine "
                          f"ray; add it, or "
                          f"drop the address to score on this machine")
    n = engines.default_workers() if workers == 0 else (workers or 1)
    if n <= 1 or not remote:
        return engines.LocalEngine(remote)
    return engines.ProcessEngine(names, config, paths, n, remote)
