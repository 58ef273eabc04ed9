"""A nearest-neighbour regressor: the simplest baseline to plug into MMGP in place of GPs."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


class NearestNeighbourRegressor:
    """Predicts the outputs of the nearest training point, with every input column scaled
    to [0, 1] over the training set. It has no uncertainty: ``predict(..., return_std=True)``
    gives NaN standard deviations."""

    def fit(self, X: np.ndarray, Y: np.ndarray) -> NearestNeighbourRegressor:
        """X (n, p), Y (n, m) or (n,). Returns self."""
        X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0 or len(Y) != len(X):
            raise ValueError(f"need X (n, p) and Y (n, ...) with n >= 1, got {X.shape}, {Y.shape}")
        self.low_ = X.min(axis=0)
        self.span_ = np.where(np.ptp(X, axis=0) > 0, np.ptp(X, axis=0), 1.0)
        self.tree_ = cKDTree((X - self.low_) / self.span_)
        self.Y_ = Y
        return self

    def predict(self, X: np.ndarray, return_std: bool = False):
        """Outputs (n*, m) or (n*,) for X (n*, p) [and NaN standard deviations alike]."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.low_):
            raise ValueError(f"X must have shape (n, {len(self.low_)}), got {X.shape}")
        _, nearest = self.tree_.query((X - self.low_) / self.span_)
        mean = self.Y_[nearest]
        return (mean, np.full_like(mean, np.nan)) if return_std else mean
