"""sciml.pfn: the PFN's invariances, training, the regressor's API and errors, shipped models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sciml.cli import main as cli
from sciml.pfn import (
    PFN,
    PRETRAINED,
    GPHyperPrior,
    GPPrior,
    PFNConfig,
    PFNRegressor,
    borders_from_samples,
    nll_gap_table,
    train_pfn,
)
from sciml.pfn.training import export_model, save_model
from sciml.train import TrainConfig

torch.set_num_threads(1)


def random_pfn(max_features: int = 2, seed: int = 0) -> PFN:
    """A PFN with random (not zero) residual branches and head, in float64."""
    torch.manual_seed(seed)
    config = PFNConfig(
        max_features=max_features, emsize=16, nlayers=2, nhead=2, nhid=32, n_buckets=30
    )
    model = PFN(config, torch.linspace(-3, 3, 31)).double()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return model.eval()


def data(b=3, n=6, m=4, f=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(b, n, f, generator=g, dtype=torch.float64),
        torch.randn(b, n, generator=g, dtype=torch.float64),
        torch.rand(b, m, f, generator=g, dtype=torch.float64),
    )


def test_output_is_invariant_to_the_order_of_the_context():
    model = random_pfn()
    xc, yc, xq = data()
    perm = torch.randperm(xc.shape[1])
    torch.testing.assert_close(model(xc, yc, xq), model(xc[:, perm], yc[:, perm], xq))


def test_output_is_equivariant_to_the_order_of_the_queries():
    model = random_pfn()
    xc, yc, xq = data()
    perm = torch.randperm(xq.shape[1])
    torch.testing.assert_close(model(xc, yc, xq)[:, perm], model(xc, yc, xq[:, perm]))


def test_queries_do_not_influence_each_other():
    model = random_pfn()
    xc, yc, xq = data(m=5)
    together = model(xc, yc, xq)
    for j in range(xq.shape[1]):
        alone = model(xc, yc, xq[:, j : j + 1])
        torch.testing.assert_close(together[:, j : j + 1], alone)


def test_untrained_model_predicts_the_prior_marginal():
    """The zero-initialised head gives equal logits: equal mass in the prior's buckets."""
    borders = borders_from_samples(torch.randn(10_000), 50)
    model = PFN(PFNConfig(emsize=16, nlayers=1, nhead=2, n_buckets=50), borders)
    logits = model(torch.rand(2, 3, 1), torch.randn(2, 3), torch.rand(2, 4, 1))
    assert torch.all(logits == 0)


def test_training_lowers_the_loss(tmp_path):
    model = train_pfn(
        GPPrior(dim=1),
        tmp_path,
        model_config=PFNConfig(emsize=32, nlayers=2, nhead=4, nhid=64, n_buckets=50),
        train_config=TrainConfig(steps=250, lr=3e-3, warmup_steps=10, log_every=50, progress=False),
        max_context=20,
        n_queries=20,
        batch_size=16,
    )
    history = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["history"]
    assert history[-1]["loss"] < history[0]["loss"] - 0.1
    settings = json.loads((tmp_path / "config.json").read_text())
    assert settings["prior"]["kind"] == "gp" and settings["max_context"] == 20
    reg = PFNRegressor.from_checkpoint(tmp_path)
    for name, param in reg.model.state_dict().items():
        torch.testing.assert_close(param, model.state_dict()[name])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> PFNRegressor:
    out = tmp_path_factory.mktemp("tiny")
    train_pfn(
        GPHyperPrior(max_dim=2),
        out,
        model_config=PFNConfig(
            max_features=2, emsize=16, nlayers=1, nhead=2, nhid=32, n_buckets=40
        ),
        train_config=TrainConfig(steps=3, progress=False),
        max_context=10,
        n_queries=5,
        batch_size=4,
    )
    return PFNRegressor.from_checkpoint(out)


def test_regressor_shapes_and_batched_call_agree(tiny):
    rng = np.random.default_rng(0)
    X, y, Xq = rng.random((7, 2)), rng.standard_normal(7), rng.random((5, 2))
    dist = tiny.fit(X, y).predict_distribution(Xq)
    for a in (dist.mean, dist.std, dist.quantile(0.3), dist.cdf(0.0), dist.log_prob(y[:5])):
        assert a.shape == (5,) and np.isfinite(a).all()
    np.testing.assert_array_equal(tiny.predict(Xq), dist.mean)
    lo, hi = dist.interval(0.9)
    assert np.all(lo < hi)
    batch = tiny.predict_distribution_batch(X[None], y[None], Xq[None])
    np.testing.assert_allclose(batch.mean[0], dist.mean, rtol=1e-6)
    assert dist.sample(3, seed=0).shape == (3, 5)
    assert tiny.fit(np.empty((0, 2)), np.empty(0)).predict(Xq).shape == (5,)  # no context
    assert tiny.prior["kind"] == "gp-hyper"


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.array([[0.1, np.nan]]), np.array([1.0]), "NaN"),
        (np.array([[0.1, 0.2]]), np.array([np.inf]), "NaN or infinite"),
        (np.zeros((3, 3)), np.zeros(3), "3 features"),
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.zeros((11, 1)), np.zeros(11), "at most 10"),
        (np.zeros((3, 1)), np.zeros(4), "shape"),
    ],
)
def test_bad_input_is_a_value_error(tiny, X, y, match):
    with pytest.raises(ValueError, match=match):
        tiny.fit(X, y)


def test_predict_before_fit_and_bad_queries(tiny):
    fresh = PFNRegressor(tiny.model, tiny.settings)
    with pytest.raises(ValueError, match="not fitted"):
        fresh.predict(np.zeros((2, 1)))
    tiny.fit(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError, match="features"):
        tiny.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        tiny.predict(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="level"):
        tiny.predict_distribution(np.zeros((2, 1))).interval(1.5)
    with pytest.raises(ValueError, match="shapes do not match"):
        tiny.predict_distribution_batch(np.zeros((0, 3, 1)), np.zeros((0, 3)), np.zeros((0, 2, 1)))
    with pytest.raises(ValueError, match="unknown pretrained"):
        PFNRegressor.pretrained("nope")


def test_cli_trains_and_evaluates(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["pfn", "train", "--prior", "gp-rbf-1d", "--out", str(out), "--steps", "3"]
    args += ["--batch", "4", "--emsize", "16", "--nlayers", "1", "--buckets", "40", "--no-progress"]
    assert cli(args) == 0
    assert cli(["pfn", "eval", str(out), "--datasets", "5"]) == 0
    table = capsys.readouterr().out
    assert "gap" in table and len(table.strip().splitlines()) == 7


def test_exported_half_precision_weights_predict_as_the_model(tiny, tmp_path):
    source = tmp_path / "run"
    save_model(tiny.model, tiny.settings, source)
    reg = PFNRegressor.from_checkpoint(export_model(source, tmp_path / "weights", "tiny"))
    assert reg.model.encoder_x.weight.dtype == torch.float32
    X, y, Xq = np.zeros((3, 1)), np.zeros(3), np.linspace(0, 1, 5)[:, None]
    a = tiny.fit(X, y).predict_distribution(Xq)
    b = reg.fit(X, y).predict_distribution(Xq)
    np.testing.assert_allclose(b.mean, a.mean, atol=1e-2)
    np.testing.assert_allclose(b.std, a.std, rtol=1e-2)


@pytest.mark.parametrize("name", PRETRAINED)
def test_shipped_models_load_and_score(name):
    reg = PFNRegressor.pretrained(name)
    assert (reg.max_context, reg.model.config.max_features) == (
        (50, 1) if name == "gp-rbf-1d" else (50, 4)
    )
    rows = nll_gap_table(reg, context_sizes=(0, 10), n_datasets=40, seed=123)
    for row in rows:
        assert row["gap"] < 0.5, (
            row
        )  # a loose bound on a small fresh sample; benches/ has the figure
    if name == "gp-rbf-1d":
        expected = {
            "kernel": "rbf",
            "lengthscale": 0.1,
            "outputscale": 1.0,
            "noise": 0.01,
            "dim": 1,
        }
        assert expected.items() <= reg.prior.items()
