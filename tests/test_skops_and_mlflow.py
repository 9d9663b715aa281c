"""Saving with skops, and with MLflow (whose default format for scikit-learn is
skops): the only type a loader has to trust is the estimator class itself.

skops (the test extra) loads only the types it is told to trust, and trusts
NumPy arrays, builtins and scikit-learn's own classes by default. A fitted
estimator pickles its network, optimizer and generator as arrays and
builtins (`sknnfs._persistence`), so the loaded model predicts, and trains
on, exactly as a pickled one does; a file whose arrays were damaged or
edited is refused when it loads, naming the array and what is wrong.
MLflow is an optional test dependency (not among the extras): its test is
skipped without it.
"""

import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import skops.io
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier, NNFSRegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((90, 5))
LABELS = np.array(["setosa", "versicolor", "virginica"])[
    (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
]
TARGETS = np.column_stack([X @ np.arange(1.0, 6.0), X[:, 0] * X[:, 1]])

CLASSIFIER = "sknnfs._classifier.NNFSClassifier"
REGRESSOR = "sknnfs._regressor.NNFSRegressor"
SMALL = {"hidden_layer_sizes": (8, 4), "batch_size": 32, "random_state": 0}
CASES = {
    "classifier, adam, dropout, string labels": (
        NNFSClassifier(**SMALL, dropout=0.2, l2=1e-3),
        LABELS,
        CLASSIFIER,
    ),
    "classifier, nesterov sgd, invscaling, float32, class weights": (
        NNFSClassifier(
            **SMALL,
            optimizer="sgd",
            nesterov=True,
            learning_rate_schedule="invscaling",
            dtype="float32",
            class_weight={"setosa": 2.0},
        ),
        LABELS,
        CLASSIFIER,
    ),
    "regressor, rmsprop, adaptive, two outputs": (
        NNFSRegressor(
            **SMALL,
            optimizer="rmsprop",
            learning_rate_schedule="adaptive",
            loss="absolute_error",
        ),
        TARGETS,
        REGRESSOR,
    ),
    "regressor, adagrad, one output": (
        NNFSRegressor(**SMALL, optimizer="adagrad", activation="tanh"),
        TARGETS[:, 0],
        REGRESSOR,
    ),
}


def fitted_quietly(estimator, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def fitted(estimator, y):
    """A clone of ``estimator`` after a fit and a partial_fit."""
    estimator = fitted_quietly(clone(estimator).set_params(max_iter=3), y)
    return estimator.partial_fit(X, y)


def outputs(estimator):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


@pytest.mark.parametrize("case", CASES)
def test_skops_round_trip_trusts_only_the_estimator_class(case, tmp_path):
    estimator, y, class_name = CASES[case]
    estimator = fitted(estimator, y)
    path = tmp_path / "model.skops"
    skops.io.dump(estimator, path)
    assert skops.io.get_untrusted_types(file=path) == [class_name]

    loaded = skops.io.load(path, trusted=[class_name])
    assert type(loaded) is type(estimator)
    assert loaded.get_params() == estimator.get_params()
    assert outputs(loaded).tobytes() == outputs(estimator).tobytes()
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    # Weights, optimizer state and generator all came back: one more epoch
    # gives the weights that the same epoch gives after a pickle round trip.
    unpickled = pickle.loads(pickle.dumps(estimator))
    loaded.partial_fit(X, y)
    unpickled.partial_fit(X, y)
    assert loaded._network.flat_params.tobytes() == (
        unpickled._network.flat_params.tobytes()
    )
    assert loaded._optimizer.iterations == unpickled._optimizer.iterations


def test_a_pipeline_needs_only_the_estimator_class_trusted(tmp_path):
    pipeline = make_pipeline(StandardScaler(), NNFSClassifier(**SMALL, max_iter=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(X, LABELS)
    path = tmp_path / "pipeline.skops"
    skops.io.dump(pipeline, path)
    assert skops.io.get_untrusted_types(file=path) == [CLASSIFIER]
    loaded = skops.io.load(path, trusted=[CLASSIFIER])
    assert loaded.predict_proba(X).tobytes() == pipeline.predict_proba(X).tobytes()


def test_an_lbfgs_fit_without_optimizer_state_round_trips(tmp_path):
    # 'lbfgs' keeps no optimizer (None); warm_start goes on from the weights.
    estimator = NNFSRegressor(**SMALL, optimizer="lbfgs", max_iter=5, warm_start=True)
    estimator = fitted_quietly(estimator, TARGETS)
    path = tmp_path / "lbfgs.skops"
    skops.io.dump(estimator, path)
    assert skops.io.get_untrusted_types(file=path) == [REGRESSOR]
    loaded = skops.io.load(path, trusted=[REGRESSOR])
    assert loaded._optimizer is None
    assert loaded.predict(X).tobytes() == estimator.predict(X).tobytes()
    unpickled = pickle.loads(pickle.dumps(estimator))
    for model in (loaded, unpickled):
        fitted_quietly(model, TARGETS)
    assert loaded.predict(X).tobytes() == unpickled.predict(X).tobytes()


def test_an_unfitted_estimator_round_trips_through_skops(tmp_path):
    path = tmp_path / "unfitted.skops"
    estimator = NNFSRegressor(hidden_layer_sizes=(3,), l1=1e-3, dtype="float32")
    skops.io.dump(estimator, path)
    assert skops.io.get_untrusted_types(file=path) == [REGRESSOR]
    loaded = skops.io.load(path, trusted=[REGRESSOR])
    assert repr(loaded) == repr(estimator)


@pytest.mark.parametrize("case", list(CASES)[::2])  # a classifier, a regressor
def test_mlflow_save_and_load_model(case, tmp_path, monkeypatch):
    mlflow_sklearn = pytest.importorskip(
        "mlflow.sklearn",
        reason="MLflow is an optional test dependency (pip install mlflow)",
    )
    estimator, y, class_name = CASES[case]
    estimator = fitted(estimator, y)
    path = tmp_path / "model"
    mlflow_sklearn.save_model(
        estimator,
        path,
        serialization_format=mlflow_sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=[class_name],
        # Named, so that MLflow does not infer them by loading the model in a
        # subprocess (tens of seconds).
        pip_requirements=["sknnfs"],
    )
    assert (path / "model.skops").is_file()
    # MLflow refuses to deserialise any model file without this opt-in.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow_sklearn.load_model(str(path))
    assert type(loaded) is type(estimator)
    assert outputs(loaded).tobytes() == outputs(estimator).tobytes()


# ------------------------------------------------------- damaged or edited files
def edit_array_in_skops_file(path, keys, edit):
    """Rewrite one array inside the skops file at ``path``: ``edit(array)``.

    ``keys`` lead from the estimator's saved attributes to the array, e.g.
    ``("_network", "flat_params")``; the file is a zip of a JSON schema and
    one ``.npy`` file per array, which this rewrites as an editor would.
    """
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    node = json.loads(files["schema.json"])["content"]
    for key in keys:
        node = node["content"][key]
    array = np.load(io.BytesIO(files[node["file"]]), allow_pickle=False)
    edited = io.BytesIO()
    np.save(edited, edit(array), allow_pickle=False)
    files[node["file"]] = edited.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def _with_value(position, value):
    def edit(array):
        array = array.copy()
        array[position] = value
        return array

    return edit


# The classifier has layers of sizes (5, 8, 4, 3): its flat_params hold
# coefs_[0] at 0..39, intercepts_[0] at 40..47, coefs_[1] at 48..79,
# intercepts_[1] at 80..83, coefs_[2] at 84..95, intercepts_[2] at 96..98.
FLAT_PARAMS = ("_network", "flat_params")
EDITED_FILES = {
    "NaN weight": (
        FLAT_PARAMS,
        _with_value(50, np.nan),
        r"coefs_\[1\] must be finite in float64 .*it holds NaN or infinity",
    ),
    "infinite bias": (
        FLAT_PARAMS,
        _with_value(98, -np.inf),
        r"intercepts_\[2\] must be finite",
    ),
    "an extra value": (
        FLAT_PARAMS,
        lambda flat: np.append(flat, 0.0),
        r"its network's weights and biases \(flat_params\) are an array of shape "
        r"\(100,\), where layers of sizes "
        r"\(5, 8, 4, 3\) have 99",
    ),
    "float32 weights": (
        FLAT_PARAMS,
        lambda flat: flat.astype(np.float32),
        "the dtype of its network's weights and biases is float32, where the "
        "network's is float64",
    ),
    "a class added": (
        ("classes_",),
        lambda classes: np.append(classes, "zebra"),
        r"classes_ has shape \(4,\), where its network's 3 outputs give the "
        "probabilities of 3 classes",
    ),
    "NaN in Adam's first moments": (
        ("_optimizer", "attributes", "state", 0, 0),
        _with_value(7, np.nan),
        "its optimizer's state array 0 must be finite",
    ),
}


@pytest.mark.parametrize("case", EDITED_FILES)
def test_a_damaged_or_edited_skops_file_is_refused_naming_the_problem(case, tmp_path):
    keys, edit, problem = EDITED_FILES[case]
    estimator, y, class_name = CASES["classifier, adam, dropout, string labels"]
    estimator = fitted(estimator, y)
    assert estimator._network.layer_sizes == (5, 8, 4, 3)  # the offsets above
    path = tmp_path / "model.skops"
    skops.io.dump(estimator, path)
    edit_array_in_skops_file(path, keys, edit)
    with pytest.raises(
        ValueError, match=rf"Cannot load this NNFSClassifier: {problem}"
    ):
        skops.io.load(path, trusted=[class_name])


def test_a_skops_file_rewritten_unchanged_still_loads(tmp_path):
    # The rewriting above changes nothing but the array it edits.
    estimator, y, class_name = CASES["classifier, adam, dropout, string labels"]
    estimator = fitted(estimator, y)
    path = tmp_path / "model.skops"
    skops.io.dump(estimator, path)
    edit_array_in_skops_file(path, FLAT_PARAMS, lambda flat: flat)
    loaded = skops.io.load(path, trusted=[class_name])
    assert outputs(loaded).tobytes() == outputs(estimator).tobytes()
