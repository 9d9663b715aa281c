"""Optimizers: the book's SGD (with momentum), Adagrad, RMSprop and Adam.

An optimizer owns its state (momentums, caches, the step counter) and updates
parameters **in place**::

    optimizer.step(params, grads)

``params`` and ``grads`` are matching lists of arrays. Unlike the book,
nothing is attached to the layers (no ``layer.weight_cache``): the state
lives in ``self.state``, one entry per parameter array, created on the first
step. ``step`` may use the ``grads`` arrays as scratch space and overwrite
them. Defaults follow the book.

The learning rate of a step is the schedule's rate times the book's decay::

    lr_t = scheduled_learning_rate / (1 + decay * t)

where ``t`` counts the steps taken before this one, and the schedule
(`sknnfs._schedules`) is `MLPClassifier`'s ``learning_rate`` option or one
of RealMLP's cosines: ``'constant'`` keeps ``learning_rate``;
``'invscaling'``, ``'cosine'`` and ``'flat_cosine'`` set the rate at the end
of each epoch (`end_epoch`), from the training samples seen or the share of
the fit's epochs done; ``'adaptive'`` divides the rate by 5 each time the
training loop reports a plateau (`reduce_learning_rate_on_plateau`).

With ``weight_decay`` (AdamW's decoupled weight decay, Loshchilov & Hutter
2019), each step first shrinks the weights, ``W *= 1 - lr_t * weight_decay``
(`decay_weights`), then applies the optimizer's update, as
``torch.optim.AdamW`` does.

This module imports only NumPy, the engine's kernels and the schedules.
"""

import numpy as np

from ._kernels import adam_update, scaled_step
from ._schedules import (
    ADAPTIVE_FACTOR,
    ADAPTIVE_MIN_LEARNING_RATE,
    SCHEDULES,
    rate_for_next_epoch,
)

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "OPTIMIZERS", "decay_weights"]


# What steps and schedules change, as opposed to the hyperparameters.
_STEP_STATE = ("iterations", "state", "scheduled_learning_rate")


def decay_weights(weights, learning_rate, weight_decay):
    """Decoupled weight decay, in place: ``W *= 1 - learning_rate * weight_decay``.

    AdamW's decay (Loshchilov & Hutter 2019): not the gradient of a
    penalty, which Adam, Adagrad and RMSprop would divide by their running
    scale of the gradient, but a shrinking of every weight by the same
    factor at each step.

    Parameters
    ----------
    weights : list of ndarray
        The arrays to shrink (views into the parameters).
    learning_rate : float
        The step's learning rate, ``lr_t``.
    weight_decay : float
    """
    factor = 1 - learning_rate * weight_decay
    for array in weights:
        # In the array's dtype: a float64 factor would compute float32 in float64.
        array *= array.dtype.type(factor)


class _Optimizer:
    def __init__(
        self, learning_rate, decay, learning_rate_schedule, power_t, weight_decay
    ):
        if learning_rate_schedule not in SCHEDULES:
            raise ValueError(
                f"learning_rate_schedule must be one of {SCHEDULES}; "
                f"got {learning_rate_schedule!r}"
            )
        self.learning_rate = learning_rate
        self.decay = decay
        self.learning_rate_schedule = learning_rate_schedule
        self.power_t = power_t
        self.weight_decay = weight_decay
        self.scheduled_learning_rate = learning_rate
        self.iterations = 0
        self.state = None

    def __setstate__(self, state):
        # sknnfs 0.1 pickled a thread-timing helper with every optimizer,
        # and had no schedules; weight decay came later still.
        state.pop("_blockwise", None)
        state.setdefault("learning_rate_schedule", "constant")
        state.setdefault("power_t", 0.5)
        state.setdefault("scheduled_learning_rate", state["learning_rate"])
        state.setdefault("weight_decay", 0.0)
        self.__dict__.update(state)

    @property
    def current_learning_rate(self):
        """The learning rate the next step will use: scheduled, then decayed."""
        return self.scheduled_learning_rate / (1.0 + self.decay * self.iterations)

    def end_epoch(self, n_samples_seen, progress=None):
        """Advance the schedule at the end of an epoch.

        Under ``'invscaling'`` the rate becomes
        ``learning_rate / (n_samples_seen + 1) ** power_t``, as
        `MLPClassifier` sets it after each epoch; under ``'cosine'`` and
        ``'flat_cosine'`` it follows the cosine at ``progress``
        (`sknnfs._schedules`).

        Parameters
        ----------
        n_samples_seen : int
            Training samples seen so far, this epoch's included (the
            estimator's ``t_``).
        progress : float, optional
            The share of the fit's epochs done, ``epochs / max_iter``;
            needed by the cosines.
        """
        rate = rate_for_next_epoch(
            self.learning_rate_schedule,
            self.learning_rate,
            power_t=self.power_t,
            n_samples_seen=n_samples_seen,
            progress=progress,
        )
        if rate is not None:
            self.scheduled_learning_rate = rate

    def reduce_learning_rate_on_plateau(self):
        """Whether training goes on after a plateau, with a smaller rate.

        Under ``'adaptive'``, and while the current rate is above 1e-6, the
        rate is divided by 5 and the answer is True. Otherwise (another
        schedule, or a rate already at most 1e-6) the rate stays and the
        answer is False: the plateau ends training.
        """
        if (
            self.learning_rate_schedule != "adaptive"
            or self.current_learning_rate <= ADAPTIVE_MIN_LEARNING_RATE
        ):
            return False
        self.scheduled_learning_rate /= ADAPTIVE_FACTOR
        return True

    def step(self, params, grads, apply_update=None, weights=None):
        """Update every array in ``params`` in place from the matching ``grads``.

        Parameters
        ----------
        params : list of ndarray
        grads : list of ndarray
            Same shapes as ``params``; may be overwritten.
        apply_update : callable, optional
            ``apply_update(update, arrays)`` applies the elementwise in-place
            ``update(param, grad, *state)`` to ``arrays``. By default it is
            called once on the whole arrays; the estimators' training loop
            passes one that works block by block (`_parallel`).
        weights : list of ndarray, optional
            What ``weight_decay`` shrinks: views into ``params`` (the
            estimators pass the weight matrices, not the biases). By default
            every array of ``params``.
        """
        if self.state is None:
            self.state = [self._new_state(param) for param in params]
        learning_rate = self.current_learning_rate
        self.iterations += 1
        if self.weight_decay:
            decay_weights(
                params if weights is None else weights, learning_rate, self.weight_decay
            )

        def update(param, grad, *state):
            self._update(param, grad, state, learning_rate)

        for param, grad, state in zip(params, grads, self.state, strict=True):
            if apply_update is None:
                update(param, grad, *state)
            else:
                apply_update(update, (param, grad, *state))

    def _new_state(self, param):
        return ()

    def set_hyperparameters(self, **hyperparameters):
        """Change hyperparameters between steps, keeping the state and ``t``.

        A new ``learning_rate``, ``learning_rate_schedule`` or ``power_t``
        restarts the scheduled rate from ``learning_rate``, except that under
        ``'adaptive'`` it keeps the divisions by 5 made so far; under
        ``'invscaling'`` the next `end_epoch` sets it from the clock.

        Parameters
        ----------
        **hyperparameters
            New values of constructor arguments, e.g. ``learning_rate=0.01``.
        """
        schedule = self.learning_rate, self.learning_rate_schedule, self.power_t
        for name, value in hyperparameters.items():
            if name not in self.__dict__ or name in _STEP_STATE:
                raise TypeError(f"{type(self).__name__} has no hyperparameter {name!r}")
            setattr(self, name, value)
        if (self.learning_rate, self.learning_rate_schedule, self.power_t) == schedule:
            return
        old_rate, old_schedule, _ = schedule
        if old_schedule == self.learning_rate_schedule == "adaptive":
            self.scheduled_learning_rate *= self.learning_rate / old_rate
        else:
            self.scheduled_learning_rate = self.learning_rate

    def save_state(self):
        """A copy of what the steps and the schedule change, for `load_state`."""
        saved = {name: self.__dict__[name] for name in _STEP_STATE}
        if self.state is not None:
            saved["state"] = [tuple(a.copy() for a in arrays) for arrays in self.state]
        return saved

    def load_state(self, saved):
        """Go back to the state `save_state` returned (which is then used up)."""
        self.__dict__.update(saved)

    def _update(self, param, grad, state, learning_rate):
        raise NotImplementedError


class SGD(_Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v = momentum * v - lr_t * g``; ``w += v`` (plain ``w -= lr_t * g``
    without momentum). With ``nesterov``, the step looks ahead along the new
    velocity, as `MLPClassifier`'s ``nesterovs_momentum`` does:
    ``w += momentum * v - lr_t * g``.

    Parameters
    ----------
    learning_rate : float, default=1.0
    decay : float, default=0.0
    momentum : float, default=0.0
    nesterov : bool, default=False
    learning_rate_schedule : {'constant', 'invscaling', 'adaptive', 'cosine', \
            'flat_cosine'}, default='constant'
        See the module docstring.
    power_t : float, default=0.5
        Exponent of ``'invscaling'``.
    weight_decay : float, default=0.0
        Decoupled weight decay: each step first multiplies the weights by
        ``1 - lr_t * weight_decay`` (see the module docstring).
    """

    def __init__(
        self,
        learning_rate=1.0,
        decay=0.0,
        momentum=0.0,
        *,
        nesterov=False,
        learning_rate_schedule="constant",
        power_t=0.5,
        weight_decay=0.0,
    ):
        super().__init__(
            learning_rate, decay, learning_rate_schedule, power_t, weight_decay
        )
        self.momentum = momentum
        self.nesterov = nesterov

    def __setstate__(self, state):
        state.setdefault("nesterov", False)  # sknnfs 0.1 had no Nesterov step
        super().__setstate__(state)

    def _new_state(self, param):
        return (np.zeros_like(param),) if self.momentum else ()

    def set_hyperparameters(self, **hyperparameters):
        had_momentum = bool(self.momentum)
        super().set_hyperparameters(**hyperparameters)
        if bool(self.momentum) != had_momentum:
            # The state is the velocity, kept only with momentum: none yet.
            self.state = None

    def _update(self, param, grad, state, learning_rate):
        # Scalars in the parameters' dtype: a float64 scalar would make a
        # float32 update compute in float64.
        scalar = param.dtype.type
        grad *= scalar(learning_rate)
        if not self.momentum:
            param -= grad
            return
        (velocity,) = state
        momentum = scalar(self.momentum)
        velocity *= momentum
        velocity -= grad
        if self.nesterov:
            # momentum * v - lr_t * g, with the gradient's buffer as scratch.
            param -= grad
            param += np.multiply(velocity, momentum, out=grad)
        else:
            param += velocity


class Adagrad(_Optimizer):
    """Adagrad: ``c += g**2``; ``w -= lr_t * g / (sqrt(c) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=1.0
    decay : float, default=0.0
    epsilon : float, default=1e-7
    learning_rate_schedule : {'constant', 'invscaling', 'adaptive', 'cosine', \
            'flat_cosine'}, default='constant'
        See the module docstring.
    power_t : float, default=0.5
        Exponent of ``'invscaling'``.
    weight_decay : float, default=0.0
        Decoupled weight decay: each step first multiplies the weights by
        ``1 - lr_t * weight_decay`` (see the module docstring).
    """

    def __init__(
        self,
        learning_rate=1.0,
        decay=0.0,
        epsilon=1e-7,
        *,
        learning_rate_schedule="constant",
        power_t=0.5,
        weight_decay=0.0,
    ):
        super().__init__(
            learning_rate, decay, learning_rate_schedule, power_t, weight_decay
        )
        self.epsilon = epsilon

    def _new_state(self, param):
        return (np.zeros_like(param), np.empty_like(param))

    def _update(self, param, grad, state, learning_rate):
        cache, scratch = state
        np.multiply(grad, grad, out=scratch)
        cache += scratch
        scaled_step(param, grad, cache, self.epsilon, learning_rate, scratch)


class RMSprop(_Optimizer):
    """RMSprop: ``c = rho c + (1 - rho) g**2``; ``w -= lr_t g / (sqrt(c) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    decay : float, default=0.0
    epsilon : float, default=1e-7
    rho : float, default=0.9
    learning_rate_schedule : {'constant', 'invscaling', 'adaptive', 'cosine', \
            'flat_cosine'}, default='constant'
        See the module docstring.
    power_t : float, default=0.5
        Exponent of ``'invscaling'``.
    weight_decay : float, default=0.0
        Decoupled weight decay: each step first multiplies the weights by
        ``1 - lr_t * weight_decay`` (see the module docstring).
    """

    def __init__(
        self,
        learning_rate=0.001,
        decay=0.0,
        epsilon=1e-7,
        rho=0.9,
        *,
        learning_rate_schedule="constant",
        power_t=0.5,
        weight_decay=0.0,
    ):
        super().__init__(
            learning_rate, decay, learning_rate_schedule, power_t, weight_decay
        )
        self.epsilon = epsilon
        self.rho = rho

    def _new_state(self, param):
        return (np.zeros_like(param), np.empty_like(param))

    def _update(self, param, grad, state, learning_rate):
        cache, scratch = state
        np.multiply(grad, grad, out=scratch)
        scratch *= param.dtype.type(1 - self.rho)
        cache *= param.dtype.type(self.rho)
        cache += scratch
        scaled_step(param, grad, cache, self.epsilon, learning_rate, scratch)


class Adam(_Optimizer):
    """Adam with bias correction, as in the book.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g**2``;
    ``w -= lr_t * m_hat / (sqrt(v_hat) + epsilon)`` with
    ``m_hat = m / (1 - b1**t)`` and ``v_hat = v / (1 - b2**t)``, ``t``
    counting the steps from 1.

    The state keeps the moments rescaled, which saves two passes over the
    parameters per step (`sknnfs._kernels.adam_update` derives it);
    `first_moments` and `second_moments` give the book's ``m`` and ``v``.

    Parameters
    ----------
    learning_rate : float, default=0.001
    decay : float, default=0.0
    epsilon : float, default=1e-7
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    learning_rate_schedule : {'constant', 'invscaling', 'adaptive', 'cosine', \
            'flat_cosine'}, default='constant'
        See the module docstring.
    power_t : float, default=0.5
        Exponent of ``'invscaling'``.
    weight_decay : float, default=0.0
        Decoupled weight decay: each step first multiplies the weights by
        ``1 - lr_t * weight_decay`` (see the module docstring).
    """

    def __init__(
        self,
        learning_rate=0.001,
        decay=0.0,
        epsilon=1e-7,
        beta_1=0.9,
        beta_2=0.999,
        *,
        learning_rate_schedule="constant",
        power_t=0.5,
        weight_decay=0.0,
    ):
        super().__init__(
            learning_rate, decay, learning_rate_schedule, power_t, weight_decay
        )
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    @property
    def first_moments(self):
        """list of ndarray: the book's ``m`` for each parameter array (copies)."""
        return [scaled * (1 - self.beta_1) for scaled, _ in self.state or ()]

    @property
    def second_moments(self):
        """list of ndarray: the book's ``v`` for each parameter array (copies)."""
        return [scaled * (1 - self.beta_2) for _, scaled in self.state or ()]

    def _new_state(self, param):
        return (np.zeros_like(param), np.zeros_like(param))

    def set_hyperparameters(self, **hyperparameters):
        # The state holds m / (1 - beta_1) and v / (1 - beta_2): rescaled so
        # that the book's m and v carry over unchanged to the new betas.
        old_betas = self.beta_1, self.beta_2
        super().set_hyperparameters(**hyperparameters)
        if self.state is None:
            return
        first_scale = (1 - old_betas[0]) / (1 - self.beta_1)
        second_scale = (1 - old_betas[1]) / (1 - self.beta_2)
        for scaled_first, scaled_second in self.state:
            if first_scale != 1:
                scaled_first *= scaled_first.dtype.type(first_scale)
            if second_scale != 1:
                scaled_second *= scaled_second.dtype.type(second_scale)

    def _update(self, param, grad, state, learning_rate):
        adam_update(
            param,
            grad,
            state,
            learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
            t=self.iterations,
        )


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}
