"""Shared scikit-learn machinery of NNFSClassifier and NNFSRegressor.

`BaseNNFS` declares the parameters and their constraints, checks the data,
builds the network and the optimizer, and hands them to the training loop
(`sknnfs._loop.EpochLoop`, or `sknnfs._lbfgs` for ``'lbfgs'``), which knows
nothing of estimators; the estimator keeps validation and the fitted
attributes. The subclasses say how targets are checked and encoded, which
fused output loss to use, and how to score.

A call trains new objects or copies, never the fitted network, optimizer or
generator in place: `_Snapshot`, the estimator's attributes, is all it takes
to put the estimator back after a failure (`fit_context`).
"""

import copy
import functools
import inspect
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    _is_arraylike_not_scalar,
    _num_samples,
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._activations import HIDDEN_ACTIVATIONS
from ._callbacks import CallbackSupportMixin, EpochCallbacks
from ._categories import (
    categorical_mask,
    categories_problem,
    category_encoder,
    one_hot_width,
    split_columns,
)
from ._distributed import fit_on_cluster, is_dask_collection
from ._doc_links import DocLinkMixin
from ._frames import frame_values_dtype, text_columns_named
from ._layers import BIAS_INITS, WEIGHT_INITS, initial_weights
from ._lbfgs import fit_lbfgs
from ._loop import EpochLoop, InMemoryEpochs, Validation
from ._mlp_names import AUTO_BATCH_SIZE, MLPNameAdviceMixin
from ._network import Network
from ._numeric_encoding import (
    edges_problem,
    encode,
    encoding_columns,
    fitted_edges,
    needs_dense_x,
    start_as_features,
)
from ._optimizers import OPTIMIZERS
from ._persistence import (
    checked_parameters,
    loading_error,
    state_from_pickle,
    state_to_pickle,
)
from ._prediction import checks_rows_in_first_layer, predict_outputs
from ._schedules import HORIZON_SCHEDULES, SCHEDULES
from ._target_scaling import scaling_problem
from ._training import (
    History,
    Trainer,
    early_stopping_demanded,
    resolve_early_stopping,
    split_validation,
)

__all__ = ["BaseNNFS", "fit_context", "relative_sample_weight"]

# Largest input prediction takes without validating it, when it need not be
# converted or refused (see `BaseNNFS._is_ready_for_the_network`).
FAST_PATH_MAX_VALUES = 1 << 16

# The constructor arguments of each optimizer: estimator parameters too.
OPTIMIZER_PARAMETERS = {
    name: tuple(inspect.signature(optimizer_class).parameters)
    for name, optimizer_class in OPTIMIZERS.items()
}

# The estimators' ``out_activation_`` for each output loss.
OUT_ACTIVATIONS = {
    "softmax_crossentropy": "softmax",
    "sigmoid_crossentropy": "logistic",
    "squared_error": "identity",
    "absolute_error": "identity",
    "poisson": "exp",
}


class _ArrayLikeOf(Interval):
    """The array-likes whose every item lies in the interval.

    An `Interval` subclass because scikit-learn's parameter validation takes
    only its own constraint classes (``make_constraint``).
    """

    def is_satisfied_by(self, val):
        item_is_in_interval = super().is_satisfied_by
        return _is_arraylike_not_scalar(val) and all(map(item_is_in_interval, val))

    def __str__(self):
        return f"an array-like whose items are each {super().__str__()}"


# The parameters both estimators take, and what each accepts.
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": [
        _ArrayLikeOf(Integral, 1, None, closed="left"),
        Interval(Integral, 1, None, closed="left"),
    ],
    "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
    # The book's step-wise optimizers, and scipy's full-batch L-BFGS-B.
    "optimizer": [StrOptions({*OPTIMIZERS, "lbfgs"})],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "decay": [Interval(Real, 0, None, closed="left")],
    "learning_rate_schedule": [StrOptions(set(SCHEDULES))],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterov": ["boolean"],
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
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "batch_size": [
        StrOptions({"auto"}),
        Interval(Integral, 1, None, closed="left"),
    ],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "early_stopping": [StrOptions({"auto"}), "boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "dtype": [
        None,
        StrOptions({"float32", "float64"}),
        Options(type, {np.float32, np.float64}),
        Options(np.dtype, {np.dtype(np.float32), np.dtype(np.float64)}),
    ],
    "warm_start": ["boolean"],
    "random_state": ["random_state"],
    "numeric_bins": [
        Interval(Integral, 2, None, closed="left"),
        StrOptions({"auto"}),
        None,
    ],
    "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    "verbose": ["verbose"],
}


class BaseNNFS(
    DocLinkMixin,
    MLPNameAdviceMixin,
    CallbackSupportMixin,
    BaseEstimator,
    metaclass=ABCMeta,
):
    """Base class of the sknnfs estimators; not for direct use."""

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        optimizer,
        learning_rate,
        decay,
        learning_rate_schedule,
        power_t,
        momentum,
        nesterov,
        rho,
        beta_1,
        beta_2,
        epsilon,
        weight_init,
        bias_init,
        l1,
        l2,
        bias_l1,
        bias_l2,
        weight_decay,
        dropout,
        batch_size,
        max_iter,
        max_fun,
        shuffle,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        dtype,
        warm_start,
        random_state,
        verbose,
        numeric_bins,
        categorical_features,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.decay = decay
        self.learning_rate_schedule = learning_rate_schedule
        self.power_t = power_t
        self.momentum = momentum
        self.nesterov = nesterov
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
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.numeric_bins = numeric_bins
        self.categorical_features = categorical_features

    # ---------------------------------------------------------- subclass API
    @abstractmethod
    def _validate_targets(self, y):
        """Check ``y`` alone (its type and shape); return it, tidied."""

    @abstractmethod
    def _init_targets(self, y, *, classes, incremental, sample_weight, target_moments):
        """On a fresh fit: set what ``y`` says about the outputs.

        The classifier sets ``classes_`` and ``n_outputs_``, the regressor
        ``n_outputs_`` and its target scaling, from the ``target_moments``
        of the whole y when given (a cluster's partitions), else from ``y``
        weighted by ``sample_weight`` (`relative_sample_weight`'s, or None).
        """

    def _check_warm_start_targets(self, y):
        """On a warm-started fit: check that ``y`` has the outputs of the last fit."""

    @abstractmethod
    def _encode_targets(self, y, *, classes, dtype):
        """``y`` encoded for the loss, checked against the fitted outputs.

        Integer class indices for the softmax loss, otherwise a matrix of
        shape (n_samples, n_outputs) in the training ``dtype``.
        """

    @abstractmethod
    def _loss_name(self):
        """The network's output loss, a key of `sknnfs._losses.LOSSES`."""

    @abstractmethod
    def _validation_score(self, outputs, y_encoded, sample_weight):
        """Score of the network's finite ``outputs`` (logits) for the encoded
        validation targets; greater is better."""

    def _stratify_labels(self, y_encoded):
        """Labels to stratify the validation split on, or None."""
        return None

    def _sample_weight_factors(self, y_encoded, sample_weight, *, incremental):
        """Per-sample factors (class weights) to multiply into sample_weight."""
        return None

    def _label_smoothing(self):
        """The label smoothing of the training loss (the classifier's
        ``label_smoothing``); a regression target has none."""
        return 0.0

    # ------------------------------------------------------------ validation
    def _hidden_sizes(self):
        """``hidden_layer_sizes`` as a list; its constraint has checked the sizes."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        return [int(size) for size in sizes]

    def _fit_dtype(self, X):
        """The floating type training runs in: ``dtype``, or float32 for
        float32 data of any byte order, in an array or in every column of a
        DataFrame, else float64."""
        if self.dtype is not None:
            return np.dtype(self.dtype)
        values_dtype = frame_values_dtype(X)
        is_float32 = values_dtype is not None and (
            (values_dtype.kind, values_dtype.itemsize) == ("f", 4)
        )
        return np.dtype(np.float32 if is_float32 else np.float64)

    def _validate_X(self, X, *, reset, dtype=None, ensure_all_finite=True):
        """``X`` checked, as the network's inputs (`_network_inputs`)."""
        dtype = dtype if dtype is not None else self._network.dtype
        mask = self.__dict__.get("is_categorical_")
        if mask is not None:
            X = self._with_categories(X, mask, reset=reset, dtype=dtype)
            return self._network_inputs(X)
        with text_columns_named(self, X):
            X = validate_data(
                self,
                X,
                reset=reset,
                accept_sparse="csr",
                dtype=dtype,
                ensure_all_finite=ensure_all_finite,
            )
        return self._network_inputs(X)

    def _with_categories(self, X, mask, *, reset, dtype):
        """``X``'s numeric columns, checked as `validate_data` checks ``X``,
        then the one-hot columns of its categorical features
        (`sknnfs._categories`), whose encoder a fresh fit fits."""
        if sp.issparse(X):
            raise TypeError(
                "categorical_features needs dense X, and X is sparse. Pass "
                "X.toarray(), or set categorical_features=None."
            )
        validate_data(self, X, reset=reset, skip_check_array=True)  # names, count
        numbers, categories = split_columns(X, mask)
        if mask.all():  # check_array cannot read a DataFrame of no columns
            numbers = np.empty((_num_samples(categories), 0), dtype=dtype)
        with text_columns_named(self, numbers):
            numbers = check_array(
                numbers,
                dtype=dtype,
                ensure_min_features=0,
                input_name="X",
                estimator=self,
            )
        if reset:
            self._category_encoder = category_encoder(categories, dtype)
        return np.hstack([numbers, self._category_encoder.transform(categories)])

    def _network_inputs(self, X):
        """Validated ``X`` as the network takes it: encoded at ``bin_edges_``
        where ``numeric_bins`` fitted them (`sknnfs._numeric_encoding`)."""
        if self.__dict__.get("bin_edges_") is None:
            return X
        if sp.issparse(X):
            raise TypeError(
                "This estimator was fitted with numeric_bins, which encodes "
                "dense features, and X is sparse. Pass X.toarray()."
            )
        return encode(X, self._encoding_columns)

    def _set_bin_edges(self, edges):
        """Set ``bin_edges_``, and the column rules `_network_inputs` applies,
        built once here rather than on every call (most of a one-row
        ``predict``'s time); they are left out of pickles and rebuilt."""
        self.bin_edges_ = edges
        self._encoding_columns = None if edges is None else encoding_columns(edges)

    def _training_weights(self, sample_weight, X, y_encoded, *, incremental):
        """Combine sample_weight and class weights, normalised to mean one.

        ``sample_weight`` is `relative_sample_weight`'s, or None. The result
        fits in X's dtype.
        """
        factors = self._sample_weight_factors(
            y_encoded, sample_weight, incremental=incremental
        )
        if factors is None:
            weights = sample_weight
        else:
            weights = 1.0 if sample_weight is None else sample_weight
            weights = _divided_by_max(
                weights * _divided_by_max(factors, "class_weight"),
                "sample_weight (times class_weight)",
            )
        if weights is None:
            return None
        weights *= len(weights) / weights.sum()
        return weights.astype(X.dtype, copy=False)

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
    def _fit(self, X, y, sample_weight, *, incremental, classes=None):
        """Fit (or continue fitting), inside `fit_context`'s guard.

        Training writes only to new objects or copies, never to the fitted
        ones: putting the attributes back restores the estimator exactly.
        """
        if not incremental and is_dask_collection(X, y, sample_weight):
            # Data-parallel on the current Dask cluster (`sknnfs._distributed`).
            return fit_on_cluster(self, X, y, sample_weight)
        if incremental and hasattr(self, "_network"):
            _validate_parameters(self)  # scikit-learn does it on the first call only
        if incremental:
            self._check_partial_fit_settings()
        hidden_sizes = self._hidden_sizes()
        reset = not hasattr(self, "_network") or not (incremental or self.warm_start)
        if not reset:
            self._check_same_network(hidden_sizes, incremental)
        dtype = self._fit_dtype(X) if reset else self._network.dtype
        X, y, callback_X = self._validate_fit_data(X, y, reset=reset, dtype=dtype)
        callback_data = (callback_X, y, sample_weight)
        sample_weight = relative_sample_weight(sample_weight, X)
        if reset:
            self._set_bin_edges(
                fitted_edges(
                    self.numeric_bins,
                    X,
                    sample_weight,
                    sparse=sp.issparse(X),
                    incremental=incremental,
                )
            )
        X = self._network_inputs(X)
        y_encoded = self._training_targets(
            y,
            reset,
            len(hidden_sizes),
            dtype,
            classes=classes,
            incremental=incremental,
            sample_weight=sample_weight,
        )
        sample_weight = self._training_weights(
            sample_weight, X, y_encoded, incremental=incremental
        )
        if reset:
            trainer = self._new_trainer([X.shape[1], *hidden_sizes], dtype)
            history = History()
        else:
            trainer = self._continued_trainer(incremental)
            history = History.of(self)
        # partial_fit is one epoch with no stopping rule; fit runs up to max_iter.
        self._train(
            trainer,
            history,
            (X, y_encoded, sample_weight),
            max_epochs=1 if incremental else self.max_iter,
            stopping=not incremental,
            callback_data=callback_data,
        )
        return self

    def _validate_fit_data(self, X, y, *, reset, dtype):
        """``X`` and ``y`` checked for training, and the ``X`` the callbacks
        get: the validated one, or with categories, the user's (they predict
        from it). A fresh fit learns which features are categorical."""
        if reset:
            self.is_categorical_ = categorical_mask(self.categorical_features, X)
            self._category_encoder = None
        if self.is_categorical_ is not None:
            checked = self._with_categories(
                X, self.is_categorical_, reset=reset, dtype=dtype
            )
            y = _check_y(y, multi_output=True, y_numeric=False, estimator=self)
            check_consistent_length(checked, y)
            return checked, y, X
        with text_columns_named(self, X):
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
        return X, y, X

    def _check_partial_fit_settings(self):
        """partial_fit trains one epoch: there is no split to stop early on,
        and no horizon to anneal the learning rate over."""
        if early_stopping_demanded(self.early_stopping):
            raise ValueError(
                "partial_fit does not support early_stopping=True: it trains "
                "one epoch on the data it is given, with no validation split "
                "and no stopping rule. Set early_stopping=False for partial_fit."
            )
        if self.learning_rate_schedule in HORIZON_SCHEDULES:
            raise ValueError(
                "partial_fit does not support learning_rate_schedule="
                f"{self.learning_rate_schedule!r}: it anneals the learning rate "
                "over the max_iter epochs of a fit, and partial_fit trains one "
                "epoch a call, with no last epoch to anneal towards. Use fit, or "
                "'constant', 'invscaling' or 'adaptive' for partial_fit."
            )

    def _check_same_network(self, hidden_sizes, incremental):
        """A continued fit trains the fitted network: its shape cannot change.

        The other parameters are read by every call (`_continued_trainer`).
        """
        _check_same_shape(
            self._network,
            "partial_fit" if incremental else "a warm start",
            hidden_layer_sizes=tuple(hidden_sizes),
            activation=self.activation,
            loss=self._loss_name(),
            dtype=np.dtype(self.dtype or self._network.dtype).name,
        )

    def _training_targets(
        self,
        y,
        reset,
        n_hidden,
        dtype,
        *,
        classes,
        incremental,
        sample_weight=None,
        target_moments=None,
    ):
        """``y`` checked and encoded; on a fresh fit, the output attributes set
        (see `_init_targets` for ``sample_weight`` and ``target_moments``)."""
        y = self._validate_targets(y)
        if reset:
            self._init_targets(
                y,
                classes=classes,
                incremental=incremental,
                sample_weight=sample_weight,
                target_moments=target_moments,
            )
            self.n_layers_ = n_hidden + 2
            self.out_activation_ = OUT_ACTIVATIONS[self._loss_name()]
        elif not incremental:
            self._check_warm_start_targets(y)
        # On a fresh fit `_init_targets` has taken ``classes`` already.
        return self._encode_targets(y, classes=None if reset else classes, dtype=dtype)

    def _new_trainer(self, input_and_hidden_sizes, dtype):
        """A new network, drawn from ``random_state``, with a new optimizer."""
        random_state = check_random_state(self.random_state)
        network = Network(
            [*input_and_hidden_sizes, self.n_outputs_],
            hidden_activation=self.activation,
            loss=self._loss_name(),
            dropout=self.dropout,
            label_smoothing=self._label_smoothing(),
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
        edges = self.__dict__.get("bin_edges_")
        if edges is not None:
            # Drawn as for the features themselves, then spread over the bins
            # (after the generator: the draws above match an unencoded fit's).
            first = network.layers[0]
            feature_weights = initial_weights(
                len(edges),
                first.weights.shape[1],
                self.weight_init,
                random_state,
                dtype,
            )
            start_as_features(first.weights, first.biases, edges, feature_weights)
        return Trainer(network, self._make_optimizer(), training_rng)

    def _continued_trainer(self, incremental):
        """Copies of the fitted network and generator, with this call's
        penalties, dropout and label smoothing; a new optimizer, or for
        ``partial_fit`` a copy of the fitted one (its moments and ``t``) with
        this call's settings."""
        network = self._network.copy()
        network.set_penalties(
            l1=self.l1, l2=self.l2, bias_l1=self.bias_l1, bias_l2=self.bias_l2
        )
        network.set_dropout(self.dropout)
        network.set_label_smoothing(self._label_smoothing())
        # A new kind of optimizer (or one after an 'lbfgs' fit, which leaves
        # none) starts anew.
        continued = type(self._optimizer) is OPTIMIZERS.get(self.optimizer)
        if not (incremental and continued):
            optimizer = self._make_optimizer()
        else:
            optimizer = copy.deepcopy(self._optimizer)
            optimizer.set_hyperparameters(**self._optimizer_settings())
            optimizer.end_epoch(self.t_)  # 'invscaling': the rate at the clock
        return Trainer(network, optimizer, copy.deepcopy(self._training_rng))

    def _optimizer_settings(self):
        """The parameters the optimizer named by ``optimizer`` takes."""
        names = OPTIMIZER_PARAMETERS[self.optimizer]
        return {name: getattr(self, name) for name in names}

    def _make_optimizer(self):
        """The optimizer named by ``optimizer``, with the parameters it takes.

        None for ``'lbfgs'``, which minimises with scipy (`sknnfs._lbfgs`).
        """
        if self.optimizer == "lbfgs":
            return None
        return OPTIMIZERS[self.optimizer](**self._optimizer_settings())

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(AUTO_BATCH_SIZE, n_samples)
        return min(self.batch_size, n_samples)

    def _train(self, trainer, history, data, *, max_epochs, stopping, callback_data):
        """Run up to ``max_epochs`` epochs over ``data`` (`sknnfs._loop`).

        ``data`` is ``(X, y_encoded, sample_weight)``; ``callback_data`` is
        ``(X, y, sample_weight)`` as the user passed them, for scikit-learn's
        callbacks. Without ``stopping`` (partial_fit) there is no validation
        split, no stopping rule and no convergence warning. Ctrl-C after an
        epoch of the call keeps the estimator as after the last one (with
        early stopping, with the best weights so far).
        """
        if self.optimizer == "lbfgs":  # full batch, with scipy: not epochs
            return fit_lbfgs(self, trainer, history, data, callback_data)
        with trainer.blas_turn():  # the same bits whatever other threads run
            validation = None
            if stopping and self._holds_out_validation(data[0], data[2]):
                X, y, sample_weight = data
                data, held_out = split_validation(
                    X,
                    y,
                    sample_weight,
                    self.validation_fraction,
                    self._stratify_labels(y),
                    trainer.rng,
                )
                validation = Validation(*held_out, score=self._validation_score)
            n_samples = data[0].shape[0]
            epochs = InMemoryEpochs(*data, self._batch_size(n_samples), self.shuffle)
            self._run_loop(
                trainer,
                epochs,
                history,
                validation,
                max_epochs=max_epochs,
                stopping=stopping,
                callback_data=callback_data,
            )

    def _holds_out_validation(self, X, sample_weight):
        """Whether this stochastic ``fit`` holds out a validation split:
        ``early_stopping``, with ``'auto'`` resolved for ``X``'s rows and
        their training weights (`resolve_early_stopping`)."""
        n_samples = X.shape[0]
        if sample_weight is None:
            n_candidates = n_samples
        else:
            n_candidates = int(np.count_nonzero(sample_weight > 0))
        return resolve_early_stopping(
            self.early_stopping, n_samples, n_candidates, self.validation_fraction
        )

    def _run_loop(
        self,
        trainer,
        epochs,
        history,
        validation,
        *,
        max_epochs,
        stopping,
        callback_data,
        unit="epoch",
    ):
        """Publish the trainer's network, then run `EpochLoop` with this
        estimator's settings over ``epochs`` (in memory, or a cluster's
        rounds), writing the record to the fitted attributes."""
        # Published now so that hooks and callbacks see the network.
        self._network, self._optimizer = trainer.network, trainer.optimizer
        self._training_rng = trainer.rng
        loop = EpochLoop(
            trainer,
            epochs,
            history,
            validation=validation,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            stopping=stopping,
            callbacks=EpochCallbacks(self, max_epochs, *callback_data),
            publish=lambda record, early_stopping: record.store(self, early_stopping),
            epoch_end=self._on_epoch_end,
            verbose=self.verbose,
            learning_rate=self.learning_rate,
            unit=unit,
        )
        loop.run(max_epochs)

    def _on_epoch_end(self, history):
        """Called after every completed epoch; does nothing.

        A seam for tests, which patch it to record or interrupt training at
        epoch boundaries. scikit-learn's callbacks do not need it:
        `EpochCallbacks` wraps each epoch as a subtask.
        """

    # ------------------------------------------------------------ prediction
    def _predict_outputs(self, X, output_function=None):
        """Checked input through the network: probabilities or predictions.

        Where `checks_rows_in_first_layer`, NaN and infinity are looked for
        chunk by chunk in the first layer's outputs, and the rows get
        scikit-learn's check and error only if those are not finite.
        """
        if self._is_ready_for_the_network(X):
            return predict_outputs(
                self._network, self._network_inputs(X), output_function
            )
        check_is_fitted(self)
        # Encoded features are other arrays than X: check X itself, up front.
        encoded = (
            self.__dict__.get("bin_edges_") is not None
            or self.__dict__.get("is_categorical_") is not None
        )
        in_first_layer = not encoded and checks_rows_in_first_layer(self._network, X)
        X = self._validate_X(X, reset=False, ensure_all_finite=not in_first_layer)
        check_finite_rows = self._check_finite_rows if in_first_layer else None
        return predict_outputs(self._network, X, output_function, check_finite_rows)

    def _check_finite_rows(self, X):
        """scikit-learn's error for NaN or infinity in ``X``, as `check_array`'s."""
        assert_all_finite(X, estimator_name=type(self).__name__, input_name="X")

    def _is_ready_for_the_network(self, X):
        """Whether ``X`` is a small input that validation would hand on unchanged.

        A C-contiguous 2-d ndarray of the network's dtype, of at most
        ``FAST_PATH_MAX_VALUES`` finite values in the fitted number of
        columns, for an estimator fitted without feature names: validation
        could neither convert nor reject it, and would cost more than the
        forward pass of a few rows. Anything else is validated as usual.
        """
        network = self.__dict__.get("_network")
        return (
            network is not None
            and type(X) is np.ndarray
            and X.ndim == 2
            and 0 < X.size <= FAST_PATH_MAX_VALUES
            and X.dtype == network.dtype
            and X.flags.c_contiguous
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and self.__dict__.get("is_categorical_") is None
            and np.isfinite(X).all()
        )

    # ------------------------------------------------------------ attributes
    @property
    def coefs_(self):
        """list of ndarray: weight matrices, ``coefs_[i]`` of shape (n_in, n_out).

        Views of the network's weights: ``coefs_[i] = W`` and ``coefs_ = [...]``
        copy new weights into the network.
        """
        return _LayerArrays(self._network, "coefs_")

    @coefs_.setter
    def coefs_(self, arrays):
        check_is_fitted(self)
        self.coefs_[:] = arrays

    @property
    def intercepts_(self):
        """list of ndarray: bias vectors, ``intercepts_[i]`` of shape (n_out,).

        Views of the network's biases, assignable as ``coefs_`` is.
        """
        return _LayerArrays(self._network, "intercepts_")

    @intercepts_.setter
    def intercepts_(self, arrays):
        check_is_fitted(self)
        self.intercepts_[:] = arrays

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # numeric_bins and the categories' one-hot columns are dense
        # (`_network_inputs`, `_with_categories`).
        tags.input_tags.sparse = not needs_dense_x(self.numeric_bins) and (
            self.categorical_features is None
            or isinstance(self.categorical_features, str)
        )
        return tags

    # ----------------------------------------------------------- persistence
    def __getstate__(self):
        """The state to pickle: the fitted objects as arrays and builtins.

        `sknnfs._persistence` says how, and reads the older formats.
        """
        # BaseEstimator's state may be the live __dict__: never write to it.
        state = state_to_pickle(super().__getstate__())  # a new dict
        state.pop("_encoding_columns", None)  # derived: rebuilt on loading
        return state

    def __setstate__(self, state):
        """Load a pickled state of any format, once it is checked.

        Raises
        ------
        ValueError
            For a state whose network's arrays do not match its layers
            (`sknnfs._persistence`), or whose fitted attributes do not
            describe its network: a damaged or edited file.
        """
        estimator_name = type(self).__name__
        state = state_from_pickle(state, estimator_name)
        # Pickled before numeric_bins or categorical_features: their networks
        # take the features as they are.
        state.setdefault("numeric_bins", None)
        state.setdefault("categorical_features", None)
        if state.get("_network") is not None:
            state.setdefault("bin_edges_", None)
            state.setdefault("is_categorical_", None)
            state.setdefault("_category_encoder", None)
            problem = _fitted_attributes_problem(self, state)
            if problem is not None:
                raise loading_error(estimator_name, problem)
        super().__setstate__(state)
        if "bin_edges_" in state:
            self._set_bin_edges(state["bin_edges_"])


class _LayerArrays(list):
    """``coefs_`` or ``intercepts_``: one view of the network's parameters per
    layer, where assigning an item copies the new values into the network.

    Parameters
    ----------
    network : Network
    name : {'coefs_', 'intercepts_'}
    """

    def __init__(self, network, name):
        self._network, self._name = network, name
        super().__init__(self._views())

    def _views(self):
        if self._name == "coefs_":
            return self._network.weight_matrices
        return [layer.biases[0] for layer in self._network.layers]

    def __setitem__(self, index, values):
        positions = range(len(self))[index]
        if isinstance(index, slice):
            values = list(values)
            if len(values) != len(positions):
                raise ValueError(
                    f"{self._name} holds one array per layer: {len(positions)} "
                    f"arrays are needed here, got {len(values)}"
                )
        else:
            positions, values = [positions], [values]
        # Every array is checked before any is written.
        checked = [
            checked_parameters(value, self[position], f"{self._name}[{position}]")
            for position, value in zip(positions, values, strict=True)
        ]
        self._network.ensure_writeable()  # a memory-mapped pickle is read-only
        views = self._views()
        for position, value in zip(positions, checked, strict=True):
            views[position][...] = value
        super().__setitem__(slice(None), views)

    def _refuse_reshaping(self, *args, **kwargs):
        raise TypeError(
            f"{self._name} holds one array per layer of the network, in order: "
            "it cannot be resized or reordered. Assign arrays of the same "
            "shapes to its items instead."
        )

    append = extend = insert = pop = remove = clear = _refuse_reshaping
    sort = reverse = __delitem__ = __iadd__ = __imul__ = _refuse_reshaping

    def __reduce__(self):
        # Copies and pickles are plain lists of arrays, unbound from the network.
        return list, (list(self),)


def _fitted_attributes_problem(estimator, state):
    """What in a loaded ``state`` contradicts its network, or None.

    The network is what predicts; the attributes that describe it must
    agree with it.
    """
    network = state["_network"]
    sizes = network.layer_sizes
    # X's columns as the network's features: with categorical features, the
    # numeric ones and then the one-hot columns (`BaseNNFS._with_categories`).
    n_features = state.get("n_features_in_")
    extra_columns = 0
    mask = state.get("is_categorical_")
    if mask is not None:
        encoder = state.get("_category_encoder")
        problem = categories_problem(mask, encoder, n_features)
        if problem is not None:
            return problem
        extra_columns = one_hot_width(encoder) - int(mask.sum())
    edges = state.get("bin_edges_")
    if edges is not None:
        problem = edges_problem(edges, n_features + extra_columns, sizes[0])
        if problem is not None:
            return problem
    described = {
        "n_features_in_": (sizes[0] if edges is None else len(edges)) - extra_columns,
        "n_outputs_": sizes[-1],
        "n_layers_": len(sizes),
        "out_activation_": OUT_ACTIVATIONS.get(network.loss_name),
    }
    for name, value in described.items():
        if not np.array_equal(state.get(name), value):
            return f"{name} is {state.get(name)!r}, where its network's is {value!r}"
    feature_names = state.get("feature_names_in_")
    if feature_names is not None and len(feature_names) != state["n_features_in_"]:
        return (
            f"feature_names_in_ has {len(feature_names)} names, where it "
            f"takes {state['n_features_in_']} features"
        )
    split = state.get("validation_scores_") is not None
    if state.get("do_early_stopping_", split) != split:
        return (
            f"do_early_stopping_ is {state['do_early_stopping_']!r}, where it "
            f"has {'' if split else 'no '}validation_scores_"
        )
    if isinstance(estimator, ClassifierMixin):  # its tags read unset parameters
        return _classes_problem(state, network)
    if network.loss_name in ("softmax_crossentropy", "sigmoid_crossentropy"):
        return f"its network's loss is {network.loss_name!r}, a classifier's"
    if state.get("_y_is_1d") and sizes[-1] != 1:
        return f"it predicts a 1-d y, where its network has {sizes[-1]} outputs"
    return scaling_problem(
        state.get("target_mean_"), state.get("target_scale_"), sizes[-1], network.dtype
    )


def _classes_problem(state, network):
    """What in a loaded classifier's ``classes_`` contradicts its network, or None.

    As `NNFSClassifier` builds it: one sigmoid unit for two classes, a
    softmax unit per class for more, a sigmoid unit per label of a
    multilabel ``y`` (whose ``classes_`` are the label indices).
    """
    classes = np.asarray(state.get("classes_"))
    multilabel = bool(state.get("_multilabel"))
    n_outputs = network.n_outputs
    one_logistic_unit = not multilabel and n_outputs == 1
    n_classes = 2 if one_logistic_unit else n_outputs
    sigmoid = multilabel or one_logistic_unit
    loss = "sigmoid_crossentropy" if sigmoid else "softmax_crossentropy"
    if network.loss_name != loss:
        return (
            f"its network's loss is {network.loss_name!r}, where a classifier of "
            f"{n_outputs} outputs for {'labels' if multilabel else 'classes'} "
            f"has {loss!r}"
        )
    if classes.shape != (n_classes,):
        return (
            f"classes_ has shape {classes.shape}, where its network's "
            f"{n_outputs} outputs give the probabilities of {n_classes} "
            f"{'labels' if multilabel else 'classes'}"
        )
    try:
        expected = np.arange(n_classes) if multilabel else np.unique(classes)
    except TypeError:  # labels of types that do not compare
        expected = None
    if not np.array_equal(classes, expected):
        return (
            f"classes_ are {classes!r}, not "
            + ("the label indices" if multilabel else "distinct and sorted")
            + ", as predict and partial_fit read them"
        )
    return None


def _positive_total(weights, name):
    """The sum of non-negative ``weights``; a clear error when it is zero."""
    total = weights.sum()
    if not total > 0:
        raise ValueError(
            f"{name} sums to zero: at least one sample needs a positive weight"
        )
    return total


def _validate_parameters(estimator):
    """``estimator._validate_params()`` without its `get_params`, half the cost.

    Every ``partial_fit`` reads the parameters; scikit-learn checks them on
    the first call only.
    """
    constraints = estimator._parameter_constraints
    validate_parameter_constraints(
        constraints,
        {name: getattr(estimator, name) for name in constraints},
        caller_name=type(estimator).__name__,
    )


def _check_same_shape(network, continuation, **asked):
    """A ValueError naming each parameter whose value ``asked`` does not
    describe ``network``, which ``continuation`` would train."""
    fitted = {
        "hidden_layer_sizes": network.hidden_sizes,
        "activation": network.hidden_activation_name,
        "loss": network.loss_name,
        "dtype": network.dtype.name,
    }
    changes = [
        f"{name} changed from {fitted[name]!r} to {asked[name]!r}"
        for name in fitted
        if fitted[name] != asked[name]
    ]
    if changes:
        raise ValueError(
            f"{' and '.join(changes)} since the last fit; {continuation} continues "
            "the same network: fit with warm_start=False to train a new one"
        )


def relative_sample_weight(sample_weight, X):
    """``sample_weight`` checked for ``X``, in float64 and divided by its
    maximum; None for None.

    Equal weights are then no weights at any scale (1e306 would overflow
    their sum, 1e-320 has lost its digits).

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    relative : ndarray of shape (n_samples,) or None
    """
    if sample_weight is None:
        return None
    return _divided_by_max(
        _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        ),
        "sample_weight",
    )


def _divided_by_max(weights, name):
    """Non-negative ``weights`` over their maximum; a clear error if all are zero."""
    largest = weights.max()
    if not largest > 0:
        raise ValueError(
            f"{name} sums to zero: at least one sample needs a positive weight"
        )
    return weights / largest


def fit_context(fit_method):
    """Decorate ``fit`` or ``partial_fit``: scikit-learn's ``_fit_context``
    inside a guard that undoes the whole call if it raises.

    ``_fit_context`` validates the parameters, and runs the callbacks'
    teardown after the fit method has returned. A call that raises anywhere
    in that, a callback's teardown after a completed fit included, or that a
    Ctrl-C interrupts there, leaves the estimator's attributes exactly as
    before the call. (A Ctrl-C during training is the fit method's own:
    after a completed epoch it keeps that epoch and returns normally.)
    """
    in_context = _fit_context(prefer_skip_nested_validation=True)(fit_method)

    @functools.wraps(fit_method)
    def guarded(estimator, *args, **kwargs):
        previous = _Snapshot(estimator)
        try:
            return in_context(estimator, *args, **kwargs)
        except BaseException:
            previous.restore(estimator)
            raise

    return guarded


class _Snapshot:
    """An estimator's attributes, to put back with `restore`.

    That is enough to undo a fit or an epoch: what training changes in place
    (the network, optimizer and generator of the call) are the call's own
    objects, never the ones the estimator had before.
    """

    def __init__(self, estimator):
        self.attributes = estimator.__dict__.copy()

    def restore(self, estimator):
        # One assignment: an interrupt finds the attributes all old or all new.
        estimator.__dict__ = self.attributes.copy()
