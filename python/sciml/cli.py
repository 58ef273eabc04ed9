"""The ``sciml`` command line.

sciml solve PROBLEM [--model pig|pinn] [--preset quick|paper] [--iters N]
                    [--time-budget SECONDS] [--seed S] [--out DIR] [--device DEV]
sciml solve --list
"""

from __future__ import annotations

import argparse
import sys


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sciml", description="Scientific ML with Rust kernels.")
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="train a model on a benchmark PDE")
    solve.add_argument("problem", nargs="?", help="problem name (see --list)")
    solve.add_argument("--list", action="store_true", help="list the problems and exit")
    solve.add_argument("--model", choices=("pig", "pinn"), default="pig")
    solve.add_argument("--preset", choices=("quick", "paper"), default="quick")
    solve.add_argument("--iters", type=_positive_int, help="override the preset's iterations")
    solve.add_argument("--time-budget", type=_positive_float, help="wall-clock limit (s)")
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--out", default=None, help="output directory (default: out/PROBLEM)")
    solve.add_argument(
        "--device", default="cpu", help="torch device to train on, e.g. cuda (default: cpu)"
    )
    solve.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    solve.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sciml.pde.problems import PROBLEMS, get_problem
    from sciml.pde.solve import SolveError, solve

    if args.list:
        for name in PROBLEMS:
            print(f"{name:20s} {get_problem(name).description}")
        return 0
    if args.problem is None:
        print("sciml solve: give a problem name, or --list", file=sys.stderr)
        return 2
    try:
        result = solve(
            args.problem,
            model=args.model,
            preset=args.preset,
            iterations=args.iters,
            time_budget=args.time_budget,
            seed=args.seed,
            out=args.out or f"out/{args.problem}",
            resume=args.resume,
            device=args.device,
            progress=not args.no_progress,
        )
    except SolveError as e:
        print(f"sciml solve: {e}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0 if result.complete else 1


if __name__ == "__main__":
    sys.exit(main())
