"""The engine's parallelism: the one place that decides on threads and BLAS limits.

Two things run on threads, both with results identical to one thread:

- **Prediction on large sparse input.** scipy multiplies a sparse matrix on
  one core, releasing the GIL, so the first layer's product is shared by
  row ranges between a few threads (`sparse_prediction_threads`,
  `run_ranges_on_threads`). That pays only when other cores are free, which
  a shared machine may not have, nor one where OpenBLAS's threads still
  spin after a dense product: the first calls of the process time one
  thread and several, and the faster is kept (`TimedChoice`, used by
  `sknnfs._prediction`).
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

**The guarantee: the same bits on any thread, alone or not.** A fit or a
prediction gives the same bits whichever thread runs it, whatever other
threads run meanwhile and whichever way a `TimedChoice` went: its results
depend only on its inputs and on the BLAS thread limit its caller set.
That limit is an input: OpenBLAS cuts a dense product between its threads,
and the cut changes how the sums of some products are split (in this
CPU's SkylakeX kernel, a ``(64, 1797) @ (1797, 100)`` gradient or a
``(20000, 784) @ (784, 256)`` forward product differ in their last bits
between one thread and two). The limit is process-wide (OpenBLAS with
pthreads, as NumPy's and SciPy's wheels have it, keeps one count for the
whole process, and threadpoolctl lets one thread at a time change it), so
it cannot be per thread. It is kept thus:

- Every BLAS-using computation of sknnfs (a fit, a prediction) runs in a
  *turn*, which says the limit it needs: the caller's
  (`blas_at_the_callers_limit`, for stochastic fits and predictions) or
  one thread (`blas_limited_for_lbfgs`). Turns of one limit run together,
  on any number of threads; a turn of the other limit waits until they
  have all ended, and no turn starts before one of the other limit that
  asked earlier, so that none waits for ever. An L-BFGS fit and an Adam
  fit on two threads take turns; two Adam fits, two L-BFGS fits, or a fit
  and predictions at the caller's limit run at once.
- Only turns change the limit (NumPy's BLAS and SciPy's alike): the first
  one-thread turn to start sets it, on whichever thread it runs, and the
  last to end gives the caller's back, on whichever thread it runs. So
  nothing depends on which thread is the main one.
- A turn inside another on the same thread (a prediction in a callback
  of an L-BFGS fit) runs under the enclosing turn's limit, as it always
  would, and never waits.
- The choices timed by `TimedChoice` (threads or not, column order or
  not) give identical results: timings recorded on one thread and used on
  another change only the speed.

The guarantee assumes that the caller does not change BLAS limits from
another thread while sknnfs computes (the limit is an input, and that
would change it midway), and that the limits are process-wide; with
OpenBLAS built on OpenMP they are per thread, and turns of the one-thread
limit then run one at a time, each setting and giving back its own.

The number of threads never exceeds the available cores, nor the number of
threads the caller allows BLAS (a ``threadpoolctl.threadpool_limits`` in
force, as joblib sets in its workers): a caller who keeps BLAS to one thread
gets no threads from sknnfs either.
"""

import contextvars
import functools
import itertools
import os
import threading
import time

from threadpoolctl import OpenBLASController, ThreadpoolController

__all__ = [
    "BlockwiseUpdate",
    "TimedChoice",
    "available_threads",
    "blas_at_the_callers_limit",
    "blas_limited_for_lbfgs",
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
    controls the BLAS libraries loaded by then, NumPy's and SciPy's among
    them.
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


@functools.cache
def _limits_are_per_thread():
    """Whether a BLAS limit holds for the thread that sets it only.

    So it is for OpenBLAS built on OpenMP (threadpoolctl then sets OpenMP's
    per-thread count); with pthreads, MKL or BLIS it holds for the process.
    """
    return any(
        library.get("threading_layer") == "openmp"
        for library in _threadpool_controller().info()
        if library["internal_api"] == "openblas"
    )


def _let_go_of_openblas():
    """Let any thread change OpenBLAS's thread count next.

    threadpoolctl (from 3.8) lets only one thread at a time change it, the
    first to try, and silently ignores the others until that one lets go (a
    ``with threadpool_limits(...)`` lets go at its end): a limit set on a
    worker thread while the main thread held on would not be set. A turn's
    limit is set on one thread and may be given back on another, so before
    each change sknnfs takes the hold from whichever thread has it, and lets
    go after. Older threadpoolctl lets any thread change it.
    """
    let_go = getattr(OpenBLASController, "clear_controlling_thread", None)
    if let_go is not None:
        let_go(force=True)


def _set_blas_limit(limit):
    """Limit BLAS to ``limit`` threads, from this thread; returns the limiter."""
    _let_go_of_openblas()
    try:
        return _threadpool_controller().limit(limits=limit, user_api="blas")
    finally:
        _let_go_of_openblas()


def _give_back(limiter):
    """Restore the limits ``limiter`` changed, from this thread."""
    _let_go_of_openblas()
    try:
        limiter.restore_original_limits()
    finally:
        _let_go_of_openblas()


class _BlasTurns:
    """The computations running with BLAS, and the thread limit they share.

    One instance per process (`_TURNS`); see the module docstring.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._limit = None  # of the turns running; None: the caller's limit
        self._running = 0  # turns running, on all threads
        self._waiting = []  # one [limit] per turn waiting to start, in order
        self._limiter = None  # threadpoolctl's, while a limit of ours holds
        self._callers_threads = None  # the caller's BLAS threads, meanwhile
        self._depth = threading.local()  # this thread's turns, nested

    def turn(self, limit):
        """A context manager: the block runs in a turn with BLAS limited to
        ``limit`` threads (``None`` for the caller's limit). A turn inside
        another of this thread runs under that one's limit, and never waits.
        """
        return _Turn(self, limit)

    def callers_blas_threads(self):
        """The fewest threads the caller lets any BLAS use (None: no BLAS)."""
        with self._condition:
            if self._limiter is not None:
                return self._callers_threads
        return _blas_threads()

    def _may_start(self, request):
        """Whether the turn asked for by ``request`` (in ``_waiting``) may start."""
        limit = request[0]
        if self._running and (
            self._limit != limit or (limit is not None and _limits_are_per_thread())
        ):
            return False
        # Not before a turn of another limit that asked earlier.
        earlier = self._waiting[: self._waiting.index(request)]
        return all(waiting[0] == limit for waiting in earlier)

    def _start(self, limit):
        with self._condition:
            # The common case, a prediction or a stochastic fit with no
            # L-BFGS turn running or waiting: nothing to wait for or set.
            if (
                limit is None
                and not self._waiting
                and (not self._running or self._limit is None)
            ):
                self._limit = None
                self._running += 1
                return
        request = [limit]  # a new list: one turn's place in the queue
        with self._condition:
            self._waiting.append(request)
            try:
                self._condition.wait_for(lambda: self._may_start(request))
                if not self._running and limit is not None:
                    self._callers_threads = _blas_threads()
                    self._limiter = _set_blas_limit(limit)
                self._limit = limit
                self._running += 1
            finally:  # started, or interrupted while waiting
                self._waiting.remove(request)
                self._condition.notify_all()

    def _end(self):
        with self._condition:
            try:
                self._running -= 1
                if not self._running and self._limiter is not None:
                    limiter, self._limiter = self._limiter, None
                    _give_back(limiter)
            finally:
                if self._waiting:
                    self._condition.notify_all()


class _Turn:
    """One turn of `_BlasTurns.turn`, as a context manager (a class rather
    than a generator: predictions of a few rows take one each)."""

    __slots__ = ("turns", "limit", "depth")

    def __init__(self, turns, limit):
        self.turns, self.limit = turns, limit

    def __enter__(self):
        turns = self.turns
        self.depth = getattr(turns._depth, "value", 0)
        if self.depth == 0:
            turns._start(self.limit)
        turns._depth.value = self.depth + 1

    def __exit__(self, *exception):
        self.turns._depth.value = self.depth
        if self.depth == 0:
            self.turns._end()
        return False


_TURNS = _BlasTurns()


def _new_turns_after_fork():
    """A forked child has only the forking thread: no other's turn is running."""
    global _TURNS
    _TURNS = _BlasTurns()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_new_turns_after_fork)


def blas_at_the_callers_limit():
    """A turn (see the module docstring) under the caller's BLAS limit.

    For stochastic fits and predictions: it waits while L-BFGS fits run on
    other threads with BLAS kept to one thread.
    """
    return _TURNS.turn(None)


def blas_limited_for_lbfgs():
    """A turn (see the module docstring) with BLAS kept to one thread, for
    scipy's L-BFGS-B, on any thread."""
    return _TURNS.turn(1)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_threads():
    """Most threads sknnfs may use: the cores, capped by the caller's BLAS limit.

    The caller's, not one an L-BFGS fit of sknnfs has set meanwhile.
    """
    blas_threads = _TURNS.callers_blas_threads()
    cores = _cores()
    return min(MAX_THREADS, cores if blas_threads is None else min(cores, blas_threads))


class TimedChoice:
    """The faster of a few ways to do the same work, timed on this machine.

    The first calls alternate between the candidates until each has been
    timed ``TIMED_CALLS`` times (the first candidate given goes first); later
    calls take the one with the least time per unit of work in its fastest
    call. The candidates give identical results: only their speed differs,
    so a choice may be shared by threads (a race between them at worst
    times a candidate once more).
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
    ``SPARSE_WORK_PER_THREAD`` multiply-adds.

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
    enough_work = X.nnz * n_units // SPARSE_WORK_PER_THREAD
    if enough_work < 2:
        return 1
    return max(1, min(available_threads(), enough_work))


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
