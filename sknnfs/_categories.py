"""Categorical features: which columns of ``X`` they are, and their inputs.

``categorical_features`` names them as `HistGradientBoostingClassifier`
does: None, ``'from_dtype'`` (a DataFrame's columns of pandas' ``category``
dtype, or polars' ``Categorical`` and ``Enum``), a boolean mask, integer
indices, or column names. `categorical_mask` reads it.

The network takes a categorical feature as one input per category seen in
training, 1 for the row's category and 0 for the others (one-hot). A dense
layer on them is an embedding: the first layer's row for a category is its
vector of ``n_units`` numbers, added to what the numeric features give, and
trained like every other weight (Guo and Berkhahn 2016, "Entity Embeddings
of Categorical Variables": a one-hot input into a dense layer). So there is
no new gradient: the dense layer's is the embedding's. The inputs are
scikit-learn's `OneHotEncoder`, fitted on the training rows:

- a missing value (None, NaN) is a category of its own when training has
  one;
- a category that training never saw (or a missing value, when training
  had none) gets zeros on every one of the feature's inputs: the network
  predicts for it what its first-layer biases give, with no embedding.

`split_columns` hands the numeric columns and the categorical ones on
separately; the network's inputs are the numeric columns, then the
one-hot columns of each categorical feature in turn.
"""

import numpy as np
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import _safe_indexing

from ._frames import category_columns

__all__ = [
    "categorical_mask",
    "categories_problem",
    "category_encoder",
    "one_hot_width",
    "split_columns",
]


def categorical_mask(categorical_features, X):
    """Which of ``X``'s columns are categorical, or None if none is.

    Parameters
    ----------
    categorical_features : None, 'from_dtype' or array-like of bool, int or str
        As `HistGradientBoostingClassifier` takes it (its parameter
        constraint has checked the type).
    X : array-like or DataFrame of shape (n_samples, n_features)
        The training data, before conversion: ``'from_dtype'`` reads its
        column types, and names are looked up in its columns.

    Returns
    -------
    mask : ndarray of shape (n_features,), bool, or None
        None when no feature is categorical.

    Raises
    ------
    ValueError
        For indices out of range, names not among ``X``'s columns, a mask
        of another length, or names without a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((2, 3))
    >>> categorical_mask([2], X).tolist()
    [False, False, True]
    >>> print(categorical_mask("from_dtype", X))
    None
    """
    if categorical_features is None:
        return None
    if isinstance(categorical_features, str):  # 'from_dtype'
        mask = category_columns(X)
    else:
        shape = getattr(X, "shape", None)
        shape = np.shape(X) if shape is None else shape
        if len(shape) != 2:  # validation names the problem as for any X
            return None
        mask = _mask_from_spec(np.asarray(categorical_features), X, shape[1])
    return mask if mask is not None and mask.any() else None


def _mask_from_spec(spec, X, n_features):
    """A mask, indices or names, as a mask of ``n_features``."""
    if spec.ndim != 1:
        raise ValueError(
            "categorical_features must be a 1-d array-like of bool, int or str, "
            f"got an array of shape {spec.shape}."
        )
    if spec.size == 0:
        return None
    if spec.dtype.kind == "b":
        if spec.shape[0] != n_features:
            raise ValueError(
                f"categorical_features, a boolean mask, has {spec.shape[0]} "
                f"items, where X has {n_features} features."
            )
        return spec.copy()
    mask = np.zeros(n_features, dtype=bool)
    if spec.dtype.kind in "iu":
        out = spec[(spec < 0) | (spec >= n_features)]
        if out.size:
            raise ValueError(
                f"categorical_features has indices {out.tolist()} out of range: "
                f"X has {n_features} features (indices 0 to {n_features - 1})."
            )
        mask[spec] = True
        return mask
    if spec.dtype.kind in "UO" and all(isinstance(name, str) for name in spec):
        columns = getattr(X, "columns", None)
        if columns is None:
            raise ValueError(
                "categorical_features names columns, and X has no column names: "
                "pass integer indices or a boolean mask, or a DataFrame."
            )
        names = [str(column) for column in columns]
        unknown = [str(name) for name in spec if name not in names]
        if unknown:
            raise ValueError(
                f"categorical_features names {unknown}, which are not columns "
                f"of X: {names}."
            )
        mask[[names.index(name) for name in spec]] = True
        return mask
    raise ValueError(
        "categorical_features must be a boolean mask, integer indices or "
        f"column names, got an array of {spec.dtype}: {spec.tolist()!r}."
    )


def split_columns(X, mask):
    """``X``'s numeric columns and its categorical columns, as they are.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
    mask : ndarray of shape (n_features,), bool

    Returns
    -------
    numbers, categories : the same kind of container as ``X`` (an ndarray
        for a list), of shapes (n_samples, n_numeric) and
        (n_samples, n_categorical)
    """
    if not hasattr(X, "shape"):  # a list of rows: as an array, types kept
        X = np.asarray(X, dtype=object)
    numbers = _safe_indexing(X, np.flatnonzero(~mask), axis=1)
    categories = _safe_indexing(X, np.flatnonzero(mask), axis=1)
    return numbers, categories


def category_encoder(categories, dtype):
    """The one-hot encoder of the categorical columns, fitted on them.

    Parameters
    ----------
    categories : array-like or DataFrame of shape (n_samples, n_categorical)
    dtype : numpy dtype
        The network's: the encoder's output is its inputs.

    Returns
    -------
    encoder : OneHotEncoder
        Dense output; unknown categories give zeros.
    """
    # The scalar type, not the dtype object: skops trusts the first only.
    encoder = OneHotEncoder(
        handle_unknown="ignore", sparse_output=False, dtype=np.dtype(dtype).type
    )
    return encoder.fit(categories)


def one_hot_width(encoder):
    """How many inputs the categorical features make: one per category."""
    return sum(len(categories) for categories in encoder.categories_)


def categories_problem(mask, encoder, n_features):
    """What makes a loaded ``is_categorical_`` and its encoder unusable, or
    None: a boolean mask of the ``n_features`` features, and a fitted
    `OneHotEncoder` of its categorical ones."""
    if not (
        isinstance(mask, np.ndarray)
        and mask.dtype == bool
        and mask.shape == (n_features,)
    ):
        return f"is_categorical_ is not a boolean mask of its {n_features!r} features"
    if not (
        isinstance(encoder, OneHotEncoder)
        and len(getattr(encoder, "categories_", ())) == mask.sum()
    ):
        return (
            f"its category encoder is not a fitted OneHotEncoder of the "
            f"{int(mask.sum())} categorical features"
        )
    return None
