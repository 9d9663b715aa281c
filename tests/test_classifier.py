"""NNFSClassifier: learning results and the behaviour issue 2 promises."""

import copy
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from nnfs.datasets import spiral_data
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_class_weight

from sknnfs import NNFSClassifier
from sknnfs._layers import Dense

# Small, fast settings for tests that only need some training to happen.
# These tests pin training on every row (epoch counts, t_, loss curves):
# early_stopping=False, the default before 'auto' (tests/test_early_stopping_auto.py).
QUICK = dict(
    hidden_layer_sizes=(8,),
    learning_rate=0.01,
    batch_size=16,
    max_iter=15,
    random_state=0,
    early_stopping=False,
)


@pytest.fixture(autouse=True)
def _no_convergence_warnings_unless_asked():
    # Short max_iter is deliberate in most tests; the tests about the
    # warning itself record it with pytest.warns / catch_warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=90, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fitted_quick(X, y, sample_weight=None, **params):
    return NNFSClassifier(**{**QUICK, **params}).fit(X, y, sample_weight=sample_weight)


def assert_same_coefs(first, second):
    first_arrays = first.coefs_ + first.intercepts_
    second_arrays = second.coefs_ + second.intercepts_
    for a, b in zip(first_arrays, second_arrays, strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- learning
def test_book_spiral_result():
    state = np.random.get_state()
    try:
        np.random.seed(0)
        X, y = spiral_data(100, 3)
    finally:
        np.random.set_state(state)
    # The book's chapter 10 settings: its initial weights and Adam epsilon,
    # no penalty.
    clf = NNFSClassifier(
        hidden_layer_sizes=(64,),
        optimizer="adam",
        learning_rate=0.05,
        decay=5e-7,
        epsilon=1e-7,
        weight_init="nnfs",
        bias_init="zeros",
        l2=0.0,
        batch_size=300,
        max_iter=10000,
        early_stopping=False,  # the book trains on every row
        tol=0,
        n_iter_no_change=np.inf,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.n_iter_ == 10000
    accuracy = np.mean(clf.predict(X) == y)
    assert accuracy >= 0.93, accuracy


def test_digits_accuracy():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    clf = NNFSClassifier(random_state=0).fit(scaler.transform(X_train), y_train)
    accuracy = np.mean(clf.predict(scaler.transform(X_test)) == y_test)
    assert accuracy >= 0.96, accuracy


# ------------------------------------------------------------ predictions
def test_score_is_negated_log_loss(iris):
    X, y = iris
    clf = fitted_quick(X, y)
    proba = clf.predict_proba(X)
    assert abs(clf.score(X, y) - (-log_loss(y, proba, labels=clf.classes_))) < 1e-12
    weights = np.random.default_rng(0).uniform(0, 3, len(y))
    expected = -log_loss(y, proba, labels=clf.classes_, sample_weight=weights)
    assert abs(clf.score(X, y, sample_weight=weights) - expected) < 1e-12
    # On a subset missing a class, labels=classes_ still scores all classes.
    subset = y != 2
    expected = -log_loss(y[subset], proba[subset], labels=clf.classes_)
    assert abs(clf.score(X[subset], y[subset]) - expected) < 1e-12


def test_predict_proba_rows_sum_to_one_and_log_proba_matches(iris):
    X, y = iris
    clf = fitted_quick(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_same_random_state_gives_identical_models(iris):
    X, y = iris
    first, second = (
        fitted_quick(X, y, random_state=3),
        fitted_quick(X, y, random_state=3),
    )
    assert_same_coefs(first, second)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = fitted_quick(X, y, random_state=4)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_partial_fit_twice_equals_fit_with_two_epochs(iris):
    X, y = iris
    params = dict(QUICK, shuffle=False, batch_size=32)
    incremental = NNFSClassifier(**params)
    incremental.partial_fit(X, y, classes=np.unique(y))
    incremental.partial_fit(X, y)
    full = NNFSClassifier(**{**params, "max_iter": 2}).fit(X, y)
    # n_iter_ counts the epochs of the latest call, as in MLPClassifier.
    assert (incremental.n_iter_, full.n_iter_) == (1, 2)
    assert incremental.t_ == full.t_ == 2 * len(y)
    assert_same_coefs(incremental, full)
    assert incremental.loss_curve_ == full.loss_curve_


def test_partial_fit_needs_classes_on_first_call(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes"):
        NNFSClassifier(**QUICK).partial_fit(X, y)


# ------------------------------------------------------- sklearn ecosystem
def test_pipeline(iris):
    X, y = iris
    pipeline = make_pipeline(StandardScaler(), NNFSClassifier(**QUICK)).fit(X, y)
    assert pipeline.score(X, y) == pytest.approx(
        -log_loss(y, pipeline.predict_proba(X)), abs=1e-12
    )
    assert np.mean(pipeline.predict(X) == y) > 0.8


def test_grid_search_in_parallel(iris):
    X, y = iris
    search = GridSearchCV(
        NNFSClassifier(**QUICK),
        {"hidden_layer_sizes": [(4,), (8,)], "l2": [0.0, 1e-3]},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(4,), (8,)]
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)  # negated log-loss
    assert search.best_score_ == scores.max()


def test_cross_val_score_in_parallel(iris):
    X, y = iris
    clf = NNFSClassifier(**QUICK)
    negated_log_loss = cross_val_score(clf, X, y, cv=3, n_jobs=2)
    accuracy = cross_val_score(clf, X, y, cv=3, n_jobs=2, scoring="accuracy")
    assert negated_log_loss.shape == accuracy.shape == (3,)
    assert np.all(negated_log_loss < 0)
    assert np.all((accuracy > 0.6) & (accuracy <= 1))


@pytest.mark.parametrize("persistence", ["pickle", "joblib", "joblib_mmap"])
def test_persistence_round_trip(iris, tmp_path, persistence):
    X, y = iris
    clf = fitted_quick(X, y, batch_size=50)
    if persistence == "pickle":
        restored = pickle.loads(pickle.dumps(clf))
    else:
        path = tmp_path / "model.joblib"
        joblib.dump(clf, path)
        restored = joblib.load(
            path, mmap_mode="r" if persistence == "joblib_mmap" else None
        )
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    # Training continues exactly where the original would (optimizer, RNG).
    clf.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_same_coefs(restored, clf)
    assert restored.t_ == clf.t_ == (QUICK["max_iter"] + 1) * len(y)


# ------------------------------------------------------- training behaviour
class _RecordingClassifier(NNFSClassifier):
    """Keeps a copy of the parameters after every epoch."""

    def _on_epoch_end(self, history):
        self.recorded_params_ = getattr(self, "recorded_params_", [])
        self.recorded_params_.append(self._network.flat_params_copy())


def test_early_stopping_restores_the_best_epoch(blobs):
    X, y = blobs
    clf = _RecordingClassifier(
        hidden_layer_sizes=(16,),
        learning_rate=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        tol=0,
        max_iter=500,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == len(clf.loss_curve_) == clf.n_iter_
    best_epoch = int(np.argmax(clf.validation_scores_))
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # It stopped at the (n_iter_no_change + 1)-th epoch after the last
    # improvement, as MLPClassifier stops...
    assert clf.n_iter_ == best_epoch + 1 + 5 + 1
    # ...and holds the weights of the best epoch, not of the last one.
    np.testing.assert_array_equal(
        clf._network.flat_params, clf.recorded_params_[best_epoch]
    )
    assert not np.array_equal(
        clf.recorded_params_[-1], clf.recorded_params_[best_epoch]
    )
    best = NNFSClassifier(hidden_layer_sizes=(16,), max_iter=1, random_state=0)
    best.fit(X, y)
    best._network.load_flat_params(clf.recorded_params_[best_epoch])
    np.testing.assert_array_equal(clf.predict_proba(X), best.predict_proba(X))
    assert clf.best_loss_ is None


def test_convergence_warning_when_max_iter_is_reached(blobs):
    X, y = blobs
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        NNFSClassifier(**{**QUICK, "max_iter": 3}).fit(X, y)


def test_no_warning_when_it_converges(blobs):
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = NNFSClassifier(
            **{**QUICK, "max_iter": 1000, "tol": 0.5, "n_iter_no_change": 3}
        ).fit(X, y)
    assert clf.n_iter_ < 1000
    # Stopped after n_iter_no_change epochs without an improvement of tol.
    assert len(clf.loss_curve_) == clf.n_iter_


def test_warm_start_continues(blobs):
    X, y = blobs
    clf = fitted_quick(X, y, max_iter=5)
    previous = [coef.copy() for coef in clf.coefs_]
    cold_start = fitted_quick(X, y, max_iter=1, learning_rate=1e-12).coefs_
    # A tiny learning rate keeps the weights where the warm start found them.
    clf.set_params(warm_start=True, max_iter=3, learning_rate=1e-12)
    clf.fit(X, y)
    # n_iter_ counts this fit's epochs; the loss curve and t_ go on.
    assert clf.n_iter_ == 3
    assert len(clf.loss_curve_) == 8
    assert clf.t_ == 8 * len(y)
    for coef, old, cold in zip(clf.coefs_, previous, cold_start, strict=True):
        np.testing.assert_allclose(coef, old, atol=1e-9)
        assert not np.allclose(coef, cold, atol=1e-3)
    # Without warm_start, fit starts again from the initial weights.
    clf.set_params(warm_start=False, max_iter=1)
    clf.fit(X, y)
    assert clf.n_iter_ == 1
    for coef, cold in zip(clf.coefs_, cold_start, strict=True):
        np.testing.assert_allclose(coef, cold, atol=1e-9)


FULL_BATCH = dict(QUICK, batch_size=10_000, shuffle=False, max_iter=5)


def test_integer_sample_weight_equals_repeated_rows(blobs):
    X, y = blobs
    counts = np.random.default_rng(0).integers(0, 4, len(y))
    weighted = NNFSClassifier(**FULL_BATCH).fit(X, y, sample_weight=counts)
    repeated = NNFSClassifier(**FULL_BATCH).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    for a, b in zip(weighted.coefs_, repeated.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


def test_loss_is_the_weighted_mean(blobs):
    X, y = blobs
    weights = np.random.default_rng(1).uniform(0.1, 3, len(y))
    # With a negligible learning rate the first epoch's loss is the loss of
    # the (unchanged) final weights, which score() computes independently
    # (score has no penalty term: l2=0).
    params = dict(FULL_BATCH, max_iter=1, learning_rate=1e-12, l2=0.0)
    clf = NNFSClassifier(**params).fit(X, y, sample_weight=weights)
    assert clf.loss_ == pytest.approx(-clf.score(X, y, sample_weight=weights), rel=1e-8)
    unweighted = NNFSClassifier(**params).fit(X, y)
    assert unweighted.loss_ == pytest.approx(-unweighted.score(X, y), rel=1e-8)
    assert clf.loss_ != pytest.approx(unweighted.loss_, rel=1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e306, 1e-320, 7.0])
def test_equal_sample_weights_at_any_scale_are_no_weights(blobs, scale, dtype):
    # 1e306 overflowed the normalising sum (all-zero weights, a loss of 0:
    # nothing trained); 1e-320 had lost its digits ("Training diverged").
    X, y = blobs
    X = X.astype(dtype)
    unweighted = fitted_quick(X, y)
    weighted = fitted_quick(X, y, sample_weight=np.full(len(y), scale))
    np.testing.assert_array_equal(
        weighted.predict_proba(X), unweighted.predict_proba(X)
    )
    assert weighted.loss_curve_ == unweighted.loss_curve_


def test_sample_weights_scaled_by_a_huge_power_of_two_are_the_same_weights(blobs):
    # Each weight is finite, their sum is not: the weights are divided by
    # their maximum before they are summed.
    X, y = blobs
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(y))
    weighted = fitted_quick(X, y, sample_weight=weights)
    scaled = fitted_quick(X, y, sample_weight=weights * 2.0**1020)
    np.testing.assert_array_equal(scaled.predict_proba(X), weighted.predict_proba(X))


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.5, 1: 3.0}])
def test_class_weight_is_a_per_class_sample_weight(class_weight, n_classes):
    X, y = make_blobs(n_samples=[50, 20, 10][:n_classes], n_features=3, random_state=1)
    if class_weight == "balanced":
        per_class = compute_class_weight("balanced", classes=np.unique(y), y=y)
    else:
        per_class = np.array([0.5, 3.0, 1.0])  # missing classes weigh 1
    by_class = NNFSClassifier(**FULL_BATCH, class_weight=class_weight).fit(X, y)
    by_sample = NNFSClassifier(**FULL_BATCH).fit(X, y, sample_weight=per_class[y])
    for a, b in zip(by_class.coefs_, by_sample.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert by_class.loss_curve_ == pytest.approx(by_sample.loss_curve_, rel=1e-12)
    unweighted = NNFSClassifier(**FULL_BATCH).fit(X, y)
    assert by_class.loss_curve_[0] != pytest.approx(unweighted.loss_curve_[0], rel=1e-3)


def test_fit_leaves_the_callers_arrays_alone(blobs):
    X, y = blobs
    X_copy, y_copy = X.copy(), y.copy()
    weights = np.linspace(0.5, 2, len(y))
    weights_copy = weights.copy()
    clf = fitted_quick(X, y)
    clf.fit(X, y, sample_weight=weights)
    clf.predict_proba(X)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(weights, weights_copy)


EPOCH_LINE = re.compile(
    r"^Epoch (\d+): loss = (\d+\.\d+)(, validation score = (-?\d+\.\d+))?, "
    r"(\d+\.\d+) s$"
)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_one_line_per_epoch(blobs, capsys, early_stopping):
    X, y = blobs
    clf = fitted_quick(X, y, max_iter=4, verbose=1, early_stopping=early_stopping)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == clf.n_iter_ == 4
    for epoch, line in enumerate(lines, start=1):
        match = EPOCH_LINE.match(line)
        assert match, line
        assert int(match[1]) == epoch
        assert float(match[2]) == pytest.approx(clf.loss_curve_[epoch - 1], abs=1e-6)
        if early_stopping:
            assert float(match[4]) == pytest.approx(
                clf.validation_scores_[epoch - 1], abs=1e-6
            )
        else:
            assert match[3] is None


def test_silent_by_default(blobs, capsys):
    fitted_quick(*blobs)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1]),
        np.array([0, 1, 2, 3]),
        np.array(["cat", "dog", "eel"]),
        np.array([-3, 7, 100]),
        np.array([True, False]),
    ],
    ids=["binary", "multiclass", "strings", "non_contiguous", "bools"],
)
def test_label_types(labels):
    X, y_index = make_blobs(n_samples=30 * len(labels), centers=len(labels),
                            n_features=2, cluster_std=0.5, random_state=0)  # fmt: skip
    y = labels[y_index]
    clf = fitted_quick(X, y, max_iter=100, learning_rate=0.05)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    predictions = clf.predict(X)
    assert predictions.dtype == y.dtype
    assert set(predictions) <= set(labels)
    assert np.mean(predictions == y) >= 0.9
    assert clf.predict_proba(X).shape == (len(y), len(labels))
    # Two classes share one logistic output unit, as in MLPClassifier.
    assert clf.n_outputs_ == (1 if len(labels) == 2 else len(labels))
    assert clf.score(X, y) == pytest.approx(
        -log_loss(y, clf.predict_proba(X), labels=clf.classes_), abs=1e-12
    )


def _forbid_densifying(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        for klass in cls.__mro__:
            for name in ("toarray", "todense", "__array__"):
                if name in vars(klass):
                    monkeypatch.setattr(klass, name, refuse)


@pytest.mark.parametrize("sparse_format", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_input_is_never_densified(blobs, sparse_format, monkeypatch):
    X, y = blobs
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    dense = fitted_quick(X, y)
    X_sparse = sparse_format(X)
    first_layer_inputs = []
    original_forward = Dense.forward

    def spying_forward(self, inputs, **kwargs):
        first_layer_inputs.append(sp.issparse(inputs) or inputs.shape[1] != X.shape[1])
        return original_forward(self, inputs, **kwargs)

    monkeypatch.setattr(Dense, "forward", spying_forward)
    _forbid_densifying(monkeypatch)
    sparse = fitted_quick(X_sparse, y)
    predictions = sparse.predict(X_sparse)
    proba = sparse.predict_proba(X_sparse)
    monkeypatch.undo()
    assert first_layer_inputs and all(first_layer_inputs)
    np.testing.assert_array_equal(predictions, dense.predict(X))
    np.testing.assert_allclose(proba, dense.predict_proba(X), rtol=1e-9, atol=1e-12)
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_dataframe_sets_feature_names(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = fitted_quick(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="feature names"):
        np.testing.assert_array_equal(clf.predict(X), clf.predict(frame))
    assert not hasattr(fitted_quick(X, y), "feature_names_in_")


def test_fitted_attributes_match_mlpclassifier(iris):
    X, y = iris
    hidden = (5, 4)
    clf = fitted_quick(X, y, hidden_layer_sizes=hidden, max_iter=7)
    reference = MLPClassifier(hidden_layer_sizes=hidden, max_iter=7, random_state=0)
    reference.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [c.shape for c in reference.coefs_]
    assert [b.shape for b in clf.intercepts_] == [
        b.shape for b in reference.intercepts_
    ]
    assert clf.n_layers_ == reference.n_layers_ == 4
    assert clf.n_outputs_ == reference.n_outputs_ == 3
    assert clf.out_activation_ == reference.out_activation_ == "softmax"
    assert clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_iter_ == 7 and isinstance(clf.n_iter_, int)
    assert clf.t_ == 7 * len(y)
    assert len(clf.loss_curve_) == 7
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None
    assert clf.best_validation_score_ is None


def test_empty_hidden_layers_give_softmax_regression(iris):
    X, y = iris
    clf = fitted_quick(X, y, hidden_layer_sizes=(), max_iter=50, learning_rate=0.05)
    assert len(clf.coefs_) == 1 and clf.coefs_[0].shape == (4, 3)
    assert clf.intercepts_[0].shape == (3,)
    assert clf.n_layers_ == 2
    logits = X @ clf.coefs_[0] + clf.intercepts_[0]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    assert np.mean(clf.predict(X) == y) > 0.9


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "sgd", "learning_rate": 0.05},
        {"optimizer": "adagrad", "learning_rate": 0.05},
        {"optimizer": "rmsprop"},
        {"optimizer": "adam"},
        {"activation": "relu"},
        {"activation": "sigmoid"},
        {"activation": "tanh"},
        {"activation": "linear"},
        {"weight_init": "he"},
        {"weight_init": "glorot"},
        {"weight_init": "nnfs"},
        {"weight_init": "glorot", "bias_init": "glorot"},
        {"dropout": 0.2, "l1": 1e-4, "l2": 1e-3, "bias_l1": 1e-4, "bias_l2": 1e-3},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_every_option_trains(iris, params):
    X, y = iris
    clf = fitted_quick(X, y, max_iter=20, batch_size=32, **params)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("bias_init", ["zeros", "glorot"])
def test_bias_init_reaches_the_intercepts(blobs, bias_init):
    X, y = blobs  # 4 features, 3 classes
    # A learning rate so small that one epoch leaves the start as it was.
    clf = fitted_quick(X, y, bias_init=bias_init, max_iter=1, learning_rate=1e-12)
    first, second = clf.intercepts_
    if bias_init == "zeros":
        assert np.abs(np.concatenate([first, second])).max() < 1e-9
    else:
        assert 0 < np.abs(first).max() <= np.sqrt(6 / (4 + 8))
        assert 0 < np.abs(second).max() <= np.sqrt(6 / (8 + 3))
        assert np.unique(first).size == first.size


def test_dtype_none_keeps_float32(blobs):
    X, y = blobs
    X32 = X.astype(np.float32)
    clf = fitted_quick(X32, y)
    assert all(coef.dtype == np.float32 for coef in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    forced = fitted_quick(X32, y, dtype="float64")
    assert all(coef.dtype == np.float64 for coef in forced.coefs_)
    assert forced.predict_proba(X32).dtype == np.float64
    assert fitted_quick(X, y).coefs_[0].dtype == np.float64
    assert fitted_quick(X, y, dtype="float32").coefs_[0].dtype == np.float32


@pytest.mark.parametrize(
    "params",
    [
        {"activation": "softplus"},
        {"optimizer": "newton"},
        {"learning_rate": 0.0},
        {"learning_rate": -1.0},
        {"batch_size": 0},
        {"batch_size": "all"},
        {"max_iter": 0},
        {"max_fun": 0},
        {"dropout": 1.0},
        {"l2": -0.1},
        {"momentum": 1.5},
        {"weight_init": "uniform"},
        {"bias_init": "uniform"},
        {"validation_fraction": 1.0},
        {"class_weight": "auto"},
        {"dtype": "float16"},
        {"n_iter_no_change": 0},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_invalid_parameters_raise_at_fit(blobs, params):
    X, y = blobs
    clf = NNFSClassifier(**params)  # __init__ only stores
    with pytest.raises(InvalidParameterError):
        clf.fit(X, y)


@pytest.mark.parametrize("sizes", [(0,), (10, 0), (-4,), (10, -1), (2.5,), "10"])
def test_invalid_hidden_layer_sizes_raise_invalid_parameter_error(blobs, sizes):
    # Declared as a constraint, so scikit-learn's own validation names it.
    X, y = blobs
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'hidden_layer_sizes' parameter of NNFSClassifier must be an "
        r"array-like whose items are each an int in the range \[1, inf\)",
    ):
        NNFSClassifier(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.parametrize("sizes", [(), [], (3,), [3, 2], np.array([3, 2]), 3])
def test_valid_hidden_layer_sizes(blobs, sizes):
    X, y = blobs
    clf = fitted_quick(X, y, hidden_layer_sizes=sizes, max_iter=1)
    assert [coef.shape[1] for coef in clf.coefs_[:-1]] == list(np.ravel(sizes))


# ------------------------------------------------------------- class weights
def test_class_weight_key_rules_follow_scikit_learn(blobs):
    X, y = blobs
    labels = np.array(["1", "2", "3"])[y]
    # Keys are matched with their type: the string labels get their weights.
    per_sample = np.array([0.5, 1.0, 3.0])[y]
    by_string = fitted_quick(X, labels, class_weight={"1": 0.5, "3": 3.0})
    assert_same_coefs(by_string, fitted_quick(X, labels).fit(X, labels, per_sample))
    # A dict for more classes than y has is fine when every class of y has a
    # weight (a cross-validation fold that lacks a class), as for
    # LogisticRegression.
    with_extra_key = fitted_quick(X, y, class_weight={0: 0.5, 1: 1.0, 2: 3.0, 9: 5.0})
    assert_same_coefs(with_extra_key, fitted_quick(X, y).fit(X, y, per_sample))


def test_balanced_class_weight_counts_sample_weight(blobs):
    # A row of weight 2 is the same row twice, class counts included.
    X, y = blobs
    X, y = X[:70], y[:70]  # unequal classes, so that 'balanced' matters
    counts = np.random.default_rng(0).integers(0, 4, len(y))
    params = dict(FULL_BATCH, class_weight="balanced")
    weighted = NNFSClassifier(**params).fit(X, y, sample_weight=counts)
    repeated = NNFSClassifier(**params).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    for a, b in zip(weighted.coefs_, repeated.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)
    np.testing.assert_array_equal(weighted.predict(X), repeated.predict(X))


def test_balanced_class_weight_with_a_class_of_zero_weight(blobs):
    # Its 'balanced' weight is infinite (no weighted samples); its rows weigh
    # zero anyway. Classes 0 and 1 have 30 rows each: equal weights.
    X, y = blobs
    sample_weight = (y != 2).astype(float)
    balanced = NNFSClassifier(**QUICK, class_weight="balanced")
    balanced.fit(X, y, sample_weight=sample_weight)
    weighted = fitted_quick(X, y).fit(X, y, sample_weight)
    for a, b in zip(balanced.coefs_, weighted.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_warm_start_with_balanced_class_weight_on_fewer_classes(blobs):
    X, y = blobs
    clf = fitted_quick(X, y, class_weight="balanced", warm_start=True)
    coefs = [coef.copy() for coef in clf.coefs_]
    with pytest.raises(
        ValueError,
        match=r"warm_start can only be used where `y` has the same classes .* "
        r"Previously got \[0 1 2\], `y` has \[0 1\]: it lacks \[2\]",
    ):
        clf.fit(X[y < 2], y[y < 2])
    for coef, before in zip(clf.coefs_, coefs, strict=True):
        np.testing.assert_array_equal(coef, before)
    clf.fit(X, y)  # the same classes: warm start goes on


# ------------------------------------------------------ coefs_ / intercepts_
def test_assigning_coefs_and_intercepts_writes_into_the_network(iris):
    X, y = iris
    clf = fitted_quick(X, y, hidden_layer_sizes=(5,))
    reference = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
    # Item by item, as MLPClassifier users load weights...
    for index in range(2):
        clf.coefs_[index] = reference.coefs_[index]
        clf.intercepts_[index] = reference.intercepts_[index].tolist()
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(X), rtol=1e-12, atol=1e-15
    )
    # ... or whole lists.
    clf.coefs_ = [np.zeros_like(coef) for coef in clf.coefs_]
    clf.intercepts_ = [np.zeros(5), np.array([0.0, 0.0, np.log(2.0)])]
    np.testing.assert_allclose(clf.predict_proba(X[:1]), [[0.25, 0.25, 0.5]])
    # The arrays read back are the network's, not copies.
    assert np.shares_memory(clf.coefs_[0], clf._network.flat_params)


@pytest.mark.parametrize(
    ("assign", "error", "match"),
    [
        (
            lambda clf: clf.coefs_.__setitem__(0, np.zeros((5, 4))),
            ValueError,
            r"coefs_\[0\] must have shape \(4, 5\), the shape of that layer's "
            r"parameters; got shape \(5, 4\)",
        ),
        (
            lambda clf: clf.intercepts_.__setitem__(-1, [0.0, np.nan, 0.0]),
            ValueError,
            r"intercepts_\[1\] must be finite in float64",
        ),
        (
            lambda clf: clf.coefs_.__setitem__(1, np.full((5, 3), "a")),
            TypeError,
            r"coefs_\[1\] must hold real numbers; got dtype <U1",
        ),
        (
            lambda clf: setattr(clf, "coefs_", [np.zeros((4, 5))]),
            ValueError,
            r"coefs_ holds one array per layer: 2 arrays are needed here, got 1",
        ),
        (
            lambda clf: setattr(clf, "intercepts_", [np.zeros(5), np.zeros(2)]),
            ValueError,
            r"intercepts_\[1\] must have shape \(3,\)",
        ),
        (
            lambda clf: clf.coefs_.append(np.zeros((5, 3))),
            TypeError,
            r"coefs_ holds one array per layer of the network, in order: it "
            r"cannot be resized or reordered",
        ),
        (
            lambda clf: clf.intercepts_.pop(),
            TypeError,
            r"intercepts_ holds one array per layer",
        ),
    ],
    ids=[
        "wrong shape",
        "nan",
        "strings",
        "too few arrays",
        "second array wrong",
        "append",
        "pop",
    ],
)
def test_assigning_wrong_coefs_raises_and_changes_nothing(iris, assign, error, match):
    X, y = iris
    clf = fitted_quick(X, y, hidden_layer_sizes=(5,), max_iter=2)
    before = clf._network.flat_params_copy()
    with pytest.raises(error, match=match):
        assign(clf)
    np.testing.assert_array_equal(clf._network.flat_params, before)
    assert len(clf.coefs_) == len(clf.intercepts_) == 2


def test_coefs_of_an_unfitted_classifier_cannot_be_set():
    with pytest.raises(NotFittedError):
        NNFSClassifier().coefs_ = [np.zeros((2, 2))]


def test_copies_and_pickles_of_coefs_are_plain_lists(iris, tmp_path):
    X, y = iris
    clf = fitted_quick(X, y, max_iter=2)
    saved = copy.deepcopy(clf.coefs_)
    assert type(saved) is list and type(pickle.loads(pickle.dumps(clf.coefs_))) is list
    saved[0][...] = 0.0  # a copy: the network is untouched
    assert np.abs(clf.coefs_[0]).sum() > 0
    # Pickled, cloned and read-only (memory-mapped) estimators are unaffected.
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params() == clf.get_params()
    joblib.dump(clf, tmp_path / "model.joblib")
    mapped = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not mapped.coefs_[0].flags.writeable
    mapped.coefs_[0] = np.zeros_like(clf.coefs_[0])  # copies, then writes
    assert np.abs(mapped.coefs_[0]).sum() == 0
    assert np.abs(clf.coefs_[0]).sum() > 0


# -------------------------------------------------------------------- dtype
def test_float32_dataframe_and_big_endian_float32_train_in_float32(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    X32 = X.astype(np.float32)
    expected = fitted_quick(X32, y).predict_proba(X32)
    for data in (pd.DataFrame(X32), X32.astype(">f4")):
        clf = fitted_quick(data, y)
        assert clf.coefs_[0].dtype == np.float32
        np.testing.assert_array_equal(clf.predict_proba(X32), expected)
    # Mixed columns are float64, as np.asarray makes them.
    mixed = pd.DataFrame(X32).astype({0: np.float64})
    assert fitted_quick(mixed, y).coefs_[0].dtype == np.float64


def test_a_float32_polars_dataframe_trains_in_float32(blobs):
    # polars dtypes are not NumPy's: the frame's own NumPy conversion decides.
    pl = pytest.importorskip("polars")
    X, y = blobs
    X32 = X.astype(np.float32)
    expected = fitted_quick(X32, y).predict_proba(X32)
    clf = fitted_quick(pl.DataFrame(X32), y)
    assert clf.coefs_[0].dtype == np.float32
    np.testing.assert_array_equal(clf.predict_proba(pl.DataFrame(X32)), expected)
    mixed = pl.DataFrame(X32).with_columns(pl.col("column_0").cast(pl.Float64))
    assert fitted_quick(mixed, y).coefs_[0].dtype == np.float64


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float64, np.dtype("float32"), np.dtype("float64")]
)
def test_dtype_takes_numpy_types(blobs, dtype):
    X, y = blobs
    clf = fitted_quick(X, y, dtype=dtype)
    assert clf.coefs_[0].dtype == np.dtype(dtype)
    assert clone(clf).get_params()["dtype"] == dtype
    assert clf.get_params()["dtype"] is dtype
