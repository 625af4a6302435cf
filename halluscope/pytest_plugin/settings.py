"""The pytest plugin's options (group ``halluscope``, each also an ini key) and
:class:`Settings`, their resolved values: command line over ini over the data's halluscope.toml.

Both the plugin (:mod:`halluscope.pytest_plugin`) and its auditor
(:mod:`halluscope.pytest_plugin.auditor`) read them; this module imports neither.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ENV_OFFLINE = "HALLUSCOPE_OFFLINE"
DEFAULT_BASELINE = "halluscope-baseline.json"


# -- options --------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("halluscope", "halluscope: hallucination gates")

    def add(flag: str, ini_type: str | None, help: str, **kw: Any) -> None:
        dest = "halluscope_" + flag.replace("-", "_")
        group.addoption(f"--halluscope-{flag}", dest=dest, help=help, **kw)
        if ini_type is not None:
            parser.addini(dest, help=help, type=ini_type,
                          default=False if ini_type == "bool" else None)

    add("outputs", "paths", "model outputs to audit: JSONL file(s) or a folder with a "
        "halluscope.toml (repeatable)", action="append", metavar="PATH")
    add("annotations", "paths", "COCO instance annotations for CHAIR (repeatable)",
        action="append", metavar="PATH")
    add("gt-objects", "string", "CHAIR ground-truth objects file (image id -> object words)",
        metavar="PATH")
    add("questions", "string", "POPE question file the yes/no answers are aligned with",
        metavar="PATH")
    add("metrics", "string", "metrics to run, e.g. 'chair,pope' (default: inferred)",
        metavar="NAMES")
    add("out", "string", "folder for audit results (one subfolder per audit and xdist worker)",
        metavar="DIR")
    add("baseline", "string", f"baseline JSON file for regression checks (default: "
        f"{DEFAULT_BASELINE} in the rootdir)", metavar="PATH")
    add("update-baseline", None, "write the audited values into the baseline instead of "
        "comparing with it", action="store_true", default=None)
    add("tolerance", "string", "how much worse than the baseline a metric may get "
        "(default 0)", metavar="X")
    add("offline", "bool", "only cached model/judge answers: no connection is opened, a cache "
        "miss fails (sets HALLUSCOPE_OFFLINE=1)", action="store_true", default=None)
    add("cache-dir", "string", "cache of model and judge answers (default: $HALLUSCOPE_CACHE "
        "or ~/.cache/halluscope)", metavar="DIR")
    add("allow-unfinished-query", "bool", "judge the assertions on outputs of a halluscope "
        "query run that did not finish (over the answers they hold); without it such an "
        "assertion fails as not decided", action="store_true", default=None)
    add("report", "string", "write every assertion and audited metric to this JSON file",
        metavar="PATH")


@dataclass
class Settings:
    """The plugin's options, resolved: command line over ini over the data's halluscope.toml;
    offline mode: command line, else ``$HALLUSCOPE_OFFLINE`` when set (read as the adapters
    read it), else the ini file."""

    outputs: list[Path] = field(default_factory=list)
    coco_annotations: list[Path] = field(default_factory=list)
    gt_objects: Path | None = None
    questions: Path | None = None
    metrics: str | None = None
    out: Path | None = None
    baseline: Path | None = None
    update_baseline: bool = False
    tolerance: float = 0.0
    offline: bool = False
    cache_dir: Path | None = None
    report: Path | None = None
    allow_unfinished_query: bool = False
    rootpath: Path = field(default_factory=Path.cwd)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        here = Path(config.invocation_params.dir)
        ini_dir = Path(config.inipath).parent if config.inipath else Path(config.rootpath)

        def cli(name: str) -> Any:
            return config.getoption("halluscope_" + name, default=None)

        def ini(name: str) -> Any:
            try:
                return config.getini("halluscope_" + name)
            except ValueError:
                return None

        def one_path(name: str) -> Path | None:
            value = cli(name)
            if value:
                return (here / value).resolve()
            value = ini(name)
            if value:
                return (ini_dir / str(value)).resolve()
            return None

        def many_paths(name: str) -> list[Path]:
            values = cli(name)
            if values:
                return [(here / v).resolve() for v in values]
            return [Path(v).resolve() for v in (ini(name) or [])]

        tolerance_text = cli("tolerance") or ini("tolerance") or "0"
        # named as it was given: the flag, or the ini file's key (which has no flag's name)
        source = ("--halluscope-tolerance" if cli("tolerance") else
                  f"halluscope_tolerance in {getattr(config, 'inipath', None) or 'the ini file'}")
        try:
            tolerance = float(tolerance_text)
        except ValueError:
            raise pytest.UsageError(f"{source}: expected a number >= 0, got "
                                    f"{tolerance_text!r}") from None
        if not 0 <= tolerance < float("inf"):     # nan slipped past `< 0`; inf passes all
            raise pytest.UsageError(f"{source}: expected a finite number >= 0, got "
                                    f"{tolerance_text!r}")
        offline = cli("offline")
        if offline is None:     # the environment over the ini file (docs/pytest-plugin.md)
            from halluscope.adapters.offline import offline_from_env
            env_set = os.environ.get(ENV_OFFLINE, "").strip() != ""
            offline = offline_from_env() if env_set else bool(ini("offline"))
        for name in ("baseline", "report"):     # written at the session's end: said now
            path = one_path(name)
            if path is not None and path.is_dir():
                example = path / (DEFAULT_BASELINE if name == "baseline"
                                  else "halluscope-report.json")
                raise pytest.UsageError(f"--halluscope-{name}: expected a file, got the folder "
                                        f"{path} (such as {example})")
        return cls(
            outputs=many_paths("outputs"), coco_annotations=many_paths("annotations"),
            gt_objects=one_path("gt_objects"), questions=one_path("questions"),
            metrics=cli("metrics") or ini("metrics") or None, out=one_path("out"),
            baseline=one_path("baseline") or Path(config.rootpath) / DEFAULT_BASELINE,
            update_baseline=bool(cli("update_baseline")), tolerance=tolerance,
            offline=bool(offline), cache_dir=one_path("cache_dir"), report=one_path("report"),
            allow_unfinished_query=bool(cli("allow_unfinished_query")
                                        or ini("allow_unfinished_query")),
            rootpath=Path(config.rootpath))

    def audit_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`halluscope.audit` these settings imply."""
        opts: dict[str, Any] = {}
        if self.coco_annotations:
            opts["coco_annotations"] = list(self.coco_annotations)
        if self.gt_objects:
            opts["gt_objects"] = self.gt_objects
        if self.questions:
            opts["questions"] = self.questions
        if self.metrics:
            opts["metrics"] = self.metrics
        if self.cache_dir:
            opts["cache_dir"] = self.cache_dir
        if self.offline:
            opts["options"] = {"offline": True}
        if self.allow_unfinished_query:
            opts["allow_unfinished_query"] = True
        return opts


__all__ = ["DEFAULT_BASELINE", "ENV_OFFLINE", "Settings", "pytest_addoption"]
