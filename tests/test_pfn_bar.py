"""Tests of the PFN Riemann (bar) distribution: normalisation, cdf/quantile, moments, borders."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.pfn.bar import RiemannDistribution, borders_from_samples

torch.set_num_threads(1)

F64 = torch.float64
FAST = settings(max_examples=40, deadline=None)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def random_case(
    seed: int, k: int, scale: float = 2.0, batch: tuple[int, ...] = (), dtype=F64
) -> RiemannDistribution:
    """Random borders (uneven widths, shifted) and logits of the given batch shape."""
    g = torch.Generator().manual_seed(seed)
    widths = 0.05 + torch.rand(k, generator=g, dtype=F64) * 2.0
    borders = torch.cat([torch.zeros(1, dtype=F64), widths.cumsum(0)]) - 3.0 * torch.rand(
        1, generator=g, dtype=F64
    )
    logits = torch.randn(*batch, k, generator=g, dtype=F64) * scale
    return RiemannDistribution(logits.to(dtype), borders)


def integrate(dist: RiemannDistribution, power: int = 0, tails: float = 14.0) -> float:
    """Integral of y**power * density over the real line: Gauss-Legendre on each bucket,
    the tails cut at `tails` half-normal scales (mass beyond is below 1e-40)."""
    b = dist.borders.tolist()
    sl, sr = float(dist.scale_left), float(dist.scale_right)
    pieces = [(b[1] - tails * sl, b[1])]
    pieces += [(b[i], b[i + 1]) for i in range(1, len(b) - 2)]
    pieces += [(b[-2], b[-2] + tails * sr)]
    total = 0.0
    for lo, hi in pieces:
        n_sub = 1 if (lo, hi) not in (pieces[0], pieces[-1]) else 40
        edges = np.linspace(lo, hi, n_sub + 1)
        mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
        x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
        wts = (half[:, None] * _GL_W[None, :]).ravel()
        dens = dist.log_prob(torch.from_numpy(x)).exp().numpy()
        total += float(np.sum(wts * dens * x**power))
    return total


# --- normalisation and density -----------------------------------------------------------------


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12))
def test_density_integrates_to_one(seed, k):
    dist = random_case(seed, k)
    assert integrate(dist) == pytest.approx(1.0, abs=1e-6)


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12))
def test_log_prob_is_derivative_of_cdf(seed, k):
    dist = random_case(seed, k)
    b = dist.borders
    g = torch.Generator().manual_seed(seed)
    y = b[0] - 2.0 + (b[-1] - b[0] + 4.0) * torch.rand(64, generator=g, dtype=F64)
    h = 1e-6
    y = y[(y[:, None] - b[None, :]).abs().min(dim=1).values > 100 * h]  # away from borders
    fd = (dist.cdf(y + h) - dist.cdf(y - h)) / (2 * h)
    torch.testing.assert_close(fd, dist.log_prob(y).exp(), rtol=1e-5, atol=1e-8)


def test_tail_median_is_one_bucket_width():
    dist = random_case(3, 6)
    p = dist.probs
    # Half of bucket 0's mass lies left of b_0 = b_1 - w_0; likewise right of b_K.
    torch.testing.assert_close(dist.cdf(dist.borders[0]), p[0] / 2)
    torch.testing.assert_close(1 - dist.cdf(dist.borders[-1]), p[-1] / 2)
    z = math.sqrt(2) * torch.erfinv(torch.tensor(0.5, dtype=F64))
    torch.testing.assert_close(dist.scale_left, dist.widths[0] / z)


def test_log_prob_special_values_and_nll():
    dist = random_case(1, 5)
    y = torch.cat([dist.borders, torch.tensor([-math.inf, math.inf, math.nan], dtype=F64)])
    lp = dist.log_prob(y)
    assert torch.isfinite(lp[:-3]).all()  # exactly on every border
    assert lp[-3] == -math.inf and lp[-2] == -math.inf and torch.isnan(lp[-1])
    torch.testing.assert_close(dist.nll(y[:-1]), -lp[:-1])
    cdf = dist.cdf(y)
    assert cdf[-3] == 0.0 and cdf[-2] == pytest.approx(1.0, abs=1e-15)
    assert torch.isnan(cdf[-1])


def test_inner_density_is_flat():
    dist = random_case(7, 5)
    b, p = dist.borders, dist.probs
    for k in range(1, 4):
        y = torch.linspace(float(b[k]), float(b[k + 1]), 7, dtype=F64)[:-1]
        torch.testing.assert_close(dist.log_prob(y).exp(), (p[k] / (b[k + 1] - b[k])).expand(6))


# --- cdf and quantile --------------------------------------------------------------------------


@FAST
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(2, 12),
    q=st.lists(st.floats(1e-12, 1 - 1e-9), min_size=1, max_size=16),
)
def test_cdf_of_quantile_is_identity(seed, k, q):
    dist = random_case(seed, k, scale=4.0)
    qt = torch.tensor(q, dtype=F64)
    y = dist.quantile(qt)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(dist.cdf(y), qt, rtol=1e-9, atol=1e-12)


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12))
def test_quantile_of_cdf_is_identity(seed, k):
    dist = random_case(seed, k)
    b = dist.borders
    g = torch.Generator().manual_seed(seed + 1)
    y = b[0] - 2.0 + (b[-1] - b[0] + 4.0) * torch.rand(100, generator=g, dtype=F64)
    q = dist.cdf(y)
    keep = (q > 1e-8) & (q < 1 - 1e-8)
    dens = dist.log_prob(y[keep]).exp()
    err = (dist.quantile(q[keep]) - y[keep]).abs()
    assert (err <= 1e-9 + 1e-13 / dens).all()


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12))
def test_cdf_is_monotone_and_bounded(seed, k):
    dist = random_case(seed, k, scale=5.0)
    b = dist.borders
    y = torch.cat([torch.linspace(float(b[0]) - 30, float(b[-1]) + 30, 2001, dtype=F64), b])
    y = y.sort().values
    c = dist.cdf(y)
    assert (c >= 0).all() and (c <= 1).all() and (c[1:] >= c[:-1]).all()
    assert c[0] < 1e-12 and c[-1] > 1 - 1e-12


def test_zero_probability_buckets_are_skipped():
    borders = torch.arange(7, dtype=F64)
    logits = torch.tensor([-math.inf, 0.0, -math.inf, -math.inf, 1.0, -math.inf], dtype=F64)
    dist = RiemannDistribution(logits, borders)
    q = torch.linspace(0.001, 0.999, 999, dtype=F64)
    y = dist.quantile(q)
    in_support = ((y >= 1) & (y <= 2)) | ((y >= 4) & (y <= 5))
    assert in_support.all()
    torch.testing.assert_close(dist.cdf(y), q)
    # A q on a plateau of the cdf maps to the plateau's left end: inf {y : cdf(y) >= q}.
    assert float(dist.quantile(dist.probs[1].item())) == pytest.approx(2.0, abs=1e-12)
    plateau = RiemannDistribution(torch.tensor([0.0, -math.inf, 0.0], dtype=F64), borders[:4])
    assert float(plateau.quantile(0.5)) == 1.0
    assert dist.log_prob(torch.tensor(3.5, dtype=F64)) == -math.inf
    assert dist.log_prob(torch.tensor(-1.0, dtype=F64)) == -math.inf
    assert torch.isfinite(dist.mean) and torch.isfinite(dist.variance)


def test_quantile_rejects_q_outside_open_interval():
    dist = random_case(0, 4)
    for bad in (0.0, 1.0, -0.5, 1.5, math.nan, torch.tensor([0.5, 1.0], dtype=F64)):
        with pytest.raises(ValueError, match="q must lie strictly inside"):
            dist.quantile(bad)


def test_float32_tails_stay_finite():
    dist = random_case(5, 8, batch=(3,), dtype=torch.float32)
    q = torch.tensor([1e-30, 1e-7, 0.5, 1 - 6e-8], dtype=torch.float32)[:, None]
    y = dist.quantile(q)
    assert y.shape == (4, 3) and y.dtype == torch.float32 and torch.isfinite(y).all()
    assert (y[1:] >= y[:-1]).all()
    for t in (dist.mean, dist.variance, dist.log_prob(1e6), dist.cdf(-1e30), dist.sample(1000)):
        assert not torch.isnan(t).any()
    assert torch.isfinite(dist.mean).all() and torch.isfinite(dist.sample(1000)).all()


def test_batch_broadcasting():
    dist = random_case(2, 6, batch=(3,))
    y = torch.linspace(-2, 2, 5, dtype=F64)[:, None]
    assert dist.log_prob(y).shape == (5, 3) and dist.cdf(y).shape == (5, 3)
    assert dist.quantile(0.3).shape == (3,)
    row = RiemannDistribution(dist.logits[1], dist.borders)
    torch.testing.assert_close(dist.cdf(y)[:, 1], row.cdf(y[:, 0]))
    torch.testing.assert_close(dist.log_prob(y)[:, 1], row.log_prob(y[:, 0]))


# --- moments and sampling ----------------------------------------------------------------------


@FAST
@given(seed=st.integers(0, 10_000), k=st.integers(2, 12))
def test_moments_match_numerical_integration(seed, k):
    dist = random_case(seed, k)
    m1, m2 = integrate(dist, 1), integrate(dist, 2)
    assert float(dist.mean) == pytest.approx(m1, abs=1e-7)
    assert float(dist.variance) == pytest.approx(m2 - m1**2, rel=1e-7, abs=1e-7)
    assert float(dist.std) == pytest.approx(math.sqrt(m2 - m1**2), rel=1e-6)


def test_moments_match_monte_carlo():
    dist = random_case(11, 7, batch=(2,))
    n = 200_000
    s = dist.sample(n, generator=torch.Generator().manual_seed(0))
    assert s.shape == (n, 2)
    std = dist.std
    assert ((s.mean(0) - dist.mean).abs() < 5 * std / math.sqrt(n)).all()
    torch.testing.assert_close(s.var(0), dist.variance, rtol=0.03, atol=0.0)


def test_variance_is_stable_far_from_origin():
    dist = random_case(4, 6)
    shifted = RiemannDistribution(dist.logits, dist.borders + 1e8)
    torch.testing.assert_close(shifted.mean - 1e8, dist.mean, rtol=0, atol=1e-6)
    torch.testing.assert_close(shifted.variance, dist.variance, rtol=1e-6, atol=0)


def test_sample_is_reproducible():
    dist = random_case(9, 5, batch=(4,), dtype=torch.float32)
    a = dist.sample(50, generator=torch.Generator().manual_seed(123))
    b = dist.sample(50, generator=torch.Generator().manual_seed(123))
    c = dist.sample(50, generator=torch.Generator().manual_seed(124))
    assert a.shape == (50, 4) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- gradients ---------------------------------------------------------------------------------


def test_nll_gradcheck():
    borders = torch.tensor([-1.0, 0.0, 0.5, 2.0, 3.0], dtype=F64)
    logits = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    y = torch.tensor([-4.0, 1.0, 7.0], dtype=F64)  # left tail, inner bucket, right tail
    logits.requires_grad_(True)
    fn = lambda lg: RiemannDistribution(lg, borders).nll(y)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits,))


def test_nll_gradients_finite_in_float32():
    g = torch.Generator().manual_seed(1)
    logits = (torch.randn(6, 10, generator=g) * 3).requires_grad_(True)
    borders = torch.linspace(-2, 2, 11)
    y = torch.tensor([-1e4, -2.0, 0.0, 0.3, 2.0, 1e4])
    loss = RiemannDistribution(logits, borders).nll(y)
    assert torch.isfinite(loss).all()
    loss.mean().backward()
    assert torch.isfinite(logits.grad).all()


# --- construction and borders -------------------------------------------------------------------


def test_rejects_bad_shapes_and_borders():
    with pytest.raises(ValueError, match=r"logits \(3, 5\).*borders \(5,\)"):
        RiemannDistribution(torch.zeros(3, 5), torch.arange(5.0))
    with pytest.raises(ValueError, match="borders"):
        RiemannDistribution(torch.zeros(4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="K >= 2"):
        RiemannDistribution(torch.zeros(1), torch.arange(2.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        RiemannDistribution(torch.zeros(3), torch.tensor([0.0, 1.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="finite"):
        RiemannDistribution(torch.zeros(2), torch.tensor([0.0, 1.0, math.inf]))
    with pytest.raises(TypeError, match="floating-point"):
        RiemannDistribution(torch.zeros(3, dtype=torch.long), torch.arange(4.0))


def test_borders_from_normal_samples_have_equal_mass():
    g = torch.Generator().manual_seed(0)
    y = torch.randn(100_000, generator=g)
    y[:10] = math.nan
    y[10:20] = math.inf
    borders = borders_from_samples(y, 10)
    finite = y[torch.isfinite(y)].double()
    assert borders.shape == (11,) and borders.dtype == F64
    assert (borders[1:] > borders[:-1]).all()
    assert borders[0] == finite.min() and borders[-1] == finite.max()
    counts = torch.bucketize(finite, borders[1:-1], right=True).bincount(minlength=10)
    assert counts.shape == (10,)
    assert (counts - len(finite) / 10).abs().max() <= 2
    inner = borders[1:-1]
    expected = torch.tensor([NormalDist().inv_cdf(i / 10) for i in range(1, 10)], dtype=F64)
    torch.testing.assert_close(inner, expected, atol=0.02, rtol=0)


def test_borders_from_samples_errors():
    with pytest.raises(ValueError, match="n_buckets must be at least 2"):
        borders_from_samples(torch.randn(100), 1)
    with pytest.raises(ValueError, match="at least n_buckets \\+ 1 = 11 finite samples, got 10"):
        borders_from_samples(torch.cat([torch.randn(10), torch.full((5,), math.nan)]), 10)
    with pytest.raises(ValueError, match="too many tied samples"):
        borders_from_samples(torch.cat([torch.zeros(1000), torch.arange(3.0)]), 10)
    b = borders_from_samples(torch.arange(3.0), 2)
    torch.testing.assert_close(b, torch.tensor([0.0, 1.0, 2.0], dtype=F64))
