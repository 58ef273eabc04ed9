"""Benchmark: PIG and PINN side by side on the PDE benchmarks, under one wall-clock budget.

    python benches/bench_pde.py --json [--budget 600] [--problems helmholtz ...]
        [--preset quick|paper] [--models pig pinn] [--device cuda] [--parallel]
        [--out DIR] [--seeds 0-9 [--target 1e-3]] [--load [N]]

For each problem and model, trains with the preset's settings (the paper's model and
optimiser for PIG) until the budget or the preset's iterations run out, and prints one
JSON object: relative L2 error against the reference (last and best measured), wall
time, iterations, loss evaluations, and the PIG paper's reported error beside it. Not a
test: figures only.

``--parallel`` runs every (problem, model) at once, each in its own process (for a GPU,
which one small run leaves mostly idle); ``--out`` keeps each run's files (error curve,
VTK) in DIR/PROBLEM-MODEL (DIR/PROBLEM-MODEL-seedS with ``--seeds``).

``--seeds 0-9`` (or ``0,3,7``) runs each (problem, model) once per seed, one after the
other, and after its per-seed rows prints a summary row: the last measured error's
minimum, median and maximum over the seeds and how many ended at or below ``--target``.
``--load N`` keeps N CPU-bound busy processes running for the whole benchmark (killed at
its end), to measure under the load of another program. For example, the quick
Helmholtz preset's ten-seed distribution on a loaded CPU::

    python benches/bench_pde.py --json --preset quick --problems helmholtz --models pig \
        --budget 60 --seeds 0-9 --target 1e-3 --load
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
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


def parse_seeds(text: str) -> list[int]:
    """``"0-9"`` -> [0, ..., 9]; ``"0,3,7"`` -> [0, 3, 7]; ranges and lists mix."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            seeds += list(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must look like 0-9 or 0,3,7, got {text!r}"
        ) from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"no seeds in {text!r}")
    return seeds


def summary(rows: list[dict], target: float) -> dict:
    """Distribution of the last measured error over the seeds of one (problem, model)."""
    errors = [r["rel_l2"] for r in rows]
    return {
        "summary": True,
        "problem": rows[0]["problem"],
        "model": rows[0]["model"],
        "preset": rows[0]["preset"],
        "budget_s": rows[0]["budget_s"],
        "load": rows[0]["load"],
        "seeds": [r["seed"] for r in rows],
        "rel_l2_min": min(errors),
        "rel_l2_median": statistics.median(errors),
        "rel_l2_max": max(errors),
        "target": target,
        "at_or_below_target": sum(e <= target for e in errors),
        "runs": len(errors),
        # Fewer iterations in the budget (a busier CPU) mean a higher error.
        "iterations_min": min(r["iterations"] for r in rows),
        "iterations_max": max(r["iterations"] for r in rows),
    }


def busy_processes(n: int) -> list[subprocess.Popen]:
    """n CPU-bound processes that spin until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run(problem: str, model: str, args: argparse.Namespace, seed: int | None = None) -> dict:
    """One training run, as a JSON-ready row."""
    preset = args.preset if (problem, model, args.preset) in PRESETS else "quick"
    seed = args.seed if seed is None else seed
    with tempfile.TemporaryDirectory() as tmp:
        name = f"{problem}-{model}" + (f"-seed{seed}" if args.seeds else "")
        out = Path(args.out) / name if args.out else Path(tmp)
        r = solve(
            problem,
            model=model,
            preset=preset,
            time_budget=args.budget,
            seed=seed,
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
        "seed": seed,
        "load": args.load,
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


def show(row: dict, one_line: bool) -> None:
    print(json.dumps(row) if one_line else json.dumps(row, indent=2), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--preset", choices=("quick", "long", "paper"), default="paper")
    parser.add_argument("--problems", nargs="+", default=None)
    parser.add_argument("--models", nargs="+", default=["pig", "pinn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--parallel", action="store_true", help="all runs at once")
    parser.add_argument("--out", default=None, help="keep each run's files under OUT")
    parser.add_argument(
        "--seeds", type=parse_seeds, default=None, help="run every seed, e.g. 0-9 or 0,3,7"
    )
    parser.add_argument(
        "--target", type=float, default=1e-3, help="error counted in the --seeds summary"
    )
    parser.add_argument(
        "--load",
        type=int,
        nargs="?",
        const=1,
        default=0,
        help="keep N CPU-bound busy processes running meanwhile (N=1 without a value)",
    )
    args = parser.parse_args()
    if args.load < 0:
        parser.error(f"--load must be >= 0, got {args.load}")
    if args.parallel and args.load:
        parser.error("--load measures one run at a time; leave out --parallel")
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
    busy = busy_processes(args.load)
    # A kill (SIGTERM) must not leave the busy processes spinning.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for problem, model in runs:
            rows = []
            for seed in args.seeds or [args.seed]:
                rows.append(run(problem, model, args, seed))
                show(rows[-1], args.json)
            if args.seeds:
                show(summary(rows, args.target), args.json)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
