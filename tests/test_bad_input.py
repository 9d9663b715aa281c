"""Bad input gets a clear ValueError or TypeError naming the problem.

One parametrized matrix: every public method of both estimators against every
kind of bad input it can receive. Each case states the exception type and a
regular expression for the message (scikit-learn's own wording where
scikit-learn validates). Warnings are errors here, so a bad input cannot slip
through with only a warning.
"""

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

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
        **{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **params}
    )


def good_y(kind):
    return Y_CLASSES if kind == "classifier" else Y_TARGETS


def with_nan(values, value=np.nan):
    values = np.array(values, dtype=float)
    values.flat[1] = value
    return values


def _frame_with_text():
    """X_GOOD's columns, one of them a category and one text, in a DataFrame:
    the category is a categorical feature (``categorical_features='from_dtype'``),
    the text is not."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_GOOD, columns=["a", "kind", "size"])
    frame["kind"] = pd.Categorical(np.where(X_GOOD[:, 1] > 0, "x", "y"))
    frame["size"] = np.where(X_GOOD[:, 2] > 0, "big", "small")
    return frame


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
        "X is a DataFrame with text and categories",
        r"X has columns of text or categories, which NNFS\w+ cannot take as "
        r"numbers: \['size'\]\. Name them in categorical_features \(or give "
        r"them the dtype 'category'\), or encode them first, e\.g\. with "
        r"OneHotEncoder",
        FIT_METHODS,
        X=lambda k: _frame_with_text(),
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
    Case(
        "a warm-start fit has fewer classes",
        r"warm_start can only be used where `y` has the same classes as in the "
        r"previous call to fit\. Previously got \[0 1 2\], `y` has \[0 1\]: it "
        r"lacks \[2\]",
        ("fit",),
        kinds=("classifier",),
        y=lambda k: Y_CLASSES % 2,
        fitted_by="fit",
        params={"warm_start": True},
    ),
    Case(
        "a warm-start fit has other classes",
        r"Previously got \[0 1 2\], `y` has \[0 1 2 7\]: it adds \[7\]",
        ("fit",),
        kinds=("classifier",),
        y=lambda k: np.where(np.arange(N_SAMPLES) == 0, 7, Y_CLASSES),
        fitted_by="fit",
        params={"warm_start": True},
    ),
    Case(
        "a multilabel y of -1/+1",
        r"A multilabel indicator y must hold only 0 \(label absent\) and 1 "
        r"\(label present\); got the values \[-1, 1\]",
        FIT_METHODS,
        kinds=("classifier",),
        y=lambda k: np.where(X_GOOD[:, :2] > 0, 1, -1),
        classes=None,
    ),
    Case(
        "a multilabel y of 0/2",
        r"must hold only 0 \(label absent\) and 1 \(label present\); got the "
        r"values \[0, 2\]",
        FIT_METHODS,
        kinds=("classifier",),
        y=lambda k: np.where(X_GOOD[:, :2] > 0, 2, 0),
        classes=None,
    ),
    Case(
        "y has None",
        r"y contains None: NNFSRegressor needs a target for every sample",
        (*FIT_METHODS, "score"),
        kinds=("regressor",),
        y=lambda k: np.array([None, *Y_TARGETS[1:]], dtype=object),
    ),
    # The raw targets the network learns with target_scaling=None.
    Case(
        "y is too large to square",
        r"y has values up to 2\.87e\+200 in absolute value: their squares "
        r"overflow float64 in the squared_error loss\. Scale y: "
        r"target_scaling='standard' \(the default\) does it",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: Y_TARGETS * 1e200,
        params={"target_scaling": None},
    ),
    Case(
        "y is too large to square in float32",
        r"y has values up to 2\.87e\+20 .* overflow float32 in the squared_error",
        FIT_METHODS,
        kinds=("regressor",),
        X=lambda k: X_GOOD.astype(np.float32),
        y=lambda k: Y_TARGETS * 1e20,
        params={"target_scaling": None},
    ),
    Case(
        "y is too large to sum",
        r"y has values up to 2\.87e\+307 .* their sum overflows float64 in the "
        r"absolute_error loss",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: Y_TARGETS * 1e307,
        params={"loss": "absolute_error", "target_scaling": None},
    ),
    # Targets whose standardisation itself overflows.
    Case(
        "y's variance overflows float64",
        r"target_scaling='standard' cannot standardise y: the weighted mean or "
        r"variance of its values overflows float64",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: Y_TARGETS * 1e200,
    ),
    Case(
        "y's mean overflows float64",
        r"target_scaling='standard' cannot standardise y",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: np.full(len(Y_TARGETS), 1.5e308),
        params={"loss": "absolute_error"},
    ),
    Case(
        "y's mean is beyond float32",
        r"y cannot be predicted in float32: target_mean_ is not finite in "
        r"float32: .*Fit with dtype='float64'",
        FIT_METHODS,
        kinds=("regressor",),
        X=lambda k: X_GOOD.astype(np.float32),
        y=lambda k: Y_TARGETS + 1e39,
    ),
    Case(
        "y is sparse",
        r"NNFSRegressor needs a dense target y; got a sparse matrix of shape "
        r"\(12, 1\)\. Pass y\.toarray\(\)",
        FIT_METHODS,
        kinds=("regressor",),
        y=lambda k: sp.csr_matrix(Y_TARGETS.reshape(-1, 1)),
    ),
    Case(
        "y is a sparse label column",
        r"A sparse y must be a multilabel indicator matrix of 0/1 values",
        FIT_METHODS,
        kinds=("classifier",),
        y=lambda k: sp.csr_matrix(Y_CLASSES.reshape(-1, 1)),
    ),
    Case(
        "y holds dates",
        r"NNFSRegressor needs a numeric target y; got dates or durations \(dtype "
        r"datetime64\[D\]\), and it does not guess their unit or origin",
        (*FIT_METHODS, "score"),
        kinds=("regressor",),
        y=lambda k: np.datetime64("2024-01-01") + np.arange(N_SAMPLES),
    ),
    Case(
        "y holds durations",
        r"got dates or durations \(dtype timedelta64\[s\]\)",
        (*FIT_METHODS, "score"),
        kinds=("regressor",),
        y=lambda k: np.arange(N_SAMPLES).astype("timedelta64[s]"),
    ),
    # -------------------------------------------------------- class_weight
    Case(
        "class_weight has a key of the wrong type",
        r"class_weight has keys that are no class: \['1'\], and the classes "
        r"\[0, 1, 2\] are not in class_weight",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {"1": 100.0}},
    ),
    Case(
        "class_weight has a key that is no class",
        r"class_weight has keys that are no class: \[5\], and the classes "
        r"\[1, 2\] are not in class_weight",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {0: 2.0, 5: 3.0}},
    ),
    Case(
        "class_weight is negative",
        r"class_weight must map classes to finite, non-negative weights; got "
        r"-1\.0 for class 1",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {1: -1.0}},
    ),
    Case(
        "class_weight is NaN",
        r"finite, non-negative weights; got nan for class 1",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {1: np.nan}},
    ),
    Case(
        "class_weight is infinite",
        r"finite, non-negative weights; got inf for class 1",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {1: np.inf}},
    ),
    Case(
        "class_weight is not a number",
        r"finite, non-negative weights; got '2' for class 1",
        FIT_METHODS,
        kinds=("classifier",),
        params={"class_weight": {1: "2"}},
    ),
    # ---------------------------------------------------------- parameters
    *(
        Case(
            f"hidden_layer_sizes={sizes}",
            r"The 'hidden_layer_sizes' parameter of NNFS\w+ must be an "
            r"array-like whose items are each an int in the range \[1, inf\) or "
            rf"an int in the range \[1, inf\)\. Got {re.escape(str(sizes))} "
            "instead",
            FIT_METHODS,
            errors=(InvalidParameterError,),
            params={"hidden_layer_sizes": sizes},
        )
        for sizes in [(0,), (10, 0), (-4,), (2.5,), [[4]], 0]
    ),
    Case(
        "early stopping holds out one sample",
        r"The validation set is too small\. Increase 'validation_fraction' or "
        r"the size of your dataset: validation_fraction=0\.05 of 12 samples "
        r"holds out 1, and early stopping needs at least 2",
        ("fit",),
        params={"early_stopping": True, "validation_fraction": 0.05},
    ),
    Case(
        "partial_fit with early stopping",
        r"partial_fit does not support early_stopping=True",
        ("partial_fit",),
        params={"early_stopping": True},
    ),
    Case(
        "partial_fit after a fit with early stopping",
        r"partial_fit does not support early_stopping=True",
        ("partial_fit",),
        fitted_by="fit",
        params={"early_stopping": True, "validation_fraction": 0.2},
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
        validation_fraction=0.2,
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


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_predicting_on_text_names_the_column_and_leaves_the_model_alone(kind):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_GOOD, columns=["a", "b", "c"])
    estimator = make_estimator(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(frame, good_y(kind))
    before = estimator.predict(frame)
    frame["b"] = np.where(X_GOOD[:, 1] > 0, "x", "y")
    for method in METHODS[kind][2:]:
        arguments = (frame, good_y(kind)) if method == "score" else (frame,)
        with pytest.raises(ValueError, match=r"cannot take as numbers: \['b'\]\."):
            getattr(estimator, method)(*arguments)
    frame["b"] = X_GOOD[:, 1]
    np.testing.assert_array_equal(estimator.predict(frame), before)
