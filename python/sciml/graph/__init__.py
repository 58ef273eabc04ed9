"""Graph embeddings: FastRP node embeddings over a Rust very sparse random projection kernel."""

from sciml.graph.fastrp import FastRP, as_csr, random_projection
from sciml.graph.reference import fastrp_reference

__all__ = ["FastRP", "as_csr", "fastrp_reference", "random_projection"]
