"""``optimizer='lbfgs'``: full-batch training with scipy's L-BFGS-B.

As ``MLPClassifier(solver='lbfgs')`` does, the loss over the whole training
set (the weighted mean data loss plus the L1/L2 penalties) and its gradient
over the network's flat parameters go to ``scipy.optimize.minimize(
method="L-BFGS-B", jac=True)`` with ``maxiter=max_iter``, ``maxfun=max_fun``
and ``gtol=tol``; a run that ends on a limit warns through scikit-learn's
``_check_optimize_result``, with MLP's message. Each L-BFGS iteration is
published as an epoch is: ``n_iter_``, ``loss_curve_``, the verbose line, the
epoch hook and scikit-learn's callbacks (one subtask per iteration).

scipy's L-BFGS-B works in float64. A float32 network still evaluates in
float32: each parameter vector scipy proposes is cast into the network's
float32 parameters, and the float32 gradient is cast back to float64.

scipy's L-BFGS-B runs with BLAS kept to one thread, on whichever thread
fits; while it runs, sknnfs's computations that need the caller's BLAS limit
wait on the other threads, and it waits for them (`sknnfs._parallel`).

The stochastic optimizers' guarantees hold: a non-finite loss or gradient at
any evaluation raises "Training diverged" (and `sknnfs._base.fit_context` restores the
estimator), and Ctrl-C keeps the weights of the last completed iteration,
which are also the lowest-loss weights L-BFGS has accepted (its line search
only accepts a decrease); before the run's first iteration completes, the
KeyboardInterrupt goes on and the estimator is as before the call.
"""

import math
import time
import warnings

import numpy as np
import scipy.optimize
from sklearn.utils.optimize import _check_optimize_result

from ._callbacks import EpochCallbacks
from ._parallel import blas_limited_for_lbfgs
from ._training import early_stopping_demanded

__all__ = [
    "FullBatchObjective",
    "check_lbfgs_settings",
    "fit_lbfgs",
    "partial_fit_is_available",
    "run_lbfgs",
]


class FullBatchObjective:
    """The function L-BFGS minimises: the full-batch loss and its gradient.

    Parameters
    ----------
    network : Network
        Its ``flat_params`` are overwritten by every evaluation.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,) or None
        Sample (times class) weights: the data loss is ``mean(sample_weight *
        sample_losses)``, the weighted mean for weights scaled to mean one
        (as the estimators scale them).

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import Network
    >>> network = Network([2, 4, 3], random_state=0)
    >>> objective = FullBatchObjective(network, np.ones((5, 2)), np.arange(5) % 3)
    >>> loss, gradient = objective(network.flat_params_copy())
    >>> gradient.shape == network.flat_params.shape, gradient.dtype
    (True, dtype('float64'))
    """

    def __init__(self, network, X, y, sample_weight=None):
        self.network = network
        self.data = (X, y, sample_weight)
        self.n_samples = X.shape[0]
        self.workspace = network.new_workspace()

    def __call__(self, params):
        """Loss and gradient at ``params``, a float64 vector of flat parameters.

        Returns
        -------
        loss : float
        gradient : ndarray of shape (n_parameters,) of float64
            A new array: scipy keeps it, and the workspace's gradient is
            overwritten by the next evaluation.
        """
        self.network.load_flat_params(params)  # cast to the network's dtype
        loss, grads = self.network.loss_and_gradients(
            *self.data, workspace=self.workspace, training=False
        )
        return float(loss), grads.astype(np.float64)


def check_lbfgs_settings(estimator):
    """A clear error for the settings that L-BFGS cannot honour."""
    if estimator.dropout > 0:
        raise ValueError(
            f"dropout={estimator.dropout!r} cannot be used with optimizer='lbfgs': "
            "L-BFGS needs the same loss each time it evaluates the same weights, "
            "and dropout draws a new random mask at every evaluation. Use "
            "dropout=0.0, or a stochastic optimizer such as 'adam'."
        )
    if estimator.weight_decay > 0:
        raise ValueError(
            f"weight_decay={estimator.weight_decay!r} cannot be used with "
            "optimizer='lbfgs': decoupled weight decay shrinks the weights at "
            "each step of a stochastic optimizer, outside the loss, and L-BFGS "
            "takes no such steps: it minimises the loss. Use weight_decay=0.0 "
            "(l2 adds a weight penalty to the loss L-BFGS minimises), or a "
            "stochastic optimizer such as 'adam'."
        )
    if early_stopping_demanded(estimator.early_stopping):
        raise ValueError(
            "early_stopping=True cannot be used with optimizer='lbfgs': L-BFGS "
            "minimises the training loss in one run, with no epochs between "
            "which to score a held-out set. Use early_stopping=False (max_iter, "
            "max_fun and tol end the run), or a stochastic optimizer."
        )


def partial_fit_is_available(estimator):
    """The ``available_if`` check of ``partial_fit``: not with ``'lbfgs'``.

    As for ``MLPClassifier(solver='lbfgs')``, ``hasattr(estimator,
    "partial_fit")`` is then False, and calling it raises an AttributeError
    whose cause is the ValueError below.
    """
    if estimator.optimizer == "lbfgs":
        raise ValueError(
            "partial_fit is not available with optimizer='lbfgs': L-BFGS "
            "minimises the loss over the whole training set at once, so it has "
            "no step to take on one batch. Use fit, or a stochastic optimizer "
            "such as 'adam' for partial_fit."
        )
    return True


def fit_lbfgs(estimator, trainer, history, data, callback_data):
    """Train ``trainer.network`` on ``data`` with L-BFGS-B, from its current weights.

    Parameters
    ----------
    estimator : BaseNNFS
        Gives ``max_iter``, ``max_fun``, ``tol`` and ``verbose``; receives the
        network and the fitted attributes.
    trainer : Trainer
        The network to train and the generator to publish (no optimizer).
    history : History
        The record to continue (a warm start continues the previous one).
    data : tuple (X, y_encoded, sample_weight)
    callback_data : tuple (X, y, sample_weight)
        As the user passed them, for scikit-learn's callbacks.
    """
    check_lbfgs_settings(estimator)
    objective = FullBatchObjective(trainer.network, *data)
    run_lbfgs(estimator, trainer, history, objective, callback_data)


def run_lbfgs(estimator, trainer, history, objective, callback_data):
    """Minimise ``objective`` with L-BFGS-B from ``trainer.network``'s weights.

    `fit_lbfgs` passes a `FullBatchObjective`; a fit on a Dask cluster
    (`sknnfs._distributed`) passes one whose every evaluation sums the
    partitions' losses and gradients on the cluster.

    Parameters
    ----------
    estimator : BaseNNFS
    trainer : Trainer
    history : History
    objective : callable
        ``objective(params)`` returns the loss and its float64 gradient at
        the float64 flat parameters ``params``; its ``n_samples`` attribute
        is the number of training samples, which ``t_`` counts.
    callback_data : tuple (X, y, sample_weight)
    """
    network = trainer.network
    estimator._network, estimator._optimizer = network, None
    estimator._training_rng = trainer.rng
    callbacks = EpochCallbacks(estimator, estimator.max_iter, *callback_data)
    run = _LbfgsRun(estimator, network, objective, history, callbacks)
    try:
        with blas_limited_for_lbfgs():
            result = _minimize(run, network.flat_params, estimator)
    except KeyboardInterrupt:
        if not run.history.n_iter:
            raise  # no iteration to keep: `fit_context` restores the estimator
        run.interrupted()
        return
    run.finish(result)


def _minimize(run, initial_params, estimator):
    """``scipy.optimize.minimize`` with MLPClassifier's L-BFGS-B options."""
    return scipy.optimize.minimize(
        run.evaluate,
        initial_params.astype(np.float64),
        method="L-BFGS-B",
        jac=True,
        callback=run.end_iteration,
        options={
            "maxiter": estimator.max_iter,
            "maxfun": estimator.max_fun,
            "gtol": estimator.tol,
        },
    )


class _LbfgsRun:
    """One L-BFGS run: evaluations checked, iterations published as epochs."""

    def __init__(self, estimator, network, objective, history, callbacks):
        self.estimator = estimator
        self.objective = objective
        self.network = network
        self.n_samples = objective.n_samples
        self.history = history
        self.callbacks = callbacks
        self.completed_params = self.network.flat_params_copy()
        self.iteration_start = None  # None until an iteration begins
        self.stop_requested = False

    def evaluate(self, params):
        """The objective at ``params``; "Training diverged" when not finite."""
        if self.iteration_start is None:
            self.iteration_start = time.perf_counter()
            self.callbacks.begin_epoch()
        # An overflow is reported below as "Training diverged", with advice;
        # NumPy's RuntimeWarnings before it would only repeat it, less clearly.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, gradient = self.objective(params)
        if not math.isfinite(loss):
            problem = f"the loss became {loss}"
        elif not np.isfinite(gradient).all():
            problem = "the gradient overflowed to inf or nan"
        else:
            return loss, gradient
        raise ValueError(
            f"Training diverged: {problem} at L-BFGS iteration "
            f"{self.history.n_iter + 1}. Scale the features, or add an l2 "
            "penalty to keep the weights small."
        )

    def end_iteration(self, intermediate_result):
        """scipy's callback after each iteration: publish it as an epoch."""
        params = intermediate_result.x.copy()  # scipy updates x in place
        loss = float(intermediate_result.fun)
        self.network.load_flat_params(params)
        self.completed_params = self.network.flat_params_copy()
        history = self.history
        history.record(loss, self.n_samples, None, -min(loss, history.best_loss))
        history.store(self.estimator, False)
        if self.estimator.verbose:
            seconds = time.perf_counter() - self.iteration_start
            print(f"Iteration {history.n_iter}: loss = {loss:.6f}, {seconds:.3f} s")
        self.iteration_start = None
        self.estimator._on_epoch_end(history)
        if self.callbacks.end_epoch():
            self.stop_requested = True
            raise StopIteration  # scipy ends the run on it

    def interrupted(self):
        """After Ctrl-C: the last completed iteration's weights, and a warning."""
        self.network.load_flat_params(self.completed_params)
        self.history.store(self.estimator, False)
        self.callbacks.end()
        warnings.warn(
            f"Training interrupted after {self.history.n_iter} L-BFGS iterations; "
            "the estimator keeps the weights of the last completed iteration.",
            UserWarning,
            stacklevel=6,  # fit, past _fit, _train, fit_lbfgs and run_lbfgs
        )

    def finish(self, result):
        """Load scipy's answer; warn, as MLP does, if a limit ended the run."""
        self.network.load_flat_params(result.x)
        self.history.store(self.estimator, False)
        self.estimator.loss_ = float(result.fun)
        self.callbacks.end()
        if self.stop_requested:
            return
        extra = None
        if result.nfev > self.estimator.max_fun:
            extra = (
                "Increase the number of function evaluations to improve the "
                f"convergence (max_fun={self.estimator.max_fun})."
            )
        _check_optimize_result("lbfgs", result, self.estimator.max_iter, extra)
