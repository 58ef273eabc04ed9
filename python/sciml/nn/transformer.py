"""Transformer encoder and decoder layers (post- or pre-norm) with the masks of
:mod:`sciml.nn.attention`."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn.attention import MultiheadAttention

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


def _activation(name: str):
    """The activation function called ``name`` (ValueError naming the choices otherwise)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


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
        self.self_attn = MultiheadAttention(dim, heads, dropout)
        self.linear1 = nn.Linear(dim, dim_ff)
        self.linear2 = nn.Linear(dim_ff, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.activation = _activation(activation)
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


class TransformerDecoderLayer(nn.Module):
    """Optional self-attention, cross-attention over a memory, and a feed-forward block, each
    in a residual branch with LayerNorm (post- or pre-norm).

    With ``self_attention=False`` the target tokens never see each other: each one is a
    function of itself and the memory only, so a decoder of such layers can be queried at
    any set of points (PROSE's data decoder, whose queries are time points).

    Args:
        dim, heads, dim_ff, dropout, activation, norm_first: as in
            :class:`TransformerEncoderLayer`.
        self_attention: include the self-attention block (causal or masked per call).
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
        self_attention: bool = True,
    ) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(dim, heads, dropout) if self_attention else None
        self.cross_attn = MultiheadAttention(dim, heads, dropout)
        self.linear1 = nn.Linear(dim, dim_ff)
        self.linear2 = nn.Linear(dim_ff, dim)
        self.norm_self = nn.LayerNorm(dim) if self_attention else None
        self.norm_cross = nn.LayerNorm(dim)
        self.norm_ff = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.activation = _activation(activation)
        self.norm_first = norm_first

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _branch(self, x: Tensor, norm: nn.Module, block) -> Tensor:
        if self.norm_first:
            return x + self.dropout(block(norm(x)))
        return norm(x + self.dropout(block(x)))

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        *,
        memory_padding_mask: Tensor | None = None,
        padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """Target tokens x (B, L, D) over memory (B, M, D) -> (B, L, D).

        Args:
            memory_padding_mask: (B, M) bool, True at memory padding.
            padding_mask: (B, L) bool, True at target padding (for self-attention).
            is_causal: self-attention of token i sees tokens <= i only.
        """
        if self.self_attn is not None:
            attn = self.self_attn

            def self_block(y: Tensor) -> Tensor:
                if is_causal and padding_mask is not None:
                    n = y.shape[1]
                    causal = torch.ones(n, n, dtype=torch.bool, device=y.device).tril()
                    return attn(y, y, y, attn_mask=causal, key_padding_mask=padding_mask)
                return attn(y, y, y, key_padding_mask=padding_mask, is_causal=is_causal)

            x = self._branch(x, self.norm_self, self_block)
        x = self._branch(
            x,
            self.norm_cross,
            lambda y: self.cross_attn(y, memory, memory, key_padding_mask=memory_padding_mask),
        )
        return self._branch(x, self.norm_ff, self._feed_forward)


class TransformerDecoder(nn.Module):
    """A stack of ``layers`` :class:`TransformerDecoderLayer`, with a final LayerNorm when
    pre-norm."""

    def __init__(self, layers: int, dim: int, heads: int, dim_ff: int, **layer_kwargs) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TransformerDecoderLayer(dim, heads, dim_ff, **layer_kwargs) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(dim) if layer_kwargs.get("norm_first") else nn.Identity()

    def forward(self, x: Tensor, memory: Tensor, **kwargs) -> Tensor:
        """x (B, L, D) over memory (B, M, D) -> (B, L, D); ``kwargs`` go to every layer."""
        for layer in self.layers:
            x = layer(x, memory, **kwargs)
        return self.norm(x)
