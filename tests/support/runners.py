"""What the emulated account runs: Glue job runs, Lambda invocations and training jobs, for real.

Each runs our real artifacts, as deployed in the emulator, in a process of its own:
- a Glue job run executes the script at the job's ScriptLocation (downloaded from the emulated
  bucket) with the job's DefaultArguments merged with the run's, `--JOB_NAME` and `--JOB_RUN_ID`
  first, as Glue does; `--additional-python-modules` must list only content-addressed S3 wheels
  (`.../artifacts/<sha256>/<name>.whl`, the downloaded bytes must have that sha256) installed with
  `--no-deps --no-index`, as the deployed jobs are: they are unpacked onto the job's path and
  nothing is installed from PyPI (a PyPI requirement fails the run, as `--no-index` makes it fail
  on Glue); `--extra-py-files` are put on the path. Glue's own Python
  library (`awsglue`, from the awsglue-dev wheel) is on the path too, so the scripts read their
  arguments with `getResolvedOptions` as on Glue. Spark runs in local mode; its `s3://` paths go
  to the emulated bucket through the WebHDFS gateway (`s3_webhdfs`).
- a Lambda invocation runs the handler from the function's deployment package (the zip stored in
  the emulator), with the function's environment, in a fresh interpreter whose path is the zip.
- a training job builds the SageMaker `/opt/ml` tree from the CreateTrainingJob request
  (hyperparameters, input data config, channels downloaded from the emulated S3), runs `train`
  from the image the request names (the image store of `docker_shim`; the image must exist in
  the emulated ECR) without network access, and uploads `model/` as
  `<S3OutputPath>/<job>/output/model.tar.gz`.
Every process's output is kept in the log folder; a failure's message names its log.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

# A Glue run whose process prints this many lines keeps only the last ones in its error message.
TAIL = 12


@dataclass
class Runtime:
    """Where and how the emulated services run things."""

    endpoint: str  # the emulator's URL
    work: Path  # scratch space (downloads, /opt/ml trees, unpacked packages)
    logs: Path  # one log file per run
    awsglue_path: Path  # folder with the `awsglue` package (awsglue-dev)
    registry: Path  # image store of docker_shim (`<digest>/config.json`, `rootfs/`)
    spark_conf_dir: Path | None = None  # spark-defaults.conf with the s3:// mounts
    http_proxy: str | None = None  # the fake Ipeadata
    python: str = sys.executable
    region: str = "us-east-1"
    counter: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)  # what ran, for the report

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region)

    def aws_env(self) -> dict[str, str]:
        """A clean environment with the emulator's endpoint and dummy credentials."""
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "JAVA_HOME", "TMPDIR", "SPARK_LOCAL_IP")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        return env | {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }

    def log_file(self, kind: str, name: str) -> Path:
        self.counter += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
        return self.logs / f"{self.counter:02d}-{kind}-{safe}.log"

    def scratch(self, kind: str) -> Path:
        self.work.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=self.work))


def _split_s3(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.*)", uri)
    if not match:
        raise ValueError(f"not an S3 URI: {uri!r}")
    return match[1], match[2]


def _download(rt: Runtime, uri: str, target: Path) -> Path:
    bucket, key = _split_s3(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        body = rt.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        raise RuntimeError(f"{uri} cannot be downloaded: {exc}") from exc
    target.write_bytes(body)
    return target


def _tail(log: Path, lines: int = TAIL) -> str:
    text = log.read_text(errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------- Glue


def glue_argv(job_name: str, run_id: str, arguments: dict[str, str]) -> list[str]:
    """The script's argv after its name: Glue's own arguments, then `--key value` pairs."""
    argv = ["--JOB_NAME", job_name, "--JOB_RUN_ID", run_id]
    for key, value in arguments.items():
        argv += [key, value]
    return argv


# The installer options of the deployed jobs (infra/modules/glue): keep Glue's bundled packages,
# never reach an index.
GLUE_INSTALLER_OPTIONS = {"--no-deps", "--no-index"}
_ARTIFACT_KEY_RE = re.compile(r"artifacts/(?P<sha256>[0-9a-f]{64})/(?P<name>[^/]+\.whl)")


def _python_modules(rt: Runtime, spec: str, target: Path) -> list[str]:
    """Install `--additional-python-modules`: content-addressed S3 wheels, verified and unpacked."""
    problems = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        if not item.startswith("s3://"):
            problems.append(f"{item!r} is not an S3 wheel: with --no-index Glue cannot install it")
            continue
        found = _ARTIFACT_KEY_RE.fullmatch(_split_s3(item)[1])
        if not found:
            problems.append(f"{item} is not a content-addressed wheel (artifacts/<sha256>/<x>.whl)")
            continue
        wheel = _download(rt, item, target.parent / "modules" / found["name"])
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != found["sha256"]:
            problems.append(f"{item} has sha256 {digest}, not the {found['sha256']} of its key")
            continue
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(target)
    return problems


def run_glue_job(rt: Runtime, job: Any, run: Any) -> str | None:
    """Execute one Glue job run; None when it succeeded, else its error message."""
    arguments = dict(run.arguments or {})
    log = rt.log_file("glue", job.name)
    work = rt.scratch(f"glue-{job.name}")
    script = _download(rt, job.command["ScriptLocation"], work / "script.py")
    site = work / "site"
    site.mkdir()
    problems = []
    if "--additional-python-modules" in arguments:
        installer = arguments.get("--python-modules-installer-option", "")
        if set(installer.split()) != GLUE_INSTALLER_OPTIONS:
            problems.append(
                f"--python-modules-installer-option is {installer!r}, not "
                f"{' '.join(sorted(GLUE_INSTALLER_OPTIONS))!r}"
            )
        problems += _python_modules(rt, arguments["--additional-python-modules"], site)
    path = [str(site)]
    for item in filter(None, arguments.get("--extra-py-files", "").split(",")):
        local = _download(rt, item, work / "extra" / item.rsplit("/", 1)[1])
        path.append(str(local if local.suffix in {".zip", ".whl", ".egg"} else local.parent))
    if problems:
        message = f"Glue job {job.name}: " + "; ".join(problems)
        log.write_text(message + "\n")
        return message
    env = rt.aws_env() | {"PYTHONPATH": os.pathsep.join([*path, str(rt.awsglue_path)])}
    if rt.spark_conf_dir is not None:
        env["SPARK_CONF_DIR"] = str(rt.spark_conf_dir)
    if rt.http_proxy:
        env["HTTP_PROXY"] = env["http_proxy"] = rt.http_proxy
    # The job's package must be the uploaded wheel, never this checkout's source.
    boot = textwrap.dedent(
        f"""
        import runpy, sys
        import ipeacast
        if not ipeacast.__file__.startswith({str(site)!r}):
            sys.exit("ipeacast was imported from " + ipeacast.__file__ + ", not the job's wheel")
        sys.argv = [{str(script)!r}, *sys.argv[1:]]
        runpy.run_path({str(script)!r}, run_name="__main__")
        """
    )
    argv = glue_argv(job.name, run.job_run_id, arguments)
    timeout = int(job.timeout or 60) * 60
    with log.open("w") as out:
        out.write(f"$ {script.name} {' '.join(argv)}\n")
        out.flush()
        try:
            proc = subprocess.run(
                [rt.python, "-c", boot, *argv],
                env=env,
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return f"Glue job {job.name} timed out after {timeout}s (log: {log})"
    rt.runs.append({"kind": "glue", "name": job.name, "exit": proc.returncode, "log": str(log)})
    if proc.returncode == 0:
        return None
    return f"Glue job {job.name} exited {proc.returncode} (log: {log}):\n{_tail(log)}"


# ------------------------------------------------------------------------------------- Lambda

_LAMBDA_BOOT = textwrap.dedent(
    """
    import importlib, json, sys, traceback, types, uuid
    root, handler_setting, result_path = sys.argv[1:4]
    sys.path.insert(0, root)
    event = json.load(sys.stdin)
    module_name, _, func_name = handler_setting.rpartition(".")
    context = types.SimpleNamespace(
        function_name=sys.argv[4], aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: int(sys.argv[5]) * 1000,
    )
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        mod = sys.modules.get("ipeacast")
        if mod is not None and not mod.__file__.startswith(root):
            raise ImportError("ipeacast was imported from " + mod.__file__ + ", not the zip")
        result, failed = handler(event, context), False
    except Exception as exc:
        result, failed = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_exception(exc)[1:],
        }, True
    with open(result_path, "w") as f:
        json.dump({"payload": result, "failed": failed}, f)
    """
)


def run_lambda(rt: Runtime, function: Any, event: dict, env: dict[str, str]) -> tuple[bytes, bool]:
    """Invoke a function from its zip; (payload, failed) as the Lambda runtime returns them."""
    code = function.code_bytes
    digest = hashlib.sha256(code).hexdigest()[:16]
    root = rt.work / "lambda" / digest
    if not root.exists():
        tmp = rt.scratch("lambda")
        with zipfile.ZipFile(io.BytesIO(code)) as zf:
            zf.extractall(tmp)
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(root)
    result = rt.scratch("lambda-result") / "result.json"
    log = rt.log_file("lambda", f"{function.function_name}-{event.get('action', '')}")
    full_env = rt.aws_env() | {
        "PYTHONPATH": str(root),
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        **env,
    }
    argv = [str(root), function.handler, str(result), function.function_name]
    with log.open("w") as out:
        proc = subprocess.run(
            [rt.python, "-c", _LAMBDA_BOOT, *argv, str(function.timeout)],
            input=json.dumps(event).encode(),
            env=full_env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=int(function.timeout) + 30,
        )
    rt.runs.append(
        {"kind": "lambda", "name": function.function_name, "exit": proc.returncode, "log": str(log)}
    )
    if proc.returncode != 0 or not result.exists():
        payload = {
            "errorMessage": f"Runtime exited with status {proc.returncode} (log: {log})",
            "errorType": "Runtime.ExitError",
        }
        return json.dumps(payload).encode(), True
    outcome = json.loads(result.read_text())
    return json.dumps(outcome["payload"]).encode(), outcome["failed"]


# ----------------------------------------------------------------------------------- training


def find_image(rt: Runtime, image_uri: str) -> Path:
    """The image folder for an ECR image URI (`<registry>/<repo>:<tag>`), or an error."""
    match = re.fullmatch(
        r"[^/]+/(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>.+))?", image_uri
    )
    if not match:
        raise RuntimeError(f"ClientError: invalid image URI {image_uri!r}")
    image_id = {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"]}
    found = rt.client("ecr").batch_get_image(repositoryName=match["repo"], imageIds=[image_id])
    if not found["images"]:
        raise RuntimeError(f"ClientError: image {image_uri} does not exist in ECR")
    digest = found["images"][0]["imageId"]["imageDigest"]
    folder = rt.registry / digest.split(":", 1)[1]
    if not folder.is_dir():
        raise RuntimeError(f"ClientError: the layers of {image_uri} ({digest}) were never pushed")
    return folder


def _opt_ml(rt: Runtime, request: dict, base: Path) -> None:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(request.get("HyperParameters", {})))
    channels = {c["ChannelName"]: c for c in request.get("InputDataConfig", [])}
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                name: {"TrainingInputMode": c.get("InputMode", "File"), "S3DistributionType": "x"}
                for name, c in channels.items()
            }
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )
    s3 = rt.client("s3")
    for name, channel in channels.items():
        source = channel["DataSource"]["S3DataSource"]
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise RuntimeError(f"ClientError: channel {name}: only S3Prefix is rehearsed")
        bucket, prefix = _split_s3(source["S3Uri"])
        target = base / "input" / "data" / name
        target.mkdir(parents=True)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        if not keys:
            raise RuntimeError(f"ClientError: channel {name}: no objects under {source['S3Uri']}")
        for key in keys:
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[1]
            local = target / relative
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    (base / "model").mkdir()
    (base / "output").mkdir()


def run_training_job(rt: Runtime, request: dict) -> str | None:
    """Run a training job; None when it completed, else its FailureReason."""
    name = request["TrainingJobName"]
    log = rt.log_file("training", name)
    try:
        image = find_image(rt, request["AlgorithmSpecification"]["TrainingImage"])
        base = rt.scratch("training") / "opt" / "ml"
        _opt_ml(rt, request, base)
    except RuntimeError as exc:
        log.write_text(f"{exc}\n")
        return str(exc)
    config = json.loads((image / "config.json").read_text())
    rootfs = image / "rootfs"
    path = next(e.split("=", 1)[1] for e in config["Env"] if e.startswith("PATH="))
    # SageMaker runs `docker run <image> train`: the first `train` on the image's PATH.
    program = next(
        (
            rootfs / d.lstrip("/") / "train"
            for d in path.split(":")
            if (rootfs / d.lstrip("/") / "train").is_file()
        ),
        None,
    )
    if program is None:
        log.write_text("no `train` on the image's PATH\n")
        return "AlgorithmError: the image has no `train` executable on its PATH"
    # No AWS endpoint, no proxy: the job runs with network isolation.
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env |= {"PYTHONPATH": str(rootfs / "site"), "IPEACAST_SM_BASE_DIR": str(base)}
    with log.open("w") as out:
        proc = subprocess.run(
            [rt.python, str(program)],
            env=env,
            cwd=base,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=int(request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 3600)),
        )
    rt.runs.append({"kind": "training", "name": name, "exit": proc.returncode, "log": str(log)})
    if proc.returncode != 0:
        failure = base / "output" / "failure"
        reason = failure.read_text().strip() if failure.exists() else _tail(log, 3)
        return f"AlgorithmError: {reason or f'exit status {proc.returncode}'} (log: {log})"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path_ in sorted((base / "model").rglob("*")):
            if path_.is_file():
                tar.add(path_, arcname=path_.relative_to(base / "model").as_posix())
    bucket, prefix = _split_s3(request["OutputDataConfig"]["S3OutputPath"].rstrip("/") + "/")
    key = f"{prefix}{name}/output/model.tar.gz"
    rt.client("s3").put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    return None
