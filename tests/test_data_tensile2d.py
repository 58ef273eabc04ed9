"""Tests of the Tensile2d-like generator: exact straight plate, meshes, cache, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("gmsh")
pytest.importorskip("skfem")
pytest.importorskip("meshio")

import gmsh

from sciml.data import (
    PlateShape,
    default_cache_dir,
    mesh_plate,
    random_plate,
    solve_tension,
    tensile2d,
    tensile2d_sample,
)
from sciml.data.tensile2d import INPUT_RANGES

COARSE = 0.15


def straight_exact(points, E, nu, P):
    """Uniaxial plane-strain tension: sigma_yy = P, u_x(0, y) = 0, u_y(x, 0) = 0."""
    exx = -nu * (1 + nu) / E * P
    eyy = (1 - nu**2) / E * P
    return exx * points[:, 0], eyy * points[:, 1], P * math.sqrt(1 - nu + nu**2)


@pytest.mark.parametrize("order", [1, 2])
def test_straight_plate_is_exact(order):
    s = tensile2d_sample(5, 1, mesh_size=0.12, amplitude=0.0, order=order)
    E, nu, P = s["inputs"]
    u1, u2, vm = straight_exact(s["points"], E, nu, P)
    np.testing.assert_allclose(s["u1"], u1, rtol=0, atol=1e-10)
    np.testing.assert_allclose(s["u2"], u2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(s["von_mises"], vm, rtol=0, atol=1e-10)
    assert not np.any(s["left"]) and not np.any(s["right"])


def test_solve_tension_stress_is_uniform():
    mesh = mesh_plate(PlateShape(np.zeros(3), np.zeros(3)), 0.2)
    sol = solve_tension(mesh.points, mesh.triangles, mesh.bottom, mesh.top, 0, 1.7, 0.3, 0.8)
    expected = np.broadcast_to([0.0, 0.8, 0.0], sol.stress.shape)
    np.testing.assert_allclose(sol.stress, expected, rtol=0, atol=1e-10)


def check_mesh(mesh, corners):
    points = mesh.points
    assert points.dtype == np.float64 and points.ndim == 2 and points.shape[1] == 2
    assert len(mesh.cells) == 1 and mesh.cells[0].type == "triangle"
    tri = mesh.cells[0].data
    assert tri.dtype == np.int64 and tri.shape[1] == 3
    np.testing.assert_array_equal(np.unique(tri), np.arange(len(points)))  # no orphans
    a, b, c = (points[tri[:, i]] for i in range(3))
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    assert np.all(area > 0)
    assert corners.dtype == np.int64 and corners.shape == (4,)
    np.testing.assert_array_equal(points[corners], [[0, 0], [1, 0], [1, 2], [0, 2]])


def assert_same(a, b):
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.shapes, b.shapes)
    for ma, mb in zip(a.meshes, b.meshes, strict=True):
        np.testing.assert_array_equal(ma.points, mb.points)
        np.testing.assert_array_equal(ma.cells[0].data, mb.cells[0].data)
    for name in a.fields:
        for fa, fb in zip(a.fields[name], b.fields[name], strict=True):
            np.testing.assert_array_equal(fa, fb)
    for name in a.scalars:
        np.testing.assert_array_equal(a.scalars[name], b.scalars[name])
    for ca, cb in zip(a.corners, b.corners, strict=True):
        np.testing.assert_array_equal(ca, cb)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("tensile2d")
    return root, tensile2d(3, seed=7, mesh_size=COARSE, cache_dir=root, progress=False)


def test_small_set_shapes_and_meshes(small):
    _, ds = small
    assert len(ds) == 3
    assert ds.inputs.shape == (3, 3) and ds.inputs.dtype == np.float64
    assert ds.input_names == ("E", "nu", "P")
    for j, (lo, hi) in enumerate(INPUT_RANGES):
        assert np.all((ds.inputs[:, j] >= lo) & (ds.inputs[:, j] <= hi))
    assert set(ds.fields) == {"u1", "u2", "von_mises"}
    assert set(ds.scalars) == {"max_von_mises", "max_u2"}
    assert ds.shapes.shape == (3, 2, 4)
    for i, mesh in enumerate(ds.meshes):
        check_mesh(mesh, ds.corners[i])
        for name in ds.fields:
            f = ds.fields[name][i]
            assert f.dtype == np.float64 and f.shape == (len(mesh.points),)
            assert np.all(np.isfinite(f))
        assert ds.scalars["max_von_mises"][i] == ds.fields["von_mises"][i].max()
        assert ds.scalars["max_u2"][i] == ds.fields["u2"][i].max()
        # Pulled up, held at the bottom: u2 = 0 there and grows upwards.
        y = mesh.points[:, 1]
        np.testing.assert_array_equal(ds.fields["u2"][i][y == 0.0], 0.0)
        assert np.all(ds.fields["u2"][i][y == 2.0] > 0)
        assert ds.fields["u1"][i][ds.corners[i][0]] == 0.0
    # The shapes really differ from the straight plate and from one another.
    assert np.all(np.abs(ds.shapes).max(axis=(1, 2)) > 0)
    assert not np.array_equal(ds.shapes[0], ds.shapes[1])


def test_wavy_sides_follow_the_sine_series(small):
    _, ds = small
    shape = PlateShape(ds.shapes[0, 0], ds.shapes[0, 1])
    p = ds.meshes[0].points
    near_left = np.abs(p[:, 0] - shape.x_left(p[:, 1])) < 1e-3
    near_right = np.abs(p[:, 0] - shape.x_right(p[:, 1])) < 1e-3
    assert near_left.sum() >= 2 / COARSE and near_right.sum() >= 2 / COARSE
    assert np.all(p[:, 0] >= shape.x_left(p[:, 1]) - 1e-3)
    assert np.all(p[:, 0] <= shape.x_right(p[:, 1]) + 1e-3)


def test_cache_round_trip_and_determinism(small):
    root, ds = small
    folders = [f for f in root.iterdir() if f.is_dir()]
    assert len(folders) == 1
    assert sorted(f.name for f in folders[0].glob("*.npz")) == [
        "000000.npz",
        "000001.npz",
        "000002.npz",
    ]
    assert not list(folders[0].glob("*.tmp"))
    assert_same(ds, tensile2d(3, seed=7, mesh_size=COARSE, cache_dir=root, progress=False))
    assert_same(ds, tensile2d(3, seed=7, mesh_size=COARSE, cache=False, progress=False))


def test_sample_does_not_depend_on_n(small):
    _, ds = small
    one = tensile2d(1, seed=7, mesh_size=COARSE, cache=False, progress=False)
    assert_same(one, ds.subset([0]))
    last = tensile2d_sample(7, 2, mesh_size=COARSE)
    np.testing.assert_array_equal(last["von_mises"], ds.fields["von_mises"][2])
    other = tensile2d(1, seed=8, mesh_size=COARSE, cache=False, progress=False)
    assert not np.array_equal(other.inputs, one.inputs)


def test_resume_after_lost_and_corrupt_files(small, tmp_path):
    _, ds = small
    first = tensile2d(2, seed=7, mesh_size=COARSE, cache_dir=tmp_path, progress=False)
    folder = next(f for f in tmp_path.iterdir() if f.is_dir())
    (folder / "000000.npz").write_bytes(b"not an npz")
    both = tensile2d(3, seed=7, mesh_size=COARSE, cache_dir=tmp_path, progress=False)
    assert_same(both, ds)
    assert_same(first, ds.subset([0, 1]))
    assert len(list(folder.glob("*.npz"))) == 3


def test_workers_give_the_same_samples(small, tmp_path):
    _, ds = small
    par = tensile2d(3, seed=7, mesh_size=COARSE, cache_dir=tmp_path, workers=2, progress=False)
    assert_same(par, ds)


def test_parameters_key_the_cache(tmp_path):
    tensile2d(1, mesh_size=0.3, cache_dir=tmp_path, progress=False)
    tensile2d(1, mesh_size=0.3, amplitude=0.1, cache_dir=tmp_path, progress=False)
    tensile2d(1, seed=1, mesh_size=0.3, cache_dir=tmp_path, progress=False)
    assert len([f for f in tmp_path.iterdir() if f.is_dir()]) == 3


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tensile2d"
    monkeypatch.setenv("SCIML_CACHE_DIR", "")
    assert default_cache_dir().parts[-3:] == (".cache", "sciml", "tensile2d")


def test_subset(small):
    _, ds = small
    sub = ds.subset(np.array([2, 0]))
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.inputs, ds.inputs[[2, 0]])
    assert sub.meshes[0] is ds.meshes[2]
    with pytest.raises(ValueError, match="indices"):
        ds.subset([3])
    with pytest.raises(ValueError, match="indices"):
        ds.subset([0.5])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be"),
        ({"n": 2.0}, TypeError, "n must be an int"),
        ({"n": True}, TypeError, "n must be an int"),
        ({"seed": -1}, ValueError, "seed"),
        ({"mesh_size": 0.0}, ValueError, "mesh_size"),
        ({"mesh_size": -0.1}, ValueError, "mesh_size"),
        ({"mesh_size": float("nan")}, ValueError, "mesh_size"),
        ({"mesh_size": 1.0}, ValueError, "mesh_size"),
        ({"mesh_size": "0.1"}, TypeError, "mesh_size"),
        ({"amplitude": -0.1}, ValueError, "amplitude"),
        ({"amplitude": 0.3}, ValueError, "narrower"),
        ({"n_modes": 0}, ValueError, "n_modes"),
        ({"order": 3}, ValueError, "order"),
        ({"workers": 0}, ValueError, "workers"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    args = {"n": 1, "cache_dir": tmp_path, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        tensile2d(**args)
    assert not list(tmp_path.iterdir())


def test_bad_shapes_and_solver_inputs():
    with pytest.raises(ValueError, match="too narrow"):
        PlateShape(np.array([0.4]), np.array([-0.4]))
    with pytest.raises(ValueError, match="one shape"):
        PlateShape(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="mesh_size"):
        mesh_plate(PlateShape(np.zeros(1), np.zeros(1)), 0.0)
    mesh = mesh_plate(PlateShape(np.zeros(1), np.zeros(1)), 0.5)
    args = (mesh.points, mesh.triangles, mesh.bottom, mesh.top, 0)
    with pytest.raises(ValueError, match="nu"):
        solve_tension(*args, 1.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="E must"):
        solve_tension(*args, 0.0, 0.3, 1.0)


def test_random_plate_is_reproducible_and_wide():
    a = random_plate(np.random.default_rng([3, 4]))
    b = random_plate(np.random.default_rng([3, 4]))
    np.testing.assert_array_equal(a.left, b.left)
    assert a.left.shape == (4,) and a.min_width() > 0.45


def test_user_gmsh_session_is_left_alone():
    assert not gmsh.isInitialized()
    gmsh.initialize(argv=[], readConfigFiles=False, interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("mine")
        gmsh.model.geo.addPoint(0.5, 0.5, 0.0)
        gmsh.model.geo.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.7)
        models = gmsh.model.list()
        mesh = mesh_plate(PlateShape(np.zeros(2), np.zeros(2)), 0.4)
        assert len(mesh.points) > 4
        assert gmsh.isInitialized()
        assert gmsh.model.list() == models
        assert gmsh.model.getCurrent() == "mine"
        assert gmsh.model.getEntities(0) == [(0, 1)]
        assert gmsh.option.getNumber("Mesh.MeshSizeMax") == 0.7
    finally:
        gmsh.finalize()
    mesh_plate(PlateShape(np.zeros(2), np.zeros(2)), 0.4)
    assert not gmsh.isInitialized()
