"""The rehearsal's Glue runner installs only what the deployed jobs can: verified S3 wheels."""

from __future__ import annotations

import hashlib
import io
import types
import zipfile

import boto3
import pytest
from moto.server import ThreadedMotoServer
from support import runners

BUCKET = "ipeacast-dev-lake"


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def rt(endpoint, tmp_path, monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(name, value)
    runtime = runners.Runtime(
        endpoint=endpoint,
        work=tmp_path / "work",
        logs=tmp_path / "logs",
        awsglue_path=tmp_path / "awsglue",
        registry=tmp_path / "registry",
    )
    s3 = runtime.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    return runtime


def _wheel(module: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "VALUE = 1\n")
    return buf.getvalue()


def _put(rt, name: str, body: bytes, digest: str | None = None) -> str:
    key = f"artifacts/{digest or hashlib.sha256(body).hexdigest()}/{name}"
    boto3.client("s3", endpoint_url=rt.endpoint, region_name=rt.region).put_object(
        Bucket=BUCKET, Key=key, Body=body
    )
    return f"s3://{BUCKET}/{key}"


def test_content_addressed_wheels_are_verified_and_unpacked(rt, tmp_path):
    spec = ",".join(
        [
            _put(rt, "ipeacast-0.1.0-py3-none-any.whl", _wheel("ipeacast")),
            _put(rt, "ipeadatapy-0.1.9-py3-none-any.whl", _wheel("ipeadatapy")),
        ]
    )
    site = tmp_path / "job" / "site"

    assert runners._python_modules(rt, spec, site) == []
    assert (site / "ipeacast" / "__init__.py").is_file()
    assert (site / "ipeadatapy" / "__init__.py").is_file()


def test_a_pypi_requirement_is_refused_and_nothing_is_installed(rt, tmp_path):
    site = tmp_path / "job" / "site"

    problems = runners._python_modules(rt, "ipeadatapy==0.1.9", site)

    assert problems == [
        "'ipeadatapy==0.1.9' is not an S3 wheel: with --no-index Glue cannot install it"
    ]
    assert not site.exists()


def test_a_wheel_whose_bytes_do_not_match_its_key_is_refused(rt, tmp_path):
    claimed = hashlib.sha256(b"the real wheel").hexdigest()
    uri = _put(rt, "ipeadatapy-0.1.9-py3-none-any.whl", _wheel("ipeadatapy"), claimed)

    (problem,) = runners._python_modules(rt, uri, tmp_path / "site")

    assert problem.startswith(f"{uri} has sha256 ") and claimed in problem


def test_a_job_without_no_deps_and_no_index_does_not_run(rt):
    script = _put(rt, "extract.py", b"raise SystemExit('must not run')\n")
    job = types.SimpleNamespace(name="ipeacast-dev-extract", command={"ScriptLocation": script})
    wheel = _put(rt, "ipeacast-0.1.0-py3-none-any.whl", _wheel("ipeacast"))
    run = types.SimpleNamespace(
        arguments={
            "--additional-python-modules": wheel,
            "--python-modules-installer-option": "--no-deps",
        },
        job_run_id="jr_1",
    )

    message = runners.run_glue_job(rt, job, run)

    assert message is not None and "not '--no-deps --no-index'" in message
