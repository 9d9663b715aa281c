"""Prediction: a network's outputs for any number of rows, in bounded memory.

The rows go through the network in chunks, so that memory beyond the output
stays bounded whatever the number of rows. Dense rows go in chunks whose
activations stay in cache from one layer's product to the next; sparse rows
in chunks as large as the bound allows (`chunk_rows`). For large sparse
input the first layer's product has a plan (`FirstLayerPlan`): its rows may
be shared between threads (see `sknnfs._parallel`) and multiplied in blocks
in column order (`sknnfs._kernels.in_column_order`), whichever of the plans
timed fastest in this process: they give the same bits. A prediction runs
in a turn at the caller's BLAS limit (`sknnfs._parallel`), so that its
results depend neither on the thread it runs on nor on what runs on the
others. An overflow that reaches the logits is an error naming the row,
never NaN probabilities.
"""

import collections
import contextlib
import time
from typing import NamedTuple

import numpy as np

from ._kernels import in_column_order
from ._parallel import (
    TimedChoice,
    blas_at_the_callers_limit,
    run_ranges_on_threads,
    sparse_prediction_threads,
)

__all__ = [
    "FirstLayerPlan",
    "checks_rows_in_first_layer",
    "first_layer_plans",
    "predict_outputs",
]

# Rows per chunk: at most MAX_VALUES values in the widest layer, the memory
# bound. Dense rows: about CACHE_VALUES values there, so that they stay in
# cache between products, but at least MIN_ROWS rows (smaller products run
# slower). Sparse rows: up to the bound, since each chunk's threaded first
# product starts its threads anew, and scipy's product gains nothing from a
# cache-sized chunk.
CHUNK_CACHE_VALUES = 1 << 19
CHUNK_MIN_ROWS = 2048
CHUNK_MAX_VALUES = 1 << 22

# Sparse rows in column order go in blocks of about COLUMN_BLOCK_VALUES
# first-layer outputs, which stay in a core's cache while each column of the
# block adds its row of the weights into them.
COLUMN_BLOCK_VALUES = 1 << 17
# Plans are timed from this many multiply-adds in the first product (a few
# milliseconds of scipy's work); smaller predictions take the plain one.
TIMED_PLAN_WORK = 1 << 23


class FirstLayerPlan(NamedTuple):
    """How one prediction computes the first layer's product with sparse rows."""

    n_threads: int = 1  # threads sharing its rows
    in_column_order: bool = False  # blocks of rows multiplied in CSC order


_FIRST_LAYER_PLAN_TIMINGS = collections.defaultdict(TimedChoice)


def plan_timings(weights):
    """The timings of the plans for a first layer of ``weights``.

    One per dtype and shape: which plan is fastest depends on the free cores
    and on where the weights fit in cache.
    """
    return _FIRST_LAYER_PLAN_TIMINGS[(weights.dtype.str, weights.shape)]


def column_block_rows(n_units):
    """Rows of a block multiplied in column order, for a first layer of ``n_units``."""
    return max(1, COLUMN_BLOCK_VALUES // n_units)


def first_layer_plans(X, weights):
    """The plans worth timing for the first layer's product with ``X``.

    Sharing the rows between threads, when `sparse_prediction_threads` gives
    several, and column order, for a large CSR ``X`` with sorted indices
    (the condition of its exact result) whose blocks hold at least as many
    stored values as ``X`` has columns: converting a block also costs a step
    per column, and only repeated columns save reads of the weights.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    weights : ndarray of shape (n_features, n_units)

    Returns
    -------
    plans : list of FirstLayerPlan
        The plain plan (one thread, row order) alone when nothing else is
        worth timing.
    """
    n_units = weights.shape[1]
    most_threads = sparse_prediction_threads(X, n_units)
    thread_counts = (most_threads, 1) if most_threads > 1 else (1,)
    orders = [False]
    if (
        getattr(X, "format", None) == "csr"
        and X.nnz * n_units >= TIMED_PLAN_WORK
        and X.nnz * min(column_block_rows(n_units), X.shape[0])
        >= X.shape[0] * X.shape[1]
        and X.has_sorted_indices
    ):
        orders.append(True)
    return [FirstLayerPlan(n, order) for order in orders for n in thread_counts]


@contextlib.contextmanager
def _timed_first_layer_plan(X, weights):
    """The plan for one prediction, of `first_layer_plans`, whichever timed
    fastest in this process; the prediction (the block) is timed for the
    choice unless it raises."""
    plans = first_layer_plans(X, weights)
    if len(plans) == 1:
        yield plans[0]
        return
    timings = plan_timings(weights)
    plan = timings.choose(plans)
    start = time.perf_counter()
    yield plan
    seconds = time.perf_counter() - start
    timings.record(plan, seconds, X.nnz * weights.shape[1])


def chunk_rows(layer_sizes, sparse=False):
    """Rows per chunk for a network of ``layer_sizes``, for dense or sparse rows."""
    widest = max(layer_sizes[1:])
    most_rows = max(1, CHUNK_MAX_VALUES // widest)
    if sparse:
        return most_rows
    return min(most_rows, max(CHUNK_MIN_ROWS, CHUNK_CACHE_VALUES // widest))


def checks_rows_in_first_layer(network, X):
    """Whether ``X`` is best checked for NaN and infinity in the first layer.

    True for dense rows wider than the first layer: its outputs are fewer
    values to sum than the rows (`predict_outputs`' ``check_finite_rows``).
    """
    return not hasattr(X, "nnz") and network.layer_sizes[1] < network.layer_sizes[0]


def predict_outputs(network, X, output_function=None, check_finite_rows=None):
    """The network's outputs for ``X``, chunk by chunk.

    Parameters
    ----------
    network : Network
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Already validated, in the network's dtype.
    output_function : callable, optional
        Maps a chunk of logits to outputs; by default the loss's
        ``output_activation`` (softmax, sigmoid or the identity).
    check_finite_rows : callable, optional
        For dense ``X`` not yet checked for NaN and infinity: raises if a
        chunk of rows holds any. It is called only on a chunk whose first
        layer's outputs do not sum to a finite number, as a NaN or an
        infinity in a row always makes them (with finite weights, each
        spreads to every unit of its row as NaN or infinity).

    Returns
    -------
    outputs : ndarray of shape (n_samples, n_outputs)
        Or as many columns as ``output_function`` makes of ``n_outputs``.
    """
    output_function = output_function or network.loss.output_activation
    # Every plan at the caller's BLAS limit: a limit of the plan's own would
    # change the later layers' products, and so the bits, with the plan.
    with (
        blas_at_the_callers_limit(),
        _timed_first_layer_plan(X, network.layers[0].weights) as plan,
    ):
        return _predict_in_chunks(network, X, output_function, plan, check_finite_rows)


def _predict_in_chunks(network, X, output_function, plan, check_finite_rows):
    n_samples = X.shape[0]
    rows_per_chunk = chunk_rows(network.layer_sizes, sparse=hasattr(X, "nnz"))
    if n_samples <= rows_per_chunk:  # one chunk: its outputs are returned as is
        return _chunk_outputs(network, X, 0, output_function, plan, check_finite_rows)
    outputs = None  # as wide as the output function makes them
    for start in range(0, n_samples, rows_per_chunk):
        rows = slice(start, min(start + rows_per_chunk, n_samples))
        chunk_outputs = _chunk_outputs(
            network, X[rows], start, output_function, plan, check_finite_rows
        )
        if outputs is None:
            outputs = np.empty((n_samples, chunk_outputs.shape[1]), network.dtype)
        outputs[rows] = chunk_outputs
    return outputs


def _chunk_outputs(network, X_chunk, first_row, output_function, plan, check_rows):
    """``output_function`` of a chunk's logits, checked: finite logits can
    still give an infinite output (``exp`` of a logit above ~88 in float32,
    ~709 in float64, under ``loss='poisson'``)."""
    logits = _chunk_logits(network, X_chunk, first_row, plan, check_rows)
    if not network.loss.output_overflows:  # finite logits: finite outputs
        return output_function(logits)
    with np.errstate(over="ignore"):
        outputs = output_function(logits)
    _check_finite_outputs(outputs, X_chunk, first_row, network.dtype, "prediction")
    return outputs


def _chunk_logits(network, X_chunk, first_row, plan, check_finite_rows=None):
    # An overflow in a hidden layer is harmless when a tanh or sigmoid
    # saturates it (tanh(inf) is exactly 1); it only matters if it reaches
    # the logits, which are checked instead.
    with np.errstate(over="ignore", invalid="ignore"):
        first_outputs = _first_layer_outputs(network, X_chunk, plan)
        # One sum, as scikit-learn's check makes; an overflow of finite rows
        # lands here too, and passes their check.
        if check_finite_rows is not None and not np.isfinite(first_outputs.sum()):
            check_finite_rows(X_chunk)
        logits = network.forward(X_chunk, first_layer_outputs=first_outputs)
    _check_finite_outputs(logits, X_chunk, first_row, network.dtype, "output")
    return logits


def _first_layer_outputs(network, X_chunk, plan):
    """The first layer's outputs for ``X_chunk``, computed as ``plan`` says."""
    first_layer = network.layers[0]
    if plan == FirstLayerPlan():
        return first_layer.forward(X_chunk)[0]
    n_rows = X_chunk.shape[0]
    first_outputs = np.empty((n_rows, first_layer.weights.shape[1]), network.dtype)
    block_rows = (
        column_block_rows(first_layer.weights.shape[1])
        if plan.in_column_order
        else max(1, n_rows)
    )

    def forward_rows(start, stop):
        for block_start in range(start, stop, block_rows):
            rows = slice(block_start, min(block_start + block_rows, stop))
            inputs = X_chunk[rows]
            if plan.in_column_order:
                inputs = in_column_order(inputs)
            first_layer.forward(inputs, out=first_outputs[rows])

    if plan.n_threads == 1:
        forward_rows(0, n_rows)
    else:
        # A few ranges per thread: a thread slowed by a busy core takes fewer.
        n_ranges = min(n_rows, 4 * plan.n_threads)
        run_ranges_on_threads(forward_rows, n_rows, plan.n_threads, n_ranges)
    return first_outputs


def _check_finite_outputs(outputs, X, first_row, dtype, what):
    """Raise instead of returning overflowed outputs, or NaN made of them.

    Softmax of an infinite logit is NaN, a NaN logit has no meaning, and an
    infinite predicted mean is no prediction: the inputs are too large for
    the network in ``dtype``. ``what`` names the outputs: the network's
    ``'output'`` (the logits) or its ``'prediction'``.
    """
    if np.isfinite(outputs).all():  # one fast pass in the common case
        return
    finite_rows = np.isfinite(outputs).all(axis=1)
    bad_row = int(np.flatnonzero(~finite_rows)[0])
    row_values = X[bad_row].toarray() if hasattr(X, "toarray") else X[bad_row]
    or_float64 = ", or fit with dtype='float64'" if dtype != np.float64 else ""
    raise ValueError(
        f"The network's {what} overflowed (is not finite) for row "
        f"{first_row + bad_row} of X, whose largest absolute value is "
        f"{float(np.max(np.abs(row_values))):.3g}: the inputs are too large for "
        f"the forward pass in {np.dtype(dtype).name}. Scale the features (e.g. "
        f"with StandardScaler){or_float64}."
    )
