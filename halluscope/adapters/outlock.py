"""The output file of ``halluscope query``: the lock that keeps two runs from writing it
(``<out>.lock``, held with ``fcntl.flock``, exclusive and non-blocking, holding the writer's
process id; none where ``fcntl`` does not exist, Windows); when a run resumes, what it already
answers and whether those answers are this run's kind (a run sheet that cannot be read is a
usage error, not a pass), and which of its answers are for ids the prompts file no longer holds
(kept, warned about and counted in the run sheet: :func:`ids_not_in_prompts`); putting the lines
back in prompt order (:func:`put_in_order`); and the run sheet beside it
(``<out>.runsheet.json``, always written whole through a temporary file and a rename)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from collections.abc import Iterator
from typing import Any

from halluscope.adapters.prompts import copied_fields
from halluscope.errors import ConfigError, InputError
from halluscope.redact import redact_mapping
from halluscope.runsheet import query_sheet_path
from halluscope.atomicfiles import replace_atomically, write_json_atomically

log = logging.getLogger(__name__)


class OutputLocked(InputError):
    """Another process is writing the same output file."""


#: What :func:`lock_output` says by default when another process holds the lock.
QUERY_LOCKED = ("{out} is being written by another halluscope query (process {pid}, lock "
                "{lock}); wait for it to finish or pass another --out")


def lock_output(out_path: Path, *, lock_path: Path | None = None,
                message: str = QUERY_LOCKED):
    """Hold ``lock_path`` (default ``<out>.lock``; exclusive, non-blocking) and write this
    process's id into it; :class:`OutputLocked` when another process holds it, with
    ``message`` filled in (``{out}``, ``{pid}`` of the holder, ``{lock}``). Returns the open
    lock file (None where ``fcntl`` does not exist). A lock file that its holder removed between
    this process's opening and locking it (:func:`unlock_output` with ``remove``) is opened
    again: locking the removed one would let a third process lock a new file beside it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        return None
    if lock_path is None:
        lock_path = out_path.with_name(out_path.name + ".lock")
    for _ in range(100):
        fh = open(lock_path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise OutputLocked(message.format(out=out_path, pid=holder, lock=lock_path)) \
                from None
        try:
            same = os.path.samestat(os.fstat(fh.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        fh.close()        # locked a file its holder had just removed: lock the new one
    else:
        raise OutputLocked(message.format(out=out_path, pid="?", lock=lock_path)
                           + " (its lock file kept being replaced)")
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def unlock_output(fh, *, remove: Path | None = None) -> None:
    """Empty and release the lock file that :func:`lock_output` returned, and close it;
    with ``remove`` (its path), delete it first, still locked, if the path is still that file.

    Removing it is safe against a second run: its lock is non-blocking, so while this one
    holds the file it is refused, and a run that opened the file before it was removed and
    locks it after finds it gone or replaced (:func:`lock_output` compares the file it locked
    with the path) and locks the path again. A path that names another file (the lock file
    removed by hand and made again by another run) is left to that run."""
    import fcntl
    try:
        if remove is not None:
            try:
                if os.path.samestat(os.fstat(fh.fileno()), os.stat(remove)):
                    remove.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
        fh.seek(0)
        fh.truncate()
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


__all__ = ["OutputLocked", "QUERY_LOCKED", "lock_output", "unlock_output"]


def read_done(out: Path, *, retry_failed: bool | None = None, rewrite: bool = True,
              drop: frozenset[str] | set[str] = frozenset()) -> dict[str, tuple | None]:
    """Ids already answered in ``out``, each with the prompt, image and other fields of the
    prompt line it was answered for (:func:`~halluscope.adapters.prompts.copied_fields`), the
    image's sha256 the line records (None in a file written before lines carried it), the
    line's number in the file and whether it is a refusal kept (``"refused": true``: a
    failure the same request meets every time);
    rewrites the file without the error lines asked again (``retry_failed`` None: all but
    refusals; True: all; False: none), the ids in ``drop`` and a line cut short, so that
    appending never duplicates an id (without ``rewrite``: reads only, for a check made
    before the run)."""
    if not out.is_file():
        return {}
    keep: list[str] = []
    done: dict[str, tuple | None] = {}
    dropped = 0
    last_open = False   # the last line lacks its newline (appending would glue two answers)
    cut = None          # a line that is not JSON: only the last one may be (a write cut short)
    with open(out, encoding="utf-8", errors="replace") as fh:
        for lineno, text in enumerate(fh, 1):
            if not text.strip():
                continue
            if cut is not None or not text.lstrip().startswith("{"):
                raise InputError(f"{out}:{cut or lineno}: expected a line of halluscope query "
                                 f"output (a JSON object), got other text; the file is left as "
                                 f"it is (write to another --out, or pass --restart to replace "
                                 f"it)")
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                cut = lineno
                dropped += 1  # an interrupted write, if it is the last line
                continue
            rid = obj.get("id") if isinstance(obj, dict) else None
            if rid is None:     # query writes an id on every line: this file is something else
                raise InputError(f"{out}:{lineno}: expected a line of halluscope query output "
                                 f"(with its 'id'), got one without; the file is left as it "
                                 f"is (write to another --out, or pass --restart to replace it)")
            if str(rid) in done or str(rid) in drop or ("error" in obj and _ask_again(
                    obj, retry_failed)):
                dropped += 1
                continue
            if not isinstance(obj.get("response"), str) and "error" not in obj:
                # query writes an answer or an error on every line: a line with neither is a
                # prompt (the prompts file given as --out?) and was taken for answered
                raise InputError(f"{out}:{lineno}: expected a line of halluscope query output "
                                 f"(with 'response' or 'error'), got one with neither (id "
                                 f"{str(rid)!r:.60}); the file is left as it is (is it the "
                                 f"prompts file? write to another --out)")
            done[str(rid)] = ((obj.get("prompt"), obj.get("image"), copied_fields(obj),
                               obj.get("image_sha256"), lineno, len(keep) + 1,
                               "error" in obj)
                              if isinstance(obj.get("prompt"), str) else None)
            keep.append(text if text.endswith("\n") else text + "\n")
            last_open = not text.endswith("\n")
    # each entry ends with its line in the file as it will be: the kept lines' places once
    # the dropped ones are gone
    done = {k: v and (*v[:4], v[5] if dropped else v[4], v[6]) for k, v in done.items()}
    if not rewrite:
        return done
    if keep and not dropped and last_open:
        with open(out, "a", encoding="utf-8") as fh:     # the next answer on a line of its own
            fh.write("\n")
    if dropped:
        def write(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(keep)
        replace_atomically(out, write)
        log.info("%s: kept %d answered lines, dropped %d to ask again", out, len(keep), dropped)
    return done


def _ask_again(failed: dict[str, Any], retry_failed: bool | None) -> bool:
    """Whether a resume asks the ``failed`` line again: every one with ``retry_failed``, none
    with ``retry_failed=False``, else all but refusals (``"refused": true``), which the same
    request meets every time."""
    return retry_failed if retry_failed is not None else failed.get("refused") is not True


def answers_of(api: Any, decoding: Any, system: str | None, *, samples: int = 1,
               detail: str | None = None) -> dict[str, Any]:
    """What makes two runs' answers the same kind, as their run sheets record it. The model's
    description leaves out what an adapter only knows once its model is loaded
    (``loaded_state_keys``: a local model's device, dtype and class, ``auto`` before it loads),
    or every resume of a finished run would differ from it."""
    loaded = frozenset(getattr(api, "loaded_state_keys", ()))
    model = {k: v for k, v in api.describe().items() if k not in loaded}
    return redact_mapping({"model": model, "decoding": decoding.to_dict(),
                           "system_prompt": system, "samples": samples, "detail": detail})


def _write_started(out_path: Path, answers: dict[str, Any]) -> None:
    """A run sheet saying what this run's answers are, written before the first answer: a
    run killed before its own run sheet leaves this one, so that a resume with other settings
    is still refused, and the file does not look like a finished run."""
    sheet = {"halluscope_runsheet": 1, "kind": "query", **answers,
             "aborted": "the run did not finish (killed before it wrote its run sheet)"}
    write_json_atomically(query_sheet_path(out_path), sheet)


def _check_has_run_sheet(out_path: Path) -> None:
    """A usage error for a non-empty output file without the run sheet every query run writes
    beside it (from its start): another tool's file, or another model's answers, which a resume
    would mix this run's into (or rewrite)."""
    sheet = query_sheet_path(out_path)
    if out_path.is_file() and out_path.stat().st_size and not sheet.is_file():
        raise InputError(f"{out_path} holds lines but no run sheet ({sheet.name})"
                         f": it was not written by halluscope query, or its run sheet was "
                         f"removed; resuming would mix this run's answers into it. Pass "
                         f"--restart to replace it, or write to another --out")


def check_out_path(out_path: Path, prompts: Any = None) -> None:
    """A usage error (:class:`InputError`) for an ``--out`` query cannot write: a folder, the
    prompts file itself, a compressed name. Also checked before ``--benchmark`` writes its
    prompts file beside it (``<out>.prompts.jsonl``, after the file ``--out`` names), which a
    refused ``--out`` left behind."""
    if out_path.is_dir():
        raise InputError(f"--out {out_path}: expected the path of a JSON-lines file to write, "
                         f"got a folder")
    _check_target(out_path, prompts)


def _check_target(out_path: Path, prompts: Any) -> None:
    """A usage error for an output path query cannot write: the prompts file itself (it would
    be emptied, or taken for answers), a compressed name (query writes plain lines)."""
    if isinstance(prompts, (str, Path)) and Path(prompts).exists() and out_path.exists() \
            and Path(prompts).resolve() == out_path.resolve():
        raise InputError(f"--out {out_path}: expected a file other than the prompts file "
                         f"{prompts}; writing answers there would replace the prompts")
    if out_path.suffix.lower() in (".gz", ".bz2", ".xz", ".zst", ".zip"):
        raise InputError(f"--out {out_path}: expected a plain JSON-lines file (.jsonl): query "
                         f"writes one answer per line as it goes; compress it afterwards")


def _check_same_answers(out_path: Path, wanted: dict[str, Any]) -> bool:
    """Resuming into a file another model (decoding, system prompt) answered would mix two
    runs' answers in one file under this run's run sheet: a usage error. So is a run sheet
    that cannot be read (cut short, not JSON, not a query run's): it can no longer tell.
    True when the file is to be started again instead: another run's, but holding no answer,
    only its failed requests (a mistyped model's 404s, fixed since), which a resume would ask
    again anyway: nothing of it would be mixed in (said as a warning)."""
    sheet_path = query_sheet_path(out_path)
    if not (out_path.is_file() and out_path.stat().st_size and sheet_path.is_file()):
        return False
    try:
        sheet = json.loads(sheet_path.read_text(encoding="utf-8"))
        if not isinstance(sheet, dict):
            raise ValueError(f"expected a JSON object, got a JSON {type(sheet).__name__}")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"{sheet_path}: cannot read the run sheet of {out_path} ({reason}); "
                         f"without it a resume cannot tell which model and settings answered "
                         f"the lines there. Pass --restart to ask everything again, or write "
                         f"to another --out") from None
    differ = _differences(sheet, wanted)
    if differ:
        shown = "; ".join(f"{k}: {then!r:.120} then, {now!r:.120} now"
                          for k, then, now in differ)
        failed = _failures_only(out_path)
        if failed:
            log.warning("%s holds no answer, only %d failed request(s) of another run (%s): "
                        "started again for this one", out_path, failed, shown)
            return True
        raise ConfigError(f"{out_path} holds answers of another run ({shown}); resuming would "
                          f"mix them in one file: pass --restart to start it again, or write "
                          f"to another --out")
    return False


def _failures_only(out_path: Path) -> int:
    """How many lines ``out_path`` holds when each is a failed request's (a JSON object with
    an ``error`` and no answer); 0 when any line is something else (an answer, a line cut
    short, a prompt, a blank line is not counted)."""
    failed = 0
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        for text in fh:
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError:
                return 0
            if not (isinstance(obj, dict) and "error" in obj
                    and not isinstance(obj.get("response"), str)):
                return 0
            failed += 1
    return failed


def _differences(sheet: dict[str, Any], wanted: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(name, then, now)`` for each entry of ``wanted`` that the run sheet records otherwise;
    the model's description entry by entry (``model.pin``), over the entries both name: one
    an older or newer run sheet lacks, or a loaded model's state, decides nothing."""
    out = []
    for k, now in wanted.items():
        if k not in sheet:
            continue
        then = sheet[k]
        if isinstance(then, dict) and isinstance(now, dict):
            out += [(f"{k}.{sub}", then[sub], v) for sub, v in now.items()
                    if sub in then and then[sub] != v]
        elif then != now:
            out.append((k, then, now))
    return out


def _make_parent(out_path: Path) -> None:
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_path}: cannot create its folder {out_path.parent} "
                         f"({exc.strerror or exc})") from None


#: How many ids :func:`ids_not_in_prompts` names as examples.
EXAMPLE_IDS = 5


def ids_not_in_prompts(lines: Any, prompt_ids: Any) -> dict[str, Any] | None:
    """``{"count", "examples"}`` for the answer lines (``(answer id, prompt id)`` pairs of an
    output file, in file order: :func:`answer_prompt_id`) whose prompt id ``prompt_ids`` lacks;
    the examples are answer ids. ``None`` when there are none. A resume keeps such lines (they
    are answers the file holds, asked by an earlier prompts file), and says so."""
    wanted = set(prompt_ids)
    stale = [rid for rid, pid in lines if pid not in wanted]
    return {"count": len(stale), "examples": stale[:EXAMPLE_IDS]} if stale else None


def answer_prompt_id(obj: dict[str, Any]) -> str:
    """The id of the prompt a query output line answers: its ``sample_of`` when it is one of
    several samples (id ``<sample_of>#<k>``, see :mod:`halluscope.adapters.query`), else its
    id. Read from the field, not by cutting the id at a '#': a prompt id may hold one."""
    rid, of = str(obj["id"]), obj.get("sample_of")
    if of is not None and rid == f"{of}#{obj.get('sample_index')}":
        return str(of)
    return rid


def not_in_prompts_note(out_path: Path, stale: dict[str, Any]) -> str:
    """One line saying that ``out_path`` keeps answers for ids the prompts file lacks."""
    more = ", ..." if stale["count"] > len(stale["examples"]) else ""
    return (f"{out_path}: keeps {stale['count']:,} answer line(s) whose id is not in the "
            f"prompts file ({', '.join(map(repr, stale['examples']))}{more}): answers to "
            f"earlier prompts, left in the file as they are (--restart starts the file again)")


def _file_objects(out_path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of the output file's lines, in file order (a line cut short or not
    an object is left to the resume's reader, which says so)."""
    with open(out_path, encoding="utf-8", errors="replace") as fh:
        for text in fh:
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def _file_ids(out_path: Path) -> list[tuple[str, str]]:
    """The ids of the output file's lines (answers and failures), in file order, each with
    the id of the prompt it answers (:func:`answer_prompt_id`)."""
    return [(str(obj["id"]), answer_prompt_id(obj)) for obj in _file_objects(out_path)
            if obj.get("id") is not None]


def prepare_output(out_path: Path | None, *, resume: bool, retry_failed: bool | None = None,
                   answers: dict[str, Any] | None = None, prompts: Any = None,
                   prompt_ids: Any = None, check_kept: Any = None, before_write: Any = None):
    """Lock ``out_path`` and read what it already answers (or start it afresh): the lock and
    the ids done (``answers``: what this run's answers are, checked against the file's run
    sheet when resuming, and written to a first run sheet; ``prompt_ids``: the prompts' ids,
    to warn about answers kept for ids they lack; ``check_kept(done)``: the checks of the
    answered lines a resume keeps, which raise to refuse it, and return the ids of kept
    refusals to drop and ask again (their request changed since); ``before_write()``: called once
    the checks passed, before anything is written, for what the run must not create when it
    is refused: the response cache, which may be a new folder inside the output's). A resume
    is refused before anything is written: the output file, its run sheet and its lock file
    are as they were (a lock file this call made is removed again). The lock is taken on the resolved path,
    so a symbolic link to the file is the same file."""
    if out_path is None:
        if before_write is not None:
            before_write()
        return None, {}
    check_out_path(out_path, prompts)
    _make_parent(out_path)
    lock_path = out_path.resolve().with_name(out_path.resolve().name + ".lock")
    made_lock = not lock_path.exists()
    lock = lock_output(out_path.resolve())
    try:
        if resume:
            _check_has_run_sheet(out_path)
            # another run's file with no answer in it is started again (its failures only)
            resume = answers is None or not _check_same_answers(out_path, answers)
        if resume:
            stale: Any = frozenset()        # refusals of a request that changed since
            if check_kept is not None:      # read only: a refusal leaves the file as it is
                stale = check_kept(read_done(out_path, retry_failed=retry_failed,
                                             rewrite=False)) or frozenset()
            if before_write is not None:
                before_write()
            done = read_done(out_path, retry_failed=retry_failed, drop=stale)
            stale = (ids_not_in_prompts(_file_ids(out_path), prompt_ids)   # the lines kept
                     if prompt_ids is not None and done else None)
            if stale:
                log.warning("%s", not_in_prompts_note(out_path, stale))
        else:
            if before_write is not None:
                before_write()
            if out_path.exists():
                out_path.unlink()
            done = {}
        if answers is not None:
            _write_started(out_path, answers)
        return lock, done
    except BaseException:
        if lock is not None:
            unlock_output(lock, remove=lock_path if made_lock else None)
        raise


def file_models(out_path: Path) -> dict[str, int]:
    """How many answers of the output file each model gave (after a resume, the file holds
    earlier runs' answers as well as this run's)."""
    from collections import Counter
    found = Counter(obj["model"] for obj in _file_objects(out_path)
                    if isinstance(obj.get("response"), str) and isinstance(obj.get("model"), str))
    return dict(found)


def file_unreported(out_path: Path) -> int:
    """How many answers of the output file came from a server that named no model (their
    lines say ``"model": null`` beside the ``requested_model``)."""
    return sum(1 for obj in _file_objects(out_path)
               if isinstance(obj.get("response"), str) and obj.get("model", "") is None)


def put_in_order(out: Path, rank: dict[str, int]) -> bool:
    """Rewrite ``out`` with its lines in prompt order (``rank``: output id -> position; lines
    whose id ``rank`` lacks, and a last line cut short, after the others in their order),
    atomically; whether it had to be rewritten. A resume appends what it asks again after
    the lines answered before, and a stopped run writes answers behind a gap; this puts the
    file back in the order the prompts have. Reads offsets, not the lines, into memory."""
    entries: list[tuple[int, int, int, int]] = []     # (rank, line index, offset, length)
    offset = 0
    with open(out, "rb") as fh:
        for index, raw in enumerate(fh):
            if raw.strip():
                try:
                    obj = json.loads(raw)
                    rid = str(obj.get("id")) if isinstance(obj, dict) else None
                except ValueError:
                    rid = None
                entries.append((rank.get(rid, len(rank)), index, offset, len(raw)))
            offset += len(raw)
    ordered = sorted(entries)
    if ordered == entries:
        return False

    def write(tmp: Path) -> None:
        with open(out, "rb") as src, open(tmp, "wb") as dst:
            for _, _, start, length in ordered:
                src.seek(start)
                data = src.read(length)
                dst.write(data if data.endswith(b"\n") else data + b"\n")
    replace_atomically(out, write)
    log.info("%s: put %d lines back in prompt order", out, len(ordered))
    return True


# -- the run sheet of a query run --------------------------------------------------------
def _group_dict(g: Any) -> dict[str, Any]:
    """A failure group (:class:`~halluscope.adapters.query.FailureGroup`) as the run sheet
    lists it."""
    return {"error": g.kind, "status": g.status, "message": g.message, "count": g.count,
            "first_ids": list(g.ids)}


def _runsheet(api, client, store, prompts, out_path, decoding, samples, max_connections, counts,
              started, elapsed, aborted, argv, *, system, allow_urls,
              offline=False, detail=None, prompt_ids=None,
              env: dict[str, Any] | None = None, retry=None,
              timeout: float | None = None, benchmark: Any = None) -> dict[str, Any]:
    """The run sheet of a query run (``env``: :func:`~halluscope.runsheet.environment`, when
    the caller worked it out ahead; ``retry`` and ``timeout``: the
    :class:`~halluscope.adapters.client.RetryPolicy` and seconds per attempt, which decide which
    records fail; ``benchmark``: what ``--benchmark`` asked, its question file and split)."""
    from halluscope.runsheet import environment, file_entry, redact
    files = []
    if isinstance(prompts, (str, Path)):
        files.append(file_entry(prompts, "prompts"))
    if out_path is not None:
        files.append({"role": "outputs", "path": str(out_path)})
    reported, unreported = dict(client.reported_models), client.unreported_models
    if out_path is not None and out_path.is_file():
        reported = file_models(out_path)  # the whole file: earlier runs' answers too
        unreported = file_unreported(out_path)
    mismatched = {m: n for m, n in reported.items() if m != api.model}
    stale = (ids_not_in_prompts(_file_ids(out_path), prompt_ids)
             if prompt_ids is not None and out_path is not None and out_path.is_file() else None)
    return {
        "halluscope_runsheet": 1,
        "command": argv,
        "kind": "query",
        "started": started.isoformat(),
        "wall_time_s": round(elapsed, 3),
        "environment": env if env is not None else environment(),
        "files": files,
        "model": redact(api.describe()),
        "decoding": decoding.to_dict(),
        "samples": samples,
        "detail": detail,
        "system_prompt": system,
        **({"benchmark": dict(benchmark)} if benchmark else {}),
        "allow_urls": allow_urls,
        "offline": offline,
        "max_connections": max_connections,
        **({"retry": {"max_attempts": retry.max_attempts, "timeout_s": timeout,
                      "base_delay_s": retry.base_delay, "max_delay_s": retry.max_delay,
                      "max_retry_after_s": retry.max_retry_after}} if retry is not None else {}),
        # total: the whole prompt set (prompts x samples); to_ask: those this run set out to
        # ask (an older run sheet, without to_ask, said the latter as total)
        "counts": {"total": counts.total, "skipped": counts.skipped, "to_ask": counts.to_ask,
                   "cached": counts.cached,
                   "new": counts.new, "failed": counts.failed, "refused": counts.refused,
                   "kept_failed": counts.kept_failed, "truncated": counts.truncated,
                   "filtered": counts.filtered, "reasoning": counts.reasoning,
                   "thought_only": counts.thought_only, "think_close": counts.think_close,
                   "url_images_unchecked": counts.url_images_unchecked},
        "reported_models": reported,
        "model_not_reported": unreported,
        "model_mismatch": bool(mismatched),
        "client": client.describe(),
        "cache": store.describe() if store is not None else None,
        "aborted": aborted,
        **({"not_in_prompts": stale} if stale else {}),
    }


def interruption(exc: BaseException) -> str:
    """What the run sheet's ``aborted`` says about an interrupted run."""
    from halluscope._ray import terminating_signal
    sig = terminating_signal(exc)
    how = sig.name if sig is not None else "Ctrl-C"
    return f"interrupted ({how}); run again to ask what is left"
