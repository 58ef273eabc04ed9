"""Differentiable sparse products for graph layers whose edge weights are learned.

``torch.sparse.mm`` differentiates a sparse matrix's values through a dense (n, m)
intermediate (``SparseAddmmBackward`` then ``sparse_mask``): quadratic in the nodes.
:class:`EdgeProduct` computes the same product with a backward that stays O(E d): the
gradient of weight e is the dot product of the output gradient at its source row with
the input at its target row, a sampled dense-dense product (``torch.sparse.sampled_addmm``
on the CSR pattern), never an (n, m) matrix nor an (E, d) array.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor


class _Product(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weight: Tensor, x: Tensor, pattern: EdgeProduct) -> Tensor:
        ctx.save_for_backward(weight, x)
        ctx.pattern = pattern
        return torch.sparse.mm(pattern.matrix(weight.detach(), x.dtype), x.detach())

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        weight, x = ctx.saved_tensors
        p: EdgeProduct = ctx.pattern
        grad_weight = grad_x = None
        if ctx.needs_input_grad[0]:
            with warnings.catch_warnings():  # "sparse CSR support is in beta state"
                warnings.simplefilter("ignore", UserWarning)
                mask = torch.sparse_csr_tensor(
                    p.crow, p.col, torch.zeros_like(weight), p.shape, check_invariants=False
                )
            grad_weight = torch.sparse.sampled_addmm(mask, grad, x.T, beta=0.0).values()
        if ctx.needs_input_grad[1]:
            grad_x = torch.sparse.mm(p.matrix(weight.detach(), grad.dtype).t(), grad)
        return grad_weight, grad_x, None


class EdgeProduct:
    """The products ``out[i] = sum_{e: src[e] = i} w[e] x[dst[e]]`` for a fixed edge set
    and varying weights w, differentiable in w and x in O(E d). Repeated edges add up.

    Args:
        src: (E,) int64 rows of the output, in [0, n_rows).
        dst: (E,) int64 rows of x, in [0, n_cols).
        n_rows: n, the output's rows.
        n_cols: m, the rows of x (default n).

    Edges are kept sorted by (src, dst) (CSR order); weights are given in the caller's
    order and permuted inside, so the gradient comes back in the caller's order.
    """

    def __init__(self, src: Tensor, dst: Tensor, n_rows: int, n_cols: int | None = None):
        if src.dim() != 1 or src.shape != dst.shape:
            raise ValueError(
                f"src and dst must be (E,) each, got {tuple(src.shape)} and {tuple(dst.shape)}"
            )
        m = n_rows if n_cols is None else n_cols
        if src.numel() and not (
            0 <= int(src.min())
            and int(src.max()) < n_rows
            and 0 <= int(dst.min())
            and int(dst.max()) < m
        ):
            raise ValueError(f"edges must lie in [0, {n_rows}) x [0, {m})")
        key = src.long() * m + dst.long()
        order = torch.argsort(key, stable=True)
        unique, group = torch.unique_consecutive(key[order], return_inverse=True)
        self.order = order
        self.group = group  # sorted edge -> its entry (duplicate edges share one)
        self.identity = bool(torch.equal(order, torch.arange(order.numel())))
        self.duplicates = unique.numel() < key.numel()
        rows, self.col = unique // m, unique % m
        counts = np.bincount(rows.numpy(), minlength=n_rows)
        self.crow = torch.from_numpy(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        self.shape = (n_rows, m)
        self.indices = torch.stack([rows, self.col])

    def matrix(self, weight_sorted: Tensor, dtype: torch.dtype) -> Tensor:
        """The sparse (n, m) COO matrix of weights already in CSR order."""
        return torch.sparse_coo_tensor(
            self.indices,
            weight_sorted.to(dtype),
            self.shape,
            is_coalesced=True,
            check_invariants=False,
        )

    def __call__(self, weight: Tensor, x: Tensor) -> Tensor:
        """(E,) weights, (m, d) x -> (n, d)."""
        if weight.shape != self.order.shape:
            raise ValueError(f"weight must be ({self.order.numel()},), got {tuple(weight.shape)}")
        if x.dim() != 2 or x.shape[0] != self.shape[1]:
            raise ValueError(f"x must be ({self.shape[1]}, d), got {tuple(x.shape)}")
        w = weight if self.identity else weight[self.order]
        if self.duplicates:  # one entry per (src, dst): the weights of repeats add up
            w = torch.zeros(int(self.indices.shape[1]), dtype=w.dtype).index_add(0, self.group, w)
        return _Product.apply(w.to(x.dtype), x, self)
