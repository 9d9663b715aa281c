"""Unit tests of the building blocks: numerical safety, dropout, state, randomness."""

import copy

import numpy as np
import pytest
import scipy.sparse as sp

from sknnfs import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Linear,
    ReLU,
    Sigmoid,
    SigmoidBinaryCrossentropy,
    Softmax,
    SoftmaxCategoricalCrossentropy,
    Tanh,
)


@pytest.fixture
def raise_on_float_errors():
    # Underflow to 0 is the right answer for exp(-1e4); anything else is a bug.
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        yield


@pytest.mark.usefixtures("raise_on_float_errors")
def test_softmax_of_huge_logits_is_finite_and_rows_sum_to_one():
    logits = np.array([[1e4, 0.0, -1e4], [1e300, 1e300, -1e300], [-1e4, -1e4, -1e4]])
    probabilities, _ = Softmax().forward(logits)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(probabilities[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(probabilities[1], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(probabilities[2], [1 / 3] * 3)


@pytest.mark.usefixtures("raise_on_float_errors")
def test_sigmoid_never_overflows():
    inputs = np.array([[-1e4, -750.0, -1.0, 0.0, 1.0, 750.0, 1e4]])
    outputs, cache = Sigmoid().forward(inputs)
    np.testing.assert_allclose(
        outputs[0],
        [0.0, 0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)), 1.0, 1.0],
        rtol=1e-15,
        atol=0,
    )
    assert np.all(np.isfinite(Sigmoid().backward(np.ones_like(inputs), cache)))


@pytest.mark.usefixtures("raise_on_float_errors")
def test_fused_losses_are_finite_for_huge_logits():
    loss = SoftmaxCategoricalCrossentropy().calculate(np.array([[1e4, -1e4]]), [1])
    assert loss == pytest.approx(2e4, rel=1e-15)
    loss = SigmoidBinaryCrossentropy().calculate(np.array([[1e4], [-1e4]]), [[0], [1]])
    assert loss == pytest.approx(1e4, rel=1e-15)


def test_categorical_crossentropy_is_finite_for_zero_probability():
    probabilities = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss = CategoricalCrossentropy()
    sample_losses = loss.forward(probabilities, [0, 0])
    # The book clips to [1e-7, 1 - 1e-7]: -log(1e-7) for the impossible class.
    np.testing.assert_allclose(sample_losses, [-np.log(1e-7), -np.log(1 - 1e-7)])
    assert np.all(np.isfinite(loss.backward(probabilities, [0, 0])))
    assert np.isfinite(
        BinaryCrossentropy().calculate(np.array([[0.0], [1.0]]), [[1], [0]])
    )


def test_dropout_scales_kept_units():
    inputs = np.full((200, 50), 2.0)
    outputs, mask = Dropout(0.25).forward(inputs, np.random.default_rng(0))
    kept = outputs != 0
    np.testing.assert_array_equal(outputs[kept], 2.0 / 0.75)
    np.testing.assert_array_equal(mask[kept], 1 / 0.75)
    assert kept.mean() == pytest.approx(0.75, abs=0.02)
    # Backward lets through exactly the kept units, scaled the same way.
    dinputs = Dropout(0.25).backward(np.ones_like(inputs), mask)
    np.testing.assert_array_equal(dinputs, np.where(kept, 1 / 0.75, 0.0))


def test_dropout_is_the_identity_when_not_training():
    inputs = np.arange(12.0).reshape(3, 4)
    rng = np.random.default_rng(0)
    rng_state = copy.deepcopy(rng.bit_generator.state)
    outputs, cache = Dropout(0.5).forward(inputs, rng, training=False)
    np.testing.assert_array_equal(outputs, inputs)
    assert cache is None
    assert rng.bit_generator.state == rng_state  # nothing drawn
    np.testing.assert_array_equal(Dropout(0.5).backward(inputs, cache), inputs)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_invalid_rates(rate):
    with pytest.raises(ValueError, match="dropout rate"):
        Dropout(rate)


@pytest.mark.parametrize("sparse_format", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_dense_with_sparse_input(sparse_format, monkeypatch):
    rng = np.random.default_rng(0)
    dense_inputs = rng.standard_normal((6, 4))
    dense_inputs[rng.random(dense_inputs.shape) < 0.6] = 0
    layer = Dense(4, 3, random_state=0)
    layer.biases[...] = [[0.1, -0.2, 0.3]]
    upstream = rng.standard_normal((6, 3))
    expected_outputs, dense_cache = layer.forward(dense_inputs)
    expected_dinputs, expected_grads = layer.backward(upstream, dense_cache)

    sparse_inputs = sparse_format(dense_inputs)
    _forbid_densifying(monkeypatch)
    outputs, cache = layer.forward(sparse_inputs)
    assert sp.issparse(cache)
    assert isinstance(outputs, np.ndarray)
    np.testing.assert_allclose(outputs, expected_outputs, rtol=1e-12, atol=1e-15)
    dinputs, grads = layer.backward(upstream, cache)
    np.testing.assert_allclose(dinputs, expected_dinputs, rtol=1e-12, atol=1e-15)
    for grad, expected in zip(grads, expected_grads, strict=True):
        assert isinstance(grad, np.ndarray)
        np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


def _forbid_densifying(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a sparse matrix was densified")

    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        for klass in cls.__mro__:
            for name in ("toarray", "todense"):
                if name in vars(klass):
                    monkeypatch.setattr(klass, name, refuse)


BLOCKS = [
    (ReLU(), lambda block, x, g: block.backward(g, block.forward(x)[1])),
    (Sigmoid(), lambda block, x, g: block.backward(g, block.forward(x)[1])),
    (Tanh(), lambda block, x, g: block.backward(g, block.forward(x)[1])),
    (Linear(), lambda block, x, g: block.backward(g, block.forward(x)[1])),
    (Softmax(), lambda block, x, g: block.backward(g, block.forward(x)[1])),
    (
        Dense(3, 3, l1=0.1, l2=0.1, random_state=0),
        lambda block, x, g: block.backward(g, block.forward(x)[1]),
    ),
    (
        Dropout(0.5),
        lambda block, x, g: block.backward(
            g, block.forward(x, np.random.default_rng(0))[1]
        ),
    ),
]


@pytest.mark.parametrize("block, run", BLOCKS, ids=lambda b: type(b).__name__)
def test_blocks_keep_no_per_batch_state(block, run):
    before = copy.deepcopy(vars(block))
    inputs = np.random.default_rng(0).standard_normal((4, 3))
    inputs_copy = inputs.copy()
    run(block, inputs, np.ones((4, 3)))
    after = vars(block)
    assert after.keys() == before.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)
    np.testing.assert_array_equal(inputs, inputs_copy)  # the caller's array


def test_losses_keep_no_state_and_leave_inputs_alone():
    logits = np.random.default_rng(0).standard_normal((4, 3))
    logits_copy = logits.copy()
    for loss in (SoftmaxCategoricalCrossentropy(), CategoricalCrossentropy()):
        loss.calculate(
            logits
            if isinstance(loss, SoftmaxCategoricalCrossentropy)
            else Softmax().forward(logits)[0],
            [0, 1, 2, 0],
        )
        loss.backward(logits, [0, 1, 2, 0])
        assert vars(loss) == {}
    np.testing.assert_array_equal(logits, logits_copy)


def test_randomness_only_through_the_given_generator():
    global_state = np.random.get_state()
    first = Dense(5, 4, random_state=np.random.default_rng(7)).weights
    second = Dense(5, 4, random_state=np.random.default_rng(7)).weights
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, Dense(5, 4, random_state=8).weights)
    np.testing.assert_array_equal(
        Dense(5, 4, random_state=np.random.RandomState(3)).weights,
        Dense(5, 4, random_state=np.random.RandomState(3)).weights,
    )
    inputs = np.ones((10, 10))
    mask_a = Dropout(0.5).forward(inputs, np.random.default_rng(1))[1]
    mask_b = Dropout(0.5).forward(inputs, np.random.default_rng(1))[1]
    np.testing.assert_array_equal(mask_a, mask_b)
    after = np.random.get_state()
    np.testing.assert_array_equal(global_state[1], after[1])
    assert global_state[2:] == after[2:]


@pytest.mark.parametrize(
    "weight_init, expected_std",
    [("he", np.sqrt(2 / 400)), ("nnfs", 0.01), (0.1, 0.1),
     ("glorot", np.sqrt(6 / 500) / np.sqrt(3))],
)  # fmt: skip
def test_weight_init_scales(weight_init, expected_std):
    weights = Dense(400, 100, weight_init=weight_init, random_state=0).weights
    assert weights.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(weights.mean()) < 0.02 * expected_std * 10


def test_biases_start_at_zero_by_default():
    layer = Dense(400, 100, weight_init="glorot", random_state=0)
    np.testing.assert_array_equal(layer.biases, np.zeros((1, 100)))


def test_glorot_biases_are_drawn_after_the_weights():
    bound = np.sqrt(6 / (400 + 1000))
    layer = Dense(400, 1000, weight_init="he", bias_init="glorot", random_state=0)
    assert layer.biases.shape == (1, 1000)
    assert np.all(np.abs(layer.biases) <= bound)
    # Uniform on [-a, a]: standard deviation a / sqrt(3).
    assert layer.biases.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
    # The same generator, weights first: the weights do not depend on bias_init.
    zeros = Dense(400, 1000, weight_init="he", random_state=0)
    np.testing.assert_array_equal(layer.weights, zeros.weights)
    rng = np.random.default_rng(0)
    rng.standard_normal((400, 1000))
    np.testing.assert_array_equal(layer.biases[0], rng.uniform(-bound, bound, 1000))


def test_unknown_bias_init_raises():
    with pytest.raises(ValueError, match="bias_init must be one of"):
        Dense(3, 2, bias_init="ones")


def test_dense_takes_a_nested_list_forward_and_backward():
    # The book's first chapters feed plain lists to a layer.
    rows = [[1.0, 2.0, 3.0, 2.5], [2.0, 5.0, -1.0, 2.0], [-1.5, 2.7, 3.3, -0.8]]
    layer = Dense(4, 3, random_state=0)
    from_list = layer.forward(rows)
    from_array = layer.forward(np.array(rows))
    np.testing.assert_array_equal(from_list[0], from_array[0])
    doutputs = np.ones((3, 3))
    dinputs, (dweights, dbiases) = layer.backward(doutputs, from_list[1])
    expected = layer.backward(doutputs, from_array[1])
    np.testing.assert_array_equal(dinputs, expected[0])
    np.testing.assert_array_equal(dweights, expected[1][0])
    np.testing.assert_array_equal(dbiases, expected[1][1])
