"""The M+1 edge of the learned model over the last daily price, per decade, with its standard error.

    .venv/bin/python benchmarks/point_edge.py [--recent data/brent-daily.csv]

Series: Brent and WTI from `$IPEACAST_DATA_DIR` (benchmarks/reference_data.py), all prices
loaded, library defaults. Per decade of origins (1990s from the first M+1 forecast of the model,
2000s, 2010s, 2020-2024), for `gap_ridge` and for the online champion: the mean of
d = |error of the last price| - |error of the candidate| (USD; positive = the candidate is
better), its standard error sd(d) / sqrt(n) (M+1 errors of consecutive origins do not overlap),
and the edge as a share of the last price's MAE. Reporting only: nothing is chosen from the
decades after 2014.

Shrinkage toward the last price (forecast combination), decided on the design window only.
The shrunk M+1 forecast is last + w * (ridge - last), with w from the M+1 errors resolved at the
origin: w = clip(mean(d) / (2 * se(d)), 0, 1), full weight once the edge is two standard errors
from zero, none when the model has not been better. Rule, fixed before any figure of it was
seen: the shrinkage ships only if, with every price after 2015-06-30 dropped, its MAE on origins
2000-01..2014-12 is below the online champion's on both Brent and WTI.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).parent))

from reference import clean_daily, monthly_table  # noqa: E402
from reference_data import BRENT, WTI, data_file  # noqa: E402

from ipeacast.ml.backtest import (  # noqa: E402
    CHAMPION,
    horizon_frame,
    resolved_counts,
    walk_forward,
)
from ipeacast.ml.model import MODEL_NAME, ModelConfig, prepare  # noqa: E402

CUT = date(2015, 6, 30)
DESIGN = ("2000-01", "2014-12")
DECADES = {
    "1990s": ("1987-01", "1999-12"),
    "2000s": ("2000-01", "2009-12"),
    "2010s": ("2010-01", "2019-12"),
    "2020-24": ("2020-01", "2024-12"),
}
SERIES = {"Brent": BRENT, "WTI": WTI}
BASE = "naive_last_price"


def m1_frame(path: Path, cutoff: date | None) -> pd.DataFrame:
    """M+1 backtest by origin: ridge, last price, online champion and the actual."""
    raw = pd.read_csv(path).rename(columns={"price_usd": "price"})
    table = monthly_table(clean_daily(raw, cutoff=cutoff))
    cfg = ModelConfig()
    bt = walk_forward(prepare(table, cfg.features), cfg)
    wide = horizon_frame(bt, 1)
    champ = bt[(bt["candidate"] == CHAMPION) & (bt["horizon"] == 1)].set_index("origin")
    return wide.join(champ["forecast"].rename(CHAMPION)).dropna(subset=[MODEL_NAME, BASE])


def edge(frame: pd.DataFrame, cand: str) -> tuple[int, float, float, float]:
    """n, mean d (USD), its standard error, and mean d / last-price MAE."""
    d = (frame[BASE] - frame["actual"]).abs() - (frame[cand] - frame["actual"]).abs()
    n = len(d)
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    return n, float(d.mean()), se, float(d.mean() / (frame[BASE] - frame["actual"]).abs().mean())


def shrunk(frame: pd.DataFrame) -> pd.Series:
    """last + w (ridge - last), w from the M+1 errors resolved at each origin."""
    d = (frame[BASE] - frame["actual"]).abs() - (frame[MODEL_NAME] - frame["actual"]).abs()
    d = d.to_numpy()
    n_res = resolved_counts(frame)
    weights = np.zeros(len(frame))
    for i, k in enumerate(n_res):
        if k >= 24:
            se = d[:k].std(ddof=1) / np.sqrt(k)
            weights[i] = np.clip(d[:k].mean() / (2 * se), 0, 1) if se > 0 else 0.0
    return frame[BASE] + weights * (frame[MODEL_NAME] - frame[BASE])


def window(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    return frame[(frame.index >= f"{start}-01") & (frame.index <= f"{end}-01")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with the EIA CSVs (default: $IPEACAST_DATA_DIR)")
    parser.add_argument("--recent", help="a later daily CSV: the 2025 origins (extra check)")
    args = parser.parse_args()
    rows = []
    for series, file in SERIES.items():
        path = Path(args.data) / file if args.data else data_file(file)
        full = m1_frame(path, None)
        for start, end in DECADES.values():
            sub = window(full, start, end)
            for cand in (MODEL_NAME, CHAMPION):
                n, mean, se, rel = edge(sub, cand)
                first = f"{sub.index.min():%Y-%m}"
                rows.append(
                    {"series": series, "origins": f"{first}..{end}", "candidate": cand, "n": n}
                    | {"edge USD": mean, "se USD": se, "edge %": 100 * rel}
                    | {"t": mean / se if se else np.nan}
                )
    print("M+1 edge over the last daily price (positive = better), all prices loaded:")
    with pd.option_context("display.width", 200):
        print(pd.DataFrame(rows).round(3).to_string(index=False))

    print(f"\nshrinkage rule, design origins {DESIGN[0]}..{DESIGN[1]}, prices after {CUT} dropped:")
    verdict = []
    for series, file in SERIES.items():
        path = Path(args.data) / file if args.data else data_file(file)
        design = m1_frame(path, CUT)
        design = design.assign(shrunk=shrunk(design))
        sub = window(design, *DESIGN)
        mae = {c: float((sub[c] - sub["actual"]).abs().mean()) for c in (BASE, CHAMPION, "shrunk")}
        verdict.append(mae["shrunk"] < mae[CHAMPION])
        print(
            f"  {series}: MAE last price {mae[BASE]:.4f}, online champion {mae[CHAMPION]:.4f} "
            f"({mae[CHAMPION] / mae[BASE]:.3f}), shrunk {mae['shrunk']:.4f} "
            f"({mae['shrunk'] / mae[BASE]:.3f})"
        )
    print(f"  shrinkage ships: {'yes' if all(verdict) else 'no'} (must beat the champion on both)")
    if args.recent:
        sub = window(m1_frame(Path(args.recent), None), "2025-01", "2025-12")
        print(f"\nextra check, never used to choose: origins 2025-01..2025-12 of {args.recent}")
        for cand in (MODEL_NAME, CHAMPION):
            n, mean, se, rel = edge(sub, cand)
            print(f"  {cand}: n={n} edge {mean:.3f} USD (se {se:.3f}), {100 * rel:.1f} %")


if __name__ == "__main__":
    main()
