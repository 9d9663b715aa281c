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

This module imports only NumPy and the standard library.
"""

import contextvars
import os
import threading
import time

__all__ = ["BlockwiseUpdate", "run_on_threads"]

MIN_SIZE = 1 << 20  # arrays at least this large are updated in blocks
BLOCK_BYTES = 1 << 20  # per array: a block's passes stay in a core's cache
MAX_THREADS = 4
TIMED_CALLS = 3  # per thread count, before keeping the faster


def _available_cores():
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
            most_threads = max(1, min(MAX_THREADS, _available_cores(), size // block))
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
    """Split 1-d arrays into ``n_threads`` ranges, each updated block by block.

    The calling thread takes the first range. Worker threads run in a copy of
    the caller's context, so ``np.errstate`` applies to them too, and their
    errors are re-raised in the caller.
    """
    size = flat_arrays[0].size
    bounds = [size * index // n_threads for index in range(n_threads + 1)]
    errors = []

    def update_range(start, stop):
        try:
            for block_start in range(start, stop, block):
                rows = slice(block_start, min(block_start + block, stop))
                update(*(array[rows] for array in flat_arrays))
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(update_range, bounds[index], bounds[index + 1]),
        )
        for index in range(1, n_threads)
    ]
    for thread in threads:
        thread.start()
    update_range(bounds[0], bounds[1])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
