"""Finite-element matrices on simplex meshes (P1 Lagrange elements)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sciml.mesh.morph import signed_measures


def mass_matrix(points: np.ndarray, cells: np.ndarray) -> sp.csr_matrix:
    """The consistent P1 mass matrix M_ij = integral of phi_i phi_j, (N, N) csr float64.

    points (N, d), cells (M, d + 1) with d in {2, 3}. On a simplex K the element matrix is
    ``|K| (1 + delta_ij) / ((d + 1)(d + 2))``, so f @ M @ f is the squared L2 norm of the
    piecewise-linear field with nodal values f.
    """
    measures = np.abs(signed_measures(points, cells))
    cells = np.asarray(cells, dtype=np.int64)
    k = cells.shape[1]  # d + 1 nodes per cell
    local = (np.ones((k, k)) + np.eye(k)) / (k * (k + 1))
    rows = np.repeat(cells, k, axis=1).ravel()
    cols = np.tile(cells, (1, k)).ravel()
    values = (measures[:, None] * local.ravel()[None, :]).ravel()
    n = len(points)
    return sp.csr_matrix(sp.coo_matrix((values, (rows, cols)), shape=(n, n)))
