"""Snapshot proper orthogonal decomposition (POD) in a weighted inner product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class POD:
    """A truncated POD basis: ``snapshot ≈ mean + modes @ coefficients``.

    mean (D,), modes (D, k) orthonormal in the weight's inner product (modes.T W modes = I),
    eigenvalues (k,): the snapshot correlation's eigenvalues, sum of squared coefficients
    over the training snapshots.
    """

    mean: np.ndarray
    modes: np.ndarray
    weight: sp.csr_matrix
    eigenvalues: np.ndarray

    @property
    def n_modes(self) -> int:
        return self.modes.shape[1]

    def project(self, snapshots: np.ndarray) -> np.ndarray:
        """Coefficients (n, k) of snapshots (n, D): the W-orthogonal projection."""
        centred = np.atleast_2d(snapshots) - self.mean
        return (self.weight @ centred.T).T @ self.modes

    def reconstruct(self, coefficients: np.ndarray) -> np.ndarray:
        """Snapshots (n, D) from coefficients (n, k)."""
        return self.mean + np.atleast_2d(coefficients) @ self.modes.T


def snapshot_pod(snapshots: np.ndarray, weight: sp.spmatrix, n_modes: int) -> POD:
    """The first ``n_modes`` POD modes of snapshots (n, D) in the inner product of the
    symmetric positive definite weight (D, D), by the method of snapshots: the (n, n)
    correlation C = U W U^T of the centred snapshots U is diagonalised, and mode k is
    U^T v_k / sqrt(lambda_k). Modes with negligible energy (lambda_k <= 1e-12 lambda_1) are
    dropped, so fewer than ``n_modes`` may come back when the snapshots span less.
    """
    snapshots = np.asarray(snapshots, dtype=np.float64)
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1, got {n_modes}")
    weight = sp.csr_matrix(weight)
    mean = snapshots.mean(axis=0)
    centred = snapshots - mean
    correlation = centred @ (weight @ centred.T)
    eigenvalues, vectors = np.linalg.eigh((correlation + correlation.T) / 2)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    top = eigenvalues[0] if len(eigenvalues) else 0.0
    keep = min(n_modes, int(np.sum(eigenvalues > 1e-12 * top)) if top > 0 else 0)
    if keep == 0:
        # All snapshots are equal: a single zero mode keeps shapes consistent downstream.
        return POD(mean, np.zeros((len(mean), 1)), weight, np.zeros(1))
    modes = centred.T @ vectors[:, :keep] / np.sqrt(eigenvalues[:keep])
    return POD(mean, modes, weight, eigenvalues[:keep])
