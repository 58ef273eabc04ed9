"""The ``sciml`` command line.

sciml --version
sciml solve PROBLEM [--model pig|pinn] [--preset quick|long|paper] [--iters N]
                    [--time-budget SECONDS] [--seed S] [--out DIR] [--device DEV]
sciml solve --list
sciml pfn train --prior NAME --out DIR [--steps N] [--batch B] [--device DEV] [...]
sciml pfn export DIR NAME --dest DIR
sciml pfn eval DIR_OR_NAME
sciml prose train --preset small --out DIR [--steps N] [--batch B] [...]
sciml prose eval DIR [--skeletons] [--beam K]
"""

from __future__ import annotations

import argparse
import sys

from sciml import __version__


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
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="train a model on a benchmark PDE")
    solve.add_argument("problem", nargs="?", help="problem name (see --list)")
    solve.add_argument("--list", action="store_true", help="list the problems and exit")
    solve.add_argument("--model", choices=("pig", "pinn"), default="pig")
    solve.add_argument("--preset", choices=("quick", "long", "paper"), default="quick")
    solve.add_argument("--iters", type=_positive_int, help="override the preset's iterations")
    solve.add_argument("--time-budget", type=_positive_float, help="wall-clock limit (s)")
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--out", default=None, help="output directory (default: out/PROBLEM)")
    solve.add_argument(
        "--device", default="cpu", help="torch device to train on, e.g. cuda (default: cpu)"
    )
    solve.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    solve.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_pfn_parser(commands)
    from sciml.prose.cli import add_parser as add_prose_parser

    add_prose_parser(commands)
    return parser


def _add_pfn_parser(commands) -> None:
    from sciml.pfn.training import RECIPES

    pfn = commands.add_parser("pfn", help="prior-data fitted networks").add_subparsers(
        dest="pfn_command", required=True
    )
    train = pfn.add_parser(
        "train",
        help="train a PFN on a prior (under torchrun: DDP, one process per GPU or CPU group)",
    )
    train.add_argument("--prior", required=True, choices=sorted(RECIPES))
    train.add_argument("--out", required=True, help="output directory (checkpoint, model)")
    train.add_argument("--steps", type=_positive_int, help="optimiser steps (default: recipe)")
    train.add_argument("--batch", type=_positive_int, help="data sets per micro-batch and rank")
    train.add_argument("--accumulate", type=_positive_int, default=1, help="micro-batches a step")
    train.add_argument("--lr", type=_positive_float, help="peak learning rate (default: recipe)")
    train.add_argument("--warmup", type=int, help="warmup steps (default: recipe)")
    train.add_argument("--emsize", type=_positive_int, help="token width (default: recipe)")
    train.add_argument("--nlayers", type=_positive_int, help="layers (default: recipe)")
    train.add_argument("--buckets", type=_positive_int, help="Riemann buckets (default: recipe)")
    train.add_argument("--checkpoint-every", type=_positive_int, default=500)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default: cpu)")
    train.add_argument("--threads", type=_positive_int, help="torch threads per process")
    train.add_argument("--no-resume", action="store_true", help="ignore OUT/checkpoint.pt")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    export = pfn.add_parser("export", help="write a trained model as package weights (float16)")
    export.add_argument("model", help="a training output directory")
    export.add_argument("name", help="the model's name, e.g. gp-rbf-1d")
    export.add_argument("--dest", required=True, help="e.g. python/sciml/pfn/weights")
    evaluate = pfn.add_parser("eval", help="NLL gap to the exact GP on fresh prior data sets")
    evaluate.add_argument("model", help="a training output directory or a pretrained name")
    evaluate.add_argument("--datasets", type=_positive_int, default=500)
    evaluate.add_argument("--seed", type=int, default=None, help="evaluation seed")


def _pfn(args: argparse.Namespace) -> int:
    command = {"train": _pfn_train, "export": _pfn_export, "eval": _pfn_eval}[args.pfn_command]
    return command(args)


def _pfn_export(args: argparse.Namespace) -> int:
    from sciml.pfn.training import export_model

    print(f"wrote {export_model(args.model, args.dest, args.name)}")
    return 0


def _pfn_eval(args: argparse.Namespace) -> int:
    from sciml.pfn import PRETRAINED, PFNRegressor
    from sciml.pfn.evaluate import EVAL_SEED, format_table, nll_gap_table

    reg = (
        PFNRegressor.pretrained(args.model)
        if args.model in PRETRAINED
        else PFNRegressor.from_checkpoint(args.model)
    )
    sizes = [n for n in (0, 5, 10, 20, 50) if n <= reg.max_context]
    seed = EVAL_SEED if args.seed is None else args.seed
    rows = nll_gap_table(reg, context_sizes=sizes, n_datasets=args.datasets, seed=seed)
    print(format_table(rows))
    return 0


def _pfn_train(args: argparse.Namespace) -> int:
    import dataclasses

    import torch

    from sciml.pfn.priors import prior_from_config
    from sciml.pfn.training import RECIPES, train_pfn
    from sciml.train import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = RECIPES[args.prior]
    sizes = {
        k: v
        for k, v in (
            ("emsize", args.emsize),
            ("nlayers", args.nlayers),
            ("n_buckets", args.buckets),
        )
        if v is not None
    }
    if "emsize" in sizes:
        sizes["nhid"] = 2 * sizes["emsize"]
    steps = args.steps or recipe.steps
    config = TrainConfig(
        steps=steps,
        lr=args.lr or recipe.lr,
        warmup_steps=min(steps, recipe.warmup_steps if args.warmup is None else args.warmup),
        accumulate=args.accumulate,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        progress=not args.no_progress,
    )
    train_pfn(
        prior_from_config(recipe.prior),
        args.out,
        model_config=dataclasses.replace(recipe.model, **sizes),
        train_config=config,
        max_context=recipe.max_context,
        n_queries=recipe.n_queries,
        batch_size=args.batch or recipe.batch_size,
        device=args.device,
        resume=not args.no_resume,
    )
    print(f"wrote {args.out}/model.pt and {args.out}/config.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "pfn":
        return _pfn(args)
    if args.command == "prose":
        from sciml.prose.cli import run

        return run(args)
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
    except KeyboardInterrupt:
        out = args.out or f"out/{args.problem}"
        print(
            f"\nsciml solve: interrupted; the last evaluated state is in {out}/checkpoint.pt "
            "(continue with --resume)",
            file=sys.stderr,
        )
        return 130  # 128 + SIGINT, as a shell reports an interrupted command
    print(result.summary())
    return 0 if result.complete else 1


if __name__ == "__main__":
    sys.exit(main())
