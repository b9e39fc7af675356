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
   handler (`module.function` from its configuration) is imported from our source folder and
   called in-process, with the function's environment variables set for the call, returning
   what Lambda returns (the JSON result, or an `Unhandled` error payload).

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

Retry back-off sleeps of the interpreter are recorded instead of slept (`Patched.retry_sleeps`),
so retries with real production intervals run instantly and their back-off can be asserted.

`check_targets()` verifies that each patched internal is still what we patch; the
test in `test_moto_patches.py` calls it, so a moto upgrade that changes them fails loudly.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.util
import inspect
import json
import os
import re
import textwrap
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import moto
from moto.awslambda import models as lambda_models
from moto.sagemaker import models as sagemaker_models
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

MOTO_VERSION = "5.2.1"
LAMBDA_SOURCE = Path(__file__).resolve().parents[1] / "src" / "lambda"

string_operators = importlib.import_module(
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations"
    ".string_operators"
)

_BUGGY_LINE = "            callback_endpoint.interrupt_all()\n"
_FIXED_LINES = (
    "            if callback_endpoint is not None:\n"
    "                callback_endpoint.interrupt_all()\n"
)

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


def _load_handler(handler_setting: str) -> Callable[[Any, Any], Any]:
    module_name, _, func_name = handler_setting.rpartition(".")
    path = LAMBDA_SOURCE / (module_name.replace(".", "/") + ".py")
    if not path.is_file():
        raise RuntimeError(f"Lambda handler module {path} not found for handler {handler_setting}")
    unique = f"_moto_lambda_{module_name.replace('.', '_')}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, func_name)


def _invoke_in_process(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
    """Replacement for moto's LambdaFunction.invoke: run our real handler, no Docker."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    event = json.loads(body) if body else {}
    patched = _CURRENT
    if patched is not None:
        patched.lambda_events.append(event)
    request_id = str(uuid.uuid4())
    context = _LambdaContext(
        function_name=self.function_name,
        function_version=self.version,
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size),
        aws_request_id=request_id,
        timeout_ms=int(self.timeout) * 1000,
    )
    env = {k: str(v) for k, v in (self.environment_vars or {}).items()}
    with _LOCK, mock.patch.dict(os.environ, env):
        try:
            result = _load_handler(self.handler)(event, context)
            return json.dumps(result).encode("utf-8")
        except Exception as exc:  # what the Lambda runtime does with an unhandled error
            response_headers["x-amz-function-error"] = "Unhandled"
            payload = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_exception(exc)[1:],
            }
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
        _CURRENT = state
        try:
            yield state
        finally:
            _CURRENT = None
