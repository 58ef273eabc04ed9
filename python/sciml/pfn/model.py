"""The PFN transformer: data set and queries in, Riemann-distribution logits per query out."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from sciml.nn import TransformerEncoder, mlp


@dataclass(frozen=True)
class PFNConfig:
    """Sizes of a :class:`PFN`. The defaults are the paper's (Müller et al. 2022): emsize
    512, 6 layers, 4 heads, feed-forward width 2 * emsize, 1000 buckets, no dropout.

    Args:
        max_features: input width F (data sets with fewer features are zero-padded).
        emsize: token width.
        nlayers, nhead: transformer depth and heads.
        nhid: feed-forward width of each layer and of the output head (None: 2 * emsize).
        n_buckets: buckets of the Riemann distribution.
        dropout: dropout in the transformer while training.
    """

    max_features: int = 1
    emsize: int = 512
    nlayers: int = 6
    nhead: int = 4
    nhid: int | None = None
    n_buckets: int = 1000
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("max_features", "emsize", "nlayers", "nhead", "n_buckets"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.n_buckets < 2:
            raise ValueError(f"n_buckets must be >= 2, got {self.n_buckets}")
        if self.emsize % self.nhead:
            raise ValueError(f"emsize ({self.emsize}) must be a multiple of nhead ({self.nhead})")

    @property
    def hidden(self) -> int:
        return 2 * self.emsize if self.nhid is None else self.nhid

    def to_dict(self) -> dict:
        return asdict(self)


class PFN(nn.Module):
    """Prior-data fitted network (Müller et al., ICLR 2022), batch-first.

    Tokens: a context point (x, y) is ``enc_x(x) + enc_y(y)``, a query ``enc_x(x)``; there
    is no positional encoding, so the output does not depend on the order of the context
    and each query's output on no other query (:func:`sciml.nn.context_query_mask`). A
    post-norm transformer encoder (GELU) whose residual branches start at zero, as in the
    reference code, and a two-layer head to ``n_buckets`` logits whose last layer starts at
    zero, so an untrained model predicts the prior's marginal (equal-mass buckets).

    Args:
        config: the sizes.
        borders: (n_buckets + 1,) increasing bucket borders (see
            :func:`sciml.pfn.bar.borders_from_samples`); stored in the state dict.
    """

    def __init__(self, config: PFNConfig, borders: Tensor) -> None:
        super().__init__()
        if borders.shape != (config.n_buckets + 1,):
            raise ValueError(
                f"borders must have shape ({config.n_buckets + 1},), got {tuple(borders.shape)}"
            )
        self.config = config
        self.register_buffer("borders", borders.detach().to(torch.float32).clone())
        self.encoder_x = nn.Linear(config.max_features, config.emsize)
        self.encoder_y = nn.Linear(1, config.emsize)
        self.transformer = TransformerEncoder(
            config.nlayers,
            config.emsize,
            config.nhead,
            config.hidden,
            dropout=config.dropout,
            activation="gelu",
        )
        for layer in self.transformer.layers:
            layer.zero_init_residual()
        self.decoder = mlp(config.emsize, config.hidden, config.n_buckets)
        nn.init.zeros_(self.decoder[-1].weight)
        nn.init.zeros_(self.decoder[-1].bias)

    def forward(self, x_context: Tensor, y_context: Tensor, x_query: Tensor) -> Tensor:
        """Logits (B, M, n_buckets) for queries x_query (B, M, F) given the data sets
        x_context (B, N, F), y_context (B, N) (N may be 0)."""
        n = x_context.shape[1]
        x = self.encoder_x(torch.cat([x_context, x_query], dim=1))
        tokens = torch.cat([x[:, :n] + self.encoder_y(y_context.unsqueeze(-1)), x[:, n:]], dim=1)
        out = self.transformer(tokens, n_context=n)
        return self.decoder(out[:, n:])
