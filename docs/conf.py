"""Sphinx configuration: the Markdown pages of docs/ (MyST) and the API reference generated from
the docstrings of the installed package. Build: ``python -m sphinx -W -b html docs build/docs``."""
from __future__ import annotations

import cardiotwin

project = "cardiotwin"
author = "cardiotwin developers"
copyright = "2026, cardiotwin developers"
release = version = cardiotwin.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "images"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"cardiotwin {release}"
