"""Activation functions: the book's ReLU, Softmax, Sigmoid and Linear, plus Tanh.

Every activation is a small stateless object with two methods::

    outputs, cache = activation.forward(inputs)
    dinputs = activation.backward(doutputs, cache)

``forward`` returns the activated values and a *cache* (whatever ``backward``
needs, usually the outputs themselves); ``backward`` maps the gradient of the
loss with respect to the outputs to the gradient with respect to the inputs.
Nothing is stashed on the object, so one instance can serve any number of
layers and threads. This differs from the book, whose classes keep
``self.output`` and ``self.dinputs``; the mathematics is the same.

``forward`` and ``backward`` take an optional ``out`` array so that the training
loop can reuse preallocated buffers; ``backward`` may then overwrite
``doutputs`` in place.

This module imports only NumPy and the engine's kernels.
"""

import numpy as np

from ._kernels import relu, row_max

__all__ = [
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Linear",
    "Softmax",
    "ACTIVATIONS",
    "HIDDEN_ACTIVATIONS",
]


class ReLU:
    """Rectified linear unit, ``max(0, x)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import ReLU
    >>> outputs, _ = ReLU().forward(np.array([0, 2, -1, 3.3, -2.7, 1.1, 2.2, -100]))
    >>> outputs.tolist()
    [0.0, 2.0, 0.0, 3.3, 0.0, 1.1, 2.2, 0.0]
    """

    def forward(self, inputs, out=None):
        """Apply the activation.

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_units)
        out : ndarray of shape (n_samples, n_units), optional
            Where to write the result; may be ``inputs`` itself.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_units)
        cache : ndarray
            The outputs, which is all ``backward`` needs.
        """
        outputs = relu(inputs, out=out)  # np.maximum(0, inputs)
        return outputs, outputs

    def backward(self, doutputs, cache, out=None):
        """Gradient with respect to the inputs: ``doutputs`` where the unit was active.

        Parameters
        ----------
        doutputs : ndarray of shape (n_samples, n_units)
        cache : ndarray of shape (n_samples, n_units)
            The ``cache`` returned by ``forward``.
        out : ndarray of shape (n_samples, n_units), optional

        Returns
        -------
        dinputs : ndarray of shape (n_samples, n_units)
        """
        if out is None:
            out = np.empty_like(doutputs)
        np.multiply(doutputs, cache > 0, out=out)
        return out


class Sigmoid:
    """Logistic sigmoid, ``1 / (1 + exp(-x))``, computed without overflow."""

    def forward(self, inputs, out=None):
        """Apply the activation.

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_units)
        out : ndarray of shape (n_samples, n_units), optional

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_units)
        cache : ndarray
            The outputs.
        """
        outputs = sigmoid(inputs, out=out)
        return outputs, outputs

    def backward(self, doutputs, cache, out=None):
        """Gradient with respect to the inputs, ``doutputs * s * (1 - s)``.

        Parameters
        ----------
        doutputs : ndarray of shape (n_samples, n_units)
        cache : ndarray of shape (n_samples, n_units)
        out : ndarray of shape (n_samples, n_units), optional

        Returns
        -------
        dinputs : ndarray of shape (n_samples, n_units)
        """
        out = np.multiply(doutputs, cache, out=out)
        out *= 1 - cache
        return out


class Tanh:
    """Hyperbolic tangent."""

    def forward(self, inputs, out=None):
        """Apply the activation; see `ReLU.forward` for the parameters."""
        outputs = np.tanh(inputs, out=out)
        return outputs, outputs

    def backward(self, doutputs, cache, out=None):
        """Gradient with respect to the inputs, ``doutputs * (1 - tanh**2)``."""
        out = np.multiply(doutputs, 1 - cache * cache, out=out)
        return out


class Linear:
    """The identity, the book's activation for a regression output."""

    def forward(self, inputs, out=None):
        """Return the inputs (copied into ``out`` when one is given)."""
        if out is not None and out is not inputs:
            np.copyto(out, inputs)
            return out, None
        return inputs, None

    def backward(self, doutputs, cache, out=None):
        """Return the gradient unchanged (copied into ``out`` when one is given)."""
        if out is not None and out is not doutputs:
            np.copyto(out, doutputs)
            return out
        return doutputs


class Softmax:
    """Softmax over the last axis, shifted by the row maximum so it never overflows.

    Its ``backward`` uses the vectorised Jacobian product
    ``s * (g - sum(g * s, axis=1))``, not the book's per-sample Jacobian loop.
    When softmax feeds a categorical cross-entropy, use
    `SoftmaxCategoricalCrossentropy` instead: its gradient is simply
    ``(p - y) / n``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import Softmax
    >>> probabilities, _ = Softmax().forward(np.array([[4.8, 1.21, 2.385]]))
    >>> probabilities.round(8).tolist()
    [[0.89528266, 0.02470831, 0.08000903]]
    """

    def forward(self, inputs, out=None):
        """Apply the activation.

        Parameters
        ----------
        inputs : ndarray of shape (n_samples, n_classes)
        out : ndarray of shape (n_samples, n_classes), optional

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_classes)
            Each row is positive and sums to one.
        cache : ndarray
            The probabilities.
        """
        probabilities = softmax(inputs, out=out)
        return probabilities, probabilities

    def backward(self, doutputs, cache, out=None):
        """Gradient with respect to the inputs.

        Parameters
        ----------
        doutputs : ndarray of shape (n_samples, n_classes)
        cache : ndarray of shape (n_samples, n_classes)
        out : ndarray of shape (n_samples, n_classes), optional

        Returns
        -------
        dinputs : ndarray of shape (n_samples, n_classes)
        """
        row_dot = np.sum(doutputs * cache, axis=1, keepdims=True)
        out = np.subtract(doutputs, row_dot, out=out)
        out *= cache
        return out


def softmax(logits, out=None):
    """Row-wise softmax of ``logits`` of shape (n_samples, n_classes)."""
    out = np.subtract(logits, row_max(logits), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def log_softmax(logits):
    """Row-wise log-softmax by log-sum-exp: finite for any finite logits."""
    shifted = logits - row_max(logits)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


def sigmoid(logits, out=None):
    """Elementwise logistic sigmoid that never overflows ``exp``.

    Uses ``1 / (1 + exp(-|x|))`` and its mirror image, so the exponent is never
    positive.
    """
    logits = np.asarray(logits)
    if out is None:
        out = np.empty_like(logits, dtype=np.result_type(logits, np.float32))
    exp_neg_abs = np.exp(-np.abs(logits))
    # sigmoid(x) = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, e = exp(-|x|).
    numerator = np.where(logits >= 0, 1, exp_neg_abs)
    np.divide(numerator, 1 + exp_neg_abs, out=out)
    return out


ACTIVATIONS = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "linear": Linear,
    "identity": Linear,
    "softmax": Softmax,
}

# What the estimators accept for their hidden layers (MLPClassifier's
# 'logistic' and 'identity' are spelt 'sigmoid' and 'linear' there).
HIDDEN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
