"""Input checks shared by the estimators: one NotFittedError, real arrays, finiteness, and
scalar ints and reals in a range."""

from __future__ import annotations

import math
import numbers
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


def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (bools and non-integers refused) in [minimum, maximum] (either
    bound may be left out).

    Raises:
        TypeError: value is not an integer (a bool is not one).
        ValueError: value is outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if maximum is not None and minimum is not None and not minimum <= value <= maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_real(value: Any, name: str, minimum: float | None = None, strict: bool = False) -> float:
    """``value`` (a real number, not a bool) as a finite float, at least ``minimum`` if
    given (above it with ``strict``).

    Raises:
        TypeError: value is not a real number.
        ValueError: value is NaN, infinite or below the bound.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if minimum is None:
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
    elif not math.isfinite(v) or v < minimum or (strict and v == minimum):
        bound = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {bound} {minimum}, got {v}")
    return v
