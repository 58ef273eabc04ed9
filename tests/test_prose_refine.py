"""Refitting a predicted system's coefficients to its trajectory (sciml.prose.refine)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from sciml.prose import systems
from sciml.prose.evaluate import field_error
from sciml.prose.refine import refine_system
from sciml.prose.tokenizer import variables

U0, U1 = variables(2)


def coefficients(expr: sympy.Expr) -> dict[sympy.Expr, float]:
    return {b: float(c) for c, b in (t.as_coeff_Mul() for t in sympy.Add.make_args(expr))}


def test_clean_trajectory_gives_back_the_true_coefficients():
    traj = systems.generate("van_der_pol", 1, seed=5, noise=0.0)
    mu = traj.params[0]["mu"]
    t, u = traj.t[:64], traj.u[0, :64]
    guess = [1.05 * U1, 1.1 * U1 - 1.1 * U0**2 * U1 - 0.95 * U0]
    refined = refine_system(guess, t, u)
    c0, c1 = coefficients(refined[0]), coefficients(refined[1])
    assert c0[U1] == pytest.approx(1.0, abs=2e-4)
    assert c1[U1] == pytest.approx(mu, abs=2e-4)
    assert c1[U0**2 * U1] == pytest.approx(-mu, abs=2e-4)
    assert c1[U0] == pytest.approx(-1.0, abs=2e-4)


def test_noisy_trajectories_get_closer_fields():
    name = "damped_oscillator"
    system = systems.get(name)
    traj = systems.generate(name, 8, seed=11, noise=0.02)
    states = np.random.default_rng(0).uniform(-2.0, 2.0, (300, 2))
    before, after = [], []
    for i in range(len(traj)):
        guess = system.rhs({k: 1.08 * v for k, v in system.params.items()})
        refined = refine_system(guess, traj.t[:64], traj.u[i, :64, :2])
        true = system.vector_field(states, traj.params[i])
        before.append(field_error(guess, true, states))
        after.append(field_error(refined, true, states))
    assert np.median(after) < 0.5 * np.median(before)


def test_a_constant_term_and_a_decaying_component_are_refitted():
    t = np.linspace(0.0, 2.0, 64)
    u = np.stack([0.7 * t + 1.0, 2.0 * np.exp(-1.3 * t)], axis=1)
    refined = refine_system([sympy.Float(0.5), -sympy.Float(1.0) * U1], t, u)
    assert float(refined[0]) == pytest.approx(0.7, abs=1e-4)
    assert coefficients(refined[1])[U1] == pytest.approx(-1.3, abs=1e-3)


def test_what_cannot_be_refitted_comes_back_unchanged():
    t = np.linspace(0.0, 1.0, 20)
    u = np.stack([-1.0 - t, np.ones_like(t)], axis=1)
    not_finite = [sympy.log(U0), U1]  # log of negative states
    assert refine_system(not_finite, t, u) == not_finite
    assert refine_system(None, t, u) is None
    # more coefficients and initial values than observations
    crowded = [U0 + U1 + U0 * U1 + U0**2 + U1**2, U1]
    assert refine_system(crowded, t[:3], u[:3]) == crowded
    # a right-hand side that blows up from the observed start cannot fit better than itself
    explosive = [100.0 * U0**3, U1]
    out = refine_system(explosive, t, u)
    assert all(np.isfinite(float(c)) for e in out for c, _ in [e.as_coeff_Mul()])


@pytest.mark.parametrize(
    "t, u, message",
    [
        (np.linspace(0, 1, 10), np.zeros((10, 3)), "u must have shape"),
        (np.linspace(1, 0, 10), np.zeros((10, 2)), "strictly increasing"),
        (np.zeros((2, 5)), np.zeros((10, 2)), "strictly increasing"),
    ],
)
def test_bad_input_is_refused(t, u, message):
    with pytest.raises(ValueError, match=message):
        refine_system([U1, -U0], t, u)


def test_pretrained_predictions_refined():
    import torch

    from sciml.prose import ProseModel

    torch.set_num_threads(1)
    model = ProseModel.pretrained("prose-ode-small")
    traj = systems.generate("damped_oscillator", 3, seed=21)
    raw = model.predict_expressions(traj.t[:64], traj.u[:, :64, :2])
    refined = model.predict_expressions(traj.t[:64], traj.u[:, :64, :2], refine=True)
    assert len(refined) == 3
    for r, s in zip(raw, refined, strict=True):
        assert (r is None) == (s is None)
        if s is not None:
            assert len(s) == 2 and {x.name for e in s for x in e.free_symbols} <= {"u_0", "u_1"}
