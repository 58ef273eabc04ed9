"""MMGP: Gaussian-process regression of fields on meshes of varying shape, by mesh morphing
(Casenave, Staber and Roynard, 2023)."""

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from sciml.gp import GPRegressor
from sciml.mesh import planar_triangles
from sciml.mmgp.geometry import CommonMesh, MorphedSample, morph_samples
from sciml.mmgp.pod import POD, snapshot_pod

_FORMAT = "sciml.mmgp/1"


@dataclass(frozen=True)
class Prediction:
    """MMGP predictions for n samples, each on its own mesh.

    fields / fields_std: {name: [array (N_i,) for each sample]}, the predictive mean and
    standard deviation at the sample's nodes; scalars / scalars_std: {name: array (n,)}.
    """

    fields: dict[str, list[np.ndarray]]
    fields_std: dict[str, list[np.ndarray]]
    scalars: dict[str, np.ndarray]
    scalars_std: dict[str, np.ndarray]


class MMGP:
    """Mesh-morphing Gaussian-process surrogate of nodal fields and scalars.

    Each mesh is morphed onto the unit disk (Floater, with landmarks when given); the
    sample's node coordinates and fields are transferred (P1 interpolation) to one common
    mesh; mass-weighted snapshot POD reduces the coordinates to ``n_shape_modes`` shape
    coefficients and each field to ``n_field_modes`` coefficients; a regressor (default:
    exact GPs with Matern-5/2 ARD kernels, one per output) maps shape coefficients and
    inputs to field coefficients and scalars. Predictions are reconstructed on the common
    mesh and transferred back to each sample's own mesh. Everything after the GP is linear,
    so the nodal variance is exact in closed form, sum_k var(c_k) (S phi_k)^2 for the
    transfer S and the modes phi_k, to which is added the error the GP cannot see: the
    mean squared error of transfer and truncation over the training set, per node
    (``residual_variance_``). Without it, 95% intervals cover far fewer than 95% of nodes.

    common_mesh: the index of the training sample whose morphed mesh is the common mesh
    (the paper's choice; default 0), or a meshio mesh of the unit disk.
    landmark_angles: angles (radians) the landmarks are pinned to; default evenly spaced
    counter-clockwise from 225°.
    regressor: an unfitted object with ``fit(X, Y)`` and ``predict(X, return_std=True)``
    (default ``sciml.gp.GPRegressor()``); it is copied, never fitted in place.
    """

    def __init__(
        self,
        n_shape_modes: int = 8,
        n_field_modes: int = 8,
        *,
        common_mesh: int | Any = 0,
        landmark_angles: Sequence[float] | None = None,
        regressor: Any = None,
        progress: bool = True,
    ) -> None:
        self.n_shape_modes = n_shape_modes
        self.n_field_modes = n_field_modes
        self.common_mesh = common_mesh
        self.landmark_angles = landmark_angles
        self.regressor = regressor
        self.progress = progress

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        meshes: Sequence,
        inputs: np.ndarray,
        fields: Mapping[str, Sequence[np.ndarray]],
        scalars: Mapping[str, np.ndarray] | None = None,
        landmarks: Sequence[np.ndarray] | None = None,
    ) -> MMGP:
        """Fits the surrogate on n samples.

        meshes: n meshio meshes (2D triangles); inputs (n, p) float (p may be 0);
        fields: {name: [array (N_i,) for each sample]}, N_i the node count of mesh i;
        scalars: {name: array (n,)}; landmarks: None or one int array per mesh holding the
        same feature nodes in the same counter-clockwise order. Returns self.
        """
        if len(meshes) == 0:
            raise ValueError("the training set is empty")
        if not fields and not scalars:
            raise ValueError("nothing to learn: give at least one field or scalar")
        for name, value in {
            "n_shape_modes": self.n_shape_modes,
            "n_field_modes": self.n_field_modes,
        }.items():
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        n = len(meshes)
        inputs = _as_inputs(inputs, n)
        scalars = {k: _as_scalar(k, v, n) for k, v in (scalars or {}).items()}
        samples = self._morph(meshes, landmarks, "morphing training meshes")
        fields = {name: _as_fields(name, values, samples) for name, values in fields.items()}

        self.common_ = self._common(samples)
        to_common, from_common = self._transfers(samples)
        mass = self.common_.mass
        coordinates = _coordinates(samples, to_common)
        self.shape_pod_ = snapshot_pod(coordinates, sp.block_diag([mass, mass]), self.n_shape_modes)
        self.field_pods_: dict[str, POD] = {}
        self.residual_variance_: dict[str, np.ndarray] = {}
        targets, self.output_slices_ = [], {}
        start = 0
        for name, values in fields.items():
            snapshots = np.stack([t @ f for t, f in zip(to_common, values, strict=True)])
            pod = snapshot_pod(snapshots, mass, self.n_field_modes)
            coefficients = pod.project(snapshots)
            self.field_pods_[name] = pod
            self.residual_variance_[name] = _residual_variance(
                values, pod.reconstruct(coefficients), to_common, from_common
            )
            targets.append(coefficients)
            self.output_slices_[name] = slice(start, start + pod.n_modes)
            start += pod.n_modes
        for name, values in scalars.items():
            targets.append(values[:, None])
            self.output_slices_[name] = slice(start, start + 1)
            start += 1
        self.scalar_names_ = tuple(scalars)
        self.n_inputs_ = inputs.shape[1]
        features = np.hstack([self.shape_pod_.project(coordinates), inputs])
        self.regressor_ = (
            copy.deepcopy(self.regressor)
            if self.regressor is not None
            else GPRegressor(progress=self.progress)
        )
        self.regressor_.fit(features, np.hstack(targets))
        return self

    # -- prediction ------------------------------------------------------------------------

    def predict(
        self,
        meshes: Sequence,
        inputs: np.ndarray,
        landmarks: Sequence[np.ndarray] | None = None,
    ) -> Prediction:
        """Predicts fields (on each sample's own mesh) and scalars, with standard deviations.

        meshes: n meshio meshes; inputs (n, p); landmarks as in ``fit``.
        """
        if not hasattr(self, "regressor_"):
            raise RuntimeError("this MMGP is not fitted yet: call fit() first")
        n = len(meshes)
        if n == 0:
            return Prediction(
                {k: [] for k in self.field_pods_},
                {k: [] for k in self.field_pods_},
                {k: np.zeros(0) for k in self.scalar_names_},
                {k: np.zeros(0) for k in self.scalar_names_},
            )
        inputs = _as_inputs(inputs, n)
        if inputs.shape[1] != self.n_inputs_:
            raise ValueError(f"inputs have {inputs.shape[1]} columns, fitted with {self.n_inputs_}")
        samples = self._morph(meshes, landmarks, "morphing meshes")
        to_common, from_common = self._transfers(samples)
        shape = self.shape_pod_.project(_coordinates(samples, to_common))
        mean, std = self.regressor_.predict(np.hstack([shape, inputs]), return_std=True)
        mean, var = np.atleast_2d(mean).reshape(n, -1), np.atleast_2d(std).reshape(n, -1) ** 2

        fields, fields_std = {}, {}
        for name, pod in self.field_pods_.items():
            cut = self.output_slices_[name]
            on_common = pod.reconstruct(mean[:, cut])
            fields[name] = [s @ f for s, f in zip(from_common, on_common, strict=True)]
            floor = self.residual_variance_[name]
            fields_std[name] = [
                np.sqrt(np.square(s @ pod.modes) @ v + s @ floor)
                for s, v in zip(from_common, var[:, cut], strict=True)
            ]
        scalars = {k: mean[:, self.output_slices_[k]][:, 0] for k in self.scalar_names_}
        scalars_std = {k: np.sqrt(var[:, self.output_slices_[k]][:, 0]) for k in self.scalar_names_}
        return Prediction(fields, fields_std, scalars, scalars_std)

    # -- persistence -----------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the fitted model to ``path`` (pickle; load only files you trust)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            pickle.dump({"format": _FORMAT, "model": self}, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> MMGP:
        """Reads a model written by ``save`` (pickle: load only files you trust)."""
        with open(path, "rb") as f:
            state = pickle.load(f)
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"{path} is not an MMGP file written by sciml ({_FORMAT})")
        return state["model"]

    # -- internals -------------------------------------------------------------------------

    def _bar(self, items: Sequence, what: str):
        return tqdm(items, desc=what, disable=not self.progress or len(items) < 2, leave=False)

    def _morph(self, meshes, landmarks, what: str) -> list[MorphedSample]:
        return morph_samples(self._bar(meshes, what), landmarks, self.landmark_angles)

    def _transfers(
        self, samples: list[MorphedSample]
    ) -> tuple[list[sp.csr_matrix], list[sp.csr_matrix]]:
        """Each sample's transfer operators to and from the common mesh."""
        to_common, from_common = [], []
        for s in self._bar(samples, "transferring"):
            to_common.append(s.to_common(self.common_))
            from_common.append(s.from_common(self.common_))
        return to_common, from_common

    def _common(self, samples: list[MorphedSample]) -> CommonMesh:
        choice = self.common_mesh
        if isinstance(choice, (int, np.integer)):
            if not 0 <= choice < len(samples):
                raise ValueError(f"common_mesh={choice} is not a training sample index")
            return CommonMesh.from_arrays(samples[choice].morphed, samples[choice].triangles)
        points, triangles = planar_triangles(choice, name="common_mesh")
        radius = np.linalg.norm(points, axis=1).max()
        if radius > 1 + 1e-6:
            raise ValueError(f"common_mesh must lie in the unit disk, reaches radius {radius:.3g}")
        return CommonMesh.from_arrays(points, triangles)


def _residual_variance(
    fields: list[np.ndarray],
    reconstructed: np.ndarray,
    to_common: list[sp.csr_matrix],
    from_common: list[sp.csr_matrix],
) -> np.ndarray:
    """(Nc,): the mean squared error, at each common-mesh node, of the training fields
    reconstructed from their own POD coefficients and transferred back to their meshes.
    This error of transfer and truncation is invisible to the GP; predictions add it to
    the nodal variance."""
    squared = [
        t @ np.square(f - s @ r)
        for f, r, t, s in zip(fields, reconstructed, to_common, from_common, strict=True)
    ]
    return np.mean(squared, axis=0)


def _coordinates(samples: list[MorphedSample], to_common: list[sp.csr_matrix]) -> np.ndarray:
    """(n, 2 Nc): each sample's physical node coordinates seen from the common mesh,
    all x then all y."""
    return np.stack([(t @ s.points).T.ravel() for s, t in zip(samples, to_common, strict=True)])


def _as_inputs(inputs: np.ndarray, n: int) -> np.ndarray:
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim == 1 and n > 0 and inputs.size == 0:
        inputs = inputs.reshape(n, 0)
    if inputs.ndim != 2 or len(inputs) != n:
        raise ValueError(f"inputs must have shape ({n}, p) for {n} meshes, got {inputs.shape}")
    if not np.isfinite(inputs).all():
        bad = np.flatnonzero(~np.isfinite(inputs).all(axis=1))[0]
        raise ValueError(f"inputs of sample {bad} are not finite: {inputs[bad]}")
    return inputs


def _as_scalar(name: str, values: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(f"scalar {name!r} must have shape ({n},), got {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(
            f"scalar {name!r} is not finite at sample {np.flatnonzero(~np.isfinite(values))[0]}"
        )
    return values


def _as_fields(
    name: str, values: Sequence[np.ndarray], samples: list[MorphedSample]
) -> list[np.ndarray]:
    if len(values) != len(samples):
        raise ValueError(f"field {name!r} has {len(values)} samples for {len(samples)} meshes")
    out = []
    for i, (value, sample) in enumerate(zip(values, samples, strict=True)):
        value = np.asarray(value, dtype=np.float64)
        if value.shape != (len(sample.points),):
            raise ValueError(
                f"field {name!r} of sample {i} has shape {value.shape}, but mesh {i} has "
                f"{len(sample.points)} nodes"
            )
        if not np.isfinite(value).all():
            raise ValueError(f"field {name!r} of sample {i} has NaN or infinite values")
        out.append(value)
    return out
