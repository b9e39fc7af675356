"""`ipeacast` command line: parse arguments, call the library, report. Nothing else lives here.

ipeacast run      the whole pipeline on this machine (ipeacast.pipeline)
ipeacast show     the latest forecast in a lake, its run, and the realised accuracy so far
ipeacast deploy   deployment tooling (ipeacast.deploy; in a source checkout only: the wheel
                  shipped to Glue and the training image leaves it out)
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from pathlib import Path

from ipeacast.core.errors import ConfigError, IpeacastError, SourceUnreachable
from ipeacast.core.run import DEFAULT_LAKE, DEFAULT_SERIES, check_series, cli_flag

DEPLOY_COMMANDS = "ipeacast.deploy.cli"
# The public Brent snapshot the repository ships (data/README.md: source, date, licence), for
# a first run without the Ipeadata API; relative to a checkout's root, where `make run` runs.
SNAPSHOT = Path("data/brent-daily.csv")


def offline_hint(series: str, snapshot: Path = SNAPSHOT) -> str:
    """The command that runs without the API: the shipped snapshot for its series, else a file."""
    if series == DEFAULT_SERIES and snapshot.is_file():
        return f"run offline with the snapshot in this repository: make run SOURCE={snapshot}"
    return f"run offline from a file: make run SERIES={series} SOURCE=FILE (ipeacast run --source)"


def register_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the pipeline locally: extract, transform, load, train")
    p.add_argument("--series", default=DEFAULT_SERIES, help="Ipeadata series code")
    p.add_argument("--source", help="offline source file instead of the Ipeadata API")
    p.add_argument("--lake", default=DEFAULT_LAKE, help="data lake root: a folder or s3://bucket")
    p.add_argument("--as-of", help="use no observation after this date (YYYY-MM-DD)")
    p.add_argument("--run-date", help="partition date of this run (default: --as-of or today)")
    p.add_argument("--run-id", help="run id (default: derived from the run date and time)")
    p.set_defaults(func=_cmd_run)


def register_show(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("show", help="the latest forecast, its run and the realised accuracy")
    p.add_argument("--lake", default=DEFAULT_LAKE, help="data lake root: a folder or s3://bucket")
    p.add_argument("--series", default=DEFAULT_SERIES, help="Ipeadata series code")
    p.set_defaults(func=_cmd_show)


def _cmd_show(args: argparse.Namespace) -> int:
    from ipeacast.show import load, render

    check_series(args.series, "series code (--series)")
    print(render(load(args.lake, args.series), args.series))
    return 0


def config_from_args(args: argparse.Namespace):
    """The step configuration of `ipeacast run` (the run, plus the ETL options)."""
    from ipeacast.etl.steps import StepConfig

    return StepConfig.from_fields(vars(args), name=cli_flag, lake_root=args.lake)


def _cmd_run(args: argparse.Namespace) -> int:
    from ipeacast.pipeline import run_pipeline, summary_table

    cfg = config_from_args(args)
    run = cfg.run
    print(
        f"ipeacast run: series {run.series}, run date {run.run_date}, run id {run.run_id}"
        + (f", as of {cfg.as_of}" if cfg.as_of else "")
    )
    try:
        outputs = run_pipeline(cfg)
    except SourceUnreachable as exc:
        raise SourceUnreachable(f"{exc}; {offline_hint(run.series)}") from exc
    print("\nOutputs:")
    for step, result in outputs.items():
        for key, value in result.items():
            print(f"  {step:<10} {key:<16} {value}")
    print(f"\n{summary_table(cfg)}")
    return 0


def _register_deploy(sub: argparse._SubParsersAction) -> None:
    if importlib.util.find_spec(DEPLOY_COMMANDS) is not None:
        importlib.import_module(DEPLOY_COMMANDS).register(sub)
        return

    def unavailable(args: argparse.Namespace) -> int:
        raise ConfigError(
            "'ipeacast deploy' needs the deployment tooling (ipeacast.deploy), which this "
            "installation leaves out: run it from a source checkout (make deploy-setup)"
        )

    p = sub.add_parser("deploy", help="deployment tooling (not in this installation)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=unavailable)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipeacast", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    register_run(sub)
    register_show(sub)
    _register_deploy(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except IpeacastError as exc:
        if args.verbose:
            raise
        print(f"ipeacast: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ipeacast: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
