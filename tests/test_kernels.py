"""Every kernel of `sknnfs._kernels` against the plain NumPy it replaces.

Each speed trick must compute what its docstring says: the same numbers as
the plain expression (exactly where the order of operations is the same,
to rounding where a BLAS product sums in another order).
"""

import numpy as np
import pytest
import scipy.sparse as sp

from sknnfs import _kernels as kernels

DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-13, np.float32: 1e-5}


def values(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_cached_full_is_one_read_only_array_per_arguments():
    ones = kernels.cached_full((1, 5), 1, np.dtype(np.float32))
    np.testing.assert_array_equal(ones, np.ones((1, 5), dtype=np.float32))
    assert ones.dtype == np.float32
    assert kernels.cached_full((1, 5), 1, np.dtype(np.float32)) is ones
    assert kernels.cached_full((1, 5), 0, np.dtype(np.float32)) is not ones
    with pytest.raises(ValueError, match="read-only"):
        ones[0, 0] = 2.0


@pytest.mark.parametrize("shape", [(7,), (1, 3), (200, 10), (5, 1), (3, 4, 6)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_max_is_the_maximum_of_each_row(shape, dtype):
    array = values(shape, dtype)
    result = kernels.row_max(array)
    expected = array.max(axis=-1, keepdims=True)
    assert result.shape == expected.shape
    assert result.dtype == dtype
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("shape", [(1, 3), (200, 10), (64, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_sums_are_sums_along_the_rows(shape, dtype):
    array = values(shape, dtype)
    result = kernels.row_sums(array)
    assert result.shape == (shape[0], 1) and result.dtype == dtype
    np.testing.assert_allclose(
        result, array.sum(axis=1, keepdims=True), rtol=RTOL[dtype], atol=1e-6
    )


@pytest.mark.parametrize("shape", [(1, 3), (200, 10), (64, 1)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_column_sums_are_sums_down_the_columns(shape, dtype):
    array = values(shape, dtype)
    expected = np.sum(array, axis=0, keepdims=True)
    result = kernels.column_sums(array)
    assert result.shape == expected.shape and result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype], atol=1e-5)
    out = np.empty_like(expected)
    assert kernels.column_sums(array, out=out) is out
    np.testing.assert_array_equal(out, result)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_is_the_maximum_with_zero(dtype):
    array = values((50, 7), dtype)
    array[0, 0] = -0.0
    np.testing.assert_array_equal(kernels.relu(array), np.maximum(0, array))
    assert kernels.relu(array).dtype == dtype
    out = np.empty_like(array)
    assert kernels.relu(array, out=out) is out
    in_place = array.copy()
    kernels.relu(in_place, out=in_place)
    np.testing.assert_array_equal(in_place, np.maximum(0, array))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make_sparse", [sp.csr_matrix, sp.csr_array])
def test_in_column_order_multiplies_to_the_same_bits(dtype, make_sparse):
    rows = make_sparse(sp.random(200, 300, density=0.05, random_state=0, dtype=dtype))
    # A repeated column in a row (sorted, not summed) adds its terms in turn.
    repeated = make_sparse(([1.0, 2.0], [4, 4], [0, 2]), shape=(1, 300), dtype=dtype)
    rows = make_sparse(sp.vstack([rows, repeated]))
    assert rows.has_sorted_indices and not rows.has_canonical_format
    weights = values((300, 16), dtype)
    by_columns = kernels.in_column_order(rows)
    assert by_columns.format == "csc"
    np.testing.assert_array_equal(by_columns.toarray(), rows.toarray())
    assert (by_columns @ weights).tobytes() == (rows @ weights).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make_sparse", [sp.csr_matrix, sp.csc_array, np.asarray])
def test_matmul_is_the_product_for_dense_and_sparse_inputs(dtype, make_sparse):
    dense_inputs = np.where(values((30, 8), dtype) > 0.5, values((30, 8), dtype), 0)
    inputs = make_sparse(dense_inputs)
    weights = values((8, 4), dtype, seed=1)
    expected = dense_inputs @ weights
    result = kernels.matmul(inputs, weights)
    assert type(result) is np.ndarray and result.dtype == dtype
    np.testing.assert_allclose(result, expected, rtol=RTOL[dtype])
    out = np.empty((30, 4), dtype)
    assert kernels.matmul(inputs, weights, out=out) is out
    np.testing.assert_array_equal(out, result)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mean_is_the_mean(dtype):
    array = values(1000, dtype)
    assert isinstance(kernels.mean(array), float)
    assert kernels.mean(array) == pytest.approx(float(np.mean(array)), rel=1e-6)
    exact = np.array([1.0, 2.0, 4.5], dtype=dtype)
    assert kernels.mean(exact) == 2.5


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_rows_is_fancy_indexing(dtype):
    X = values((40, 6), dtype)
    rows = np.random.default_rng(2).permutation(40)[:13]
    out = np.empty((13, 6), dtype)
    assert kernels.gather_rows(X, rows, out) is out
    np.testing.assert_array_equal(out, X[rows])


@pytest.mark.parametrize("dtype", DTYPES)
def test_scaled_step_is_the_plain_formula_and_keeps_the_dtype(dtype):
    param, direction = values(500, dtype), values(500, dtype, seed=1)
    cache = np.abs(values(500, dtype, seed=2))
    expected = param - 0.01 * direction / (np.sqrt(cache) + 1e-7)
    scratch = np.empty_like(param)
    kernels.scaled_step(param, direction, cache, 1e-7, 0.01, scratch)
    assert param.dtype == dtype
    np.testing.assert_allclose(param, expected, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("epsilon", [1e-7, 1e-3])
def test_adam_update_with_rescaled_moments_is_the_books_adam(dtype, epsilon):
    """Five steps of the kernel against the book's m, v and bias correction."""
    beta_1, beta_2, learning_rate = 0.9, 0.999, 0.01
    param = values(300, dtype)
    book_param = param.astype(np.float64)
    state = (np.zeros_like(param), np.zeros_like(param))
    m = np.zeros(300)
    v = np.zeros(300)
    for t in range(1, 6):
        grad = values(300, dtype, seed=t)
        m = beta_1 * m + (1 - beta_1) * grad
        v = beta_2 * v + (1 - beta_2) * grad.astype(np.float64) ** 2
        m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
        book_param -= learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
        kernels.adam_update(
            param, grad.copy(), state, learning_rate, beta_1, beta_2, epsilon, t
        )
    assert param.dtype == dtype
    np.testing.assert_allclose(param, book_param, rtol=RTOL[dtype] * 10)
    np.testing.assert_allclose(
        state[0] * (1 - beta_1), m, rtol=RTOL[dtype] * 10, atol=1e-7
    )
    np.testing.assert_allclose(
        state[1] * (1 - beta_2), v, rtol=RTOL[dtype] * 10, atol=1e-9
    )
