"""`python -m ipeacast.deploy.packaging dist`: byte-identical rebuilds and artifacts that work."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from ipeacast.deploy import packaging

ROOT = Path(__file__).resolve().parents[1]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    # The library's artifacts, offline; the pinned dependency wheels are tested with `checkout`.
    out = tmp_path_factory.mktemp("dist") / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "ipeacast.deploy.packaging", "--without-glue-wheels", str(out)],
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


def _fake_wheel(path: Path, name: str, version: str, payload: str = "VALUE = 1\n") -> Path:
    """A minimal valid wheel (pip reads its METADATA), written like our own archives."""
    info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    packaging.write_zip(
        path,
        {
            f"{name}/__init__.py": payload.encode(),
            f"{info}/METADATA": metadata.encode(),
            f"{info}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{info}/RECORD": b"",
        },
        packaging.DEFAULT_EPOCH,
    )
    return path


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A copy of the sources whose glue-wheels.txt pins a wheel served by a local index.

    pip runs for real (`pip download --require-hashes`), pointed at a find-links folder with
    PIP_NO_INDEX, so nothing leaves the machine.
    """
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "src", root / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    links = tmp_path / "index"
    links.mkdir()
    wheel = _fake_wheel(links / WHEEL, "ipeadatapy", "0.1.9")
    pin = f"ipeadatapy==0.1.9 \\\n    --hash=sha256:{_sha256(wheel)}\n"
    (root / "requirements").mkdir()
    (root / "requirements" / "glue-wheels.txt").write_text("# pinned for the test\n" + pin)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return root


WHEEL = "ipeadatapy-0.1.9-py3-none-any.whl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pinned_glue_wheel_is_downloaded_verified_and_placed_in_dist(checkout, tmp_path):
    expected = _sha256(tmp_path / "index" / WHEEL)

    manifest = packaging.build_all(tmp_path / "dist", root=checkout)

    assert _sha256(tmp_path / "dist" / "glue-wheels" / WHEEL) == expected
    assert manifest[f"glue-wheels/{WHEEL}"]["sha256"] == expected
    assert _sha256(checkout / "build" / "glue-wheels" / WHEEL) == expected


def test_a_cached_glue_wheel_is_reused_without_an_index(checkout, tmp_path, monkeypatch):
    packaging.build_all(tmp_path / "first", root=checkout)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-such-folder"))

    packaging.build_all(tmp_path / "second", root=checkout)

    assert _files(tmp_path / "second") == _files(tmp_path / "first")


def test_a_tampered_cached_wheel_fails_naming_the_file_and_both_hashes(checkout, tmp_path):
    pinned = _sha256(tmp_path / "index" / WHEEL)
    cached = _fake_wheel(checkout / "build" / "glue-wheels" / WHEEL, "ipeadatapy", "0.1.9", "X=2\n")

    with pytest.raises(packaging.ConfigError) as failure:
        packaging.build_all(tmp_path / "dist", root=checkout)

    message = str(failure.value)
    assert str(cached) in message
    assert _sha256(cached) in message and pinned in message
    assert not (tmp_path / "dist" / "glue-wheels").exists()


def test_a_wheel_that_does_not_match_its_hash_is_refused_by_pip(checkout, tmp_path):
    _fake_wheel(tmp_path / "index" / WHEEL, "ipeadatapy", "0.1.9", "X=3\n")  # the index lies

    with pytest.raises(packaging.ConfigError, match=r"cannot download .*ipeadatapy==0\.1\.9"):
        packaging.build_all(tmp_path / "dist", root=checkout)
    assert not list((checkout / "build" / "glue-wheels").glob("*.whl"))


def test_an_unreachable_index_fails_with_a_clear_message(checkout, tmp_path, monkeypatch):
    monkeypatch.delenv("PIP_NO_INDEX")
    monkeypatch.delenv("PIP_FIND_LINKS")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")  # nothing listens there

    with pytest.raises(packaging.ConfigError, match=r"needs PyPI .*build/glue-wheels"):
        packaging.build_all(tmp_path / "dist", root=checkout)


def test_a_glue_pin_that_differs_from_pyproject_is_refused(checkout, tmp_path):
    pins = checkout / "requirements" / "glue-wheels.txt"
    pins.write_text(pins.read_text().replace("==0.1.9", "==0.1.8"))

    with pytest.raises(packaging.ConfigError, match=r"ipeadatapy==0\.1\.8 but pyproject\.toml has"):
        packaging.build_all(tmp_path / "dist", root=checkout)


def test_an_unhashed_glue_pin_is_refused(checkout, tmp_path):
    (checkout / "requirements" / "glue-wheels.txt").write_text("ipeadatapy==0.1.9\n")

    with pytest.raises(packaging.ConfigError, match="--hash=sha256"):
        packaging.build_all(tmp_path / "dist", root=checkout)


def test_the_repository_pins_every_glue_wheel_as_pyproject_does():
    pins = packaging.read_pinned_wheels(ROOT / packaging.GLUE_WHEELS_FILE)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert [p.requirement for p in pins] == ["ipeadatapy==0.1.9"]
    assert all(len(p.sha256) == 1 for p in pins)
    packaging._check_project_pins(pins, project, ROOT / packaging.GLUE_WHEELS_FILE)


def test_two_builds_are_byte_identical_even_after_sources_are_touched(checkout, tmp_path):
    packaging.build_all(tmp_path / "first", root=checkout)
    first = _files(tmp_path / "first")
    assert f"glue-wheels/{WHEEL}" in first
    # new modification times and a new build folder must not leak into the artifacts
    for path in (checkout / "src").rglob("*"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
    packaging.build_all(tmp_path / "second", root=checkout)
    assert _files(tmp_path / "second") == first


def test_source_date_epoch_sets_the_archive_timestamps(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14T22:13:20Z
    packaging.build_all(tmp_path / "d", glue_wheels=False)
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
    assert (target / "ipeacast" / "core" / "schemas" / "final_monthly.json").is_file()
    assert (target / "ipeacast" / "etl" / "log4j2.properties").is_file()
    assert not (target / "ipeacast" / "deploy").exists()  # deployment tooling never ships
    assert (target / "bin" / "ipeacast").is_file()
    metadata = (target / "ipeacast-0.1.0.dist-info" / "METADATA").read_text()
    assert "Requires-Dist: pandas==2.2.3" in metadata
    assert 'Requires-Dist: scikit-learn==1.5.2; extra == "ml"' in metadata
    check = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import ipeacast.core.lake, sys; print(ipeacast.core.lake.__file__)",
        ],
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
import ipeacast.aws.publish  # the publish action's module
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
    assert "python -m ipeacast.deploy.packaging" in dockerfile
    for unwanted in ("pyspark", "[dev]", "[spark", "pytest"):
        assert unwanted not in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:4] == [
        "*",
        "!pyproject.toml",
        "!src/",
        "!docker/training-requirements.txt",
    ]
