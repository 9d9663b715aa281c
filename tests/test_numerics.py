"""Numerical safety: no NaN probabilities, no log(0), divergence is an error.

- predict_proba is finite with rows summing to one for inputs up to 1e30
  and for saturated logits, in float32 and float64;
- a forward pass that overflows the dtype is a clear ValueError, never NaN
  probabilities (the decision: refuse rather than guess);
- the loss is computed from the logits and stays finite for extreme logits;
- a diverging run stops at the first non-finite loss with a ValueError that
  suggests a smaller learning rate, and the estimator is put back exactly as
  it was before the failing call (warm_start, partial_fit, fresh fit).
"""

import re
import warnings

import numpy as np
import pytest
from _state import full_state
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from sknnfs import (
    Network,
    NNFSClassifier,
    NNFSRegressor,
    SigmoidBinaryCrossentropy,
    SoftmaxCategoricalCrossentropy,
)
from sknnfs._training import Trainer, raise_if_diverged

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4))
Y_CLASSES = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
Y_MULTILABEL = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0].astype(int)
Y_TARGETS = X @ np.array([1.0, 2.0, 3.0, 4.0])

# scikit-learn's check_array sums X as a fast finiteness test; for values
# near the dtype's limit that sum overflows and NumPy warns from inside it.
SKLEARN_FAST_PATH_WARNING = r"ignore:invalid value encountered in reduce:RuntimeWarning"


def fitted(estimator_class, y, dtype=np.float64, **params):
    params = {"hidden_layer_sizes": (8, 8), "max_iter": 5, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator_class(**params).fit(X.astype(dtype), y)


def assert_valid_probabilities(proba, dtype, *, rows_sum_to_one=True):
    assert proba.dtype == dtype
    assert np.isfinite(proba).all()
    assert ((proba >= 0) & (proba <= 1)).all()
    if rows_sum_to_one:
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=4 * np.finfo(dtype).eps)


# --------------------------------------------------------------- huge inputs
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("magnitude", (1e10, 1e20, 1e30))
@pytest.mark.parametrize("activation", ("relu", "tanh", "sigmoid", "linear"))
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_predict_proba_is_finite_for_huge_inputs(dtype, activation, magnitude):
    huge_X = (X * magnitude).astype(dtype)
    classifier = fitted(NNFSClassifier, Y_CLASSES, dtype, activation=activation)
    proba = classifier.predict_proba(huge_X)
    assert_valid_probabilities(proba, dtype)
    log_proba = classifier.predict_log_proba(huge_X)
    assert np.isfinite(log_proba).all() and (log_proba <= 0).all()
    np.testing.assert_array_equal(
        classifier.predict(huge_X), classifier.classes_[proba.argmax(axis=1)]
    )
    assert np.isfinite(classifier.score(huge_X, Y_CLASSES))

    multilabel = fitted(NNFSClassifier, Y_MULTILABEL, dtype, activation=activation)
    assert_valid_probabilities(
        multilabel.predict_proba(huge_X), dtype, rows_sum_to_one=False
    )
    assert np.isfinite(multilabel.score(huge_X, Y_MULTILABEL))

    regressor = fitted(NNFSRegressor, Y_TARGETS, dtype, activation=activation)
    assert np.isfinite(regressor.predict(huge_X)).all()


@pytest.mark.filterwarnings("error", SKLEARN_FAST_PATH_WARNING)
@pytest.mark.parametrize("method", ("predict", "predict_proba", "predict_log_proba"))
def test_an_overflowing_forward_pass_is_an_error_not_nan(method):
    # 1e38 is representable in float32 but a weighted sum of a few such
    # values is not: the hidden layer overflows to inf and inf - inf to NaN.
    classifier = fitted(NNFSClassifier, Y_CLASSES, np.float32, activation="linear")
    too_large = (X * 1e38).astype(np.float32)
    with pytest.raises(ValueError, match=r"overflowed .* for row \d+ of X.*float32"):
        getattr(classifier, method)(too_large)


@pytest.mark.filterwarnings("error")
def test_an_overflowing_regressor_is_an_error_not_inf():
    regressor = fitted(NNFSRegressor, Y_TARGETS, hidden_layer_sizes=(8,))
    regressor.coefs_[0][...] *= 1e300  # a view into the network's parameters
    with pytest.raises(ValueError, match=r"overflowed.*Scale the features"):
        regressor.predict(X * 1e100)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize(
    ("dtype", "scale", "advice"),
    [(np.float32, 100, "or fit with dtype='float64'"), (np.float64, 1000, r"\)\.$")],
)
@pytest.mark.parametrize("method", ("predict", "score"))
def test_a_poisson_mean_that_overflows_is_an_error_not_inf(
    dtype, scale, advice, method
):
    # Finite logits, but exp of them is beyond the dtype: no inf, no NumPy
    # RuntimeWarning, the error of any other overflowing forward pass.
    counts = np.round(np.exp(X[:, 0]))
    regressor = fitted(NNFSRegressor, counts, dtype, loss="poisson")
    too_large = (X * scale).astype(dtype)
    with pytest.raises(ValueError, match=r"prediction overflowed .* for row \d+ of X"):
        if method == "predict":
            regressor.predict(too_large)
        else:
            regressor.score(too_large, counts)
    with pytest.raises(ValueError, match=advice):
        regressor.predict(too_large)


# --------------------------------------------------------- saturated logits
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_saturated_logits_give_valid_probabilities_and_a_finite_loss(dtype):
    # No penalty: the loss checked below is the cross-entropy of the logits
    # (an L2 term on weights of 1e25 would be of order 1e50 by itself).
    classifier = fitted(NNFSClassifier, Y_CLASSES, dtype, l2=0.0)
    # Output weights and biases of 1e25: logits of order 1e25, far past softmax
    # saturation (the biases too, for rows whose last hidden units are all 0).
    classifier.coefs_[-1][...] *= 1e25
    classifier.intercepts_[-1][...] *= 1e25
    X_typed = X.astype(dtype)
    proba = classifier.predict_proba(X_typed)
    assert_valid_probabilities(proba, dtype)
    assert set(np.unique(proba)) <= {0.0, 1.0}  # saturated, yet no NaN
    log_proba = classifier.predict_log_proba(X_typed)
    assert np.isfinite(log_proba).all()
    assert log_proba.min() < -1e20  # log of an underflowed probability, exact

    # The training loss from these logits: finite, never log(0).
    network = classifier._network
    y_encoded = np.searchsorted(classifier.classes_, Y_CLASSES)
    loss, grads = network.loss_and_gradients(X_typed, y_encoded, training=False)
    assert np.isfinite(loss) and loss > 1e20
    assert np.isfinite(grads).all()
    assert np.isfinite(classifier.score(X_typed, Y_CLASSES))


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_fused_losses_are_finite_for_extreme_logits(dtype):
    logits = np.array([[1e30, -1e30], [-1e30, 1e30]], dtype=dtype)
    softmax_loss = SoftmaxCategoricalCrossentropy()
    losses = softmax_loss.forward(logits, np.array([1, 1]))
    np.testing.assert_allclose(losses, [2e30, 0.0], rtol=1e-6)
    loss, gradient = softmax_loss.loss_and_gradient(logits.copy(), np.array([1, 1]))
    assert loss == pytest.approx(1e30, rel=1e-6)
    np.testing.assert_array_equal(gradient, np.array([[0.5, -0.5], [0.0, 0.0]]))

    sigmoid_loss = SigmoidBinaryCrossentropy()
    losses = sigmoid_loss.forward(logits, np.array([[0, 1], [0, 1]]))
    np.testing.assert_allclose(losses, [1e30, 0.0], rtol=1e-6)


# ---------------------------------------------------------------- divergence
DIVERGING = {
    "optimizer": "sgd",
    "learning_rate": 1e6,
    "hidden_layer_sizes": (16,),
    "batch_size": 20,
    # The start and penalty these runs were measured with (no longer the
    # classifier's defaults).
    "l2": 0.0,
    "weight_init": "he",
    "bias_init": "zeros",
}
DIVERGENCE_MESSAGE = (
    r"Training diverged: the loss (became (inf|nan)|grew from \S+ to \S+) at epoch "
    r"(\d+)\. Try a smaller learning_rate \(now {}\)"
)
# NumPy's own overflow warnings come before the ValueError of a diverging run.
numpy_overflow_warnings = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning",
    "ignore:invalid value encountered:RuntimeWarning",
)
DIVERGING_DATA = {
    "classifier": (NNFSClassifier, Y_CLASSES),
    "regressor": (NNFSRegressor, Y_TARGETS),
}


def _recorded_batch_losses(monkeypatch):
    batch_losses = []
    train_step = Trainer.train_step

    def recording_train_step(self, *args):
        batch_losses.append(train_step(self, *args))
        return batch_losses[-1]

    monkeypatch.setattr(Trainer, "train_step", recording_train_step)
    return batch_losses


@numpy_overflow_warnings
@pytest.mark.parametrize("kind", DIVERGING_DATA)
def test_a_diverging_run_stops_at_the_first_non_finite_loss(kind, monkeypatch):
    estimator_class, y = DIVERGING_DATA[kind]
    batch_losses = _recorded_batch_losses(monkeypatch)
    # Learning rates at which the third batch's loss is no longer finite.
    learning_rate = {"classifier": 1e100, "regressor": 1e20}[kind]
    estimator = estimator_class(
        max_iter=50, random_state=0, **{**DIVERGING, "learning_rate": learning_rate}
    )
    with pytest.raises(ValueError, match=r"the loss became (inf|nan) at epoch 1\."):
        estimator.fit(X, y)
    # It really diverged: the losses grew by many orders of magnitude up to
    # the non-finite one, and not a single step was taken after it.
    assert not np.isfinite(batch_losses[-1])
    assert np.isfinite(batch_losses[:-1]).all()
    assert max(batch_losses[:-1]) > 1e30 * batch_losses[0]
    assert len(batch_losses) <= 3  # the batches of epoch 1
    # A fresh estimator that fails its first fit stays unfitted.
    with pytest.raises(NotFittedError):
        estimator.predict(X)


@numpy_overflow_warnings
@pytest.mark.parametrize("kind", DIVERGING_DATA)
def test_a_loss_that_grows_by_orders_of_magnitude_is_divergence(kind, monkeypatch):
    # Every batch loss of the first epoch is finite, but they run away.
    estimator_class, y = DIVERGING_DATA[kind]
    batch_losses = _recorded_batch_losses(monkeypatch)
    estimator = estimator_class(max_iter=50, random_state=0, **DIVERGING)
    with pytest.raises(ValueError, match=r"the loss grew from \S+ to \S+ at epoch 1\."):
        estimator.fit(X, y)
    assert len(batch_losses) == 3 and np.isfinite(batch_losses).all()
    assert np.mean(batch_losses) > 1e4 * batch_losses[0]
    with pytest.raises(NotFittedError):
        estimator.predict(X)


@pytest.mark.parametrize("seed", (2, 8))
def test_the_issues_finite_divergence_is_an_error(seed):
    # SGD at 1e8 on standardised data: these seeds ran 1e21 -> 1e222 -> 3e7
    # losses into a model of dead ReLUs predicting one class, without a word.
    X_issue, y_issue = make_classification(
        300, 8, n_informative=5, n_classes=3, random_state=0
    )
    X_issue = StandardScaler().fit_transform(X_issue)
    clf = NNFSClassifier(
        optimizer="sgd",
        learning_rate=1e8,
        hidden_layer_sizes=(32, 32),
        max_iter=5,
        random_state=seed,
    )
    with pytest.raises(ValueError, match="Training diverged: the loss grew"):
        clf.fit(X_issue, y_issue)
    with pytest.raises(NotFittedError):
        clf.predict(X_issue)


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_weights_beyond_what_the_dtype_can_square_are_divergence(dtype):
    network = Network([4, 3, 2], dtype=dtype, random_state=0)
    limit = np.sqrt(np.finfo(dtype).max)
    network.flat_params[0] = -limit * 0.99
    raise_if_diverged(1.0, network, 3, 0.1, reference_loss=1.0)  # still fine
    network.flat_params[0] = -limit * 1.01  # finite, but its square is not
    assert np.isfinite(network.flat_params).all()
    with pytest.raises(ValueError, match="a weight grew beyond .* at epoch 3"):
        raise_if_diverged(1.0, network, 3, 0.1, reference_loss=1.0)


def test_non_finite_validation_outputs_are_divergence():
    network = Network([4, 3, 2], random_state=0)
    raise_if_diverged(1.0, network, 2, 0.1, outputs=np.ones((5, 2)))
    with pytest.raises(ValueError, match="outputs for the validation data overflowed"):
        raise_if_diverged(1.0, network, 2, 0.1, outputs=np.full((5, 2), np.inf))


@numpy_overflow_warnings
@pytest.mark.parametrize("seed", (0, 1))
def test_a_diverging_regressor_with_early_stopping_names_the_divergence(seed):
    # The divergence checks come before the validation R², which would fail
    # with scikit-learn's bare "Input contains infinity".
    regressor = NNFSRegressor(
        optimizer="sgd",
        learning_rate=1e4,
        hidden_layer_sizes=(16, 16),
        batch_size=20,
        early_stopping=True,
        max_iter=30,
        random_state=seed,
    )
    with pytest.raises(ValueError, match="Training diverged"):
        regressor.fit(X, Y_TARGETS)
    with pytest.raises(NotFittedError):
        regressor.predict(X)


@numpy_overflow_warnings
def test_weights_that_overflow_on_the_last_step_are_caught():
    # One batch, one epoch: the only loss is computed before the only step,
    # so it is finite, but that step sends the weights to inf (measured on
    # the raw targets, which the large y is for).
    regressor = NNFSRegressor(
        target_scaling=None,
        optimizer="sgd",
        learning_rate=1e300,
        hidden_layer_sizes=(4,),
        batch_size=60,
        max_iter=1,
        random_state=0,
    )
    with pytest.raises(ValueError, match="diverged: the weights overflowed.*epoch 1"):
        regressor.fit(X, Y_TARGETS * 1e10)


@numpy_overflow_warnings
@pytest.mark.parametrize("kind", DIVERGING_DATA)
def test_a_diverging_warm_start_fit_restores_the_previous_model(kind):
    estimator_class, y = DIVERGING_DATA[kind]
    estimator = fitted(estimator_class, y, hidden_layer_sizes=(16,), optimizer="adam")
    before = full_state(estimator)
    predictions = estimator.predict(X)
    params = estimator.get_params()
    estimator.set_params(warm_start=True, max_iter=50, **DIVERGING)
    with pytest.raises(ValueError, match=DIVERGENCE_MESSAGE.format(r"1000000\.0")):
        estimator.fit(X, y)
    estimator.set_params(**params)
    assert full_state(estimator) == before
    np.testing.assert_array_equal(estimator.predict(X), predictions)


@numpy_overflow_warnings
@pytest.mark.parametrize("kind", DIVERGING_DATA)
def test_a_diverging_partial_fit_restores_the_previous_model(kind):
    estimator_class, y = DIVERGING_DATA[kind]
    # Learning rates at which the first calls succeed and a later one diverges
    # (measured for the regressor on its raw targets).
    learning_rate = {"classifier": 10.0, "regressor": 0.1}[kind]
    raw_targets = {"target_scaling": None} if kind == "regressor" else {}
    estimator = estimator_class(
        random_state=0, **{**DIVERGING, "learning_rate": learning_rate}, **raw_targets
    )
    extra = {"classes": np.unique(y)} if kind == "classifier" else {}
    states = []
    message = DIVERGENCE_MESSAGE.format(re.escape(repr(learning_rate)))
    with pytest.raises(ValueError, match=message):
        for _ in range(50):
            estimator.partial_fit(X, y, **extra)
            states.append(full_state(estimator))
    assert len(states) >= 1  # the first calls succeeded: it diverged later
    assert full_state(estimator) == states[-1]
    assert len(estimator.loss_curve_) == len(states)


EXTREME_MODELS = {
    "softmax": (NNFSClassifier, Y_CLASSES, {}),
    "logistic": (NNFSClassifier, Y_CLASSES > 0, {}),
    "multilabel": (NNFSClassifier, np.c_[Y_CLASSES > 0, Y_CLASSES > 1], {}),
    "squared_error": (NNFSRegressor, Y_TARGETS, {}),
    "absolute_error": (NNFSRegressor, Y_TARGETS, {"loss": "absolute_error"}),
    "poisson": (NNFSRegressor, np.round(np.exp(X[:, 0])), {"loss": "poisson"}),
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("model", EXTREME_MODELS)
@pytest.mark.parametrize("dtype", (np.float32, np.float64))
@pytest.mark.parametrize("activation", ("relu", "linear", "tanh"))
def test_every_output_at_extreme_inputs_is_finite_or_a_clear_error(
    model, dtype, activation
):
    # Inputs from ordinary to the edge of the dtype: every public method
    # returns finite values or raises the overflow error, never inf or NaN
    # and never NumPy's RuntimeWarning.
    estimator_class, y, params = EXTREME_MODELS[model]
    estimator = fitted(estimator_class, y, dtype, activation=activation, **params)
    methods = ("predict", "predict_proba", "predict_log_proba", "score")
    for exponent in range(0, int(np.log10(np.finfo(dtype).max)), 3):
        X_extreme = (X * 10.0**exponent).astype(dtype)
        for method in filter(lambda name: hasattr(estimator, name), methods):
            arguments = (X_extreme, y) if method == "score" else (X_extreme,)
            try:
                result = getattr(estimator, method)(*arguments)
            except ValueError as error:
                assert re.search(r"overflow.*Scale the features", str(error)), error
                continue
            assert np.isfinite(result).all(), (method, exponent)
