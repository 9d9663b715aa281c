"""Elementwise in-place updates of large arrays, block by block, on one or more threads.

An optimizer's update is elementwise, so a large parameter array (a million
values or more) can be updated in blocks of about a megabyte: each of the
update's passes then runs on a block still in the core's cache instead of
streaming the whole array from memory about ten times. The blocks can also be
shared between a few threads, since NumPy releases the GIL inside its loops.
That halves the update when the cores are free (as between sparse products)
but slows it when OpenBLAS's threads are still spinning after large dense
products, so the first calls time both ways and the faster one is kept.

Every value goes through the same operations in the same order whatever its
block or thread, so the result is identical to one whole-array update.

`run_ranges_on_threads` is the plain form underneath: any work on disjoint
ranges of rows, handed out to a few threads. Prediction uses it to share the
first layer's product with sparse input, which scipy computes on one core.

This module imports only NumPy and the standard library.
"""

import contextvars
import itertools
import os
import threading
import time

__all__ = [
    "BlockwiseUpdate",
    "available_cores",
    "run_on_threads",
    "run_ranges_on_threads",
]

MIN_SIZE = 1 << 20  # arrays at least this large are updated in blocks
BLOCK_BYTES = 1 << 20  # per array: a block's passes stay in a core's cache
MAX_THREADS = 4
TIMED_CALLS = 3  # per thread count, before keeping the faster


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class BlockwiseUpdate:
    """Runs an elementwise update over large arrays in blocks, timed to pick threads.

    Pickles carry no timings: they belong to this machine and this run.
    """

    def __init__(self):
        self._timings = None

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self._timings = None

    @staticmethod
    def applies_to(arrays):
        """Whether ``arrays`` are large and contiguous enough to update in blocks."""
        return arrays[0].size >= MIN_SIZE and all(
            array.flags.c_contiguous for array in arrays
        )

    def __call__(self, update, arrays):
        """Apply ``update(*blocks)`` to matching blocks of ``arrays``, in place.

        Parameters
        ----------
        update : callable
            Updates its array arguments in place, elementwise.
        arrays : sequence of ndarray
            C-contiguous arrays of one size.
        """
        flat = [array.reshape(-1) for array in arrays]
        size = flat[0].size
        block = max(1, BLOCK_BYTES // flat[0].itemsize)
        if self._timings is None:
            most_threads = max(1, min(MAX_THREADS, available_cores(), size // block))
            self._timings = {1: [], most_threads: []}
        timings = self._timings
        untried = [count for count in timings if len(timings[count]) < TIMED_CALLS]
        if untried:  # alternate the candidates until each has been timed enough
            n_threads = min(untried, key=lambda count: len(timings[count]))
        else:
            n_threads = min(timings, key=lambda count: min(timings[count]))
        start = time.perf_counter()
        run_on_threads(update, flat, block, n_threads)
        if untried:
            timings[n_threads].append(time.perf_counter() - start)


def run_on_threads(update, flat_arrays, block, n_threads):
    """Split 1-d arrays into ``n_threads`` ranges, each updated block by block."""

    def update_range(start, stop):
        for block_start in range(start, stop, block):
            rows = slice(block_start, min(block_start + block, stop))
            update(*(array[rows] for array in flat_arrays))

    run_ranges_on_threads(update_range, flat_arrays[0].size, n_threads)


def run_ranges_on_threads(function, size, n_threads, n_ranges=None):
    """Call ``function(start, stop)`` for ranges covering ``range(size)``, on threads.

    ``range(size)`` is cut into ``n_ranges`` contiguous ranges of nearly
    equal length, handed out in order to ``n_threads`` threads (the calling
    thread and ``n_threads - 1`` others), each taking the next range as soon
    as it is free. With more ranges than threads, a thread that shares its
    core (with another process, or with OpenBLAS's threads still spinning
    after a product) simply takes fewer ranges. Worker threads run in a copy
    of the caller's context, so ``np.errstate`` applies to them too. Once a
    range fails (or is interrupted) no new range is started; the error of
    the first failing range is raised in the caller, once every thread has
    finished the range it was on. Ranges are handed out in order, so every
    range before a failing one has run.

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
