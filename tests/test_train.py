"""sciml.train: the shared loop (schedule, accumulation, checkpoints, exact resume, DDP)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from sciml.train import TrainConfig, fit, load_checkpoint, warmup_cosine
from sciml.train.loop import micro_batch_seed

torch.set_num_threads(1)


def regression_task(noise: float = 0.1):
    """A linear model on y = x . w + noise, sampled from the generator it is given."""
    w = torch.tensor([1.0, -2.0, 0.5])

    def sample(g: torch.Generator):
        x = torch.randn(16, 3, generator=g)
        return x, x @ w + noise * torch.randn(16, generator=g)

    def loss(model: nn.Module, batch):
        x, y = batch
        return ((model(x).squeeze(-1) - y) ** 2).mean()

    return sample, loss


def new_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 1))


def test_loss_goes_down_and_history_is_recorded():
    sample, loss = regression_task()
    result = fit(
        new_model(), sample, loss, TrainConfig(steps=200, lr=1e-2, log_every=20, progress=False)
    )
    assert result.step == 200 and len(result.history) == 10
    assert result.history[-1]["loss"] < 0.2 * result.history[0]["loss"]


def test_resume_continues_the_same_run_exactly(tmp_path):
    sample, loss = regression_task()
    config = TrainConfig(steps=8, lr=1e-2, checkpoint_every=3, log_every=2, progress=False)
    straight = new_model()
    fit(straight, sample, loss, config, out_dir=tmp_path / "a")

    calls = {"n": 0}

    def crashing_sample(g):
        calls["n"] += 1
        if calls["n"] == 5:  # the fifth step: the checkpoint of step 4 was not reached
            raise KeyboardInterrupt
        return sample(g)

    with pytest.raises(KeyboardInterrupt):
        fit(new_model(), crashing_sample, loss, config, out_dir=tmp_path / "b")
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["step"] == 4
    resumed = new_model()
    result = fit(resumed, sample, loss, config, out_dir=tmp_path / "b")
    assert result.step == 8
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert result.history == load_checkpoint(tmp_path / "a" / "checkpoint.pt")["history"]


def test_a_foreign_or_corrupt_checkpoint_is_a_clear_error(tmp_path):
    sample, loss = regression_task()
    config = TrainConfig(steps=2, progress=False)
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        fit(new_model(), sample, loss, config, out_dir=tmp_path)
    fit(nn.Linear(3, 1), sample, loss, config, out_dir=tmp_path, resume=False)
    with pytest.raises(ValueError, match="does not continue this run"):
        fit(new_model(), sample, loss, config, out_dir=tmp_path)


def test_accumulation_steps_on_the_mean_gradient_of_the_micro_batches():
    sample, loss = regression_task()
    config = TrainConfig(
        steps=1, lr=1e-2, accumulate=3, grad_clip=None, warmup_steps=0, progress=False
    )
    model = nn.Linear(3, 1)
    manual = nn.Linear(3, 1)
    manual.load_state_dict(model.state_dict())
    fit(model, sample, loss, config)

    batches = [
        sample(torch.Generator().manual_seed(micro_batch_seed(0, 0, 0, micro)))
        for micro in range(3)
    ]
    (sum(loss(manual, b) for b in batches) / 3).backward()
    torch.optim.AdamW(manual.parameters(), lr=1e-2, weight_decay=0.0).step()
    for a, b in zip(model.parameters(), manual.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_nan_loss_is_an_error_naming_the_step():
    def sample(g):
        return torch.tensor([float("nan")])

    with pytest.raises(FloatingPointError, match="step 1"):
        fit(new_model(), sample, lambda m, b: b.sum(), TrainConfig(steps=3, progress=False))


def test_warmup_cosine_schedule():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=4, total_steps=12)
    lrs = []
    for _ in range(12):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0) and lrs[-1] < 0.05
    assert all(a >= b for a, b in itertools.pairwise(lrs[3:]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 5, "lr": -1.0}, "lr"),
        ({"steps": 5, "accumulate": 0}, "accumulate"),
        ({"steps": 5, "warmup_steps": 9}, "warmup_steps"),
        ({"steps": 5, "grad_clip": 0.0}, "grad_clip"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def run_torchrun(out: Path, steps: int) -> None:
    worker = Path(__file__).with_name("ddp_pfn_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    done = subprocess.run(
        [*cmd, str(worker), str(out), str(steps)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_torchrun_ddp_two_processes_agree_and_resume(tmp_path):
    run_torchrun(tmp_path, 4)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    checkpoint = load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["step"] == 4 and checkpoint["world_size"] == 2
    run_torchrun(tmp_path, 6)  # the same run, longer: resumes at step 4
    again = load_checkpoint(tmp_path / "checkpoint.pt")
    assert again["step"] == 6
    assert [h["step"] for h in again["history"]] == [4, 6]
    final = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert any(not torch.equal(final[k], ranks[0][k]) for k in final)


def test_weight_decay_spares_the_parameters_a_model_exempts():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Parameter(torch.ones(3, 2))
            self.linear = nn.Linear(2, 1, bias=False)
            nn.init.ones_(self.linear.weight)

        def no_weight_decay(self):
            return {"embedding"}

    model = Model()
    # a zero loss: only the decoupled weight decay moves the weights
    config = TrainConfig(steps=3, lr=0.1, weight_decay=0.5, warmup_steps=0, progress=False)
    fit(
        model,
        lambda g: torch.zeros(1),
        lambda m, b: (m.embedding.sum() + m.linear.weight.sum()) * 0,
        config,
    )
    assert torch.equal(model.embedding.detach(), torch.ones(3, 2))
    assert (model.linear.weight.detach() < 1).all()
