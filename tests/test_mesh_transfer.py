"""P1 field transfer (sciml.mesh): the Rust kernel against its numpy/scipy twin on random
Delaunay meshes, the properties of the matrix, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import Delaunay

import sciml
from sciml import _core
from sciml.mesh import transfer_matrix, transfer_matrix_reference


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    sciml.set_num_threads(None)


def random_mesh(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Delaunay mesh of n random points and the corners of [0, 1]^d: the mesh is the box."""
    rng = np.random.default_rng(seed)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * d, indexing="ij")).reshape(d, -1).T
    points = np.concatenate([corners, rng.random((n, d))])
    return points, Delaunay(points).simplices.astype(np.int64)


def in_box(x: np.ndarray) -> np.ndarray:
    return ((x >= 0) & (x <= 1)).all(axis=1)


def destinations(points: np.ndarray, cells: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Points inside elements, outside the mesh, on vertices, edges and faces."""
    rng = np.random.default_rng(seed)
    d = points.shape[1]
    elems = rng.integers(0, len(cells), count)
    bary = rng.dirichlet(np.ones(d + 1), count)
    inside = np.einsum("nk,nkd->nd", bary, points[cells[elems]])
    outside = rng.uniform(-0.6, 1.6, (count, d))
    vertices = points[rng.integers(0, len(points), count // 2 + 1)]
    edges = points[cells[elems, :2]].mean(axis=1)
    faces = points[cells[elems, :3]].mean(axis=1)
    return np.concatenate([inside, outside, vertices, edges, faces])


def check_rows(t: sp.csr_matrix, d: int) -> None:
    assert t.dtype == np.float64
    assert (np.diff(t.indptr) == d + 1).all()
    cols = t.indices.reshape(-1, d + 1)
    assert (np.diff(cols, axis=1) > 0).all()
    assert (t.data >= 0).all()
    np.testing.assert_allclose(np.asarray(t.sum(axis=1)).ravel(), 1.0, rtol=0, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    d=st.sampled_from([2, 3]),
    n=st.integers(0, 60),
    count=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_kernel_matches_reference(d, n, count, seed):
    points, cells = random_mesh(n, d, seed)
    dst = destinations(points, cells, count, seed + 1)
    t = transfer_matrix(points, cells, dst)
    r = transfer_matrix_reference(points, cells, dst)
    assert t.shape == r.shape == (len(dst), len(points))
    check_rows(t, d)
    check_rows(r, d)
    assert abs(t - r).max() <= 1e-12
    np.testing.assert_array_equal(t.indices, r.indices)

    # Affine fields are transferred exactly to points inside the mesh.
    a = np.random.default_rng(seed).normal(size=d)
    inside = in_box(dst)
    np.testing.assert_allclose(
        (t @ (points @ a + 0.3))[inside], (dst @ a + 0.3)[inside], atol=1e-12
    )


@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("impl", [transfer_matrix, transfer_matrix_reference])
def test_outside_points_take_the_nearest_point_of_the_mesh(d, impl):
    points, cells = random_mesh(40, d, 5)
    rng = np.random.default_rng(6)
    dst = rng.uniform(-1.0, 2.0, (300, d))
    dst = dst[~in_box(dst)]
    t = impl(points, cells, dst)
    check_rows(t, d)
    # q = T x is a point of the mesh; it is the point nearest to p iff p - q is in the
    # normal cone of the (convex) mesh at q: (p - q) . (y - q) <= 0 for every vertex y.
    q = t @ points
    cone = np.einsum("nd,nmd->nm", dst - q, points[None] - q[:, None])
    assert cone.max() <= 1e-12
    assert (np.linalg.norm(dst - q, axis=1) > 0).all()


@pytest.mark.parametrize("d", [2, 3])
def test_identity_on_source_points(d):
    points, cells = random_mesh(50, d, 3)
    t = transfer_matrix(points, cells, points)
    # Vertices are located through rounded barycentric coordinates: thin elements
    # leave rounding errors well above machine epsilon, but far below 1e-10.
    assert abs(t - sp.eye(len(points))).max() <= 1e-10
    np.testing.assert_array_equal(
        t.indices, transfer_matrix_reference(points, cells, points).indices
    )


def test_shared_edge_goes_to_the_lowest_element():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mid = np.array([[0.5, 0.5]])
    for cells, cols in (([[0, 1, 2], [1, 3, 2]], [0, 1, 2]), ([[1, 3, 2], [0, 1, 2]], [1, 2, 3])):
        for impl in (transfer_matrix, transfer_matrix_reference):
            t = impl(points, np.array(cells), mid)
            assert t.indices.tolist() == cols


def test_threads_index_types_and_layouts_agree():
    points, cells = random_mesh(300, 3, 8)
    dst = destinations(points, cells, 200, 9)
    sciml.set_num_threads(1)
    one = transfer_matrix(points, cells, dst)
    sciml.set_num_threads(3)
    for t in (
        transfer_matrix(points, cells, dst),
        transfer_matrix(points, cells.astype(np.int32), dst),
        transfer_matrix(np.asfortranarray(points), cells.astype(np.uint16), dst.tolist()),
    ):
        assert (t != one).nnz == 0
    single = points.astype(np.float32)
    t = transfer_matrix(single, cells, dst)
    assert (t != transfer_matrix(single.astype(np.float64), cells, dst)).nnz == 0


def test_empty_destination():
    points, cells = random_mesh(10, 2, 0)
    for impl in (transfer_matrix, transfer_matrix_reference):
        t = impl(points, cells, np.zeros((0, 2)))
        assert t.shape == (0, len(points)) and t.nnz == 0


IMPLS = [transfer_matrix, transfer_matrix_reference]


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_shapes_and_types(impl):
    points, cells = random_mesh(10, 2, 0)
    dst = np.full((3, 2), 0.5)
    with pytest.raises(TypeError, match="src_cells must hold integers"):
        impl(points, cells.astype(float), dst)
    with pytest.raises(ValueError, match=r"src_cells must have shape \(M, 3\).*\(5, 2\)"):
        impl(points, cells[:5, :2], dst)
    with pytest.raises(ValueError, match=r"src_points must have shape \(N, 2\).*\(14, 3\)"):
        impl(np.zeros((14, 3)), cells, dst)
    with pytest.raises(ValueError, match=r"dst_points must have shape \(N, 2\).*\(6,\)"):
        impl(points, cells, dst.ravel())
    with pytest.raises(TypeError, match="dst_points must hold real numbers"):
        impl(points, cells, dst.astype(complex))


@pytest.mark.parametrize("impl", IMPLS)
def test_bad_values(impl):
    points, cells = random_mesh(10, 2, 0)
    dst = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match="empty"):
        impl(points, cells[:0], dst)
    with pytest.raises(ValueError, match="empty"):
        impl(np.zeros((0, 2)), cells[:0], dst)
    bad = points.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="src_points row 4 has a non-finite"):
        impl(bad, cells, dst)
    bad = dst.copy()
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="dst_points row 2 has a non-finite"):
        impl(points, cells, bad)
    for index in (-1, len(points)):
        bad = cells.copy()
        bad[3, 2] = index
        with pytest.raises(ValueError, match=f"src_cells row 3 has .*{index}"):
            impl(points, bad, dst)
    for degenerate in ([0, 0, 1], [4, 5, 4]):
        bad = np.concatenate([cells, [degenerate]])
        with pytest.raises(ValueError, match=f"src_cells row {len(cells)} .*degenerate"):
            impl(points, bad, dst)
    flat = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1e-17]])
    with pytest.raises(ValueError, match=r"row 0 .*degenerate"):
        impl(flat, np.array([[0, 1, 2]]), dst)


def test_binding_checks():
    points, cells = random_mesh(10, 2, 0)
    dst = np.full((3, 2), 0.5)
    with pytest.raises(TypeError, match="src_points"):
        _core.transfer_matrix(points.astype(np.float32), cells, dst)
    with pytest.raises(TypeError, match="src_cells must be int32 or int64"):
        _core.transfer_matrix(points, cells.astype(np.uint8), dst)
    with pytest.raises(ValueError, match="dst_points must be C-contiguous"):
        _core.transfer_matrix(points, cells, np.asfortranarray(np.full((3, 2), 0.5)))
    with pytest.raises(ValueError, match=r"3 \(triangles\) or 4 \(tetrahedra\) columns"):
        _core.transfer_matrix(points, np.ascontiguousarray(cells[:, :2]), dst)
    with pytest.raises(ValueError, match=r"dst_points must have 2 columns.*\[3, 3\]"):
        _core.transfer_matrix(points, cells, np.zeros((3, 3)))
    indptr, indices, data = _core.transfer_matrix(points, cells, dst)
    assert indptr.dtype == indices.dtype == np.int64 and data.dtype == np.float64
    assert indptr.tolist() == [0, 3, 6, 9]
