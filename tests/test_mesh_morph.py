"""Mesh morphing (sciml.mesh): Floater and RBF kernels against their numpy/scipy twins,
their properties (circle boundary, landmarks, no folds, exact interpolation), mesh
quality, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import Delaunay

import sciml
from sciml.mesh import floater_morph, mesh_quality, rbf_morph, signed_measures
from sciml.mesh.morph_reference import (
    boundary_angles,
    floater_morph_reference,
    mesh_edges,
    rbf_morph_reference,
    signed_measures_reference,
)


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    sciml.set_num_threads(None)


def ccw(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The triangles re-ordered to be counter-clockwise."""
    t = np.array(triangles, dtype=np.int64)
    flip = signed_measures_reference(points, t) < 0
    t[flip] = t[flip][:, [0, 2, 1]]
    return t


def ellipse_mesh(n_boundary: int, n_interior: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Delaunay mesh of a rotated ellipse: jittered boundary nodes, random interior ones."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * np.pi, n_boundary))
    t = np.linspace(0, 2 * np.pi, n_boundary, endpoint=False) + 0.3 * (t - t.mean()) / n_boundary
    bnd = np.stack([2.0 * np.cos(t), 0.7 * np.sin(t)], 1)
    r = np.sqrt(rng.uniform(0, 0.85**2, n_interior))
    a = rng.uniform(0, 2 * np.pi, n_interior)
    inner = np.stack([2.0 * r * np.cos(a), 0.7 * r * np.sin(a)], 1)
    pts = np.vstack([bnd, inner])
    c, s = np.cos(0.4), np.sin(0.4)
    pts = pts @ np.array([[c, s], [-s, c]]) + np.array([0.3, -1.2])
    return pts, Delaunay(pts).simplices.astype(np.int64)


def wavy_plate(nx: int, ny: int, amp: float = 0.07) -> tuple[np.ndarray, np.ndarray]:
    """A structured mesh of the unit square with wavy (non-convex) edges."""
    x, y = np.meshgrid(np.linspace(0, 1, nx), np.linspace(0, 1, ny), indexing="ij")
    px = x + amp * np.sin(2 * np.pi * y) * (0.5 + x)
    py = y + amp * np.sin(3 * np.pi * x) * (0.3 + y)
    pts = np.stack([px.ravel(), py.ravel()], 1)
    i, j = np.meshgrid(np.arange(nx - 1), np.arange(ny - 1), indexing="ij")
    v = (i * ny + j).ravel()
    tri = np.concatenate(
        [np.stack([v, v + ny, v + ny + 1], 1), np.stack([v, v + ny + 1, v + 1], 1)]
    )
    return pts, tri


def disk_mesh(rings: int) -> tuple[np.ndarray, np.ndarray]:
    """A unit-disk mesh whose boundary nodes are equally spaced, one at angle pi."""
    pts = [np.zeros((1, 2))]
    for k in range(1, rings + 1):
        a = np.pi + 2 * np.pi * np.arange(6 * k) / (6 * k)
        pts.append(k / rings * np.stack([np.cos(a), np.sin(a)], 1))
    p = np.vstack(pts)
    return p, Delaunay(p).simplices.astype(np.int64)


def annulus(n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A structured ring mesh: two boundary loops."""
    a = 2 * np.pi * np.arange(n) / n
    p = np.vstack([np.stack([np.cos(a), np.sin(a)], 1), 2 * np.stack([np.cos(a), np.sin(a)], 1)])
    i = np.arange(n)
    j = (i + 1) % n
    tri = np.concatenate([np.stack([i, j, n + i], 1), np.stack([j, n + j, n + i], 1)])
    return p, tri


MESHES = {
    "ellipse": ellipse_mesh(40, 150, 0),
    "ellipse_small": ellipse_mesh(5, 3, 1),
    "wavy": wavy_plate(14, 9),
    "disk": disk_mesh(5),
    "one_triangle": (np.array([[0.0, 0.0], [1.0, 0.0], [0.2, 0.9]]), np.array([[0, 1, 2]])),
}


def assert_close(a: np.ndarray, b: np.ndarray, atol: float = 1e-10) -> None:
    assert a.dtype == np.float64 and a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=0, atol=atol)


# ---------------------------------------------------------------- Floater


@pytest.mark.parametrize("name", sorted(MESHES))
def test_floater_matches_reference(name):
    p, t = MESHES[name]
    assert_close(floater_morph(p, t), floater_morph_reference(p, t))
    assert_close(floater_morph(p, t.astype(np.int32)), floater_morph_reference(p, t))


@given(
    nb=st.integers(3, 40),
    ni=st.integers(0, 80),
    seed=st.integers(0, 2**31),
    with_landmarks=st.booleans(),
)
@settings(max_examples=40, deadline=None)
def test_floater_matches_reference_random(nb, ni, seed, with_landmarks):
    p, t = ellipse_mesh(nb, ni, seed)
    kwargs = {}
    if with_landmarks:
        _, bnd = mesh_edges(p, t)
        rng = np.random.default_rng(seed)
        k = int(rng.integers(1, min(len(bnd), 5) + 1))
        pos = np.sort(rng.choice(len(bnd), k, replace=False))
        ang = np.sort(rng.uniform(0, 2 * np.pi - 1e-3, k)) + 2 * np.pi * rng.integers(-2, 3, k)
        kwargs = {"landmarks": bnd[pos], "angles": ang}
    out = floater_morph(p, t, **kwargs)
    assert_close(out, floater_morph_reference(p, t, **kwargs))
    assert mesh_quality(out, t, reference_points=p).n_inverted == 0


@pytest.mark.parametrize("name", ["ellipse", "wavy", "disk"])
def test_floater_properties(name):
    p, t = MESHES[name]
    t = ccw(p, t)
    out = floater_morph(p, t)
    edges, bnd = mesh_edges(p, t)
    # boundary on the unit circle, by arc length, from the leftmost node at pi, CCW
    np.testing.assert_allclose(np.hypot(*out[bnd].T), 1.0, rtol=0, atol=1e-14)
    theta = np.unwrap(np.arctan2(out[bnd, 1], out[bnd, 0]))
    start = int(np.lexsort((p[bnd, 1], p[bnd, 0]))[0])
    theta = np.roll(theta, -start)
    theta = np.unwrap(theta - theta[0]) + np.pi
    assert np.all(np.diff(theta) > 0)
    seg = np.hypot(*(np.roll(p[bnd], -1, 0) - p[bnd]).T)
    seg = np.roll(seg, -start)
    np.testing.assert_allclose(np.diff(np.append(theta, 3 * np.pi)), 2 * np.pi * seg / seg.sum())
    # the walk from the leftmost node goes down first
    b = np.roll(bnd, -start)
    assert p[b[1], 1] < p[b[0], 1] or p[b[-1], 1] > p[b[0], 1]
    # interior nodes are the mean of their neighbours
    n = len(p)
    inner = np.setdiff1d(np.arange(n), bnd)
    nbr_sum = np.zeros((n, 2))
    deg = np.bincount(edges.ravel(), minlength=n)
    np.add.at(nbr_sum, edges[:, 0], out[edges[:, 1]])
    np.add.at(nbr_sum, edges[:, 1], out[edges[:, 0]])
    resid = out[inner] - nbr_sum[inner] / deg[inner, None]
    assert np.abs(resid).max() < 1e-12
    # no folded triangle (Tutte: convex target)
    q = mesh_quality(out, t)
    assert q.ok and q.n_cells == len(t) and q.min_measure > 0


def test_floater_disk_is_shape_consistent():
    p, t = MESHES["disk"]
    out = floater_morph(p, t)
    _, bnd = mesh_edges(p, t)
    # an equally spaced unit-circle boundary starting at angle pi stays where it is
    assert_close(out[bnd], p[bnd], atol=1e-14)
    # and morphing the morphed mesh changes nothing
    assert_close(floater_morph(out, t), out, atol=1e-12)


def test_floater_reverse_orientation_and_threads():
    p, t = MESHES["ellipse"]
    out = floater_morph(p, t)
    assert_close(floater_morph(p, t[:, ::-1].copy()), out, atol=1e-13)
    # large enough for the parallel ordering and factorisation: the same bits anyway
    p, t = wavy_plate(70, 60)
    sciml.set_num_threads(1)
    one = floater_morph(p, t)
    for threads in (2, 3):
        sciml.set_num_threads(threads)
        assert np.array_equal(floater_morph(p, t), one)


def test_floater_mirrored_mesh_still_ccw():
    p, t = MESHES["wavy"]
    m = p * np.array([1.0, -1.0])
    out = floater_morph(m, t)
    _, bnd = mesh_edges(m, t)
    theta = np.unwrap(np.arctan2(out[bnd, 1], out[bnd, 0]))
    assert theta[-1] > theta[0]  # the loop runs counter-clockwise on the circle too
    assert mesh_quality(out, t, reference_points=m).n_inverted == 0


@pytest.mark.parametrize("offset", [0, 2, -3])
def test_landmarks_exactly_at_their_angles(offset):
    p, t = MESHES["wavy"]
    _, bnd = mesh_edges(p, t)
    lm = bnd[[3, 10, 20, 30]]
    angles = np.array([0.1, 1.0, 2.5, 4.0]) + 2 * np.pi * offset
    angles[2] += 2 * np.pi  # each angle may carry its own multiple of 2 pi
    out = floater_morph(p, t, landmarks=lm, angles=angles)
    assert_close(out, floater_morph_reference(p, t, landmarks=lm, angles=angles))
    np.testing.assert_allclose(out[lm, 0], np.cos(angles), rtol=0, atol=1e-15)
    np.testing.assert_allclose(out[lm, 1], np.sin(angles), rtol=0, atol=1e-15)
    # between landmarks 0 and 1: arc length spacing over [0.1, 1.0]
    th = boundary_angles(p, bnd, lm, angles)
    seg = np.hypot(*(p[bnd[4:11]] - p[bnd[3:10]]).T)
    np.testing.assert_allclose(np.diff(th[3:11]), 0.9 * seg / seg.sum())
    assert mesh_quality(out, t).ok


def test_single_landmark_matches_default_convention():
    p, t = MESHES["ellipse"]
    _, bnd = mesh_edges(p, t)
    start = bnd[np.lexsort((p[bnd, 1], p[bnd, 0]))[0]]
    assert_close(floater_morph(p, t, [start], [np.pi]), floater_morph(p, t), atol=1e-15)


# ---------------------------------------------------------------- Floater errors


def _bowtie():
    p = np.array([[0, 0], [1, 0], [1, 1], [-1, 0], [-1, -1.0]])
    return p, np.array([[0, 1, 2], [0, 3, 4]])


def _nonmanifold():
    p = np.array([[0, 0], [1, 0], [0.5, 1], [0.5, -1], [0.5, 0.5]])
    return p, np.array([[0, 1, 2], [0, 3, 1], [0, 1, 4]])


BAD_MESHES = {
    "hole": (*annulus(), r"boundary has 2 loops"),
    "two_parts": (
        np.array([[0, 0], [1, 0], [0, 1], [5, 5], [6, 5], [5, 6.0]]),
        np.array([[0, 1, 2], [3, 4, 5]]),
        r"2 loops",
    ),
    "pinched": (*_bowtie(), r"boundary node 0 is on 4 boundary edges"),
    "nonmanifold": (*_nonmanifold(), r"edge \(0, 1\) is shared by 3 triangles"),
    "out_of_range": (*MESHES["one_triangle"][:1], np.array([[0, 1, 3]]), r"refers to node 3"),
    "repeat": (MESHES["one_triangle"][0], np.array([[0, 1, 1]]), r"repeats a node"),
    "zero_area": (np.array([[0, 0], [1, 0], [2, 0.0]]), np.array([[0, 1, 2]]), r"zero area"),
    "nan": (np.array([[0, 0], [1, np.nan], [0, 1]]), np.array([[0, 1, 2]]), r"points\[1, 1\]"),
    "inf": (np.array([[0, 0], [1, 0], [0, np.inf]]), np.array([[0, 1, 2]]), r"not finite"),
    "unused": (
        np.array([[0, 0], [1, 0], [0, 1], [3, 3.0]]),
        np.array([[0, 1, 2]]),
        r"node 3 is not used",
    ),
    "empty": (np.zeros((3, 2)), np.zeros((0, 3), dtype=np.int64), r"empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_MESHES))
def test_floater_bad_mesh(name):
    p, t, msg = BAD_MESHES[name]
    with pytest.raises(ValueError, match=msg):
        floater_morph(p, t)
    with pytest.raises(ValueError):
        floater_morph_reference(p, t)


def test_floater_bad_shapes_and_dtypes():
    p, t = MESHES["one_triangle"]
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        floater_morph(np.zeros((3, 3)), t)
    with pytest.raises(ValueError, match=r"triangles must have shape \(M, 3\)"):
        floater_morph(p, np.array([[0, 1, 2, 0]]))
    with pytest.raises(TypeError, match="triangles must be an integer array"):
        floater_morph(p, t.astype(np.float64))
    with pytest.raises(ValueError, match=r"triangles\[0, 2\] = -1 is negative"):
        floater_morph(p, np.array([[0, 1, -1]]))
    with pytest.raises(TypeError, match="points must hold real numbers"):
        floater_morph(p.astype(str), t)


@pytest.mark.parametrize(
    ("landmarks", "angles", "msg"),
    [
        ([0], None, "given together"),
        (None, [1.0], "given together"),
        ([], [], "empty"),
        ([5], [0.0], "is not a boundary node"),
        (["b3", "b3"], [0.0, 1.0], "duplicate landmark"),
        (["b3", "b20", "b10"], [0.0, 1.0, 2.0], "counter-clockwise boundary order"),
        (["b3", "b10", "b20"], [0.0, 2.0, 1.0], "do not increase going once round"),
        (["b3", "b10"], [0.0, 2 * np.pi], "same point of the circle"),
        (["b3", "b10"], [0.0], "angles has 1 values but there are 2"),
        (["b3"], [np.nan], "not finite"),
        ([-1], [0.0], "is negative"),
        ([10**6], [0.0], "not a boundary node"),
    ],
)
def test_floater_bad_landmarks(landmarks, angles, msg):
    p, t = MESHES["wavy"]
    _, bnd = mesh_edges(p, t)
    inner = np.setdiff1d(np.arange(len(p)), bnd)
    if landmarks is not None:
        landmarks = [
            int(bnd[int(v[1:])]) if isinstance(v, str) else (int(inner[0]) if v == 5 else v)
            for v in landmarks
        ]
    with pytest.raises(ValueError, match=msg):
        floater_morph(p, t, landmarks=landmarks, angles=angles)
    if landmarks is not None and angles is not None and msg not in ("is negative",):
        with pytest.raises(ValueError):
            floater_morph_reference(p, t, landmarks=landmarks, angles=angles)


# ---------------------------------------------------------------- RBF


def controls(dim: int, b: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (b, dim)), 0.1 * rng.standard_normal((b, dim))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize(("kernel", "rho"), [("thin_plate", None), ("wendland", 0.8)])
def test_rbf_matches_reference_and_interpolates(dim, kernel, rho):
    c, u = controls(dim, 60, dim)
    x = np.random.default_rng(7).uniform(-1.5, 1.5, (500, dim))
    out = rbf_morph(x, c, u, kernel, rho)
    assert_close(out, rbf_morph_reference(x, c, u, kernel, rho), atol=1e-10)
    assert_close(rbf_morph(c, c, u, kernel, rho), c + u, atol=1e-10)


@given(
    dim=st.sampled_from([2, 3]),
    b=st.integers(4, 40),
    n=st.integers(0, 60),
    seed=st.integers(0, 2**31),
    wendland=st.booleans(),
    rho=st.floats(0.05, 3.0),
)
@settings(max_examples=40, deadline=None)
def test_rbf_random(dim, b, n, seed, wendland, rho):
    c, u = controls(dim, b, seed)
    x = np.random.default_rng(seed + 1).uniform(-2, 2, (n, dim))
    kernel, r = ("wendland", rho) if wendland else ("thin_plate", None)
    try:
        ref = rbf_morph_reference(x, c, u, kernel, r)
    except np.linalg.LinAlgError:  # pragma: no cover - random controls are unisolvent
        return
    assert_close(rbf_morph(x, c, u, kernel, r), ref, atol=1e-9)


@pytest.mark.parametrize("dim", [2, 3])
def test_thin_plate_reproduces_affine_fields(dim):
    rng = np.random.default_rng(3)
    c = rng.uniform(0, 10, (30, dim))
    a, shift = rng.standard_normal((dim, dim)), rng.standard_normal(dim)
    x = rng.uniform(-5, 15, (200, dim))
    out = rbf_morph(x, c, c @ a.T + shift)
    assert_close(out, x + x @ a.T + shift, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_wendland_compact_support(dim):
    c, u = controls(dim, 20, 5)
    rho = 0.3
    x = np.random.default_rng(9).uniform(-2, 2, (3000, dim))
    out = rbf_morph(x, c, u, "wendland", rho)
    far = np.sqrt(((x[:, None] - c[None]) ** 2).sum(-1)).min(1) >= rho
    assert far.sum() > 100 and (~far).sum() > 10
    assert np.array_equal(out[far], x[far])
    assert np.all(np.any(out[~far] != x[~far], axis=1))


def test_rbf_errors():
    c, u = controls(2, 10, 0)
    x = np.zeros((4, 2))
    with pytest.raises(
        ValueError, match=r"control_points\[2\] and control_points\[7\] are the same"
    ):
        cc = c.copy()
        cc[7] = cc[2]
        rbf_morph(x, cc, u)
    with pytest.raises(ValueError, match=r"control_displacements\[1, 0\] = NaN is not finite"):
        uu = u.copy()
        uu[1, 0] = np.nan
        rbf_morph(x, c, uu)
    with pytest.raises(ValueError, match=r"points\[0, 1\] = inf"):
        rbf_morph(np.array([[0.0, np.inf]]), c, u)
    for rho in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="support_radius must be finite and > 0"):
            rbf_morph(x, c, u, "wendland", rho)
    with pytest.raises(ValueError, match="needs a support_radius"):
        rbf_morph(x, c, u, "wendland")
    with pytest.raises(ValueError, match="only for kernel='wendland'"):
        rbf_morph(x, c, u, "thin_plate", 1.0)
    with pytest.raises(ValueError, match="kernel must be"):
        rbf_morph(x, c, u, "gaussian")  # type: ignore[arg-type]
    line = np.stack([np.linspace(0, 1, 5), 2 * np.linspace(0, 1, 5)], 1)
    with pytest.raises(ValueError, match=r"singular.*one line"):
        rbf_morph(x, line, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 3 control points"):
        rbf_morph(x, c[:2], u[:2])
    with pytest.raises(ValueError, match="share the dimension"):
        rbf_morph(np.zeros((4, 3)), c, u)
    with pytest.raises(ValueError, match="share the dimension"):
        rbf_morph(x, c, u[:5])
    with pytest.raises(ValueError, match=r"shape \(N, 2\) or \(N, 3\)"):
        rbf_morph(np.zeros((4, 4)), c, u)


# ---------------------------------------------------------------- quality


@pytest.mark.parametrize("dim", [2, 3])
def test_signed_measures_match_reference(dim):
    rng = np.random.default_rng(dim)
    p = rng.standard_normal((40, dim))
    cells = np.stack([rng.choice(40, dim + 1, replace=False) for _ in range(100)])
    assert_close(signed_measures(p, cells), signed_measures_reference(p, cells), atol=1e-14)
    assert_close(signed_measures(p, cells.astype(np.int32)), signed_measures_reference(p, cells))


def test_signed_measures_unit_cells():
    assert signed_measures(np.array([[0, 0], [1, 0], [0, 1.0]]), [[0, 1, 2]])[0] == 0.5
    tet = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    assert signed_measures(tet, [[0, 1, 2, 3]])[0] == pytest.approx(1 / 6)
    assert signed_measures(tet, [[0, 2, 1, 3]])[0] == pytest.approx(-1 / 6)


def test_mesh_quality_counts():
    p, t = MESHES["wavy"]
    t = ccw(p, t)
    q = mesh_quality(p, t)
    assert q.ok and q.n_cells == len(t) and q.n_inverted == 0 and q.n_degenerate == 0
    bad = t.copy()
    bad[3] = bad[3, [0, 2, 1]]
    q = mesh_quality(p, bad)
    assert q.n_inverted == 1 and not q.ok and q.min_measure < 0 < q.max_measure
    assert mesh_quality(p, bad, reference_points=p).n_inverted == 0
    squashed = p.copy()
    squashed[t[5]] = squashed[t[5, 0]]  # collapse one triangle's three nodes onto one
    q = mesh_quality(squashed, t, reference_points=p)
    assert q.n_degenerate >= 1 and not q.ok
    with pytest.raises(ValueError, match="reference_points has shape"):
        mesh_quality(p, t, reference_points=p[:-1])
    with pytest.raises(ValueError, match=r"cells must have shape \(M, 3\)"):
        mesh_quality(p, np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="refers to node"):
        mesh_quality(p, np.array([[0, 1, len(p)]]))
    empty = mesh_quality(p, np.zeros((0, 3), dtype=np.int64))
    assert empty.n_cells == 0 and empty.ok and np.isnan(empty.min_measure)


def test_mesh_quality_frozen():
    q = mesh_quality(*MESHES["one_triangle"])
    with pytest.raises(AttributeError):
        q.n_cells = 3  # type: ignore[misc]
