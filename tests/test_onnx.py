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
    regressor = NNFSRegressor(loss="poisson", **SMALL).fit(X, counts)
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
