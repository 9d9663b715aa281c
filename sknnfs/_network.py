"""Network: Dense layers with hidden activations and a fused output loss.

The network owns its parameters in **one flat array**: each layer's
``weights`` and ``biases`` are views into ``flat_params``, and the gradients
are views into ``flat_grads``. The optimizer then updates every parameter with
a handful of whole-array NumPy calls instead of a handful per layer.

One training step reads top to bottom (`Network.train_step`)::

    loss = network.compute_gradients(X_batch, y_batch, sample_weight, rng)
    optimizer.step([network.flat_params], [network.flat_grads])

The forward and backward passes write into buffers preallocated for the
largest batch seen, so a step allocates almost nothing.

This module imports only NumPy.
"""

import copy

import numpy as np

from ._activations import ACTIVATIONS
from ._blockwise import MAX_THREADS, available_cores
from ._layers import Dense, Dropout, as_generator
from ._losses import LOSSES

__all__ = ["Network"]

# Rows per chunk at prediction time. A chunk's activations should still be in
# cache when the next product reads them (about half a million values in the
# widest layer: 10 % faster than 4 million on the benchmark's synth60k test
# rows), but a product of fewer than about 2,000 rows runs slower (the
# benchmark's 1024-wide layers); and whatever the widths, a chunk holds at
# most about 4 million values per layer.
PREDICT_CACHE_VALUES = 1 << 19
PREDICT_MIN_ROWS = 2048
PREDICT_MAX_VALUES = 1 << 22
# Threads share a sparse product when each gets at least this many
# multiply-adds (about a millisecond of scipy's work).
SPARSE_WORK_PER_THREAD = 1 << 22


class Network:
    """A multilayer perceptron built from the book's blocks.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, hidden_1, ..., hidden_k, n_outputs)``.
    hidden_activation : {'relu', 'sigmoid', 'tanh', 'linear'}, default='relu'
    loss : {'softmax_crossentropy', 'sigmoid_crossentropy', 'squared_error', \
            'absolute_error'}, default='softmax_crossentropy'
        The output loss, fused with its output activation.
    dropout : float, default=0.0
        Fraction of each hidden layer's units dropped while training.
    weight_init : {'he', 'glorot', 'nnfs'} or float, default='he'
    bias_init : {'zeros', 'glorot'}, default='zeros'
    l1, l2, bias_l1, bias_l2 : float, default=0.0
        Penalties applied to every layer.
    dtype : dtype, default=numpy.float64
    random_state : None, int, Generator or RandomState
        Source of the initial weights.
    """

    def __init__(
        self,
        layer_sizes,
        *,
        hidden_activation="relu",
        loss="softmax_crossentropy",
        dropout=0.0,
        weight_init="he",
        bias_init="zeros",
        l1=0.0,
        l2=0.0,
        bias_l1=0.0,
        bias_l2=0.0,
        dtype=np.float64,
        random_state=None,
    ):
        rng = as_generator(random_state)
        self.dtype = np.dtype(dtype)
        self.layer_sizes = tuple(int(size) for size in layer_sizes)
        self.hidden_activation = ACTIVATIONS[hidden_activation]()
        self.loss = LOSSES[loss]()
        self.dropout = Dropout(dropout)
        self.layers = [
            Dense(
                n_inputs,
                n_neurons,
                weight_init=weight_init,
                bias_init=bias_init,
                l1=l1,
                l2=l2,
                bias_l1=bias_l1,
                bias_l2=bias_l2,
                random_state=rng,
                dtype=self.dtype,
            )
            for n_inputs, n_neurons in zip(
                self.layer_sizes[:-1], self.layer_sizes[1:], strict=True
            )
        ]
        self.flat_params = np.concatenate(
            [param.ravel() for layer in self.layers for param in layer.parameters()]
        )
        self._bind_views()
        self._buffers = None

    # ------------------------------------------------------------------ state
    def _bind_views(self):
        """Point every layer's weights and biases into ``flat_params``."""
        self.flat_grads = np.zeros_like(self.flat_params)
        self._param_grads = []
        offset = 0
        for n_inputs, n_neurons, layer in zip(
            self.layer_sizes[:-1], self.layer_sizes[1:], self.layers, strict=True
        ):
            views = []
            for flat in (self.flat_params, self.flat_grads):
                weights = flat[offset : offset + n_inputs * n_neurons]
                biases = flat[
                    offset + n_inputs * n_neurons : offset + (n_inputs + 1) * n_neurons
                ]
                views.append(
                    (weights.reshape(n_inputs, n_neurons), biases.reshape(1, n_neurons))
                )
            (layer.weights, layer.biases), grads = views
            self._param_grads.append(grads)
            offset += (n_inputs + 1) * n_neurons

    def __getstate__(self):
        state = self.__dict__.copy()
        # The views would be pickled as copies; rebuild them from flat_params.
        state["layers"] = [copy.copy(layer) for layer in self.layers]
        for layer in state["layers"]:
            layer.weights = layer.biases = None
        for name in ("flat_grads", "_param_grads", "_buffers"):
            state.pop(name)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._bind_views()
        self._buffers = None

    def ensure_writeable(self):
        """Copy the parameters if they are read-only (e.g. a memory-mapped pickle)."""
        if not self.flat_params.flags.writeable:
            self.flat_params = self.flat_params.copy()
            self._bind_views()

    def copy_params(self):
        """A copy of ``flat_params`` (to restore later with `set_params`)."""
        return self.flat_params.copy()

    def set_params(self, flat_params):
        """Overwrite the parameters in place from a saved copy."""
        self.flat_params[...] = flat_params

    @property
    def n_outputs(self):
        return self.layer_sizes[-1]

    def penalty(self):
        """Total L1/L2 regularization term of all layers."""
        return sum(layer.penalty() for layer in self.layers)

    # ------------------------------------------------------------ prediction
    def forward(self, X, n_threads=1):
        """Logits of the output layer for ``X`` (no dropout).

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        n_threads : int, default=1
            Threads that share the first layer's product with sparse ``X``.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_outputs)
        """
        hidden, _ = self.layers[0].forward(X, n_threads=n_threads)
        for layer in self.layers[1:]:
            hidden, _ = self.hidden_activation.forward(hidden, out=hidden)
            hidden, _ = layer.forward(hidden)
        return hidden

    def sparse_prediction_threads(self, X):
        """Threads worth sharing the first product of `predict` on ``X``.

        More than one only for sparse ``X`` (scipy multiplies it on one
        core) when each thread gets at least ``SPARSE_WORK_PER_THREAD``
        multiply-adds.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        n_threads : int
        """
        if not hasattr(X, "nnz"):  # dense: BLAS shares the product already
            return 1
        enough_work = X.nnz * self.layer_sizes[1] // SPARSE_WORK_PER_THREAD
        return max(1, min(MAX_THREADS, available_cores(), enough_work))

    def predict(self, X, output_function=None, n_threads=1):
        """Output of the network (probabilities or predictions), in row chunks.

        Memory beyond the output stays bounded whatever the number of rows:
        at most about ``PREDICT_MAX_VALUES`` values per layer.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        output_function : callable, optional
            Maps a chunk of logits to outputs; defaults to the loss's own
            ``predict`` (softmax, sigmoid or identity).
        n_threads : int, default=1
            Threads that share the first layer's product with sparse ``X``
            (see `sparse_prediction_threads`).

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_outputs)
        """
        n_samples = X.shape[0]
        output_function = output_function or self.loss.predict
        widest = max(self.layer_sizes[1:])
        chunk_rows = max(PREDICT_MIN_ROWS, PREDICT_CACHE_VALUES // widest)
        chunk_rows = max(1, min(chunk_rows, PREDICT_MAX_VALUES // widest))
        # With a single chunk its outputs are returned as they are, not copied.
        outputs = None
        if n_samples > chunk_rows:
            outputs = np.empty((n_samples, self.n_outputs), dtype=self.dtype)
        for start in range(0, n_samples, chunk_rows):
            rows = slice(start, min(start + chunk_rows, n_samples))
            # Slicing copies a sparse matrix: a single chunk uses X itself.
            X_chunk = X if outputs is None else X[rows]
            # An overflow in a hidden layer is harmless when a tanh or sigmoid
            # saturates it (tanh(inf) is exactly 1); it only matters if it
            # reaches the logits, which are checked instead.
            with np.errstate(over="ignore", invalid="ignore"):
                logits = self.forward(X_chunk, n_threads)
            _check_finite_logits(logits, X_chunk, start, self.dtype)
            if outputs is None:
                return output_function(logits)
            outputs[rows] = output_function(logits)
        return outputs

    # -------------------------------------------------------------- training
    def _batch_buffers(self, n_samples):
        """Per-layer work arrays for a batch of ``n_samples`` rows (views)."""
        if self._buffers is None or self._buffers["rows"] < n_samples:
            widths = self.layer_sizes[1:]
            with_dropout = self.dropout.rate > 0
            self._buffers = {
                "rows": n_samples,
                "outputs": [np.empty((n_samples, w), self.dtype) for w in widths],
                "dropped": [
                    np.empty((n_samples, w), self.dtype) if with_dropout else None
                    for w in widths[:-1]
                ],
                "deltas": [np.empty((n_samples, w), self.dtype) for w in widths[:-1]],
            }
        buffers = self._buffers
        if n_samples == buffers["rows"]:  # every full batch: no slicing needed
            return buffers["outputs"], buffers["dropped"], buffers["deltas"]

        def rows(array):
            return None if array is None else array[:n_samples]

        return (
            [rows(a) for a in buffers["outputs"]],
            [rows(a) for a in buffers["dropped"]],
            [rows(a) for a in buffers["deltas"]],
        )

    def compute_gradients(self, X, y, sample_weight=None, rng=None, training=True):
        """Forward and backward pass: fill ``flat_grads`` and return the loss.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Class indices for the softmax loss, 0/1 or real targets otherwise.
        sample_weight : ndarray of shape (n_samples,), optional
            The batch loss is ``mean(sample_weight * sample_losses)``.
        rng : numpy.random.Generator, optional
            Source of the dropout masks (needed when dropout > 0 and training).
        training : bool, default=True
            ``False`` disables dropout (used by gradient checks).

        Returns
        -------
        loss : float
            Mean data loss of the batch plus the regularization penalty.
        """
        n_samples = X.shape[0]
        outputs, dropped, deltas = self._batch_buffers(n_samples)
        use_dropout = training and self.dropout.rate > 0
        last = len(self.layers) - 1

        layer_inputs = []
        activation_caches = []
        dropout_masks = []
        hidden = X
        for index, layer in enumerate(self.layers):
            layer_inputs.append(hidden)
            hidden, _ = layer.forward(hidden, out=outputs[index])
            if index == last:
                break
            hidden, cache = self.hidden_activation.forward(hidden, out=hidden)
            activation_caches.append(cache)
            mask = None
            if use_dropout:
                hidden, mask = self.dropout.forward(hidden, rng, out=dropped[index])
            dropout_masks.append(mask)

        loss, delta = self.loss.loss_and_gradient(
            hidden, y, sample_weight, out=outputs[last]
        )
        if any(
            layer.l1 or layer.l2 or layer.bias_l1 or layer.bias_l2
            for layer in self.layers
        ):
            loss += self.penalty()

        for index in range(last, -1, -1):
            layer = self.layers[index]
            weight_grad, bias_grad = self._param_grads[index]
            dinputs_out = deltas[index - 1] if index > 0 else None
            delta, _ = layer.backward(
                delta,
                layer_inputs[index],
                need_dinputs=index > 0,
                out=(dinputs_out, weight_grad, bias_grad),
            )
            if index > 0:
                delta = self.dropout.backward(
                    delta, dropout_masks[index - 1], out=delta
                )
                delta = self.hidden_activation.backward(
                    delta, activation_caches[index - 1], out=delta
                )
        return loss

    def train_step(self, X, y, sample_weight, optimizer, rng):
        """One optimizer step on a batch; returns the batch loss."""
        loss = self.compute_gradients(X, y, sample_weight, rng)
        optimizer.step([self.flat_params], [self.flat_grads])
        return loss


def _check_finite_logits(logits, X, first_row, dtype):
    """Raise instead of turning overflowed logits into NaN probabilities.

    Softmax of an infinite logit is NaN, and a NaN logit has no meaning: the
    inputs are too large for the network in ``dtype``.
    """
    if np.isfinite(logits).all():  # one fast pass in the common case
        return
    finite_rows = np.isfinite(logits).all(axis=1)
    bad_row = int(np.flatnonzero(~finite_rows)[0])
    row_values = X[bad_row].toarray() if hasattr(X, "toarray") else X[bad_row]
    raise ValueError(
        f"The network's output overflowed (is not finite) for row "
        f"{first_row + bad_row} of X, whose largest absolute value is "
        f"{float(np.max(np.abs(row_values))):.3g}: the inputs are too large for "
        f"the forward pass in {np.dtype(dtype).name}. Scale the features (e.g. "
        "with StandardScaler), or fit with dtype='float64'."
    )
