"""sciml.ops.gaussian_embedding (Rust kernel) against the dense torch reference."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings

import sciml
from sciml.ops import (
    DEFAULT_CUTOFF,
    gaussian_embedding,
    gaussian_embedding_autograd,
    gaussian_embedding_reference,
)

# Each Gaussian's dropped contribution in cutoff mode, relative to its own peak.
CUTOFF_BOUND = DEFAULT_CUTOFF**2 * math.exp(-(DEFAULT_CUTOFF**2) / 2)


def make_case(n, k, d, f, *, per_channel, seed=0, dtype=torch.float64, sigma=(0.05, 0.4)):
    """Random points in [-1, 1]^d and Gaussians: mu, sigma (K, d) and w (K, F), or
    (F, K, d) and (F, K) per channel."""
    g = torch.Generator().manual_seed(seed)
    lead = (f, k) if per_channel else (k,)
    x = torch.rand(n, d, generator=g, dtype=dtype) * 2 - 1
    mu = torch.rand(*lead, d, generator=g, dtype=dtype) * 2.4 - 1.2
    lo, hi = sigma
    s = lo + (hi - lo) * torch.rand(*lead, d, generator=g, dtype=dtype)
    w = torch.randn(*((f, k) if per_channel else (k, f)), generator=g, dtype=dtype)
    return x, mu, s, w


def assert_matches_reference(outs, refs, tol):
    for got, want in zip(outs, refs, strict=True):
        scale = max(1.0, want.abs().max().item()) if want.numel() else 1.0
        torch.testing.assert_close(got, want, atol=tol * scale, rtol=0)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_exact_mode_matches_reference(per_channel, d):
    x, mu, s, w = make_case(120, 17, d, 3, per_channel=per_channel, seed=d)
    outs = gaussian_embedding(x, mu, s, w, order=2, cutoff=None)
    assert_matches_reference(outs, gaussian_embedding_reference(x, mu, s, w, order=2), 1e-10)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_cutoff_mode_within_stated_bound(per_channel, d):
    x, mu, s, w = make_case(400, 40, d, 3, per_channel=per_channel, seed=10 + d)
    phi, d1, d2 = gaussian_embedding(x, mu, s, w, order=2)
    rphi, rd1, rd2 = gaussian_embedding_reference(x, mu, s, w, order=2)
    # Per output, the sum over Gaussians of |w| times each Gaussian's peak of that quantity.
    if per_channel:
        wabs = w.abs()  # (F, K)
        peak0 = wabs.sum(1)  # (F,)
        peak1 = torch.einsum("fk,fkj->jf", wabs, math.exp(-0.5) / s)
        peak2 = torch.einsum("fk,fkj->jf", wabs, 1 / s**2)
    else:
        wabs = w.abs()  # (K, F)
        peak0 = wabs.sum(0)
        peak1 = torch.einsum("kf,kj->jf", wabs, math.exp(-0.5) / s)
        peak2 = torch.einsum("kf,kj->jf", wabs, 1 / s**2)
    slack = 1e-12
    assert ((phi - rphi).abs() <= CUTOFF_BOUND * peak0 + slack).all()
    assert ((d1 - rd1).abs() <= CUTOFF_BOUND * peak1 + slack).all()
    assert ((d2 - rd2).abs() <= CUTOFF_BOUND * peak2 + slack).all()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    k=st.integers(0, 12),
    d=st.integers(1, 3),
    f=st.integers(1, 3),
    per_channel=st.booleans(),
    order=st.integers(0, 2),
    cutoff=st.sampled_from([None, "auto", 3.0]),
    seed=st.integers(0, 2**16),
)
def test_shapes_and_values_hypothesis(n, k, d, f, per_channel, order, cutoff, seed):
    x, mu, s, w = make_case(n, k, d, f, per_channel=per_channel, seed=seed)
    outs = gaussian_embedding(x, mu, s, w, order=order, cutoff=cutoff)
    refs = gaussian_embedding_reference(x, mu, s, w, order=order)
    assert len(outs) == order + 1
    for got, want in zip(outs, refs, strict=True):
        assert got.shape == want.shape and got.dtype == torch.float64
    if cutoff is None:
        assert_matches_reference(outs, refs, 1e-10)
    elif cutoff == "auto":
        # sigma >= 0.05 and |w| small: the bound is far below 1e-4 here.
        assert_matches_reference(outs, refs, 1e-4)


@pytest.mark.parametrize("cutoff", [None, "auto"])
def test_adversarial_inputs(cutoff):
    x, mu, s, w = make_case(60, 24, 2, 2, per_channel=False, seed=3)
    s = s.clone()
    s[::3] = 1e-3  # tiny
    s[1::3] = 1e3  # huge
    x = x.clone()
    x[0] = torch.tensor([50.0, -50.0])  # far outside every Gaussian but the huge ones
    x[1] = x[2]  # duplicated point
    outs = gaussian_embedding(x, mu, s, w, order=2, cutoff=cutoff)
    refs = gaussian_embedding_reference(x, mu, s, w, order=2)
    tol = 1e-10 if cutoff is None else 1e-6
    assert_matches_reference(outs, refs, tol)
    for o in outs:
        assert torch.isfinite(o).all()
        torch.testing.assert_close(o[1], o[2], atol=0, rtol=0)


def test_all_points_far_away_give_zero():
    x, mu, s, w = make_case(10, 5, 2, 1, per_channel=False)
    phi, d1, d2 = gaussian_embedding(x + 100.0, mu, s, w)
    assert (phi == 0).all() and (d1 == 0).all() and (d2 == 0).all()


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("cutoff", [None, "auto"])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_gradcheck(per_channel, cutoff, order):
    x, mu, s, w = make_case(14, 4, 2, 2, per_channel=per_channel, seed=order)
    inputs = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]

    def fn(*args):
        return gaussian_embedding(*args, order=order, cutoff=cutoff)

    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("d", [1, 3])
def test_gradcheck_other_dimensions(d):
    x, mu, s, w = make_case(8, 3, d, 2, per_channel=False, seed=d)
    inputs = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]
    assert torch.autograd.gradcheck(lambda *a: gaussian_embedding(*a, order=2, cutoff=None), inputs)


def test_gradients_match_reference_autograd():
    x, mu, s, w = make_case(50, 10, 2, 3, per_channel=True, seed=4)
    params = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]
    ref_params = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]
    up = [torch.randn(50, 3, dtype=torch.float64)] + [
        torch.randn(50, 2, 3, dtype=torch.float64)
    ] * 2
    loss = sum(
        (o * u).sum() for o, u in zip(gaussian_embedding(*params, cutoff=None), up, strict=True)
    )
    ref_loss = sum(
        (o * u).sum() for o, u in zip(gaussian_embedding_reference(*ref_params), up, strict=True)
    )
    loss.backward()
    ref_loss.backward()
    for p, q in zip(params, ref_params, strict=True):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-10, rtol=1e-10)


def test_reference_derivatives_agree_with_nested_autograd():
    x, mu, s, w = make_case(20, 6, 2, 2, per_channel=False, seed=5)
    closed_form = gaussian_embedding_reference(x, mu, s, w)
    nested = gaussian_embedding_autograd(x, mu, s, w)
    for a, b in zip(closed_form, nested, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


# opcheck's fake-tensor conversion itself reads .grad of non-leaf tensors (a torch-internal
# warning, not about this op).
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("per_channel", [False, True])
def test_opcheck(per_channel):
    x, mu, s, w = make_case(12, 5, 2, 2, per_channel=per_channel, seed=6)
    for order, cutoff in [(2, None), (1, DEFAULT_CUTOFF), (0, DEFAULT_CUTOFF)]:
        args = (x, *(t.clone().requires_grad_(True) for t in (mu, s, w)), order, cutoff)
        torch.library.opcheck(torch.ops.sciml.gaussian_embedding.default, args)


def test_torch_compile_fullgraph():
    x, mu, s, w = make_case(30, 8, 2, 2, per_channel=True, seed=8)
    mu = mu.clone().requires_grad_(True)

    def loss_fn(x, mu, s, w):
        phi, _, d2 = gaussian_embedding(x, mu, s, w, order=2)
        return (phi**2).sum() + d2.sum()

    compiled = torch.compile(loss_fn, backend="aot_eager", fullgraph=True)
    loss = compiled(x, mu, s, w)
    (grad,) = torch.autograd.grad(loss, mu)
    mu_ref = mu.detach().clone().requires_grad_(True)
    (ref,) = torch.autograd.grad(loss_fn(x, mu_ref, s, w), mu_ref)
    torch.testing.assert_close(grad, ref)


def test_float32_matches_float64():
    x, mu, s, w = make_case(300, 50, 2, 4, per_channel=False, seed=9)
    out64 = gaussian_embedding(x, mu, s, w)
    out32 = gaussian_embedding(x.float(), mu.float(), s.float(), w.float())
    for a, b in zip(out32, out64, strict=True):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a.double(), b, atol=2e-5 * b.abs().max().item(), rtol=0)


def test_results_do_not_depend_on_thread_count():
    x, mu, s, w = make_case(3000, 400, 2, 4, per_channel=False, seed=12, dtype=torch.float32)
    results = []
    try:
        for threads in (1, 2):
            sciml.set_num_threads(threads)
            assert sciml.get_num_threads() == threads
            params = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]
            outs = gaussian_embedding(*params)
            sum((o**2).sum() for o in outs).backward()
            results.append([o.detach() for o in outs] + [p.grad for p in params])
    finally:
        sciml.set_num_threads(None)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_non_contiguous_inputs_are_copied():
    x, mu, s, w = make_case(20, 6, 2, 3, per_channel=False, seed=13)
    xt = x.t().contiguous().t()  # same values, column-major
    assert not xt.is_contiguous()
    for a, b in zip(gaussian_embedding(xt, mu, s, w), gaussian_embedding(x, mu, s, w), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("per_channel", [False, True])
def test_empty_inputs(per_channel):
    x, mu, s, w = make_case(0, 5, 2, 3, per_channel=per_channel)
    phi, d1, d2 = gaussian_embedding(x, mu, s, w)
    assert phi.shape == (0, 3) and d1.shape == (0, 2, 3) and d2.shape == (0, 2, 3)

    x, mu, s, w = make_case(7, 0, 2, 3, per_channel=per_channel)
    params = [t.clone().requires_grad_(True) for t in (x, mu, s, w)]
    phi, d1, d2 = gaussian_embedding(*params)
    assert phi.shape == (7, 3) and (phi == 0).all() and (d2 == 0).all()
    (phi.sum() + d1.sum()).backward()
    assert (params[0].grad == 0).all()


def test_numpy_core_returns_none_for_unrequested_orders():
    x, mu, s, w = (t.numpy() for t in make_case(5, 3, 2, 2, per_channel=False))
    phi, d1, d2 = sciml._core.gaussian_embedding_forward(x, mu, s, w, 0, None)
    assert phi.shape == (5, 2) and d1 is None and d2 is None


# ---- bad input -------------------------------------------------------------------------


def good():
    return make_case(6, 4, 2, 2, per_channel=False)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_other_devices_take_the_dense_torch_path(per_channel, order):
    """Off the CPU (here the shape-only "meta" device, standing in for a GPU) the
    embedding is the dense torch form, with the kernel's shapes, on that device."""
    x, mu, sigma, w = make_case(5, 3, 2, 4, per_channel=per_channel)
    outs = gaussian_embedding(*(t.to("meta") for t in (x, mu, sigma, w)), order=order)
    expected = gaussian_embedding(x, mu, sigma, w, order=order)
    assert len(outs) == order + 1
    for out, ref in zip(outs, expected, strict=True):
        assert out.device.type == "meta"
        assert out.shape == ref.shape


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda a: (a[0].numpy(), *a[1:]), TypeError, "x must be a torch.Tensor"),
        (lambda a: (a[0].float(), *a[1:]), TypeError, "mu is torch.float64 but x is torch.float32"),
        (lambda a: (a[0].int(), *a[1:]), TypeError, "x must be float32 or float64"),
        (lambda a: (a[0][0], *a[1:]), ValueError, r"x must have shape \(N, d\), got \(2,\)"),
        (lambda a: (a[0], a[1][:, :1], a[2][:, :1], a[3]), ValueError, r"mu must have shape"),
        (lambda a: (a[0], a[1], a[2][:3], a[3]), ValueError, r"sigma has shape \(3, 2\)"),
        (lambda a: (a[0], a[1], a[2], a[3][:3]), ValueError, r"w must have shape \(4, F\)"),
        (lambda a: (a[0], a[1][None], a[2][None], a[3]), ValueError, r"w must have shape \(1, 4\)"),
        (lambda a: (a[0].to("meta"), *a[1:]), ValueError, "mu is on cpu but x is on meta"),
    ],
)
def test_bad_shapes_and_types(mutate, error, match):
    with pytest.raises(error, match=match):
        gaussian_embedding(*mutate(good()))


@pytest.mark.parametrize("cutoff", [None, "auto"])
@pytest.mark.parametrize(
    ("which", "index", "value", "match"),
    [
        (2, (1, 0), 0.0, r"sigma must be finite and > 0; sigma\[1, 0\] = 0\.0"),
        (2, (3, 1), -1.0, r"sigma\[3, 1\] = -1\.0"),
        (2, (0, 0), math.inf, r"sigma\[0, 0\] = inf"),
        (0, (2, 1), math.nan, r"x must be finite; x\[2, 1\] = NaN"),
        (1, (0, 1), math.inf, r"mu must be finite; mu\[0, 1\] = inf"),
        (3, (3, 0), math.nan, r"weights must be finite; weights\[3, 0\] = NaN"),
    ],
)
def test_bad_values(cutoff, which, index, value, match):
    args = [t.clone() for t in good()]
    args[which][index] = value
    with pytest.raises(ValueError, match=match):
        gaussian_embedding(*args, cutoff=cutoff)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 3}, "order must be 0, 1 or 2"),
        ({"cutoff": 0.0}, "cutoff must be"),
        ({"cutoff": -2}, "cutoff must be"),
        ({"cutoff": math.nan}, "cutoff must be"),
        ({"cutoff": "exact"}, "cutoff must be"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gaussian_embedding(*good(), **kwargs)


def test_core_rejects_bad_arrays_with_clear_errors():
    x, mu, s, w = (t.numpy() for t in good())
    with pytest.raises(ValueError, match="C-contiguous"):
        sciml._core.gaussian_embedding_forward(
            np.asfortranarray(np.tile(x, (1, 1))[:, ::-1]), mu, s, w
        )
    with pytest.raises(TypeError, match="w must be a numpy array"):
        sciml._core.gaussian_embedding_forward(x, mu, s, [1.0])
    with pytest.raises(ValueError, match="grad_phi has shape"):
        sciml._core.gaussian_embedding_backward(x, mu, s, w, np.zeros((5, 2)), None, None)
    with pytest.raises(ValueError, match="number of threads"):
        sciml.set_num_threads(-1)
