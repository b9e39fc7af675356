"""How much a per-horizon coverage figure over ~10 years moves by chance alone.

    .venv/bin/python benchmarks/coverage_noise.py [--origins 114] [--reps 20000]

Simulates a forecaster whose 80 % intervals are *exactly* right: a Gaussian monthly random walk,
forecast "no change" from every origin, interval +/- z(0.9) * sqrt(h) (the true h-month
quantile). Over `--origins` consecutive origins (114 = the evaluation window 2015-01..2024-06)
it counts how often each horizon's coverage lands in 75-85 %, how often all six do, and how
often the coverage pooled over the horizons does. Overlapping h-month errors make neighbouring
outcomes move together, so a per-horizon figure is far noisier than a binomial 114 would say.
"""

from __future__ import annotations

import argparse
from statistics import NormalDist

import numpy as np

LEVEL = 0.8
BAND = (0.75, 0.85)


def simulate(origins: int, horizons: int, reps: int, seed: int) -> dict[str, np.ndarray | float]:
    rng = np.random.default_rng(seed)
    z = NormalDist().inv_cdf(0.5 + LEVEL / 2)
    cov = np.empty((reps, horizons))
    for r in range(reps):
        path = np.concatenate([[0.0], np.cumsum(rng.normal(size=origins + horizons))])
        for h in range(1, horizons + 1):
            err = path[h : origins + h] - path[:origins]
            cov[r, h - 1] = np.mean(np.abs(err) <= z * np.sqrt(h))
    inside = (cov >= BAND[0]) & (cov <= BAND[1])
    pooled = cov.mean(axis=1)
    return {
        "sd": cov.std(axis=0),
        "pooled_sd": float(pooled.std()),
        "per_horizon": inside.mean(axis=0),
        "all": float(inside.all(axis=1).mean()),
        "pooled": float(((pooled >= BAND[0]) & (pooled <= BAND[1])).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--origins", type=int, default=114)
    parser.add_argument("--horizons", type=int, default=6)
    parser.add_argument("--reps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    res = simulate(args.origins, args.horizons, args.reps, args.seed)
    print(f"exactly calibrated {LEVEL:.0%} intervals, {args.origins} origins, {args.reps} runs")
    for h in range(args.horizons):
        print(
            f"  M+{h + 1}: coverage sd {res['sd'][h]:.3f}, "
            f"in {BAND[0]:.0%}-{BAND[1]:.0%} in {res['per_horizon'][h]:.1%} of runs"
        )
    print(f"  all {args.horizons} horizons in the band: {res['all']:.1%} of runs")
    print(f"  coverage pooled over horizons in the band: {res['pooled']:.1%} of runs")
    print(f"  coverage pooled over horizons: sd {res['pooled_sd']:.3f}")


if __name__ == "__main__":
    main()
