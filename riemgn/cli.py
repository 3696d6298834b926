"""The command line: parses, calls, prints. Nothing imports this module.

Until ``riemgn verify`` exists, ``python -m riemgn`` is a demo: it builds the
output manifold of a two-layer network at initialization and prints its
diagnostics, as computed by :func:`manifolds.check_manifold`.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from manifolds import NotAnImmersionError, OutputManifold, check_manifold, jacobian_rank
from riemgn import __version__
from riemgn.networks import ACTIVATIONS, TwoLayerNetwork
from riemgn.networks.two_layer import INIT_SCHEMES


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m riemgn",
        description=(
            "Build the output manifold of a two-layer network "
            "f(x; W) = (alpha/sqrt(m)) sum_i c_i sigma(<w_i, x>) on random inputs "
            "and print its geometric diagnostics."
        ),
    )
    parser.add_argument("--version", action="version", version=f"riemgn {__version__}")
    parser.add_argument(
        "--n", type=_positive_int, default=40, help="samples (default 40)"
    )
    parser.add_argument(
        "--d", type=_positive_int, default=3, help="input dimension (3)"
    )
    parser.add_argument("--width", type=_positive_int, default=4, help="neurons m (4)")
    parser.add_argument(
        "--alpha", type=_positive_float, default=1.0, help="scaling (1.0)"
    )
    parser.add_argument(
        "--activation", choices=ACTIVATIONS, default="tanh", help="activation (tanh)"
    )
    parser.add_argument(
        "--init", choices=INIT_SCHEMES, default="standard", help="initialization"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code (0 ok, 1 not an immersion, 2 usage)."""
    args = build_parser().parse_args(argv)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((args.n, args.d))
    network = TwoLayerNetwork(
        args.d, args.width, alpha=args.alpha, activation=args.activation
    )
    params0 = network.init_params(rng, args.init)
    output_map = network.output_map(X)
    p = network.n_params
    print(f"riemgn {__version__}: output manifold of {network!r}")
    print(f"  samples n = {args.n}, parameters p = {p}, initialization {args.init!r}")
    initial_rank = jacobian_rank(output_map, params0)
    print(f"  rank J(theta0) = {initial_rank.rank} of {min(args.n, p)}")
    start = time.perf_counter()
    try:
        manifold = OutputManifold(output_map, params0, rng=rng)
    except NotAnImmersionError as error:
        print(f"  not an immersion: {error}")
        return 1
    u0 = manifold.point(params0)
    info = manifold.rank_info(params0)
    print(f"  immersion: yes, dim M = {manifold.dim} in R^{manifold.ambient_dim}")
    print(f"  cond(G0) = cond(J^T J) = {info.condition_number**2:.3e}")
    print(f"  |F(theta0)| = {np.linalg.norm(u0):.4g}")
    result = check_manifold(manifold, u0, rng=rng)
    elapsed = time.perf_counter() - start
    rows = [
        ("projection idempotence", result.projection_idempotence, "~1e-16"),
        ("projection symmetry", result.projection_symmetry, "~1e-16"),
        ("tangency", result.tangency, "~1e-16"),
        ("Weingarten identity", result.weingarten_identity, "~1e-15"),
        ("exp/log inverse error", result.exp_log_error, "<= 1e-8"),
        ("dist error", result.dist_error, "<= 1e-8"),
        ("gradient Taylor slope", result.gradient_slope, "2"),
        ("Hessian Taylor slope (exp)", result.hessian_slope, "3"),
        ("chart retraction vs exp", result.retraction_slopes["chart"], ">= 2"),
        (
            "second-order retraction vs exp",
            result.retraction_slopes["second_order"],
            "3",
        ),
    ]
    print(f"  check_manifold ({elapsed:.2f} s):")
    for name, value, expected in rows:
        print(f"    {name:<32} {value:>12.4g}   (expected {expected})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
