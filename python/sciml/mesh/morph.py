"""Mesh morphing for MMGP: Floater onto the unit disk, RBF by control displacements, quality.

MMGP (Casenave et al. 2023) morphs meshes of varying shape onto one common shape so that
fields can be transferred to a common mesh. The kernels are Rust (``sciml._core``); their
numpy/scipy twins live in :mod:`sciml.mesh.morph_reference`.

- :func:`floater_morph`: a disk-like triangle mesh onto the unit disk. The boundary goes
  onto the unit circle by arc length, counter-clockwise, starting from the boundary node
  of smallest x (ties: smallest y) at angle pi, or from landmarks pinned to given angles;
  every interior node is the mean of its mesh neighbours (Tutte/Floater with uniform
  weights, one sparse Cholesky solve), so no triangle folds (Tutte's theorem).
- :func:`rbf_morph`: points moved by the thin-plate spline (affine part included) or
  Wendland C2 (compact support) interpolant of control displacements.
- :func:`mesh_quality`: counts of inverted and degenerate cells, to check a morphing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from sciml import _core
from sciml.mesh._arrays import as_indices, as_points

Kernel: TypeAlias = Literal["thin_plate", "wendland"]

#: A cell is degenerate when ``|measure| <= DEGENERATE * mean |measure|``.
DEGENERATE = 1e-12


def floater_morph(
    points: npt.ArrayLike,
    triangles: npt.ArrayLike,
    landmarks: npt.ArrayLike | None = None,
    angles: npt.ArrayLike | None = None,
) -> npt.NDArray[np.float64]:
    """Floater (Tutte) morphing of a disk-like triangle mesh onto the unit disk.

    Args:
        points: (N, 2) node coordinates, float64.
        triangles: (M, 3) node indices (int64 or int32). The mesh must be a valid
            disk-like mesh: one closed boundary loop, every edge in at most two
            triangles, no pinched boundary node, no zero-area triangle, every node used.
        landmarks: optional (L,) boundary nodes, in counter-clockwise boundary order,
            pinned to ``angles``; the boundary nodes between two landmarks are spread by
            arc length between their angles. Without them, the boundary node of smallest
            x (ties: smallest y) goes to angle pi and the boundary runs counter-clockwise
            from it by arc length.
        angles: (L,) radians, increasing once round the circle in landmark order (any
            multiple of 2 pi may be added to each); required with ``landmarks``.

    Returns:
        (N, 2) float64: the morphed nodes; boundary nodes on the unit circle.

    Raises:
        ValueError: on an invalid mesh (the message names the triangle, edge or node,
            or the number of boundary loops) or bad landmarks.
    """
    p = as_points(points, "points", (2,))
    t = as_indices(triangles, "triangles", 2)
    if (landmarks is None) != (angles is None):
        raise ValueError("landmarks and angles must be given together (or neither)")
    if landmarks is None:
        return _core.floater_morph(p, t)
    lm = as_indices(np.atleast_1d(np.asarray(landmarks)), "landmarks", 1)
    th = np.ascontiguousarray(np.atleast_1d(np.asarray(angles, dtype=np.float64)))
    if th.ndim != 1:
        raise ValueError(f"angles must have 1 dimension, got shape {th.shape}")
    return _core.floater_morph(p, t, lm, th)


def rbf_morph(
    points: npt.ArrayLike,
    control_points: npt.ArrayLike,
    control_displacements: npt.ArrayLike,
    kernel: Kernel = "thin_plate",
    support_radius: float | None = None,
) -> npt.NDArray[np.float64]:
    """Points moved by the RBF interpolant of displacements given at control points.

    The displacement s(x) takes the value ``control_displacements[j]`` at
    ``control_points[j]`` exactly. ``"thin_plate"``: ``r^2 log r`` (2D) or ``r`` (3D)
    plus an affine part, so affine displacement fields are reproduced exactly; needs at
    least d + 1 controls not all on one line (2D) or plane (3D). ``"wendland"``:
    ``(1 - r/rho)^4_+ (4 r/rho + 1)`` with ``rho = support_radius``; points farther than
    rho from every control do not move.

    Args:
        points: (N, d) float64, d = 2 or 3.
        control_points: (B, d), distinct.
        control_displacements: (B, d).
        kernel: ``"thin_plate"`` or ``"wendland"``.
        support_radius: rho > 0, for ``"wendland"`` only.

    Returns:
        (N, d) float64: ``points + s(points)``.
    """
    p = as_points(points, "points", (2, 3))
    c = as_points(control_points, "control_points", (2, 3))
    u = as_points(control_displacements, "control_displacements", (2, 3))
    return _core.rbf_morph(p, c, u, kernel, support_radius)


def signed_measures(points: npt.ArrayLike, cells: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Signed cell measures: triangle areas (2D), tetrahedron volumes (3D).

    Args:
        points: (N, 2) or (N, 3) float64.
        cells: (M, 3) triangles for 2D points, (M, 4) tetrahedra for 3D points.

    Returns:
        (M,) float64; positive for counter-clockwise triangles and for tetrahedra with
        ``(b - a, c - a, d - a)`` right-handed.
    """
    return _core.signed_measures(as_points(points, "points", (2, 3)), as_indices(cells, "cells", 2))


@dataclass(frozen=True)
class MeshQuality:
    """Counts of a mesh's cells by quality (see :func:`mesh_quality`)."""

    n_cells: int
    n_inverted: int
    n_degenerate: int
    min_measure: float
    max_measure: float

    @property
    def ok(self) -> bool:
        """True when no cell is inverted or degenerate."""
        return self.n_inverted == 0 and self.n_degenerate == 0


def quality_of_measures(
    measures: npt.ArrayLike, reference: npt.ArrayLike | None = None
) -> MeshQuality:
    """The :class:`MeshQuality` of signed measures (M,), against reference measures (M,)."""
    m = np.asarray(measures, dtype=np.float64)
    if reference is None:
        inverted = int(np.count_nonzero(m < 0))
    else:
        r = np.asarray(reference, dtype=np.float64)
        if r.shape != m.shape:
            raise ValueError(f"reference measures have shape {r.shape}, the mesh's {m.shape}")
        inverted = int(np.count_nonzero(m * r < 0))
    if m.size == 0:
        return MeshQuality(0, 0, 0, math.nan, math.nan)
    mag = np.abs(m)
    return MeshQuality(
        n_cells=int(m.size),
        n_inverted=inverted,
        n_degenerate=int(np.count_nonzero(mag <= DEGENERATE * mag.mean())),
        min_measure=float(m.min()),
        max_measure=float(m.max()),
    )


def mesh_quality(
    points: npt.ArrayLike,
    cells: npt.ArrayLike,
    reference_points: npt.ArrayLike | None = None,
) -> MeshQuality:
    """Inverted and degenerate cells of a (morphed) mesh.

    Args:
        points: (N, 2) or (N, 3) float64 node coordinates.
        cells: (M, 3) triangles or (M, 4) tetrahedra.
        reference_points: optional (N, d) coordinates of the same mesh before morphing.
            With it, a cell is inverted when its signed measure has the opposite sign to
            the reference's; without it, when its signed measure is negative.

    Returns:
        MeshQuality: ``n_cells``; ``n_inverted``; ``n_degenerate`` (``|measure| <= 1e-12
        * mean |measure|``, whatever the sign); the smallest and largest signed measure
        (NaN without cells).
    """
    m = signed_measures(points, cells)
    ref = None
    if reference_points is not None:
        rp = as_points(reference_points, "reference_points", (2, 3))
        if rp.shape != np.shape(points):
            raise ValueError(f"reference_points has shape {rp.shape}, points {np.shape(points)}")
        ref = signed_measures(rp, cells)
    return quality_of_measures(m, ref)
