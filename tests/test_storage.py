"""Storage by URI: the same publish semantics on a local folder and on S3 (moto)."""

from __future__ import annotations

import os
import time

import boto3
import pytest
from moto import mock_aws

from ipeacast.core import storage
from ipeacast.core.errors import StorageError

BUCKET = "lake-test"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


def keys(client, prefix: str) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def stage(client, prefix: str, files: dict[str, bytes]) -> str:
    for name, body in files.items():
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=body)
    return f"s3://{BUCKET}/{prefix}"


def test_s3_replace_overwrites_in_place_and_removes_stale_objects(s3):
    stage(
        s3,
        "final/series=S/run_date=D",
        {"part-00000.snappy.parquet": b"old", "part-00001.snappy.parquet": b"old2"},
    )
    staged = stage(
        s3,
        "final/_staging/t1/series=S",
        {
            "part-00000-a1b2.c000.snappy.parquet": b"new",
            "_SUCCESS": b"",
            ".part-00000-a1b2.c000.snappy.parquet.crc": b"crc",
        },
    )
    assert storage.stable_names(staged) == [f"{staged}/part-00000.snappy.parquet"]
    storage.replace_prefix(staged, f"s3://{BUCKET}/final/series=S/run_date=D")
    assert keys(s3, "final/") == {"final/series=S/run_date=D/part-00000.snappy.parquet": b"new"}


def test_s3_crash_while_copying_leaves_the_published_partition_as_it_was(s3, monkeypatch):
    stage(s3, "final/series=S/run_date=D", {"part-00000.snappy.parquet": b"old"})
    staged = stage(s3, "final/_staging/t2/series=S", {"part-00000.snappy.parquet": b"new"})
    client = storage._s3()

    def crash(**kwargs):
        raise RuntimeError("connection reset")

    monkeypatch.setattr(client, "copy_object", crash)
    monkeypatch.setattr(storage, "_s3", lambda: client)
    with pytest.raises(RuntimeError):
        storage.replace_prefix(staged, f"s3://{BUCKET}/final/series=S/run_date=D")
    assert keys(s3, "final/series=") == {
        "final/series=S/run_date=D/part-00000.snappy.parquet": b"old"
    }


def test_s3_refuses_to_publish_an_empty_staging_prefix(s3):
    stage(s3, "final/series=S/run_date=D", {"part-00000.snappy.parquet": b"old"})
    with pytest.raises(StorageError, match="is empty"):
        storage.replace_prefix(
            f"s3://{BUCKET}/final/_staging/none", f"s3://{BUCKET}/final/series=S/run_date=D"
        )
    assert keys(s3, "final/series=") == {
        "final/series=S/run_date=D/part-00000.snappy.parquet": b"old"
    }


def test_s3_reads_writes_and_lists_by_uri(s3):
    storage.write_bytes(f"s3://{BUCKET}/raw/a.json", b"{}")
    assert storage.read_bytes(f"s3://{BUCKET}/raw/a.json") == b"{}"
    assert storage.exists(f"s3://{BUCKET}/raw/a.json")
    assert not storage.exists(f"s3://{BUCKET}/raw/b.json")
    assert storage.list_files(f"s3://{BUCKET}/raw") == [f"s3://{BUCKET}/raw/a.json"]
    with pytest.raises(StorageError, match="does not exist"):
        storage.read_bytes(f"s3://{BUCKET}/raw/b.json")


def test_local_stable_names_and_replace(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "part-00000-x.c000.snappy.parquet").write_bytes(b"new")
    (staged / ".part-00000-x.c000.snappy.parquet.crc").write_bytes(b"crc")
    target = tmp_path / "final"
    target.mkdir()
    (target / "part-00000.snappy.parquet").write_bytes(b"old")
    storage.stable_names(str(staged))
    storage.replace_prefix(str(staged), str(target))
    assert {p.name: p.read_bytes() for p in target.iterdir()} == {
        "part-00000.snappy.parquet": b"new"
    }


def test_unsupported_schemes_are_named():
    with pytest.raises(StorageError, match="unsupported storage URI 'gs://x/y'"):
        storage.parse("gs://x/y")


def test_local_os_errors_become_storage_errors_naming_path_and_cause(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"a file where a folder is expected")
    under_a_file = str(blocker / "x.json")
    with pytest.raises(StorageError, match=rf"cannot read {under_a_file}: Not a directory"):
        storage.read_bytes(under_a_file)
    with pytest.raises(StorageError, match=rf"{tmp_path} is a folder, not a file"):
        storage.read_bytes(str(tmp_path))
    with pytest.raises(StorageError, match=rf"cannot write {under_a_file}: "):
        storage.write_bytes(under_a_file, b"{}")
    assert blocker.read_bytes() == b"a file where a folder is expected"
    with pytest.raises(StorageError, match="does not exist"):
        storage.read_bytes(str(tmp_path / "missing.json"))


def test_any_local_os_error_on_read_is_a_storage_error(tmp_path, monkeypatch):
    """PermissionError cannot be provoked as root, so the read itself is made to fail."""
    target = tmp_path / "a.json"
    target.write_bytes(b"{}")

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(storage.Path, "read_bytes", denied)
    with pytest.raises(StorageError, match=rf"cannot read {target}: Permission denied"):
        storage.read_bytes(str(target))


def test_a_failed_local_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", full)
    with pytest.raises(StorageError, match="No space left on device"):
        storage.write_bytes(str(tmp_path / "a.json"), b"{}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("uri", ["lake/raw", "/tmp/lake", "c:/lake", "D:/lake", "file:///tmp/x"])
def test_paths_and_drive_letters_are_local_files(uri):
    assert storage.parse(uri).scheme == "file"
    assert storage.parse(uri).bucket == ""


def test_local_replace_never_shows_readers_a_missing_or_mixed_partition(tmp_path):
    """A reader polling the partition while it is replaced 100 times: every listing shows
    one complete version (both files, nothing else) and every file reads whole, never nothing
    (RENAME_EXCHANGE swaps the folders in one step)."""
    import threading

    target = tmp_path / "predictions" / "series=S" / "run_date=D"
    target.mkdir(parents=True)
    for name in ("a", "b"):
        (target / name).write_text("v0")
    seen: set[str] = set()
    problems: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                names = sorted(os.listdir(target))
                content = (target / "a").read_text()
            except FileNotFoundError as exc:
                problems.append(f"missing: {exc.filename}")
                continue
            if names != ["a", "b"]:
                problems.append(f"listing: {names}")
            if not content.startswith("v"):
                problems.append(f"partial read: {content!r}")
            seen.add(content)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        # Runs are minutes apart; here 20 ms, still far longer than a listing, so a reader is at
        # most one version behind: the one the replacement keeps for it.
        for version in range(1, 101):
            time.sleep(0.02)
            staged = tmp_path / "predictions" / "series=S" / f"_staging-{version}"
            staged.mkdir()
            for name in ("a", "b"):
                (staged / name).write_text(f"v{version}")
            storage.replace_prefix(str(staged), str(target))
            assert not staged.exists()  # the swapped-out version is deleted
    finally:
        done.set()
        thread.join()
    assert problems == []
    assert len(seen) > 1  # the reader did see replacements happen
    assert (target / "a").read_text() == "v100"


def test_with_the_owner_set_every_s3_call_names_the_expected_bucket_owner(s3, monkeypatch):
    """IPEACAST_BUCKET_OWNER (Terraform sets it for the Lambda): the header goes on every request
    of a whole write / list / replace / delete cycle, and on copies the source's too."""
    import botocore.session

    monkeypatch.setenv(storage.BUCKET_OWNER_ENV, "123456789012")
    seen: list[tuple[str, str | None, str | None]] = []

    def record(request, **_):
        headers = request.headers
        seen.append(
            (
                request.method,
                headers.get("x-amz-expected-bucket-owner"),
                headers.get("x-amz-source-expected-bucket-owner"),
            )
        )

    session = boto3.session.Session(botocore_session=botocore.session.get_session())
    session.events.register("before-send.s3", record)
    monkeypatch.setattr(storage, "_s3", lambda: session.client("s3"))

    storage.write_bytes(f"s3://{BUCKET}/stage/a.parquet", b"a")
    assert storage.read_bytes(f"s3://{BUCKET}/stage/a.parquet") == b"a"
    assert storage.exists(f"s3://{BUCKET}/stage/a.parquet")
    storage.replace_prefix(f"s3://{BUCKET}/stage", f"s3://{BUCKET}/final/series=S/run_date=D")
    storage.delete_prefix(f"s3://{BUCKET}/final")

    assert len(seen) >= 6
    assert all(owner == b"123456789012" for _, owner, _ in seen), seen
    copies = [source for _, _, source in seen if source is not None]
    assert copies == [b"123456789012"]  # the one copy of the replace


def test_a_malformed_owner_is_named(s3, monkeypatch):
    monkeypatch.setenv(storage.BUCKET_OWNER_ENV, "me")
    with pytest.raises(StorageError, match="IPEACAST_BUCKET_OWNER='me' is not a 12-digit"):
        storage.read_bytes(f"s3://{BUCKET}/x")
