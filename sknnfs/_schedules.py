"""Learning-rate schedules: the rate of each epoch.

A step of an optimizer uses the scheduled rate divided by the book's decay,
``scheduled_learning_rate / (1 + decay * t)`` (`sknnfs._optimizers`); the
schedule moves the scheduled rate between epochs. `MLPClassifier`'s three
schedules, and the two cosine schedules of RealMLP (Holzmüller et al.
2024)::

    'constant'     learning_rate
    'invscaling'   learning_rate / (n_samples_seen + 1) ** power_t
    'adaptive'     learning_rate, divided by 5 at each plateau of the stopping rule
    'cosine'       learning_rate * (1 + cos(pi * t)) / 2
    'flat_cosine'  learning_rate while t <= 1/2, then the cosine over the
                   second half: learning_rate * (1 + cos(pi * (2 t - 1))) / 2

``t = epoch / max_iter`` is the share of the fit's epochs done before an
epoch (``epoch`` counting from 0): the first epoch runs at
``learning_rate``, and the rate would reach 0 just after the last.

``'invscaling'`` and the cosines set the rate at the end of every epoch,
for the next one, from the training clock (`rate_for_next_epoch`);
``'adaptive'`` changes it when the stopping rule finds a plateau
(`ADAPTIVE_FACTOR`); ``'constant'`` never does.

The cosines need the fit's horizon, ``max_iter``: ``partial_fit``, which
trains one epoch a call with no end in sight, refuses them
(`HORIZON_SCHEDULES`). A warm-started fit is a fit of its own, with a new
optimizer: it runs the schedule again, from ``learning_rate`` over its
``max_iter`` epochs (a warm restart, as in Loshchilov & Hutter's SGDR).

This module imports only the standard library's ``math``.
"""

import math

__all__ = [
    "ADAPTIVE_FACTOR",
    "ADAPTIVE_MIN_LEARNING_RATE",
    "EPOCH_SCHEDULES",
    "HORIZON_SCHEDULES",
    "SCHEDULES",
    "cosine",
    "flat_cosine",
    "inverse_scaling",
    "rate_for_next_epoch",
]

SCHEDULES = ("constant", "invscaling", "adaptive", "cosine", "flat_cosine")

# The schedules that set the rate anew after every epoch, from the clock.
EPOCH_SCHEDULES = ("invscaling", "cosine", "flat_cosine")

# The schedules whose clock is the share of max_iter done.
HORIZON_SCHEDULES = ("cosine", "flat_cosine")

# MLPClassifier's 'adaptive' rule: the factor a plateau divides the rate by,
# and the rate at or below which a plateau ends training instead.
ADAPTIVE_FACTOR = 5.0
ADAPTIVE_MIN_LEARNING_RATE = 1e-6


def inverse_scaling(learning_rate, n_samples_seen, power_t):
    """``learning_rate / (n_samples_seen + 1) ** power_t``, `MLPClassifier`'s
    ``'invscaling'`` rate after ``n_samples_seen`` training samples."""
    return learning_rate / (n_samples_seen + 1) ** power_t


def cosine(learning_rate, progress):
    """``learning_rate * (1 + cos(pi * progress)) / 2``: from ``learning_rate``
    at ``progress = 0`` down to 0 at ``progress = 1``.

    Examples
    --------
    >>> cosine(0.01, 0.0), cosine(0.01, 0.5), cosine(0.01, 1.0)
    (0.01, 0.005, 0.0)
    """
    return learning_rate * (1 + math.cos(math.pi * progress)) / 2


def flat_cosine(learning_rate, progress):
    """``learning_rate`` for the first half of the run, then `cosine` over the
    second half (RealMLP's ``flat_cos``).

    Examples
    --------
    >>> flat_cosine(0.01, 0.25), flat_cosine(0.01, 0.75), flat_cosine(0.01, 1.0)
    (0.01, 0.005, 0.0)
    """
    return cosine(learning_rate, max(0.0, 2 * progress - 1))


def rate_for_next_epoch(
    schedule, learning_rate, *, power_t, n_samples_seen, progress=None
):
    """The scheduled rate after an epoch, or None where ``schedule`` keeps it.

    Parameters
    ----------
    schedule : str
        One of `SCHEDULES`.
    learning_rate : float
        The initial rate.
    power_t : float
        The exponent of ``'invscaling'``.
    n_samples_seen : int
        Training samples seen so far, this epoch's included.
    progress : float, optional
        The share of the fit's epochs done, ``epochs / max_iter`` (at most
        1, as it is clipped): needed by the cosines.

    Returns
    -------
    rate : float or None
        None for ``'constant'`` and ``'adaptive'``, which leave the rate as
        it is between epochs.
    """
    if schedule == "invscaling":
        return inverse_scaling(learning_rate, n_samples_seen, power_t)
    if schedule not in HORIZON_SCHEDULES:
        return None
    if progress is None:
        raise ValueError(
            f"the {schedule!r} schedule needs the share of the fit's epochs "
            "done (progress = epochs / max_iter)"
        )
    annealing = cosine if schedule == "cosine" else flat_cosine
    return annealing(learning_rate, min(progress, 1.0))
