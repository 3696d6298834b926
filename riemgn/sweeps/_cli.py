"""``riemgn sweep run SPEC.toml --out DIR [--jobs N] [--resume] [--retries K]``."""

from __future__ import annotations

import argparse
import sys
import textwrap

__all__ = ["add_sweep_parser", "sweep_main"]

#: The largest exit code that counts failed points (exit codes end at 255,
#: and 130 and 143 mean SIGINT and SIGTERM).
MAX_FAILED_CODE = 125


def add_sweep_parser(commands, formatter) -> None:
    """Add ``sweep`` (with its command ``run``) to the ``riemgn`` subcommands.

    Parameters
    ----------
    commands : argparse subparsers action
        The ``riemgn`` parser's subcommands.
    formatter : type
        The help formatter class.
    """
    sweep = commands.add_parser(
        "sweep",
        help="run a grid of experiments from a TOML specification, resumably",
        description=textwrap.fill(
            "Run every point of a grid of a registered experiment (a flow or a "
            "solver on a teacher-student problem, or a claim's per-run "
            "measurement: c1, c1_trajectory, c2 to c6), one durable record "
            "per finished point, and rebuild results.jsonl and results.csv.",
            78,
        ),
        formatter_class=formatter,
    )
    actions = sweep.add_subparsers(dest="sweep_command", metavar="{run,report}")
    run = actions.add_parser(
        "run",
        help="run a sweep (or finish one with --resume)",
        formatter_class=formatter,
        description=textwrap.fill(
            "Exit status: 0 if every point succeeded; the number of failed "
            f"points (at most {MAX_FAILED_CODE}) otherwise; 2 for a usage "
            "error (an invalid specification, an --out that holds records "
            "without --resume or that another sweep holds), before any point "
            "runs; 130 or 143 if interrupted by SIGINT or SIGTERM (the "
            "finished points are recorded: --resume finishes the sweep).",
            78,
        ),
    )
    run.add_argument("spec", help="the sweep specification, a TOML file")
    run.add_argument("--out", required=True, help="the sweep's directory")
    run.add_argument("--jobs", type=_positive_int, default=1, help="worker processes")
    run.add_argument(
        "--resume",
        action="store_true",
        help="run only the points without a successful record in --out",
    )
    run.add_argument(
        "--retries",
        type=_non_negative_int,
        default=0,
        help="extra attempts for a point whose experiment raises",
    )
    from riemgn.verify._dask import add_dask_options

    add_dask_options(run)
    run.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar",
    )
    run.set_defaults(command_parser=run, sweep_parser=sweep)
    report = actions.add_parser(
        "report",
        help="draw a sweep's standard figures and write report.md",
        formatter_class=formatter,
        description=textwrap.fill(
            "Draw the standard figures of a sweep's table in DIR/figures (each "
            "result against cond(G0) and against each numeric grid axis, one "
            "series per flow or solver) and write DIR/report.md.",
            78,
        ),
    )
    report.add_argument("out", metavar="DIR", help="the sweep's directory")
    report.set_defaults(command_parser=report, sweep_parser=sweep)


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def sweep_main(args) -> int:
    """Run ``riemgn sweep run``; return the exit code (see the command's help).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    int
        The exit code.
    """
    from riemgn.sweeps import SpecError, load_spec, run_sweep
    from riemgn.verify._dask import dask_options
    from riemgn.verify._signals import Terminated, sigterm_raises

    command = getattr(args, "sweep_command", None)
    if command not in ("run", "report"):
        args.sweep_parser.print_help(sys.stderr)
        return 2
    parser = args.command_parser
    if command == "report":
        return _report(args, parser)
    try:
        spec = load_spec(args.spec)
    except SpecError as error:
        parser.error(str(error))
    with sigterm_raises():
        try:
            result = run_sweep(
                spec,
                args.out,
                jobs=args.jobs,
                resume=args.resume,
                retries=args.retries,
                progress=args.progress,
                dask=dask_options(args, parser),
            )
        except (ImportError, OSError) as error:  # no dask, or no cluster there
            parser.error(f"cannot run on the Dask cluster: {error}")
        except ValueError as error:  # --out holds records, or is held
            parser.error(
                str(error).replace(
                    "resume=True (riemgn sweep run --resume)", "--resume"
                )
            )
        except (KeyboardInterrupt, Terminated) as interrupt:
            name, code = (
                ("SIGTERM", 143)
                if isinstance(interrupt, Terminated)
                else ("SIGINT", 130)
            )
            print(
                f"\nriemgn sweep: interrupted by {name}: the finished points are "
                f"recorded in {args.out!r}; --resume finishes the sweep",
                file=sys.stderr,
            )
            return code
    if result.scheduler_lost:
        print(
            "riemgn sweep: the connection to the Dask scheduler was lost: the "
            "points not finished are recorded as failed; --resume (with a "
            "running scheduler) finishes the sweep",
            file=sys.stderr,
        )
    print(
        f"riemgn sweep: {result.n_points} points, {result.ran} run, "
        f"{result.skipped} already recorded, {result.failed} failed; "
        f"table: {result.out / 'results.csv'}"
    )
    return min(result.failed, MAX_FAILED_CODE)


def _report(args, parser) -> int:
    from riemgn.sweeps.report import sweep_report

    try:
        summary = sweep_report(args.out)
    except ValueError as error:
        parser.error(str(error))
    print(
        f"riemgn sweep report: {summary['points']} points, {summary['recorded']} "
        f"recorded, {summary['failed']} failed; {summary['report']}"
    )
    for path in summary["figures"]:
        print(f"  {path}")
    return 0
