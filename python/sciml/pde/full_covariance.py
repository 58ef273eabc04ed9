"""Gaussian features with full covariances (rotation × scales), dense, in pure torch.

Each Gaussian has a precision matrix Q = R S⁻² Rᵀ (R a rotation: an angle in 2D, a unit
quaternion in 3D; S = diag(scales)), so with q = Q (x - μ):

    G(x) = exp(-½ (x - μ)ᵀ q),   ∂G/∂x_j = -q_j G,   ∂²G/∂x_j² = (q_j² - Q_jj) G.

This is PIG's full-covariance option. Unlike the Rust kernel (diagonal covariances, with
a cutoff), it evaluates every point-Gaussian pair: memory and time grow as N·K, so it
suits moderate sizes (e.g. 4 × 800 Gaussians and a few thousand points).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def rotation(params: Tensor) -> Tensor:
    """Rotation matrices (..., d, d) from angles (..., 1) in 2D or quaternions (..., 4)
    (normalised here) in 3D."""
    if params.shape[-1] == 1:
        c, s = torch.cos(params[..., 0]), torch.sin(params[..., 0])
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    if params.shape[-1] == 4:
        w, x, y, z = (params / params.norm(dim=-1, keepdim=True)).unbind(-1)
        rows = [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
        return torch.stack([torch.stack(r, -1) for r in rows], -2)
    raise ValueError(
        f"rotation parameters must have 1 (2D) or 4 (3D) entries, got {params.shape[-1]}"
    )


class FullCovarianceEmbedding(nn.Module):
    """Per-channel Gaussian features with full covariances, in 2D or 3D.

    Parameters: ``mu`` (C, Nc, d) uniform in [-1, 1]^d, ``log_scale`` (C, Nc, d) at
    log(sigma0), ``rotation`` (C, Nc, 1) angles at 0 in 2D or (C, Nc, 4) identity
    quaternions in 3D (so it starts as the diagonal PIG), ``w`` (C, Nc) normal with
    standard deviation ``weight_std``.
    """

    def __init__(
        self,
        num_gaussians: int,
        dim: int,
        channels: int = 4,
        *,
        sigma0: float = 0.1,
        weight_std: float = 0.01,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"full covariances are for 2D or 3D points, got dim = {dim}")
        lead = (channels, num_gaussians)
        self.mu = nn.Parameter(torch.rand(*lead, dim, generator=generator) * 2 - 1)
        self.log_scale = nn.Parameter(torch.full((*lead, dim), float(sigma0)).log())
        rot = torch.zeros(*lead, 1) if dim == 2 else torch.tensor([1.0, 0, 0, 0]).expand(*lead, 4)
        self.rotation = nn.Parameter(rot.clone())
        self.w = nn.Parameter(weight_std * torch.randn(*lead, generator=generator))

    def precision(self) -> Tensor:
        """Q = R S⁻² Rᵀ, (C, Nc, d, d)."""
        r = rotation(self.rotation)
        inv_s2 = torch.exp(-2 * self.log_scale)
        return (r * inv_s2[..., None, :]) @ r.transpose(-1, -2)

    def forward(self, x: Tensor, order: int = 0) -> tuple[Tensor, ...]:
        """(phi (N, C), dphi (N, d, C), d2phi (N, d, C)) truncated to ``order``."""
        q_mat = self.precision().to(x.dtype)
        diff = x[None, :, None, :] - self.mu[:, None].to(x.dtype)  # (C, N, Nc, d)
        q = torch.einsum("cnkd,ckde->cnke", diff, q_mat)
        g = torch.exp(-0.5 * (diff * q).sum(-1))  # (C, N, Nc)
        w = self.w.to(x.dtype)
        outs = [torch.einsum("cnk,ck->nc", g, w)]
        if order >= 1:
            outs.append(-torch.einsum("cnkj,cnk,ck->njc", q, g, w))
        if order >= 2:
            diag = torch.diagonal(q_mat, dim1=-2, dim2=-1)[:, None]  # (C, 1, Nc, d)
            outs.append(torch.einsum("cnkj,cnk,ck->njc", q * q - diag, g, w))
        return tuple(outs)
