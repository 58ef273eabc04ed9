"""Batched ARD correlation matrices, lean enough for the inner loop of hyperparameter fits."""

from __future__ import annotations

import torch


def ard_correlation(x: torch.Tensor, lengthscale: torch.Tensor, kernel: str) -> torch.Tensor:
    """The correlation matrices (m, n, n) of inputs x (n, p) under m sets of ARD lengthscales
    (m, p) (or (m, 1, p), gpytorch's layout), for kernel "matern52", "matern32" or "rbf":

        d = |(x - x') / l|,  matern52: (1 + r + r^2 / 3) e^-r with r = sqrt(5) d,
        matern32: (1 + r) e^-r with r = sqrt(3) d,  rbf: e^(-d^2 / 2).

    The same numbers as gpytorch's kernels (to rounding), in a handful of tensor
    operations: inside a fit, gpytorch's general kernel code costs several times more
    than the Cholesky factorisation it feeds. Differentiable in the lengthscales.
    """
    scaled = x / lengthscale.reshape(lengthscale.shape[0], 1, x.shape[-1])  # (m, n, p)
    norms = scaled.square().sum(-1)
    sq = (norms.unsqueeze(-1) + norms.unsqueeze(-2) - 2 * scaled @ scaled.mT).clamp_min(0)
    if kernel == "rbf":
        return torch.exp(-0.5 * sq)
    if kernel in _MATERN:
        return _MaternOfSquaredDistance.apply(sq, *_MATERN[kernel])
    raise ValueError(f"unknown kernel {kernel!r}")


_MATERN = {"matern52": (5.0, True), "matern32": (3.0, False)}
"""kernel -> (c, nu is 5/2): r = sqrt(c d^2)."""


class _MaternOfSquaredDistance(torch.autograd.Function):
    """Matern 5/2 or 3/2 correlation as a function of the squared distance d^2 (m, n, n),
    with its derivative in closed form: in d^2 it is finite everywhere,

        nu = 5/2: k = (1 + r + r^2 / 3) e^-r,  dk/dd^2 = -(5 / 6) (1 + r) e^-r,  r = sqrt(5) d
        nu = 3/2: k = (1 + r) e^-r,            dk/dd^2 = -(3 / 2) e^-r,          r = sqrt(3) d

    so, unlike autograd through sqrt, it needs no clamp at d = 0 and few passes over the
    (m, n, n) tensors, which dominate a fit's cost.
    """

    @staticmethod
    def forward(ctx, sq: torch.Tensor, c: float, five_halves: bool) -> torch.Tensor:
        r = torch.sqrt(c * sq)
        decay = torch.exp(-r)
        ctx.save_for_backward(r, decay)
        ctx.five_halves = five_halves
        if five_halves:
            return (1 + r + r.square() / 3) * decay
        return (1 + r) * decay

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        r, decay = ctx.saved_tensors
        if ctx.five_halves:
            return grad * (-5 / 6) * (1 + r) * decay, None, None
        return grad * (-3 / 2) * decay, None, None
