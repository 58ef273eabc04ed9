"""Tests for sciml.pfn.priors: shapes, seeding, padding, configs, and the GP law of y."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from sciml.pfn.priors import (
    GPHyperPrior,
    GPPrior,
    Prior,
    PriorBatch,
    pad_features,
    prior_from_config,
    rbf_covariance,
)

torch.set_num_threads(1)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def whiten(b: PriorBatch, lengthscale_factor: float = 1.0) -> torch.Tensor:
    """L^-1 y per data set, L the Cholesky factor of K + noise I rebuilt from the batch: the
    hyperparameters are in units of the unpadded x, so the padding's rescaling is undone."""
    hp = b.hyperparameters
    x = b.x.double() / (b.x.shape[-1] / b.n_features.double())[:, None, None]
    cov = rbf_covariance(x, hp["lengthscale"] * lengthscale_factor, hp["outputscale"])
    cov = cov + torch.diag_embed(hp["noise"][:, None].expand(-1, b.y.shape[1]))
    chol = torch.linalg.cholesky(cov)
    w = torch.linalg.solve_triangular(chol, b.y.double()[..., None], upper=False)
    return w.flatten()


def assert_batches_equal(a: PriorBatch, b: PriorBatch) -> None:
    for u, v in [(a.x, b.x), (a.y, b.y), (a.n_features, b.n_features)]:
        assert torch.equal(u, v)
    assert a.hyperparameters.keys() == b.hyperparameters.keys()
    for k in a.hyperparameters:
        torch.testing.assert_close(
            a.hyperparameters[k], b.hyperparameters[k], rtol=0, atol=0, equal_nan=True
        )


@pytest.mark.parametrize(
    "prior", [GPPrior(), GPPrior(dim=2, lengthscale=[0.2, 0.5], max_features=3), GPHyperPrior()]
)
def test_shapes_and_dtypes(prior: Prior) -> None:
    assert isinstance(prior, Prior)
    b = prior.sample(5, 7, gen(0))
    f = prior.max_features
    assert b.x.shape == (5, 7, f) and b.x.dtype == torch.float32
    assert b.y.shape == (5, 7) and b.y.dtype == torch.float32
    assert b.n_features.shape == (5,) and b.n_features.dtype == torch.int64
    hp = b.hyperparameters
    assert set(hp) == {"lengthscale", "outputscale", "noise"}
    assert hp["lengthscale"].shape == (5, f)
    assert hp["outputscale"].shape == hp["noise"].shape == (5,)
    assert all(v.dtype == torch.float64 for v in hp.values())
    assert torch.isfinite(b.x).all() and torch.isfinite(b.y).all()
    # one point works too
    assert prior.sample(1, 1, gen(1)).y.shape == (1, 1)


@pytest.mark.parametrize("prior", [GPPrior(dim=2), GPHyperPrior()])
def test_seeding(prior: Prior) -> None:
    assert_batches_equal(prior.sample(4, 10, gen(3)), prior.sample(4, 10, gen(3)))
    a, c = prior.sample(4, 10, gen(3)), prior.sample(4, 10, gen(4))
    assert not torch.equal(a.x, c.x) and not torch.equal(a.y, c.y)


def test_rbf_covariance_matches_direct_formula() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 6, 4))
    ls = rng.uniform(0.2, 1.0, size=(3, 4))
    ls[0, 3], ls[1, 2:] = np.nan, np.inf
    os = rng.uniform(0.5, 2.0, size=3)
    want = np.empty((3, 6, 6))
    for b in range(3):
        for i in range(6):
            for j in range(6):
                d2 = sum(
                    ((x[b, i, f] - x[b, j, f]) / ls[b, f]) ** 2
                    for f in range(4)
                    if np.isfinite(ls[b, f])
                )
                want[b, i, j] = os[b] * math.exp(-0.5 * d2)
    got = rbf_covariance(torch.tensor(x), torch.tensor(ls), torch.tensor(os))
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "prior",
    [
        GPPrior(dim=1, lengthscale=0.1, outputscale=1.0, noise=0.01),
        GPPrior(dim=2, lengthscale=[0.1, 0.4], outputscale=2.0, noise=1e-3, max_features=3),
        GPHyperPrior(),
    ],
)
def test_whitened_y_is_standard_normal(prior: Prior) -> None:
    b = prior.sample(200, 20, gen(12345))
    w = whiten(b).numpy()
    assert w.size == 4000
    assert abs(w.mean()) < 0.07  # 4.4 standard errors
    assert abs(w.var() - 1) < 0.1  # 4.5 standard errors
    assert stats.kstest(w, "norm").pvalue > 1e-3
    # the check has power: a wrong lengthscale is caught
    assert stats.kstest(whiten(b, 3.0).numpy(), "norm").pvalue < 1e-6


def test_gp_prior_marginal_variance() -> None:
    """Independent of rbf_covariance: Var y(x) = outputscale + noise at every x."""
    b = GPPrior(dim=1, lengthscale=0.1, outputscale=1.5, noise=0.05).sample(2000, 4, gen(7))
    assert abs(b.y.double().square().mean().item() - 1.55) < 0.1  # ~5 standard errors


def test_hyper_prior_ranges_and_padding() -> None:
    prior = GPHyperPrior(min_dim=1, max_dim=4)
    b = prior.sample(256, 16, gen(1))
    f, d = 4, b.n_features
    assert set(d.tolist()) == {1, 2, 3, 4}
    used = torch.arange(f) < d[:, None]  # (B, F)
    assert (b.x[~used[:, None, :].expand_as(b.x)] == 0).all()
    scale = f / d.double()
    raw = b.x.double() / scale[:, None, None]
    assert (raw[used[:, None, :].expand_as(raw)] >= 0).all()
    assert (raw <= 1).all()
    assert raw[used[:, None, :].expand_as(raw)].max() > 0.9  # used features are populated
    hp = b.hyperparameters
    ls = hp["lengthscale"]
    assert torch.isnan(ls[~used]).all() and torch.isfinite(ls[used]).all()
    assert ((ls[used] >= 0.1) & (ls[used] <= 1.0)).all()
    assert ((hp["outputscale"] >= 0.5) & (hp["outputscale"] <= 2.0)).all()
    assert ((hp["noise"] >= 1e-3) & (hp["noise"] <= 1e-1)).all()


def test_gp_prior_padding() -> None:
    b = GPPrior(dim=2, lengthscale=[0.1, 0.3], max_features=5).sample(3, 8, gen(0))
    assert (b.n_features == 2).all()
    assert (b.x[..., 2:] == 0).all()
    assert (b.x[..., :2] >= 0).all() and (b.x[..., :2] <= 2.5).all()
    ls = b.hyperparameters["lengthscale"]
    assert torch.isnan(ls[:, 2:]).all()
    torch.testing.assert_close(ls[:, :2], torch.tensor([[0.1, 0.3]] * 3, dtype=torch.float64))


def test_pad_features_single_dataset() -> None:
    x = torch.rand(1, 9, 3, generator=gen(0))
    for nf in (3, torch.tensor([3])):
        out = pad_features(x, nf, 6)
        assert out.shape == (1, 9, 6) and out.dtype == x.dtype
        torch.testing.assert_close(out[..., :3], x * 2.0)
        assert (out[..., 3:] == 0).all()
    # a set using fewer columns than x has: the rest are zeroed, not kept
    out = pad_features(torch.ones(2, 4, 3), torch.tensor([1, 3]), 3)
    assert out[0].tolist() == [[3.0, 0.0, 0.0]] * 4
    assert out[1].tolist() == [[1.0, 1.0, 1.0]] * 4
    # mean over all columns equals the mean over the used ones
    torch.testing.assert_close(pad_features(x, 2, 8).mean(-1), x[..., :2].mean(-1))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.rand(1, 4, 5), 5, 3), "5 features, more than max_features=3"),
        ((torch.rand(1, 4, 2), 3, 4), r"1\.\.2"),
        ((torch.rand(1, 4, 2), 0, 4), r"1\.\.2"),
        ((torch.rand(2, 4, 2), torch.tensor([1, 1, 1]), 4), "n_features"),
        ((torch.rand(4, 2), 2, 4), r"\(B, N, D\)"),
    ],
)
def test_pad_features_errors(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pad_features(*args)


@pytest.mark.parametrize(
    "prior",
    [
        GPPrior(),
        GPPrior(dim=3, lengthscale=[0.1, 0.2, 0.3], outputscale=0.5, noise=0.0, max_features=6),
        GPHyperPrior(),
        GPHyperPrior(min_dim=2, max_dim=3, lengthscale_range=(0.2, 0.2), noise_range=(0.01, 0.5)),
    ],
)
def test_config_round_trip(prior: Prior) -> None:
    cfg = prior.config()
    cfg2 = prior_from_config(json.loads(json.dumps(cfg)))
    assert cfg2.config() == cfg
    assert type(cfg2) is type(prior)
    assert_batches_equal(prior.sample(2, 5, gen(9)), cfg2.sample(2, 5, gen(9)))


def test_config_contents() -> None:
    assert GPPrior().config() == {
        "kind": "gp",
        "kernel": "rbf",
        "lengthscale": 0.1,
        "outputscale": 1.0,
        "noise": 0.01,
        "dim": 1,
        "max_features": 1,
    }
    assert GPPrior(dim=2, lengthscale=[0.1, 0.2]).config()["lengthscale"] == [0.1, 0.2]
    assert GPHyperPrior().config() == {
        "kind": "gp-hyper",
        "kernel": "rbf",
        "min_dim": 1,
        "max_dim": 4,
        "lengthscale_range": [0.1, 1.0],
        "outputscale_range": [0.5, 2.0],
        "noise_range": [1e-3, 1e-1],
        "max_features": 4,
    }


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"kind": "tabular"}, "unknown prior kind 'tabular'"),
        ({"kind": "gp", "kernel": "matern52"}, "matern52"),
        ({"kind": "gp", "dim": 1, "colour": "red"}, "colour"),
        ({"kind": "gp-hyper", "max_dim": 3, "max_features": 5}, "max_features must equal"),
    ],
)
def test_prior_from_config_errors(cfg: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        prior_from_config(cfg)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: GPPrior(dim=0), "dim must be an int >= 1, got 0"),
        (lambda: GPPrior(lengthscale=-1.0), "lengthscale must be finite and > 0, got -1.0"),
        (lambda: GPPrior(lengthscale=math.nan), "lengthscale"),
        (lambda: GPPrior(dim=2, lengthscale=[0.1]), r"dim=2 entries, got \[0.1\]"),
        (lambda: GPPrior(outputscale=0.0), "outputscale must be finite and > 0, got 0.0"),
        (lambda: GPPrior(noise=-0.1), "noise must be finite and >= 0, got -0.1"),
        (lambda: GPPrior(dim=3, max_features=2), "max_features must be an int >= dim=3, got 2"),
        (lambda: GPHyperPrior(min_dim=3, max_dim=2), "min_dim <= max_dim, got 3, 2"),
        (lambda: GPHyperPrior(min_dim=0), "got 0, 4"),
        (lambda: GPHyperPrior(lengthscale_range=(0.0, 1.0)), "lengthscale_range .* got 0.0"),
        (lambda: GPHyperPrior(noise_range=(0.1, 0.01)), r"noise_range .* got \(0.1, 0.01\)"),
        (lambda: GPHyperPrior(outputscale_range=(1.0,)), r"outputscale_range .* got \(1.0,\)"),
    ],
)
def test_bad_constructor_arguments(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("prior", [GPPrior(), GPHyperPrior()])
def test_bad_sample_arguments(prior: Prior) -> None:
    with pytest.raises(ValueError, match="batch must be an int >= 1, got 0"):
        prior.sample(0, 5, gen(0))
    with pytest.raises(ValueError, match="n_points must be an int >= 1, got 0"):
        prior.sample(2, 0, gen(0))
    with pytest.raises(ValueError, match="generator"):
        prior.sample(2, 5, 0)  # type: ignore[arg-type]


def test_prior_batch_validates_shapes() -> None:
    with pytest.raises(ValueError, match="PriorBatch wants"):
        PriorBatch(x=torch.zeros(2, 3, 1), y=torch.zeros(2, 4), n_features=torch.ones(2))
