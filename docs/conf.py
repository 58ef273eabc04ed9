"""Sphinx configuration of sciml's documentation: MyST Markdown pages, autodoc with napoleon."""

from __future__ import annotations

import sciml

project = "sciml"
author = "the sciml developers"
copyright = "the sciml developers"
release = sciml.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
nitpicky = False
# Autodoc resolves some annotations by bare name; two classes with a `num_nodes` property
# (Graph, ContextualSBM) then make an ambiguous reference that is harmless.
suppress_warnings = ["ref.python"]

# The docstrings are Google style; their Args/Returns/Raises become field lists.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
# Every optional dependency is installed by the docs extra: nothing is mocked.
autodoc_mock_imports: list[str] = []

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"sciml {release}"
