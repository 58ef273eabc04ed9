"""Allen–Cahn 1D + time (the JAX-PI setting):

    u_t - 1e-4 u_xx + 5u³ - 5u = 0   on t ∈ [0, 1], x ∈ [-1, 1] periodic,
    u(0, x) = x² cos(πx).

The reference is sciml's own Fourier ETDRK4 solve (512 modes; relative L2 error about
1e-5, limited by the kink of the periodic initial condition at x = ±1), cached on disk."""

from __future__ import annotations

import math

import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Fields, Initial, Periodic, Problem
from sciml.pde.problems.grid import LazyGridReference
from sciml.pde.reference_solvers import allen_cahn as allen_cahn_reference


def initial(p: torch.Tensor) -> torch.Tensor:
    x = p[:, 1]
    return x**2 * torch.cos(math.pi * x)


def allen_cahn() -> Problem:
    def residual(f: Fields) -> torch.Tensor:
        return f.d("t") - 1e-4 * f.dd("x") + 5 * f.u**3 - 5 * f.u

    return Problem(
        name="allen_cahn",
        domain=Box(t=(0, 1), x=(-1, 1)),
        residual=residual,
        order=2,
        time="t",
        conditions=[Initial(initial, points=512), Periodic(axis="x", points=256)],
        reference=LazyGridReference(allen_cahn_reference),
        evaluation={"t": 201, "x": 512},
        description="Allen–Cahn 1D+t, periodic, ETDRK4 spectral reference",
    )
