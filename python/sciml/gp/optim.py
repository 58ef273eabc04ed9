"""Batched BFGS: minimise m independent smooth functions at once, each with its own steps.

The m problems share every function evaluation (one batched call) but nothing else: each
has its own inverse-Hessian estimate H_j (d, d), its own backtracking line search and its
own stopping test. So the result for problem j is the one a lone run on j would give, and
problems that converge early stop moving while the others go on. Meant for small d (the
hyperparameters of one GP output: tens at most), where a dense H_j is cheap.

Iteration, for each problem j still running (x_j (d,), f_j, gradient g_j):

    p   = -H g                              (steepest descent if p is not a descent direction)
    t   = 1 (min(1, 1 / |g|_1) while H is the identity), shrunk until
          f(x + t p) <= f(x) + c1 t g.p     (Armijo; quadratic interpolation, factor in
                                            [0.1, 0.5]; non-finite values count as failures)
    s   = t p, y = g(x + s) - g(x); if s.y > 0, BFGS update of H (scaled by s.y / y.y
          the first time)

and j stops when max |g| <= gtol, when f decreases by less than ftol (1 + |f|) in one
iteration, when the line search fails, or after max_iter iterations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

Objective = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""(x (m, d), rows (m,) bool) -> (f (m,), gradient (m, d)); f may be inf or NaN where
undefined. Only the rows marked in ``rows`` are read, so an objective may skip the others
(problems that have converged or whose line search is done) and return anything there."""


class BFGSResult(NamedTuple):
    """x (m, d) and f (m,) at the end, iterations (m,) taken, objective calls made."""

    x: torch.Tensor
    f: torch.Tensor
    n_iter: torch.Tensor
    n_calls: int


def batched_bfgs(
    fun: Objective,
    x0: torch.Tensor,
    *,
    max_iter: int = 200,
    gtol: float = 1e-9,
    ftol: float = 1e-12,
    c1: float = 1e-4,
    max_backtracks: int = 30,
) -> BFGSResult:
    """Minimise the m independent functions of ``fun`` from x0 (m, d).

    Problems whose f or gradient is not finite at x0 are not moved. See the module
    docstring for the method and the stopping rules.
    """
    x = x0.detach().clone()
    m, d = x.shape
    f, g = fun(x, torch.ones(m, dtype=torch.bool, device=x.device))
    n_calls = 1
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    h = eye.repeat(m, 1, 1)
    unscaled = torch.ones(m, dtype=torch.bool, device=x.device)  # h is still the identity
    active = torch.isfinite(f) & torch.isfinite(g).all(-1)
    n_iter = torch.zeros(m, dtype=torch.long, device=x.device)
    for _ in range(max_iter):
        active &= g.abs().amax(-1) > gtol
        if not active.any():
            break
        p = -(h @ g.unsqueeze(-1)).squeeze(-1)
        slope = (g * p).sum(-1)
        reset = active & ~(slope < 0)
        if reset.any():
            h[reset] = eye
            unscaled |= reset
            p = torch.where(reset[:, None], -g, p)
            slope = (g * p).sum(-1)
        ones = torch.ones_like(f)
        t = torch.where(unscaled, torch.clamp(1 / g.abs().sum(-1), max=1.0), ones)

        x_new, f_new, g_new = x.clone(), f.clone(), g.clone()
        pending = active.clone()
        for _ in range(max_backtracks + 1):
            trial = torch.where(pending[:, None], x + t[:, None] * p, x_new)
            f_t, g_t = fun(trial, pending)
            n_calls += 1
            finite = pending & torch.isfinite(f_t) & torch.isfinite(g_t).all(-1)
            ok = pending & finite & (f_t <= f + c1 * t * slope)
            x_new[ok], f_new[ok], g_new[ok] = trial[ok], f_t[ok], g_t[ok]
            pending &= ~ok
            if not pending.any():
                break
            # minimiser of the quadratic through f(0), f'(0) and f(t), kept in [0.1 t, 0.5 t]
            curv = torch.where(finite, f_t - f - slope * t, torch.full_like(f, torch.inf))
            t_quad = -slope * t * t / (2 * curv)
            t = torch.where(pending, torch.minimum(torch.maximum(t_quad, 0.1 * t), 0.5 * t), t)
        moved = active & ~pending
        active &= ~pending  # a failed line search: no decrease is left to find

        s, y = x_new - x, g_new - g
        sy, yy = (s * y).sum(-1), (y * y).sum(-1)
        update = moved & (sy > 1e-12 * s.norm(dim=-1) * y.norm(dim=-1))
        if update.any():
            first = update & unscaled
            h[first] = eye * (sy[first] / yy[first])[:, None, None]
            unscaled &= ~update
            rho = torch.where(update, 1 / sy, torch.zeros_like(sy))[:, None, None]
            hy = h @ y.unsqueeze(-1)  # (m, d, 1)
            s_ = s.unsqueeze(-1)
            yhy = (y.unsqueeze(-2) @ hy).squeeze(-1)[..., None]  # (m, 1, 1)
            h = h - rho * (s_ @ hy.mT + hy @ s_.mT) + (rho * rho * yhy + rho) * (s_ @ s_.mT)
        small = moved & (f - f_new <= ftol * (1 + f.abs()))
        active &= ~small
        n_iter += moved.long()
        x, f, g = x_new, f_new, g_new
    return BFGSResult(x, f, n_iter, n_calls)
