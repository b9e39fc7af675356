"""The artifact keys Terraform points the Glue jobs at are the keys `ipeacast deploy` uploads.

Both sides read the same fixture: `infra/stack/tests/stack.tftest.hcl` asserts that the stack's
`artifact_keys` output equals `expected_artifact_keys.json`, and this test asserts that the
deploy tooling's `collect_artifacts` produces the same keys for the same files. A change of the
key formula on either side fails one of the two. The Glue jobs install only content-addressed wheels
(never a PyPI pin), and terraform-check.sh's one-init-per-directory is checked here too.
"""

import json
import os
import re
import subprocess
from pathlib import Path

from ipeacast.deploy.artifacts import collect_artifacts
from ipeacast.deploy.packaging import GLUE_WHEELS_FILE, read_pinned_wheels

FIXTURES = Path(__file__).resolve().parents[1] / "infra" / "stack" / "tests" / "fixtures"
# The stack's artifact roles and their files (local artifact_patterns, infra/stack/main.tf).
ROLE_FILES = {
    "wheel": "ipeacast-0.1.0-py3-none-any.whl",
    "lambda_zip": "lambda.zip",
    "extract": "extract.py",
    "transform": "transform.py",
    "load": "load.py",
}


def test_uploaded_keys_are_the_keys_terraform_expects():
    uploaded = {a.name: a.key for a in collect_artifacts(FIXTURES / "artifacts")}
    expected = json.loads((FIXTURES / "expected_artifact_keys.json").read_text())

    assert {role: uploaded[name] for role, name in ROLE_FILES.items()} == expected


def test_keys_change_when_the_content_changes(tmp_path):
    (tmp_path / "glue").mkdir()
    script = tmp_path / "glue" / "extract.py"
    script.write_text("# one\n")
    before = {a.name: a.key for a in collect_artifacts(tmp_path)}
    script.write_text("# two\n")
    after = {a.name: a.key for a in collect_artifacts(tmp_path)}

    assert before["extract.py"] != after["extract.py"]
    assert after["extract.py"].endswith("/extract.py")


def test_terraform_check_initialises_each_directory_once(tmp_path):
    # infra/bootstrap is both validated and tested: one data dir and one `init` for it. A fake
    # terraform records the calls (the real run is `make terraform-check`).
    root = Path(__file__).resolve().parents[1]
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    fake = bindir / "terraform"
    fake.write_text(f'#!/bin/sh\necho "data=$TF_DATA_DIR $*" >> "{log}"\n')
    fake.chmod(0o755)
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)

    result = subprocess.run(
        ["bash", "scripts/terraform-check.sh"],
        cwd=root,
        env={
            **os.environ,
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "TF_PLUGIN_MIRROR": str(mirror),
            "TF_CHECK_DIR": str(tmp_path / "work"),
        },
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    calls = [line.split() for line in log.read_text().splitlines()]
    inits = [c[1] for c in calls if c[2] == "init"]
    assert sorted(inits) == sorted(
        f"-chdir={d}"
        for d in ("infra/bootstrap", "environments/dev", "environments/prod", "infra/stack")
    )
    data_dirs = {c[1]: {x[0] for x in calls if x[1] == c[1]} for c in calls if c[1] != "fmt"}
    assert all(len(dirs) == 1 for dirs in data_dirs.values()), data_dirs
    tested = [c[1] for c in calls if c[2] == "test"]
    assert tested == ["-chdir=infra/stack", "-chdir=infra/bootstrap"]


def test_glue_installs_only_our_content_addressed_wheels_and_never_reaches_pypi():
    # The Glue module takes S3 keys of wheels, not PyPI requirements, and installs them with
    # --no-deps --no-index; the versions live in requirements/glue-wheels.txt (checked against
    # pyproject.toml by packaging), nowhere in Terraform.
    repo = Path(__file__).resolve().parents[1]
    glue = repo / "infra" / "modules" / "glue"
    main = (glue / "main.tf").read_text()
    assert '"--python-modules-installer-option"  = "--no-deps --no-index"' in main
    terraform = main + (glue / "variables.tf").read_text()
    terraform += (repo / "infra" / "stack" / "tests" / "stack.tftest.hcl").read_text()
    assert not re.findall(r"\b[A-Za-z][A-Za-z0-9_.-]*==\d", terraform), "a PyPI pin in Terraform"


def test_the_stack_fixture_glue_wheels_are_named_as_the_pins():
    # The stack test reads tests/fixtures/artifacts/glue-wheels/: stand-ins (like the other
    # fixtures: only their sha256 feeds the keys) named exactly as the pinned wheels.
    repo = Path(__file__).resolve().parents[1]
    pins = read_pinned_wheels(repo / GLUE_WHEELS_FILE)
    fixtures = {a.name for a in collect_artifacts(FIXTURES / "artifacts" / "glue-wheels")}

    assert sorted(fixtures) == sorted(f"{p.filename_prefix()}py3-none-any.whl" for p in pins)
