"""ONNX export (`sknnfs.onnx`): the graph, run by onnxruntime, against the estimator.

Every expected value is the fitted estimator's own ``predict`` or
``predict_proba`` on the same rows, never an output of ONNX. float32 graphs
agree to 1e-5, float64 graphs to 1e-10; labels are identical.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknnfs
from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs.onnx import register_converters, to_onnx

skl2onnx = pytest.importorskip(
    "skl2onnx", reason='ONNX export needs the onnx extra: pip install -e ".[onnx]"'
)
onnxruntime = pytest.importorskip(
    "onnxruntime", reason='ONNX export needs the onnx extra: pip install -e ".[onnx]"'
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}
DTYPES = [np.float32, np.float64]
N_SAMPLES = 40
N_FEATURES = 4

LABELS = {
    "binary-int": np.array([0, 1]),
    # Labels that are not their own indices: the graph must map them back.
    "multiclass-int": np.array([-3, 5, 12]),
    "multiclass-str": np.array(["cat", "dog", "eel"]),
}

# Tiny fits: a few epochs on 40 rows give weights far from their initial
# values without taking time.
SMALL = dict(hidden_layer_sizes=(5,), max_iter=5, batch_size=8, random_state=0)


def features(seed=0):
    """Rows on scales and offsets of their own, for StandardScaler to undo."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(N_SAMPLES, N_FEATURES)) * [1, 3, 0.5, 2] + [0, 5, -2, 1]


def class_labels(labels, X):
    """A label per row that depends on X, so that training learns something."""
    return labels[np.digitize(X[:, 0], [-0.4, 0.4]) % len(labels)]


def label_matrix(X):
    return np.column_stack([X[:, 0] > 0, X[:, 1] > 5, X[:, 2] + X[:, 3] > -1]).astype(
        int
    )


def regression_targets(X):
    return np.column_stack([np.sin(X[:, 0]), 0.1 * X[:, 1], X[:, 2] * X[:, 3] / 4])


def run_onnx(onnx_model, X):
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (graph_input,) = session.get_inputs()
    return session.run(None, {graph_input.name: X})


def zipmap_to_matrix(rows, classes):
    """The ZipMap's list of {label: probability} as (n_samples, n_classes)."""
    assert all(set(row) == set(classes.tolist()) for row in rows)
    return np.array([[row[label] for label in classes.tolist()] for row in rows])


def assert_close(onnx_values, expected, dtype):
    assert onnx_values.dtype == dtype
    assert onnx_values.shape == expected.shape
    assert np.abs(onnx_values - expected).max() <= TOLERANCE[dtype]


# ---------------------------------------------------------------- packaging
def test_import_sknnfs_imports_neither_skl2onnx_nor_onnxruntime():
    # A fresh interpreter: this one has imported them already.
    code = (
        "import sys, sknnfs, sknnfs.onnx; "
        "print(sorted({'skl2onnx', 'onnxruntime', 'onnx'} & set(sys.modules)))"
    )
    package_root = str(Path(sknnfs.__file__).resolve().parent.parent)
    environment = {**os.environ, "PYTHONPATH": package_root}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------- classifiers
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels_name", LABELS)
def test_classifier_probabilities_as_tensor(labels_name, dtype):
    X = features()
    y = class_labels(LABELS[labels_name], X)
    classifier = NNFSClassifier(**SMALL).fit(X, y)
    onnx_model = to_onnx(
        classifier, X[:1].astype(dtype), options={id(classifier): {"zipmap": False}}
    )
    label, proba = run_onnx(onnx_model, X.astype(dtype))
    # Two columns for binary y too, from its one logistic output unit, as
    # predict_proba gives.
    assert_close(proba, classifier.predict_proba(X), dtype)
    np.testing.assert_array_equal(label, classifier.predict(X))
    # onnxruntime gives strings as an object array.
    is_string = classifier.classes_.dtype.kind == "U"
    assert label.dtype == (object if is_string else np.int64)


@pytest.mark.parametrize("labels_name", LABELS)
def test_classifier_probabilities_as_zipmap(labels_name):
    # The zipmap default; ONNX's ZipMap takes float32 only.
    X = features()
    y = class_labels(LABELS[labels_name], X)
    classifier = NNFSClassifier(**SMALL).fit(X, y)
    onnx_model = to_onnx(classifier, X[:1].astype(np.float32))
    label, proba_rows = run_onnx(onnx_model, X.astype(np.float32))
    proba = zipmap_to_matrix(proba_rows, classifier.classes_)
    np.testing.assert_array_equal(label, classifier.predict(X))
    assert np.abs(proba - classifier.predict_proba(X)).max() <= TOLERANCE[np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
def test_classifier_probabilities_as_columns(dtype):
    X = features()
    y = class_labels(LABELS["multiclass-str"], X)
    classifier = NNFSClassifier(**SMALL).fit(X, y)
    onnx_model = to_onnx(
        classifier, X[:1].astype(dtype), options={id(classifier): {"zipmap": "columns"}}
    )
    label, *proba_columns = run_onnx(onnx_model, X.astype(dtype))
    np.testing.assert_array_equal(label, classifier.predict(X))
    assert_close(np.column_stack(proba_columns), classifier.predict_proba(X), dtype)


def test_float64_zipmap_is_refused_with_the_way_out():
    X = features()
    classifier = NNFSClassifier(**SMALL).fit(X, class_labels(LABELS["binary-int"], X))
    with pytest.raises(ValueError, match="ZipMap takes float32.*'zipmap': False"):
        to_onnx(classifier, X[:1])


def test_option_nocl_gives_class_indices():
    X = features()
    classifier = NNFSClassifier(**SMALL).fit(
        X, class_labels(LABELS["multiclass-str"], X)
    )
    onnx_model = to_onnx(
        classifier, X[:1], options={id(classifier): {"zipmap": False, "nocl": True}}
    )
    label, _ = run_onnx(onnx_model, X)
    expected = np.searchsorted(classifier.classes_, classifier.predict(X))
    np.testing.assert_array_equal(label, expected)


def test_option_output_class_labels():
    X = features()
    classifier = NNFSClassifier(**SMALL).fit(
        X, class_labels(LABELS["multiclass-int"], X)
    )
    onnx_model = to_onnx(
        classifier,
        X[:1],
        options={id(classifier): {"zipmap": False, "output_class_labels": True}},
    )
    label, _, classes = run_onnx(onnx_model, X)
    np.testing.assert_array_equal(classes, classifier.classes_)
    np.testing.assert_array_equal(label, classifier.predict(X))


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel(dtype):
    X = features()
    Y = label_matrix(X)
    classifier = NNFSClassifier(**SMALL).fit(X, Y)
    onnx_model = to_onnx(
        classifier, X[:1].astype(dtype), options={id(classifier): {"zipmap": False}}
    )
    label, proba = run_onnx(onnx_model, X.astype(dtype))
    assert_close(proba, classifier.predict_proba(X), dtype)
    assert label.dtype == np.int64
    np.testing.assert_array_equal(label, classifier.predict(X))


def test_multilabel_zipmap():
    X = features()
    classifier = NNFSClassifier(**SMALL).fit(X, label_matrix(X))
    label, proba_rows = run_onnx(
        to_onnx(classifier, X[:1].astype(np.float32)), X.astype(np.float32)
    )
    proba = zipmap_to_matrix(proba_rows, classifier.classes_)
    np.testing.assert_array_equal(label, classifier.predict(X))
    assert np.abs(proba - classifier.predict_proba(X)).max() <= TOLERANCE[np.float32]


# --------------------------------------------------------------- regressors
@pytest.mark.parametrize("dtype", DTYPES)
def test_regressor_single_output_is_a_column(dtype):
    # As skl2onnx gives for MLPRegressor: (n_samples, 1) for a 1-D y.
    X = features()
    regressor = NNFSRegressor(**SMALL).fit(X, regression_targets(X)[:, 0])
    (predictions,) = run_onnx(to_onnx(regressor, X[:1].astype(dtype)), X.astype(dtype))
    assert_close(predictions, regressor.predict(X)[:, np.newaxis], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_regressor_multi_output(dtype):
    X = features()
    regressor = NNFSRegressor(**SMALL).fit(X, regression_targets(X))
    (predictions,) = run_onnx(to_onnx(regressor, X[:1].astype(dtype)), X.astype(dtype))
    assert_close(predictions, regressor.predict(X), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_regressor_exponentiates_its_output(dtype):
    X = features()
    counts = np.floor(3 * np.abs(regression_targets(X)))
    # The network's own means, which the absolute float32 tolerance fits;
    # exp's float32 error is relative, and the scaled model's means are
    # larger: test_target_scaling.py compares its graph (Exp, then Mul).
    regressor = NNFSRegressor(loss="poisson", target_scaling=None, **SMALL)
    regressor.fit(X, counts)
    (predictions,) = run_onnx(to_onnx(regressor, X[:1].astype(dtype)), X.astype(dtype))
    assert_close(predictions, regressor.predict(X), dtype)
    assert (predictions > 0).all()


# ------------------------------------------------------ layers, activations
ARCHITECTURES = [((), "relu")] + [
    (hidden_layer_sizes, activation)
    for hidden_layer_sizes in [(5,), (6, 4)]
    for activation in ["relu", "sigmoid", "tanh", "linear"]
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("hidden_layer_sizes", "activation"), ARCHITECTURES)
@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_every_architecture(estimator_class, hidden_layer_sizes, activation, dtype):
    X = features()
    is_classifier = estimator_class is NNFSClassifier
    y = (
        class_labels(LABELS["multiclass-int"], X)
        if is_classifier
        else regression_targets(X)
    )
    # A larger learning rate moves the weights of every layer within 5 epochs.
    estimator = estimator_class(
        **{**SMALL, "hidden_layer_sizes": hidden_layer_sizes},
        activation=activation,
        learning_rate=0.02,
    ).fit(X, y)
    options = {id(estimator): {"zipmap": False}} if is_classifier else None
    outputs = run_onnx(
        to_onnx(estimator, X[:1].astype(dtype), options=options), X.astype(dtype)
    )
    if is_classifier:
        label, proba = outputs
        np.testing.assert_array_equal(label, estimator.predict(X))
        assert_close(proba, estimator.predict_proba(X), dtype)
    else:
        assert_close(outputs[0], estimator.predict(X), dtype)


def test_integer_input_is_computed_in_float32():
    X = np.rint(features()).astype(np.int64)
    regressor = NNFSRegressor(**SMALL).fit(X, regression_targets(X))
    (predictions,) = run_onnx(to_onnx(regressor, X[:1]), X)
    assert_close(predictions, regressor.predict(X), np.float32)


# ---------------------------------------------------------------- pipelines
PIPELINE_CASES = {
    "multiclass-str": (
        NNFSClassifier,
        lambda X: class_labels(LABELS["multiclass-str"], X),
    ),
    "binary-int": (NNFSClassifier, lambda X: class_labels(LABELS["binary-int"], X)),
    "multilabel": (NNFSClassifier, label_matrix),
    "regression-1d": (NNFSRegressor, lambda X: regression_targets(X)[:, 0]),
    "regression-multi-output": (NNFSRegressor, regression_targets),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", PIPELINE_CASES)
def test_pipeline_through_skl2onnx(case, dtype):
    estimator_class, targets = PIPELINE_CASES[case]
    X = features()
    pipeline = make_pipeline(StandardScaler(), estimator_class(**SMALL))
    pipeline.fit(X, targets(X))
    register_converters()
    is_classifier = estimator_class is NNFSClassifier
    options = {estimator_class: {"zipmap": False}} if is_classifier else None
    outputs = run_onnx(
        skl2onnx.to_onnx(pipeline, X[:1].astype(dtype), options=options),
        X.astype(dtype),
    )
    if is_classifier:
        label, proba = outputs
        np.testing.assert_array_equal(label, pipeline.predict(X))
        assert_close(proba, pipeline.predict_proba(X), dtype)
    else:
        expected = pipeline.predict(X)
        assert_close(outputs[0], expected.reshape(len(X), -1), dtype)


def test_register_converters_twice():
    from skl2onnx.common.data_types import DoubleTensorType

    X = features()
    classifier = NNFSClassifier(**SMALL).fit(
        X, class_labels(LABELS["multiclass-int"], X)
    )
    register_converters()
    register_converters()
    label, proba = run_onnx(
        skl2onnx.convert_sklearn(
            classifier,
            initial_types=[("X", DoubleTensorType([None, N_FEATURES]))],
            options={id(classifier): {"zipmap": False}},
        ),
        X,
    )
    np.testing.assert_array_equal(label, classifier.predict(X))
    assert_close(proba, classifier.predict_proba(X), np.float64)


# ------------------------------------------------ refusals, other labels
def test_wrong_number_of_input_columns():
    X = features()
    regressor = NNFSRegressor(**SMALL).fit(X, regression_targets(X))
    with pytest.raises(ValueError, match="has 3 columns.*fitted on 4 features"):
        to_onnx(regressor, X[:1, :3])


@pytest.mark.parametrize("labels", [np.array([1.0, 2.0, 4.0]), np.array([False, True])])
def test_float_and_bool_labels_become_int64(labels):
    # As skl2onnx's own classifiers give them (scikit-learn refuses float
    # labels that are not whole numbers).
    X = features()
    classifier = NNFSClassifier(**SMALL).fit(X, class_labels(labels, X))
    onnx_model = to_onnx(classifier, X[:1], options={id(classifier): {"zipmap": False}})
    label, _ = run_onnx(onnx_model, X)
    assert label.dtype == np.int64
    np.testing.assert_array_equal(label, classifier.predict(X).astype(np.int64))


# ------------------------------------- the fitted network, not the parameters
# Parameters set after a fit (as a refused warm start leaves them) describe
# the next fit, not the fitted network: the graph must not read them.
CHANGED_SINCE_THE_FIT = {
    "classifier activation": (
        NNFSClassifier,
        "multiclass-int",
        {"activation": "relu"},
        {"activation": "tanh"},
    ),
    "two-class activation": (
        NNFSClassifier,
        "binary-int",
        {"activation": "tanh"},
        {"activation": "sigmoid"},
    ),
    "multilabel activation": (
        NNFSClassifier,
        "multilabel",
        {"activation": "sigmoid"},
        {"activation": "linear"},
    ),
    "classifier layers and dtype": (
        NNFSClassifier,
        "multiclass-str",
        {"hidden_layer_sizes": (5,)},
        {"hidden_layer_sizes": (3, 3), "dtype": "float32"},
    ),
    "regressor activation": (
        NNFSRegressor,
        "regression",
        {"activation": "tanh"},
        {"activation": "relu"},
    ),
    "regressor loss": (
        NNFSRegressor,
        "regression",
        {"loss": "poisson"},
        {"loss": "squared_error"},
    ),
    "regressor loss, layers and dtype": (
        NNFSRegressor,
        "regression",
        {"loss": "squared_error", "dtype": "float64"},
        {"loss": "poisson", "hidden_layer_sizes": (2,), "dtype": "float32"},
    ),
}


def targets_for(case, X):
    if case == "multilabel":
        return label_matrix(X)
    if case == "regression":
        return np.abs(regression_targets(X))  # counts for loss='poisson'
    return class_labels(LABELS[case], X)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CHANGED_SINCE_THE_FIT)
def test_the_graph_is_the_fitted_network_whatever_was_set_since(case, dtype):
    estimator_class, targets, fitted_with, set_since = CHANGED_SINCE_THE_FIT[case]
    X = features()
    estimator = estimator_class(**{**SMALL, **fitted_with}, learning_rate=0.02)
    estimator.fit(X, targets_for(targets, X)).set_params(**set_since)
    is_classifier = estimator_class is NNFSClassifier
    options = {id(estimator): {"zipmap": False}} if is_classifier else None
    outputs = run_onnx(
        to_onnx(estimator, X[:1].astype(dtype), options=options), X.astype(dtype)
    )
    if is_classifier:
        label, proba = outputs
        np.testing.assert_array_equal(label, estimator.predict(X))
        assert_close(proba, estimator.predict_proba(X), dtype)
    else:
        assert_close(outputs[0], estimator.predict(X), dtype)


# ------------------------------------------------------------- not fitted
@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_exporting_an_unfitted_estimator_raises_not_fitted_error(estimator_class):
    from sklearn.exceptions import NotFittedError

    X = features()
    match = f"This {estimator_class.__name__} instance is not fitted yet"
    with pytest.raises(NotFittedError, match=match):
        to_onnx(estimator_class(**SMALL), X[:1].astype(np.float32))
    # In a pipeline whose other steps are fitted, through skl2onnx itself.
    pipeline = make_pipeline(StandardScaler().fit(X), estimator_class(**SMALL))
    register_converters()
    for convert in (to_onnx, skl2onnx.to_onnx):
        with pytest.raises(NotFittedError, match=match):
            convert(pipeline, X[:1].astype(np.float32))


# ------------------------------------------------------------ label dtypes
def features32():
    return features().astype(np.float32)


EXACT_LABELS = {
    "int8": np.array([-3, 5, 12], dtype=np.int8),
    "uint32": np.array([0, 7, 4_000_000_000], dtype=np.uint32),
    "uint64 within int64": np.array([1, 2, 2**63 - 1], dtype=np.uint64),
    "int64 extremes": np.array([-(2**63), 0, 2**63 - 1]),
    "bool": np.array([False, True]),
    "whole floats": np.array([-1.0, 0.5e1, 2.0**62]),
    "numpy str_": np.array(["cat", "dög", "eel"]),
    "object str": np.array(["cat", "dog", "eel"], dtype=object),
}


@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("labels_name", EXACT_LABELS)
def test_labels_that_onnx_holds_are_exported_exactly(labels_name, zipmap):
    X = features32()
    classifier = NNFSClassifier(**SMALL).fit(
        X, class_labels(EXACT_LABELS[labels_name], X)
    )
    onnx_model = to_onnx(
        classifier, X[:1], options={id(classifier): {"zipmap": zipmap}}
    )
    label, _ = run_onnx(onnx_model, X)
    expected = classifier.predict(X)
    # Compared as Python values: exact for every integer, and True == 1.
    assert label.tolist() == expected.tolist()


@pytest.mark.parametrize("categories", [["x", "y", "z"], [30, 10, 20]])
def test_pandas_categorical_labels_are_exported_exactly(categories):
    pandas = pytest.importorskip("pandas")
    X = features32()
    y = pandas.Series(
        pandas.Categorical(class_labels(np.array(categories), X), categories)
    )
    classifier = NNFSClassifier(**SMALL).fit(X, y)
    onnx_model = to_onnx(classifier, X[:1], options={id(classifier): {"zipmap": False}})
    label, _ = run_onnx(onnx_model, X)
    assert label.tolist() == classifier.predict(X).tolist()


NOT_EXACT_LABELS = {
    "dates": (
        np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
        r"dtype datetime64\[D\] \(dates",
    ),
    "durations": (np.array([1, 60], dtype="timedelta64[s]"), "timedelta64"),
    "uint64 beyond int64": (
        np.array([1, 2**63 + 5, 2**64 - 1], dtype=np.uint64),
        "dtype uint64 .values that int64 cannot hold exactly",
    ),
}


@pytest.mark.parametrize("zipmap", [False, True, "columns"])
@pytest.mark.parametrize("labels_name", NOT_EXACT_LABELS)
def test_labels_onnx_cannot_hold_are_refused_at_export(labels_name, zipmap):
    labels, match = NOT_EXACT_LABELS[labels_name]
    X = features32()
    classifier = NNFSClassifier(**SMALL).fit(X, class_labels(labels, X))
    options = {id(classifier): {"zipmap": zipmap}}
    with pytest.raises(ValueError, match=rf"{match}.*'nocl': True"):
        to_onnx(classifier, X[:1], options=options)


@pytest.mark.parametrize(
    ("classes", "y_labels"),
    [
        (np.array([0.5, 1.0, 2.0]), np.array([1.0, 2.0])),
        (np.array([1, 2, 3], dtype=object), np.array([2, 3])),
    ],
    ids=["fractional float", "object integers"],
)
def test_classes_passed_to_partial_fit_that_onnx_cannot_hold_are_refused(
    classes, y_labels
):
    # y's labels are among classes; the fractional one never occurs in y.
    X = features32()
    classifier = NNFSClassifier(**SMALL).partial_fit(
        X, class_labels(y_labels, X), classes=classes
    )
    with pytest.raises(ValueError, match=f"dtype {classes.dtype}"):
        to_onnx(classifier, X[:1], options={id(classifier): {"zipmap": False}})


def test_dates_export_as_class_indices_with_nocl():
    X = features32()
    dates = np.array(["2020-01-01", "2021-06-30", "2022-12-31"], dtype="datetime64[D]")
    classifier = NNFSClassifier(**SMALL).fit(X, class_labels(dates, X))
    options = {id(classifier): {"zipmap": False, "nocl": True}}
    label, _ = run_onnx(to_onnx(classifier, X[:1], options=options), X)
    np.testing.assert_array_equal(classifier.classes_[label], classifier.predict(X))


@pytest.mark.parametrize(
    ("labels", "nocl"),
    [(np.array([False, True]), False), (np.array(["a", "b"]), True)],
    ids=["bool labels", "string labels with nocl"],
)
def test_output_class_labels_where_skl2onnx_would_build_a_broken_graph(labels, nocl):
    X = features32()
    classifier = NNFSClassifier(**SMALL).fit(X, class_labels(labels, X))
    options = {"zipmap": False, "output_class_labels": True, "nocl": nocl}
    with pytest.raises(ValueError, match="output_class_labels takes int32 or int64"):
        to_onnx(classifier, X[:1], options={id(classifier): options})
