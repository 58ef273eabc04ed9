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
    # At d = 0 the correlation's true derivative in d^2 is finite, but sqrt's is not; the
    # clamp keeps the gradient finite there (d^2 does not depend on l on the diagonal).
    if kernel == "matern52":
        r = torch.sqrt(5 * sq.clamp_min(1e-30))
        return (1 + r + r.square() / 3) * torch.exp(-r)
    if kernel == "matern32":
        r = torch.sqrt(3 * sq.clamp_min(1e-30))
        return (1 + r) * torch.exp(-r)
    raise ValueError(f"unknown kernel {kernel!r}")
