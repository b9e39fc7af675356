"""The AWS resources the state machine calls, created in moto (state machine and deploy tests).

One IAM role, the three Glue jobs, the two Lambda functions (the real handler, run in-process by
tests/moto_patches.py) and the failure topic, all named `<prefix>-...`; returns the template
variables the definition is rendered with.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(ROOT / "src" / "lambda" / "handler.py", "handler.py")
    return buf.getvalue()


@dataclass(frozen=True)
class Stack:
    role_arn: str
    variables: dict[str, str]
    create_function: Callable[[str, Mapping[str, str]], str]  # (name, environment) -> ARN


def create_stack(
    client: Callable[[str], Any], prefix: str, bucket: str, lambda_env: Mapping[str, str]
) -> Stack:
    """Create the resources with `client(service)`; the bucket must exist already."""
    role = client("iam").create_role(RoleName=prefix, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    glue = client("glue")
    for step in ("extract", "transform", "load"):
        glue.create_job(
            Name=f"{prefix}-{step}",
            Role=role,
            Command={"Name": "glueetl", "ScriptLocation": f"s3://{bucket}/artifacts/{step}.py"},
            ExecutionProperty={"MaxConcurrentRuns": 1},
        )
    lam = client("lambda")

    def create_function(name: str, env: Mapping[str, str]) -> str:
        return lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": lambda_zip()},
            Environment={"Variables": dict(env)},
        )["FunctionArn"]

    variables = {
        "glue_job_extract": f"{prefix}-extract",
        "glue_job_transform": f"{prefix}-transform",
        "glue_job_load": f"{prefix}-load",
        "prepare_training_lambda_arn": create_function(f"{prefix}-prepare-training", lambda_env),
        "publish_lambda_arn": create_function(f"{prefix}-publish", {"LAKE_BUCKET": bucket}),
        "failure_topic_arn": client("sns").create_topic(Name=f"{prefix}-failures")["TopicArn"],
    }
    return Stack(role, variables, create_function)
