"""Klein–Gordon 2D + time with physics-informed Gaussians, declared from scratch.

    u_tt - Δu + u² = f  on t ∈ [0, 10], x, y ∈ [-1, 1],
    u = (x + y) cos(2t) + xy sin(2t)  (so f = u² - 4u),

with the initial value and the side values taken from the exact solution: a time axis is
one more named axis of the box, and an initial condition one more condition. The same
problem ships as ``sciml solve klein_gordon``.

    python examples/klein_gordon.py --iters 2000 --out out/klein_gordon
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sciml.pde import PIG, Box, Dirichlet, Fields, Initial, Phase, Problem, Trainer
from sciml.pde.output import write_results


def exact(p: torch.Tensor) -> torch.Tensor:
    t, x, y = p[:, 0], p[:, 1], p[:, 2]
    return (x + y) * torch.cos(2 * t) + x * y * torch.sin(2 * t)


def residual(f: Fields) -> torch.Tensor:
    u = exact(f.x)
    return f.dd("t") - f.laplacian("x", "y") + f.u**2 - (u**2 - 4 * u)


problem = Problem(
    name="klein_gordon",
    domain=Box(t=(0, 10), x=(-1, 1), y=(-1, 1)),
    residual=residual,
    time="t",
    conditions=[Initial(exact), Dirichlet(exact)],
    reference=exact,
    evaluation={"t": 21, "x": 51, "y": 51},
)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--gaussians", type=int, default=100, help="per channel")
    parser.add_argument("--points", type=int, default=4096, help="collocation points")
    parser.add_argument("--out", type=Path, default=Path("out/klein_gordon"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the MLP is tiny; the Rust kernel has its own threads

    model = PIG(problem.domain, num_gaussians=args.gaussians, channels=4, sigma0=0.5)
    trainer = Trainer(
        problem,
        model,
        [Phase("adam", args.iters, lr=1e-2, gamma=0.9 ** (1 / 2000))],
        interior_points=args.points,
        condition_points=256,
        resample_every=100,
        checkpoint=args.out / "checkpoint.pt",
    )
    solution, _, _ = write_results(problem, model, trainer.fit(), args.out)
    print(f"relative L2 error {solution.rel_l2:.3e}; wrote {args.out}/")
    return solution.rel_l2


if __name__ == "__main__":
    main()
