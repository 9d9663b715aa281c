"""Losses: the book's cross-entropies and regression losses, and their fused forms.

Every loss has the book's three methods::

    sample_losses = loss.forward(y_pred, y_true)          # shape (n_samples,)
    value = loss.calculate(y_pred, y_true, sample_weight)  # a float
    dy_pred = loss.backward(y_pred, y_true, sample_weight)

The loss of a batch is ``mean(sample_weight * sample_losses)`` (weights
default to one), and ``backward`` is the gradient of that mean.

The *fused* losses, `SoftmaxCategoricalCrossentropy`,
`SigmoidBinaryCrossentropy` and `ExponentialPoissonDeviance`, take the output
layer's **logits** instead of probabilities (or means). The cross-entropies
compute the loss by log-sum-exp, so that it is finite for any finite logits
(never ``log(0)``), and every fused gradient collapses to ``(p - y) / n``.
Together with `MeanSquaredError` and `MeanAbsoluteError` (whose "logits" are
the predictions themselves) they also offer ``loss_and_gradient``, the single
call that a training step makes.

Each fused loss also has ``output_activation``, which turns logits into
what the network predicts (softmax, sigmoid, exp or the identity).

This module imports only NumPy and the engine's kernels.
"""

import numpy as np

from ._activations import log_softmax, sigmoid, softmax
from ._kernels import mean, row_max, row_sums

__all__ = [
    "CategoricalCrossentropy",
    "BinaryCrossentropy",
    "SoftmaxCategoricalCrossentropy",
    "SigmoidBinaryCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "ExponentialPoissonDeviance",
]

# The book clips probabilities to [1e-7, 1 - 1e-7] before taking logs.
PROBABILITY_CLIP = 1e-7


class _Loss:
    # Whether ``output_activation`` can overflow for finite logits (softmax,
    # sigmoid and the identity cannot; exp can).
    output_overflows = False

    def calculate(self, y_pred, y_true, sample_weight=None):
        """Mean of ``sample_weight * forward(y_pred, y_true)``, a float."""
        sample_losses = self.forward(y_pred, y_true)
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        return float(np.mean(sample_losses))


def _scale_by_weight(gradient, sample_weight):
    """Divide a per-sample gradient by n_samples and weight each row, in place."""
    n_samples = gradient.shape[0]
    if sample_weight is None:
        gradient *= 1.0 / n_samples
    else:
        gradient *= (
            (np.asarray(sample_weight) / n_samples)
            .reshape(-1, 1)
            .astype(gradient.dtype, copy=False)
        )
    return gradient


def _as_2d(values):
    values = np.asarray(values)
    return values.reshape(-1, 1) if values.ndim == 1 else values


def _one_hot(y_true, n_classes, dtype):
    one_hot = np.zeros((len(y_true), n_classes), dtype=dtype)
    one_hot[np.arange(len(y_true)), y_true] = 1
    return one_hot


class CategoricalCrossentropy(_Loss):
    """Categorical cross-entropy on probabilities, ``-log p[true class]``.

    ``y_true`` is either integer class indices of shape (n_samples,) or a
    one-hot matrix of shape (n_samples, n_classes). Probabilities are clipped
    to ``[1e-7, 1 - 1e-7]`` as in the book, so the loss is finite; prefer
    `SoftmaxCategoricalCrossentropy` on logits, which needs no clipping.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import CategoricalCrossentropy
    >>> CategoricalCrossentropy().forward(np.array([[0.7, 0.1, 0.2]]), [0]).tolist()
    [0.35667494393873245]
    """

    def forward(self, y_pred, y_true):
        """Per-sample losses of shape (n_samples,)."""
        clipped = np.clip(y_pred, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            correct_confidences = clipped[np.arange(len(clipped)), y_true]
        else:
            correct_confidences = np.sum(clipped * y_true, axis=1)
        return -np.log(correct_confidences)

    def backward(self, y_pred, y_true, sample_weight=None):
        """Gradient with respect to ``y_pred``, shape (n_samples, n_classes)."""
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            y_true = _one_hot(y_true, y_pred.shape[1], y_pred.dtype)
        clipped = np.clip(y_pred, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        return _scale_by_weight(-y_true / clipped, sample_weight)


class SoftmaxCategoricalCrossentropy(_Loss):
    """Softmax followed by categorical cross-entropy, computed from logits.

    The loss is ``logsumexp(z) - z[true class]``; its gradient with respect
    to the logits is ``(softmax(z) - y_onehot) / n_samples``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import SoftmaxCategoricalCrossentropy
    >>> loss = SoftmaxCategoricalCrossentropy()
    >>> round(loss.calculate(np.array([[1000.0, 0.0]]), [1]), 6)
    1000.0
    """

    def forward(self, logits, y_true):
        """Per-sample losses of shape (n_samples,)."""
        log_probabilities = log_softmax(logits)
        y_true = np.asarray(y_true)
        if y_true.ndim == 1:
            return -log_probabilities[np.arange(len(y_true)), y_true]
        return -np.sum(log_probabilities * y_true, axis=1)

    def backward(self, logits, y_true, sample_weight=None):
        """Gradient with respect to the logits, ``(softmax(z) - y) / n``."""
        return self.loss_and_gradient(logits, y_true, sample_weight)[1]

    def loss_and_gradient(self, logits, y_true, sample_weight=None, out=None):
        """Loss and gradient in one pass over the logits.

        Parameters
        ----------
        logits : ndarray of shape (n_samples, n_classes)
        y_true : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Class indices or one-hot rows.
        sample_weight : ndarray of shape (n_samples,), optional
        out : ndarray of shape (n_samples, n_classes), optional
            Where to write the gradient; may be ``logits`` itself.

        Returns
        -------
        loss : float
            ``mean(sample_weight * sample_losses)``.
        dlogits : ndarray of shape (n_samples, n_classes)
        """
        y_true = np.asarray(y_true)
        rows = np.arange(logits.shape[0])
        # Log-sum-exp: shifted by the row maximum, exp never overflows, and
        # -log p[true class] = log(sum(exp(shifted))) - shifted[true class].
        shifted = np.subtract(logits, row_max(logits), out=out)
        if y_true.ndim == 1:
            true_logits = shifted[rows, y_true]
        else:
            true_logits = np.sum(shifted * y_true, axis=1)
        exp_shifted = np.exp(shifted, out=shifted)
        exp_totals = row_sums(exp_shifted)
        sample_losses = np.log(exp_totals[:, 0])
        sample_losses -= true_logits
        # The book's combined gradient, in the same buffer: p - y_onehot.
        dlogits = np.divide(exp_shifted, exp_totals, out=exp_shifted)
        if y_true.ndim == 1:
            dlogits[rows, y_true] -= 1
        else:
            dlogits -= y_true
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        return mean(sample_losses), _scale_by_weight(dlogits, sample_weight)

    @staticmethod
    def output_activation(logits):
        """Probabilities from logits (softmax)."""
        return softmax(logits)


class BinaryCrossentropy(_Loss):
    """Binary cross-entropy on probabilities, averaged over the outputs.

    ``y_true`` is 0/1 of the same shape as ``y_pred`` (n_samples, n_outputs).
    Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` as in the book; prefer
    `SigmoidBinaryCrossentropy` on logits.
    """

    def forward(self, y_pred, y_true):
        """Per-sample losses of shape (n_samples,)."""
        y_pred, y_true = _as_2d(y_pred), _as_2d(y_true)
        clipped = np.clip(y_pred, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        losses = -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))
        return np.mean(losses, axis=-1)

    def backward(self, y_pred, y_true, sample_weight=None):
        """Gradient with respect to ``y_pred``, shape (n_samples, n_outputs)."""
        y_pred, y_true = _as_2d(y_pred), _as_2d(y_true)
        clipped = np.clip(y_pred, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        gradient = -(y_true / clipped - (1 - y_true) / (1 - clipped))
        gradient /= y_pred.shape[1]
        return _scale_by_weight(gradient, sample_weight)


class SigmoidBinaryCrossentropy(_Loss):
    """Sigmoid followed by binary cross-entropy, computed from logits.

    Per output the loss is ``max(z, 0) - z * y + log(1 + exp(-|z|))``, finite
    for any finite logit; the gradient is
    ``(sigmoid(z) - y) / (n_outputs * n_samples)``.
    """

    def forward(self, logits, y_true):
        """Per-sample losses of shape (n_samples,)."""
        return self._sample_losses(_as_2d(logits), _as_2d(y_true))

    def backward(self, logits, y_true, sample_weight=None):
        """Gradient with respect to the logits."""
        return self.loss_and_gradient(logits, y_true, sample_weight)[1]

    def loss_and_gradient(self, logits, y_true, sample_weight=None, out=None):
        """Loss and gradient with respect to the logits; see the class docstring."""
        logits, y_true = _as_2d(logits), _as_2d(y_true)
        sample_losses = self._sample_losses(logits, y_true)
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        gradient = sigmoid(logits, out=out)
        gradient -= y_true
        gradient /= logits.shape[1]
        return float(np.mean(sample_losses)), _scale_by_weight(gradient, sample_weight)

    @staticmethod
    def _sample_losses(logits, y_true):
        """``mean(max(z, 0) - z y + log(1 + exp(-|z|)))`` over the outputs."""
        losses = np.maximum(logits, 0) - logits * y_true
        losses += np.log1p(np.exp(-np.abs(logits)))
        return np.mean(losses, axis=-1)

    @staticmethod
    def output_activation(logits):
        """Probabilities from logits (sigmoid)."""
        return sigmoid(logits)


class MeanSquaredError(_Loss):
    """Mean squared error, averaged over the outputs: ``mean((y - y_pred)**2)``."""

    def forward(self, y_pred, y_true):
        """Per-sample losses of shape (n_samples,)."""
        residuals = _as_2d(y_pred) - _as_2d(y_true)
        return np.mean(residuals * residuals, axis=-1)

    def backward(self, y_pred, y_true, sample_weight=None):
        """Gradient with respect to ``y_pred``, ``2 (y_pred - y) / n_outputs / n``."""
        return self.loss_and_gradient(y_pred, y_true, sample_weight)[1]

    def loss_and_gradient(self, y_pred, y_true, sample_weight=None, out=None):
        """Loss and gradient with respect to the predictions."""
        y_pred, y_true = _as_2d(y_pred), _as_2d(y_true)
        residuals = np.subtract(y_pred, y_true, out=out)
        sample_losses = np.mean(residuals * residuals, axis=-1)
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        loss = float(np.mean(sample_losses))
        residuals *= 2.0 / y_pred.shape[1]
        return loss, _scale_by_weight(residuals, sample_weight)

    @staticmethod
    def output_activation(y_pred):
        """Predictions are the outputs themselves (the identity)."""
        return y_pred


class MeanAbsoluteError(_Loss):
    """Mean absolute error, averaged over the outputs: ``mean(|y - y_pred|)``."""

    def forward(self, y_pred, y_true):
        """Per-sample losses of shape (n_samples,)."""
        return np.mean(np.abs(_as_2d(y_pred) - _as_2d(y_true)), axis=-1)

    def backward(self, y_pred, y_true, sample_weight=None):
        """Gradient with respect to ``y_pred``, ``sign(y_pred - y) / n_outputs / n``."""
        return self.loss_and_gradient(y_pred, y_true, sample_weight)[1]

    def loss_and_gradient(self, y_pred, y_true, sample_weight=None, out=None):
        """Loss and (sub)gradient with respect to the predictions."""
        y_pred, y_true = _as_2d(y_pred), _as_2d(y_true)
        residuals = np.subtract(y_pred, y_true, out=out)
        sample_losses = np.mean(np.abs(residuals), axis=-1)
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        loss = float(np.mean(sample_losses))
        gradient = np.sign(residuals, out=residuals)
        gradient /= y_pred.shape[1]
        return loss, _scale_by_weight(gradient, sample_weight)

    @staticmethod
    def output_activation(y_pred):
        """Predictions are the outputs themselves (the identity)."""
        return y_pred


class ExponentialPoissonDeviance(_Loss):
    """Exponential output followed by half the Poisson deviance, from logits.

    The network's output ``z`` is the log of the predicted mean,
    ``mu = exp(z)``. Per output the loss is half the Poisson deviance,
    ``y log(y / mu) - y + mu``, written in ``z`` as
    ``exp(z) - y z + y log(y) - y`` (``0 log 0 = 0``), which never divides
    by ``mu`` or takes its log, so a very negative ``z`` costs nothing
    numerically; the loss is zero where ``mu = y``. It is averaged over the
    outputs, as `MeanSquaredError` is. The gradient with respect to the
    logits is ``(exp(z) - y) / (n_outputs * n_samples)``. Targets must be
    non-negative. `MLPRegressor`'s ``loss='poisson'`` is the same loss
    summed (not averaged) over the outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import ExponentialPoissonDeviance
    >>> loss = ExponentialPoissonDeviance()
    >>> float(loss.forward(np.log([[2.0]]), np.array([[2.0]]))[0])
    0.0
    >>> round(float(loss.forward(np.array([[0.0]]), np.array([[0.0]]))[0]), 6)
    1.0
    """

    def forward(self, logits, y_true):
        """Per-sample losses of shape (n_samples,)."""
        logits, y_true = _as_2d(logits), _as_2d(y_true)
        return self._sample_losses(logits, _exp(logits), y_true)

    def backward(self, logits, y_true, sample_weight=None):
        """Gradient with respect to the logits, ``(exp(z) - y) / n_outputs / n``."""
        return self.loss_and_gradient(logits, y_true, sample_weight)[1]

    def loss_and_gradient(self, logits, y_true, sample_weight=None, out=None):
        """Loss and gradient with respect to the logits; see the class docstring."""
        logits, y_true = _as_2d(logits), _as_2d(y_true)
        means = _exp(logits)
        sample_losses = self._sample_losses(logits, means, y_true)
        if sample_weight is not None:
            sample_losses = sample_losses * sample_weight
        gradient = np.subtract(means, y_true, out=out)
        gradient /= logits.shape[1]
        return float(np.mean(sample_losses)), _scale_by_weight(gradient, sample_weight)

    @staticmethod
    def _sample_losses(logits, means, y_true):
        """``mean(exp(z) - y z + y log(y) - y)`` over the outputs."""
        losses = means - y_true * logits
        losses += _y_log_y(y_true) - y_true
        return np.mean(losses, axis=-1)

    output_overflows = True  # exp of a logit above ~88 (float32), ~709 (float64)

    @staticmethod
    def output_activation(logits):
        """The predicted means from the logits (exp)."""
        return np.exp(logits)


def _exp(logits):
    # exp of a huge logit overflows to inf: then the loss really is beyond the
    # dtype, and the training loop reports it as divergence.
    with np.errstate(over="ignore"):
        return np.exp(logits)


def _y_log_y(values):
    """``values * log(values)``, zero where ``values`` is zero."""
    return values * np.log(np.where(values > 0, values, 1))


LOSSES = {
    "softmax_crossentropy": SoftmaxCategoricalCrossentropy,
    "sigmoid_crossentropy": SigmoidBinaryCrossentropy,
    "squared_error": MeanSquaredError,
    "absolute_error": MeanAbsoluteError,
    "poisson": ExponentialPoissonDeviance,
}
