"""Riemann ("bar") predictive distribution of prior-data fitted networks, with half-normal tails.

A PFN regression head outputs logits over K buckets of the real line (Müller et al.,
"Transformers Can Do Bayesian Inference", ICLR 2022). The inner buckets carry uniform densities;
the two outer buckets are half-normal tails so that the support is the whole real line (the
"full support" variant). :func:`borders_from_samples` places the K + 1 borders at equal-mass
quantiles of samples from the prior.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import torch

__all__ = ["RiemannDistribution", "borders_from_samples"]

# Median of the standard half-normal, sqrt(2) * erfinv(1/2) = Phi^-1(3/4) ≈ 0.6745: a tail's scale
# is its bucket width over this, so that the tail's median distance from its start is that width.
_HALF_NORMAL_MEDIAN = NormalDist().inv_cdf(0.75)
_SQRT2 = math.sqrt(2.0)
_HALF_NORMAL_MEAN = math.sqrt(2.0 / math.pi)  # mean of the standard half-normal
_LOG_HALF_NORMAL_PEAK = 0.5 * math.log(2.0 / math.pi)  # log density at 0, unit scale


def borders_from_samples(y: torch.Tensor, n_buckets: int) -> torch.Tensor:
    """Bucket borders at equal-mass quantiles of the finite values of ``y``.

    Args:
        y: samples of any shape (flattened; NaN and infinite values are dropped).
        n_buckets: number of buckets K >= 2.

    Returns:
        (K + 1,) float64 strictly increasing borders, ``borders[0] = min(y)``,
        ``borders[-1] = max(y)``, linearly interpolated order statistics in between.

    Raises:
        ValueError: if K < 2, if there are fewer than K + 1 finite samples, or if ties among
            the samples make two borders equal.
    """
    if n_buckets < 2:
        raise ValueError(f"n_buckets must be at least 2, got {n_buckets}")
    flat = torch.as_tensor(y).detach().reshape(-1).to(torch.float64)
    flat = flat[torch.isfinite(flat)]
    n = flat.numel()
    if n < n_buckets + 1:
        raise ValueError(f"need at least n_buckets + 1 = {n_buckets + 1} finite samples, got {n}")
    ys = torch.sort(flat).values
    pos = torch.linspace(0.0, n - 1.0, n_buckets + 1, dtype=torch.float64, device=ys.device)
    lo = pos.floor().long().clamp(0, n - 1)
    hi = (lo + 1).clamp(max=n - 1)
    borders = ys[lo] + (pos - lo.to(torch.float64)) * (ys[hi] - ys[lo])
    borders[0], borders[-1] = ys[0], ys[-1]
    if not bool((borders[1:] > borders[:-1]).all()):
        n_unique = torch.unique(ys).numel()
        raise ValueError(
            f"the equal-mass quantiles are not strictly increasing: too many tied samples "
            f"({n_unique} distinct finite values for {n_buckets} buckets)"
        )
    return borders


def _nonzero(t: torch.Tensor) -> torch.Tensor:
    """``t`` with its zeros replaced by ones (a divisor whose zero entries are masked later)."""
    return torch.where(t > 0, t, torch.ones_like(t))


class RiemannDistribution:
    """Piecewise density on the real line from logits over K buckets with borders b_0 < ... < b_K.

    With p = softmax(logits) and widths w_k = b_{k+1} - b_k:

    * inner buckets k = 1 .. K-2: density p_k / w_k on [b_k, b_{k+1});
    * bucket 0: a half-normal tail towards -inf starting at b_1, density
      p_0 * HalfNormal(s_0).pdf(b_1 - y) for y < b_1;
    * bucket K-1: a half-normal tail towards +inf starting at b_{K-1}, density
      p_{K-1} * HalfNormal(s_{K-1}).pdf(y - b_{K-1}) for y >= b_{K-1};

    where s_k = w_k / (sqrt(2) erfinv(1/2)), i.e. each tail's median lies one bucket width from
    its start (at b_0, resp. b_K). Work happens in the logits' dtype (float16 and bfloat16 are
    promoted to float32); batch shape is ``logits.shape[:-1]``, and arguments of
    :meth:`log_prob`, :meth:`cdf` and :meth:`quantile` broadcast against it.

    Args:
        logits: (..., K) unnormalised log probabilities of the buckets (-inf allowed).
        borders: (K + 1,) finite, strictly increasing bucket borders.
    """

    def __init__(self, logits: torch.Tensor, borders: torch.Tensor) -> None:
        if not (isinstance(logits, torch.Tensor) and logits.is_floating_point()):
            raise TypeError("logits must be a floating-point torch.Tensor")
        borders = torch.as_tensor(borders)
        if logits.dim() < 1 or borders.dim() != 1 or borders.shape[0] != logits.shape[-1] + 1:
            raise ValueError(
                f"logits (..., K) need borders (K + 1,); got logits {tuple(logits.shape)} "
                f"and borders {tuple(borders.shape)}"
            )
        if logits.shape[-1] < 2:
            raise ValueError(f"need K >= 2 buckets; got logits {tuple(logits.shape)}")
        dtype = torch.promote_types(logits.dtype, torch.float32)
        self.logits = logits.to(dtype)
        self.borders = borders.to(device=logits.device, dtype=dtype)
        if not bool(torch.isfinite(self.borders).all()):
            raise ValueError("borders must be finite")
        if not bool((self.borders[1:] > self.borders[:-1]).all()):
            raise ValueError(f"borders must be strictly increasing (in {dtype})")
        self.widths = self.borders[1:] - self.borders[:-1]  # (K,)
        self.scale_left = self.widths[0] / _HALF_NORMAL_MEDIAN
        self.scale_right = self.widths[-1] / _HALF_NORMAL_MEDIAN

    @property
    def n_buckets(self) -> int:
        """K, the number of buckets."""
        return self.logits.shape[-1]

    @property
    def batch_shape(self) -> torch.Size:
        """``logits.shape[:-1]``."""
        return self.logits.shape[:-1]

    @property
    def probs(self) -> torch.Tensor:
        """(..., K) bucket probabilities, softmax of the logits."""
        return torch.softmax(self.logits, dim=-1)

    def _bucket_moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(K,) mean and (K,) variance of y within each bucket."""
        b, w = self.borders, self.widths
        sl, sr = self.scale_left, self.scale_right
        tail_var = 1.0 - 2.0 / math.pi  # variance of the unit half-normal
        # Left tail y = b_1 - H, right tail y = b_{K-1} + H, with H half-normal of scale s.
        mu = torch.cat(
            [
                (b[1] - sl * _HALF_NORMAL_MEAN)[None],
                0.5 * (b[1:-2] + b[2:-1]),
                (b[-2] + sr * _HALF_NORMAL_MEAN)[None],
            ]
        )
        var = torch.cat(
            [(sl * sl * tail_var)[None], w[1:-1] ** 2 / 12.0, (sr * sr * tail_var)[None]]
        )
        return mu, var

    @property
    def mean(self) -> torch.Tensor:
        """(...,) exact mean of the piecewise density."""
        mu, _ = self._bucket_moments()
        return (self.probs * mu).sum(-1)

    @property
    def variance(self) -> torch.Tensor:
        """(...,) exact variance, by the law of total variance over buckets (no cancellation)."""
        mu, var = self._bucket_moments()
        p = self.probs
        mean = (p * mu).sum(-1, keepdim=True)
        return (p * (var + (mu - mean) ** 2)).sum(-1)

    @property
    def std(self) -> torch.Tensor:
        """(...,) standard deviation."""
        return self.variance.sqrt()

    def _prepare(self, x: torch.Tensor | float) -> tuple[torch.Tensor, torch.Size]:
        """Cast ``x`` to the working dtype and broadcast it with the batch shape."""
        x = torch.as_tensor(x, dtype=self.logits.dtype, device=self.logits.device)
        shape = torch.broadcast_shapes(x.shape, self.batch_shape)
        return x.expand(shape), shape

    def _bucket_of(self, y: torch.Tensor) -> torch.Tensor:
        """Index k in 0..K-1 of the bucket holding y: y < b_1 -> 0, y >= b_{K-1} -> K-1."""
        inner = self.borders[1:-1].contiguous()
        return torch.searchsorted(inner, y.contiguous(), right=True)

    def _tail_distances(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Distances into the left and right tails in units of their scales, both >= 0.

        y is clamped to each tail's side so that the branch not taken by a ``torch.where``
        stays finite (no NaN gradients leak through it).
        """
        b = self.borders
        left = (b[1] - torch.minimum(y, b[1])) / self.scale_left
        right = (torch.maximum(y, b[-2]) - b[-2]) / self.scale_right
        return left, right

    def log_prob(self, y: torch.Tensor | float) -> torch.Tensor:
        """(...,) log density at ``y`` (broadcast with the batch); -inf at +-inf, NaN at NaN."""
        y, shape = self._prepare(y)
        k = self.n_buckets
        idx = self._bucket_of(y)
        logp = torch.log_softmax(self.logits, dim=-1).expand(*shape, k)
        out = logp.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
        dl, dr = self._tail_distances(y)
        left = _LOG_HALF_NORMAL_PEAK - self.scale_left.log() - 0.5 * dl * dl
        right = _LOG_HALF_NORMAL_PEAK - self.scale_right.log() - 0.5 * dr * dr
        inner = -self.widths.log()[idx]
        term = torch.where(idx == 0, left, torch.where(idx == k - 1, right, inner))
        return torch.where(torch.isnan(y), y, out + term)

    def nll(self, y: torch.Tensor | float) -> torch.Tensor:
        """(...,) negative log likelihood -log_prob(y), the PFN training loss."""
        return -self.log_prob(y)

    def _cumulative(self, shape: torch.Size) -> tuple[torch.Tensor, torch.Tensor]:
        """Bucket probabilities (*shape, K) and cumulative masses C_0 = 0 .. C_K (*shape, K+1)."""
        p = self.probs
        c = torch.cat([torch.zeros_like(p[..., :1]), p.cumsum(-1)], dim=-1)
        k = self.n_buckets
        return p.expand(*shape, k), c.expand(*shape, k + 1)

    def cdf(self, y: torch.Tensor | float) -> torch.Tensor:
        """(...,) P(Y <= y), continuous and non-decreasing in y, within [0, 1]."""
        y, shape = self._prepare(y)
        b, w, k = self.borders, self.widths, self.n_buckets
        p, c = self._cumulative(shape)
        idx = self._bucket_of(y)
        dl, dr = self._tail_distances(y)
        left = p[..., 0] * torch.erfc(dl / _SQRT2)
        right = c[..., -2] + p[..., -1] * torch.erf(dr / _SQRT2)
        frac = (y.clamp(b[1], b[-2]) - b[idx]) / w[idx]
        gi = idx.unsqueeze(-1)
        inner = c.gather(-1, gi).squeeze(-1) + p.gather(-1, gi).squeeze(-1) * frac
        out = torch.where(idx == 0, left, torch.where(idx == k - 1, right, inner)).clamp(0.0, 1.0)
        return torch.where(torch.isnan(y), y, out)

    def quantile(self, q: torch.Tensor | float) -> torch.Tensor:
        """(...,) the inverse cdf at q, for q strictly inside (0, 1), broadcast with the batch.

        Returns the smallest y with cdf(y) >= q; buckets of zero probability are never entered
        (a q on a plateau of the cdf maps to the plateau's left end).
        """
        q, _ = self._prepare(q)
        if not bool(((q > 0) & (q < 1)).all()):
            raise ValueError(
                f"q must lie strictly inside (0, 1) in {q.dtype} (no NaN); "
                f"got q in [{q.min().item()}, {q.max().item()}]"
            )
        return self._quantile(q)

    def _quantile(self, q: torch.Tensor) -> torch.Tensor:
        shape = q.shape
        b, w, k = self.borders, self.widths, self.n_buckets
        p, c = self._cumulative(shape)
        # Bucket k with C_k < q <= C_{k+1} (k = 0: q <= C_1), so p_k > 0: empty buckets, whose
        # C_k = C_{k+1}, are never chosen. Only the last bucket may be chosen empty, when rounding
        # leaves C_K < q; its divisor is then made nonzero and its argument clamped.
        inner_c = c[..., 1:-1].contiguous()
        idx = torch.searchsorted(inner_c, q.unsqueeze(-1).contiguous()).squeeze(-1)
        gi = idx.unsqueeze(-1)
        pk = p.gather(-1, gi).squeeze(-1)
        ck = c.gather(-1, gi).squeeze(-1)
        tiny = torch.finfo(q.dtype).tiny
        # Half-normal inverse cdf s * sqrt(2) * erfinv(u), written as -s * ndtri((1 - u) / 2)
        # to stay accurate (and finite in float32) deep in the tails.
        u_left = (q / (2.0 * _nonzero(p[..., 0]))).clamp(tiny, 0.5)
        left = b[1] + self.scale_left * torch.special.ndtri(u_left)
        u_right = ((c[..., -1] - q) / (2.0 * _nonzero(p[..., -1]))).clamp(tiny, 0.5)
        right = b[-2] - self.scale_right * torch.special.ndtri(u_right)
        inner = b[idx] + w[idx] * ((q - ck) / _nonzero(pk)).clamp(0.0, 1.0)
        return torch.where(idx == 0, left, torch.where(idx == k - 1, right, inner))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, ...) samples by inverse-cdf transform of ``torch.rand(..., generator=generator)``."""
        dtype, device = self.logits.dtype, self.logits.device
        u = torch.rand((n, *self.batch_shape), generator=generator, dtype=dtype, device=device)
        return self._quantile(u.clamp_min(torch.finfo(dtype).tiny))
