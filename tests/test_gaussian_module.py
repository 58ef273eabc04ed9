"""sciml.ops.GaussianEmbedding: initialisation, parametrisation, training."""

from __future__ import annotations

import math

import pytest
import torch

from sciml.ops import GaussianEmbedding, gaussian_embedding_reference


def test_paper_initialisation_per_channel():
    g = torch.Generator().manual_seed(0)
    emb = GaussianEmbedding(800, 2, channels=4, domain=(-1.0, 1.0), sigma0=0.1, generator=g)
    assert emb.mu.shape == (4, 800, 2) and emb.w.shape == (4, 800)
    assert emb.mu.min() >= -1 and emb.mu.max() <= 1
    assert abs(emb.mu.mean().item()) < 0.05
    torch.testing.assert_close(emb.sigma, torch.full((4, 800, 2), 0.1))
    assert 0.008 < emb.w.std().item() < 0.012
    assert "num_gaussians=800, dim=2, channels=4, layout=per_channel" in repr(emb)


def test_shared_layout_and_box_domain():
    emb = GaussianEmbedding(
        50, 3, channels=2, per_channel=False, domain=((0, -4, -4), (10, 4, 4)), dtype=torch.float64
    )
    assert emb.mu.shape == (50, 3) and emb.w.shape == (50, 2) and emb.mu.dtype == torch.float64
    assert emb.mu[:, 0].min() >= 0 and emb.mu[:, 0].max() <= 10
    assert emb.mu[:, 1:].abs().max() <= 4


def test_forward_matches_reference_and_sigma_stays_positive():
    emb = GaussianEmbedding(20, 2, channels=3, sigma0=0.3, dtype=torch.float64)
    x = torch.rand(40, 2, dtype=torch.float64) * 2 - 1
    outs = emb(x, order=2)
    refs = gaussian_embedding_reference(x, emb.mu, emb.sigma, emb.w, order=2)
    for a, b in zip(outs, refs, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    with torch.no_grad():
        emb.log_sigma.fill_(-50.0)
    assert (emb.sigma > 0).all()


def test_fitting_a_function_reduces_the_error():
    """A few hundred Adam steps of Gaussians + linear head fit a smooth 2D function."""
    torch.manual_seed(0)
    emb = GaussianEmbedding(64, 2, channels=1, per_channel=False, sigma0=0.3, weight_std=0.1)
    opt = torch.optim.Adam(emb.parameters(), lr=0.02)
    x = torch.rand(512, 2) * 2 - 1
    target = torch.sin(math.pi * x[:, :1]) * torch.cos(math.pi * x[:, 1:])
    first = None
    for _ in range(300):
        opt.zero_grad()
        (phi,) = emb(x)
        loss = ((phi - target) ** 2).mean()
        loss.backward()
        opt.step()
        first = first or loss.item()
    assert loss.item() < 0.05 * first


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_gaussians": 0}, "num_gaussians must be a positive integer"),
        ({"dim": 0}, "dim must be a positive integer"),
        ({"channels": -1}, "channels must be a positive integer"),
        ({"sigma0": 0.0}, "sigma0 must be > 0"),
        ({"domain": (1.0, -1.0)}, "domain must have low < high"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"num_gaussians": 4, "dim": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        GaussianEmbedding(**args)
