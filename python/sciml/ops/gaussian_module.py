"""GaussianEmbedding: an nn.Module owning trainable Gaussians, initialised as in PIG."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from sciml.ops.gaussian_embedding import Cutoff, gaussian_embedding


class GaussianEmbedding(nn.Module):
    """Trainable Gaussian features ``phi(x) = sum_k w_k G_k(x)`` with x-derivatives.

    Initialised as the PIG paper (Kang et al., ICLR 2025) does: means uniform in the
    domain box, every standard deviation equal to ``sigma0``, weights normal with
    standard deviation ``weight_std``.

    The standard deviations are kept positive by a log parametrisation: the parameter is
    ``log_sigma`` and ``sigma = exp(log_sigma)``. (The paper trains sigma directly; with
    Adam, a step then changes sigma by a fraction of itself rather than by a fixed amount.)

    Args:
        num_gaussians: Gaussians per channel (per-channel layout) or in all (shared).
        dim: dimension d of the points.
        channels: output channels F.
        per_channel: True (the paper's layout): each channel owns ``num_gaussians``
            Gaussians with scalar weights; parameters mu, log_sigma (C, Nc, d), w (C, Nc).
            False: ``num_gaussians`` Gaussians feed all channels; mu, log_sigma (K, d),
            w (K, F).
        domain: ``(low, high)`` bounds of the box the means start in: two numbers, or two
            sequences of length d.
        sigma0: initial standard deviation (the paper: 0.1 on [-1, 1]^d).
        weight_std: standard deviation of the initial weights (the paper: 0.01).
        cutoff: as in :func:`sciml.ops.gaussian_embedding`.
        generator: random generator for the initialisation.
        dtype: parameter dtype (default: torch's default dtype).
    """

    def __init__(
        self,
        num_gaussians: int,
        dim: int,
        channels: int = 4,
        *,
        per_channel: bool = True,
        domain: tuple[float | Sequence[float], float | Sequence[float]] = (-1.0, 1.0),
        sigma0: float = 0.1,
        weight_std: float = 0.01,
        cutoff: Cutoff = "auto",
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, v in (("num_gaussians", num_gaussians), ("dim", dim), ("channels", channels)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {sigma0!r}")
        dtype = dtype or torch.get_default_dtype()
        low = torch.as_tensor(domain[0], dtype=dtype).expand(dim)
        high = torch.as_tensor(domain[1], dtype=dtype).expand(dim)
        if not bool((high > low).all()):
            raise ValueError(f"domain must have low < high in every dimension, got {domain!r}")

        lead = (channels, num_gaussians) if per_channel else (num_gaussians,)
        unit = torch.rand(*lead, dim, generator=generator, dtype=dtype)
        self.mu = nn.Parameter(low + (high - low) * unit)
        self.log_sigma = nn.Parameter(torch.full((*lead, dim), float(sigma0), dtype=dtype).log())
        w_shape = (channels, num_gaussians) if per_channel else (num_gaussians, channels)
        self.w = nn.Parameter(weight_std * torch.randn(*w_shape, generator=generator, dtype=dtype))
        self.dim = dim
        self.channels = channels
        self.per_channel = per_channel
        self.cutoff = cutoff

    @property
    def sigma(self) -> Tensor:
        """Standard deviations, shaped like ``mu``."""
        return self.log_sigma.exp()

    def forward(self, x: Tensor, order: int = 0) -> tuple[Tensor, ...]:
        """``(phi (N, F), dphi (N, d, F), d2phi (N, d, F))`` truncated to ``order``."""
        return gaussian_embedding(x, self.mu, self.sigma, self.w, order=order, cutoff=self.cutoff)

    def extra_repr(self) -> str:
        n = self.mu.shape[-2] if self.per_channel else self.mu.shape[0]
        layout = "per_channel" if self.per_channel else "shared"
        return f"num_gaussians={n}, dim={self.dim}, channels={self.channels}, layout={layout}"
