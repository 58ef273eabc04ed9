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

from sciml.pde import PIG, Phase, Trainer
from sciml.pde.output import write_results
from sciml.pde.problems.nonlinear_diffusion import nonlinear_diffusion


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--gaussians", type=int, default=4000, help="per channel")
    parser.add_argument("--points", type=int, default=4096, help="collocation points")
    parser.add_argument("--reference-cells", type=int, default=512)
    parser.add_argument("--out", type=Path, default=Path("out/nonlinear_diffusion"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the MLP is tiny; the Rust kernel has its own threads

    problem = nonlinear_diffusion(reference_cells=args.reference_cells)
    model = PIG(problem.domain, num_gaussians=args.gaussians, channels=4, sigma0=0.2)
    trainer = Trainer(
        problem,
        model,
        [Phase("adam", args.iters, lr=1e-3, gamma=0.9 ** (1 / 2000))],
        interior_points=args.points,
        resample_every=100,
        checkpoint=args.out / "checkpoint.pt",
    )
    solution, _, _ = write_results(problem, model, trainer.fit(), args.out)
    print(f"relative L2 error {solution.rel_l2:.3e}; wrote {args.out}/")
    return solution.rel_l2


if __name__ == "__main__":
    main()
