"""Meshes: morphing, field transfer, I/O and finite-element matrices."""

from sciml.mesh.morph import MeshQuality, floater_morph, mesh_quality, rbf_morph, signed_measures

__all__ = ["MeshQuality", "floater_morph", "mesh_quality", "rbf_morph", "signed_measures"]
