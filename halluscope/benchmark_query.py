"""Prompts of a pinned benchmark: ``halluscope query --benchmark NAME --data FILE_OR_DIR
--images DIR``.

The question file is the user's copy: it is found among ``--data`` and ``$HALLUSCOPE_DATA`` and
its sha256 checked against the manifest before anything is asked (a missing or altered file is an
:class:`~halluscope.errors.InputError` naming the file and its expected hash). Each question row
becomes one prompt line -- the row's own fields kept, so that ``halluscope audit`` finds what the
benchmark's scorer reads, plus ``id``, ``prompt`` (the manifest's template filled in), ``image``
(the row's image field, resolved under ``--images``) and ``benchmark`` (``name@version``). The
normal query path then answers them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from halluscope.atomicfiles import write_text_atomically
from halluscope.benchmark_specs import (FOUND, BenchmarkSpec, check_files, load_benchmark)
from halluscope.errors import ConfigError, InputError

log = logging.getLogger(__name__)


def read_questions(path: Path) -> list[dict[str, Any]]:
    """The rows of a question file: a JSON array, or JSON Lines."""
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    bad = next((i for i, r in enumerate(rows, 1) if not isinstance(r, dict)), None)
    if bad is not None:
        raise InputError(f"{path}: row {bad}: expected a JSON object, got "
                         f"{type(rows[bad - 1]).__name__}")
    return rows


def splits(spec: BenchmarkSpec) -> list[str]:
    """The splits a benchmark's question files hold, its default first (none: one file)."""
    others = [split_of(spec, f.role) for f in spec.files if f.role.startswith("questions_")]
    return [spec.default_split, *others] if spec.default_split else others


def split_role(spec: BenchmarkSpec, split: str | None) -> str:
    """The role of the question file of ``split`` (None: the default one), else
    :class:`InputError` naming the splits there are."""
    if split is None or split == spec.default_split:
        return "questions"
    if split in splits(spec):
        return f"questions_{split}"
    there = splits(spec)
    raise InputError(f"--split {split}: benchmark {spec.pin} has " + (
        f"the splits {', '.join(there)} (default {spec.default_split})" if there
        else "one question file, no splits to choose from"))


def questions_file(spec: BenchmarkSpec, data: str | Path | list | None, split: str | None = None
                   ) -> Path:
    """The user's verified copy of ``spec``'s questions file (of ``split``: see
    :func:`split_role`), else :class:`InputError`."""
    role = split_role(spec, split)
    status = next(s for s in check_files(spec, data) if s.file.role == role)
    if status.status != FOUND:
        raise InputError(f"benchmark {spec.pin}: {status.message()}")
    return status.path  # type: ignore[return-value]


def benchmark_prompts(spec: BenchmarkSpec, questions: Path, images: str | Path | None
                      ) -> list[dict[str, Any]]:
    """One prompt line per question row (see the module docstring). An image the row names
    that is not under ``images`` is an :class:`InputError` naming it."""
    if spec.prompt is None:
        raise ConfigError(f"benchmark {spec.pin} poses no prompt (its manifest has no [prompt])")
    p = spec.prompt
    root = Path(images).expanduser() if images is not None else None
    out, seen, missing = [], set(), []
    for number, row in enumerate(read_questions(questions), 1):
        try:
            prompt = p.render(row)
        except ConfigError as exc:
            raise InputError(f"{questions}: row {number}: {exc}") from None
        rid = p.record_id(row, number)
        if rid in seen:
            raise InputError(f"{questions}: row {number}: id {rid!r} repeats an earlier row "
                             f"(id_field {p.id_field!r})")
        seen.add(rid)
        line: dict[str, Any] = {**row, "id": rid, "prompt": prompt, "benchmark": spec.pin}
        name = row.get(p.image_field) if p.image_field else None
        if name is not None and p.image_file:
            try:
                name = p.image_file.format(**row)
            except (KeyError, IndexError, ValueError) as exc:
                raise InputError(f"{questions}: row {number}: cannot name its image with "
                                 f"{p.image_file!r}: {type(exc).__name__}: {exc}") from None
        name = None if name is None or name == "" else str(name)
        if name and p.image_basename:
            name = str(name).split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        line.pop("image", None)
        if name:
            if root is None:
                raise InputError(f"benchmark {spec.pin} asks about images: pass --images DIR "
                                 f"(the folder holding e.g. {name})")
            path = (root / name).resolve()
            if not path.is_file():
                missing.append(f"{name} (row {number})")
            line["image"] = str(path)
        out.append(line)
    if missing and not root.is_dir():     # said as such, not as every image missing from it
        raise InputError(f"--images {images}: expected the folder of {spec.pin}'s images, got "
                         f"{'a file' if root.exists() else 'no such folder'} (its rows name "
                         f"{len(missing)} image(s), e.g. {missing[0]})")
    if missing:
        raise InputError(f"{len(missing)} image(s) of {spec.pin} not found under {root}: "
                         f"{', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
    return out


def write_benchmark_prompts(name: str, data: str | Path | list | None, images: str | Path | None,
                            dest: Path, out: Path | None = None, split: str | None = None, *,
                            resume: bool = False, samples: int = 1,
                            check_settings: Callable[[str | None], None] | None = None
                            ) -> tuple[Path, str | None, dict[str, Any]]:
    """Verify the question file, build the prompts and write them to ``dest`` (JSON Lines);
    returns the file, the manifest's system prompt (``None`` when it has none) and what the
    query's run sheet records of the benchmark (:func:`benchmark_entry`). With
    ``out`` (the answers file they are asked for), a changed file is written only while this
    process holds ``out``'s lock: :class:`~halluscope.adapters.outlock.OutputLocked` when a
    running query holds it, and the running one's prompts are left as they are. With
    ``resume`` (the query will resume ``out``, asking ``samples`` answers a prompt), prompts
    that the resume would refuse (:func:`check_resumable`) are refused first, the prompts
    file of ``out``'s answers left as it is; so are a model and settings the resume would
    refuse: ``check_settings(system)`` (the manifest's system prompt) raises to refuse them."""
    spec = load_benchmark(name)
    questions = questions_file(spec, data, split)
    lines = benchmark_prompts(spec, questions, images)
    dest.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if not (dest.is_file() and dest.read_bytes() == text.encode("utf-8")):
        # written before the output's lock is taken: a second command on the same --out
        # (refused then) must not rewrite in place the file a running one still reads. A new
        # file renamed into place leaves the running one reading its own, whole; the same
        # prompts leave the file untouched
        if resume and out is not None:
            if check_settings is not None:
                check_settings((spec.prompt.system or None) if spec.prompt else None)
            check_resumable(out, [json.loads(t) for t in text.splitlines()], samples)
        _write_unless_running(dest, text, out)
    log.info("benchmark %s: %d prompts from %s -> %s", spec.pin, len(lines), questions, dest)
    return (dest, (spec.prompt.system or None) if spec.prompt else None,
            benchmark_entry(spec, split_role(spec, split), questions, images, dest, len(lines)))


def benchmark_entry(spec: BenchmarkSpec, role: str, questions: Path, images: str | Path | None,
                    prompts: Path, count: int) -> dict[str, Any]:
    """The run sheet's ``benchmark``: the manifest's name and version, the metric that scores
    it and the judge that metric asks (:func:`scoring_judge`: an audit's, never this run's),
    the split asked, the question file read (its path and the sha256 it was checked to have),
    the images folder and the prompts file written from them."""
    pinned = spec.file(role)
    return {"name": spec.name, "version": spec.version, "pin": spec.pin,
            "metric": spec.metric, "judge": scoring_judge(spec),
            "split": split_of(spec, role),
            "questions": {"role": role, "name": pinned.name, "path": str(questions.resolve()),
                          "sha256": pinned.sha256, "bytes": questions.stat().st_size},
            "images": str(Path(images).expanduser().resolve()) if images is not None else None,
            "prompts": str(prompts.resolve()), "prompt_count": count}


def scoring_judge(spec: BenchmarkSpec) -> dict[str, Any] | None:
    """The judge the benchmark's scorer asks (its manifest's ``judge``: name, version and
    pinned model, from its spec in ``judges/``), which an audit of the answers asks with
    ``--judge``; the query asks none. ``None`` when it has none; a spec that cannot be read
    is named with the reason."""
    if not spec.judge:
        return None
    from halluscope.judges.spec import load_spec
    try:
        judge = load_spec(spec.judge)
    except ConfigError as exc:
        return {"name": spec.judge, "unreadable": str(exc)}
    return {"name": judge.name, "version": judge.version, "pin": judge.pin}


def split_of(spec: BenchmarkSpec, role: str) -> str | None:
    """The split a question file's role stands for (``questions_popular``: popular); the
    ``questions`` file's is the manifest's ``default_split`` (None: the benchmark has one)."""
    return role.removeprefix("questions_") if role != "questions" else spec.default_split


def check_resumable(out: Path, lines: list[dict[str, Any]], samples: int = 1) -> None:
    """An :class:`InputError` when resuming ``out`` with the prompt ``lines`` would be refused
    for an answered line (asked for another prompt, image, image bytes or question row than
    its id has now: :class:`~halluscope.adapters.resume_checks.AnsweredLineChecks`, the
    query's own checks), or for a file with lines but no run sheet. Reads ``out`` only: the
    query refused such a resume only after the new prompts had replaced the file its answers
    were asked from."""
    from types import SimpleNamespace

    from halluscope.adapters.outlock import _check_has_run_sheet, read_done
    from halluscope.adapters.prompts import PromptItem, iter_prompts
    from halluscope.adapters.resume_checks import AnsweredLineChecks
    if not out.is_file():
        return
    _check_has_run_sheet(out)
    done = read_done(out, rewrite=False)
    if not done:
        return
    checks = AnsweredLineChecks()
    checks.done, checks.out_path, checks.out_dir, checks.client = (
        done, out, out.resolve().parent, None)
    # the notes these checks make once (URL images, lines without image_sha256) are the
    # query's to make: counted as made already here
    checks.counts, checks.undigested = SimpleNamespace(url_images_unchecked=1), True
    for item in iter_prompts(lines):
        if not isinstance(item, PromptItem):
            continue        # the query reports a bad line
        for k in range(samples):
            task = item.id if samples == 1 else f"{item.id}#{k}"
            if done.get(task) is not None:
                checks._check_unchanged(item, task)


def _write_unless_running(dest: Path, text: str, out: Path | None) -> None:
    """Write ``dest`` while holding ``out``'s lock (none: without one); the lock file is
    removed again, for the query to take its own. The lock is the query's own, taken on the
    resolved path (:func:`~halluscope.adapters.outlock.prepare_output`): ``--out`` given as a
    symbolic link took ``<link>.lock``, which a query running on the same file through its real
    path (or through the link: it locks the file the link names) did not hold, and the running
    query's prompts file was rewritten."""
    if out is None:
        write_text_atomically(dest, text)
        return
    from halluscope.adapters.outlock import lock_output, unlock_output
    out = out.resolve()
    lock_path = out.with_name(out.name + ".lock")
    held = lock_output(out, lock_path=lock_path)
    try:
        write_text_atomically(dest, text)
    finally:
        if held is not None:
            unlock_output(held, remove=lock_path)


__all__ = ["benchmark_entry", "benchmark_prompts", "check_resumable", "questions_file",
           "scoring_judge", "split_of", "split_role", "splits", "read_questions",
           "write_benchmark_prompts"]
