"""Benchmark: PIG and PINN side by side on the PDE benchmarks, under one wall-clock budget.

    python benches/bench_pde.py --json [--budget 600] [--problems helmholtz ...]
        [--preset quick|paper]

For each problem and model, trains with the preset's settings (the paper's model and
optimiser for PIG) until the budget or the preset's iterations run out, and prints one
JSON object: relative L2 error against the reference, wall time, iterations, loss
evaluations, and the PIG paper's reported error beside it. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import json
import tempfile

import torch

import sciml
from sciml.pde.presets import PRESETS
from sciml.pde.problems import list_problems
from sciml.pde.solve import solve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--preset", choices=("quick", "paper"), default="paper")
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--models", nargs="+", default=["pig", "pinn"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for problem in args.problems or list_problems():
        for model in args.models:
            preset = args.preset if (problem, model, args.preset) in PRESETS else "quick"
            if (problem, model, preset) not in PRESETS:
                continue
            with tempfile.TemporaryDirectory() as out:
                r = solve(
                    problem,
                    model=model,
                    preset=preset,
                    time_budget=args.budget,
                    seed=args.seed,
                    out=out,
                    progress=False,
                    picture=False,
                )
            row = {
                "problem": problem,
                "model": model,
                "preset": preset,
                "budget_s": args.budget,
                "rel_l2": r.rel_l2,
                "paper_rel_l2": r.paper_rel_l2,
                "seconds": round(r.seconds, 1),
                "iterations": r.iterations,
                "evaluations": r.evaluations,
                "stopped": r.stopped,
                "threads": {"sciml": sciml.get_num_threads(), "torch": torch.get_num_threads()},
            }
            print(json.dumps(row) if args.json else json.dumps(row, indent=2), flush=True)


if __name__ == "__main__":
    main()
