"""Step Functions executions: the input of a run or smoke run, starting one, waiting for it,
and where and why it failed (from its history)."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_SERIES, RUN_FIELDS, SMOKE_LAKE_PREFIX, Run
from ipeacast.deploy.clients import (
    DeployError,
    SmokeFailed,
    client,
    client_region,
    error_code,
    reraise,
)

log = logging.getLogger(__name__)

# A smoke run reads and writes only under <lake>/smoke/ (expired by an S3 lifecycle rule), so it
# never replaces a real final/, models/ or predictions/ partition; its run id says so too.
SMOKE_RUN_ID_PREFIX = "smoke-"
_EXECUTION_NAME_RE = re.compile(r"[^A-Za-z0-9_-]")
# Execution history events whose details say why a state or the execution failed.
_FAILURE_DETAIL_KEYS = (
    "taskFailedEventDetails",
    "taskTimedOutEventDetails",
    "taskStartFailedEventDetails",
    "taskSubmitFailedEventDetails",
    "lambdaFunctionFailedEventDetails",
    "lambdaFunctionTimedOutEventDetails",
    "lambdaFunctionStartFailedEventDetails",
    "lambdaFunctionScheduleFailedEventDetails",
    "activityFailedEventDetails",
    "activityTimedOutEventDetails",
    "executionFailedEventDetails",
    "executionTimedOutEventDetails",
    "executionAbortedEventDetails",
)


@dataclass(frozen=True)
class Failure:
    """Where and why an execution failed, read from its history."""

    state: str | None
    error: str | None
    cause: str | None

    def describe(self) -> str:
        cause = (self.cause or "").strip()
        if len(cause) > 2000:
            cause = cause[:2000] + "... (truncated)"
        return (
            f"failed state: {self.state or '(unknown)'}; error: {self.error or '(none)'}; "
            f"cause: {cause or '(none)'}"
        )


@dataclass(frozen=True)
class ExecutionResult:
    arn: str
    status: str
    seconds: float
    output: Any = None
    failure: Failure | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def run_input(
    series: str = DEFAULT_SERIES,
    run_date: date | None = None,
    run_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The execution input of a run: the run's fields (`Run.to_input`) and any `extra` fields.

    Run fields in `extra` (e.g. `lake_prefix` from --input-json) are part of the run and checked
    with the run's rules; the defaults are the run's own (ipeacast.core.run).
    """
    extra = dict(extra or {})
    fields = {"series": series, "run_id": run_id, "run_date": run_date and run_date.isoformat()}
    fields.update({k: extra.pop(k) for k in (*RUN_FIELDS, "lake_prefix") if k in extra})
    run = Run.from_input({k: v for k, v in fields.items() if v is not None}, lake_root="")
    return {**extra, **run.to_input()}


def smoke_input(
    series: str = DEFAULT_SERIES,
    run_date: date | None = None,
    run_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The execution input of a smoke run: lake_prefix "smoke" and a `smoke-...` run id.

    Every step then reads and writes `<lake>/smoke/...`, never the real partitions of the run
    date; a run id without the `smoke-` prefix gets it. `extra` may not change lake_prefix.
    """
    extra = dict(extra or {})
    if extra.get("lake_prefix", SMOKE_LAKE_PREFIX) != SMOKE_LAKE_PREFIX:
        raise ConfigError(
            f"a smoke run always uses lake_prefix {SMOKE_LAKE_PREFIX!r}, not "
            f"{extra['lake_prefix']!r}: it must not write the real partitions"
        )
    extra["lake_prefix"] = SMOKE_LAKE_PREFIX
    payload = run_input(series, run_date, run_id, extra)
    if not payload["run_id"].startswith(SMOKE_RUN_ID_PREFIX):
        payload = run_input(series, run_date, SMOKE_RUN_ID_PREFIX + payload["run_id"], extra)
    return payload


def execution_name(run_id: str, unique: bool = False) -> str:
    """A valid Step Functions execution name (<= 80 chars) for a run id.

    With `unique`, a UTC timestamp and random suffix are appended, so the same run id can be
    started again (Step Functions refuses a name already used by a closed execution for 90 days).
    """
    base = _EXECUTION_NAME_RE.sub("-", run_id)
    if not base:
        raise ConfigError(f"run id {run_id!r} gives an empty execution name")
    if not unique:
        return base[:80]
    suffix = f"-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.urandom(3).hex()}"
    return base[: 80 - len(suffix)] + suffix


def resolve_state_machine(sfn: Any, name_or_arn: str) -> str:
    """Accept a state machine ARN or its name."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    paginator = sfn.get_paginator("list_state_machines")
    for page in paginator.paginate():
        for machine in page.get("stateMachines", []):
            if machine["name"] == name_or_arn:
                return str(machine["stateMachineArn"])
    raise ConfigError(
        f"state machine {name_or_arn!r} not found in region {client_region(sfn)}: check the "
        "environment and region, or pass its ARN"
    )


def failure_from_history(events: Iterable[Mapping[str, Any]]) -> Failure:
    """The state that failed and the error/cause, from `GetExecutionHistory` events.

    The state is the one that was running when the last task-level failure happened (the attempt
    that exhausted its retries and was caught); without one, the last state entered before the
    execution failed (e.g. a Fail state reached by a Choice), with the execution's error/cause.
    """
    state: str | None = None
    last_task: Failure | None = None
    final: Failure | None = None
    for event in sorted(events, key=lambda e: e.get("id", 0)):
        if str(event.get("type", "")).endswith("StateEntered"):
            state = event.get("stateEnteredEventDetails", {}).get("name")
        for key in _FAILURE_DETAIL_KEYS:
            details = event.get(key)
            if details is None:
                continue
            failure = Failure(state=state, error=details.get("error"), cause=details.get("cause"))
            if key.startswith("execution"):
                final = failure
            else:
                last_task = failure
    return last_task or final or Failure(state=state, error=None, cause=None)


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    paginator = sfn.get_paginator("get_execution_history")
    for page in paginator.paginate(executionArn=arn):
        events.extend(page.get("events", []))
    return events


def wait_for_execution(
    sfn: Any,
    arn: str,
    *,
    timeout: float = 1800,
    poll: float = 10,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExecutionResult:
    """Poll until the execution ends; on timeout raise DeployError (the execution keeps running)."""
    start = clock()
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        status = str(desc["status"])
        elapsed = clock() - start
        if status != "RUNNING" and status != "PENDING_REDRIVE":
            output = desc.get("output")
            failure = None
            if status != "SUCCEEDED":
                failure = failure_from_history(execution_history(sfn, arn))
                if failure.error is None and desc.get("error"):
                    failure = Failure(failure.state, desc.get("error"), desc.get("cause"))
            return ExecutionResult(
                arn=arn,
                status=status,
                seconds=round(elapsed, 1),
                output=json.loads(output) if output else None,
                failure=failure,
            )
        if elapsed >= timeout:
            raise DeployError(
                f"execution {arn} still {status} after {timeout:.0f}s: it keeps running; "
                "inspect it in the Step Functions console or raise --timeout"
            )
        sleep(min(poll, max(timeout - elapsed, 0.05)))


def start_execution(
    state_machine: str,
    payload: Mapping[str, Any],
    *,
    sfn: Any = None,
    region: str | None = None,
) -> str:
    """Start one execution named after the run id (plus a unique suffix); returns its ARN."""
    from botocore.exceptions import BotoCoreError, ClientError

    sfn = sfn or client("stepfunctions", region)
    try:
        arn = resolve_state_machine(sfn, state_machine)
        name = execution_name(str(payload.get("run_id") or "run"), unique=True)
        response = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    except ClientError as exc:
        if error_code(exc) == "StateMachineDoesNotExist":
            raise ConfigError(
                f"state machine {state_machine!r} does not exist in region {client_region(sfn)}"
            ) from exc
        reraise(exc, f"state machine {state_machine!r}")
    except BotoCoreError as exc:
        reraise(exc, f"state machine {state_machine!r}")
    log.info("started %s with input %s", response["executionArn"], json.dumps(payload))
    return str(response["executionArn"])


def run_and_wait(
    state_machine: str,
    payload: Mapping[str, Any],
    *,
    sfn: Any = None,
    region: str | None = None,
    timeout: float = 1800,
    poll: float = 10,
) -> ExecutionResult:
    """Start an execution and wait for it; raise SmokeFailed with the failed state and cause."""
    sfn = sfn or client("stepfunctions", region)
    arn = start_execution(state_machine, payload, sfn=sfn)
    result = wait_for_execution(sfn, arn, timeout=timeout, poll=poll)
    if not result.succeeded:
        detail = result.failure.describe() if result.failure else "no failure details"
        raise SmokeFailed(f"execution {arn} ended {result.status} — {detail}", result)
    return result
