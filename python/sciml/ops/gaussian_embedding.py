"""The Gaussian feature embedding as a torch operator over the Rust kernel.

``gaussian_embedding`` is a ``torch.library.custom_op`` with a registered fake kernel
(it works under ``torch.compile``) and a registered autograd formula whose backward is a
second custom op over the Rust backward kernel: a loss built from phi and its
x-derivatives trains without double backward. Double backward itself is not supported.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from sciml import _core
from sciml.ops.reference import gaussian_embedding_reference

DEFAULT_CUTOFF = 6.4
"""Default cutoff radius in standard deviations: every Gaussian's dropped contribution to
phi, dphi and d2phi is below 5.2e-8 of that Gaussian's own peak value of the same
quantity (c^2 exp(-c^2/2) with c = 6.4)."""

Cutoff = float | Literal["auto"] | None


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def _np_or_none(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else _np(t)


def _channels(mu: Tensor, w: Tensor) -> int:
    return mu.shape[0] if mu.dim() == 3 else w.shape[1]


@torch.library.custom_op("sciml::gaussian_embedding", mutates_args=())
def _embedding_op(
    x: Tensor, mu: Tensor, sigma: Tensor, w: Tensor, order: int, cutoff: float | None
) -> tuple[Tensor, Tensor, Tensor]:
    phi, d1, d2 = _core.gaussian_embedding_forward(
        _np(x), _np(mu), _np(sigma), _np(w), order, cutoff
    )
    empty = x.new_empty(0)
    return (
        torch.from_numpy(phi),
        empty if d1 is None else torch.from_numpy(d1),
        empty.clone() if d2 is None else torch.from_numpy(d2),
    )


@_embedding_op.register_fake
def _(x, mu, sigma, w, order, cutoff):
    n, d = x.shape
    f = _channels(mu, w)
    return (
        x.new_empty(n, f),
        x.new_empty(n, d, f) if order >= 1 else x.new_empty(0),
        x.new_empty(n, d, f) if order >= 2 else x.new_empty(0),
    )


@torch.library.custom_op("sciml::gaussian_embedding_backward", mutates_args=())
def _embedding_backward_op(
    grad_phi: Tensor | None,
    grad_d1: Tensor | None,
    grad_d2: Tensor | None,
    x: Tensor,
    mu: Tensor,
    sigma: Tensor,
    w: Tensor,
    cutoff: float | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    grads = _core.gaussian_embedding_backward(
        _np(x),
        _np(mu),
        _np(sigma),
        _np(w),
        _np_or_none(grad_phi),
        _np_or_none(grad_d1),
        _np_or_none(grad_d2),
        cutoff,
    )
    return tuple(torch.from_numpy(g) for g in grads)  # type: ignore[return-value]


@_embedding_backward_op.register_fake
def _(grad_phi, grad_d1, grad_d2, x, mu, sigma, w, cutoff):
    return (torch.empty_like(x), torch.empty_like(mu), torch.empty_like(sigma), torch.empty_like(w))


def _setup_context(ctx, inputs, output):
    x, mu, sigma, w, order, cutoff = inputs
    ctx.save_for_backward(x, mu, sigma, w)
    ctx.order = order
    ctx.cutoff = cutoff


def _backward(ctx, grad_phi, grad_d1, grad_d2):
    x, mu, sigma, w = ctx.saved_tensors
    gx, gmu, gsigma, gw = _embedding_backward_op(
        grad_phi,
        grad_d1 if ctx.order >= 1 else None,
        grad_d2 if ctx.order >= 2 else None,
        x,
        mu,
        sigma,
        w,
        ctx.cutoff,
    )
    return gx, gmu, gsigma, gw, None, None


torch.library.register_autograd(
    "sciml::gaussian_embedding", _backward, setup_context=_setup_context
)


def _resolve_cutoff(cutoff: Cutoff) -> float | None:
    if cutoff is None:
        return None
    if isinstance(cutoff, str):
        if cutoff != "auto":
            raise ValueError(f"cutoff must be 'auto', None or a number > 0, got {cutoff!r}")
        return DEFAULT_CUTOFF
    c = float(cutoff)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"cutoff must be 'auto', None or a finite number > 0, got {cutoff!r}")
    return c


def _check_inputs(x: Tensor, mu: Tensor, sigma: Tensor, w: Tensor, order: int) -> None:
    named = {"x": x, "mu": mu, "sigma": sigma, "w": w}
    for name, t in named.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
    for name, t in named.items():
        if t.dtype != x.dtype:
            raise TypeError(f"{name} is {t.dtype} but x is {x.dtype}: use one dtype")
        if t.device != x.device:
            raise ValueError(f"{name} is on {t.device} but x is on {x.device}: use one device")
    if isinstance(order, bool) or not isinstance(order, int) or order not in (0, 1, 2):
        raise ValueError(f"order must be 0, 1 or 2, got {order!r}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape (N, d), got {tuple(x.shape)}")
    d = x.shape[1]
    if mu.dim() not in (2, 3) or mu.shape[-1] != d:
        raise ValueError(
            f"mu must have shape (K, {d}) or (C, Nc, {d}) for x of shape {tuple(x.shape)}, "
            f"got {tuple(mu.shape)}"
        )
    if sigma.shape != mu.shape:
        raise ValueError(f"sigma has shape {tuple(sigma.shape)} but mu has {tuple(mu.shape)}")
    if mu.dim() == 3 and w.shape != mu.shape[:2]:
        raise ValueError(
            f"w must have shape {tuple(mu.shape[:2])} (per-channel layout), got {tuple(w.shape)}"
        )
    if mu.dim() == 2 and (w.dim() != 2 or w.shape[0] != mu.shape[0]):
        raise ValueError(f"w must have shape ({mu.shape[0]}, F), got {tuple(w.shape)}")


def gaussian_embedding(
    x: Tensor,
    mu: Tensor,
    sigma: Tensor,
    w: Tensor,
    order: int = 2,
    cutoff: Cutoff = "auto",
) -> tuple[Tensor, ...]:
    """Gaussian feature embedding and its x-derivatives (Rust kernel on the CPU).

    On another device (a GPU) it is computed densely in torch over all point-Gaussian
    pairs (:func:`sciml.ops.reference.gaussian_embedding_reference`, memory O(N K d)),
    exactly, whatever the ``cutoff``.

    ``G_k(x) = exp(-1/2 sum_j ((x_j - mu_kj) / sigma_kj)^2)`` and
    ``phi_f(x) = sum_k w_kf G_k(x)``.

    Args:
        x: points, (N, d), float32 or float64.
        mu: means, (K, d) (shared layout) or (C, Nc, d) (per-channel layout: channel c
            owns its own Nc Gaussians, as in the PIG paper's code).
        sigma: standard deviations > 0, same shape as ``mu``.
        w: weights, (K, F) for the shared layout or (C, Nc) for the per-channel one
            (then F = C).
        order: 0 returns ``(phi,)``, 1 ``(phi, dphi)``, 2 ``(phi, dphi, d2phi)``.
        cutoff: ``"auto"`` (6.4 standard deviations; each Gaussian's dropped
            contribution is below 5.2e-8 of its own peak), a radius > 0 in standard
            deviations, or ``None`` for the exact sum over all pairs.

    Returns:
        phi (N, F); dphi (N, d, F) with ``dphi[:, j] = d phi / d x_j``; d2phi (N, d, F)
        with ``d2phi[:, j] = d^2 phi / d x_j^2``. All are differentiable with respect to
        x, mu, sigma and w (first order).

    Raises:
        TypeError: a non-tensor, a dtype other than float32/float64, or mixed dtypes.
        ValueError: tensors on different devices, inconsistent shapes; on the CPU also
            sigma <= 0, NaN or inf, and sigma so small (float32: about 3e-11) or weights so
            large that the outputs or gradients would overflow the dtype.

    Non-contiguous inputs are copied. Empty inputs (N = 0 or K = 0) give empty or zero
    outputs.
    """
    _check_inputs(x, mu, sigma, w, order)
    if x.device.type != "cpu":
        return gaussian_embedding_reference(x, mu, sigma, w, order)
    outs = _embedding_op(x, mu, sigma, w, order, _resolve_cutoff(cutoff))
    return tuple(outs[: order + 1])
