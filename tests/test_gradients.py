"""Every backward pass against central finite differences, in float64.

Layers and activations are checked through the scalar ``sum(outputs * G)``
with a random upstream gradient ``G``: its gradient with respect to the
inputs is exactly ``backward(G, cache)``. Losses are checked through their
``calculate`` (the weighted mean), and a whole network through the loss that
``loss_and_gradients`` returns.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from _gradcheck import assert_gradient_close

from sknnfs import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    ExponentialPoissonDeviance,
    Linear,
    MeanAbsoluteError,
    MeanSquaredError,
    Network,
    ReLU,
    Sigmoid,
    SigmoidBinaryCrossentropy,
    Softmax,
    SoftmaxCategoricalCrossentropy,
    Tanh,
)

N_SAMPLES, N_INPUTS, N_NEURONS = 5, 4, 3

SAMPLE_WEIGHTS = [None, np.array([0.5, 2.0, 1.0, 0.0, 3.0])]
WEIGHT_IDS = ["unweighted", "weighted"]


def away_from_zero(rng, shape, low=0.2, high=1.5):
    """Random values with |v| in [low, high]: where sign() and max(0, .) are smooth."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def random_probabilities(rng, shape):
    logits = rng.standard_normal(shape)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def one_hot(labels, n_classes):
    return np.eye(n_classes)[labels]


# ------------------------------------------------------------------ Dense
PENALTIES = [
    {},
    {"l1": 0.3},
    {"l2": 0.2},
    {"bias_l1": 0.4},
    {"bias_l2": 0.25},
    {"l1": 0.1, "l2": 0.2, "bias_l1": 0.3, "bias_l2": 0.4},
]


@pytest.mark.parametrize("penalties", PENALTIES, ids=lambda p: str(p) or "none")
def test_dense_gradients(penalties):
    rng = np.random.default_rng(0)
    layer = Dense(N_INPUTS, N_NEURONS, random_state=0, **penalties)
    # Away from 0 so that the L1 term's sign() is differentiable everywhere.
    layer.weights[...] = away_from_zero(rng, layer.weights.shape)
    layer.biases[...] = away_from_zero(rng, layer.biases.shape)
    inputs = rng.standard_normal((N_SAMPLES, N_INPUTS))
    upstream = rng.standard_normal((N_SAMPLES, N_NEURONS))

    def objective():
        outputs, _ = layer.forward(inputs)
        return float(np.sum(outputs * upstream)) + layer.penalty()

    _, cache = layer.forward(inputs)
    dinputs, (dweights, dbiases) = layer.backward(upstream, cache)
    assert_gradient_close(dinputs, objective, inputs)
    assert_gradient_close(dweights, objective, layer.weights)
    assert_gradient_close(dbiases, objective, layer.biases)


def test_dense_penalty_value():
    layer = Dense(2, 2, l1=0.5, l2=0.25, bias_l1=2.0, bias_l2=3.0)
    layer.weights[...] = [[1.0, -2.0], [0.5, 0.0]]
    layer.biases[...] = [[-1.0, 2.0]]
    # 0.5 * 3.5 + 0.25 * 5.25 + 2 * 3 + 3 * 5
    assert layer.penalty() == pytest.approx(1.75 + 1.3125 + 6.0 + 15.0, rel=1e-15)


def test_dense_gradients_sparse_inputs():
    rng = np.random.default_rng(1)
    layer = Dense(N_INPUTS, N_NEURONS, random_state=0, l2=0.1)
    dense_inputs = rng.standard_normal((N_SAMPLES, N_INPUTS))
    dense_inputs[rng.random(dense_inputs.shape) < 0.5] = 0
    upstream = rng.standard_normal((N_SAMPLES, N_NEURONS))
    for sparse_inputs in (sp.csr_matrix(dense_inputs), sp.csc_array(dense_inputs)):

        def objective(inputs=sparse_inputs):
            outputs, _ = layer.forward(inputs)
            return float(np.sum(outputs * upstream)) + layer.penalty()

        _, cache = layer.forward(sparse_inputs)
        _, (dweights, dbiases) = layer.backward(upstream, cache)
        assert_gradient_close(dweights, objective, layer.weights)
        assert_gradient_close(dbiases, objective, layer.biases)


# ------------------------------------------------------------ activations
@pytest.mark.parametrize(
    "activation, make_inputs",
    [
        (ReLU(), away_from_zero),
        (Sigmoid(), lambda rng, shape: 3 * rng.standard_normal(shape)),
        (Tanh(), lambda rng, shape: 2 * rng.standard_normal(shape)),
        (Linear(), lambda rng, shape: rng.standard_normal(shape)),
        (Softmax(), lambda rng, shape: 2 * rng.standard_normal(shape)),
    ],
    ids=["relu", "sigmoid", "tanh", "linear", "softmax"],
)
def test_activation_gradients(activation, make_inputs):
    rng = np.random.default_rng(2)
    inputs = make_inputs(rng, (N_SAMPLES, N_NEURONS))
    upstream = rng.standard_normal((N_SAMPLES, N_NEURONS))

    def objective():
        outputs, _ = activation.forward(inputs)
        return float(np.sum(outputs * upstream))

    _, cache = activation.forward(inputs)
    dinputs = activation.backward(upstream.copy(), cache)
    assert_gradient_close(dinputs, objective, inputs)


def test_dropout_gradient_with_a_fixed_mask():
    rng = np.random.default_rng(3)
    dropout = Dropout(0.4)
    inputs = rng.standard_normal((N_SAMPLES, N_NEURONS))
    upstream = rng.standard_normal((N_SAMPLES, N_NEURONS))

    def objective():
        # A generator seeded the same way every call draws the same mask.
        outputs, _ = dropout.forward(inputs, np.random.default_rng(42))
        return float(np.sum(outputs * upstream))

    _, mask = dropout.forward(inputs, np.random.default_rng(42))
    assert 0 < np.count_nonzero(mask) < mask.size  # some dropped, some kept
    dinputs = dropout.backward(upstream.copy(), mask)
    assert_gradient_close(dinputs, objective, inputs)


# ----------------------------------------------------------------- losses
@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize("label_format", ["int", "one_hot"])
def test_categorical_crossentropy_gradient(label_format, sample_weight):
    rng = np.random.default_rng(4)
    probabilities = random_probabilities(rng, (N_SAMPLES, N_NEURONS))
    labels = np.array([0, 2, 1, 1, 0])
    y_true = labels if label_format == "int" else one_hot(labels, N_NEURONS)
    loss = CategoricalCrossentropy()

    analytic = loss.backward(probabilities, y_true, sample_weight)
    assert_gradient_close(
        analytic,
        lambda: loss.calculate(probabilities, y_true, sample_weight),
        probabilities,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize("label_format", ["int", "one_hot"])
def test_softmax_crossentropy_gradient(label_format, sample_weight):
    rng = np.random.default_rng(5)
    logits = 2 * rng.standard_normal((N_SAMPLES, N_NEURONS))
    labels = np.array([0, 2, 1, 1, 0])
    targets = one_hot(labels, N_NEURONS)
    y_true = labels if label_format == "int" else targets
    loss = SoftmaxCategoricalCrossentropy()

    analytic = loss.backward(logits, y_true, sample_weight)
    assert_gradient_close(
        analytic, lambda: loss.calculate(logits, y_true, sample_weight), logits
    )

    # The fused gradient is (p - y_onehot) / n, each row times its weight.
    exp = np.exp(logits)
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    weights = np.ones(N_SAMPLES) if sample_weight is None else sample_weight
    expected = (probabilities - targets) * weights[:, None] / N_SAMPLES
    np.testing.assert_allclose(analytic, expected, rtol=1e-12, atol=1e-15)

    # ...and equals Softmax.backward applied to CategoricalCrossentropy.backward.
    softmax_outputs, softmax_cache = Softmax().forward(logits)
    chained = Softmax().backward(
        CategoricalCrossentropy().backward(softmax_outputs, y_true, sample_weight),
        softmax_cache,
    )
    np.testing.assert_allclose(analytic, chained, rtol=1e-9, atol=1e-15)

    # The fused loss equals the two-step loss on the same logits.
    assert loss.calculate(logits, y_true, sample_weight) == pytest.approx(
        CategoricalCrossentropy().calculate(softmax_outputs, y_true, sample_weight),
        rel=1e-12,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
def test_binary_crossentropy_gradient(sample_weight):
    rng = np.random.default_rng(6)
    probabilities = rng.uniform(0.05, 0.95, (N_SAMPLES, 2))
    y_true = rng.integers(0, 2, (N_SAMPLES, 2)).astype(float)
    loss = BinaryCrossentropy()

    analytic = loss.backward(probabilities, y_true, sample_weight)
    assert_gradient_close(
        analytic,
        lambda: loss.calculate(probabilities, y_true, sample_weight),
        probabilities,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
def test_sigmoid_binary_crossentropy_gradient(sample_weight):
    rng = np.random.default_rng(7)
    logits = 2 * rng.standard_normal((N_SAMPLES, 2))
    y_true = rng.integers(0, 2, (N_SAMPLES, 2)).astype(float)
    loss = SigmoidBinaryCrossentropy()

    analytic = loss.backward(logits, y_true, sample_weight)
    assert_gradient_close(
        analytic, lambda: loss.calculate(logits, y_true, sample_weight), logits
    )
    # Same loss as the sigmoid followed by the binary cross-entropy.
    probabilities = 1 / (1 + np.exp(-logits))
    assert loss.calculate(logits, y_true, sample_weight) == pytest.approx(
        BinaryCrossentropy().calculate(probabilities, y_true, sample_weight),
        rel=1e-12,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize("loss", [MeanSquaredError(), MeanAbsoluteError()])
def test_regression_loss_gradients(loss, sample_weight):
    rng = np.random.default_rng(8)
    y_true = rng.standard_normal((N_SAMPLES, 2))
    # Residuals away from 0, where |r| has its kink.
    predictions = y_true + away_from_zero(rng, y_true.shape)

    analytic = loss.backward(predictions.copy(), y_true, sample_weight)
    assert_gradient_close(
        analytic,
        lambda: loss.calculate(predictions, y_true, sample_weight),
        predictions,
    )


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
def test_poisson_deviance_gradient(sample_weight):
    rng = np.random.default_rng(11)
    logits = rng.uniform(-2, 2, (N_SAMPLES, 2))
    counts = rng.poisson(2.0, (N_SAMPLES, 2)).astype(float)
    counts[0, 0] = 0.0  # y log y at y = 0
    loss = ExponentialPoissonDeviance()

    analytic = loss.backward(logits.copy(), counts, sample_weight)
    assert_gradient_close(
        analytic, lambda: loss.calculate(logits, counts, sample_weight), logits
    )


def half_poisson_deviance(y, mu):
    """``y log(y / mu) - y + mu`` per value, with ``0 log 0 = 0``."""
    ratio_log = np.log(np.where(y > 0, y, 1.0) / mu)
    return np.where(y > 0, y * ratio_log, 0.0) - y + mu


def test_poisson_deviance_is_half_the_deviance_of_exp_logits():
    logits = np.array([[0.0, np.log(3.0)], [-1.0, 2.0], [0.5, -0.25]])
    counts = np.array([[0.0, 3.0], [2.0, 5.0], [1.0, 0.0]])
    weights = np.array([1.0, 0.5, 2.0])
    per_value = half_poisson_deviance(counts, np.exp(logits))
    assert per_value[0, 1] == 0  # a perfect prediction costs nothing
    loss = ExponentialPoissonDeviance()
    np.testing.assert_allclose(
        loss.forward(logits, counts), per_value.mean(axis=1), rtol=1e-14
    )
    assert loss.calculate(logits, counts, weights) == pytest.approx(
        np.mean(weights * per_value.mean(axis=1)), rel=1e-14
    )
    value, gradient = loss.loss_and_gradient(logits.copy(), counts, weights)
    assert value == loss.calculate(logits, counts, weights)
    np.testing.assert_allclose(
        gradient,
        (np.exp(logits) - counts) * weights[:, None] / (2 * len(counts)),
        rtol=1e-14,
    )
    np.testing.assert_allclose(loss.output_activation(logits), np.exp(logits))


def test_poisson_deviance_of_very_negative_logits_is_finite():
    # mu = exp(-800) underflows to 0: y log(y / mu) would be inf, while the
    # loss written in the logits is y * 800 + y log(y) - y exactly.
    loss = ExponentialPoissonDeviance()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value = loss.forward(np.array([[-800.0]]), np.array([[3.0]]))
    assert value[0] == pytest.approx(3 * 800 + 3 * np.log(3) - 3, rel=1e-15)


# ---------------------------------------------------------- whole network
N_FEATURES, N_OUTPUTS = 3, 3


def network_targets(loss, rng, initial_outputs):
    if loss == "softmax_crossentropy":
        return rng.integers(0, N_OUTPUTS, N_SAMPLES)
    if loss == "sigmoid_crossentropy":
        return rng.integers(0, 2, (N_SAMPLES, N_OUTPUTS)).astype(float)
    if loss == "squared_error":
        return rng.standard_normal((N_SAMPLES, N_OUTPUTS))
    if loss == "poisson":
        return rng.poisson(1.5, (N_SAMPLES, N_OUTPUTS)).astype(float)
    # absolute_error: targets at least 0.5 from the outputs, away from the kink.
    return initial_outputs + away_from_zero(rng, initial_outputs.shape, low=0.5)


@pytest.mark.parametrize("sample_weight", SAMPLE_WEIGHTS, ids=WEIGHT_IDS)
@pytest.mark.parametrize(
    "penalties",
    [{}, {"l1": 0.01, "l2": 0.02, "bias_l1": 0.03, "bias_l2": 0.04}],
    ids=["no_penalty", "l1_l2"],
)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "linear"])
@pytest.mark.parametrize(
    "loss",
    [
        "softmax_crossentropy",
        "sigmoid_crossentropy",
        "squared_error",
        "absolute_error",
        "poisson",
    ],
)
def test_network_gradients(loss, activation, penalties, sample_weight):
    rng = np.random.default_rng(9)
    network = Network(
        [N_FEATURES, 4, 3, N_OUTPUTS],
        hidden_activation=activation,
        loss=loss,
        dropout=0.3,  # must be ignored with training=False
        random_state=0,
        **penalties,
    )
    # Every parameter away from 0 (biases start at 0), for the L1 terms.
    network.flat_params[...] = away_from_zero(
        rng, network.flat_params.shape, low=0.1, high=0.8
    )
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    y = network_targets(loss, rng, network.forward(X))

    _, grads = network.loss_and_gradients(X, y, sample_weight, training=False)
    analytic = grads.copy()
    assert np.any(analytic != 0)
    assert_gradient_close(
        analytic,
        lambda: network.loss_and_gradients(X, y, sample_weight, training=False)[0],
        network.flat_params,
    )


def test_network_gradients_sparse_input():
    rng = np.random.default_rng(10)
    network = Network([N_FEATURES, 4, N_OUTPUTS], l2=0.01, random_state=0)
    X_dense = rng.standard_normal((N_SAMPLES, N_FEATURES))
    X_dense[rng.random(X_dense.shape) < 0.4] = 0
    X = sp.csr_matrix(X_dense)
    y = np.array([0, 1, 2, 1, 0])

    analytic = network.loss_and_gradients(X, y, training=False)[1].copy()
    dense_grads = network.loss_and_gradients(X_dense, y, training=False)[1]
    np.testing.assert_allclose(analytic, dense_grads, rtol=1e-12, atol=1e-15)
    assert_gradient_close(
        analytic,
        lambda: network.loss_and_gradients(X, y, training=False)[0],
        network.flat_params,
    )
