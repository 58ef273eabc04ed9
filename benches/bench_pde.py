"""Benchmark: PIG and PINN side by side on the PDE benchmarks, under one wall-clock budget.

    python benches/bench_pde.py --json [--budget 600] [--problems helmholtz ...]
        [--preset quick|paper] [--models pig pinn] [--device cuda] [--parallel]
        [--out DIR]

For each problem and model, trains with the preset's settings (the paper's model and
optimiser for PIG) until the budget or the preset's iterations run out, and prints one
JSON object: relative L2 error against the reference (last and best measured), wall
time, iterations, loss evaluations, and the PIG paper's reported error beside it. Not a
test: figures only.

``--parallel`` runs every (problem, model) at once, each in its own process (for a GPU,
which one small run leaves mostly idle); ``--out`` keeps each run's files (error curve,
VTK) in DIR/PROBLEM-MODEL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import sciml
from sciml.pde.presets import PRESETS
from sciml.pde.problems import list_problems
from sciml.pde.solve import solve
from sciml.pde.trainer import TrainResult


def run(problem: str, model: str, args: argparse.Namespace) -> dict:
    """One training run, as a JSON-ready row."""
    preset = args.preset if (problem, model, args.preset) in PRESETS else "quick"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) / f"{problem}-{model}" if args.out else Path(tmp)
        r = solve(
            problem,
            model=model,
            preset=preset,
            time_budget=args.budget,
            seed=args.seed,
            out=out,
            progress=False,
            picture=False,
            device=args.device,
        )
        best = TrainResult.from_checkpoint(out / "checkpoint.pt", r.stopped).best_rel_l2
    return {
        "problem": problem,
        "model": model,
        "preset": preset,
        "device": args.device,
        "budget_s": args.budget,
        "rel_l2": r.rel_l2,
        "best_rel_l2": best,
        "paper_rel_l2": r.paper_rel_l2,
        "seconds": round(r.seconds, 1),
        "iterations": r.iterations,
        "preset_iterations": sum(p.iterations for p in PRESETS[(problem, model, preset)].phases),
        "evaluations": r.evaluations,
        "stopped": r.stopped,
        "threads": {"sciml": sciml.get_num_threads(), "torch": torch.get_num_threads()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--preset", choices=("quick", "paper"), default="paper")
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--models", nargs="+", default=["pig", "pinn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--parallel", action="store_true", help="all runs at once")
    parser.add_argument("--out", default=None, help="keep each run's files under OUT")
    args = parser.parse_args()
    runs = [
        (problem, model)
        for problem in args.problems or list_problems()
        for model in args.models
        if any((problem, model, p) in PRESETS for p in (args.preset, "quick"))
    ]
    if args.parallel:
        # Each run re-enters this script alone; its stdout is its JSON row.
        common = [a for a in sys.argv[1:] if a != "--parallel"]
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, *common, "--json", "--problems", p, "--models", m],
                stdout=subprocess.PIPE,
                text=True,
            )
            for p, m in runs
        ]
        for proc in procs:
            out, _ = proc.communicate()
            print(out, end="", flush=True)
        return
    for problem, model in runs:
        row = run(problem, model, args)
        print(json.dumps(row) if args.json else json.dumps(row, indent=2), flush=True)


if __name__ == "__main__":
    main()
