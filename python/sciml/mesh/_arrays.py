"""Array-like inputs of the mesh kernels, checked and made C-contiguous for Rust."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def as_points(x: npt.ArrayLike, name: str, dims: tuple[int, ...]) -> np.ndarray:
    """``x`` as a C-contiguous float64 (N, d) array, d in ``dims``."""
    a = np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] not in dims:
        want = " or ".join(f"(N, {d})" for d in dims)
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    return a


def as_indices(x: npt.ArrayLike, name: str, ndim: int) -> np.ndarray:
    """``x`` as a C-contiguous int64 or int32 array of rank ``ndim``."""
    a = np.asarray(x)
    if a.size == 0 and a.dtype.kind == "f":
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.dtype != np.int32:
        a = a.astype(np.int64, copy=False)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return np.ascontiguousarray(a)
