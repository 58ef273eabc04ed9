"""``sciml prose train`` and ``sciml prose eval``."""

from __future__ import annotations

import argparse
import json


def add_parser(commands) -> None:
    """Adds ``prose train`` and ``prose eval`` to the ``sciml`` command's subparsers."""
    prose = commands.add_parser("prose", help="PROSE: ODE trajectories and their equations")
    sub = prose.add_subparsers(dest="prose_command", required=True)
    train = sub.add_parser("train", help="train a PROSE network on generated trajectories")
    train.add_argument("--preset", default="small", choices=["small", "paper"])
    train.add_argument("--out", required=True, help="output directory (checkpoint.pt)")
    train.add_argument("--systems", nargs="+", help="system names (default: the 3 families)")
    train.add_argument("--variant", default="mixed", help="1-1, 2-1, 2-2, 1-2 or mixed")
    train.add_argument("--steps", type=int, default=20_000)
    train.add_argument("--batch", type=int, default=64, help="trajectories per step and rank")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--warmup", type=int, default=1_000)
    train.add_argument("--checkpoint-every", type=int, default=250)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu")
    train.add_argument("--threads", type=int, help="torch threads per process")
    train.add_argument("--no-progress", action="store_true")
    evaluate = sub.add_parser("eval", help="the paper's protocol on fresh trajectories")
    evaluate.add_argument("model", help="a training directory, a checkpoint or a shipped name")
    evaluate.add_argument("--systems", nargs="+", help="system names (default: the 3 families)")
    evaluate.add_argument("--n", type=int, default=100, help="trajectories per system")
    evaluate.add_argument("--seed", type=int, default=12345)
    evaluate.add_argument("--skeletons", action="store_true", help="give noisy skeletons (2->2)")
    evaluate.add_argument("--beam", type=int, default=1)
    evaluate.add_argument(
        "--refine", action="store_true", help="also score equations refitted to the input"
    )


def run(args: argparse.Namespace) -> int:
    """Runs the ``prose`` subcommand in ``args``."""
    return {"train": _train, "eval": _eval}[args.prose_command](args)


def _train(args: argparse.Namespace) -> int:
    import torch

    from sciml.prose.model import ProseConfig, ProseNetwork
    from sciml.prose.systems import get
    from sciml.prose.tokenizer import ExpressionTokenizer
    from sciml.prose.training import NON_CHAOTIC, ProseData, train_prose
    from sciml.train import TrainConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    data = ProseData(
        systems=tuple(args.systems or NON_CHAOTIC), batch_size=args.batch, variant=args.variant
    )
    max_dim = max(3, *(get(name).dim for name in data.systems))
    tokenizer = ExpressionTokenizer(max_dim=max_dim)
    torch.manual_seed(args.seed)
    net = ProseNetwork(ProseConfig.preset(args.preset, len(tokenizer), max_dim=max_dim))
    config = TrainConfig(
        steps=args.steps,
        lr=args.lr,
        warmup_steps=min(args.warmup, args.steps),
        weight_decay=1e-4,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        progress=not args.no_progress,
    )
    result = train_prose(net, tokenizer, data, config, args.out, device=args.device)
    print(f"trained {result.step} steps, last loss {result.last_loss:.4g}; wrote {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from sciml.prose.estimator import PRETRAINED, ProseModel
    from sciml.prose.evaluate import evaluate
    from sciml.prose.training import NON_CHAOTIC

    if args.model in PRETRAINED:
        model = ProseModel.pretrained(args.model)
    else:
        model = ProseModel.from_checkpoint(args.model)
    table = evaluate(
        model,
        args.systems or list(NON_CHAOTIC),
        n=args.n,
        seed=args.seed,
        skeletons=args.skeletons,
        beam_size=args.beam,
        refine=args.refine,
    )
    print(json.dumps(table, indent=2))
    return 0
