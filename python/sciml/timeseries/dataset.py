"""Irregular time-series sets: PyPOTS-style dicts checked and converted to one SeriesSet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciml._checks import as_float_array


@dataclass(frozen=True)
class SeriesSet:
    """N records of T steps of F signals, NaN = not measured.

    Attributes:
        X: (N, T, F) float64, NaN where a signal was not observed (never inf).
        y: (N,) int64 labels, or None for an unlabelled set.
        timestamps: (N, T) float64, strictly increasing along T (the step index when the
            input gave none).
    """

    X: np.ndarray
    y: np.ndarray | None
    timestamps: np.ndarray

    @property
    def n_records(self) -> int:
        return self.X.shape[0]

    @property
    def empty_records(self) -> np.ndarray:
        """(N,) bool: records with no observation at all."""
        return np.isnan(self.X).all(axis=(1, 2))

    def subset(self, index: np.ndarray) -> SeriesSet:
        """The records at ``index`` (an int array or a bool mask of length N)."""
        y = None if self.y is None else self.y[index]
        return SeriesSet(self.X[index], y, self.timestamps[index])


def _labels(y: Any, n: int, name: str) -> np.ndarray:
    y = as_float_array(y, f"{name}['y']")
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name}['y'] must have shape ({n},) to match X, got {y.shape}")
    if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
        raise ValueError(f"{name}['y'] must hold integer class labels")
    return y.astype(np.int64)


def _timestamps(ts: Any, n: int, t: int, name: str) -> np.ndarray:
    if ts is None:
        return np.broadcast_to(np.arange(t, dtype=np.float64), (n, t))
    ts = as_float_array(ts, f"{name}['timestamps']")
    if ts.shape == (t,):
        ts = np.broadcast_to(ts, (n, t))
    elif ts.shape != (n, t):
        raise ValueError(
            f"{name}['timestamps'] must have shape ({t},) or ({n}, {t}), got {ts.shape}"
        )
    if not np.isfinite(ts).all():
        raise ValueError(f"{name}['timestamps'] must be finite")
    if t > 1 and not (np.diff(ts, axis=1) > 0).all():
        raise ValueError(f"{name}['timestamps'] must be strictly increasing along the time axis")
    return ts


def as_series_set(
    data: Mapping[str, Any] | SeriesSet,
    n_steps: int,
    n_features: int,
    name: str = "data",
    *,
    require_labels: bool = False,
) -> SeriesSet:
    """Checks a PyPOTS-style set and returns it as a :class:`SeriesSet`.

    Args:
        data: ``{"X": (N, T, F), "y": (N,) optional, "timestamps": (T,) or (N, T) optional}``
            (numpy arrays, torch tensors or nested lists; X float with NaN = missing), or a
            SeriesSet.
        n_steps: T the model was built for.
        n_features: F the model was built for.
        name: how error messages call the set ("train_set", ...).
        require_labels: refuse a set without "y".

    Raises:
        TypeError: data is not a mapping with "X", or holds non-numbers.
        ValueError: a shape that does not match (X not 3-D, T != n_steps, F != n_features,
            labels not (N,)), infinite values, non-integer labels, timestamps not strictly
            increasing, or missing labels where they are required.
    """
    if isinstance(data, SeriesSet):
        data = {"X": data.X, "y": data.y, "timestamps": data.timestamps}
    if not isinstance(data, Mapping) or "X" not in data:
        raise TypeError(f"{name} must be a dict with an 'X' entry (PyPOTS style), got {type(data)}")
    X = as_float_array(data["X"], f"{name}['X']")
    if X.ndim != 3:
        raise ValueError(f"{name}['X'] must have shape (N, T, F), got {X.shape}")
    n, t, f = X.shape
    if n < 1:
        raise ValueError(f"{name}['X'] has no records: shape {X.shape}")
    if t != n_steps:
        raise ValueError(
            f"{name}['X'] has T = {t} steps, the model was built for n_steps = {n_steps}"
        )
    if f != n_features:
        raise ValueError(
            f"{name}['X'] has F = {f} features, the model was built for n_features = {n_features}"
        )
    if np.isinf(X).any():
        where = tuple(int(i) for i in np.argwhere(np.isinf(X))[0])
        raise ValueError(f"{name}['X'] {X.shape} has infinite values (first at {where})")
    y = data.get("y")
    if y is None and require_labels:
        raise ValueError(f"{name} needs labels: a 'y' entry of shape ({n},)")
    labels = None if y is None else _labels(y, n, name)
    ts = _timestamps(data.get("timestamps"), n, t, name)
    return SeriesSet(np.ascontiguousarray(X), labels, np.ascontiguousarray(ts))


def check_observed_features(X: np.ndarray, name: str = "train_set") -> None:
    """Raises ValueError naming the signals never observed in X (N, T, F) (NaN everywhere).

    A model cannot learn a mean, a scale or a decay for a signal it never sees; every
    record of X being empty reports all signals.
    """
    never = np.flatnonzero(np.isnan(X).all(axis=(0, 1)))
    if never.size:
        shown = ", ".join(str(int(i)) for i in never[:10]) + (" ..." if never.size > 10 else "")
        raise ValueError(
            f"{name}['X'] has {never.size} signal(s) never observed (all NaN), feature index "
            f"{shown}: drop them or add records where they are measured"
        )
