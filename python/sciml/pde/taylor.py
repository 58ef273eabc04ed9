"""Forward-mode ("Taylor") propagation of values and x-derivatives through an MLP.

A :class:`Jet` carries a batch of values z (N, m) together with their first derivatives
dz/dx_j (N, d, m) and diagonal second derivatives d²z/dx_j² (N, d, m). Pushing it through
affine maps and elementwise activations uses the chain rule directly:

    affine  y = z Wᵀ + b:   dy = dz Wᵀ,             d²y = d²z Wᵀ
    σ elementwise:          dy = σ'(z) dz,          d²y = σ'(z) d²z + σ''(z) (dz)²

so the derivatives of a network's output cost a few matrix products, with no nested
autograd (the "forward Laplacian" idea, restricted to the diagonal of the Hessian).
Everything stays differentiable by ordinary (first-order) autograd for training.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class Jet:
    """Values with x-derivatives: value (N, m); d1, d2 (N, d, m) or None above the order."""

    value: Tensor
    d1: Tensor | None = None
    d2: Tensor | None = None

    @property
    def order(self) -> int:
        return 0 if self.d1 is None else 1 if self.d2 is None else 2

    def affine(self, layer: nn.Linear) -> Jet:
        """The jet of ``layer(z)``."""
        w = layer.weight
        return Jet(
            layer(self.value),
            None if self.d1 is None else self.d1 @ w.T,
            None if self.d2 is None else self.d2 @ w.T,
        )

    def tanh(self) -> Jet:
        """The jet of ``tanh(z)``: tanh' = 1 - tanh², tanh'' = -2 tanh (1 - tanh²)."""
        t = torch.tanh(self.value)
        g1 = 1 - t * t
        if self.d1 is None:
            return Jet(t)
        d1 = g1[:, None] * self.d1
        if self.d2 is None:
            return Jet(t, d1)
        g2 = -2 * t * g1
        return Jet(t, d1, g1[:, None] * self.d2 + g2[:, None] * self.d1 * self.d1)

    def scale_inputs(self, inv_scale: Tensor) -> Jet:
        """Derivatives with respect to x = c + scale * x̂ from those with respect to x̂.

        ``inv_scale`` is 1/scale, (d,).
        """
        s = inv_scale[None, :, None]
        return Jet(
            self.value,
            None if self.d1 is None else self.d1 * s,
            None if self.d2 is None else self.d2 * s * s,
        )


def identity_jet(x: Tensor, order: int) -> Jet:
    """The jet of the coordinates themselves: dx/dx_j = e_j, d²x/dx_j² = 0."""
    n, d = x.shape
    eye = torch.eye(d, dtype=x.dtype, device=x.device).expand(n, d, d)
    return Jet(
        x,
        eye if order >= 1 else None,
        torch.zeros_like(eye) if order >= 2 else None,
    )


class TanhMLP(nn.Module):
    """A tanh MLP that maps jets: ``widths = (in, hidden..., out)``; tanh after every
    layer but the last. Initialised with Xavier-normal weights and zero biases."""

    def __init__(self, widths: tuple[int, ...], dtype: torch.dtype | None = None) -> None:
        super().__init__()
        if len(widths) < 2 or any(w < 1 for w in widths):
            raise ValueError(f"widths must be at least two positive integers, got {widths!r}")
        self.layers = nn.ModuleList(
            nn.Linear(a, b, dtype=dtype) for a, b in itertools.pairwise(widths)
        )
        for layer in self.layers:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, jet: Jet) -> Jet:
        for i, layer in enumerate(self.layers):
            jet = jet.affine(layer)
            if i < len(self.layers) - 1:
                jet = jet.tanh()
        return jet
