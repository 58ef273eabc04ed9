"""Training presets per (problem, model): "quick" (a minute or so on a laptop CPU) and
"paper" (the PIG paper's settings, scaled down only where stated)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from sciml.pde.trainer import Phase


@dataclass(frozen=True)
class Preset:
    phases: tuple[Phase, ...]
    model: dict = field(default_factory=dict)
    trainer: dict = field(default_factory=dict)
    time_budget: float | None = None
    dtype: torch.dtype = torch.float32
    torch_threads: int | None = None
    paper_rel_l2: float | None = None
    note: str = ""

    def scaled_phases(self, iterations: int | None) -> list[Phase]:
        """The phases, with their iterations rescaled to total ``iterations``."""
        if iterations is None:
            return list(self.phases)
        total = sum(p.iterations for p in self.phases)
        scaled = [
            replace(p, iterations=max(1, round(p.iterations * iterations / total)))
            for p in self.phases
        ]
        scaled[-1] = replace(
            scaled[-1], iterations=max(1, iterations - sum(p.iterations for p in scaled[:-1]))
        )
        return scaled


# The PIG paper's model for every problem: 4 channels, a 4 -> 16 -> 1 tanh MLP.
_PIG_PAPER = {"num_gaussians": 800, "channels": 4, "hidden": (16,), "sigma0": 0.1}
_PINN = {"hidden": (64, 64, 64, 64)}

PRESETS: dict[tuple[str, str, str], Preset] = {
    ("poisson", "pig", "quick"): Preset(
        phases=(Phase("adam", 1500, lr=1e-2, gamma=0.999),),
        model={"num_gaussians": 200, "sigma0": 0.2},
        trainer={
            "interior_points": 2000,
            "condition_points": 400,
            "resample_every": 1,
            "residual_weight": 1e-3,
        },
        torch_threads=1,
    ),
    ("poisson", "pinn", "quick"): Preset(
        phases=(Phase("adam", 3000, lr=1e-3, gamma=0.999),),
        model=_PINN,
        trainer={
            "interior_points": 2000,
            "condition_points": 400,
            "resample_every": 1,
            "residual_weight": 1e-3,
        },
    ),
    ("helmholtz", "pig", "quick"): Preset(
        phases=(Phase("lbfgs", 2000, lr=1.0),),
        model=_PIG_PAPER,
        trainer={
            "interior_points": 4000,
            "condition_points": 1000,
            "resample_every": 100,
            "residual_weight": 1e-4,
            "eval_every": 25,
        },
        time_budget=60.0,
        torch_threads=1,
        paper_rel_l2=4.13e-5,
    ),
    ("helmholtz", "pig", "paper"): Preset(
        phases=(Phase("adam", 60000, lr=1e-2, gamma=0.9995),),
        model=_PIG_PAPER,
        trainer={
            "interior_points": 10000,
            "condition_points": 10000,
            "resample_every": 1,
            "residual_weight": 1e-4,
            "eval_every": 250,
        },
        torch_threads=1,
        paper_rel_l2=4.13e-5,
    ),
    ("helmholtz", "pinn", "quick"): Preset(
        phases=(Phase("adam", 3000, lr=1e-3, gamma=0.999),),
        model=_PINN,
        trainer={
            "interior_points": 4000,
            "condition_points": 1000,
            "resample_every": 1,
            "residual_weight": 1e-4,
        },
        time_budget=60.0,
    ),
}


def _space_time(paper_model: dict, paper_points: int, iterations: int, paper_rel_l2: float):
    """quick and paper presets for the space-time problems (Adam, resampling every step,
    as the paper); quick keeps the paper's model and stops after two minutes."""
    trainer = {
        "interior_points": paper_points,
        "condition_points": 1000,
        "resample_every": 1,
        "eval_every": 100,
    }
    adam = Phase("adam", iterations, lr=1e-2, gamma=0.9999)
    return {
        ("pig", "quick"): Preset(
            (adam,),
            paper_model,
            trainer,
            time_budget=120.0,
            torch_threads=1,
            paper_rel_l2=paper_rel_l2,
        ),
        ("pig", "paper"): Preset(
            (adam,), paper_model, trainer, torch_threads=1, paper_rel_l2=paper_rel_l2
        ),
        ("pinn", "quick"): Preset(
            (Phase("adam", iterations, lr=1e-3, gamma=0.9999),), _PINN, trainer, time_budget=120.0
        ),
    }


# Klein–Gordon: the paper's script uses 16³ collocation points, 100 Gaussians per channel
# with sigma 0.5 (grid range 2), Adam lr 1e-2 for 50001 epochs.
for (model, preset), p in _space_time(
    {"num_gaussians": 100, "channels": 4, "hidden": (16,), "sigma0": 0.5}, 16**3, 50001, 2.76e-3
).items():
    PRESETS[("klein_gordon", model, preset)] = p
# Flow mixing: 30³ collocation points, 4000 Gaussians per channel with sigma 0.1, Adam lr 1e-2
# for 50000 epochs.
for (model, preset), p in _space_time(
    {"num_gaussians": 4000, "channels": 4, "hidden": (16,), "sigma0": 0.1}, 30**3, 50000, 4.51e-4
).items():
    PRESETS[("flow_mixing", model, preset)] = p


def get_preset(problem: str, model: str, preset: str) -> Preset:
    """The preset, or a ValueError naming what exists."""
    key = (problem, model, preset)
    if key in PRESETS:
        return PRESETS[key]
    known = sorted({f"{m}/{p}" for (pr, m, p) in PRESETS if pr == problem})
    raise ValueError(
        f"no preset {preset!r} for model {model!r} on problem {problem!r}"
        + (f"; available: {', '.join(known)}" if known else "")
    )
