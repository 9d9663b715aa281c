"""What sknnfs reads from a DataFrame's column types, before converting it.

`frame_values_dtype` decides the training dtype (float32 data trains in
float32) without converting ``X``; `category_columns` finds the columns
``categorical_features='from_dtype'`` takes; `text_columns` names the
columns that cannot become numbers, so that the error says which they are
(`text_columns_named`, around the conversion on one machine and on each
partition of a Dask DataFrame).
"""

import contextlib

import numpy as np

__all__ = [
    "category_columns",
    "frame_values_dtype",
    "text_columns",
    "text_columns_named",
]


def frame_values_dtype(X):
    """The NumPy dtype of ``X``'s values, without converting them; None if unknown.

    A DataFrame has one dtype per column: their common type, as
    ``np.asarray`` would give.
    """
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.result_type(*X.dtypes)
    except (AttributeError, TypeError, ValueError):  # none, or not NumPy dtypes
        pass
    if not hasattr(X, "dtypes"):
        return None
    # A polars (or other) DataFrame has dtypes of its own: its first zero
    # rows convert to the NumPy dtype that all of them would.
    try:
        return np.asarray(X[:0]).dtype
    except Exception:  # a frame that cannot be sliced so: the full conversion decides
        return None


def category_columns(X):
    """Which of a DataFrame's columns are categories: pandas' ``category``,
    polars' ``Categorical`` and ``Enum``; None for anything but a frame."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return None
    return np.array(
        [
            getattr(dtype, "name", None) == "category"
            or type(dtype).__name__ in ("Categorical", "Enum")
            for dtype in dtypes
        ],
        dtype=bool,
    )


def text_columns(X):
    """The names of ``X``'s columns of text or categories: [] for an array,
    and for a frame whose dtypes are not pandas' (polars')."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return []
    # pandas' dtypes have NumPy kinds: numbers and booleans "biuf"; text,
    # categories and the string dtype "O".
    kinds = [getattr(dtype, "kind", None) for dtype in dtypes]
    if None in kinds:
        return []
    return [
        str(column)
        for column, kind in zip(X.columns, kinds, strict=True)
        if kind not in "biuf"
    ]


@contextlib.contextmanager
def text_columns_named(estimator, X, *, on_cluster=False):
    """Turn NumPy's "could not convert string to float" on a DataFrame into
    an error naming its `text_columns`, and what to do (``on_cluster``: on a
    Dask cluster, which takes no categorical features). A column of numbers
    in text converts, so only a failed conversion is looked into; other
    errors keep their message."""
    try:
        yield
    except ValueError as error:
        columns = text_columns(X) if "could not convert" in str(error) else []
        if not columns:
            raise
        advice = (
            "Encode them first, e.g. with dask.dataframe.get_dummies."
            if on_cluster
            else "Name them in categorical_features (or give them the dtype "
            "'category'), or encode them first, e.g. with OneHotEncoder in a "
            "ColumnTransformer."
        )
        raise ValueError(
            f"X has columns of text or categories, which "
            f"{type(estimator).__name__} cannot take as numbers: {columns}. " + advice
        ) from error
