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
def fastrp_embedding(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    data: npt.NDArray[np.float32] | None,
    *,
    dim: int,
    weights: list[float],
    beta: float,
    sparsity: float,
    normalization: str = "output",
    degree: str = "weighted",
    self_influence: float = 0.0,
    standardize: bool = True,
    seed: int = 0,
    low_memory: bool | None = None,
) -> npt.NDArray[np.float32]: ...
def fastrp_projection(
    num_nodes: int, dim: int, sparsity: float, seed: int = 0
) -> npt.NDArray[np.float32]: ...
