"""Label smoothing (`sknnfs._label_smoothing`, ``label_smoothing``).

- the smoothed fused losses have the gradient finite differences give, and
  the loss and gradient of the closed forms ``-sum(t log p)`` and
  ``(p - t) / n`` with ``t = (1 - eps) onehot + eps / n_classes`` (each
  sigmoid output: ``y (1 - eps) + eps / 2``), for a whole network too;
- ``eps = 0`` is the plain loss, bit for bit;
- the classifier trains on the smoothed loss (its L-BFGS objective too) and
  predicts and scores, early stopping included, with the plain log-loss.
"""

import pickle
import warnings

import numpy as np
import pytest
from _gradcheck import assert_gradient_close
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.utils._param_validation import InvalidParameterError

import sknnfs._base
import sknnfs._training
from sknnfs import (
    Network,
    NNFSClassifier,
    SigmoidBinaryCrossentropy,
    SoftmaxCategoricalCrossentropy,
)
from sknnfs._base import BaseNNFS
from sknnfs._label_smoothing import (
    LabelSmoothedSigmoidCrossentropy,
    LabelSmoothedSoftmaxCrossentropy,
    label_smoothed,
)
from sknnfs._lbfgs import FullBatchObjective

EPSILON = 0.2
N_SAMPLES, N_CLASSES = 5, 3
LABELS = np.array([0, 2, 1, 1, 0])
SAMPLE_WEIGHTS = [None, np.array([0.5, 2.0, 1.0, 0.0, 3.0])]
WEIGHT_IDS = ["unweighted", "weighted"]


def log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def class_targets(labels, n_classes, epsilon):
    """The smoothed targets, written out: 1 - eps + eps/K on the class."""
    targets = np.full((len(labels), n_classes), epsilon / n_classes)
    targets[np.arange(len(labels)), labels] = 1 - epsilon + epsilon / n_classes
    return targets


def weights_or_ones(sample_weight, n_samples):
    return np.ones(n_samples) if sample_weight is None else sample_weight


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize("label_format", ["int", "one_hot"])
def test_smoothed_softmax_crossentropy(label_format, sample_weight):
    rng = np.random.default_rng(0)
    logits = 2 * rng.standard_normal((N_SAMPLES, N_CLASSES))
    y_true = LABELS if label_format == "int" else np.eye(N_CLASSES)[LABELS]
    loss = LabelSmoothedSoftmaxCrossentropy(EPSILON)

    analytic = loss.backward(logits, y_true, sample_weight)
    assert_gradient_close(
        analytic, lambda: loss.calculate(logits, y_true, sample_weight), logits
    )

    targets = class_targets(LABELS, N_CLASSES, EPSILON)
    weights = weights_or_ones(sample_weight, N_SAMPLES)
    sample_losses = -(targets * log_softmax(logits)).sum(axis=1)
    probabilities = np.exp(log_softmax(logits))
    expected = (probabilities - targets) * weights[:, None] / N_SAMPLES
    value, gradient = loss.loss_and_gradient(logits.copy(), y_true, sample_weight)
    assert value == pytest.approx(np.mean(weights * sample_losses), rel=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
def test_smoothed_sigmoid_crossentropy(sample_weight):
    rng = np.random.default_rng(1)
    logits = 2 * rng.standard_normal((N_SAMPLES, 2))
    y_true = rng.integers(0, 2, (N_SAMPLES, 2)).astype(float)
    loss = LabelSmoothedSigmoidCrossentropy(EPSILON)

    analytic = loss.backward(logits, y_true, sample_weight)
    assert_gradient_close(
        analytic, lambda: loss.calculate(logits, y_true, sample_weight), logits
    )

    targets = y_true * (1 - EPSILON) + EPSILON / 2
    weights = weights_or_ones(sample_weight, N_SAMPLES)
    p = 1 / (1 + np.exp(-logits))
    sample_losses = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean(1)
    expected = (p - targets) / 2 * weights[:, None] / N_SAMPLES
    value, gradient = loss.loss_and_gradient(logits.copy(), y_true, sample_weight)
    assert value == pytest.approx(np.mean(weights * sample_losses), rel=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12, atol=1e-15)


def test_two_sigmoid_classes_smooth_as_two_softmax_classes():
    # One logistic unit z is the softmax of (0, z): smoothing its 0/1 target
    # by eps/2 is smoothing the two classes' one-hot targets by eps/K, K = 2.
    rng = np.random.default_rng(2)
    z = 3 * rng.standard_normal((N_SAMPLES, 1))
    labels = np.array([0, 1, 1, 0, 1])
    sigmoid = LabelSmoothedSigmoidCrossentropy(EPSILON)
    softmax = LabelSmoothedSoftmaxCrossentropy(EPSILON)
    np.testing.assert_allclose(
        sigmoid.forward(z, labels[:, None].astype(float)),
        softmax.forward(np.hstack([np.zeros_like(z), z]), labels),
        rtol=1e-12,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize(
    "plain_class, smoothed_class, y_true",
    [
        (SoftmaxCategoricalCrossentropy, LabelSmoothedSoftmaxCrossentropy, LABELS),
        (
            SoftmaxCategoricalCrossentropy,
            LabelSmoothedSoftmaxCrossentropy,
            np.eye(N_CLASSES)[LABELS],
        ),
        (
            SigmoidBinaryCrossentropy,
            LabelSmoothedSigmoidCrossentropy,
            np.eye(N_CLASSES)[LABELS],
        ),
    ],
    ids=["softmax-int", "softmax-one-hot", "sigmoid"],
)
def test_epsilon_zero_is_the_plain_loss_bit_for_bit(
    plain_class, smoothed_class, y_true, sample_weight
):
    # label_smoothed hands back the loss itself; even the smoothed class
    # with eps = 0 changes no bit (its targets are the one-hot rows).
    plain = plain_class()
    assert label_smoothed(plain, 0.0) is plain
    smoothed = smoothed_class(0.0)
    logits = 2 * np.random.default_rng(3).standard_normal((N_SAMPLES, N_CLASSES))
    plain_loss, plain_gradient = plain.loss_and_gradient(logits, y_true, sample_weight)
    loss, gradient = smoothed.loss_and_gradient(logits, y_true, sample_weight)
    assert loss == plain_loss
    assert gradient.tobytes() == plain_gradient.tobytes()


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "poisson"])
def test_regression_losses_have_no_classes_to_smooth(loss):
    with pytest.raises(ValueError, match="no classes to smooth over"):
        Network([2, 3, 1], loss=loss, label_smoothing=0.1)
    assert Network([2, 3, 1], loss=loss, label_smoothing=0.0).training_loss


# ----------------------------------------------------------------- network
@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize("loss", ["softmax_crossentropy", "sigmoid_crossentropy"])
def test_network_gradients_with_label_smoothing(loss, sample_weight):
    rng = np.random.default_rng(4)
    network = Network(
        [3, 4, N_CLASSES], loss=loss, label_smoothing=EPSILON, l2=0.01, random_state=0
    )
    network.flat_params[...] = rng.uniform(-0.8, 0.8, network.flat_params.shape)
    X = rng.standard_normal((N_SAMPLES, 3))
    y = LABELS if loss == "softmax_crossentropy" else np.eye(N_CLASSES)[LABELS]
    analytic = network.loss_and_gradients(X, y, sample_weight, training=False)[1]
    assert_gradient_close(
        analytic.copy(),
        lambda: network.loss_and_gradients(X, y, sample_weight, training=False)[0],
        network.flat_params,
    )


def test_the_network_predicts_with_the_plain_loss():
    network = Network([3, 4, N_CLASSES], label_smoothing=EPSILON, random_state=0)
    assert type(network.loss) is SoftmaxCategoricalCrossentropy
    assert network.loss_name == "softmax_crossentropy"
    assert isinstance(network.training_loss, LabelSmoothedSoftmaxCrossentropy)


def test_the_lbfgs_objective_is_the_smoothed_loss():
    rng = np.random.default_rng(5)
    network = Network([3, 4, N_CLASSES], label_smoothing=EPSILON, random_state=0)
    X = rng.standard_normal((N_SAMPLES, 3))
    objective = FullBatchObjective(network, X, LABELS)
    params = network.flat_params_copy()
    loss, gradient = objective(params)
    targets = class_targets(LABELS, N_CLASSES, EPSILON)
    expected = -np.mean((targets * log_softmax(network.forward(X))).sum(axis=1))
    assert loss == pytest.approx(expected, rel=1e-12)
    assert_gradient_close(gradient, lambda: objective(params)[0], params)


# -------------------------------------------------------------- estimator
X, y = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
TARGETS = {
    "multiclass": y,
    "binary": (y > 0).astype(int),
    "multilabel": np.c_[y == 0, y == 1, y == 2, X[:, 0] > 0].astype(int),
}


def fit_quietly(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args)


def smoothed_log_loss(clf, X_in, y_in, epsilon):
    """The smoothed cross-entropy of the classifier's probabilities, by hand."""
    proba = clf.predict_proba(X_in)
    if y_in.ndim == 2:  # a sigmoid per label: mean binary cross-entropy
        targets = y_in * (1 - epsilon) + epsilon / 2
        losses = targets * np.log(proba) + (1 - targets) * np.log(1 - proba)
        return -np.mean(losses)
    targets = class_targets(y_in, proba.shape[1], epsilon)
    return -np.mean((targets * np.log(proba)).sum(axis=1))


@pytest.mark.parametrize("kind", TARGETS)
def test_lbfgs_minimises_the_smoothed_loss(kind):
    y_in = TARGETS[kind]
    clf = fit_quietly(
        NNFSClassifier(
            hidden_layer_sizes=(5,),
            optimizer="lbfgs",
            label_smoothing=EPSILON,
            max_iter=30,
            random_state=0,
        ),
        X,
        y_in,
    )
    penalty = clf.l2 * sum(float(np.sum(coef**2)) for coef in clf.coefs_)
    expected = smoothed_log_loss(clf, X, y_in, EPSILON) + penalty
    assert clf.loss_ == pytest.approx(expected, rel=1e-9)
    assert clf.loss_ != pytest.approx(smoothed_log_loss(clf, X, y_in, 0.0) + penalty)


@pytest.mark.parametrize("kind", TARGETS)
def test_the_first_full_batch_loss_is_the_smoothed_loss(kind, monkeypatch):
    # One batch of every row: the epoch's loss is the loss at the initial
    # weights, recorded here before the step.
    y_in = TARGETS[kind]
    initial = []
    train_step = sknnfs._training.Trainer.train_step

    def recording_step(self, *batch):
        initial.append(self.network.flat_params_copy())
        return train_step(self, *batch)

    monkeypatch.setattr(sknnfs._training.Trainer, "train_step", recording_step)
    # One batch of every row (no validation split): the loss of all of X.
    settings = dict(
        hidden_layer_sizes=(5,),
        batch_size=len(X),
        max_iter=1,
        l2=0.0,
        random_state=0,
        early_stopping=False,
    )
    clf = fit_quietly(NNFSClassifier(label_smoothing=EPSILON, **settings), X, y_in)
    clf._network.load_flat_params(initial[0])
    assert clf.loss_curve_[0] == pytest.approx(
        smoothed_log_loss(clf, X, y_in, EPSILON), rel=1e-12
    )


@pytest.mark.parametrize("kind", TARGETS)
def test_predictions_and_scores_are_the_plain_log_loss(kind):
    y_in = TARGETS[kind]
    clf = fit_quietly(
        NNFSClassifier(
            hidden_layer_sizes=(5,), label_smoothing=0.3, max_iter=5, random_state=0
        ),
        X,
        y_in,
    )
    proba = clf.predict_proba(X)
    if kind == "multilabel":
        expected = np.mean(y_in * np.log(proba) + (1 - y_in) * np.log(1 - proba))
    else:
        expected = -log_loss(y_in, proba)
    assert clf.score(X, y_in) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("kind", TARGETS)
def test_early_stopping_scores_the_plain_log_loss(kind, monkeypatch):
    held_out, scored = [], []
    validation_class = sknnfs._base.Validation

    def recording_validation(X_val, y_val, weights, score):
        held_out.append((X_val, y_val))
        return validation_class(X_val, y_val, weights, score)

    def hook(self, history):
        scored.append((self.validation_scores_[-1], self.predict_proba(held_out[0][0])))

    monkeypatch.setattr(sknnfs._base, "Validation", recording_validation)
    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    y_in = TARGETS[kind]
    clf = NNFSClassifier(
        hidden_layer_sizes=(5,),
        label_smoothing=0.3,
        early_stopping=True,
        max_iter=4,
        random_state=0,
    )
    fit_quietly(clf, X, y_in)
    _, y_encoded = held_out[0]
    y_val = (
        y_encoded
        if kind == "multilabel"
        else clf.classes_[y_encoded.ravel().astype(int)]
    )
    assert len(scored) == 4
    for score, proba in scored:
        if kind == "multilabel":
            plain = np.mean(y_val * np.log(proba) + (1 - y_val) * np.log(1 - proba))
        else:
            plain = -log_loss(y_val, proba, labels=clf.classes_)
        assert score == pytest.approx(plain, rel=1e-9)


def test_continued_fits_train_with_the_current_label_smoothing():
    clf = NNFSClassifier(hidden_layer_sizes=(5,), random_state=0)
    clf.partial_fit(X, y, classes=np.arange(3))
    assert clf._network.training_loss is clf._network.loss
    clf.set_params(label_smoothing=0.1).partial_fit(X, y)
    assert clf._network.training_loss.epsilon == 0.1
    clf.set_params(label_smoothing=0.25, warm_start=True, max_iter=1)
    fit_quietly(clf, X, y)
    assert clf._network.training_loss.epsilon == 0.25


@pytest.mark.parametrize("kind", TARGETS)
def test_the_default_trains_on_the_plain_loss(kind):
    clf = fit_quietly(
        NNFSClassifier(hidden_layer_sizes=(5,), max_iter=2), X, TARGETS[kind]
    )
    assert clf.label_smoothing == 0.0
    assert clf._network.training_loss is clf._network.loss


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, "0.1"])
def test_label_smoothing_outside_0_1_is_a_clear_error(value):
    with pytest.raises(InvalidParameterError, match="'label_smoothing' parameter"):
        NNFSClassifier(label_smoothing=value).fit(X, y)


def test_pickles_keep_it_and_older_ones_load_without_it():
    clf = fit_quietly(
        NNFSClassifier(hidden_layer_sizes=(5,), label_smoothing=0.1, max_iter=2), X, y
    )
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.label_smoothing == 0.1
    assert loaded._network.training_loss.epsilon == 0.1
    # A classifier saved before label smoothing existed.
    state = clf.__getstate__()
    del state["label_smoothing"]
    del state["_network"]["label_smoothing"]
    older = NNFSClassifier.__new__(NNFSClassifier)
    older.__setstate__(state)
    assert older.label_smoothing == 0.0
    assert older._network.training_loss is older._network.loss
    np.testing.assert_array_equal(older.predict_proba(X), clf.predict_proba(X))
