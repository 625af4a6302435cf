"""Benchmark manifests: a benchmark is pinned data plus the metric that scores it.

A manifest is a TOML file in the repository's ``metrics/benchmarks/`` folder (in a wheel:
``halluscope/_pinned/metrics/benchmarks/``). It names the question file(s) with their sha256 and
size, where a user gets them, the prompt exactly as the paper or peer poses it, the scorer's
variants and the judge (a spec in ``judges/``) it needs::

    name = "hallusionbench"
    version = "1"
    metric = "hallusionbench"
    default_variant = "refined"
    variants = ["original", "vlmevalkit", "refined"]
    judge = "hallusionbench-gpt-4"
    ships_data = false
    [[files]]
    role = "questions"
    name = "HallusionBench.json"
    sha256 = "..."
    size = 431987
    url = "https://github.com/tianyi-lab/HallusionBench"
    [prompt]
    template = "{question}"
    image_field = "filename"
    id_field = "..."

The data itself is the user's copy: :func:`check_files` says, for each file, whether it was
found in the given folders, is missing, or has the wrong hash (naming the expected sha256).
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from halluscope.config import read_toml_model
from halluscope.errors import ConfigError
from halluscope.hashing import sha256_file
from halluscope.resources import _PACKAGE

FOUND, MISSING, WRONG_HASH = "found", "missing", "wrong hash"
DATA_ENV = "HALLUSCOPE_DATA"


class BenchmarkFile(BaseModel):
    """One pinned data file of a benchmark."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    name: str
    sha256: str
    size: int | None = Field(None, ge=0)
    url: str | None = None
    aliases: list[str] = Field(default_factory=list)
    """Other names the file has upstream (``synonyms_refine.txt``); a copy under any of them
    counts when its hash matches."""
    shipped: str | None = None
    """Where halluscope's own copy lies (``metrics/objhal_synonyms_refine.txt``), for files
    whose licence lets halluscope ship them; used when the user has none."""

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.strip().lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError(f"expected 64 hex digits, got {v!r}")
        return v


class BenchmarkPrompt(BaseModel):
    """How a question row becomes the prompt: ``{field}`` placeholders of the row's fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: str
    system: str = ""
    image_field: str | None = None
    id_field: str | None = None     # a field name, or a "{a}_{b}" template of several
    image_basename: bool = False    # the image field is a URL: the file is its last part
    image_file: str | None = None
    """The image's file name built from the row (Python format syntax), where the row holds an
    id rather than a file name: ``"COCO_val2014_{image_id:012d}.jpg"``."""

    def record_id(self, row: dict[str, Any], number: int) -> str:
        """The row's id: its ``id_field`` (a field or a template of fields), else its number."""
        if not self.id_field:
            return str(number)
        if "{" in self.id_field:
            return self.id_field.format_map({k: "" if v is None else v for k, v in row.items()})
        value = row.get(self.id_field)
        return str(number) if value is None else str(value)

    def fields(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.template) if f]

    def render(self, row: dict[str, Any]) -> str:
        """The prompt for ``row``; a field the row lacks is a :class:`ConfigError`."""
        missing = [f for f in self.fields() if f not in row]
        if missing:
            raise ConfigError(f"expected field(s) {', '.join(missing)} in the question row, "
                              f"found {', '.join(sorted(row)) or 'none'}")
        return self.template.format_map({k: "" if v is None else v for k, v in row.items()})


class BenchmarkSpec(BaseModel):
    """A benchmark manifest (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    metric: str
    title: str = ""
    paper: str = ""
    source: str = ""
    licence: str = ""
    default_variant: str | None = None
    variants: list[str] = Field(default_factory=list)
    judge: str | None = None
    default_split: str | None = None
    """The split the ``questions`` file holds, where the benchmark has several (``random``;
    each other one is a file whose role is ``questions_<split>``)."""
    ships_data: bool = False
    files: list[BenchmarkFile]
    prompt: BenchmarkPrompt | None = None
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _default_is_listed(self) -> "BenchmarkSpec":
        if self.default_variant and self.variants and self.default_variant not in self.variants:
            raise ValueError(f"default_variant {self.default_variant!r} is not one of "
                             f"{self.variants}")
        return self

    @property
    def pin(self) -> str:
        """``name@version``, as run sheets record it."""
        return f"{self.name}@{self.version}"

    def file(self, role: str) -> BenchmarkFile:
        for f in self.files:
            if f.role == role:
                return f
        raise ConfigError(f"benchmark {self.name!r} has no {role!r} file (it has: "
                          f"{', '.join(f.role for f in self.files)})")


@dataclass(frozen=True)
class FileStatus:
    """Where a benchmark file was looked for and what was found."""

    file: BenchmarkFile
    status: str                     # found | missing | wrong hash
    path: Path | None = None        # the file found (also when its hash is wrong)
    actual_sha256: str | None = None
    #: missing: the data folders looked in (``--data``, then ``$HALLUSCOPE_DATA``), and where
    #: the file would be found (``<first folder>/<benchmark>/<name>``)
    searched: tuple[Path, ...] = ()
    put_at: Path | None = None

    def message(self) -> str:
        f = self.file
        if self.status == FOUND:
            return f"{f.name}: found at {self.path}"
        if self.status == MISSING:
            where = f" (get it from {f.url})" if f.url else ""
            return (f"{f.name}: missing; expected a file with sha256 {f.sha256}{where}; "
                    f"{self._where_to_put()}")
        return (f"{f.name}: wrong hash at {self.path}: expected sha256 {f.sha256}, "
                f"got {self.actual_sha256}")

    def _where_to_put(self) -> str:
        """Where a missing file was looked for, and where to put it to be found."""
        if not self.searched:
            return (f"no data folder was given: put it in a folder and pass --data FOLDER "
                    f"(or set ${DATA_ENV}=FOLDER)")
        places = ", ".join(str(d) for d in self.searched)
        return (f"looked in {places} (folders {SEARCH_DEPTH} levels down too): put it at "
                f"{self.put_at}")


def benchmark_dirs() -> list[Path]:
    """Folders holding manifests, in order: source tree, then an installed wheel."""
    return [_PACKAGE.parent / "metrics" / "benchmarks",
            _PACKAGE / "_pinned" / "metrics" / "benchmarks"]


def _manifests() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in benchmark_dirs():
        if d.is_dir():
            for f in sorted(d.glob("*.toml")):
                found.setdefault(f.stem, f)
    return found


def read_benchmark(path: str | Path) -> BenchmarkSpec:
    """Read and validate one manifest file."""
    p = Path(path)
    spec = read_toml_model(p, BenchmarkSpec, "benchmark manifest")
    return spec.model_copy(update={"path": p})


def load_benchmark(name: str) -> BenchmarkSpec:
    """The manifest of the benchmark ``name`` (or a manifest file path)."""
    p = Path(name)
    if p.suffix == ".toml" and p.is_file():
        return read_benchmark(p)
    found = _manifests()
    if name not in found:
        raise ConfigError(f"unknown benchmark {name!r}; expected one of: "
                          f"{', '.join(found) or '(none found)'}")
    return read_benchmark(found[name])


def list_benchmarks() -> list[BenchmarkSpec]:
    """Every manifest found, by name."""
    return [read_benchmark(p) for _, p in sorted(_manifests().items())]


def data_dirs(data: str | Path | list[str | Path] | None = None) -> list[Path]:
    """Where users' copies are looked for: ``data`` (a file's folder, or folders), then the
    folders in ``$HALLUSCOPE_DATA``."""
    given = data if isinstance(data, list) else [data] if data is not None else []
    out = [Path(d).expanduser() for d in given]
    env = os.environ.get(DATA_ENV)
    if env:
        out += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return out


def missing_data_places(data: str | Path | list[str | Path] | None = None) -> list[str]:
    """Each place of :func:`data_dirs` that does not exist, said the way the user gave it
    (``--data PATH`` or ``$HALLUSCOPE_DATA PATH``) with "no such file or folder": a mistyped
    one would make every benchmark look missing, so the faces refuse it (exit 2)."""
    given = data if isinstance(data, list) else [data] if data is not None else []
    out = [f"--data {p}" for p in given if not Path(p).expanduser().exists()]
    env = os.environ.get(DATA_ENV) or ""
    out += [f"${DATA_ENV} {p}" for p in env.split(os.pathsep)
            if p and not Path(p).expanduser().exists()]
    return [f"{where}: no such file or folder" for where in out]


#: How deep below a data folder a file is looked for (peers' layouts: pope/coco/v3/x.json).
SEARCH_DEPTH = 3


def _candidates(f: BenchmarkFile, place: Path) -> list[Path]:
    """The copies of ``f`` that ``place`` may hold: the file given itself, or any of its names
    in the folder or up to :data:`SEARCH_DEPTH` folders below it."""
    if place.is_file():
        # a file given by itself stands for the questions file (or one of the same name)
        return [place] if place.name in f.names or f.role == "questions" else []
    if not place.is_dir():
        return []
    out = []
    for depth in range(SEARCH_DEPTH + 1):
        for name in f.names:
            out.extend(sorted(place.glob("/".join(["*"] * depth + [name]))))
    return out


def check_file(f: BenchmarkFile, places: list[Path], *, guess: bool = True) -> FileStatus:
    """Find ``f`` among ``places`` (the file itself, or a folder holding it under any of its
    names, directly or a few folders down), preferring a copy whose hash matches; then
    halluscope's own copy when it ships one.

    A file given by itself under another name stands for the questions file: with ``guess``
    (a command that uses one benchmark) a wrong hash there is reported; without it (a listing
    of every benchmark) it counts only when its hash matches, since one file cannot be every
    benchmark's questions file."""
    wrong: FileStatus | None = None
    if f.shipped:
        from halluscope.resources import spec_path
        kind, _, name = f.shipped.partition("/")
        try:
            places = [*places, spec_path(kind, name)]
        except Exception:  # noqa: BLE001 - no shipped copy in this installation
            pass
    for place in places:
        for c in _candidates(f, place):
            if not c.is_file():
                continue
            digest = sha256_file(c)
            if digest == f.sha256:
                return FileStatus(f, FOUND, c, digest)
            if guess or c.name in f.names:
                wrong = wrong or FileStatus(f, WRONG_HASH, c, digest)
    return wrong or FileStatus(f, MISSING)


def check_files(spec: BenchmarkSpec, data: str | Path | list[str | Path] | None = None,
                *, guess: bool = True) -> list[FileStatus]:
    """The status of each of ``spec``'s files among the user's data folders (see
    :func:`data_dirs`); each folder is also searched under ``<folder>/<benchmark name>/``
    (``guess``: see :func:`check_file`)."""
    places: list[Path] = []
    for d in data_dirs(data):
        if d.is_dir() and (d / spec.name).is_dir():
            places.append(d / spec.name)        # its own folder first: fewer files to hash
        places.append(d)
    dirs = tuple(data_dirs(data))
    folder = next((d if d.is_dir() else d.parent for d in dirs), None)
    return [replace(st, searched=dirs, put_at=folder / spec.name / st.file.name if folder
                    else None) if st.status == MISSING else st
            for st in (check_file(f, places, guess=guess) for f in spec.files)]


def data_status(statuses: list[FileStatus]) -> str:
    """One word for a benchmark: found (all files), wrong hash (any copy with another hash),
    else missing."""
    kinds = {s.status for s in statuses}
    if kinds <= {FOUND}:
        return FOUND
    return WRONG_HASH if WRONG_HASH in kinds else MISSING


__all__ = ["BenchmarkFile", "BenchmarkPrompt", "BenchmarkSpec", "FOUND", "FileStatus", "MISSING",
           "WRONG_HASH", "check_file", "check_files", "data_dirs", "data_status",
           "list_benchmarks", "load_benchmark", "missing_data_places", "read_benchmark"]
