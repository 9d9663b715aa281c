"""Sphinx configuration of the sknnfs documentation.

Build it from the repository root (the test suite does the same, warnings as
errors, in tests/test_docs.py)::

    python -m sphinx -W -b html docs docs/_build/html

The gallery runs every script of ``examples/``: the same runs the tests
check (tests/test_examples.py).
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# The gallery's image scraper (_ext/written_images.py). sknnfs itself is the
# one Python imports: the editable install of this checkout, or PYTHONPATH.
sys.path.insert(0, str(DOCS / "_ext"))

import sknnfs  # noqa: E402

project = "sknnfs"
author = "the sknnfs developers"
copyright = "the sknnfs developers"
release = sknnfs.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # The Markdown pages, and the parts of README.md the docs include (its
    # introduction, comparison table, set-up commands and quick start).
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**/*.ipynb"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# `name` links to the object when it resolves, as in the docstrings.
default_role = "py:obj"
# Quotes and dashes stay as the docstrings write them: the HTML repr links a
# parameter to its entry by the entry's text ("name", then its type).
smartquotes = False

html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "description": "The book's neural networks as scikit-learn estimators",
    # The benchmark tables are wide.
    "page_width": "1200px",
    "sidebar_width": "220px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}

# --- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": True,
    # scikit-learn's metadata-routing methods: their docstrings point into
    # scikit-learn's user guide and glossary, which are not part of these docs.
    "exclude-members": (
        "get_metadata_routing,set_fit_request,set_partial_fit_request,set_score_request"
    ),
}
autodoc_typehints = "none"
# The class template lists the methods (autodoc); numpydoc's own member tables
# would list them a second time.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# --- gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every script, not only plot_*.py.
    "filename_pattern": r"\.py$",
    # The examples save their pictures as files (no pyplot figures).
    "image_scrapers": ("written_images.scrape",),
    # An example that fails breaks the build (and tests/test_docs.py).
    "abort_on_example_error": True,
    # Names from sknnfs in the examples' code link to their API pages.
    "doc_module": ("sknnfs",),
    # "Examples using ..." at the end of each API page.
    "backreferences_dir": "api/generated/backreferences",
}


# --- temporary ---------------------------------------------------------------
# The estimators' docstrings write ``(n_features_in_,)`` in a type, which reST
# reads as a link to a target "n_features_in" (an error). The docstrings are
# being rewritten; until then, quote that name in those two docstrings only.
def _quote_n_features_in(app, what, name, obj, options, lines):
    if name in ("sknnfs.NNFSClassifier", "sknnfs.NNFSRegressor"):
        lines[:] = [
            line.replace("(n_features_in_,)", "(``n_features_in_``,)") for line in lines
        ]


def setup(app):
    app.connect("autodoc-process-docstring", _quote_n_features_in)
