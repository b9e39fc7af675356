"""Ipeadata misbehaving for real (tests/support/ipeadata_faults.py on 127.0.0.1): every fault ends
in one clear error naming the series and the cause, within the policy's time bound, with nothing
stored. The CLI runs in-process: extract fails before any Spark step starts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.ipeadata_faults import FaultyIpeadata

import ipeacast.pipeline  # noqa: F401  (imported now: the timed runs measure the fetch, not imports)
from ipeacast import cli
from ipeacast.core.errors import ConfigError
from ipeacast.etl.extract import HttpPolicy, ipeadata_base

SERIES = "EIA366_PBRENT366"
POLICY = {
    "IPEACAST_HTTP_TIMEOUT": "0.5",
    "IPEACAST_HTTP_RETRIES": "2",
    "IPEACAST_HTTP_BACKOFF": "0.05",
}

# mode -> (what the error must say, ValoresSerie calls: retried faults are tried 1 + 2 times; a
# redirect loop is not retried, and requests follows it 30 times before it gives up)
FAULTS = {
    "503": ("HTTP 503 (gave up after 3 attempts)", 3),
    "500-html": ("HTTP 500 (gave up after 3 attempts)", 3),
    "reset": ("the connection broke mid-response", 3),
    "stall": ("timed out after 0.5s (gave up after 3 attempts)", 3),
    "error-payload": ("the response has no 'value' list (the service said: Timeout)", 1),
    "truncated": ("malformed JSON in the response", 1),
    "empty": ("the series has no observations", 1),
    "redirect-loop": ("redirect loop (Exceeded 30 redirects.)", 31),
}


@pytest.fixture
def ipeadata(monkeypatch):
    server = FaultyIpeadata().start()
    monkeypatch.setenv("IPEACAST_IPEADATA_URL", server.url)
    for name, value in POLICY.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


ROOT = Path(__file__).resolve().parents[1]
OFFLINE = "run offline with the snapshot in this repository: make run SOURCE=data/brent-daily.csv"


@pytest.mark.parametrize("mode", sorted(FAULTS))
def test_a_misbehaving_ipeadata_gives_one_clear_error_in_time_and_stores_nothing(
    ipeadata, mode, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(ROOT)  # where `make run` runs
    ipeadata.mode = mode
    lake = tmp_path / "lake"
    expected, calls = FAULTS[mode]
    bound = HttpPolicy.from_env().bound()

    started = time.monotonic()
    status = cli.main(["run", "--series", SERIES, "--lake", str(lake)])
    elapsed = time.monotonic() - started

    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1, err
    assert err[0].startswith(f"ipeacast: error: cannot extract series {SERIES} from ")
    assert f"{ipeadata.url}/ValoresSerie(SERCODIGO='{SERIES}')" in err[0]
    assert expected in err[0], err[0]
    # an unreachable service (the retried faults) names the command that works without it
    assert err[0].endswith(f"; {OFFLINE}") == (calls == 3), err[0]
    assert ipeadata.values_calls == calls
    # one call failed (the metadata call answered at once); 1 s of slack for the machine
    assert elapsed <= bound + 1.0, (elapsed, bound)
    assert files_under(lake) == []


def test_the_same_server_serving_data_lets_extract_store_the_snapshot(ipeadata, tmp_path):
    from ipeacast.etl import extract

    fetched = extract.fetch_ipeadata(SERIES)
    snap = extract.store_snapshot(fetched, str(tmp_path / "lake"), SERIES, "2026-12-01")
    assert snap.created and snap.metadata["rows"] == 300
    assert fetched.source == f"{ipeadata.url}/ValoresSerie(SERCODIGO='{SERIES}')"


def test_the_time_bound_is_timeout_times_attempts_plus_the_waits():
    assert HttpPolicy(timeout=30, retries=3, backoff=1).bound() == 30 * 4 + 1 + 2 + 4
    assert HttpPolicy.from_env({}) == HttpPolicy()
    assert HttpPolicy.from_env(POLICY).bound() == pytest.approx(0.5 * 3 + 0.05 + 0.1)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IPEACAST_HTTP_TIMEOUT": "soon"}, "IPEACAST_HTTP_TIMEOUT='soon' is not a number"),
        ({"IPEACAST_HTTP_RETRIES": "99"}, "IPEACAST_HTTP_RETRIES='99' must be between 0 and 10"),
        ({"IPEACAST_HTTP_RETRIES": "1.5"}, "IPEACAST_HTTP_RETRIES='1.5' is not a number"),
        ({"IPEACAST_IPEADATA_URL": "ftp://x/"}, "is not an http(s) base URL"),
    ],
)
def test_bad_configuration_is_named(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        HttpPolicy.from_env(env)
        ipeadata_base(env)


def test_without_configuration_the_real_ipeadata_is_called():
    assert ipeadata_base({}) is None
    assert ipeadata_base({"IPEACAST_IPEADATA_URL": "http://mirror:8080/odata/"}) == (
        "http://mirror:8080/odata/"
    )


def test_the_offline_hint_names_a_file_for_a_series_without_a_snapshot(tmp_path):
    assert cli.offline_hint(SERIES, ROOT / "data" / "brent-daily.csv").endswith(
        f"make run SOURCE={ROOT / 'data' / 'brent-daily.csv'}"
    )
    without = cli.offline_hint(SERIES, tmp_path / "missing.csv")
    assert "brent-daily" not in without and f"make run SERIES={SERIES} SOURCE=FILE" in without
    assert "make run SERIES=EIA366_PWTI366 SOURCE=FILE" in cli.offline_hint("EIA366_PWTI366")


def test_the_offline_command_runs_the_whole_pipeline_on_the_shipped_snapshot(tmp_path):
    """What the hint names, run as a user runs it from a checkout (CI: a fresh clone)."""
    import os
    import subprocess

    from ipeacast.core import lake as lake_paths
    from ipeacast.ml.frames import read_parquet

    command = OFFLINE.rsplit(": ", 1)[1].split()
    assert command[:2] == ["make", "run"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    lake = tmp_path / "lake"
    result = subprocess.run(
        [*command, f"LAKE={lake}", "RUN_ARGS=--run-date 2026-03-02 --run-id offline"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    part = lake_paths.partition(str(lake), "predictions", SERIES, "2026-03-02")
    forecast = read_parquet(Path(part) / "forecast.parquet")
    assert list(forecast["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert set(forecast["run_id"]) == {"offline"}
    assert (forecast["lower"] <= forecast["point_forecast"]).all()
    assert (forecast["point_forecast"] <= forecast["upper"]).all()
