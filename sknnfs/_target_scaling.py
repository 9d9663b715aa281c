"""Standardised regression targets: the network learns ``(y - mean) / scale``.

A network starts with outputs about as large as its initial weights, and
its learning rate, penalties and stopping tolerance assume targets of about
unit size. Trained on raw targets of the size of house prices (around 1e5),
its steps are spent growing the output layer, and the fit ends far from
the data: R² of -3 and below, where `MLPRegressor` does no better. RealMLP
(Holzmüller et al. 2024, "Better by Default: Strong Pre-Tuned MLPs and
Boosted Trees on Tabular Data") standardises regression targets inside
the model. `NNFSRegressor` does the same with ``target_scaling='standard'``:
the network is trained on ``(y - mean) / scale`` and the predictions are
``outputs * scale + mean``.

- ``mean`` and ``scale`` are each output's mean and standard deviation,
  weighted by the sample weights (as the fit weighs its loss). An output
  that is constant (its standard deviation is zero up to rounding, as
  scikit-learn's `StandardScaler` decides) keeps the scale 1.
- Under the Poisson loss the targets must stay non-negative, and the
  exponential output absorbs any positive factor into its bias: there is
  no centring, the targets are divided by ``scale`` only (``mean`` is 0).
- They are computed in float64. Targets whose weighted mean or variance
  overflows float64 are refused, rather than trained into a NaN model.

`TargetMoments` holds the weighted sums they come from. Two merge exactly
as one computed over both sets of rows would be (Chan et al.'s pairwise
update), so that a Dask cluster's partitions give the scaling of all their
rows (`sknnfs._distributed`).
"""

import numpy as np

__all__ = [
    "TargetMoments",
    "identity_scaling",
    "scale_targets",
    "scaling_from_moments",
    "scaling_problem",
    "unscale_outputs",
]


class TargetMoments:
    """Each output's weighted mean and sum of squared deviations, which add.

    Made by `TargetMoments.of` from targets; ``a + b`` are the moments of
    both sets of rows.

    Parameters
    ----------
    count : int
        Rows.
    weight : float
        Their total weight.
    mean : ndarray of shape (n_outputs,)
        The weighted mean of each output (0 where the rows weigh nothing).
    squares : ndarray of shape (n_outputs,)
        The weighted sum of squared deviations from ``mean``.
    """

    def __init__(self, count, weight, mean, squares):
        self.count, self.weight, self.mean, self.squares = count, weight, mean, squares

    @classmethod
    def of(cls, y, weights=None):
        """The moments of ``y``.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_outputs)
            Numeric targets.
        weights : ndarray of shape (n_samples,), default=None
            Non-negative sample weights; None weighs every row 1.

        Returns
        -------
        moments : TargetMoments
        """
        y = np.asarray(y, dtype=np.float64)
        weights = np.ones(len(y)) if weights is None else weights.astype(np.float64)
        weight = weights.sum()
        # Targets near the largest float64 overflow here: `scaling_from_moments`
        # refuses the infinite result.
        with np.errstate(over="ignore", invalid="ignore"):
            if weight > 0:
                mean = weights @ y / weight
            else:  # rows that weigh nothing add nothing
                mean = np.zeros(y.shape[1])
            squares = weights @ (y - mean) ** 2
        return cls(len(y), weight, mean, squares)

    def __add__(self, other):
        """The moments of both sets of rows (Chan, Golub and LeVeque 1979)."""
        count, weight = self.count + other.count, self.weight + other.weight
        if not weight > 0:  # neither weighs anything
            return TargetMoments(count, weight, self.mean, self.squares)
        delta = other.mean - self.mean
        share = other.weight / weight
        with np.errstate(over="ignore", invalid="ignore"):
            mean = self.mean + delta * share
            squares = self.squares + other.squares + delta**2 * self.weight * share
        return TargetMoments(count, weight, mean, squares)

    def reweighted(self, factor):
        """The moments of the same rows with every weight times ``factor``."""
        return TargetMoments(
            self.count, self.weight * factor, self.mean, self.squares * factor
        )


def identity_scaling(n_outputs):
    """``(mean, scale)`` that change nothing: zeros and ones of shape (n_outputs,)."""
    return np.zeros(n_outputs), np.ones(n_outputs)


def scaling_from_moments(moments, *, center=True):
    """Each output's ``(mean, scale)`` for the targets of ``moments``.

    Parameters
    ----------
    moments : TargetMoments
    center : bool, default=True
        False for the Poisson loss: ``mean`` is 0, and ``scale`` is still
        the standard deviation about the weighted mean.

    Returns
    -------
    mean, scale : ndarray of shape (n_outputs,), float64
        ``scale`` is the weighted standard deviation, or 1 for a constant
        output.

    Raises
    ------
    ValueError
        Naming ``y``, when its weighted mean or variance is not finite in
        float64.
    """
    if not moments.weight > 0:  # as `relative_sample_weight` refuses them
        raise ValueError(
            "sample_weight sums to zero: at least one sample needs a positive weight"
        )
    variance = moments.squares / moments.weight
    if not (np.isfinite(moments.mean).all() and np.isfinite(variance).all()):
        raise ValueError(
            "target_scaling='standard' cannot standardise y: the weighted mean "
            "or variance of its values overflows float64. Divide y by a power "
            "of ten first, and multiply the predictions back."
        )
    # StandardScaler's bound on the rounding error of a variance that is
    # really zero (sklearn.preprocessing._data._is_constant_feature).
    eps = np.finfo(np.float64).eps
    bound = moments.count * eps * variance + (moments.count * moments.mean * eps) ** 2
    scale = np.where(variance <= bound, 1.0, np.sqrt(variance))
    mean = moments.mean if center else np.zeros_like(moments.mean)
    return mean, scale


def scale_targets(targets, mean, scale):
    """``(targets - mean) / scale``, in float64.

    Parameters
    ----------
    targets : ndarray of shape (n_samples, n_outputs)
    mean, scale : ndarray of shape (n_outputs,)

    Returns
    -------
    scaled : ndarray of shape (n_samples, n_outputs)
        ``targets`` themselves, unconverted, for the identity (mean 0,
        scale 1): the network then sees exactly the raw targets.
    """
    if not mean.any() and (scale == 1).all():
        return targets
    return (targets - mean) / scale


def unscale_outputs(outputs, mean, scale):
    """``outputs * scale + mean``, in place, in ``outputs``' dtype.

    Parameters
    ----------
    outputs : ndarray of shape (n_samples, n_outputs)
        The network's predictions (after its output activation); written over.
    mean, scale : ndarray of shape (n_outputs,)

    Returns
    -------
    outputs : ndarray of shape (n_samples, n_outputs)

    Notes
    -----
    The identity (mean 0, scale 1) leaves every bit of ``outputs`` as it
    was: ``x * 1`` is exact, and a zero mean is not added (``-0.0 + 0.0`` is
    ``+0.0``).
    """
    outputs *= scale.astype(outputs.dtype, copy=False)
    # count_nonzero: a fifth of the cost of .any() on a few values, for the
    # prediction of a few rows.
    if np.count_nonzero(mean):
        outputs += mean.astype(outputs.dtype, copy=False)
    return outputs


def scaling_problem(mean, scale, n_outputs, dtype):
    """What makes ``(mean, scale)`` unfit to unscale a network's outputs, or None.

    Parameters
    ----------
    mean, scale : object
        The fitted ``target_mean_`` and ``target_scale_``: each must be a
        float64 array of shape (n_outputs,), finite in ``dtype``, and
        ``scale`` positive.
    n_outputs : int
    dtype : numpy.dtype
        The network's dtype, in which predictions are computed.

    Returns
    -------
    problem : str or None
    """
    for name, values in (("target_mean_", mean), ("target_scale_", scale)):
        if not isinstance(values, np.ndarray) or values.dtype != np.float64:
            return f"{name} is {values!r}, not a float64 array"
        if values.shape != (n_outputs,):
            return (
                f"{name} has shape {values.shape}, where its network has "
                f"{n_outputs} outputs"
            )
        with np.errstate(over="ignore"):
            in_dtype = values.astype(dtype)
        if not np.isfinite(in_dtype).all():
            return f"{name} is not finite in {np.dtype(dtype).name}: {values!r}"
    if not (scale > 0).all():
        return f"target_scale_ is not positive: {scale!r}"
    return None
