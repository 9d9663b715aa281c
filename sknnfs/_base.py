"""Shared scikit-learn machinery of NNFSClassifier and NNFSRegressor.

`BaseNNFS` declares the constructor parameters and their constraints, checks
the data, and runs the training loop: fit -> epochs -> one epoch -> one step
(`Network.train_step`). The subclasses only say how targets are checked and
encoded, which fused output loss to use, and how to score.
"""

import copy
import functools
import math
import threading
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import ThreadpoolController

from ._batching import minibatches
from ._callbacks import CallbackSupportMixin, EpochCallbacks
from ._layers import BIAS_INITS, WEIGHT_INITS
from ._network import Network
from ._optimizers import OPTIMIZERS

__all__ = ["BaseNNFS"]

# Layout of a pickled estimator. Bump it when that layout changes, and teach
# `BaseNNFS.__setstate__` to convert (or refuse) the older formats.
PICKLE_FORMAT = 1

# Fewest samples early stopping holds out; one more is left to train on.
MIN_VALIDATION_SAMPLES = 2


@functools.cache
def _threadpool_controller():
    """One `ThreadpoolController` per process, made on first use.

    Making one inspects every loaded library (about 2 ms). It controls the
    BLAS libraries loaded by then, NumPy's among them, which computes the
    dense products.
    """
    return ThreadpoolController()


class BaseNNFS(CallbackSupportMixin, BaseEstimator):
    """Base class of the sknnfs estimators; not for direct use."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"relu", "sigmoid", "tanh", "linear"})],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "decay": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "weight_init": [StrOptions(set(WEIGHT_INITS))],
        "bias_init": [StrOptions(set(BIAS_INITS))],
        "l1": [Interval(Real, 0, None, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "bias_l1": [Interval(Real, 0, None, closed="left")],
        "bias_l2": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "dtype": [None, StrOptions({"float32", "float64"})],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Set by the subclasses.
    _estimator_kind = "estimator"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.001,
        decay=0.0,
        momentum=0.9,
        rho=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_init="he",
        bias_init="zeros",
        l1=0.0,
        l2=0.0,
        bias_l1=0.0,
        bias_l2=0.0,
        dropout=0.0,
        batch_size="auto",
        max_iter=200,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        dtype=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.decay = decay
        self.momentum = momentum
        self.rho = rho
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_init = weight_init
        self.bias_init = bias_init
        self.l1 = l1
        self.l2 = l2
        self.bias_l1 = bias_l1
        self.bias_l2 = bias_l2
        self.dropout = dropout
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------- subclass API
    def _check_targets(self, y, *, reset, incremental, classes=None):
        """Validate ``y`` and return it encoded for the network's loss.

        Integer class indices for the softmax loss, otherwise a float matrix
        of shape (n_samples, n_outputs). With ``reset`` it also sets
        ``classes_`` (classifier), ``n_outputs_``, ``n_layers_`` and
        ``out_activation_``.
        """
        raise NotImplementedError

    def _loss_name(self):
        raise NotImplementedError

    def _validation_score(self, X, y_encoded, sample_weight):
        """Score of the network on encoded validation data; greater is better."""
        raise NotImplementedError

    def _stratify_labels(self, y_encoded):
        """Labels to stratify the validation split on, or None."""
        return None

    def _sample_weight_factors(self, y_encoded, *, incremental):
        """Per-sample factors (class weights) to multiply into sample_weight."""
        return None

    # ------------------------------------------------------------ validation
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if not all(isinstance(size, Integral) and size > 0 for size in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers; "
                f"got {self.hidden_layer_sizes!r}"
            )
        return [int(size) for size in sizes]

    def _fit_dtype(self, X):
        """The floating type training runs in."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        if getattr(X, "dtype", None) == np.float32:
            return np.dtype(np.float32)
        return np.dtype(np.float64)

    def _validate_X(self, X, *, reset, dtype=None):
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=dtype if dtype is not None else self._network.dtype,
        )

    def _check_sample_weight(self, sample_weight, X, y_encoded, *, incremental):
        """Combine sample_weight and class weights, normalised to mean one."""
        factors = self._sample_weight_factors(y_encoded, incremental=incremental)
        if sample_weight is None and factors is None:
            return None
        weights = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        name = "sample_weight"
        if factors is not None:
            weights = weights * factors.astype(X.dtype, copy=False)
            name = "sample_weight (times class_weight)"
        total = _positive_total(weights, name)
        return weights * (len(weights) / total)

    def _check_score_inputs(self, X, y, sample_weight):
        """Validate the arguments of ``score`` the way ``fit`` would.

        The metrics would accept negative weights, and name an inconsistent
        length without saying it is ``sample_weight``'s.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
            _positive_total(sample_weight, "sample_weight")
        return X, y, sample_weight

    # --------------------------------------------------------------- fitting
    def _fit(self, X, y, sample_weight=None, *, incremental, classes=None):
        """Fit (or continue fitting); on any error the previous state is restored."""
        previous = _Snapshot(self)
        try:
            return self._fit_unguarded(
                X, y, sample_weight, incremental=incremental, classes=classes
            )
        except Exception:
            previous.restore(self)
            raise

    def _fit_unguarded(self, X, y, sample_weight, *, incremental, classes):
        hidden_sizes = self._hidden_sizes()
        fitted = hasattr(self, "_network")
        reset = not fitted or not (incremental or self.warm_start)
        dtype = self._fit_dtype(X) if reset else self._network.dtype
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse="csr",
            dtype=dtype,
            multi_output=True,
            y_numeric=False,
        )
        callback_data = (X, y, sample_weight)  # what the user passed, validated
        y_encoded = self._check_targets(
            y, reset=reset, incremental=incremental, classes=classes
        )
        if y_encoded.dtype.kind == "f":
            y_encoded = y_encoded.astype(dtype, copy=False)
        sample_weight = self._check_sample_weight(
            sample_weight, X, y_encoded, incremental=incremental
        )

        if reset:
            random_state = check_random_state(self.random_state)
            network = Network(
                [X.shape[1], *hidden_sizes, self.n_outputs_],
                hidden_activation=self.activation,
                loss=self._loss_name(),
                dropout=self.dropout,
                weight_init=self.weight_init,
                bias_init=self.bias_init,
                l1=self.l1,
                l2=self.l2,
                bias_l1=self.bias_l1,
                bias_l2=self.bias_l2,
                dtype=dtype,
                random_state=random_state,
            )
            training_rng = np.random.default_rng(
                random_state.randint(np.iinfo(np.int32).max)
            )
            history = _History()
            optimizer = None
        else:
            network = self._network
            network.ensure_writeable()
            training_rng = self._training_rng
            history = _History.of(self)
            optimizer = self._optimizer if incremental else None
        if optimizer is None:
            optimizer = self._make_optimizer()
        optimizer.ensure_writeable()

        # partial_fit is one epoch with no stopping rule; fit runs up to max_iter.
        self._train(
            network,
            optimizer,
            training_rng,
            history,
            X,
            y_encoded,
            sample_weight,
            max_epochs=1 if incremental else self.max_iter,
            stopping=not incremental,
            callback_data=callback_data,
        )
        return self

    def _make_optimizer(self):
        common = dict(learning_rate=self.learning_rate, decay=self.decay)
        if self.optimizer == "sgd":
            return OPTIMIZERS["sgd"](momentum=self.momentum, **common)
        if self.optimizer == "adagrad":
            return OPTIMIZERS["adagrad"](epsilon=self.epsilon, **common)
        if self.optimizer == "rmsprop":
            return OPTIMIZERS["rmsprop"](epsilon=self.epsilon, rho=self.rho, **common)
        return OPTIMIZERS["adam"](
            epsilon=self.epsilon, beta_1=self.beta_1, beta_2=self.beta_2, **common
        )

    def _split_validation(self, X, y_encoded, sample_weight, rng):
        """Hold out ``validation_fraction`` of the data, stratified where possible.

        Only samples with a positive weight are held out: a zero-weight sample
        says nothing about the model, and a validation set of only those has
        no score (its weights sum to zero). Zero-weight samples stay in the
        training part, where they contribute nothing either.
        """
        n_samples = X.shape[0]
        candidates = (
            np.arange(n_samples)
            if sample_weight is None
            else np.flatnonzero(sample_weight > 0)
        )
        n_candidates = len(candidates)
        # Two held-out samples at least: R² is undefined on a single one.
        n_validation = min(
            max(
                MIN_VALIDATION_SAMPLES, int(round(self.validation_fraction * n_samples))
            ),
            n_candidates - 1,
        )
        if n_validation < MIN_VALIDATION_SAMPLES:
            raise ValueError(
                f"early_stopping needs at least {MIN_VALIDATION_SAMPLES + 1} samples "
                f"with a positive weight; got {n_candidates} (n_samples={n_samples})"
            )
        stratify = self._stratify_labels(y_encoded)
        if stratify is not None:
            stratify = stratify[candidates]
            counts = np.bincount(stratify)
            counts = counts[counts > 0]
            if counts.min() < 2 or not (
                len(counts) <= n_validation <= n_candidates - len(counts)
            ):
                stratify = None
        train_idx, val_idx = train_test_split(
            candidates,
            test_size=n_validation,
            random_state=rng.integers(np.iinfo(np.int32).max),
            stratify=stratify,
        )
        if n_candidates < n_samples:
            train_idx = np.union1d(train_idx, np.flatnonzero(sample_weight <= 0))
        train_idx.sort()
        val_idx.sort()

        def take(values, idx):
            return None if values is None else values[idx]

        return (
            (X[train_idx], y_encoded[train_idx], take(sample_weight, train_idx)),
            (X[val_idx], y_encoded[val_idx], take(sample_weight, val_idx)),
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _train(
        self,
        network,
        optimizer,
        rng,
        history,
        X,
        y,
        sample_weight,
        *,
        max_epochs,
        stopping,
        callback_data,
    ):
        """Run up to ``max_epochs`` epochs; ``callback_data`` is ``(X, y,
        sample_weight)`` as the user passed them, for scikit-learn's callbacks."""
        early_stopping = stopping and self.early_stopping
        validation = None
        if early_stopping:
            (X, y, sample_weight), validation = self._split_validation(
                X, y, sample_weight, rng
            )
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        completed_params = network.copy_params()
        no_improvement_count = 0
        best_params = None
        converged = False
        stopped_by_callback = False

        # Publish the network now so that hooks and callbacks see it.
        self._network, self._optimizer, self._training_rng = network, optimizer, rng
        callbacks = EpochCallbacks(self, max_epochs, *callback_data)
        try:
            for _ in range(max_epochs):
                callbacks.begin_epoch()
                epoch_start = time.perf_counter()
                epoch_loss = self._run_epoch(
                    network, optimizer, rng, X, y, sample_weight, batch_size
                )
                # The last step of an epoch can overflow the weights while the
                # loss it reports (computed before the step) is still finite.
                if not math.isfinite(epoch_loss):
                    problem = f"the loss became {epoch_loss}"
                elif not np.isfinite(network.flat_params).all():
                    problem = "the weights overflowed to inf or nan"
                else:
                    problem = None
                if problem is not None:
                    raise ValueError(
                        f"Training diverged: {problem} at epoch "
                        f"{history.n_iter + 1}. Try a smaller learning_rate (now "
                        f"{self.learning_rate!r}), or scale the features."
                    )
                history.n_iter += 1
                history.t += n_samples
                history.loss_curve.append(epoch_loss)
                if early_stopping:
                    score = self._validation_score(*validation)
                    history.validation_scores.append(score)
                    if score < history.best_validation_score + self.tol:
                        no_improvement_count += 1
                    else:
                        no_improvement_count = 0
                    if score > history.best_validation_score:
                        history.best_validation_score = score
                        best_params = network.copy_params()
                else:
                    if epoch_loss > history.best_loss - self.tol:
                        no_improvement_count += 1
                    else:
                        no_improvement_count = 0
                    history.best_loss = min(history.best_loss, epoch_loss)
                completed_params = network.copy_params()
                history.store(self, early_stopping)
                if self.verbose:
                    self._print_epoch(history, time.perf_counter() - epoch_start)
                self._on_epoch_end(history)
                if callbacks.end_epoch():
                    stopped_by_callback = True
                    break
                if stopping and no_improvement_count >= self.n_iter_no_change:
                    converged = True
                    break
        except KeyboardInterrupt:
            network.set_params(completed_params)
            history.store(self, early_stopping)
            callbacks.end()
            warnings.warn(
                f"Training interrupted after {history.n_iter} epochs; the estimator "
                "keeps the weights of the last completed epoch.",
                UserWarning,
                stacklevel=3,
            )
            return
        if early_stopping and best_params is not None:
            network.set_params(best_params)
        callbacks.end()
        if stopping and not (converged or stopped_by_callback):
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _run_epoch(self, network, optimizer, rng, X, y, sample_weight, batch_size):
        """One pass over the data in minibatches; returns the mean batch loss."""
        n_samples = X.shape[0]
        order = rng.permutation(n_samples) if self.shuffle else None
        total_loss = 0.0
        for X_batch, y_batch, weight_batch in minibatches(
            X, y, sample_weight, batch_size, order
        ):
            batch_loss = network.train_step(
                X_batch, y_batch, weight_batch, optimizer, rng
            )
            if not math.isfinite(batch_loss):
                return batch_loss
            total_loss += batch_loss * X_batch.shape[0]
        return total_loss / n_samples

    def _on_epoch_end(self, history):
        """Hook called after every completed epoch; a no-op for subclasses to extend.

        scikit-learn's callbacks do not need it: `EpochCallbacks` wraps each
        epoch as a subtask.
        """

    def _print_epoch(self, history, seconds):
        line = f"Epoch {history.n_iter}: loss = {history.loss_curve[-1]:.6f}"
        if history.validation_scores:
            line += f", validation score = {history.validation_scores[-1]:.6f}"
        print(f"{line}, {seconds:.3f} s")

    # ------------------------------------------------------------ prediction
    def _forward(self, X, output=None):
        """Checked input through the network (probabilities or predictions)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        n_threads = self._network.sparse_prediction_threads(X)
        # Large sparse X: its product with the first layer is shared between
        # threads. That pays only if BLAS keeps to one thread meanwhile
        # (OpenBLAS's threads spin for a while after every dense product and
        # would take the cores; the layers after a sparse input are small),
        # and only the main thread sets that reliably: OpenBLAS ignores a
        # thread count raised again from another thread.
        if n_threads == 1 or threading.current_thread() is not threading.main_thread():
            return self._network.predict(X, output)
        with _threadpool_controller().limit(limits=1, user_api="blas"):
            return self._network.predict(X, output, n_threads)

    # ------------------------------------------------------------ attributes
    @property
    def coefs_(self):
        """list of ndarray: weight matrices, ``coefs_[i]`` of shape (n_in, n_out)."""
        return [layer.weights for layer in self._network.layers]

    @property
    def intercepts_(self):
        """list of ndarray: bias vectors, ``intercepts_[i]`` of shape (n_out,)."""
        return [layer.biases[0] for layer in self._network.layers]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ----------------------------------------------------------- persistence
    def __getstate__(self):
        # BaseEstimator's state may be the live __dict__: never add to it.
        return {**super().__getstate__(), "_sknnfs_pickle_format": PICKLE_FORMAT}

    def __setstate__(self, state):
        state = dict(state)
        # Pickles from before the format was recorded have format 1's layout.
        pickle_format = state.pop("_sknnfs_pickle_format", PICKLE_FORMAT)
        if pickle_format != PICKLE_FORMAT:
            raise ValueError(
                f"Cannot load this {type(self).__name__}: it was pickled in "
                f"sknnfs pickle format {pickle_format!r}, and this version of "
                f"sknnfs reads only format {PICKLE_FORMAT}. Load it with the "
                "sknnfs version that saved it, or refit it."
            )
        # Parameters added since format 1 was first written: the value that
        # describes how the older estimators were made.
        state.setdefault("bias_init", "zeros")
        super().__setstate__(state)


def _positive_total(weights, name):
    """The sum of non-negative ``weights``; a clear error when it is zero."""
    total = weights.sum()
    if not total > 0:
        raise ValueError(
            f"{name} sums to zero: at least one sample needs a positive weight"
        )
    return total


class _Snapshot:
    """What `BaseNNFS._fit` needs to put an estimator back as it was."""

    def __init__(self, estimator):
        self.attributes = estimator.__dict__.copy()
        network = self.attributes.get("_network")
        self.params = None if network is None else network.copy_params()
        # The optimizer and the generator change in place while training.
        self.optimizer = copy.deepcopy(self.attributes.get("_optimizer"))
        self.training_rng = copy.deepcopy(self.attributes.get("_training_rng"))

    # Set by scikit-learn's callback machinery during fit; its teardown, after
    # the fit, needs them even when the fit failed.
    CALLBACK_ATTRIBUTES = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")

    def restore(self, estimator):
        callback_state = {
            name: estimator.__dict__[name]
            for name in self.CALLBACK_ATTRIBUTES
            if name in estimator.__dict__
        }
        estimator.__dict__.clear()
        estimator.__dict__.update(self.attributes)
        estimator.__dict__.update(callback_state)
        if self.params is not None:
            estimator._network.ensure_writeable()
            estimator._network.set_params(self.params)
            estimator._optimizer = self.optimizer
            estimator._training_rng = self.training_rng


class _History:
    """Per-fit training record; copied onto the estimator after every epoch."""

    def __init__(self):
        self.n_iter = 0
        self.t = 0
        self.loss_curve = []
        self.best_loss = np.inf
        self.validation_scores = []
        self.best_validation_score = -np.inf

    @classmethod
    def of(cls, estimator):
        history = cls()
        history.n_iter = estimator.n_iter_
        history.t = estimator.t_
        history.loss_curve = list(estimator.loss_curve_)
        if estimator.best_loss_ is not None:
            history.best_loss = estimator.best_loss_
        if estimator.validation_scores_ is not None:
            history.validation_scores = list(estimator.validation_scores_)
            history.best_validation_score = estimator.best_validation_score_
        return history

    def store(self, estimator, early_stopping):
        estimator.n_iter_ = self.n_iter
        estimator.t_ = self.t
        estimator.loss_curve_ = list(self.loss_curve)
        estimator.loss_ = self.loss_curve[-1] if self.loss_curve else None
        if early_stopping:
            estimator.best_loss_ = None
            estimator.validation_scores_ = list(self.validation_scores)
            estimator.best_validation_score_ = self.best_validation_score
        else:
            estimator.best_loss_ = self.best_loss
            estimator.validation_scores_ = None
            estimator.best_validation_score_ = None
