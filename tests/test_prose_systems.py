"""Tests for sciml.prose.systems, integrate and skeleton: the reference systems, the batched RK4
generator against scipy's solve_ivp, noise, rejection, and the skeleton noise."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

from sciml.prose import ExpressionTokenizer, generate, rk4, round_significant, skeleton_noise
from sciml.prose import systems as S
from sciml.prose.skeleton import candidate_terms, terms
from sciml.prose.tokenizer import PLACEHOLDER, variables

torch.set_num_threads(1)

# The reference code's values (felix-lyx/prose, prose_ode/symbolicregression/envs/generators.py)
# and the issue's for the three non-chaotic families.
REFERENCE_PARAMS = {
    "thomas": {"b": 0.17},
    "lorenz": {"sigma": 10.0, "beta": 8 / 3, "rho": 28.0},
    "aizawa": {"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "f": 0.1},
    "chen_lee": {"a": 5.0, "d": -0.38},
    "dadras": {"a": 1.25, "b": 1.15, "c": 0.75, "d": 0.8, "e": 4.0},
    "rossler": {"a": 0.1, "b": 0.1, "c": 14.0},
    "halvorsen": {"a": -0.35},
    "rabinovich_fabrikant": {"alpha": -1.96, "gamma": 0.1},
    "sprott_b": {"a": 0.4, "b": 1.2, "c": 1.0},
    "sprott_linz_f": {"a": 0.5},
    "four_wing": {"a": 0.2, "b": 0.01, "c": -0.4},
    "duffing": {"alpha": -1.0, "beta": -5.0, "gamma": 8.0, "delta": -0.02, "omega": 0.5},
    "lorenz96_4d": {"F": 8.0},
    "lorenz96_5d": {"F": 8.0},
    "double_pendulum": {"g": 9.81, "l": 1.0},
    "damped_oscillator": {"k": 4.0, "c": 0.4},
    "van_der_pol": {"mu": 1.0},
    "lotka_volterra": {"a": 1.0, "b": 0.5, "c": 1.0, "d": 0.5},
}


def _lorenz96(u, p):
    d = len(u)
    return [(u[(i + 1) % d] - u[i - 2]) * u[i - 1] - u[i] + p["F"] for i in range(d)]


def _double_pendulum(u, p):
    t1, t2, w1, w2 = u
    g_l = p["g"] / p["l"]
    den = 3 - np.cos(2 * (t1 - t2))
    return [
        w1,
        w2,
        (
            -3 * g_l * np.sin(t1)
            - g_l * np.sin(t1 - 2 * t2)
            - 2 * np.sin(t1 - t2) * (w2 * w2 + w1 * w1 * np.cos(t1 - t2))
        )
        / den,
        np.sin(t1 - t2) * (4 * w1 * w1 + 4 * g_l * np.cos(t1) + w2 * w2 * np.cos(t1 - t2)) / den,
    ]


# The vector fields in the reference code's (factored) form, u (d, m) -> list of d arrays.
REFERENCE_FIELDS = {
    "thomas": lambda u, p: [np.sin(u[(i + 1) % 3]) - p["b"] * u[i] for i in range(3)],
    "lorenz": lambda u, p: [
        p["sigma"] * (u[1] - u[0]),
        u[0] * (p["rho"] - u[2]) - u[1],
        u[0] * u[1] - p["beta"] * u[2],
    ],
    "aizawa": lambda u, p: [
        (u[2] - p["b"]) * u[0] - p["d"] * u[1],
        p["d"] * u[0] + (u[2] - p["b"]) * u[1],
        p["c"] + p["a"] * u[2] - u[2] ** 3 / 3 - u[0] ** 2 + p["f"] * u[2] * u[0] ** 3,
    ],
    "chen_lee": lambda u, p: [
        p["a"] * u[0] - u[1] * u[2],
        -10.0 * u[1] + u[0] * u[2],
        p["d"] * u[2] + u[0] * u[1] / 3,
    ],
    "dadras": lambda u, p: [
        0.5 * u[1] - p["a"] * u[0] + p["b"] * u[1] * u[2],
        p["c"] * u[1] - 0.5 * u[0] * u[2] + 0.5 * u[2],
        p["d"] * u[0] * u[1] - p["e"] * u[2],
    ],
    "rossler": lambda u, p: [
        -u[1] - u[2],
        u[0] + p["a"] * u[1],
        p["b"] + u[2] * (u[0] - p["c"]),
    ],
    "halvorsen": lambda u, p: [
        p["a"] * u[i] - u[(i + 1) % 3] - u[(i + 2) % 3] - 0.25 * u[(i + 1) % 3] ** 2
        for i in range(3)
    ],
    "rabinovich_fabrikant": lambda u, p: [
        u[1] * (u[2] - 1 + u[0] ** 2) + p["gamma"] * u[0],
        u[0] * (3 * u[2] + 1 - u[0] ** 2) + p["gamma"] * u[1],
        p["alpha"] * u[2] - 2 * u[0] * u[1] * u[2],
    ],
    "sprott_b": lambda u, p: [p["a"] * u[1] * u[2], u[0] - p["b"] * u[1], p["c"] - u[0] * u[1]],
    "sprott_linz_f": lambda u, p: [u[1] + u[2], -u[0] + p["a"] * u[1], u[0] ** 2 - u[2]],
    "four_wing": lambda u, p: [
        p["a"] * u[0] + u[1] * u[2],
        p["b"] * u[0] + p["c"] * u[1] - u[0] * u[2],
        -u[2] - u[0] * u[1],
    ],
    "duffing": lambda u, p: [
        np.ones_like(u[0]),
        u[2],
        p["delta"] * u[2]
        + p["alpha"] * u[1]
        + p["beta"] * u[1] ** 3
        + p["gamma"] * np.cos(p["omega"] * u[0]),
    ],
    "lorenz96_4d": _lorenz96,
    "lorenz96_5d": _lorenz96,
    "double_pendulum": _double_pendulum,
    "damped_oscillator": lambda u, p: [u[1], -p["k"] * u[0] - p["c"] * u[1]],
    "van_der_pol": lambda u, p: [u[1], p["mu"] * (1 - u[0] ** 2) * u[1] - u[0]],
    "lotka_volterra": lambda u, p: [
        p["a"] * u[0] - p["b"] * u[0] * u[1],
        -p["c"] * u[1] + p["d"] * u[0] * u[1],
    ],
}

ALL = S.names()


# ------------------------------------------------------------------ the registry


def test_registry():
    assert len(ALL) == 18 and set(ALL) == set(REFERENCE_PARAMS)
    assert len(S.CHAOTIC) == 15 and set(S.NON_CHAOTIC) == {
        "damped_oscillator",
        "van_der_pol",
        "lotka_volterra",
    }
    assert S.get("lorenz_3d") is S.get("lorenz") and S.get("fabrikant").name == (
        "rabinovich_fabrikant"
    )
    with pytest.raises(ValueError, match=r"unknown ODE system 'lorenz63'.*thomas.*lotka_volterra"):
        S.get("lorenz63")
    with pytest.raises(TypeError):
        S.get(3)


@pytest.mark.parametrize("name", ALL)
def test_system_definition(name):
    system = S.get(name)
    assert system.params == REFERENCE_PARAMS[name]
    system.params["x"] = 1.0  # a copy: the registry is unchanged
    assert "x" not in system.params
    lo_hi = (0.5, 3.0) if name == "lotka_volterra" else (-2.0, 2.0)
    assert system.ic_box == (lo_hi,) * system.dim
    rhs = system.rhs()
    assert len(rhs) == system.dim
    assert set().union(*(e.free_symbols for e in rhs)) <= set(variables(system.dim))
    # the symbolic right-hand side tokenizes and decodes back to the same function
    tok = ExpressionTokenizer()
    decoded = tok.decode(tok.encode(rhs), dim=system.dim)
    assert decoded is not None
    u = np.random.default_rng(0).uniform(-1.5, 1.5, (system.dim, 7))
    f0 = sympy.lambdify(variables(system.dim), rhs, "numpy")
    f1 = sympy.lambdify(variables(system.dim), decoded, "numpy")
    for a, b in zip(f0(*u), f1(*u), strict=True):
        # constants are written with 3 significant digits (8/3 -> 2.67)
        np.testing.assert_allclose(
            np.broadcast_to(b, 7), np.broadcast_to(a, 7), rtol=5e-3, atol=0.05
        )


@pytest.mark.parametrize("name", ALL)
def test_vector_field_matches_reference_form(name):
    system = S.get(name)
    rng = np.random.default_rng(1)
    u = rng.uniform(-2, 2, (11, system.dim))
    params = {k: v * rng.uniform(0.9, 1.1, 11) for k, v in system.params.items()}
    expected = np.stack(
        [np.broadcast_to(c, 11) for c in REFERENCE_FIELDS[name](u.T, params)], axis=-1
    )
    np.testing.assert_allclose(system.vector_field(u, params), expected, rtol=1e-12, atol=1e-12)
    # rhs(params) is the same function as the vector field
    p0 = {k: float(v[0]) for k, v in params.items()}
    f = sympy.lambdify(variables(system.dim), system.rhs(p0), "numpy")
    np.testing.assert_allclose(
        np.array([np.broadcast_to(c, ()) for c in f(*u[0])], dtype=float),
        system.vector_field(u[0], p0),
        rtol=1e-12,
        atol=1e-12,
    )


def test_rhs_and_vector_field_reject_bad_input():
    lorenz = S.get("lorenz")
    with pytest.raises(ValueError, match="has parameters"):
        lorenz.rhs({"nu": 1.0})
    with pytest.raises(ValueError, match="has parameters"):
        lorenz.vector_field(np.zeros(3), {"nu": 1.0})
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        lorenz.vector_field(np.zeros((4, 2)))
    assert lorenz.rhs({"rho": 20.0})[1].has(sympy.Float(20.0))
    assert lorenz.vector_field(np.ones((2, 5, 3))).shape == (2, 5, 3)


def test_duffing_time_is_the_first_state():
    duffing = S.get("duffing")
    assert duffing.rhs()[0] == 1
    tr = generate("duffing", 3, seed=0, noise=0.0)
    np.testing.assert_allclose(tr.u_clean[:, :, 0] - tr.u_clean[:, :1, 0], np.tile(tr.t, (3, 1)))


# ------------------------------------------------------------------ the integrator


def test_rk4_against_exact_solutions():
    t = np.linspace(0, 3, 31)
    y0 = np.array([[1.0, 2.0, -0.5]])
    y, ok = rk4(lambda y: -y, y0, t, substeps=10)
    assert y.shape == (31, 1, 3) and ok.all()
    np.testing.assert_allclose(y[:, 0, :], np.exp(-t)[:, None] * y0, rtol=1e-8)
    # harmonic oscillator: x = cos t
    y, _ = rk4(lambda y: np.stack([y[1], -y[0]]), np.array([[1.0], [0.0]]), t, substeps=20)
    np.testing.assert_allclose(y[:, 0, 0], np.cos(t), atol=1e-9)


def test_rk4_flags_blow_ups():
    t = np.linspace(0, 2, 21)
    y0 = np.array([[0.1, 2.0, np.nan]])
    y, ok = rk4(lambda y: y * y, y0, t, substeps=8, max_abs=1e3)  # blows up at t = 1/y0
    assert ok.tolist() == [True, False, False]
    assert np.isfinite(y).all() or np.isnan(y[0, 0, 2])


def test_rk4_rejects_bad_input():
    f = lambda y: -y  # noqa: E731
    with pytest.raises(ValueError, match="y0"):
        rk4(f, np.zeros(3), np.linspace(0, 1, 3), 1)
    with pytest.raises(ValueError, match="increasing"):
        rk4(f, np.zeros((1, 3)), np.array([0.0, 1.0, 1.0]), 1)
    with pytest.raises(ValueError, match="substeps"):
        rk4(f, np.zeros((1, 3)), np.linspace(0, 1, 3), 0)


# ------------------------------------------------------------------ the generator


@pytest.mark.parametrize("name", ALL)
def test_generate_matches_solve_ivp(name):
    system = S.get(name)
    # chaotic systems on a short horizon, where the solutions still agree to high accuracy
    t_max, n_points = (1.0, 33) if system.chaotic else (6.0, 192)
    tr = generate(name, 2, seed=3, noise=0.0, t_max=t_max, n_points=n_points)
    for i in range(2):
        f = sympy.lambdify([variables(system.dim)], tr.expressions(i), "numpy")
        sol = solve_ivp(
            lambda _, y: np.array([np.broadcast_to(c, ()) for c in f(y)], dtype=float),  # noqa: B023
            (0.0, t_max),
            tr.u_clean[i, 0],
            t_eval=tr.t,
            method="DOP853",
            rtol=1e-10,
            atol=1e-10,
        )
        assert sol.success
        scale = max(1.0, np.abs(sol.y).max())
        np.testing.assert_allclose(tr.u_clean[i], sol.y.T, rtol=0, atol=1e-6 * scale)


def test_generate_shapes_params_and_noise():
    tr = generate(["van_der_pol", "lotka_volterra"], 9, seed=7)
    assert len(tr) == 9 and tr.u.shape == tr.u_clean.shape == (9, 192, 2)
    np.testing.assert_allclose(tr.t, np.linspace(0, 6, 192))
    assert tr.names == ["van_der_pol"] * 5 + ["lotka_volterra"] * 4
    assert tr.dims.tolist() == [2] * 9
    for name, p, u in zip(tr.names, tr.params, tr.u_clean, strict=True):
        ref = S.get(name).params
        assert set(p) == set(ref)
        for k, v in p.items():
            assert v == round_significant(v)  # 3 significant digits, as in the reference
            assert abs(v - ref[k]) <= 0.1 * abs(ref[k]) + 0.005 * abs(v)
        box = np.array(S.get(name).ic_box)
        assert np.all((u[0] >= box[:, 0]) & (u[0] <= box[:, 1]))
    noise = tr.u - tr.u_clean
    ratio = np.linalg.norm(noise.reshape(9, -1), axis=1) / np.linalg.norm(
        tr.u_clean.reshape(9, -1), axis=1
    )
    np.testing.assert_allclose(ratio, 0.02, rtol=1e-10)
    assert np.abs(noise).max() > 0
    np.testing.assert_array_equal(
        generate("van_der_pol", 3, seed=1, noise=0.0).u,
        generate("van_der_pol", 3, seed=1, noise=0.0).u_clean,
    )


def test_generate_is_deterministic():
    a = generate(["lorenz", "damped_oscillator"], 4, seed=11)
    b = generate(["lorenz", "damped_oscillator"], 4, seed=np.random.default_rng(11))
    c = generate(["lorenz", "damped_oscillator"], 4, seed=12)
    np.testing.assert_array_equal(a.u, b.u)
    assert a.params == b.params
    assert not np.array_equal(a.u, c.u)


def test_generate_mixed_dimensions_are_padded():
    tr = generate(["lorenz96_5d", "damped_oscillator", "lorenz"], 7, seed=0)
    assert tr.u.shape == (7, 192, 5)
    assert tr.names == ["lorenz96_5d"] * 3 + ["damped_oscillator"] * 2 + ["lorenz"] * 2
    assert tr.dims.tolist() == [5, 5, 5, 2, 2, 3, 3]
    assert np.all(tr.u[3:5, :, 2:] == 0) and np.all(tr.u[5:, :, 3:] == 0)
    assert np.all(tr.u_clean[5:, :, 3:] == 0)
    assert tr.expressions(3) == S.get("damped_oscillator").rhs(tr.params[3])


def test_generate_rejects_blow_ups(monkeypatch):
    # the Sprott-Linz F system leaves |u| <= 1e3 for about half of the reference's draws
    tr = generate("sprott_linz_f", 40, seed=0, noise=0.0)
    assert np.isfinite(tr.u_clean).all() and np.abs(tr.u_clean).max() <= 1e3
    monkeypatch.setattr(S, "MAX_ABS", 1e-6)
    with pytest.raises(RuntimeError, match="stayed bounded"):
        generate("damped_oscillator", 2, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"names": "nope"}, "unknown ODE system 'nope'"),
        ({"names": []}, "names is empty"),
        ({"n": 0}, "n must be"),
        ({"n": True}, "n must be"),
        ({"n": 2.0}, "n must be"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"t_max": 0.0}, "t_max"),
        ({"n_points": 1}, "n_points"),
        ({"param_spread": 1.0}, "param_spread"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs, match):
    args = {"names": "van_der_pol", "n": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        generate(**args)


# ------------------------------------------------------------------ skeleton noise


def _count_terms(system):
    return sum(len(terms(e)) for e in system)


def test_skeleton_noise_without_noise_is_the_skeleton():
    tok = ExpressionTokenizer()
    rhs = S.get("lorenz").rhs()
    out = skeleton_noise(rhs, np.random.default_rng(0), p_drop=0.0, p_add=0.0)
    assert tok.encode(out) == tok.skeleton_tokens(rhs)
    assert all(e.atoms(sympy.Float) == set() for e in out)


def test_skeleton_noise_adds_or_drops_one_term():
    tok = ExpressionTokenizer()
    rng = np.random.default_rng(1)
    for name in ("lorenz", "van_der_pol", "double_pendulum"):
        rhs = S.get(name).rhs()
        base = _count_terms(tok.skeleton(rhs))
        cands = {str(c) for c in candidate_terms(len(rhs))}
        for _ in range(10):
            added = skeleton_noise(rhs, rng, p_drop=0.0, p_add=1.0)
            assert _count_terms(added) == base + 1
            new = [t for e in added for t in terms(e)]
            assert any(str(t) in cands for t in new)
            dropped = skeleton_noise(rhs, rng, p_drop=1.0, p_add=0.0)
            assert _count_terms(dropped) == base - 1
            for noisy in (added, dropped):
                tokens = tok.encode(noisy)  # a valid system with placeholders, no floats
                assert tok.decode(tokens, dim=len(rhs)) is not None
                assert "+" not in tokens and "-" not in tokens
    # nothing to drop when every component is a single term
    single = [variables(2)[1], variables(2)[0]]
    assert skeleton_noise(single, 0, p_drop=1.0, p_add=0.0) == single


def test_skeleton_noise_rates():
    rhs = S.get("van_der_pol").rhs()
    rng = np.random.default_rng(2)
    base = _count_terms(rhs)
    counts = np.array([_count_terms(skeleton_noise(rhs, rng)) - base for _ in range(2000)])
    assert abs((counts == 1).mean() - 0.15) < 0.03
    assert abs((counts == -1).mean() - 0.15) < 0.03
    assert set(np.unique(counts)) <= {-1, 0, 1}


def test_candidate_terms():
    c = candidate_terms(2)
    assert len(c) == 1 + 2 + 3 and c[0] == PLACEHOLDER


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_drop": 1.5}, "p_drop"),
        ({"p_add": -0.1}, "p_add"),
        ({"p_drop": 0.6, "p_add": 0.6}, "<= 1"),
        ({"dim": 0}, "dim"),
    ],
)
def test_skeleton_noise_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        skeleton_noise(S.get("lorenz").rhs(), 0, **kwargs)
    with pytest.raises(ValueError, match="empty"):
        skeleton_noise([], 0)
