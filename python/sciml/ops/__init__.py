"""Torch operators over sciml's Rust kernels, with dense pure-torch references."""

from sciml.ops.gaussian_embedding import DEFAULT_CUTOFF, gaussian_embedding
from sciml.ops.gaussian_module import GaussianEmbedding
from sciml.ops.reference import gaussian_embedding_autograd, gaussian_embedding_reference

__all__ = [
    "DEFAULT_CUTOFF",
    "GaussianEmbedding",
    "gaussian_embedding",
    "gaussian_embedding_autograd",
    "gaussian_embedding_reference",
]
