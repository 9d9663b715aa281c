"""Optimizers: the book's SGD (with momentum), Adagrad, RMSprop and Adam.

An optimizer owns its state (momentums, caches, the step counter) and updates
parameters **in place**::

    optimizer.step(params, grads)

``params`` and ``grads`` are matching lists of arrays. Every optimizer applies
the book's learning-rate decay, ``lr_t = learning_rate / (1 + decay * t)``,
where ``t`` counts the steps taken before this one. Defaults follow the book.
Unlike the book, nothing is attached to the layers (no ``layer.weight_cache``):
the state lives in ``self.state``, one entry per parameter array, created on
the first step. ``step`` may use the ``grads`` arrays as scratch space and
overwrite them.

This module imports only NumPy and the engine's kernels.
"""

import numpy as np

from ._kernels import adam_update, scaled_step

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "OPTIMIZERS"]


class _Optimizer:
    def __init__(self, learning_rate, decay):
        self.learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.state = None

    def __setstate__(self, state):
        # sknnfs 0.1 pickled a thread-timing helper with every optimizer.
        state.pop("_blockwise", None)
        self.__dict__.update(state)

    @property
    def current_learning_rate(self):
        """The decayed learning rate the next step will use."""
        return self.learning_rate / (1.0 + self.decay * self.iterations)

    def step(self, params, grads, apply_update=None):
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
        """
        if self.state is None:
            self.state = [self._new_state(param) for param in params]
        learning_rate = self.current_learning_rate
        self.iterations += 1

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

        Parameters
        ----------
        **hyperparameters : float
            New values of constructor arguments, e.g. ``learning_rate=0.01``.
        """
        for name, value in hyperparameters.items():
            if name not in self.__dict__ or name in ("iterations", "state"):
                raise TypeError(f"{type(self).__name__} has no hyperparameter {name!r}")
            setattr(self, name, value)

    def save_state(self):
        """A copy of what the steps change (``t`` and the state), for `load_state`."""
        if self.state is None:
            return self.iterations, None
        return self.iterations, [
            tuple(a.copy() for a in arrays) for arrays in self.state
        ]

    def load_state(self, saved):
        """Go back to the state `save_state` returned (which is then used up)."""
        self.iterations, self.state = saved

    def _update(self, param, grad, state, learning_rate):
        raise NotImplementedError


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum.

    ``v = momentum * v - lr_t * g``; ``w += v`` (plain ``w -= lr_t * g``
    without momentum).

    Parameters
    ----------
    learning_rate : float, default=1.0
    decay : float, default=0.0
    momentum : float, default=0.0
    """

    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        super().__init__(learning_rate, decay)
        self.momentum = momentum

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
        if self.momentum:
            (velocity,) = state
            velocity *= scalar(self.momentum)
            velocity -= grad
            param += velocity
        else:
            param -= grad


class Adagrad(_Optimizer):
    """Adagrad: ``c += g**2``; ``w -= lr_t * g / (sqrt(c) + epsilon)``.

    Parameters
    ----------
    learning_rate : float, default=1.0
    decay : float, default=0.0
    epsilon : float, default=1e-7
    """

    def __init__(self, learning_rate=1.0, decay=0.0, epsilon=1e-7):
        super().__init__(learning_rate, decay)
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
    """

    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, rho=0.9):
        super().__init__(learning_rate, decay)
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
    """

    def __init__(
        self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999
    ):
        super().__init__(learning_rate, decay)
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
