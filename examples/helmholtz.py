"""Helmholtz 2D with physics-informed Gaussians, declared from scratch.

    -Δu - u = f  on [-1, 1]²,  u = 0 on the boundary,  u = sin(πx) sin(4πy)

The problem is a few lines; the model (PIG: 4 x 800 Gaussians feeding a 4-16-1 tanh MLP)
and the trainer come from sciml.pde. The same problem ships as
``sciml solve helmholtz``.

    python examples/helmholtz.py --iters 600 --out out/helmholtz
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from sciml.pde import PIG, Box, Dirichlet, Fields, Phase, Problem, Trainer
from sciml.pde.output import write_results


def exact(p: torch.Tensor) -> torch.Tensor:
    return torch.sin(math.pi * p[:, 0]) * torch.sin(4 * math.pi * p[:, 1])


def residual(f: Fields) -> torch.Tensor:
    source = (17 * math.pi**2 - 1) * exact(f.x)
    return -f.laplacian("x", "y") - f.u - source


problem = Problem(
    name="helmholtz",
    domain=Box(x=(-1, 1), y=(-1, 1)),
    residual=residual,
    conditions=[Dirichlet(0.0)],
    reference=exact,
)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--gaussians", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("out/helmholtz"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the MLP is tiny; the Rust kernel has its own threads

    model = PIG(problem.domain, num_gaussians=args.gaussians, channels=4, sigma0=0.1)
    trainer = Trainer(
        problem,
        model,
        # a long L-BFGS memory; when it stalls on these points, go on with new ones
        [Phase("lbfgs", args.iters, lr=1.0, history_size=500, on_stall="resample")],
        interior_points=4000,
        condition_points=1000,
        sampling="sobol",  # one fixed, evenly spread set of points suits L-BFGS
        residual_weight=1e-4,  # the source term is O(170): balance it with the boundary
        # -Δe - e barely penalises the box's lowest sine modes: weigh them up
        low_modes=4,
        low_mode_weight=100.0,
        checkpoint=args.out / "checkpoint.pt",
    )
    solution, _, _ = write_results(problem, model, trainer.fit(), args.out)
    print(f"relative L2 error {solution.rel_l2:.3e}; wrote {args.out}/")
    return solution.rel_l2


if __name__ == "__main__":
    main()
