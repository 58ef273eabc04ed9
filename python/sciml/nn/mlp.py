"""Multilayer perceptrons."""

from __future__ import annotations

import itertools

from torch import nn


def mlp(
    in_dim: int,
    hidden: int,
    out_dim: int,
    *,
    layers: int = 2,
    activation: type[nn.Module] = nn.GELU,
) -> nn.Sequential:
    """``layers`` linear maps in_dim -> hidden -> ... -> out_dim with ``activation`` between.

    Args:
        in_dim, hidden, out_dim: widths (>= 1).
        layers: number of linear maps (>= 1; 1 gives a single Linear(in_dim, out_dim)).
    """
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    widths = [in_dim] + [hidden] * (layers - 1) + [out_dim]
    modules: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        if i:
            modules.append(activation())
        modules.append(nn.Linear(a, b))
    return nn.Sequential(*modules)
