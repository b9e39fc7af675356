"""Publication as readers see it (ipeacast.aws.publish), on moto S3 and on a local lake.

A reader checks the lake after every single write of a publish, and another polls it from a
thread all along: it always finds one forecast object, of the previous run or of the new one, and
the model folder of that same run, complete. A crash is injected after each write of the publish
sequence in turn: the lake still reads as the previous run or the new one, and the next run's
publish succeeds and removes what the crash left.
"""

from __future__ import annotations

import io
import json
import threading
from contextlib import contextmanager
from pathlib import Path

import boto3
import pandas as pd
import pytest
from model_artifacts import model_tarball
from moto import mock_aws

from ipeacast.aws import publish
from ipeacast.core import lake, storage

SERIES = "EIA366_PBRENT366"
RUN_DATE = "2026-11-26"
BUCKET = "ipeacast-test-lake"
S3_WRITES = ("put_object", "copy_object", "delete_object", "delete_objects")


class Crash(BaseException):
    """The process dying right after a write: no `except Exception` sees it, and every later
    write (a `finally`'s cleanup) fails too."""


def _model_dir(tmp_path: Path, run_id: str) -> Path:
    out = tmp_path / f"model-{run_id}"
    out.mkdir()
    publish.extract_model_archive(model_tarball(SERIES, RUN_DATE, run_id), out)
    return out


def read_lake(root: str) -> str:
    """What a reader finds: the forecast's run, after checking that run's model folder is whole.
    Returns "" when nothing is published yet."""
    part = lake.partition(root, "predictions", SERIES, RUN_DATE)
    files = storage.list_files(part)
    if not files:
        return ""
    assert files == [lake.join(part, publish.FORECAST_FILE)], files  # one object, no mix
    table = pd.read_parquet(io.BytesIO(storage.read_bytes(files[0])))
    (run_id,) = set(table["run_id"])
    folder = lake.model_run(root, SERIES, RUN_DATE, run_id)
    assert json.loads(storage.read_bytes(lake.join(folder, "metrics.json")))
    csv = pd.read_csv(io.BytesIO(storage.read_bytes(lake.join(folder, "forecast.csv"))))
    assert set(csv["run_id"]) == {run_id}
    return run_id


def _leftovers(root: str) -> list[str]:
    """Staged files, temporary files, and more than one `.trash-*` per partition (a local
    replacement keeps the previous version, and only it, for readers that still hold it)."""
    files = storage.list_files(root)
    trash: dict[str, set[str]] = {}
    for uri in files:
        if "/.trash-" in uri:
            parent, rest = uri.split("/.trash-", 1)
            trash.setdefault(parent + "/" + rest.split("-", 1)[0], set()).add(rest.split("/")[0])
    extra = [f"{p}: {sorted(t)}" for p, t in trash.items() if len(t) > 1]
    staged = [u for u in files if "/_staging/" in u or (u.endswith(".tmp") and "/." in u)]
    return staged + extra


class _Store:
    """A lake (local folder or moto bucket) whose writes can run a hook, or crash."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.root = str(tmp_path / "lake") if kind == "local" else f"s3://{BUCKET}"
        self.after_write = lambda: None
        self.crash_at = 0  # crash right after this write (1-based); 0: never
        self.writes = 0
        self.dead = False

    def _writing(self) -> None:
        if self.dead:
            raise Crash("the process is dead")

    def _wrote(self) -> None:
        self.writes += 1
        self.after_write()
        if self.writes == self.crash_at:
            self.dead = True
            raise Crash(f"crash after write {self.writes}")

    def reset(self) -> None:
        """An empty lake, nothing dead."""
        self.writes, self.crash_at, self.dead = 0, 0, False
        if self.kind == "s3":
            s3 = boto3.client("s3", region_name="us-east-1")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
                for obj in page.get("Contents", []):
                    s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        else:
            storage.delete_prefix(self.root)

    @contextmanager
    def instrumented(self, monkeypatch):
        if self.kind == "s3":
            client = boto3.client("s3", region_name="us-east-1")
            store = self

            class Client:
                def __getattr__(self, name):
                    method = getattr(client, name)
                    if name not in S3_WRITES:
                        return method

                    def write(*args, **kwargs):
                        store._writing()
                        out = method(*args, **kwargs)
                        store._wrote()
                        return out

                    return write

            monkeypatch.setattr(storage, "_s3", Client)
        else:  # locally each storage call is the unit (a rename, a file written through a rename)
            for name in ("write_bytes", "replace_prefix", "delete_prefix", "clear_staging"):
                original = getattr(storage, name)

                def call(*args, _original=original, **kwargs):
                    self._writing()
                    out = _original(*args, **kwargs)
                    self._wrote()
                    return out

                monkeypatch.setattr(storage, name, call)
        yield self
        monkeypatch.undo()


@pytest.fixture(params=["s3", "local"])
def store(request, tmp_path, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        if request.param == "s3":
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield _Store(request.param, tmp_path)


def test_a_reader_sees_one_whole_run_after_every_write_and_while_polling(
    store, tmp_path, monkeypatch
):
    runs = ["20261126-100000", "20261126-110000", "20261126-120000", "20261126-130000"]
    dirs = {r: _model_dir(tmp_path, r) for r in runs}
    seen: list[str] = []
    problems: list[BaseException] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                seen.append(read_lake(store.root))
            except BaseException as exc:  # reported by the main thread
                problems.append(exc)
                return

    with store.instrumented(monkeypatch):
        published = ""
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            for run_id in runs:
                before = published
                store.after_write = lambda before=before, run_id=run_id: (
                    read_lake(store.root) in {before, run_id} or pytest.fail("mixed runs")
                )
                publish.publish_forecast(dirs[run_id], store.root, SERIES, RUN_DATE)
                published = run_id
                assert read_lake(store.root) == run_id
        finally:
            stop.set()
            poller.join(timeout=30)
    assert not problems, problems[0]
    assert seen and set(seen) <= {"", *runs}
    assert _leftovers(store.root) == []
    # the last run, and the two before it, keep their model files; older runs are removed
    models = lake.partition(store.root, "models", SERIES, RUN_DATE)
    kept = {u.split("run_id=")[1].split("/")[0] for u in storage.list_files(models)}
    assert kept == set(runs[-3:])


def test_a_crash_after_any_write_leaves_a_whole_run_and_the_next_run_cleans_up(
    store, tmp_path, monkeypatch
):
    old, new, next_run = "20261126-100000", "20261126-110000", "20261126-120000"
    dirs = {r: _model_dir(tmp_path, r) for r in (old, new, next_run)}
    publish.publish_forecast(dirs[old], store.root, SERIES, RUN_DATE)
    with store.instrumented(monkeypatch):
        publish.publish_forecast(dirs[new], store.root, SERIES, RUN_DATE)
    total = store.writes
    assert total >= 4

    for crash_at in range(1, total + 1):
        store.reset()
        publish.publish_forecast(dirs[old], store.root, SERIES, RUN_DATE)
        store.crash_at = crash_at
        with store.instrumented(monkeypatch), pytest.raises(Crash):
            publish.publish_forecast(dirs[new], store.root, SERIES, RUN_DATE)
        assert store.dead and store.writes == crash_at
        store.dead = False  # the next run is a new process
        assert read_lake(store.root) in {old, new}, f"after a crash at write {crash_at}"

        publish.publish_forecast(dirs[next_run], store.root, SERIES, RUN_DATE)
        assert read_lake(store.root) == next_run
        assert _leftovers(store.root) == [], f"after a crash at write {crash_at}"
