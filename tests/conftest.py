"""Shared fixtures: one local SparkSession for the whole test session, small generated series."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `import reference` from the tests

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def spark():
    from ipeacast.spark import get_spark

    session = get_spark("ipeacast-tests")
    yield session


def business_days(start: str, periods: int) -> pd.DatetimeIndex:
    return pd.bdate_range(start=start, periods=periods)


def synthetic_prices(
    start: str = "2018-01-01", periods: int = 800, seed: int = 7, level: float = 60.0
) -> pd.DataFrame:
    """A random walk on business days (columns date, price), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    prices = level + np.cumsum(rng.normal(0, 1.0, periods))
    return pd.DataFrame({"date": business_days(start, periods), "price": prices.round(2)})


def eia_csv(frame: pd.DataFrame) -> bytes:
    lines = ["date,price_usd"] + [
        f"{d:%Y-%m-%d},{p:g}" for d, p in zip(frame["date"], frame["price"], strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def prices() -> pd.DataFrame:
    return synthetic_prices()


@pytest.fixture
def price_csv(tmp_path) -> Path:
    """About nine years of business days: enough history to train and backtest."""
    path = tmp_path / "prices.csv"
    path.write_bytes(eia_csv(synthetic_prices("2012-01-02", 2350, seed=11)))
    return path
