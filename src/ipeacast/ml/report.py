"""Per-run report: a PNG (history, backtest, forecast fan) and a short markdown summary.

Everything is read from a trained model directory (metrics.json, forecast.parquet,
backtest.parquet); the monthly table, when given, supplies the full price history.
"""

from __future__ import annotations

import io
import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ipeacast.core import lake, storage
from ipeacast.ml.frames import read_parquet

log = logging.getLogger(__name__)


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def metrics_rows(metrics: dict[str, Any]) -> list[dict[str, str]]:
    """The per-horizon comparison (champion vs both baselines) as formatted strings."""
    shipped = {str(h): c["candidate"] for h, c in metrics.get("champion", {}).items()}
    rows = []
    for r in metrics.get("comparison", []):
        rows.append(
            {
                "horizon": f"M+{r['horizon']}",
                "shipped": shipped.get(str(r["horizon"]), "-"),
                "n": str(r["n"]),
                "MAE online": _fmt(r["mae_champion"], ".2f"),
                "MAE last price": _fmt(r["mae_naive_last_price"], ".2f"),
                "MAE last avg": _fmt(r["mae_naive_last_avg"], ".2f"),
                "online/last price": _fmt(r["ratio_naive_last_price"], ".3f"),
                "MAPE %": _fmt(r["mape"], ".1f"),
                "MASE": _fmt(r["mase"], ".2f"),
                "direction": _fmt(r["directional_accuracy"], ".2f"),
                "coverage": _fmt(r["coverage"], ".2f"),
            }
        )
    return rows


def metrics_table_text(metrics: dict[str, Any]) -> str:
    """A fixed-width text table of the per-horizon backtest metrics (for the CLI)."""
    rows = metrics_rows(metrics)
    if not rows:
        return "(no backtest metrics)"
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    lines = ["  ".join(c.rjust(widths[c]) for c in cols)]
    lines += ["  ".join(r[c].rjust(widths[c]) for c in cols) for r in rows]
    level = metrics.get("config", {}).get("interval_level")
    bt = metrics.get("backtest", {})
    lines.append(
        f"backtest origins {bt.get('first_origin', '?')}..{bt.get('last_origin', '?')}. "
        "shipped: the model this run ships per horizon (the learned model only where it beat the "
        "best no-change baseline over the whole backtest and in the online record of the last "
        "ten years).\nMAE online: the champion rule "
        "applied month by month with the errors known at each origin (an honest estimate of "
        "choosing, then forecasting; it can trail a baseline slightly).\ncoverage: of the "
        f"{_fmt(level, '.0%')} intervals"
    )
    return "\n".join(lines)


def markdown_summary(metrics: dict[str, Any], forecast: pd.DataFrame) -> str:
    """A short markdown page: forecast, champion per horizon and the metrics table."""
    rows = metrics_rows(metrics)
    out = [
        f"# Forecast {metrics.get('series', '')} — run {metrics.get('run_id', '')}",
        "",
        f"Origin {metrics.get('origin_date')} (last complete month {metrics.get('last_month')}), "
        f"history {metrics.get('first_month')}..{metrics.get('last_month')}.",
        "",
        "## Forecast (monthly average price)",
        "",
        "| horizon | month | forecast | lower | upper | model |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in forecast.sort_values("horizon").itertuples():
        out.append(
            f"| M+{r.horizon} | {pd.Timestamp(r.target_month):%Y-%m} | {r.point_forecast:.2f} | "
            f"{r.lower:.2f} | {r.upper:.2f} | {r.model} |"
        )
    level = metrics.get("config", {}).get("interval_level")
    gamma = metrics.get("config", {}).get("conformal_gamma")
    out += [
        "",
        f"Intervals: {_fmt(level, '.0%')} conformal, from backtest residuals"
        + (f"; adaptive level, step {gamma} (see metrics.json)." if gamma else "."),
        *_interval_note(metrics.get("intervals")),
        "",
        "## Backtest (walk-forward, expanding window)",
        "",
    ]
    if rows:
        cols = list(rows[0])
        out.append("| " + " | ".join(cols) + " |")
        out.append(
            "|" + "|".join("---" if c in ("horizon", "shipped") else "---:" for c in cols) + "|"
        )
        out += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    bt = metrics.get("backtest", {})
    out += [
        "",
        f"Origins {bt.get('first_origin')}..{bt.get('last_origin')} ({bt.get('n_origins')}). "
        "'MAE online' is the champion rule applied month by month, with the errors known at each "
        "origin; 'online/last price' is its MAE over the last-daily-price baseline's. MASE "
        "divides by the "
        "mean monthly move over the 36 months before each origin.",
        "",
        "## Champion per horizon",
        "",
    ]
    for h, c in metrics.get("champion", {}).items():
        out.append(f"- M+{h}: **{c['candidate']}** — {c['reason']}")
    return "\n".join(out) + "\n"


ERROR_HORIZONS = (1, 3, 6)  # the horizons the error panel draws (all would be unreadable)
ERROR_WINDOW = 12  # months in the rolling mean of the backtest's absolute errors


def error_history(
    backtest: pd.DataFrame, accuracy: pd.DataFrame | None, horizons=ERROR_HORIZONS
) -> dict[int, dict[str, pd.DataFrame]]:
    """Per horizon, the absolute error over time: the backtest champion's (rolling mean over
    ERROR_WINDOW target months) and the live record's (each published forecast scored when its
    month completed, from accuracy.parquet). Columns target_month, abs_error."""
    out: dict[int, dict[str, pd.DataFrame]] = {}
    champion = backtest[backtest["candidate"] == "champion"]
    for h in horizons:
        bt = champion[champion["horizon"] == h].dropna(subset=["forecast", "actual"])
        bt = bt.sort_values("target_month")
        errors = (bt["forecast"] - bt["actual"]).abs()
        rolled = errors.rolling(ERROR_WINDOW, min_periods=ERROR_WINDOW).mean()
        out[h] = {
            "backtest": pd.DataFrame(
                {"target_month": pd.to_datetime(bt["target_month"]), "abs_error": rolled}
            ).dropna()
        }
        if accuracy is not None and len(accuracy):
            live = accuracy[accuracy["horizon"] == h].sort_values("target_month")
            out[h]["live"] = pd.DataFrame(
                {
                    "target_month": pd.to_datetime(live["target_month"]),
                    "abs_error": live["abs_error"].astype(float),
                }
            )
    return out


def _error_panel(ax, backtest: pd.DataFrame, accuracy: pd.DataFrame | None) -> None:
    colors = ("tab:blue", "tab:green", "tab:purple")
    for (h, series), color in zip(error_history(backtest, accuracy).items(), colors, strict=True):
        bt = series["backtest"]
        ax.plot(bt["target_month"], bt["abs_error"], lw=1, color=color, label=f"M+{h} backtest")
        live = series.get("live")
        if live is not None and len(live):
            ax.scatter(
                live["target_month"], live["abs_error"], s=18, color=color, marker="D",
                edgecolors="black", linewidths=0.5, zorder=3, label=f"M+{h} published",
            )  # fmt: skip
    resolved = accuracy is not None and len(accuracy) > 0
    ax.set_title(
        f"Realised abs. error by horizon: backtest ({ERROR_WINDOW}-month mean), "
        + ("published forecasts (diamonds)" if resolved else "no published forecast resolved yet")
    )
    ax.set_ylabel("abs. error")
    ax.legend(loc="upper left", ncol=2, fontsize="small")


BAND_HORIZONS = (1, 6)  # the horizons whose interval width the band panel draws


def _interval_note(intervals: dict[str, Any] | None) -> list[str]:
    """The interval method and its current scale, from metrics.json (older runs: nothing)."""
    if not intervals:
        return []
    return [
        f"Method: {intervals['method']}; current scale {_fmt(intervals['origin_scale'], '.2f')} "
        f"(36-month scale {_fmt(intervals['origin_scale_36m'], '.2f')})."
    ]


def interval_band_history(
    backtest: pd.DataFrame, horizons=BAND_HORIZONS
) -> dict[int, pd.DataFrame]:
    """Per horizon, the width of the champion's interval at each backtest origin (columns
    origin, width): how the band widened and narrowed over the backtest."""
    champion = backtest[backtest["candidate"] == "champion"].dropna(subset=["lower", "upper"])
    out = {}
    for h in horizons:
        rows = champion[champion["horizon"] == h].sort_values("origin")
        out[h] = pd.DataFrame(
            {"origin": pd.to_datetime(rows["origin"]), "width": rows["upper"] - rows["lower"]}
        ).reset_index(drop=True)
    return out


def _band_panel(ax, backtest: pd.DataFrame) -> None:
    for (h, rows), color in zip(
        interval_band_history(backtest).items(), ("tab:orange", "tab:red"), strict=True
    ):
        ax.plot(rows["origin"], rows["width"], lw=1, color=color, label=f"M+{h}")
    ax.set_title("Interval band over the backtest: width of the champion's interval by origin")
    ax.set_ylabel("width")
    ax.legend(loc="upper left")


def render_png(
    forecast: pd.DataFrame,
    backtest: pd.DataFrame,
    history: pd.DataFrame,
    title: str = "",
    accuracy: pd.DataFrame | None = None,
) -> bytes:
    """Five panels: price history, M+1 backtest with intervals, the interval band's width over
    the backtest, realised error by horizon (backtest and published forecasts), forecast fan.
    Returns PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(5, 1, figsize=(10, 18), constrained_layout=True)
    hist = history.sort_values("month")
    ax = axes[0]
    ax.plot(hist["month"], hist["avg_price"], lw=1, color="tab:blue", label="monthly average")
    ax.set_title("History: monthly average price")
    ax.set_ylabel("price")
    ax.legend(loc="upper left")

    ax = axes[1]
    bt = backtest[(backtest["candidate"] == "champion") & (backtest["horizon"] == 1)]
    bt = bt.sort_values("target_month")
    ax.plot(bt["target_month"], bt["actual"], lw=1, color="black", label="actual")
    ax.plot(bt["target_month"], bt["forecast"], lw=1, color="tab:orange", label="M+1 forecast")
    band = bt.dropna(subset=["lower", "upper"])
    ax.fill_between(
        band["target_month"],
        band["lower"],
        band["upper"],
        color="tab:orange",
        alpha=0.2,
        label="interval",
    )
    ax.set_title("Backtest: champion at M+1 (walk-forward)")
    ax.set_ylabel("price")
    ax.legend(loc="upper left")

    _band_panel(axes[2], backtest)
    _error_panel(axes[3], backtest, accuracy)

    ax = axes[4]
    recent = hist[hist["month"] >= hist["month"].max() - pd.DateOffset(months=36)]
    fc = forecast.sort_values("horizon")
    months = pd.to_datetime(fc["target_month"])
    ax.plot(recent["month"], recent["avg_price"], lw=1.5, color="tab:blue", label="history")
    ax.plot(months, fc["point_forecast"], marker="o", color="tab:red", label="forecast")
    ax.fill_between(months, fc["lower"], fc["upper"], color="tab:red", alpha=0.2, label="interval")
    ax.set_title(f"Forecast M+1..M+{len(fc)} with intervals")
    ax.set_ylabel("price")
    ax.legend(loc="upper left")
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _history(table: pd.DataFrame | None, backtest: pd.DataFrame) -> pd.DataFrame:
    if table is not None:
        df = table[table["complete"].astype(bool)] if "complete" in table else table
        return pd.DataFrame(
            {"month": pd.to_datetime(df["month"]), "avg_price": df["avg_price"].astype(float)}
        )
    # Without the table, rebuild the history from the backtest's outcomes.
    out = backtest[["target_month", "actual"]].drop_duplicates("target_month")
    return pd.DataFrame({"month": pd.to_datetime(out["target_month"]), "avg_price": out["actual"]})


def write_report(
    model_dir: str | Path, out_dir: str, table: pd.DataFrame | None = None
) -> dict[str, str]:
    """Write report.png and report.md for a trained model directory into out_dir (path or URI)."""
    model_dir = str(model_dir)
    metrics = json.loads(storage.read_bytes(lake.join(model_dir, "metrics.json")))
    forecast = read_parquet(storage.read_bytes(lake.join(model_dir, "forecast.parquet")))
    backtest = read_parquet(storage.read_bytes(lake.join(model_dir, "backtest.parquet")))
    title = f"{metrics.get('series', '')} — origin {metrics.get('origin_date', '')}"
    scored = lake.join(model_dir, "accuracy.parquet")
    accuracy = read_parquet(storage.read_bytes(scored)) if storage.exists(scored) else None
    png = render_png(forecast, backtest, _history(table, backtest), title, accuracy)
    md = markdown_summary(metrics, forecast)
    paths = {"png": lake.join(out_dir, "report.png"), "markdown": lake.join(out_dir, "report.md")}
    storage.write_bytes(paths["png"], png)
    storage.write_bytes(paths["markdown"], md.encode())
    log.info("report written to %s", out_dir)
    return paths
