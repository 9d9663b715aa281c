"""Determinism, pickling and thread safety.

- the same ``random_state`` gives bit-identical weights and predictions,
  across runs and after ``clone``;
- pickle and joblib round trips (also memory-mapped) predict exactly as
  before, and the loaded model can keep training;
- pickles record a format version, and a format this version cannot read
  is a clear error, not a broken model;
- 8 threads calling ``predict_proba`` on one model get the serial results.
"""

import pickle
import threading
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._base import PICKLE_FORMAT

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
    assert state["_sknnfs_pickle_format"] == PICKLE_FORMAT == 1
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
        r".*reads only format 1",
    ):
        pickle.loads(payload)


def test_pickles_without_a_format_load_as_format_1():
    # Pickles written before the format was recorded have its layout.
    estimator = fit_quietly(make_estimator("regressor"), X, Y["regressor"])
    state = estimator.__getstate__()
    del state["_sknnfs_pickle_format"]
    restored = NNFSRegressor.__new__(NNFSRegressor)
    restored.__setstate__(state)
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))


@pytest.mark.parametrize("kind", Y)
def test_pickles_from_before_bias_init_load_with_zero_biases_as_their_start(kind):
    estimator = fit_quietly(make_estimator(kind), X, Y[kind])
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
    state = pickle.loads(pickle.dumps(estimator)).__getstate__()
    # As format 1 was written before the schedules and Nesterov's momentum.
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
    assert classifier.predict_proba(X).tobytes() == expected["classifier"].tobytes()
    assert regressor.predict(X).tobytes() == expected["regressor"].tobytes()
    classifier.partial_fit(X, y)
    # partial_fit now refuses early_stopping=True, as MLPRegressor does; it
    # never used it, so the outputs are those recorded with it.
    regressor.set_params(early_stopping=False)
    regressor.partial_fit(X, X @ np.arange(1.0, 5.0))
    assert (
        classifier.predict_proba(X).tobytes()
        == expected["classifier_partial_fit"].tobytes()
    )
    assert regressor.predict(X).tobytes() == expected["regressor_partial_fit"].tobytes()
