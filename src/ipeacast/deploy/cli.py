"""`ipeacast deploy ...`: the deployment verbs the workflows (and a laptop) run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_SERIES, parse_date


def register(subparsers: Any) -> None:
    deploy = subparsers.add_parser("deploy", help="deployment helpers (artifacts, image, smoke)")
    verbs = deploy.add_subparsers(dest="deploy_command", required=True)

    up = verbs.add_parser(
        "upload-artifacts",
        help="upload dist/ to s3://BUCKET/artifacts/<sha256>/<name> (idempotent)",
    )
    up.add_argument("--bucket", required=True, help="bucket name (no s3://)")
    up.add_argument("--dist", default="dist", help="directory of build outputs (default: dist)")
    up.add_argument("--prefix", default="artifacts", help="key prefix (default: artifacts)")
    up.add_argument("--manifest", help="write a JSON manifest (name -> key, uri, sha256) here")
    up.add_argument(
        "--dry-run", action="store_true", help="report what would change, upload nothing"
    )
    _region(up)
    up.set_defaults(func=_upload)

    img = verbs.add_parser("image-uri", help="print the image URI for a tag; fail if it is missing")
    img.add_argument("--repository", required=True, help="ECR repository name or URI")
    img.add_argument("--tag", required=True, help="image tag (the commit SHA of the build)")
    img.add_argument("--digest", action="store_true", help="print repo@sha256:... instead")
    _region(img)
    img.set_defaults(func=_image_uri)

    for verb, helptext in (
        ("smoke", "start a short smoke execution, wait, exit non-zero on failure"),
        ("run", "start a pipeline execution (waits only with --wait)"),
    ):
        cmd = verbs.add_parser(verb, help=helptext)
        cmd.add_argument("--state-machine", required=True, help="state machine ARN or name")
        cmd.add_argument("--series", default=DEFAULT_SERIES, help="series code")
        cmd.add_argument("--run-date", help="YYYY-MM-DD (default: today, UTC)")
        cmd.add_argument("--run-id", help="run id (default: derived from the time)")
        cmd.add_argument("--input-json", help="extra JSON object merged into the execution input")
        cmd.add_argument("--timeout", type=float, default=1800, help="seconds to wait (1800)")
        cmd.add_argument("--poll", type=float, default=10, help="seconds between polls (10)")
        if verb == "run":
            cmd.add_argument("--wait", action="store_true", help="wait for the execution to end")
        _region(cmd)
        cmd.set_defaults(func=_smoke if verb == "smoke" else _run)


def _region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS region (default: AWS_REGION / profile)")


def _upload(args: argparse.Namespace) -> int:
    from ipeacast.deploy.aws import upload_artifacts

    report = upload_artifacts(
        args.dist, args.bucket, prefix=args.prefix, region=args.region, dry_run=args.dry_run
    )
    for line in report.lines():
        print(line)
    if args.manifest:
        path = Path(args.manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.manifest(), indent=2, sort_keys=True) + "\n")
        print(f"manifest: {path}")
    return 0


def _image_uri(args: argparse.Namespace) -> int:
    from ipeacast.deploy.aws import image_uri

    print(image_uri(args.repository, args.tag, region=args.region, by_digest=args.digest))
    return 0


def _payload(args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    from ipeacast.deploy.aws import run_input, smoke_input

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
    from ipeacast.deploy.aws import SmokeFailed, run_and_wait

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
    payload = _payload(args, "smoke")
    print(f"smoke input: {json.dumps(payload)}")
    code = _wait_and_report(args, payload, failed="smoke test FAILED")
    if code == 0:
        print("smoke test passed")
    return code


def _run(args: argparse.Namespace) -> int:
    from ipeacast.deploy.aws import start_execution

    payload = _payload(args, "run")
    print(f"input: {json.dumps(payload)}")
    if not args.wait:
        print(f"execution: {start_execution(args.state_machine, payload, region=args.region)}")
        return 0
    return _wait_and_report(args, payload)
