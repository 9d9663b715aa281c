"""Scale-out on Dask, and estimators whose arrays are read-only.

The cluster tests need the ``[dask]`` extra (dask[array], distributed) and are
skipped without it; they share one two-process LocalCluster on the loopback
interface. The read-only tests need nothing beyond the package: a worker that
receives an estimator through an object store (or joblib's memory mapping)
gets read-only arrays, and training must go on from them.
"""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sknnfs import NNFSClassifier

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
    settings = dict(
        hidden_layer_sizes=(8,),
        learning_rate=0.01,
        max_iter=8,
        batch_size=32,
        random_state=0,
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
