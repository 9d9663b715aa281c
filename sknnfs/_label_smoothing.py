"""Label smoothing: the fused cross-entropies, trained towards softened targets.

A classifier trained on one-hot targets is rewarded for ever larger logits:
the cross-entropy of a correct prediction only reaches zero at probability
one. Label smoothing (Szegedy et al. 2016; one of the tricks of RealMLP,
Holzmüller et al. 2024) keeps a share ``epsilon`` of every target spread
evenly over the classes::

    target = (1 - epsilon) * onehot(y) + epsilon / n_classes    # softmax
    target = (1 - epsilon) * y + epsilon / 2                    # a sigmoid output

A sigmoid output (two classes, or one label of a multilabel ``y``) is a
two-class problem of its own: the second rule is the first with two classes.

Smoothing changes the targets and nothing else. The fused losses of
`sknnfs._losses` already take soft targets, rows of probabilities, and
their gradient with respect to the logits stays ``(p - target) / n``; the
two classes below smooth the targets, then hand them to the loss they
extend. `label_smoothed` gives the loss itself back for ``epsilon = 0``,
which therefore trains exactly as without smoothing.

The training loss is the smoothed one; what a model predicts, and how well,
is measured by the plain loss (`sknnfs.Network` keeps both).

This module imports only NumPy and the book's losses.
"""

import numpy as np

from ._losses import SigmoidBinaryCrossentropy, SoftmaxCategoricalCrossentropy

__all__ = [
    "LabelSmoothedSigmoidCrossentropy",
    "LabelSmoothedSoftmaxCrossentropy",
    "label_smoothed",
    "smoothed_binary_targets",
    "smoothed_class_targets",
]


def smoothed_class_targets(y_true, n_classes, epsilon, dtype):
    """``(1 - epsilon) * onehot(y_true) + epsilon / n_classes``.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,) or (n_samples, n_classes)
        Class indices, or one-hot rows.
    n_classes : int
    epsilon : float in [0, 1)
    dtype : dtype
        Of the targets (the logits').

    Returns
    -------
    targets : ndarray of shape (n_samples, n_classes)
        Every row sums to one.

    Examples
    --------
    >>> import numpy as np
    >>> smoothed_class_targets(np.array([0, 2]), 3, 0.3, np.float64).round(2)
    array([[0.8, 0.1, 0.1],
           [0.1, 0.1, 0.8]])
    """
    y_true = np.asarray(y_true)
    if y_true.ndim == 2:
        return (1 - epsilon) * y_true.astype(dtype, copy=False) + epsilon / n_classes
    targets = np.full((len(y_true), n_classes), epsilon / n_classes, dtype=dtype)
    targets[np.arange(len(y_true)), y_true] += 1 - epsilon
    return targets


def smoothed_binary_targets(y_true, epsilon):
    """``(1 - epsilon) * y_true + epsilon / 2``: each output a two-class problem.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_outputs)
        0/1 targets.
    epsilon : float in [0, 1)

    Returns
    -------
    targets : ndarray of shape (n_samples, n_outputs)
    """
    return (1 - epsilon) * np.asarray(y_true) + epsilon / 2


class LabelSmoothedSoftmaxCrossentropy(SoftmaxCategoricalCrossentropy):
    """`SoftmaxCategoricalCrossentropy` towards smoothed targets.

    The loss of a sample is ``-sum(target * log softmax(z))`` with
    ``target = (1 - epsilon) * onehot(y) + epsilon / n_classes``; the
    gradient with respect to the logits is ``(softmax(z) - target) / n``.

    Parameters
    ----------
    epsilon : float in [0, 1)
        The share of each target spread evenly over the classes.

    Examples
    --------
    >>> import numpy as np
    >>> loss = LabelSmoothedSoftmaxCrossentropy(0.2)
    >>> _, dlogits = loss.loss_and_gradient(np.zeros((1, 2)), np.array([0]))
    >>> dlogits   # softmax (0.5, 0.5) minus the target (0.9, 0.1)
    array([[-0.4,  0.4]])
    """

    def __init__(self, epsilon):
        self.epsilon = epsilon

    def forward(self, logits, y_true):
        """Per-sample losses of shape (n_samples,)."""
        return super().forward(logits, self._targets(logits, y_true))

    def loss_and_gradient(self, logits, y_true, sample_weight=None, out=None):
        """The fused loss and gradient for the smoothed targets; see
        `SoftmaxCategoricalCrossentropy.loss_and_gradient`."""
        # The targets first: ``out`` may be the logits themselves.
        targets = self._targets(logits, y_true)
        return super().loss_and_gradient(logits, targets, sample_weight, out=out)

    def _targets(self, logits, y_true):
        return smoothed_class_targets(
            y_true, logits.shape[1], self.epsilon, logits.dtype
        )


class LabelSmoothedSigmoidCrossentropy(SigmoidBinaryCrossentropy):
    """`SigmoidBinaryCrossentropy` towards smoothed targets.

    Each output is trained towards ``(1 - epsilon) * y + epsilon / 2``; the
    gradient with respect to its logit is
    ``(sigmoid(z) - target) / (n_outputs * n_samples)``.

    Parameters
    ----------
    epsilon : float in [0, 1)
        The share of each target spread evenly over the output's two classes.
    """

    def __init__(self, epsilon):
        self.epsilon = epsilon

    def forward(self, logits, y_true):
        """Per-sample losses of shape (n_samples,)."""
        return super().forward(logits, smoothed_binary_targets(y_true, self.epsilon))

    def loss_and_gradient(self, logits, y_true, sample_weight=None, out=None):
        """The fused loss and gradient for the smoothed targets; see
        `SigmoidBinaryCrossentropy.loss_and_gradient`."""
        targets = smoothed_binary_targets(y_true, self.epsilon)
        return super().loss_and_gradient(logits, targets, sample_weight, out=out)


# The fused cross-entropies, and their smoothed forms.
SMOOTHED_LOSSES = {
    SoftmaxCategoricalCrossentropy: LabelSmoothedSoftmaxCrossentropy,
    SigmoidBinaryCrossentropy: LabelSmoothedSigmoidCrossentropy,
}


def label_smoothed(loss, epsilon):
    """``loss`` trained towards targets smoothed by ``epsilon``.

    Parameters
    ----------
    loss : SoftmaxCategoricalCrossentropy or SigmoidBinaryCrossentropy
        Any loss, for ``epsilon = 0``.
    epsilon : float in [0, 1)

    Returns
    -------
    loss
        ``loss`` itself for ``epsilon = 0``; otherwise its smoothed form.

    Raises
    ------
    ValueError
        For a positive ``epsilon`` and a loss that is not a fused
        cross-entropy: a regression target has no classes to smooth over.
    """
    if epsilon == 0:
        return loss
    if not 0 < epsilon < 1:
        raise ValueError(f"label smoothing must be in [0, 1); got {epsilon!r}")
    smoothed = SMOOTHED_LOSSES.get(type(loss))
    if smoothed is None:
        raise ValueError(
            f"label smoothing applies to the fused cross-entropies of a "
            f"classifier; {type(loss).__name__} has no classes to smooth over"
        )
    return smoothed(epsilon)
