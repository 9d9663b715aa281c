"""Decoupled weight decay (AdamW; ``weight_decay``).

It is not the gradient of a loss, so instead of finite differences its
effect is checked exactly, one step written out by hand:

- a step of any optimizer with ``weight_decay`` is the same step without
  it, taken from weights first multiplied by ``1 - lr_t * weight_decay``
  (the biases as they are), bit for bit, ``lr_t`` the step's scheduled and
  decayed rate;
- ``weight_decay=0`` never touches the weights;
- the estimators hand every stochastic optimizer the weight matrices, not
  the biases, and ``'lbfgs'`` refuses it.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

import sknnfs._optimizers
from sknnfs import SGD, Adagrad, Adam, NNFSClassifier, NNFSRegressor, RMSprop
from sknnfs._memory import layer_views
from sknnfs._optimizers import _Optimizer

LEARNING_RATE, DECAY, WEIGHT_DECAY = 0.5, 0.1, 0.3
OPTIMIZERS = {
    "sgd": (SGD, {}),
    "sgd-momentum": (SGD, {"momentum": 0.9}),
    "sgd-nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (Adagrad, {}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
}


def flat_parameters():
    """A (2, 3) weight matrix and a (1, 3) bias row in one flat array, as a
    network lays them out; the array and its weight view."""
    flat = np.random.default_rng(0).standard_normal(9)
    return flat, flat[:6].reshape(2, 3)


def gradients(n_steps):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(9) for _ in range(n_steps)]


# --------------------------------------------------------------- optimizer
@pytest.mark.parametrize("decay", [0.0, DECAY])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_step_first_shrinks_the_weights_by_1_minus_lr_t_times_weight_decay(
    name, decay
):
    optimizer_class, settings = OPTIMIZERS[name]
    settings = dict(settings, learning_rate=LEARNING_RATE, decay=decay)
    with_decay = optimizer_class(weight_decay=WEIGHT_DECAY, **settings)
    without = optimizer_class(**settings)
    params, weights = flat_parameters()
    by_hand, weights_by_hand = flat_parameters()
    for step_index, grad in enumerate(gradients(3)):
        learning_rate = LEARNING_RATE / (1 + decay * step_index)
        # By hand: shrink the weights (not the biases), then the plain step.
        weights_by_hand *= 1 - learning_rate * WEIGHT_DECAY
        without.step([by_hand], [grad.copy()])
        with_decay.step([params], [grad.copy()], weights=[weights])
        assert params.tobytes() == by_hand.tobytes()
    assert with_decay.iterations == 3


def test_one_sgd_step_by_hand():
    params, weights = flat_parameters()
    weights_before, biases_before = weights.copy(), params[6:].copy()
    (grad,) = gradients(1)
    SGD(LEARNING_RATE, weight_decay=WEIGHT_DECAY).step(
        [params], [grad.copy()], weights=[weights]
    )
    expected_weights = (
        weights_before * (1 - LEARNING_RATE * WEIGHT_DECAY)
        - grad[:6].reshape(2, 3) * LEARNING_RATE
    )
    assert weights.tobytes() == expected_weights.tobytes()
    assert params[6:].tobytes() == (biases_before - grad[6:] * LEARNING_RATE).tobytes()


def test_the_rate_is_the_scheduled_one():
    # After an 'invscaling' epoch end, the decay shrinks by the new rate.
    optimizer = SGD(
        LEARNING_RATE, learning_rate_schedule="invscaling", weight_decay=WEIGHT_DECAY
    )
    optimizer.end_epoch(n_samples_seen=3)
    params, weights = flat_parameters()
    weights_before = weights.copy()
    optimizer.step([params], [np.zeros(9)], weights=[weights])
    rate = LEARNING_RATE / 4**0.5
    assert weights.tobytes() == (weights_before * (1 - rate * WEIGHT_DECAY)).tobytes()


def test_without_weights_every_array_decays():
    # As torch.optim.AdamW without parameter groups: all it is given.
    params, _ = flat_parameters()
    before = params.copy()
    Adam(LEARNING_RATE, weight_decay=WEIGHT_DECAY).step([params], [np.zeros(9)])
    assert params.tobytes() == (before * (1 - LEARNING_RATE * WEIGHT_DECAY)).tobytes()


def test_a_float32_decay_stays_in_float32():
    params = flat_parameters()[0].astype(np.float32)
    weights = params[:6].reshape(2, 3)
    before = weights.copy()
    SGD(LEARNING_RATE, weight_decay=WEIGHT_DECAY).step(
        [params], [np.zeros(9, np.float32)], weights=[weights]
    )
    factor = np.float32(1 - LEARNING_RATE * WEIGHT_DECAY)
    assert params.dtype == np.float32
    assert weights.tobytes() == (before * factor).tobytes()


def test_weight_decay_0_never_touches_the_weights(monkeypatch):
    def refuse(*args):
        raise AssertionError("decay_weights called with weight_decay=0")

    monkeypatch.setattr(sknnfs._optimizers, "decay_weights", refuse)
    for optimizer_class, settings in OPTIMIZERS.values():
        params, weights = flat_parameters()
        optimizer_class(**settings).step([params], [np.ones(9)], weights=[weights])
    X, y = make_classification(60, 4, random_state=0)
    fit_quietly(NNFSClassifier(hidden_layer_sizes=(3,), max_iter=2), X, y)


def test_optimizers_pickled_before_weight_decay_load_without_it():
    optimizer = Adam(LEARNING_RATE)
    state = dict(optimizer.__dict__)
    del state["weight_decay"]
    restored = Adam.__new__(Adam)
    restored.__setstate__(state)
    assert restored.weight_decay == 0.0


# --------------------------------------------------------------- estimators
X, y = make_classification(80, 5, n_informative=3, n_classes=3, random_state=0)
ESTIMATORS = {"classifier": (NNFSClassifier, y), "regressor": (NNFSRegressor, X[:, 0])}


def fit_quietly(estimator, *args, method="fit"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args)


@pytest.fixture
def steps(monkeypatch):
    """Every optimizer step: the parameters before it, its gradient, its
    rate and the weights it was given, recorded as the step begins."""
    recorded = []
    step = _Optimizer.step

    def recording_step(self, params, grads, apply_update=None, weights=None):
        recorded.append(
            (params[0].copy(), grads[0].copy(), self.current_learning_rate, weights)
        )
        return step(self, params, grads, apply_update, weights)

    monkeypatch.setattr(_Optimizer, "step", recording_step)
    return recorded


def weight_positions(network):
    """True where ``flat_params`` holds a weight, False where a bias."""
    positions = np.zeros(network.flat_params.shape, dtype=bool)
    for weights, _ in layer_views(positions, network.layer_sizes):
        weights[...] = True
    return positions


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_a_full_batch_sgd_step_of_an_estimator_by_hand(kind, steps):
    estimator_class, targets = ESTIMATORS[kind]
    estimator = estimator_class(
        hidden_layer_sizes=(4, 3),
        optimizer="sgd",
        momentum=0.0,
        learning_rate=0.05,
        decay=0.5,
        weight_decay=WEIGHT_DECAY,
        batch_size=len(X),
        max_iter=2,
        random_state=0,
        early_stopping=False,  # the full batch is every row of X
    )
    fit_quietly(estimator, X, targets)
    params_before, grad, learning_rate, _ = steps[-1]
    assert learning_rate == 0.05 / (1 + 0.5 * 1)  # the second step's
    shrunk = np.where(
        weight_positions(estimator._network),
        params_before * (1 - learning_rate * WEIGHT_DECAY),
        params_before,
    )
    expected = shrunk - grad * learning_rate
    assert estimator._network.flat_params.tobytes() == expected.tobytes()


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_every_optimizer_is_given_the_weight_matrices(kind, optimizer, steps):
    estimator_class, targets = ESTIMATORS[kind]
    estimator = estimator_class(
        hidden_layer_sizes=(4, 3),
        optimizer=optimizer,
        weight_decay=0.01,
        max_iter=1,
        random_state=0,
    )
    fit_quietly(estimator, X, targets)
    assert estimator._optimizer.weight_decay == 0.01
    *_, weights = steps[-1]
    coefs = estimator.coefs_
    assert [matrix.shape for matrix in weights] == [coef.shape for coef in coefs]
    assert all(
        np.shares_memory(matrix, estimator._network.flat_params) for matrix in weights
    )


def test_partial_fit_takes_the_new_weight_decay():
    estimator = NNFSRegressor(hidden_layer_sizes=(3,), random_state=0)
    estimator.partial_fit(X, X[:, 0])
    assert estimator._optimizer.weight_decay == 0.0
    estimator.set_params(weight_decay=0.05).partial_fit(X, X[:, 0])
    assert estimator._optimizer.weight_decay == 0.05


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("fitted", [False, True])
def test_lbfgs_refuses_weight_decay(kind, fitted):
    estimator_class, targets = ESTIMATORS[kind]
    estimator = estimator_class(hidden_layer_sizes=(3,), optimizer="lbfgs", max_iter=3)
    if fitted:
        fit_quietly(estimator, X, targets)
        before = estimator.coefs_[0].copy()
    estimator.set_params(weight_decay=0.1)
    with pytest.raises(
        ValueError,
        match=r"weight_decay=0.1 cannot be used with optimizer='lbfgs'.*"
        r"Use weight_decay=0.0",
    ):
        estimator.fit(X, targets)
    if fitted:
        np.testing.assert_array_equal(estimator.coefs_[0], before)
    else:
        with pytest.raises(NotFittedError):
            check_is_fitted(estimator)


def test_pickles_keep_it_and_older_ones_load_without_it():
    estimator = fit_quietly(
        NNFSClassifier(hidden_layer_sizes=(3,), weight_decay=0.02, max_iter=2), X, y
    )
    loaded = pickle.loads(pickle.dumps(estimator))
    assert loaded.weight_decay == loaded._optimizer.weight_decay == 0.02
    state = estimator.__getstate__()
    del state["weight_decay"]
    del state["_optimizer"]["attributes"]["weight_decay"]
    older = NNFSClassifier.__new__(NNFSClassifier)
    older.__setstate__(state)
    assert older.weight_decay == older._optimizer.weight_decay == 0.0


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_with_plain_sgd_it_takes_the_steps_of_an_l2_penalty(kind):
    # w - lr (g + 2 l2 w) = w (1 - lr 2 l2) - lr g: weight_decay = 2 l2.
    # Adam's steps divide the penalty's gradient, not the decay: they differ.
    estimator_class, targets = ESTIMATORS[kind]

    def weights(optimizer, **regularizer):
        estimator = estimator_class(
            hidden_layer_sizes=(4,),
            optimizer=optimizer,
            momentum=0.0,
            learning_rate=0.05,
            max_iter=5,
            random_state=0,
            **regularizer,
        )
        return fit_quietly(estimator, X, targets)._network.flat_params

    for optimizer in ("sgd", "adam"):
        penalty = weights(optimizer, l2=0.01)
        decay = weights(optimizer, l2=0.0, weight_decay=0.02)
        same = np.allclose(penalty, decay, rtol=1e-9, atol=1e-12)
        assert same == (optimizer == "sgd"), optimizer
