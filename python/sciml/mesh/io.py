"""Reading and writing meshes in any format meshio knows, and taking 2D triangle meshes apart."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import meshio


def _meshio():
    try:
        import meshio
    except ImportError as e:
        raise ImportError("mesh I/O needs meshio: pip install 'sciml[mesh]'") from e
    return meshio


def read(path: str | os.PathLike) -> meshio.Mesh:
    """Reads a mesh file in any format meshio supports (.vtu, .msh, .xdmf, .med, ...)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no mesh file at {path}")
    return _meshio().read(path)


def write(
    path: str | os.PathLike,
    points: np.ndarray,
    triangles: np.ndarray,
    point_data: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Writes a triangle mesh, points (N, 2) or (N, 3), triangles (M, 3), with nodal fields
    (each (N,) or (N, k)) in the format the file suffix names. Returns the path."""
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    for name, values in (point_data or {}).items():
        if len(values) != n:
            raise ValueError(f"point_data {name!r} has {len(values)} values for {n} nodes")
    if points.ndim == 2 and points.shape[1] == 2:  # several formats (VTU) want 3D points
        points = np.column_stack([points, np.zeros(n)])
    path = Path(path)
    mesh = _meshio().Mesh(
        points, [("triangle", np.asarray(triangles))], point_data=dict(point_data or {})
    )
    mesh.write(path)
    return path


def planar_triangles(mesh: meshio.Mesh, name: str = "mesh") -> tuple[np.ndarray, np.ndarray]:
    """The nodes (N, 2) float64 and triangles (M, 3) int64 of a 2D triangle mesh.

    A third coordinate is accepted when it is constant (meshio often stores 2D meshes with
    z = 0); other cell types (e.g. boundary lines) are ignored. ``name`` labels errors.
    """
    points = np.asarray(mesh.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise ValueError(f"{name}: points must have shape (N, 2) or (N, 3), got {points.shape}")
    if points.shape[1] == 3:
        z = points[:, 2]
        if np.ptp(z) > 1e-12 * max(1.0, float(np.abs(points).max())):
            raise ValueError(f"{name}: not planar (z varies by {np.ptp(z):.3g})")
        points = points[:, :2]
    blocks = [np.asarray(c.data) for c in mesh.cells if c.type == "triangle"]
    if not blocks:
        types = sorted({c.type for c in mesh.cells})
        raise ValueError(f"{name}: has no triangle cells (cell types: {types})")
    triangles = np.concatenate(blocks).astype(np.int64, copy=False)
    return np.ascontiguousarray(points), np.ascontiguousarray(triangles)
