"""Type stubs of the Rust extension module sciml._core."""

import numpy as np
import numpy.typing as npt

__version__: str

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]

def set_num_threads(n: int | None = None) -> None: ...
def get_num_threads() -> int: ...
def gaussian_embedding_forward(
    x: FloatArray,
    mu: FloatArray,
    sigma: FloatArray,
    w: FloatArray,
    order: int = 2,
    cutoff: float | None = 6.4,
) -> tuple[FloatArray, FloatArray | None, FloatArray | None]: ...
def gaussian_embedding_backward(
    x: FloatArray,
    mu: FloatArray,
    sigma: FloatArray,
    w: FloatArray,
    grad_phi: FloatArray | None,
    grad_d1: FloatArray | None,
    grad_d2: FloatArray | None,
    cutoff: float | None = 6.4,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]: ...
