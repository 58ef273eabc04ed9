"""The geometric half of MMGP: each mesh morphed onto the unit disk, and the P1 transfer
operators between it and the common mesh."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sciml.mesh import floater_morph, mass_matrix, mesh_quality, planar_triangles, transfer_matrix


def default_landmark_angles(n_landmarks: int) -> np.ndarray:
    """Angles (radians) for landmarks evenly spaced counter-clockwise from 225°, so four
    corners given from the bottom-left go to 225°, 315°, 45° and 135°."""
    return np.deg2rad(225.0) + 2 * np.pi * np.arange(n_landmarks) / n_landmarks


@dataclass(frozen=True)
class CommonMesh:
    """The mesh every sample is transferred to: points (Nc, 2) in the unit disk, triangles
    (Mc, 3), and its P1 mass matrix (Nc, Nc)."""

    points: np.ndarray
    triangles: np.ndarray
    mass: sp.csr_matrix

    @classmethod
    def from_arrays(cls, points: np.ndarray, triangles: np.ndarray) -> CommonMesh:
        return cls(points, triangles, mass_matrix(points, triangles))


@dataclass(frozen=True)
class MorphedSample:
    """One sample's mesh: its nodes (N, 2), triangles (M, 3) and their images on the disk."""

    points: np.ndarray
    triangles: np.ndarray
    morphed: np.ndarray

    def to_common(self, common: CommonMesh) -> sp.csr_matrix:
        """(Nc, N): nodal fields of this sample, interpolated at the common mesh's nodes."""
        return transfer_matrix(self.morphed, self.triangles, common.points)

    def from_common(self, common: CommonMesh) -> sp.csr_matrix:
        """(N, Nc): nodal fields on the common mesh, interpolated at this sample's nodes."""
        return transfer_matrix(common.points, common.triangles, self.morphed)


def morph_samples(
    meshes: Sequence,
    landmarks: Sequence[np.ndarray] | None,
    landmark_angles: np.ndarray | None,
) -> list[MorphedSample]:
    """Morphs every meshio mesh onto the unit disk (Floater, with landmarks when given) and
    warns, naming the sample, where the morph folded elements."""
    if landmarks is not None and len(landmarks) != len(meshes):
        raise ValueError(f"landmarks has {len(landmarks)} entries for {len(meshes)} meshes")
    samples = []
    for i, mesh in enumerate(meshes):
        points, triangles = planar_triangles(mesh, name=f"mesh {i}")
        pinned = angles = None
        if landmarks is not None:
            pinned = np.asarray(landmarks[i], dtype=np.int64)
            angles = (
                default_landmark_angles(len(pinned))
                if landmark_angles is None
                else np.asarray(landmark_angles, dtype=np.float64)
            )
        try:
            morphed = floater_morph(points, triangles, pinned, angles)
        except ValueError as e:
            raise ValueError(f"mesh {i}: {e}") from e
        quality = mesh_quality(morphed, triangles, reference_points=points)
        if quality.n_inverted or quality.n_degenerate:
            warnings.warn(
                f"mesh {i}: morphing folded {quality.n_inverted} and collapsed "
                f"{quality.n_degenerate} of {quality.n_cells} triangles",
                RuntimeWarning,
                stacklevel=3,
            )
        samples.append(MorphedSample(points, triangles, morphed))
    return samples
