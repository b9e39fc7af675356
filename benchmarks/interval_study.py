"""Ten-year-window coverage of the monthly-scale conformal intervals on pre-2015 origins.

The interval method is chosen by benchmarks/interval_methods.py (its rule covers ten-year windows,
stress windows and the interval score); this study is the earlier, coverage-only comparison.

    .venv/bin/python benchmarks/interval_study.py [--start 1992-01] [--end 2014-12]

Protocol: every daily price after 2015-06-30 is dropped before the monthly table is built, so no
evaluation-window price is loaded, and only origins start..end are scored (default 1992-01..
2014-12; the point-forecast design window is 2000-01..2014-12). Brent and WTI
(`$IPEACAST_DATA_DIR`, see benchmarks/reference_data.py). Point forecasts (and the online
champion) are the library's; only the intervals change.

Issue 3 asks for 75-85 % coverage per horizon over a window of about ten years (the evaluation
window has 114 origins), not just on average. So besides each horizon's coverage over the whole
range, the study rolls a 114-origin window over it and reports, per horizon, the share of those
windows whose coverage lies in 75-85 %; `worst` is the lowest share over the six horizons, the
selection criterion. Width is the mean interval width in USD over every horizon (the price of
robustness).

Methods:
- `window W`: the library's split-conformal intervals, 80 % quantile of the last W
  scale-normalised absolute residuals (scale = 36-month mean |monthly change|).
- `window W, ACI g`: the same with adaptive conformal inference (Gibbs & Candes 2021): the
  quantile level moves by g * (miss - 0.2) as each outcome resolves (library option
  `conformal_gamma`).
- `tracking lr, <scale>`: not in the library; online quantile tracking (q += eta * (miss - 0.2),
  eta = lr * median of the first 24 scores), with the 36-month scale or the geometric mean of
  the 36- and 12-month scales (`blend12`).
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
from reference_data import data_file  # noqa: E402

from ipeacast.ml.backtest import (  # noqa: E402
    BASELINES,
    CHAMPION,
    horizon_frame,
    resolved_counts,
    walk_forward,
)
from ipeacast.ml.model import MODEL_NAME, ModelConfig, prepare  # noqa: E402

CUT = date(2015, 6, 30)
ROLL = 114
BAND = (0.75, 0.85)
SERIES = {"Brent": "brent-daily-eia.csv", "WTI": "wti-daily-eia.csv"}
LIBRARY = {
    "window 60": ModelConfig(conformal_gamma=0.0, conformal_window=60),
    "window 90": ModelConfig(conformal_gamma=0.0, conformal_window=90),
    "window 120, finite-sample": ModelConfig(
        conformal_gamma=0.0, conformal_window=120, conformal_finite_sample=True
    ),
    "window 60, ACI 0.01": ModelConfig(conformal_gamma=0.01, conformal_window=60),
    "window 60, ACI 0.015": ModelConfig(conformal_gamma=0.015, conformal_window=60),
    "window 60, ACI 0.02": ModelConfig(conformal_gamma=0.02, conformal_window=60),
    "window 60, ACI 0.025": ModelConfig(conformal_gamma=0.025, conformal_window=60),
    "window 60, ACI 0.03": ModelConfig(conformal_gamma=0.03, conformal_window=60),
    "window 120, ACI 0.02": ModelConfig(conformal_gamma=0.02, conformal_window=120),
}
TRACKING = [(0.2, "s36"), (0.3, "s36"), (0.4, "s36"), (0.2, "blend12"), (0.3, "blend12")]


def load(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path).rename(columns={"price_usd": "price"})
    return monthly_table(clean_daily(raw, cutoff=CUT))


def coverage_rows(champ: pd.DataFrame, start: str, end: str) -> dict[int, pd.DataFrame]:
    """Champion rows per horizon with lower/upper, restricted to origins start..end."""
    sel = champ[(champ["origin"] >= f"{start}-01") & (champ["origin"] <= f"{end}-01")]
    out = {}
    for h, g in sel.groupby("horizon"):
        if g["lower"].isna().any():
            raise SystemExit(f"horizon {h}: an origin in {start}..{end} has no interval")
        out[int(h)] = g.sort_values("origin")
    return out


def summarise(rows: dict[int, pd.DataFrame]) -> dict[str, object]:
    cov, share, width = [], [], []
    for h in sorted(rows):
        g = rows[h]
        inside = ((g["actual"] >= g["lower"]) & (g["actual"] <= g["upper"])).astype(float)
        roll = inside.rolling(ROLL).mean().dropna()
        cov.append(inside.mean())
        share.append(roll.between(*BAND).mean())
        width.append((g["upper"] - g["lower"]).mean())
    return {
        "coverage M+1..M+6": " ".join(f"{c:.3f}" for c in cov),
        "max |cov-0.8|": max(abs(c - 0.8) for c in cov),
        "windows in band": float(np.mean(share)),
        "worst": min(share),
        "width": float(np.mean(width)),
    }


def tracking_intervals(
    bt: pd.DataFrame, scale: pd.Series, lr: float, level: float = 0.8, min_cal: int = 24
) -> pd.DataFrame:
    """Champion rows with quantile-tracking intervals of each chosen candidate."""
    champ = bt[bt["candidate"] == CHAMPION].copy()
    for h in sorted(bt["horizon"].unique()):
        wide = horizon_frame(bt, h)
        n_res = resolved_counts(wide)
        actual = wide["actual"].to_numpy(float)
        s = scale.reindex(wide.index).to_numpy(float)
        mask = (champ["horizon"] == h).to_numpy()
        chosen = champ.loc[mask].set_index("origin")["chosen"]
        for cand in (c for c in (*BASELINES, MODEL_NAME) if c in wide):
            fc = wide[cand].to_numpy(float)
            scores = np.abs(fc - actual) / s
            q_used = np.full(len(fc), np.nan)
            q, eta, applied, seen = None, None, 0, []
            for i in range(len(fc)):
                while applied < n_res[i]:
                    if np.isfinite(scores[applied]):
                        seen.append(scores[applied])
                        if q is not None and np.isfinite(q_used[applied]):
                            miss = float(scores[applied] > q_used[applied])
                            q = max(q + eta * (miss - (1 - level)), 0.0)
                        elif q is None and len(seen) >= min_cal:
                            q = float(np.quantile(seen, level))
                            eta = lr * float(np.median(seen))
                    applied += 1
                if q is not None and np.isfinite(fc[i]) and np.isfinite(s[i]):
                    q_used[i] = q
            half = pd.Series(q_used * s, index=wide.index)
            point = pd.Series(fc, index=wide.index)
            pick = chosen[chosen == cand].index
            rows = champ.index[mask & champ["origin"].isin(pick).to_numpy()]
            origins = champ.loc[rows, "origin"]
            champ.loc[rows, "lower"] = (point[origins] - half[origins]).to_numpy()
            champ.loc[rows, "upper"] = (point[origins] + half[origins]).to_numpy()
    return champ


def scales(data) -> dict[str, pd.Series]:
    change = pd.Series(np.abs(np.diff(data.avg, prepend=np.nan)))
    s12 = change.rolling(12, min_periods=6).mean().to_numpy()
    return {
        "s36": pd.Series(data.scale, index=data.months),
        "blend12": pd.Series(np.sqrt(data.scale * s12), index=data.months),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="folder with the EIA CSVs (default: $IPEACAST_DATA_DIR)")
    parser.add_argument("--start", default="1992-01")
    parser.add_argument("--end", default="2014-12")
    args = parser.parse_args()
    if args.end > "2014-12":
        raise SystemExit("--end must be <= 2014-12: later origins are the evaluation window")
    rows = []
    for series, file in SERIES.items():
        table = load(Path(args.data) / file if args.data else data_file(file))
        bt = None
        for name, cfg in LIBRARY.items():
            bt = walk_forward(prepare(table, cfg.features), cfg)
            champ = bt[bt["candidate"] == CHAMPION]
            rows.append(
                {"series": series, "method": name}
                | summarise(coverage_rows(champ, args.start, args.end))
            )
        data = prepare(table, ModelConfig().features)
        for lr, scale_name in TRACKING:
            champ = tracking_intervals(bt, scales(data)[scale_name], lr)
            rows.append(
                {"series": series, "method": f"tracking {lr}, {scale_name}"}
                | summarise(coverage_rows(champ, args.start, args.end))
            )
    out = pd.DataFrame(rows)
    print(f"origins {args.start}..{args.end}; prices after {CUT} dropped; rolling {ROLL} origins")
    with pd.option_context("display.width", 200):
        print(out.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
