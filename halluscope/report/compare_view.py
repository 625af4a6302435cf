"""A comparison in a notebook (:class:`halluscope.comparison.CompareResult` takes these
methods): :meth:`CompareViews.to_pandas`, one row per comparison, statistic (and group), and
the table ``halluscope compare`` prints as HTML (Jupyter shows it for the bare result, which
was a screen of nested dicts). Every text from a run is redacted and escaped as compare.html's."""

from __future__ import annotations

import html
from typing import Any

#: The columns of :meth:`CompareViews.to_pandas`, in order.
FRAME_COLUMNS = ("a_run", "b_run", "metric", "statistic", "group", "a", "b", "diff",
                 "ci_lower", "ci_upper", "n_paired", "only_a", "only_b", "ci_note",
                 "why_no_value")


def _row(comp: Any, key: str, entry: dict[str, Any], group: str | None) -> dict[str, Any]:
    from halluscope.gates.diff import no_value
    metric, _, stat = key.partition(".")
    ci = entry.get("ci") or (None, None)
    why = no_value(entry).removeprefix("; ") if entry.get("why_no_value") else None
    return {"a_run": comp.a, "b_run": comp.b, "metric": metric, "statistic": stat,
            "group": group, "a": entry.get("a"), "b": entry.get("b"), "diff": entry.get("diff"),
            "ci_lower": ci[0], "ci_upper": ci[1], "n_paired": entry.get("n_paired"),
            "only_a": entry.get("only_a"), "only_b": entry.get("only_b"),
            "ci_note": entry.get("ci_note"), "why_no_value": why or None}


class CompareViews:
    """Notebook views of a comparison; the class using it has ``comparisons``, each with
    ``a``, ``b``, ``metrics``, ``groups``, ``left_out``, ``notes()`` and
    ``change_counts()``."""

    comparisons: list[Any]

    def to_pandas(self, what: str = "metrics"):
        """One row per comparison (run B against the baseline A) and statistic, with A, B,
        B − A, the interval's ends (``None`` where there is none: ``ci_note`` says why),
        paired items and those of one run only; ``what="groups"``: the same per group
        (``group`` names it, as a diff gate's ``@GROUP`` does)."""
        import pandas as pd
        from halluscope.errors import ConfigError
        if what not in ("metrics", "groups"):
            raise ConfigError(f"to_pandas: expected 'metrics' or 'groups', got {what!r}")
        rows = []
        for comp in self.comparisons:
            if what == "metrics":
                rows += [_row(comp, key, e, None) for key, e in comp.metrics.items()]
            else:
                rows += [_row(comp, key, e, group) for group, entries in comp.groups.items()
                         for key, e in entries.items()]
        return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))

    def _repr_html_(self) -> str:
        from halluscope.redact import known_secrets, redact_text
        from halluscope.report.compare_html import _row as table_row
        secrets = known_secrets()

        def shown(text: Any) -> str:
            return html.escape(redact_text(str(text), secrets=secrets))

        parts = ["<div class='halluscope-compare'>"]
        for comp in self.comparisons:
            counts = comp.change_counts()
            parts.append(f"<p><b>B = {shown(comp.b)}</b> vs <b>A = {shown(comp.a)}</b></p>")
            partial = comp.partial_note(getattr(self, "allow_unfinished_query", False))
            parts += [f"<p><b>PARTIAL:</b> {shown(partial)}</p>"] if partial else []
            parts += [f"<p>warning: {shown(note)}</p>" for note in comp.notes()]
            parts += [f"<p>left out: {shown(key)}: {shown(why)}</p>"
                      for key, why in comp.left_out.items()]
            parts.append("<table><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th>"
                         "<th>interval</th><th>paired</th><th>only A</th><th>only B</th></tr>")
            parts += [table_row(key, e, shown, why=True) for key, e in comp.metrics.items()]
            parts.append(f"</table><p>items that changed verdict: {counts['better']} better, "
                         f"{counts['worse']} worse in B"
                         + (f", {counts['mixed']} mixed" if counts.get("mixed") else "")
                         + "</p>")
        return "".join(parts) + "</div>"


__all__ = ["FRAME_COLUMNS", "CompareViews"]
