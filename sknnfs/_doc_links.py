"""Links from the estimators' HTML representation to their documentation.

In a notebook, scikit-learn draws an estimator as a box with a "?" link to
its documentation page and (in recent versions) a table of parameters in
which each name links to its entry on that page. scikit-learn builds the
page's address from three class attributes (``_doc_link_module``,
``_doc_link_template`` and ``_doc_link_url_param_generator``, see
``sklearn.utils._repr_html.base``) and appends to it, for each parameter, a
text fragment (``#:~:text=name,-type``) made from the ``name : type`` line
of the class docstring's Parameters section. So a parameter gets its link
once the docstring documents it on a line of its own.

The pages are those the Sphinx build in ``docs/`` writes: the API
reference's autosummary pages, ``api/generated/sknnfs.NNFSClassifier.html``.
"""

__all__ = ["DOCS_URL", "DocLinkMixin"]

# Where the built documentation (docs/, `python -m sphinx ... docs ...`) is
# published; the API pages are under api/generated/.
DOCS_URL = "https://sknnfs.readthedocs.io/en/stable/"


class DocLinkMixin:
    """Point scikit-learn's HTML repr at the sknnfs documentation.

    Goes before `sklearn.base.BaseEstimator` among the bases, whose
    defaults (scikit-learn's own site) these attributes replace. The address
    uses the public name, ``sknnfs.NNFSClassifier``, whichever private
    module defines the class: scikit-learn's default URL parameters are the
    class name and its module up to the first private part.

    Examples
    --------
    >>> from sknnfs import NNFSClassifier
    >>> NNFSClassifier()._get_doc_link()
    'https://sknnfs.readthedocs.io/en/stable/api/generated/sknnfs.NNFSClassifier.html'
    """

    # Only classes defined in sknnfs get a link (a user's subclass defined
    # elsewhere has no page there).
    _doc_link_module = "sknnfs"
    _doc_link_template = (
        DOCS_URL + "api/generated/{estimator_module}.{estimator_name}.html"
    )
