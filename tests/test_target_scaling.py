"""NNFSRegressor's target scaling: the network learns ``(y - mean) / scale``.

Expected means and standard deviations come from ``np.average`` in the test,
never from `sknnfs._target_scaling`. What the network learns is checked
against a second way of training the same thing: ``target_scaling=None`` on
targets the test has scaled itself.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from sknnfs import NNFSRegressor
from sknnfs._target_scaling import unscale_outputs

RNG = np.random.default_rng(0)
X = RNG.standard_normal((150, 4))
# Two outputs on scales and offsets of their own.
Y = np.column_stack([X @ [1.0, -2.0, 0.5, 0.0], 0.3 * np.tanh(X[:, 1])])
Y = Y * [1e5, 3.0] + [3e6, -40.0]
WEIGHTS = RNG.uniform(0.0, 3.0, len(X))
SMALL = dict(hidden_layer_sizes=(8,), batch_size=30, max_iter=5, random_state=0)


def fit_quietly(estimator, *args, method="fit", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args, **kwargs)


def weighted_moments(y, weights=None):
    """Each column's weighted mean and standard deviation (ddof 0)."""
    mean = np.average(y, axis=0, weights=weights)
    variance = np.average((y - mean) ** 2, axis=0, weights=weights)
    return mean, np.sqrt(variance)


def assert_same_training(scaled, raw):
    """``scaled`` trained as ``raw`` (target_scaling=None) did on the targets
    the test scaled: the same weights and losses, up to the rounding of the
    mean and scale."""
    np.testing.assert_allclose(
        scaled._network.flat_params, raw._network.flat_params, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(scaled.loss_curve_, raw.loss_curve_, rtol=1e-9)


# ------------------------------------------------------------ what is learnt
@pytest.mark.parametrize("weights", [None, WEIGHTS], ids=["unweighted", "weighted"])
def test_the_scaling_is_the_weighted_mean_and_standard_deviation(weights):
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y, sample_weight=weights)
    mean, std = weighted_moments(Y, weights)
    assert regressor.target_mean_.dtype == regressor.target_scale_.dtype == np.float64
    np.testing.assert_allclose(regressor.target_mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(regressor.target_scale_, std, rtol=1e-12)


def test_the_network_learns_the_scaled_targets():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y, sample_weight=WEIGHTS)
    mean, std = weighted_moments(Y, WEIGHTS)
    raw = NNFSRegressor(target_scaling=None, **SMALL)
    fit_quietly(raw, X, (Y - mean) / std, sample_weight=WEIGHTS)
    assert_same_training(regressor, raw)  # loss_curve_ in scaled units too


def test_a_constant_output_keeps_scale_one():
    y = np.column_stack([np.full(len(X), 0.1), X[:, 0]])
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, y, sample_weight=WEIGHTS)
    assert regressor.target_scale_[0] == 1.0
    assert regressor.target_mean_[0] == pytest.approx(0.1, rel=1e-14)
    # Its scaled targets are the rounding of the mean: about 0, not noise
    # blown up by a standard deviation of 1e-17.
    mean, std = weighted_moments(y, WEIGHTS)
    raw = NNFSRegressor(target_scaling=None, **SMALL)
    fit_quietly(raw, X, (y - mean) / [1.0, std[1]], sample_weight=WEIGHTS)
    assert_same_training(regressor, raw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_are_the_network_outputs_scaled_back(dtype):
    regressor = fit_quietly(NNFSRegressor(dtype=dtype, **SMALL), X, Y)
    outputs = regressor._network.forward(X.astype(dtype))
    scale = regressor.target_scale_.astype(dtype)
    mean = regressor.target_mean_.astype(dtype)
    predictions = regressor.predict(X)
    assert predictions.dtype == dtype
    np.testing.assert_array_equal(predictions, outputs * scale + mean)
    # The same for one row, which skips validation.
    row = X[:1].astype(dtype)
    expected = regressor._network.forward(row) * scale + mean
    np.testing.assert_array_equal(regressor.predict(row), expected)


def test_score_is_r2_in_the_units_of_y():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    expected = r2_score(Y, regressor.predict(X))
    assert regressor.score(X, Y) == pytest.approx(expected, rel=1e-12)


def test_large_targets_fit_as_well_as_small_ones():
    X_data, y = make_regression(n_samples=600, n_features=8, noise=5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X_data, y, random_state=0)
    settings = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=0)

    def test_r2(offset, factor, **params):
        regressor = NNFSRegressor(**settings, **params)
        fit_quietly(regressor, X_train, factor * y_train + offset)
        return regressor.score(X_test, factor * y_test + offset)

    small = test_r2(0.0, 1.0)
    assert small > 0.95
    assert test_r2(3e6, 1e5) == pytest.approx(small, abs=1e-6)
    # The book's raw targets: the same network is far off house-price sizes.
    assert test_r2(3e6, 1e5, target_scaling=None) < 0.5


# --------------------------------------------------- target_scaling=None
def test_without_scaling_predictions_are_the_network_outputs_bit_for_bit():
    regressor = fit_quietly(NNFSRegressor(target_scaling=None, **SMALL), X, Y)
    np.testing.assert_array_equal(regressor.target_mean_, [0.0, 0.0])
    np.testing.assert_array_equal(regressor.target_scale_, [1.0, 1.0])
    outputs = regressor._network.forward(X)
    assert regressor.predict(X).tobytes() == outputs.tobytes()
    one_output = fit_quietly(NNFSRegressor(target_scaling=None, **SMALL), X, Y[:, 0])
    expected = one_output._network.forward(X)[:, 0]
    assert one_output.predict(X).tobytes() == expected.tobytes()


def test_the_identity_leaves_every_bit_even_of_negative_zero():
    outputs = np.array([[-0.0, 1.5], [np.inf, -2.25]])
    unscaled = unscale_outputs(outputs.copy(), np.zeros(2), np.ones(2))
    assert unscaled.tobytes() == outputs.tobytes()
    assert np.signbit(unscaled[0, 0])


def test_the_fitted_attributes_not_the_parameter_describe_the_model():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    predictions = regressor.predict(X)
    regressor.set_params(target_scaling=None)
    np.testing.assert_array_equal(regressor.predict(X), predictions)
    fresh = clone(regressor)
    assert fresh.get_params()["target_scaling"] is None
    assert not hasattr(fresh, "target_mean_")


# ---------------------------------------------------- continued training
def test_partial_fit_keeps_the_first_calls_scaling():
    first, second = slice(0, 75), slice(75, 150)
    Y_shifted = Y + [[2e5, 7.0]] * (np.arange(len(Y)) >= 75)[:, None]
    settings = dict(SMALL, batch_size=25)
    regressor = NNFSRegressor(**settings)
    regressor.partial_fit(X[first], Y_shifted[first], WEIGHTS[first])
    mean, std = weighted_moments(Y_shifted[first], WEIGHTS[first])
    np.testing.assert_allclose(regressor.target_mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(regressor.target_scale_, std, rtol=1e-12)
    kept = regressor.target_mean_.copy(), regressor.target_scale_.copy()
    regressor.partial_fit(X[second], Y_shifted[second], WEIGHTS[second])
    np.testing.assert_array_equal(regressor.target_mean_, kept[0])
    np.testing.assert_array_equal(regressor.target_scale_, kept[1])
    # Both calls trained on the targets scaled by the first call's rows.
    raw = NNFSRegressor(target_scaling=None, **settings)
    for rows in (first, second):
        raw.partial_fit(X[rows], (Y_shifted[rows] - mean) / std, WEIGHTS[rows])
    assert_same_training(regressor, raw)


def test_a_warm_start_keeps_the_scaling_and_a_fresh_fit_learns_it_anew():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    kept = regressor.target_mean_.copy(), regressor.target_scale_.copy()
    Y_other = 2 * Y + 5.0
    regressor.set_params(warm_start=True)
    fit_quietly(regressor, X, Y_other)
    np.testing.assert_array_equal(regressor.target_mean_, kept[0])
    np.testing.assert_array_equal(regressor.target_scale_, kept[1])
    mean, std = weighted_moments(Y)
    raw = fit_quietly(NNFSRegressor(target_scaling=None, **SMALL), X, (Y - mean) / std)
    raw.set_params(warm_start=True)
    fit_quietly(raw, X, (Y_other - mean) / std)
    assert_same_training(regressor, raw)
    regressor.set_params(warm_start=False)
    fit_quietly(regressor, X, Y_other)
    np.testing.assert_allclose(
        regressor.target_mean_, weighted_moments(Y_other)[0], rtol=1e-12
    )


# ---------------------------------------------------------------- poisson
def test_poisson_targets_are_divided_by_the_scale_only():
    counts = RNG.poisson(np.exp(1.0 + 0.5 * X[:, :2]) * [1.0, 20.0]).astype(float)
    settings = dict(SMALL, loss="poisson")
    regressor = fit_quietly(NNFSRegressor(**settings), X, counts, sample_weight=WEIGHTS)
    _, std = weighted_moments(counts, WEIGHTS)
    np.testing.assert_array_equal(regressor.target_mean_, [0.0, 0.0])
    np.testing.assert_allclose(regressor.target_scale_, std, rtol=1e-12)
    raw = NNFSRegressor(target_scaling=None, **settings)
    fit_quietly(raw, X, counts / std, sample_weight=WEIGHTS)
    assert_same_training(regressor, raw)
    means = np.exp(regressor._network.forward(X))
    np.testing.assert_array_equal(regressor.predict(X), means * regressor.target_scale_)


# ------------------------------------------------------------ persistence
def test_a_pickle_round_trip_predicts_the_same_bits():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    loaded = pickle.loads(pickle.dumps(regressor))
    assert loaded.predict(X).tobytes() == regressor.predict(X).tobytes()
    np.testing.assert_array_equal(loaded.target_scale_, regressor.target_scale_)


def _edited(name, value):
    def edit(state):
        if value is None:
            del state[name]
        else:
            state[name] = value

    return edit


TAMPERED = {
    "scale of another shape": (
        _edited("target_scale_", np.ones(3)),
        r"target_scale_ has shape \(3,\), where its network has 2 outputs",
    ),
    "NaN scale": (
        _edited("target_scale_", np.array([1.0, np.nan])),
        r"target_scale_ is not finite in float64",
    ),
    "zero scale": (
        _edited("target_scale_", np.array([1.0, 0.0])),
        r"target_scale_ is not positive",
    ),
    "negative scale": (
        _edited("target_scale_", np.array([-2.0, 1.0])),
        r"target_scale_ is not positive",
    ),
    "infinite mean": (
        _edited("target_mean_", np.array([np.inf, 0.0])),
        r"target_mean_ is not finite in float64",
    ),
    "mean as a list": (
        _edited("target_mean_", [0.0, 0.0]),
        r"target_mean_ is \[0\.0, 0\.0\], not a float64 array",
    ),
    "float32 scale": (
        _edited("target_scale_", np.ones(2, dtype=np.float32)),
        r"target_scale_ is .*, not a float64 array",
    ),
    "scale missing": (
        _edited("target_scale_", None),
        r"target_scale_ is None, not a float64 array",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_an_edited_scaling_is_refused_on_load(case):
    edit, problem = TAMPERED[case]
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    state = regressor.__getstate__()
    edit(state)
    loaded = NNFSRegressor.__new__(NNFSRegressor)
    with pytest.raises(ValueError, match=rf"Cannot load this NNFSRegressor: {problem}"):
        loaded.__setstate__(state)
    assert vars(loaded) == {}  # nothing was loaded


def test_a_regressor_pickled_before_target_scaling_loads_as_it_was():
    regressor = fit_quietly(NNFSRegressor(target_scaling=None, **SMALL), X, Y)
    state = regressor.__getstate__()
    for name in ("target_scaling", "target_mean_", "target_scale_"):
        del state[name]
    loaded = NNFSRegressor.__new__(NNFSRegressor)
    loaded.__setstate__(state)
    assert loaded.get_params()["target_scaling"] is None
    assert loaded.predict(X).tobytes() == regressor.predict(X).tobytes()
    np.testing.assert_array_equal(loaded.target_scale_, [1.0, 1.0])


# -------------------------------------------------------------------- ONNX
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def onnx_predictions(regressor, dtype):
    pytest.importorskip("skl2onnx", reason="ONNX export needs the onnx extra")
    onnxruntime = pytest.importorskip("onnxruntime")
    from sknnfs.onnx import to_onnx

    model = to_onnx(regressor, X[:1].astype(dtype))
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (predictions,) = session.run(None, {"X": X.astype(dtype)})
    return [node.op_type for node in model.graph.node], predictions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_onnx_graph_scales_the_outputs_back(dtype):
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y)
    operators, predictions = onnx_predictions(regressor, dtype)
    assert operators[-2:] == ["Mul", "Add"]
    assert predictions.dtype == dtype
    # The tests' tolerance for the network's outputs, in the units it
    # computes in: unscaling multiplies every difference by the scale.
    differences = np.abs(predictions - regressor.predict(X))
    assert (differences <= TOLERANCE[dtype] * regressor.target_scale_).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_onnx_graph_of_a_poisson_regressor_multiplies_its_means(dtype):
    counts = RNG.poisson(np.exp(1.0 + 0.5 * X[:, :2]) * [1.0, 20.0]).astype(float)
    regressor = fit_quietly(NNFSRegressor(loss="poisson", **SMALL), X, counts)
    operators, predictions = onnx_predictions(regressor, dtype)
    assert operators[-2:] == ["Exp", "Mul"]
    # exp's float32 error is relative to the mean it computes.
    np.testing.assert_allclose(predictions, regressor.predict(X), rtol=TOLERANCE[dtype])


def test_without_scaling_the_onnx_graph_is_the_network_alone():
    regressor = fit_quietly(NNFSRegressor(target_scaling=None, **SMALL), X, Y)
    operators, predictions = onnx_predictions(regressor, np.float64)
    assert "Mul" not in operators and operators[-1] == "Add"
    assert np.abs(predictions - regressor.predict(X)).max() <= TOLERANCE[np.float64]
