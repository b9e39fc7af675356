"""Every change we make to moto 5.2.1, in one place: the state machine runs end to end in-process.

moto executes Step Functions definitions with its ASL interpreter (`execute_state_machine`), but
three integrations we use do not work there as shipped:

1. Glue `startJobRun.sync` crashes: `StateTaskServiceCallback._eval_integration_pattern` calls
   `callback_endpoint.interrupt_all()` in a `finally` block, and the endpoint is None for services
   that do not support `.waitForTaskToken` (Glue). We recompile that one method with the call
   guarded (`if callback_endpoint is not None`), nothing else changed.
2. SageMaker `createTrainingJob.sync` is refused: "sagemaker" is in the interpreter's list of
   unsupported services, which only allow `.waitForTaskToken`. We add a small service class that
   calls moto's SageMaker backend and polls `DescribeTrainingJob` until a terminal status, like
   the Glue integration does. moto marks every training job "Completed" at once; a test can
   decide the outcome (and write the model artifact) deterministically with `on_training`.
3. Lambda code only runs in Docker. We replace `LambdaFunction.invoke` so that the function's
   handler (`module.function` from its configuration) is loaded from the function's own zip and
   called in-process, with the function's environment variables set for the call, returning
   what Lambda returns (the JSON result, or an `Unhandled` error payload). The deploy rehearsal
   sets `Patched.lambda_runner` instead, which runs the whole zip in a process of its own.

4. The context object's `$$.Execution.StartTime` is a Python datetime in moto; AWS gives an ISO
   8601 string (`2026-11-26T10:00:01.123Z`), which our template splits. We convert it to that
   string when the execution's environment is built.

5. Choice `StringMatches` uses `fnmatch` in moto, where `?` and `[...]` are wildcards; the ASL
   specification (and AWS) treat only `*` as special (`\\*` and `\\\\` escape). A pattern such as
   `"?*"` passes in moto and never matches on AWS, so we evaluate it as AWS does.

6. `StartExecution` deep-copies the state machine, and through its backend every earlier
   execution with its interpreter environment, which holds a `threading.RLock`: a second execution
   in the same moto session crashes ("cannot pickle '_thread.RLock' object"). A finished
   execution is shared by the copy instead of copied (`Execution.__deepcopy__` returns itself).

Three more make a moto *server* usable as the target of `terraform apply` (the deploy rehearsal):

7. `ValidateStateMachineDefinition` is not served (the AWS provider calls it before creating a
   state machine, and retries until the plugin times out). We add the action to moto's Step
   Functions responses, answering with moto's own ASL parser and static analyser (what moto
   5.2.5's parser provider does).
8. `ListStateMachineVersions` is not served either (the provider reads it after every create and
   refresh). We answer from the backend's own record of published versions.
9. S3 `PutBucketLogging` checks the target bucket's policy and crashes
   (`'str' object has no attribute 'get'`) on a statement whose `Principal` is the string `"*"`
   (our DenyInsecureTransport), and then wants the grant's Resource to equal
   `<bucket>/<prefix>*` exactly, where S3 accepts any resource pattern that covers the prefix
   (ours: `s3-access/*` for the prefix `s3-access/<lake>/`). We check as S3 does: an Allow of
   s3:PutObject to the logging service on a resource matching the target prefix.

11. S3 evaluates bucket policies without the request's context and takes a condition operator it
    does not know (`Bool`) as satisfied, so our DenyInsecureTransport
    (`Bool aws:SecureTransport = false`) denies every request. The emulator stands for AWS's TLS
    endpoints: we evaluate `aws:SecureTransport` as true ourselves. (The statement itself is
    asserted by the Terraform tests and checkov.)

12. Deleting a key of a bucket whose versioning is suspended pops every version of the key and
    calls `dispose()` on each; a delete marker has no `dispose`, so emptying such a bucket (what
    `force_destroy` does on `terraform destroy`) crashes. We give delete markers a no-op one.

13. Lambda functions drop `KMSKeyArn` and `LoggingConfig`: GetFunction returns neither, so every
    plan after an apply wants to set them again (a perpetual diff in the rehearsal's second
    plan). We keep both from CreateFunction / UpdateFunctionConfiguration and return them, with
    AWS's default logging configuration (Text, `/aws/lambda/<name>`) when none was given.

14. IAM Access Analyzer is not emulated at all (no `moto.accessanalyzer`): the bootstrap root's
    `aws_accessanalyzer_analyzer` cannot apply. The moto *server* routes a request by the service
    of its SigV4 credential scope; we route `access-analyzer` to a small app of our own that keeps
    analyzers in `Patched.analyzers` and answers what the AWS provider and `ListAnalyzers` call:
    CreateAnalyzer, GetAnalyzer, ListAnalyzers, DeleteAnalyzer, TagResource, UntagResource,
    ListTagsForResource (server mode only: nothing in-process calls Access Analyzer).

And one that makes Glue job runs real when a runner is given (`Patched.glue_runner`):

10. `FakeJob.start_job_run` records the run and reports it SUCCEEDED at once. With a runner, the
    run stays RUNNING while the runner executes it in a thread, then ends SUCCEEDED or FAILED
    with the runner's error message and execution time.

Retry back-off sleeps of the interpreter are recorded instead of slept (`Patched.retry_sleeps`),
so retries with real production intervals run instantly and their back-off can be asserted.

`check_targets()` verifies that each patched internal is still what we patch; the
test in `test_moto_patches.py` calls it, so a moto upgrade that changes them fails loudly.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import importlib
import importlib.util
import inspect
import io
import json
import os
import re
import textwrap
import threading
import time
import traceback
import types
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import moto
from moto import backend_index
from moto.awslambda import models as lambda_models
from moto.glue import models as glue_models
from moto.iam.models import get_account_id_from
from moto.moto_server import werkzeug_app
from moto.s3 import models as s3_models
from moto.sagemaker import models as sagemaker_models
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser import models as sfn_parser_models
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_module,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_factory as factory_module,
)
from moto.stepfunctions.parser.backend import execution as execution_module
from moto.stepfunctions.parser.backend import execution_worker
from werkzeug.wrappers import Request, Response

MOTO_VERSION = "5.2.1"

string_operators = importlib.import_module(
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations"
    ".string_operators"
)

_BUGGY_LINE = "            callback_endpoint.interrupt_all()\n"
_FIXED_LINES = (
    "            if callback_endpoint is not None:\n"
    "                callback_endpoint.interrupt_all()\n"
)

# Patch 14: the SigV4 signing name of IAM Access Analyzer, and the credential scope of a request.
ACCESS_ANALYZER = "access-analyzer"
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# A training outcome hook: gets the CreateTrainingJob request, returns None for "Completed" or a
# failure reason for "Failed". It may write the model artifact to (moto) S3 first.
TrainingHook = Callable[[dict[str, Any]], str | None]


@dataclass
class Patched:
    """What the patched moto saw; tests assert on it."""

    retry_sleeps: list[float] = field(default_factory=list)
    lambda_events: list[dict[str, Any]] = field(default_factory=list)
    training_requests: list[dict[str, Any]] = field(default_factory=list)
    on_training: TrainingHook | None = None
    # (function, event, environment) -> (payload, failed): runs a Lambda outside this process
    # (job, run) -> error message or None: executes a Glue job run (patch 10)
    glue_runner: Callable[[Any, Any], str | None] | None = None
    lambda_runner: Callable[[Any, dict[str, Any], dict[str, str]], tuple[bytes, bool]] | None = None
    # Access Analyzer analyzers by ARN (patch 14): the AnalyzerSummary AWS returns
    analyzers: dict[str, dict[str, Any]] = field(default_factory=dict)


_CURRENT: Patched | None = None
_LOCK = threading.RLock()  # one in-process invocation at a time: it changes os.environ


def check_targets() -> list[str]:
    """Problems with the moto internals we patch (empty when every patch still applies)."""
    problems: list[str] = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(f"moto is {moto.__version__}, the patches were written for {MOTO_VERSION}")
    source = inspect.getsource(callback_module.StateTaskServiceCallback._eval_integration_pattern)
    if source.count(_BUGGY_LINE) != 1:
        problems.append(
            "Glue .sync: StateTaskServiceCallback._eval_integration_pattern no longer has the "
            "unguarded 'callback_endpoint.interrupt_all()' (moto may have fixed it: drop patch 1)"
        )
    if "callback_endpoint: CallbackEndpoint | None = None" not in source or "super()" in source:
        problems.append("Glue .sync: _eval_integration_pattern changed shape; review patch 1")
    if "sagemaker" not in factory_module._UNSUPPORTED_SERVICE_NAMES:
        problems.append(
            "SageMaker .sync: 'sagemaker' is no longer an unsupported service in moto's "
            "interpreter (moto may support it now: drop patch 2)"
        )
    if getattr(state_task_factory, "state_task_service_for", None) is not (
        factory_module.state_task_service_for
    ):
        problems.append("SageMaker .sync: state_task_factory no longer uses state_task_service_for")
    if not hasattr(sagemaker_models, "sagemaker_backends") or "training_job_status" not in (
        inspect.getsource(sagemaker_models.FakeTrainingJob.__init__)
    ):
        problems.append("SageMaker .sync: FakeTrainingJob no longer has training_job_status")
    params = list(inspect.signature(lambda_models.LambdaFunction.invoke).parameters)
    if params != ["self", "body", "request_headers", "response_headers"]:
        problems.append(f"Lambda: LambdaFunction.invoke signature changed to {params}")
    if "_invoke_lambda" not in inspect.getsource(lambda_models.LambdaFunction.invoke):
        problems.append("Lambda: LambdaFunction.invoke no longer runs code via _invoke_lambda")
    env_source = inspect.getsource(execution_worker.ExecutionWorker._get_evaluation_environment)
    if "StartTime=self._evaluation_details.execution_details.start_time" not in env_source:
        problems.append("StartTime: ExecutionWorker no longer sets StartTime from start_time")
    start_source = inspect.getsource(sfn_parser_models.StepFunctionsParserBackend.start_execution)
    if "copy.deepcopy(state_machine)" not in start_source:
        problems.append("Executions: start_execution no longer deep-copies the state machine")
    if hasattr(execution_module.Execution, "__deepcopy__"):
        problems.append("Executions: moto's Execution defines __deepcopy__ now; drop patch 6")
    matches = inspect.getsource(string_operators.StringMatches._compare)
    if "fnmatch.fnmatch(variable, comparison_value)" not in matches:
        problems.append("StringMatches: moto no longer compares with fnmatch; review patch 5")
    if "time.sleep(interval_seconds)" not in inspect.getsource(retrier_decl.RetrierDecl):
        problems.append("Retry: RetrierDecl no longer sleeps with time.sleep(interval_seconds)")
    for action in ("validate_state_machine_definition", "list_state_machine_versions"):
        if hasattr(sfn_responses.StepFunctionResponse, action):
            problems.append(f"Server: moto serves {action} now; drop patch 7/8")
    if not hasattr(sfn_parser_models.StepFunctionsParserBackend, "describe_state_machine"):
        problems.append("Server: the parser backend has no describe_state_machine (patch 8)")
    logging_source = inspect.getsource(s3_models.FakeBucket._log_permissions_enabled_policy)
    if 'stmt.get("Principal", {}).get("Service")' not in logging_source or not hasattr(
        s3_models, "LOGGING_SERVICE_PRINCIPAL"
    ):
        problems.append("S3 logging: the Principal check changed; review patch 9")
    permission = inspect.getsource(s3_models.FakeBucket.get_permission)
    if "iam_policy.is_action_permitted(action, resource)" not in permission:
        problems.append("S3 policy: FakeBucket.get_permission changed; review patch 11")
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    if "Bool" in CONDITION_OPERATIONS:
        problems.append("S3 policy: moto evaluates Bool conditions now; review patch 11")
    configuration = inspect.getsource(lambda_models.LambdaFunction.get_configuration)
    if "KMSKeyArn" in configuration or "LoggingConfig" in configuration:
        problems.append("Lambda: moto returns KMSKeyArn/LoggingConfig now; drop patch 13")
    init = list(inspect.signature(lambda_models.LambdaFunction.__init__).parameters)
    if init[:3] != ["self", "account_id", "spec"]:
        problems.append(f"Lambda: LambdaFunction.__init__ changed to {init}; review patch 13")
    if importlib.util.find_spec("moto.accessanalyzer") is not None or any(
        pattern.match(f"https://{ACCESS_ANALYZER}.us-east-1.amazonaws.com")
        for _, pattern in backend_index.backend_url_patterns
    ):
        problems.append("Access Analyzer: moto emulates it now; drop patch 14")
    dispatch = list(
        inspect.signature(werkzeug_app.DomainDispatcherApplication.get_application).parameters
    )
    if dispatch != ["self", "environ"]:
        problems.append(f"Server: get_application changed to {dispatch}; review patch 14")
    if hasattr(s3_models.FakeDeleteMarker, "dispose"):
        problems.append("S3: FakeDeleteMarker has dispose() now; drop patch 12")
    params = list(inspect.signature(glue_models.FakeJob.start_job_run).parameters)
    if "arguments" not in params or "_status" not in vars(glue_models.FakeJobRun("j")):
        problems.append("Glue runs: FakeJob.start_job_run or FakeJobRun changed; review patch 10")
    return problems


def spec_string_matches(variable: Any, comparison_value: Any) -> bool:
    """StringMatches as the ASL specification defines it: only `*` is a wildcard.

    `\\*` is a literal star and `\\\\` a literal backslash; every other character, `?` and `[`
    included, matches itself.
    """
    if not isinstance(variable, str) or not isinstance(comparison_value, str):
        return False
    out: list[str] = []
    chars = iter(comparison_value)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "*":
            out.append(".*")
        else:
            out.append(re.escape(char))
    return re.fullmatch("".join(out), variable, flags=re.DOTALL) is not None


def _fixed_eval_integration_pattern() -> Callable[..., Any]:
    original = callback_module.StateTaskServiceCallback._eval_integration_pattern
    source = textwrap.dedent(inspect.getsource(original))
    dedented_buggy = _BUGGY_LINE[4:]
    dedented_fixed = "".join(line[4:] + "\n" for line in _FIXED_LINES.splitlines())
    if source.count(dedented_buggy) != 1:
        raise RuntimeError("moto patch 1 (Glue .sync) no longer applies: " + repr(check_targets()))
    namespace: dict[str, Any] = {}
    filename = f"<moto_patches: {inspect.getsourcefile(original)}>"
    code = compile(source.replace(dedented_buggy, dedented_fixed), filename, "exec")
    exec(code, vars(callback_module), namespace)
    return namespace["_eval_integration_pattern"]


def _sagemaker_service_class() -> type:
    import botocore.session
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("CreateTrainingJob")
        .input_shape
    )
    supported = {"createtrainingjob": set(shape.members)}

    class StateTaskServiceSageMaker(callback_module.StateTaskServiceCallback):
        """`sagemaker:createTrainingJob.sync` against moto's SageMaker backend."""

        def __init__(self) -> None:
            super().__init__(supported_integration_patterns={ResourceCondition.Sync})

        def _get_supported_parameters(self):
            return supported.get(self.resource.api_action.lower())

        def _client(self, runtime, credentials):
            return boto_client_for(
                service="sagemaker", region=runtime.region, state_credentials=credentials
            )

        def _eval_service_task(
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        ):
            client = self._client(resource_runtime_part, state_credentials)
            response = client.create_training_job(**normalised_parameters)
            name = normalised_parameters["TrainingJobName"]
            patched = _CURRENT
            if patched is not None:
                patched.training_requests.append(json.loads(json.dumps(normalised_parameters)))
                reason = patched.on_training(normalised_parameters) if patched.on_training else None
                if reason is not None:
                    backend = sagemaker_models.sagemaker_backends[resource_runtime_part.account][
                        resource_runtime_part.region
                    ]
                    job = backend.training_jobs[name]
                    job.training_job_status = "Failed"
                    job.secondary_status = "Failed"
                    job.failure_reason = reason
            env.stack.append({"TrainingJobArn": response["TrainingJobArn"], "Name": name})

        def _build_sync_resolver(
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        ):
            started = env.stack.pop()
            client = self._client(resource_runtime_part, state_credentials)

            def resolve():
                job = client.describe_training_job(TrainingJobName=started["Name"])
                job.pop("ResponseMetadata", None)
                status = job["TrainingJobStatus"]
                if status not in {"Completed", "Failed", "Stopped"}:
                    return None
                if status == "Completed":
                    return json.loads(to_json_str(job))  # JSON, as Step Functions returns it
                raise FailureEventException(
                    FailureEvent(
                        env=env,
                        error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                        event_type=HistoryEventType.TaskFailed,
                        event_details=EventDetails(
                            taskFailedEventDetails=TaskFailedEventDetails(
                                resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type(),
                                error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                cause=to_json_str(job),
                            )
                        ),
                    )
                )

            return resolve

    return StateTaskServiceSageMaker


def _service_factory(sagemaker_class: type) -> Callable[..., Any]:
    original = factory_module.state_task_service_for

    def state_task_service_for(service_name: str):
        if service_name == "sagemaker":
            return sagemaker_class()
        return original(service_name)

    return state_task_service_for


class _LambdaContext(SimpleNamespace):
    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms)


def _load_handler(code: bytes, handler_setting: str) -> Callable[[Any, Any], Any]:
    """The handler function from the function's own deployment package (its zip), in-process."""
    module_name, _, func_name = handler_setting.rpartition(".")
    member = module_name.replace(".", "/") + ".py"
    with zipfile.ZipFile(io.BytesIO(code)) as zf:
        if member not in zf.namelist():
            raise RuntimeError(f"Lambda handler module {member} is not in the function's zip")
        source = zf.read(member)
    unique = f"_moto_lambda_{module_name.replace('.', '_')}_{uuid.uuid4().hex}"
    module = types.ModuleType(unique)
    module.__file__ = f"<lambda zip>/{member}"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return getattr(module, func_name)


def _unhandled(exc_type: str, message: str, request_id: str, trace: list[str]) -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": exc_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def _invoke_in_process(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for moto's LambdaFunction.invoke: run our real handler, no Docker.

    With `Patched.lambda_runner` set (the deploy rehearsal), the runner executes the function's
    zip in a process of its own; otherwise the handler module is taken from the function's zip
    and called in this process (the library it imports is the one installed here).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    event = json.loads(body) if body else {}
    patched = _CURRENT
    if patched is not None:
        patched.lambda_events.append(event)
    env = {k: str(v) for k, v in (self.environment_vars or {}).items()}
    if patched is not None and patched.lambda_runner is not None:
        payload, failed = patched.lambda_runner(self, event, env)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload
    request_id = str(uuid.uuid4())
    context = _LambdaContext(
        function_name=self.function_name,
        function_version=self.version,
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size),
        aws_request_id=request_id,
        timeout_ms=int(self.timeout) * 1000,
    )
    with _LOCK, mock.patch.dict(os.environ, env):
        try:
            result = _load_handler(self.code_bytes, self.handler)(event, context)
            return json.dumps(result).encode("utf-8")
        except Exception as exc:  # what the Lambda runtime does with an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            trace = traceback.format_exception(exc)[1:]
            payload = _unhandled(type(exc).__name__, str(exc), request_id, trace)
            return json.dumps(payload).encode("utf-8")


def _iso_start_time_environment() -> Callable[..., Any]:
    original = execution_worker.ExecutionWorker._get_evaluation_environment

    def _get_evaluation_environment(self: Any) -> Any:
        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        start = execution["StartTime"]
        if isinstance(start, datetime.datetime):
            start = start.astimezone(datetime.UTC)
            execution["StartTime"] = start.strftime("%Y-%m-%dT%H:%M:%S.") + (
                f"{start.microsecond // 1000:03d}Z"
            )
        return env

    return _get_evaluation_environment


def _validate_state_machine_definition(self: Any) -> Any:
    """Patch 7: ValidateStateMachineDefinition with moto's own parser and static analyser."""
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

    try:
        StaticAnalyser().analyse(self._get_param("definition"))
    except Exception as exc:  # moto's parser raises ASLParserException and plain errors alike
        message = f"{type(exc).__name__}: {exc}"
        diagnostic = {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": message}
        return ActionResult({"result": "FAIL", "diagnostics": [diagnostic], "truncated": False})
    return ActionResult({"result": "OK", "diagnostics": [], "truncated": False})


def _list_state_machine_versions(self: Any) -> Any:
    """Patch 8: ListStateMachineVersions from the backend's record of published versions."""
    from moto.core.responses import ActionResult

    machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
    versions = [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
        for v in sorted(machine.versions.values(), key=lambda v: v.creation_date, reverse=True)
    ]
    return ActionResult({"stateMachineVersions": versions})


def _logging_policy_check() -> Callable[..., bool]:
    """Patch 9: does the target bucket's policy let the logging service write the prefix?"""

    def check(target_bucket: Any, target_prefix: str | None) -> bool:
        policy = target_bucket.policy
        if not policy:
            return False
        document = json.loads(policy.decode())
        statements = document["Statement"]
        key = f"arn:{target_bucket.partition}:s3:::{target_bucket.name}/{target_prefix or ''}"
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal")
            if not isinstance(principal, dict):
                continue  # "*" (moto crashes here): never a grant to the logging service
            services = principal.get("Service", [])
            services = services if isinstance(services, list) else [services]
            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if (
                s3_models.LOGGING_SERVICE_PRINCIPAL in services
                and statement.get("Effect") == "Allow"
                and any(a in ("s3:PutObject", "s3:*", "*") for a in actions)
                and any(fnmatch.fnmatchcase(key + "x", r) for r in resources)
            ):
                return True
        return False

    return check


def _bucket_permission(self: Any, action: str, resource: str) -> Any:
    """Patch 11: bucket policies evaluated as for a request over TLS.

    moto treats a condition operator it does not know (`Bool`) as satisfied; we evaluate the
    `aws:SecureTransport` key ourselves (true) and hand moto the statements that still apply.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return PermissionResult.NEUTRAL
    document = json.loads(self.policy.decode())
    statements = document["Statement"]
    kept = []
    for statement in statements if isinstance(statements, list) else [statements]:
        condition = dict(statement.get("Condition", {}))
        flags = dict(condition.get("Bool", {}))
        if "aws:SecureTransport" in flags:
            expected = flags.pop("aws:SecureTransport")
            expected = expected if isinstance(expected, list) else [expected]
            if "true" not in [str(v).lower() for v in expected]:
                continue  # a statement for plain-HTTP requests: not this one
            if flags:
                condition["Bool"] = flags
            else:
                condition.pop("Bool")
            statement = (
                {**statement, "Condition": condition}
                if condition
                else {k: v for k, v in statement.items() if k != "Condition"}
            )
        kept.append(statement)
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(
        action, resource
    )


def _lambda_settings() -> list[tuple[str, Callable[..., Any]]]:
    """Patch 13: keep and return a function's KMSKeyArn and LoggingConfig."""
    cls = lambda_models.LambdaFunction
    init, get, update = cls.__init__, cls.get_configuration, cls.update_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any) -> None:
        init(self, account_id, spec, *args, **kw)
        self.kms_key_arn = spec.get("KMSKeyArn")
        self.logging_config = spec.get("LoggingConfig")

    def get_configuration(self: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        config = get(self, *args, **kw)
        if getattr(self, "kms_key_arn", None):
            config["KMSKeyArn"] = self.kms_key_arn
        default = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{self.function_name}"}
        config["LoggingConfig"] = {**default, **(getattr(self, "logging_config", None) or {})}
        return config

    def update_configuration(self: Any, updates: dict[str, Any]) -> dict[str, Any]:
        if "KMSKeyArn" in updates:
            self.kms_key_arn = updates["KMSKeyArn"] or None
        if "LoggingConfig" in updates:
            self.logging_config = updates["LoggingConfig"]
        return update(self, updates)

    return [
        ("__init__", __init__),
        ("get_configuration", get_configuration),
        ("update_configuration", update_configuration),
    ]


def _glue_start_job_run() -> Callable[..., str]:
    """Patch 10: a job run that a runner executes; RUNNING until it is done."""
    original = glue_models.FakeJob.start_job_run

    def start_job_run(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original(self, *args, **kwargs)
        patched = _CURRENT
        if patched is None or patched.glue_runner is None:
            return run_id
        run = next(r for r in self.job_runs if r.job_run_id == run_id)
        run._transitions, run._status = [("RUNNING", "RUNNING")], "RUNNING"
        runner = patched.glue_runner

        def execute() -> None:
            started = time.monotonic()
            try:
                error = runner(self, run)
            except Exception as exc:  # the harness itself failed: the run fails, named
                error = f"the emulated Glue runner failed: {type(exc).__name__}: {exc}"
            run.execution_seconds = max(1, round(time.monotonic() - started))
            run.error_message = error
            run.completed_on = datetime.datetime.now(datetime.UTC)
            final = "FAILED" if error else "SUCCEEDED"
            run._transitions, run._status = [(final, final)], final

        threading.Thread(target=execute, name=f"glue-{run_id[:11]}", daemon=True).start()
        return run_id

    return start_job_run


def _glue_run_as_dict() -> Callable[..., dict[str, Any]]:
    original = glue_models.FakeJobRun.as_dict

    def as_dict(self: Any) -> dict[str, Any]:
        out = original(self)
        if getattr(self, "execution_seconds", None) is not None:
            out["ExecutionTime"] = self.execution_seconds
        if getattr(self, "error_message", None):
            out["ErrorMessage"] = self.error_message
        return out

    return as_dict


def _access_analyzer_app(analyzers: dict[str, dict[str, Any]]) -> Callable[..., Any]:
    """Patch 14: the Access Analyzer REST API (2019-11-01) for analyzers and their tags."""
    lock = threading.Lock()

    def reply(status: int, body: dict[str, Any] | None = None, error: str = "") -> Response:
        response = Response(json.dumps(body or {}), status=status, mimetype="application/json")
        if error:
            response.headers["x-amzn-ErrorType"] = error
        return response

    def not_found(resource_id: str) -> Response:
        body = {
            "message": f"Analyzer {resource_id} not found",
            "resourceId": resource_id,
            "resourceType": "AWS::AccessAnalyzer::Analyzer",
        }
        return reply(404, body, "ResourceNotFoundException")

    def by_name(name: str) -> dict[str, Any] | None:
        return next((a for a in analyzers.values() if a["name"] == name), None)

    def handle(request: Request) -> Response:
        match = _CREDENTIAL_SCOPE.search(request.headers.get("Authorization", ""))
        access_key, region = (match.group(1), match.group(2)) if match else ("", "us-east-1")
        account = get_account_id_from(access_key)
        path, method = request.path.rstrip("/"), request.method
        if path == "/analyzer" and method == "PUT":
            spec = request.get_json(force=True)
            name = spec["analyzerName"]
            if by_name(name) is not None:
                message = {"message": f"Analyzer {name} already exists"}
                return reply(409, message, "ConflictException")
            arn = f"arn:aws:access-analyzer:{region}:{account}:analyzer/{name}"
            now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            analyzers[arn] = {
                "arn": arn,
                "name": name,
                "type": spec["type"],
                "createdAt": now,
                "status": "ACTIVE",
                "tags": dict(spec.get("tags") or {}),
            }
            return reply(200, {"arn": arn})
        if path == "/analyzer" and method == "GET":
            kind = request.args.get("type")
            found = [a for a in analyzers.values() if kind in (None, a["type"])]
            return reply(200, {"analyzers": found})
        if path.startswith("/analyzer/"):
            name = path.removeprefix("/analyzer/")
            analyzer = by_name(name)
            if analyzer is None:
                return not_found(name)
            if method == "GET":
                return reply(200, {"analyzer": analyzer})
            if method == "DELETE":
                del analyzers[analyzer["arn"]]
                return reply(200)
        if path.startswith("/tags/"):
            arn = path.removeprefix("/tags/")  # the WSGI server has decoded %3A and %2F
            if arn not in analyzers:
                return not_found(arn)
            tags = analyzers[arn]["tags"]
            if method == "GET":
                return reply(200, {"tags": tags})
            if method == "POST":
                tags.update(request.get_json(force=True).get("tags") or {})
                return reply(200)
            if method == "DELETE":
                for key in request.args.getlist("tagKeys"):
                    tags.pop(key, None)
                return reply(200)
        message = f"Access Analyzer emulation: {method} {path} is not supported"
        return reply(400, {"message": message}, "ValidationException")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with lock:
            response = handle(Request(environ))
        return response(environ, start_response)

    return app


def _access_analyzer_dispatch(app: Callable[..., Any]) -> Callable[..., Any]:
    """Patch 14: requests signed for access-analyzer go to our app, the rest as before."""
    original = werkzeug_app.DomainDispatcherApplication.get_application

    def get_application(self: Any, environ: dict[str, Any]) -> Any:
        match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if match and match.group(3) == ACCESS_ANALYZER:
            return app
        return original(self, environ)

    return get_application


@contextlib.contextmanager
def patched(on_training: TrainingHook | None = None) -> Iterator[Patched]:
    """Apply every patch for the duration of the block; yields what the patched moto records."""
    global _CURRENT
    problems = check_targets()
    if problems:
        raise RuntimeError("moto patches no longer apply:\n- " + "\n- ".join(problems))
    state = Patched(on_training=on_training)
    recorder = SimpleNamespace(sleep=state.retry_sleeps.append)
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(
                callback_module.StateTaskServiceCallback,
                "_eval_integration_pattern",
                _fixed_eval_integration_pattern(),
            )
        )
        stack.enter_context(
            mock.patch.object(
                state_task_factory,
                "state_task_service_for",
                _service_factory(_sagemaker_service_class()),
            )
        )
        stack.enter_context(
            mock.patch.object(lambda_models.LambdaFunction, "invoke", _invoke_in_process)
        )
        stack.enter_context(
            mock.patch.object(
                execution_worker.ExecutionWorker,
                "_get_evaluation_environment",
                _iso_start_time_environment(),
            )
        )
        stack.enter_context(
            mock.patch.object(
                string_operators.StringMatches, "_compare", staticmethod(spec_string_matches)
            )
        )
        stack.enter_context(
            mock.patch.object(
                execution_module.Execution,
                "__deepcopy__",
                lambda self, memo: self,
                create=True,
            )
        )
        stack.enter_context(mock.patch.object(retrier_decl, "time", recorder))
        responses = sfn_responses.StepFunctionResponse
        for name, func in (
            ("validate_state_machine_definition", _validate_state_machine_definition),
            ("list_state_machine_versions", _list_state_machine_versions),
        ):
            stack.enter_context(mock.patch.object(responses, name, func, create=True))
        stack.enter_context(
            mock.patch.object(
                s3_models.FakeBucket,
                "_log_permissions_enabled_policy",
                staticmethod(_logging_policy_check()),
            )
        )
        stack.enter_context(
            mock.patch.object(s3_models.FakeBucket, "get_permission", _bucket_permission)
        )
        stack.enter_context(
            mock.patch.object(
                s3_models.FakeDeleteMarker, "dispose", lambda self, *a, **k: None, create=True
            )
        )
        for name, func in _lambda_settings():
            stack.enter_context(mock.patch.object(lambda_models.LambdaFunction, name, func))
        stack.enter_context(
            mock.patch.object(glue_models.FakeJob, "start_job_run", _glue_start_job_run())
        )
        stack.enter_context(
            mock.patch.object(glue_models.FakeJobRun, "as_dict", _glue_run_as_dict())
        )
        stack.enter_context(
            mock.patch.object(
                werkzeug_app.DomainDispatcherApplication,
                "get_application",
                _access_analyzer_dispatch(_access_analyzer_app(state.analyzers)),
            )
        )
        _CURRENT = state
        try:
            yield state
        finally:
            _CURRENT = None
