"""NaN and infinity in the rows to predict, found in the first layer's outputs.

Dense rows wider than the first hidden layer are not summed whole for
scikit-learn's check: the first layer's outputs are, chunk by chunk, and a
chunk whose outputs are not finite gets scikit-learn's check and error. The
error must be scikit-learn's own, whatever the row, the activation or the
weights; predictions must not change.
"""

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array

import sknnfs._prediction as prediction_module
from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._prediction import chunk_rows, predict_outputs

X, y = make_classification(
    n_samples=300, n_features=40, n_informative=10, n_classes=3, random_state=0
)
X_MANY = np.tile(X, (3, 1))
CHUNK = 64


@pytest.fixture(autouse=True)
def _chunks_of_64_rows(monkeypatch):
    # Several chunks of rows without millions of them.
    monkeypatch.setattr(prediction_module, "CHUNK_MIN_ROWS", CHUNK)
    monkeypatch.setattr(prediction_module, "CHUNK_CACHE_VALUES", 8 * CHUNK)


def fitted(estimator_class=NNFSClassifier, **params):
    settings = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator_class(**{**settings, **params}).fit(X, y)


def scikit_learns_error(X, estimator_name, dtype=np.float64):
    """The message of check_array's error for ``X``, from scikit-learn itself."""
    with pytest.raises(ValueError) as error:
        check_array(X, dtype=dtype, estimator=estimator_name, input_name="X")
    return str(error.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, CHUNK - 1, CHUNK, len(X_MANY) - 1])
def test_a_bad_value_in_any_row_gets_scikit_learns_error(value, row):
    model = fitted()
    assert chunk_rows(model._network.layer_sizes) == CHUNK
    bad = X_MANY.copy()
    bad[row, 7] = value
    expected = scikit_learns_error(bad, "NNFSClassifier")
    for method in (model.predict_proba, model.predict, model.predict_log_proba):
        with pytest.raises(ValueError, match=re.escape(expected)):
            method(bad)


def test_infinity_that_relu_would_zero_is_still_found():
    model = fitted()
    # Every first-layer weight of feature 3 negative: +inf makes every unit
    # -inf, which ReLU turns into 0 and finite logits.
    weights = model.coefs_[0].copy()
    weights[3] = -np.abs(weights[3]) - 0.1
    model.coefs_[0] = weights
    bad = X_MANY.copy()
    bad[500, 3] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict_proba(bad)


def test_infinity_that_a_sigmoid_saturates_is_still_found():
    model = fitted(activation="sigmoid")
    bad = X_MANY.copy()
    bad[100, 0] = -np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        model.predict_proba(bad)


def test_a_float64_value_too_large_for_a_float32_network():
    model = fitted(dtype="float32")
    bad = X_MANY.copy()
    bad[10, 2] = 1e39  # finite in float64, infinite in float32
    expected = scikit_learns_error(bad, "NNFSClassifier", dtype=np.float32)
    with pytest.raises(ValueError, match=re.escape(expected)):
        model.predict_proba(bad)


def test_a_first_layer_as_wide_as_the_rows_keeps_the_whole_check():
    model = fitted(hidden_layer_sizes=(64,))
    bad = X_MANY.copy()
    bad[9, 9] = np.nan
    with pytest.raises(
        ValueError, match=re.escape(scikit_learns_error(bad, "NNFSClassifier"))
    ):
        model.predict_proba(bad)


def test_the_regressor_gets_the_error_with_its_name():
    model = fitted(NNFSRegressor)
    bad = X_MANY.copy()
    bad[-1, -1] = np.nan
    with pytest.raises(
        ValueError, match=re.escape(scikit_learns_error(bad, "NNFSRegressor"))
    ):
        model.predict(bad)


def test_huge_finite_rows_are_not_an_input_error():
    # Their first-layer outputs overflow in float32 and fail the sum; the
    # rows themselves pass scikit-learn's check, and the overflow guard of
    # the logits names the row, as without the deferred check.
    model = fitted(dtype="float32")
    huge = X_MANY.astype(np.float32)
    huge[400] = 3e38
    with pytest.raises(ValueError, match="overflowed .* for row 400 of X"):
        model.predict_proba(huge)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predictions_are_those_of_the_network_on_checked_rows(dtype):
    model = fitted(dtype=dtype)
    rows = X_MANY.astype(dtype)
    expected = predict_outputs(model._network, rows)  # no check: already finite
    assert model.predict_proba(rows).tobytes() == expected.tobytes()
