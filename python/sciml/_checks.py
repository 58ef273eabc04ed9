"""Input checks shared by the estimators: one NotFittedError, real arrays, finiteness, ints."""

from __future__ import annotations

from typing import Any

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """An estimator is used before ``fit`` (as scikit-learn's ``NotFittedError``)."""


def as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` (tensor or array-like of real numbers) as a float64 numpy array.

    Raises:
        TypeError: x does not hold real numbers (strings, objects, complex).
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor (torch not imported here)
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if a.dtype == object or not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a.astype(np.float64, copy=False)


def check_finite(a: np.ndarray, name: str) -> None:
    """Raises ValueError naming the first NaN or infinite entry of ``a``."""
    bad = ~np.isfinite(a)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} {a.shape} has {int(bad.sum())} NaN or infinite values (first at {where})"
        )


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (bools and non-integers refused), at least ``minimum`` if given.

    Raises:
        TypeError: value is not an integer (a bool is not one).
        ValueError: value is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
