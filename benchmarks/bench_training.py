"""Training + backtest on a real price file: time, and the backtest table against the targets.

    .venv/bin/python benchmarks/bench_training.py [--source FILE]

(default FILE: $IPEACAST_DATA_DIR/brent-daily-eia.csv, see reference_data.py)

Builds the final monthly table with the pandas reference (tests/reference.py), lays out a local
SageMaker tree, and runs the `train` entry point in fresh processes (cold imports included),
reporting wall and CPU time per run and the trainer's own split. Then it prints the per-horizon
backtest of the online champion vs both no-change baselines for the design window (origins
2000-01..2014-12, where the design was chosen) and the evaluation window (2015-01..2024-06), and
checks issue 3's targets. Target: training + backtest <= 8 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).parent))

from reference import clean_daily, monthly_table  # noqa: E402
from reference_data import BRENT, data_file  # noqa: E402

from ipeacast.ml.backtest import comparison_table, horizon_metrics  # noqa: E402
from ipeacast.ml.local_training import prepare_local_tree  # noqa: E402

WINDOWS = {"design": ("2000-01", "2014-12"), "evaluation": ("2015-01", "2024-06")}


def build_table(source: str) -> pd.DataFrame:
    raw = pd.read_csv(source).rename(columns={"price_usd": "price"})
    return monthly_table(clean_daily(raw))


def run_once(base: Path) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ipeacast.ml.trainer", "--base-dir", str(base)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"train failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(proc.stdout.strip().splitlines()[-1])


def print_window(bt: pd.DataFrame, name: str, start: str, end: str) -> pd.DataFrame:
    table = comparison_table(horizon_metrics(bt, start, end))
    print(f"\n{name} window, origins {start}..{end}:")
    cols = {
        "horizon": "h",
        "n": "n",
        "mae_champion": "MAE champ",
        "mae_naive_last_price": "MAE last price",
        "mae_naive_last_avg": "MAE last avg",
        "ratio_naive_last_price": "vs last price",
        "ratio_naive_last_avg": "vs last avg",
        "mae_gap_ridge": "MAE ridge",
        "mape": "MAPE %",
        "mase": "MASE",
        "directional_accuracy": "direction",
        "coverage": "cov 80%",
    }
    print(table[list(cols)].rename(columns=cols).round(3).to_string(index=False))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", help=f"daily price CSV (default: $IPEACAST_DATA_DIR/{BRENT})")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.source = args.source or str(data_file(BRENT))
    table = build_table(args.source)
    print(f"source: {args.source} -> {len(table)} months")
    with tempfile.TemporaryDirectory() as tmp:
        final = Path(tmp) / "final"
        final.mkdir()
        table.to_parquet(final / "part-00000.parquet", index=False)
        hp = {"series": "EIA366_PBRENT366", "run_id": "bench", "run_date": "2025-01-02"}
        base = prepare_local_tree(Path(tmp) / "ml", final, hp)
        walls = []
        for i in range(args.repeat):
            wall, cpu, summary = run_once(base)
            walls.append(wall)
            s = summary["seconds"]
            print(
                f"run {i + 1}: process wall {wall:.2f}s, CPU {cpu:.2f}s | read {s['read']:.2f}s, "
                f"train+backtest+forecast {s['train_backtest_forecast']:.2f}s, "
                f"write {s['write']:.2f}s"
            )
        walls.sort()
        print(f"median process wall {walls[len(walls) // 2]:.2f}s over {len(walls)} cold runs")
        bt = pd.read_parquet(base / "model" / "backtest.parquet")
        metrics = json.loads((base / "model" / "metrics.json").read_text())
        forecast = pd.read_csv(base / "model" / "forecast.csv")
    for name, (start, end) in WINDOWS.items():
        result = print_window(bt, name, start, end)
    print("\nshipped champion per horizon (full backtest):")
    for h, c in metrics["champion"].items():
        print(f"  M+{h}: {c['candidate']} ({c['reason']})")
    print("\nforecast:")
    cols = ["target_month", "horizon", "point_forecast", "lower", "upper", "model"]
    print(forecast[cols].round(2).to_string(index=False))
    r = result.set_index("horizon")
    checks = {
        "MAE <= last-price baseline at every horizon": bool(
            (r["mae_champion"] <= r["mae_naive_last_price"] + 1e-12).all()
        ),
        "M+1 MAE <= 0.75 x last-average baseline": bool(r.loc[1, "ratio_naive_last_avg"] <= 0.75),
        "M+2..M+3 at least 5% below last price (aim)": bool(
            (r.loc[[2, 3], "ratio_naive_last_price"] <= 0.95).all()
        ),
        "80% intervals cover 75-85% at every horizon": bool(
            r["coverage"].between(0.75, 0.85).all()
        ),
        "80% intervals cover 75-85% pooled over horizons": bool(
            0.75 <= (r["coverage"] * r["n"]).sum() / r["n"].sum() <= 0.85
        ),
    }
    print("\nissue 3 targets on the evaluation window:")
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'MISS'}  {text}")


if __name__ == "__main__":
    main()
