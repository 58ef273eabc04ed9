"""Type stubs of the Rust extension module sciml._core."""

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "fastrp_embedding",
    "fastrp_projection",
    "floater_morph",
    "gaussian_embedding_backward",
    "gaussian_embedding_forward",
    "get_num_threads",
    "gte_scores",
    "gte_topk",
    "rbf_morph",
    "set_num_threads",
    "signed_measures",
    "transfer_matrix",
]
__version__: str

_FloatArray: TypeAlias = npt.NDArray[np.float32] | npt.NDArray[np.float64]
_IndexArray: TypeAlias = npt.NDArray[np.int32] | npt.NDArray[np.int64]

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
def gte_scores(
    indptr: npt.NDArray[np.int64],
    indices: _IndexArray,
    data: _FloatArray,
    t_indptr: npt.NDArray[np.int64],
    t_indices: _IndexArray,
    t_data: _FloatArray,
    n_items: int,
    coeffs: list[float],
    users: npt.NDArray[np.int64],
    item_start: int,
    item_stop: int,
    chunk: int = 64,
) -> _FloatArray: ...
def gte_topk(
    indptr: npt.NDArray[np.int64],
    indices: _IndexArray,
    data: _FloatArray,
    t_indptr: npt.NDArray[np.int64],
    t_indices: _IndexArray,
    t_data: _FloatArray,
    n_items: int,
    coeffs: list[float],
    users: npt.NDArray[np.int64],
    item_start: int,
    item_stop: int,
    top_ids: npt.NDArray[np.int64],
    top_scores: _FloatArray,
    *,
    exclude_seen: bool = True,
    chunk: int = 64,
) -> tuple[npt.NDArray[np.int64], _FloatArray]: ...
def transfer_matrix(
    src_points: npt.NDArray[np.float64],
    src_cells: npt.NDArray[np.int32] | npt.NDArray[np.int64],
    dst_points: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def floater_morph(
    points: npt.NDArray[np.float64],
    triangles: _IndexArray,
    landmarks: _IndexArray | None = None,
    angles: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]: ...
def rbf_morph(
    points: npt.NDArray[np.float64],
    control_points: npt.NDArray[np.float64],
    control_displacements: npt.NDArray[np.float64],
    kernel: str = "thin_plate",
    support_radius: float | None = None,
) -> npt.NDArray[np.float64]: ...
def signed_measures(
    points: npt.NDArray[np.float64], cells: _IndexArray
) -> npt.NDArray[np.float64]: ...
