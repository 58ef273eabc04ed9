"""Dense pure-torch forms of the Gaussian embedding: the references the Rust kernel is
tested and benchmarked against, and the path :func:`sciml.ops.gaussian_embedding` takes
for tensors on an accelerator (CUDA, MPS), where the CPU kernel cannot run.

They materialise every point-Gaussian pair (memory O(N K d)): on a CPU only for small
problems; a GPU has the memory for the PIG paper's sizes.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _offsets(x: Tensor, mu: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
    """Standardised offsets r and Gaussian values G for both layouts.

    Shared layout (mu (K, d)): r (N, K, d), G (N, K).
    Per-channel layout (mu (C, Nc, d)): r (C, N, Nc, d), G (C, N, Nc).
    """
    if mu.dim() == 2:
        r = (x[:, None, :] - mu[None]) / sigma[None]
    else:
        r = (x[None, :, None, :] - mu[:, None]) / sigma[:, None]
    return r, torch.exp(-0.5 * (r * r).sum(-1))


def gaussian_embedding_reference(
    x: Tensor, mu: Tensor, sigma: Tensor, w: Tensor, order: int = 2
) -> tuple[Tensor, ...]:
    """Gaussian embedding with closed-form x-derivatives, all pairs, no cutoff.

    Args:
        x: points, (N, d).
        mu, sigma: (K, d) with w (K, F) (shared layout), or (C, Nc, d) with w (C, Nc)
            (per-channel layout, F = C).
        order: 0, 1 or 2.

    Returns:
        ``(phi (N, F), d1 (N, d, F), d2 (N, d, F))`` truncated to ``order + 1`` entries,
        where d1 = dphi/dx_j and d2 = d2phi/dx_j^2. Differentiable by torch autograd.
    """
    r, g = _offsets(x, mu, sigma)
    s = sigma[None] if mu.dim() == 2 else sigma[:, None]
    # phi = sum_k w_k g_k; d/dx_j g = -r_j / s_j g; d2/dx_j2 g = (r_j^2 - 1) / s_j^2 g.
    if mu.dim() == 2:
        outs = [g @ w]
        pattern = "nkj,kf->njf"
    else:
        outs = [torch.einsum("cnk,ck->nc", g, w)]
        pattern = "cnkj,ck->njc"
    if order >= 1:
        outs.append(torch.einsum(pattern, -r / s * g[..., None], w))
    if order >= 2:
        outs.append(torch.einsum(pattern, (r * r - 1.0) / (s * s) * g[..., None], w))
    return tuple(outs)


def gaussian_embedding_autograd(
    x: Tensor, mu: Tensor, sigma: Tensor, w: Tensor, order: int = 2
) -> tuple[Tensor, ...]:
    """Same outputs as :func:`gaussian_embedding_reference`, with the x-derivatives
    taken by nested torch autograd (``create_graph=True``), as PINN codes (and the PIG
    paper's) do. Slow and memory-hungry: it is the baseline the kernel is measured by.
    """
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    _, g = _offsets(x, mu, sigma)
    phi = g @ w if mu.dim() == 2 else torch.einsum("cnk,ck->nc", g, w)
    outs: list[Tensor] = [phi]
    if order == 0:
        return (phi,)
    d = x.shape[1]
    nf = phi.shape[1]
    d1 = torch.stack(
        [torch.autograd.grad(phi[:, f].sum(), x, create_graph=True)[0] for f in range(nf)], -1
    )
    outs.append(d1)
    if order >= 2:
        d2 = torch.stack(
            [
                torch.stack(
                    [
                        torch.autograd.grad(d1[:, j, f].sum(), x, create_graph=True)[0][:, j]
                        for j in range(d)
                    ],
                    -1,
                )
                for f in range(nf)
            ],
            -1,
        )
        outs.append(d2)
    return tuple(outs)
