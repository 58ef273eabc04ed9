"""Accuracy and calibration metrics for probabilistic regression (Gaussian predictions).

Arrays are (n,) or (n, m) (n samples, m outputs) and all of one shape; numpy or anything
``np.asarray`` takes (torch tensors on the CPU included).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri


def _arrays(**arrays: Any) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays.values()]
    shapes = {name: a.shape for name, a in zip(arrays, out, strict=True)}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"arrays must have one shape, got {shapes}")
    if out[0].ndim not in (1, 2) or out[0].shape[0] == 0:
        raise ValueError(f"arrays must have shape (n,) or (n, m) with n >= 1, got {shapes}")
    return out


def coverage(y_true: Any, mean: Any, std: Any, level: float = 0.95) -> float:
    """Fraction of y_true inside the central ``level`` interval of N(mean, std^2).

    The interval is mean +- z std with z = Phi^-1((1 + level) / 2) (1.96 for 0.95). A
    calibrated model gives about ``level``. All entries count (over samples and outputs).

    Args:
        y_true, mean, std: (n,) or (n, m), one shape; std >= 0.
        level: in (0, 1).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    y, mu, sd = _arrays(y_true=y_true, mean=mean, std=std)
    if (sd < 0).any():
        raise ValueError("std must be >= 0")
    z = ndtri((1 + level) / 2)
    return float(np.mean(np.abs(y - mu) <= z * sd))


def nlpd(y_true: Any, mean: Any, std: Any) -> float:
    """Mean negative log predictive density of y_true under N(mean, std^2) (lower is better).

    Args:
        y_true, mean, std: (n,) or (n, m), one shape; std > 0.
    """
    y, mu, sd = _arrays(y_true=y_true, mean=mean, std=std)
    if (sd <= 0).any():
        raise ValueError("std must be > 0")
    return float(np.mean(0.5 * ((y - mu) / sd) ** 2 + np.log(sd) + 0.5 * np.log(2 * np.pi)))


def rel_rmse(y_true: Any, y_pred: Any) -> float | np.ndarray:
    """RMSE divided by the RMS of y_true, per output: sqrt(sum (y - y^)^2 / sum y^2).

    Returns a float for (n,) inputs, an array (m,) for (n, m).
    """
    y, yp = _arrays(y_true=y_true, y_pred=y_pred)
    out = np.sqrt(np.sum((y - yp) ** 2, axis=0) / np.sum(y**2, axis=0))
    return float(out) if y.ndim == 1 else out


def q2(y_true: Any, y_pred: Any) -> float | np.ndarray:
    """Coefficient of determination 1 - sum (y - y^)^2 / sum (y - mean y)^2, per output.

    Returns a float for (n,) inputs, an array (m,) for (n, m).
    """
    y, yp = _arrays(y_true=y_true, y_pred=y_pred)
    out = 1 - np.sum((y - yp) ** 2, axis=0) / np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    return float(out) if y.ndim == 1 else out
