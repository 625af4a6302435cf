"""``AuditResult``: the outcome of an audit, for notebooks, the CLI and the pytest plugin."""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from halluscope.metrics.base import MetricSummary
from halluscope.metrics.stats import MetricResult

RESULTS = "results.json"
RUNSHEET = "runsheet.json"
REPORT = "report.html"


class Items:
    """The per-item results, read lazily from ``items.jsonl`` (never all held in memory)."""

    def __init__(self, path: Path, n: int):
        self.path = path
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[dict[str, Any]]:
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        for i, item in enumerate(self):
            if i == index:
                return item
        raise IndexError(index)

    def head(self, n: int = 5) -> list[dict[str, Any]]:
        out = []
        for item in self:
            if len(out) >= n:
                break
            out.append(item)
        return out


class AuditResult:
    """Metrics, per-item verdicts, problems and the run sheet of one audit.

    Attributes:
        metrics: Metric name -> :class:`~halluscope.metrics.base.MetricSummary`.
        errors: Every bad line or unscorable record: file, line, field, message (and metric).
        runsheet: What the run was (versions, hashes, variants, seeds, wall time).
        items: Per-record results, streamed from ``items.jsonl``.
        config: The :class:`~halluscope.config.AuditConfig` that ran.
        n_skipped: Records that no selected metric applies to (marked ``skipped`` in items).
    """

    def __init__(self, *, metrics: dict[str, MetricSummary], errors: list[dict[str, Any]],
                 runsheet: dict[str, Any], items_path: Path, config: Any, n_items: int,
                 n_skipped: int = 0):
        self.metrics = metrics
        self.errors = errors
        self.runsheet = runsheet
        self.items_path = Path(items_path)
        self.items = Items(self.items_path, n_items)
        self.config = config
        self.n_skipped = n_skipped

    # -- lookup -------------------------------------------------------------------------------
    def get(self, name: str) -> MetricResult:
        """The result named ``"<metric>.<statistic>"`` (e.g. ``"chair.chair_i"``, ``"pope.f1"``);
        ``"<metric>.<statistic>@<group>"`` picks a group (``"pope.f1@split:random"``)."""
        metric, _, stat = name.partition(".")
        group = None
        if "@" in stat:
            stat, _, group = stat.partition("@")
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r} in this audit; have: "
                           f"{', '.join(self.metrics) or 'none'}")
        summary = self.metrics[metric]
        results = summary.results if group is None else summary.groups.get(group)
        if results is None:
            raise KeyError(f"metric {metric!r} has no group {group!r}; have: "
                           f"{', '.join(summary.groups) or 'none'}")
        if stat not in results:
            raise KeyError(f"metric {metric!r} has no statistic {stat!r}; have: "
                           f"{', '.join(results)}")
        return results[stat]

    @property
    def summary(self) -> dict[str, float]:
        """Flat ``{"metric.statistic": value}`` of every top-level result."""
        out = {}
        for name, summary in self.metrics.items():
            for stat, res in summary.results.items():
                out[f"{name}.{stat}"] = res.value
        return out

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``."""
        return {
            "metrics": {name: s.to_dict() for name, s in self.metrics.items()},
            "n_items": len(self.items),
            "n_errors": len(self.errors),
            "n_skipped": self.n_skipped,
            "errors": self.errors,
        }

    # -- assertions (pytest plugin and notebooks) --------------------------------------------
    def assert_below(self, name: str, threshold: float, bound: str | None = None):
        """Raise AssertionError unless metric ``name`` (or its ``"upper"`` bound) <= threshold;
        the message shows the metric, its interval, the bound, the threshold and the worst
        items with their evidence."""
        __tracebackhide__ = True
        from halluscope.assertions import check_threshold
        return check_threshold(self, name, threshold, bound=bound, direction="below")

    def assert_above(self, name: str, threshold: float, bound: str | None = None):
        """Raise AssertionError unless metric ``name`` (or its ``"lower"`` bound) >= threshold."""
        __tracebackhide__ = True
        from halluscope.assertions import check_threshold
        return check_threshold(self, name, threshold, bound=bound, direction="above")

    def gate_failures(self, above: dict[str, float] | None = None,
                      below: dict[str, float] | None = None) -> list[str]:
        """Messages for every gate crossed: ``above`` fails when a value exceeds its limit,
        ``below`` when a value falls under it."""
        failures = []
        for name, limit in (above or {}).items():
            value = self.get(name).value
            if value is not None and value > limit:
                failures.append(f"{name} = {value:.4f} is above {limit:g}")
        for name, limit in (below or {}).items():
            value = self.get(name).value
            if value is not None and value < limit:
                failures.append(f"{name} = {value:.4f} is below {limit:g}")
        return failures

    # -- export -------------------------------------------------------------------------------
    def to_pandas(self, level: str = "items"):
        """A DataFrame: one row per item (``level="items"``, metric payloads flattened; ids that
        are all integers come out as integers), one row per claim (``level="claims"``), or one
        row per metric, statistic and group (``level="metrics"``: ``group`` is empty overall,
        ``model:demo-vlm-a`` per model, ...)."""
        import pandas as pd
        if level == "metrics":
            return pd.DataFrame(self._metric_rows())
        if level == "claims":
            rows = []
            for item in self.items:
                for claim in item.get("claims") or ():
                    rows.append({"id": item.get("id"), "image": item.get("image"), **claim})
            return pd.DataFrame(rows)
        if level != "items":
            raise ValueError(f"expected level 'items' or 'claims', got {level!r}")
        rows = []
        for item in self.items:
            row = {k: v for k, v in item.items() if not isinstance(v, (dict, list))}
            for name in self.metrics:
                payload = item.get(name)
                if not isinstance(payload, dict):
                    payload = item.get(f"{name}_summary")
                if isinstance(payload, dict):
                    for k, v in payload.items():
                        row[f"{name}.{k}"] = v
            if "claims" in item:
                row["n_claims"] = len(item["claims"])
            rows.append(row)
        frame = pd.DataFrame(rows)
        if "id" in frame and len(frame) and frame["id"].map(
                lambda v: isinstance(v, str) and v.isdigit()).all():
            frame["id"] = frame["id"].astype("int64")
        if "image_id" in frame and frame["image_id"].notna().all():
            frame["image_id"] = frame["image_id"].astype("int64")
        return frame

    def _metric_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, summary in self.metrics.items():
            for group, results in [("", summary.results), *summary.groups.items()]:
                for stat, res in results.items():
                    rows.append({"metric": name, "statistic": stat, "group": group,
                                 "value": res.value, "ci_lower": res.ci[0] if res.ci else None,
                                 "ci_upper": res.ci[1] if res.ci else None, "n": res.n,
                                 "ci_note": getattr(res, "ci_note", None)})
        return rows

    def save(self, out: str | Path, *, write_items: bool = True,
             write_report: bool = True) -> Path:
        """Write ``results.json``, ``items.jsonl``, ``runsheet.json`` and ``report.html``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        if write_items and self.items_path.resolve() != (out / "items.jsonl").resolve():
            shutil.copyfile(self.items_path, out / "items.jsonl")
        (out / RESULTS).write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False),
                                   encoding="utf-8")
        (out / RUNSHEET).write_text(json.dumps(self.runsheet, indent=2, ensure_ascii=False),
                                    encoding="utf-8")
        if write_report:
            from halluscope.report.html import write_report as _write
            _write(self, out / REPORT)
        return out

    # -- notebooks ----------------------------------------------------------------------------
    def _repr_html_(self) -> str:
        rows = []
        for name, summary in self.metrics.items():
            for stat, res in summary.results.items():
                ci = (f"[{res.ci[0]:.4f}, {res.ci[1]:.4f}]" if res.ci else "")
                value = f"{res.value:.4f}" if isinstance(res.value, float) else str(res.value)
                rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(stat)}</td>"
                            f"<td>{value}</td><td>{ci}</td><td>{res.n}</td></tr>")
        errors = (f"<p>{len(self.errors)} bad record(s); see <code>.errors</code>.</p>"
                  if self.errors else "")
        report = self.items_path.parent / REPORT
        if report.is_file():
            errors += (f"<p><a href='{html.escape(report.as_uri())}' target='_blank'>"
                       f"report.html</a></p>")
        return ("<div class='halluscope'><table><thead><tr><th>metric</th><th>statistic</th>"
                "<th>value</th><th>95% CI</th><th>n</th></tr></thead><tbody>"
                + "".join(rows) + f"</tbody></table><p>{len(self.items)} items</p>{errors}</div>")

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in self.summary.items())
        return f"AuditResult({parts}; items={len(self.items)}, errors={len(self.errors)})"
