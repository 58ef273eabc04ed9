"""Attention pooling: a learned weighted mean over the tokens of a sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AttentionPooling(nn.Module):
    """Pools (B, L, D) to (B, D) by softmax weights from a learned score per token.

    Each token gets the score ``w . x_l`` (one linear map without bias, the "dot attention"
    of the Multi-FIT authors); the output is the softmax-weighted mean of the tokens. Tokens
    whose ``mask`` is False get no weight; a row without any valid token pools to zeros.

    Args:
        dim: token width D.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(dim, 1, bias=False)

    def weights(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The pooling weights (B, L), each row summing to 1 (or 0 with no valid token).

        Args:
            x: tokens (B, L, D).
            mask: (B, L) bool, True = a token to pool (None: all).
        """
        logits = self.score(x).squeeze(-1)
        if mask is None:
            return torch.softmax(logits, dim=-1)
        logits = logits.masked_fill(~mask, float("-inf"))
        any_valid = mask.any(dim=-1, keepdim=True)
        # a row with no valid token would be softmax of all -inf (NaN): give it zeros
        logits = torch.where(any_valid, logits, torch.zeros_like(logits))
        return torch.softmax(logits, dim=-1) * any_valid

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """(B, L, D) tokens, optional (B, L) bool mask -> (B, D)."""
        if x.dim() != 3:
            raise ValueError(f"x must be (B, L, D), got shape {tuple(x.shape)}")
        if mask is not None and mask.shape != x.shape[:2]:
            raise ValueError(f"mask must be {tuple(x.shape[:2])}, got {tuple(mask.shape)}")
        return torch.einsum("bl,bld->bd", self.weights(x, mask), x)
