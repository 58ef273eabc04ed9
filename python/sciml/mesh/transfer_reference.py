"""A numpy/scipy twin of the P1 transfer kernel: the same rules, vectorised (benchmark baseline).

It follows :func:`sciml.mesh.transfer_matrix` rule for rule and computes barycentric
coordinates with the same floating-point operations in the same order, so the two pick
the same elements and agree to rounding. Candidates come from a k-d tree over element
centroids instead of the kernel's grid of bins:

1. the k nearest centroids of every point are tested; the lowest-index element that
   contains the point (barycentric coordinates >= -1e-12) wins;
2. a point found close to its element's boundary also tests every element sharing a
   vertex with it (which, in a conforming mesh, includes every element the point could
   lie in within the tolerance), keeping the lowest-index one;
3. a point found in none of its candidates takes its best exact distance d* to them
   (point-simplex distance, by projection onto every face), and then tests all elements
   whose centroid lies within d* + R of it (R: the largest centroid-vertex distance),
   which include every element at distance <= d*: first for containment, else for the
   smallest exact distance (then lowest index), with the barycentric coordinates of the
   closest point.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.spatial import cKDTree

from sciml.mesh.transfer import check_mesh_inputs

TOL = 1e-12
"""A point is inside an element when its barycentric coordinates there are all >= -TOL."""
DEGENERATE = 1e-12
"""An element is degenerate when |det J| <= DEGENERATE * prod_j |v_j - v_0|."""
_NEAR_BOUNDARY = 1e-8


def _check_values(points: np.ndarray, cells: np.ndarray, dst: np.ndarray) -> None:
    if len(points) == 0 or len(cells) == 0:
        raise ValueError(
            f"the source mesh is empty: src_points {points.shape}, src_cells {cells.shape}"
        )
    for name, x in (("src_points", points), ("dst_points", dst)):
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            raise ValueError(f"{name} row {np.argmax(bad)} has a non-finite coordinate")
    out = (cells < 0) | (cells >= len(points))
    if out.any():
        e = int(np.argmax(out.any(axis=1)))
        raise ValueError(
            f"src_cells row {e} has a vertex index outside 0..{len(points)}: {cells[e]}"
        )


def _affine(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex 0 (M, d) and J^-1 (M, d, d) of every element, J = [v_1 - v_0, ...]."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        origin, inv, det, scale = _affine_unchecked(points, cells)
        bad = ~np.isfinite(det) | (np.abs(det) <= DEGENERATE * scale)
    if bad.any():
        k = int(np.argmax(bad))
        raise ValueError(f"src_cells row {k} ({cells[k]}) is a degenerate element (zero measure)")
    return origin, inv


def _affine_unchecked(
    points: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = cells.shape[1] - 1
    v = points[cells]
    e = v[:, 1:, :] - v[:, :1, :]  # e[:, j] = v_{j+1} - v_0, the columns of J
    inv = np.empty((len(cells), d, d))
    if d == 2:
        a, c, b, dd = e[:, 0, 0], e[:, 0, 1], e[:, 1, 0], e[:, 1, 1]
        det = a * dd - b * c
        inv[:, 0, 0], inv[:, 0, 1] = dd / det, -b / det
        inv[:, 1, 0], inv[:, 1, 1] = -c / det, a / det
    else:
        # Row k of J^-1 is (e_{k+1} x e_{k+2}) / det, indices mod 3.
        def cross(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
            return [
                x[:, 1] * y[:, 2] - x[:, 2] * y[:, 1],
                x[:, 2] * y[:, 0] - x[:, 0] * y[:, 2],
                x[:, 0] * y[:, 1] - x[:, 1] * y[:, 0],
            ]

        rows = [cross(e[:, 1], e[:, 2]), cross(e[:, 2], e[:, 0]), cross(e[:, 0], e[:, 1])]
        det = e[:, 0, 0] * rows[0][0] + e[:, 0, 1] * rows[0][1] + e[:, 0, 2] * rows[0][2]
        for k in range(3):
            for i in range(3):
                inv[:, k, i] = rows[k][i] / det
    scale = np.prod(np.sqrt((e * e).sum(axis=2)), axis=1)
    return v[:, 0, :], inv, det, scale


def _barycentric(
    origin: np.ndarray, inv: np.ndarray, elem: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """(K, d + 1) barycentric coordinates of points x (K, d) in elements elem (K,)."""
    d = x.shape[1]
    o, t = origin[elem], inv[elem]
    dx = [x[:, i] - o[:, i] for i in range(d)]
    lam = np.empty((len(elem), d + 1))
    l0: np.ndarray | float = 1.0
    for k in range(d):
        acc = t[:, k, 0] * dx[0]
        for j in range(1, d):
            acc = acc + t[:, k, j] * dx[j]
        lam[:, k + 1] = acc
        l0 = l0 - acc
    lam[:, 0] = l0
    return lam


def _clamp_normalise(lam: np.ndarray) -> np.ndarray:
    w = np.maximum(lam, 0.0)
    s = w[:, 0]
    for k in range(1, w.shape[1]):
        s = s + w[:, k]
    return w / s[:, None]


def _closest(vertices: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared distances (K,) from x (K, d) to simplices (K, d + 1, d) outside them, and
    the barycentric coordinates (K, d + 1) of the closest points: the nearest of the
    projections onto the faces' affine hulls that fall inside their faces."""
    k_, n, d = vertices.shape
    best = np.full(k_, np.inf)
    w = np.zeros((k_, n))
    for mask in range(1, 1 << n):
        idx = [k for k in range(n) if mask >> k & 1]
        m = len(idx) - 1
        if m >= d:
            continue
        a = vertices[:, idx[0]]
        edges = [vertices[:, j] - a for j in idx[1:]]
        r = x - a
        if m == 0:
            t = np.zeros((k_, 0))
        elif m == 1:
            t = ((r * edges[0]).sum(1) / (edges[0] * edges[0]).sum(1))[:, None]
        else:
            e1, e2 = edges
            g00, g01, g11 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
            r0, r1 = (r * e1).sum(1), (r * e2).sum(1)
            det = g00 * g11 - g01 * g01
            t = np.stack([(r0 * g11 - r1 * g01) / det, (g00 * r1 - g01 * r0) / det], axis=1)
        valid = (t >= 0).all(axis=1) & (t.sum(axis=1) <= 1.0)
        q = a + sum((t[:, j, None] * edges[j] for j in range(m)), start=np.zeros_like(a))
        d2 = ((x - q) ** 2).sum(1)
        better = valid & (d2 < best)
        best[better] = d2[better]
        w[better] = 0.0
        w[better, idx[0]] = 1.0 - t[better].sum(axis=1)
        for j in range(m):
            w[better, idx[j + 1]] = t[better, j]
    return best, w


def _ragged_range(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` over (s, l)."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends) else 0)


def _lowest(pt: np.ndarray, elem: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """Per point (n,), the lowest elem among pairs (pt, elem) with ok, else -1."""
    out = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(out, pt[ok], elem[ok])
    out[out == np.iinfo(np.int64).max] = -1
    return out


def transfer_matrix_reference(
    src_points: npt.ArrayLike, src_cells: npt.ArrayLike, dst_points: npt.ArrayLike
) -> sp.csr_matrix:
    """The P1 transfer matrix, like :func:`sciml.mesh.transfer_matrix`, in numpy/scipy.

    Args:
        src_points: (Ns, d) vertex coordinates, finite.
        src_cells: (M, d + 1) integer vertex indices (triangles or tetrahedra), assumed
            to form a conforming mesh for the tie-breaking on shared faces.
        dst_points: (Nd, d) coordinates, finite.

    Returns:
        T, ``scipy.sparse.csr_matrix`` float64 (Nd, Ns), d + 1 sorted entries per row.
    """
    points, cells, dst = check_mesh_inputs(src_points, src_cells, dst_points)
    cells = cells.astype(np.int64)
    _check_values(points, cells, dst)
    nd, d = dst.shape
    m = len(cells)
    origin, inv = _affine(points, cells)
    vertices = points[cells]
    centroids = vertices.mean(axis=1)
    radius = float(np.sqrt(((vertices - centroids[:, None]) ** 2).sum(-1)).max())
    tree = cKDTree(centroids)

    # 1. The k nearest centroids.
    k = min(m, 8 if d == 2 else 16)
    _, cand = tree.query(dst, k)
    cand = cand.reshape(nd, k)
    lam = _barycentric(origin, inv, cand.ravel(), np.repeat(dst, k, axis=0))
    inside = (lam.min(axis=1) >= -TOL).reshape(nd, k)
    elem = np.where(inside, cand, m).min(axis=1)
    elem[elem == m] = -1
    found = np.flatnonzero(elem >= 0)

    # 2. Points near their element's boundary: also every element sharing a vertex.
    lam = _barycentric(origin, inv, elem[found], dst[found])
    near = found[lam.min(axis=1) < _NEAR_BOUNDARY]
    if len(near):
        flat = cells.ravel()
        by_vertex = np.argsort(flat, kind="stable") // (d + 1)
        vptr = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=len(points)))])
        verts = cells[elem[near]].ravel()
        lengths = vptr[verts + 1] - vptr[verts]
        pairs_e = by_vertex[_ragged_range(vptr[verts], lengths)]
        pairs_p = np.repeat(np.repeat(near, d + 1), lengths)
        ok = _barycentric(origin, inv, pairs_e, dst[pairs_p]).min(axis=1) >= -TOL
        elem[near] = _lowest(pairs_p, pairs_e, ok, nd)[near]

    weights = np.zeros((nd, d + 1))
    found = np.flatnonzero(elem >= 0)
    weights[found] = _clamp_normalise(_barycentric(origin, inv, elem[found], dst[found]))

    # 3. Points in none of their candidates: all elements that can be as near as the
    # nearest candidate.
    lost = np.flatnonzero(elem < 0)
    if len(lost):
        d2, _ = _closest(vertices[cand[lost].ravel()], np.repeat(dst[lost], k, axis=0))
        reach = np.sqrt(d2.reshape(len(lost), k).min(axis=1)) + radius
        reach = reach * (1 + 1e-9) + 1e-12 * (1.0 + np.abs(dst[lost]).max(axis=1))
        balls = tree.query_ball_point(dst[lost], reach)
        lengths = np.array([len(b) for b in balls])
        pairs_e = np.concatenate([np.asarray(b, dtype=np.int64) for b in balls])
        pairs_l = np.repeat(np.arange(len(lost)), lengths)
        x = dst[lost][pairs_l]
        ok = _barycentric(origin, inv, pairs_e, x).min(axis=1) >= -TOL
        hit = _lowest(pairs_l, pairs_e, ok, len(lost))
        h = np.flatnonzero(hit >= 0)
        elem[lost[h]] = hit[h]
        weights[lost[h]] = _clamp_normalise(_barycentric(origin, inv, hit[h], dst[lost[h]]))
        rest = np.isin(pairs_l, np.flatnonzero(hit < 0))
        pairs_l, pairs_e, x = pairs_l[rest], pairs_e[rest], x[rest]
        d2, w = _closest(vertices[pairs_e], x)
        order = np.lexsort((pairs_e, d2, pairs_l))
        first = order[np.r_[True, pairs_l[order][1:] != pairs_l[order][:-1]]]
        elem[lost[pairs_l[first]]] = pairs_e[first]
        weights[lost[pairs_l[first]]] = w[first]

    cols = cells[elem]
    order = np.argsort(cols, axis=1, kind="stable")
    return sp.csr_matrix(
        (
            np.take_along_axis(weights, order, axis=1).ravel(),
            np.take_along_axis(cols, order, axis=1).ravel(),
            np.arange(nd + 1) * (d + 1),
        ),
        shape=(nd, len(points)),
    )
