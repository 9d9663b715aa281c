"""Layers: the book's fully connected ``Dense`` layer and inverted ``Dropout``.

A layer keeps its parameters and nothing about the last batch::

    outputs, cache = layer.forward(inputs)
    dinputs, (dweights, dbiases) = layer.backward(doutputs, cache)

``cache`` holds what the backward pass needs (the inputs for ``Dense``, the
mask for ``Dropout``). Gradients are returned, never stored on the layer, and
optimizers keep their own state, so a layer is just its ``weights`` and
``biases``. Randomness is passed in (a ``numpy.random.Generator`` or
``RandomState``); this module never touches NumPy's global random state.

This module imports only NumPy and the engine's kernels.
"""

import numbers

import numpy as np

from ._kernels import column_sums, matmul

__all__ = ["Dense", "Dropout", "as_generator"]

WEIGHT_INITS = ("he", "glorot", "nnfs")
BIAS_INITS = ("zeros", "glorot")


def as_generator(random_state):
    """Turn ``random_state`` into something with ``standard_normal`` and ``random``.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator, numpy.random.RandomState or \
            the ``numpy.random`` module
        ``None`` gives a fresh unseeded generator, an int a seeded one;
        generators are used as they are; the ``numpy.random`` module stands
        for its global ``RandomState`` (so that the book's code, which seeds
        the global state, can be reproduced without this library seeding it).

    Returns
    -------
    numpy.random.Generator or numpy.random.RandomState
    """
    if random_state is np.random:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    raise TypeError(
        f"random_state must be None, an int, a Generator or a RandomState; "
        f"got {random_state!r}"
    )


def initial_weights(n_inputs, n_neurons, weight_init, rng, dtype):
    """Draw a weight matrix of shape (n_inputs, n_neurons).

    ``'he'`` is N(0, 2 / n_inputs), suited to ReLU; ``'glorot'`` is
    U(-a, a) with a = sqrt(6 / (n_inputs + n_neurons)); ``'nnfs'`` is the
    book's 0.01 * N(0, 1); a float ``s`` gives s * N(0, 1) (the book's early
    chapters use 0.1).
    """
    shape = (n_inputs, n_neurons)
    if isinstance(weight_init, str):
        if weight_init == "he":
            weights = rng.standard_normal(shape) * np.sqrt(2.0 / n_inputs)
        elif weight_init == "glorot":
            bound = np.sqrt(6.0 / (n_inputs + n_neurons))
            weights = rng.uniform(-bound, bound, shape)
        elif weight_init == "nnfs":
            weights = 0.01 * rng.standard_normal(shape)
        else:
            raise ValueError(
                f"weight_init must be one of {WEIGHT_INITS} or a float; "
                f"got {weight_init!r}"
            )
    else:
        weights = float(weight_init) * rng.standard_normal(shape)
    return weights.astype(dtype, copy=False)


def initial_biases(n_inputs, n_neurons, bias_init, rng, dtype):
    """Draw a bias row of shape (1, n_neurons).

    ``'zeros'`` is the book's start; ``'glorot'`` is U(-a, a) with
    a = sqrt(6 / (n_inputs + n_neurons)), the draw `MLPClassifier` makes for
    its intercepts.
    """
    if bias_init == "zeros":
        return np.zeros((1, n_neurons), dtype=dtype)
    if bias_init == "glorot":
        bound = np.sqrt(6.0 / (n_inputs + n_neurons))
        return rng.uniform(-bound, bound, (1, n_neurons)).astype(dtype, copy=False)
    raise ValueError(f"bias_init must be one of {BIAS_INITS}; got {bias_init!r}")


class Dense:
    """Fully connected layer, ``outputs = inputs @ weights + biases``.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    n_neurons : int
        Number of neurons (outputs).
    weight_init : {'he', 'glorot', 'nnfs'} or float, default='he'
        How to draw the initial weights; see `initial_weights`.
    bias_init : {'zeros', 'glorot'}, default='zeros'
        How to draw the initial biases (after the weights, from the same
        generator); see `initial_biases`.
    l1, l2 : float, default=0.0
        Penalties ``l1 * sum(|W|)`` and ``l2 * sum(W**2)`` on the weights, as
        in the book (added to the loss once per batch).
    bias_l1, bias_l2 : float, default=0.0
        The same penalties on the biases.
    random_state : None, int, Generator or RandomState, default=None
        Source of the initial weights; see `as_generator`.
    dtype : dtype, default=numpy.float64
        Floating point type of the parameters.
    parameters : tuple (weights, biases) of ndarray, optional
        Arrays of shapes (n_inputs, n_neurons) and (1, n_neurons) to hold the
        parameters, into which the initial values are drawn: a `Network`
        passes views of its one flat parameter array. By default the layer
        makes its own.

    Attributes
    ----------
    weights : ndarray of shape (n_inputs, n_neurons)
    biases : ndarray of shape (1, n_neurons)

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import Dense
    >>> layer = Dense(3, 2, random_state=0)
    >>> outputs, cache = layer.forward(np.ones((4, 3)))
    >>> outputs.shape
    (4, 2)
    >>> dinputs, (dweights, dbiases) = layer.backward(np.ones((4, 2)), cache)
    >>> dinputs.shape, dweights.shape, dbiases.shape
    ((4, 3), (3, 2), (1, 2))
    """

    def __init__(
        self,
        n_inputs,
        n_neurons,
        *,
        weight_init="he",
        bias_init="zeros",
        l1=0.0,
        l2=0.0,
        bias_l1=0.0,
        bias_l2=0.0,
        random_state=None,
        dtype=np.float64,
        parameters=None,
    ):
        rng = as_generator(random_state)
        weights = initial_weights(n_inputs, n_neurons, weight_init, rng, dtype)
        biases = initial_biases(n_inputs, n_neurons, bias_init, rng, dtype)
        if parameters is None:
            self.weights, self.biases = weights, biases
        else:
            self.weights, self.biases = parameters
            self.weights[...] = weights
            self.biases[...] = biases
        self.l1 = l1
        self.l2 = l2
        self.bias_l1 = bias_l1
        self.bias_l2 = bias_l2

    def parameters(self):
        """The trainable arrays, ``[weights, biases]``."""
        return [self.weights, self.biases]

    def forward(self, inputs, out=None):
        """Compute ``inputs @ weights + biases``.

        Parameters
        ----------
        inputs : {ndarray, sparse matrix} of shape (n_samples, n_inputs)
            Sparse inputs are multiplied as they are, never densified.
        out : ndarray of shape (n_samples, n_neurons), optional
            Where to write the result.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_neurons)
        cache : the inputs, for ``backward``
        """
        if not hasattr(inputs, "nnz"):  # not a scipy.sparse matrix or array
            # A nested list, as in the book's first chapters, becomes an
            # array here, so that the cache is one for `backward`.
            inputs = np.asarray(inputs)
        outputs = matmul(inputs, self.weights, out=out)
        outputs += self.biases
        return outputs, inputs

    def backward(self, doutputs, cache, *, need_dinputs=True, out=None):
        """Gradients of the loss with respect to the inputs and the parameters.

        Parameters
        ----------
        doutputs : ndarray of shape (n_samples, n_neurons)
            Gradient of the loss with respect to this layer's outputs.
        cache : {ndarray, sparse matrix} of shape (n_samples, n_inputs)
            The ``cache`` returned by ``forward`` (its inputs).
        need_dinputs : bool, default=True
            ``False`` skips the input gradient (the first layer of a network
            has no use for it), returning ``None`` in its place.
        out : tuple (dinputs, dweights, dbiases) of ndarrays, optional
            Preallocated arrays to write the gradients into.

        Returns
        -------
        dinputs : ndarray of shape (n_samples, n_inputs) or None
        grads : tuple (dweights, dbiases)
            Of shapes (n_inputs, n_neurons) and (1, n_neurons), including the
            gradients of the L1/L2 penalties.
        """
        dinputs_out, dweights_out, dbiases_out = out if out is not None else (None,) * 3
        inputs = cache
        dweights = matmul(inputs.T, doutputs, out=dweights_out)
        dbiases = column_sums(doutputs, out=dbiases_out)  # sum over the samples
        _add_penalty_gradient(dweights, self.weights, self.l1, self.l2)
        _add_penalty_gradient(dbiases, self.biases, self.bias_l1, self.bias_l2)
        dinputs = None
        if need_dinputs:
            dinputs = np.matmul(doutputs, self.weights.T, out=dinputs_out)
        return dinputs, (dweights, dbiases)

    @property
    def is_penalized(self):
        """Whether any of ``l1``, ``l2``, ``bias_l1``, ``bias_l2`` is set."""
        return bool(self.l1 or self.l2 or self.bias_l1 or self.bias_l2)

    def penalty(self):
        """The regularization term this layer adds to the loss (a float)."""
        return _penalty(self.weights, self.l1, self.l2) + _penalty(
            self.biases, self.bias_l1, self.bias_l2
        )


def _penalty(values, l1, l2):
    total = 0.0
    if l1 > 0:
        total += l1 * float(np.abs(values).sum())
    if l2 > 0:
        total += l2 * float(np.vdot(values, values))
    return total


def _add_penalty_gradient(grad, values, l1, l2):
    """Add the gradient of ``l1 * sum|v| + l2 * sum(v**2)`` to ``grad`` in place."""
    if l1 > 0:
        grad += l1 * np.sign(values)
    if l2 > 0:
        grad += (2 * l2) * values


class Dropout:
    """Inverted dropout, as in the book: drop a fraction ``rate`` of units.

    The kept units are scaled by ``1 / (1 - rate)`` so that nothing needs
    rescaling at prediction time, where the layer is the identity.

    Parameters
    ----------
    rate : float in [0, 1)
        Fraction of units dropped.
    """

    def __init__(self, rate):
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1); got {rate!r}")
        self.rate = rate

    def forward(self, inputs, rng, *, training=True, out=None):
        """Drop units at random.

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_units)
        rng : numpy.random.Generator or RandomState
            Where the mask comes from.
        training : bool, default=True
            ``False`` returns the inputs unchanged.
        out : ndarray of shape (n_samples, n_units), optional

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_units)
        cache : ndarray of shape (n_samples, n_units) or None
            The scaled mask (0 or ``1 / (1 - rate)``).
        """
        if not training or self.rate == 0:
            return inputs, None
        keep = 1.0 - self.rate
        mask = (rng.random(inputs.shape) < keep).astype(inputs.dtype)
        mask *= 1.0 / keep
        return np.multiply(inputs, mask, out=out), mask

    def backward(self, doutputs, cache, out=None):
        """Gradient with respect to the inputs: ``doutputs * mask``."""
        if cache is None:
            return doutputs
        return np.multiply(doutputs, cache, out=out)
