"""The engine's memory: one flat parameter array, and a training run's workspace.

A `Network` keeps every layer's weights and biases in **one flat array**,
allocated before the layers, each layer holding views into it: the optimizer
then updates all parameters with a handful of whole-array passes instead of
a handful per layer. The gradients have the same layout in a `Workspace`,
which also holds the per-batch arrays a training step writes into, so that a
step allocates almost nothing. The training loop owns the workspace; it is
never pickled.

This module imports only NumPy.
"""

import numpy as np

__all__ = ["Workspace", "count_parameters", "layer_views"]


def count_parameters(layer_sizes):
    """Number of weights and biases of dense layers ``layer_sizes[i] -> [i + 1]``."""
    return sum(
        (n_inputs + 1) * n_neurons
        for n_inputs, n_neurons in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    )


def layer_views(flat, layer_sizes):
    """Each layer's ``(weights, biases)`` as views of ``flat``.

    Parameters
    ----------
    flat : ndarray of shape (count_parameters(layer_sizes),)
        Laid out as weights 0, biases 0, weights 1, biases 1, ...
    layer_sizes : sequence of int
        ``(n_features, hidden_1, ..., n_outputs)``.

    Returns
    -------
    views : list of tuple (weights, biases)
        Of shapes (n_inputs, n_neurons) and (1, n_neurons).
    """
    views = []
    offset = 0
    for n_inputs, n_neurons in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        n_weights = n_inputs * n_neurons
        weights = flat[offset : offset + n_weights].reshape(n_inputs, n_neurons)
        offset += n_weights
        biases = flat[offset : offset + n_neurons].reshape(1, n_neurons)
        offset += n_neurons
        views.append((weights, biases))
    return views


class Workspace:
    """The arrays one training run writes into: gradients and per-batch buffers.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, hidden_1, ..., n_outputs)``.
    dtype : numpy.dtype
    with_dropout : bool
        Whether the hidden layers need buffers for their dropped outputs.

    Attributes
    ----------
    flat_grads : ndarray of shape (n_parameters,)
        The gradients, laid out as the network's ``flat_params``.
    grads : list of tuple (dweights, dbiases)
        Each layer's views of ``flat_grads``.
    """

    def __init__(self, layer_sizes, dtype, with_dropout):
        self.layer_sizes = tuple(layer_sizes)
        self.dtype = dtype
        self.with_dropout = with_dropout
        self.flat_grads = np.zeros(count_parameters(self.layer_sizes), dtype)
        self.grads = layer_views(self.flat_grads, self.layer_sizes)
        self._rows = 0
        self._buffers = None

    def batch_buffers(self, n_samples):
        """Arrays for a batch of ``n_samples`` rows, sized for the largest batch seen.

        Returns
        -------
        outputs : list of ndarray
            Every layer's outputs, of shape (n_samples, width).
        dropped : list of ndarray or None
            Every hidden layer's outputs after dropout (None without dropout).
        dinputs : list of ndarray
            The gradient flowing back into every hidden layer's outputs.
        """
        if self._rows < n_samples:
            widths = self.layer_sizes[1:]
            self._rows = n_samples
            self._buffers = (
                [np.empty((n_samples, width), self.dtype) for width in widths],
                [
                    np.empty((n_samples, width), self.dtype)
                    if self.with_dropout
                    else None
                    for width in widths[:-1]
                ],
                [np.empty((n_samples, width), self.dtype) for width in widths[:-1]],
            )
        if n_samples == self._rows:  # every full batch: no slicing needed
            return self._buffers
        return tuple(
            [None if array is None else array[:n_samples] for array in arrays]
            for arrays in self._buffers
        )
