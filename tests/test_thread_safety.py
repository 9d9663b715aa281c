"""The same bits on any thread, alone or at once (`sknnfs._parallel`'s turns).

BLAS's thread limit is process-wide and changes the last bits of some
products (OpenBLAS splits their sums between its threads), and an L-BFGS fit
keeps BLAS to one thread. These tests fix the caller's limit at two threads,
so that one thread or two makes a difference on any machine, and check that
a fit gives the same bits on a worker thread as on the main thread, and
while another fit runs on another thread.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

import sknnfs._parallel as parallel_module
from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._lbfgs import FullBatchObjective

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16
# 1,797 rows: the weight gradient's sums (over the rows) are long enough
# for OpenBLAS to split them differently on one thread and on two.
TARGETS = {NNFSClassifier: Y_DIGITS, NNFSRegressor: Y_DIGITS / 9.0}
SETTINGS = {"lbfgs": {"max_iter": 10}, "adam": {"max_iter": 5}}
# Fits on worker threads warn too, and warnings.catch_warnings is not
# thread-safe: the filter is the module's.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def blas_threads():
    return [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]


@pytest.fixture(autouse=True)
def _blas_on_two_threads():
    """The caller's limit: two BLAS threads, whatever the machine has."""
    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can see")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def fit_weights(make_estimator, optimizer):
    """The fitted weights and biases, as bytes, of a fit on the digits."""
    estimator = make_estimator(
        optimizer=optimizer, random_state=0, **SETTINGS[optimizer]
    )
    estimator.fit(X_DIGITS, TARGETS[make_estimator])
    return b"".join(
        array.tobytes() for array in (*estimator.coefs_, *estimator.intercepts_)
    )


def wait_until(condition):
    """Wait for ``condition()`` to hold (a guard against hanging, not a timing)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def run_together(on_main, on_workers):
    """Call ``on_main`` (unless None) here and each of ``on_workers`` on a
    thread of its own, all released at once; their results, in order."""
    calls = ([on_main] if on_main else []) + list(on_workers)
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def run(index):
        barrier.wait()
        try:
            results[index] = calls[index]()
        except BaseException as error:
            errors.append(error)

    first_worker = 1 if on_main else 0
    workers = [
        threading.Thread(target=run, args=(index,))
        for index in range(first_worker, len(calls))
    ]
    for worker in workers:
        worker.start()
    if on_main:
        run(0)
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results


# ------------------------------------------------------------- one fit
@pytest.mark.parametrize("make_estimator", [NNFSClassifier, NNFSRegressor])
@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_a_fit_on_a_worker_thread_gives_the_main_threads_bits(
    make_estimator, optimizer
):
    on_main = fit_weights(make_estimator, optimizer)
    [on_thread] = run_together(None, [lambda: fit_weights(make_estimator, optimizer)])
    with ThreadPoolExecutor(1) as pool:
        in_pool = pool.submit(fit_weights, make_estimator, optimizer).result()
    assert on_thread == on_main
    assert in_pool == on_main


def test_lbfgs_keeps_blas_to_one_thread_on_any_thread_and_gives_it_back(
    monkeypatch,
):
    seen = []
    call = FullBatchObjective.__call__

    def recording_call(self, params):
        seen.append((threading.current_thread().name, tuple(blas_threads())))
        return call(self, params)

    monkeypatch.setattr(FullBatchObjective, "__call__", recording_call)
    before = blas_threads()
    assert set(before) == {2}
    main = threading.current_thread().name
    fit_weights(NNFSClassifier, "lbfgs")
    run_together(None, [lambda: fit_weights(NNFSClassifier, "lbfgs")])
    one_thread = tuple(1 for _ in before)
    assert {name == main for name, _ in seen} == {True, False}
    assert {threads for _, threads in seen} == {one_thread}
    assert blas_threads() == before


# ------------------------------------------------------ fits at once
@pytest.mark.parametrize("make_estimator", [NNFSClassifier, NNFSRegressor])
@pytest.mark.parametrize("lbfgs_on", ["main", "worker"])
def test_lbfgs_and_adam_fits_at_once_give_their_bits_alone(make_estimator, lbfgs_on):
    alone = [fit_weights(make_estimator, name) for name in ("lbfgs", "adam")]
    fits = [
        lambda name=name: fit_weights(make_estimator, name)
        for name in ("lbfgs", "adam")
    ]
    if lbfgs_on == "main":
        together = run_together(fits[0], fits[1:])
    else:
        together = run_together(None, fits)
    assert together == alone
    assert set(blas_threads()) == {2}  # the caller's limit is back


def test_two_lbfgs_fits_at_once_give_their_bits_alone():
    alone = [fit_weights(make, "lbfgs") for make in (NNFSClassifier, NNFSRegressor)]
    together = run_together(
        None,
        [
            lambda make=make: fit_weights(make, "lbfgs")
            for make in (NNFSClassifier, NNFSRegressor)
        ],
    )
    assert together == alone
    assert set(blas_threads()) == {2}


# ------------------------------------------------------------- turns
def lbfgs_turn():
    """A turn with BLAS on one thread, as an L-BFGS fit takes."""
    return parallel_module.blas_limited_for_lbfgs()


def callers_turn():
    """A turn at the caller's limit, as a stochastic fit or a prediction takes."""
    return parallel_module.blas_at_the_callers_limit()


def test_turns_of_another_limit_wait_and_turns_start_in_order():
    adam_started, release = threading.Event(), threading.Event()
    order = []

    def take(name, turn):
        with turn():
            order.append(name)
            if name == "adam":
                adam_started.set()
                release.wait(60)

    def start(name, turn):
        thread = threading.Thread(target=take, args=(name, turn))
        thread.start()
        return thread

    threads = [start("adam", callers_turn)]
    assert adam_started.wait(60)
    threads.append(start("lbfgs", lbfgs_turn))
    wait_until(lambda: len(parallel_module._TURNS._waiting) == 1)
    # At the caller's limit like the Adam turn running, but asked after the
    # L-BFGS turn: it waits for that one, which waits for the Adam turn.
    threads.append(start("predict", callers_turn))
    wait_until(lambda: len(parallel_module._TURNS._waiting) == 2)
    assert order == ["adam"]
    release.set()
    for thread in threads:
        thread.join(60)
    assert order == ["adam", "lbfgs", "predict"]
    assert set(blas_threads()) == {2}


def test_a_turn_inside_another_runs_under_its_limit_without_waiting():
    with lbfgs_turn():
        with callers_turn():  # as a prediction in an L-BFGS fit's callback
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}
    assert set(blas_threads()) == {2}


def test_the_limit_is_given_back_by_the_last_turn_on_whichever_thread(monkeypatch):
    entered = [threading.Event(), threading.Event()]
    leave = [threading.Event(), threading.Event()]
    seen = {}

    def take(index):
        with lbfgs_turn():
            entered[index].set()
            leave[index].wait(60)
        seen[index] = blas_threads()

    threads = [threading.Thread(target=take, args=(index,)) for index in (0, 1)]
    threads[0].start()
    assert entered[0].wait(60)
    threads[1].start()
    assert entered[1].wait(60)
    monkeypatch.setattr(parallel_module, "_cores", lambda: 4)
    # The caller's limit, not the turns': threads for sknnfs's own work.
    assert parallel_module.available_threads() == 2
    leave[0].set()  # the turn that set the limit ends first
    threads[0].join(60)
    assert set(seen[0]) == {1}  # the other still runs with BLAS on one thread
    leave[1].set()
    threads[1].join(60)
    assert set(blas_threads()) == {2}


def test_a_failing_turn_ends_and_gives_the_limit_back():
    with pytest.raises(ValueError, match="in the turn"):
        with lbfgs_turn():
            raise ValueError("in the turn")
    assert set(blas_threads()) == {2}

    def blas_threads_in_a_turn():
        with callers_turn():
            return blas_threads()

    # Another thread gets its turn: the failed one is over.
    assert run_together(None, [blas_threads_in_a_turn]) == [blas_threads()]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_takes_turns_whatever_ran_in_its_parent():
    entered, leave = threading.Event(), threading.Event()

    def hold_a_turn():
        with lbfgs_turn():
            entered.set()
            leave.wait(60)

    holder = threading.Thread(target=hold_a_turn)
    holder.start()
    assert entered.wait(60)
    try:
        child = os.fork()
        if child == 0:  # the child: a turn of the other limit must not wait
            signal.alarm(30)  # ends the child if it waits for ever
            with callers_turn():
                os._exit(0)
        _, status = os.waitpid(child, 0)
    finally:
        leave.set()
        holder.join(60)
    assert os.waitstatus_to_exitcode(status) == 0
