"""Transformer encoder layers (post- or pre-norm) with the masks of :mod:`sciml.nn.attention`."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn.attention import MultiheadAttention

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class TransformerEncoderLayer(nn.Module):
    """Self-attention and a feed-forward block, each in a residual branch with LayerNorm.

    Args:
        dim: token width D; heads: attention heads; dim_ff: hidden width of the feed-forward
        block; dropout: on attention weights and both residual branches; activation: "gelu"
        or "relu"; norm_first: pre-norm (LayerNorm inside the branches) instead of the
        original post-norm.
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        dim_ff: int,
        *,
        dropout: float = 0.0,
        activation: str = "gelu",
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        self.self_attn = MultiheadAttention(dim, heads, dropout)
        self.linear1 = nn.Linear(dim, dim_ff)
        self.linear2 = nn.Linear(dim_ff, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.activation = _ACTIVATIONS[activation]
        self.norm_first = norm_first

    def zero_init_residual(self) -> None:
        """Zero the last map of both residual branches, so the layer starts as the identity
        (the initialisation of the PFN reference code)."""
        for lin in (self.self_attn.out_proj, self.linear2):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def _attend(self, x: Tensor, n_context: int | None, **masks) -> Tensor:
        if n_context is not None:
            return self.dropout(self.self_attn.context_query(x, n_context))
        return self.dropout(self.self_attn(x, x, x, **masks))

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, x: Tensor, *, n_context: int | None = None, **masks) -> Tensor:
        """x (B, L, D) -> (B, L, D).

        Args:
            n_context: attend under :func:`sciml.nn.context_query_mask` (efficiently);
                otherwise ``masks`` (attn_mask, key_padding_mask, is_causal) are passed to
                :class:`MultiheadAttention`.
        """
        if self.norm_first:
            x = x + self._attend(self.norm1(x), n_context, **masks)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._attend(x, n_context, **masks))
        return self.norm2(x + self._feed_forward(x))


class TransformerEncoder(nn.Module):
    """A stack of ``layers`` :class:`TransformerEncoderLayer` (each initialised on its own),
    with a final LayerNorm when pre-norm."""

    def __init__(self, layers: int, dim: int, heads: int, dim_ff: int, **layer_kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TransformerEncoderLayer(dim, heads, dim_ff, **layer_kwargs) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim) if layer_kwargs.get("norm_first") else nn.Identity()

    def forward(self, x: Tensor, **kwargs) -> Tensor:
        """x (B, L, D) -> (B, L, D); ``kwargs`` go to every layer."""
        for layer in self.layers:
            x = layer(x, **kwargs)
        return self.norm(x)
