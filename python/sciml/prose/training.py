"""Training a PROSE network on trajectories generated on the fly, with the shared loop
(:func:`sciml.train.fit`: AdamW, warmup + cosine, clipping, checkpoints with exact resume,
DDP under ``torchrun``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sciml.prose.batch import ProseBatch, make_batch
from sciml.prose.model import ProseNetwork, prose_loss
from sciml.prose.systems import NON_CHAOTIC, generate, get
from sciml.prose.tokenizer import ExpressionTokenizer
from sciml.train import TrainConfig, TrainResult, fit

VARIANTS = ("1-1", "2-1", "2-2", "1-2", "mixed")
"""Inputs→outputs: 1 = data, 2 = data and symbols. ``mixed`` trains both outputs and gives
the skeleton input to half of the batches, so one network serves 1→2 and 2→2 (and the
data-only variants, whose data output it also trains)."""


@dataclass(frozen=True)
class ProseData:
    """What the training batches hold.

    Args:
        systems: system names (see :func:`sciml.prose.systems.names`).
        batch_size: trajectories per micro-batch.
        noise: relative noise of the input (the paper: 0.02).
        variant: one of :data:`VARIANTS`.
    """

    systems: tuple[str, ...] = NON_CHAOTIC
    batch_size: int = 64
    noise: float = 0.02
    variant: str = "mixed"

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if not self.systems:
            raise ValueError("systems is empty")


def batch_sampler(data: ProseData, tokenizer: ExpressionTokenizer, max_dim: int):
    """``sample(generator) -> ProseBatch`` drawing fresh trajectories each call."""

    def sample(generator: torch.Generator) -> ProseBatch:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        traj = generate(list(data.systems), data.batch_size, rng, noise=data.noise)
        skeleton = data.variant in ("2-1", "2-2") or (
            data.variant == "mixed" and rng.random() < 0.5
        )
        return make_batch(traj, tokenizer, max_dim, skeletons=skeleton, rng=rng)

    return sample


def batch_loss(variant: str):
    """``loss(model, batch)`` of the variant: the outputs it trains (see :data:`VARIANTS`)."""
    symbols = variant in ("2-2", "1-2", "mixed")

    def loss(model: nn.Module, batch: ProseBatch) -> Tensor:
        device = next(model.parameters()).device
        b = batch.to(device)
        out = model(
            b.t_in,
            b.u_in,
            b.dim_mask,
            t_out=b.t_out,
            target_ids=b.target_ids if symbols else None,
            target_padding=b.target_padding if symbols else None,
            skeleton_ids=b.skeleton_ids,
            skeleton_padding=b.skeleton_padding,
        )
        return prose_loss(out, b.u_out, b.dim_mask, b.target_ids, b.target_padding)

    return loss


def checkpoint_extra(
    net: ProseNetwork, tokenizer: ExpressionTokenizer, data: ProseData
) -> dict[str, Any]:
    """What a checkpoint stores beside the weights to rebuild the model and its tokenizer."""
    return {
        "prose_config": asdict(net.config),
        "tokenizer": {"max_dim": tokenizer.max_dim},
        "prose_data": {**asdict(data), "systems": list(data.systems)},
        "dims": sorted({get(name).dim for name in data.systems}),
    }


def train_prose(
    net: ProseNetwork,
    tokenizer: ExpressionTokenizer,
    data: ProseData,
    config: TrainConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    resume: bool = True,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Trains ``net`` in place on batches of :func:`batch_sampler` (see :func:`sciml.train.fit`
    for checkpoints, resume and DDP). Every variant but 2→2 leaves part of the network
    unused in some batches (the symbol encoder without a skeleton input, the symbol decoder
    of the data-only outputs); DDP is told so."""
    if tokenizer.max_dim < net.config.max_dim or len(tokenizer) != net.config.vocab_size:
        raise ValueError(
            f"the tokenizer ({len(tokenizer)} tokens, max_dim {tokenizer.max_dim}) does not "
            f"match the network (vocab_size {net.config.vocab_size}, max_dim "
            f"{net.config.max_dim})"
        )
    if data.variant != "2-2":
        config = replace(config, find_unused_parameters=True)
    return fit(
        net,
        batch_sampler(data, tokenizer, net.config.max_dim),
        batch_loss(data.variant),
        config,
        out_dir=out_dir,
        resume=resume,
        device=device,
        extra=checkpoint_extra(net, tokenizer, data),
    )
