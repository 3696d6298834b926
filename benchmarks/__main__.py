"""``python -m benchmarks [--quick] [--check] [--out PATH] [--rows NAME,...]``.

Runs the rows in one process, prints the table and writes the results JSON.
Exit status: 0 when every row that ran met its target (in ``--check`` mode:
ran and gave a finite ratio), 1 when one missed or failed, 2 on a usage
error.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import RESULTS, all_rows
from benchmarks._harness import (
    evaluate,
    failed,
    results_document,
    table,
    write_atomically,
)


def _parser(names: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="riemgn's benchmark suite: every row a ratio measured in one "
        "process against the BLAS-3 bound or a peer, with its target.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        action="store_true",
        help="fewer repeats and shorter flows: under 5 minutes on two cores",
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="tiny sizes, no target asserted: fails only if a row errors or gives "
        "a non-finite ratio (for CI); writes to a temporary file unless --out",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"the results JSON (default: {RESULTS.relative_to(RESULTS.parents[1])}; "
        "never that file with --check)",
    )
    parser.add_argument(
        "--rows",
        default=None,
        help="comma-separated rows to run (default: all): " + ", ".join(names),
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit BLAS to this many threads (threadpoolctl; default: as configured)",
    )
    return parser


def _selected(rows, spec: str | None, parser) -> list:
    if not spec:
        return list(rows)
    by_name = {row.name: row for row in rows}
    wanted = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        parser.error(f"--rows: unknown row(s) {', '.join(unknown)}")
    return [by_name[name] for name in wanted]


def _out_path(args, parser) -> Path:
    if not args.check:
        return args.out or RESULTS
    if args.out is None:
        return (
            Path(tempfile.gettempdir()) / f"riemgn-benchmarks-check-{os.getpid()}.json"
        )
    if args.out.resolve() == RESULTS.resolve():
        parser.error("--check never writes over the committed results.json")
    return args.out


def main(argv: list[str] | None = None, *, rows=None) -> int:
    """Run the suite; ``rows`` replaces the registry (a test hook)."""
    rows = all_rows() if rows is None else list(rows)
    parser = _parser([row.name for row in rows])
    args = parser.parse_args(argv)
    selected = _selected(rows, args.rows, parser)
    out = _out_path(args, parser)
    size = "check" if args.check else "quick" if args.quick else "full"
    argv_text = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "benchmarks", *argv_text])
    print(f"{command}: {len(selected)} rows at the {size!r} sizes", flush=True)

    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    entries = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for row in selected:
            print(f"  {row.name} ...", end="", flush=True)
            entry = evaluate(row, size)
            entries.append(entry)
            print(
                f" {entry['status']} ({entry.get('row_seconds', 0.0):.1f} s)",
                flush=True,
            )
            # After every row, so that an interrupted run keeps what it measured.
            elapsed = time.perf_counter() - start
            document = results_document(entries, size, command, elapsed)
            write_atomically({**document, "complete": False}, out)
    total = time.perf_counter() - start
    document = results_document(entries, size, command, total)
    write_atomically({**document, "complete": True}, out)
    print()
    print(table(entries))
    print(f"\n{len(entries)} rows in {total:.0f} s; results in {out}")
    bad = failed(entries)
    if bad:
        print(f"FAILED: {', '.join(bad)}")
        return 1
    return 0


def _terminate(signum, frame):
    """SIGTERM as an exception, so that a running ``riemgn verify`` child is
    killed by ``subprocess.run`` and temporary files are removed on the way out."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
