"""Error and calibration measures of predicted nodal fields and scalars (PLAID definitions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sciml.gp.metrics import coverage


def field_rel_rmse(predicted: Sequence[np.ndarray], true: Sequence[np.ndarray]) -> float:
    """sqrt(mean_i [ sum_nodes (pred_i - true_i)^2 / (N_i max|true_i|^2) ]), over samples i
    each with its own node count N_i."""
    _same_lengths(predicted, true)
    per_sample = [
        np.sum((np.asarray(p) - t) ** 2) / (len(t) * np.max(np.abs(t)) ** 2)
        for p, t in zip(predicted, true, strict=True)
    ]
    return float(np.sqrt(np.mean(per_sample)))


def scalar_rel_rmse(predicted: np.ndarray, true: np.ndarray) -> float:
    """sqrt(mean_i ((pred_i - true_i) / true_i)^2) over samples; arrays (n,)."""
    predicted, true = np.asarray(predicted, dtype=float), np.asarray(true, dtype=float)
    if predicted.shape != true.shape:
        raise ValueError(f"shapes differ: {predicted.shape} and {true.shape}")
    return float(np.sqrt(np.mean(((predicted - true) / true) ** 2)))


def nodal_coverage(
    true: Sequence[np.ndarray],
    mean: Sequence[np.ndarray],
    std: Sequence[np.ndarray],
    level: float = 0.95,
) -> float:
    """The fraction of all nodes of all samples whose true value lies in the central
    ``level`` interval mean ± z std of the Gaussian prediction."""
    _same_lengths(mean, true)
    _same_lengths(std, true)
    return coverage(np.concatenate(true), np.concatenate(mean), np.concatenate(std), level)


def _same_lengths(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> None:
    if len(a) != len(b) or len(b) == 0:
        raise ValueError(f"need the same non-zero number of samples, got {len(a)} and {len(b)}")
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if np.shape(x) != np.shape(y):
            raise ValueError(f"sample {i}: shapes differ, {np.shape(x)} and {np.shape(y)}")
