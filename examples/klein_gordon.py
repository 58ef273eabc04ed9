"""Klein–Gordon 2D + time (u_tt - Δu + u³ = f) with physics-informed Gaussians.

The problem ships with sciml (``get_problem("klein_gordon")``, exact solution included); this
script trains the PIG paper's model on it with Adam, resampling the collocation points
every step, and writes the error curve, the VTK files and a picture at the final time.

    python examples/klein_gordon.py --iters 2000 --out out/klein_gordon
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sciml.pde import PIG, Phase, Trainer, get_problem
from sciml.pde.output import evaluate, write_vtk
from sciml.pde.solve import render


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--gaussians", type=int, default=100, help="per channel")
    parser.add_argument("--points", type=int, default=4096, help="collocation points per step")
    parser.add_argument("--out", type=Path, default=Path("out/klein_gordon"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the MLP is tiny; the Rust kernel has its own threads

    problem = get_problem("klein_gordon")
    model = PIG(problem.domain, num_gaussians=args.gaussians, channels=4, sigma0=0.5)
    trainer = Trainer(
        problem,
        model,
        [Phase("adam", args.iters, lr=1e-2, gamma=0.9999)],
        interior_points=args.points,
        condition_points=1000,
        resample_every=1,
        checkpoint=args.out / "checkpoint.pt",
    )
    trainer.fit().write_csv(args.out / "error_curve.csv")
    solution = evaluate(problem, model)
    write_vtk(solution, args.out)
    render(problem, solution, args.out / "prediction.png")
    print(f"relative L2 error {solution.rel_l2:.3e}; wrote {args.out}/")
    return solution.rel_l2


if __name__ == "__main__":
    main()
