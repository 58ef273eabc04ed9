"""Training a PFN on a prior: the sampler, the loss, and the files a trained model is kept in."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from sciml.pfn.bar import RiemannDistribution, borders_from_samples
from sciml.pfn.model import PFN, PFNConfig
from sciml.pfn.priors import GPHyperPrior, GPPrior, Prior
from sciml.train import TrainConfig, dist_info, fit, save_atomic
from sciml.train.loop import seed_everything

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Recipe:
    """How a named model is trained: its prior, sizes and optimisation settings.

    ``max_context`` is the largest data set the model sees (each batch draws its context
    size uniformly in 0..max_context, as the reference code draws its single_eval_pos);
    each data set adds ``n_queries`` query points whose targets are scored.
    """

    prior: dict[str, Any]
    model: PFNConfig
    max_context: int = 50
    n_queries: int = 50
    batch_size: int = 64
    steps: int = 20_000
    lr: float = 4e-4
    warmup_steps: int = 1_000


RECIPES: dict[str, Recipe] = {
    "gp-rbf-1d": Recipe(
        prior=GPPrior(dim=1, lengthscale=0.1, outputscale=1.0, noise=0.01).config(),
        model=PFNConfig(max_features=1, emsize=128, nlayers=4, nhead=4, nhid=256, n_buckets=500),
    ),
    "gp-hyper": Recipe(
        prior=GPHyperPrior().config(),
        model=PFNConfig(max_features=4, emsize=128, nlayers=4, nhead=4, nhid=256, n_buckets=500),
    ),
}
"""The shipped models' recipes, sized for a 2-core CPU (the paper's sizes are PFNConfig())."""


def prior_borders(prior: Prior, n_buckets: int, seed: int, n_samples: int = 200_000) -> Tensor:
    """Equal-mass bucket borders (n_buckets + 1,) from about ``n_samples`` prior targets
    (data sets of 100 points, 100 at a time)."""
    generator = torch.Generator().manual_seed(seed)
    ys = [prior.sample(100, 100, generator).y.flatten() for _ in range(max(1, n_samples // 10_000))]
    return borders_from_samples(torch.cat(ys), n_buckets)


def make_sampler(prior: Prior, batch_size: int, max_context: int, n_queries: int):
    """``sample(generator) -> (x, y, n_context)``: one batch of data sets from the prior,
    the first n_context points of each (n_context uniform in 0..max_context) the context."""

    def sample(generator: torch.Generator) -> tuple[Tensor, Tensor, int]:
        n_context = int(torch.randint(0, max_context + 1, (1,), generator=generator))
        batch = prior.sample(batch_size, n_context + n_queries, generator)
        return batch.x, batch.y, n_context

    return sample


def make_loss(borders: Tensor):
    """The PFN loss: the mean negative log density of the query targets."""

    def loss(model: nn.Module, batch: tuple[Tensor, Tensor, int]) -> Tensor:
        x, y, n = batch
        logits = model(x[:, :n], y[:, :n], x[:, n:])
        return RiemannDistribution(logits, borders.to(logits.device)).nll(y[:, n:]).mean()

    return loss


def train_pfn(
    prior: Prior,
    out_dir: str | os.PathLike,
    *,
    model_config: PFNConfig,
    train_config: TrainConfig,
    max_context: int = 50,
    n_queries: int = 50,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    resume: bool = True,
) -> PFN:
    """Trains a PFN on ``prior`` and writes ``out_dir/model.pt`` and ``config.json``.

    ``out_dir/checkpoint.pt`` is written every ``train_config.checkpoint_every`` steps; a
    rerun with the same arguments resumes from it. Under ``torchrun`` each rank samples its
    own batches (``batch_size`` per rank and micro-batch).
    """
    if model_config.max_features < prior.max_features:
        raise ValueError(
            f"the model takes {model_config.max_features} features, the prior makes "
            f"{prior.max_features}"
        )
    out = Path(out_dir)
    seed_everything(train_config.seed)
    borders = prior_borders(prior, model_config.n_buckets, train_config.seed)
    model = PFN(model_config, borders)
    settings = {
        "model": model_config.to_dict(),
        "prior": prior.config(),
        "max_context": max_context,
        "n_queries": n_queries,
        "batch_size": batch_size,
        "train": {**asdict(train_config), "betas": list(train_config.betas)},
    }
    start = time.perf_counter()
    result = fit(
        model,
        make_sampler(prior, batch_size, max_context, n_queries),
        make_loss(model.borders),
        train_config,
        out_dir=out,
        resume=resume,
        device=device,
        extra=settings,
    )
    model.to("cpu")
    info = dist_info(device)
    if info.is_main:
        settings["result"] = {
            "steps": result.step,
            "final_loss": result.last_loss,
            "seconds_this_run": round(time.perf_counter() - start, 1),
            "world_size": info.world_size,
        }
        save_model(model, settings, out)
    return model


def save_model(model: PFN, settings: dict[str, Any], out_dir: str | os.PathLike) -> None:
    """Writes a trained model as ``model.pt`` (state dict) and ``config.json``."""
    out = Path(out_dir)
    save_atomic(model.state_dict(), out / MODEL_FILE)
    _write_text_atomic(out / CONFIG_FILE, json.dumps(settings, indent=2) + "\n")


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def export_model(src: str | os.PathLike, dest: str | os.PathLike, name: str) -> Path:
    """Writes a trained model (``src/model.pt`` and ``config.json``) as ``dest/NAME.pt``, its
    floating-point tensors in float16 (half the size; the weights a package ships), and
    ``dest/NAME.json``. Loading casts them back to float32. Returns the ``.pt`` path."""
    src, dest = Path(src), Path(dest)
    state = torch.load(src / MODEL_FILE, map_location="cpu", weights_only=True)
    half = {
        k: v.half() if v.is_floating_point() and k != "borders" else v for k, v in state.items()
    }
    dest.mkdir(parents=True, exist_ok=True)
    save_atomic(half, dest / f"{name}.pt")
    _write_text_atomic(dest / f"{name}.json", (src / CONFIG_FILE).read_text())
    return dest / f"{name}.pt"
