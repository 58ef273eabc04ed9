"""numpy/scipy twins of the mesh-morphing kernels, for tests, reading and benchmarks.

They compute what :mod:`sciml.mesh.morph` computes, by the same algorithms, vectorised
with numpy: the boundary from edge counts (``np.unique``), the Floater system as a
``scipy.sparse`` matrix solved by ``scipy.sparse.linalg.spsolve`` (SuperLU with its
default COLAMD ordering: ``MMD_AT_PLUS_A`` is a little faster on structured meshes but
over ten times slower on Delaunay ones), and the RBF systems as dense matrices solved by
``numpy.linalg.solve``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

ZERO_AREA = 1e-12
"""A triangle is zero-area when ``|2 A| <= ZERO_AREA * l_max^2`` (l_max: longest edge)."""


def _check_mesh(points: np.ndarray, triangles: np.ndarray) -> None:
    n = len(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles must have shape (M, 3), got {triangles.shape}")
    if len(triangles) == 0:
        raise ValueError("triangles is empty (M = 0)")
    if not np.isfinite(points).all():
        i = int(np.flatnonzero(~np.isfinite(points.ravel()))[0])
        raise ValueError(f"points[{i // 2}, {i % 2}] = {points.ravel()[i]} is not finite")
    bad = (triangles < 0) | (triangles >= n)
    if bad.any():
        i = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"triangles[{i}] = {triangles[i].tolist()} refers to a node not in 0..{n}")
    t = triangles
    rep = (t[:, 0] == t[:, 1]) | (t[:, 1] == t[:, 2]) | (t[:, 0] == t[:, 2])
    if rep.any():
        i = int(np.flatnonzero(rep)[0])
        raise ValueError(f"triangles[{i}] = {t[i].tolist()} repeats a node")
    a, b, c = points[t[:, 0]], points[t[:, 1]], points[t[:, 2]]
    twice = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    l2 = np.maximum.reduce([((b - a) ** 2).sum(1), ((c - b) ** 2).sum(1), ((a - c) ** 2).sum(1)])
    zero = np.abs(twice) <= ZERO_AREA * l2
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        raise ValueError(f"triangles[{i}] = {t[i].tolist()} has zero area")
    used = np.zeros(n, dtype=bool)
    used[t.ravel()] = True
    if not used.all():
        raise ValueError(f"node {int(np.flatnonzero(~used)[0])} is not used by any triangle")


def mesh_edges(points: npt.ArrayLike, triangles: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The unique edges and the counter-clockwise boundary loop of a disk-like 2D mesh.

    Args:
        points: (N, 2) float64.
        triangles: (M, 3) integer node indices.

    Returns:
        ``(edges, boundary)``: edges (E, 2) int64 with ``a < b``, sorted; boundary (B,)
        int64, the boundary nodes in counter-clockwise order (positive signed area).

    Raises:
        ValueError: as :func:`sciml.mesh.floater_morph` does on an invalid mesh.
    """
    p = np.asarray(points, dtype=np.float64)
    t = np.asarray(triangles).astype(np.int64, copy=False)
    _check_mesh(p, t)
    n = len(p)
    pairs = np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
    pairs.sort(axis=1)
    keys, counts = np.unique(pairs[:, 0] * n + pairs[:, 1], return_counts=True)
    edges = np.stack([keys // n, keys % n], axis=1)
    if (counts > 2).any():
        i = int(np.flatnonzero(counts > 2)[0])
        raise ValueError(
            f"edge {tuple(edges[i].tolist())} is shared by {counts[i]} triangles (non-manifold)"
        )
    bedges = edges[counts == 1]
    degree = np.bincount(bedges.ravel(), minlength=n)
    pinched = (degree != 0) & (degree != 2)
    if pinched.any():
        v = int(np.flatnonzero(pinched)[0])
        raise ValueError(f"boundary node {v} is on {degree[v]} boundary edges (pinched)")
    if len(bedges) == 0:
        raise ValueError("the mesh has no boundary edge")
    on = degree == 2
    g = sp.coo_array((np.ones(len(bedges)), (bedges[:, 0], bedges[:, 1])), shape=(n, n))
    k, _ = connected_components(g, directed=False)
    loops = k - int(np.count_nonzero(~on))
    if loops != 1:
        raise ValueError(f"the boundary has {loops} loops; a disk-like mesh has exactly 1")
    # Walk the loop: each boundary node's two boundary neighbours.
    order = np.argsort(np.concatenate([bedges[:, 0], bedges[:, 1]]), kind="stable")
    other = np.concatenate([bedges[:, 1], bedges[:, 0]])[order]
    nb = np.full((n, 2), -1, dtype=np.int64)
    nb[on] = other.reshape(-1, 2)
    nb_list = nb.tolist()
    start = int(np.flatnonzero(on)[0])
    loop = [start]
    prev, cur = -1, start
    while True:
        a, b = nb_list[cur]
        prev, cur = cur, (a if a != prev else b)
        if cur == start:
            break
        loop.append(cur)
    boundary = np.asarray(loop, dtype=np.int64)
    q = p[boundary]
    area = 0.5 * np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1])
    if area < 0:
        boundary[1:] = boundary[1:][::-1].copy()
    return edges, boundary


def boundary_angles(
    points: np.ndarray,
    boundary: np.ndarray,
    landmarks: npt.ArrayLike | None = None,
    angles: npt.ArrayLike | None = None,
) -> np.ndarray:
    """The angle of each node of the counter-clockwise ``boundary`` loop (B,), in loop order.

    Without landmarks: the node of smallest x (ties: smallest y) at pi, then
    counter-clockwise by arc length. With landmarks: each at its angle, the nodes
    between consecutive landmarks by arc length between their angles.
    """
    nb = len(boundary)
    q = points[boundary]
    seg = np.hypot(*(np.roll(q, -1, axis=0) - q).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if landmarks is None:
        start = int(np.lexsort((q[:, 1], q[:, 0]))[0])
        pos, theta = np.array([start]), np.array([np.pi])
    else:
        pos, theta = _landmark_positions(boundary, len(points), landmarks, angles)
    # arc length from the loop's start, over two turns
    arc2 = np.concatenate([cum[:nb], cum[nb] + cum[:nb]])
    ends = np.append(pos[1:], pos[0] + nb)
    ends = np.where(ends < pos, ends + nb, ends)
    theta_end = np.append(theta[1:], theta[0] + 2 * np.pi)
    out = np.empty(nb)
    for p0, p1, t0, t1 in zip(pos, ends, theta, theta_end, strict=True):
        qs = np.arange(p0 + 1, p1)
        out[p0] = t0
        out[qs % nb] = t0 + (t1 - t0) * (arc2[qs] - arc2[p0]) / (arc2[p1] - arc2[p0])
    return out


def _landmark_positions(
    boundary: np.ndarray, n: int, landmarks: npt.ArrayLike, angles: npt.ArrayLike | None
) -> tuple[np.ndarray, np.ndarray]:
    lm = np.atleast_1d(np.asarray(landmarks, dtype=np.int64))
    th = np.atleast_1d(np.asarray(angles, dtype=np.float64))
    if len(lm) == 0:
        raise ValueError("landmarks is empty")
    if th.shape != lm.shape:
        raise ValueError(f"angles has shape {th.shape}, landmarks {lm.shape}")
    position = np.full(max(n, int(lm.max()) + 1), -1)
    position[boundary] = np.arange(len(boundary))
    pos = np.where(lm >= 0, position[np.clip(lm, 0, None)], -1)
    if (pos < 0).any():
        raise ValueError(f"landmark {lm[pos < 0][0]} is not a boundary node")
    if len(np.unique(lm)) != len(lm):
        raise ValueError("duplicate landmark")
    rel = (pos - pos[0]) % len(boundary)
    if (np.diff(rel) <= 0).any():
        raise ValueError("landmarks are not in counter-clockwise boundary order")
    if not np.isfinite(th).all():
        raise ValueError("angles must be finite")
    steps = np.mod(np.diff(th), 2 * np.pi)
    if (steps == 0).any():
        raise ValueError("two angles are the same point of the circle")
    theta = th[0] + np.concatenate([[0.0], np.cumsum(steps)])
    if theta[-1] - theta[0] >= 2 * np.pi:
        raise ValueError("angles do not increase going once round the circle")
    return pos, theta


def floater_morph_reference(
    points: npt.ArrayLike,
    triangles: npt.ArrayLike,
    landmarks: npt.ArrayLike | None = None,
    angles: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Floater morphing onto the unit disk, with scipy.sparse and ``spsolve``.

    Same arguments and result as :func:`sciml.mesh.floater_morph`: points (N, 2),
    triangles (M, 3), optional landmarks (L,) and angles (L,); returns (N, 2) float64.
    """
    if (landmarks is None) != (angles is None):
        raise ValueError("landmarks and angles must be given together (or neither)")
    p = np.asarray(points, dtype=np.float64)
    edges, boundary = mesh_edges(p, triangles)
    n = len(p)
    theta = boundary_angles(p, boundary, landmarks, angles)
    out = np.empty((n, 2))
    out[boundary, 0], out[boundary, 1] = np.cos(theta), np.sin(theta)
    interior = np.ones(n, dtype=bool)
    interior[boundary] = False
    ni = int(interior.sum())
    if ni == 0:
        return out
    index = np.full(n, -1)
    index[interior] = np.arange(ni)
    degree = np.bincount(edges.ravel(), minlength=n).astype(np.float64)
    a, b = edges[:, 0], edges[:, 1]
    both = interior[a] & interior[b]
    ia, ib = index[a[both]], index[b[both]]
    rows = np.concatenate([ia, ib, np.arange(ni)])
    cols = np.concatenate([ib, ia, np.arange(ni)])
    vals = np.concatenate([-np.ones(2 * len(ia)), degree[interior]])
    matrix = sp.csc_array((vals, (rows, cols)), shape=(ni, ni))
    # boundary neighbours move to the right-hand side
    src = np.concatenate([a[interior[a] & ~interior[b]], b[interior[b] & ~interior[a]]])
    dst = np.concatenate([b[interior[a] & ~interior[b]], a[interior[b] & ~interior[a]]])
    rhs = np.stack(
        [np.bincount(index[src], weights=out[dst, k], minlength=ni) for k in range(2)], axis=1
    )
    out[interior] = spsolve(matrix, rhs)
    return out


def _phi(r2: np.ndarray, kernel: str, dim: int, rho: float | None) -> np.ndarray:
    if kernel == "thin_plate":
        if dim == 3:
            return np.sqrt(r2)
        logs = np.log(r2, out=np.zeros_like(r2), where=r2 > 0)
        return 0.5 * r2 * logs
    assert rho is not None
    q = np.minimum(np.sqrt(r2) / rho, 1.0)
    return (1 - q) ** 4 * (4 * q + 1)


def _d2(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances (len(x), len(c)), from coordinate differences (no cancellation)."""
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


def rbf_morph_reference(
    points: npt.ArrayLike,
    control_points: npt.ArrayLike,
    control_displacements: npt.ArrayLike,
    kernel: str = "thin_plate",
    support_radius: float | None = None,
    block: int = 2048,
) -> np.ndarray:
    """RBF morphing with dense numpy: the same maths as :func:`sciml.mesh.rbf_morph`.

    points (N, d), control_points (B, d), control_displacements (B, d), d = 2 or 3;
    returns (N, d) float64. Points are evaluated ``block`` at a time.
    """
    x = np.asarray(points, dtype=np.float64)
    c = np.asarray(control_points, dtype=np.float64)
    u = np.asarray(control_displacements, dtype=np.float64)
    b, dim = c.shape
    if kernel not in ("thin_plate", "wendland"):
        raise ValueError(f"kernel must be 'thin_plate' or 'wendland', got {kernel!r}")
    if kernel == "wendland" and not (support_radius is not None and support_radius > 0):
        raise ValueError("support_radius must be > 0")
    if len(np.unique(c, axis=0)) != b:
        raise ValueError("duplicate control points")
    k = _phi(_d2(c, c), kernel, dim, support_radius)
    if kernel == "thin_plate":
        sv = np.linalg.svd(c - c.mean(0), compute_uv=False)
        if not sv.min() > 1e-8 * sv.max():
            raise ValueError("the control points lie on one line (2D) or plane (3D)")
        poly = np.hstack([np.ones((b, 1)), c])
        m = np.block([[k, poly], [poly.T, np.zeros((dim + 1, dim + 1))]])
        sol = np.linalg.solve(m, np.vstack([u, np.zeros((dim + 1, dim))]))
        w, affine = sol[:b], sol[b:]
    else:
        w, affine = np.linalg.solve(k, u), None
    out = x.copy()
    for s in range(0, len(x), block):
        xs = x[s : s + block]
        out[s : s + block] += _phi(_d2(xs, c), kernel, dim, support_radius) @ w
        if affine is not None:
            out[s : s + block] += affine[0] + xs @ affine[1:]
    return out


def signed_measures_reference(points: npt.ArrayLike, cells: npt.ArrayLike) -> np.ndarray:
    """Signed triangle areas (2D) or tetrahedron volumes (3D), (M,) float64."""
    p = np.asarray(points, dtype=np.float64)
    c = np.asarray(cells, dtype=np.int64)
    e = p[c[:, 1:]] - p[c[:, :1]]
    if p.shape[1] == 2:
        return 0.5 * (e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0])
    return np.linalg.det(e) / 6.0
