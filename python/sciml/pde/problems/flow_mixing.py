"""Flow mixing 2D + time (the PIG paper's setting): a scalar advected by a rotating vortex,

    u_t + a u_x + b u_y = 0,   a = -(v_t / v_max) y / r,   b = (v_t / v_max) x / r,

on t ∈ [0, 4], x, y ∈ [-4, 4], with r = √(x² + y²), v_t = sech²(r) tanh(r),
v_max = 0.385. Exact solution u = -tanh((y/2) cos(ωt) - (x/2) sin(ωt)), ω = v_t / (r v_max);
initial and boundary values come from it."""

from __future__ import annotations

import torch

from sciml.pde.domain import Box
from sciml.pde.problem import Dirichlet, Fields, Initial, Problem

V_MAX = 0.385


def _swirl(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(v_t / v_max, r), with r kept away from 0 (where v_t / r -> 0 smoothly)."""
    r = torch.sqrt(x * x + y * y).clamp_min(1e-12)
    vt = torch.tanh(r) / torch.cosh(r) ** 2
    return vt / V_MAX, r


def exact(p: torch.Tensor) -> torch.Tensor:
    t, x, y = p[:, 0], p[:, 1], p[:, 2]
    speed, r = _swirl(x, y)
    omega = speed / r
    return -torch.tanh(y / 2 * torch.cos(omega * t) - x / 2 * torch.sin(omega * t))


def flow_mixing() -> Problem:
    def residual(f: Fields) -> torch.Tensor:
        x, y = f.coord("x"), f.coord("y")
        speed, r = _swirl(x, y)
        a, b = -speed * y / r, speed * x / r
        return f.d("t") + a * f.d("x") + b * f.d("y")

    return Problem(
        name="flow_mixing",
        domain=Box(t=(0, 4), x=(-4, 4), y=(-4, 4)),
        residual=residual,
        order=1,
        time="t",
        conditions=[Initial(exact, points=900), Dirichlet(exact, points=3600)],
        reference=exact,
        evaluation={"t": 50, "x": 50, "y": 50},
        description="Flow mixing 2D+t, v_max = 0.385, analytic solution",
    )
