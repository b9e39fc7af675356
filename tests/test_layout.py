"""The package's layout rules (import-linter contracts in pyproject.toml): they hold on the tree,
and they break when code crosses a runtime boundary, so `make lint` would catch it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(src: Path) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.is_file():
        pytest.fail(f"{LINT_IMPORTS} not found: make setup installs import-linter")
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=src.parent,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "ipeacast", src / "ipeacast", ignore=shutil.ignore_patterns("__pycache__")
    )
    return src


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract(tree):
    done = _lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("aws/publish.py", "import pandas", "The Lambda zip (core, aws)"),
        ("core/lake.py", "from ipeacast.ml import model", "The runtimes sit on the core"),
        ("aws/training_job.py", "from ipeacast.ml import trainer", "The runtimes sit on the core"),
        ("ml/forecast.py", "from ipeacast.deploy import packaging", "Only the CLI reaches"),
        ("ml/model.py", "import boto3", "The training container needs"),
        ("etl/transform.py", "import sklearn", "The Glue jobs' code"),
    ],
)
def test_crossing_a_runtime_boundary_breaks_a_contract(tree, module, line, contract):
    _append(tree / "ipeacast" / module, line)
    done = _lint_imports(tree)
    assert done.returncode != 0
    broken = [ln for ln in done.stdout.splitlines() if ln.rstrip().endswith("BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), done.stdout
