"""NNFSRegressor: the book's regression network as a scikit-learn estimator."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import assert_all_finite
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from ._base import BaseNNFS, fit_context
from ._docstrings import EARLY_STOPPING_CHOICES, FITTED_ATTRIBUTES, fill_docstring
from ._lbfgs import partial_fit_is_available
from ._prediction import predict_outputs
from ._target_scaling import (
    TargetMoments,
    identity_scaling,
    scale_targets,
    scaling_from_moments,
    scaling_problem,
    unscale_outputs,
)

__all__ = ["NNFSRegressor"]


class NNFSRegressor(RegressorMixin, BaseNNFS):
    """Multilayer perceptron regressor built from the book's NumPy blocks.

    Dense + activation hidden layers and a linear output layer, trained by
    minibatch gradient descent on the mean squared (or absolute) error plus
    the L1/L2 penalties; or, with ``loss='poisson'``, an exponential output
    trained on half the Poisson deviance, for non-negative targets such as
    counts. ``score`` is R², as for every scikit-learn regressor.

    Parameters
    ----------
    {parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    sklearn.neural_network.MLPRegressor : scikit-learn's own perceptron.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnfs import NNFSRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> y = 3 * X[:, 0] + 1
    >>> reg = NNFSRegressor(hidden_layer_sizes=(), learning_rate=0.05,
    ...                     batch_size=20, max_iter=500, random_state=0).fit(X, y)
    >>> reg.predict([[0.5]]).round(2)
    array([2.5])
    >>> reg.score(X, y) > 0.999
    True
    """

    _parameter_constraints: dict = {
        **BaseNNFS._parameter_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "poisson"})],
        "target_scaling": [StrOptions({"standard"}), None],
    }

    def __init__(
        self,
        loss="squared_error",
        target_scaling="standard",
        hidden_layer_sizes=(100,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.001,
        decay=0.0,
        learning_rate_schedule="constant",
        power_t=0.5,
        momentum=0.9,
        nesterov=False,
        rho=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        weight_init="glorot",
        bias_init="glorot",
        l1=0.0,
        l2=2.5e-7,
        bias_l1=0.0,
        bias_l2=0.0,
        weight_decay=0.0,
        dropout=0.0,
        batch_size="auto",
        max_iter=1000,
        max_fun=15000,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=24,
        early_stopping="auto",
        validation_fraction=0.1,
        dtype=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        numeric_bins=None,
        categorical_features="from_dtype",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            optimizer=optimizer,
            learning_rate=learning_rate,
            decay=decay,
            learning_rate_schedule=learning_rate_schedule,
            power_t=power_t,
            momentum=momentum,
            nesterov=nesterov,
            rho=rho,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            weight_init=weight_init,
            bias_init=bias_init,
            l1=l1,
            l2=l2,
            bias_l1=bias_l1,
            bias_l2=bias_l2,
            weight_decay=weight_decay,
            dropout=dropout,
            batch_size=batch_size,
            max_iter=max_iter,
            max_fun=max_fun,
            shuffle=shuffle,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            dtype=dtype,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            numeric_bins=numeric_bins,
            categorical_features=categorical_features,
        )
        self.loss = loss
        self.target_scaling = target_scaling

    @fit_context
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``(X, y)`` for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Numeric targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each sample's loss (the loss is the weighted mean).

        Returns
        -------
        self : NNFSRegressor
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(partial_fit_is_available)
    @fit_context
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over ``(X, y)``, continuing from the current weights.

        The arguments are those of `~sklearn.neural_network.MLPRegressor`'s
        and `~sklearn.linear_model.SGDRegressor`'s ``partial_fit``, in their
        order: a third positional argument is ``sample_weight``, as in
        ``fit``. (`NNFSClassifier.partial_fit` takes ``classes`` and
        ``sample_weight`` as keywords only, because MLP and SGD order them
        differently.)

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each sample's loss (the loss is the weighted mean).

        Returns
        -------
        self : NNFSRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_targets(self, y, loss=None):
        """``y`` checked for ``loss``: the ``loss`` parameter when fitting, the
        fitted network's loss when scoring (the parameter may have changed)."""
        y = _numeric_target(y)
        if y.ndim not in (1, 2):
            raise ValueError(
                f"y must have shape (n_samples,) or (n_samples, n_outputs); "
                f"got an array of shape {y.shape}"
            )
        if (loss or self.loss) == "poisson" and y.size and y.min() < 0:
            raise ValueError(
                "loss='poisson' needs non-negative targets y (counts, rates); "
                f"got a minimum of {float(y.min()):g}"
            )
        return y

    def _init_targets(self, y, *, classes, incremental, sample_weight, target_moments):
        self._y_is_1d = y.ndim == 1
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self.target_mean_, self.target_scale_ = self._learnt_scaling(
            y, sample_weight, target_moments
        )

    def _learnt_scaling(self, y, sample_weight, target_moments):
        """``(target_mean_, target_scale_)`` as ``target_scaling`` asks
        (`sknnfs._target_scaling`): from ``target_moments`` if given, else
        from ``y`` weighted by ``sample_weight``."""
        if self.target_scaling is None:
            return identity_scaling(self.n_outputs_)
        if target_moments is None:
            target_moments = TargetMoments.of(_as_columns(y), sample_weight)
        return scaling_from_moments(target_moments, center=self.loss != "poisson")

    def _encode_targets(self, y, *, classes, dtype):
        targets = _as_columns(y)
        if targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} outputs but the regressor was fitted "
                f"with {self.n_outputs_}"
            )
        problem = scaling_problem(
            self.target_mean_, self.target_scale_, self.n_outputs_, dtype
        )
        if problem is not None:  # targets beyond the range of a float32 network
            raise ValueError(
                f"y cannot be predicted in {np.dtype(dtype).name}: {problem}. "
                "Fit with dtype='float64'."
            )
        # The network learns the scaled targets: the identity, without
        # scaling, leaves them as they are.
        targets = scale_targets(targets, self.target_mean_, self.target_scale_)
        self._check_target_scale(targets, dtype)
        return targets.astype(dtype, copy=False)

    def _check_target_scale(self, targets, dtype):
        """The loss of predicting 0 for every scaled target must be finite in
        ``dtype``.

        Beyond that scale the loss overflows from the first step, which would
        otherwise be reported as divergence, blaming the learning rate.
        Standardised targets are always within it.
        """
        largest = np.abs(targets, dtype=np.float64).max()
        power, what = (
            (2, "squares overflow")
            if self.loss == "squared_error"
            else (1, "sum overflows")
        )
        if largest > (np.finfo(dtype).max / targets.size) ** (1 / power):
            raise ValueError(
                f"y has values up to {largest:.3g} in absolute value: their "
                f"{what} {np.dtype(dtype)} in the {self.loss} loss. "
                "Scale y: target_scaling='standard' (the default) does it."
            )

    def _loss_name(self):
        return self.loss

    def _validation_score(self, outputs, y_encoded, sample_weight):
        # R² of the predictions (the means under loss='poisson'), for the
        # scaled targets: each output's R² is that of the targets in their
        # own units, since the same affine map takes both there.
        predictions = self._network.loss.output_activation(outputs)
        return r2_score(y_encoded, predictions, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when ``y`` was 1-D at fit time.
        """
        return self._in_units_of_y(self._predict_outputs(X))

    def _in_units_of_y(self, outputs):
        """The network's ``outputs`` as predictions of ``y``: unscaled
        (`unscale_outputs`), and 1-D when ``y`` was 1-D at fit time."""
        predictions = unscale_outputs(outputs, self.target_mean_, self.target_scale_)
        return predictions[:, 0] if self._y_is_1d else predictions

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of the predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, not all zero.

        Returns
        -------
        score : float
            ``sklearn.metrics.r2_score(y, self.predict(X), sample_weight=...)``.
        """
        X, y, sample_weight = self._check_score_inputs(X, y, sample_weight)
        y = self._validate_targets(y, loss=self._network.loss_name)
        predictions = self._in_units_of_y(predict_outputs(self._network, X))
        with np.errstate(over="ignore", invalid="ignore"):
            score = r2_score(y, predictions, sample_weight=sample_weight)
        if not np.isfinite(score):
            # Finite predictions whose squared errors overflow float64.
            largest = float(np.max(np.abs(predictions)))
            raise ValueError(
                f"R² is not finite: the squared errors of predictions up to "
                f"{largest:.3g} in absolute value overflow float64. Scale the "
                "features (e.g. with StandardScaler)."
            )
        return score

    def __setstate__(self, state):
        """Load a pickled state, as `BaseNNFS.__setstate__` does.

        A regressor pickled before ``target_scaling`` existed learnt the raw
        targets: it loads with ``target_scaling=None`` and the identity
        scaling, and predicts as it did.
        """
        if "target_scaling" not in state:
            state = {**state, "target_scaling": None}
            if isinstance(state.get("n_outputs_"), Integral):
                mean, scale = identity_scaling(state["n_outputs_"])
                state["target_mean_"], state["target_scale_"] = mean, scale
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


# The target scaling's attributes follow those of the output layer.
_SCALING_POSITION = FITTED_ATTRIBUTES.index("out_activation_") + 1

fill_docstring(
    NNFSRegressor,
    attributes=[
        *FITTED_ATTRIBUTES[:_SCALING_POSITION],
        "target_mean_",
        "target_scale_",
        *FITTED_ATTRIBUTES[_SCALING_POSITION:],
    ],
    overrides={
        "weight_init": (
            "{'he', 'glorot', 'nnfs'}",
            "Initial weights: He normal, Glorot uniform, or the book's "
            "``0.01 * N(0, 1)``. Glorot by default, as `MLPRegressor`: He's "
            "larger initial weights fitted the regressor worse (user guide, "
            "'Regression and multilabel').",
        ),
        "l2": (
            "float",
            "Penalty ``l2 * sum(W**2)`` on every weight matrix, added to each "
            "batch's loss as in the book. The default is as negligible as "
            "`MLPRegressor`'s default ``alpha``.",
        ),
        "early_stopping": (
            "'auto' or bool",
            "Hold out ``validation_fraction`` of the data, stop when its R² "
            "stops improving, and keep the best epoch's weights. "
            + EARLY_STOPPING_CHOICES,
        ),
        "loss_": (
            "float",
            "Training loss of the last epoch (mean data loss plus penalty), "
            "for the targets the network learns: the scaled ones with "
            "``target_scaling='standard'``, as in ``loss_curve_`` and "
            "``best_loss_``.",
        ),
        "out_activation_": (
            "{'identity', 'exp'}",
            "The output layer is linear; with ``loss='poisson'`` its output "
            "is the log of the prediction (``'exp'``).",
        ),
    },
)


def _as_columns(y):
    """``y`` of shape (n_samples, n_outputs): a 1-D ``y`` as one column."""
    return y.reshape(-1, 1) if y.ndim == 1 else y


def _numeric_target(y):
    """``y`` as a numeric ndarray; a clear error for what is no number."""
    if sp.issparse(y):
        raise ValueError(
            f"NNFSRegressor needs a dense target y; got a sparse matrix of "
            f"shape {y.shape}. Pass y.toarray()."
        )
    y = np.asarray(y)
    if y.dtype.kind in "mM":
        raise ValueError(
            f"NNFSRegressor needs a numeric target y; got dates or durations "
            f"(dtype {y.dtype}), and it does not guess their unit or origin. "
            "Convert y to numbers in the unit you mean, e.g. "
            "(y - origin) / np.timedelta64(1, 'D') for days."
        )
    if y.dtype == object and any(value is None for value in y.flat):
        raise ValueError(
            "y contains None: NNFSRegressor needs a target for every sample. "
            "Drop those samples, or fill in their targets."
        )
    if y.dtype.kind in "biuf":
        return y
    try:
        y = y.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"NNFSRegressor needs a numeric target y; got values of dtype "
            f"{y.dtype} that cannot be converted to float ({error})"
        ) from None
    assert_all_finite(y, input_name="y")
    return y
