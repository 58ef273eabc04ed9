"""Type stubs of the Rust extension module sciml._core."""

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "gaussian_embedding_backward",
    "gaussian_embedding_forward",
    "get_num_threads",
    "set_num_threads",
]
__version__: str

_FloatArray: TypeAlias = npt.NDArray[np.float32] | npt.NDArray[np.float64]

def set_num_threads(n: int | None = None) -> None: ...
def get_num_threads() -> int: ...
def gaussian_embedding_forward(
    x: _FloatArray,
    mu: _FloatArray,
    sigma: _FloatArray,
    w: _FloatArray,
    order: int = 2,
    cutoff: float | None = ...,
) -> tuple[_FloatArray, _FloatArray | None, _FloatArray | None]: ...
def gaussian_embedding_backward(
    x: _FloatArray,
    mu: _FloatArray,
    sigma: _FloatArray,
    w: _FloatArray,
    grad_phi: _FloatArray | None,
    grad_d1: _FloatArray | None,
    grad_d2: _FloatArray | None,
    cutoff: float | None = ...,
) -> tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray]: ...
