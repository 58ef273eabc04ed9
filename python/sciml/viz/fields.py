"""Side-by-side pictures of scalar fields on a 2D grid or triangle mesh, rendered offscreen by
pyvista."""

from __future__ import annotations

import ctypes.util
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def _choose_offscreen_backend() -> None:
    """With no display, point VTK straight at EGL (or OSMesa) instead of letting it try
    X first and warn. An explicit VTK_DEFAULT_OPENGL_WINDOW is left alone."""
    if os.environ.get("DISPLAY") or "VTK_DEFAULT_OPENGL_WINDOW" in os.environ:
        return
    if ctypes.util.find_library("EGL"):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"
    elif ctypes.util.find_library("OSMesa"):
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkOSOpenGLRenderWindow"


def _pyvista():
    _choose_offscreen_backend()
    try:
        import pyvista
    except ImportError as e:
        raise ImportError(
            "pictures need pyvista: pip install 'sciml[viz]' (from the source tree)"
        ) from e
    pyvista.OFF_SCREEN = True
    return pyvista


def render_fields(
    fields: Mapping[str, np.ndarray],
    axes: Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    labels: Sequence[str] = ("x", "y"),
    title: str = "",
    cmaps: Mapping[str, str] | None = None,
    symmetric: Sequence[str] = ("error",),
    panel_size: int = 520,
) -> Path:
    """Renders each field (shape (len(axes[0]), len(axes[1]))) on the grid the axes span as
    a coloured panel with a scalar bar, side by side, into a PNG; works with no display (EGL
    or OSMesa). Fields named in ``symmetric`` get a colour range centred on zero.

    Raises ImportError naming pyvista if it is missing, and RuntimeError naming the
    missing system libraries if VTK cannot open an offscreen context.
    """
    pv = _pyvista()
    xs, ys = (np.asarray(a, dtype=float) for a in axes)
    shape = (len(xs), len(ys))
    for name, values in fields.items():
        if np.shape(values) != shape:
            raise ValueError(f"field {name!r} has shape {np.shape(values)}, expected {shape}")
    grid = pv.RectilinearGrid(xs, ys, np.zeros(1))
    # RectilinearGrid orders points with the first axis fastest.
    nodal = {k: np.asarray(v, dtype=float).reshape(-1, order="F") for k, v in fields.items()}
    return _render_panels(
        pv,
        grid,
        nodal,
        path,
        labels=labels,
        title=title,
        cmaps=cmaps,
        symmetric=symmetric,
        panel_size=panel_size,
    )


def render_mesh_fields(
    points: np.ndarray,
    triangles: np.ndarray,
    fields: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    *,
    labels: Sequence[str] = ("x", "y"),
    title: str = "",
    cmaps: Mapping[str, str] | None = None,
    symmetric: Sequence[str] = ("error",),
    panel_size: int = 520,
) -> Path:
    """Renders nodal fields (each (N,)) on a 2D triangle mesh, points (N, 2) and triangles
    (M, 3), as panels side by side into a PNG, offscreen, like ``render_fields``."""
    pv = _pyvista()
    points = np.asarray(points, dtype=float)
    triangles = np.asarray(triangles, dtype=np.int64)
    if points.ndim != 2 or points.shape[1] not in (2, 3):
        raise ValueError(f"points must have shape (N, 2) or (N, 3), got {points.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3:
        raise ValueError(f"triangles must have shape (M, 3), got {triangles.shape}")
    for name, values in fields.items():
        if np.shape(values) != (len(points),):
            raise ValueError(
                f"field {name!r} has shape {np.shape(values)}, expected ({len(points)},)"
            )
    xyz = np.zeros((len(points), 3))
    xyz[:, : points.shape[1]] = points
    faces = np.hstack([np.full((len(triangles), 1), 3), triangles]).ravel()
    mesh = pv.PolyData(xyz, faces)
    nodal = {k: np.asarray(v, dtype=float) for k, v in fields.items()}
    return _render_panels(
        pv,
        mesh,
        nodal,
        path,
        labels=labels,
        title=title,
        cmaps=cmaps,
        symmetric=symmetric,
        panel_size=panel_size,
    )


def _render_panels(
    pv,
    dataset,
    fields: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    *,
    labels: Sequence[str],
    title: str,
    cmaps: Mapping[str, str] | None,
    symmetric: Sequence[str],
    panel_size: int,
) -> Path:
    """One panel per nodal field (each ordered like the dataset's points), into a PNG."""
    plotter = pv.Plotter(
        shape=(1, len(fields)), off_screen=True, window_size=(panel_size * len(fields), panel_size)
    )
    try:
        for k, (name, values) in enumerate(fields.items()):
            plotter.subplot(0, k)
            mesh = dataset.copy()
            mesh.point_data[name] = values
            limit = float(np.abs(values).max()) or 1.0
            plotter.add_mesh(
                mesh,
                scalars=name,
                cmap=(cmaps or {}).get(name, "viridis"),
                # Diverging maps (errors) are centred on zero.
                clim=(-limit, limit) if name in (symmetric or ()) else None,
                scalar_bar_args={
                    "title": name,
                    "vertical": True,
                    "position_x": 0.78,
                    "width": 0.06,
                    "fmt": "%.3g",
                },
            )
            plotter.add_text(f"{title} {name}".strip(), font_size=10)
            plotter.show_bounds(
                xtitle=labels[0], ytitle=labels[1], show_zaxis=False, show_zlabels=False
            )
            plotter.view_xy()
            plotter.camera.zoom(0.8)
        path = Path(path)
        try:
            plotter.screenshot(str(path))
        except Exception as e:  # VTK reports missing GL libraries in many ways
            raise RuntimeError(
                f"could not render {path} offscreen ({e}); install EGL or OSMesa, e.g. "
                "`apt-get install libegl1 libgl1` or `libosmesa6`"
            ) from e
    finally:
        plotter.close()
    return path
