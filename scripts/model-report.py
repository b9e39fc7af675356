#!/usr/bin/env python3
"""The model's report for a pull request: the head's backtest next to the base's (main's).

    model-report.py render --head HEAD/metrics.json [--base BASE/metrics.json] [--png-url URL]
        Markdown on stdout: per horizon the online MAE, its ratio to the last-daily-price
        baseline and the interval coverage, head vs base with the difference; the model each
        ships per horizon and whether that changed; flags (below). `make model-report` runs the
        pipeline on the repository's snapshot (data/brent-daily.csv) for both checkouts and
        calls this; scripts/plan-comment.py puts the result in the PR comment.

Flags (documented in docs/delivery.md, "The model's report"):
- a horizon whose online MAE is more than MAE_TOLERANCE (relative) above the base's;
- a horizon whose interval coverage is outside COVERAGE_RANGE, in the head.
Both checkouts run on the same snapshot with the same code path (`make run`), so a difference is
the change's, not the data's. Standard library only: the comment job needs no virtualenv.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- ipeacast:model-report -->"
# A horizon's online MAE may rise this much (relative to the base's) before it is flagged: the
# walk-forward backtest is deterministic, so anything above rounding is the change's doing, and
# 1 % is well under the spread of MAE between candidate models (docs/model.md).
MAE_TOLERANCE = 0.01
COVERAGE_RANGE = (0.75, 0.85)  # what an 80 % interval should cover, with sampling slack
SECTION_BUDGET = 12_000  # characters of the PR comment this section may take


def load_metrics(path: str | Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    p = Path(path)
    if not p.is_file():
        return None
    return json.loads(p.read_text())


def horizons(metrics: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Per horizon: online MAE, ratio to the last-price baseline, coverage, shipped model."""
    shipped = {int(h): c.get("candidate") for h, c in metrics.get("champion", {}).items()}
    out = {}
    for row in metrics.get("comparison", []):
        h = int(row["horizon"])
        out[h] = {
            "mae": row.get("mae_champion"),
            "ratio": row.get("ratio_naive_last_price"),
            "coverage": row.get("coverage"),
            "model": shipped.get(h, "-"),
        }
    return out


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _fmt(value: Any, spec: str) -> str:
    v = _num(value)
    return "-" if v is None else format(v, spec)


def _diff(head: Any, base: Any, spec: str) -> str:
    h, b = _num(head), _num(base)
    if h is None or b is None:
        return "-"
    return format(h - b, "+" + spec)


def flags(head: dict[int, dict[str, Any]], base: dict[int, dict[str, Any]] | None) -> list[str]:
    """What a reviewer must look at: MAE worse than the base beyond the tolerance, coverage
    outside the range, a horizon that disappeared."""
    out = []
    low, high = COVERAGE_RANGE
    for h in sorted(set(head) | set(base or {})):
        if h not in head:
            out.append(f"M+{h}: the head has no backtest for this horizon")
            continue
        row = head[h]
        b = (base or {}).get(h)
        mae, base_mae = _num(row["mae"]), _num(b["mae"]) if b else None
        if mae is not None and base_mae is not None and base_mae > 0:
            change = mae / base_mae - 1
            if change > MAE_TOLERANCE:
                out.append(
                    f"M+{h}: MAE {mae:.3f} is {change:.1%} worse than main's {base_mae:.3f} "
                    f"(tolerance {MAE_TOLERANCE:.0%})"
                )
        coverage = _num(row["coverage"])
        if coverage is not None and not low <= coverage <= high:
            out.append(
                f"M+{h}: 80 % interval coverage {coverage:.1%} is outside {low:.0%}-{high:.0%}"
            )
    return out


def render(
    head_metrics: dict[str, Any],
    base_metrics: dict[str, Any] | None,
    *,
    png_url: str = "",
    sha: str = "",
) -> str:
    head = horizons(head_metrics)
    base = horizons(base_metrics) if base_metrics else None
    lines = [MARKER, "## Model report (backtest on data/brent-daily.csv)", ""]
    bt = head_metrics.get("backtest", {})
    where = f" at `{sha[:12]}`" if sha else ""
    lines.append(
        f"Head{where} vs main, same snapshot, same `make run`. Origins "
        f"{bt.get('first_origin', '?')}..{bt.get('last_origin', '?')} "
        f"({bt.get('n_origins', '?')}); MAE = the champion rule applied month by month "
        "(MAE online); ratio = that MAE / the last daily price's."
    )
    if base is None:
        lines += ["", "_No base report: main's run failed or predates the report; head only._"]
    lines += [""]
    found = flags(head, base)
    if found:
        lines += ["**Flags**", ""] + [f"- :warning: {f}" for f in found] + [""]
    else:
        lines += [
            "No flags: no horizon's MAE got worse beyond tolerance, coverage within range.",
            "",
        ]
    lines += [
        "| horizon | MAE head | MAE main | Δ | ratio head | ratio main | coverage head | "
        "coverage main | ships (head) | ships (main) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for h in sorted(set(head) | set(base or {})):
        r = head.get(h, {"mae": None, "ratio": None, "coverage": None, "model": "-"})
        b = (base or {}).get(h, {"mae": None, "ratio": None, "coverage": None, "model": "-"})
        model = f"`{r['model']}`"
        if base is not None and r["model"] != b["model"]:
            model += " **(changed)**"
        lines.append(
            f"| M+{h} | {_fmt(r['mae'], '.3f')} | {_fmt(b['mae'], '.3f')} | "
            f"{_diff(r['mae'], b['mae'], '.3f')} | {_fmt(r['ratio'], '.3f')} | "
            f"{_fmt(b['ratio'], '.3f')} | {_fmt(r['coverage'], '.1%')} | "
            f"{_fmt(b['coverage'], '.1%')} | {model} | `{b['model']}` |"
        )
    lines.append("")
    if png_url:
        lines.append(f"Report plot (head): [report.png in the `model-report` artifact]({png_url})")
    else:
        lines.append("Report plot (head): the `model-report` artifact of this run.")
    body = "\n".join(lines) + "\n"
    if len(body) > SECTION_BUDGET:
        body = "\n".join(
            [MARKER, "## Model report", "", "_Too long for the comment: see the job summary._", ""]
        )
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("render", help="the report section as markdown on stdout")
    p.add_argument("--head", required=True, help="the head's metrics.json")
    p.add_argument("--base", help="main's metrics.json (missing: head only)")
    p.add_argument("--png-url", default="")
    p.add_argument("--sha", default="")
    args = parser.parse_args(argv)
    head = load_metrics(args.head)
    if head is None:
        print(f"model-report: error: {args.head} does not exist", file=sys.stderr)
        return 1
    print(render(head, load_metrics(args.base), png_url=args.png_url, sha=args.sha), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
