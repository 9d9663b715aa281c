"""Bad input gets a clear ValueError or TypeError naming the problem.

One parametrized matrix: every public method of both estimators against every
kind of bad input it can receive. Each case states the exception type and a
regular expression for the message (scikit-learn's own wording where
scikit-learn validates). Warnings are errors here, so a bad input cannot slip
through with only a warning.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sknnfs import NNFSClassifier, NNFSRegressor

N_SAMPLES, N_FEATURES = 12, 3
X_GOOD = np.random.default_rng(0).standard_normal((N_SAMPLES, N_FEATURES))
Y_CLASSES = np.arange(N_SAMPLES) % 3
Y_TARGETS = X_GOOD @ np.array([1.0, -2.0, 0.5])
CLASSES = np.array([0, 1, 2])

FIT_METHODS = ("fit", "partial_fit")
PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba")
METHODS = {
    "classifier": (*FIT_METHODS, *PREDICT_METHODS, "score"),
    "regressor": (*FIT_METHODS, "predict", "score"),
}
Y_METHODS = (*FIT_METHODS, "score")


def make_estimator(kind, **params):
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    return estimator_class(
        hidden_layer_sizes=(4,), max_iter=2, random_state=0, **params
    )


def good_y(kind):
    return Y_CLASSES if kind == "classifier" else Y_TARGETS


def with_nan(values, value=np.nan):
    values = np.array(values, dtype=float)
    values.flat[1] = value
    return values


@dataclass
class Case:
    """A bad input: how to build it, where it applies, and the error it gets.

    ``X``, ``y`` and ``sample_weight`` map the estimator kind to the argument
    (``None`` keeps the good default); ``fitted_by`` says how the estimator
    is fitted before the call (``None``: not fitted, for fit/partial_fit).
    """

    name: str
    match: str
    methods: tuple
    kinds: tuple = ("classifier", "regressor")
    errors: tuple = (ValueError,)
    X: object = None
    y: object = None
    sample_weight: object = None
    classes: object = "default"
    fitted_by: str | None = None
    params: dict = field(default_factory=dict)


ALL = ("fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "score")
FITTED = (*PREDICT_METHODS, "score")

CASES = [
    # ------------------------------------------------------------------- X
    Case("X has NaN", r"Input X contains NaN", ALL, X=lambda k: with_nan(X_GOOD)),
    Case(
        "X has +inf",
        r"Input X contains infinity",
        ALL,
        X=lambda k: with_nan(X_GOOD, np.inf),
    ),
    Case(
        "X has -inf",
        r"Input X contains infinity",
        ALL,
        X=lambda k: with_nan(X_GOOD, -np.inf),
    ),
    Case(
        "sparse X has NaN",
        r"Input X contains NaN",
        ALL,
        X=lambda k: sp.csr_matrix(with_nan(X_GOOD)),
    ),
    Case(
        "X has 0 rows",
        r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\)",
        ALL,
        X=lambda k: X_GOOD[:0],
        y=lambda k: good_y(k)[:0],
    ),
    Case(
        "X has 0 columns",
        r"Found array with 0 feature\(s\) \(shape=\(12, 0\)\)",
        ALL,
        X=lambda k: X_GOOD[:, :0],
    ),
    Case("X is 1-D", r"Expected 2D array, got 1D array", ALL, X=lambda k: X_GOOD[:, 0]),
    Case(
        "X is 3-D",
        r"Found array with dim 3",
        ALL,
        X=lambda k: X_GOOD.reshape(N_SAMPLES, N_FEATURES, 1),
    ),
    Case(
        "X is ragged",
        r"inhomogeneous shape",
        ALL,
        X=lambda k: [[1.0, 2.0, 3.0], [1.0, 2.0]] * (N_SAMPLES // 2),
    ),
    Case(
        "X has strings",
        r"could not convert string to float: .*'a'",
        ALL,
        X=lambda k: np.where(X_GOOD > 0, "a", "b"),
    ),
    Case(
        "X has objects",
        r"float\(\) argument must be .* not 'dict'",
        ALL,
        errors=(TypeError,),
        X=lambda k: np.array([[1.0, {}, 2.0]] * N_SAMPLES, dtype=object),
    ),
    Case(
        "X is complex",
        r"Complex data not supported",
        ALL,
        X=lambda k: X_GOOD + 1j,
    ),
    Case(
        "X has the wrong number of features",
        r"X has 2 features, but NNFS\w+ is expecting 3 features as input",
        FITTED,
        X=lambda k: X_GOOD[:, :2],
        fitted_by="fit",
    ),
    Case(
        "a later partial_fit has another number of features",
        r"X has 2 features, but NNFS\w+ is expecting 3 features as input",
        ("partial_fit",),
        X=lambda k: X_GOOD[:, :2],
        fitted_by="partial_fit",
    ),
    Case(
        "a warm-start fit has another number of features",
        r"X has 2 features, but NNFS\w+ is expecting 3 features as input",
        ("fit",),
        X=lambda k: X_GOOD[:, :2],
        fitted_by="fit",
        params={"warm_start": True},
    ),
    # ------------------------------------------------------------------- y
    Case(
        "y has NaN",
        r"Input y contains NaN",
        FIT_METHODS,
        y=lambda k: with_nan(good_y(k)),
    ),
    Case(
        "y has NaN (score)",
        r"Input y contains NaN",
        ("score",),
        y=lambda k: with_nan(good_y(k)),
        fitted_by="fit",
    ),
    Case(
        "y has the wrong length",
        r"inconsistent numbers of samples: \[1[12], 1[12]\]",
        Y_METHODS,
        y=lambda k: good_y(k)[:-1],
    ),
    Case(
        "y is 3-D",
        r"Found array with dim 3",
        Y_METHODS,
        y=lambda k: good_y(k).reshape(N_SAMPLES, 1, 1),
    ),
    Case(
        "y has a single class",
        r"contains only one class: np.int64\(0\)",
        ("fit",),
        kinds=("classifier",),
        y=lambda k: np.zeros(N_SAMPLES, dtype=int),
    ),
    Case(
        "partial_fit classes has a single class",
        r"contains only one class: np.int64\(0\)",
        ("partial_fit",),
        kinds=("classifier",),
        y=lambda k: np.zeros(N_SAMPLES, dtype=int),
        classes=[0],
    ),
    Case(
        "y is continuous",
        r"Unknown label type: continuous",
        FIT_METHODS,
        kinds=("classifier",),
        y=lambda k: Y_TARGETS,
    ),
    Case(
        "y is continuous (score)",
        r"y_true contains values .* not belonging to the passed labels",
        ("score",),
        kinds=("classifier",),
        y=lambda k: Y_TARGETS,
        fitted_by="fit",
    ),
    Case(
        "y mixes strings and numbers",
        r"Mix of label input types \(string and number\)",
        FIT_METHODS,
        kinds=("classifier",),
        y=lambda k: np.array([0, "a", 1] * (N_SAMPLES // 3), dtype=object),
        classes=np.array([0, "a", 1], dtype=object),
    ),
    Case(
        "y mixes strings and numbers (score)",
        r"y_true contains values \{'a'\} not belonging to the passed labels",
        ("score",),
        kinds=("classifier",),
        y=lambda k: np.array([0, "a", 1] * (N_SAMPLES // 3), dtype=object),
        fitted_by="fit",
    ),
    Case(
        "y is not numeric",
        r"NNFSRegressor needs a numeric target y; got values of dtype <U1",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: np.array(list("abcdefghijkl")),
    ),
    Case(
        "y is not numeric (score)",
        r"could not convert string to float",
        ("score",),
        kinds=("regressor",),
        y=lambda k: np.array(list("abcdefghijkl")),
        fitted_by="fit",
    ),
    Case(
        "y is complex",
        r"Complex data not supported",
        Y_METHODS,
        y=lambda k: good_y(k) + 1j,
        fitted_by=None,
    ),
    Case(
        "partial_fit's first call has no classes",
        r"classes must be passed on the first call to partial_fit",
        ("partial_fit",),
        kinds=("classifier",),
        classes=None,
    ),
    Case(
        "partial_fit gets a label not in classes",
        r"y contains labels not in classes: array\(\[2\]\)",
        ("partial_fit",),
        kinds=("classifier",),
        classes=[0, 1],
    ),
    Case(
        "a later partial_fit gets a label not in classes",
        r"y contains labels not in classes: array\(\[7\]\)",
        ("partial_fit",),
        kinds=("classifier",),
        y=lambda k: np.where(Y_CLASSES == 2, 7, Y_CLASSES),
        fitted_by="partial_fit",
    ),
    Case(
        "a later partial_fit gets labels of another type",
        r"y contains labels not in classes: array\(\['a', 'b', 'c'\]",
        ("partial_fit",),
        kinds=("classifier",),
        y=lambda k: np.array(["a", "b", "c"] * (N_SAMPLES // 3)),
        fitted_by="partial_fit",
    ),
    # ------------------------------------------------------- sample_weight
    Case(
        "sample_weight has the wrong length",
        r"sample_weight.shape == \(11,\), expected \(12,\)",
        Y_METHODS,
        sample_weight=lambda k: np.ones(N_SAMPLES - 1),
    ),
    Case(
        "sample_weight is negative",
        r"Negative values in data passed to `sample_weight`",
        Y_METHODS,
        sample_weight=lambda k: -np.ones(N_SAMPLES),
    ),
    Case(
        "sample_weight is all zero",
        # Recent scikit-learn words it; older versions reach our own check.
        r"Sample weights must contain at least one non-zero number"
        r"|sample_weight .*sums to zero",
        Y_METHODS,
        sample_weight=lambda k: np.zeros(N_SAMPLES),
    ),
    Case(
        "sample_weight has NaN",
        r"Input sample_weight contains NaN",
        Y_METHODS,
        sample_weight=lambda k: with_nan(np.ones(N_SAMPLES)),
    ),
    Case(
        "sample_weight has inf",
        r"Input sample_weight contains infinity",
        Y_METHODS,
        sample_weight=lambda k: with_nan(np.ones(N_SAMPLES), np.inf),
    ),
    Case(
        "sample_weight is 2-D",
        r"Sample weights must be 1D array or scalar, got 2D array",
        Y_METHODS,
        sample_weight=lambda k: np.ones((N_SAMPLES, 1)),
    ),
]


def _expand(cases):
    for case in cases:
        for kind in case.kinds:
            for method in case.methods:
                if method not in METHODS[kind]:
                    continue
                yield pytest.param(
                    case, kind, method, id=f"{kind}-{method}-{case.name}"
                )


PARAMS = list(_expand(CASES))


def _prepared_estimator(case, kind, method):
    """A fresh estimator, fitted first when the method or the case needs it."""
    estimator = make_estimator(kind, **case.params)
    fitted_by = case.fitted_by or ("fit" if method in FITTED else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if fitted_by == "partial_fit":
            extra = {"classes": CLASSES} if kind == "classifier" else {}
            estimator.partial_fit(X_GOOD, good_y(kind), **extra)
        elif fitted_by == "fit":
            estimator.fit(X_GOOD, good_y(kind))
    return estimator


def _arguments(case, kind):
    X = X_GOOD if case.X is None else case.X(kind)
    y = good_y(kind) if case.y is None else case.y(kind)
    sample_weight = None if case.sample_weight is None else case.sample_weight(kind)
    return X, y, sample_weight


def _call(estimator, method, kind, case, X, y, sample_weight):
    if method in PREDICT_METHODS:
        return getattr(estimator, method)(X)
    if method == "partial_fit" and kind == "classifier":
        classes = CLASSES if isinstance(case.classes, str) else case.classes
        return estimator.partial_fit(X, y, sample_weight=sample_weight, classes=classes)
    return getattr(estimator, method)(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(("case", "kind", "method"), PARAMS)
def test_bad_input_raises_a_clear_error(case, kind, method):
    estimator = _prepared_estimator(case, kind, method)
    X, y, sample_weight = _arguments(case, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(case.errors, match=case.match) as raised:
            _call(estimator, method, kind, case, X, y, sample_weight)
    # Exactly the declared type: not a subclass such as a numpy-internal error.
    assert type(raised.value) in case.errors


def test_a_failed_fit_leaves_an_unfitted_estimator_unfitted():
    estimator = make_estimator("classifier")
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator.fit(with_nan(X_GOOD), Y_CLASSES)
    assert not hasattr(estimator, "n_features_in_")
    assert not hasattr(estimator, "classes_")


@pytest.mark.parametrize("random_state", range(12))
def test_early_stopping_never_holds_out_only_zero_weight_samples(random_state):
    # Half the samples (one class) have weight zero. Holding out only those
    # used to give a validation set whose weights sum to zero, and fit then
    # died with ZeroDivisionError for about a third of the seeds.
    X = np.random.default_rng(0).uniform(size=(10, 10))
    y = np.arange(10) % 2
    classifier = NNFSClassifier(
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        early_stopping=True,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(X, y, sample_weight=y.astype(float))
    assert all(np.isfinite(classifier.validation_scores_))
    np.testing.assert_array_equal(classifier.predict(X), np.ones(10))


def test_early_stopping_needs_three_positively_weighted_samples():
    classifier = make_estimator("classifier", early_stopping=True)
    sample_weight = np.zeros(N_SAMPLES)
    sample_weight[:2] = 1.0
    with pytest.raises(ValueError, match="at least 3 samples with a positive weight"):
        classifier.fit(X_GOOD, Y_CLASSES, sample_weight=sample_weight)
