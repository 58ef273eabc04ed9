"""Klein–Gordon 2D + time, as the PIG paper's code states it:

    u_tt - (u_xx + u_yy) + u² = f   on t ∈ [0, 10], x, y ∈ [-1, 1],

with the exact solution u = (x + y) cos(2t) + xy sin(2t). Since u is linear in x and in y,
Δu = 0 and u_tt = -4u, so f = u² - 4u. The initial value u(0) (the code sets no initial
velocity) and Dirichlet values on the sides come from the exact solution."""

from __future__ import annotations

import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Dirichlet, Fields, Initial, Problem


def exact(p: torch.Tensor) -> torch.Tensor:
    t, x, y = p[:, 0], p[:, 1], p[:, 2]
    return (x + y) * torch.cos(2 * t) + x * y * torch.sin(2 * t)


def klein_gordon() -> Problem:
    def residual(f: Fields) -> torch.Tensor:
        u_exact = exact(f.x)
        source = u_exact**2 - 4 * u_exact
        return f.dd("t") - f.laplacian("x", "y") + f.u**2 - source

    return Problem(
        name="klein_gordon",
        domain=Box(t=(0, 10), x=(-1, 1), y=(-1, 1)),
        residual=residual,
        order=2,
        time="t",
        conditions=[
            Initial(exact, points=256),
            Dirichlet(exact, points=1024),
        ],
        reference=exact,
        evaluation={"t": 50, "x": 50, "y": 50},
        description="Klein–Gordon 2D+t, u = (x+y)cos(2t) + xy sin(2t)",
    )
