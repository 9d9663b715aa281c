"""What to write instead of an `MLPClassifier`/`MLPRegressor` parameter.

A data scientist coming from scikit-learn's perceptron writes its parameter
names first. Python's own error for ``NNFSClassifier(solver='adam')`` says
only that ``solver`` is unexpected; `MLP_PARAMETERS` says which sknnfs
parameter does the same job (and at which scale), or that there is none
and why. `MLPNameAdviceMixin` raises that advice from the constructor and
from ``set_params``.

The error is scikit-learn's `InvalidParameterError`, which is both a
`TypeError` (what Python raises for an unexpected keyword argument) and a
`ValueError` (what ``BaseEstimator.set_params`` raises for an unknown
parameter), so that code catching either keeps working.
"""

import functools
from typing import NamedTuple

from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import InvalidParameterError

__all__ = ["MLP_PARAMETERS", "MLPNameAdviceMixin", "check_mlp_names"]


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
# In the explanations, {mlp} is MLPClassifier or MLPRegressor and
# {optimizers} the values the estimator's ``optimizer`` accepts.
MLP_PARAMETERS = {
    "solver": Advice("optimizer", "one of {optimizers} (default 'adam')."),
    "alpha": Advice(
        "l2",
        "scaled by the batch size b: l2 = alpha / (2 * b) for a single-label "
        "classifier, alpha / (2 * b * k) for a multilabel one with k labels, "
        "alpha / b for a squared-error regressor (MLPRegressor halves its "
        "squared error), alpha / (2 * b) for a Poisson one. {mlp} adds "
        "alpha / (2 * n) * sum(W**2) to the mean loss of each batch of n "
        "samples; sknnfs adds l2 * sum(W**2), as the book does. MLP's default "
        "alpha=1e-4 with 200-row batches is l2=2.5e-7 for a classifier.",
    ),
    "learning_rate_init": Advice(
        "learning_rate", "the initial step size, a float (default 0.001)."
    ),
    "nesterovs_momentum": Advice(
        "nesterov",
        "for optimizer='sgd' with momentum; off by default, as in the book "
        "(MLP's default is on).",
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
        if isinstance(value, str) and f"{name}={value!r}" in MLP_PARAMETERS:
            key = f"{name}={value!r}"
        elif name not in MLP_PARAMETERS:
            continue
        if key == name and name in estimator_class._get_param_names():
            continue
        raise InvalidParameterError(_message(estimator_class, key))


def _message(estimator_class, key):
    """The error message for `MLP_PARAMETERS`'s entry ``key``."""
    estimator = estimator_class.__name__
    mlp = "MLPClassifier"
    if issubclass(estimator_class, RegressorMixin):
        mlp = "MLPRegressor"
    name, _, value = key.partition("=")
    if value:
        problem = f"{estimator}'s {name} is a float, not {mlp}'s schedule {value}."
    else:
        problem = f"{estimator} has no parameter {name!r}; that is {mlp}'s name."
    advice = MLP_PARAMETERS[key]
    (optimizers,) = estimator_class._parameter_constraints["optimizer"]
    explanation = advice.explanation.format(
        mlp=mlp, optimizers=", ".join(repr(name) for name in sorted(optimizers.options))
    )
    if advice.instead is None:
        return f"{problem} No equivalent yet: {explanation}"
    return f"{problem} Use {advice.instead}={value} instead: {explanation}"


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
