"""One rule for a run's execution input, applied twice: by Python (`Run.from_input`, which the
deploy CLI uses before it starts an execution) and by the state machine Terraform deploys (its
ResolveRun .. CheckLakePrefix states, executed here by moto). One table of examples goes through
both; they must accept the same inputs and, from the same start time, derive the same run."""

import json
import re
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support import moto_patches
from support.state_machine import RUN_STATES, TEMPLATE_VARIABLES, render_definition

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import LAKE_PREFIXES, Run

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/ipeacast-test-sfn"
TABLE = [
    # defaults: run date and run id from the start time, the real lake
    {"series": "S1"},
    {"series": "S1", "lake_prefix": ""},
    {"series": "S1", "lake_prefix": "smoke"},
    {"series": "S1", "run_id": "r-1", "run_date": "2026-01-31"},
    {"series": "S1", "run_id": "smoke-abc-1", "lake_prefix": "smoke"},
    {"series": "S1", "run_date": "2025-12-31"},  # explicit date, id still from the start time
    {"series": "S1", "other": "ignored"},
    # the prefix rule: the lake or the smoke folder, nothing else
    {"series": "S1", "lake_prefix": "../prod"},
    {"series": "S1", "lake_prefix": "SMOKE"},
    {"series": "S1", "lake_prefix": "smoke/"},
    {"series": "S1", "lake_prefix": "team"},
    {"series": "S1", "lake_prefix": None},
    {"series": "S1", "lake_prefix": 3},
    # the series is required, as a non-empty string
    {},
    {"series": ""},
    {"series": None},
    {"series": 5},
    # run id and date, when given, are strings
    {"series": "S1", "run_id": 7},
    {"series": "S1", "run_date": None},
]


def _python(execution_input: dict, start) -> dict | None:
    try:
        return Run.from_input(execution_input, now=start).to_input()
    except ConfigError:
        return None


@pytest.fixture(scope="module")
def machine():
    # the deployed definition's run states; its first step (Extract) becomes "accepted"
    states = render_definition(dict.fromkeys(TEMPLATE_VARIABLES, "x"))["States"]
    definition = {
        "StartAt": RUN_STATES[0],
        "States": {
            **{name: states[name] for name in RUN_STATES},
            "Extract": {"Type": "Succeed"},
            "RejectInput": {"Type": "Fail", "Error": "Rejected"},
        },
    }
    config = {"stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config), moto_patches.patched():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="run-contract", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        yield sfn, arn


def _state_machine(sfn, arn: str, name: str, execution_input: dict):
    execution = sfn.start_execution(
        stateMachineArn=arn, name=name, input=json.dumps(execution_input)
    )["executionArn"]
    deadline = time.monotonic() + 30
    while (desc := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{name} did not finish"
        time.sleep(0.02)
    run = json.loads(desc["output"])["run"] if desc["status"] == "SUCCEEDED" else None
    return desc["startDate"], run


def test_python_and_the_state_machine_accept_the_same_inputs_and_derive_the_same_run(
    machine, monkeypatch
):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    sfn, arn = machine
    differences = []
    for i, execution_input in enumerate(TABLE):
        start, from_state_machine = _state_machine(sfn, arn, f"case-{i}", execution_input)
        from_python = _python(execution_input, start)
        if from_python != from_state_machine:
            differences.append((execution_input, from_python, from_state_machine))
    assert not differences, "\n".join(
        f"{i!r}: python {p}, state machine {s}"
        for i, s, p in [(d[0], d[2], d[1]) for d in differences]
    )
    accepted = sum(_python(row, None) is not None for row in TABLE)
    assert 0 < accepted < len(TABLE)  # the table has both verdicts


def test_the_roles_reach_exactly_the_lake_prefixes_a_run_may_use():
    # infra/stack/main.tf grants each role its zones under every root in `lake_roots`.
    main = (Path(__file__).resolve().parents[1] / "infra" / "stack" / "main.tf").read_text()
    found = re.search(r"^\s*lake_roots\s*=\s*\[([^\]]*)\]", main, re.M)
    assert found, "lake_roots not found in infra/stack/main.tf"
    roots = [json.loads(item) for item in found.group(1).split(",") if item.strip()]
    assert [root.rstrip("/") for root in roots] == list(LAKE_PREFIXES)
