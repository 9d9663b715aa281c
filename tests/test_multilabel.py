"""NNFSClassifier on multilabel indicator targets, and wrong targets.

A multilabel ``y`` of shape (n_samples, n_labels) gets one sigmoid output per
label and the mean binary cross-entropy, with no MultiOutputClassifier. The
expected values are hand formulas in NumPy, or scikit-learn's MLPClassifier.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MultiLabelBinarizer, StandardScaler
from threadpoolctl import threadpool_limits

from sknnfs import (
    BinaryCrossentropy,
    NNFSClassifier,
    NNFSRegressor,
    Sigmoid,
    SigmoidBinaryCrossentropy,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def single_blas_thread():
    # Threaded OpenBLAS on 2 loaded cores slows these small fits many times
    # over (see test_regressor.py); one thread gives the same numbers.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def multilabel_split():
    X, Y = make_multilabel_classification(n_samples=2000, n_classes=5, random_state=0)
    return train_test_split(X, Y, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def fitted(multilabel_split):
    X_train, _, Y_train, _ = multilabel_split
    return NNFSClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(
        X_train, Y_train
    )


def hand_binary_crossentropy(Y, proba, sample_weight=None):
    """Mean over samples (weighted) of the mean over labels of the BCE."""
    per_label = -(Y * np.log(proba) + (1 - Y) * np.log(1 - proba))
    per_sample = per_label.mean(axis=1)
    weights = np.ones(len(Y)) if sample_weight is None else sample_weight
    return float((weights * per_sample).sum() / weights.sum())


# ------------------------------------------------------ against MLPClassifier
def test_subset_accuracy_within_two_points_of_mlp_classifier(multilabel_split):
    # Shared settings: scaled X, one hidden layer of 64, 200 epochs, Adam at
    # 1e-3, batches of 200 (both 'auto'), random_state=0, no L2 penalty.
    X_train, X_test, Y_train, Y_test = multilabel_split
    shared = dict(hidden_layer_sizes=(64,), max_iter=200, random_state=0)
    ours = make_pipeline(
        StandardScaler(), NNFSClassifier(**shared, learning_rate=1e-3)
    ).fit(X_train, Y_train)
    theirs = make_pipeline(
        StandardScaler(),
        MLPClassifier(**shared, learning_rate_init=1e-3, alpha=0.0),
    ).fit(X_train, Y_train)
    our_accuracy = accuracy_score(Y_test, ours.predict(X_test))
    their_accuracy = accuracy_score(Y_test, theirs.predict(X_test))
    assert our_accuracy >= their_accuracy - 0.02
    assert their_accuracy > 0.4  # well above chance for 5 labels


# -------------------------------------------------- outputs and attributes
def test_predict_returns_the_indicator_matrix(fitted, multilabel_split):
    _, X_test, _, Y_test = multilabel_split
    predictions = fitted.predict(X_test)
    proba = fitted.predict_proba(X_test)
    assert predictions.shape == Y_test.shape == (500, 5)
    assert set(np.unique(predictions)) <= {0, 1}
    np.testing.assert_array_equal(predictions, (proba > 0.5).astype(int))
    assert fitted.out_activation_ == "logistic"
    assert fitted.n_outputs_ == 5
    np.testing.assert_array_equal(fitted.classes_, np.arange(5))


def test_predict_proba_is_one_independent_probability_per_label(
    fitted, multilabel_split
):
    _, X_test, _, _ = multilabel_split
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (500, 5)
    assert np.all((proba >= 0) & (proba <= 1))
    # Not a softmax: the rows do not sum to one.
    assert not np.allclose(proba.sum(axis=1), 1.0, atol=0.05)
    np.testing.assert_allclose(
        np.exp(fitted.predict_log_proba(X_test)), proba, rtol=1e-10
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_score_is_negated_mean_binary_crossentropy(fitted, multilabel_split, weighted):
    _, X_test, _, Y_test = multilabel_split
    sample_weight = (
        np.random.default_rng(0).uniform(0, 2, len(Y_test)) if weighted else None
    )
    expected = -hand_binary_crossentropy(
        Y_test, fitted.predict_proba(X_test), sample_weight
    )
    score = fitted.score(X_test, Y_test, sample_weight=sample_weight)
    assert score == pytest.approx(expected, rel=1e-9)
    assert -0.7 < score < 0  # better than guessing 0.5 for every label


def test_score_needs_a_0_1_indicator(fitted, multilabel_split):
    # A -1/+1 y used to score above 0, which a negated log-loss never is.
    _, X_test, _, Y_test = multilabel_split
    for wrong, values in ((2 * Y_test - 1, r"\[-1, 1\]"), (2 * Y_test, r"\[0, 2\]")):
        with pytest.raises(
            ValueError,
            match=r"A multilabel indicator y must hold only 0 \(label absent\) "
            rf"and 1 \(label present\); got the values {values}",
        ):
            fitted.score(X_test, wrong)
    assert fitted.score(X_test, Y_test.astype(bool)) == fitted.score(X_test, Y_test)


def test_fused_sigmoid_crossentropy_gradient_equals_the_chain():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(6, 3))
    Y = rng.integers(0, 2, size=(6, 3)).astype(float)
    sample_weight = rng.uniform(0.5, 2.0, size=6)
    probabilities, cache = Sigmoid().forward(logits)
    for weights in (None, sample_weight):
        chained = Sigmoid().backward(
            BinaryCrossentropy().backward(probabilities, Y, weights), cache
        )
        fused = SigmoidBinaryCrossentropy().backward(logits, Y, weights)
        row_weights = np.ones(6) if weights is None else weights
        by_hand = (1 / (1 + np.exp(-logits)) - Y) / (3 * 6) * row_weights[:, None]
        np.testing.assert_allclose(fused, by_hand, rtol=1e-12)
        np.testing.assert_allclose(chained, fused, rtol=1e-9)


# ------------------------------------------------- switching and weights
def make_small_multilabel():
    X, Y = make_multilabel_classification(n_samples=60, n_classes=4, random_state=1)
    return X, Y


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_single_label_after_multilabel_is_a_clear_error(how):
    X, Y = make_small_multilabel()
    labels = Y[:, 0]
    if how == "warm_start":
        classifier = NNFSClassifier(
            hidden_layer_sizes=(4,), max_iter=2, warm_start=True, random_state=0
        ).fit(X, Y)
        refit = classifier.fit
    else:
        classifier = NNFSClassifier(hidden_layer_sizes=(4,), random_state=0)
        classifier.partial_fit(X, Y)
        refit = classifier.partial_fit
    coefs = [coef.copy() for coef in classifier.coefs_]
    with pytest.raises(
        ValueError,
        match="y is a label vector but the classifier was fitted on multilabel",
    ):
        refit(X, labels)
    with pytest.raises(ValueError, match="y has 3 labels but the classifier was "):
        refit(X, Y[:, :3])
    # The failed calls left the fitted model as it was.
    assert classifier.out_activation_ == "logistic"
    for before, after in zip(coefs, classifier.coefs_, strict=True):
        np.testing.assert_array_equal(before, after)


def test_multilabel_after_single_label_is_a_clear_error():
    X, Y = make_small_multilabel()
    classifier = NNFSClassifier(hidden_layer_sizes=(4,), random_state=0)
    classifier.partial_fit(X, Y[:, 0], classes=[0, 1])
    with pytest.raises(
        ValueError,
        match="y is a multilabel indicator matrix but the classifier was fitted "
        "on single-label",
    ):
        classifier.partial_fit(X, Y)


def _sparse_indicators(Y):
    label_sets = [np.flatnonzero(row) for row in Y]
    binarizer = MultiLabelBinarizer(classes=range(Y.shape[1]), sparse_output=True)
    return {
        "csr_matrix": sp.csr_matrix(Y),
        "csc_array": sp.csc_array(Y),
        "MultiLabelBinarizer": binarizer.fit_transform(label_sets),
    }


@pytest.mark.parametrize("kind", ["csr_matrix", "csc_array", "MultiLabelBinarizer"])
def test_sparse_indicator_y_trains_as_the_dense_one(kind):
    # As MLPClassifier does; only y (one column per label) is densified.
    X, Y = make_small_multilabel()
    Y_sparse = _sparse_indicators(Y)[kind]
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    dense = NNFSClassifier(**params).fit(X, Y)
    sparse = NNFSClassifier(**params).fit(X, Y_sparse)
    np.testing.assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))
    assert sparse.score(X, Y_sparse) == dense.score(X, Y)
    sparse.partial_fit(X, Y_sparse)
    dense.partial_fit(X, Y)
    np.testing.assert_array_equal(sparse.predict_proba(X), dense.predict_proba(X))


def test_sparse_indicator_y_from_make_multilabel_classification():
    X, Y = make_multilabel_classification(
        n_samples=60, n_classes=4, return_indicator="sparse", random_state=1
    )
    assert sp.issparse(Y)
    classifier = NNFSClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    assert classifier.fit(X, Y).predict(X).shape == (60, 4)


def test_class_weight_with_multilabel_y_is_a_clear_error():
    X, Y = make_small_multilabel()
    for class_weight in ("balanced", {0: 2.0}):
        classifier = NNFSClassifier(class_weight=class_weight, max_iter=2)
        with pytest.raises(
            ValueError, match="class_weight is not supported for multilabel y"
        ):
            classifier.fit(X, Y)


# ------------------------------------------------------------ wrong targets
rng = np.random.default_rng(0)
X_WRONG = rng.standard_normal((30, 3))
WRONG_TARGETS = [
    (
        NNFSClassifier,
        rng.standard_normal(30),
        r"Unknown label type: continuous\. Maybe you are trying to fit a "
        r"classifier, which expects discrete classes on a regression target",
    ),
    (
        NNFSClassifier,
        rng.standard_normal((30, 2)),
        r"Unknown label type: continuous-multioutput",
    ),
    (
        NNFSClassifier,
        np.array([1, "a", 2.5] * 10, dtype=object),
        r"Mix of label input types \(string and number\)",
    ),
    (
        NNFSClassifier,
        rng.integers(0, 3, size=(30, 2)),
        r"does not support multiclass-multioutput targets: a 2-D y must be a "
        r"multilabel indicator matrix",
    ),
    (
        NNFSClassifier,
        np.array([["a", "b"], ["b", "c"], ["c", "a"]] * 10),
        r"does not support multiclass-multioutput targets",
    ),
    (
        NNFSClassifier,
        rng.integers(0, 2, size=(30, 2, 2)),
        r"Found array with dim 3, while dim <= 2 is required by NNFSClassifier",
    ),
    (
        NNFSRegressor,
        np.array(list("abc") * 10),
        r"NNFSRegressor needs a numeric target y; got values of dtype <U1",
    ),
    (
        NNFSRegressor,
        np.array([1, "a", 2.5] * 10, dtype=object),
        r"NNFSRegressor needs a numeric target y; got values of dtype object "
        r"that cannot be converted to float \(could not convert string to "
        r"float: 'a'\)",
    ),
    (
        NNFSRegressor,
        rng.standard_normal((30, 2, 2)),
        r"Found array with dim 3, while dim <= 2 is required by NNFSRegressor",
    ),
]


@pytest.mark.parametrize(
    "estimator_class, y, match",
    WRONG_TARGETS,
    ids=[
        "classifier-continuous",
        "classifier-continuous-multioutput",
        "classifier-mixed-types",
        "classifier-multiclass-multioutput",
        "classifier-string-multioutput",
        "classifier-3d",
        "regressor-strings",
        "regressor-mixed-types",
        "regressor-3d",
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_wrong_targets_get_clear_errors(estimator_class, y, match, method):
    estimator = estimator_class(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match=match):
            getattr(estimator, method)(X_WRONG, y)
    assert not hasattr(estimator, "n_features_in_")
