"""The ``riemgn`` command line: parses, calls, prints.

- ``riemgn verify`` checks the claims of the theory (:mod:`riemgn.verify`)
  and writes a report with figures;
- ``riemgn manifold`` prints a summary of one output manifold at
  initialization;
- ``riemgn --version``.

``python -m riemgn`` is the same command. Exit codes: 0 success (every claim
passed), 1 a claim failed or was inconclusive (or the report could not be
written), 2 a usage error (including an ``--out`` that another ``riemgn
verify`` is using), 130 and 143 a ``verify`` interrupted by SIGINT (Ctrl-C)
and SIGTERM, 141 when standard output is closed early (``riemgn verify |
head -1``; as for a tool killed by SIGPIPE, the report is written).

``riemgn verify`` locks ``--out`` for its whole run, assembles the new
report in a temporary directory beside it and swaps it in as a whole
(:mod:`riemgn.verify.report`), then prints the table: an interrupt at any
point leaves either the old report or the new one, never a mix, and no
temporary file or worker process behind.

:func:`riemgn.cli.main` is the command as a function of its arguments, for
scripts and tests; :func:`riemgn.cli.main_entry` is the console script.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import textwrap
import time

from riemgn import __version__

__all__ = ["main", "main_entry"]

_EPILOG = """\
outputs (in --out):
  report.json   machine-readable verdicts, metrics, criteria and environment;
                its JSON Schema ships as riemgn/verify/report.schema.json
  report.md     a human summary: a table of claims, then numbers and figures
  C1.png ...    one figure per claim in each --format (C1.pdf, C1.svg, ...),
                unless --no-plots

exit codes:
  0    every requested claim passed
  1    a claim failed or was inconclusive (the reasons are in the report), or
       the report could not be written (--out is then unchanged)
  2    a usage error (unknown claim, bad option, unwritable or occupied --out,
       --out in use by another riemgn verify, a real --data without
       scikit-learn, a --data no requested claim supports: the reason is
       printed)
  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM: --out is unchanged
       unless the message says the report was written
  141  standard output was closed early (as by `| head`); the report is written
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (pre-wrapped by :func:`_wrap`), and
    each option's default at the end of its help."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default is argparse.SUPPRESS
            or "default" in text
        ):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return f"{text} (default: off)"
        if default is None:
            return text
        return f"{text} (default: %(default)s)"


def _wrap(*paragraphs: str) -> str:
    """``paragraphs`` wrapped to the terminal's width, as argparse wraps help."""
    width = max(min(shutil.get_terminal_size().columns, 100) - 2, 40)
    return "\n\n".join(textwrap.fill(p, width) for p in paragraphs)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, with exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return abs(value)  # -0.0 is 0


def _claim_list(text: str) -> list[str]:
    from riemgn.verify import CLAIMS

    ids = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(
            f"expected claim ids such as C1,C3, got {text!r}"
        )
    for claim_id in ids:
        if claim_id not in CLAIMS:
            raise argparse.ArgumentTypeError(
                f"unknown claim {claim_id!r} (known: {', '.join(CLAIMS)})"
            )
    return list(dict.fromkeys(ids))


def _format_list(text: str) -> tuple[str, ...]:
    from riemgn.verify.report import _check_formats

    try:
        return _check_formats(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _claim_help() -> str:
    from riemgn.verify import CLAIMS

    return "\n".join(f"  {c.id}  {c.title}" for c in CLAIMS.values())


def build_parser() -> argparse.ArgumentParser:
    """The ``riemgn`` parser with its ``verify`` and ``manifold`` subcommands."""
    parser = _Parser(
        prog="riemgn",
        description=_wrap(
            "Riemannian geometry of neural-network training: check the "
            "Gauss-Newton / Riemannian theory's claims (verify) or inspect one "
            "output manifold (manifold)."
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"riemgn {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="{verify,manifold,sweep}")

    verify = commands.add_parser(
        "verify",
        help="check the claims C1-C6 numerically and write a report with figures",
        description=_wrap(
            "Run one experiment per claim of the theory, decide each claim "
            "(pass, fail or inconclusive) by a numeric criterion with a "
            "tolerance, and write report.json, report.md and one figure per "
            "claim."
        )
        + f"\n\nclaims:\n{_claim_help()}",
        epilog=_EPILOG,
        formatter_class=_HelpFormatter,
    )
    verify.set_defaults(command_parser=verify)
    _verify_options(verify)

    manifold = commands.add_parser(
        "manifold",
        help="summarize one output manifold at initialization",
        formatter_class=_HelpFormatter,
        description=_wrap(
            "Build a two-layer network f(x; W) = (alpha/sqrt(m)) sum_i c_i "
            "sigma(<w_i, x>) on teacher-student data and print its output "
            "manifold's dimension, rank, cond(G0), curvature |II|, the initial "
            "residual |F(theta0) - y| and whether F is an immersion."
        ),
    )
    manifold.set_defaults(command_parser=manifold)
    _manifold_options(manifold)
    from riemgn.sweeps._cli import add_sweep_parser

    add_sweep_parser(commands, _HelpFormatter)
    return parser


def _verify_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--claims",
        type=_claim_list,
        metavar="C1,C3",
        help=(
            "comma-separated claim ids to check (default: every claim that "
            "supports --data)"
        ),
    )
    parser.add_argument(
        "--preset",
        choices=("quick", "full", "scale"),
        default="quick",
        help=(
            "quick: small sweeps, under a minute on two cores; full: "
            "wide sweeps (alpha over >= 4 decades, cond(G0) and lambda_min(K0) "
            "over >= 7, 5 seeds each), about 3 minutes with --jobs 2 on two "
            "cores, 5 with one job; scale: C1, C2, C6 at n = 4000 and "
            "p = 1000, C5 at p = 40000, with the 'auto' solver (C3 and C4 "
            "are skipped: see docs/verification.rst)"
        ),
    )
    parser.add_argument(
        "--data",
        choices=("synthetic", "diabetes", "breast_cancer", "digits"),
        default="synthetic",
        help=(
            "synthetic: teacher-student data with controlled conditioning; "
            "diabetes, breast_cancer (labels +-1), digits (3 against 8, "
            "labels +-1): scikit-learn's bundled sets (need the 'data' "
            "extra), for the claims that support them; the report says why "
            "the others do not"
        ),
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="non-negative seed from which every run's generator is derived",
    )
    parser.add_argument(
        "--out",
        default="riemgn-report",
        metavar="DIR",
        help=(
            "directory for the report and figures; locked "
            "for the run (a second riemgn verify on it refuses) and replaced "
            "as a whole once the report is complete; files of yours in it "
            "are kept"
        ),
    )
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help=(
            "worker processes for independent runs; every measured number "
            "except wall-clock times is identical for every N"
        ),
    )
    from riemgn.verify._dask import add_dask_options

    add_dask_options(parser)
    parser.add_argument(
        "--format",
        dest="formats",
        type=_format_list,
        default="png",
        metavar="FMT[,FMT]",
        help=(
            "figure formats, comma-separated, from png, pdf and svg: PNG for "
            "screens, PDF and SVG (vector) for papers"
        ),
    )
    parser.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="do not draw the figures (report.json and report.md only)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help=(
            "replace a report already in --out (without it, an existing "
            "report is never touched); the old report stays whole until the "
            "new one is swapped in, and an interrupted run leaves it as it was"
        ),
    )


def _manifold_options(parser: argparse.ArgumentParser) -> None:
    from riemgn.networks import ACTIVATIONS
    from riemgn.networks.two_layer import INIT_SCHEMES

    parser.add_argument(
        "--width",
        type=_positive_int,
        default=4,
        help="neurons m; --n, --d and --width are refused if the run cannot fit "
        "in the available memory",
    )
    parser.add_argument(
        "--alpha", type=_positive_float, default=1.0, help="scaling factor alpha"
    )
    parser.add_argument("--n", type=_positive_int, default=40, help="samples n")
    parser.add_argument("--d", type=_positive_int, default=3, help="input dimension d")
    parser.add_argument(
        "--init", choices=INIT_SCHEMES, default="standard", help="initialization"
    )
    parser.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="activation"
    )
    parser.add_argument(
        "--cond", type=_positive_float, default=1.0, help="cond(X) of the inputs"
    )
    parser.add_argument(
        "--noise", type=_non_negative_float, default=0.0, help="label noise std"
    )
    parser.add_argument("--seed", type=_seed, default=0, help="random seed")
    parser.add_argument(
        "--check",
        action="store_true",
        help=(
            "also run manifolds.check_manifold (Taylor slopes, identities) and "
            "give each number a verdict; exits 1 if a check fails or is "
            "unresolved (a Taylor error lost in round-off)"
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code.

    ``riemgn verify`` prints its progress to standard error, then the table
    of verdicts and the paths of the report to standard output;
    ``riemgn manifold`` prints its summary to standard output. Without a
    command, the help goes to standard error.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name; ``sys.argv[1:]`` if
        ``None``.

    Returns
    -------
    int
        0 if every claim passed (``verify``) or the summary was printed
        (``manifold``); 1 if a claim failed or was inconclusive, or the
        report could not be written (``--out`` is then unchanged); 2
        without a command; 130 or 143 if ``verify`` was interrupted by
        SIGINT (``Ctrl-C``) or SIGTERM (``--out`` is unchanged unless the
        report was already written, as the message says); 141 if standard
        output was closed before the table was printed (the report is
        written).

    Raises
    ------
    SystemExit
        With code 2 for a usage error (an unknown claim or option, an
        empty, unwritable or occupied ``--out``, an ``--out`` that another
        ``riemgn verify`` holds, ``--data diabetes`` without scikit-learn),
        the message on standard error; with code 0 after ``--help`` or
        ``--version``.

    Examples
    --------
    >>> from riemgn.cli import main
    >>> main(["manifold", "--n", "10", "--d", "2", "--width", "2"])  # doctest: +ELLIPSIS
    riemgn ...: output manifold of TwoLayerNetwork(input_dim=2, width=2, alpha=1.0, activation='tanh')
      samples n = 10, parameters p = 4, initialization 'standard'
      rank J(theta0) = 4 of 4 (singular values <= ... count as zero)
      cond(G0) = cond(J^T J) = ...
      |F(theta0)| = ...
      |F(theta0) - y| = ...
      immersion: yes, dim M = 4 in R^10
      |II| at F(theta0) = ...
    0

    ``--version`` and usage errors end with ``SystemExit``:

    >>> try:  # doctest: +ELLIPSIS
    ...     main(["--version"])
    ... except SystemExit as exit:
    ...     print("exit code", exit.code)
    riemgn ...
    exit code 0
    >>> try:
    ...     main(["verify", "--claims", "C9"])  # unknown claim: a usage error
    ... except SystemExit as exit:
    ...     print("exit code", exit.code)
    exit code 2
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] in (["--version"], ["-V"]) and len(argv) == 1:
        # Answered before the parser is built: building it imports the claims
        # (numpy, scipy, matplotlib), which --version does not need.
        print(f"riemgn {__version__}")
        raise SystemExit(0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "verify":
        return _verify(args, args.command_parser)
    if args.command == "manifold":
        return _manifold(args, args.command_parser)
    if args.command == "sweep":
        from riemgn.sweeps._cli import sweep_main

        return sweep_main(args)
    parser.print_help(sys.stderr)
    return 2


def _selected_claims(args, parser) -> list[str]:
    """The ids of the claims to run on ``--data``; a usage error, with the reasons, if none can."""
    from riemgn.data import MissingExtraError
    from riemgn.verify import CLAIMS
    from riemgn.verify.runner import SCALE_SKIPPED

    scale = args.preset == "scale"
    if scale and args.claims is not None:
        skipped = [i for i in args.claims if i in SCALE_SKIPPED]
        if skipped:
            reasons = "; ".join(f"{i}: {SCALE_SKIPPED[i]}" for i in skipped)
            parser.error(
                f"--preset scale does not run {', '.join(skipped)} (it runs "
                f"{', '.join(i for i in CLAIMS if i not in SCALE_SKIPPED)}). "
                f"Why: {reasons}"
            )
    if args.claims is None:
        ids = [
            c.id
            for c in CLAIMS.values()
            if args.data in c.data and not (scale and c.id in SCALE_SKIPPED)
        ]
        if scale:
            for i in SCALE_SKIPPED:
                print(
                    f"riemgn verify: skipping {i} at --preset scale: {SCALE_SKIPPED[i]}",
                    file=sys.stderr,
                )
        if not ids:
            reasons = "; ".join(
                f"{c.id}: {c.unsupported_reason(args.data)}" for c in CLAIMS.values()
            )
            parser.error(f"--data {args.data}: no claim runs on it yet. Why: {reasons}")
    else:
        ids = args.claims
        unsupported = [i for i in ids if args.data not in CLAIMS[i].data]
        if unsupported:
            supported = [c.id for c in CLAIMS.values() if args.data in c.data]
            reasons = "; ".join(
                f"{i}: {CLAIMS[i].unsupported_reason(args.data)}" for i in unsupported
            )
            parser.error(
                f"--data {args.data} is not supported by {', '.join(unsupported)} "
                f"(claims that run on it: {', '.join(supported)}). Why: {reasons}"
            )
    if args.data != "synthetic":
        from riemgn.verify._common import load_data

        try:
            load_data(args.data)
        except MissingExtraError as error:
            parser.error(f"--data {args.data}: {error}")
    return ids


def _verify(args, parser) -> int:
    from riemgn.verify import CLAIMS, OutputDirectoryError, prepare_output, run
    from riemgn.verify._outdir import OutputLock
    from riemgn.verify._signals import Terminated, sigterm_raises
    from riemgn.verify.report import _publish

    ids = _selected_claims(args, parser)
    claims = [CLAIMS[i] for i in ids]
    lock = OutputLock(args.out)
    written: dict = {}
    # A directory this run creates goes again if no report reaches it.
    created = not os.path.lexists(args.out)
    # The lock is held from before the claims run until the report is in
    # place; the report is written before the table is printed, so that
    # neither a closed pipe nor an interrupt after the table loses the run.
    with sigterm_raises():
        try:
            try:
                lock.acquire()
                out = prepare_output(args.out, overwrite=args.overwrite)
            except OutputDirectoryError as error:
                lock.release()
                parser.error(error.message(out="--out", overwrite="--overwrite"))
            print(
                f"riemgn {__version__} verify: {', '.join(ids)}; preset "
                f"{args.preset}, data {args.data}, seed {args.seed}, "
                f"{args.jobs} job(s)",
                file=sys.stderr,
            )
            report = _run_claims(run, claims, args, parser)
            try:
                paths = _publish(
                    report,
                    out,
                    on_done=lambda: written.update(out=out),
                    formats=args.formats,
                )
            except OSError as error:
                where = f" ({error.filename})" if error.filename else ""
                print(
                    f"riemgn verify: error: could not write the report to "
                    f"{args.out!r}: {error.strerror or error}{where}; it is "
                    "unchanged",
                    file=sys.stderr,
                )
                return 1
            lock.release()
            return _print_result(report, paths)
        except (KeyboardInterrupt, Terminated) as interrupt:
            terminated = isinstance(interrupt, Terminated)
            name, code = ("SIGTERM", 143) if terminated else ("SIGINT", 130)
            if written:
                what = f"the report in {args.out!r} is complete"
            else:
                what = (
                    f"nothing was written to {args.out!r} (a report already "
                    "there is unchanged)"
                )
            # on a terminal, end the progress bar's line first
            start = "\n" if getattr(sys.stderr, "isatty", lambda: False)() else ""
            print(
                f"{start}riemgn verify: interrupted by {name}: {what}", file=sys.stderr
            )
            return code
        finally:
            if created and not written:
                _remove_if_empty(args.out)
            lock.release()


def _run_claims(run, claims, args, parser):
    """``run`` the claims as ``args`` say; a Dask cluster that cannot be used is a usage error."""
    from riemgn.verify._dask import dask_options

    dask = dask_options(args, parser)
    try:
        return run(
            claims,
            preset=args.preset,
            data=args.data,
            seed=args.seed,
            jobs=args.jobs,
            plots=args.plots,
            dask=dask,
        )
    except (ImportError, OSError) as error:
        if dask is None:
            raise
        parser.error(f"cannot run on the Dask cluster {dask}: {error}")


def _remove_if_empty(path) -> None:
    """Remove the directory ``path`` if it is empty (it was made for nothing)."""
    try:
        os.rmdir(path)
    except OSError:  # not empty (files of someone else), or already gone
        pass


def _print_result(report, paths) -> int:
    """Print the table and where the report is; 141 if stdout is closed."""
    try:
        print(report.table())
        print(
            f"\n{report.status.value} in {report.wall_time:.1f} s; report: "
            f"{paths['markdown']} and {paths['json']}"
        )
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 141
    return report.exit_code


def _silence_stdout() -> None:
    """Send what is left of standard output nowhere: its reader is gone.

    Otherwise the interpreter's final flush fails again and prints an
    "Exception ignored" message (the recipe of the Python documentation
    for SIGPIPE).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # not a file descriptor
        sys.stdout = open(os.devnull, "w")  # lives until the process exits


def _available_memory() -> int:
    """The bytes of memory available now (8 GiB where it cannot be read)."""
    try:  # MemAvailable counts the reclaimable page cache; free pages do not
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo if ":" in line)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):  # not a POSIX system
            return 2**33


def _check_manifold_size(args, parser) -> None:
    """Refuse ``--d > --n``, and sizes that cannot fit, before allocating anything."""
    if args.d > args.n:
        parser.error(f"--d must be <= --n, got d = {args.d} > n = {args.n}")
    # The n x p Jacobian (and its copies) and, for p < n, the p x p x n tensor
    # of the second fundamental form, in float64.
    n, p = args.n, args.width * args.d
    needed = 8 * (n * args.d + 4 * n * p + p * p + (p * p * n if p < n else 0))
    available = _available_memory()
    if needed > available:
        parser.error(
            f"--n {n} --d {args.d} --width {args.width} is too large: p = width x d "
            f"= {p}, and the n x p Jacobian and the p x p x n curvature tensor need "
            f"about {needed:.2e} bytes, more than the {available:.2e} bytes of "
            "memory available; reduce --width, --n or --d"
        )


def _manifold_problem(args, parser, rng):
    """The teacher-student problem of ``riemgn manifold``; a usage error if refused."""
    from riemgn.data import teacher_student

    try:
        return teacher_student(
            args.n,
            args.d,
            args.width,
            cond=args.cond,
            noise=args.noise,
            rng=rng,
            alpha=args.alpha,
            activation=args.activation,
            init=args.init,
        )
    except (ValueError, OverflowError) as error:  # an odd width with --init symmetric
        text = str(error)
        if isinstance(error, OverflowError):  # the model or the targets overflow
            option, value = (
                ("--noise", args.noise)
                if "`noise`" in text
                else ("--alpha", args.alpha)
            )
            text = f"{option} {value:g} is out of range: {text}"
        parser.error(text)


def _refuse(args, error) -> int:
    """Say that no finite summary exists, and return exit code 1."""
    print(
        f"riemgn manifold: error: no finite summary at --alpha {args.alpha:g} "
        f"(--cond {args.cond:g}, --noise {args.noise:g}): {error}",
        file=sys.stderr,
    )
    return 1


def _initial_state(problem):
    """The rank of J, F(theta0) and the norms of F(theta0) and its residual.

    Every number is computed before anything is printed, with norms that
    neither overflow nor underflow; a value that float64 cannot hold is an
    error, never a printed inf.
    """
    import numpy as np

    from manifolds import jacobian_rank
    from manifolds.validation import norm

    rank = jacobian_rank(problem.output_map, problem.params0)
    u0 = problem.output_map.value(problem.params0)
    size = norm(u0)
    with np.errstate(over="ignore"):
        residual = norm(u0 - problem.y)
    if not (math.isfinite(size) and math.isfinite(residual)):
        raise OverflowError(
            f"|F(theta0)| = {size:.3e} or |F(theta0) - y| = {residual:.3e} "
            "exceeds the largest float"
        )
    return rank, u0, size, residual


def _print_checks(args, manifold, u0, rng, start: float) -> int:
    """Run ``check_manifold``, print each verdict; 0 if it passes, else 1."""
    from manifolds import ManifoldError, check_manifold

    try:
        result = check_manifold(manifold, u0, rng=rng)
    except (ManifoldError, ValueError, OverflowError) as error:
        return _refuse(args, error)
    elapsed = time.perf_counter() - start
    verdicts = result.verdicts()
    print(f"  check_manifold ({elapsed:.2f} s, cond J = {result.condition:.3e}):")
    for v in verdicts:
        value = "n/a" if math.isnan(v.value) else f"{v.value:.4g}"
        print(f"    {v.name:<32} {value:>10}   {v.status:<10} (expected {v.expected})")
        if v.note:
            print(f"      {v.note}")
    print(f"  check_manifold: {result.status}")
    return 0 if result.status == "pass" else 1


def _manifold(args, parser) -> int:
    import numpy as np

    from manifolds import ManifoldError, NotAnImmersionError, OutputManifold
    from riemgn.theory import second_fundamental_form_norm

    _check_manifold_size(args, parser)
    n, p = args.n, args.width * args.d
    rng = np.random.default_rng(args.seed)
    problem = _manifold_problem(args, parser, rng)
    try:
        rank, u0, size, residual = _initial_state(problem)
    except (ManifoldError, ValueError, OverflowError) as error:
        return _refuse(args, error)
    print(f"riemgn {__version__}: output manifold of {problem.network!r}")
    print(f"  samples n = {n}, parameters p = {p}, initialization {args.init!r}")
    print(
        f"  rank J(theta0) = {rank.rank} of {min(n, p)} "
        f"(singular values <= {rank.tolerance:.1e} count as zero)"
    )
    gram = "cond(G0) = cond(J^T J)" if p < n else "cond(K0) = cond(J J^T)"
    if rank.rank < min(n, p):
        print(f"  {gram} = inf (J is rank-deficient)")
    else:
        print(f"  {gram} = {rank.condition_number**2:.3e}")
    print(f"  |F(theta0)| = {size:.4g}")
    print(f"  |F(theta0) - y| = {residual:.4g}")
    if p >= n:
        print(
            f"  immersion: no (p = {p} >= n = {n}: overparameterized, F is at "
            "best a submersion and there is no output manifold)"
        )
        return 0
    start = time.perf_counter()
    try:
        manifold = OutputManifold(problem.output_map, problem.params0, rng=rng)
    except NotAnImmersionError as error:
        print(f"  immersion: no: {error}")
        return 0
    except (ManifoldError, ValueError, OverflowError) as error:
        return _refuse(args, error)
    print(f"  immersion: yes, dim M = {manifold.dim} in R^{manifold.ambient_dim}")
    try:
        curvature = second_fundamental_form_norm(manifold, u0, rng=rng)
    except (ManifoldError, ValueError, OverflowError) as error:
        return _refuse(args, error)
    print(f"  |II| at F(theta0) = {curvature.value:.4g}")
    if not args.check:
        return 0
    return _print_checks(args, manifold, u0, rng, start)


def main_entry() -> None:  # pragma: no cover - the console script
    """Run the ``riemgn`` console script, then exit with its code.

    Calls :func:`riemgn.cli.main` on ``sys.argv[1:]`` and passes its result
    to ``sys.exit``; ``[project.scripts]`` installs it as ``riemgn``.

    A closed standard output (``riemgn manifold | head -1``) ends the
    command quietly with exit code 141, as SIGPIPE ends other tools, and
    ``Ctrl-C`` outside ``verify`` (which handles it itself) with 130.

    Raises
    ------
    SystemExit
        Always, with the exit code of :func:`riemgn.cli.main` (0, 1, 2,
        130, 141 or 143), or the one a usage error, ``--help`` or
        ``--version`` gives.

    Examples
    --------
    Without a command, the help goes to standard error and the exit code is 2:

    >>> import sys
    >>> from unittest import mock
    >>> from riemgn.cli import main_entry
    >>> with mock.patch.object(sys, "argv", ["riemgn"]):
    ...     try:
    ...         main_entry()
    ...     except SystemExit as exit:
    ...         print("exit code", exit.code)
    exit code 2
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = 141
    except KeyboardInterrupt:
        print("riemgn: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
