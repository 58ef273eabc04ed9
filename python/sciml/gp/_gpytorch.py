"""gpytorch, imported without the deprecation warning that torch >= 2.10 raises for it."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    # linear_operator decorates two CG helpers with @torch.jit.script at import time, which
    # torch >= 2.10 reports as deprecated; sciml.gp never calls them (Cholesky only).
    warnings.filterwarnings(
        "ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning
    )
    import gpytorch

__all__ = ["gpytorch"]
