"""Determinism, pickling and thread safety.

- the same ``random_state`` gives bit-identical weights and predictions,
  across runs and after ``clone``;
- pickle and joblib round trips (also memory-mapped) predict exactly as
  before, and the loaded model can keep training;
- pickles record a format version, and a format this version cannot read
  is a clear error, not a broken model; so is a damaged or edited pickle
  (NaN or infinite parameters, arrays of another size or dtype, an
  optimizer state or fitted attributes that do not match the network);
  format 2 pickles the network, the optimizer and the generator as arrays
  and builtins (no sknnfs classes), and format 1 (the objects themselves,
  as sknnfs 0.1.0 wrote) still loads;
- 8 threads calling ``predict_proba`` on one model get the serial results.
"""

import copy
import pickle
import threading
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from _state import pickle_with_edited_state
from _stored import assert_matches_stored
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._persistence import PICKLE_FORMAT

RNG = np.random.default_rng(0)
X = RNG.standard_normal((120, 6))
Y = {
    "classifier": (X[:, 0] > 0).astype(int) + (X[:, 1] > 0),
    "regressor": X @ np.arange(1.0, 7.0),
}
CONFIGURATIONS = {
    "adam": {},
    "sgd, dropout, float32": {"optimizer": "sgd", "dropout": 0.3, "dtype": "float32"},
    "rmsprop, early stopping": {"optimizer": "rmsprop", "early_stopping": True},
}


def make_estimator(kind, **params):
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    params = {
        "hidden_layer_sizes": (16, 8),
        "batch_size": 32,
        "max_iter": 8,
        "random_state": 0,
        **params,
    }
    return estimator_class(**params)


def fit_quietly(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **kwargs)


def outputs(estimator, X):
    if isinstance(estimator, NNFSClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


# --------------------------------------------------------------- determinism
@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("kind", Y)
def test_same_random_state_gives_bit_identical_models(kind, configuration):
    template = make_estimator(kind, **CONFIGURATIONS[configuration])
    models = [
        fit_quietly(template, X, Y[kind]),
        fit_quietly(clone(template), X, Y[kind]),
        fit_quietly(make_estimator(kind, **CONFIGURATIONS[configuration]), X, Y[kind]),
    ]
    reference = models[0]
    for model in models[1:]:
        for coef, reference_coef in zip(model.coefs_, reference.coefs_, strict=True):
            assert coef.tobytes() == reference_coef.tobytes()
        assert outputs(model, X).tobytes() == outputs(reference, X).tobytes()
        assert model.loss_curve_ == reference.loss_curve_
    # And a different seed really gives a different model.
    other = fit_quietly(clone(template).set_params(random_state=1), X, Y[kind])
    assert other.coefs_[0].tobytes() != reference.coefs_[0].tobytes()


def test_a_random_state_instance_is_not_consumed_by_clone():
    # clone deep-copies a RandomState, so two clones draw the same weights.
    template = make_estimator("classifier", random_state=np.random.RandomState(3))
    first = fit_quietly(clone(template), X, Y["classifier"])
    second = fit_quietly(clone(template), X, Y["classifier"])
    assert first.coefs_[0].tobytes() == second.coefs_[0].tobytes()


# ---------------------------------------------------------------- round trips
def _round_trips(estimator, directory):
    yield "pickle", pickle.loads(pickle.dumps(estimator))
    path = directory / "model.joblib"
    joblib.dump(estimator, path)
    yield "joblib", joblib.load(path)
    yield "joblib mmap", joblib.load(path, mmap_mode="r")


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("kind", Y)
def test_round_trips_preserve_predictions_exactly(kind, configuration, tmp_path):
    estimator = fit_quietly(
        make_estimator(kind, **CONFIGURATIONS[configuration]), X, Y[kind]
    )
    expected = outputs(estimator, X)
    for how, loaded in _round_trips(estimator, tmp_path):
        assert type(loaded) is type(estimator), how
        assert outputs(loaded, X).tobytes() == expected.tobytes(), how
        np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
        assert loaded.get_params() == estimator.get_params(), how


@pytest.mark.parametrize("kind", Y)
def test_a_loaded_model_trains_on_exactly_like_the_original(kind, tmp_path):
    # Same weights, optimizer state and generator: one more partial_fit
    # gives the same weights, even from read-only memory-mapped arrays.
    estimator = make_estimator(kind)
    extra = {"classes": np.unique(Y[kind])} if kind == "classifier" else {}
    for _ in range(2):
        estimator.partial_fit(X, Y[kind], **extra)
    loaded_models = [loaded for _, loaded in _round_trips(estimator, tmp_path)]
    estimator.partial_fit(X, Y[kind])
    for loaded in loaded_models:
        loaded.partial_fit(X, Y[kind])
        assert loaded._network.flat_params.tobytes() == (
            estimator._network.flat_params.tobytes()
        )


def test_the_memory_mapped_load_really_is_read_only(tmp_path):
    estimator = fit_quietly(make_estimator("regressor"), X, Y["regressor"])
    *_, (_, loaded) = _round_trips(estimator, tmp_path)
    assert not loaded._network.flat_params.flags.writeable


# -------------------------------------------------------------- pickle format
def test_pickles_record_their_format_without_touching_the_estimator():
    estimator = fit_quietly(make_estimator("classifier"), X, Y["classifier"])
    state = estimator.__getstate__()
    assert state["_sknnfs_pickle_format"] == PICKLE_FORMAT == 2
    assert "_sknnfs_pickle_format" not in estimator.__dict__
    loaded = pickle.loads(pickle.dumps(estimator))
    assert "_sknnfs_pickle_format" not in loaded.__dict__


@pytest.mark.parametrize("kind", Y)
def test_an_unreadable_pickle_format_is_a_clear_error(kind):
    estimator = fit_quietly(make_estimator(kind), X, Y[kind])
    estimator_class = type(estimator)

    class FromAFutureVersion:
        """Pickles exactly as this estimator would with format 999."""

        def __reduce__(self):
            state = {**estimator.__getstate__(), "_sknnfs_pickle_format": 999}
            return object.__new__, (estimator_class,), state

    payload = pickle.dumps(FromAFutureVersion())
    with pytest.raises(
        ValueError,
        match=rf"Cannot load this {estimator_class.__name__}: .*pickle format 999"
        r".*reads only formats 1 and 2",
    ):
        pickle.loads(payload)


@pytest.mark.parametrize("recorded_format", ({"_sknnfs_pickle_format": 1}, {}))
def test_format_1_pickles_of_the_objects_themselves_still_load(recorded_format):
    # Format 1 pickled the estimator's __dict__ as it is, network, optimizer
    # and generator included; pickles written before the format was recorded
    # have its layout.
    estimator = make_estimator("regressor")
    for _ in range(2):
        estimator.partial_fit(X, Y["regressor"])
    state = copy.deepcopy({**vars(estimator), **recorded_format})
    restored = NNFSRegressor.__new__(NNFSRegressor)
    restored.__setstate__(state)
    assert restored.predict(X).tobytes() == estimator.predict(X).tobytes()
    estimator.partial_fit(X, Y["regressor"])
    restored.partial_fit(X, Y["regressor"])
    assert restored.predict(X).tobytes() == estimator.predict(X).tobytes()


# The leaves a format 2 pickle may hold: what skops.io trusts by default.
BUILTIN_LEAVES = (bool, int, float, str, type(None), np.ndarray, np.generic)


def leaves(value, path="state"):
    """``(path, leaf)`` for every leaf of nested dicts, lists and tuples."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(key, f"{path} key")
            yield from leaves(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    else:
        yield path, value


@pytest.mark.parametrize("optimizer", ("sgd", "adagrad", "rmsprop", "adam", "lbfgs"))
@pytest.mark.parametrize("kind", Y)
def test_the_pickled_state_is_arrays_and_builtins(kind, optimizer):
    dropout = 0.0 if optimizer == "lbfgs" else 0.2  # L-BFGS refuses dropout
    estimator = fit_quietly(
        make_estimator(kind, optimizer=optimizer, dropout=dropout, l2=1e-4), X, Y[kind]
    )
    objects = {
        name: vars(estimator)[name]
        for name in ("_network", "_optimizer", "_training_rng")
    }
    state = estimator.__getstate__()
    not_builtin = {
        path: type(leaf).__qualname__
        for path, leaf in leaves(state)
        if not isinstance(leaf, BUILTIN_LEAVES)
    }
    assert not_builtin == {}
    assert np.shares_memory(state["_network"]["flat_params"], estimator.coefs_[0])
    # Pickling reads the fitted objects; it neither replaces nor changes them.
    for name, fitted_object in objects.items():
        assert vars(estimator)[name] is fitted_object
    assert type(estimator._training_rng) is np.random.Generator


@pytest.mark.parametrize(
    "configuration",
    (
        {
            "optimizer": "sgd",
            "momentum": 0.5,
            "nesterov": True,
            "learning_rate_schedule": "invscaling",
            "dropout": 0.3,
            "dtype": "float32",
        },
        {"optimizer": "adagrad", "l1": 1e-3, "bias_l2": 1e-3, "activation": "tanh"},
        {"optimizer": "rmsprop", "activation": "sigmoid", "decay": 1e-2},
        {"optimizer": "adam", "activation": "linear", "l2": 1e-3, "bias_l1": 1e-4},
    ),
)
def test_a_format_2_pickle_rebuilds_the_same_objects(configuration):
    estimator = make_estimator("classifier", **configuration)
    for _ in range(2):
        estimator.partial_fit(X, Y["classifier"], classes=[0, 1, 2])
    loaded = pickle.loads(pickle.dumps(estimator))
    network, loaded_network = estimator._network, loaded._network
    assert loaded_network.dtype == network.dtype
    assert loaded_network.layer_sizes == network.layer_sizes
    assert type(loaded_network.hidden_activation) is type(network.hidden_activation)
    assert type(loaded_network.loss) is type(network.loss)
    assert loaded_network.dropout.rate == network.dropout.rate
    for layer, loaded_layer in zip(network.layers, loaded_network.layers, strict=True):
        for name in ("l1", "l2", "bias_l1", "bias_l2"):
            assert getattr(loaded_layer, name) == getattr(layer, name)
        assert np.shares_memory(loaded_layer.weights, loaded_network.flat_params)
        assert loaded_layer.weights.tobytes() == layer.weights.tobytes()
    optimizer, loaded_optimizer = estimator._optimizer, loaded._optimizer
    assert type(loaded_optimizer) is type(optimizer)
    assert loaded_optimizer.iterations == optimizer.iterations == 8  # 2 x 4 batches
    assert vars(loaded_optimizer).keys() == vars(optimizer).keys()
    for arrays, loaded_arrays in zip(
        optimizer.state, loaded_optimizer.state, strict=True
    ):
        for array, loaded_array in zip(arrays, loaded_arrays, strict=True):
            assert loaded_array.tobytes() == array.tobytes()
    assert loaded._training_rng.random() == estimator._training_rng.random()


@pytest.mark.parametrize("kind", Y)
def test_pickles_from_before_bias_init_load_with_zero_biases_as_their_start(kind):
    # Such a pickle was trained from zero biases, the only start there was.
    estimator = fit_quietly(make_estimator(kind, bias_init="zeros"), X, Y[kind])
    state = estimator.__getstate__()
    del state["bias_init"]  # as format 1 was written before the parameter
    restored = type(estimator).__new__(type(estimator))
    restored.__setstate__(state)
    assert restored.get_params()["bias_init"] == "zeros"
    assert repr(restored) == repr(estimator)
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))


@pytest.mark.parametrize("kind", Y)
def test_pickles_from_before_schedules_load_and_train_on_as_before(kind):
    estimator = make_estimator(kind, optimizer="sgd")
    extra = {"classes": np.unique(Y[kind])} if kind == "classifier" else {}
    estimator.partial_fit(X, Y[kind], **extra)
    # Format 1 pickled the estimator's objects themselves (of a copy, here,
    # to edit), as it was written before the schedules and Nesterov's momentum.
    state = {**vars(pickle.loads(pickle.dumps(estimator))), "_sknnfs_pickle_format": 1}
    for name in ("learning_rate_schedule", "power_t", "nesterov"):
        del state[name]
        del state["_optimizer"].__dict__[name]
    del state["_optimizer"].__dict__["scheduled_learning_rate"]
    restored = type(estimator).__new__(type(estimator))
    restored.__setstate__(pickle.loads(pickle.dumps(state)))
    assert repr(restored) == repr(estimator)
    assert restored.get_params() == estimator.get_params()
    restored.partial_fit(X, Y[kind])
    estimator.partial_fit(X, Y[kind])
    assert restored._network.flat_params.tobytes() == (
        estimator._network.flat_params.tobytes()
    )


# ------------------------------------------------- damaged or edited pickles
# The classifier below has layers of sizes (6, 16, 8, 3): its flat_params
# hold coefs_[0] at 0..95, intercepts_[0] at 96..111, coefs_[1] at 112..239,
# intercepts_[1] at 240..247, coefs_[2] at 248..271, intercepts_[2] at
# 272..274. Each edit changes the saved state as an editor of the file would.
def _set_value(position, value):
    def edit(state):
        state["_network"]["flat_params"][position] = value

    return edit


def _set_network(**changes):
    def edit(state):
        state["_network"].update(
            {name: change(state["_network"][name]) for name, change in changes.items()}
        )

    return edit


def _set_attribute(name, value):
    def edit(state):
        state[name] = value

    return edit


def _set_optimizer_state(change):
    def edit(state):
        attributes = state["_optimizer"]["attributes"]
        attributes["state"] = [change(*attributes["state"][0])]

    return edit


def _both(*edits):
    def edit(state):
        for each_edit in edits:
            each_edit(state)

    return edit


def _poisoned(array):
    array = array.copy()
    array[-1] = np.nan
    return array


TAMPERED_CLASSIFIER_STATES = {
    "NaN weight": (
        _set_value(150, np.nan),
        r"coefs_\[1\] must be finite in float64 .*it holds NaN or infinity",
    ),
    "infinite bias": (_set_value(100, np.inf), r"intercepts_\[0\] must be finite"),
    "an extra value": (
        _set_network(flat_params=lambda flat: np.append(flat, 0.5)),
        r"its network's weights and biases \(flat_params\) are an array of shape "
        r"\(276,\), where layers of sizes \(6, 16, 8, 3\) have 275",
    ),
    "float32 weights": (
        _set_network(flat_params=lambda flat: flat.astype(np.float32)),
        "the dtype of its network's weights and biases is float32, where the "
        "network's is float64",
    ),
    "first weight matrix transposed": (
        _set_network(layer_sizes=lambda sizes: [16, 6, 8, 3]),
        r"its network's .* are an array of shape \(275,\), where layers of sizes "
        r"\(16, 6, 8, 3\) have 185",
    ),
    # A network and optimizer whole in themselves: layers (6, 16) and
    # (16, 3), with the first values of the parameters and of Adam's
    # moments, but the estimator's attributes describe 4 layers.
    "hidden layer missing": (
        _both(
            _set_network(
                layer_sizes=lambda sizes: [6, 16, 3],
                flat_params=lambda flat: flat[:163],
            ),
            _set_optimizer_state(lambda first, second: (first[:163], second[:163])),
        ),
        "n_layers_ is 4, where its network's is 3",
    ),
    "unknown hidden activation": (
        _set_network(hidden_activation=lambda activation: "swish"),
        r"its network's hidden activation is 'swish', not one of \['linear', "
        r"'relu', 'sigmoid', 'tanh'\]",
    ),
    "unknown optimizer": (
        lambda state: state["_optimizer"].update(optimizer="lion"),
        "its optimizer is 'lion', not one of",
    ),
    "weights missing": (
        lambda state: state["_network"].pop("flat_params"),
        "its saved state lacks the entry 'flat_params'",
    ),
    "n_features_in_ changed": (
        _set_attribute("n_features_in_", 7),
        "n_features_in_ is 7, where its network's is 6",
    ),
    "a class added": (
        _set_attribute("classes_", np.array([0, 1, 2, 3])),
        r"classes_ has shape \(4,\), where its network's 3 outputs give the "
        "probabilities of 3 classes",
    ),
    "classes out of order": (
        _set_attribute("classes_", np.array([2, 0, 1])),
        r"classes_ are array\(\[2, 0, 1\]\), not distinct and sorted",
    ),
    "Adam's first moments cut short": (
        _set_optimizer_state(lambda first, second: (first[:-1], second)),
        r"its optimizer's state array 0 has shape \(274,\), where the network's "
        r"parameters have shape \(275,\)",
    ),
    "NaN in Adam's second moments": (
        _set_optimizer_state(lambda first, second: (first, _poisoned(second))),
        "its optimizer's state array 1 must be finite",
    ),
    "Adam's second moments missing": (
        _set_optimizer_state(lambda first, second: (first,)),
        r"its Adam optimizer holds \[1\] state arrays per parameter array, where it "
        r"keeps \[2\]",
    ),
}


@pytest.mark.parametrize("case", TAMPERED_CLASSIFIER_STATES)
def test_a_damaged_or_edited_pickle_is_refused_naming_the_problem(case):
    edit, problem = TAMPERED_CLASSIFIER_STATES[case]
    estimator = fit_quietly(make_estimator("classifier"), X, Y["classifier"])
    assert estimator._network.layer_sizes == (6, 16, 8, 3)  # the offsets above
    payload = pickle_with_edited_state(estimator, edit)
    with pytest.raises(
        ValueError, match=rf"Cannot load this NNFSClassifier: {problem}"
    ):
        pickle.loads(payload)
    # The same state unedited loads, and predicts as the estimator does.
    unedited = pickle.loads(pickle_with_edited_state(estimator, lambda state: None))
    assert unedited.predict_proba(X).tobytes() == estimator.predict_proba(X).tobytes()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            _set_network(loss=lambda loss: "poisson"),
            "out_activation_ is 'identity', where its network's is 'exp'",
        ),
        (
            _both(
                _set_network(loss=lambda loss: "softmax_crossentropy"),
                _set_attribute("out_activation_", "softmax"),
            ),
            "its network's loss is 'softmax_crossentropy', a classifier's",
        ),
    ],
    ids=["loss", "loss and out_activation_"],
)
def test_an_edited_regressor_pickle_is_refused_naming_the_problem(edit, problem):
    estimator = fit_quietly(make_estimator("regressor"), X, Y["regressor"])
    payload = pickle_with_edited_state(estimator, edit)
    with pytest.raises(ValueError, match=rf"Cannot load this NNFSRegressor: {problem}"):
        pickle.loads(payload)


def test_a_damaged_format_1_pickle_is_refused_too():
    # Format 1 pickled the network itself: its parameters are checked alike.
    estimator = fit_quietly(make_estimator("regressor"), X, Y["regressor"])
    state = copy.deepcopy({**vars(estimator), "_sknnfs_pickle_format": 1})
    state["_network"].flat_params[-1] = np.inf
    restored = NNFSRegressor.__new__(NNFSRegressor)
    with pytest.raises(ValueError, match=r"intercepts_\[2\] must be finite"):
        restored.__setstate__(state)
    assert vars(restored) == {}  # nothing was loaded


# -------------------------------------------------------------------- threads
@pytest.mark.parametrize("dtype", ("float64", "float32"))
def test_concurrent_predict_proba_matches_serial_results(dtype):
    big_X = np.random.default_rng(1).standard_normal((3000, 6))
    classifier = fit_quietly(
        make_estimator("classifier", hidden_layer_sizes=(64, 64), dtype=dtype),
        X,
        Y["classifier"],
    )
    # Each thread predicts different rows (different batch sizes too), so
    # a shared buffer anywhere would mix their results.
    row_sets = [big_X[start::8][: 200 + 100 * start] for start in range(8)]
    serial = [classifier.predict_proba(rows) for rows in row_sets]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(index):
        barrier.wait()
        results[index] = [classifier.predict_proba(row_sets[index]) for _ in range(5)]

    threads = [threading.Thread(target=work, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(8):
        for result in results[index]:
            assert result.tobytes() == serial[index].tobytes()


# --------------------------------------------------------- pickles of 0.1.0
DATA = Path(__file__).resolve().parent / "data"


def test_pickles_written_by_sknnfs_0_1_0_load_predict_and_keep_training():
    # Written by sknnfs 0.1.0 (commit 9ed0821): a classifier (Adam, dropout,
    # L2, two hidden layers) and a float32 regressor (SGD, early stopping),
    # fitted for 5 epochs with random_state=0; the outputs were recorded
    # then, after one further partial_fit for the *_partial_fit ones.
    with open(DATA / "sknnfs-0.1.0-models.pkl", "rb") as file:
        models = pickle.load(file)
    expected = np.load(DATA / "sknnfs-0.1.0-outputs.npz")
    X, y = expected["X"], expected["y"]
    classifier, regressor = models["classifier"], models["regressor"]
    # Up to what another CPU's BLAS kernel may change (tests/_stored.py).
    assert_matches_stored(classifier.predict_proba(X), expected["classifier"])
    assert_matches_stored(regressor.predict(X), expected["regressor"])
    classifier.partial_fit(X, y)
    # partial_fit now refuses early_stopping=True, as MLPRegressor does; it
    # never used it, so the outputs are those recorded with it.
    regressor.set_params(early_stopping=False)
    regressor.partial_fit(X, X @ np.arange(1.0, 5.0))
    assert_matches_stored(
        classifier.predict_proba(X), expected["classifier_partial_fit"]
    )
    assert_matches_stored(regressor.predict(X), expected["regressor_partial_fit"])
