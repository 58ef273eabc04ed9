"""Tensile2d-like data set: plane-strain plates of random wavy shape pulled at the top.

A local stand-in for the Tensile2d set of MMGP (Casenave et al. 2023): each sample is a
plate [0, 1] x [0, 2] whose left and right sides are random smooth sine series
(:func:`sciml.data.plate.random_plate`), meshed by gmsh, with inputs E ~ U[1, 2],
nu ~ U[0.25, 0.35], P ~ U[0.5, 1.5] and the displacement and von Mises stress of
:func:`sciml.data.elasticity.solve_tension` as outputs. Nothing is downloaded.

Sample i of seed s comes from ``np.random.default_rng([s, i])`` alone, so a larger n only
adds samples. Each sample is cached as its own ``.npz`` (written atomically) under
``cache_dir / f"v{GENERATOR_VERSION}-{hash}"``, the hash covering the generator version,
every parameter and the gmsh and scikit-fem versions; an interrupted run keeps its
finished samples.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from sciml._checks import check_int
from sciml.data.elasticity import solve_tension
from sciml.data.plate import MIN_WIDTH, gmsh_session, mesh_plate, random_plate

if TYPE_CHECKING:
    import meshio

__all__ = [
    "DEFAULT_MESH_SIZE",
    "GENERATOR_VERSION",
    "INPUT_NAMES",
    "INPUT_RANGES",
    "Tensile2dDataset",
    "default_cache_dir",
    "tensile2d",
    "tensile2d_sample",
]

GENERATOR_VERSION = 2  # 2: sides meet the bottom and top at right angles
DEFAULT_MESH_SIZE = 0.029  # about 3000 nodes per sample (2450-3360, mean 2990)
INPUT_NAMES = ("E", "nu", "P")
INPUT_RANGES = ((1.0, 2.0), (0.25, 0.35), (0.5, 1.5))
FIELD_NAMES = ("u1", "u2", "von_mises")
_SPLINE_POINTS = 41
_ARRAYS = ("points", "triangles", "corners", "inputs", "left", "right", *FIELD_NAMES)


@dataclass(frozen=True)
class Tensile2dDataset:
    """Samples of the Tensile2d-like set; every per-sample list has one entry per sample.

    Attributes:
        meshes: meshio meshes, points (N_i, 2) float64 and one "triangle" block (M_i, 3)
            int64, counter-clockwise, no orphan nodes.
        inputs: (n, 3) float64 rows (E, nu, P).
        fields: "u1" (horizontal displacement), "u2" (vertical displacement) and
            "von_mises" (plane strain, from L2-projected stresses), each a list of (N_i,)
            float64 nodal arrays.
        scalars: "max_von_mises" (max of the nodal von Mises field) and "max_u2" (max of
            the nodal vertical displacement, reached on the top side), each (n,) float64.
        corners: (4,) int64 node indices of (0, 0), (1, 0), (1, 2), (0, 2): bottom-left,
            bottom-right, top-right, top-left (counter-clockwise).
        shapes: (n, 2, K) float64 sine coefficients of the left and right sides.
        input_names: names of the input columns.
    """

    meshes: list[meshio.Mesh]
    inputs: np.ndarray
    fields: dict[str, list[np.ndarray]]
    scalars: dict[str, np.ndarray]
    corners: list[np.ndarray]
    shapes: np.ndarray
    input_names: tuple[str, ...] = field(default=INPUT_NAMES)

    def __len__(self) -> int:
        return len(self.meshes)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Tensile2dDataset:
        """The samples at ``indices`` (ints, negatives allowed), in that order."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(f"indices must be a 1-D sequence of ints, got shape {idx.shape}")
        n = len(self)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise ValueError(f"indices must be in [-{n}, {n}), got {idx.min()}..{idx.max()}")
        picked = [int(i) for i in idx]
        return Tensile2dDataset(
            meshes=[self.meshes[i] for i in picked],
            inputs=self.inputs[idx],
            fields={k: [v[i] for i in picked] for k, v in self.fields.items()},
            scalars={k: v[idx] for k, v in self.scalars.items()},
            corners=[self.corners[i] for i in picked],
            shapes=self.shapes[idx],
            input_names=self.input_names,
        )


def default_cache_dir() -> Path:
    """``$SCIML_CACHE_DIR/tensile2d`` if that variable is set and non-empty, else
    ``~/.cache/sciml/tensile2d``."""
    env = os.environ.get("SCIML_CACHE_DIR")
    return (Path(env) if env else Path.home() / ".cache" / "sciml") / "tensile2d"


def tensile2d_sample(
    seed: int,
    index: int,
    *,
    mesh_size: float = DEFAULT_MESH_SIZE,
    amplitude: float = 0.15,
    n_modes: int = 4,
    order: int = 2,
) -> dict[str, np.ndarray]:
    """Generates sample ``index`` of ``seed`` from ``np.random.default_rng([seed, index])``.

    The stream gives E, nu, P (uniform over :data:`INPUT_RANGES`), then the shape
    (:func:`~sciml.data.plate.random_plate`). ``amplitude=0`` gives the straight plate,
    whose exact solution is sigma_yy = P with linear displacements.

    Returns:
        "points" (N, 2) float64, "triangles" (M, 3) int64, "corners" (4,) int64,
        "inputs" (3,) float64, "left" and "right" (n_modes,) float64 shape coefficients,
        "u1", "u2", "von_mises" (N,) float64.
    """
    rng = np.random.default_rng([seed, index])
    inputs = np.array([rng.uniform(lo, hi) for lo, hi in INPUT_RANGES])
    shape = random_plate(rng, amplitude, n_modes)
    mesh = mesh_plate(shape, mesh_size, _SPLINE_POINTS)
    E, nu, P = inputs
    solution = solve_tension(
        mesh.points, mesh.triangles, mesh.bottom, mesh.top, int(mesh.corners[0]), E, nu, P, order
    )
    return {
        "points": mesh.points,
        "triangles": mesh.triangles,
        "corners": mesh.corners,
        "inputs": inputs,
        "left": shape.left,
        "right": shape.right,
        "u1": solution.u1,
        "u2": solution.u2,
        "von_mises": solution.von_mises,
    }


def _check_float(name: str, value: Any, low: float, high: float, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value}")
    return v


def _save(path: Path, sample: dict[str, np.ndarray], key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, key=np.array(key), **sample)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The cached sample, or None when the file is missing, unreadable or not ours."""
    try:
        # Open the file ourselves: np.load leaks its handle when the file is not an npz.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            sample = {name: np.array(z[name]) for name in _ARRAYS}
    except Exception:  # missing, corrupt, truncated or foreign: regenerate it
        return None
    if not all(np.all(np.isfinite(sample[k])) for k in FIELD_NAMES):
        return None
    return sample


def _generate_into(path: Path, key: str, seed: int, index: int, params: dict[str, Any]) -> None:
    """Worker job: generate one sample and write it to the cache."""
    with gmsh_session():
        _save(path, tensile2d_sample(seed, index, **params), key)


def tensile2d(
    n: int,
    seed: int = 0,
    *,
    mesh_size: float | None = None,
    amplitude: float = 0.15,
    n_modes: int = 4,
    order: int = 2,
    cache_dir: str | os.PathLike[str] | None = None,
    cache: bool = True,
    workers: int = 1,
    progress: bool = True,
) -> Tensile2dDataset:
    """Generates (or loads from the cache) samples 0..n-1 of the Tensile2d-like set.

    Args:
        n: number of samples (>= 1).
        seed: data-set seed (>= 0); sample i depends on (seed, i) only.
        mesh_size: gmsh target edge length in (0, 0.5]; default
            :data:`DEFAULT_MESH_SIZE` (about 3000 nodes per sample).
        amplitude: sine amplitude of the sides' first mode (mode k: amplitude * k**-1.5
            times U(-1, 1)); 0 gives the straight plate. Must keep the plate wider than
            0.3 for every draw.
        n_modes: sine modes per side (>= 1).
        order: displacement element degree, 1 or 2 (P2 default; nodal values at vertices).
        cache_dir: root of the cache; default :func:`default_cache_dir`.
        cache: False skips the cache entirely (nothing read or written).
        workers: processes generating missing samples (1 = in this process). They are
            spawned, so a script calling this needs an ``if __name__ == "__main__":``
            guard; they write to the cache, so ``cache=False`` runs in this process.
        progress: show a tqdm bar.

    Returns:
        A :class:`Tensile2dDataset` of n samples.
    """
    n = check_int(n, "n", 1)
    seed = check_int(seed, "seed", 0)
    n_modes = check_int(n_modes, "n_modes", 1)
    workers = check_int(workers, "workers", 1)
    if mesh_size is None:
        mesh_size = DEFAULT_MESH_SIZE
    mesh_size = _check_float("mesh_size", mesh_size, 0.0, 0.5, low_open=True)
    amplitude = _check_float("amplitude", amplitude, 0.0, math.inf, low_open=False)
    if order not in (1, 2) or isinstance(order, bool):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    worst_width = 1.0 - 2.0 * amplitude * float(np.sum(np.arange(1, n_modes + 1) ** -1.5))
    if worst_width <= MIN_WIDTH:
        raise ValueError(
            f"amplitude={amplitude} with n_modes={n_modes} can make the plate narrower than "
            f"{MIN_WIDTH} (worst case {worst_width:.3f})"
        )

    params: dict[str, Any] = {
        "mesh_size": mesh_size,
        "amplitude": amplitude,
        "n_modes": n_modes,
        "order": order,
    }
    samples: list[dict[str, np.ndarray] | None] = [None] * n
    folder: Path | None = None
    key = ""
    if cache:
        folder, key = _cache_folder(cache_dir, seed, params)
        for i in range(n):
            samples[i] = _load(folder / f"{i:06d}.npz", key)
    missing = [i for i in range(n) if samples[i] is None]

    with tqdm(total=n, initial=n - len(missing), disable=not progress, desc="tensile2d") as bar:
        if workers > 1 and len(missing) > 1 and folder is not None:
            context = get_context("spawn")  # gmsh is process-global: never fork it
            pool = ProcessPoolExecutor(min(workers, len(missing)), mp_context=context)
            try:
                jobs = {
                    pool.submit(_generate_into, folder / f"{i:06d}.npz", key, seed, i, params): i
                    for i in missing
                }
                for job in as_completed(jobs):
                    job.result()
                    i = jobs[job]
                    samples[i] = _load(folder / f"{i:06d}.npz", key)
                    if samples[i] is None:
                        raise RuntimeError(f"sample {i} was written but cannot be read back")
                    bar.update()
            finally:
                # On an error or Ctrl-C, drop the queued samples instead of generating them.
                pool.shutdown(wait=True, cancel_futures=True)
        else:
            with gmsh_session():
                for i in missing:
                    sample = tensile2d_sample(seed, i, **params)
                    if folder is not None:
                        _save(folder / f"{i:06d}.npz", sample, key)
                    samples[i] = sample
                    bar.update()
    return _assemble([s for s in samples if s is not None])


def _cache_folder(
    cache_dir: str | os.PathLike[str] | None, seed: int, params: dict[str, Any]
) -> tuple[Path, str]:
    import gmsh
    import skfem

    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    payload = {
        "generator": "tensile2d",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "spline_points": _SPLINE_POINTS,
        "params": params,
        "gmsh": gmsh.__version__,
        "scikit-fem": skfem.__version__,
    }
    key = json.dumps(payload, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = root / f"v{GENERATOR_VERSION}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    about = folder / "params.json"
    if not about.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="params.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(payload, sort_keys=True, indent=2) + "\n")
        os.replace(tmp, about)
    return folder, key


def _assemble(samples: list[dict[str, np.ndarray]]) -> Tensile2dDataset:
    import meshio

    fields = {name: [s[name] for s in samples] for name in FIELD_NAMES}
    return Tensile2dDataset(
        meshes=[meshio.Mesh(s["points"], [("triangle", s["triangles"])]) for s in samples],
        inputs=np.stack([s["inputs"] for s in samples]),
        fields=fields,
        scalars={
            "max_von_mises": np.array([v.max() for v in fields["von_mises"]]),
            "max_u2": np.array([v.max() for v in fields["u2"]]),
        },
        corners=[s["corners"] for s in samples],
        shapes=np.stack([np.stack([s["left"], s["right"]]) for s in samples]),
    )
