"""Multi-head attention with boolean or additive masks, and the context/query pattern of PFNs."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DENSE_MASK_MAX_LENGTH = 256
"""Up to this many tokens, :meth:`MultiheadAttention.context_query` attends with the dense
mask in one fused call (fewer, larger operations); beyond it, at O(L * n_context) cost."""


@functools.lru_cache(maxsize=64)
def context_query_mask(n_context: int, length: int, device: torch.device | None = None) -> Tensor:
    """The attention mask of prior-data fitted networks, (length, length) bool, True = may attend.

    The first ``n_context`` tokens (the data set) attend to each other; each later token (a
    query) attends to the context and to itself, never to another query. This dense form is
    what :meth:`MultiheadAttention.context_query` computes (without building it for long
    sequences). Cached: the returned tensor is shared, do not modify it.
    """
    if not 0 <= n_context <= length:
        raise ValueError(f"need 0 <= n_context <= length, got n_context={n_context}, {length=}")
    mask = torch.zeros(length, length, dtype=torch.bool, device=device)
    mask[:, :n_context] = True
    return mask | torch.eye(length, dtype=torch.bool, device=device)


class MultiheadAttention(nn.Module):
    """Multi-head scaled dot-product attention, batch-first.

    Args:
        dim: token width D (a multiple of ``heads``).
        heads: number of heads H.
        dropout: dropout on the attention weights while training.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.heads = heads
        self.dropout = dropout
        self.in_proj = nn.Linear(dim, 3 * dim)  # the query, key and value maps, stacked
        self.out_proj = nn.Linear(dim, dim)

    def _project(self, x: Tensor, which: int) -> Tensor:
        """The query (0), key (1) or value (2) map of x (B, L, D), split into heads."""
        d = self.out_proj.in_features
        rows = slice(which * d, (which + 1) * d)
        return self._split(F.linear(x, self.in_proj.weight[rows], self.in_proj.bias[rows]))

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries, keys and values of x (B, L, D) by one matrix product, each (B, H, L, D/H)."""
        q, k, v = self.in_proj(x).chunk(3, dim=-1)
        return self._split(q), self._split(k), self._split(v)

    def _split(self, x: Tensor) -> Tensor:
        """(B, L, D) -> (B, H, L, D / H)."""
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def _merge(self, x: Tensor) -> Tensor:
        """(B, H, L, D / H) -> (B, L, D) through the output projection."""
        b, h, n, dh = x.shape
        return self.out_proj(x.transpose(1, 2).reshape(b, n, h * dh))

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        *,
        attn_mask: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        """Attention of query (B, Lq, D) over key, value (B, Lk, D); returns (B, Lq, D).

        Args:
            attn_mask: (Lq, Lk) or (B, Lq, Lk); bool (True = may attend) or float (added to
                the scores).
            key_padding_mask: (B, Lk) bool, True where a key is padding (never attended).
            is_causal: token i attends to tokens <= i (no attn_mask then).
        """
        if query is key and key is value:
            q, k, v = self._qkv(query)
        else:
            q, k, v = self._project(query, 0), self._project(key, 1), self._project(value, 2)
        mask = attn_mask
        if mask is not None and mask.dim() == 3:
            mask = mask.unsqueeze(1)
        if key_padding_mask is not None:
            keep = ~key_padding_mask[:, None, None, :]
            if mask is None:
                mask = keep
            elif mask.dtype == torch.bool:
                mask = mask & keep
            else:
                mask = mask.masked_fill(~keep, -math.inf)
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal,
        )
        return self._merge(out)

    def context_query(self, x: Tensor, n_context: int) -> Tensor:
        """Self-attention of x (B, L, D) under :func:`context_query_mask` (n_context, L).

        The context block is ordinary self-attention among the first n_context tokens; each
        query attends to the n_context context keys plus its own key, so the cost is
        O(L * n_context) rather than O(L^2), and queries cannot influence each other.
        """
        if not 0 <= n_context <= x.shape[1]:
            raise ValueError(f"need 0 <= n_context <= {x.shape[1]}, got {n_context}")
        q, k, v = self._qkv(x)
        p = self.dropout if self.training else 0.0
        if x.shape[1] <= DENSE_MASK_MAX_LENGTH:
            mask = context_query_mask(n_context, x.shape[1], x.device)
            return self._merge(F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p))
        kc, vc = k[:, :, :n_context], v[:, :, :n_context]
        parts = []
        if n_context:
            parts.append(F.scaled_dot_product_attention(q[:, :, :n_context], kc, vc, dropout_p=p))
        if n_context < x.shape[1]:
            parts.append(
                self._queries(
                    q[:, :, n_context:], kc, vc, k[:, :, n_context:], v[:, :, n_context:], p
                )
            )
        return self._merge(torch.cat(parts, dim=2))

    def _queries(
        self, q: Tensor, kc: Tensor, vc: Tensor, ks: Tensor, vs: Tensor, p: float
    ) -> Tensor:
        """Queries q (B, H, M, dh) over the context keys kc (B, H, N, dh) and each its own key."""
        scale = q.shape[-1] ** -0.5
        scores = torch.cat([q @ kc.mT, (q * ks).sum(-1, keepdim=True)], dim=-1) * scale
        weights = F.dropout(scores.softmax(-1), p) if p else scores.softmax(-1)
        return weights[..., :-1] @ vc + weights[..., -1:] * vs
