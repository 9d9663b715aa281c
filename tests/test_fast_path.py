"""Prediction's fast path: input that validation would hand on unchanged skips it.

A C-contiguous 2-d ndarray of the network's dtype, with the fitted number of
columns and finite values, goes straight to the network; everything else is
validated as before. Both paths must give the same predictions, and the fast
path must never let through what validation would have refused.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _stored import KERNEL_EPS
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import sknnfs._base as base_module
from sknnfs import NNFSClassifier, NNFSRegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 5))
Y = {
    "classifier": (X[:, 0] > 0).astype(int) + (X[:, 1] > 0),
    "regressor": X @ np.arange(1.0, 6.0),
}
METHODS = {
    "classifier": ("predict_proba", "predict", "predict_log_proba"),
    "regressor": ("predict",),
}
CASES = [
    (kind, method, dtype)
    for kind in METHODS
    for method in METHODS[kind]
    for dtype in ("float64", "float32")
]


def fitted(kind, dtype, X_fit=X):
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    estimator = estimator_class(
        hidden_layer_sizes=(8, 4), max_iter=5, dtype=dtype, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X_fit, Y[kind])


@pytest.fixture
def no_validation(monkeypatch):
    """Fail if prediction validates its input (call it after fitting)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the input was validated")

    def forbid():
        monkeypatch.setattr(base_module, "validate_data", refuse)

    return forbid


@pytest.mark.parametrize("kind, method, dtype", CASES)
def test_the_fast_path_skips_validation_and_predicts_as_the_full_path(
    kind, method, dtype, no_validation
):
    estimator = fitted(kind, dtype)
    rows = np.ascontiguousarray(X[:7], dtype=dtype)
    # A list is never taken as is: it is validated into the same C array.
    full_path = getattr(estimator, method)(rows.tolist())
    full_path_one_row = getattr(estimator, method)(rows[:1].tolist())
    no_validation()
    fast_path = getattr(estimator, method)(rows)
    assert fast_path.dtype == full_path.dtype
    assert fast_path.tobytes() == full_path.tobytes()
    one_row = getattr(estimator, method)(rows[:1])
    assert one_row.tobytes() == full_path_one_row.tobytes()
    # One row and seven may differ in their last bits, on either path: for
    # one row OpenBLAS hands the product to its matrix-vector kernel, which
    # sums in another order (seen with the Haswell kernel).
    if one_row.dtype.kind == "f":
        tolerance = KERNEL_EPS * np.finfo(dtype).eps  # what kernels may change
        np.testing.assert_allclose(one_row, full_path[:1], rtol=tolerance)
    else:
        np.testing.assert_array_equal(one_row, full_path[:1])


@pytest.mark.parametrize("kind, method, dtype", CASES)
def test_every_input_the_full_path_accepts_predicts_the_same(kind, method, dtype):
    estimator = fitted(kind, dtype)
    # Values a float32 holds exactly, so that the other dtype is the same rows.
    rows = np.ascontiguousarray(X[:9].astype(np.float32), dtype=dtype)
    expected = getattr(estimator, method)(rows)
    other_kinds = {
        "list": rows.tolist(),
        "Fortran order": np.asfortranarray(rows),
        "strided view": np.repeat(rows, 2, axis=0)[::2],
        "other float dtype": rows.astype(
            np.float32 if dtype == "float64" else np.float64
        ),
        "CSR matrix": sp.csr_matrix(rows),
        "DataFrame": pd.DataFrame(rows),
    }
    for name, inputs in other_kinds.items():
        with warnings.catch_warnings():
            # A DataFrame for a model fitted on an array: scikit-learn warns.
            warnings.simplefilter("ignore", UserWarning)
            result = getattr(estimator, method)(inputs)
        tolerance = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(
            result, expected, rtol=tolerance, atol=tolerance, err_msg=name
        )


@pytest.mark.parametrize("kind", METHODS)
def test_what_validation_refuses_is_still_refused(kind):
    estimator = fitted(kind, "float64")
    method = getattr(estimator, METHODS[kind][0])
    with_nan = X[:3].copy()
    with_nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        method(with_nan)
    with_inf = X[:3].copy()
    with_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        method(with_inf)
    with pytest.raises(ValueError, match="5 features"):
        method(np.ones((3, 4)))
    with pytest.raises(ValueError, match="0 sample"):
        method(np.ones((0, 5)))
    with pytest.raises(ValueError, match="2D array"):
        method(np.ones(5))
    unfitted = type(estimator)()
    with pytest.raises(NotFittedError):
        getattr(unfitted, METHODS[kind][0])(np.ascontiguousarray(X[:3]))


def test_large_inputs_are_validated(no_validation):
    estimator = fitted("classifier", "float64")
    rows = np.ascontiguousarray(
        np.resize(X, (base_module.FAST_PATH_MAX_VALUES // 5 + 1, 5))
    )
    no_validation()
    estimator.predict_proba(rows[:-1])  # at the limit: the fast path
    with pytest.raises(AssertionError, match="the input was validated"):
        estimator.predict_proba(rows)


def test_a_model_fitted_with_feature_names_still_warns_about_an_array():
    columns = [f"feature {index}" for index in range(5)]
    estimator = fitted("classifier", "float64", X_fit=pd.DataFrame(X, columns=columns))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        estimator.predict_proba(np.ascontiguousarray(X[:3]))


def test_the_fast_path_leaves_the_input_alone():
    estimator = fitted("classifier", "float64")
    rows = np.ascontiguousarray(X[:5])
    before = rows.copy()
    estimator.predict_proba(rows)
    estimator.predict_log_proba(rows)
    assert rows.tobytes() == before.tobytes()
