"""The stack Terraform created, recreated in moto for the state machine tests (one source of truth).

The deploy rehearsal applies `environments/dev` to the emulator and exports Terraform's state
(`terraform show -json`) as `stack.json`. `Stack.from_state` reads what the state machine calls
from it (the Glue jobs with their DefaultArguments, the Lambda function with its handler and
environment, the failure topic, the state machine with the definition exactly as Terraform
rendered it, the roles they use, the lake bucket) and `create` makes the same resources, with
the same names and so the same ARNs (moto's account and region), in an in-process moto, the
Lambda from the built `dist/lambda.zip`. Nothing here restates the configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _resources(module: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


@dataclass(frozen=True)
class Stack:
    state: dict[str, Any]

    @classmethod
    def from_file(cls, path: Path) -> Stack:
        return cls(json.loads(path.read_text()))

    def of_type(self, kind: str, mode: str = "managed") -> list[dict[str, Any]]:
        root = self.state["values"]["root_module"]
        return [r["values"] for r in _resources(root) if r["type"] == kind and r["mode"] == mode]

    def output(self, name: str) -> Any:
        return self.state["values"]["outputs"][name]["value"]

    @property
    def bucket(self) -> str:
        return self.output("lake_bucket")

    @property
    def glue_jobs(self) -> dict[str, str]:
        """Job name by step: {"extract": ..., "transform": ..., "load": ...}."""
        return self.output("glue_job_names")

    @property
    def function(self) -> dict[str, Any]:
        (function,) = self.of_type("aws_lambda_function")
        return function

    @property
    def lambda_env(self) -> dict[str, str]:
        return dict(self.function["environment"][0]["variables"])

    @property
    def machine(self) -> dict[str, Any]:
        (machine,) = self.of_type("aws_sfn_state_machine")
        return machine

    @property
    def topic_arn(self) -> str:
        (topic,) = self.of_type("aws_sns_topic")
        return topic["arn"]

    def create(self, client: Callable[[str], Any], lambda_zip: bytes) -> str:
        """Create the resources the state machine calls; returns the state machine's ARN."""
        iam = client("iam")
        # The roles are infra/bootstrap's; the stack reads them (data sources) and writes their
        # policies.
        for role in self.of_type("aws_iam_role", mode="data"):
            iam.create_role(
                RoleName=role["name"],
                Path=role.get("path") or "/",
                AssumeRolePolicyDocument=role["assume_role_policy"],
            )
        client("s3").create_bucket(Bucket=self.bucket)
        glue = client("glue")
        for job in self.of_type("aws_glue_job"):
            (command,) = job["command"]
            glue.create_job(
                Name=job["name"],
                Role=job["role_arn"],
                Command={
                    "Name": command["name"],
                    "ScriptLocation": command["script_location"],
                    "PythonVersion": command["python_version"],
                },
                DefaultArguments=job["default_arguments"],
                ExecutionProperty={
                    "MaxConcurrentRuns": job["execution_property"][0]["max_concurrent_runs"]
                },
                GlueVersion=job["glue_version"],
                Timeout=job["timeout"],
            )
        function = self.function
        client("lambda").create_function(
            FunctionName=function["function_name"],
            Runtime=function["runtime"],
            Role=function["role"],
            Handler=function["handler"],
            Code={"ZipFile": lambda_zip},
            Environment={"Variables": self.lambda_env},
            Timeout=function["timeout"],
            MemorySize=function["memory_size"],
        )
        for topic in self.of_type("aws_sns_topic"):
            client("sns").create_topic(Name=topic["name"])
        machine = self.machine
        return client("stepfunctions").create_state_machine(
            name=machine["name"], definition=machine["definition"], roleArn=machine["role_arn"]
        )["stateMachineArn"]
