"""Audit the sample data through the Python API, as the notebook does, from a script.

    python examples/audit_api.py                      # the sample data in data/
    python examples/audit_api.py my_outputs.jsonl --out audit-out

Prints the metrics with their confidence intervals, the bad records, the most hallucinated
claims, and writes results.json, items.jsonl, runsheet.json and report.html to --out. Exits 2,
as ``halluscope audit`` does, when a metric scored nothing (saying why).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

try:
    import halluscope
except ImportError:  # a source checkout that was not pip-installed
    sys.path.insert(0, str(HERE.parent))
    import halluscope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path,
                        default=[HERE.parent / "data" / "outputs.jsonl"],
                        help="JSONL files of model outputs (default: the sample data)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new temporary folder)")
    parser.add_argument("--metrics", default=None, help="e.g. 'chair,pope' (default: inferred)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="halluscope-example-"))

    result = halluscope.audit(args.inputs, metrics=args.metrics, out=out)

    print(f"{len(result.items)} items, {len(result.errors)} bad records")
    for name, summary in result.metrics.items():
        for stat, res in summary.results.items():
            ci = f"  95% CI [{res.ci[0]:.3f}, {res.ci[1]:.3f}]" if res.ci else ""
            value = f"{res.value:.4f}" if isinstance(res.value, float) else str(res.value)
            print(f"  {name}.{stat:<16} {value:>10}{ci}  (n={res.n})")

    for err in result.errors[:10]:
        print(f"  problem: {err['file']}:{err['line']}: {err.get('field') or '-'}: "
              f"{err['message']}")
    # a metric that scored no record has no numbers above, only reasons: the run failed
    for name, reasons in result.unscored.items():
        print(f"  {name} scored nothing: {'; '.join(reasons)}")

    items = result.to_pandas()
    print(f"\nitems table: {items.shape[0]} rows x {items.shape[1]} columns")
    if "claims" in result.metrics:
        claims = result.to_pandas("claims")
        bad = claims[claims["verdict"] == "hallucinated"]
        print(f"{len(bad)} hallucinated claims of {len(claims)}:")
        cols = [c for c in ("id", "kind", "subject", "value", "reason") if c in bad]
        print(bad[cols].head(10).to_string(index=False))

    from halluscope.report import plots
    for plot in plots.all_plots(result):
        path = out / f"plot_{plot.key}.png"
        path.write_bytes(plot.png)
        print(f"plot: {path}")
    print(f"report: {out / 'report.html'}")
    return 2 if result.unscored else 0      # as `halluscope audit` exits


if __name__ == "__main__":
    raise SystemExit(main())
