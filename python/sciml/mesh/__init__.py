"""Meshes: morphing, field transfer, I/O and finite-element matrices.

morph       Floater morphing onto the unit disk, RBF morphing, signed measures, quality
transfer    P1 interpolation matrices between simplex meshes
fem         P1 finite-element matrices (mass)
io          meshio reading and writing; a 2D triangle mesh's nodes and triangles

Each Rust kernel has a numpy/scipy twin in ``morph_reference`` / ``transfer_reference``.
"""

from sciml.mesh.fem import mass_matrix
from sciml.mesh.io import planar_triangles, read, write
from sciml.mesh.morph import MeshQuality, floater_morph, mesh_quality, rbf_morph, signed_measures
from sciml.mesh.transfer import transfer_matrix
from sciml.mesh.transfer_reference import transfer_matrix_reference

__all__ = [
    "MeshQuality",
    "floater_morph",
    "mass_matrix",
    "mesh_quality",
    "planar_triangles",
    "rbf_morph",
    "read",
    "signed_measures",
    "transfer_matrix",
    "transfer_matrix_reference",
    "write",
]
