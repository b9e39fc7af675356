"""`ipeacast deploy ...`: the deployment verbs the workflows (and a laptop) run.

`ipeacast deploy <verb> [ENV]` is what `make <verb> ENV=...` runs (ipeacast.deploy.verbs says
where each verb finds things); upload-artifacts, image-uri, smoke and run also take the bucket,
repository or state machine directly instead of an environment.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_SERIES, parse_date

DEFAULT_TIMEOUT = 1800.0


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser("deploy", help="deployment verbs (image, stage, smoke, ...)")
    verbs = deploy.add_subparsers(dest="deploy_command", required=True)

    for verb, helptext in (
        ("image", "docker build the training image as IMAGE_NAME:IMAGE_TAG"),
        ("save-image", "docker save the training image to IMAGE_TAR"),
        ("load-image", "docker load IMAGE_TAR"),
    ):
        verbs.add_parser(verb, help=helptext).set_defaults(func=_image_verb)
    for verb, helptext in (
        ("push-image", "push the training image to ENV's ECR (skipped when the tag exists)"),
        ("stage", "before apply: push-image + upload-artifacts (skipped if ENV was never applied)"),
        ("ensure-staged", "after apply: push-image + upload-artifacts unless stage already did"),
    ):
        cmd = verbs.add_parser(verb, help=helptext)
        cmd.add_argument("env", metavar="ENV", help="environment (dev, prod)")
        cmd.set_defaults(func=_stage_verb)

    up = verbs.add_parser(
        "upload-artifacts",
        help="upload dist/ to s3://BUCKET/artifacts/<sha256>/<name> (idempotent)",
    )
    _env(up, "the bucket is LAKE_BUCKET or ENV's output lake_bucket")
    up.add_argument("--bucket", help="bucket name (no s3://)")
    up.add_argument("--dist", help="directory of build outputs (default: DIST or dist)")
    up.add_argument("--prefix", default="artifacts", help="key prefix (default: artifacts)")
    up.add_argument(
        "--manifest",
        help="write a JSON manifest (name -> key, uri, sha256) here "
        "(with ENV: TF_BUILD_DIR/ENV/artifacts.json)",
    )
    up.add_argument(
        "--dry-run", action="store_true", help="report what would change, upload nothing"
    )
    _region(up)
    up.set_defaults(func=_upload)

    img = verbs.add_parser("image-uri", help="print the image URI for a tag; fail if it is missing")
    _env(img, "the repository is ECR_REPOSITORY or ENV's output ecr_repository_url")
    img.add_argument("--repository", help="ECR repository name or URI")
    img.add_argument("--tag", help="image tag (default: IMAGE_TAG, else git HEAD)")
    img.add_argument("--digest", action="store_true", help="print repo@sha256:... instead")
    _region(img)
    img.set_defaults(func=_image_uri)

    for verb, helptext in (
        ("smoke", "start a short smoke execution, wait, exit non-zero on failure"),
        ("run", "start a pipeline execution (waits only with --wait)"),
        ("run-pipeline", "start a pipeline execution in ENV (waits only with --wait)"),
    ):
        cmd = verbs.add_parser(verb, help=helptext)
        if verb == "run-pipeline":
            cmd.add_argument("env", metavar="ENV", help="environment (dev, prod)")
        else:
            _env(cmd, "the state machine is STATE_MACHINE or ENV's output state_machine_arn")
        cmd.add_argument("--state-machine", help="state machine ARN or name")
        cmd.add_argument("--series", help="series code (default: SERIES, else Brent)")
        cmd.add_argument("--run-date", help="YYYY-MM-DD (default: today, UTC)")
        cmd.add_argument(
            "--run-id",
            help="run id (default: derived from the time; a smoke run of ENV: "
            "smoke-<IMAGE_TAG[:7]>-<UTC time>)",
        )
        cmd.add_argument("--input-json", help="extra JSON object merged into the execution input")
        cmd.add_argument(
            "--timeout",
            type=float,
            help="seconds to wait (1800; a smoke run of ENV: SMOKE_TIMEOUT, else 2700)",
        )
        cmd.add_argument("--poll", type=float, default=10, help="seconds between polls (10)")
        if verb != "smoke":
            cmd.add_argument("--wait", action="store_true", help="wait for the execution to end")
        _region(cmd)
        cmd.set_defaults(func=_smoke if verb == "smoke" else _run)


def _region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS region (default: AWS_REGION / profile)")


def _env(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("env", metavar="ENV", nargs="?", help=f"environment: {where}")


def _deployment(env: str) -> Any:
    from ipeacast.deploy import verbs

    return verbs.Deployment(verbs.settings_from_environ(), env)


def _need(args: argparse.Namespace, flag: str) -> None:
    if not args.env:
        raise ConfigError(f"'{args.deploy_command}' needs an environment (ENV) or {flag}")


def _image_verb(args: argparse.Namespace) -> int:
    from ipeacast.deploy import verbs

    settings = verbs.settings_from_environ()
    {"image": verbs.build_image, "save-image": verbs.save_image, "load-image": verbs.load_image}[
        args.deploy_command
    ](settings)
    return 0


def _stage_verb(args: argparse.Namespace) -> int:
    deployment = _deployment(args.env)
    {
        "push-image": deployment.push_image,
        "stage": deployment.stage,
        "ensure-staged": deployment.ensure_staged,
    }[args.deploy_command]()
    return 0


def _upload(args: argparse.Namespace) -> int:
    from ipeacast.deploy.verbs import upload

    bucket, dist, manifest = args.bucket, args.dist, args.manifest
    if not bucket or args.env:
        _need(args, "--bucket")
        deployment = _deployment(args.env)
        bucket = bucket or deployment.lake_bucket()
        dist = dist or deployment.settings.dist
        manifest = manifest or deployment.settings.manifest(args.env)
    upload(
        dist or "dist",
        bucket,
        manifest,
        prefix=args.prefix,
        region=args.region,
        dry_run=args.dry_run,
    )
    return 0


def _image_uri(args: argparse.Namespace) -> int:
    from ipeacast.deploy.image import image_uri

    repository, tag = args.repository, args.tag
    if not repository or not tag:
        if not repository:
            _need(args, "--repository")
        deployment = _deployment(args.env)
        repository = repository or deployment.ecr_repository()
        tag = tag or deployment.settings.image_tag
    print(image_uri(repository, tag, region=args.region, by_digest=args.digest))
    return 0


def _target(args: argparse.Namespace) -> None:
    """Fill --state-machine, --series, --timeout (and a smoke run's --run-id) from ENV."""
    if args.state_machine and not args.env:
        args.series = args.series or DEFAULT_SERIES
        args.timeout = args.timeout or DEFAULT_TIMEOUT
        return
    _need(args, "--state-machine")
    from ipeacast.deploy.verbs import smoke_run_id

    deployment = _deployment(args.env)
    settings = deployment.settings
    args.state_machine = args.state_machine or deployment.state_machine()
    args.series = args.series or settings.series
    if args.deploy_command == "smoke":
        args.timeout = args.timeout or settings.smoke_timeout
        args.run_id = args.run_id or smoke_run_id(settings.image_tag, datetime.now(UTC))
    else:
        args.timeout = args.timeout or DEFAULT_TIMEOUT


def _payload(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    from ipeacast.deploy.executions import run_input, smoke_input

    extra: dict[str, Any] = {}
    if args.input_json:
        try:
            extra = json.loads(args.input_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--input-json is not valid JSON: {exc}") from exc
        if not isinstance(extra, dict):
            raise ConfigError("--input-json must be a JSON object")
    build = smoke_input if prefix == "smoke" else run_input  # smoke: lake_prefix "smoke"
    return build(args.series, parse_date(args.run_date, "--run-date"), args.run_id, extra)


def _report(result: Any) -> None:
    print(f"execution: {result.arn}")
    print(f"status:    {result.status} after {result.seconds:.0f}s")
    if result.failure:
        print(result.failure.describe(), file=sys.stderr)


def _wait_and_report(args: argparse.Namespace, payload: dict, failed: str | None = None) -> int:
    """Start an execution, wait, print its outcome; 1 if it failed (`failed: cause` to stderr)."""
    from ipeacast.deploy.clients import SmokeFailed
    from ipeacast.deploy.executions import run_and_wait

    try:
        result = run_and_wait(
            args.state_machine,
            payload,
            region=args.region,
            timeout=args.timeout,
            poll=args.poll,
        )
    except SmokeFailed as exc:
        _report(exc.result)
        if failed:
            print(f"ipeacast: {failed}: {exc}", file=sys.stderr)
        return 1
    _report(result)
    return 0


def _smoke(args: argparse.Namespace) -> int:
    _target(args)
    payload = _payload(args, "smoke")
    print(f"smoke input: {json.dumps(payload)}")
    code = _wait_and_report(args, payload, failed="smoke test FAILED")
    if code == 0:
        print("smoke test passed")
    return code


def _run(args: argparse.Namespace) -> int:
    from ipeacast.deploy.executions import start_execution

    _target(args)
    payload = _payload(args, "run")
    print(f"input: {json.dumps(payload)}")
    if not args.wait:
        print(f"execution: {start_execution(args.state_machine, payload, region=args.region)}")
        return 0
    return _wait_and_report(args, payload)
