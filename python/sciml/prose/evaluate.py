"""The paper's evaluation protocol for a trained PROSE model, on fresh trajectories.

192 points on [0, 6]; the first 64 (t < 2), with 2% noise, are the input; the remaining 128
are predicted and compared with the clean solution (relative L2 error per trajectory, all
components). Predicted equations are scored by their vector field: the relative L2 error of
f_pred against the true f (the trajectory's own parameters) over states drawn uniformly in
the system's initial-condition box, beside the error the family's reference parameters alone
would give (a model must read the constants from the data to beat it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from sciml.prose.batch import N_INPUT
from sciml.prose.estimator import ProseModel
from sciml.prose.refine import compile_expressions, refine_system
from sciml.prose.systems import Trajectories, generate, get

N_STATES = 500
"""States per trajectory at which vector fields are compared."""


def relative_l2(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per trajectory ||pred - true|| / ||true|| over all times and components: (n,)."""
    axes = tuple(range(1, true.ndim))
    return np.sqrt(((pred - true) ** 2).sum(axes) / (true**2).sum(axes))


def field_error(
    system: list[sympy.Expr] | None, true_field: np.ndarray, states: np.ndarray
) -> float:
    """Relative L2 error of ``system``'s vector field at ``states`` (M, d) against
    ``true_field`` (M, d); inf for None or a field that is not finite there."""
    if system is None:
        return float("inf")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            pred = compile_expressions(system, states.shape[1])(states.T)
    except Exception:  # an expression numpy cannot evaluate counts as wrong, not as a crash
        return float("inf")
    if not np.isfinite(pred).all():
        return float("inf")
    return float(np.linalg.norm(pred.T - true_field) / np.linalg.norm(true_field))


def _states(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    box = np.array(get(name).ic_box)
    return box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((n, len(box)))


def evaluate_system(
    model: ProseModel,
    traj: Trajectories,
    *,
    skeletons: bool = False,
    beam_size: int = 1,
    seed: int = 0,
    refine: bool = False,
) -> dict[str, Any]:
    """The figures of one system's trajectories (all of one name)."""
    name = traj.names[0]
    d = int(traj.dims[0])
    rng = np.random.default_rng(seed)
    t_in, u_in = traj.t[:N_INPUT], traj.u[:, :N_INPUT, :d]
    skel = None
    if skeletons:
        from sciml.prose.skeleton import skeleton_noise

        tok = model.tokenizer
        skel = [skeleton_noise(tok.skeleton(traj.expressions(i)), rng) for i in range(len(traj))]
    pred = model.predict(t_in, u_in, traj.t[N_INPUT:], skeletons=skel)
    data_err = relative_l2(pred, traj.u_clean[:, N_INPUT:, :d])
    exprs = model.predict_expressions(t_in, u_in, skeletons=skel, beam_size=beam_size)
    refined = [refine_system(s, t_in, u_in[i]) for i, s in enumerate(exprs)] if refine else []
    system = get(name)
    field_errs, refined_errs, reference_errs = [], [], []
    for i, predicted in enumerate(exprs):
        states = _states(name, N_STATES, rng)
        true = system.vector_field(states, traj.params[i])
        field_errs.append(field_error(predicted, true, states))
        if refine:
            refined_errs.append(field_error(refined[i], true, states))
        reference = system.vector_field(states)
        reference_errs.append(float(np.linalg.norm(reference - true) / np.linalg.norm(true)))
    valid = np.mean([e is not None for e in exprs])
    extra = {"refined_field_rel_l2_median": float(np.median(refined_errs))} if refine else {}
    return {
        "trajectories": len(traj),
        "data_rel_l2_mean": float(data_err.mean()),
        "data_rel_l2_median": float(np.median(data_err)),
        "symbols_valid": float(valid),
        "field_rel_l2_median": float(np.median(field_errs)),
        **extra,
        "reference_params_field_rel_l2_median": float(np.median(reference_errs)),
    }


def evaluate(
    model: ProseModel,
    systems: Sequence[str],
    n: int = 100,
    seed: int = 12345,
    *,
    skeletons: bool = False,
    beam_size: int = 1,
    noise: float = 0.02,
    refine: bool = False,
) -> dict[str, Any]:
    """Figures per system and over all (data error means over every trajectory), on ``n``
    fresh trajectories per system drawn from ``seed``."""
    table: dict[str, Any] = {}
    errors = []
    for k, name in enumerate(systems):
        traj = generate(name, n, seed=seed + k, noise=noise)
        table[name] = evaluate_system(
            model, traj, skeletons=skeletons, beam_size=beam_size, seed=seed + k, refine=refine
        )
        errors.append(table[name]["data_rel_l2_mean"])
    table["all"] = {
        "data_rel_l2_mean": float(np.mean(errors)),
        "symbols_valid": float(np.mean([table[s]["symbols_valid"] for s in systems])),
    }
    return table
