"""Meshes: morphing, field transfer, I/O and finite-element matrices."""

from sciml.mesh.transfer import transfer_matrix
from sciml.mesh.transfer_reference import transfer_matrix_reference

__all__ = ["transfer_matrix", "transfer_matrix_reference"]
