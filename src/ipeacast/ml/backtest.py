"""Walk-forward backtest, per-horizon metrics, conformal intervals and the champion rule.

Expanding window: at every origin (a complete month) each candidate is refitted on the data up to
that origin (every `refit_every` origins) and forecasts M+1..M+H. Errors are *resolved* at an origin
t when their target month is <= t; everything decided "at t" (the online champion, the interval
width) uses only errors resolved by t, so the backtest's own champion and coverage figures are
out-of-sample.

Champion rule (per horizon, selection metric MAE): the model wins a horizon only if its MAE over
the resolved errors is strictly lower than that of the best baseline on the same origins, and it has
at least `min_calibration` resolved errors; otherwise the best baseline is shipped (a tie goes to
the baseline). A model worse than a baseline is never shipped. The shipped choice also asks that
the online champion beat that baseline over the last RECENT_ORIGINS origins (`select_champion`).

Intervals (conformal on backtest residuals): the absolute residuals of the last
`conformal_window` resolved origins, divided by the intervals' volatility scale at their origin
(`interval_scale`, ipeacast.ml.intervals: the 36-month scale, realised daily volatility or a
blend), give the empirical quantile q at the current level (plain, or the finite-sample order
statistic with `conformal_finite_sample`); the interval is point +/- q * interval_scale(origin).
The level starts at `interval_level` and, with `conformal_gamma` > 0, moves by
gamma * (miss - (1 - interval_level)) as each outcome resolves (Gibbs & Candes 2021), per
candidate and horizon; the shipped interval uses the level reached once every backtest outcome
resolved (`shipped_level`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from ipeacast.core.errors import TrainingError
from ipeacast.ml.intervals import interval_scale
from ipeacast.ml.model import (
    BASELINES,
    CANDIDATES,
    MODEL_NAME,
    SCALE_MIN_PERIODS,
    ModelConfig,
    Prepared,
    make_candidates,
)

log = logging.getLogger(__name__)

CHAMPION = "champion"
LEVEL_BOUNDS = (0.5, 0.99)
BACKTEST_COLUMNS = (
    "origin",
    "horizon",
    "target_month",
    "candidate",
    "forecast",
    "actual",
    "origin_avg",
    "origin_last",
    "scale",
    "interval_scale",
)
# The shipped model must also have beaten the best baseline in the online champion's record
# over the last RECENT_ORIGINS resolved origins (ten years), not only over the whole backtest.
RECENT_ORIGINS = 120


def first_origin(data: Prepared, cfg: ModelConfig) -> int:
    """The first backtest origin: the first month with a volatility scale (or backtest_start).

    Baselines forecast from there on; the model joins once it has min_train_rows rows.
    """
    ok = np.flatnonzero(np.isfinite(data.scale) & np.isfinite(data.last))
    if ok.size == 0 or ok[0] >= len(data) - 1:
        raise TrainingError(
            f"not enough history for a backtest: {len(data)} complete months; the volatility "
            f"scale needs {SCALE_MIN_PERIODS + 1} months and the backtest at least one more"
        )
    start = int(ok[0])
    if cfg.backtest_start:
        wanted = int(data.months.searchsorted(pd.Timestamp(cfg.backtest_start + "-01")))
        if wanted >= len(data) - 1:
            raise TrainingError(
                f"backtest_start {cfg.backtest_start} leaves no origin with a known outcome"
            )
        start = max(start, wanted)
    return start


def walk_forward(data: Prepared, cfg: ModelConfig) -> pd.DataFrame:
    """Forecasts of every candidate at every backtest origin whose M+1 target is known."""
    start = first_origin(data, cfg)
    models = make_candidates(cfg)
    iscale = interval_scale(data, cfg)
    records: list[tuple] = []
    fitted: set[str] = set()
    n = len(data)
    for t in range(start, n - 1):
        if not np.isfinite(data.last[t]):
            continue
        for name, cand in models.items():
            try:
                if name not in fitted or (t - start) % cfg.refit_every == 0:
                    cand.fit(data, t)
                    fitted.add(name)
                pred = cand.predict(data, t, cfg.horizons)
            except TrainingError as exc:
                log.debug("origin %s: %s", data.months[t], exc)
                continue
            for h in range(1, cfg.horizons + 1):
                if t + h >= n or not np.isfinite(data.avg[t + h]):
                    continue
                records.append(
                    (
                        data.months[t],
                        h,
                        data.months[t + h],
                        name,
                        float(pred[h - 1]),
                        float(data.avg[t + h]),
                        float(data.avg[t]),
                        float(data.last[t]),
                        float(data.scale[t]),
                        float(iscale[t]),
                    )
                )
    bt = pd.DataFrame.from_records(records, columns=list(BACKTEST_COLUMNS))
    if bt.empty:
        raise TrainingError("the backtest produced no forecast with a known outcome")
    return add_champion_and_intervals(bt, cfg)


def conformal_quantile(scores: np.ndarray, level: float, finite_sample: bool = False) -> float:
    """The `level` quantile of the scores (NaN without scores).

    Plain (default): the empirical quantile, linearly interpolated (numpy's default method).
    `finite_sample=True`: the split-conformal order statistic, the ceil((n+1)*level)-th smallest
    score, which guarantees coverage >= level for exchangeable scores but overcovers here
    (overlapping multi-month residuals are not exchangeable; see docs/model.md).
    """
    scores = np.sort(np.asarray(scores, dtype=float))
    n = scores.size
    if n == 0:
        return math.nan
    if not finite_sample:
        return float(np.quantile(scores, level))
    k = min(math.ceil((n + 1) * level), n)
    return float(scores[k - 1])


def choose(maes: dict[str, float], n_model: int, min_errors: int) -> tuple[str, str]:
    """The champion rule: (chosen candidate, reason) from MAEs on common resolved origins."""
    baselines = {b: maes[b] for b in BASELINES if b in maes and np.isfinite(maes[b])}
    if not baselines:
        return "naive_last_price", "no resolved baseline errors yet: default baseline"
    best_base = min(baselines, key=lambda b: (baselines[b], BASELINES.index(b)))
    model_mae = maes.get(MODEL_NAME, math.nan)
    if n_model < min_errors or not np.isfinite(model_mae):
        return best_base, (
            f"{MODEL_NAME} has {n_model} resolved errors (< {min_errors}); best baseline shipped"
        )
    if model_mae < baselines[best_base]:
        return MODEL_NAME, (
            f"{MODEL_NAME} MAE {model_mae:.4f} < best baseline {best_base} "
            f"{baselines[best_base]:.4f}"
        )
    return best_base, (
        f"{MODEL_NAME} MAE {model_mae:.4f} >= best baseline {best_base} "
        f"{baselines[best_base]:.4f}: baseline shipped"
    )


def horizon_frame(bt: pd.DataFrame, h: int) -> pd.DataFrame:
    """One horizon's backtest by origin: a forecast column per candidate, plus target_month,
    actual, origin_avg, origin_last, scale and interval_scale (champion rows left out)."""
    sub = bt[(bt["horizon"] == h) & (bt["candidate"] != CHAMPION)]
    wide = sub.pivot(index="origin", columns="candidate", values="forecast")
    cols = ["target_month", "actual", "origin_avg", "origin_last", "scale"]
    cols += [c for c in ("interval_scale",) if c in sub.columns]
    info = sub.drop_duplicates("origin").set_index("origin")[cols]
    return wide.join(info).sort_index()


def resolved_counts(wide: pd.DataFrame) -> np.ndarray:
    """Per origin of a `horizon_frame`, how many of its rows (in order) are resolved by then.

    Targets increase with the origins, so the outcomes resolved at origin i are rows
    [0, counts[i]): those whose target month is <= the origin.
    """
    return np.searchsorted(wide["target_month"].to_numpy(), wide.index.to_numpy(), side="right")


def _decide(
    wide: pd.DataFrame, cands: list[str], cfg: ModelConfig
) -> tuple[str, str, dict[str, float]]:
    """Champion for one horizon from all its backtest rows (common origins only)."""
    rows = wide[wide[cands].notna().all(axis=1)]
    maes = {c: float((rows[c] - rows["actual"]).abs().mean()) for c in cands}
    n_model = len(rows) if MODEL_NAME in cands else 0
    chosen, reason = choose(maes, n_model, cfg.min_calibration)
    return chosen, reason, maes


def _iscale(wide: pd.DataFrame) -> np.ndarray:
    """The intervals' scale per origin (the point model's scale in frames without one)."""
    col = "interval_scale" if "interval_scale" in wide.columns else "scale"
    return wide[col].to_numpy(dtype=float)


def _scores(wide: pd.DataFrame, cand: str) -> np.ndarray:
    """Absolute residuals over the intervals' scale (NaN where the candidate has no forecast)."""
    return np.abs(wide[cand].to_numpy(dtype=float) - wide["actual"].to_numpy(dtype=float)) / (
        _iscale(wide)
    )


def _online_intervals(
    scores: np.ndarray,
    forecast: np.ndarray,
    actual: np.ndarray,
    scale: np.ndarray,
    n_resolved: np.ndarray,
    cfg: ModelConfig,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Conformal intervals at each origin from the residuals resolved by then.

    With `conformal_gamma > 0` the quantile level adapts to the misses seen so far (adaptive
    conformal inference, Gibbs & Candes 2021): level += gamma * (miss - (1 - nominal)), applied
    as each outcome resolves. Returns lower, upper and the level reached after every resolution.
    """
    n = len(forecast)
    finite_idx = np.flatnonzero(np.isfinite(scores))
    lo = np.full(n, np.nan)
    up = np.full(n, np.nan)
    level = cfg.interval_level
    applied = 0  # outcomes [0, applied) already fed to the level update
    # Step n only feeds the outcomes still pending, giving the level after every resolution.
    for i in range(n + 1):
        while applied < (n_resolved[i] if i < n else n):
            if cfg.conformal_gamma > 0 and np.isfinite(lo[applied]):
                miss = not lo[applied] <= actual[applied] <= up[applied]
                level += cfg.conformal_gamma * (float(miss) - (1 - cfg.interval_level))
                level = min(max(level, LEVEL_BOUNDS[0]), LEVEL_BOUNDS[1])
            applied += 1
        if i == n or not np.isfinite(forecast[i]):
            continue
        k = np.searchsorted(finite_idx, n_resolved[i])
        window = scores[finite_idx[max(0, k - cfg.conformal_window) : k]]
        if window.size >= cfg.min_calibration:
            half = conformal_quantile(window, level, cfg.conformal_finite_sample) * scale[i]
            lo[i], up[i] = forecast[i] - half, forecast[i] + half
    return lo, up, level


def add_champion_and_intervals(bt: pd.DataFrame, cfg: ModelConfig) -> pd.DataFrame:
    """Add online conformal intervals to every row and the online `champion` candidate rows."""
    out = []
    for h in range(1, cfg.horizons + 1):
        wide = horizon_frame(bt, h)
        if wide.empty:
            continue
        cands = [c for c in CANDIDATES if c in wide.columns]
        origins = wide.index.to_numpy()
        targets = wide["target_month"].to_numpy()
        actual = wide["actual"].to_numpy(dtype=float)
        scale = wide["scale"].to_numpy(dtype=float)
        iscale = _iscale(wide)
        n_resolved = resolved_counts(wide)
        fc = {c: wide[c].to_numpy(dtype=float) for c in cands}
        lower, upper = {}, {}
        for cand in cands:
            lower[cand], upper[cand], _ = _online_intervals(
                _scores(wide, cand), fc[cand], actual, iscale, n_resolved, cfg
            )
        # Online champion: running MAEs over origins where every candidate has a forecast.
        common = np.all([np.isfinite(fc[c]) for c in cands], axis=0)
        cum_n = np.concatenate([[0], np.cumsum(common)])
        cum_err = {
            c: np.concatenate([[0.0], np.cumsum(np.where(common, np.abs(fc[c] - actual), 0.0))])
            for c in cands
        }
        chosen = []
        for i in range(len(wide)):
            k = n_resolved[i]
            cnt = cum_n[k]
            maes = {c: (cum_err[c][k] / cnt if cnt else math.nan) for c in cands}
            n_model = int(cnt) if MODEL_NAME in cands else 0
            chosen.append(choose(maes, n_model, cfg.min_calibration)[0])
        parts = []
        for cand in [*cands, CHAMPION]:
            if cand == CHAMPION:
                pick = np.array([fc[c][i] for i, c in enumerate(chosen)])
                lo = np.array([lower[c][i] for i, c in enumerate(chosen)])
                up = np.array([upper[c][i] for i, c in enumerate(chosen)])
                names = chosen
            else:
                pick, lo, up, names = fc[cand], lower[cand], upper[cand], [cand] * len(wide)
            parts.append(
                pd.DataFrame(
                    {
                        "origin": origins,
                        "horizon": h,
                        "target_month": targets,
                        "candidate": cand,
                        "forecast": pick,
                        "actual": actual,
                        "origin_avg": wide["origin_avg"].to_numpy(),
                        "origin_last": wide["origin_last"].to_numpy(),
                        "scale": scale,
                        "interval_scale": iscale,
                        "lower": lo,
                        "upper": up,
                        "chosen": names,
                    }
                )
            )
        out.append(pd.concat(parts, ignore_index=True))
    result = pd.concat(out, ignore_index=True)
    result = result[result["forecast"].notna()]
    return result.sort_values(["candidate", "horizon", "origin"]).reset_index(drop=True)


def shipped_level(wide: pd.DataFrame, cand: str, cfg: ModelConfig) -> float:
    """The quantile level for the shipped interval of `cand` (one horizon's wide backtest).

    Without adaptation (`conformal_gamma` 0) the nominal level. With it, the level the
    candidate's own online intervals reached once every backtest outcome resolved: the next
    interval the backtest would have drawn, i.e. the one the forecast ships. It is replayed from
    the backtest rows (one candidate, one horizon: milliseconds) rather than carried over from
    `walk_forward`, so the shipped choice depends only on the backtest as saved.
    """
    if cfg.conformal_gamma == 0:
        return cfg.interval_level
    _, _, level = _online_intervals(
        _scores(wide, cand),
        wide[cand].to_numpy(dtype=float),
        wide["actual"].to_numpy(dtype=float),
        _iscale(wide),
        resolved_counts(wide),
        cfg,
    )
    return level


def online_record(
    bt: pd.DataFrame, h: int, baseline: str, last: int = RECENT_ORIGINS
) -> tuple[float, float, int]:
    """MAEs of the online champion and of `baseline` over the last `last` origins of horizon h
    where both forecast: (champion MAE, baseline MAE, origins); NaNs and 0 without them."""
    rows = bt[(bt["horizon"] == h) & bt["candidate"].isin([CHAMPION, baseline])]
    err = (rows["forecast"] - rows["actual"]).abs()
    wide = rows.assign(err=err).pivot(index="origin", columns="candidate", values="err")
    if CHAMPION not in wide or baseline not in wide:
        return math.nan, math.nan, 0
    wide = wide.dropna().sort_index().iloc[-last:]
    if wide.empty:
        return math.nan, math.nan, 0
    return float(wide[CHAMPION].mean()), float(wide[baseline].mean()), len(wide)


def select_champion(bt: pd.DataFrame, cfg: ModelConfig) -> dict[int, dict[str, Any]]:
    """The shipped champion per horizon, from all resolved backtest errors (same rule as online).

    The model ships only if it also kept its edge out of sample: the online champion's MAE over
    the last RECENT_ORIGINS origins must be strictly below the best baseline's on those origins.
    """
    out: dict[int, dict[str, Any]] = {}
    for h in range(1, cfg.horizons + 1):
        wide = horizon_frame(bt, h)
        cands = [c for c in CANDIDATES if c in wide.columns]
        if wide.empty:
            out[h] = {
                "candidate": "naive_last_price",
                "reason": "no backtest errors for this horizon: default baseline",
                "mae": {},
                "q": math.nan,
                "level": cfg.interval_level,
                "n_calibration": 0,
                "online_record": (math.nan, math.nan, 0),
            }
            continue
        chosen, reason, maes = _decide(wide, cands, cfg)
        base = min(
            (b for b in BASELINES if b in maes and np.isfinite(maes[b])),
            key=lambda b: (maes[b], BASELINES.index(b)),
            default="naive_last_price",
        )
        record = online_record(bt, h, base)
        if chosen == MODEL_NAME and record[2] and not record[0] < record[1]:
            chosen = base
            reason = (
                f"{reason}, but the online champion's MAE over the last {record[2]} origins "
                f"({record[0]:.4f}) is not below {base}'s ({record[1]:.4f}): baseline shipped"
            )
        all_scores = _scores(wide, chosen)
        level = shipped_level(wide, chosen, cfg)
        scores = all_scores[np.isfinite(all_scores)][-cfg.conformal_window :]
        q = conformal_quantile(scores, level, cfg.conformal_finite_sample)
        if scores.size < cfg.min_calibration:
            q = math.nan
        out[h] = {
            "candidate": chosen,
            "reason": reason,
            "mae": maes,
            "q": q,
            "level": level,
            "n_calibration": int(scores.size),
            "online_record": record,
        }
    return out


def horizon_metrics(
    bt: pd.DataFrame, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Per candidate and horizon: n, MAE, RMSE, MAPE, MASE, directional accuracy, coverage.

    `start`/`end` ("YYYY-MM") restrict the origins. MASE divides each absolute error by the
    origin's volatility scale (mean |monthly change of the average| over the last 36 months), so
    it compares across price eras; MASE < 1 beats a typical recent one-month move. MAPE skips zero
    actuals. Direction is the sign of (value - origin month's average); a no-change forecast
    counts as a miss unless the outcome is exactly unchanged. Coverage is the share of rows whose
    actual lies in [lower, upper], over rows that have an interval.
    """
    df = bt
    if start:
        df = df[df["origin"] >= pd.Timestamp(start + "-01")]
    if end:
        df = df[df["origin"] <= pd.Timestamp(end + "-01")]
    rows = []
    for (cand, h), g in df.groupby(["candidate", "horizon"], sort=True):
        err = g["forecast"] - g["actual"]
        nonzero = g["actual"] != 0
        has_int = g["lower"].notna() & g["upper"].notna()
        inside = (g["actual"] >= g["lower"]) & (g["actual"] <= g["upper"])
        direction = np.sign(g["forecast"] - g["origin_avg"]) == np.sign(
            g["actual"] - g["origin_avg"]
        )
        rows.append(
            {
                "candidate": cand,
                "horizon": int(h),
                "n": len(g),
                "mae": float(err.abs().mean()),
                "rmse": float(np.sqrt((err**2).mean())),
                "mape": float((err[nonzero].abs() / g.loc[nonzero, "actual"].abs()).mean() * 100),
                "mase": float((err.abs() / g["scale"]).mean()),
                "directional_accuracy": float(direction.mean()),
                "coverage": float(inside[has_int].mean()) if has_int.any() else math.nan,
                "mean_width": float((g["upper"] - g["lower"])[has_int].mean())
                if has_int.any()
                else math.nan,
                "n_intervals": int(has_int.sum()),
            }
        )
    return pd.DataFrame(rows)


def comparison_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per horizon: champion MAE vs both baselines, with ratios, MAPE, MASE, coverage."""
    m = metrics.set_index(["candidate", "horizon"])
    rows = []
    for h in sorted(metrics["horizon"].unique()):
        champ = m.loc[(CHAMPION, h)] if (CHAMPION, h) in m.index else None
        if champ is None:
            continue
        row = {"horizon": int(h), "n": int(champ["n"]), "mae_champion": champ["mae"]}
        for b in BASELINES:
            base = m.loc[(b, h), "mae"] if (b, h) in m.index else math.nan
            row[f"mae_{b}"] = base
            row[f"ratio_{b}"] = champ["mae"] / base if base else math.nan
        if (MODEL_NAME, h) in m.index:
            row[f"mae_{MODEL_NAME}"] = m.loc[(MODEL_NAME, h), "mae"]
        row.update(
            mape=champ["mape"],
            mase=champ["mase"],
            directional_accuracy=champ["directional_accuracy"],
            coverage=champ["coverage"],
        )
        rows.append(row)
    return pd.DataFrame(rows)
