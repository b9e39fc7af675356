"""Deploy helpers: publish build artifacts, resolve the training image, prove a deployment.

Every CI/CD step that talks to AWS goes through these functions (via `ipeacast deploy ...`), so
the same commands run on a laptop. Clients come from boto3's default chain: region from
AWS_REGION/AWS_DEFAULT_REGION or the profile, endpoint from AWS_ENDPOINT_URL (the tests point it
at a local moto server).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from ipeacast.core.errors import ConfigError, IpeacastError
from ipeacast.core.run import DEFAULT_SERIES, RUN_FIELDS, SMOKE_LAKE_PREFIX, Run

log = logging.getLogger(__name__)

ARTIFACT_PREFIX = "artifacts"
# A smoke run reads and writes only under <lake>/smoke/ (expired by an S3 lifecycle rule), so it
# never replaces a real final/, models/ or predictions/ partition; its run id says so too.
SMOKE_RUN_ID_PREFIX = "smoke-"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
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


class DeployError(IpeacastError):
    """The target is not in a state a deployment step can accept (missing image, failed run)."""


class SmokeFailed(DeployError):
    """The smoke execution did not succeed; carries the execution result."""

    def __init__(self, message: str, result: ExecutionResult):
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------- AWS clients


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client; a missing region is a configuration error, not a botocore traceback."""
    import boto3
    from botocore.exceptions import NoRegionError

    # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is what CI and most SDKs set.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        return boto3.session.Session(region_name=region).client(service)
    except NoRegionError as exc:
        raise ConfigError(
            f"no AWS region configured for {service}: set AWS_REGION (or pass --region)"
        ) from exc


def _client_region(api: Any) -> str:
    return str(api.meta.region_name)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, what: str) -> IpeacastError | None:
    """Turn credential and access errors into one-line configuration errors naming `what`."""
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigError(
            f"no AWS credentials for {what}: configure a profile (AWS_PROFILE), environment "
            "credentials or the GitHub OIDC role"
        )
    if isinstance(exc, EndpointConnectionError):
        return ConfigError(f"cannot reach the AWS endpoint for {what}: {exc}")
    code = _error_code(exc)
    if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"):
        return ConfigError(f"the AWS credentials used for {what} are invalid or expired ({code})")
    if code in ("AccessDenied", "AccessDeniedException", "403", "Forbidden"):
        return ConfigError(f"access denied to {what}: the current role lacks permission ({code})")
    return None


def _reraise(exc: Exception, what: str) -> NoReturn:
    translated = _translate(exc, what)
    if translated is None:
        raise exc
    raise translated from exc


# --------------------------------------------------------------------------- artifacts


@dataclass(frozen=True)
class Artifact:
    """One build output and its content-addressed key: `<prefix>/<sha256>/<file name>`."""

    name: str
    path: str
    sha256: str
    size: int
    key: str
    status: str = "planned"  # planned | uploaded | unchanged

    @property
    def checksum_b64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class UploadReport:
    bucket: str
    prefix: str
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)

    @property
    def uploaded(self) -> list[Artifact]:
        return [a for a in self.artifacts if a.status == "uploaded"]

    @property
    def unchanged(self) -> list[Artifact]:
        return [a for a in self.artifacts if a.status == "unchanged"]

    def manifest(self) -> dict[str, Any]:
        """name -> key, s3 uri, sha256, size: what Terraform or a human needs to reference them."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "artifacts": {
                a.name: {
                    "key": a.key,
                    "uri": f"s3://{self.bucket}/{a.key}",
                    "sha256": a.sha256,
                    "size": a.size,
                }
                for a in self.artifacts
            },
        }

    def lines(self) -> list[str]:
        out = [f"{a.status:<9} s3://{self.bucket}/{a.key}" for a in self.artifacts]
        out.append(
            f"{len(self.uploaded)} uploaded, {len(self.unchanged)} unchanged "
            f"({len(self.artifacts)} artifacts)"
        )
        return out


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_key(name: str, sha256: str, prefix: str = ARTIFACT_PREFIX) -> str:
    """Content-addressed key; the file name is kept last so wheels keep a valid wheel name."""
    if not _SHA256_RE.fullmatch(sha256):
        raise ConfigError(f"artifact {name!r}: {sha256!r} is not a sha256 hex digest")
    if "/" in name or not name or name.startswith("."):
        raise ConfigError(f"artifact name {name!r} must be a plain file name")
    return f"{prefix.strip('/')}/{sha256}/{name}" if prefix.strip("/") else f"{sha256}/{name}"


def collect_artifacts(dist: str | Path, prefix: str = ARTIFACT_PREFIX) -> list[Artifact]:
    """Every regular file under `dist` (recursively, hidden files skipped), sorted by name."""
    root = Path(dist)
    if not root.is_dir():
        raise ConfigError(f"artifact directory {str(root)!r} does not exist: run `make package`")
    found: dict[str, Artifact] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        digest = sha256_file(path)
        if path.name in found and found[path.name].sha256 != digest:
            raise ConfigError(
                f"two different artifacts are named {path.name!r} ({found[path.name].path} and "
                f"{path}): file names must be unique in {root}"
            )
        found[path.name] = Artifact(
            name=path.name,
            path=str(path),
            sha256=digest,
            size=path.stat().st_size,
            key=artifact_key(path.name, digest, prefix),
        )
    if not found:
        raise ConfigError(f"artifact directory {str(root)!r} is empty: run `make package`")
    return sorted(found.values(), key=lambda a: a.name)


def caller_account(sts: Any = None, region: str | None = None) -> str:
    """The account id of the credentials in use (STS GetCallerIdentity, no permission needed).

    Every S3 call of a deploy step passes it as `ExpectedBucketOwner`, so a bucket of the same
    name in another account (a typo, a deleted and re-created name) is never read or written.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    sts = sts or client("sts", region)
    try:
        account = str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        _reraise(exc, "the caller's AWS account (sts:GetCallerIdentity)")
    if not re.fullmatch(r"[0-9]{12}", account):
        raise ConfigError(f"STS returned {account!r}, not a 12-digit AWS account id")
    return account


def check_bucket(s3: Any, bucket: str, owner: str) -> None:
    """Fail clearly if the bucket is missing, elsewhere, not `owner`'s, or unreadable."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = _client_region(s3)
    try:
        response = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        actual = headers.get("x-amz-bucket-region")
        code = _error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigError(
                f"bucket {bucket!r} does not exist (region {region}): check the bucket name, or "
                "apply the environment once to create it (docs/delivery.md)"
            ) from exc
        if code in ("301", "PermanentRedirect") or (actual and actual != region):
            raise ConfigError(
                f"bucket {bucket!r} is in region {actual or 'another region'}, not {region}: "
                f"set AWS_REGION={actual or '<bucket region>'}"
            ) from exc
        # S3 answers 403 both when the role may not read the bucket and when it belongs to
        # another account than ExpectedBucketOwner.
        _reraise(exc, f"bucket {bucket!r} (expected owner: account {owner})")
    except BotoCoreError as exc:
        _reraise(exc, f"bucket {bucket!r}")
    actual = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    if actual and actual != region:
        raise ConfigError(f"bucket {bucket!r} is in region {actual}, not {region}: set AWS_REGION")


def _remote_checksum(s3: Any, bucket: str, key: str, owner: str) -> str | None:
    """S3's own SHA-256 checksum (base64) of an existing object; "" if it has none; None if absent.

    The checksum is what S3 computed and verified when the object was written, not metadata a
    writer chose, so it says what the stored bytes are.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        head = s3.head_object(
            Bucket=bucket, Key=key, ChecksumMode="ENABLED", ExpectedBucketOwner=owner
        )
    except ClientError as exc:
        if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        _reraise(exc, f"s3://{bucket}/{key}")
    except BotoCoreError as exc:
        _reraise(exc, f"s3://{bucket}/{key}")
    return str(head.get("ChecksumSHA256") or "")


def upload_artifacts(
    dist: str | Path,
    bucket: str,
    *,
    prefix: str = ARTIFACT_PREFIX,
    s3: Any = None,
    region: str | None = None,
    dry_run: bool = False,
    owner: str | None = None,
) -> UploadReport:
    """Upload `dist/*` to `s3://bucket/<prefix>/<sha256>/<name>`; existing identical keys are kept.

    Keys are content-addressed, so an object already at its key is never rewritten: when S3's
    SHA-256 checksum of it is the local file's, it is "unchanged" (re-running a deployment uploads
    nothing); any other checksum, or none, means the object is not what its key says, and that is
    an error naming the key, never a silent overwrite. Uploads send the local checksum, so S3
    rejects bytes that arrive altered. Every call names `owner` (default: the caller's account)
    as the expected bucket owner.
    """
    if not bucket or bucket.startswith("s3://") or "/" in bucket:
        raise ConfigError(f"bucket must be a bare bucket name, got {bucket!r}")
    planned = collect_artifacts(dist, prefix)
    s3 = s3 or client("s3", region)
    owner = owner or caller_account(region=region)
    check_bucket(s3, bucket, owner)
    done: list[Artifact] = []
    for art in planned:
        remote = _remote_checksum(s3, bucket, art.key, owner)
        if remote == art.checksum_b64:
            done.append(_with_status(art, "unchanged"))
            continue
        if remote is not None:
            raise DeployError(
                f"s3://{bucket}/{art.key} already exists with SHA-256 checksum "
                f"{remote or '(none)'}, not {art.checksum_b64} of {art.path}: the key is "
                "content-addressed, so the stored object is not what its name says (altered, or "
                "written by something else); it is not overwritten. Inspect it and delete it "
                "if it is wrong, then upload again"
            )
        if not dry_run:
            _put_artifact(s3, bucket, art, owner)
        status = "planned" if dry_run else "uploaded"
        log.info("%s %s -> s3://%s/%s", status, art.path, bucket, art.key)
        done.append(_with_status(art, status))
    return UploadReport(bucket=bucket, prefix=prefix, artifacts=tuple(done))


def _put_artifact(s3: Any, bucket: str, art: Artifact, owner: str) -> None:
    """One PutObject (artifacts are small: no multipart, so the checksum is the whole file's)."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = Path(art.path).read_bytes()
    if hashlib.sha256(body).hexdigest() != art.sha256:
        raise DeployError(f"{art.path} changed while it was being uploaded: package again")
    try:
        response = s3.put_object(
            Bucket=bucket,
            Key=art.key,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=art.checksum_b64,
            ExpectedBucketOwner=owner,
        )
    except (ClientError, BotoCoreError) as exc:
        _reraise(exc, f"s3://{bucket}/{art.key}")
    stored = response.get("ChecksumSHA256")
    if stored != art.checksum_b64:
        raise DeployError(
            f"s3://{bucket}/{art.key}: S3 stored SHA-256 checksum {stored or '(none)'}, not "
            f"{art.checksum_b64} of {art.path}"
        )


def _with_status(art: Artifact, status: str) -> Artifact:
    return Artifact(**{**asdict(art), "status": status})


# --------------------------------------------------------------------------- image


def _repository_name(repository: str, region: str) -> str:
    """Accept a repository name or URI (`<acct>.dkr.ecr.<region>.amazonaws.com/<name>`)."""
    if "/" in repository and ".dkr.ecr." in repository.split("/", 1)[0]:
        host, name = repository.split("/", 1)
        repo_region = host.split(".dkr.ecr.", 1)[1].split(".", 1)[0]
        if repo_region != region:
            raise ConfigError(
                f"ECR repository {repository!r} is in region {repo_region}, not {region}: "
                "set AWS_REGION"
            )
        return name
    return repository


def image_uri(
    repository: str,
    tag: str,
    *,
    ecr: Any = None,
    region: str | None = None,
    by_digest: bool = False,
) -> str:
    """`<registry>/<repo>:<tag>` (or `@sha256:...`) for a tag that exists; a missing tag fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not tag:
        raise ConfigError("image tag is empty: pass --tag (the commit SHA of the build)")
    ecr = ecr or client("ecr", region)
    name = _repository_name(repository, _client_region(ecr))
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        images = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        code = _error_code(exc)
        if code == "RepositoryNotFoundException":
            raise ConfigError(
                f"ECR repository {name!r} does not exist in region {_client_region(ecr)}"
            ) from exc
        if code == "ImageNotFoundException":
            raise DeployError(
                f"image tag {tag!r} not found in ECR repository {name!r}: build and push it first "
                "(make push-image) or pick a tag that exists"
            ) from exc
        _reraise(exc, f"ECR repository {name!r}")
    except BotoCoreError as exc:
        _reraise(exc, f"ECR repository {name!r}")
    details = images.get("imageDetails") or []
    if not details:
        raise DeployError(f"image tag {tag!r} not found in ECR repository {name!r}")
    if by_digest:
        return f"{repo['repositoryUri']}@{details[0]['imageDigest']}"
    return f"{repo['repositoryUri']}:{tag}"


# --------------------------------------------------------------------------- executions


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
        f"state machine {name_or_arn!r} not found in region {_client_region(sfn)}: check the "
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
        if _error_code(exc) == "StateMachineDoesNotExist":
            raise ConfigError(
                f"state machine {state_machine!r} does not exist in region {_client_region(sfn)}"
            ) from exc
        _reraise(exc, f"state machine {state_machine!r}")
    except BotoCoreError as exc:
        _reraise(exc, f"state machine {state_machine!r}")
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
