"""Judge specs: the pinned description of a judge, read from a TOML file in ``judges/``.

A spec names the provider and the model with a dated snapshot (APIs) or a hub revision (local
models), the decoding (temperature 0 and a seed), the image policy, and for each use
(``verify``, ``classify_yes_no``, ``decompose``) a prompt template file with its sha256 and the
parser that reads the answer. Loading a spec whose template does not hash to the pinned value is
an error: a changed prompt is a different judge.

Specs are found by name in, in order: folders passed explicitly, ``$HALLUSCOPE_JUDGES``
(``os.pathsep``-separated), the repository's ``judges/`` folder (source checkouts) and
``halluscope/_pinned/judges`` (installed wheels).
"""

from __future__ import annotations

import hashlib
import os
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from halluscope.config import read_toml_model
from halluscope.errors import ConfigError

#: The uses a spec can define, and the template placeholders each one must contain.
USES: dict[str, tuple[str, ...]] = {
    "verify": ("statement",),
    "classify_yes_no": ("answer",),
    "decompose": ("text",),
    # benchmark judges: the original scorers' own prompts (see halluscope/metrics/hallusionbench.py
    # and halluscope/metrics/mmhal.py)
    "hallusionbench_correctness": ("question", "reference", "prediction"),
    "hallusionbench_same": ("response1", "response2"),
    "mmhal_rating": ("image_content", "question", "standard_answer", "response"),
}
# Object HalBench's extraction prompt (halluscope/metrics/objhal.py), sent as a system message.
USES["objhal_extract"] = ("question", "answer")
#: Placeholders each use may contain (all are always filled in).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "verify": ("statement", "context", "kind", "subject", "value", "relation", "object"),
    "classify_yes_no": ("answer", "question"),
    "decompose": ("text",),
    "hallusionbench_correctness": ("question", "reference", "prediction"),
    "hallusionbench_same": ("response1", "response2"),
    "mmhal_rating": ("image_content", "question", "standard_answer", "response"),
}
PLACEHOLDERS["objhal_extract"] = ("question", "answer")
#: Roles a prompt can be sent as (most go as the user's message; some originals send a system one).
ROLES = ("user", "system")
SPEC_SUFFIX = ".toml"
#: Built-in providers whose adapters take a ``pin`` option (the cache key's model pin).
_PIN_TAKERS = frozenset({"openai", "azure", "vllm", "sglang", "ollama", "tgi", "lmstudio",
                         "anthropic", "gemini"})


class DecodingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # the ranges a request can carry (adapters.types.Decoding): a spec outside them is a bad
    # spec when it is loaded, not a crash when the judge is built. Strict: a number quoted in
    # the TOML ("0") or a boolean is a bad spec, never read as the number it looks like
    temperature: float = Field(0.0, ge=0, allow_inf_nan=False, strict=True)
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False, strict=True)
    max_tokens: int = Field(512, ge=1, strict=True)
    seed: int | None = Field(None, strict=True)
    stop: tuple[str, ...] = ()


class ImageSpec(BaseModel):
    """How images are sent: OpenAI ``detail``, the resize policy name, a longest-side cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detail: str | None = None
    policy: str | None = None
    max_side: int | None = Field(None, ge=16, strict=True)

    @field_validator("detail")
    @classmethod
    def _detail_the_api_accepts(cls, value: str | None) -> str | None:
        from halluscope.adapters.types import IMAGE_DETAILS
        if value is not None and value not in IMAGE_DETAILS:
            raise ValueError(f"expected one of {', '.join(IMAGE_DETAILS)}, got {value!r}")
        return value


class PromptSpec(BaseModel):
    """One use's prompt template (path relative to the spec file), its sha256 and parser;
    ``check_wording = false`` skips the check that the template asks for what its parser
    reads (:mod:`halluscope.judges.wording`), for a template that is right and trips it."""

    model_config = ConfigDict(extra="forbid")

    template: str
    sha256: str
    parser: str
    role: str = "user"
    check_wording: bool = Field(True, strict=True)
    _text: str = PrivateAttr(default="")

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        if v not in ROLES:
            raise ValueError(f"expected role one of {', '.join(ROLES)}, got {v!r}")
        return v

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.strip().lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError(f"expected 64 hex digits, got {v!r}")
        return v

    @property
    def text(self) -> str:
        return self._text

    def render(self, **values: Any) -> str:
        """The template with ``$name`` placeholders filled in."""
        return string.Template(self._text).safe_substitute(
            {k: "" if v is None else str(v) for k, v in values.items()})


class JudgeSpec(BaseModel):
    """A pinned judge (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    #: bumped when a pinned spec's decoding or image handling changes (a changed prompt is a
    #: new spec and name); run sheets record it beside the decoding, and the response cache's
    #: key holds the decoding, so answers given under the old settings are not reused; a whole
    #: number (strict: ``version = "2"`` is a bad spec, not read as 2)
    version: int = Field(1, ge=1, strict=True)
    description: str = ""
    provider: str
    model: str
    #: the model name the server reports in its answers, when it is not ``model``: on Azure
    #: OpenAI ``model`` is the deployment (the name requests go to) and the server reports the
    #: deployed model (``gpt-4o-2024-08-06``); the pin (``judge_fatal_mismatch``) checks the
    #: reported name against this, and the run sheet records both
    expected_model: str | None = Field(None, min_length=1)
    revision: str | None = None
    base_url: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    decoding: DecodingSpec = DecodingSpec()
    image: ImageSpec = ImageSpec()
    prompts: dict[str, PromptSpec]
    _path: Path | None = PrivateAttr(default=None)

    @field_validator("prompts")
    @classmethod
    def _uses(cls, v: dict[str, PromptSpec]) -> dict[str, PromptSpec]:
        unknown = set(v) - set(USES)
        if unknown:
            raise ValueError(f"unknown use(s) {sorted(unknown)}; expected some of {list(USES)}")
        if not v:
            raise ValueError("expected at least one prompt (verify, classify_yes_no, decompose)")
        return v

    @model_validator(mode="after")
    def _detail_only_where_sent(self) -> JudgeSpec:
        # ``detail`` is OpenAI's: a built-in provider of another protocol refuses it, so the
        # spec is bad when loaded (``judges list`` flags it), not a crash when the judge is
        # built. A third-party provider may take it: its factory decides.
        if not self.image.detail:
            return self
        from halluscope.adapters.registry import _OPENAI, BUILTIN, available_providers
        target = available_providers().get(self.provider.lower())
        if target in set(BUILTIN.values()) - {_OPENAI}:
            takers = ", ".join(k for k, v in BUILTIN.items() if v == _OPENAI)
            raise ValueError(f"image.detail is sent only by OpenAI-compatible providers "
                             f"({takers}), not by provider {self.provider!r}: remove it")
        return self

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def pinned_model(self) -> str:
        """The model name the server must report: ``expected_model``, else ``model``."""
        return self.expected_model or self.model

    @property
    def pin(self) -> str:
        """``provider/model`` plus ``@revision`` when there is one."""
        pin = f"{self.provider}/{self.model}"
        return f"{pin}@{self.revision}" if self.revision else pin

    def prompt(self, use: str) -> PromptSpec:
        if use not in self.prompts:
            raise ConfigError(f"judge {self.name!r} defines no {use!r} prompt (it has: "
                              f"{', '.join(self.prompts)})")
        return self.prompts[use]

    def adapter_options(self) -> dict[str, Any]:
        """Keyword options for the provider factory that this spec implies."""
        opts = dict(self.options)
        if self.revision and self.provider == "hf":
            opts.setdefault("revision", self.revision)
        elif self.revision and self.provider in _PIN_TAKERS:
            # a served judge pinned to a revision (vLLM serving a hub commit): the revision is
            # part of the adapter's pin, so that it enters the response cache's key -- another
            # revision served under the same name is another judge, not a cache hit
            opts.setdefault("pin", f"{self.model}@{self.revision}")
        if self.image.policy:
            opts.setdefault("image_policy", self.image.policy)
        if self.image.max_side:
            opts.setdefault("max_side", self.image.max_side)
        if self.image.detail:
            opts.setdefault("detail", self.image.detail)
        return opts

    def describe(self) -> dict[str, Any]:
        """What a run sheet records about this judge."""
        return {
            "name": self.name, "version": self.version, "pin": self.pin,
            "provider": self.provider, "model": self.model,
            # only where a spec has one: the run sheets of every other judge stay as they were
            **({"expected_model": self.expected_model} if self.expected_model else {}),
            "revision": self.revision, "spec_file": str(self._path) if self._path else None,
            "decoding": self.decoding.model_dump(mode="json"),
            "image": self.image.model_dump(mode="json", exclude_none=True),
            "options": self.options,
            "prompts": {use: {"template": p.template, "sha256": p.sha256, "parser": p.parser,
                              **({} if p.check_wording else {"check_wording": False})}
                        for use, p in self.prompts.items()},
        }


def deployment_hint(provider: str, expected_model: str | None, reported: str) -> str:
    """What to add to an Azure OpenAI spec whose ``model`` (the deployment) the server does
    not report, as Azure answers with the deployed model's name; empty for other specs."""
    if str(provider).lower() != "azure" or expected_model:
        return ""
    return (f"; on Azure OpenAI 'model' is the deployment and the server reports the model "
            f"deployed: if {reported!r} is the model this judge is meant to be, add "
            f"expected_model = {reported!r} to the spec")


def sha256_text_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spec_dirs(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Folders searched for specs, in order."""
    dirs = [Path(p).expanduser() for p in extra]
    env = os.environ.get("HALLUSCOPE_JUDGES")
    if env:
        dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    here = Path(__file__).resolve()
    dirs.append(here.parents[2] / "judges")
    dirs.append(here.parents[1] / "_pinned" / "judges")
    seen, out = set(), []
    for d in dirs:
        key = str(d.resolve()) if d.exists() else str(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def find_specs(extra: Iterable[str | Path] = ()) -> dict[str, Path]:
    """Spec name (file stem) -> file; the first folder that has a name wins."""
    found: dict[str, Path] = {}
    for d in spec_dirs(extra):
        if d.is_dir():
            for f in sorted(d.glob(f"*{SPEC_SUFFIX}")):
                found.setdefault(f.stem, f)
    return found


def load_spec(name_or_path: str | Path, *, extra: Iterable[str | Path] = (),
              check_hashes: bool = True) -> JudgeSpec:
    """Read, validate and hash-check a spec given by name or path."""
    p = Path(name_or_path).expanduser()
    if not (p.suffix == SPEC_SUFFIX and p.is_file()):
        specs = find_specs(extra)
        if str(name_or_path) not in specs:
            raise ConfigError(f"unknown judge {str(name_or_path)!r}; expected a spec file or "
                              f"one of: {', '.join(specs) or '(none found)'} (searched "
                              f"{', '.join(str(d) for d in spec_dirs(extra))})")
        p = specs[str(name_or_path)]
    spec = read_toml_model(p, JudgeSpec, "judge spec")
    spec._path = p
    from halluscope.judges.parsers import PARSERS
    for use, prompt in spec.prompts.items():
        tpl = (p.parent / prompt.template).resolve()
        if not tpl.is_file():
            raise ConfigError(f"{p}: prompts.{use}: template file not found: {tpl}")
        actual = sha256_text_file(tpl)
        if check_hashes and actual != prompt.sha256:
            raise ConfigError(f"{p}: prompts.{use}: template {prompt.template} has sha256 "
                              f"{actual}, but the spec pins {prompt.sha256}; a changed prompt "
                              f"is a different judge: restore the template, or update the "
                              f"hash in a new spec")
        prompt._text = tpl.read_text(encoding="utf-8")
        names = {m.group("named") or m.group("braced")
                 for m in string.Template.pattern.finditer(prompt._text)
                 if m.group("named") or m.group("braced")}
        missing = [n for n in USES[use] if n not in names]
        if missing:
            raise ConfigError(f"{p}: prompts.{use}: template {prompt.template} lacks the "
                              f"placeholder(s) {', '.join('$' + n for n in missing)}")
        unknown = names - set(PLACEHOLDERS[use])
        if unknown:
            raise ConfigError(f"{p}: prompts.{use}: unknown placeholder(s) "
                              f"{', '.join('$' + n for n in sorted(unknown))}; expected some "
                              f"of {', '.join('$' + n for n in PLACEHOLDERS[use])}")
        if prompt.parser not in PARSERS.get(use, {}):
            raise ConfigError(f"{p}: prompts.{use}: unknown parser {prompt.parser!r}; expected "
                              f"one of {', '.join(PARSERS.get(use, {}))}")
        _check_wording(p, use, prompt, tpl)
    return spec


def _check_wording(path: Path, use: str, prompt: PromptSpec, template: Path) -> None:
    """Refuse a template whose instructions contradict its parser (a confidence asked for on
    another scale, yes/no asked for where a JSON verdict is read): its answers would be read
    wrong or not at all (:mod:`halluscope.judges.wording`)."""
    if not prompt.check_wording:
        return
    from halluscope.judges.wording import wording_problems
    problems = wording_problems(prompt.parser, prompt.text)
    if problems:
        raise ConfigError(
            f"{path}: prompts.{use}: template {template} does not match its parser "
            f"{prompt.parser!r}: {'; '.join(problems)}. Reword the template or name the parser "
            f"that reads what it asks for (a template that is right: check_wording = false "
            f"under [prompts.{use}])")
