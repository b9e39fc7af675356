"""Installs come from hashed locks only, and never once AWS credentials are present.

The locks (`make lock`, scripts/lock.sh) agree with pyproject.toml and with each other; the
Makefile's install recipes refuse to run under IPEACAST_NO_INSTALL=1 (set by the CI login
action) and stay quiet when their stamps are up to date. The make runs use the real Makefile
with VENV in tmp_path, so they never touch the project's .venv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
TRAINING = ROOT / "docker" / "training-requirements.txt"
LOCKS = {
    "build": REQUIREMENTS / "build.lock",
    "dev": REQUIREMENTS / "dev.lock",
    "deploy": REQUIREMENTS / "deploy.lock",
    "awsglue": REQUIREMENTS / "awsglue.lock",
    "training": TRAINING,
}
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
GUARD = (
    "error: make {target} would install packages, but IPEACAST_NO_INSTALL=1 (AWS credentials are"
    " present): run make deploy-setup before the AWS login"
)


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """{name: (version, hashes)}; fails on any requirement that is not `name==version` + hashes."""
    locked: dict[str, tuple[str, frozenset[str]]] = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        pin = PIN.fullmatch(words[0])
        assert pin, f"{path.name}: not an exact pin: {line.strip()[:80]}"
        hashes = words[1:]
        assert hashes, f"{path.name}: {words[0]} has no hash"
        assert all(HASH.fullmatch(h) for h in hashes), f"{path.name}: {words[0]}: {hashes}"
        assert pin["name"] not in locked, f"{path.name}: {pin['name']} twice"
        locked[pin["name"]] = (pin["version"], frozenset(hashes))
    assert locked, f"{path.name} is empty"
    return locked


def pins(requirements: list[str]) -> dict[str, str]:
    out = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        if not name.startswith(PROJECT["project"]["name"]):
            out[normal(name.split("[")[0])] = version
    return out


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_requirement_of_a_lock_is_an_exact_pin_with_hashes(lock):
    read_lock(LOCKS[lock])


def test_the_project_pins_are_in_the_locks_at_those_versions():
    runtime = pins(PROJECT["project"]["dependencies"])
    extras = pins([r for rs in PROJECT["project"]["optional-dependencies"].values() for r in rs])
    dev, deploy = read_lock(LOCKS["dev"]), read_lock(LOCKS["deploy"])
    for name, version in {**runtime, **extras}.items():
        assert dev.get(name, ("missing",))[0] == version, f"dev.lock: {name} != {version}"
    for name, version in runtime.items():
        assert deploy.get(name, ("missing",))[0] == version, f"deploy.lock: {name} != {version}"
    assert not {"pyspark", "scikit-learn", "moto", "pytest"} & set(deploy)


def test_a_dev_install_holds_the_deploy_lock_exactly():
    dev = read_lock(LOCKS["dev"])
    for name, (version, hashes) in read_lock(LOCKS["deploy"]).items():
        assert dev[name] == (version, hashes), name


def test_the_image_installs_the_dev_locks_versions_and_hashes():
    dev = read_lock(LOCKS["dev"])
    training = read_lock(TRAINING)
    for name, (version, hashes) in training.items():
        assert name in dev, f"{name} is in the image but not in dev.lock"
        assert dev[name][0] == version, f"{name}: image {version} != dev.lock {dev[name][0]}"
        assert hashes <= dev[name][1], f"{name}: image hashes not in dev.lock"
    top = ["numpy", "pandas", "pyarrow", "scikit-learn", "skops"]
    listed = (REQUIREMENTS / "training.in").read_text().split("\n")
    assert [line for line in listed if line and not line.startswith("#")] == top
    project = pins(
        [*PROJECT["project"]["dependencies"], *PROJECT["project"]["optional-dependencies"]["ml"]]
    )
    assert {name: training[name][0] for name in top} == {name: project[name] for name in top}
    assert not {"boto3", "botocore", "requests", "ipeadatapy", "pyspark", "matplotlib"} & set(
        training
    )


def test_build_system_requires_are_the_build_locks_pins():
    build = read_lock(LOCKS["build"])
    requires = PROJECT["build-system"]["requires"]
    assert all(PIN.fullmatch(r) for r in requires), requires
    assert pins(requires) == {n: build[n][0] for n in ("setuptools", "wheel")}
    assert "pip" in build
    # whatever the dev closure needs of the build tools is the same file (moto wants setuptools)
    dev = read_lock(LOCKS["dev"])
    for name in set(build) & set(dev):
        assert dev[name] == build[name], name


def test_awsglue_lock_is_awsglue_dev_alone():
    assert set(read_lock(LOCKS["awsglue"])) == {"awsglue-dev"}


def test_dockerfile_installs_the_lock_with_hashes_then_the_wheel_without_deps():
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (run,) = [
        line
        for line in dockerfile.splitlines()
        if "training-requirements.txt" in line and line.startswith("RUN")
    ]
    first, second = [part.split() for part in run.split("&&")[:2]]
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(first)
    assert first[-2:] == ["-r", "/tmp/wheels/training-requirements.txt"]
    assert "--no-deps" in second and second[-1].endswith(".whl")


# --- the Makefile: locked installs, stamps keyed on the locks, and the IPEACAST_NO_INSTALL guard


def make(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    # no MAKEFLAGS/IPEACAST_NO_INSTALL from an outer `make pytest` or CI step leaks into the run
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "IPEACAST_NO_INSTALL", "VENV"}
    }
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stamps(venv: Path, goal: str, cwd: Path = ROOT) -> list[Path]:
    """The stamp files `make <goal>` would touch (read from its dry run)."""
    dry = make("-n", goal, f"VENV={venv}", cwd=cwd)
    assert dry.returncode == 0, dry.stderr
    (touch,) = [line for line in dry.stdout.splitlines() if line.startswith("touch ")]
    return [Path(p) for p in touch.split()[1:]]


@pytest.fixture
def venv(tmp_path):
    """VENV for the make runs: in tmp_path, and the project's .venv stamps untouched."""
    project_venv = ROOT / ".venv"
    before = {p.name: p.stat().st_mtime_ns for p in project_venv.glob(".installed-*")}
    path = tmp_path / "v"
    assert ROOT not in path.parents
    yield path
    assert {p.name: p.stat().st_mtime_ns for p in project_venv.glob(".installed-*")} == before


@pytest.mark.parametrize("goal", ["deploy-setup", "smoke", "setup", "lock"])
def test_an_install_under_ipeacast_no_install_fails_first_with_one_line(venv, goal):
    done = make(goal, f"VENV={venv}", "IPEACAST_NO_INSTALL=1")
    assert done.returncode != 0
    assert done.stderr.splitlines()[0] == GUARD.format(target=goal)
    assert done.stdout == ""
    assert not venv.exists()


def test_the_guard_reads_the_environment_too(venv):
    done = make("smoke", f"VENV={venv}", IPEACAST_NO_INSTALL="1")
    assert done.returncode != 0
    assert GUARD.format(target="smoke") in done.stderr
    assert not venv.exists()


def test_checkov_does_not_create_its_virtualenv_under_the_guard(tmp_path):
    checkov_venv = tmp_path / "checkov"
    done = make("checkov", "IPEACAST_NO_INSTALL=1", CHECKOV_VENV=str(checkov_venv))
    assert done.returncode != 0
    assert done.stderr.splitlines()[0] == GUARD.format(target="checkov")
    assert not checkov_venv.exists()


def test_with_up_to_date_stamps_the_deploy_verbs_run_under_the_guard(venv):
    (deploy_stamp,) = stamps(venv, "deploy-setup")
    venv.mkdir()
    deploy_stamp.touch()
    quiet = make("deploy-setup", f"VENV={venv}", "IPEACAST_NO_INSTALL=1")
    assert quiet.returncode == 0, quiet.stderr
    dry = make("-n", "smoke", f"VENV={venv}", "IPEACAST_NO_INSTALL=1")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [f"{venv}/bin/ipeacast deploy smoke dev"]
    assert list(venv.iterdir()) == [deploy_stamp]


def test_a_dev_install_serves_the_deploy_verbs_without_installing(venv):
    dev_stamp, deploy_stamp = stamps(venv, "setup")
    venv.mkdir()
    dev_stamp.touch()
    done = make("deploy-setup", f"VENV={venv}", "IPEACAST_NO_INSTALL=1")
    assert done.returncode == 0, done.stderr
    assert deploy_stamp.is_file()
    assert sorted(p.name for p in venv.iterdir()) == sorted([dev_stamp.name, deploy_stamp.name])


def test_a_changed_lock_changes_the_stamps(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy2(ROOT / name, checkout / name)
    shutil.copytree(REQUIREMENTS, checkout / "requirements")
    venv = tmp_path / "v"
    dev, deploy = stamps(venv, "setup", cwd=checkout)
    for lock, expected in {"dev": {0}, "deploy": {1}, "build": {0, 1}}.items():
        path = checkout / "requirements" / f"{lock}.lock"
        original = path.read_text()
        path.write_text(original + "# changed\n")
        after = stamps(venv, "setup", cwd=checkout)
        path.write_text(original)
        assert {
            i for i, (a, b) in enumerate(zip(after, (dev, deploy), strict=True)) if a != b
        } == expected, lock
