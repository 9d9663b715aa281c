"""What to write instead of an `MLPClassifier`/`MLPRegressor` parameter.

A data scientist coming from scikit-learn's perceptron writes its parameter
names first. Python's own error for ``NNFSClassifier(solver='adam')`` says
only that ``solver`` is unexpected; `MLP_PARAMETERS` says which sknnfs
parameter does the same job (and at which scale), or that there is none
and why. `MLPNameAdviceMixin` raises that advice from the constructor and
from ``set_params``. Every default the advice quotes is read from the
signatures of both estimators, and every ``l2`` it quotes for an ``alpha``
comes from `l2_for_alpha`, so that none goes stale.

The error is scikit-learn's `InvalidParameterError`, which is both a
`TypeError` (what Python raises for an unexpected keyword argument) and a
`ValueError` (what ``BaseEstimator.set_params`` raises for an unknown
parameter), so that code catching either keeps working.
"""

import functools
import inspect
from typing import NamedTuple

from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import InvalidParameterError

__all__ = [
    "AUTO_BATCH_SIZE",
    "MLP_PARAMETERS",
    "MLPNameAdviceMixin",
    "alpha_for_l2",
    "check_mlp_names",
    "keywords_after_X_y",
    "l2_for_alpha",
]

# batch_size='auto' is min(AUTO_BATCH_SIZE, n_samples), in MLP and in sknnfs.
AUTO_BATCH_SIZE = 200

# Our data loss over MLP's, at the same weights, per loss (README, "alpha and
# l2 are scaled differently"; tests/test_mlp_mapping.py checks each against
# MLP's objective). MLPRegressor halves its squared error; a multilabel
# classifier's binary cross-entropy is MLP's summed over labels, ours their
# mean (see `l2_for_alpha`).
DATA_LOSS_RATIO = {"log_loss": 1, "squared_error": 2, "poisson": 1}


def l2_for_alpha(alpha, batch_size, loss="log_loss", n_labels=1):
    """Our ``l2`` for MLP's ``alpha``: the same objective up to a constant factor.

    MLP adds ``alpha / (2 * n) * sum(W**2)`` to the mean data loss of a batch
    of ``n`` samples; sknnfs adds ``l2 * sum(W**2)``, as the book does. With
    our data loss ``r`` times MLP's (`DATA_LOSS_RATIO`, divided by
    ``n_labels`` for a multilabel classifier), ``l2 = r * alpha / (2 * n)``
    makes our objective ``r`` times MLP's, which Adam's steps do not see.

    Parameters
    ----------
    alpha : float
        MLP's ``alpha``.
    batch_size : int
        Samples per batch (the whole training set for ``'lbfgs'``).
    loss : {'log_loss', 'squared_error', 'poisson'}, default='log_loss'
        The data loss: a classifier's, or a regressor's ``loss``.
    n_labels : int, default=1
        Labels of a multilabel classifier; 1 otherwise.

    Returns
    -------
    l2 : float
    """
    return alpha * DATA_LOSS_RATIO[loss] / (2 * batch_size * n_labels)


def alpha_for_l2(l2, batch_size, loss="log_loss", n_labels=1):
    """MLP's ``alpha`` for our ``l2``: the inverse of `l2_for_alpha`.

    Parameters
    ----------
    l2 : float
        Our ``l2``.
    batch_size, loss, n_labels
        As in `l2_for_alpha`.

    Returns
    -------
    alpha : float
    """
    return l2 * 2 * batch_size * n_labels / DATA_LOSS_RATIO[loss]


class Advice(NamedTuple):
    """The sknnfs parameter to use instead, and how.

    ``instead`` is None for an MLP parameter with no equivalent yet; the
    explanation then says why.
    """

    instead: str | None
    explanation: str


# The MLP parameters (and values of MLP's ``learning_rate``, whose sknnfs
# namesake is a float) that sknnfs spells differently or lacks, keyed as a
# user writes them. The one table to update when sknnfs gains one of them.
# In the explanations, {mlp} is MLPClassifier or MLPRegressor, {estimator}
# ours, {optimizers} the values our ``optimizer`` accepts, {ours[name]} and
# {theirs[name]} the defaults of our and MLP's parameter ``name``, and
# {default_alpha_as_l2} MLP's default alpha in l2 at MLP's default batches.
MLP_PARAMETERS = {
    "solver": Advice(
        "optimizer",
        "one of {optimizers} (default {ours[optimizer]}; {mlp}'s solver "
        "defaults to {theirs[solver]}).",
    ),
    "alpha": Advice(
        "l2",
        "scaled by the batch size b: l2 = alpha / (2 * b) for a single-label "
        "classifier, alpha / (2 * b * k) for a multilabel one with k labels, "
        "alpha / b for a squared-error regressor (MLPRegressor halves its "
        "squared error), alpha / (2 * b) for a Poisson one. {mlp} adds "
        "alpha / (2 * n) * sum(W**2) to the mean loss of each batch of n "
        "samples; sknnfs adds l2 * sum(W**2), as the book does. {mlp}'s "
        "default alpha={theirs[alpha]} with {auto_batch_size}-row batches "
        "(batch_size={theirs[batch_size]} on {auto_batch_size} samples or "
        "more) is {default_alpha_as_l2}; {estimator}'s default is "
        "l2={ours[l2]}.",
    ),
    "learning_rate_init": Advice(
        "learning_rate",
        "the initial step size, a float (default {ours[learning_rate]}; "
        "{mlp}'s learning_rate_init defaults to {theirs[learning_rate_init]}).",
    ),
    "nesterovs_momentum": Advice(
        "nesterov",
        "for optimizer='sgd' with momentum (default {ours[nesterov]}; {mlp}'s "
        "nesterovs_momentum defaults to {theirs[nesterovs_momentum]}).",
    ),
    **{
        f"learning_rate={schedule!r}": Advice(
            "learning_rate_schedule",
            "learning_rate is the initial step size, a float ({mlp}'s "
            "learning_rate_init).",
        )
        for schedule in ("constant", "invscaling", "adaptive")
    },
}

# The losses whose l2 for MLP's default alpha the advice quotes, and what it
# calls them, for a classifier (False) and a regressor (True).
DEFAULT_ALPHA_CASES = {
    False: (("log_loss", "a single-label classifier"),),
    True: (
        ("squared_error", "a squared-error regressor"),
        ("poisson", "a Poisson one"),
    ),
}


def check_mlp_names(estimator_class, params):
    """Raise `InvalidParameterError` with advice for an MLP name in ``params``.

    Parameters
    ----------
    estimator_class : type
        The sknnfs estimator the parameters are for.
    params : dict
        Parameter names and values, as passed to the constructor or to
        ``set_params``; names the estimator has are left alone.
    """
    for name, value in params.items():
        key = name
        # Any str, np.str_ included (a grid written as a NumPy array): its
        # characters, since the repr of a subclass may differ (np.str_('x')).
        if (
            isinstance(value, str)
            and f"{name}={str.__str__(value)!r}" in MLP_PARAMETERS
        ):
            key = f"{name}={str.__str__(value)!r}"
        elif name not in MLP_PARAMETERS:
            continue
        if key == name and name in estimator_class._get_param_names():
            continue
        raise InvalidParameterError(_message(estimator_class, key))


def _message(estimator_class, key):
    """The error message for `MLP_PARAMETERS`'s entry ``key``."""
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    estimator = estimator_class.__name__
    is_regressor = issubclass(estimator_class, RegressorMixin)
    mlp_class = MLPRegressor if is_regressor else MLPClassifier
    mlp = mlp_class.__name__
    name, _, value = key.partition("=")
    if value:
        problem = f"{estimator}'s {name} is a float, not {mlp}'s schedule {value}."
    else:
        problem = f"{estimator} has no parameter {name!r}; that is {mlp}'s name."
    advice = MLP_PARAMETERS[key]
    (optimizers,) = estimator_class._parameter_constraints["optimizer"]
    theirs = _defaults(mlp_class)
    explanation = advice.explanation.format(
        mlp=mlp,
        estimator=estimator,
        optimizers=", ".join(repr(name) for name in sorted(optimizers.options)),
        ours={
            name: _show(default) for name, default in _defaults(estimator_class).items()
        },
        theirs={name: _show(default) for name, default in theirs.items()},
        auto_batch_size=AUTO_BATCH_SIZE,
        default_alpha_as_l2=_default_alpha_as_l2(theirs["alpha"], is_regressor),
    )
    if advice.instead is None:
        return f"{problem} No equivalent yet: {explanation}"
    return f"{problem} Use {advice.instead}={value} instead: {explanation}"


def _defaults(cls):
    """The default of each constructor parameter of ``cls`` or of its bases.

    A subclass's own constructor may name fewer parameters than its base's;
    the base's defaults fill the gaps.
    """
    defaults = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            parameters = inspect.signature(klass.__init__).parameters.values()
            defaults.update(
                (parameter.name, parameter.default)
                for parameter in parameters
                if parameter.default is not parameter.empty
            )
    return defaults


def _show(value):
    """``value`` as a user writes it in a call: ``0.0015``, ``'adam'``."""
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _default_alpha_as_l2(alpha, is_regressor):
    """``'l2=2.5e-07 for a single-label classifier'`` and the like."""
    cases = [
        f"{_show(l2_for_alpha(alpha, AUTO_BATCH_SIZE, loss))} for {model}"
        for loss, model in DEFAULT_ALPHA_CASES[is_regressor]
    ]
    return "l2=" + " and ".join(cases)


class MLPNameAdviceMixin:
    """Advice on MLP parameter names from the constructor and ``set_params``.

    Goes before `sklearn.base.BaseEstimator` among the bases. Python rejects
    an unexpected keyword argument before ``__init__`` runs, so each
    subclass's own ``__init__`` is wrapped when the class is made; a
    ``__new__`` would do, but `inspect.signature` of a class prefers a
    ``__new__`` to an inherited ``__init__`` (and, before Python 3.11, to any
    ``__init__``), and scikit-learn reads the parameters from that signature.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _explain_mlp_names(cls.__init__)

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Works as scikit-learn's ``set_params`` does, nested parameters
        (``<component>__<parameter>``) included; an `MLPClassifier` name
        raises an error that names the sknnfs parameter, before any
        parameter is set.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        check_mlp_names(type(self), params)
        return super().set_params(**params)


def _explain_mlp_names(init):
    """``init`` checking its keyword arguments with `check_mlp_names` first.

    ``functools.wraps`` keeps the signature visible to `inspect.signature`
    (which follows ``__wrapped__``), so ``get_params`` and ``clone`` see the
    parameters as before.
    """

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        check_mlp_names(type(self), kwargs)
        init(self, *args, **kwargs)

    return __init__


def keywords_after_X_y(method):
    """``method(self, X, y, *, ...)``, saying why for a third positional argument.

    ``MLPClassifier.partial_fit(X, y, sample_weight=None, classes=None)`` and
    ``SGDClassifier.partial_fit(X, y, classes=None, sample_weight=None)`` put
    their options in opposite orders, so code moved from either would pass
    one for the other; keyword-only options make that call fail instead.
    Python's own error for it ("takes 3 positional arguments but 4 were
    given") says nothing of why; this one names the keywords.
    ``functools.wraps`` keeps ``method``'s signature for `inspect.signature`
    and scikit-learn's metadata routing.
    """
    keywords = [
        parameter.name
        for parameter in inspect.signature(method).parameters.values()
        if parameter.kind is parameter.KEYWORD_ONLY
    ]

    @functools.wraps(method)
    def wrapper(self, X, y, *options, **kwargs):
        if options:
            call = ", ".join(f"{name}=..." for name in keywords)
            raise TypeError(
                f"{type(self).__name__}.{method.__name__} takes "
                f"{' and '.join(keywords)} as keywords only: write "
                f"{method.__name__}(X, y, {call}). Got {len(options)} more "
                "positional argument(s) after X and y, which could be read "
                f"wrongly: MLPClassifier.{method.__name__}'s third argument is "
                f"sample_weight, SGDClassifier.{method.__name__}'s is classes."
            )
        return method(self, X, y, **kwargs)

    return wrapper
