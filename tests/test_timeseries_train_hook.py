"""The shared loop's validation hook (early stopping, best weights, exact resume) that the
time-series estimators train with."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from sciml.train import TrainConfig, fit, load_checkpoint

torch.set_num_threads(1)
W = torch.tensor([1.0, -2.0, 0.5])


def sample(g: torch.Generator):
    x = torch.randn(16, 3, generator=g)
    return x, x @ W + 0.1 * torch.randn(16, generator=g)


def loss(model: nn.Module, batch):
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def new_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 1))


X_VAL = torch.randn(64, 3, generator=torch.Generator().manual_seed(9))


def neg_val_loss(model: nn.Module) -> float:
    assert not model.training and not torch.is_grad_enabled()
    return -((model(X_VAL).squeeze(-1) - X_VAL @ W) ** 2).mean().item()


def scripted(scores):
    """A hook returning the given scores in turn and keeping a copy of the weights it saw."""
    seen = []

    def validate(model):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return scores[len(seen) - 1]

    return validate, seen


def test_patience_stops_and_the_best_weights_come_back():
    validate, seen = scripted([1.0, 3.0, 2.0, 2.5, 2.9, 9.0])
    config = TrainConfig(steps=30, lr=1e-2, validate_every=2, patience=3, progress=False)
    model = new_model()
    result = fit(model, sample, loss, config, validate=validate)
    assert result.stopped_early and result.step == 10 and len(seen) == 5
    assert result.best_step == 4 and result.best_score == 3.0
    assert [v["step"] for v in result.validations] == [2, 4, 6, 8, 10]
    for key, value in model.state_dict().items():
        assert torch.equal(value, seen[1][key])
    assert result.history[-1]["step"] == 10  # the partial loss record of the last steps


def test_without_patience_all_steps_run_and_restore_best_can_be_off():
    validate, seen = scripted([5.0, 1.0, 1.0])
    config = TrainConfig(steps=6, lr=1e-2, validate_every=2, progress=False, restore_best=False)
    model = new_model()
    result = fit(model, sample, loss, config, validate=validate)
    assert result.step == 6 and not result.stopped_early and result.best_step == 2
    assert any(not torch.equal(v, seen[0][k]) for k, v in model.state_dict().items())
    # validate_every=None: after the last step only
    validate, seen = scripted([1.0])
    result = fit(new_model(), sample, loss, TrainConfig(steps=4, progress=False), validate=validate)
    assert [v["step"] for v in result.validations] == [4] and len(seen) == 1


def test_a_nan_score_never_counts_as_better():
    validate, _ = scripted([math.nan, math.nan, 1.0, math.nan])
    config = TrainConfig(steps=8, validate_every=2, patience=2, progress=False)
    result = fit(new_model(), sample, loss, config, validate=validate)
    assert result.best_step == 6 and result.step == 8 and result.best_score == 1.0


@pytest.mark.parametrize("patience", [None, 2])
def test_resume_with_validation_is_exact(tmp_path, patience):
    config = TrainConfig(
        steps=16, lr=3e-2, checkpoint_every=3, log_every=2, validate_every=2,
        patience=patience, progress=False,
    )  # fmt: skip
    straight = new_model()
    expected = fit(straight, sample, loss, config, out_dir=tmp_path / "a", validate=neg_val_loss)

    calls = {"n": 0}

    def crashing_sample(g):
        calls["n"] += 1
        if calls["n"] == 8:  # in step 8, after the checkpoint of step 6
            raise KeyboardInterrupt
        return sample(g)

    with pytest.raises(KeyboardInterrupt):
        fit(
            new_model(),
            crashing_sample,
            loss,
            config,
            out_dir=tmp_path / "b",
            validate=neg_val_loss,
        )
    state = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert state["step"] == 7 and len(state["validation"]["history"]) == 3
    resumed = new_model()
    result = fit(resumed, sample, loss, config, out_dir=tmp_path / "b", validate=neg_val_loss)
    assert result.step == expected.step and result.validations == expected.validations
    assert (result.best_step, result.stopped_early) == (expected.best_step, expected.stopped_early)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # a finished run resumed again trains no further and ends on the same best weights
    again = new_model()
    fit(again, sample, loss, config, out_dir=tmp_path / "b", validate=neg_val_loss)
    for a, b in zip(straight.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{"validate_every": 0}, {"patience": 0}, {"patience": 1.5}])
def test_bad_validation_settings(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TrainConfig(steps=4, **kwargs)
