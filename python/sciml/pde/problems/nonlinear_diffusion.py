"""Nonlinear diffusion 2D + time (the PIG paper's setting):

    u_t = α (|∇u|² + u Δu) = (α/2) Δ(u²)   on t ∈ [0, 1], x, y ∈ [-1, 1],  α = 0.05,

u = 0 on the sides, and an initial condition of three Gaussian bumps. The reference is
sciml's own finite-difference solve (512² cells, RK4; estimated relative L2 error 1.6e-5),
computed on first use (about half a minute) and cached on disk."""

from __future__ import annotations

import numpy as np
import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Dirichlet, Fields, Initial, Problem
from sciml.pde.problems.grid import LazyGridReference
from sciml.pde.reference_solvers import nonlinear_diffusion as diffusion_reference
from sciml.pde.reference_solvers import nonlinear_diffusion_initial

ALPHA = 0.05


def initial(p: torch.Tensor) -> torch.Tensor:
    x, y = (p[:, j].detach().double().cpu().numpy() for j in (1, 2))
    values = torch.from_numpy(np.asarray(nonlinear_diffusion_initial(x, y)))
    return values.to(p.device, p.dtype)


def nonlinear_diffusion(reference_cells: int = 512) -> Problem:
    """The problem; ``reference_cells`` per side for the finite-difference reference (512
    by default; a coarser one is faster to compute, e.g. for tests)."""

    def residual(f: Fields) -> torch.Tensor:
        grad2 = f.d("x") ** 2 + f.d("y") ** 2
        return f.d("t") - ALPHA * (grad2 + f.u * f.laplacian("x", "y"))

    return Problem(
        name="nonlinear_diffusion",
        domain=Box(t=(0, 1), x=(-1, 1), y=(-1, 1)),
        residual=residual,
        order=2,
        time="t",
        conditions=[Initial(initial, points=256), Dirichlet(0.0, points=1024)],
        reference=LazyGridReference(lambda: diffusion_reference(n_cells=reference_cells)),
        evaluation={"t": 51, "x": 101, "y": 101},
        description="Nonlinear diffusion 2D+t, α = 0.05, finite-difference reference",
    )
