"""Plates with wavy sides: random shapes and their gmsh triangle meshes."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HEIGHT",
    "MIN_WIDTH",
    "WIDTH",
    "PlateMesh",
    "PlateShape",
    "gmsh_session",
    "mesh_plate",
    "random_plate",
]

WIDTH = 1.0
HEIGHT = 2.0
MIN_WIDTH = 0.3
_WIDTH_CHECK_POINTS = 2001


@dataclass(frozen=True)
class PlateShape:
    """The plate {(x, y): x_left(y) <= x <= x_right(y), 0 <= y <= HEIGHT}.

    x_left(y) = sum_k left[k-1] s_k(y) and x_right(y) = WIDTH + sum_k right[k-1] s_k(y),
    k = 1..K, with the modes s_k(y) = sin(k pi y / HEIGHT) sin(pi y / HEIGHT). Each mode
    vanishes with zero slope at y = 0 and y = HEIGHT, so the corners stay at (0, 0),
    (WIDTH, 0), (WIDTH, HEIGHT), (0, HEIGHT) and meet the bottom and top at right angles
    whatever the coefficients. Right angles matter at the bottom: there the side (free)
    meets the roller support, and an obtuse corner there is a stress singularity, whose
    mesh-dependent peak would make the maximum von Mises stress ill-defined.

    Attributes:
        left: (K,) float64 sine coefficients of the left side.
        right: (K,) float64 sine coefficients of the right side.
    """

    left: np.ndarray
    right: np.ndarray

    def __post_init__(self) -> None:
        for name in ("left", "right"):
            a = np.asarray(getattr(self, name), dtype=np.float64)
            if a.ndim != 1 or not np.all(np.isfinite(a)):
                raise ValueError(f"{name} must be a finite 1-D array, got shape {a.shape}")
            object.__setattr__(self, name, a)
        if self.left.shape != self.right.shape:
            raise ValueError(
                f"left and right must have one shape, got {self.left.shape} and {self.right.shape}"
            )
        width = self.min_width()
        if width <= MIN_WIDTH:
            raise ValueError(f"plate too narrow: minimum width {width:.3f} <= {MIN_WIDTH}")

    @staticmethod
    def _series(coefficients: np.ndarray, y: np.ndarray) -> np.ndarray:
        k = np.arange(1, coefficients.size + 1)
        modes = (
            np.sin(np.multiply.outer(y, k) * (np.pi / HEIGHT)) * np.sin(np.pi * y / HEIGHT)[:, None]
        )
        return modes @ coefficients

    def x_left(self, y: np.ndarray) -> np.ndarray:
        """(M,) float64 abscissae of the left side at heights y (M,)."""
        return self._series(self.left, np.asarray(y, dtype=np.float64))

    def x_right(self, y: np.ndarray) -> np.ndarray:
        """(M,) float64 abscissae of the right side at heights y (M,)."""
        return WIDTH + self._series(self.right, np.asarray(y, dtype=np.float64))

    def min_width(self) -> float:
        """Smallest x_right(y) - x_left(y) over a fine grid of heights."""
        y = np.linspace(0.0, HEIGHT, _WIDTH_CHECK_POINTS)
        return float(np.min(self.x_right(y) - self.x_left(y)))


def random_plate(rng: np.random.Generator, amplitude: float = 0.15, n_modes: int = 4) -> PlateShape:
    """A random plate: coefficient k of each side is amplitude * k**-1.5 * U(-1, 1).

    Draws 2 * n_modes uniforms from rng (left side first), whatever the amplitude, so the
    rest of a stream does not depend on it. With the defaults the plate is always at least
    1 - 2 * 0.15 * sum_k k**-1.5 ~ 0.50 wide.
    """
    if not np.isfinite(amplitude) or amplitude < 0:
        raise ValueError(f"amplitude must be finite and >= 0, got {amplitude}")
    if not isinstance(n_modes, int | np.integer) or n_modes < 1:
        raise ValueError(f"n_modes must be an int >= 1, got {n_modes!r}")
    decay = amplitude * np.arange(1, n_modes + 1, dtype=np.float64) ** -1.5
    left = decay * rng.uniform(-1.0, 1.0, n_modes)
    right = decay * rng.uniform(-1.0, 1.0, n_modes)
    return PlateShape(left, right)


@dataclass(frozen=True)
class PlateMesh:
    """A linear triangle mesh of a plate, with its boundary nodes named.

    Attributes:
        points: (N, 2) float64 node coordinates; every node belongs to a triangle.
        triangles: (M, 3) int64 node indices, counter-clockwise.
        corners: (4,) int64 nodes at (0, 0), (WIDTH, 0), (WIDTH, HEIGHT), (0, HEIGHT).
        bottom: (B,) int64 nodes on the side y = 0, corners included, sorted.
        top: (T,) int64 nodes on the side y = HEIGHT, corners included, sorted.
    """

    points: np.ndarray
    triangles: np.ndarray
    corners: np.ndarray
    bottom: np.ndarray
    top: np.ndarray


# Options we set for every mesh; a user's own values are restored afterwards.
def _options(mesh_size: float) -> dict[str, float]:
    return {
        "General.Terminal": 0,
        "General.Verbosity": 0,
        "General.NumThreads": 1,
        "Mesh.MaxNumThreads1D": 1,
        "Mesh.MaxNumThreads2D": 1,
        "Mesh.RandomSeed": 1,
        "Mesh.Algorithm": 6,  # Frontal-Delaunay
        "Mesh.ElementOrder": 1,
        "Mesh.MeshSizeMin": mesh_size,
        "Mesh.MeshSizeMax": mesh_size,
        "Mesh.MeshSizeFromPoints": 0,
        "Mesh.MeshSizeFromCurvature": 0,
        "Mesh.MeshSizeExtendFromBoundary": 1,
    }


@contextlib.contextmanager
def gmsh_session() -> Iterator[None]:
    """Initialises gmsh for the block unless it already is; finalises only what it started.

    Wrap a loop of :func:`mesh_plate` calls in it to pay gmsh's start-up once.
    """
    import gmsh

    owner = not gmsh.isInitialized()
    if owner:
        # interruptible=False: no SIGINT handler, so this also works off the main thread.
        gmsh.initialize(argv=[], readConfigFiles=False, run=False, interruptible=False)
    try:
        yield
    finally:
        if owner:
            gmsh.finalize()


@contextlib.contextmanager
def _private_model(options: dict[str, float]) -> Iterator[None]:
    """A fresh current gmsh model with our options; afterwards the model is removed and
    the previous current model and option values are back."""
    import gmsh

    with gmsh_session():
        previous_model = gmsh.model.getCurrent()
        saved = {name: gmsh.option.getNumber(name) for name in options}
        name = f"sciml-plate-{uuid.uuid4().hex}"
        gmsh.model.add(name)
        try:
            for key, value in options.items():
                gmsh.option.setNumber(key, value)
            yield
        finally:
            gmsh.model.setCurrent(name)
            gmsh.model.remove()
            for key, value in saved.items():
                gmsh.option.setNumber(key, value)
            if previous_model in gmsh.model.list():
                gmsh.model.setCurrent(previous_model)


def mesh_plate(shape: PlateShape, mesh_size: float, spline_points: int = 41) -> PlateMesh:
    """Meshes a plate with gmsh (no GUI, one thread, deterministic).

    Uses gmsh in a private model: an already initialised gmsh keeps its models, current
    model and options; otherwise gmsh is initialised and finalised around the call (see
    :func:`gmsh_session`). gmsh is process-global: do not call this from several threads.

    The straight sides are lines; each wavy side is a spline through spline_points points
    of the exact curve (corners included), or a line when its coefficients are all zero.

    Args:
        shape: the plate.
        mesh_size: target triangle edge length (> 0).
        spline_points: points on each wavy side (>= 3).

    Returns:
        A :class:`PlateMesh` with counter-clockwise triangles and no orphan nodes.
    """
    import gmsh

    if not (np.isfinite(mesh_size) and 0.0 < mesh_size <= HEIGHT):
        raise ValueError(f"mesh_size must be in (0, {HEIGHT}], got {mesh_size}")
    if spline_points < 3:
        raise ValueError(f"spline_points must be >= 3, got {spline_points}")

    with _private_model(_options(mesh_size)):
        geo = gmsh.model.geo
        corner_xy = [(0.0, 0.0), (WIDTH, 0.0), (WIDTH, HEIGHT), (0.0, HEIGHT)]
        corner_tags = [geo.addPoint(x, y, 0.0) for x, y in corner_xy]
        p0, p1, p2, p3 = corner_tags

        def side(coefficients: np.ndarray, x: np.ndarray, y: np.ndarray, a: int, b: int) -> int:
            if not np.any(coefficients):
                return geo.addLine(a, b)
            inner = [geo.addPoint(float(xi), float(yi), 0.0) for xi, yi in zip(x, y, strict=True)]
            return geo.addSpline([a, *inner, b])

        y = np.linspace(0.0, HEIGHT, spline_points)[1:-1]
        bottom = geo.addLine(p0, p1)
        right = side(shape.right, shape.x_right(y), y, p1, p2)
        top = geo.addLine(p2, p3)
        left = side(shape.left, shape.x_left(y)[::-1], y[::-1], p3, p0)
        loop = geo.addCurveLoop([bottom, right, top, left])
        geo.addPlaneSurface([loop])
        geo.synchronize()
        gmsh.model.mesh.generate(2)

        tags, coords, _ = gmsh.model.mesh.getNodes()
        _, tri_tags = gmsh.model.mesh.getElementsByType(2)
        corner_node_tags = [gmsh.model.mesh.getNodes(0, p)[0][0] for p in corner_tags]
        bottom_tags = gmsh.model.mesh.getNodes(1, bottom, includeBoundary=True)[0]
        top_tags = gmsh.model.mesh.getNodes(1, top, includeBoundary=True)[0]

    # Renumber gmsh node tags to 0..N-1 over the nodes that triangles use.
    tags = np.asarray(tags, dtype=np.int64)
    xyz = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    tri_tags = np.asarray(tri_tags, dtype=np.int64).reshape(-1, 3)
    used = np.unique(tri_tags)
    index = np.full(int(max(tags.max(), used.max())) + 1, -1, dtype=np.int64)
    index[used] = np.arange(used.size)
    position = np.empty_like(index)
    position[tags] = np.arange(tags.size)
    points = np.ascontiguousarray(xyz[position[used], :2])
    triangles = index[tri_tags]

    # Counter-clockwise orientation.
    a, b, c = (points[triangles[:, i]] for i in range(3))
    signed = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flip = signed < 0
    triangles[flip] = triangles[flip][:, [0, 2, 1]]

    def nodes(gmsh_tags: np.ndarray) -> np.ndarray:
        return np.sort(index[np.asarray(gmsh_tags, dtype=np.int64)])

    corners = index[np.asarray(corner_node_tags, dtype=np.int64)]
    return PlateMesh(points, triangles, corners, nodes(bottom_tags), nodes(top_tags))
