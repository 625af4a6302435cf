"""Logging an audit where people track runs: Weights & Biases and MLflow (optional extras).

:func:`log_run` sends every metric (overall and per group), its interval bounds and its n, the
run sheet as the run's configuration, and ``report.html`` as an artifact. Both trackers work
offline into a local folder:

* ``wandb``: ``WANDB_MODE`` decides (``offline`` when unset, so nothing leaves the machine unless
  asked); files go under ``WANDB_DIR`` or the audit's output folder.
* ``mlflow``: ``MLFLOW_TRACKING_URI`` decides; when unset, a file store ``<out>/mlruns``
  (MLflow 3 wants ``MLFLOW_ALLOW_FILE_STORE=true`` for it, which is then set).

One audit is one tracker run: its run id is the W&B run's id and the MLflow run's tag
:data:`RUN_TAG`, so logging it again (a ``--resume`` of the finished audit, retried after a
tracker was down) continues that run instead of adding a second. W&B offline cannot resume a
run: a logging that an offline folder of the run already holds (the marker ``_MARKER`` there
says what, written once the run finished) is not repeated; one that differs gets a folder of
its own, warned about.

A run ends as the audit does: an audit that crossed a gate (exit 1) or whose metric scored
nothing (exit 2) is an MLflow run ``FAILED`` and a W&B run with that exit code, never a
success on a dashboard; why is the MLflow tag and W&B summary field :data:`OUTCOME`
(``passed`` for an audit that passed).

Names: ``chair.chair_i``, ``chair.chair_i.ci_lower``, ``chair.chair_i.ci_upper``,
``chair.chair_i.n``; a group's numbers as ``split_random/pope.f1`` (trackers refuse ``@``/``:``,
and a file store cannot hold a metric that is also a folder).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from halluscope.atomicfiles import write_text_atomically
from halluscope.errors import ConfigError, MissingExtraError

log = logging.getLogger(__name__)

TRACKERS = ("wandb", "mlflow")
RUN_TAG = "halluscope.run_id"
"""The MLflow tag holding the audit's run id (W&B takes it as the run's own id)."""
OUTCOME = "halluscope.outcome"
"""The MLflow tag and W&B summary field saying how the audit ended: ``passed``, or why not."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/ ]")


def _prefix(group: str, taken: dict[str, str]) -> str:
    """``group`` as a tracker-safe folder of names, one per group: a model named as a local
    checkpoint folder (``ckpt/llava/``) gave ``model_ckpt/llava//pope.f1``, which MLflow
    refuses (a name must not change as a path), and two groups made alike (``llava:13b``,
    ``llava_13b``) logged under one name, the second's numbers over the first's."""
    parts = [p if p != ".." else "__" for p in _UNSAFE.sub("_", group).split("/")]
    safe = "/".join(p for p in parts if p not in ("", ".")) or "_"
    if taken.setdefault(safe, group) != group:
        import hashlib
        safe = f"{safe}_{hashlib.sha256(group.encode()).hexdigest()[:8]}"
        taken[safe] = group
    return safe


def flat_metrics(result) -> dict[str, float]:
    """Every number of ``result`` under a tracker-safe name: value, ``.ci_lower``,
    ``.ci_upper`` and ``.n`` for each statistic, overall and per group (NaN values left out,
    and a rate computed over no units, such as AMBER's starting counters' 0.0, which the gates
    and ``compare`` take for no value: a chart plotted it as a measurement)."""
    from halluscope.gates.assertions import over_no_units
    out: dict[str, float] = {}
    taken: dict[str, str] = {}      # safe group name -> the group it names
    for metric, summary in result.metrics.items():
        blocks = [(None, summary.results)] + list(summary.groups.items())
        for group, results in blocks:
            prefix = "" if group is None else _prefix(group, taken) + "/"
            for stat, res in results.items():
                key = f"{prefix}{metric}.{stat}"
                if (res.value is not None and not math.isnan(float(res.value))
                        and not over_no_units(res.n, res.value)):
                    out[key] = float(res.value)
                if res.ci is not None:
                    out[f"{key}.ci_lower"], out[f"{key}.ci_upper"] = map(float, res.ci)
                out[f"{key}.n"] = float(res.n)
    return out


def _flat_params(obj: Any, prefix: str = "") -> dict[str, str]:
    """The run sheet as flat ``key -> string`` parameters (MLflow caps values at 6000 chars)."""
    out: dict[str, str] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flat_params(v, f"{prefix}{k}."))
    else:
        text = obj if isinstance(obj, str) else json.dumps(obj, default=str)
        out[prefix.rstrip(".")] = text[:6000]
    return out


#: The tracking URIs halluscope chose (``<out>/mlruns``), and "" (none set): MLflow's
#: set_tracking_uri writes its URI to MLFLOW_TRACKING_URI too, where the next audit of the same
#: process took it for the user's and logged into the first audit's folder.
_OWN_URIS: set[str] = {""}


def _log_mlflow(result, out: Path, report: Path | None, name: str | None,
                exit_code: int = 0, why: str = "") -> str:
    try:
        import mlflow
    except ImportError as exc:
        raise MissingExtraError("--log mlflow", "mlflow", "mlflow") from exc
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if uri in _OWN_URIS:
        # MLflow 3 keeps the file store in maintenance mode behind an opt-in; a local folder is
        # what an offline audit wants (point MLFLOW_TRACKING_URI at a server or sqlite instead)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        uri = (out / "mlruns").resolve().as_uri()
        _OWN_URIS.add(uri)
    mlflow.set_tracking_uri(uri)    # (MLflow reads the variable once; the user's may be new)
    mlflow.set_experiment("halluscope")
    from halluscope.redact import redact_mapping
    sheet = redact_mapping(result.runsheet)
    earlier = _mlflow_run_of(mlflow, result.run_id)
    run = mlflow.start_run(run_id=earlier, run_name=name)
    status = "FAILED"       # a logging that breaks off is not a finished run either
    try:
        if result.run_id:
            mlflow.set_tag(RUN_TAG, result.run_id)
        mlflow.set_tag(OUTCOME, _outcome(exit_code, why))
        params = _flat_params(sheet.get("config", {}), "config.")
        mlflow.log_params(dict(list(params.items())[:100]))
        mlflow.log_dict(sheet, "runsheet.json")
        # logging the audit again: only what the run lacks or holds otherwise (a second
        # point of each metric plotted as a second measurement of one audit)
        held = mlflow.get_run(earlier).data.metrics if earlier else {}
        mlflow.log_metrics({k: v for k, v in flat_metrics(result).items() if held.get(k) != v})
        if report is not None:
            mlflow.log_artifact(str(report))
        status = "FAILED" if exit_code else "FINISHED"
        return run.info.run_id
    finally:
        mlflow.end_run(status=status)


def _outcome(exit_code: int, why: str) -> str:
    """The :data:`OUTCOME` text: ``passed``, or why the audit failed (cut to what a tag
    holds)."""
    if not exit_code:
        return "passed"
    from halluscope.redact import cut_text, redact_text
    return cut_text(redact_text(why or f"failed (exit {exit_code})"), 4000, "…")


def _mlflow_run_of(mlflow, run_id: str | None) -> str | None:
    """The MLflow run an earlier logging of the audit ``run_id`` made (tagged :data:`RUN_TAG`),
    if any: logging it again (``--resume`` of a finished audit reads it back) continues that
    run instead of adding a second one."""
    if not run_id or not re.fullmatch(r"[0-9a-f]{32}", run_id):
        return None
    found = mlflow.search_runs(filter_string=f"tags.`{RUN_TAG}` = '{run_id}'",
                               output_format="list", max_results=1)
    return found[0].info.run_id if found else None


def _log_wandb(result, out: Path, report: Path | None, name: str | None,
               project: str | None, exit_code: int = 0, why: str = "") -> str:
    try:
        import wandb
    except ImportError as exc:
        raise MissingExtraError("--log wandb", "wandb", "wandb") from exc
    from halluscope.redact import redact_mapping
    mode = os.environ.get("WANDB_MODE", "offline")
    # W&B records the raw command line (and the code, the git state) by itself: an
    # --option judge_base_url=http://user:PASSWORD@... reached its files. The run sheet it
    # gets as config is the redacted one, and it records nothing else about the process.
    settings = wandb.Settings(x_disable_meta=True, disable_code=True, save_code=False,
                              disable_git=True)
    root = Path(os.environ.get("WANDB_DIR", str(out)))
    metrics = flat_metrics(result)
    logged = _logged_digest(metrics, report, exit_code, why)
    if mode in ("offline", "dryrun") and result.run_id:
        earlier = _offline_runs(root, result.run_id)
        if any(_marker_says(folder, logged) for folder in earlier):
            log.info("W&B: this audit is logged offline already, as it is now (%s)",
                     ", ".join(map(str, earlier)))
            return result.run_id
        if earlier:
            log.warning("W&B offline keeps each logging in a folder of its own: this audit "
                        "was logged before, differently or not to the end, in %s; sync the "
                        "latest", ", ".join(map(str, earlier)))
    # the audit's run id is W&B's: logging the same audit again continues its run (online;
    # offline W&B ignores a resume, warning that it does: the folders above stand for it)
    resume = "allow" if result.run_id and mode not in ("offline", "dryrun") else None
    run = wandb.init(project=project or "halluscope", name=name, mode=mode,
                     id=result.run_id or None, resume=resume, dir=str(root),
                     config=redact_mapping(result.runsheet), reinit=_reinit(wandb),
                     settings=settings)
    code = 1        # a logging that breaks off is not a finished run either
    folder = Path(run.dir).parent
    try:
        run.log(metrics)
        for key, value in metrics.items():
            run.summary[key] = value
        run.summary[OUTCOME] = _outcome(exit_code, why)
        if report is not None:
            artifact = wandb.Artifact("report", type="report")
            artifact.add_file(str(report))
            run.log_artifact(artifact)
        code = exit_code
    finally:
        run.finish(exit_code=code)
    if mode in ("offline", "dryrun") and folder.is_dir():     # finished: what it holds
        write_text_atomically(folder / _MARKER, json.dumps({"logged": logged}))
    return run.id


def _reinit(wandb) -> Any:
    """W&B's ``reinit`` that finishes a run still open in the process: ``"finish_previous"``
    where W&B knows it (0.19.10 on, which warn that ``True`` is deprecated), else ``True``."""
    try:
        wandb.Settings(reinit="finish_previous")
    except Exception:       # noqa: BLE001 - an older W&B refuses the value (pydantic's error)
        return True
    return "finish_previous"


@contextmanager
def _hushed(quiet: bool, tracker: str) -> Iterator[None]:
    """While ``quiet`` (``audit --quiet``), the trackers' own notes off the terminal: W&B's
    banner and run summary (``WANDB_SILENT``), MLflow's info lines ("Creating a new
    experiment") and the run and experiment URLs it writes to stdout for a tracking server.
    A failure still raises, and the audit says it; warnings still show."""
    if not quiet:
        yield
        return
    if tracker == "mlflow":
        try:        # MLflow sets its logger's level when imported: import it first
            import mlflow  # noqa: F401
        except ImportError:
            pass    # (said by _log_mlflow)
    from halluscope.environ import environ_set
    mlflow_log = logging.getLogger("mlflow")
    # both put back however the logging ends (a tracker's exception included)
    with ExitStack() as stack:
        stack.callback(mlflow_log.setLevel, mlflow_log.level)
        stack.enter_context(environ_set(_HUSH_ENV))
        mlflow_log.setLevel(max(mlflow_log.level, logging.WARNING))
        yield


_HUSH_ENV = {"WANDB_SILENT": "true", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}


#: The file in a W&B offline run folder saying what halluscope logged there, written once
#: the run is finished (:func:`_logged_digest`).
_MARKER = "halluscope-logged.json"


def _logged_digest(metrics: dict[str, float], report: Path | None, exit_code: int,
                   why: str) -> str:
    """What a logging holds: every number, the outcome and the report, as one sha256."""
    import hashlib
    digest = hashlib.sha256(json.dumps([metrics, exit_code, why], sort_keys=True).encode())
    if report is not None:
        with open(report, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _offline_runs(root: Path, run_id: str) -> list[Path]:
    """W&B's offline folders of ``run_id`` under ``root`` (``wandb/offline-run-<time>-<id>``)."""
    return sorted(p for p in (root / "wandb").glob(f"offline-run-*-{run_id}") if p.is_dir())


def _marker_says(folder: Path, logged: str) -> bool:
    """Whether ``folder`` holds a finished logging of exactly ``logged``."""
    try:
        return json.loads((folder / _MARKER).read_text()).get("logged") == logged
    except (OSError, ValueError, AttributeError):
        return False


def check_trackers(trackers: list[str] | tuple[str, ...]) -> None:
    """Refuse an unknown tracker (naming the nearest) or one whose extra is not installed, as
    the audit's gates are checked: before anything is scored. Both were found only after the
    whole audit had run, and the exit 2 then hid its summary and its gates."""
    from importlib.util import find_spec

    from halluscope.errors import suggest
    unknown = [t for t in trackers if t not in TRACKERS]
    if unknown:
        raise ConfigError(f"expected --log one of {', '.join(TRACKERS)}, got "
                          f"{', '.join(unknown)}{suggest(unknown[0], TRACKERS)}")
    for tracker in dict.fromkeys(trackers):
        if find_spec(tracker) is None:
            raise MissingExtraError(f"--log {tracker}", tracker, tracker)


def log_run(result, out: str | Path, trackers: list[str] | tuple[str, ...], *,
            name: str | None = None, project: str | None = None, exit_code: int = 0,
            why: str = "", quiet: bool = False) -> dict[str, str]:
    """Log ``result`` (saved in ``out``) to each tracker; return tracker -> run id.
    ``exit_code``: how the audit ends (1: a gate crossed, 2: a metric scored nothing), ``why``
    in words; a run of a failed audit ends failed (see the module). ``quiet``: the trackers'
    own output is kept off the terminal (:func:`_hushed`); failures are still raised."""
    out = Path(out)
    check_trackers(trackers)
    report = out / "report.html"
    report = report if report.is_file() else None
    ids: dict[str, str] = {}
    for tracker in dict.fromkeys(trackers):
        try:
            with _hushed(quiet, tracker):
                if tracker == "mlflow":
                    ids[tracker] = _log_mlflow(result, out, report, name, exit_code, why)
                else:
                    ids[tracker] = _log_wandb(result, out, report, name, project, exit_code,
                                              why)
        except (ConfigError, MissingExtraError):
            raise
        except Exception as exc:    # a tracker down or refusing: no crash of halluscope (exit 3)
            log.debug("logging to %s failed", tracker, exc_info=True)
            raise ConfigError(
                f"--log {tracker}: the audit could not be logged ({type(exc).__name__}: "
                f"{exc}); its results are saved in {out}: the same command with --resume "
                f"logs them again") from exc
        log.info("logged the audit to %s (run %s)", tracker, ids[tracker])
    return ids


__all__ = ["log_run", "check_trackers", "flat_metrics", "TRACKERS", "OUTCOME"]
