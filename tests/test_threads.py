"""Work in pieces: row ranges on threads, prediction in row chunks and on threads."""

import collections
import threading
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

import sknnfs._parallel as parallel_module
import sknnfs._prediction as prediction_module
from sknnfs import Dense, NNFSClassifier, NNFSRegressor
from sknnfs._parallel import (
    BlockwiseUpdate,
    TimedChoice,
    available_threads,
    run_ranges_on_threads,
    sparse_prediction_threads,
)
from sknnfs._prediction import FirstLayerPlan, first_layer_plans


@pytest.fixture(autouse=True)
def _untimed_first_layer_plans(monkeypatch):
    """Each test starts as a new process does: no plan of a sparse product
    timed yet, so that the first threaded prediction does share it."""
    monkeypatch.setattr(
        prediction_module,
        "_FIRST_LAYER_PLAN_TIMINGS",
        collections.defaultdict(TimedChoice),
    )


# ------------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "size, n_threads, n_ranges", [(10, 1, None), (10, 3, None), (103, 2, 9), (5, 4, 5)]
)
def test_ranges_cover_every_index_once(size, n_threads, n_ranges):
    counts = np.zeros(size, dtype=int)
    seen_threads = set()

    def visit(start, stop):
        seen_threads.add(threading.get_ident())
        counts[start:stop] += 1

    run_ranges_on_threads(visit, size, n_threads, n_ranges)
    np.testing.assert_array_equal(counts, 1)
    assert len(seen_threads) <= n_threads


def test_the_first_failing_range_is_the_error_raised():
    def fail_from_40(start, stop):
        if stop > 40:
            raise ValueError(f"range starting at {start}")

    # Ranges of 10: 40..50 is the first to fail, whichever thread gets it.
    with pytest.raises(ValueError, match="range starting at 40"):
        run_ranges_on_threads(fail_from_40, 100, 3, 10)


def test_no_range_starts_after_a_failure():
    started = []

    def interrupted_at_20(start, stop):
        started.append(start)
        if start == 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ranges_on_threads(interrupted_at_20, 100, 1, 10)
    assert started == [0, 10, 20]


# ----------------------------------------------------------- sparse product
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make_sparse", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_a_layer_shared_by_row_ranges_is_the_same_product(dtype, make_sparse):
    # How prediction shares the first layer's product with sparse X.
    sparse = make_sparse(sp.random(57, 40, density=0.2, random_state=0, dtype=dtype))
    layer = Dense(40, 6, bias_init="glorot", random_state=0, dtype=dtype)
    whole, _ = layer.forward(sparse)
    for n_threads in (2, 3):
        shared = np.empty_like(whole)

        def forward_rows(start, stop, shared=shared):
            layer.forward(sparse[start:stop], out=shared[start:stop])

        run_ranges_on_threads(forward_rows, 57, n_threads, 4 * n_threads)
        assert shared.dtype == whole.dtype == dtype
        assert shared.tobytes() == whole.tobytes()  # each row computed alike


# -------------------------------------------------------- sparse prediction
@pytest.fixture
def sparse_problem():
    X = sp.random(300, 50, density=0.1, format="csr", random_state=0)
    y = np.asarray(X @ np.random.default_rng(0).standard_normal((50, 3))).argmax(1)
    return X, y


def fitted(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def plan_timings(estimator):
    """The timings of the plans for ``estimator``'s first layer."""
    return prediction_module.plan_timings(estimator._network.layers[0].weights)


def time_plans(estimator, seconds):
    """Record ``seconds[n_threads]`` for every timed call of that plan (row order)."""
    timed = plan_timings(estimator)
    for n_threads, per_call in seconds.items():
        timed.seconds_per_unit[FirstLayerPlan(n_threads)] = [
            per_call
        ] * parallel_module.TIMED_CALLS


def recorded_ranges(monkeypatch):
    """The list to which each run of row ranges on threads in prediction goes."""
    ranges_run = []

    def recording_run_ranges(*args, **kwargs):
        ranges_run.append(args)
        return run_ranges_on_threads(*args, **kwargs)

    monkeypatch.setattr(
        prediction_module, "run_ranges_on_threads", recording_run_ranges
    )
    return ranges_run


def test_small_or_dense_input_is_predicted_on_one_thread(sparse_problem):
    X, y = sparse_problem
    assert sparse_prediction_threads(X, 100) == 1  # 1,500 values x 100
    assert sparse_prediction_threads(X.toarray(), 10**6) == 1


def blas_threads():
    return [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]


@pytest.mark.parametrize("make_estimator", [NNFSClassifier, NNFSRegressor])
def test_sparse_prediction_on_threads_is_exact(
    sparse_problem, monkeypatch, make_estimator
):
    X, y = sparse_problem
    estimator = fitted(make_estimator(random_state=0, max_iter=5), X, y)
    method = getattr(estimator, "predict_proba", estimator.predict)
    with threadpool_limits(limits=1, user_api="blas"):  # as the shared ones run
        one_thread = method(X)
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 3)
    assert sparse_prediction_threads(X, estimator._network.layer_sizes[1]) == 3
    before = blas_threads()
    shared = method(X)
    assert blas_threads() == before  # BLAS's thread limit is given back
    assert shared.tobytes() == one_thread.tobytes()
    np.testing.assert_allclose(shared, method(X.toarray()), rtol=1e-10)


def test_a_timed_choice_alternates_then_keeps_the_fastest_per_unit_of_work():
    choice = TimedChoice()
    seconds = {2: 3.0, 1: 2.0}  # per call; the 2-thread calls do twice the work
    chosen = []
    for _ in range(8):
        candidate = choice.choose((2, 1))
        chosen.append(candidate)
        choice.record(candidate, seconds[candidate], units=candidate)
    assert chosen == [2, 1, 2, 1, 2, 1, 2, 2]  # 1.5 s per unit against 2.0
    assert choice.seconds_per_unit == {2: [1.5] * 3, 1: [2.0] * 3}


@pytest.mark.parametrize(("faster", "shared"), [(1, False), (2, True)])
def test_a_sparse_product_is_shared_only_if_that_timed_faster(
    sparse_problem, monkeypatch, faster, shared
):
    X, y = sparse_problem
    classifier = fitted(NNFSClassifier(random_state=0, max_iter=2), X, y)
    expected = classifier.predict_proba(X)
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    time_plans(classifier, {n: 1.0 if n == faster else 2.0 for n in (2, 1)})
    ranges_run = recorded_ranges(monkeypatch)
    assert classifier.predict_proba(X).tobytes() == expected.tobytes()
    assert bool(ranges_run) == shared


def test_a_failed_prediction_is_not_timed(sparse_problem, monkeypatch):
    X, y = sparse_problem
    classifier = fitted(
        NNFSClassifier(activation="linear", random_state=0, max_iter=2), X, y
    )
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    classifier.predict_proba(X)
    timed = plan_timings(classifier)
    assert [len(times) for times in timed.seconds_per_unit.values()] == [1]
    too_large = X.tolil()
    too_large[250, :] = 1e308
    with pytest.raises(ValueError, match="overflowed"):
        classifier.predict_proba(too_large.tocsr())
    # The shared call was timed; the one-thread turn failed and was not.
    assert {plan: len(times) for plan, times in timed.seconds_per_unit.items()} == {
        FirstLayerPlan(2): 1
    }


# ------------------------------------------------------------- column order
def test_column_order_is_a_plan_only_where_it_can_pay(monkeypatch):
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 1)
    monkeypatch.setattr(prediction_module, "TIMED_PLAN_WORK", 1)
    weights = np.ones((40, 8))  # blocks of 2**17 // 8 rows: all 120 rows
    # 3 stored values a row, in sorted columns: 360 values for 40 columns.
    columns = np.sort((np.arange(120)[:, None] + np.arange(3)) % 40, axis=1)
    X = sp.csr_matrix((np.ones(360), columns.ravel(), np.arange(0, 361, 3)))
    plain, by_columns = FirstLayerPlan(), FirstLayerPlan(in_column_order=True)
    assert first_layer_plans(X, weights) == [plain, by_columns]
    assert first_layer_plans(sp.csr_array(X), weights) == [plain, by_columns]
    assert first_layer_plans(X[:14], weights) == [plain, by_columns]  # 42 values
    assert first_layer_plans(X[:13], weights) == [plain]  # 39 values, 40 columns
    assert first_layer_plans(X.tocsc(), weights) == [plain]
    assert first_layer_plans(X.toarray(), weights) == [plain]
    unsorted = X.copy()
    unsorted.indices[:2] = unsorted.indices[1::-1]  # row 0: columns 1, 0, 2
    unsorted.has_sorted_indices = False
    # The same matrix, whose sums would run in another order.
    np.testing.assert_array_equal(unsorted.toarray(), X.toarray())
    assert first_layer_plans(unsorted, weights) == [plain]
    monkeypatch.setattr(prediction_module, "TIMED_PLAN_WORK", 360 * 8 + 1)
    assert first_layer_plans(X, weights) == [plain]  # too little work to time
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    monkeypatch.setattr(prediction_module, "TIMED_PLAN_WORK", 1)
    assert first_layer_plans(X, weights) == [
        FirstLayerPlan(2),
        FirstLayerPlan(1),
        FirstLayerPlan(2, in_column_order=True),
        FirstLayerPlan(1, in_column_order=True),
    ]


@pytest.mark.parametrize("make_estimator", [NNFSClassifier, NNFSRegressor])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_plan_predicts_the_same_bits(
    sparse_problem, monkeypatch, make_estimator, dtype
):
    X, y = sparse_problem
    estimator = fitted(
        make_estimator(hidden_layer_sizes=(12,), dtype=dtype, random_state=0), X, y
    )
    method = getattr(estimator, "predict_proba", estimator.predict)
    expected = method(X)  # one thread, row order: nothing to time
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 3)
    monkeypatch.setattr(prediction_module, "TIMED_PLAN_WORK", 1)
    # X has 5 stored values a row on average and 50 columns: blocks of 7
    # rows hold too few for column order, blocks of 70 enough.
    monkeypatch.setattr(prediction_module, "COLUMN_BLOCK_VALUES", 7 * 12)
    plans = first_layer_plans(X.astype(dtype), estimator._network.layers[0].weights)
    assert [plan.in_column_order for plan in plans] == [False, False]
    monkeypatch.setattr(prediction_module, "COLUMN_BLOCK_VALUES", 70 * 12)
    plans = first_layer_plans(X.astype(dtype), estimator._network.layers[0].weights)
    assert [plan.in_column_order for plan in plans] == [False, False, True, True]
    blocks_seen = []
    original = prediction_module.in_column_order

    def counting_in_column_order(rows):
        blocks_seen.append(rows.shape[0])
        return original(rows)

    monkeypatch.setattr(prediction_module, "in_column_order", counting_in_column_order)
    for _ in plans:  # the timed choice takes each in turn
        assert method(X).tobytes() == expected.tobytes()
    # Threaded: 12 ranges of 25 rows, each one block; one thread: 70-row
    # blocks, the last of 20 rows.
    assert sorted(blocks_seen) == sorted([25] * 12 + [70] * 4 + [20])


def test_every_plan_predicts_the_same_bits_after_a_wide_layer(monkeypatch):
    # The second product sums 400 terms a value, which OpenBLAS splits
    # differently on one thread and on two: every plan runs at the caller's
    # BLAS limit, or the plan timed fastest would change the bits.
    X = sp.random(1000, 50, density=0.1, format="csr", random_state=0)
    y = np.arange(1000) % 10
    classifier = fitted(
        NNFSClassifier(hidden_layer_sizes=(400,), max_iter=2, random_state=0), X, y
    )
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    with threadpool_limits(limits=2, user_api="blas"):
        for n_threads in (2, 1):  # the faster, as if timed
            time_plans(classifier, {n: 1.0 if n == n_threads else 2.0 for n in (2, 1)})
            shared = classifier.predict_proba(X)
            if n_threads == 2:
                expected = shared
            assert shared.tobytes() == expected.tobytes()


def test_plans_are_timed_per_dtype_and_layer_shape(sparse_problem, monkeypatch):
    X, y = sparse_problem
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    models = [
        fitted(NNFSClassifier(random_state=0, max_iter=1, **params), X, y)
        for params in ({}, {"dtype": "float32"}, {"hidden_layer_sizes": (20,)})
    ]
    for model in models:  # one thread timed faster, everywhere
        time_plans(model, {2: 2.0, 1: 1.0})
    ranges_run = recorded_ranges(monkeypatch)
    models[0].predict_proba(X)
    assert not ranges_run
    # Sharing timed faster for the first model only: the others keep theirs.
    time_plans(models[0], {2: 0.1, 1: 1.0})
    for model in models[1:]:
        model.predict_proba(X)
    assert not ranges_run
    models[0].predict_proba(X)
    assert len(ranges_run) == 1


def in_chunks_of_7_rows(monkeypatch, widest):
    monkeypatch.setattr(prediction_module, "CHUNK_MIN_ROWS", 1)
    monkeypatch.setattr(prediction_module, "CHUNK_CACHE_VALUES", 7 * widest)
    monkeypatch.setattr(prediction_module, "CHUNK_MAX_VALUES", 7 * widest)


@pytest.mark.parametrize(
    ("layer_sizes", "dense_rows", "sparse_rows"),
    [
        # Dense: 2**19 values in the widest layer, at least 2048 rows;
        # sparse: 2**22 values. The input's width does not count.
        ((784, 256, 128, 10), 2048, 16384),
        ((64, 100, 10), 5242, 41943),
        ((784, 1024, 1024, 10), 2048, 4096),
        ((3, 2**12, 2), 1024, 1024),  # the most rows, 2**22 values, come first
        ((3, 2**23, 2), 1, 1),  # never no rows
    ],
)
def test_rows_per_chunk(layer_sizes, dense_rows, sparse_rows):
    assert prediction_module.chunk_rows(layer_sizes) == dense_rows
    assert prediction_module.chunk_rows(layer_sizes, sparse=True) == sparse_rows


@pytest.mark.parametrize("sparse", [False, True])
def test_prediction_in_row_chunks_is_one_prediction(
    sparse_problem, monkeypatch, sparse
):
    X, y = sparse_problem
    X = X if sparse else X.toarray()
    classifier = fitted(
        NNFSClassifier(hidden_layer_sizes=(16, 8), random_state=0, max_iter=5), X, y
    )
    whole = classifier.predict_proba(X)
    in_chunks_of_7_rows(monkeypatch, widest=16)
    chunked = classifier.predict_proba(X)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    np.testing.assert_allclose(classifier.predict_proba(X), whole, rtol=1e-12)


def extra_memory_of(function, *args):
    """Peak bytes ``function(*args)`` allocates beyond what it returns."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        result = function(*args)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return peak - result.nbytes


def test_prediction_memory_beyond_the_output_is_a_chunks_not_the_inputs(
    monkeypatch,
):
    # benchmarks/predict_memory.py measures the real bound (1,000,000 rows of
    # 784 float32 values); here the bound is made small enough to see.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=len(X))
    classifier = fitted(
        NNFSClassifier(hidden_layer_sizes=(64, 32), max_iter=1, random_state=0),
        X[:300],
        y[:300],
    )
    in_chunks_of_500_rows = 500 * 64
    monkeypatch.setattr(prediction_module, "CHUNK_MIN_ROWS", 1)
    monkeypatch.setattr(prediction_module, "CHUNK_CACHE_VALUES", in_chunks_of_500_rows)
    extra = extra_memory_of(classifier.predict_proba, X)
    one_chunk = 500 * (64 + 32 + 3) * X.itemsize
    whole_batch = len(X) * 64 * X.itemsize
    assert extra <= 3 * one_chunk < whole_batch / 5


@pytest.mark.parametrize("in_chunks", [False, True])
def test_an_overflow_found_on_a_thread_names_its_row(
    sparse_problem, monkeypatch, in_chunks
):
    X, y = sparse_problem
    classifier = fitted(
        NNFSClassifier(activation="linear", random_state=0, max_iter=2), X, y
    )
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    if in_chunks:  # of 7 rows: row 250 is in the 36th
        in_chunks_of_7_rows(monkeypatch, widest=100)
    too_large = X.tolil()
    too_large[250, :] = 1e308  # in the second half of the rows
    with pytest.raises(ValueError, match="overflowed .* for row 250 of X"):
        classifier.predict_proba(too_large.tocsr())


def test_predictions_on_other_threads_share_the_product_alike(
    sparse_problem, monkeypatch
):
    # Any thread may share a sparse product: prediction never limits BLAS,
    # so the thread it runs on changes neither BLAS's limit nor the bits.
    X, y = sparse_problem
    classifier = fitted(NNFSClassifier(random_state=0, max_iter=5), X, y)
    expected = classifier.predict_proba(X)
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "available_threads", lambda: 2)
    shared_by = []
    original_predict = prediction_module._predict_in_chunks

    def recording_predict(network, X, output_function, plan, *args):
        shared_by.append((threading.current_thread().name, plan.n_threads))
        return original_predict(network, X, output_function, plan, *args)

    monkeypatch.setattr(prediction_module, "_predict_in_chunks", recording_predict)
    before = blas_threads()
    results = []
    worker = threading.Thread(
        target=lambda: results.append(classifier.predict_proba(X)), name="worker"
    )
    worker.start()
    worker.join()
    assert shared_by == [("worker", 2)]
    assert blas_threads() == before
    assert results[0].tobytes() == expected.tobytes()


# ------------------------------------------------- the caller's thread limit
def test_threads_respect_a_blas_limit_set_by_the_caller(sparse_problem, monkeypatch):
    X, _ = sparse_problem
    monkeypatch.setattr(parallel_module, "SPARSE_WORK_PER_THREAD", 1)
    monkeypatch.setattr(parallel_module, "_cores", lambda: 4)
    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpool_limits(limits=2, user_api="blas"):
        assert available_threads() == 2
        assert sparse_prediction_threads(X, 100) == 2
    with threadpool_limits(limits=1, user_api="blas"):
        assert available_threads() == 1
        assert sparse_prediction_threads(X, 100) == 1
        monkeypatch.setattr(parallel_module, "BLOCKWISE_MIN_SIZE", 1000)
        monkeypatch.setattr(parallel_module, "BLOCK_BYTES", 800)
        blockwise = BlockwiseUpdate()
        blockwise(lambda values: values.__iadd__(1), [np.zeros(4000)])
        # No second candidate to time.
        assert list(blockwise._timings.seconds_per_unit) == [1]
