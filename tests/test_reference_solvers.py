"""sciml.pde.reference_solvers: convergence of the solvers, the interpolator, the cache."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sciml.pde import reference_solvers as rs
from sciml.pde.reference_solvers import (
    GridReference,
    allen_cahn,
    allen_cahn_reference,
    cached_reference,
    nonlinear_diffusion,
    nonlinear_diffusion_initial,
    nonlinear_diffusion_reference,
    nonlinear_diffusion_stable_dt,
)


def _orders(errors: list[float], ratio: float = 2.0) -> np.ndarray:
    e = np.asarray(errors)
    return np.log(e[:-1] / e[1:]) / math.log(ratio)


# --------------------------------------------------------------------------------------
# Allen–Cahn: ETDRK4 + Fourier
# --------------------------------------------------------------------------------------


def test_etdrk4_is_fourth_order_in_time():
    """Errors at t = 0.5 against a 10x finer step fall 16-fold per halving of dt."""
    ref = allen_cahn_reference(128, dt=1 / 2000, t_final=0.5, n_times=2).values[-1]
    errors = [
        abs(allen_cahn_reference(128, dt=dt, t_final=0.5, n_times=2).values[-1] - ref).max()
        for dt in (1 / 50, 1 / 100, 1 / 200)
    ]
    orders = _orders(errors)
    assert np.all((orders > 3.5) & (orders < 4.5)), (errors, orders)
    assert errors[-1] < 1e-7


def test_fourier_error_is_spectral_for_a_smooth_periodic_start():
    """With a smooth periodic u0 the space error falls faster than any power of n."""

    def u0(x):
        return 0.5 * np.sin(np.pi * x) + 0.2 * np.cos(2 * np.pi * x)

    ref = allen_cahn_reference(128, 1e-3, 0.2, 3, x_stride=8, initial=u0).values
    errors = [
        abs(allen_cahn_reference(n, 1e-3, 0.2, 3, x_stride=n // 16, initial=u0).values - ref).max()
        for n in (16, 32, 64)
    ]
    drops = np.asarray(errors[:-1]) / np.asarray(errors[1:])
    assert drops[0] > 10 and drops[1] > 10 * drops[0], errors
    assert errors[-1] < 1e-9


def test_fourier_error_drops_with_modes_for_the_jaxpi_start():
    """x^2 cos(pi x) has a derivative jump at x = +-1 (u0'(+-1) = -+2), so the decay is
    algebraic at early times; over the whole run the error still falls >= 5x per doubling."""
    ref = allen_cahn_reference(2048, 1e-3, 1.0, 11, x_stride=16).values
    errors = [
        np.linalg.norm(allen_cahn_reference(n, 1e-3, 1.0, 11, x_stride=n // 128).values - ref)
        / np.linalg.norm(ref)
        for n in (128, 256, 512)
    ]
    drops = np.asarray(errors[:-1]) / np.asarray(errors[1:])
    assert np.all(drops > 5), errors
    assert errors[-1] < 2e-5


def test_allen_cahn_grid_symmetry_and_bounds():
    ref = allen_cahn_reference(128, dt=1e-3, n_times=11)
    t, x = ref.axes
    assert ref.names == ("t", "x") and ref.periodic == (False, True)
    assert ref.values.shape == (11, 128) and ref.values.dtype == np.float64
    np.testing.assert_allclose(t, np.linspace(0, 1, 11))
    np.testing.assert_allclose(x, -1 + 2 * np.arange(128) / 128)
    np.testing.assert_allclose(ref.values[0], x**2 * np.cos(np.pi * x), atol=1e-15)
    # u0 is even, so u(t, x) = u(t, -x): node j mirrors node (n - j) mod n
    mirror = ref.values[:, (-np.arange(128)) % 128]
    np.testing.assert_allclose(ref.values, mirror, atol=1e-10)
    assert np.abs(ref.values).max() < 1.0 + 1e-3


def test_etdrk4_coefficients_match_the_closed_forms_away_from_zero():
    z = np.array([-40.0, -3.0, -1.5, 2.0])
    h = 0.1
    e, e2, q, f1, f2, f3 = rs._etdrk4_coefficients(z / h, h, 32)
    np.testing.assert_allclose(e, np.exp(z), rtol=1e-14)
    np.testing.assert_allclose(e2, np.exp(z / 2), rtol=1e-14)
    np.testing.assert_allclose(q, h * (np.exp(z / 2) - 1) / z, rtol=1e-12)
    ez = np.exp(z)
    np.testing.assert_allclose(f1, h * (-4 - z + ez * (4 - 3 * z + z**2)) / z**3, rtol=1e-10)
    np.testing.assert_allclose(f2, h * (2 + z + ez * (z - 2)) / z**3, rtol=1e-10)
    np.testing.assert_allclose(f3, h * (-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, rtol=1e-10)
    # and at z = 0 they take their limits 1/2, 1/6, 1/6, 1/6 (times h)
    _, _, q0, g1, g2, g3 = rs._etdrk4_coefficients(np.zeros(1), h, 32)
    np.testing.assert_allclose(
        [q0[0], g1[0], g2[0], g3[0]], h * np.array([1 / 2, 1 / 6] * 1 + [1 / 6] * 2)
    )


# --------------------------------------------------------------------------------------
# Nonlinear diffusion: finite differences + RK4
# --------------------------------------------------------------------------------------


def test_finite_differences_are_second_order_in_space():
    """Successive refinements 32 -> 64 -> 128 cells (compared on the h = 1/16 nodes,
    wall-adjacent ones included, at 11 times) differ 4x less per halving of h."""
    sols = {
        n: nonlinear_diffusion_reference(n, 1.0, 11, output_stride=n // 32, wall_cells=0).values
        for n in (32, 64, 128)
    }
    d1, d2 = sols[32] - sols[64], sols[64] - sols[128]
    order_max = math.log2(abs(d1).max() / abs(d2).max())
    order_l2 = math.log2(np.linalg.norm(d1) / np.linalg.norm(d2))
    assert 1.8 < order_max < 2.2 and 1.8 < order_l2 < 2.2, (order_max, order_l2)


def test_rk4_is_fourth_order_in_time():
    t_final = 0.5
    u = [
        nonlinear_diffusion_reference(32, t_final, 2, output_stride=1, dt=t_final / m).values[-1]
        for m in (8, 16, 32)
    ]
    order = math.log2(abs(u[0] - u[1]).max() / abs(u[1] - u[2]).max())
    assert 3.5 < order < 4.5, order
    fine = nonlinear_diffusion_reference(32, t_final, 2, output_stride=1, dt=t_final / 512)
    errors = [abs(v - fine.values[-1]).max() for v in u]
    assert np.all((_orders(errors) > 3.5) & (_orders(errors) < 4.5)), errors


def test_nonlinear_diffusion_grid_and_physics():
    ref = nonlinear_diffusion_reference(32, 1.0, 6, output_stride=4)  # wall_cells = 8
    _, x, y = ref.axes
    assert ref.names == ("t", "x", "y") and ref.periodic == (False, False, False)
    h = 2 / 32
    expected = np.r_[-1 + h * np.arange(9), [-0.25, 0.0, 0.25], 1 - h * np.arange(8, -1, -1)]
    np.testing.assert_allclose(x, expected, atol=1e-15)
    np.testing.assert_array_equal(x, y)
    assert ref.values.shape == (6, x.size, y.size)
    u = ref.values
    interior = np.s_[1:-1, 1:-1]
    xx, yy = np.meshgrid(x, y, indexing="ij")
    np.testing.assert_allclose(u[0][interior], nonlinear_diffusion_initial(xx, yy)[interior])
    for wall in (u[:, 0, :], u[:, -1, :], u[:, :, 0], u[:, :, -1]):
        assert np.all(wall == 0.0)
    assert u.min() >= 0.0
    peaks = u.max(axis=(1, 2))
    assert np.all(np.diff(peaks) < 0)  # maximum principle; here it strictly decays


def test_stable_dt_bound_and_refusal():
    dt_max = nonlinear_diffusion_stable_dt(32, 0.05, 0.4)
    assert dt_max == pytest.approx(2.785293563405282 * (2 / 32) ** 2 / (8 * 0.05 * 0.4))
    with pytest.raises(ValueError, match="dt"):
        nonlinear_diffusion_reference(32, 1.0, 2, dt=0.5)


# --------------------------------------------------------------------------------------
# GridReference interpolation
# --------------------------------------------------------------------------------------


def _smooth3(p: np.ndarray) -> np.ndarray:
    return np.exp(-p[:, 0]) * np.sin(2 * p[:, 1]) * np.cos(3 * p[:, 2])


def test_cubic_interpolation_of_a_smooth_field():
    """exp(-t) sin(2x) cos(3y) on a 21 x 41 x 41 grid: cubic error < 2e-5, linear ~4e-3."""
    axes = (np.linspace(0, 1, 21), np.linspace(-1, 1, 41), np.linspace(-1, 1, 41))
    mesh = np.meshgrid(*axes, indexing="ij")
    values = np.exp(-mesh[0]) * np.sin(2 * mesh[1]) * np.cos(3 * mesh[2])
    ref = GridReference(("t", "x", "y"), axes, values, (False, False, False))
    rng = np.random.default_rng(0)
    pts = rng.uniform([0, -1, -1], [1, 1, 1], size=(4000, 3))
    cubic = ref(pts)
    assert cubic.shape == (4000,) and cubic.dtype == np.float64
    assert abs(cubic - _smooth3(pts)).max() < 2e-5
    assert 1e-4 < abs(ref(pts, method="linear") - _smooth3(pts)).max() < 5e-3
    # grid nodes are reproduced (including the corners)
    nodes = ref.grid_points()
    np.testing.assert_allclose(ref(nodes), values.ravel(), atol=1e-12)


def test_periodic_axis_is_interpolated_across_the_seam():
    """u = cos(t) sin(pi x) + 0.3 cos(3 pi x), x periodic with 40 nodes on [-1, 1)."""
    t = np.linspace(0, 1, 11)
    x = -1 + 2 * np.arange(40) / 40

    def exact(p):
        return np.cos(p[:, 0]) * np.sin(np.pi * p[:, 1]) + 0.3 * np.cos(3 * np.pi * p[:, 1])

    tt, xx = np.meshgrid(t, x, indexing="ij")
    ref = GridReference(
        ("t", "x"),
        (t, x),
        exact(np.stack([tt.ravel(), xx.ravel()], 1)).reshape(11, 40),
        (False, True),
    )
    assert ref.period(1) == pytest.approx(2.0)
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, 1, 3000), rng.uniform(-1, 1, 3000)])
    seam = np.column_stack([rng.uniform(0, 1, 500), rng.uniform(x[-1], 1.0, 500)])
    for p in (pts, seam):
        assert abs(ref(p) - exact(p)).max() < 1e-4
    shifted = pts + np.array([0.0, 4.0])  # two periods away
    np.testing.assert_allclose(ref(shifted), ref(pts), atol=1e-12)
    np.testing.assert_allclose(ref(pts - np.array([0.0, 2.0])), ref(pts), atol=1e-12)
    assert abs(ref(seam, method="linear") - exact(seam)).max() < 3e-2
    with pytest.raises(ValueError, match="not periodic"):
        ref.period(0)


def test_interpolator_rejects_bad_points_and_grids():
    t, x = np.linspace(0, 1, 5), np.linspace(-1, 1, 6)
    ref = GridReference(("t", "x"), (t, x), np.zeros((5, 6)), (False, False))
    with pytest.raises(ValueError, match="points"):
        ref(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="leave axis 't'"):
        ref(np.array([[1.5, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        ref(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="method"):
        ref(np.zeros((1, 2)), method="quadratic")
    with pytest.raises(ValueError, match="axis 'x'"):
        GridReference(("t", "x"), (t, x[:-1]), np.zeros((5, 6)), (False, False))
    with pytest.raises(ValueError, match="increasing"):
        GridReference(("t", "x"), (t, x[::-1]), np.zeros((5, 6)), (False, False))
    with pytest.raises(ValueError, match="uniform"):
        GridReference(("t", "x"), (t, x**3), np.zeros((5, 6)), (False, True))
    with pytest.raises(ValueError, match="one entry per dimension"):
        GridReference(("t",), (t, x), np.zeros((5, 6)), (False, False))
    with pytest.raises(ValueError, match="distinct"):
        GridReference(("t", "t"), (t, x), np.zeros((5, 6)), (False, False))


# --------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------


def _tiny_reference(scale: float = 1.0) -> GridReference:
    t, x = np.linspace(0, 1, 5), -1 + 2 * np.arange(8) / 8
    values = scale * np.add.outer(t, np.sin(np.pi * x))
    return GridReference(("t", "x"), (t, x), values, (False, True))


def test_cache_round_trip_and_recompute_on_corruption(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return _tiny_reference()

    params = {"a": 1, "b": [1.5, "x"]}
    first = cached_reference("tiny", params, compute)
    files = list(tmp_path.glob("tiny-*.npz"))
    assert len(calls) == 1 and len(files) == 1
    again = cached_reference("tiny", {"b": [1.5, "x"], "a": 1}, compute)  # key order is irrelevant
    assert len(calls) == 1
    assert again.names == first.names and again.periodic == first.periodic
    for a, b in zip(again.axes, first.axes, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again.values, first.values)
    pts = np.array([[0.3, 0.95], [0.7, -0.2]])
    np.testing.assert_allclose(again(pts), first(pts), rtol=0, atol=0)

    cached_reference("tiny", {"a": 2, "b": [1.5, "x"]}, compute)  # other params, other file
    assert len(calls) == 2 and len(list(tmp_path.glob("tiny-*.npz"))) == 2

    path = files[0]
    for damage in (b"not a zip file", path.read_bytes()[: path.stat().st_size // 2], b""):
        path.write_bytes(damage)
        cached_reference("tiny", params, compute)
        assert path.stat().st_size > 100  # rewritten whole
        np.testing.assert_array_equal(
            cached_reference("tiny", params, compute).values, first.values
        )
    assert len(calls) == 5
    assert not list(tmp_path.glob("*.tmp"))


def test_cache_rejects_a_file_stored_for_other_params(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    cached_reference("tiny", {"a": 1}, _tiny_reference)
    (src,) = tmp_path.glob("tiny-*.npz")
    target = rs._cache_path("tiny", {"a": 2})
    src.replace(target)  # a stale file under the other key's name
    ref = cached_reference("tiny", {"a": 2}, lambda: _tiny_reference(2.0))
    np.testing.assert_array_equal(ref.values, _tiny_reference(2.0).values)


def test_cache_dir_default(monkeypatch, tmp_path):
    monkeypatch.delenv("SCIML_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert rs.cache_dir() == tmp_path / ".cache" / "sciml" / "references"


def test_public_cached_functions(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    ac = allen_cahn(n_modes=32, dt=1e-2, t_final=0.1, n_times=3)
    np.testing.assert_array_equal(ac.values, allen_cahn_reference(32, 1e-2, 0.1, 3).values)
    nd = nonlinear_diffusion(n_cells=16, t_final=0.1, n_times=3, output_stride=2)
    direct = nonlinear_diffusion_reference(16, 0.1, 3, output_stride=2)
    np.testing.assert_array_equal(nd.values, direct.values)
    names = sorted(p.name.split("-")[0] for p in tmp_path.glob("*.npz"))
    assert names == ["allen_cahn", "nonlinear_diffusion"]
    # the second calls come from the files
    assert allen_cahn(n_modes=32, dt=1e-2, t_final=0.1, n_times=3).values.shape == (3, 32)
    uncached = nonlinear_diffusion(16, 0.1, 3, output_stride=2, cached=False)
    np.testing.assert_array_equal(uncached.values, direct.values)


# --------------------------------------------------------------------------------------
# Argument checking
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_modes": 7}, "n_modes"),
        ({"n_modes": 4}, "n_modes"),
        ({"n_modes": 64.0}, "n_modes"),
        ({"dt": 0.0}, "dt"),
        ({"dt": float("nan")}, "dt"),
        ({"t_final": -1.0}, "t_final"),
        ({"n_times": 1}, "n_times"),
        ({"x_stride": 3}, "x_stride"),
        ({"diffusion": 0.0}, "diffusion"),
        ({"contour_points": 2}, "contour_points"),
        ({"initial": lambda x: x[:-1]}, "initial"),
    ],
)
def test_allen_cahn_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        allen_cahn_reference(**({"n_modes": 32, "n_times": 2, "t_final": 0.01} | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_cells": 2}, "n_cells"),
        ({"n_cells": True}, "n_cells"),
        ({"n_cells": 30, "output_stride": 4}, "output_stride"),
        ({"output_stride": 0}, "output_stride"),
        ({"wall_cells": -1}, "wall_cells"),
        ({"wall_cells": 9}, "wall_cells"),
        ({"alpha": -0.05}, "alpha"),
        ({"cfl": 1.5}, "cfl"),
        ({"dt": "fast"}, "dt"),
        ({"n_times": 0}, "n_times"),
        ({"t_final": 0}, "t_final"),
    ],
)
def test_nonlinear_diffusion_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        nonlinear_diffusion_reference(**({"n_cells": 16, "n_times": 2, "t_final": 0.01} | kwargs))


def test_cache_bad_name(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="name"):
        cached_reference("../escape", {}, _tiny_reference)
    with pytest.raises(TypeError, match="compute"):
        cached_reference("tiny", {}, lambda: np.zeros(3))
