"""Helmholtz 2D (the PIG paper's setting): -Δu - k²u = f on [-1, 1]², u = 0 on the boundary,
k = 1, exact solution u = sin(a₁πx) sin(a₂πy) with (a₁, a₂) = (1, 4)."""

from __future__ import annotations

import math

import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Dirichlet, Fields, Problem


def helmholtz(k: float = 1.0, a1: float = 1.0, a2: float = 4.0) -> Problem:
    def exact(p: torch.Tensor) -> torch.Tensor:
        return torch.sin(a1 * math.pi * p[:, 0]) * torch.sin(a2 * math.pi * p[:, 1])

    source_scale = (a1**2 + a2**2) * math.pi**2 - k**2

    def residual(f: Fields) -> torch.Tensor:
        return -f.laplacian("x", "y") - k**2 * f.u - source_scale * exact(f.x)

    return Problem(
        name="helmholtz",
        domain=Box(x=(-1, 1), y=(-1, 1)),
        residual=residual,
        order=2,
        conditions=[Dirichlet(0.0)],
        reference=exact,
        description=f"Helmholtz 2D, k = {k:g}, u = sin({a1:g}πx) sin({a2:g}πy)",
    )
