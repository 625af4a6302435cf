"""Audit configuration: one pydantic model shared by the Python API, the CLI and the plugin.

A folder may hold a ``halluscope.toml`` whose ``[audit]`` table sets defaults for audits of the
files in it (paths in it are relative to the folder); explicit options win over it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from halluscope.errors import ConfigError

MANIFEST = "halluscope.toml"


class AuditConfig(BaseModel):
    """Everything that decides what an audit computes.

    Attributes:
        metrics: Metric names to run; empty means infer them from the records.
        chair_variant: ``original`` (reproduces Rohrbach et al.'s code) or ``refined``.
        gt_objects: CHAIR ground-truth objects file (image id -> object words).
        coco_annotations: COCO instance (and caption) annotation files.
        questions: POPE question file that answers are aligned with.
        pope_parser: Name of the yes/no answer parser.
        pope_align: ``auto`` (by question id where both sides have one, else by order),
            ``id`` or ``order``.
        n_boot: Bootstrap replicates for confidence intervals (0 disables them).
        confidence: Confidence level of the intervals.
        seed: Seed of the bootstrap (and anything else random).
        strict: Stop at the first bad record instead of reporting it and going on.
        options: Options of metrics and checks added by later components (name -> value).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics: tuple[str, ...] = ()
    chair_variant: str = "refined"
    gt_objects: Path | None = None
    coco_annotations: tuple[Path, ...] = ()
    questions: Path | None = None
    pope_parser: str = "original"
    pope_align: str = "auto"
    n_boot: int = Field(1000, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 0
    strict: bool = False
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metrics", mode="before")
    @classmethod
    def _split_metrics(cls, v):
        if v is None:
            return ()
        if isinstance(v, str):
            v = [v]
        out: list[str] = []
        for item in v:
            out.extend(p.strip() for p in str(item).split(",") if p.strip())
        return tuple(dict.fromkeys(out))

    @field_validator("coco_annotations", mode="before")
    @classmethod
    def _listify(cls, v):
        if v is None:
            return ()
        if isinstance(v, (str, Path)):
            return (v,)
        return tuple(v)

    @field_validator("pope_align")
    @classmethod
    def _align(cls, v):
        if v not in ("auto", "id", "order"):
            raise ValueError(f"expected auto, id or order, got {v!r}")
        return v


def load_manifest(folder: Path) -> dict[str, Any]:
    """The ``[audit]`` table of ``folder/halluscope.toml`` with paths made absolute; ``{}`` if none."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    table = dict(data.get("audit", {}))
    for key in ("gt_objects", "questions"):
        if key in table and table[key]:
            table[key] = (folder / table[key]).resolve()
    if "coco_annotations" in table:
        anns = table["coco_annotations"]
        anns = [anns] if isinstance(anns, str) else anns
        table["coco_annotations"] = [(folder / a).resolve() for a in anns]
    if "inputs" in table:
        ins = table["inputs"]
        ins = [ins] if isinstance(ins, str) else ins
        table["inputs"] = [(folder / i).resolve() for i in ins]
    opts = table.get("options")
    if isinstance(opts, dict):
        for k, v in list(opts.items()):
            if isinstance(v, str) and (k.endswith("_file") or k.endswith("_path")):
                opts[k] = str((folder / v).resolve())
    return table
