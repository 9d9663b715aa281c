"""Every number the seed notebook prints, recomputed with sknnfs's own blocks.

The expected values are copied from the notebook's printed output
(``shared/seed/000_a8ffd50aab7e517a.txt``); tolerances match the printed
precision. The cells that run under ``nnfs.init()`` (which monkeypatches NumPy
for the whole process) run in a subprocess.
"""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sknnfs import CategoricalCrossentropy, Dense, ReLU, Softmax

INPUTS = [1.0, 2.0, 3.0, 2.5]
WEIGHTS = [
    [0.2, 0.8, -0.5, 1.0],
    [0.5, -0.91, 0.26, -0.5],
    [-0.26, -0.27, 0.17, 0.87],
]
BIASES = [2.0, 3.0, 0.5]
BATCH = [
    [1.0, 2.0, 3.0, 2.5],
    [2.0, 5.0, -1.0, 2.0],
    [-1.5, 2.7, 3.3, -0.8],
]
WEIGHTS_2 = [
    [0.1, -0.14, 0.5],
    [-0.5, 0.12, -0.33],
    [-0.44, 0.73, -0.13],
]
BIASES_2 = [-1, 2, -0.5]


def dense_with(weights_per_neuron, biases):
    """A Dense layer holding the notebook's weights (one row per neuron)."""
    weights_per_neuron = np.asarray(weights_per_neuron, dtype=float)
    n_neurons, n_inputs = weights_per_neuron.shape
    layer = Dense(n_inputs, n_neurons, random_state=0)
    layer.weights[...] = weights_per_neuron.T
    layer.biases[...] = biases
    return layer


def test_one_neuron_three_inputs():
    layer = dense_with([[0.2, 0.8, -0.5]], [2.0])
    outputs, _ = layer.forward(np.array([[1.0, 2.0, 3.0]]))
    assert outputs.shape == (1, 1)
    assert outputs[0, 0] == pytest.approx(2.3, abs=1e-12)


def test_one_neuron_four_inputs():
    layer = dense_with([WEIGHTS[0]], [2.0])
    outputs, _ = layer.forward(np.array([INPUTS]))
    assert outputs[0, 0] == pytest.approx(4.8, abs=1e-12)


def test_layer_of_three_neurons():
    outputs, _ = dense_with(WEIGHTS, BIASES).forward(np.array([INPUTS]))
    np.testing.assert_allclose(outputs, [[4.8, 1.21, 2.385]], atol=1e-12)


def test_batch_of_three_samples():
    outputs, _ = dense_with(WEIGHTS, BIASES).forward(np.array(BATCH))
    np.testing.assert_allclose(
        outputs,
        [[4.8, 1.21, 2.385], [8.9, -1.81, 0.2], [1.41, 1.051, 0.026]],
        atol=1e-12,
    )


def test_two_layers():
    layer1_outputs, _ = dense_with(WEIGHTS, BIASES).forward(np.array(BATCH))
    layer2_outputs, _ = dense_with(WEIGHTS_2, BIASES_2).forward(layer1_outputs)
    np.testing.assert_allclose(
        layer2_outputs,
        [
            [0.5031, -1.04185, -2.03875],
            [0.2434, -2.7332, -5.7633],
            [-0.99314, 1.41254, -0.35655],
        ],
        atol=1e-12,
    )


def test_layer_dense_with_seed_0():
    # The notebook: np.random.seed(0); weights = 0.1 * np.random.randn(...).
    # A RandomState(0) of our own gives the same stream without the global one.
    global_state = np.random.get_state()
    random_state = np.random.RandomState(0)
    layer1 = Dense(4, 5, weight_init=0.1, random_state=random_state)
    layer2 = Dense(5, 2, weight_init=0.1, random_state=random_state)
    layer1_outputs, _ = layer1.forward(np.array(BATCH))
    layer2_outputs, _ = layer2.forward(layer1_outputs)
    np.testing.assert_allclose(
        layer1_outputs,
        [
            [0.10758131, 1.03983522, 0.24462411, 0.31821498, 0.18851053],
            [-0.08349796, 0.70846411, 0.00293357, 0.44701525, 0.36360538],
            [-0.50763245, 0.55688422, 0.07987797, -0.34889573, 0.04553042],
        ],
        atol=1e-8,
    )
    np.testing.assert_allclose(
        layer2_outputs,
        [
            [0.148296, -0.08397602],
            [0.14100315, -0.01340469],
            [0.20124979, -0.07290616],
        ],
        atol=1e-8,
    )
    _assert_same_random_state(global_state, np.random.get_state())


def test_relu_list():
    outputs, _ = ReLU().forward(np.array([0, 2, -1, 3.3, -2.7, 1.1, 2.2, -100]))
    assert outputs.tolist() == [0, 2, 0, 3.3, 0, 1.1, 2.2, 0]


LAYER_OUTPUTS = [4.8, 1.21, 2.385]
EXPONENTIATED = [121.51041751873483, 3.353484652549023, 10.859062664920513]


def test_exponentiated_values():
    np.testing.assert_allclose(np.exp(LAYER_OUTPUTS), EXPONENTIATED, rtol=1e-15)
    # Softmax is those values normalised: scaling back by their sum recovers them.
    probabilities, _ = Softmax().forward(np.array([LAYER_OUTPUTS]))
    np.testing.assert_allclose(
        probabilities[0] * sum(EXPONENTIATED), EXPONENTIATED, rtol=1e-14
    )


def test_softmax_values():
    probabilities, _ = Softmax().forward(np.array([LAYER_OUTPUTS]))
    np.testing.assert_allclose(
        probabilities, [[0.89528266, 0.02470831, 0.08000903]], atol=5e-9
    )


def test_batch_softmax():
    probabilities, _ = Softmax().forward(
        np.array([[4.8, 1.21, 2.385], [8.9, -1.81, 0.2], [1.41, 1.051, 0.026]])
    )
    np.testing.assert_allclose(
        probabilities,
        [
            [8.95282664e-01, 2.47083068e-02, 8.00090293e-02],
            [9.99811129e-01, 2.23163963e-05, 1.66554348e-04],
            [5.13097164e-01, 3.58333899e-01, 1.28568936e-01],
        ],
        rtol=5e-9,
    )


def test_categorical_crossentropy_of_one_sample():
    loss = CategoricalCrossentropy()
    softmax_output = np.array([[0.7, 0.1, 0.2]])
    assert loss.forward(softmax_output, [0])[0] == 0.35667494393873245
    assert loss.forward(softmax_output, [[1, 0, 0]])[0] == 0.35667494393873245
    assert loss.calculate(softmax_output, [0]) == 0.35667494393873245


def test_loss_at_half_and_seven_tenths_confidence():
    loss = CategoricalCrossentropy()
    half, seven_tenths = loss.forward(np.array([[0.5, 0.5], [0.7, 0.3]]), [0, 0])
    assert half == 0.6931471805599453
    assert seven_tenths == 0.35667494393873245


def test_confidences_of_the_target_classes():
    softmax_outputs = np.array([[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]])
    class_targets = [0, 1, 1]
    # The loss is -log of the indexed confidences, so exp(-loss) gives them back.
    confidences = np.exp(
        -CategoricalCrossentropy().forward(softmax_outputs, class_targets)
    )
    np.testing.assert_allclose(confidences, [0.7, 0.5, 0.9], rtol=1e-15)


# --------------------------------------------------- cells under nnfs.init()
NNFS_SCRIPT = textwrap.dedent(
    """
    import json
    import nnfs
    import numpy as np
    from nnfs.datasets import spiral_data
    from sknnfs import Dense, ReLU, Softmax

    # Cell "Layer 1 output": spiral data, one Dense(2, 5) layer and ReLU.
    nnfs.init()
    X, y = spiral_data(100, 3)
    # The numpy.random module stands for the global RandomState nnfs.init seeded.
    layer1 = Dense(2, 5, weight_init=0.1, random_state=np.random)
    layer1_outputs, _ = layer1.forward(X)
    relu_outputs, _ = ReLU().forward(layer1_outputs.copy())

    # Cell "Softmax": Dense(2, 3) -> ReLU -> Dense(3, 3) -> Softmax.
    nnfs.init()
    X, y = spiral_data(samples=100, classes=3)
    dense1 = Dense(2, 3, weight_init=0.1, random_state=np.random)
    dense2 = Dense(3, 3, weight_init=0.1, random_state=np.random)
    hidden, _ = dense1.forward(X)
    hidden, _ = ReLU().forward(hidden)
    logits, _ = dense2.forward(hidden)
    probabilities, _ = Softmax().forward(logits)

    rows = [0, 1, 2, -3, -2, -1]
    print(json.dumps({
        "layer1": layer1_outputs[rows].tolist(),
        "relu": relu_outputs[rows].tolist(),
        "softmax": probabilities[:5].tolist(),
    }))
    """
)


@pytest.fixture(scope="module")
def nnfs_outputs():
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        + [path for path in sys.path if path]
    )
    numpy_before = _numpy_behaviour()
    completed = subprocess.run(
        [sys.executable, "-c", NNFS_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    # nnfs.init() ran in the child only: this process's NumPy is untouched.
    assert _numpy_behaviour() == numpy_before
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_spiral_forward_pass_under_nnfs_init(nnfs_outputs):
    np.testing.assert_allclose(
        nnfs_outputs["softmax"],
        [
            [0.33333334, 0.33333334, 0.33333334],
            [0.33331734, 0.33331832, 0.33336434],
            [0.3332888, 0.33329153, 0.33341965],
            [0.33325943, 0.33326396, 0.33347666],
            [0.33323312, 0.33323926, 0.33352762],
        ],
        atol=1e-7,
    )


def test_spiral_layer1_and_relu_under_nnfs_init(nnfs_outputs):
    layer1 = np.array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [-8.35815910e-04, -7.90404272e-04, -1.33452227e-03, 4.65504505e-04,
             4.56846210e-05],
            [-2.39994470e-03, 5.93469958e-05, -2.24808278e-03, 2.03573116e-04,
             6.10024377e-04],
            [1.13291524e-01, -1.89262271e-01, -2.06855070e-02, 8.11079666e-02,
             -6.71350807e-02],
            [1.34588361e-01, -1.43197834e-01, 3.09493970e-02, 5.66337556e-02,
             -6.29687458e-02],
            [1.07817926e-01, -2.00809643e-01, -3.37579325e-02, 8.72561932e-02,
             -6.81458861e-02],
        ]
    )  # fmt: skip
    # Printed with 9 significant digits of float32 values.
    np.testing.assert_allclose(nnfs_outputs["layer1"], layer1, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(
        nnfs_outputs["relu"], np.maximum(layer1, 0), rtol=1e-6, atol=1e-10
    )


def _numpy_behaviour():
    """What nnfs.init() changes: the patched functions, their dtypes, the seed."""
    vector = np.array([1.0, 2.0])
    return (
        np.dot,
        np.zeros,
        np.eye,
        np.random.randn,
        np.zeros(2).dtype,
        np.eye(2).dtype,
        np.dot(vector, vector).dtype,
        np.random.get_state()[1].tobytes(),
    )


def test_parent_numpy_is_not_patched(nnfs_outputs):
    assert np.zeros(2).dtype == np.float64
    assert np.eye(2).dtype == np.float64
    assert np.dot(np.array([1.0]), np.array([1.0])).dtype == np.float64
    state = np.random.get_state()
    assert np.random.randn(3).dtype == np.float64
    np.random.set_state(state)
    # nnfs.init() replaces these by Python closures; NumPy's own are not.
    assert np.random.randn == np.random.mtrand._rand.randn
    assert np.dot.__module__ == "numpy"


def _assert_same_random_state(before, after):
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_math_values_match_the_notebook():
    # The notebook's -math.log values, which the loss tests above rely on.
    assert -math.log(0.7) == 0.35667494393873245
    assert -math.log(0.5) == 0.6931471805599453
