"""Property tests: random shapes, dtypes, label sets and batch sizes.

fit + predict either succeeds with valid outputs or raises a clear
ValueError exactly when the data cannot be fitted (a single class); and
predictions do not depend on how the rows are grouped at predict time.
Example counts are kept small so that the file runs in a few seconds.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from sknnfs import NNFSClassifier, NNFSRegressor

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
LABEL_SETS = {
    "ints": [-3, 0, 7, 42],
    "strings": ["cat", "dog", "emu", "yak"],
    "booleans": [False, True],
}
HIDDEN_LAYER_SIZES = st.sampled_from([(), (3,), (5, 4)])
BATCH_SIZES = st.one_of(st.just("auto"), st.integers(1, 50))


@st.composite
def feature_matrices(draw, dtypes=("float32", "float64", "int64"), min_samples=1):
    n_samples = draw(st.integers(min_samples, 40))
    n_features = draw(st.integers(1, 6))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    if dtype.kind == "i":
        elements = st.integers(-50, 50)
    else:
        elements = st.floats(-1e3, 1e3, allow_nan=False, width=dtype.itemsize * 8)
    return draw(hnp.arrays(dtype, (n_samples, n_features), elements=elements))


@st.composite
def classification_problems(draw):
    X = draw(feature_matrices())
    label_set = LABEL_SETS[draw(st.sampled_from(sorted(LABEL_SETS)))]
    n_labels = draw(st.integers(1, len(label_set)))
    label_indices = draw(
        hnp.arrays(np.int64, X.shape[0], elements=st.integers(0, n_labels - 1))
    )
    y = np.array(label_set)[label_indices]
    return X, y


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@SETTINGS
@given(
    problem=classification_problems(),
    hidden_layer_sizes=HIDDEN_LAYER_SIZES,
    batch_size=BATCH_SIZES,
    seed=st.integers(0, 2**16),
)
def test_classifier_fit_predict_is_valid_or_a_clear_error(
    problem, hidden_layer_sizes, batch_size, seed
):
    X, y = problem
    classifier = NNFSClassifier(
        hidden_layer_sizes=hidden_layer_sizes,
        batch_size=batch_size,
        max_iter=3,
        random_state=seed,
    )
    labels_seen = np.unique(y)
    if len(labels_seen) < 2:
        with pytest.raises(ValueError, match="contains only one class"):
            fit_quietly(classifier, X, y)
        return
    fit_quietly(classifier, X, y)

    np.testing.assert_array_equal(classifier.classes_, labels_seen)
    assert classifier.classes_.dtype == y.dtype
    predictions = classifier.predict(X)
    assert predictions.shape == y.shape and predictions.dtype == y.dtype
    assert np.isin(predictions, labels_seen).all()
    proba = classifier.predict_proba(X)
    assert proba.shape == (len(X), len(labels_seen))
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    tolerance = 1e-5 if classifier._network.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=tolerance)
    np.testing.assert_array_equal(predictions, labels_seen[proba.argmax(axis=1)])
    assert np.isfinite(classifier.score(X, y))


@SETTINGS
@given(
    X=feature_matrices(),
    n_outputs=st.sampled_from([0, 1, 3]),  # 0: a 1-D y
    hidden_layer_sizes=HIDDEN_LAYER_SIZES,
    batch_size=BATCH_SIZES,
    seed=st.integers(0, 2**16),
)
def test_regressor_fit_predict_is_valid(
    X, n_outputs, hidden_layer_sizes, batch_size, seed
):
    targets = np.random.default_rng(seed).standard_normal((len(X), max(n_outputs, 1)))
    y = targets[:, 0] if n_outputs == 0 else targets
    regressor = NNFSRegressor(
        hidden_layer_sizes=hidden_layer_sizes,
        batch_size=batch_size,
        max_iter=3,
        random_state=seed,
    )
    fit_quietly(regressor, X, y)
    predictions = regressor.predict(X)
    assert predictions.shape == y.shape
    assert np.isfinite(predictions).all()


@SETTINGS
@given(
    X=feature_matrices(dtypes=("float64",), min_samples=3),
    hidden_layer_sizes=HIDDEN_LAYER_SIZES,
    chunk_size=st.integers(1, 15),
    seed=st.integers(0, 2**16),
)
def test_predictions_do_not_depend_on_how_rows_are_grouped(
    X, hidden_layer_sizes, chunk_size, seed
):
    y_classes = np.arange(len(X)) % 3
    y_targets = np.random.default_rng(seed).standard_normal(len(X))
    classifier = fit_quietly(
        NNFSClassifier(
            hidden_layer_sizes=hidden_layer_sizes, max_iter=3, random_state=seed
        ),
        X,
        y_classes,
    )
    regressor = fit_quietly(
        NNFSRegressor(
            hidden_layer_sizes=hidden_layer_sizes, max_iter=3, random_state=seed
        ),
        X,
        y_targets,
    )
    for predict in (classifier.predict_proba, regressor.predict):
        all_at_once = predict(X)
        one_at_a_time = np.concatenate([predict(X[i : i + 1]) for i in range(len(X))])
        chunks = np.concatenate(
            [predict(X[i : i + chunk_size]) for i in range(0, len(X), chunk_size)]
        )
        reversed_rows = predict(X[::-1])[::-1]
        for grouped in (one_at_a_time, chunks, reversed_rows):
            np.testing.assert_allclose(grouped, all_at_once, rtol=0, atol=1e-6)
