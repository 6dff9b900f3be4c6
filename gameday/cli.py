"""The `gameday` command line: subcommands parse their arguments and delegate."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from gameday import __version__
from gameday.errors import EXIT_HARNESS, HarnessError
from gameday.settings import Settings


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 3 (the brief's harness error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_HARNESS, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gameday", description="Chaos and gameday testing harness.")
    parser.add_argument("--version", action="version", version=f"gameday {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    up = commands.add_parser("up", help="start the reference stack on the embedded backend")
    up.add_argument(
        "-d", "--detach", action="store_true", help="run in the background; stop with `down`"
    )
    commands.add_parser("down", help="stop the running stack")
    status = commands.add_parser("status", help="show the running stack")
    status.add_argument("--json", action="store_true", help="machine-readable, with API keys")

    bench = commands.add_parser("bench", help="run a benchmark and print its figures")
    targets = bench.add_subparsers(dest="target", metavar="TARGET", parser_class=_Parser)
    targets.required = True
    backend = targets.add_parser(
        "backend", help="SQS and DynamoDB throughput: stock moto vs our backend"
    )
    backend.add_argument(
        "--depths",
        default="0,1000,10000",
        help="comma-separated queue depths (default: %(default)s)",
    )
    backend.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="time per figure, split over rounds (default: %(default)s)",
    )
    backend.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return _dispatch(args, settings)
    except HarnessError as exc:
        print(f"gameday: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gameday: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("up", "down", "status"):
        from gameday.stack import control

        if args.command == "up":
            run = control.up_detached if args.detach else control.up
            return run(settings, sys.stdout, sys.stderr)
        if args.command == "down":
            return control.down(settings, sys.stdout)
        return control.status(settings, sys.stdout, as_json=args.json)
    if args.command == "bench":
        from gameday.bench import backend as bench_backend

        return bench_backend.main(args, settings, sys.stdout, sys.stderr)
    raise HarnessError(f"unknown command {args.command!r}")
