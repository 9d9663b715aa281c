"""The engine's kernels: every speed trick of the book's maths, once, by name.

The book modules (`_activations`, `_layers`, `_losses`, `_optimizers`)
write the mathematics as the book does and call a kernel where the plain
NumPy expression is slower than it needs to be. Each kernel's docstring
gives the plain expression it replaces; ``tests/test_kernels.py`` checks
that the two agree.

This module imports only NumPy.
"""

import functools
import math

import numpy as np

__all__ = [
    "adam_update",
    "cached_full",
    "column_sums",
    "gather_rows",
    "in_column_order",
    "matmul",
    "mean",
    "relu",
    "row_max",
    "row_sums",
    "scaled_step",
]


@functools.lru_cache(maxsize=64)
def cached_full(shape, fill_value, dtype):
    """``np.full(shape, fill_value, dtype)``, made once per arguments, read-only.

    A training step uses a few such constants on every batch (a row of
    zeros, rows and columns of ones); caching them saves an allocation each.
    """
    array = np.full(shape, fill_value, dtype=dtype)
    array.flags.writeable = False
    return array


def row_max(values):
    """``values.max(axis=-1, keepdims=True)``.

    NumPy reduces a short last axis one row at a time; reducing a transposed
    copy along its first axis runs over all rows at once (the maximum is
    exact either way).
    """
    values = np.asarray(values)
    if values.ndim != 2:
        return values.max(axis=-1, keepdims=True)
    return np.ascontiguousarray(values.T).max(axis=0)[:, np.newaxis]


def row_sums(values):
    """``values.sum(axis=1, keepdims=True)``, as a product with a column of ones.

    BLAS beats NumPy's reduction along a short last axis.
    """
    return values @ cached_full((values.shape[1], 1), 1, values.dtype)


def column_sums(values, out=None):
    """``np.sum(values, axis=0, keepdims=True)``, as a product with a row of ones.

    BLAS beats NumPy's axis-0 reduction on a training batch.
    """
    ones_row = cached_full((1, values.shape[0]), 1, values.dtype)
    return np.matmul(ones_row, values, out=out)


def relu(inputs, out=None):
    """``np.maximum(0, inputs)``, against a row of zeros rather than the scalar.

    NumPy's maximum has no SIMD loop for a scalar operand.
    """
    inputs = np.asarray(inputs)
    return np.maximum(inputs, cached_full(inputs.shape[-1:], 0, inputs.dtype), out=out)


def matmul(inputs, weights, out=None):
    """``inputs @ weights`` as an ndarray, for dense or scipy.sparse ``inputs``.

    A sparse product is never densified; ``out`` receives either kind.
    """
    if not hasattr(inputs, "nnz"):
        return np.matmul(inputs, weights, out=out)
    product = np.asarray(inputs @ weights)
    if out is None:
        return product
    np.copyto(out, product, casting="same_kind")
    return out


def in_column_order(rows):
    """``rows`` (CSR, sorted indices) as CSC, for ``in_column_order(rows) @ weights``.

    scipy multiplies CSR rows by reading a row of the weights for every
    stored value; in CSC order it reads each row of the weights once per
    column, for all of that column's values in the block. Where the weights
    are larger than a core's cache and a block holds several values per
    column, that is fewer reads from memory. Each output still sums its
    terms in ascending column order, so the product equals ``rows @
    weights`` bit for bit.
    """
    return rows.tocsc()


def mean(values):
    """``np.mean(values)`` of a 1-d array as a Python float (float64 division).

    The sum as NumPy computes it, without np.mean's Python-level overhead,
    which shows once per training step.
    """
    return float(np.add.reduce(values)) / values.shape[0]


def gather_rows(X, rows, out):
    """``X[rows]`` written into ``out``, for rows that are all in range.

    ``mode="clip"`` lets NumPy gather straight into ``out``; the default
    ``mode="raise"`` gathers into a temporary first and copies it.
    """
    return np.take(X, rows, axis=0, out=out, mode="clip")


def scaled_step(param, direction, cache, epsilon, step_size, scratch):
    """``param -= step_size * direction / (np.sqrt(cache) + epsilon)``, in place.

    No temporaries (``scratch`` is overwritten), and the scalars are cast to
    the parameters' dtype first: a NumPy float64 scalar would make a float32
    pass compute in float64.
    """
    scalar = param.dtype.type
    np.sqrt(cache, out=scratch)
    scratch += scalar(epsilon)
    np.divide(direction, scratch, out=scratch)
    scratch *= scalar(step_size)
    param -= scratch


def adam_update(param, grad, state, learning_rate, beta_1, beta_2, epsilon, t):
    """The book's Adam step ``t`` (counting from 1), in ten in-place passes.

    The book's step::

        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad**2
        m_hat = m / (1 - beta_1**t);  v_hat = v / (1 - beta_2**t)
        param -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    ``state`` holds the moments scaled, ``M = m / (1 - beta_1)`` and
    ``V = v / (1 - beta_2)``, which update as ``M = beta_1 M + grad`` and
    ``V = beta_2 V + grad**2``: no pass to scale ``grad``. With
    ``c1 = 1 - beta_1**t``, ``c2 = 1 - beta_2**t`` and
    ``k = sqrt(c2 / (1 - beta_2))``, ``m_hat = (1 - beta_1) M / c1`` and
    ``sqrt(v_hat) = sqrt(V) / k``, so the step is
    ``learning_rate * (1 - beta_1) / c1 * k * M / (sqrt(V) + epsilon * k)``:
    the book's number up to rounding. ``grad`` is used as scratch space.

    Parameters
    ----------
    param, grad : ndarray of one shape
    state : tuple (M, V) of ndarray of the same shape
        The scaled moments, updated in place.
    learning_rate, beta_1, beta_2, epsilon : float
    t : int
        The step's number, from 1.
    """
    scaled_first, scaled_second = state
    scalar = param.dtype.type
    scaled_first *= scalar(beta_1)
    scaled_first += grad
    np.multiply(grad, grad, out=grad)
    scaled_second *= scalar(beta_2)
    scaled_second += grad
    k = math.sqrt((1.0 - beta_2**t) / (1.0 - beta_2))
    step_size = learning_rate * (1.0 - beta_1) / (1.0 - beta_1**t) * k
    scaled_step(param, scaled_first, scaled_second, epsilon * k, step_size, grad)
