"""Nonlinear diffusion 2D + time (u_t = α(|∇u|² + uΔu)) with physics-informed Gaussians.

The reference is sciml's own finite-difference solve, computed on first use and cached.
The script trains the PIG model with Adam (points resampled every 100 steps, as the PIG
paper's JAX code) and writes the error curve, the VTK files and a picture.

    python examples/nonlinear_diffusion.py --iters 2000 --out out/nonlinear_diffusion
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sciml.pde import PIG, Trainer
from sciml.pde.output import write_results
from sciml.pde.presets import get_preset
from sciml.pde.problems.nonlinear_diffusion import nonlinear_diffusion


def main(argv: list[str] | None = None) -> float:
    paper = get_preset("nonlinear_diffusion", "pig", "paper")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--gaussians", type=int, default=paper.model["num_gaussians"])
    parser.add_argument("--points", type=int, default=paper.trainer["interior_points"])
    parser.add_argument("--reference-cells", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("out/nonlinear_diffusion"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the MLP is tiny; the Rust kernel has its own threads

    problem = nonlinear_diffusion(reference_cells=args.reference_cells)
    # The paper's model and optimiser (sciml's "paper" preset), at the sizes asked for.
    model = PIG(problem.domain, **(paper.model | {"num_gaussians": args.gaussians}))
    trainer = Trainer(
        problem,
        model,
        paper.scaled_phases(args.iters),
        checkpoint=args.out / "checkpoint.pt",
        **(paper.trainer | {"interior_points": args.points}),
    )
    solution, _, _ = write_results(problem, model, trainer.fit(), args.out)
    print(f"relative L2 error {solution.rel_l2:.3e}; wrote {args.out}/")
    return solution.rel_l2


if __name__ == "__main__":
    main()
