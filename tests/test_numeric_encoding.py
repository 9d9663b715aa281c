"""``numeric_bins``: numeric features encoded piecewise linearly at quantiles.

Expected edges and encodings are written out by hand or computed with
``np.quantile(..., method="inverted_cdf")`` on repeated rows and
``np.interp`` in the test, never with
`sknnfs._numeric_encoding`. What the network learns is checked against a
second way of training the same thing: ``numeric_bins=None`` on features the
test encoded itself; the start of the encoded network, against the
straight lines it must draw along each feature. The encoding has no
parameters, so it adds no gradient
to check: the network's gradients are those of ``test_gradients.py`` on its
inputs.
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _state import pickle_with_edited_state
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

import sknnfs._base
from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._numeric_encoding import (
    bin_edges,
    encode,
    encoding_columns,
    start_as_features,
)

RNG = np.random.default_rng(0)
N = 240
# A skewed numeric feature, an indicator, a feature of three values and a
# uniform one.
X = np.column_stack(
    [
        RNG.exponential(2.0, N),
        RNG.integers(0, 2, N).astype(float),
        RNG.integers(0, 3, N).astype(float),
        RNG.uniform(-1.0, 1.0, N),
    ]
)
Y = {
    "regressor": np.sin(3 * X[:, 3]) + np.where(X[:, 0] > 2.0, 1.0, 0.0) + X[:, 1],
    "classifier": (X[:, 0] > 1.5).astype(int) + (X[:, 3] > 0).astype(int),
}
ESTIMATORS = {"regressor": NNFSRegressor, "classifier": NNFSClassifier}
SMALL = dict(hidden_layer_sizes=(8,), batch_size=32, max_iter=20, random_state=0)
AS_THEY_ARE = dict(numeric_bins=None, **SMALL)


def fit_quietly(estimator, *args, method="fit", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args, **kwargs)


def outputs(estimator, X):
    if isinstance(estimator, NNFSClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def encoded_by_hand(X, edges):
    """Each feature's bins, written with np.interp: the inner bins rise from 0
    to 1 across their edges; the outer ones continue their line outside."""
    columns = []
    for feature, feature_edges in enumerate(edges):
        x = X[:, feature]
        if feature_edges is None:
            columns.append(x)
            continue
        n_bins = len(feature_edges) - 1
        for t in range(n_bins):
            left, right = feature_edges[t], feature_edges[t + 1]
            value = np.interp(x, [left, right], [0.0, 1.0])
            line = (x - left) / (right - left)
            if t == 0:
                value = np.where(x < left, line, value)
            if t == n_bins - 1:
                value = np.where(x > right, line, value)
            columns.append(value)
    return np.column_stack(columns)


# ------------------------------------------------------------ the encoding
def quantiles(column, levels):
    return np.quantile(column, levels, method="inverted_cdf")


def test_edges_are_the_unique_quantiles_of_features_with_more_than_two_values():
    edges = bin_edges(X, 4)
    np.testing.assert_array_equal(edges[0], quantiles(X[:, 0], [0, 0.25, 0.5, 0.75, 1]))
    assert edges[1] is None  # an indicator goes in as it is
    # Three values: the quantiles 0, 0.25, ..., 1 fall on them.
    np.testing.assert_array_equal(edges[2], [0.0, 1.0, 2.0])
    assert edges[3][0] == X[:, 3].min() and edges[3][-1] == X[:, 3].max()
    assert [e is None for e in bin_edges(np.ones((5, 2)), 8)] == [True, True]
    # Each edge is a training value: the smallest whose share reaches its level.
    column = np.array([[5.0], [1.0], [4.0], [2.0], [3.0], [9.0]])
    assert bin_edges(column, 3)[0].tolist() == [1.0, 2.0, 4.0, 9.0]


@pytest.mark.parametrize("max_weight", [2, 3, 7])
def test_a_row_of_weight_k_places_the_edges_as_k_copies_of_it(max_weight):
    weights = np.random.default_rng(max_weight).integers(0, max_weight + 1, N)
    weighted = bin_edges(X, 8, weights / weights.max())
    repeated = np.repeat(X, weights, axis=0)
    for feature, feature_edges in enumerate(weighted):
        values = repeated[:, feature]
        if np.unique(values).size <= 2:
            assert feature_edges is None
        else:
            expected = np.unique(quantiles(values, np.linspace(0, 1, 9)))
            np.testing.assert_array_equal(feature_edges, expected)


def test_the_encoding_is_each_bins_ramp_and_the_outer_bins_extrapolate():
    edges = [np.array([0.0, 1.0, 3.0, 4.0]), None]
    X_new = np.array([[-1.0, 5.0], [0.5, 0.0], [2.0, 1.0], [3.5, -2.0], [6.0, 0.0]])
    expected = [
        [-1.0, 0.0, 0.0, 5.0],
        [0.5, 0.0, 0.0, 0.0],
        [1.0, 0.5, 0.0, 1.0],
        [1.0, 1.0, 0.5, -2.0],
        [1.0, 1.0, 3.0, 0.0],
    ]
    np.testing.assert_array_equal(encode(X_new, encoding_columns(edges)), expected)
    # The feature is its first edge plus each bin times its width.
    values = encode(X_new, encoding_columns(edges))[:, :3]
    np.testing.assert_allclose(values @ [1.0, 2.0, 1.0], X_new[:, 0])


def test_the_start_draws_each_features_line_inside_and_gentler_tails():
    # Widths 1, 2, 0.5, 4 (first feature) and 1, 1 (two bins: no inner edges).
    edges = [np.array([-1.0, 0.0, 2.0, 2.5, 6.5]), None, np.array([0.0, 1.0, 2.0])]
    feature_weights = np.array([[2.0, -1.0], [3.0, 0.5], [-0.5, 4.0]])
    weights, biases = np.full((7, 2), np.nan), np.array([[0.25, -0.75]])
    start_as_features(weights, biases, edges, feature_weights)
    # A bin's weights: its feature's times its width; the outer bins of the
    # first feature take their neighbours' widths, 2 and 0.5.
    widths = np.array([2.0, 2.0, 0.5, 0.5, 1.0, 1.0, 1.0])
    rows = [0, 0, 0, 0, 1, 2, 2]
    np.testing.assert_allclose(weights, feature_weights[rows] * widths[:, None])
    # ... and the biases b[1] less the first width (0 - 2) for the first
    # feature, b[0] = 0 for the third.
    shift = -2.0 * feature_weights[0] + 0.0 * feature_weights[2]
    np.testing.assert_allclose(biases, [[0.25 + shift[0], -0.75 + shift[1]]])
    first_layer = encoding_columns(edges)

    def line(X):
        return encode(X, first_layer) @ weights + biases

    # Inside the first feature's inner edges [0, 2.5], the features' line.
    inside = np.array([[0.0, 1.0, 0.3], [1.2, -2.0, 1.7], [2.5, 0.0, -3.0]])
    np.testing.assert_allclose(
        line(inside), inside @ feature_weights + [[0.25, -0.75]], atol=1e-12
    )
    # Past 2.5 the slope along the first feature is 0.5 / 4 of its weights',
    # below 0 it is 2 / 1 of it (the outer bin as wide as its neighbour).
    at = np.array([[2.5, 0.0, 0.0], [10.5, 0.0, 0.0], [0.0, 0.0, 0.0], [-3.0, 0, 0]])
    values = line(at)
    np.testing.assert_allclose(values[1] - values[0], 8.0 * 0.125 * feature_weights[0])
    np.testing.assert_allclose(values[2] - values[3], 3.0 * 2.0 * feature_weights[0])


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("weight_init", ["glorot", "he", "nnfs"])
def test_an_encoded_network_starts_as_a_line_along_each_feature(kind, weight_init):
    # A step too small to move the weights: the fitted first layer is its start.
    estimator = fit_quietly(
        ESTIMATORS[kind](
            numeric_bins=4,
            weight_init=weight_init,
            hidden_layer_sizes=(64,),
            learning_rate=1e-300,
            max_iter=1,
            random_state=0,
        ),
        X,
        Y[kind],
    )
    per_unit, feature = [], 0
    for feature_edges in estimator.bin_edges_:
        widths = np.ones(1) if feature_edges is None else np.diff(feature_edges)
        if len(widths) >= 3:  # the outer bins as wide as their neighbours
            widths[0], widths[-1] = widths[1], widths[-2]
        rows = estimator.coefs_[0][feature : feature + len(widths)]
        # Every bin of a feature: the same weights per unit of the feature.
        np.testing.assert_allclose(
            rows / widths[:, None], np.repeat(rows[:1] / widths[0], len(widths), 0)
        )
        per_unit.append(rows[0] / widths[0])
        feature += len(widths)
    assert feature == estimator.coefs_[0].shape[0]
    # ... drawn as for a first layer of 4 inputs and 64 units.
    expected_std = {
        "glorot": np.sqrt(6 / (4 + 64)) / np.sqrt(3),
        "he": np.sqrt(2 / 4),
        "nnfs": 0.01,
    }[weight_init]
    assert np.std(per_unit) == pytest.approx(expected_std, rel=0.15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_encoding_keeps_the_dtype_and_leaves_x_alone(dtype):
    X_typed = X.astype(dtype)
    before = X_typed.copy()
    edges = bin_edges(X_typed, 5)
    encoded = encode(X_typed, encoding_columns(edges))
    assert encoded.dtype == dtype
    np.testing.assert_array_equal(X_typed, before)
    np.testing.assert_allclose(
        encoded, encoded_by_hand(X_typed.astype(float), edges), rtol=1e-6, atol=1e-6
    )


# ---------------------------------------------------------- the estimators
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_numeric_bins_trains_the_network_on_the_encoded_features(kind, monkeypatch):
    # Without its start (tested below), an encoded fit draws what a fit on the
    # encoded features does: the two must then train alike.
    monkeypatch.setattr(sknnfs._base, "start_as_features", lambda *args: None)
    estimator = fit_quietly(ESTIMATORS[kind](numeric_bins=4, **SMALL), X, Y[kind])
    expected_edges = bin_edges(X, 4)
    assert len(estimator.bin_edges_) == estimator.n_features_in_ == 4
    for fitted, expected in zip(estimator.bin_edges_, expected_edges, strict=True):
        np.testing.assert_array_equal(fitted, expected)
    # 4 + 1 + 2 + 4 inputs: one per bin, the indicator as it is.
    assert estimator.coefs_[0].shape == (11, 8)
    by_hand = fit_quietly(
        ESTIMATORS[kind](**AS_THEY_ARE), encoded_by_hand(X, expected_edges), Y[kind]
    )
    X_new = X[:50] * 1.5 - 0.2  # outside the training range too
    np.testing.assert_allclose(
        outputs(estimator, X_new),
        outputs(by_hand, encoded_by_hand(X_new, expected_edges)),
        rtol=1e-9,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        estimator.score(X, Y[kind]),
        by_hand.score(encoded_by_hand(X, expected_edges), Y[kind]),
        rtol=1e-9,
    )


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_without_numeric_bins_the_features_go_in_as_they_are(kind):
    estimator = fit_quietly(ESTIMATORS[kind](**AS_THEY_ARE), X, Y[kind])
    assert estimator.bin_edges_ is None
    assert estimator.coefs_[0].shape == (4, 8)
    # A refit without numeric_bins forgets the edges of an earlier fit.
    estimator.set_params(numeric_bins=4)
    fit_quietly(estimator, X, Y[kind])
    fit_quietly(estimator.set_params(numeric_bins=None), X, Y[kind])
    assert estimator.bin_edges_ is None and estimator.coefs_[0].shape == (4, 8)


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_a_refit_with_other_bins_predicts_as_a_fresh_fit(kind):
    refitted = fit_quietly(ESTIMATORS[kind](numeric_bins=4, **SMALL), X, Y[kind])
    fit_quietly(refitted.set_params(numeric_bins=3), X, Y[kind])
    fresh = fit_quietly(ESTIMATORS[kind](numeric_bins=3, **SMALL), X, Y[kind])
    assert outputs(refitted, X * 1.5).tobytes() == outputs(fresh, X * 1.5).tobytes()
    loaded = pickle.loads(pickle.dumps(refitted))
    assert outputs(loaded, X * 1.5).tobytes() == outputs(fresh, X * 1.5).tobytes()


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_auto_is_sixteen_bins_for_a_dense_fit(kind):
    estimator = ESTIMATORS[kind](numeric_bins="auto", **SMALL)
    fit_quietly(estimator, X, Y[kind])
    sixteen = fit_quietly(ESTIMATORS[kind](numeric_bins=16, **SMALL), X, Y[kind])
    assert [e is None or len(e) for e in estimator.bin_edges_] == [17, True, 3, 17]
    assert outputs(estimator, X).tobytes() == outputs(sixteen, X).tobytes()


@pytest.mark.parametrize("kind", ESTIMATORS)
def test_auto_takes_sparse_x_and_partial_fit_as_they_are(kind):
    as_they_are = fit_quietly(ESTIMATORS[kind](**AS_THEY_ARE), X, Y[kind])
    sparse = fit_quietly(
        ESTIMATORS[kind](numeric_bins="auto", **SMALL), sp.csr_matrix(X), Y[kind]
    )
    assert sparse.bin_edges_ is None and sparse.coefs_[0].shape == (4, 8)
    # The same model: only the sparse products round differently.
    np.testing.assert_allclose(
        outputs(sparse, X), outputs(as_they_are, X), rtol=1e-9, atol=1e-12
    )
    streamed = ESTIMATORS[kind](numeric_bins="auto", early_stopping=False, **SMALL)
    classes = {"classes": np.unique(Y[kind])} if kind == "classifier" else {}
    streamed.partial_fit(X[:100], Y[kind][:100], **classes)
    assert streamed.bin_edges_ is None and streamed.coefs_[0].shape == (4, 8)


def test_partial_fit_learns_the_edges_from_its_first_rows_and_keeps_them():
    regressor = NNFSRegressor(numeric_bins=4, early_stopping=False, **SMALL)
    regressor.partial_fit(X[:100], Y["regressor"][:100])
    first_edges = bin_edges(X[:100], 4)
    regressor.partial_fit(X[100:], Y["regressor"][100:])
    for fitted, expected in zip(regressor.bin_edges_, first_edges, strict=True):
        np.testing.assert_array_equal(fitted, expected)


def test_a_warm_start_keeps_the_edges_whatever_numeric_bins_says_then():
    regressor = fit_quietly(NNFSRegressor(numeric_bins=4, **SMALL), X, Y["regressor"])
    edges = copy.deepcopy(regressor.bin_edges_)
    regressor.set_params(warm_start=True, numeric_bins=None)
    fit_quietly(regressor, X[::2], Y["regressor"][::2])
    for fitted, expected in zip(regressor.bin_edges_, edges, strict=True):
        np.testing.assert_array_equal(fitted, expected)
    assert regressor.coefs_[0].shape == (11, 8)


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("bins", [1, 0, 2.5, "8"])
def test_numeric_bins_must_be_an_int_of_at_least_two(bins):
    with pytest.raises(InvalidParameterError, match="'numeric_bins' parameter"):
        NNFSRegressor(numeric_bins=bins).fit(X, Y["regressor"])


def test_sparse_x_is_a_clear_error_and_leaves_the_estimator_as_it_was():
    regressor = NNFSRegressor(numeric_bins=4, **SMALL)
    with pytest.raises(TypeError, match="numeric_bins=4 encodes dense features"):
        regressor.fit(sp.csr_matrix(X), Y["regressor"])
    assert not hasattr(regressor, "bin_edges_")
    fit_quietly(regressor, X, Y["regressor"])
    fitted = pickle.dumps(regressor)
    with pytest.raises(TypeError, match="fitted with numeric_bins.*X is sparse"):
        regressor.predict(sp.csr_matrix(X))
    assert pickle.dumps(regressor) == fitted


def test_non_finite_rows_are_refused_at_prediction():
    regressor = fit_quietly(NNFSRegressor(numeric_bins=4, **SMALL), X, Y["regressor"])
    for value in (np.nan, np.inf):
        X_bad = X[:5].copy()
        X_bad[2, 0] = value
        with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
            regressor.predict(X_bad)


def test_a_dask_fit_refuses_numeric_bins_before_it_needs_a_cluster():
    da = pytest.importorskip("dask.array", reason="needs the dask extra")
    regressor = NNFSRegressor(numeric_bins=4)
    with pytest.raises(ValueError, match="numeric_bins is not available on a Dask"):
        regressor.fit(da.from_array(X, chunks=60), da.from_array(Y["regressor"]))
    assert not hasattr(regressor, "n_features_in_")


# ------------------------------------------------------------ persistence
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_pickles_and_clones_keep_the_encoding(kind):
    estimator = fit_quietly(ESTIMATORS[kind](numeric_bins=4, **SMALL), X, Y[kind])
    loaded = pickle.loads(pickle.dumps(estimator))
    assert outputs(loaded, X).tobytes() == outputs(estimator, X).tobytes()
    assert clone(estimator).get_params()["numeric_bins"] == 4


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda edges: edges[:3],
            "bin_edges_ has 3 items, where the network has 4 features",
        ),
        (
            lambda edges: [edges[0][:3], *edges[1:]],
            "bin_edges_ make 9 network inputs, where its network takes 11",
        ),
        (
            lambda edges: [edges[0][::-1], *edges[1:]],
            r"bin_edges_\[0\] is not None or a float64 array of at least two "
            "finite, increasing edges",
        ),
        (lambda edges: tuple(edges), "bin_edges_ is a tuple, not a list"),
    ],
    ids=["a feature missing", "a bin missing", "decreasing", "not a list"],
)
def test_an_edited_pickle_of_the_edges_is_refused(edit, problem):
    regressor = fit_quietly(NNFSRegressor(numeric_bins=4, **SMALL), X, Y["regressor"])
    payload = pickle_with_edited_state(
        regressor, lambda state: state.update(bin_edges_=edit(state["bin_edges_"]))
    )
    with pytest.raises(ValueError, match=f"Cannot load this NNFSRegressor: {problem}"):
        pickle.loads(payload)


def test_a_pickle_from_before_numeric_bins_loads_without_an_encoding():
    regressor = fit_quietly(NNFSRegressor(**SMALL), X, Y["regressor"])

    def as_before(state):
        del state["numeric_bins"], state["bin_edges_"]

    loaded = pickle.loads(pickle_with_edited_state(regressor, as_before))
    assert loaded.numeric_bins is None and loaded.bin_edges_ is None
    assert loaded.predict(X).tobytes() == regressor.predict(X).tobytes()


# ------------------------------------------------------------------ ONNX
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnx_computes_the_encoding_as_predict_does(dtype):
    runtime = pytest.importorskip("onnxruntime", reason="needs the onnx extra")
    from sknnfs.onnx import to_onnx

    regressor = fit_quietly(NNFSRegressor(numeric_bins=4, **SMALL), X, Y["regressor"])
    X_new = (X * 1.5 - 0.2).astype(dtype)  # outside the training range too
    session = runtime.InferenceSession(
        to_onnx(regressor, X_new[:1]).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    (predicted,) = session.run(None, {session.get_inputs()[0].name: X_new})
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        predicted.ravel(), regressor.predict(X_new), rtol=tolerance, atol=tolerance
    )
