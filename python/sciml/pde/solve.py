"""``solve``: train a model on a named benchmark problem and write its results.

Writes into the output directory, in this order (so that a failure late never loses
what came before): ``checkpoint.pt`` (model and training state; ``resume=True``
continues from it), ``error_curve.csv``, ``prediction.vtu`` (+ the time series for
time-dependent problems) and ``prediction.png``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sciml.pde.models import PIG, PINN
from sciml.pde.output import write_results
from sciml.pde.presets import Preset, get_preset
from sciml.pde.problem import Problem
from sciml.pde.problems import get_problem
from sciml.pde.trainer import CheckpointError, Trainer, TrainingDiverged, TrainResult


class SolveError(RuntimeError):
    """A problem with the request (unknown problem, unwritable directory, ...)."""


@dataclass
class SolveResult:
    problem: str
    model: str
    preset: str
    rel_l2: float
    seconds: float
    iterations: int
    evaluations: int
    stopped: str
    out: Path
    paper_rel_l2: float | None = None
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Everything that went wrong after training (the files before it are kept)."""

    @property
    def complete(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        paper = f" (paper: {self.paper_rel_l2:.2e})" if self.paper_rel_l2 else ""
        lines = [
            f"{self.problem} / {self.model} / {self.preset}: relative L2 error "
            f"{self.rel_l2:.3e}{paper} after {self.iterations} iterations, "
            f"{self.evaluations} loss evaluations, {self.seconds:.1f} s ({self.stopped})",
            f"wrote {', '.join(str(f.name) for f in self.files)} to {self.out}/",
        ]
        lines += [f"warning: {p}" for p in self.problems]
        return "\n".join(lines)


def build_model(
    problem: Problem, model: str, preset: Preset, seed: int, device: torch.device
) -> torch.nn.Module:
    if model == "pig":
        net = PIG(problem.domain, seed=seed, **preset.model)
    elif model == "pinn":
        net = PINN(problem.domain, seed=seed, **preset.model)
    else:
        raise SolveError(f"unknown model {model!r}; use 'pig' or 'pinn'")
    return net.to(device, preset.dtype)


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".sciml-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise SolveError(f"cannot write to output directory {out}: {e.strerror or e}") from e


def solve(
    problem: str,
    *,
    model: str = "pig",
    preset: str = "quick",
    iterations: int | None = None,
    time_budget: float | None = None,
    seed: int = 0,
    out: str | Path = "out",
    resume: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
    picture: bool = True,
) -> SolveResult:
    """Trains ``model`` ("pig" or "pinn") on the named problem with a preset ("quick" or
    "paper"), optionally overriding its iterations (all phases scaled together) and time
    budget, and writes the results into ``out``. ``device`` is where training runs (e.g.
    ``"cuda"``; off the CPU the Gaussian embedding is computed densely in torch)."""
    try:
        prob = get_problem(problem)
        config = get_preset(problem, model, preset)
    except ValueError as e:
        raise SolveError(str(e)) from None
    if time_budget is not None and not time_budget > 0:
        raise SolveError(f"the time budget must be > 0 seconds, got {time_budget}")
    if iterations is not None and iterations < 1:
        raise SolveError(f"iterations must be >= 1, got {iterations}")
    try:
        device = torch.device(device)
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as e:
        raise SolveError(f"cannot use device {str(device)!r}: {e}") from None
    out = Path(out)
    _writable(out)
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not resume:
        checkpoint.unlink()

    net = build_model(prob, model, config, seed, device)
    phases = config.scaled_phases(iterations)
    trainer = Trainer(
        prob,
        net,
        phases,
        time_budget=time_budget if time_budget is not None else config.time_budget,
        checkpoint=checkpoint,
        seed=seed,
        dtype=config.dtype,
        progress=progress,
        **config.trainer,
    )
    started = time.perf_counter()
    threads = torch.get_num_threads()
    problems = []
    try:
        # PIG's MLP is tiny; torch's own threads would only fight the Rust kernel's.
        torch.set_num_threads(config.torch_threads or threads)
        try:
            history = trainer.fit()
        except CheckpointError as e:
            raise SolveError(
                f"cannot resume: {e}. Delete it, or run without --resume to start afresh"
            ) from None
        except TrainingDiverged as e:
            history = TrainResult.from_checkpoint(checkpoint, stopped="diverged")
            problems.append(str(e))
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - started

    solution, files, late = write_results(prob, net, history, out, picture)
    problems += late
    last = history.history[-1] if history.history else None
    return SolveResult(
        problem=problem,
        model=model,
        preset=preset,
        rel_l2=solution.rel_l2,
        seconds=seconds,
        iterations=last.iteration if last else 0,
        evaluations=last.evaluations if last else 0,
        stopped=history.stopped,
        out=out,
        paper_rel_l2=config.paper_rel_l2,
        files=[checkpoint, *files],
        problems=problems,
    )
