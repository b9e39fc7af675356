"""Shared fixtures: one local SparkSession and one deploy rehearsal for the whole test session,
small generated series."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # `import reference` from the tests

FIXTURES = Path(__file__).parent / "fixtures"
FAULTS = "glue,lambda,training"


_REHEARSAL: dict = {}


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only for tests that will run
def pytest_collection_modifyitems(session, config, items):
    """Start the deploy rehearsal in the background as soon as a selected test needs it, and run
    the tests that need it last: most of its four minutes are Terraform waiting (S3 lifecycle
    settling, about a minute per root), while the rest of the suite runs."""
    needs = [item for item in items if "rehearsal" in getattr(item, "fixturenames", ())]
    if not needs:
        return
    items[:] = [item for item in items if item not in needs] + needs
    out = Path(tempfile.mkdtemp(prefix="ipeacast-rehearsal-"))
    log = (out / "rehearsal.log").open("w")
    command = [sys.executable, "-m", "support.rehearsal", "--out", str(out)]
    proc = subprocess.Popen(
        [*command, "--expect-faults", FAULTS],
        cwd=Path(__file__).parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: Terraform and the jobs go with it
    )
    _REHEARSAL.update(proc=proc, out=out, log=log)


def pytest_sessionfinish(session, exitstatus):
    proc = _REHEARSAL.get("proc")
    if proc is None:
        return
    if proc.poll() is None:  # interrupted: stop it and all it started
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    if exitstatus == 0:  # kept for inspection when anything failed
        shutil.rmtree(_REHEARSAL["out"], ignore_errors=True)


@pytest.fixture(scope="session")
def rehearsal():
    """`make rehearse` with every fault rehearsed after the smoke run, once per session.

    Runs in a process of its own (its moto server must not share this process's moto backends,
    which `mock_aws` resets), started at collection. The outcome is asserted by
    tests/test_rehearsal.py; the state machine tests use the stack it exported.
    """
    proc, out = _REHEARSAL["proc"], _REHEARSAL["out"]
    proc.wait(timeout=1800)
    _REHEARSAL["log"].close()
    report_file = out / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    text = (out / "rehearsal.log").read_text(errors="replace")
    return SimpleNamespace(returncode=proc.returncode, stderr=text, out=out, report=report)


@pytest.fixture(scope="session")
def terraform_stack(rehearsal):
    """The dev stack as Terraform applied it in the rehearsal (`support.stack.Stack`)."""
    from support.stack import Stack

    path = rehearsal.out / "stack.json"
    assert path.exists(), f"the rehearsal exported no stack:\n{rehearsal.stderr[-3000:]}"
    return Stack.from_file(path)


@pytest.fixture(scope="session")
def spark():
    from ipeacast.etl.spark import get_spark

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
