"""Pictures rendered offscreen (no display needed) with pyvista."""

from sciml.viz.fields import render_fields, render_mesh_fields

__all__ = ["render_fields", "render_mesh_fields"]
