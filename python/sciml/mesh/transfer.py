"""P1 finite-element field transfer between simplex meshes (Rust kernel).

``T = transfer_matrix(src_points, src_cells, dst_points)`` is the sparse matrix (Nd, Ns)
with ``f_dst = T @ f_src`` for a P1 field ``f_src`` at the Ns source vertices: row i holds
the barycentric coordinates of destination point i in the source element containing it.

- Inside points: the lowest-index element whose barycentric coordinates at the point are
  all >= -1e-12 (points on shared vertices, edges and faces are assigned
  deterministically); the coordinates are clamped to >= 0 and rescaled to sum to 1.
- Outside points are clamped onto the mesh: the nearest element (smallest distance, then
  lowest index) and the barycentric coordinates of its point closest to the point, so the
  row gives the field at the nearest point of the mesh.

Every row stores exactly d + 1 entries (the element's vertices, sorted), zero weights
included; weights are >= 0 and sum to 1, so constant and affine fields are transferred
exactly at inside points. The kernel (``sciml._core.transfer_matrix``) locates points
through a uniform grid of bins, runs without the GIL on sciml's threads
(:func:`sciml.set_num_threads`) and gives the same matrix whatever their number.
:func:`sciml.mesh.transfer_matrix_reference` is its numpy/scipy twin.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from sciml import _core
from sciml.mesh._arrays import as_points


def check_mesh_inputs(
    src_points: npt.ArrayLike, src_cells: npt.ArrayLike, dst_points: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated C-contiguous copies or views: points float64 (N, d), cells int32/int64.

    d = ``src_cells.shape[1] - 1`` must be 2 or 3, and both point arrays need d columns.
    Raises TypeError for non-numeric points or non-integer cells, ValueError for shapes.
    """
    cells = np.asarray(src_cells)
    if cells.dtype.kind not in "iu":
        raise TypeError(f"src_cells must hold integers, got dtype {cells.dtype}")
    if cells.ndim != 2 or cells.shape[1] not in (3, 4):
        raise ValueError(
            "src_cells must have shape (M, 3) (triangles) or (M, 4) (tetrahedra), "
            f"got shape {cells.shape}"
        )
    if cells.dtype not in (np.int32, np.int64):
        cells = cells.astype(np.int64)
    d = cells.shape[1] - 1
    points = as_points(src_points, "src_points", (d,))
    dst = as_points(dst_points, "dst_points", (d,))
    return points, np.ascontiguousarray(cells), dst


def transfer_matrix(
    src_points: npt.ArrayLike, src_cells: npt.ArrayLike, dst_points: npt.ArrayLike
) -> sp.csr_matrix:
    """The P1 transfer matrix from a source mesh to destination points.

    Args:
        src_points: (Ns, d) vertex coordinates, float (used as float64), finite.
        src_cells: (M, d + 1) vertex indices in ``0..Ns``, integer: triangles (d = 2) or
            tetrahedra (d = 3) of nonzero measure, either orientation.
        dst_points: (Nd, d) coordinates of the points to transfer to, finite.

    Returns:
        T, ``scipy.sparse.csr_matrix`` float64 (Nd, Ns) with d + 1 entries per row
        (sorted columns, zero weights kept): ``f_dst = T @ f_src``.

    Raises:
        TypeError: non-numeric points or non-integer cells.
        ValueError: wrong shapes, an empty mesh, non-finite coordinates, indices out of
            range, degenerate elements.
    """
    points, cells, dst = check_mesh_inputs(src_points, src_cells, dst_points)
    indptr, indices, data = _core.transfer_matrix(points, cells, dst)
    return sp.csr_matrix((data, indices, indptr), shape=(dst.shape[0], points.shape[0]))
