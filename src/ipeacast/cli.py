"""`ipeacast` command line: parse arguments, call the library, report. Nothing else lives here."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ipeacast.errors import IpeacastError

# Each module defines `register(subparsers)`, adding sub-commands with `set_defaults(func=...)`;
# `func(args)` returns the exit code.
COMMAND_MODULES = ("ipeacast.pipeline", "ipeacast.deploy_cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ipeacast", description=__doc__)
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logs and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
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
