"""The `gameday` command line: subcommands parse their arguments and delegate."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from gameday import __version__
from gameday.errors import EXIT_HARNESS, EXIT_INTERRUPTED, HarnessError
from gameday.project import Project
from gameday.settings import ENV_PROJECT_DIR, Settings


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 3 (the brief's harness error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_HARNESS, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _project_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--project",
        metavar="DIR",
        default=default,
        help=f"the project folder: experiments/, slos.yaml, profiles.yaml, gameday-runs/ "
        f"(default: ${ENV_PROJECT_DIR}, else the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gameday", description="Chaos and gameday testing harness.")
    parser.add_argument("--version", action="version", version=f"gameday {__version__}")
    _project_option(parser, None)
    # Every subcommand takes --project too (`gameday run --project DIR` reads naturally).
    common = argparse.ArgumentParser(add_help=False)
    _project_option(common, argparse.SUPPRESS)
    commands = _Commands(
        parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser), common
    )
    commands.required = True

    init = commands.add_parser("init", help="write a starter gameday project you can edit")
    init.add_argument(
        "dir", metavar="DIR", nargs="?", help="(default: --project, else the current folder)"
    )
    init.add_argument("--force", action="store_true", help="write into a folder that has files")

    up = commands.add_parser("up", help="start the reference stack on the embedded backend")
    up.add_argument(
        "-d", "--detach", action="store_true", help="run in the background; stop with `down`"
    )
    up.add_argument(
        "--from-template",
        action="store_true",
        help="deploy system_under_test/template.yaml through the backend's CloudFormation "
        "and run the system on the stack's outputs (the offline proof of the AWS target)",
    )
    up.add_argument(
        "--variant",
        metavar="NAME",
        help="start a deliberately broken variant (for `gameday regressions`; see docs)",
    )
    up.add_argument(
        "--i-know-it-is-broken",
        metavar="NAME",
        dest="variant_confirmed",
        help="repeat the variant's name: it is never started by accident",
    )
    target = commands.add_parser(
        "target", help="aim every command at a deployed stack, by its CloudFormation outputs"
    )
    target.add_argument("--stack", required=True, help="the CloudFormation stack's name")
    target.add_argument(
        "--confirm-account",
        metavar="ID",
        help="the AWS account you mean (required unless AWS_ENDPOINT_URL is the embedded backend)",
    )
    commands.add_parser("down", help="stop the running stack (or forget the target)")
    status = commands.add_parser("status", help="show the running stack")
    status.add_argument("--json", action="store_true", help="machine-readable, with API keys")

    _add_operate(commands)
    _add_load(commands)

    regressions = commands.add_parser(
        "regressions",
        help="prove the scenarios catch a broken system: baseline, then each broken variant",
    )
    regressions.add_argument(
        "--variant",
        metavar="NAME",
        action="append",
        help="only these variants (repeat, or comma-separated; default: all; see --list)",
    )
    regressions.add_argument("--list", action="store_true", help="list the variants and exit")
    regressions.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds the scenarios may take on one stack (a timeout is not a catch)",
    )
    regressions.add_argument(
        "--run-dir", help="run folder (default: gameday-runs/<time>-regressions in the project)"
    )

    run = commands.add_parser("run", help="run a gameday: Chaos Toolkit experiments, a report")
    run.add_argument(
        "experiments",
        metavar="EXPERIMENT",
        nargs="*",
        help="names in experiments/ or files (default: the five stories)",
    )
    run.add_argument("--time-scale", type=float, default=1.0, help="multiply load durations")
    run.add_argument("--seed", type=int, help="make fault and traffic randomness reproducible")
    run.add_argument("--dry", action="store_true", help="validate and walk, inject nothing")
    run.add_argument("--run-dir", help="run folder (default: gameday-runs/... in the project)")
    report = commands.add_parser("report", help="render a run folder's HTML report, or the index")
    report.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a run folder")
    report.add_argument(
        "--index",
        nargs="?",
        const="",
        metavar="RUNS_DIR",
        help="rebuild the index over every run (default: the project's gameday-runs/)",
    )

    verdict = commands.add_parser("verdict", help="judge a run folder by the SLO catalogue")
    verdict.add_argument("run_dir", metavar="RUN_DIR")
    verdict.add_argument("--catalogue", help="SLO catalogue (default: the project's slos.yaml)")
    verdict.add_argument("--json", action="store_true")

    _add_bench(commands)
    return parser


def _add_operate(commands: Any) -> None:
    fault = commands.add_parser("fault", help="switch a fault of the reference system on or off")
    fault_actions = fault.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    fault_actions.required = True
    fault_set = fault_actions.add_parser("set", help="write the structured fault document")
    fault_set.add_argument("mode", help="poison_payload, slow_downstream, random_fail_p30, ...")
    fault_set.add_argument("--ttl", type=float, default=300, help="seconds until it expires")
    fault_set.add_argument("--latency-ms", type=int)
    fault_set.add_argument("--error-rate", type=float)
    fault_set.add_argument("--ratio", type=float)
    fault_set.add_argument("--status-code", type=int)
    fault_set.add_argument("--hang", action="store_true")
    fault_actions.add_parser("clear", help="switch every fault off")

    dlq = commands.add_parser("dlq", help="look into the DLQ and redrive it")
    dlq_actions = dlq.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    dlq_actions.required = True
    for action, help_text in (
        ("preview", "sample DLQ messages with their error attributes (consumes nothing)"),
        ("redrive", "move matching DLQ messages back to the main queue"),
    ):
        sub = dlq_actions.add_parser(action, help=help_text)
        sub.add_argument("--error-type", help="VALIDATION, PERMANENT, ..., or MAX_RECEIVES")
        sub.add_argument("--min-age", type=float, default=0.0, help="seconds in the DLQ at least")
        sub.add_argument("--max", type=int, default=20 if action == "preview" else 100)
        if action == "preview":
            sub.add_argument("--json", action="store_true")
        else:
            sub.add_argument("--jitter", type=int, default=0, help="random delay up to N s each")


def _add_load(commands: Any) -> None:
    load = commands.add_parser("load", help="run a Locust profile headless, gated on the SLOs")
    load.add_argument("profile", metavar="PROFILE", help="steady, step, spike, soak, ...")
    load.add_argument("--host", help="API base URL (default: the running stack's)")
    load.add_argument("--allow-remote", action="store_true", help="allow a non-loopback host")
    load.add_argument("--scale", type=float, default=1.0, help="multiply the profile's rates")
    load.add_argument(
        "--time-scale", type=float, default=1.0, help="multiply its durations (0.1: 10x shorter)"
    )
    load.add_argument(
        "--processes", type=int, default=1, help="Locust worker processes on this machine"
    )
    load.add_argument(
        "--expect-workers",
        type=int,
        default=0,
        help="run as Locust master and wait for N `locust -f loadtests/locustfile.py --worker`",
    )
    load.add_argument(
        "--master-bind-host", default="127.0.0.1", help="where the master listens for workers"
    )
    load.add_argument("--master-bind-port", type=int, default=5557)
    load.add_argument("--run-dir", help="run folder (default: gameday-runs/... in the project)")
    load.add_argument("--catalogue", help="SLO catalogue (default: the project's slos.yaml)")
    load.add_argument("--drain-timeout", type=float, default=120.0)
    load.add_argument("--profiles", help="profiles file (default: the project's profiles.yaml)")
    load.add_argument(
        "--guardrail", help="SLOs watched live that abort the run, e.g. ingest-latency"
    )
    load.add_argument("--grace", type=float, default=10.0, help="seconds a breach may last")


def _add_bench(commands: Any) -> None:
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
    ingest = targets.add_parser("ingest", help="POST /events throughput and latency vs ceiling")
    ingest.add_argument("--threads", type=int, default=8)
    ingest.add_argument("--seconds", type=float, default=10.0)
    drain = targets.add_parser("drain", help="worker drain rate vs the backend ceiling")
    drain.add_argument("--messages", type=int, default=2000)
    drain.add_argument("--workers", type=int, default=2)
    timeline = targets.add_parser("sampler", help="ingest throughput with and without sampler")
    timeline.add_argument("--threads", type=int, default=8)
    timeline.add_argument("--seconds", type=float, default=4.0)
    timeline.add_argument("--rounds", type=int, default=8)
    ledger = targets.add_parser("ledger", help="reconcile a million acked ids: time, memory")
    ledger.add_argument("--ids", type=int, default=1_000_000)
    metrics = targets.add_parser("metrics", help="a CloudWatch window read at depth: ours vs moto")
    metrics.add_argument("--datums", type=int, default=50_000)
    metrics.add_argument("--window", type=float, default=20.0, help="seconds read")
    load = targets.add_parser("load", help="locustfile machinery vs bare Locust; schedule keeping")
    load.add_argument("--rounds", type=int, default=3)
    load.add_argument("--seconds", type=float, default=8.0)
    load.add_argument("--concurrency", type=int, default=50, help="requests in flight")
    load.add_argument("--rate", type=float, default=300.0, help="arrivals/s for the schedule")
    load.add_argument("--delay-ms", type=float, default=300.0, help="slowed answers")
    switch = targets.add_parser("faults", help="fault switch to behaviour change, p95")
    switch.add_argument("--trials", type=int, default=20)
    targets.add_parser("report", help="render a 30-minute gameday and a 200-run index: time, size")


class _Commands:
    """The subcommand registry, adding the shared options to every subcommand."""

    def __init__(self, actions: Any, common: argparse.ArgumentParser) -> None:
        self._actions, self._common = actions, common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self._actions.add_parser(
            name, parents=[self._common], **kwargs
        )
        return parser

    @property
    def required(self) -> bool:
        return bool(self._actions.required)

    @required.setter
    def required(self, value: bool) -> None:
        self._actions.required = value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        chosen = args.project or os.environ.get(ENV_PROJECT_DIR)
        if args.command == "init" and args.dir is None:
            args.dir = chosen or "."  # init makes the project folder: it need not exist yet
        elif chosen:  # checked once; children (chaos run, locust, pytest) inherit it
            os.environ[ENV_PROJECT_DIR] = str(Project.checked(chosen).root)
        settings = Settings.from_env()
        return _dispatch(args, settings)
    except HarnessError as exc:
        print(f"gameday: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gameday: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `gameday status --json | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    # Imports stay inside each handler: moto and boto3 load only for commands that need them.
    handlers = {
        "init": _init,
        "up": _stack,
        "target": _target,
        "down": _stack,
        "status": _stack,
        "fault": _operate,
        "dlq": _operate,
        "verdict": _verdict,
        "load": _load,
        "run": _run,
        "regressions": _regressions,
        "report": _report,
        "bench": _bench,
    }
    return handlers[args.command](args, settings, sys.stdout, sys.stderr)


def _init(args: argparse.Namespace, _settings: Settings, out: TextIO, _err: TextIO) -> int:
    from gameday import init

    return init.main(args, out)


def _stack(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from gameday.stack import control

    if args.command == "up":
        from gameday.variants import confirmed

        variant = confirmed(args.variant, args.variant_confirmed)
        start = control.up_detached if args.detach else control.up
        return start(settings, out, err, variant, from_template=args.from_template)
    if args.command == "down":
        return control.down(settings, out)
    return control.status(settings, out, as_json=args.json)


def _target(args: argparse.Namespace, settings: Settings, out: TextIO, _err: TextIO) -> int:
    from gameday import target

    return target.main(args.stack, args.confirm_account, settings, out)


def _operate(args: argparse.Namespace, settings: Settings, out: TextIO, _err: TextIO) -> int:
    from gameday import operate

    actions = {
        ("fault", "set"): lambda: operate.fault_set(args, settings, out),
        ("fault", "clear"): lambda: operate.fault_clear(settings, out),
        ("dlq", "preview"): lambda: operate.dlq_preview(args, settings, out),
        ("dlq", "redrive"): lambda: operate.dlq_redrive(args, settings, out),
    }
    return actions[(args.command, args.action)]()


def _load(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from gameday import load

    return load.main(args, settings, out, err)


def _run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from gameday import run

    return run.main(args, settings, out, err)


def _regressions(args: argparse.Namespace, _settings: Settings, out: TextIO, err: TextIO) -> int:
    from gameday import regressions

    return regressions.main(args, out, err)


def _report(args: argparse.Namespace, _settings: Settings, out: TextIO, _err: TextIO) -> int:
    from gameday.report import render, render_index

    if args.index is not None:
        if args.run_dir:
            raise HarnessError("give a RUN_DIR or --index, not both")
        runs = Path(args.index) if args.index else Project.current().runs_dir
        if not runs.is_dir():
            raise HarnessError(f"{runs} is not a folder of runs", "run `gameday run` first")
        print(_writing(runs, lambda: render_index(runs)), file=out)
        return 0
    if not args.run_dir:
        raise HarnessError("give a RUN_DIR, or --index", "see `gameday report --help`")
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise HarnessError(f"{run_dir} is not a folder", "give the folder a run wrote")
    print(_writing(run_dir, lambda: render(run_dir)), file=out)
    return 0


def _writing(folder: Path, write: Any) -> Path:
    """A report written into ``folder``; an unwritable folder is one line, not a traceback."""
    try:
        written: Path = write()
    except OSError as exc:
        raise HarnessError(f"cannot write into {folder}: {exc.strerror}") from None
    return written


def _verdict(args: argparse.Namespace, _settings: Settings, out: TextIO, _err: TextIO) -> int:
    import json
    from pathlib import Path

    from gameday.measure import slo, verdict

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise HarnessError(f"{run_dir} is not a run folder", "give the folder a run wrote")
    catalogue = slo.load_catalogue(args.catalogue)
    result = verdict.evaluate(catalogue, run_dir)
    verdict.write(result, run_dir)
    print(json.dumps(result.as_dict(), indent=2) if args.json else verdict.table(result), file=out)
    return result.exit_code


def _bench(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    if args.target == "backend":
        from gameday.bench import backend as bench_backend

        return bench_backend.main(args, settings, out, err)
    if args.target == "report":
        from gameday.bench import report as bench_report

        return bench_report.main(args, out)
    if args.target == "ledger":
        from gameday.bench import ledger as bench_ledger

        return bench_ledger.main(args, out)
    if args.target == "metrics":
        from gameday.bench import metrics as bench_metrics

        return bench_metrics.main(args, out)
    from gameday.stack.control import progress_printer

    if args.target == "load":
        from gameday.bench import load as bench_load

        return bench_load.main(args, out, progress_printer(err))
    from gameday.bench import system as bench_system

    run = {
        "ingest": bench_system.ingest,
        "drain": bench_system.drain,
        "faults": bench_system.faults,
        "sampler": bench_system.sampler,
    }[args.target]
    return run(args, settings, out, progress_printer(err))
