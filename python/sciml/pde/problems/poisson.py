"""Poisson 2D, the hello-world: -Δu = 2π² sin(πx) sin(πy) on [-1, 1]², u = 0 on the
boundary, exact solution u = sin(πx) sin(πy)."""

from __future__ import annotations

import math

import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Dirichlet, Fields, Problem


def poisson() -> Problem:
    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(math.pi * p[:, 0]) * torch.sin(math.pi * p[:, 1])

    def residual(f: Fields) -> torch.Tensor:
        return -f.laplacian("x", "y") - 2 * math.pi**2 * exact(f.x)

    return Problem(
        name="poisson",
        domain=Box(x=(-1, 1), y=(-1, 1)),
        residual=residual,
        conditions=[Dirichlet(0.0)],
        reference=exact,
        description="Poisson 2D, u = sin(πx) sin(πy)",
    )
