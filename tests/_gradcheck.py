"""A small finite-difference gradient checker shared by the gradient tests."""

import numpy as np

# Central differences have truncation error ~ step**2 and rounding error
# ~ 1e-16 / step; 1e-6 balances the two for float64 values of order one.
STEP = 1e-6


def numerical_gradient(function, values, step=STEP):
    """Central-difference gradient of scalar ``function()`` w.r.t. ``values``.

    ``values`` is perturbed in place, one entry at a time, and restored, so
    ``function`` sees the perturbation through whatever holds a reference to
    the array (a layer's weights, a view into a network's flat parameters).

    Parameters
    ----------
    function : callable
        Takes no argument and returns a float.
    values : ndarray of float64
        The array to differentiate with respect to.
    step : float, default=STEP

    Returns
    -------
    gradient : ndarray of the shape of ``values``
    """
    assert values.dtype == np.float64, "gradient checks run in float64"
    gradient = np.empty_like(values)
    for index in np.ndindex(values.shape):
        original = values[index]
        values[index] = original + step
        loss_plus = function()
        values[index] = original - step
        loss_minus = function()
        values[index] = original
        gradient[index] = (loss_plus - loss_minus) / (2 * step)
    return gradient


def relative_error(analytic, numeric):
    """``|a - n| / (|a| + |n|)`` in the Euclidean norm (0 when both vanish)."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def assert_gradient_close(analytic, function, values, tolerance=1e-6):
    """Assert ``analytic`` matches the finite-difference gradient of ``function``."""
    numeric = numerical_gradient(function, values)
    error = relative_error(analytic, numeric)
    assert error < tolerance, (
        f"relative error {error:.3e} >= {tolerance:g}\n"
        f"analytic:\n{analytic}\nnumeric:\n{numeric}"
    )
