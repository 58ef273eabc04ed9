"""Fine reference solutions on grids for two PINN benchmarks, with an on-disk cache.

- :func:`allen_cahn_reference`: the Allen–Cahn problem of JAX-PI,
  ``u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0`` on the periodic interval [-1, 1), t in [0, 1],
  ``u(0, x) = x^2 cos(pi x)``; Fourier pseudo-spectral in space, ETDRK4 in time.
- :func:`nonlinear_diffusion_reference`: the nonlinear diffusion problem of the PIG paper,
  ``u_t = alpha (|grad u|^2 + u lap u) = (alpha / 2) lap(u^2)`` on [-1, 1]^2, t in [0, 1],
  u = 0 on the boundary, three Gaussian bumps at t = 0; second-order finite differences in
  space, classical RK4 in time.

Both return a :class:`GridReference`: the values on a tensor grid plus an interpolator, so
a model can be scored at any points. :func:`allen_cahn` and :func:`nonlinear_diffusion`
compute them through :func:`cached_reference`, which keeps them as ``.npz`` files under
``$SCIML_CACHE_DIR`` (else ``~/.cache/sciml/references``).

Everything is float64 NumPy; nothing here needs torch or the Rust kernels.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import NdBSpline, RegularGridInterpolator, make_interp_spline

__all__ = [
    "GridReference",
    "allen_cahn",
    "allen_cahn_reference",
    "cache_dir",
    "cached_reference",
    "nonlinear_diffusion",
    "nonlinear_diffusion_initial",
    "nonlinear_diffusion_reference",
]

# Bump when a solver changes its results: it is part of every cache key.
SOLVER_VERSION = 1

# Right end of the stability interval of classical RK4 on the negative real axis.
_RK4_REAL_STABILITY = 2.785293563405282


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


# --------------------------------------------------------------------------------------
# Grid reference and its interpolator
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GridReference:
    """A field sampled on a tensor grid, callable at scattered points by interpolation.

    Attributes:
        names: axis names, e.g. ``("t", "x")``; ``points[:, i]`` is the coordinate
            ``names[i]``.
        axes: one strictly increasing float64 array per axis; ``axes[i]`` has length
            ``values.shape[i]``.
        values: float64 array of the field on the grid, shape ``tuple(len(a) for a in axes)``
            (for example ``(n_t, n_x)`` or ``(n_t, n_x, n_y)``).
        periodic: per axis, whether the field is periodic along it. A periodic axis must be
            uniform and must NOT repeat its first point at the far end: with spacing h and
            n samples the period is ``n h`` and ``value(a[0] + n h) = value(a[0])``.

    Calling it with ``points`` of shape (N, d) returns the interpolated values, shape (N,).

    ``method="cubic"`` (the default) is the tensor-product cubic spline interpolant: along
    a periodic axis the periodic cubic spline, along the others the not-a-knot one (the
    spline ``RegularGridInterpolator(method="cubic")`` means). Its coefficients come from
    one banded solve per axis (``make_interp_spline``), evaluation is ``NdBSpline``.
    SciPy's ``RegularGridInterpolator(method="cubic")`` (1.17) instead solves the whole
    tensor system with an iterative solver at its default tolerance: on a
    (101, 129, 129) grid of ``exp(-t) sin(2x) cos(3y)`` it took 9.1 s to build and was
    off by 1.8e-5, where the banded route took 0.9 s and was off by 1.2e-7 (the spline's
    own error). ``method="linear"`` uses ``RegularGridInterpolator`` (periodic axes
    closed by one wrapped sample).

    Measured interpolation errors (cubic): ``exp(-t) sin(2x) cos(3y)`` on a 21 x 41 x 41
    grid over [0, 1] x [-1, 1]^2, max 1.5e-5 (linear 3.5e-3); ``cos(t) sin(pi x) +
    0.3 cos(3 pi x)`` on 11 x 40 nodes, x periodic, max 4.2e-5, also across the seam
    x in [x_last, 1) (linear 7.9e-3) (see the tests). For the references see
    :func:`allen_cahn_reference` and :func:`nonlinear_diffusion_reference`.

    Points outside a non-periodic axis raise ValueError; along a periodic axis any
    coordinate is wrapped into the period.
    """

    names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    values: np.ndarray
    periodic: tuple[bool, ...]
    _interpolators: dict[str, Callable[[np.ndarray], np.ndarray]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        axes = tuple(np.asarray(a, dtype=np.float64) for a in self.axes)
        values = np.asarray(self.values, dtype=np.float64)
        periodic = tuple(bool(p) for p in self.periodic)
        d = values.ndim
        if d < 1 or not (len(names) == len(axes) == len(periodic) == d):
            raise ValueError(
                "names, axes and periodic need one entry per dimension of values: got "
                f"{len(names)}, {len(axes)}, {len(periodic)} for values.ndim = {d}"
            )
        if len(set(names)) != d:
            raise ValueError(f"names must be distinct, got {names!r}")
        for name, a, n, per in zip(names, axes, values.shape, periodic, strict=True):
            if a.ndim != 1 or a.size != n:
                raise ValueError(f"axis {name!r} has shape {a.shape}, values need ({n},)")
            if n < 2 or not np.all(np.diff(a) > 0) or not np.all(np.isfinite(a)):
                raise ValueError(f"axis {name!r} must be finite, strictly increasing, >= 2 long")
            if per:
                h = np.diff(a)
                if not np.allclose(h, h[0], rtol=1e-9, atol=0.0):
                    raise ValueError(f"periodic axis {name!r} must be uniform")
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "periodic", periodic)

    @property
    def ndim(self) -> int:
        """Number of axes d."""
        return self.values.ndim

    def period(self, i: int) -> float:
        """Period of periodic axis ``i``: (number of samples) x (spacing)."""
        if not self.periodic[i]:
            raise ValueError(f"axis {self.names[i]!r} is not periodic")
        a = self.axes[i]
        return float(a.size * (a[-1] - a[0]) / (a.size - 1))

    def _closed(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        """Axes and values with every periodic axis closed by its first sample at a[0]+L."""
        axes, values = list(self.axes), self.values
        for i, per in enumerate(self.periodic):
            if per:
                a = axes[i]
                axes[i] = np.append(a, a[0] + self.period(i))
                values = np.concatenate([values, np.take(values, [0], axis=i)], axis=i)
        return tuple(axes), values

    def _build(self, method: str) -> Callable[[np.ndarray], np.ndarray]:
        axes, values = self._closed()
        if method == "linear":
            return RegularGridInterpolator(axes, values, method="linear")
        if method != "cubic":
            raise ValueError(f"method must be 'cubic' or 'linear', got {method!r}")
        if min(a.size for a in self.axes) < 4:
            raise ValueError("method='cubic' needs at least 4 samples along every axis")
        coef, knots = values, []
        for i, a in enumerate(axes):
            bc = "periodic" if self.periodic[i] else "not-a-knot"
            spl = make_interp_spline(a, coef, k=3, axis=i, bc_type=bc)
            coef = np.moveaxis(spl.c, 0, i)
            knots.append(spl.t)
        return NdBSpline(tuple(knots), coef, 3, extrapolate=True)

    def _wrap(self, points: np.ndarray) -> np.ndarray:
        """Checks ``points`` (N, d), wraps periodic coordinates, clips rounding overshoots."""
        p = np.array(points, dtype=np.float64, copy=True)
        if p.ndim != 2 or p.shape[1] != self.ndim:
            raise ValueError(f"points must have shape (N, {self.ndim}), got {p.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError("points must be finite")
        for i, a in enumerate(self.axes):
            col = p[:, i]
            if self.periodic[i]:
                p[:, i] = a[0] + np.mod(col - a[0], self.period(i))
                continue
            tol = 1e-12 * max(1.0, abs(a[0]), abs(a[-1]))
            if col.size and (col.min() < a[0] - tol or col.max() > a[-1] + tol):
                raise ValueError(
                    f"points leave axis {self.names[i]!r} = [{a[0]}, {a[-1]}]: "
                    f"range [{col.min()}, {col.max()}]"
                )
            p[:, i] = np.clip(col, a[0], a[-1])
        return p

    def __call__(self, points: np.ndarray, method: str = "cubic") -> np.ndarray:
        """Interpolated values at ``points`` (N, d), coordinates ordered as ``names``.

        Returns a float64 array of shape (N,).
        """
        p = self._wrap(points)
        interp = self._interpolators.get(method)
        if interp is None:
            interp = self._build(method)
            self._interpolators[method] = interp
        return np.asarray(interp(p), dtype=np.float64).reshape(-1)

    def grid_points(self) -> np.ndarray:
        """All grid nodes as an (prod(shape), d) array, in ``values.ravel()`` order."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)


# --------------------------------------------------------------------------------------
# Allen–Cahn: Fourier pseudo-spectral + ETDRK4
# --------------------------------------------------------------------------------------


def _etdrk4_coefficients(lin: np.ndarray, h: float, contour_points: int) -> tuple[np.ndarray, ...]:
    """ETDRK4 coefficients for the diagonal linear operator ``lin`` and step ``h``.

    With z = h L they are (Cox & Matthews 2002; Kassam & Trefethen 2005)

        E  = e^z,  E2 = e^{z/2},  Q = h (e^{z/2} - 1) / z,
        f1 = h (-4 - z + e^z (4 - 3z + z^2)) / z^3,
        f2 = h (2 + z + e^z (z - 2)) / z^3,
        f3 = h (-4 - 3z - z^2 + e^z (4 - z)) / z^3.

    The fractions lose every digit to cancellation as z -> 0, so, as Kassam & Trefethen
    do, each is evaluated as the mean of its values on a circle of radius 1 around z
    (the Cauchy integral formula; the trapezoid rule converges geometrically), at
    ``contour_points`` points. ``lin`` is real here, so the result is the real part.
    """
    z = h * lin.astype(np.float64)
    roots = np.exp(1j * np.pi * (np.arange(1, contour_points + 1) - 0.5) / contour_points)
    zc = z[:, None] + roots[None, :]
    ez = np.exp(zc)
    zc3 = zc**3
    q = h * np.mean((np.exp(zc / 2) - 1) / zc, axis=1).real
    f1 = h * np.mean((-4 - zc + ez * (4 - 3 * zc + zc**2)) / zc3, axis=1).real
    f2 = h * np.mean((2 + zc + ez * (zc - 2)) / zc3, axis=1).real
    f3 = h * np.mean((-4 - 3 * zc - zc**2 + ez * (4 - zc)) / zc3, axis=1).real
    return np.exp(z), np.exp(z / 2), q, f1, f2, f3


def allen_cahn_reference(
    n_modes: int = 512,
    dt: float = 5e-4,
    t_final: float = 1.0,
    n_times: int = 201,
    *,
    x_stride: int = 1,
    initial: Callable[[np.ndarray], np.ndarray] | None = None,
    diffusion: float = 1e-4,
    reaction: float = 5.0,
    contour_points: int = 32,
) -> GridReference:
    """Allen–Cahn reference solution by Fourier pseudo-spectral ETDRK4.

    Solves ``u_t = D u_xx + g (u - u^3)`` (JAX-PI: D = 1e-4, g = 5, i.e.
    ``u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0``) for x in [-1, 1) periodic and t in
    [0, t_final], with ``u(0, x) = x^2 cos(pi x)``.

    Space: ``n_modes`` equispaced nodes ``x_j = -1 + 2 j / n_modes`` and the real FFT;
    ``d^2/dx^2`` is ``-k^2`` with wavenumbers ``k = pi m``, m = 0 .. n_modes / 2. The
    cubic term is formed on the nodes (no dealiasing). Time: ETDRK4 (Cox & Matthews) on
    ``v_t = L v + N(v)`` with ``L = g - D k^2`` (all linear terms, treated exactly) and
    ``N(v) = F[-g u^3]``, coefficients by contour integrals (see
    :func:`_etdrk4_coefficients`). The step is ``dt`` reduced, if needed, so that a whole
    number of steps fits each output interval ``t_final / (n_times - 1)``.

    Accuracy, measured (``benches/bench_reference_solvers.py``) for the defaults
    (201 x 512 grid, 0.5 s):

    - time: 7e-12 max against dt / 4; halving dt cuts the error 16x down to ~1e-11,
      below which round-off grows with the number of steps (7e-11 at dt = 3e-5);
    - space: against 4096 modes on the same nodes, rel. L2 1.1e-5 over the grid, max
      8.9e-4. ``x^2 cos(pi x)`` is continuous but not smooth as a periodic function
      (``u0'(-1) = 2``, ``u0'(1) = -2``), so the spectrum decays algebraically until
      diffusion smooths the kink; the largest errors sit near x = +-1 at early times.
      ``n_modes=2048, x_stride=4`` gives the same 512 nodes with rel. L2 7.0e-7, max
      9.6e-5 (1.8 s);
    - interpolation (cubic, :class:`GridReference`) between the 201 x 512 nodes: rel. L2
      8.1e-6, max 1.2e-3 (linear: 5.0e-4, 1.2e-2), measured at the nodes of a 401 x 1024
      grid.

    Args:
        n_modes: number of nodes (= Fourier modes) of the solver; even, >= 8.
        dt: largest time step.
        t_final: final time.
        n_times: number of output times, ``linspace(0, t_final, n_times)``; >= 2.
        x_stride: keep every ``x_stride``-th node in the output; must divide n_modes.
        initial: ``u0(x)`` for x (n_modes,) -> (n_modes,); default ``x^2 cos(pi x)``.
        diffusion, reaction: D and g.
        contour_points: points on each contour (32 is ample).

    Returns:
        GridReference with names ``("t", "x")``, axes t (n_times,) and x
        (n_modes / x_stride,), values u float64 (n_times, n_modes / x_stride), periodic
        ``(False, True)``.
    """
    n_modes = _positive_int("n_modes", n_modes, 8)
    if n_modes % 2:
        raise ValueError(f"n_modes must be even, got {n_modes}")
    dt = _positive_float("dt", dt)
    t_final = _positive_float("t_final", t_final)
    n_times = _positive_int("n_times", n_times, 2)
    diffusion = _positive_float("diffusion", diffusion)
    reaction = float(reaction)
    contour_points = _positive_int("contour_points", contour_points, 4)
    x_stride = _positive_int("x_stride", x_stride)
    if n_modes % x_stride:
        raise ValueError(f"x_stride ({x_stride}) must divide n_modes ({n_modes})")

    x = -1.0 + 2.0 * np.arange(n_modes) / n_modes
    k = np.pi * np.arange(n_modes // 2 + 1)
    lin = reaction - diffusion * k**2
    t_out = np.linspace(0.0, t_final, n_times)
    dt_out = t_final / (n_times - 1)
    steps = max(1, math.ceil(dt_out / dt * (1 - 1e-12)))
    h = dt_out / steps
    e, e2, q, f1, f2, f3 = _etdrk4_coefficients(lin, h, contour_points)

    def nonlin(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v, n_modes)
        return np.fft.rfft(-reaction * u**3)

    u0 = x**2 * np.cos(np.pi * x) if initial is None else np.asarray(initial(x), dtype=np.float64)
    if u0.shape != x.shape or not np.all(np.isfinite(u0)):
        raise ValueError(f"initial(x) must return {x.shape} finite values, got {u0.shape}")
    v = np.fft.rfft(u0)
    out = np.empty((n_times, n_modes // x_stride))
    out[0] = u0[::x_stride]
    for i in range(1, n_times):
        for _ in range(steps):
            nv = nonlin(v)
            a = e2 * v + q * nv
            na = nonlin(a)
            b = e2 * v + q * na
            nb = nonlin(b)
            c = e2 * a + q * (2 * nb - nv)
            nc = nonlin(c)
            v = e * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc
        out[i] = np.fft.irfft(v, n_modes)[::x_stride]
    return GridReference(("t", "x"), (t_out, x[::x_stride]), out, (False, True))


# --------------------------------------------------------------------------------------
# PIG nonlinear diffusion: finite differences + RK4
# --------------------------------------------------------------------------------------


def nonlinear_diffusion_initial(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The PIG / SPINN initial condition: three Gaussian bumps (broadcasts x and y).

    ``u0 = 0.25 exp(-((x-0.3)^2 + (y-0.2)^2) / 0.1)
         + 0.4 exp(-15 ((x+0.5)^2 + (y+0.1)^2)) + 0.3 exp(-20 (x^2 + (y+0.5)^2))``
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return (
        0.25 * np.exp(-((x - 0.3) ** 2 + (y - 0.2) ** 2) / 0.1)
        + 0.4 * np.exp(-((x + 0.5) ** 2 + (y + 0.1) ** 2) * 15.0)
        + 0.3 * np.exp(-(x**2 + (y + 0.5) ** 2) * 20.0)
    )


def nonlinear_diffusion_stable_dt(n_cells: int, alpha: float, u_max: float) -> float:
    """Largest RK4 step that is linearly stable for the semi-discrete diffusion system.

    The Jacobian of ``F(u) = (alpha/2) lap_h(u^2)`` is ``alpha lap_h diag(u)``, similar
    (for u >= 0) to a symmetric matrix with eigenvalues in ``[-8 alpha u_max / h^2, 0]``;
    RK4 is stable on the real segment ``[-2.785, 0]``.
    """
    h = 2.0 / n_cells
    return _RK4_REAL_STABILITY * h * h / (8.0 * alpha * u_max)


def nonlinear_diffusion_reference(
    n_cells: int = 512,
    t_final: float = 1.0,
    n_times: int = 101,
    *,
    output_stride: int = 4,
    wall_cells: int | None = None,
    alpha: float = 0.05,
    dt: float | None = None,
    cfl: float = 0.9,
) -> GridReference:
    """PIG nonlinear diffusion reference by finite differences and classical RK4.

    Solves ``u_t = alpha (u_x^2 + u u_xx + u_y^2 + u u_yy)`` — the residual the PIG code
    uses — on (x, y) in [-1, 1]^2, t in [0, t_final], with u = 0 on the boundary and
    ``u(0) =`` :func:`nonlinear_diffusion_initial`. Since
    ``|grad u|^2 + u lap u = lap(u^2) / 2``, the scheme discretises the conservative form

        du_ij/dt = (alpha / 2) (w_{i+1,j} + w_{i-1,j} + w_{i,j+1} + w_{i,j-1} - 4 w_ij) / h^2,
        w = u^2,

    on the nodes ``x_i = -1 + i h``, h = 2 / n_cells, with w = 0 on the boundary nodes:
    second order in space where w is smooth (the observed orders are below).
    Time: classical RK4 with a fixed step, ``dt`` or by default ``cfl`` times the linear
    stability limit :func:`nonlinear_diffusion_stable_dt` (u_max from the initial data; u
    never exceeds it), reduced so a whole number of steps fits each output interval.
    Since dt ~ h^2 the time error (order 4) is far below the space error.

    Output grid: every ``output_stride``-th node, plus every node within ``wall_cells``
    cells of a wall (default ``2 * output_stride``). Near a wall, where u = 0 while
    the diffusivity alpha u vanishes, u climbs from 0 in a layer thinner than an output
    cell (u ~ sqrt(distance) in the limit), which a cubic spline through coarse nodes
    cannot follow: the fine wall nodes bring the interpolation error of the default
    grid from max 4.3e-3 (rel. L2 5.6e-4) down to max 4.0e-6 (rel. L2 9.5e-7), measured
    at 300 000 random nodes of the 513 x 513 solver grid.

    Accuracy of the default reference (512 cells, 101 x 141 x 141 output, 25 s on one
    core; ``benches/bench_reference_solvers.py --refine``): successive differences on
    the h = 1/64 nodes for 128 / 256 / 512 / 1024 cells are rel. L2 1.8e-4 / 4.7e-5 /
    1.2e-5 (observed order 1.96, 1.96) and max 1.9e-4 / 7.8e-5 / 2.6e-5 (order 1.3, 1.6:
    the maximum sits at the wall-adjacent nodes, where the wall layer is resolved last;
    away from the walls the order is 2). Error of the 512-cell reference, from the
    1024-cell solve plus its Richardson tail: rel. L2 ~1.6e-5, max ~4e-5. The RK4
    time error is negligible: halving dt changes u by < 1e-14 (t = 0.2, 512 cells).

    The initial bumps are not exactly zero on the boundary (up to 9.4e-3 at x = -1); the
    solver, like the PINN's boundary loss, imposes u = 0 there from t = 0 on, so the
    returned t = 0 slice is u0 with its boundary nodes set to 0.

    Args:
        n_cells: cells per axis (h = 2 / n_cells); a multiple of ``output_stride``.
        t_final: final time; n_times: outputs at ``linspace(0, t_final, n_times)``.
        output_stride: keep every ``output_stride``-th node per axis in the output.
        wall_cells: also keep every node within this many cells of each wall (None:
            ``2 * output_stride``; 0: none).
        alpha: diffusion coefficient (PIG: 0.05).
        dt: fixed RK4 step; must not exceed the stability limit. None: ``cfl`` x limit.
        cfl: fraction of the stability limit used when dt is None; in (0, 1].

    Returns:
        GridReference with names ``("t", "x", "y")``, axes t (n_times,) and x = y (the
        kept nodes, both walls included; 141 by default), values u float64
        (n_times, n_x, n_y) indexed [t, x, y], periodic ``(False, False, False)``.
    """
    n_cells = _positive_int("n_cells", n_cells, 4)
    output_stride = _positive_int("output_stride", output_stride)
    if wall_cells is None:
        wall_cells = 2 * output_stride
    wall_cells = _positive_int("wall_cells", wall_cells, 0)
    if 2 * wall_cells > n_cells:
        raise ValueError(f"wall_cells ({wall_cells}) must be at most n_cells / 2 ({n_cells // 2})")
    t_final = _positive_float("t_final", t_final)
    n_times = _positive_int("n_times", n_times, 2)
    if n_cells % output_stride:
        raise ValueError(
            f"n_cells ({n_cells}) must be a multiple of output_stride ({output_stride})"
        )
    alpha = _positive_float("alpha", alpha)
    cfl = _positive_float("cfl", cfl)
    if cfl > 1:
        raise ValueError(f"cfl must be in (0, 1], got {cfl!r}")

    nodes = np.linspace(-1.0, 1.0, n_cells + 1)
    xx, yy = np.meshgrid(nodes[1:-1], nodes[1:-1], indexing="ij")
    u = nonlinear_diffusion_initial(xx, yy)
    u_max = float(nonlinear_diffusion_initial(*np.meshgrid(nodes, nodes)).max())
    dt_stable = nonlinear_diffusion_stable_dt(n_cells, alpha, u_max)
    if dt is None:
        dt = cfl * dt_stable
    else:
        dt = _positive_float("dt", dt)
        if dt > dt_stable:
            raise ValueError(
                f"dt = {dt!r} exceeds the RK4 stability limit {dt_stable:.4g} for "
                f"n_cells = {n_cells}"
            )
    dt_out = t_final / (n_times - 1)
    steps = max(1, math.ceil(dt_out / dt * (1 - 1e-12)))
    tau = dt_out / steps

    coef = 0.5 * alpha / (2.0 / n_cells) ** 2
    w = np.zeros((n_cells + 1, n_cells + 1))  # u^2 with the zero boundary around it
    w_in = w[1:-1, 1:-1]

    def rhs(v: np.ndarray) -> np.ndarray:
        np.multiply(v, v, out=w_in)
        lap = w[2:, 1:-1] + w[:-2, 1:-1]
        lap += w[1:-1, 2:]
        lap += w[1:-1, :-2]
        lap -= 4.0 * w_in
        lap *= coef
        return lap

    every = np.arange(n_cells + 1)
    keep = np.union1d(
        every[::output_stride], np.r_[every[: wall_cells + 1], every[-wall_cells - 1 :]]
    )
    out = np.zeros((n_times, keep.size, keep.size))
    full = np.zeros((n_cells + 1, n_cells + 1))

    def store(i: int) -> None:
        full[1:-1, 1:-1] = u
        out[i] = full[np.ix_(keep, keep)]

    store(0)
    for i in range(1, n_times):
        for _ in range(steps):
            k1 = rhs(u)
            k2 = rhs(u + (0.5 * tau) * k1)
            k3 = rhs(u + (0.5 * tau) * k2)
            k4 = rhs(u + tau * k3)
            k2 += k3
            k1 += k4
            k1 += 2.0 * k2
            u = u + (tau / 6.0) * k1
        store(i)
    t_out = np.linspace(0.0, t_final, n_times)
    grid = nodes[keep]
    return GridReference(("t", "x", "y"), (t_out, grid, grid), out, (False, False, False))


# --------------------------------------------------------------------------------------
# On-disk cache
# --------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """``$SCIML_CACHE_DIR`` if set and non-empty, else ``~/.cache/sciml/references``."""
    env = os.environ.get("SCIML_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "sciml" / "references"


def _params_json(name: str, params: dict[str, Any]) -> str:
    payload = {"name": name, "version": SOLVER_VERSION, "params": params}
    return json.dumps(payload, sort_keys=True, default=repr)


def _cache_path(name: str, params: dict[str, Any]) -> Path:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"name must be a non-empty string of [A-Za-z0-9_-], got {name!r}")
    digest = hashlib.sha256(_params_json(name, params).encode()).hexdigest()[:16]
    return cache_dir() / f"{name}-{digest}.npz"


def _save(path: Path, ref: GridReference, key: str) -> None:
    arrays: dict[str, np.ndarray] = {
        "key": np.array(key),
        "names": np.array(ref.names),
        "periodic": np.array(ref.periodic, dtype=bool),
        "values": ref.values,
    }
    for i, a in enumerate(ref.axes):
        arrays[f"axis_{i}"] = a
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path, key: str) -> GridReference | None:
    """The cached reference, or None when the file is missing, unreadable or not ours."""
    try:
        # Open the file ourselves: np.load leaks its handle when the file is not an npz.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            names = tuple(str(n) for n in z["names"])
            axes = tuple(np.array(z[f"axis_{i}"]) for i in range(len(names)))
            ref = GridReference(names, axes, np.array(z["values"]), tuple(z["periodic"]))
    except Exception:  # missing, corrupt, truncated or foreign: recompute it
        return None
    if not np.all(np.isfinite(ref.values)):
        return None
    return ref


def cached_reference(
    name: str, params: dict[str, Any], compute: Callable[[], GridReference]
) -> GridReference:
    """Loads ``name`` + ``params`` from the cache, or computes, stores and returns it.

    The file is ``cache_dir() / f"{name}-{hash}.npz"`` where the hash is the first 16 hex
    digits of the SHA-256 of the JSON of (name, params, SOLVER_VERSION); the JSON is also
    stored inside and checked on load. A missing, corrupt, truncated or mismatching file
    is recomputed. Writes go to a temporary file in the same folder, then an atomic
    rename, so a crash never leaves a partial file under the final name.

    Args:
        name: cache entry name, [A-Za-z0-9_-]+.
        params: JSON-serialisable parameters that determine the result.
        compute: builds the reference when the cache has no valid copy.
    """
    path = _cache_path(name, params)
    key = _params_json(name, params)
    ref = _load(path, key)
    if ref is None:
        ref = compute()
        if not isinstance(ref, GridReference):
            raise TypeError(f"compute must return a GridReference, got {type(ref).__name__}")
        _save(path, ref, key)
    return ref


def allen_cahn(
    n_modes: int = 512,
    dt: float = 5e-4,
    t_final: float = 1.0,
    n_times: int = 201,
    *,
    x_stride: int = 1,
    cached: bool = True,
) -> GridReference:
    """:func:`allen_cahn_reference` (JAX-PI's D and g, its initial condition) through
    :func:`cached_reference`; ``cached=False`` always solves."""
    params = {
        "n_modes": n_modes,
        "dt": dt,
        "t_final": t_final,
        "n_times": n_times,
        "x_stride": x_stride,
    }
    if not cached:
        return allen_cahn_reference(**params)
    return cached_reference("allen_cahn", params, lambda: allen_cahn_reference(**params))


def nonlinear_diffusion(
    n_cells: int = 512,
    t_final: float = 1.0,
    n_times: int = 101,
    *,
    output_stride: int = 4,
    wall_cells: int | None = None,
    cached: bool = True,
) -> GridReference:
    """:func:`nonlinear_diffusion_reference` (PIG's alpha = 0.05) through
    :func:`cached_reference`; ``cached=False`` always solves."""
    params = {
        "n_cells": n_cells,
        "t_final": t_final,
        "n_times": n_times,
        "output_stride": output_stride,
        "wall_cells": wall_cells,
    }
    if not cached:
        return nonlinear_diffusion_reference(**params)
    return cached_reference(
        "nonlinear_diffusion", params, lambda: nonlinear_diffusion_reference(**params)
    )
