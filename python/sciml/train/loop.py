"""The training loop shared by the trained models (PFN, PROSE, time series, graph models).

A model is trained by a sampler and a loss: ``sample(generator) -> batch`` draws one
micro-batch, ``loss(model, batch) -> scalar`` scores it. Each micro-batch's generator is
seeded from (seed, rank, step, micro-batch), so a run is reproducible, each DDP rank draws
its own data, and resuming from a checkpoint continues the very same run: the checkpoint
needs only the model, optimiser, schedule and step (and, with a validation hook, the best
weights so far and the early-stopping counters).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from tqdm.auto import tqdm

from sciml.train.checkpoint import load_checkpoint, save_atomic
from sciml.train.distributed import DistInfo, dist_info
from sciml.train.schedule import warmup_cosine

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Optimisation settings.

    Args:
        steps: optimiser steps in all.
        lr: peak learning rate of AdamW.
        weight_decay: AdamW's decoupled weight decay (not on the parameters a model names
            in ``no_weight_decay()``).
        betas: AdamW's betas.
        warmup_steps: linear warmup; None: a tenth of ``steps``.
        min_lr_ratio: the cosine ends at this fraction of ``lr``.
        grad_clip: clip the global gradient norm to this (None: no clipping).
        accumulate: micro-batches per step (gradient accumulation).
        checkpoint_every: write a checkpoint every this many steps (and at the end).
        log_every: record the mean loss every this many steps.
        seed: seeds initial weights (when the caller builds the model under
            :func:`seed_everything`) and every micro-batch.
        progress: show a progress bar (on rank 0).
        validate_every: with a ``validate`` hook given to :func:`fit`, score the model every
            this many steps (and after the last step); None: after the last step only.
        patience: stop early after this many validations in a row without a better score
            (None: never stop early; the best weights are still restored).
        restore_best: with a ``validate`` hook, end with the weights of the best validation.
        find_unused_parameters: under DDP, allow micro-batches that leave some parameters
            without a gradient (e.g. a network with an optional input); costs a pass over
            the autograd graph each step.
    """

    steps: int
    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int | None = None
    min_lr_ratio: float = 0.0
    grad_clip: float | None = 1.0
    accumulate: int = 1
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0
    progress: bool = True
    validate_every: int | None = None
    patience: int | None = None
    restore_best: bool = True
    find_unused_parameters: bool = False

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "accumulate",
            "checkpoint_every",
            "log_every",
            "validate_every",
            "patience",
        ):
            value = getattr(self, name)
            if value is None and name in ("validate_every", "patience"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if self.warmup_steps is not None and not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"warmup_steps must be in [0, steps], got {self.warmup_steps!r}")
        self.betas = tuple(self.betas)  # a checkpoint's JSON-like copy stores a list

    @property
    def warmup(self) -> int:
        return self.steps // 10 if self.warmup_steps is None else self.warmup_steps


@dataclass
class TrainResult:
    """What a run did: the last step reached and the loss record ({"step", "loss", "lr"}).

    With a validation hook: ``validations`` ({"step", "score"} per validation), the best
    score and its step, and whether ``patience`` stopped the run before ``config.steps``.
    """

    step: int
    history: list[dict[str, float]] = field(default_factory=list)
    validations: list[dict[str, float]] = field(default_factory=list)
    best_step: int | None = None
    best_score: float | None = None
    stopped_early: bool = False

    @property
    def last_loss(self) -> float:
        return self.history[-1]["loss"] if self.history else math.nan


def seed_everything(seed: int) -> None:
    """Seeds torch's global generator (weights initialised after this are reproducible)."""
    torch.manual_seed(seed)


def micro_batch_seed(seed: int, rank: int, step: int, micro: int) -> int:
    """A distinct 63-bit seed for each (run seed, rank, step, micro-batch)."""
    h = seed & 0xFFFFFFFF
    for part in (rank, step, micro):
        h = (h * 0x9E3779B97F4A7C15 + part + 1) & 0x7FFFFFFFFFFFFFFF
        h ^= h >> 29
    return h


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def fit(
    model: nn.Module,
    sample: Callable[[torch.Generator], Any],
    loss: Callable[[nn.Module, Any], Tensor],
    config: TrainConfig,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = True,
    device: str | torch.device = "cpu",
    extra: dict[str, Any] | None = None,
    validate: Callable[[nn.Module], float] | None = None,
) -> TrainResult:
    """Trains ``model`` in place with AdamW under warmup + cosine.

    Launched by ``torchrun --nproc-per-node N``, each process trains one DDP replica on its
    own samples (gradients averaged across processes), and rank 0 writes checkpoints.

    Args:
        model: the module to train (moved to ``device``).
        sample: draws one micro-batch (tensors, or tuples/dicts of them) from the
            generator it is given; it is moved to the device.
        loss: the scalar loss of ``model`` on a micro-batch.
        config: the optimisation settings.
        out_dir: where ``checkpoint.pt`` goes (None: no checkpoints).
        resume: continue from ``out_dir/checkpoint.pt`` when it exists.
        device: torch device (under torchrun with CUDA, each rank takes its local GPU).
        extra: stored in each checkpoint under "extra" (e.g. the model's configuration).
        validate: scores the model (higher is better; called in eval mode without gradients,
            every ``config.validate_every`` steps and after the last one). The best weights
            are kept (and restored at the end with ``config.restore_best``), and
            ``config.patience`` validations without improvement stop the run. A NaN score
            never counts as an improvement.

    Raises:
        FloatingPointError: the loss became NaN or infinite (the last checkpoint stays).
        KeyboardInterrupt: after writing a checkpoint of the last finished step.
    """
    info = dist_info(device)
    model.to(info.device)
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, config.weight_decay), lr=config.lr, betas=config.betas
    )
    scheduler = warmup_cosine(optimizer, config.warmup, config.steps, config.min_lr_ratio)
    result = TrainResult(step=0)
    best: dict[str, Any] = {"state": None, "bad": 0}
    path = Path(out_dir) / CHECKPOINT if out_dir is not None else None
    if resume and path is not None and path.is_file():
        result, best = _resume(path, model, optimizer, scheduler)
    replica = (
        nn.parallel.DistributedDataParallel(
            model, device_ids=None, find_unused_parameters=config.find_unused_parameters
        )
        if info.world_size > 1
        else model
    )

    def save() -> None:
        if path is not None and info.is_main:
            save_atomic(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": result.step,
                    "history": result.history,
                    "config": {**asdict(config), "betas": list(config.betas)},
                    "world_size": info.world_size,
                    "extra": extra or {},
                    "validation": {
                        "history": result.validations,
                        "best_step": result.best_step,
                        "best_score": result.best_score,
                        "stopped_early": result.stopped_early,
                        "bad": best["bad"],
                        "best_state": best["state"],
                    },
                },
                path,
            )

    def check(step: int) -> None:
        assert validate is not None
        score = _validate(model, validate)
        result.validations.append({"step": step, "score": score})
        if result.best_score is None or score > result.best_score:
            result.best_score, result.best_step = score, step
            best["state"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best["bad"] = 0
        else:
            best["bad"] += 1
        if config.patience is not None and best["bad"] >= config.patience:
            result.stopped_early = True

    bar = tqdm(
        total=config.steps,
        initial=result.step,
        disable=not (config.progress and info.is_main),
        desc="training",
        dynamic_ncols=True,
    )
    running, count = 0.0, 0
    replica.train()
    try:
        while result.step < config.steps and not result.stopped_early:
            value = _step(replica, sample, loss, optimizer, config, info, result.step)
            scheduler.step()
            result.step += 1
            running, count = running + value, count + 1
            bar.update(1)
            last = result.step == config.steps
            every = config.validate_every
            if validate is not None and (last or (every is not None and result.step % every == 0)):
                check(result.step)
            if result.step % config.log_every == 0 or last or result.stopped_early:
                mean = _mean_across_ranks(running / count, info)
                lr = scheduler.get_last_lr()[0]
                result.history.append({"step": result.step, "loss": mean, "lr": lr})
                shown = {"loss": f"{mean:.4f}", "lr": f"{lr:.2e}"}
                if result.best_score is not None:
                    shown["val_best"] = f"{result.best_score:.4f}"
                bar.set_postfix(shown)
                running, count = 0.0, 0
            if result.step % config.checkpoint_every == 0 or last or result.stopped_early:
                save()
    except KeyboardInterrupt:
        save()
        raise
    finally:
        bar.close()
    if validate is not None and config.restore_best and best["state"] is not None:
        model.load_state_dict(best["state"])
    return result


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW's groups: the parameters named by ``model.no_weight_decay()`` (timm's
    convention; e.g. embeddings regularised in the loss) get no decoupled weight decay."""
    exempt = set(getattr(model, "no_weight_decay", lambda: ())())
    decay, free = [], []
    for name, p in model.named_parameters():
        (free if name in exempt else decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if free:
        groups.append({"params": free, "weight_decay": 0.0})
    return groups


def _validate(model: nn.Module, validate: Callable[[nn.Module], float]) -> float:
    """``validate(model)`` in eval mode without gradients, as a float (NaN: -inf)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            score = float(validate(model))
    finally:
        model.train(was_training)
    return -math.inf if math.isnan(score) else score


def _resume(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> tuple[TrainResult, dict[str, Any]]:
    """Loads a checkpoint of this loop into model, optimiser and schedule; returns the run
    so far and the early-stopping state ({"state": best weights or None, "bad": count})."""
    state = load_checkpoint(path)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        val = state.get("validation") or {}
        result = TrainResult(
            step=int(state["step"]),
            history=list(state["history"]),
            validations=list(val.get("history", [])),
            best_step=val.get("best_step"),
            best_score=val.get("best_score"),
            stopped_early=bool(val.get("stopped_early", False)),
        )
        return result, {"state": val.get("best_state"), "bad": int(val.get("bad", 0))}
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise ValueError(
            f"{path} does not continue this run (another model or another program wrote "
            f"it: {type(e).__name__}: {e}); start afresh with resume=False or another out_dir"
        ) from e


def _step(
    replica: nn.Module,
    sample: Callable[[torch.Generator], Any],
    loss: Callable[[nn.Module, Any], Tensor],
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    info: DistInfo,
    step: int,
) -> float:
    """One optimiser step over ``config.accumulate`` micro-batches; returns the mean loss."""
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for micro in range(config.accumulate):
        seed = micro_batch_seed(config.seed, info.rank, step, micro)
        generator = torch.Generator().manual_seed(seed)
        batch = _to_device(sample(generator), info.device)
        torch.manual_seed(seed)  # dropout, reproducibly
        last = micro == config.accumulate - 1
        sync = getattr(replica, "no_sync", None)
        with sync() if (sync is not None and not last) else nullcontext():
            value = loss(replica, batch)
            if not torch.isfinite(value):
                raise FloatingPointError(
                    f"the loss is {value.item()} at step {step + 1} (micro-batch {micro}); "
                    "lower the learning rate or check the data"
                )
            (value / config.accumulate).backward()
        total += value.item()
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(replica.parameters(), config.grad_clip)
    optimizer.step()
    return total / config.accumulate


def _mean_across_ranks(value: float, info: DistInfo) -> float:
    if info.world_size == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.item() / info.world_size
