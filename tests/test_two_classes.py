"""Two classes: one logistic output unit, as `MLPClassifier` has.

The book's binary logistic regression (a sigmoid output and binary
cross-entropy on a 0/1 column), in place of a softmax over two units. Models
fitted before, with two softmax units, keep them.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from _stored import assert_matches_stored
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier

from sknnfs import NNFSClassifier

X, y = make_classification(
    n_samples=120, n_features=5, n_informative=3, n_redundant=0, random_state=0
)
SMALL = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _short_fits_are_deliberate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def logit_by_hand(model, X):
    """The one output unit's logit, from ``coefs_`` and ``intercepts_`` (ReLU)."""
    hidden = np.maximum(X @ model.coefs_[0] + model.intercepts_[0], 0.0)
    return (hidden @ model.coefs_[1] + model.intercepts_[1])[:, 0]


def test_two_classes_have_the_output_unit_and_attributes_of_mlp():
    ours = NNFSClassifier(**SMALL).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    mlp.fit(X, y)
    assert ours.n_outputs_ == mlp.n_outputs_ == 1
    assert ours.out_activation_ == mlp.out_activation_ == "logistic"
    assert [w.shape for w in ours.coefs_] == [w.shape for w in mlp.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in mlp.intercepts_]
    assert ours.predict_proba(X).shape == mlp.predict_proba(X).shape == (len(y), 2)


def test_with_mlps_weights_the_probabilities_are_mlps():
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    mlp.fit(X, y)
    ours = NNFSClassifier(**SMALL).fit(X, y)
    ours.coefs_ = mlp.coefs_
    ours.intercepts_ = mlp.intercepts_
    np.testing.assert_allclose(
        ours.predict_proba(X), mlp.predict_proba(X), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(ours.predict(X), mlp.predict(X))


def test_probabilities_are_one_minus_sigmoid_and_sigmoid_of_the_logit():
    model = NNFSClassifier(**SMALL).fit(X, y)
    p = 1.0 / (1.0 + np.exp(-logit_by_hand(model, X)))
    np.testing.assert_allclose(
        model.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(model.predict(X), (p > 0.5).astype(int))
    assert model.score(X, y) == pytest.approx(
        -log_loss(y, np.column_stack([1 - p, p])), rel=1e-12
    )


@pytest.mark.parametrize("bias", [-800.0, 800.0])
def test_extreme_logits_keep_small_probabilities_and_finite_logs(bias):
    model = NNFSClassifier(**SMALL).fit(X, y)
    model.intercepts_[-1] = np.array([bias])
    z = logit_by_hand(model, X)
    # log(1 - sigmoid(z)) and log(sigmoid(z)), by hand: -log(1 + e^z), -log(1 + e^-z)
    expected_log_proba = np.column_stack([-np.logaddexp(0, z), -np.logaddexp(0, -z)])
    log_proba = model.predict_log_proba(X)
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(log_proba, expected_log_proba, rtol=1e-12)
    # e^-800 is a subnormal float64: still there, not rounded to 0 by 1 - p.
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba, np.exp(expected_log_proba), rtol=1e-9)


def test_the_training_loss_is_the_binary_cross_entropy_of_the_probabilities():
    model = NNFSClassifier(**SMALL, optimizer="lbfgs", l2=0.0).fit(X, y)
    assert model.loss_ == pytest.approx(log_loss(y, model.predict_proba(X)), rel=1e-9)


def test_string_labels_and_sample_weights_on_one_output():
    labels = np.array(["no", "yes"])[y]
    weights = np.where(y == 1, 3.0, 1.0)
    by_label = NNFSClassifier(**SMALL, class_weight={"no": 1.0, "yes": 3.0})
    by_label.fit(X, labels)
    by_sample = NNFSClassifier(**SMALL).fit(X, labels, sample_weight=weights)
    np.testing.assert_array_equal(by_label.predict_proba(X), by_sample.predict_proba(X))
    assert set(by_label.predict(X)) == {"no", "yes"}
    assert by_label.n_outputs_ == 1


def test_two_class_models_fitted_before_keep_their_two_softmax_units():
    # Written at commit 461f2de (version 0.1.0), when two classes had two
    # softmax units: string labels, a class weight, 5 epochs. The outputs
    # were recorded then, and after a further partial_fit and a warm start.
    with open(DATA / "sknnfs-0.1.0-461f2de-binary.pkl", "rb") as file:
        blob = file.read()
    expected = np.load(DATA / "sknnfs-0.1.0-461f2de-binary-outputs.npz")
    X_old, y_old = expected["X"], expected["y"]
    model = pickle.loads(blob)
    assert model.n_outputs_ == 2
    assert model.out_activation_ == "softmax"
    # Up to what another CPU's BLAS kernel may change (tests/_stored.py).
    assert_matches_stored(model.predict_proba(X_old), expected["proba"])
    assert_matches_stored(model.predict_log_proba(X_old), expected["log_proba"])
    assert_matches_stored(np.float64(model.score(X_old, y_old)), expected["score"])
    model.partial_fit(X_old, y_old)
    assert_matches_stored(model.predict_proba(X_old), expected["proba_partial_fit"])
    model = pickle.loads(blob).set_params(warm_start=True, max_iter=3)
    model.fit(X_old, y_old)
    assert_matches_stored(model.predict_proba(X_old), expected["proba_warm_start"])
    # A fresh fit is a fit of today: one logistic output unit.
    model.set_params(warm_start=False).fit(X_old, y_old)
    assert model.n_outputs_ == 1
    assert model.out_activation_ == "logistic"
