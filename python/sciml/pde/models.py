"""Models that return u with its x-derivatives: PIG (physics-informed Gaussians) and PINN.

Both map points (N, d) to a :class:`~sciml.pde.taylor.Jet` of u (value (N, 1), d1 and d2
(N, d, 1) up to the requested order). Inputs are first mapped affinely from the problem's
box onto [-1, 1]^d (the frame the PIG paper initialises its Gaussians in).

- :class:`PIG` (Kang et al., ICLR 2025): a Gaussian feature embedding (per-channel layout,
  diagonal covariances) followed by a tiny tanh MLP. The embedding's derivatives come in
  closed form from sciml's Rust kernel and are pushed through the MLP in forward mode.
- :class:`PINN`: a tanh MLP on the coordinates, derivatives by the same forward mode.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sciml.ops import GaussianEmbedding
from sciml.ops.gaussian_embedding import Cutoff
from sciml.pde.domain import Box
from sciml.pde.full_covariance import FullCovarianceEmbedding
from sciml.pde.taylor import Jet, TanhMLP, identity_jet


class _BoxNormalised(nn.Module):
    """Holds the affine map x -> x̂ = (x - center) / half_width onto [-1, 1]^d."""

    def __init__(self, domain: Box) -> None:
        super().__init__()
        self.register_buffer("center", ((domain.low + domain.high) / 2).float())
        self.register_buffer("inv_half", (2 / (domain.high - domain.low)).float())
        self.dim = domain.dim

    def normalise(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"points must have shape (N, {self.dim}) for this model, got {tuple(x.shape)}"
            )
        return (x - self.center.to(x.dtype)) * self.inv_half.to(x.dtype)


class PIG(_BoxNormalised):
    """Physics-informed Gaussians: u(x) = MLP(φ(x̂)) with φ a Gaussian embedding.

    Args:
        domain: the problem's box (Gaussian means start uniform in it).
        num_gaussians: Gaussians per channel (the paper: 800 for Helmholtz).
        channels: embedding channels = MLP input width (the paper: 4).
        hidden: MLP hidden widths (the paper: (16,)).
        sigma0: initial standard deviation in the normalised frame (the paper: 0.1).
        weight_std: standard deviation of the initial Gaussian weights (the paper: 0.01).
        cutoff: the embedding's cutoff (see :func:`sciml.ops.gaussian_embedding`).
        covariance: ``"diagonal"`` (the Rust kernel) or ``"full"`` (rotation × scales,
            2D/3D, dense pure torch: see :mod:`sciml.pde.full_covariance`; it starts
            equal to the diagonal model).
        seed: seed of the initialisation.
    """

    def __init__(
        self,
        domain: Box,
        num_gaussians: int = 800,
        channels: int = 4,
        hidden: tuple[int, ...] = (16,),
        sigma0: float = 0.1,
        weight_std: float = 0.01,
        cutoff: Cutoff = "auto",
        covariance: str = "diagonal",
        seed: int = 0,
    ) -> None:
        super().__init__(domain)
        g = torch.Generator().manual_seed(seed)
        if covariance == "diagonal":
            self.embedding = GaussianEmbedding(
                num_gaussians,
                domain.dim,
                channels,
                per_channel=True,
                sigma0=sigma0,
                weight_std=weight_std,
                cutoff=cutoff,
                generator=g,
            )
        elif covariance == "full":
            self.embedding = FullCovarianceEmbedding(
                num_gaussians,
                domain.dim,
                channels,
                sigma0=sigma0,
                weight_std=weight_std,
                generator=g,
            )
        else:
            raise ValueError(f"covariance must be 'diagonal' or 'full', got {covariance!r}")
        torch.manual_seed(seed)
        self.mlp = TanhMLP((channels, *hidden, 1))

    def forward(self, x: Tensor, order: int = 0) -> Jet:
        outs = self.embedding(self.normalise(x), order=order)
        features = Jet(*outs).scale_inputs(self.inv_half.to(x.dtype))
        return self.mlp(features)


class PINN(_BoxNormalised):
    """A physics-informed neural network: a tanh MLP on the normalised coordinates.

    Args:
        domain: the problem's box.
        hidden: hidden widths (default four layers of 64).
        seed: seed of the initialisation.
    """

    def __init__(self, domain: Box, hidden: tuple[int, ...] = (64, 64, 64, 64), seed: int = 0):
        super().__init__(domain)
        torch.manual_seed(seed)
        self.mlp = TanhMLP((domain.dim, *hidden, 1))

    def forward(self, x: Tensor, order: int = 0) -> Jet:
        jet = identity_jet(self.normalise(x), order).scale_inputs(self.inv_half.to(x.dtype))
        return self.mlp(jet)
