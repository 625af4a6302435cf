"""Query a model over a prompts file: concurrent, cached, resumable (``halluscope query``).

Prompts are JSON Lines with ``"id"``, ``"image"`` and ``"prompt"`` (POPE question files --
``question_id``/``image``/``text``/``label`` -- and the other formats
:func:`halluscope.records.record_from_dict` reads work as they are). Each output line repeats its
prompt line and adds ``"response"`` and ``"model"`` (the model name the server reported;
``null`` when it named none), ``"requested_model"`` beside it when that is not the model asked, or
``"error"`` when the call failed after its retries (its ``"model"`` null, as no server named one,
beside ``"requested_model"``); the file is what ``halluscope audit`` reads.

* **Sampling.** With ``samples=N`` every prompt is asked N times; the output lines get the ids
  ``<id>#<k>`` and the fields ``"sample_of": <id>`` and ``"sample_index": k`` (what
  :mod:`halluscope.metrics.consistency` groups by). Greedy decoding (temperature 0) asks the model
  once and repeats the answer; sampled decoding caches each sample index separately.
* **Order.** Lines are written in prompt order as soon as every earlier line is done (a bounded
  window of requests runs ahead), each one flushed at once. A run that stops (an unreachable
  server, refused credentials, Ctrl-C) still writes the answers it already got behind the
  record that stopped it, leaving a gap there; a run that wrote a line before one it follows
  (a resume asking a failed or missing record again) puts the file back in prompt order when it
  ends (rewritten whole through a temporary file).
* **Resume.** Re-running with the same output file skips every id already answered there. Lines
  with an ``"error"`` and a line cut short by an interruption are dropped and asked again, so the
  file never holds an id twice; a failure the same request meets every time (``"refused":
  true``: a provider's filter, the model declining, HTTP 400/413/415/422) is kept unless
  ``retry_failed`` (or its prompt, image or fields changed since: then it is another
  request). Answers that arrived but were not yet written are in the cache, so finishing an interrupted run makes no repeated model calls. A line answered for another
  prompt or image than its id has now is a usage error; images are compared as they are
  written (a signed URL's signature redacted), so a signature that changed is the same image;
  a local image's bytes are compared too (``image_sha256``), a URL's are not (it is not fetched
  again: ``counts.url_images_unchecked``, and a warning).
  The run sheet beside the output says which model and settings answered it: a resume with
  others, or with a run sheet that cannot be read, is a usage error.
* **Failures.** An authentication failure stops the run (every further call would fail too), and
  so does a server that cannot be reached (a few connection failures in a row, see
  :class:`~halluscope.adapters.types.ServerUnreachable`); other failures are written with
  ``"error"`` (the error type, HTTP status and the server's message) and the run goes on.
  :attr:`QueryResult.failures` groups them by cause.
* **One writer.** ``<out>.lock`` is held (``fcntl.flock``) while a run writes ``out``; a second
  run on the same file raises :class:`OutputLocked` naming the process that holds it. The run
  removes the lock file when it ends (a killed run leaves it, naming its process id; the OS
  released its lock, so the next run takes it).
* **Secrets.** Output lines, the run sheet and cache rows pass through :mod:`halluscope.redact`.
* **Offline.** With ``offline=True`` (or ``$HALLUSCOPE_OFFLINE``) every answer must come from the
  cache: no connection is opened, no API key is needed, and the first miss stops the run with
  :class:`~halluscope.errors.CacheMiss` naming the model, the record id and the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from halluscope._json import dumps_utf8
from halluscope.adapters.cache import ResponseCache, open_response_cache
from halluscope.adapters.client import ModelClient, RetryPolicy
from halluscope.adapters.images import ImageLoader
from halluscope.adapters.outlock import (OutputLocked, _group_dict, _runsheet,  # noqa: F401
                                         answers_of, interruption, prepare_output,
                                         put_in_order, read_done, unlock_output)
from halluscope.adapters.query_counts import FailureGroup, QueryCounts, QueryResult  # noqa: F401
from halluscope.adapters.prompts import (MAX_PROBLEMS_SHOWN, PromptItem,  # noqa: F401
                                         _portable_image, check_prompts, iter_prompts)
from halluscope.adapters.resume_checks import AnsweredLineChecks
from halluscope.adapters.registry import get_model, server_and_options
from halluscope.adapters.types import (AdapterError, AuthError, Decoding, ImageError, Message,
                                       Request, ServerUnreachable, check_detail,
                                       cut_at_token_limit, cut_by_filter, is_refusal)
from halluscope.errors import CacheMiss, ConfigError, InputError, Location, RecordError
from halluscope.records import Record
from halluscope.redact import redact_mapping, redact_text, register_options, register_url
from halluscope.runsheet import environment, query_sheet_path
from halluscope.atomicfiles import write_json_atomically

log = logging.getLogger(__name__)


#: What a run writes about its answer; left out of a prompt line (an output file asked again,
#: by another model, say: its answer, finish reason or failure are not this run's).
_ANSWER_FIELDS = frozenset({"response", "finish_reason", "requested_model", "error",
                            "error_status", "refused", "reasoning", "image_sha256"})


# -- the run --------------------------------------------------------------------------------
async def aquery(prompts: str | Path | Iterable[Mapping[str, Any] | Record], model: str | Any, *,
                 out: str | Path | None = None, base_url: str | None = None,
                 max_connections: int = 8, cache: str | Path | ResponseCache | bool | None = None,
                 decoding: Decoding | None = None, samples: int = 1, system: str | None = None,
                 allow_urls: bool = False, image_root: str | Path | None = None,
                 detail: str | None = None, timeout: float | None = None, max_attempts: int = 6,
                 retry: RetryPolicy | None = None,
                 resume: bool = True, retry_failed: bool | None = None, collect: bool = True,
                 progress: Callable[[QueryCounts], None] | None = None,
                 model_options: Mapping[str, Any] | None = None,
                 offline: bool | None = None,
                 argv: list[str] | None = None,
                 benchmark: Mapping[str, Any] | None = None) -> QueryResult:
    """Ask ``model`` every prompt (see the module docstring); the async form of :func:`query`.

    Raises :class:`~halluscope.errors.InputError` for a bad prompts file (before any call),
    :class:`~halluscope.adapters.types.AuthError` when the credentials are refused and, in
    offline mode (``offline=True``, default ``$HALLUSCOPE_OFFLINE``),
    :class:`~halluscope.errors.CacheMiss` for the first answer the cache lacks.
    ``benchmark`` (what ``query --benchmark`` asked: name, version, question file and its
    sha256, split) is recorded in the run sheet as it is. ``retry_failed`` (resume): None asks
    failed records again but refusals (``"refused": true``), True all of them, False none.
    """
    from halluscope.adapters.offline import is_offline
    offline = is_offline(offline)
    if samples < 1:
        raise InputError(f"expected samples >= 1, got {samples}")
    check_detail(detail)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    if not isinstance(prompts, (str, Path)):
        prompts = list(prompts)  # iterate twice: check, then run
    prompt_ids = check_prompts(prompts, image_root=image_root)
    decoding = decoding or Decoding()
    register_options(model_options)
    base_url, model_options = server_and_options(base_url, model_options)
    register_url(base_url)
    api = get_model(model, base_url=base_url, offline=offline, **model_options)
    if timeout is None:
        timeout = getattr(api, "default_timeout", 120.0)
    client = ModelClient(api, cache=None, max_connections=max_connections,
                         retry=retry or RetryPolicy(max_attempts=max_attempts), timeout=timeout,
                         images=ImageLoader(allow_urls=allow_urls, timeout=timeout or 30.0),
                         offline=offline)
    out_path = Path(out) if out is not None else None
    run = _QueryRun(client, api.model, samples, {}, out_path, collect, progress,
                    head=(Message.system(system),) if system else (), detail=detail,
                    decoding=decoding, window=max(64, 8 * max_connections))
    late = _LateCache(cache, offline, client)
    try:
        lock = run.prepare(answers_of(api, decoding, system, samples=samples, detail=detail),
                           prompts, prompt_ids, image_root, resume=resume,
                           retry_failed=retry_failed, before_write=late.open)
    except BaseException:
        await _close(client, late.store if late.owned else None, None)
        raise
    store, owned = late.store, late.owned
    run.start(prompt_ids)
    batch = store.batched() if store is not None else contextlib.nullcontext()
    try:
        with batch:     # cache rows of answers that arrive together: one transaction
            try:
                await run.drive(iter_prompts(prompts, image_root=image_root))
            finally:    # a second cancellation (a progress callback, Ctrl-C again) lands in here
                await run.cancel_pending()
    finally:            # and must not leave the order, the run sheet or the lock undone
        run.restore_order()
        elapsed = time.perf_counter() - t0
        sheet = _runsheet(api, client, store, prompts, out_path, decoding, samples,
                          max_connections, run.counts, started, elapsed, run.aborted, argv,
                          system=system, allow_urls=allow_urls, offline=offline, detail=detail,
                          prompt_ids=prompt_ids, env=run.environment, retry=client.retry,
                          timeout=timeout, benchmark=benchmark)
        sheet = redact_mapping({**sheet, "failures": [_group_dict(g) for g in run.groups.values()]})
        if out_path is not None:     # atomic: a resume reads it to refuse other settings
            write_json_atomically(query_sheet_path(out_path), sheet)
        await _close(client, store if owned else None, lock)
    return QueryResult(run.final_records(), run.counts, sheet, dict(client.reported_models),
                       elapsed, failures=sorted(run.groups.values(), key=lambda g: -g.count),
                       stopped=run.stopped)


class _LateCache:
    """The response cache of a run, opened (:meth:`open`) only once its resume is not
    refused: a refused resume creates nothing, and the cache may be a new folder inside the
    output's (``--cache out/cache``). ``client.cache`` is set when it opens."""

    def __init__(self, cache: Any, offline: bool, client: ModelClient):
        self.cache, self.offline, self.client = cache, offline, client
        self.store: ResponseCache | None = None
        self.owned = False      # (whether this run opened it, and closes it)

    def open(self) -> None:
        self.store, self.owned = open_response_cache(self.cache, create=not self.offline)
        self.client.cache = self.store


async def _close(client: ModelClient, store: ResponseCache | None, lock) -> None:
    """Close the client, the cache this run opened (``store``) and the output lock (even when
    closing the client is cancelled)."""
    try:
        await client.aclose()
    finally:
        if store is not None:
            store.close()
        if lock is not None:    # removed, still held: see unlock_output
            unlock_output(lock, remove=Path(lock.name))


class _QueryRun(AnsweredLineChecks):
    """The state of one :func:`aquery` run: what is done, in flight, counted and written (and,
    from :class:`AnsweredLineChecks`, what a resume checks of the lines answered before)."""

    def __init__(self, client: ModelClient, requested: str, samples: int, done: dict,
                 out_path: Path | None, collect: bool,
                 progress: Callable[[QueryCounts], None] | None, *, head: tuple[Message, ...],
                 detail: str | None, decoding: Decoding, window: int):
        self.client, self.requested, self.samples, self.done = client, requested, samples, done
        self.out_path, self.progress, self.head, self.detail = out_path, progress, head, detail
        self.decoding, self.window = decoding, window
        self.counts = QueryCounts()
        self.records: list[dict[str, Any]] | None = [] if collect else None
        # relative image paths are written against the folder the file is in (a link's
        # target's): read through the link or the file, a resume and an audit find them
        self.out_dir = out_path.resolve().parent if out_path is not None else None
        self.groups: dict[tuple, FailureGroup] = {}
        self.pending: deque[asyncio.Task] = deque()
        self.aborted: str | None = None
        self.stopped: str | None = None
        self.fh = None
        self.rank: dict[str, int] = {}      # output id -> its place in prompt order
        self.last = -1                      # the highest place written so far
        self.unordered = False              # a line was written before one it follows
        self.environment: dict[str, Any] | None = None  # the run sheet's, read ahead
        self.undigested = False             # a resumed line without image_sha256 was noted
        self.kept_checked = False           # check_kept checked the kept lines already

    def task_id(self, prompt_id: str, k: int) -> str:
        return prompt_id if self.samples == 1 else f"{prompt_id}#{k}"

    def start(self, prompt_ids: list[str]) -> None:
        """Count what is left before starting, for an honest progress bar; open the output."""
        counts = self.counts
        self.rank = {self.task_id(i, k): n * self.samples + k
                     for n, i in enumerate(prompt_ids) for k in range(self.samples)}
        for task in self.done:          # the file's lines, in the file's order
            self._place(task)
        if self.done:
            kept = [self.done[t] for t in (self.task_id(i, k) for i in prompt_ids
                                           for k in range(self.samples)) if t in self.done]
            counts.skipped = len(kept)
            counts.kept_failed = sum(bool(v and v[5]) for v in kept)
        counts.total = len(prompt_ids) * self.samples
        if self.out_path is not None:
            self.fh = open(self.out_path, "a", encoding="utf-8")
        if self.progress:
            self.progress(counts)

    async def run_one(self, item: PromptItem, k: int) -> dict[str, Any]:
        """Ask one prompt (sample ``k``): the output record, with ``error`` when it failed."""
        rec = {f: v for f, v in item.fields.items() if f not in _ANSWER_FIELDS}
        rec["id"] = self.task_id(item.id, k)
        if self.samples > 1:
            rec["sample_of"] = item.id
            rec["sample_index"] = k
        rec.setdefault("prompt", item.prompt)
        if item.image is not None:
            rec["image"] = _portable_image(item, self.out_dir)
        images = (item.image,) if item.image else ()
        request = Request(self.head + (Message.user(item.prompt, images, self.detail),),
                          self.decoding, sample_index=k)
        try:
            resp = await self.client.generate(request)
        except (AuthError, ServerUnreachable):
            raise
        except CacheMiss as exc:
            raise exc.for_record(rec["id"], item.file, item.line) from None
        except AdapterError as exc:
            # no server named a model for it: null beside the model asked, as for an answer
            # whose server named none (never the asked name where a reported one would stand)
            rec["model"], rec["requested_model"] = None, self.requested
            message = redact_text(str(exc))
            if isinstance(exc, ImageError):     # the prompt line's image: named where it is
                message = f"{Location(item.file, item.line, 'image')}: {message}"
            rec["error"] = f"{type(exc).__name__}: {message}"
            if exc.status is not None:
                rec["error_status"] = exc.status
            rec["_failure"] = (type(exc).__name__, exc.status, message)
            if is_refusal(exc):     # asked again, it fails again: kept by a resume
                rec["refused"] = True
                await self._note_image_sha256(rec, item)
            return rec
        rec["response"] = resp.text
        await self._note_image_sha256(rec, item)
        if resp.reasoning is not None:
            rec["reasoning"] = resp.reasoning
        if resp.finish_reason is not None:
            rec["finish_reason"] = resp.finish_reason      # 'length': cut at the token limit
        rec["model"] = resp.model       # None (null): the server named no model
        if resp.model != self.requested:
            rec["requested_model"] = self.requested
        rec["_cached"] = resp.cached
        return rec

    async def _note_image_sha256(self, rec: dict[str, Any], item: PromptItem) -> None:
        """``image_sha256`` of an asked request's local image (or URL fetched): a resume sees
        its bytes changed under a name. Hashed once asked (the call keeps its place in line;
        the cache key's hash is memoised)."""
        if item.image is not None and (digest := await asyncio.to_thread(
                self.image_digest, item)) is not None:
            rec["image_sha256"] = digest

    def _place(self, task: str) -> None:
        """Note that ``task``'s line is written next in the file (for :attr:`unordered`)."""
        place = self.rank.get(task)
        if place is not None:
            self.unordered |= place < self.last
            self.last = max(self.last, place)

    def emit(self, rec: dict[str, Any]) -> None:
        """Count one finished record, group its failure, write it and report progress."""
        self._place(rec["id"])
        cached = rec.pop("_cached", False)
        failure = rec.pop("_failure", None)
        rec = redact_mapping(rec)
        counts = self.counts
        if "error" in rec:
            counts.failed += 1
            counts.refused += rec.get("refused") is True
            key = failure or ("Error", None, rec["error"])
            group = self.groups.setdefault(key, FailureGroup(*key))
            group.count += 1
            if len(group.ids) < MAX_PROBLEMS_SHOWN:
                group.ids.append(rec["id"])
        elif cached:
            counts.cached += 1
        else:
            counts.new += 1
        if cut_at_token_limit(rec.get("finish_reason")):
            counts.truncated += 1
        elif cut_by_filter(rec.get("finish_reason")):
            counts.filtered += 1
        if "reasoning" in rec and "error" not in rec:
            counts.reasoning += 1
            counts.thought_only += not str(rec.get("response", "")).strip()
        if "error" not in rec and _lone_think_close(rec.get("response")):
            counts.think_close += 1
        if self.fh is not None:
            self.fh.write(dumps_utf8(rec) + "\n")
            self.fh.flush()
        if self.records is not None:
            self.records.append(rec)
        if self.progress:
            self.progress(counts)

    def todo(self, items: Iterable[PromptItem | RecordError]) -> Iterator[tuple[PromptItem, int]]:
        """``(prompt, sample index)`` of every request not answered yet, in prompt order."""
        for item in items:
            if isinstance(item, RecordError):  # checked before; the file changed under us
                raise item
            for k in range(self.samples):
                task = self.task_id(item.id, k)
                if task not in self.done:
                    yield item, k
                elif self.done[task] is not None and not self.kept_checked:
                    self._check_unchanged(item, task)

    def prepare(self, answers: dict[str, Any], prompts: Any, prompt_ids: list[str],
                image_root: Any, *, resume: bool, retry_failed: bool | None,
                before_write: Callable[[], None] | None = None) -> Any:
        """Lock the output and read what it answers (:func:`prepare_output`), its kept lines
        checked against the prompts first (:meth:`check_kept`), ``before_write()`` (opening
        the cache) once a resume is not refused; the lock."""
        lock, self.done = prepare_output(
            self.out_path, resume=resume, retry_failed=retry_failed, answers=answers,
            prompts=prompts, prompt_ids=prompt_ids, before_write=before_write,
            check_kept=lambda done: self.check_kept(done, iter_prompts(prompts,
                                                                       image_root=image_root)))
        return lock

    def check_kept(self, done: dict, items: Iterable[PromptItem | RecordError]) -> set[str]:
        """Check every answered line of ``done`` that a resume keeps against the prompts
        (:meth:`_check_unchanged`) before the output file is touched: a refused resume leaves
        the file and its run sheet as they were (checked during the run, it had already
        dropped the failed lines and rewritten the run sheet). Returns the ids of kept
        refusals whose request changed since, to drop and ask again."""
        self.done = done
        stale: set[str] = set()
        for item in items:
            if isinstance(item, RecordError):
                continue                # check_prompts refused bad lines before
            for k in range(self.samples):
                task = self.task_id(item.id, k)
                if done.get(task) is not None and not self._check_unchanged(item, task):
                    stale.add(task)
        self.kept_checked = True
        return stale

    async def _drive(self, items: Iterable[PromptItem | RecordError]) -> None:
        pending = self.pending
        for item, k in self.todo(items):
            pending.append(asyncio.create_task(self.run_one(item, k)))
            while pending and (len(pending) >= self.window or pending[0].done()):
                self.emit(await pending.popleft())
                await asyncio.sleep(0)  # awaiting a finished task never yields: let a
                # cancellation (Ctrl-C) land here instead of after every finished line
        while pending:
            self.emit(await pending.popleft())
            await asyncio.sleep(0)
            if self.environment is None and not self.client.limiter.waiting:
                # every request has its connection: what is left is waiting for answers, and
                # the run sheet's library versions (read from package metadata, 10-40 ms)
                # are read now rather than after the last answer
                self.environment = environment()

    async def drive(self, items: Iterable[PromptItem | RecordError]) -> None:
        """Ask every prompt not done, at most ``window`` in flight, emitting in order; an
        unreachable server stops the run (``stopped``), refused credentials, cache misses and
        a refused resume (an answered line asked for another prompt) end it with the exception,
        which the run sheet's ``aborted`` says (the Ray engine's did; this one's looked
        finished), as it says an interruption and any other exception (an internal error)."""
        try:
            await self._drive(items)
        except ServerUnreachable as exc:  # stop: every further call would fail the same way
            self.stopped = self.aborted = redact_text(f"{type(exc).__name__}: {exc}")
        except (AuthError, CacheMiss, InputError) as exc:
            self.aborted = redact_text(f"{type(exc).__name__}: {exc}")
            raise
        except (KeyboardInterrupt, asyncio.CancelledError) as exc:
            # the run sheet must not look like a finished run's
            self.aborted = interruption(exc)
            raise
        except Exception as exc:  # an internal error (exit 3): nor must this one's
            self.aborted = redact_text(f"internal error: {type(exc).__name__}: {exc}")
            raise

    async def cancel_pending(self) -> None:
        """Write the requests still queued that already finished (a run that stops keeps every
        answer it got, behind the gap of the record that stopped it: a resume asks only what
        is missing and puts the file back in order), cancel the rest, close the output file."""
        finished = [task for task in self.pending if task.done()]
        for task in self.pending:
            task.cancel()               # no-op for the finished ones
        try:
            for task in finished:
                if not task.cancelled() and task.exception() is None:
                    self.emit(task.result())
        finally:
            if self.pending:
                await asyncio.gather(*self.pending, return_exceptions=True)
            if self.fh is not None:
                self.fh.close()

    def restore_order(self) -> None:
        """Put the output file back in prompt order when this run wrote a line before one it
        follows (a resume that asked a failed record again, a stopped run's answers after a
        gap); a file that cannot be rewritten stays as it is, with a warning."""
        if not (self.unordered and self.out_path is not None and self.out_path.is_file()):
            return
        try:
            put_in_order(self.out_path, self.rank)
        except OSError as exc:
            log.warning("%s: could not put the lines back in prompt order (%s); they are all "
                        "there, out of order", self.out_path, exc.strerror or exc)

    def final_records(self) -> list[dict[str, Any]] | None:
        """The records to hand back: after a resume, the whole output file."""
        if self.records is not None and self.out_path is not None and self.counts.skipped:
            with open(self.out_path, encoding="utf-8") as fh:
                return [json.loads(line) for line in fh if line.strip()]
        return self.records


def _run_sync(coro):
    """Run ``coro`` to completion, also from inside a running event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        loop_running = False
    else:
        loop_running = True
    if not loop_running:  # run outside the except: a failure's traceback is its own
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
    thread = threading.Thread(target=target, name="halluscope-query")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def query(prompts: str | Path | Iterable[Mapping[str, Any] | Record], model: str | Any,
          out: str | Path | None = None, *, base_url: str | None = None,
          max_connections: int = 8, cache: str | Path | ResponseCache | bool | None = None,
          cache_dir: str | Path | None = None, offline: bool | None = None,
          temperature: float = 0.0, max_tokens: int = 512, top_p: float | None = None,
          seed: int | None = None, samples: int = 1, **options: Any) -> list[dict[str, Any]]:
    """Ask ``model`` (``provider/model``) every prompt and return the output records.

    >>> records = halluscope.query("prompts.jsonl", "openai/gpt-4o-2024-08-06",
    ...                            out="outputs.jsonl", max_connections=16)

    Returns the output records; when ``out`` already held answers (a resumed run), all lines of
    ``out``, earlier ones included.

    ``prompts`` is a JSONL path or an iterable of dicts/Records with ``id``, ``image`` and
    ``prompt``. ``cache``: a directory (default ``~/.cache/halluscope``), or False for none;
    ``cache_dir`` is the same as a directory ``cache``. ``offline=True`` (default:
    ``$HALLUSCOPE_OFFLINE``) answers from the cache only and raises
    :class:`~halluscope.errors.CacheMiss` on a miss. Other keyword arguments go to
    :func:`aquery` (``system``, ``allow_urls``, ``image_root``, ``detail``, ``timeout``,
    ``max_attempts``, ``resume``, ``model_options``, ...). Failed records are returned with an
    ``"error"`` field; an authentication failure and an unreachable server raise
    (:class:`~halluscope.adapters.types.ServerUnreachable`; what was answered is in ``out``).
    """
    if cache_dir is not None:
        if cache is not None:
            raise ConfigError("expected cache or cache_dir, got both")
        cache = Path(cache_dir)
    decoding = Decoding(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
    result = _run_sync(aquery(prompts, model, out=out, base_url=base_url,
                              max_connections=max_connections, cache=cache, decoding=decoding,
                              samples=samples, offline=offline, **options))
    if result.stopped:  # records were left unasked: never hand back a silently short list
        raise ServerUnreachable(result.stopped)
    return result.records or []


def _lone_think_close(response: object) -> bool:
    """Whether an answer holds a ``</think>`` with no ``<think>`` before it (see
    :attr:`QueryCounts.think_close`)."""
    if not isinstance(response, str):
        return False
    before, closed, _ = response.partition("</think>")
    return bool(closed) and "<think>" not in before
