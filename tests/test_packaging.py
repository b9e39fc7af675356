"""`python -m ipeacast.packaging dist`: byte-identical rebuilds and artifacts that work."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ipeacast import packaging

ROOT = Path(__file__).resolve().parents[1]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "ipeacast.packaging", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"},
    )
    assert result.returncode == 0, result.stderr
    return out


def test_builds_the_wheel_glue_scripts_lambda_zip_and_manifest(dist):
    names = set(_files(dist))
    assert names == {
        "ipeacast-0.1.0-py3-none-any.whl",
        "glue/extract.py",
        "glue/transform.py",
        "glue/load.py",
        "lambda.zip",
        "manifest.json",
    }
    manifest = json.loads((dist / "manifest.json").read_text())
    assert set(manifest) == names - {"manifest.json"}


def test_two_builds_are_byte_identical_even_after_sources_are_touched(tmp_path):
    # build from a copy, so the sources cannot change between the two builds
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "src", checkout / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy2(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    packaging.build_all(tmp_path / "first", root=checkout)
    first = _files(tmp_path / "first")
    # new modification times and a new build folder must not leak into the artifacts
    for path in (checkout / "src").rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    packaging.build_all(tmp_path / "second", root=checkout)
    assert _files(tmp_path / "second") == first


def test_source_date_epoch_sets_the_archive_timestamps(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    packaging.build_all(tmp_path / "d")
    with zipfile.ZipFile(tmp_path / "d" / "lambda.zip") as zf:
        assert {info.date_time for info in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_archives_have_sorted_entries_fixed_times_and_no_bytecode(dist):
    for name in ("lambda.zip", "ipeacast-0.1.0-py3-none-any.whl"):
        with zipfile.ZipFile(dist / name) as zf:
            names = zf.namelist()
            assert names == sorted(names), name
            assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_glue_scripts_are_the_sources(dist):
    for name in packaging.GLUE_SCRIPTS:
        assert (dist / "glue" / name).read_bytes() == (ROOT / "src" / "etl" / name).read_bytes()


def test_wheel_installs_offline_with_its_metadata_and_console_scripts(dist, tmp_path):
    wheel = dist / "ipeacast-0.1.0-py3-none-any.whl"
    target = tmp_path / "site"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile"),
            *("--quiet", "--target", str(target), str(wheel)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (target / "ipeacast" / "schemas" / "final_monthly.json").is_file()
    assert (target / "bin" / "ipeacast").is_file()
    metadata = (target / "ipeacast-0.1.0.dist-info" / "METADATA").read_text()
    assert "Requires-Dist: pandas==2.2.3" in metadata
    assert 'Requires-Dist: scikit-learn==1.5.2; extra == "ml"' in metadata
    check = subprocess.run(
        [sys.executable, "-S", "-c", "import ipeacast.lake, sys; print(ipeacast.lake.__file__)"],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target)},
        timeout=60,
    )
    assert check.stdout.strip().startswith(str(target)), check.stderr


def test_lambda_zip_prepares_a_training_job_with_the_standard_library_only(dist):
    # -S: no site-packages, so no pandas, pyarrow, numpy or boto3 can be imported
    code = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
import handler
os.environ.update(LAKE_BUCKET="lake-bucket-1", TRAINING_ROLE_ARN="arn:aws:iam::123456789012:role/t",
                  TRAINING_IMAGE_URI="123456789012.dkr.ecr.us-east-1.amazonaws.com/i:abc")
event = {"action": "prepare_training", "series": "S1", "run_id": "r-1", "run_date": "2026-01-31",
         "execution": "arn:aws:states:us-east-1:123456789012:execution:sm:r-1"}
print(json.dumps(handler.handler(event, None)))
import ipeacast.forecast  # the publish action's module
print(sorted(m for m in sys.modules if m.split(".")[0] in {"pandas", "pyarrow", "numpy", "boto3"}))
"""
    result = subprocess.run(
        [sys.executable, "-S", "-c", code, str(dist / "lambda.zip")],
        capture_output=True,
        text=True,
        env={},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    request_line, heavy_modules = result.stdout.strip().splitlines()
    assert json.loads(request_line)["TrainingJobName"].startswith("ipeacast-S1-r-1-")
    assert heavy_modules == "[]"


def test_dockerfile_installs_the_wheel_this_build_produces_and_only_training_requirements(dist):
    dockerfile = (ROOT / "Dockerfile").read_text()
    (wheel,) = [p.name for p in dist.glob("*.whl")]
    assert f"--no-deps /tmp/wheels/{wheel}" in dockerfile
    assert "--no-deps -r /tmp/wheels/training-requirements.txt" in dockerfile
    assert "python -m ipeacast.packaging" in dockerfile
    for unwanted in ("pyspark", "[dev]", "[spark", "pytest"):
        assert unwanted not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:4] == [
        "*",
        "!pyproject.toml",
        "!src/",
        "!docker/training-requirements.txt",
    ]
