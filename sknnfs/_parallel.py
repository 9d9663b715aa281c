"""The engine's parallelism: the one place that decides on threads and BLAS limits.

Two things run on threads, both with results identical to one thread:

- **Prediction on large sparse input.** scipy multiplies a sparse matrix on
  one core, releasing the GIL, so the first layer's product is shared by
  row ranges between a few threads (`sparse_prediction_threads`,
  `run_ranges_on_threads`). That pays only while BLAS keeps to one thread
  (`blas_limited_to_one_thread`): OpenBLAS's threads spin for a while after
  every dense product and would take the cores. It also pays only when
  other cores are free, which a shared machine may not have: the first
  calls of the process time one thread and several, and the faster is kept
  (`TimedChoice`, used by `sknnfs._prediction`).
- **Optimizer updates of large arrays** (`BlockwiseUpdate`). An update is
  elementwise, so an array of a million values or more is updated in blocks
  of about a megabyte, each pass running on a block still in cache; the
  blocks can be shared between threads. Threads slow the update when
  OpenBLAS's threads are still spinning after large dense products, so the
  first calls time both ways and the faster one is kept.

And one thing is kept to one thread: **scipy's L-BFGS-B**
(`blas_limited_for_lbfgs`). Since scipy 1.15 its iterations make many small
BLAS calls, which run many times slower when OpenBLAS may use several
threads (scipy issues 22438 and 23191); the full-batch products of the small
data sets L-BFGS is meant for gain little from them.

The number of threads never exceeds the available cores, nor the number of
threads the caller allows BLAS (a ``threadpoolctl.threadpool_limits`` in
force, as joblib sets in its workers): a caller who keeps BLAS to one thread
gets no threads from sknnfs either.
"""

import contextlib
import contextvars
import functools
import itertools
import os
import threading
import time

from threadpoolctl import ThreadpoolController

__all__ = [
    "BlockwiseUpdate",
    "TimedChoice",
    "available_threads",
    "blas_limited_for_lbfgs",
    "blas_limited_to_one_thread",
    "run_on_threads",
    "run_ranges_on_threads",
    "sparse_prediction_threads",
]

MAX_THREADS = 4
# Threads share a sparse product when each gets at least this many
# multiply-adds (about a millisecond of scipy's work).
SPARSE_WORK_PER_THREAD = 1 << 22
BLOCKWISE_MIN_SIZE = 1 << 20  # arrays at least this large are updated in blocks
BLOCK_BYTES = 1 << 20  # per array: a block's passes stay in a core's cache
TIMED_CALLS = 3  # per candidate, before keeping the faster (`TimedChoice`)


@functools.cache
def _threadpool_controller():
    """One `ThreadpoolController` per process, made on first use.

    Making one inspects every loaded library, which takes milliseconds. It
    controls the BLAS libraries loaded by then, NumPy's among them.
    """
    return ThreadpoolController()


def _blas_threads():
    """The fewest threads any loaded BLAS may use now (None when none is found)."""
    counts = [
        library["num_threads"]
        for library in _threadpool_controller().info()
        if library["user_api"] == "blas"
    ]
    return min(counts, default=None)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_threads():
    """Most threads sknnfs may use: the cores, capped by the BLAS limit in force."""
    blas_threads = _blas_threads()
    cores = _cores()
    return min(MAX_THREADS, cores if blas_threads is None else min(cores, blas_threads))


class TimedChoice:
    """The faster of a few ways to do the same work, timed on this machine.

    The first calls alternate between the candidates until each has been
    timed ``TIMED_CALLS`` times (the first candidate given goes first); later
    calls take the one with the least time per unit of work in its fastest
    call. The candidates give identical results: only their speed differs.
    """

    def __init__(self):
        self.seconds_per_unit = {}  # candidate -> one figure per timed call

    def choose(self, candidates):
        """The candidate to run now, of ``candidates`` (a sequence)."""
        timings = [self.seconds_per_unit.get(candidate, []) for candidate in candidates]
        counts = [len(times) for times in timings]
        if min(counts) < TIMED_CALLS:
            return candidates[counts.index(min(counts))]
        fastest = [min(times) for times in timings]
        return candidates[fastest.index(min(fastest))]

    def record(self, candidate, seconds, units=1):
        """Time one call of ``candidate`` that did ``units`` of work."""
        times = self.seconds_per_unit.setdefault(candidate, [])
        if len(times) < TIMED_CALLS:
            times.append(seconds / units)


def sparse_prediction_threads(X, n_units):
    """Most threads worth sharing the first layer's product with ``X`` at prediction.

    More than one only for sparse ``X``, when every thread gets at least
    ``SPARSE_WORK_PER_THREAD`` multiply-adds, and only on the main thread,
    the one thread from which BLAS can be limited reliably (OpenBLAS ignores
    a thread count raised again from another thread).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    n_units : int
        Width of the first layer.

    Returns
    -------
    n_threads : int
    """
    if not hasattr(X, "nnz"):  # dense: BLAS shares the product already
        return 1
    if threading.current_thread() is not threading.main_thread():
        return 1
    enough_work = X.nnz * n_units // SPARSE_WORK_PER_THREAD
    if enough_work < 2:
        return 1
    return max(1, min(available_threads(), enough_work))


@contextlib.contextmanager
def blas_limited_to_one_thread():
    """Keep BLAS (process-wide) to one thread while the block runs."""
    with _threadpool_controller().limit(limits=1, user_api="blas"):
        yield


def blas_limited_for_lbfgs():
    """Keep BLAS to one thread while scipy's L-BFGS-B runs, from the main thread.

    Only from the main thread, as for `sparse_prediction_threads`: OpenBLAS
    ignores a thread count raised again from another thread, so a limit set
    there would outlast the fit.
    """
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext()
    return blas_limited_to_one_thread()


def run_ranges_on_threads(function, size, n_threads, n_ranges=None):
    """Call ``function(start, stop)`` for ranges covering ``range(size)``, on threads.

    ``range(size)`` is cut into ``n_ranges`` contiguous ranges of nearly
    equal length, handed out in order to ``n_threads`` threads (the calling
    thread and ``n_threads - 1`` others), each taking the next range as soon
    as it is free: a thread that shares its core takes fewer. Worker threads
    run in a copy of the caller's context, so ``np.errstate`` applies to them
    too. Once a range fails (or is interrupted) no new range is started; the
    error of the first failing range is raised in the caller, once every
    thread has finished the range it was on. Ranges are handed out in order,
    so every range before a failing one has run.

    Parameters
    ----------
    function : callable
        ``function(start, stop)``; must be safe to run on disjoint ranges at
        once (NumPy and scipy.sparse release the GIL in their loops).
    size : int
    n_threads : int
    n_ranges : int, default=n_threads
    """
    n_ranges = n_threads if n_ranges is None else n_ranges
    bounds = [size * index // n_ranges for index in range(n_ranges + 1)]
    errors = [None] * n_ranges
    failed = threading.Event()  # once set, no thread takes a new range
    next_range = itertools.count()  # next() is atomic under the GIL

    def take_ranges():
        while not failed.is_set() and (index := next(next_range)) < n_ranges:
            try:
                function(bounds[index], bounds[index + 1])
            except BaseException as error:  # re-raised in the calling thread
                errors[index] = error
                failed.set()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(take_ranges,))
        for _ in range(1, n_threads)
    ]
    for thread in threads:
        thread.start()
    take_ranges()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error


def run_on_threads(update, flat_arrays, block, n_threads):
    """Split 1-d arrays into ``n_threads`` ranges, each updated block by block."""

    def update_range(start, stop):
        for block_start in range(start, stop, block):
            rows = slice(block_start, min(block_start + block, stop))
            update(*(array[rows] for array in flat_arrays))

    run_ranges_on_threads(update_range, flat_arrays[0].size, n_threads)


class BlockwiseUpdate:
    """Applies elementwise updates to large arrays in blocks, timed to pick threads.

    An instance is an ``apply_update`` for `sknnfs.Adam.step` and the other
    optimizers: ``blockwise(update, arrays)``. One lives as long as one
    training run; its timings belong to this machine and this run.
    """

    def __init__(self):
        self._timings = None  # a TimedChoice between thread counts, once used
        self._thread_counts = None

    @staticmethod
    def applies_to(arrays):
        """Whether ``arrays`` are large and contiguous enough to update in blocks."""
        return arrays[0].size >= BLOCKWISE_MIN_SIZE and all(
            array.flags.c_contiguous for array in arrays
        )

    def __call__(self, update, arrays):
        """Apply ``update(*blocks)`` to matching blocks of ``arrays``, in place.

        Parameters
        ----------
        update : callable
            Updates its array arguments in place, elementwise.
        arrays : sequence of ndarray
            Arrays of one size; small or non-contiguous ones are updated whole.
        """
        if not self.applies_to(arrays):
            update(*arrays)
            return
        flat = [array.reshape(-1) for array in arrays]
        block = max(1, BLOCK_BYTES // flat[0].itemsize)
        if self._timings is None:
            most_threads = max(1, min(available_threads(), flat[0].size // block))
            self._timings = TimedChoice()
            self._thread_counts = (1, most_threads) if most_threads > 1 else (1,)
        n_threads = self._timings.choose(self._thread_counts)
        start = time.perf_counter()
        run_on_threads(update, flat, block, n_threads)
        self._timings.record(n_threads, time.perf_counter() - start)
