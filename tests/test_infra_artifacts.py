"""The artifact keys Terraform points the Glue jobs at are the keys `ipeacast deploy` uploads.

Both sides read the same fixture: `infra/stack/tests/stack.tftest.hcl` asserts that the stack's
`artifact_keys` output equals `expected_artifact_keys.json`, and this test asserts that
`ipeacast.deploy.collect_artifacts` produces the same keys for the same files. A change of the key
formula on either side fails one of the two. The Glue module's Python module pins are checked
against pyproject.toml the same way, and terraform-check.sh's one-init-per-directory here too.
"""

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

from ipeacast.deploy import collect_artifacts

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


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        name, sep, version = req.partition("==")
        assert sep and version, f"'{req}' is not an exact pin (name==version)"
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_glue_python_modules_are_pinned_as_in_pyproject():
    # Glue installs these next to the wheel with --no-deps, so their pins must be pyproject's:
    # the versions the tests and the training image run with.
    repo = Path(__file__).resolve().parents[1]
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    declared = _pins([d for d in project["dependencies"] if "==" in d])
    variables = (repo / "infra" / "modules" / "glue" / "variables.tf").read_text()
    block = re.search(
        r'variable "additional_python_modules" \{.*?\n  default\s*=\s*\[(?P<items>[^\]]*)\]',
        variables,
        re.S,
    )
    assert block, (
        "default of additional_python_modules not found in infra/modules/glue/variables.tf"
    )
    glue = _pins(re.findall(r'"([^"]+)"', block["items"]))

    assert glue, "the Glue module installs no Python module: is the default list empty?"
    for name, version in glue.items():
        assert name in declared, f"Glue installs {name}, which pyproject.toml does not pin"
        assert version == declared[name], (
            f"Glue pins {name}=={version}, pyproject.toml pins {name}=={declared[name]}"
        )
    # The stack test spells the resulting --additional-python-modules out: the same pins.
    stack_test = (repo / "infra" / "stack" / "tests" / "stack.tftest.hcl").read_text()
    for name, version in glue.items():
        found = set(re.findall(rf"\b{re.escape(name)}==([A-Za-z0-9_.+-]+)", stack_test))
        assert found == {version}, f"infra/stack/tests/stack.tftest.hcl pins {name} as {found}"
