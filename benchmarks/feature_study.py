"""Daily-derived features for gap_ridge, pre-2015 design window only.

    .venv/bin/python benchmarks/feature_study.py

Protocol: daily rows after 2015-06-30 are dropped right after loading, before anything is computed.
Origins scored: 2000-01..2014-12 (and its halves), Brent and WTI. Ratio = MAE(variant) /
MAE(last-price no-change) on the same origins. The variants add, to `gap_avg`, features the final
monthly table does not carry (last price minus the mean of the last 5/10/20 trading days, the
slope within the month, 5- and 20-day momentum), or start from the mean of the last 3/5 days
instead of the last price. It is a self-contained numpy re-implementation of `gap_ridge` (same
normal equations); with `gap_avg` alone it gives the project's forecasts. Result (docs/model.md):
nothing reaches 0.95 at M+2 or M+3, so the table keeps its schema.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from reference_data import BRENT, WTI, data_file

CUTOFF = pd.Timestamp("2015-06-30")
ORIG_START, ORIG_END = pd.Timestamp("2000-01-01"), pd.Timestamp("2014-12-01")
H = 6
ALPHA = 1.0
MIN_ROWS = 36


def load(path):
    d = pd.read_csv(path, parse_dates=["date"])
    d = d[d["date"] <= CUTOFF].dropna().sort_values("date").reset_index(drop=True)  # cut FIRST
    assert d["date"].max() <= CUTOFF
    return d


def monthly(d):
    p = d["price_usd"].to_numpy(float)
    d = d.assign(m=d["date"].dt.to_period("M").dt.to_timestamp())
    months = pd.date_range(d["m"].iloc[0], d["m"].iloc[-1], freq="MS")
    n = len(months)
    cols = {
        k: np.full(n, np.nan)
        for k in ["avg", "last", "m5", "m10", "m20", "m3", "slope", "mom5", "mom20"]
    }
    grp = d.groupby("m").indices
    for i, m in enumerate(months):
        if m not in grp:
            continue
        ix = np.asarray(grp[m])
        e = ix[-1]  # position of last trading day of month in full daily array
        x = p[ix]
        cols["avg"][i] = x.mean()
        cols["last"][i] = x[-1]
        for k in (3, 5, 10, 20):
            if e - k + 1 >= 0:
                cols[f"m{k}"][i] = p[e - k + 1 : e + 1].mean()  # may span months
        if len(x) >= 3:
            tt = np.arange(len(x), dtype=float)
            cols["slope"][i] = np.polyfit(tt, x, 1)[0] * len(x)
        for k in (5, 20):
            if e - k >= 0:
                cols[f"mom{k}"][i] = p[e] - p[e - k]
    df = pd.DataFrame(cols, index=months)
    if d["date"].iloc[0].day > 7:  # first month partial -> drop (project uses complete months)
        df = df.iloc[1:]
    ch = df["avg"].diff().abs()
    df["scale"] = ch.rolling(36, min_periods=12).mean().clip(lower=1e-6)
    return df


def features(df, names, base):
    s = df["scale"].to_numpy()
    b = df[base].to_numpy()
    avg = df["avg"].to_numpy()
    out = []
    for nm in names:
        if nm == "gap_avg":
            v = b - avg
        elif nm in ("g5", "g10", "g20"):
            v = b - df["m" + nm[1:]].to_numpy()
        elif nm == "slope":
            v = df["slope"].to_numpy()
        elif nm in ("mom5", "mom20"):
            v = df[nm].to_numpy()
        else:
            raise KeyError(nm)
        out.append(v / s)
    return np.column_stack(out)


def walk(df, names, base="last"):
    """Forecasts per (origin, h) for ridge variant; names=None -> pure no-change on `base`."""
    avg = df["avg"].to_numpy()
    s = df["scale"].to_numpy()
    b = df[base].to_numpy()
    n = len(df)
    X = features(df, names, base) if names else None
    origins = np.flatnonzero((df.index >= ORIG_START) & (df.index <= ORIG_END))
    F = np.full((n, H), np.nan)
    for t in origins:
        for h in range(1, H + 1):
            if names is None:
                F[t, h - 1] = b[t]
                continue
            rows = np.arange(0, max(t - h + 1, 0))
            ok = (
                np.isfinite(X[rows]).all(1)
                & np.isfinite(s[rows])
                & np.isfinite(avg[rows + h])
                & np.isfinite(b[rows])
            )
            rows = rows[ok]
            if rows.size < MIN_ROWS or not np.isfinite(X[t]).all():
                continue
            Xr = X[rows]
            y = (avg[rows + h] - b[rows]) / s[rows]
            w = np.linalg.solve(Xr.T @ Xr + ALPHA * np.eye(Xr.shape[1]), Xr.T @ y)
            F[t, h - 1] = b[t] + s[t] * float(X[t] @ w)
    return F, origins


def ratios(df, F, origins):
    avg = df["avg"].to_numpy()
    last = df["last"].to_numpy()
    yrs = df.index.year
    res = {}
    for lab, sel in [
        ("all", lambda y: True),
        ("00-07", lambda y: y <= 2007),
        ("08-14", lambda y: y >= 2008),
    ]:
        r = []
        for h in range(1, H + 1):
            o = np.array([t for t in origins if sel(yrs[t]) and t + h < len(df)])
            a = avg[o + h]
            f = F[o, h - 1]
            assert np.isfinite(f).all() and np.isfinite(a).all(), (lab, h)
            r.append(np.mean(np.abs(f - a)) / np.mean(np.abs(last[o] - a)))
        res[lab] = r
    return res, len(origins)


VARIANTS = [
    ("naive_mean3 (no model)", None, "m3"),
    ("naive_mean5 (no model)", None, "m5"),
    ("gap_avg (current)", ["gap_avg"], "last"),
    ("+g5", ["gap_avg", "g5"], "last"),
    ("+g10", ["gap_avg", "g10"], "last"),
    ("+slope", ["gap_avg", "slope"], "last"),
    ("+g20", ["gap_avg", "g20"], "last"),
    ("+mom5", ["gap_avg", "mom5"], "last"),
    ("+mom20", ["gap_avg", "mom20"], "last"),
    ("+mom5+mom20", ["gap_avg", "mom5", "mom20"], "last"),
    ("+g5+g20", ["gap_avg", "g5", "g20"], "last"),
    ("+g5+slope", ["gap_avg", "g5", "slope"], "last"),
    ("+g5+g20+mom20+slope", ["gap_avg", "g5", "g20", "mom20", "slope"], "last"),
    ("base=mean3 gap_avg", ["gap_avg"], "m3"),
    ("base=mean5 gap_avg", ["gap_avg"], "m5"),
    ("base=mean5 +g20", ["gap_avg", "g20"], "m5"),
]

if __name__ == "__main__":
    series = {
        "Brent": data_file(BRENT),
        "WTI": data_file(WTI),
    }
    tabs = {}
    for sname, path in series.items():
        df = monthly(load(path))
        assert df.index.max() <= pd.Timestamp("2015-06-01")
        for vname, names, base in VARIANTS:
            F, origins = walk(df, names, base)
            res, no = ratios(df, F, origins)
            tabs.setdefault(vname, {})[f"{sname} all"] = res["all"]
            if sname == "Brent":
                tabs[vname]["Brent 00-07"] = res["00-07"]
                tabs[vname]["Brent 08-14"] = res["08-14"]
            else:
                tabs[vname]["WTI 00-07"] = res["00-07"]
                tabs[vname]["WTI 08-14"] = res["08-14"]
        print(
            f"{sname}: months {df.index[0]:%Y-%m}..{df.index[-1]:%Y-%m}, origins scored {no}",
            file=sys.stderr,
        )
    cols = ["Brent all", "Brent 00-07", "Brent 08-14", "WTI all", "WTI 00-07", "WTI 08-14"]
    for c in cols:
        print(f"\n### {c}  (MAE ratio vs last-price no-change; <1 = better)")
        print("| variant | " + " | ".join(f"M+{h}" for h in range(1, H + 1)) + " |")
        print("|---|" + "---|" * H)
        for vname, _, _ in VARIANTS:
            print(f"| {vname} | " + " | ".join(f"{v:.3f}" for v in tabs[vname][c]) + " |")
