"""``halluscope query``, added to the main app by :func:`register` (``halluscope.cli`` calls it).

Exit codes of ``query``: 0 every prompt answered; 1 some records failed after their retries
(they are written with ``"error"``; run again to retry them), or the file keeps refusals an
earlier run wrote (``"refused": true``: a filter, a refusal, a request rejected as invalid,
which asking again repeats; ``--retry-failed`` asks them again); 2 usage or input errors (bad
prompts file, unknown provider, missing or refused credentials, an unreachable server, every
record refused, an output file another run is writing, an unusable cache, an answer missing from
the cache in offline mode); 3 with ``--engine ray``, a query actor that died and could not be
restarted or the Ray cluster lost (said as such: what was lost, that the answers received are
kept, that the same command asks what is missing). Unexpected exceptions propagate to the main
app's handler (exit 3, the traceback in a file).
Failures are summarised grouped by cause: count, error type, HTTP status and the server's message
(credentials redacted, as everywhere: :mod:`halluscope.redact`).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from halluscope.cli.common import (EXIT_FAILED, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, err_console,
                                   plain, print_error, print_lost)
from halluscope.cli.helpformat import PanelledCommand
from halluscope.cli.options import at_least, parse_key_values

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "query_command", "register"]

# -- the options, one alias each (typer reads them from the signature) ----------------------
Prompts = Annotated[Optional[Path], typer.Argument(
    help="Prompts JSONL: id, image, prompt per line (POPE question files work as they "
         "are). Not needed with --benchmark.",
    metavar='PROMPTS')]
Model = Annotated[str, typer.Option(
    "--model", "-m", help="PROVIDER/MODEL, e.g. openai/gpt-4o-2024-08-06 or "
                          "vllm/Qwen/Qwen2.5-VL-7B-Instruct.",
    rich_help_panel='Model', metavar='PROVIDER/MODEL')]
Out = Annotated[Path, typer.Option("--out", "-o", help="Outputs JSONL (appended to and "
                                                      "resumed when it exists).",
    rich_help_panel='Output', metavar='FILE')]
BaseUrl = Annotated[Optional[str], typer.Option("--base-url", help="Server URL of an "
                                                "OpenAI-compatible (or other) API.",
    rich_help_panel='Model', metavar='URL')]
MaxConnections = Annotated[int, typer.Option("--max-connections", "--concurrency", "-c", min=1,
                                             parser=at_least(1),
                                             help="Requests in flight at most.",
    rich_help_panel='Run and scale', metavar='N')]
Cache = Annotated[Optional[Path], typer.Option(
    "--cache", help="Cache directory (default $HALLUSCOPE_CACHE or "
                    "~/.cache/halluscope).",
    rich_help_panel='Run and scale', metavar='DIR')]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the "
                                                          "cache.",
    rich_help_panel='Run and scale')]
Samples = Annotated[int, typer.Option("--samples", "-n", min=1, parser=at_least(1), help="Answers per prompt "
                                      "(for Self-Consistency@N; use temperature > 0).",
    rich_help_panel='Decoding', metavar='N')]
Temperature = Annotated[float, typer.Option(
    "--temperature", "-t", min=0.0, help="Sampling temperature.",
    rich_help_panel='Decoding', metavar='T')]
TopP = Annotated[Optional[float], typer.Option(
    "--top-p", help="Nucleus sampling: the top probability mass kept.",
    rich_help_panel='Decoding', metavar='P')]
MaxTokens = Annotated[int, typer.Option(
    "--max-tokens", min=1, parser=at_least(1), help="Tokens per answer at most.",
    rich_help_panel='Decoding', metavar='N')]
Seed = Annotated[Optional[int], typer.Option(
    "--seed", help="Sampling seed, where the provider takes one.",
    rich_help_panel='Decoding', metavar='N')]
System = Annotated[Optional[str], typer.Option("--system", help="System prompt.",
    rich_help_panel='Decoding', metavar='TEXT')]
ImageRoot = Annotated[Optional[Path], typer.Option("--image-root", help="Folder that "
                      "relative image paths are resolved against (default: the prompts "
                      "file's folder).",
    rich_help_panel='Inputs', metavar='DIR')]
AllowUrls = Annotated[bool, typer.Option("--allow-urls", help="Fetch http(s) images.",
    rich_help_panel='Inputs')]
Detail = Annotated[Optional[str], typer.Option("--detail", help="OpenAI image detail: "
                                               "auto, low, high or original.",
    rich_help_panel='Inputs', metavar='LEVEL')]
Timeout = Annotated[Optional[float], typer.Option(
    "--timeout", help="Seconds per attempt (default 120; none for local models).",
    rich_help_panel='Run and scale', metavar='SECONDS')]
Retries = Annotated[int, typer.Option("--max-attempts", min=1, parser=at_least(1), help="Attempts per "
                                      "request, the first included.",
    rich_help_panel='Run and scale', metavar='N')]
Restart = Annotated[bool, typer.Option("--restart", help="Start the output file afresh "
                                                         "instead of resuming.",
    rich_help_panel='Output')]
RetryFailed = Annotated[bool, typer.Option(
    "--retry-failed", help="Also ask again refusals (content filter, HTTP 400/413/415/422), "
                           "which a resume keeps; 429s, 5xx and timeouts are always asked "
                           "again.",
    rich_help_panel='Output')]
ModelOption = Annotated[Optional[list[str]], typer.Option("--option", "-O", help="Provider "
                        "option KEY=VALUE (repeatable): revision, device, dtype, "
                        "max_tokens_param, ...",
    rich_help_panel='Model', metavar='KEY=VALUE')]
Offline = Annotated[bool, typer.Option("--offline", help="Answer from the cache only: "
                    "open no connection and stop at the first answer the cache lacks "
                    "(also: HALLUSCOPE_OFFLINE=1).",
    rich_help_panel='Run and scale')]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or counts table "
                                     "(notes, failures and the file written are still said).",
    rich_help_panel='Output')]
Benchmark = Annotated[Optional[str], typer.Option(
    "--benchmark", help="Ask a pinned benchmark's questions (see `halluscope benchmarks`); "
                        "its question file comes from --data or $HALLUSCOPE_DATA and is "
                        "hash-checked first. One split per run: pope asks the random split "
                        "and reefknot YESNO.jsonl unless --split names another.",
    rich_help_panel='Inputs', metavar='NAME')]
Data = Annotated[Optional[list[Path]], typer.Option(
    "--data", help="With --benchmark: the question file, or a folder holding it; repeatable "
                   "(searched in the order given, then $HALLUSCOPE_DATA).",
    rich_help_panel='Inputs', metavar='PATH')]
Engine = Annotated[str, typer.Option(
    "--engine", help="local: one process (asyncio); ray: Ray actors ask the prompts in "
                     "batches, this process writes the output in prompt order.",
    rich_help_panel='Run and scale', metavar='NAME')]
RayAddress = Annotated[Optional[str], typer.Option(
    "--ray-address", help="Ray cluster address for --engine ray: host:port, ray://host:port, "
    "auto, or local (a new local Ray instance). Default: $RAY_ADDRESS, else the cluster `ray "
    "start` started on this machine, else a new local instance.",
    rich_help_panel='Run and scale', metavar='ADDRESS')]
RayWorkers = Annotated[Optional[int], typer.Option(
    "--ray-workers", min=1, parser=at_least(1), help="Actors for --engine ray (default: one per CPU of the "
                                 "cluster); --max-connections is shared among them.",
    rich_help_panel='Run and scale', metavar='N')]
RayGpus = Annotated[float, typer.Option(
    "--ray-gpus-per-worker", min=0.0, help="GPUs each Ray actor asks for (local models are "
                                           "loaded once per actor).",
    rich_help_panel='Run and scale', metavar='GPUS')]
Split = Annotated[Optional[str], typer.Option(
    "--split", help="With --benchmark: the split to ask (pope: random, popular, "
                    "adversarial; reefknot: yesno, multichoice). Default: the first one.",
    rich_help_panel='Inputs', metavar='NAME')]
Images = Annotated[Optional[Path], typer.Option(
    "--images", help="With --benchmark: the folder of the benchmark's images.",
    rich_help_panel='Inputs', metavar='DIR')]


def query_command(
    prompts: Prompts = None, model: Model = ..., out: Out = ..., base_url: BaseUrl = None,
    max_connections: MaxConnections = 8, cache: Cache = None, no_cache: NoCache = False,
    samples: Samples = 1, temperature: Temperature = 0.0, top_p: TopP = None,
    max_tokens: MaxTokens = 512, seed: Seed = None, system: System = None,
    image_root: ImageRoot = None, allow_urls: AllowUrls = False, detail: Detail = None,
    timeout: Timeout = None, retries: Retries = 6, restart: Restart = False,
    retry_failed: RetryFailed = False, option: ModelOption = None, offline: Offline = False,
    quiet: Quiet = False,
    benchmark: Benchmark = None, data: Data = None, images: Images = None,
    engine: Engine = "local", ray_address: RayAddress = None, ray_workers: RayWorkers = None,
    ray_gpus_per_worker: RayGpus = 0.0, split: Split = None,
) -> None:
    """Ask a model every prompt of a file; write outputs that `halluscope audit` reads."""
    from halluscope.adapters.types import Decoding, check_detail
    from halluscope.errors import ConfigError
    from halluscope.redact import install_log_redaction
    install_log_redaction()

    _check_engine_and_benchmark_flags(engine, benchmark, split=split, data=data, images=images,
                                      ray_address=ray_address, ray_workers=ray_workers,
                                      ray_gpus_per_worker=ray_gpus_per_worker)
    if benchmark is not None:
        prompts, system, asked = _benchmark_prompts(
            benchmark, data, images, out, prompts, system, split,
            samples=samples if not restart else None,
            resume_settings=dict(model=model, base_url=base_url,
                                 model_options=parse_key_values(option),
                                 offline=True if offline else None,
                                 decoding=_decoding(temperature, top_p, max_tokens, seed),
                                 detail=detail))
    if prompts is None:
        err_console.print("[red]error:[/red] expected a prompts file (or --benchmark NAME), "
                          "got neither")
        raise typer.Exit(EXIT_USAGE)
    if not prompts.is_file():
        if not prompts.exists():
            err_console.print(f"[red]error:[/red] prompts file not found: {plain(prompts)}")
        else:       # it exists: "not found" sent the user looking for a typo
            what = ("a folder" if prompts.is_dir()
                    else "a pipe or device (query reads the prompts twice)")
            err_console.print(f"[red]error:[/red] {plain(prompts)}: expected a JSON-lines file "
                              f"of prompts, got {what}")
        raise typer.Exit(EXIT_USAGE)
    try:
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"expected --timeout in seconds > 0, got {timeout}")
        check_detail(detail, "--detail")
        decoding = Decoding(temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                            seed=seed)
    except (ValueError, ConfigError) as exc:
        err_console.print(f"[red]error:[/red] {plain(exc)}")
        raise typer.Exit(EXIT_USAGE) from None
    if engine not in ("local", "ray"):
        err_console.print(f"[red]error:[/red] expected --engine local or ray, got "
                          f"{plain(engine)!r}")
        raise typer.Exit(EXIT_USAGE)
    ray_options = ({"workers": ray_workers, "address": ray_address,
                    "gpus_per_worker": ray_gpus_per_worker} if engine == "ray" else None)
    if samples > 1 and temperature == 0:
        err_console.print("[yellow]note:[/yellow] --samples with temperature 0 repeats one "
                          "greedy answer; pass --temperature for Self-Consistency@N")
    result = _ask(quiet, prompts, model, ray_options, out=out, base_url=base_url,
                  max_connections=max_connections, cache=False if no_cache else cache,
                  decoding=decoding, samples=samples, system=system, allow_urls=allow_urls,
                  image_root=image_root, detail=detail, timeout=timeout, max_attempts=retries,
                  resume=not restart, retry_failed=True if retry_failed else None,
                  collect=False, model_options=parse_key_values(option),
                  offline=True if offline else None, argv=sys.argv,
                  **({"benchmark": asked} if benchmark is not None else {}))
    _print_summary(result, model, out, quiet)
    raise typer.Exit(result.exit_code)


def _check_engine_and_benchmark_flags(engine: str, benchmark: str | None, **given) -> None:
    """A usage error for a flag that only means something with --benchmark (--split, --data,
    --images) or --engine ray (--ray-*), given without it: ignored, it left a user thinking
    the run used it (a run meant for Ray ran in one process)."""
    ray = {"ray_address": "--ray-address", "ray_workers": "--ray-workers",
           "ray_gpus_per_worker": "--ray-gpus-per-worker"}
    for name, value in given.items():
        if not value:
            continue
        flag = ray.get(name, f"--{name}")
        if name in ray and engine != "ray":
            need, got = "--engine ray", f"--engine {engine}"
        elif name not in ray and benchmark is None:
            need, got = "--benchmark", "no --benchmark"
        else:
            continue
        err_console.print(f"[red]error:[/red] {flag} is for {need}; got {plain(got)}",
                          highlight=False)
        raise typer.Exit(EXIT_USAGE)


def _ask(quiet: bool, prompts: Path, model: str, ray_options: dict | None, **kwargs):
    """Run :func:`~halluscope.adapters.query.aquery` (or, with ``ray_options``,
    :func:`~halluscope.adapters.ray_query.query_ray`) under a progress bar; refused
    credentials, input errors and a missing Ray exit 2."""
    from halluscope.adapters.query import QueryCounts, _run_sync, aquery
    from halluscope.errors import HalluscopeError
    from halluscope.redact import redact_text
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=err_console, transient=False,
                   disable=quiet)
    task_id = None

    def on_progress(c: QueryCounts) -> None:
        nonlocal task_id
        detail_text = f"cached {c.cached}  new {c.new}  failed {c.failed}"
        if task_id is None:
            task_id = bar.add_task("query", total=c.to_ask, detail=detail_text)
        bar.update(task_id, completed=c.done, detail=detail_text)

    from halluscope.stopping import sigterm_as_interruption
    lost = _lost_errors(ray_options)
    try:
        # SIGTERM (a supervisor, a CI cancel) stops the run as Ctrl-C does: the answers got so
        # far written, the file put back in order, a run sheet saying so, exit 143
        with bar, sigterm_as_interruption():
            if ray_options is not None:
                from halluscope.adapters.ray_query import query_ray
                return query_ray(prompts, model, progress=on_progress, **ray_options, **kwargs)
            return _run_sync(aquery(prompts, model, progress=on_progress, **kwargs))
    except lost as exc:
        _print_lost(exc, kwargs["out"])
        raise typer.Exit(EXIT_INTERNAL) from None
    except HalluscopeError as exc:
        # an AuthError says what it is itself: "authentication failed (HTTP 401): ...", "quota
        # exhausted (HTTP 429, ...)", "OPENAI_API_KEY is not set: ..." (a prefix of its own
        # read "authentication failed: authentication failed (HTTP 401)" and called a spent
        # quota an authentication failure)
        err_console.print(f"[red]error:[/red] {plain(redact_text(str(exc)))}", soft_wrap=True)
        raise typer.Exit(EXIT_USAGE) from None


def _lost_errors(ray_options: dict | None) -> tuple[type[BaseException], ...]:
    """The errors of a run that lost a Ray query actor or the cluster (none without Ray)."""
    if ray_options is None:
        return ()
    from halluscope._ray import ClusterLost
    from halluscope.adapters.ray_actors import WorkerLost
    return WorkerLost, ClusterLost


def _print_lost(exc: BaseException, out: Path) -> None:
    """A Ray query actor that died for good (``WorkerLost``), or the Ray cluster lost
    (``ClusterLost``), said as the audit says a lost cluster (exit 3; no traceback file):
    what was lost, that every answer received is kept in ``out``, and that the same command
    asks only what is missing."""
    from halluscope.adapters.ray_actors import MAX_RESTARTS, WorkerLost, shown_ids
    if not isinstance(exc, WorkerLost):     # (its message says what was kept and what to do)
        print_lost(type(exc).__name__, str(exc))
        return
    ids = exc.unanswered
    print_lost("WorkerLost", f"lost a Ray query actor: it died and could not be restarted (at "
                             f"most {MAX_RESTARTS} restarts each; {exc.why or 'no reason given'})",
               f"unanswered: the {len(ids)} request(s) it was asking ({shown_ids(ids)})",
               f"kept: every answer received before, in {out} (the run sheet's 'aborted' says "
               f"the run did not finish)",
               "to finish: run the same command again; it asks only what is missing")


def _print_summary(result, model: str, out: Path, quiet: bool) -> None:
    """The counts table, waiting time, model mismatches and failures grouped by cause."""
    from halluscope.redact import redact_text

    c = result.counts
    table = Table(title=f"halluscope query: {model}", show_header=True)
    for col in ("total", "already done", "cached", "new", "failed", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(str(c.total), str(c.skipped), str(c.cached), str(c.new), str(c.failed),
                  f"{result.elapsed_s:.1f}")
    if not quiet:
        err_console.print(table)
    cache = result.runsheet.get("cache") or {}
    if cache.get("moved_aside"):
        err_console.print(f"[yellow]warning:[/yellow] the response cache {cache['path']} was "
                          f"unreadable; moved to {cache['moved_aside']} and rebuilt",
                          highlight=False, soft_wrap=True)
    client = result.runsheet.get("client") or {}
    if client.get("retry_wait_s"):
        limited = (f", {client.get('rate_limit_wait_s', 0):.1f} s of it for "
                   f"{client['rate_limited']} rate limit(s) (HTTP 429 / Retry-After)"
                   if client.get("rate_limited") else "")
        err_console.print(f"waited {client['retry_wait_s']:.1f} s before retries (summed over "
                          f"requests){limited}", highlight=False, soft_wrap=True)
    stale = result.runsheet.get("not_in_prompts")
    if stale:
        from halluscope.adapters.outlock import not_in_prompts_note
        err_console.print(f"[yellow]warning:[/yellow] {plain(not_in_prompts_note(out, stale))}",
                          highlight=False, soft_wrap=True)
    _print_notes(c)
    if result.runsheet.get("model", {}).get("sampling_params_sent") is False:
        err_console.print("[yellow]note:[/yellow] --temperature and --top-p were not sent (the "
                          "Anthropic API version the SDK speaks refuses them; no seed is "
                          "taken either): the answers come at the model's default sampling, "
                          "whatever the run sheet's decoding says was asked; -O "
                          "send_sampling_params=true sends them where a gateway takes them",
                          highlight=False, soft_wrap=True)
    requested = result.runsheet.get("model", {}).get("model")
    for name, n in sorted(result.reported_models.items()):
        if name != requested:
            err_console.print(f"[yellow]note:[/yellow] the server reported model {name!r} for "
                              f"{n} answer(s) (requested {requested!r})")
    if unreported := result.runsheet.get("model_not_reported"):
        err_console.print(f"[yellow]note:[/yellow] the server named no model for {unreported} "
                          f"answer(s): their lines say \"model\": null beside "
                          f"\"requested_model\": {requested!r}", highlight=False)
    if result.failures:
        err_console.print(f"[red]{c.failed} record(s) failed[/red], by cause:")
        for g in result.failures[:5]:
            status = f"HTTP {g.status} " if g.status is not None else ""
            ids = ", ".join(g.ids) + (", ..." if g.count > len(g.ids) else "")
            err_console.print(f"  {g.count} x {g.kind} {status}({ids}): "
                              f"{plain(redact_text(g.message))}", highlight=False,
                              soft_wrap=True)
        if len(result.failures) > 5:
            err_console.print(f"  ... and {len(result.failures) - 5} other cause(s) "
                              f"(run sheet: failures)")
    if result.stopped:
        err_console.print(f"[red]stopped:[/red] {plain(redact_text(result.stopped))}",
                          highlight=False, soft_wrap=True)
    _print_benchmark_judge(result.runsheet.get("benchmark"), out, quiet)
    tail = ""
    if result.stopped and result.stopped.startswith("ModelNotFound"):
        # the same command would meet the same 404s
        tail = "; fix the model name or --base-url and run again"
    elif c.failed > c.refused or result.stopped:
        tail = "; run again to retry what failed or was not asked"
    elif c.refused or c.kept_failed:
        tail = "; refused records are kept by a resume (--retry-failed asks them again)"
    err_console.print(f"wrote {out}{tail}", highlight=False, soft_wrap=True)


def _print_notes(c) -> None:
    """The notes on what the model gave: answers cut short, filtered, with reasoning, ..."""
    notes = ((c.refused, "of the failed record(s) were refused in a way asking again repeats (a "
                         "filter, a refusal, a request rejected as invalid): written with "
                         "\"refused\": true, kept by a resume; --retry-failed asks them again"),
             (c.kept_failed, "record(s) refused by an earlier run (\"refused\": true) were "
                              "kept, not asked again: they have no answer, and an audit lists "
                              "them as bad records; --retry-failed asks them again"),
             (c.truncated, "answer(s) stopped at the token limit (finish_reason in their lines); "
                           "raise --max-tokens to let them finish"),
             (c.filtered, "answer(s) were cut short by the provider's filter or a refusal after "
                          "some text (finish_reason in their lines): not the model's whole "
                          "answer, which an audit lists as bad records, never scored"),
             (c.reasoning, "answer(s) came with a reasoning model's thoughts (a "
                           "<think>...</think> block, the server's reasoning field, Claude's "
                           "thinking, Gemini's thought summary): kept out of 'response', in "
                           "'reasoning'"),
             (c.thought_only, "of them have an empty answer: the model's output was all "
                              "reasoning. An audit scores an empty answer by each metric's rule "
                              "for one and says so"),
             (c.url_images_unchecked, "kept answer(s) are about an image URL, compared by "
                                      "address only: not fetched again, so changed bytes there "
                                      "go unnoticed (--restart asks everything again)"),
             (c.think_close, "answer(s) hold a '</think>' with no '<think>' before it: a "
                             "reasoning model whose chat template opens the block, behind a "
                             "server without a reasoning parser (vLLM: --reasoning-parser)? "
                             "Its thoughts are then in 'response', and an audit scores them "
                             "as the answer"))
    for n, note in notes:
        if n:
            err_console.print(f"[yellow]note:[/yellow] {n} {note}", highlight=False,
                              soft_wrap=True)


def _print_benchmark_judge(benchmark: dict | None, out: Path, quiet: bool) -> None:
    """With --benchmark (not --quiet): the judge its metric asks, which the audit of ``out``
    asks (``--judge``), never this run: one line, as the audit names the judge it asked."""
    judge = (benchmark or {}).get("judge")
    if quiet or not isinstance(judge, dict):
        return
    named = (f"{judge['name']}@{judge['version']} ({judge['pin']})" if "pin" in judge
             else f"{judge['name']} (its spec cannot be read: {judge.get('unreadable')})")
    metric, pin = benchmark.get("metric"), benchmark.get("pin")
    err_console.print(f"benchmark {plain(pin)} is scored by {plain(metric)} with the judge "
                      f"{plain(named)}: this run asked none; the audit asks it (halluscope "
                      f"audit {plain(out)} --judge {plain(judge['name'])})",
                      highlight=False, soft_wrap=True)


def _decoding(temperature: float, top_p: float | None, max_tokens: int, seed: int | None):
    """The decoding asked for, or None when it is invalid (the query says why)."""
    from halluscope.adapters.types import Decoding
    try:
        return Decoding(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed)
    except ValueError:
        return None


def _benchmark_prompts(benchmark: str, data: list[Path] | None, images: Path | None, out: Path,
                       prompts: Path | None, system: str | None, split: str | None = None,
                       samples: int | None = 1, resume_settings: dict | None = None
                       ) -> tuple[Path, str | None, dict]:
    """The prompts file of ``--benchmark`` (written beside the file ``--out`` names, links
    followed: :func:`~halluscope.runsheet.query_prompts_path`), the system prompt and
    the run sheet's ``benchmark`` entry; ``samples`` (None: ``--restart``) and
    ``resume_settings`` (model, decoding, ...) for the checks of a resume, made before the
    prompts file is rewritten: a refused resume writes nothing."""
    from halluscope.benchmark_query import write_benchmark_prompts
    from halluscope.errors import HalluscopeError
    if prompts is not None:
        err_console.print("[red]error:[/red] give a prompts file or --benchmark, not both")
        raise typer.Exit(EXIT_USAGE)
    from halluscope.adapters.outlock import check_out_path
    from halluscope.benchmark_query import questions_file
    from halluscope.benchmark_specs import load_benchmark, missing_data_places
    from halluscope.runsheet import query_prompts_path
    try:        # before its prompts file is written beside it
        check_out_path(out)
    except HalluscopeError as exc:
        print_error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    data = list(data or [])     # every --data, in order (the last one alone was searched)
    missing = missing_data_places(data)     # said as such, not only as a missing question file
    for problem in missing:
        print_error(problem)
    try:
        if missing:     # refused, as by `benchmarks`; the file it must be, where none has it
            questions_file(load_benchmark(benchmark), data, split)
            raise typer.Exit(EXIT_USAGE)
        path, bench_system, asked = write_benchmark_prompts(
            benchmark, data, images, query_prompts_path(out), out, split,
            resume=samples is not None, samples=samples or 1,
            check_settings=_settings_check(out, resume_settings, system, samples))
    except HalluscopeError as exc:
        print_error(str(exc))       # unwrapped: the file, its sha256 and where to put it
        raise typer.Exit(EXIT_USAGE) from None
    return path, system if system is not None else bench_system, asked


def _settings_check(out: Path, settings: dict | None, system: str | None,
                    samples: int | None):
    """``check_settings(manifest system prompt)`` for :func:`write_benchmark_prompts`: the
    resume's refusal of another model or settings, before the prompts file is written."""
    if settings is None or samples is None or settings.get("decoding") is None:
        return None
    from halluscope.adapters.resume_checks import check_resume_settings

    def check(bench_system: str | None) -> None:
        check_resume_settings(out, **settings, samples=samples,
                              system=system if system is not None else bench_system)
    return check


def register(app: typer.Typer) -> None:
    """Add ``query`` to ``app``."""
    app.command("query", cls=PanelledCommand)(query_command)
