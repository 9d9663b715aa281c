"""Network: hidden layers (Dense -> activation -> dropout) and a fused output loss.

A training step reads top to bottom::

    loss, grads = network.loss_and_gradients(X_batch, y_batch, sample_weight, rng)
    optimizer.step([network.flat_params], [grads])

``loss_and_gradients`` runs the forward pass through the hidden layers and the
output layer, the loss and its gradient with respect to the logits (fused
with the output activation, as in the book's combined softmax and
cross-entropy), and the backward pass, and returns the loss and the
gradients; it stores nothing on the network. The parameters live in one flat
array (`sknnfs._memory`), and the arrays a step writes into in a
`sknnfs._memory.Workspace` that the caller can pass in and reuse.

This module imports only NumPy and the engine's numpy-only modules.
"""

import copy

import numpy as np

from ._activations import ACTIVATIONS
from ._label_smoothing import label_smoothed
from ._layers import Dense, Dropout, as_generator
from ._losses import LOSSES
from ._memory import Workspace, count_parameters, layer_views

__all__ = ["Network"]


class Network:
    """A multilayer perceptron built from the book's blocks.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, hidden_1, ..., hidden_k, n_outputs)``.
    hidden_activation : {'relu', 'sigmoid', 'tanh', 'linear'}, default='relu'
    loss : {'softmax_crossentropy', 'sigmoid_crossentropy', 'squared_error', \
            'absolute_error', 'poisson'}, default='softmax_crossentropy'
        The output loss, fused with its output activation.
    dropout : float, default=0.0
        Fraction of each hidden layer's units dropped while training.
    label_smoothing : float, default=0.0
        Train a cross-entropy towards targets smoothed by this share
        (`sknnfs._label_smoothing`).
    weight_init : {'he', 'glorot', 'nnfs'} or float, default='he'
    bias_init : {'zeros', 'glorot'}, default='zeros'
    l1, l2, bias_l1, bias_l2 : float, default=0.0
        Penalties applied to every layer.
    dtype : dtype, default=numpy.float64
    random_state : None, int, Generator or RandomState
        Source of the initial weights.

    Attributes
    ----------
    layers : list of Dense
        The hidden layers, then the output layer.
    loss : loss
        The output loss: what predictions and validation scores read.
    training_loss : loss
        The loss that training minimises: ``loss``, or its label-smoothed
        form.
    flat_params : ndarray of shape (n_parameters,)
        Every layer's weights and biases; the layers hold views into it.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import Network
    >>> network = Network([2, 8, 3], random_state=0)
    >>> X, y = np.ones((5, 2)), np.array([0, 1, 2, 1, 0])
    >>> loss, grads = network.loss_and_gradients(X, y)
    >>> grads.shape == network.flat_params.shape
    True
    >>> network.predict(X).shape
    (5, 3)
    """

    def __init__(
        self,
        layer_sizes,
        *,
        hidden_activation="relu",
        loss="softmax_crossentropy",
        dropout=0.0,
        label_smoothing=0.0,
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
        self.set_label_smoothing(label_smoothing)
        self.dropout = Dropout(dropout)
        # Allocated first; each layer draws its initial values into its views.
        self.flat_params = np.zeros(count_parameters(self.layer_sizes), self.dtype)
        self.layers = [
            Dense(
                weights.shape[0],
                weights.shape[1],
                weight_init=weight_init,
                bias_init=bias_init,
                l1=l1,
                l2=l2,
                bias_l1=bias_l1,
                bias_l2=bias_l2,
                random_state=rng,
                dtype=self.dtype,
                parameters=(weights, biases),
            )
            for weights, biases in layer_views(self.flat_params, self.layer_sizes)
        ]

    # ------------------------------------------------------------------ state
    def __getstate__(self):
        state = self.__dict__.copy()
        # The layers' views would be pickled as copies: rebuilt on loading.
        state["layers"] = [copy.copy(layer) for layer in self.layers]
        for layer in state["layers"]:
            layer.weights = layer.biases = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "training_loss" not in state:  # pickled before label smoothing
            self.set_label_smoothing(0.0)
        self._bind_layers()

    def _bind_layers(self):
        """Point every layer's weights and biases into ``flat_params``."""
        views = layer_views(self.flat_params, self.layer_sizes)
        for layer, (weights, biases) in zip(self.layers, views, strict=True):
            layer.weights, layer.biases = weights, biases

    def hold_flat_params(self, flat_params):
        """Make ``flat_params`` itself, not a copy, the network's parameters.

        Parameters
        ----------
        flat_params : ndarray of shape (n_parameters,)
            Laid out as `flat_params` is; the layers become views of it.
        """
        self.flat_params = flat_params
        self._bind_layers()

    def copy(self):
        """A copy to train on: its own parameters, layers and settings.

        The activation, the losses and the dropout block keep no state: they
        are shared (`set_dropout` and `set_label_smoothing` replace them
        rather than change them).
        """
        network = copy.copy(self)
        network.flat_params = self.flat_params.copy()
        network.layers = [copy.copy(layer) for layer in self.layers]
        network._bind_layers()
        return network

    # -------------------------------------------------------------- settings
    # Penalties, dropout and label smoothing are read at every step: they may
    # change between training runs. The layer sizes, the activation, the loss
    # and the dtype make the network what it is: they cannot.
    def set_penalties(self, *, l1=0.0, l2=0.0, bias_l1=0.0, bias_l2=0.0):
        """Set the L1/L2 penalties of every layer (for the steps that follow)."""
        for layer in self.layers:
            layer.l1, layer.l2 = l1, l2
            layer.bias_l1, layer.bias_l2 = bias_l1, bias_l2

    def set_dropout(self, rate):
        """Set the fraction of hidden units dropped while training."""
        self.dropout = Dropout(rate)

    def set_label_smoothing(self, epsilon):
        """Set the label smoothing of the training loss (0 for none).

        ``loss`` stays the plain loss: only ``training_loss`` is smoothed.
        """
        self.label_smoothing = epsilon
        self.training_loss = label_smoothed(self.loss, epsilon)

    @property
    def hidden_sizes(self):
        """tuple of int: the widths of the hidden layers."""
        return self.layer_sizes[1:-1]

    @property
    def hidden_activation_name(self):
        """The name of the hidden activation, a key of `ACTIVATIONS`."""
        return _name_of(self.hidden_activation, ACTIVATIONS)

    @property
    def loss_name(self):
        """The name of the output loss, a key of `LOSSES`."""
        return _name_of(self.loss, LOSSES)

    def ensure_writeable(self):
        """Copy the parameters if they are read-only (e.g. a memory-mapped pickle)."""
        if not self.flat_params.flags.writeable:
            self.hold_flat_params(self.flat_params.copy())

    def flat_params_copy(self):
        """A copy of ``flat_params`` (to restore later with `load_flat_params`)."""
        return self.flat_params.copy()

    def load_flat_params(self, flat_params):
        """Overwrite every weight and bias in place from a saved copy."""
        self.flat_params[...] = flat_params

    @property
    def n_outputs(self):
        return self.layer_sizes[-1]

    @property
    def weight_matrices(self):
        """list of ndarray: every layer's weights (views into ``flat_params``),
        without the biases: what weight decay shrinks."""
        return [layer.weights for layer in self.layers]

    @property
    def hidden_layers(self):
        """The Dense layers before the output layer."""
        return self.layers[:-1]

    @property
    def output_layer(self):
        return self.layers[-1]

    def penalty(self):
        """Total L1/L2 regularization term of all layers."""
        return sum(layer.penalty() for layer in self.layers)

    def new_workspace(self):
        """A `Workspace` for training this network (see `loss_and_gradients`)."""
        return Workspace(self.layer_sizes, self.dtype, self.dropout.rate > 0)

    # ------------------------------------------------------------ prediction
    def forward(self, X, first_layer_outputs=None):
        """Logits of the output layer for ``X`` (no dropout).

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        first_layer_outputs : ndarray of shape (n_samples, layer_sizes[1]), optional
            The first layer's outputs for ``X``, when the caller computed them
            (prediction shares that product between threads for large sparse
            ``X``); written over.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_outputs)
        """
        hidden = first_layer_outputs
        if hidden is None:
            hidden, _ = self.layers[0].forward(X)
        for layer in self.layers[1:]:
            hidden, _ = self.hidden_activation.forward(hidden, out=hidden)
            hidden, _ = layer.forward(hidden)
        return hidden

    def predict(self, X):
        """Output of the network: probabilities, or predictions for regression.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_outputs)
        """
        return self.loss.output_activation(self.forward(X))

    # -------------------------------------------------------------- training
    def loss_and_gradients(
        self, X, y, sample_weight=None, rng=None, workspace=None, *, training=True
    ):
        """Forward pass, loss, backward pass: the loss and its gradients.

        Parameters
        ----------
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Class indices for the softmax loss, 0/1 or real targets otherwise.
        sample_weight : ndarray of shape (n_samples,), optional
            The batch loss is ``mean(sample_weight * sample_losses)``.
        rng : numpy.random.Generator, optional
            Source of the dropout masks (needed when dropout > 0 and training).
        workspace : Workspace, optional
            Where to write; one from `new_workspace`, reused from step to step.
            By default a new one.
        training : bool, default=True
            ``False`` disables dropout.

        Returns
        -------
        loss : float
            Mean data loss of the batch (of ``training_loss``) plus the
            regularization penalty.
        grads : ndarray of shape (n_parameters,)
            The gradient of ``loss`` with respect to ``flat_params`` (the
            workspace's ``flat_grads``, overwritten by its next use).
        """
        workspace = self.new_workspace() if workspace is None else workspace
        outputs, dropped, dhidden = workspace.batch_buffers(X.shape[0])
        use_dropout = training and self.dropout.rate > 0
        hidden, caches = X, []
        for layer, out, dropped_out in zip(
            self.hidden_layers, outputs[:-1], dropped, strict=True
        ):
            hidden, cache = self._hidden_forward(
                layer, hidden, rng, use_dropout, out, dropped_out
            )
            caches.append(cache)
        logits, output_cache = self.output_layer.forward(hidden, out=outputs[-1])
        loss, dlogits = self.training_loss.loss_and_gradient(
            logits, y, sample_weight, out=logits
        )
        if self.is_penalized:
            loss += self.penalty()
        caches.append(output_cache)
        self._backward(dlogits, caches, dhidden, workspace.grads)
        return loss, workspace.flat_grads

    @property
    def is_penalized(self):
        """Whether any layer has an L1 or L2 penalty."""
        return any(layer.is_penalized for layer in self.layers)

    def _backward(self, dlogits, caches, dhidden, grads):
        """Back from the logits to the first layer, writing each layer's grads."""
        # dinputs of layer i is written into dhidden[i - 1]; the first layer's
        # inputs are the data, whose gradient nobody needs.
        dinputs_out = [None, *dhidden]
        dinputs, _ = self.output_layer.backward(
            dlogits,
            caches[-1],
            need_dinputs=dinputs_out[-1] is not None,
            out=(dinputs_out[-1], *grads[-1]),
        )
        for index in reversed(range(len(self.hidden_layers))):
            dinputs = self._hidden_backward(
                self.layers[index],
                dinputs,
                caches[index],
                out=(dinputs_out[index], *grads[index]),
            )

    def _hidden_forward(self, layer, inputs, rng, use_dropout, out, dropped_out):
        """Dense -> activation -> dropout; the outputs and what backward needs."""
        outputs, inputs_cache = layer.forward(inputs, out=out)
        outputs, activation_cache = self.hidden_activation.forward(outputs, out=outputs)
        mask = None
        if use_dropout:
            outputs, mask = self.dropout.forward(outputs, rng, out=dropped_out)
        return outputs, (inputs_cache, activation_cache, mask)

    def _hidden_backward(self, layer, doutputs, cache, out):
        """Back through dropout, activation and Dense; the gradient for the inputs."""
        inputs_cache, activation_cache, mask = cache
        doutputs = self.dropout.backward(doutputs, mask, out=doutputs)
        doutputs = self.hidden_activation.backward(
            doutputs, activation_cache, out=doutputs
        )
        dinputs, _ = layer.backward(
            doutputs, inputs_cache, need_dinputs=out[0] is not None, out=out
        )
        return dinputs


def _name_of(block, blocks):
    """The first name under which ``blocks`` lists the class of ``block``."""
    return next(
        name for name, block_class in blocks.items() if type(block) is block_class
    )
