"""The artifact keys Terraform points the Glue jobs at are the keys `ipeacast deploy` uploads.

Both sides read the same fixture: `infra/stack/tests/stack.tftest.hcl` asserts that the stack's
`artifact_keys` output equals `expected_artifact_keys.json`, and this test asserts that
`ipeacast.deploy.collect_artifacts` produces the same keys for the same files. A change of the key
formula on either side fails one of the two.
"""

import json
from pathlib import Path

from ipeacast.deploy import collect_artifacts

FIXTURES = Path(__file__).resolve().parents[1] / "infra" / "stack" / "tests" / "fixtures"
# The stack's artifact roles and the file each one is (local artifact_patterns in infra/stack/main.tf).
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
