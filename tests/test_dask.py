"""Scale-out on Dask, and estimators whose arrays are read-only.

The cluster tests need the ``[dask]`` extra (dask[array], distributed) and are
skipped without it; they share one two-process LocalCluster on the loopback
interface. The read-only tests need nothing beyond the package: a worker that
receives an estimator through an object store (or joblib's memory mapping)
gets read-only arrays, and training must go on from them.
"""

import math
import pickle
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sknnfs import NNFSClassifier, NNFSRegressor

CLASSES = np.array([0, 1, 2])
CHUNK_ROWS = 60
DASK_EXTRA = 'the cluster tests need the dask extra: pip install -e ".[dask]"'


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240,
        n_features=6,
        n_informative=4,
        n_classes=3,
        random_state=0,
    )
    return X, y


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    pytest.importorskip("dask", reason=DASK_EXTRA)
    distributed = pytest.importorskip("distributed", reason=DASK_EXTRA)
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        local_directory=str(tmp_path_factory.mktemp("dask-worker-space")),
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def small_classifier(**params):
    # Every row trained on, in every round (the counts below assume it).
    settings = dict(
        hidden_layer_sizes=(8,),
        learning_rate=0.01,
        max_iter=8,
        batch_size=32,
        random_state=0,
        early_stopping=False,
    )
    settings.update(params)
    return NNFSClassifier(**settings)


# ----------------------------------------------------------------- joblib
def test_grid_search_on_dask_matches_serial(client, data):
    from distributed import get_task_stream

    X, y = data
    grid = {"hidden_layer_sizes": [(4,), (8,)], "l2": [0.0, 1e-2]}
    searches = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        searches["serial"] = GridSearchCV(small_classifier(), grid, cv=3).fit(X, y)
        with joblib.parallel_config(backend="dask"), get_task_stream() as tasks:
            searches["dask"] = GridSearchCV(
                small_classifier(), grid, cv=3, n_jobs=-1
            ).fit(X, y)
    # The fits ran on the cluster's workers.
    assert len({task["worker"] for task in tasks.data}) == 2
    serial, on_dask = searches["serial"], searches["dask"]
    assert on_dask.best_params_ == serial.best_params_
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_allclose(
            on_dask.cv_results_[key], serial.cv_results_[key], rtol=1e-12
        )
    # The four candidates really differ: equality above is not vacuous.
    assert len(set(serial.cv_results_["mean_test_score"])) == 4


def test_cross_val_score_on_dask_matches_serial(client, data):
    X, y = data
    cv = KFold(4, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = cross_val_score(small_classifier(dropout=0.1), X, y, cv=cv)
        with joblib.parallel_config(backend="dask"):
            on_dask = cross_val_score(
                small_classifier(dropout=0.1), X, y, cv=cv, n_jobs=-1
            )
    np.testing.assert_allclose(on_dask, serial, rtol=1e-12)
    assert np.all(serial < 0)  # the default score is the negated log-loss


# ----------------------------------------------------------- dask arrays
def _partial_fit(estimator, X_block, y_block):
    return estimator.partial_fit(X_block, y_block, classes=CLASSES)


def test_partial_fit_streamed_over_dask_blocks_matches_in_memory(client, data):
    import dask
    import dask.array as da

    X, y = data
    X_dask = da.from_array(X, chunks=(CHUNK_ROWS, -1))
    y_dask = da.from_array(y, chunks=CHUNK_ROWS)
    X_blocks = X_dask.to_delayed().ravel()
    y_blocks = y_dask.to_delayed().ravel()
    assert len(X_blocks) == len(X) // CHUNK_ROWS

    # Each block's partial_fit is one task; the estimator travels from task to
    # task (and from worker to worker) as a pickled result.
    streamed = dask.delayed(small_classifier(dropout=0.2))
    for X_block, y_block in zip(X_blocks, y_blocks, strict=True):
        streamed = dask.delayed(_partial_fit)(streamed, X_block, y_block)
    streamed = client.compute(streamed).result()

    in_memory = small_classifier(dropout=0.2)
    for start in range(0, len(X), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        in_memory.partial_fit(X[rows], y[rows], classes=CLASSES)

    assert len(streamed.loss_curve_) == len(in_memory.loss_curve_) == len(X_blocks)
    assert streamed.t_ == in_memory.t_ == len(X)
    for streamed_weights, weights in zip(
        streamed.coefs_ + streamed.intercepts_,
        in_memory.coefs_ + in_memory.intercepts_,
        strict=True,
    ):
        np.testing.assert_allclose(streamed_weights, weights, rtol=1e-12, atol=0)
    # And training did move the weights away from their initial values.
    initial = small_classifier(dropout=0.2, max_iter=1)
    initial.partial_fit(X[: 0 + CHUNK_ROWS], y[:CHUNK_ROWS], classes=CLASSES)
    assert not np.allclose(initial.coefs_[0], in_memory.coefs_[0])


def test_prediction_with_map_blocks_matches_numpy(client, data):
    import dask.array as da

    X, y = data
    X32 = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small_classifier().fit(X32, y)
    assert clf._network.dtype == np.float32
    X_dask = da.from_array(X32, chunks=(50, -1))  # uneven last block on purpose

    proba = X_dask.map_blocks(
        clf.predict_proba,
        dtype=np.float32,
        chunks=(X_dask.chunks[0], (len(CLASSES),)),
    ).compute()
    labels = X_dask.map_blocks(clf.predict, dtype=y.dtype, drop_axis=1).compute()

    expected = clf.predict_proba(X32)
    assert proba.dtype == np.float32 and proba.shape == expected.shape
    np.testing.assert_allclose(proba, expected, rtol=1e-5)
    np.testing.assert_array_equal(labels, clf.predict(X32))


def test_dask_ml_incremental_and_parallel_post_fit(client, data):
    dask_ml_wrappers = pytest.importorskip(
        "dask_ml.wrappers",
        reason="dask-ml is optional, in no extra: pip install dask-ml",
    )
    import dask.array as da

    X, y = data
    X_dask = da.from_array(X, chunks=(CHUNK_ROWS, -1))
    y_dask = da.from_array(y, chunks=CHUNK_ROWS)
    incremental = dask_ml_wrappers.Incremental(
        small_classifier(), shuffle_blocks=False
    ).fit(X_dask, y_dask, classes=CLASSES)

    in_memory = small_classifier()
    for start in range(0, len(X), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        in_memory.partial_fit(X[rows], y[rows], classes=CLASSES)
    np.testing.assert_allclose(
        incremental.estimator_.coefs_[0], in_memory.coefs_[0], rtol=1e-12
    )

    post_fit = dask_ml_wrappers.ParallelPostFit(small_classifier()).fit(X, y)
    np.testing.assert_allclose(
        post_fit.predict_proba(X_dask).compute(),
        post_fit.estimator.predict_proba(X),
        rtol=1e-12,
    )


# ------------------------------------------------------ read-only arrays
def _fitted(data, **params):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return small_classifier(**params).fit(X, y)


def _make_read_only(estimator):
    """The estimator as a worker receives it: a copy whose arrays are read-only."""
    copy = pickle.loads(pickle.dumps(estimator))
    copy._network.flat_params.flags.writeable = False
    for layer in copy._network.layers:
        layer.weights.flags.writeable = False
        layer.biases.flags.writeable = False
    for arrays in copy._optimizer.state:
        for array in arrays:
            array.flags.writeable = False
    return copy


def _read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", "adagrad"])
def test_partial_fit_on_read_only_estimator_and_data(data, optimizer):
    X, y = data
    fitted = _fitted(data, optimizer=optimizer)
    writeable = pickle.loads(pickle.dumps(fitted))
    read_only = _make_read_only(fitted)
    frozen_params = read_only._network.flat_params
    frozen_state = [
        array.copy() for arrays in read_only._optimizer.state for array in arrays
    ]

    writeable.partial_fit(X[:100], y[:100])
    read_only.partial_fit(_read_only(X[:100]), _read_only(y[:100]))

    # The same update as from writeable arrays, and the frozen arrays are
    # left untouched (copied, not written through).
    np.testing.assert_array_equal(
        read_only._network.flat_params, writeable._network.flat_params
    )
    np.testing.assert_array_equal(frozen_params, fitted._network.flat_params)
    assert not np.array_equal(read_only._network.flat_params, frozen_params)
    state_after = [a for arrays in read_only._optimizer.state for a in arrays]
    assert all(a.flags.writeable for a in state_after)
    assert any(
        not np.array_equal(after, before)
        for after, before in zip(state_after, frozen_state, strict=True)
    )
    # The layer views follow the new parameter array.
    assert np.shares_memory(read_only.coefs_[0], read_only._network.flat_params)


def test_warm_start_fit_on_read_only_estimator(data):
    X, y = data
    fitted = _fitted(data)
    writeable = pickle.loads(pickle.dumps(fitted)).set_params(warm_start=True)
    read_only = _make_read_only(fitted).set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        writeable.fit(X, y)
        read_only.fit(_read_only(X), _read_only(y))
    np.testing.assert_array_equal(
        read_only._network.flat_params, writeable._network.flat_params
    )
    assert read_only.t_ == writeable.t_ == 2 * fitted.t_


def test_training_continues_from_a_joblib_memory_map(data, tmp_path):
    X, y = data
    fitted = _fitted(data)
    path = tmp_path / "model.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path, mmap_mode="r")
    assert not loaded._network.flat_params.flags.writeable  # really memory-mapped
    loaded.partial_fit(X, y)
    fitted.partial_fit(X, y)
    np.testing.assert_array_equal(
        loaded._network.flat_params, fitted._network.flat_params
    )
    loaded.set_params(warm_start=True).fit(X, y)  # and again, after partial_fit
    # The file on disk is unchanged.
    np.testing.assert_array_equal(
        joblib.load(path)._network.flat_params,
        joblib.load(path, mmap_mode="r")._network.flat_params,
    )


# ------------------------------------------- data-parallel fit on a cluster
# fit on dask collections trains on the cluster (sknnfs/_distributed.py).
ROWS = 70  # rows of each partition in these tests (the last has 30)


def as_dask(*arrays, rows=ROWS, guarded=True):
    """Each array as a dask array in partitions of ``rows`` rows.

    With ``guarded``, the partitions of X (the first array) refuse to be
    computed in this process: a fit that succeeds trained on the workers.
    """
    import os

    import dask.array as da

    collections = [
        None
        if values is None
        else da.from_array(values, chunks=(rows,) + values.shape[1:])
        for values in arrays
    ]
    if guarded:
        X = collections[0]
        collections[0] = X.map_blocks(_refuse_the_client, os.getpid(), dtype=X.dtype)
    return collections


def _refuse_the_client(block, client_pid):
    """A block computed anywhere but in the client's process."""
    import os

    if os.getpid() == client_pid:
        raise AssertionError("the client computed a partition of X")
    return block


def both_fits(estimator, X, y, sample_weight=None, rows=ROWS):
    """The estimator fitted on the cluster, and a clone fitted in this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        local = clone(estimator).fit(X, y, sample_weight)
        on_cluster = estimator.fit(*as_dask(X, y, sample_weight, rows=rows))
    return on_cluster, local


def weights_for(y):
    return np.random.default_rng(1).uniform(0.0, 3.0, len(y))


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(
        n_samples=240, n_features=6, n_targets=2, noise=1.0, random_state=0
    )
    return X, y / 100


LBFGS_CASES = {
    "classifier": (NNFSClassifier, {}, False),
    "sample and balanced class weights": (
        NNFSClassifier,
        {"class_weight": "balanced"},
        True,
    ),
    "class weight dict, float32": (
        NNFSClassifier,
        {"class_weight": {0: 3.0, 2: 0.5}, "dtype": "float32"},
        False,
    ),
    "regressor, two outputs, sample weights": (NNFSRegressor, {}, True),
    # The partitions' objective is the network's training loss, smoothed.
    "label smoothing": (NNFSClassifier, {"label_smoothing": 0.2}, False),
}


@pytest.mark.parametrize("case", LBFGS_CASES)
def test_lbfgs_on_the_cluster_is_the_single_machine_fit(
    client, data, regression_data, case
):
    estimator_class, params, weighted = LBFGS_CASES[case]
    X, y = regression_data if estimator_class is NNFSRegressor else data
    sample_weight = weights_for(y) if weighted else None
    estimator = estimator_class(
        hidden_layer_sizes=(8,),
        optimizer="lbfgs",
        max_iter=20,
        random_state=0,
        **params,
    )
    on_cluster, local = both_fits(estimator, X, y, sample_weight)
    # The same objective (the weights scaled over all partitions, not each):
    # the same iterations, up to the order of the sums.
    rtol = 1e-4 if params.get("dtype") == "float32" else 1e-6
    assert on_cluster.loss_ == pytest.approx(local.loss_, rel=rtol)
    np.testing.assert_allclose(on_cluster.loss_curve_, local.loss_curve_, rtol=rtol)
    assert on_cluster.n_iter_ == local.n_iter_ == 20
    assert on_cluster.t_ == local.t_ == 20 * len(X)
    assert on_cluster.n_features_in_ == 6
    assert on_cluster._network.dtype == local._network.dtype
    predict = "predict" if estimator_class is NNFSRegressor else "predict_proba"
    np.testing.assert_allclose(
        getattr(on_cluster, predict)(X),
        getattr(local, predict)(X),
        rtol=rtol,
        atol=1e-6,
    )
    if estimator_class is NNFSClassifier:
        np.testing.assert_array_equal(on_cluster.classes_, local.classes_)


def test_class_weights_change_the_cluster_fit_as_they_change_a_local_one(client, data):
    # The test above would pass if the cluster ignored both kinds of weights
    # in both fits: they must change the loss.
    X, y = data
    plain = NNFSClassifier(hidden_layer_sizes=(8,), optimizer="lbfgs", max_iter=5)
    balanced = clone(plain).set_params(class_weight={0: 3.0, 2: 0.5})
    X_dask, y_dask, w_dask = as_dask(X, y, weights_for(y))
    losses = {
        fit.loss_
        for fit in (
            clone(plain).set_params(random_state=0).fit(X_dask, y_dask),
            clone(plain).set_params(random_state=0).fit(X_dask, y_dask, w_dask),
            balanced.set_params(random_state=0).fit(X_dask, y_dask),
        )
    }
    assert len(losses) == 3


@pytest.fixture(scope="module")
def synth20k():
    """A synth60k-like problem, smaller: 20,000 training rows, 4,000 held out."""
    X, y = make_classification(
        n_samples=24_000,
        n_features=20,
        n_informative=12,
        n_classes=4,
        random_state=0,
    )
    return X[:20_000], y[:20_000], X[20_000:], y[20_000:]


def test_adam_on_the_cluster_reaches_the_single_machine_accuracy(client, synth20k):
    X, y, X_test, y_test = synth20k
    # Both train until their stopping rule ends them. A round averages two
    # models (one per worker thread) that each took half an epoch's steps:
    # the cluster needs more rounds than the single machine needs epochs.
    estimator = NNFSClassifier(
        hidden_layer_sizes=(32,),
        learning_rate=0.01,
        n_iter_no_change=5,
        max_iter=100,
        random_state=0,
        early_stopping=False,  # the rule on the training loss, over every row
    )
    on_cluster, local = both_fits(estimator, X, y, rows=5_000)
    assert on_cluster.n_iter_ < 100 and local.n_iter_ < 100  # both stopped by the rule
    accuracy = {
        "cluster": np.mean(on_cluster.predict(X_test) == y_test),
        "local": np.mean(local.predict(X_test) == y_test),
    }
    assert accuracy["local"] > 0.9  # something was learnt
    assert abs(accuracy["cluster"] - accuracy["local"]) <= 0.005, accuracy
    assert len(on_cluster.loss_curve_) == on_cluster.n_iter_
    assert on_cluster.t_ == on_cluster.n_iter_ * len(X)
    assert on_cluster.best_loss_ == min(on_cluster.loss_curve_)


@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_early_stopping_on_the_cluster_keeps_the_best_round(
    client, data, regression_data, estimator_class, epoch_weights
):
    X, y = data if estimator_class is NNFSClassifier else regression_data
    # Settings measured to stop early; for the regressor on its raw targets.
    raw_targets = {"target_scaling": None} if estimator_class is NNFSRegressor else {}
    estimator = estimator_class(
        hidden_layer_sizes=(8,),
        learning_rate=0.1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        tol=0.0,
        max_iter=30,
        random_state=0,
        **raw_targets,
    )
    on_cluster = estimator.fit(*as_dask(X, y))
    scores = on_cluster.validation_scores_
    assert 3 <= on_cluster.n_iter_ < 30 and len(scores) == on_cluster.n_iter_
    assert on_cluster.best_validation_score_ == max(scores)
    assert on_cluster.best_loss_ is None
    # The weights kept are those of the best round, not the last.
    best_round = int(np.argmax(scores))
    assert best_round < on_cluster.n_iter_ - 1
    np.testing.assert_array_equal(
        on_cluster._network.flat_params, epoch_weights[best_round]
    )
    # Each partition held out a fifth of its rows (rounded up): t_ counts
    # the rest, once a round.
    held_out = 3 * np.ceil(0.2 * ROWS) + np.ceil(0.2 * (len(X) - 3 * ROWS))
    assert on_cluster.t_ == on_cluster.n_iter_ * (len(X) - held_out)


@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_early_stopping_auto_on_the_cluster_splits_as_true_does(
    client, data, regression_data, estimator_class
):
    X, y = data if estimator_class is NNFSClassifier else regression_data
    fits = {}
    for early_stopping in ("auto", True):
        estimator = estimator_class(
            hidden_layer_sizes=(8,),
            max_iter=4,
            random_state=0,
            early_stopping=early_stopping,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[early_stopping] = estimator.fit(*as_dask(X, y))
    auto, true = fits["auto"], fits[True]
    assert auto.do_early_stopping_ is True and true.do_early_stopping_ is True
    assert auto.validation_scores_ == true.validation_scores_
    assert auto._network.flat_params.tobytes() == true._network.flat_params.tobytes()


def test_early_stopping_auto_on_the_cluster_trains_on_every_row_of_tiny_parts(
    client, data
):
    X, y = data
    # Partitions of 10 rows hold out ceil(0.1 * 10) = 1 row: too few to split.
    estimator = small_classifier(early_stopping="auto", max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*as_dask(X[:40], y[:40], rows=10))
    assert estimator.do_early_stopping_ is False
    assert estimator.validation_scores_ is None and estimator.t_ == 2 * 40
    with pytest.raises(ValueError, match="validation set is too small"):
        small_classifier(early_stopping=True).fit(*as_dask(X[:40], y[:40], rows=10))


def test_the_cosine_schedule_anneals_over_the_rounds(client, data, monkeypatch):
    import sknnfs._distributed

    X, y = data
    rates = []  # the rate each round's chains start from
    train_round = sknnfs._distributed._ClusterRounds.train

    def recording_round(self, trainer):
        rates.append(trainer.optimizer.current_learning_rate)
        return train_round(self, trainer)

    monkeypatch.setattr(sknnfs._distributed._ClusterRounds, "train", recording_round)
    estimator = small_classifier(
        learning_rate_schedule="cosine", max_iter=4, n_iter_no_change=np.inf
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(*as_dask(X, y))
    assert rates == [0.01 * (1 + math.cos(math.pi * r / 4)) / 2 for r in range(4)]


def test_weight_decay_shrinks_the_weights_on_the_cluster_too(client, data):
    # Each step of each chain multiplies the weights by 1 - 0.01 * 5.
    X, y = data
    squares = {}
    for weight_decay in (0.0, 5.0):
        estimator = small_classifier(weight_decay=weight_decay, max_iter=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(*as_dask(X, y))
        squares[weight_decay] = sum(float(np.sum(c**2)) for c in estimator.coefs_)
    assert squares[5.0] < 0.5 * squares[0.0]


def test_the_cluster_fit_scales_the_targets_as_a_single_machine_fit(
    client, regression_data
):
    X, y = regression_data
    y = y * [1e5, 3.0] + [3e6, -40.0]  # house prices, and a small output
    sample_weight = weights_for(y)
    sample_weight[ROWS : 2 * ROWS - 5] = 0.0  # a partition that weighs little
    estimator = NNFSRegressor(
        hidden_layer_sizes=(8,), optimizer="lbfgs", max_iter=10, random_state=0
    )
    on_cluster, local = both_fits(estimator, X, y, sample_weight)
    mean = np.average(y, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((y - mean) ** 2, axis=0, weights=sample_weight))
    for fit in (on_cluster, local):
        np.testing.assert_allclose(fit.target_mean_, mean, rtol=1e-12)
        np.testing.assert_allclose(fit.target_scale_, std, rtol=1e-12)
    # The partitions were scaled as the single machine scales y: L-BFGS
    # follows the same losses to the same model.
    np.testing.assert_allclose(on_cluster.loss_curve_, local.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(on_cluster.predict(X), local.predict(X), rtol=1e-6)
    assert local.score(X, y) > 0.5  # scaled targets, learnt


@pytest.mark.parametrize("zero_first", [False, True])
def test_partitions_whose_rows_weigh_nothing_add_nothing_to_r2(zero_first):
    from sklearn.metrics import r2_score

    from sknnfs._distributed import _R2Sums

    rng = np.random.default_rng(1)
    y = rng.normal(3.0, 2.0, (30, 2))
    predictions = y + rng.normal(0.0, 1.0, y.shape)
    weights = rng.uniform(0.5, 2.0, 30)
    weights[:10] = 0.0
    parts = [
        _R2Sums(predictions[rows], y[rows], weights[rows])
        for rows in (slice(0, 10), slice(10, 20), slice(20, 30))
    ]
    combined = parts[0] + parts[1] if zero_first else parts[1] + parts[0]
    combined = combined + parts[2]
    expected = r2_score(y, predictions, sample_weight=weights)
    assert combined.score() == pytest.approx(expected, rel=1e-12)


def test_validation_scores_combine_exactly_across_partitions():
    from sklearn.metrics import r2_score

    from sknnfs._distributed import _R2Sums

    rng = np.random.default_rng(0)
    y = rng.normal(5.0, 2.0, (50, 2))
    y[:, 1] = 0.0  # a constant output: r2_score's special case
    predictions = y + rng.normal(0.0, 1.0, y.shape)
    weights = rng.uniform(0.0, 2.0, 50)
    for sample_weight in (None, weights):
        parts = [
            _R2Sums(
                predictions[rows],
                y[rows],
                None if sample_weight is None else sample_weight[rows],
            )
            for rows in (slice(0, 7), slice(7, 30), slice(30, 50))
        ]
        combined = (parts[0] + parts[1]) + parts[2]
        expected = r2_score(y, predictions, sample_weight=sample_weight)
        assert combined.score() == pytest.approx(expected, rel=1e-12)
    perfect = _R2Sums(y, y, None) + _R2Sums(y, y, None)
    assert perfect.score() == 1.0


class RoundRecorder:
    """A scikit-learn callback that records the epochs' tasks, and can stop."""

    def __init__(self, stop_after=None):
        self.ends, self.stop_after = [], stop_after

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name != "epoch":
            return False
        self.ends.append((context.task_id, estimator.n_iter_))
        return self.stop_after is not None and len(self.ends) >= self.stop_after


def test_callbacks_see_one_task_per_round_and_can_stop(client, data):
    pytest.importorskip("sklearn.callback", reason="needs scikit-learn >= 1.9")
    X, y = data
    recorder = RoundRecorder()
    clf = small_classifier(max_iter=4, tol=0.0).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(*as_dask(X, y))
    # Each round is published (n_iter_) before its task ends.
    assert recorder.ends == [(0, 1), (1, 2), (2, 3), (3, 4)]
    stopper = RoundRecorder(stop_after=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop, not a run-out
        small_classifier(max_iter=4).set_callbacks(stopper).fit(*as_dask(X, y))
    assert len(stopper.ends) == 2


def test_verbose_prints_a_line_per_round(client, data, capsys):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small_classifier(max_iter=3, verbose=1).fit(*as_dask(X, y))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 1", "Epoch 2", "Epoch 3"]
    assert f"loss = {clf.loss_curve_[-1]:.6f}" in lines[-1]


@pytest.fixture(scope="module")
def cluster_fit(client, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return small_classifier(dropout=0.1).fit(*as_dask(X, y))


def test_the_cluster_fit_is_an_ordinary_fitted_estimator(cluster_fit, data):
    X, y = data
    clf = cluster_fit
    assert clf.n_iter_ == 8 and len(clf.loss_curve_) == 8
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]  # it learnt
    assert clf.t_ == 8 * len(X)
    np.testing.assert_array_equal(clf.classes_, CLASSES)
    assert clf.n_features_in_ == 6 and clf.n_outputs_ == 3
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert np.mean(clf.predict(X) == y) > 0.6
    copy.partial_fit(X, y)  # continues in this process, with its optimizer
    assert copy.t_ == clf.t_ + len(X) and len(copy.loss_curve_) == 9
    assert copy._optimizer.iterations > clf._optimizer.iterations > 0


def test_a_warm_start_on_the_cluster_continues_the_fit(cluster_fit, data):
    X, y = data
    clf = pickle.loads(pickle.dumps(cluster_fit)).set_params(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(*as_dask(X, y))
    assert clf.n_iter_ == 8  # the rounds of this call
    assert clf.t_ == 2 * cluster_fit.t_
    assert clf.loss_curve_[:8] == cluster_fit.loss_curve_
    assert len(clf.loss_curve_) == 16 and clf.loss_curve_[-1] < clf.loss_curve_[7]


def test_a_cluster_fit_takes_the_features_as_they_are(client, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small_classifier(numeric_bins=4).fit(X, y)  # one machine
        assert len(clf.bin_edges_) == 6
        # A warm start would feed raw features to a network of bins.
        clf.set_params(warm_start=True, numeric_bins=None)
        with pytest.raises(ValueError, match="numeric_bins is not available"):
            clf.fit(*as_dask(X, y))
        assert len(clf.bin_edges_) == 6
        # A new fit on the cluster forgets the edges of the local one.
        clf.set_params(warm_start=False).fit(*as_dask(X, y))
    assert clf.bin_edges_ is None and clf.coefs_[0].shape[0] == 6
    assert np.mean(clf.predict(X) == y) > 0.6


def test_a_cluster_fit_continues_on_one_machine(client, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small_classifier(max_iter=2).fit(*as_dask(X, y))
        assert clf.is_categorical_ is None and clf.bin_edges_ is None
        clf.partial_fit(X, y)  # the fitted object itself, not a pickled copy
    assert len(clf.loss_curve_) == 3


def test_the_cluster_fit_does_not_depend_on_where_tasks_ran(client, data, cluster_fit):
    # The same fit again: every round's generators come from random_state,
    # the round and the partition, and the sums are added in a fixed order.
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        again = small_classifier(dropout=0.1).fit(*as_dask(X, y))
    np.testing.assert_array_equal(
        again._network.flat_params, cluster_fit._network.flat_params
    )
    assert again.loss_curve_ == cluster_fit.loss_curve_


def test_partitions_recomputed_each_round_train_the_same_model(
    client, data, cluster_fit, monkeypatch
):
    # Data too large to persist are recomputed from their graph every round,
    # one partition a task: the same arithmetic, the same model.
    from sknnfs import _distributed

    monkeypatch.setattr(_distributed, "PERSIST_FRACTION", 0.0)
    persisted = []
    init = _distributed._ClusterData.__init__

    def recording_init(self, *args):
        init(self, *args)
        persisted.append(self.persisted)

    monkeypatch.setattr(_distributed._ClusterData, "__init__", recording_init)
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        recomputed = small_classifier(dropout=0.1).fit(*as_dask(X, y))
    assert persisted == [False]
    np.testing.assert_array_equal(
        recomputed._network.flat_params, cluster_fit._network.flat_params
    )


def test_dataframes_train_on_the_cluster(client, data):
    pytest.importorskip("dask.dataframe", reason=DASK_EXTRA)
    import os

    import dask.dataframe as dd
    import pandas as pd

    X, y = data
    frame = pd.DataFrame(X, columns=[f"feature {i}" for i in range(6)])
    labels = pd.Series(np.array(["a", "b", "c"])[y])
    estimator = NNFSClassifier(
        hidden_layer_sizes=(8,), optimizer="lbfgs", max_iter=10, random_state=0
    )
    local = clone(estimator).fit(frame, labels)
    frame_dask = dd.from_pandas(frame, npartitions=3)
    frame_guarded = frame_dask.map_partitions(
        _refuse_the_client, os.getpid(), meta=frame_dask._meta
    )
    on_cluster = estimator.fit(frame_guarded, dd.from_pandas(labels, npartitions=3))
    assert on_cluster.loss_ == pytest.approx(local.loss_, rel=1e-6)
    np.testing.assert_array_equal(on_cluster.feature_names_in_, frame.columns)
    np.testing.assert_array_equal(on_cluster.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(on_cluster.predict(frame), local.predict(frame))


def test_a_column_of_text_is_named_from_the_partition_it_is_in(client, data):
    pytest.importorskip("dask.dataframe", reason=DASK_EXTRA)
    import dask.dataframe as dd
    import pandas as pd

    X, y = data
    frame = pd.DataFrame(X, columns=[f"feature {i}" for i in range(6)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    with pytest.raises(
        ValueError,
        match=r"Partition \d of the data: X has columns of text or categories, "
        r"which NNFSClassifier cannot take as numbers: \['colour'\]\. Encode "
        r"them first, e\.g\. with dask\.dataframe\.get_dummies\.",
    ):
        small_classifier().fit(
            dd.from_pandas(frame, npartitions=3), dd.from_pandas(pd.Series(y), 3)
        )


def test_partitions_that_differ_are_refused(client, data):
    import dask.array as da

    X, y = data
    X_dask, y_dask = as_dask(X, y)
    with pytest.raises(ValueError, match=r"partitioned the same way.*rows"):
        small_classifier().fit(X_dask, da.from_array(y, chunks=80))
    with pytest.raises(ValueError, match="y must be one too"):
        small_classifier().fit(X_dask, y)
    with pytest.raises(ValueError, match="sample_weight must be one too"):
        small_classifier().fit(X_dask, y_dask, np.ones(len(y)))


def test_bad_partitions_get_clear_errors_and_leave_the_estimator(
    client, data, cluster_fit
):
    X, y = data
    X_nan = X.copy()
    X_nan[100, 2] = np.nan  # in the second partition
    clf = pickle.loads(pickle.dumps(cluster_fit)).set_params(warm_start=True)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"Partition 1 of the data: .*NaN"):
        clf.fit(*as_dask(X_nan, y))
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.fit(*as_dask(X[:, :5], y))
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit(*as_dask(X, y, -np.ones(len(y))))
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == cluster_fit.n_iter_


def test_the_client_never_computes_the_data(client, data):
    # Every fit on the cluster in this file uses as_dask's guarded X; here
    # the guard is shown to work, for both kinds of optimizer.
    X, y = data
    X_guarded, y_dask = as_dask(X, y)
    with pytest.raises(AssertionError, match="the client computed"):
        X_guarded.compute(scheduler="sync")
    for optimizer in ("adam", "lbfgs"):
        clf = small_classifier(optimizer=optimizer, max_iter=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_guarded, y_dask)
        assert clf.n_iter_ == 3


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_the_client_never_holds_the_data(client, optimizer):
    # 80 MB drawn on the workers, in partitions of 10 MB: a fit that brought
    # X to the client (as np.asarray(X) would) allocates all of it here.
    import tracemalloc

    import dask.array as da

    X = da.random.default_rng(0).standard_normal((200_000, 50), chunks=(25_000, 50))
    y = (X[:, 0] > 0).astype(int)
    clf = NNFSClassifier(
        hidden_layer_sizes=(4,),
        optimizer=optimizer,
        batch_size=5_000,
        max_iter=2,
        random_state=0,
        early_stopping=False,  # t_ counts every row
    )
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clf.t_ == 2 * 200_000
    assert peak < 25_000 * 50 * 8  # less than one partition


def test_without_a_client_a_dask_collection_is_refused(tmp_path):
    # In a process of its own, where no client was ever started; importing
    # sknnfs imports no dask.
    pytest.importorskip("distributed", reason=DASK_EXTRA)
    script = (
        "import sys, sknnfs\n"
        "print('dask' in sys.modules)\n"
        "import dask.array as da, numpy as np\n"
        "X = da.ones((20, 3), chunks=10)\n"
        "y = da.from_array(np.arange(20) % 2, chunks=10)\n"
        "clf = sknnfs.NNFSClassifier()\n"
        "try:\n"
        "    clf.fit(X, y)\n"
        "except ValueError as error:\n"
        "    print(error)\n"
        "print(hasattr(clf, 'n_iter_'))\n"
    )
    imported_dask, message, fitted = _run_python(script, tmp_path).splitlines()
    assert imported_dask == "False"
    assert "no distributed.Client is running" in message
    assert "X.compute()" in message
    assert fitted == "False"


def _run_python(script, cwd):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_partial_fit_still_computes_a_dask_block_in_this_process(client, data):
    X, y = data
    X_dask, y_dask = as_dask(X[:ROWS], y[:ROWS], guarded=False)
    streamed = small_classifier().partial_fit(X_dask, y_dask, classes=CLASSES)
    local = small_classifier().partial_fit(X[:ROWS], y[:ROWS], classes=CLASSES)
    np.testing.assert_array_equal(
        streamed._network.flat_params, local._network.flat_params
    )


def test_a_worker_lost_mid_fit_changes_nothing(data, tmp_path, monkeypatch):
    """A worker killed after the first round: Dask recomputes its partitions
    and runs its tasks on the survivor; the model is the one a fit without
    the fault gives. On a cluster of its own, which it damages."""
    import os
    import signal

    distributed = pytest.importorskip("distributed", reason=DASK_EXTRA)
    from sknnfs._base import BaseNNFS

    X, y = data
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        local_directory=str(tmp_path),
    )
    with cluster, distributed.Client(cluster) as own_client:
        with own_client.as_current(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            undisturbed = small_classifier(max_iter=3).fit(*as_dask(X, y))
            pids = own_client.run(os.getpid)
            killed = []
            hook = BaseNNFS._on_epoch_end

            def kill_a_worker(self, history):
                hook(self, history)
                if history.n_iter == 1:
                    victim = sorted(pids)[0]
                    os.kill(pids[victim], signal.SIGKILL)
                    killed.append(victim)

            monkeypatch.setattr(BaseNNFS, "_on_epoch_end", kill_a_worker)
            disturbed = small_classifier(max_iter=3).fit(*as_dask(X, y))
            assert killed and own_client.run(os.getpid) != pids  # really restarted
    assert disturbed.n_iter_ == 3
    np.testing.assert_array_equal(
        disturbed._network.flat_params, undisturbed._network.flat_params
    )


def test_the_cluster_guide_runs(client, capsys):
    """docs/user_guide/cluster.rst's example, on this module's cluster: the
    python block between the first (which starts a cluster of its own) and
    the last (which closes it)."""
    import re
    from pathlib import Path

    guide = Path(__file__).resolve().parents[1] / "docs" / "user_guide" / "cluster.rst"
    blocks = re.findall(
        r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", guide.read_text("utf-8")
    )
    assert "LocalCluster" in blocks[0] and len(blocks) == 3
    assert "cluster.close()" in blocks[2]
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exec(textwrap.dedent(blocks[1]), namespace)
    clf = namespace["clf"]
    assert clf.n_iter_ == 30 and clf.loss_ < clf.loss_curve_[0]
    assert capsys.readouterr().out.startswith("30 rounds; final loss")


def test_ctrl_c_on_the_cluster_keeps_the_last_completed_round(
    client, data, monkeypatch
):
    from sknnfs._base import BaseNNFS

    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two_rounds = small_classifier(max_iter=2).fit(*as_dask(X, y))
    hook = BaseNNFS._on_epoch_end

    def interrupt_after_round_two(self, history):
        hook(self, history)
        if history.n_iter == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", interrupt_after_round_two)
    with pytest.warns(UserWarning, match="interrupted after 2 rounds"):
        clf = small_classifier(max_iter=5).fit(*as_dask(X, y))
    assert clf.n_iter_ == 2 and clf.loss_curve_ == two_rounds.loss_curve_
    np.testing.assert_array_equal(
        clf._network.flat_params, two_rounds._network.flat_params
    )


@pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning",
    "ignore:invalid value encountered:RuntimeWarning",
)
def test_a_diverging_round_raises_and_leaves_the_estimator(client, data):
    X, y = data
    clf = small_classifier(
        optimizer="sgd", learning_rate=1e8, hidden_layer_sizes=(32, 32), max_iter=5
    )
    with pytest.raises(ValueError, match="Training diverged: the loss"):
        clf.fit(*as_dask(X, y))
    assert not hasattr(clf, "n_iter_") and not hasattr(clf, "_network")
