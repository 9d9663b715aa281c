"""Piecewise-linear encoding of numeric features at quantile bin edges.

A dense layer with ReLUs draws functions that bend where its units switch
on. Where the target changes sharply within a small range of one feature,
or moves up and down along it, the network needs many units, and many
epochs, to place enough bends there; gradient-boosted trees split at any
quantile at once. Gorishniy, Rubachev and Babenko (2022, "On Embeddings for
Numerical Features in Tabular Deep Learning") give the network the
quantiles too: a feature ``x`` becomes one value per bin ``[b[t], b[t+1])``
of its training quantiles::

    e[t] = clip((x - b[t]) / (b[t+1] - b[t]), 0, 1)

which is 0 left of the bin, 1 right of it, and rises linearly inside. The
first bin is not clipped below and the last not above, so that the
encoding extrapolates linearly outside the training range. The bins
together hold the same information as ``x`` (``x`` is a weighted sum of
them, plus ``b[0]``), and the first layer can give each its own weights.
It is the same piecewise-linear encoding RealMLP (Holzmüller et al. 2024)
lists among the numeric embeddings.

- A feature with at most two distinct training values (an indicator, a
  one-hot column) goes to the network as it is: its bins would be itself.
- Bin edges are the unique quantiles at ``0, 1/n_bins, ..., 1`` of the
  feature's training values, weighted by ``sample_weight``: the smallest
  value whose cumulative weight reaches each level (NumPy's
  ``'inverted_cdf'``), so that a row of weight 2 places the edges as two
  copies of it do, and a row of weight 0 as its absence. A feature with few
  distinct values gets fewer bins.
- The encoding is fixed once fitted: it has no parameters to learn, so it
  adds no gradient of its own. Its output is the network's input.
- The network starts as the one it would be on the features themselves
  (`start_as_features`): each bin's first-layer weights are the weights of
  its feature times the bin's width, so that the first layer computes
  ``x @ W`` wherever the features lie inside their inner edges. Drawn
  independently per bin instead, the start is a random zigzag along each
  feature, which the small data sets of the real-data benchmark, stopped
  early, did not train away.

`encoding_columns` turns the edges into one column rule per network input
(source feature, offset, scale, clip bounds), which `encode` applies and
`sknnfs.onnx` writes as ``Gather``, ``Sub``, ``Mul``, ``Max`` and ``Min``.

This module imports only NumPy.
"""

import numpy as np

__all__ = [
    "AUTO_BINS",
    "EncodingColumns",
    "bin_edges",
    "encode",
    "edges_problem",
    "encoding_columns",
    "fitted_edges",
    "n_inputs",
    "needs_dense_x",
    "resolve_numeric_bins",
    "start_as_features",
]

# The bins of ``numeric_bins='auto'``: of 8 and 16 (4 and 8 before the
# start of `start_as_features`), measured on the real-data benchmark's
# meta-train half and tuning group (docs: "Defaults, and how they were
# chosen"), 16 gained more on the large sets and lost about as much on the
# small ones.
AUTO_BINS = 16


def needs_dense_x(numeric_bins):
    """Whether every fit with ``numeric_bins`` encodes, and so needs dense
    ``X`` on one machine: an int does; ``'auto'`` and None take any ``X``."""
    return numeric_bins not in (None, "auto")


def resolve_numeric_bins(numeric_bins, *, sparse, incremental):
    """The bins a fit encodes with, or None for the features as they are.

    ``'auto'`` is `AUTO_BINS` for a ``fit`` on dense ``X``, and None for
    sparse ``X`` (its columns are not encoded densely) and for
    ``partial_fit`` (its first rows need not show the data's quantiles).

    Parameters
    ----------
    numeric_bins : int, 'auto' or None
    sparse : bool
        Whether ``X`` is a sparse matrix.
    incremental : bool
        Whether the fit is a ``partial_fit``.

    Returns
    -------
    n_bins : int or None

    Examples
    --------
    >>> resolve_numeric_bins("auto", sparse=False, incremental=False)
    16
    >>> print(resolve_numeric_bins("auto", sparse=True, incremental=False))
    None
    >>> resolve_numeric_bins(4, sparse=False, incremental=True)
    4
    """
    if numeric_bins != "auto":
        return numeric_bins
    return None if sparse or incremental else AUTO_BINS


def fitted_edges(numeric_bins, X, sample_weight, *, sparse, incremental):
    """The ``bin_edges_`` a fit learns: `bin_edges` at the bins
    `resolve_numeric_bins` gives, or None.

    Parameters
    ----------
    numeric_bins : int, 'auto' or None
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    sparse : bool
        Whether ``X`` is a sparse matrix.
    incremental : bool
        Whether the fit is a ``partial_fit``.

    Returns
    -------
    edges : list of (ndarray or None), or None

    Raises
    ------
    TypeError
        For sparse ``X`` and an int ``numeric_bins``.
    """
    n_bins = resolve_numeric_bins(numeric_bins, sparse=sparse, incremental=incremental)
    if n_bins is None:
        return None
    if sparse:
        raise TypeError(
            f"numeric_bins={numeric_bins} encodes dense features, and X "
            "is sparse. Pass X.toarray(), or set numeric_bins=None."
        )
    return bin_edges(X, n_bins, sample_weight)


def bin_edges(X, n_bins, sample_weight=None):
    """The bin edges of each feature, or None for a feature left as it is.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite training values.
    n_bins : int
        At least 2: the quantile bins of a feature with many distinct values.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights, not all zero; None weighs every row 1.

    Returns
    -------
    edges : list of (ndarray of shape (n_edges,) or None), length n_features
        Increasing float64 edges, 2 to ``n_bins + 1`` of them; None for a
        feature with at most two distinct values.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]])
    >>> [None if e is None else e.tolist() for e in bin_edges(X, 2)]
    [[0.0, 2.0, 4.0], None]
    """
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is not None:  # a row of weight 0 places no edge
        kept = sample_weight > 0
        X, sample_weight = X[kept], sample_weight[kept].astype(np.float64)
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    edges = []
    for column in X.T:
        if np.unique(column).size <= 2:
            edges.append(None)
        else:
            edges.append(np.unique(_weighted_quantiles(column, levels, sample_weight)))
    return edges


def _weighted_quantiles(values, levels, weights):
    """NumPy's ``'inverted_cdf'`` quantiles, weighted: for each level, the
    smallest value whose share of the total weight, counted from the
    smallest value up, reaches it (the smallest value for level 0)."""
    order = np.argsort(values, kind="stable")
    values = values[order]
    if weights is None:
        cumulative = np.arange(1, len(values) + 1, dtype=np.float64)
    else:
        cumulative = np.cumsum(weights[order])
    # Rounding must not leave level 1 above the total: clip the index.
    index = np.searchsorted(cumulative, levels * cumulative[-1], side="left")
    return values[np.minimum(index, len(values) - 1)]


class EncodingColumns:
    """One rule per network input: ``clip((x[source] - offset) * scale, lower,
    upper)``.

    Parameters
    ----------
    source : ndarray of shape (n_inputs,), int
        The feature each input is computed from, in increasing order.
    offset, scale, lower, upper : ndarray of shape (n_inputs,), float64
        A bin's left edge and 1 / width, and its clip bounds (``-inf`` or
        ``inf`` where it is not clipped); 0, 1, -inf, inf for a feature
        left as it is.
    """

    def __init__(self, source, offset, scale, lower, upper):
        self.source, self.offset, self.scale = source, offset, scale
        self.lower, self.upper = lower, upper


def encoding_columns(edges):
    """The column rules of ``edges`` (`bin_edges`'s).

    Parameters
    ----------
    edges : list of (ndarray or None)

    Returns
    -------
    columns : EncodingColumns
    """
    source, offset, scale, lower, upper = [], [], [], [], []
    for feature, feature_edges in enumerate(edges):
        if feature_edges is None:
            source.append(feature)
            offset.append(0.0)
            scale.append(1.0)
            lower.append(-np.inf)
            upper.append(np.inf)
            continue
        left, right = feature_edges[:-1], feature_edges[1:]
        n = len(left)
        source.extend([feature] * n)
        offset.extend(left)
        scale.extend(1.0 / (right - left))
        lower.extend([-np.inf] + [0.0] * (n - 1))  # the first bin extrapolates
        upper.extend([1.0] * (n - 1) + [np.inf])  # and so does the last
    rules = (offset, scale, lower, upper)
    return EncodingColumns(
        np.array(source, dtype=np.intp),
        *(np.array(values, dtype=np.float64) for values in rules),
    )


def n_inputs(edges):
    """How many inputs the network gets from features with these edges."""
    return sum(1 if e is None else len(e) - 1 for e in edges)


def edges_problem(edges, n_features, n_network_inputs):
    """What makes loaded ``bin_edges_`` unusable, or None: one item per
    feature (``n_features``: ``X``'s columns as the network takes them, before
    this encoding), each None or a 1-d float array of at least two finite,
    increasing edges, making as many inputs as the network takes."""
    if not isinstance(edges, list):
        return f"bin_edges_ is a {type(edges).__name__}, not a list"
    if len(edges) != n_features:
        return (
            f"bin_edges_ has {len(edges)} items, where the network has "
            f"{n_features!r} features"
        )
    for index, feature_edges in enumerate(edges):
        if feature_edges is None:
            continue
        if not (
            isinstance(feature_edges, np.ndarray)
            and feature_edges.dtype == np.float64
            and feature_edges.ndim == 1
            and feature_edges.size >= 2
            and np.isfinite(feature_edges).all()
            and (np.diff(feature_edges) > 0).all()
        ):
            return (
                f"bin_edges_[{index}] is not None or a float64 array of at "
                "least two finite, increasing edges"
            )
    if n_inputs(edges) != n_network_inputs:
        return (
            f"bin_edges_ make {n_inputs(edges)} network inputs, where its "
            f"network takes {n_network_inputs}"
        )
    return None


def start_as_features(weights, biases, edges, feature_weights):
    """Make an encoded network's first layer start as it would on the
    features themselves: ``encode(X) @ weights + biases`` becomes
    ``X @ feature_weights + biases`` on every row whose values lie between
    each feature's inner edges, ``b[1]`` and ``b[-2]``.

    ``x`` is ``b[0]`` plus the sum of its bins' encodings times their widths,
    so a bin's weights are its feature's times the bin's width, and the
    biases take ``b[0] @ feature_weights``. An outer bin, though, reaches to
    the training minimum or maximum, far out on a long-tailed feature;
    started at its own width, it would hand the tail's outliers the weight a
    straight line gives them, which left two folds of a 48-feature benchmark
    set at R² 0.24 and 0.38 against 0.79. So each outer bin of a feature with
    three or more starts as if it were as wide as its inner neighbour: beyond
    the inner edges the slope is the feature's times the ratio of the two
    widths, and ``b[0]`` becomes ``b[1]`` less that width. A feature left as
    it is keeps its weights.

    Parameters
    ----------
    weights : ndarray of shape (n_inputs, n_neurons)
        Overwritten in place (the network's views into its parameters).
    biases : ndarray of shape (1, n_neurons)
        Shifted in place.
    edges : list of (ndarray or None)
        `bin_edges`' edges, one item per feature.
    feature_weights : ndarray of shape (n_features, n_neurons)
        The first layer's weights as drawn for the features as they are.

    Examples
    --------
    >>> import numpy as np
    >>> edges = [np.array([0.0, 1.0, 2.0, 4.0])]
    >>> weights, biases = np.zeros((3, 1)), np.zeros((1, 1))
    >>> start_as_features(weights, biases, edges, np.array([[0.5]]))
    >>> X = np.array([[1.5], [3.0], [6.0]])
    >>> (encode(X, encoding_columns(edges)) @ weights + biases).ravel().tolist()
    [0.75, 1.25, 2.0]

    ``0.5 * 1.5`` inside; past ``b[-2] = 2`` the last bin, twice as wide as
    its neighbour, rises at half the slope.
    """
    columns = encoding_columns(edges)
    widths = 1.0 / columns.scale  # 1 for a feature left as it is
    starts = np.zeros(len(edges))  # x less the sum of its bins times widths
    first = 0  # the feature's first input
    for feature, feature_edges in enumerate(edges):
        if feature_edges is None:
            first += 1
            continue
        n_bins = len(feature_edges) - 1
        starts[feature] = feature_edges[0]
        if n_bins >= 3:  # the outer bins as wide as their inner neighbours
            last = first + n_bins - 1
            widths[first] = widths[first + 1]
            widths[last] = widths[last - 1]
            starts[feature] = feature_edges[1] - widths[first]
        first += n_bins
    weights[...] = feature_weights[columns.source] * widths[:, None]
    biases += starts @ feature_weights


def encode(X, columns):
    """The network's inputs for ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    columns : EncodingColumns

    Returns
    -------
    inputs : ndarray of shape (n_samples, n_inputs), X's dtype
        A new array: ``X`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> columns = encoding_columns([np.array([0.0, 2.0, 4.0]), None])
    >>> encode(np.array([[1.0, 1.0], [5.0, 0.0], [-2.0, 1.0]]), columns).tolist()
    [[0.5, 0.0, 1.0], [1.0, 1.5, 0.0], [-1.0, 0.0, 1.0]]
    """
    dtype = X.dtype
    inputs = np.take(X, columns.source, axis=1)
    inputs -= columns.offset.astype(dtype)
    inputs *= columns.scale.astype(dtype)
    np.maximum(inputs, columns.lower.astype(dtype), out=inputs)
    np.minimum(inputs, columns.upper.astype(dtype), out=inputs)
    return inputs
