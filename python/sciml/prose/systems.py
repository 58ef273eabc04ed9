"""The ODE systems of PROSE and three non-chaotic families, and a fast batched generator of
their noisy trajectories.

Every system is autonomous in the state ``u_0 ... u_{d-1}`` (the sympy symbols of
:func:`sciml.prose.tokenizer.variables`). The forced Duffing oscillator is written as in the
PROSE reference code: its time is the first state, ``u_0' = 1``, started in U[-2, 2] like the
other components, so the forcing ``gamma*cos(omega*u_0)`` needs no symbol ``t``.

Parameters, their reference values and the initial-condition boxes of the 15 chaotic systems
are those of the reference code (felix-lyx/prose, ``prose_ode/.../generators.py``); like it,
the Aizawa system has no ``e`` term, and constants that the reference keeps fixed (Chen-Lee's
-10, Dadras' 1/2, Halvorsen's 1/4, ...) are exact rationals here, so a skeleton
(:meth:`ExpressionTokenizer.skeleton`) keeps them and replaces only the sampled parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

from sciml.prose.integrate import rk4
from sciml.prose.skeleton import skeleton_noise
from sciml.prose.tokenizer import round_significant, variables

Builder = Callable[[Sequence[sympy.Symbol], Mapping[str, Any]], list[Any]]

MAX_ABS = 1e3  # a trajectory leaving this box (or not finite) is rejected, as in the reference


class ODESystem:
    """One ODE family: symbolic right-hand side, reference parameters and initial conditions.

    Attributes:
        name: the registry name.
        dim: number of state components d.
        ic_box: ((lo, hi), ...) of length d: initial conditions are uniform in this box.
        chaotic: whether the system is one of the 15 chaotic systems of PROSE.
        max_step: the largest RK4 step :func:`generate` takes for it.
    """

    def __init__(
        self,
        name: str,
        dim: int,
        params: Mapping[str, float],
        build: Builder,
        ic_box: Sequence[tuple[float, float]],
        chaotic: bool,
        max_step: float,
    ) -> None:
        self.name = name
        self.dim = dim
        self._params = dict(params)
        self._build = build
        self.ic_box = tuple((float(lo), float(hi)) for lo, hi in ic_box)
        self.chaotic = chaotic
        self.max_step = max_step
        self._field: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        return f"ODESystem({self.name!r}, dim={self.dim}, params={self._params})"

    @property
    def params(self) -> dict[str, float]:
        """Reference parameter values (a fresh dict: editing it changes nothing)."""
        return dict(self._params)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self._params)

    def _check_names(self, params: Mapping[str, Any]) -> None:
        unknown = set(params) - set(self._params)
        if unknown:
            raise ValueError(
                f"{self.name} has parameters {sorted(self._params)}, not {sorted(unknown)}"
            )

    def _full_params(self, params: Mapping[str, float] | None) -> dict[str, float]:
        out = dict(self._params)
        if params is not None:
            self._check_names(params)
            out.update({k: float(v) for k, v in params.items()})
        return out

    def rhs(self, params: Mapping[str, float] | None = None) -> list[sympy.Expr]:
        """The right-hand side ``[u_0', ..., u_{d-1}']`` as sympy expressions in ``u_0...``.

        ``params`` overrides some or all reference values; the parameters appear as sympy
        Floats. Raises ValueError for a parameter the system does not have.
        """
        p = {k: sympy.Float(v) for k, v in self._full_params(params).items()}
        return [sympy.sympify(e) for e in self._build(variables(self.dim), p)]

    def _compiled(self) -> Callable[..., Any]:
        if self._field is None:
            u = variables(self.dim)
            p = {k: sympy.Symbol(f"p_{k}") for k in self._params}
            exprs = self._build(u, p)
            self._field = sympy.lambdify(
                [*u, *p.values()], exprs, modules="numpy", cse=True, printer=_FastPrinter
            )
        return self._field

    def field_t(self, y: np.ndarray, params: Sequence[np.ndarray]) -> np.ndarray:
        """The vector field on a batch laid out component-first (what the integrator calls).

        Args:
            y: states (d, n) float64.
            params: one (n,) float64 array (or scalar) per parameter, in ``param_names`` order.

        Returns:
            (d, n) float64.
        """
        vals = self._compiled()(*y, *params)
        out = np.empty_like(y)
        for i, v in enumerate(vals):
            out[i] = v
        return out

    def vector_field(
        self, u: np.ndarray, params: Mapping[str, float | np.ndarray] | None = None
    ) -> np.ndarray:
        """``f(u)`` for states ``u`` (..., d) float64; returns (..., d) float64.

        ``params`` maps some or all parameter names to scalars or arrays broadcastable to
        ``u.shape[:-1]``; the others take their reference values.
        """
        u = np.asarray(u, dtype=np.float64)
        if u.ndim < 1 or u.shape[-1] != self.dim:
            raise ValueError(f"{self.name} needs states (..., {self.dim}), got shape {u.shape}")
        full: dict[str, Any] = dict(self._params)
        if params is not None:
            self._check_names(params)
            full.update(params)
        batch = u.shape[:-1]
        y = np.moveaxis(u, -1, 0).reshape(self.dim, -1)
        pv = [np.broadcast_to(np.asarray(full[k], dtype=np.float64), batch).ravel() for k in full]
        return np.moveaxis(
            self.field_t(np.ascontiguousarray(y), pv).reshape(self.dim, *batch), 0, -1
        )


class _FastPrinter(NumPyPrinter):
    """numpy code with small integer powers written as products (np.power is far slower)."""

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        if expr.exp.is_Integer and 2 <= int(expr.exp) <= 4:
            base = self.parenthesize(expr.base, precedence(expr))
            return "(" + "*".join([base] * int(expr.exp)) + ")"
        return super()._print_Pow(expr, rational=rational)


# ------------------------------------------------------------------ the systems
# Each builder takes the state symbols u and the parameters p (symbols or Floats) and returns
# the right-hand side in expanded form, as the reference writes its expression trees.

R = sympy.Rational


def _thomas(u, p):
    x, y, z = u
    return [sympy.sin(y) - p["b"] * x, sympy.sin(z) - p["b"] * y, sympy.sin(x) - p["b"] * z]


def _lorenz(u, p):
    x, y, z = u
    return [p["sigma"] * y - p["sigma"] * x, p["rho"] * x - x * z - y, x * y - p["beta"] * z]


def _aizawa(u, p):
    x, y, z = u
    return [
        x * z - p["b"] * x - p["d"] * y,
        p["d"] * x + y * z - p["b"] * y,
        p["c"] + p["a"] * z - z**3 / 3 - x**2 + p["f"] * x**3 * z,
    ]


def _chen_lee(u, p):
    x, y, z = u
    return [p["a"] * x - y * z, -10 * y + x * z, p["d"] * z + x * y / 3]


def _dadras(u, p):
    x, y, z = u
    return [
        y / 2 - p["a"] * x + p["b"] * y * z,
        p["c"] * y - x * z / 2 + z / 2,
        p["d"] * x * y - p["e"] * z,
    ]


def _rossler(u, p):
    x, y, z = u
    return [-y - z, x + p["a"] * y, p["b"] + x * z - p["c"] * z]


def _halvorsen(u, p):
    x, y, z = u
    a = p["a"]
    return [a * x - y - z - y**2 / 4, a * y - z - x - z**2 / 4, a * z - x - y - x**2 / 4]


def _rabinovich_fabrikant(u, p):
    x, y, z = u
    g = p["gamma"]
    return [
        y * z - y + x**2 * y + g * x,
        3 * x * z + x - x**3 + g * y,
        p["alpha"] * z - 2 * x * y * z,
    ]


def _sprott_b(u, p):
    x, y, z = u
    return [p["a"] * y * z, x - p["b"] * y, p["c"] - x * y]


def _sprott_linz_f(u, p):
    x, y, z = u
    return [y + z, -x + p["a"] * y, x**2 - z]


def _four_wing(u, p):
    x, y, z = u
    return [p["a"] * x + y * z, p["b"] * x + p["c"] * y - x * z, -z - x * y]


def _lorenz96(u, p):
    d = len(u)
    # u_i' = (u_{i+1} - u_{i-2}) u_{i-1} - u_i + F, indices modulo d, expanded
    return [u[(i + 1) % d] * u[i - 1] - u[i - 2] * u[i - 1] - u[i] + p["F"] for i in range(d)]


def _duffing(u, p):
    t, x, v = u  # u_0 is time (u_0' = 1), as in the reference
    return [
        sympy.Integer(1),
        v,
        p["delta"] * v + p["alpha"] * x + p["beta"] * x**3 + p["gamma"] * sympy.cos(p["omega"] * t),
    ]


def _double_pendulum(u, p):
    th1, th2, w1, w2 = u
    a, b, c = -3 * p["g"] / p["l"], -p["g"] / p["l"], 4 * p["g"] / p["l"]
    den = 3 - sympy.cos(2 * th1 - 2 * th2)
    s, co = sympy.sin(th1 - th2), sympy.cos(th1 - th2)
    return [
        w1,
        w2,
        (a * sympy.sin(th1) + b * sympy.sin(th1 - 2 * th2) - 2 * s * (w2**2 + w1**2 * co)) / den,
        s * (4 * w1**2 + c * sympy.cos(th1) + w2**2 * co) / den,
    ]


def _damped_oscillator(u, p):
    x, v = u
    return [v, -p["k"] * x - p["c"] * v]


def _van_der_pol(u, p):
    x, v = u
    return [v, p["mu"] * v - p["mu"] * x**2 * v - x]


def _lotka_volterra(u, p):
    x, y = u
    return [p["a"] * x - p["b"] * x * y, -p["c"] * y + p["d"] * x * y]


def _box(d: int, lo: float = -2.0, hi: float = 2.0) -> tuple[tuple[float, float], ...]:
    return ((lo, hi),) * d


# name, dim, reference parameters, builder, initial-condition box, chaotic, largest RK4 step
_TABLE: list[tuple[str, int, dict[str, float], Builder, Any, bool, float]] = [
    ("thomas", 3, {"b": 0.17}, _thomas, _box(3), True, 0.01),
    ("lorenz", 3, {"sigma": 10.0, "beta": 8 / 3, "rho": 28.0}, _lorenz, _box(3), True, 0.002),
    (
        "aizawa",
        3,
        {"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "f": 0.1},
        _aizawa,
        _box(3),
        True,
        0.005,
    ),
    ("chen_lee", 3, {"a": 5.0, "d": -0.38}, _chen_lee, _box(3), True, 0.001),
    (
        "dadras",
        3,
        {"a": 1.25, "b": 1.15, "c": 0.75, "d": 0.8, "e": 4.0},
        _dadras,
        _box(3),
        True,
        0.01,
    ),
    ("rossler", 3, {"a": 0.1, "b": 0.1, "c": 14.0}, _rossler, _box(3), True, 0.005),
    ("halvorsen", 3, {"a": -0.35}, _halvorsen, _box(3), True, 0.01),
    (
        "rabinovich_fabrikant",
        3,
        {"alpha": -1.96, "gamma": 0.1},
        _rabinovich_fabrikant,
        _box(3),
        True,
        0.005,
    ),
    ("sprott_b", 3, {"a": 0.4, "b": 1.2, "c": 1.0}, _sprott_b, _box(3), True, 0.01),
    ("sprott_linz_f", 3, {"a": 0.5}, _sprott_linz_f, _box(3), True, 0.01),
    ("four_wing", 3, {"a": 0.2, "b": 0.01, "c": -0.4}, _four_wing, _box(3), True, 0.01),
    (
        "duffing",
        3,
        {"alpha": -1.0, "beta": -5.0, "gamma": 8.0, "delta": -0.02, "omega": 0.5},
        _duffing,
        _box(3),
        True,
        0.005,
    ),
    ("lorenz96_4d", 4, {"F": 8.0}, _lorenz96, _box(4), True, 0.005),
    ("lorenz96_5d", 5, {"F": 8.0}, _lorenz96, _box(5), True, 0.005),
    ("double_pendulum", 4, {"g": 9.81, "l": 1.0}, _double_pendulum, _box(4), True, 0.002),
    ("damped_oscillator", 2, {"k": 4.0, "c": 0.4}, _damped_oscillator, _box(2), False, 0.01),
    ("van_der_pol", 2, {"mu": 1.0}, _van_der_pol, _box(2), False, 0.01),
    (
        "lotka_volterra",
        2,
        {"a": 1.0, "b": 0.5, "c": 1.0, "d": 0.5},
        _lotka_volterra,
        _box(2, 0.5, 3.0),
        False,
        0.01,
    ),
]

_SYSTEMS: dict[str, ODESystem] = {row[0]: ODESystem(*row) for row in _TABLE}

#: The reference code's names for the systems whose name differs here.
ALIASES = {
    "lorenz_3d": "lorenz",
    "fabrikant": "rabinovich_fabrikant",
    "sprott_B": "sprott_b",
    "sprott_linz_F": "sprott_linz_f",
    "lorenz_96_4d": "lorenz96_4d",
    "lorenz_96_5d": "lorenz96_5d",
}

#: The 15 chaotic systems of PROSE and the three non-chaotic families.
CHAOTIC = tuple(s.name for s in _SYSTEMS.values() if s.chaotic)
NON_CHAOTIC = tuple(s.name for s in _SYSTEMS.values() if not s.chaotic)


def names() -> list[str]:
    """Names of every system, the 15 chaotic ones first."""
    return list(_SYSTEMS)


def get(name: str) -> ODESystem:
    """The system called ``name`` (a name of :func:`names` or of :data:`ALIASES`).

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"a system name is a str, got {type(name).__name__}")
    key = ALIASES.get(name, name)
    if key not in _SYSTEMS:
        raise ValueError(f"unknown ODE system {name!r}; known: {', '.join(_SYSTEMS)}")
    return _SYSTEMS[key]


# ------------------------------------------------------------------ the generator


@dataclass
class Trajectories:
    """Noisy trajectories of ODE systems, as :func:`generate` returns them.

    Attributes:
        t: output times, (T,) float64, uniform on [0, t_max].
        u: noisy states, (n, T, D) float64; D is the largest dimension among the systems, the
            components beyond a trajectory's own dimension are zero.
        u_clean: the same without noise, (n, T, D) float64.
        params: per trajectory, the parameter values that produced it.
        names: per trajectory, the system's name.
        dims: per trajectory, the system's dimension, (n,) int64.
    """

    t: np.ndarray
    u: np.ndarray
    u_clean: np.ndarray
    params: list[dict[str, float]]
    names: list[str]
    dims: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def expressions(self, i: int) -> list[sympy.Expr]:
        """The right-hand side that produced trajectory ``i`` (sympy, parameters as Floats)."""
        return get(self.names[i]).rhs(self.params[i])


def _counts(n: int, k: int) -> list[int]:
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _sample(
    system: ODESystem,
    count: int,
    rng: np.random.Generator,
    t: np.ndarray,
    spread: float,
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """``count`` clean trajectories (count, T, d) that stay finite and within MAX_ABS."""
    ref = system.params
    dt = float(t[1] - t[0])
    substeps = max(1, math.ceil(dt / system.max_step - 1e-9))
    lo = np.array([b[0] for b in system.ic_box])
    hi = np.array([b[1] for b in system.ic_box])
    kept_u: list[np.ndarray] = []
    kept_p: list[np.ndarray] = []
    have, drawn, accepted = 0, 0, 0
    for _ in range(100):
        if have >= count:
            break
        # redraw the missing ones, over-drawing by the acceptance rate seen so far
        rate = max(accepted / drawn, 0.05) if drawn else 1.0
        m = math.ceil((count - have) / rate * (1.0 if drawn == 0 else 1.1))
        pv = np.stack(
            [
                round_significant(rng.uniform(v - spread * abs(v), v + spread * abs(v), m))
                for v in ref.values()
            ]
        )
        y0 = lo[:, None] + (hi - lo)[:, None] * rng.random((system.dim, m))
        field = partial(system.field_t, params=list(pv))
        y, ok = rk4(field, y0, t, substeps, max_abs=MAX_ABS)
        drawn += m
        accepted += int(ok.sum())
        idx = np.flatnonzero(ok)[: count - have]
        kept_u.append(np.transpose(y[:, :, idx], (2, 0, 1)))
        kept_p.append(pv[:, idx])
        have += idx.size
    if have < count:
        raise RuntimeError(
            f"{system.name}: only {have} of {count} trajectories stayed bounded after "
            f"{drawn} draws; try a smaller t_max"
        )
    p_all = np.concatenate(kept_p, axis=1)
    keys = list(ref)
    params = [dict(zip(keys, col, strict=True)) for col in p_all.T.tolist()]
    return np.concatenate(kept_u, axis=0), params


def generate(
    names: str | Sequence[str],
    n: int,
    seed: int | np.random.Generator = 0,
    noise: float = 0.02,
    t_max: float = 6.0,
    n_points: int = 192,
    param_spread: float = 0.1,
) -> Trajectories:
    """Draws ``n`` trajectories of the named systems with a vectorised fixed-step RK4.

    For each trajectory, every parameter is uniform within ``±param_spread`` (relative) of its
    reference value and then rounded to 3 significant digits (as the reference code does, so
    the tokenized equations are exact), and the initial condition is uniform in the system's
    ``ic_box``. Trajectories that are not finite or exceed 1e3 in magnitude are rejected and
    drawn again. ``n`` is split as evenly as possible over ``names`` in the given order (the
    first ``n % len(names)`` get one more; a repeated name gets its share twice); the result is
    grouped by name in that order. Additive Gaussian noise is scaled per trajectory so that
    ``||u - u_clean||_2 = noise * ||u_clean||_2`` over all times and components.

    Args:
        names: a system name or a sequence of them (see :func:`names`).
        n: number of trajectories, >= 1.
        seed: an int seed or a numpy Generator.
        noise: relative noise level, >= 0.
        t_max: final time (the grid is ``linspace(0, t_max, n_points)``), > 0.
        n_points: number of output times, >= 2.
        param_spread: relative half-width of the parameter ranges, in [0, 1).

    Raises:
        ValueError: unknown name (the message lists the known ones) or a bad argument.
        RuntimeError: a system keeps blowing up (e.g. a very long ``t_max``).
    """
    name_list = [names] if isinstance(names, str) else list(names)
    if not name_list:
        raise ValueError("names is empty; give at least one system name")
    systems = [get(nm) for nm in name_list]
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if not isinstance(n_points, (int, np.integer)) or isinstance(n_points, bool) or n_points < 2:
        raise ValueError(f"n_points must be an int >= 2, got {n_points!r}")
    for label, v in (("noise", noise), ("t_max", t_max), ("param_spread", param_spread)):
        if not isinstance(v, (int, float, np.floating)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{label} must be a finite number >= 0, got {v!r}")
    if t_max <= 0:
        raise ValueError(f"t_max must be > 0, got {t_max}")
    if param_spread >= 1:
        raise ValueError(f"param_spread must be < 1, got {param_spread}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    t = np.linspace(0.0, float(t_max), int(n_points))
    width = max(s.dim for s in systems)
    u_clean = np.zeros((int(n), t.size, width))
    params: list[dict[str, float]] = []
    out_names: list[str] = []
    dims = np.zeros(int(n), dtype=np.int64)
    start = 0
    for system, count in zip(systems, _counts(int(n), len(systems)), strict=True):
        if count == 0:
            continue
        traj, p = _sample(system, count, rng, t, float(param_spread))
        u_clean[start : start + count, :, : system.dim] = traj
        params += p
        out_names += [system.name] * count
        dims[start : start + count] = system.dim
        start += count

    u = u_clean.copy()
    if noise > 0:
        eps = rng.standard_normal(u.shape)
        mask = np.arange(width)[None, None, :] < dims[:, None, None]
        eps *= mask
        signal = np.linalg.norm(u_clean.reshape(len(u), -1), axis=1)
        size = np.linalg.norm(eps.reshape(len(u), -1), axis=1)
        u += eps * (noise * signal / size)[:, None, None]
    return Trajectories(t=t, u=u, u_clean=u_clean, params=params, names=out_names, dims=dims)


__all__ = [
    "ALIASES",
    "CHAOTIC",
    "NON_CHAOTIC",
    "ODESystem",
    "Trajectories",
    "generate",
    "get",
    "names",
    "skeleton_noise",
]
