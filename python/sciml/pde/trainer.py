"""Training a model on a problem: Adam and L-BFGS phases, resampling, checkpoints.

The loss is ``residual_weight * mean(residual²) + condition_weight * Σ_c weight_c *
mean(condition_c²)`` over collocation points drawn in the domain and on its faces (i.i.d.
uniform, or scrambled Sobol), optionally plus a penalty on the residual's lowest sine
modes (``low_modes``). Training runs in phases (e.g. Adam, then L-BFGS with a
strong-Wolfe line search); it can resample the points every k iterations (or when L-BFGS
stalls), save and resume checkpoints exactly, stop on a wall-clock budget, and records an
error curve against the problem's reference.

A loss that becomes NaN or infinite stops training: the model is restored to the last
good state (the checkpoint on disk is never overwritten with a bad one) and
:class:`TrainingDiverged` is raised, naming the iteration.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from sciml._checks import check_real
from sciml.pde.domain import Sampler, Sampling, check_sampling
from sciml.pde.problem import Fields, Problem
from sciml.train.checkpoint import load_checkpoint, save_atomic

_CHECKPOINT_KEYS = ("model", "state", "optimizer", "generator", "history")


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from: truncated, foreign, or of another model."""


def load_trainer_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> dict:
    """A checkpoint written by :class:`Trainer`, loaded into ``model`` when one is given.

    Raises:
        CheckpointError: one line saying what is wrong with the file.
    """
    try:
        saved = load_checkpoint(path)
    except (ValueError, FileNotFoundError) as e:
        raise CheckpointError(str(e)) from None
    missing = [k for k in _CHECKPOINT_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint of the PDE trainer (no {missing})")
    if model is not None:
        try:
            model.load_state_dict(saved["model"])
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise CheckpointError(f"{path} holds another model: {first}") from None
    return saved


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model holds the last good state."""


@dataclass
class Phase:
    """One optimiser run: ``"adam"`` (with exponential learning-rate decay ``gamma`` per
    iteration) or ``"lbfgs"`` (strong-Wolfe line search of up to ``max_line_search``
    evaluations, one L-BFGS iteration per step).

    An L-BFGS phase has *stalled* when three restarts from a gradient step in a row find
    no lower loss: its points are fitted as well as the line search can tell. Then
    ``on_stall="stop"`` ends the phase, and ``on_stall="resample"`` draws a new set of
    points (as the trainer samples them) and continues with a cleared L-BFGS memory.
    """

    optimizer: str
    iterations: int
    lr: float = 1e-2
    gamma: float = 1.0
    history_size: int = 50
    max_line_search: int = 25
    on_stall: str = "stop"

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}")
        if self.on_stall not in ("stop", "resample"):
            raise ValueError(f"on_stall must be 'stop' or 'resample', got {self.on_stall!r}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.max_line_search < 1:
            raise ValueError(f"max_line_search must be >= 1, got {self.max_line_search}")

    def make(self, params) -> tuple[torch.optim.Optimizer, object | None]:
        if self.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=self.lr)
            return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=self.gamma)
        opt = torch.optim.LBFGS(
            params,
            lr=self.lr,
            max_iter=1,
            # torch's default (max_iter * 5 // 4 = 1) would leave the line search no
            # evaluation beyond its first trial: a failed trial would become a zero step.
            max_eval=1 + self.max_line_search,
            history_size=self.history_size,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn="strong_wolfe",
        )
        return opt, None


@dataclass
class LbfgsStall:
    """The stall rules of an L-BFGS phase, fed the loss after each step.

    torch's L-BFGS stops moving once its memory yields a direction that is not a descent
    direction: the loss then repeats exactly. Two repeats in a row call for a restart from
    a gradient step (a cleared memory). Three restarts in a row that find no lower loss
    mean the points are fitted as well as the line search can tell (in float32, often its
    rounding): the phase has stalled. The counters travel in the checkpoint, so a resumed
    run stalls alike.
    """

    previous: float = math.nan
    repeats: int = 0
    restarts: int = 0

    def update(self, loss: float) -> tuple[bool, bool]:
        """(restart the optimiser now, the phase has stalled)."""
        if loss == self.previous:
            self.repeats += 1
        else:
            self.repeats, self.restarts = 0, 0
        self.previous = loss
        restart = self.repeats >= 2
        if restart:
            self.repeats, self.restarts = 0, self.restarts + 1
        return restart, self.restarts >= 3

    def as_state(self) -> dict:
        return {"previous_loss": self.previous, "stalled": self.repeats, "restarts": self.restarts}

    @classmethod
    def from_state(cls, state: dict) -> LbfgsStall:
        return cls(
            state.get("previous_loss", math.nan), state.get("stalled", 0), state.get("restarts", 0)
        )


@dataclass
class Record:
    """One row of the error curve."""

    iteration: int
    seconds: float
    evaluations: int
    loss: float
    rel_l2: float


@dataclass
class TrainResult:
    history: list[Record] = field(default_factory=list)
    stopped: str = "finished"

    @property
    def best_rel_l2(self) -> float:
        """The smallest measured relative L2 error (what the PIG paper's JAX code reports)."""
        values = [r.rel_l2 for r in self.history if not math.isnan(r.rel_l2)]
        return min(values, default=math.nan)

    @property
    def rel_l2(self) -> float:
        """The last measured relative L2 error (NaN if none)."""
        for r in reversed(self.history):
            if not math.isnan(r.rel_l2):
                return r.rel_l2
        return math.nan

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, stopped: str) -> TrainResult:
        """The error curve saved in a checkpoint (empty if there is none)."""
        result = cls(stopped=stopped)
        if Path(path).exists():
            saved = load_trainer_checkpoint(path)
            result.history = [Record(**r) for r in saved["history"]]
        return result

    def write_csv(self, path: str | os.PathLike) -> None:
        with open(path, "w") as f:
            f.write("iteration,seconds,evaluations,loss,rel_l2\n")
            for r in self.history:
                f.write(
                    f"{r.iteration},{r.seconds:.3f},{r.evaluations},{r.loss:.6e},{r.rel_l2:.6e}\n"
                )


class Trainer:
    """Trains ``model`` on ``problem``.

    Args:
        problem: the PDE problem.
        model: maps points (N, d) and an order to a Jet (e.g. :class:`~sciml.pde.PIG`).
        phases: optimiser phases, run in order.
        interior_points: collocation points in the domain per sample.
        condition_points: default points per condition per sample.
        resample_every: draw new points every k iterations (None: never).
        sampling: ``"uniform"`` (i.i.d.) or ``"sobol"`` (scrambled Sobol: even
            coverage, see :class:`~sciml.pde.domain.Sampler`).
        residual_weight: weight of the residual term.
        condition_weight: factor on every condition's own weight (``Condition.weight``).
        low_modes: M > 0 adds ``residual_weight * low_mode_weight * Σ_k mean(r φ_k)² /
            mean(φ_k²)`` to the loss, over the M^d products φ_k of the first M sine modes
            per axis of the box (sin(m π (x̂ + 1) / 2) on the normalised axis x̂ ∈ [-1, 1],
            m = 1..M). That is the residual's energy in those modes (its Galerkin
            projection), which the mean square already holds with weight 1, amplified by
            ``low_mode_weight``. A smooth, low-mode error e costs almost nothing in the
            mean square when the residual is dominated by high-frequency misfit (for
            Helmholtz, -Δe - k²e is small for the lowest modes), so the optimiser lets it
            drift; this penalty makes those modes stiff. 0: off.
        low_mode_weight: the amplification of the low-mode residual energy.
        eval_every: iterations between error measurements.
        time_budget: wall-clock seconds after which training stops (None: no limit).
        checkpoint: path of a checkpoint file written every ``checkpoint_every``
            iterations and at the end; training resumes from it if it exists.
        seed: seed of the point sampling.
        dtype: dtype of the sampled points (match the model's parameters). They are put
            on the model's device.
        progress: show a tqdm progress bar.
        callback: called as ``callback(record)`` after each error measurement; returning
            True stops training.
    """

    def __init__(
        self,
        problem: Problem,
        model: nn.Module,
        phases: Sequence[Phase],
        *,
        interior_points: int = 4000,
        condition_points: int = 1000,
        resample_every: int | None = None,
        sampling: Sampling = "uniform",
        residual_weight: float = 1.0,
        condition_weight: float = 1.0,
        low_modes: int = 0,
        low_mode_weight: float = 1000.0,
        eval_every: int = 50,
        time_budget: float | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 500,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
        progress: bool = True,
        callback: Callable[[Record], bool | None] | None = None,
    ) -> None:
        if time_budget is not None and not time_budget > 0:
            raise ValueError(f"time_budget must be > 0 seconds, got {time_budget!r}")
        for name, v in (("interior_points", interior_points), ("eval_every", eval_every)):
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        check_real(residual_weight, "residual_weight", 0, strict=True)
        check_real(condition_weight, "condition_weight", 0, strict=True)
        if low_modes < 0:
            raise ValueError(f"low_modes must be >= 0, got {low_modes}")
        if not low_mode_weight >= 0:
            raise ValueError(f"low_mode_weight must be >= 0, got {low_mode_weight}")
        if resample_every is not None and resample_every < 1:
            raise ValueError(f"resample_every must be >= 1 or None, got {resample_every}")
        self.problem = problem
        self.model = model
        self.phases = list(phases)
        self.interior_points = interior_points
        self.condition_points = condition_points
        self.resample_every = resample_every
        check_sampling(sampling)
        self.sampling = sampling
        self.residual_weight = residual_weight
        self.condition_weight = condition_weight
        self.low_modes = low_modes
        self.low_mode_weight = low_mode_weight
        self.eval_every = eval_every
        self.time_budget = time_budget
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.checkpoint_every = checkpoint_every
        self.seed = seed
        self.dtype = dtype
        self.progress = progress
        self.callback = callback
        self.device = _device_of(model)
        self._eval_points: tuple[Tensor, Tensor] | None = None

    # ---- loss -------------------------------------------------------------------------

    def sample(self, generator: torch.Generator) -> list[Tensor]:
        """Interior points, then each condition's points."""
        p = self.problem
        sampler = Sampler(generator, self.sampling)
        points = [p.domain.sample(self.interior_points, sampler)]
        for c in p.conditions:
            points.append(c.sample(p, c.points or self.condition_points, sampler))
        return [x.to(self.device, self.dtype) for x in points]

    def loss(self, points: list[Tensor]) -> Tensor:
        p = self.problem
        x = points[0]
        fields = Fields(x, self.model(x, order=p.order), p.domain.names)
        residual = p.check_residual(p.residual(fields), len(x))
        total = self.residual_weight * (residual**2).mean()
        if self.low_modes and self.low_mode_weight:
            total = total + self.residual_weight * self.low_mode_weight * self.low_mode_energy(
                x, residual
            )
        for c, xc in zip(p.conditions, points[1:], strict=True):
            fc = Fields(xc, self.model(xc, order=c.order), p.domain.names)
            total = total + self.condition_weight * c.weight * (c.residual(fc, p) ** 2).mean()
        return total

    def low_mode_energy(self, x: Tensor, residual: Tensor) -> Tensor:
        """Σ_k mean(r φ_k)² / mean(φ_k²) over the products φ_k of the first ``low_modes``
        sine modes per axis (see the class docstring): x (N, d), residual (N,) or (N, m);
        a scalar."""
        box = self.problem.domain
        low, high = box.low.to(x.device, x.dtype), box.high.to(x.device, x.dtype)
        t = (x - low) / (high - low)  # [0, 1]^d
        m = torch.arange(1, self.low_modes + 1, device=x.device, dtype=x.dtype)
        sines = torch.sin(math.pi * t[:, :, None] * m)  # (N, d, M)
        phi = sines[:, 0]
        for j in range(1, x.shape[1]):
            phi = (phi[:, :, None] * sines[:, j, None, :]).reshape(len(x), -1)
        r = residual.reshape(len(x), -1)
        projections = phi.T @ r / len(x)  # (M^d, m)
        return ((projections**2).sum(1) / (phi**2).mean(0)).sum()

    # ---- evaluation --------------------------------------------------------------------

    def relative_error(self) -> float:
        """Relative L2 error against the reference on the evaluation grid (NaN without
        a reference)."""
        p = self.problem
        if p.reference is None:
            return math.nan
        if self._eval_points is None:
            grid, _ = p.domain.grid(p.evaluation)
            self._eval_points = (grid.to(self.dtype), p.reference(grid.double()).double().cpu())
        grid, ref = self._eval_points
        u = predict(self.model, grid).double()
        return float((u - ref).norm() / ref.norm())

    # ---- training loop -----------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Runs the phases (resuming from the checkpoint if there is one).

        On an interruption (Ctrl-C) the last evaluated state is saved to the checkpoint
        before the ``KeyboardInterrupt`` propagates, so a later ``fit`` continues from it.
        Resuming is exact: the checkpoint holds the model, the optimiser's state (L-BFGS
        memory included), the generator state the current points were drawn from and the
        L-BFGS stall counters, so a run stopped and resumed at an evaluation ends with
        the same parameters as one never stopped (on the same device and threads).

        Raises:
            CheckpointError: the checkpoint file exists but cannot be resumed from.
            TrainingDiverged: the loss became non-finite.
        """
        generator = torch.Generator().manual_seed(self.seed)
        result = TrainResult()
        state = {"phase": 0, "iteration": 0, "evaluations": 0, "seconds": 0.0}
        optimizer_state = None
        if self.checkpoint is not None and self.checkpoint.exists():
            saved = load_trainer_checkpoint(self.checkpoint, self.model)
            state = saved["state"]
            optimizer_state = saved["optimizer"]
            generator.set_state(saved["generator"])
            result.history = [Record(**r) for r in saved["history"]]

        done_before = sum(ph.iterations for ph in self.phases[: state["phase"]])
        bar = _Progress(self, done_before + state["iteration"], state["seconds"])
        start = time.perf_counter() - state["seconds"]
        # The checkpoint keeps the generator state the current points were drawn from:
        # resuming draws the very same points, and the generator continues as it would have.
        drawn_from = generator.get_state()
        good = self._snapshot(state, None, drawn_from, result)
        points = self.sample(generator)
        current = None
        try:
            for phase_index in range(state["phase"], len(self.phases)):
                phase = self.phases[phase_index]
                optimizer, scheduler = phase.make(self.model.parameters())
                current = (optimizer, scheduler)
                if optimizer_state is not None and phase_index == state["phase"]:
                    optimizer.load_state_dict(optimizer_state["optimizer"])
                    if scheduler is not None and optimizer_state["scheduler"] is not None:
                        scheduler.load_state_dict(optimizer_state["scheduler"])
                resumed = phase_index == state["phase"]
                first = state["iteration"] if resumed else 0
                stall = LbfgsStall.from_state(state) if resumed else LbfgsStall()
                state.update(phase=phase_index, iteration=first)
                for it in range(first, phase.iterations):
                    if self.resample_every and it > 0 and it % self.resample_every == 0:
                        drawn_from = generator.get_state()
                        points = self.sample(generator)
                        if phase.optimizer == "lbfgs":
                            # Curvature pairs from the old points would mislead the new ones.
                            optimizer.state.clear()
                    loss, evals = self._step(optimizer, points)
                    if scheduler is not None:
                        scheduler.step()
                    stuck = False
                    if phase.optimizer == "lbfgs":
                        restart, stuck = stall.update(loss)
                        if stuck and phase.on_stall == "resample":
                            drawn_from = generator.get_state()
                            points = self.sample(generator)
                            stall, stuck, restart = LbfgsStall(), False, True
                        if restart:
                            optimizer.state.clear()
                    state.update(stall.as_state())
                    state["evaluations"] += evals
                    state["iteration"] = it + 1
                    if not math.isfinite(loss):
                        self._restore(good)
                        raise TrainingDiverged(
                            f"the loss became {loss} at iteration {it + 1} of phase "
                            f"{phase_index} ({phase.optimizer}); the model was restored to "
                            f"iteration {good['state']['iteration']} of phase "
                            f"{good['state']['phase']}, the last good state"
                        )
                    elapsed = time.perf_counter() - start
                    bar.step(elapsed)
                    last = it + 1 == phase.iterations
                    over_budget = self.time_budget is not None and elapsed >= self.time_budget
                    if (it + 1) % self.eval_every == 0 or last or over_budget or stuck:
                        iteration = it + 1 + sum(ph.iterations for ph in self.phases[:phase_index])
                        record = Record(
                            iteration, elapsed, state["evaluations"], loss, self.relative_error()
                        )
                        result.history.append(record)
                        bar.show(record)
                        state["seconds"] = elapsed
                        good = self._snapshot(state, (optimizer, scheduler), drawn_from, result)
                        if self.callback is not None and self.callback(record):
                            result.stopped = "stopped by the callback"
                            return result
                    if self.checkpoint is not None and (it + 1) % self.checkpoint_every == 0:
                        self._save(good)
                    if over_budget:
                        result.stopped = f"time budget of {self.time_budget:g} s reached"
                        return result
                    if stuck:
                        if phase_index + 1 == len(self.phases):
                            result.stopped = (
                                f"L-BFGS stalled at iteration {it + 1}: three restarts found "
                                "no lower loss"
                            )
                        break
                if phase_index + 1 < len(self.phases):
                    state.update(phase=phase_index + 1, iteration=0, **LbfgsStall().as_state())
                optimizer_state = None
            # The checkpoint now says "last phase, all its iterations done": resuming with
            # more iterations continues that phase.
            good = self._snapshot(state, current, drawn_from, result)
            return result
        finally:
            bar.close()
            if self.checkpoint is not None:
                self._save(good)

    def _step(self, optimizer: torch.optim.Optimizer, points: list[Tensor]) -> tuple[float, int]:
        evaluations = 0

        def closure() -> Tensor:
            nonlocal evaluations
            evaluations += 1
            optimizer.zero_grad()
            loss = self.loss(points)
            loss.backward()
            return loss

        loss = optimizer.step(closure)
        return float(loss.detach()), evaluations

    def _snapshot(self, state, optim, generator_state: Tensor, result) -> dict:
        """Everything a resumed run needs; ``generator_state`` is the point generator's
        state before the current points were drawn."""
        optimizer, scheduler = optim if optim is not None else (None, None)
        return {
            "model": copy.deepcopy(self.model.state_dict()),
            "state": dict(state),
            "optimizer": None
            if optimizer is None
            else {
                "optimizer": copy.deepcopy(optimizer.state_dict()),
                "scheduler": None if scheduler is None else scheduler.state_dict(),
            },
            "generator": generator_state.clone(),
            "history": [asdict(r) for r in result.history],
        }

    def _restore(self, snapshot: dict) -> None:
        self.model.load_state_dict(snapshot["model"])

    def _save(self, snapshot: dict) -> None:
        save_atomic(snapshot, self.checkpoint)


class _Progress:
    """The progress bar: over the iterations or, when there is a time budget, over its
    seconds (the preset's iterations would promise an end the budget comes before)."""

    def __init__(self, trainer: Trainer, iterations_done: int, seconds: float) -> None:
        self.budget = trainer.time_budget
        common = {"desc": trainer.problem.name, "disable": not trainer.progress}
        if self.budget is None:
            total = sum(ph.iterations for ph in trainer.phases)
            self.bar = tqdm(total=total, initial=iterations_done, unit="it", **common)
        else:
            self.bar = tqdm(
                total=self.budget,
                initial=min(seconds, self.budget),
                unit="s",
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]",
                **common,
            )

    def step(self, elapsed: float) -> None:
        if self.budget is None:
            self.bar.update(1)
        else:
            self.bar.update(min(elapsed, self.budget) - self.bar.n)

    def show(self, record: Record) -> None:
        self.bar.set_postfix(
            it=record.iteration, loss=f"{record.loss:.2e}", rel_l2=f"{record.rel_l2:.2e}"
        )

    def close(self) -> None:
        self.bar.close()


def predict(model: nn.Module, points: Tensor, batch: int | None = None) -> Tensor:
    """u at the points (N, d), (N,) on the CPU, without gradients, in batches on the
    model's device (default 65536 points a batch on the CPU, 8192 elsewhere, where the
    Gaussian embedding is dense)."""
    device = _device_of(model)
    batch = batch or (65536 if device.type == "cpu" else 8192)
    with torch.no_grad():
        return torch.cat(
            [
                model(points[i : i + batch].to(device)).value[:, 0].cpu()
                for i in range(0, len(points), batch)
            ]
        )


def _device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU if it has none)."""
    for t in (*model.parameters(), *model.buffers()):
        return t.device
    return torch.device("cpu")
