"""A trained model's solution on the problem's evaluation grid, and its VTK files.

``prediction.vtu`` holds the spatial grid with point data ``u``, ``u_ref`` and ``error``
(at the final time for time-dependent problems); those also get ``prediction.pvd``, a
ParaView time series of one ``.vtu`` per evaluation time under ``prediction_series/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sciml.pde.problem import Problem
from sciml.pde.trainer import TrainResult, predict


@dataclass
class GridSolution:
    """Values on a tensor-product grid over ``names`` (axes in the problem's order).

    ``u``, ``u_ref`` and ``error`` have the grid's shape; ``u_ref`` and ``error`` are None
    without a reference. ``time`` is the time axis name, if any.
    """

    names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    u: np.ndarray
    u_ref: np.ndarray | None
    time: str | None

    @property
    def error(self) -> np.ndarray | None:
        return None if self.u_ref is None else self.u - self.u_ref

    @property
    def rel_l2(self) -> float:
        if self.u_ref is None:
            return float("nan")
        return float(np.linalg.norm(self.u - self.u_ref) / np.linalg.norm(self.u_ref))

    def spatial_names(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n != self.time)

    def at_time_index(self, k: int) -> dict[str, np.ndarray | None]:
        """u, u_ref and error on the spatial grid at the k-th time (all of it without a
        time axis)."""
        if self.time is None:
            return {"u": self.u, "u_ref": self.u_ref, "error": self.error}
        t = self.names.index(self.time)

        def pick(a):
            return None if a is None else np.take(a, k, axis=t)

        return {"u": pick(self.u), "u_ref": pick(self.u_ref), "error": pick(self.error)}


def evaluate(problem: Problem, model: nn.Module) -> GridSolution:
    """The model (and the reference) on the problem's evaluation grid."""
    points, shape = problem.domain.grid(problem.evaluation)
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    u = predict(model, points.to(dtype)).double().reshape(shape).numpy()
    ref = None
    if problem.reference is not None:
        ref = problem.reference(points.double()).double().reshape(shape).numpy()
    axes = tuple(a.numpy() for a in problem.domain.axes(problem.evaluation))
    return GridSolution(problem.domain.names, axes, u, ref, problem.time)


def _spatial_mesh(sol: GridSolution):
    """meshio points (P, 3) and cells for the spatial grid (lines, quads or hexahedra)."""
    names = sol.spatial_names()
    axes = [sol.axes[sol.names.index(n)] for n in names]
    shape = tuple(len(a) for a in axes)
    grids = np.meshgrid(*axes, indexing="ij")
    coords = np.zeros((grids[0].size, 3))
    for j, g in enumerate(grids):
        coords[:, j] = g.reshape(-1)
    index = np.arange(coords.shape[0]).reshape(shape)
    if len(shape) == 1:
        cells = [("line", np.stack([index[:-1], index[1:]], 1))]
    elif len(shape) == 2:
        a, b = index[:-1, :-1], index[1:, :-1]
        c, d = index[1:, 1:], index[:-1, 1:]
        cells = [("quad", np.stack([a, b, c, d], -1).reshape(-1, 4))]
    else:
        i = index
        corners = [
            i[:-1, :-1, :-1], i[1:, :-1, :-1], i[1:, 1:, :-1], i[:-1, 1:, :-1],
            i[:-1, :-1, 1:], i[1:, :-1, 1:], i[1:, 1:, 1:], i[:-1, 1:, 1:],
        ]  # fmt: skip
        cells = [("hexahedron", np.stack(corners, -1).reshape(-1, 8))]
    return coords, cells


def write_vtk(sol: GridSolution, out_dir: Path) -> list[Path]:
    """Writes prediction.vtu (and, with a time axis, the series); returns the paths."""
    import meshio  # an optional dependency (the viz extra)

    coords, cells = _spatial_mesh(sol)

    def mesh_at(k: int) -> meshio.Mesh:
        data = {n: v.reshape(-1) for n, v in sol.at_time_index(k).items() if v is not None}
        return meshio.Mesh(coords, cells, point_data=data)

    written = []
    last = len(sol.axes[sol.names.index(sol.time)]) - 1 if sol.time else 0
    path = out_dir / "prediction.vtu"
    mesh_at(last).write(path)
    written.append(path)
    if sol.time is not None:
        series = out_dir / "prediction_series"
        series.mkdir(exist_ok=True)
        times = sol.axes[sol.names.index(sol.time)]
        entries = []
        for k, t in enumerate(times):
            name = f"prediction_{k:04d}.vtu"
            mesh_at(k).write(series / name)
            entries.append(f'    <DataSet timestep="{t:.9g}" file="prediction_series/{name}"/>')
        pvd = out_dir / "prediction.pvd"
        pvd.write_text(
            '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
            "  <Collection>\n" + "\n".join(entries) + "\n  </Collection>\n</VTKFile>\n"
        )
        written.append(pvd)
    return written


def render_png(problem: Problem, sol: GridSolution, path: Path) -> Path:
    """prediction, reference and error side by side (at the final time, or over (t, x)
    for problems with one space dimension)."""
    from sciml.viz import render_fields

    spatial = sol.spatial_names()
    if len(spatial) == 1 and sol.time is not None:
        names = (spatial[0], sol.time)
        order = [sol.names.index(n) for n in names]
        fields = {
            "u": sol.u.transpose(order),
            **(
                {"u_ref": sol.u_ref.transpose(order), "error": sol.error.transpose(order)}
                if sol.u_ref is not None
                else {}
            ),
        }
    elif len(spatial) == 2:
        names = spatial
        k = len(sol.axes[sol.names.index(sol.time)]) - 1 if sol.time else 0
        fields = {n: v for n, v in sol.at_time_index(k).items() if v is not None}
    else:
        raise RuntimeError(f"pictures are drawn for 2D slices; {problem.name} has axes {spatial}")
    axes = [sol.axes[sol.names.index(n)] for n in names]
    title = problem.name
    if sol.time is not None and len(spatial) == 2:
        title += f" t={sol.axes[sol.names.index(sol.time)][-1]:g}"
    return render_fields(fields, axes, path, labels=names, title=title, cmaps={"error": "coolwarm"})


def write_results(
    problem: Problem, model: nn.Module, result: TrainResult, out: Path, picture: bool = True
) -> tuple[GridSolution, list[Path], list[str]]:
    """Writes error_curve.csv, the VTK files and prediction.png into ``out``, in that
    order, so that a failure late (no pyvista, no OpenGL) loses nothing written before.

    Returns the solution on the evaluation grid, the files written, and what could not
    be written (with why).
    """
    files, problems = [out / "error_curve.csv"], []
    result.write_csv(files[0])
    solution = evaluate(problem, model)
    try:
        files += write_vtk(solution, out)
    except ImportError as e:
        problems.append(f"no prediction.vtu: {e} (pip install 'sciml[viz]')")
    if picture:
        try:
            files.append(render_png(problem, solution, out / "prediction.png"))
        except (ImportError, RuntimeError) as e:
            problems.append(f"no prediction.png: {e}")
    return solution, files, problems
