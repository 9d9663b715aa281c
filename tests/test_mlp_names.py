"""MLPClassifier's and MLPRegressor's parameter names get advice on ours.

The constructor and ``set_params`` raise an error that names the sknnfs
parameter to use (with the scale, for ``alpha``), or says there is none yet
and why. It is a TypeError, as Python's own error for an unexpected keyword
argument is, and a ValueError, as scikit-learn's ``set_params`` error for an
unknown parameter is. Everything else about construction (``clone``,
``get_params``, the signature, pickling, scikit-learn's estimator checks in
tests/test_estimator_checks.py) is as before.
"""

import inspect
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._mlp_names import AUTO_BATCH_SIZE, MLP_PARAMETERS, Advice

ESTIMATORS = (NNFSClassifier, NNFSRegressor)

# What each error must say, written out here rather than read from the table.
ADVICE = {
    ("solver", "sgd"): [
        "has no parameter 'solver'",
        "Use optimizer= instead",
        "'adagrad', 'adam', 'lbfgs', 'rmsprop', 'sgd'",
    ],
    ("alpha", 1e-4): [
        "has no parameter 'alpha'",
        "Use l2= instead",
        "l2 = alpha / (2 * b) for a single-label classifier",
        "alpha / (2 * b * k) for a multilabel one",
        "alpha / b for a squared-error regressor",
    ],
    ("learning_rate_init", 0.01): [
        "has no parameter 'learning_rate_init'",
        "Use learning_rate= instead",
    ],
    ("nesterovs_momentum", True): [
        "has no parameter 'nesterovs_momentum'",
        "Use nesterov= instead",
    ],
    ("learning_rate", "constant"): [
        "learning_rate is a float, not",
        "Use learning_rate_schedule='constant' instead",
    ],
    ("learning_rate", "invscaling"): [
        "learning_rate is a float, not",
        "Use learning_rate_schedule='invscaling' instead",
    ],
    ("learning_rate", "adaptive"): [
        "learning_rate is a float, not",
        "Use learning_rate_schedule='adaptive' instead",
    ],
}


MLP_CLASS = {NNFSClassifier: MLPClassifier, NNFSRegressor: MLPRegressor}


def check_advice(error, estimator_class, fragments):
    message = str(error.value)
    assert message.startswith(estimator_class.__name__)
    mlp = "MLPRegressor" if estimator_class is NNFSRegressor else "MLPClassifier"
    assert mlp in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize("name, value", ADVICE)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_the_constructor_names_our_parameter(estimator_class, name, value):
    with pytest.raises(TypeError) as error:
        estimator_class(**{name: value})
    check_advice(error, estimator_class, ADVICE[name, value])


@pytest.mark.parametrize("name, value", ADVICE)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_set_params_names_our_parameter_and_changes_nothing(
    estimator_class, name, value
):
    estimator = estimator_class(l1=0.1)
    # scikit-learn's own error for an unknown parameter is a ValueError.
    with pytest.raises(ValueError) as error:
        estimator.set_params(l1=0.5, **{name: value})
    assert isinstance(error.value, TypeError)
    check_advice(error, estimator_class, ADVICE[name, value])
    assert estimator.get_params() == estimator_class(l1=0.1).get_params()


def test_the_advice_reaches_through_pipelines_and_searches():
    pipeline = make_pipeline(StandardScaler(), NNFSClassifier())
    with pytest.raises(ValueError, match="Use l2= instead"):
        pipeline.set_params(nnfsclassifier__alpha=1e-4)
    X, y = np.random.default_rng(0).standard_normal((30, 3)), np.arange(30) % 2
    search = GridSearchCV(NNFSClassifier(max_iter=2), {"solver": ["sgd", "adam"]})
    with pytest.raises(ValueError, match="Use optimizer= instead"):
        search.fit(X, y)


@pytest.mark.parametrize(
    "mlp_class, estimator_class",
    ((MLPClassifier, NNFSClassifier), (MLPRegressor, NNFSRegressor)),
)
def test_the_table_covers_every_mlp_parameter_we_lack(mlp_class, estimator_class):
    # When sknnfs gains one of MLP's names, its entry in the table goes.
    ours = set(estimator_class().get_params())
    missing = set(mlp_class().get_params()) - ours
    assert missing == {name for name in MLP_PARAMETERS if "=" not in name}
    for advice in MLP_PARAMETERS.values():
        assert advice.instead is None or advice.instead in ours


def test_other_unknown_names_keep_pythons_own_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'alphas'"):
        NNFSClassifier(alphas=1e-4)
    with pytest.raises(ValueError, match="Invalid parameter 'alphas'"):
        NNFSRegressor().set_params(alphas=1e-4)


def test_valid_values_pass_as_before():
    estimator = NNFSClassifier(learning_rate=0.01, optimizer="sgd", l2=1e-4)
    assert estimator.set_params(learning_rate=0.1) is estimator
    assert estimator.get_params()["learning_rate"] == 0.1
    # scikit-learn's convention: __init__ and set_params leave values unchecked.
    NNFSClassifier(learning_rate="helloworld").set_params(learning_rate=[1])


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_signature_clone_get_params_and_pickle_are_unchanged(estimator_class):
    signature = inspect.signature(estimator_class)
    assert sorted(signature.parameters) == estimator_class._get_param_names()
    assert "solver" not in signature.parameters and len(signature.parameters) > 25
    assert all(
        parameter.kind is parameter.POSITIONAL_OR_KEYWORD
        for parameter in signature.parameters.values()
    )
    default_learning_rate = {NNFSClassifier: 0.0015, NNFSRegressor: 0.001}
    assert (
        signature.parameters["learning_rate"].default
        == default_learning_rate[estimator_class]
    )
    estimator = estimator_class(hidden_layer_sizes=(3,), l2=1e-3, random_state=2)
    cloned = clone(estimator)
    assert cloned.get_params() == estimator.get_params()
    assert pickle.loads(pickle.dumps(estimator)).get_params() == estimator.get_params()
    assert (
        estimator_class.__init__.__doc__
        == inspect.unwrap(estimator_class.__init__).__doc__
    )


class WithAlpha(NNFSClassifier):
    """A user's subclass whose own parameter is called ``alpha``."""

    def __init__(self, alpha=0.0, hidden_layer_sizes=(100,)):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes)
        self.alpha = alpha


def test_a_subclass_parameter_with_an_mlp_name_is_left_alone():
    estimator = WithAlpha(alpha=0.5)
    assert estimator.get_params()["alpha"] == 0.5
    assert estimator.set_params(alpha=0.25).alpha == 0.25
    assert clone(estimator).alpha == 0.25
    with pytest.raises(TypeError, match="Use optimizer= instead"):
        WithAlpha(solver="adam")


def test_an_mlp_name_without_equivalent_says_so(monkeypatch):
    # The table's form for an MLP parameter sknnfs does not have (none today).
    monkeypatch.setitem(
        MLP_PARAMETERS, "future_mlp_name", Advice(None, "no reason yet.")
    )
    with pytest.raises(TypeError, match="No equivalent yet: no reason yet"):
        NNFSRegressor(future_mlp_name=1)


# ------------------------------------------- the numbers the advice quotes
def defaults(cls):
    """The constructor defaults of ``cls``, read from its signature."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(cls).parameters.items()
    }


def mlp_auto_batch_size(mlp_class):
    """The 200 of MLP's documented ``batch_size='auto'``: min(200, n_samples)."""
    (size,) = re.findall(r"min\((\d+), n_samples\)", mlp_class.__doc__)
    return int(size)


def expected_numbers(estimator_class):
    """Every number an advice message may quote, each with its source.

    The defaults of both signatures, MLP's automatic batch size, the 2 of
    the formulas (``2 * b``, ``W**2``), and MLP's default alpha in l2 by the
    README's mapping (tests/test_mlp_mapping.py checks it against MLP's
    objective): ``alpha / (2 * b)`` for a single-label classifier and a
    Poisson regressor, ``alpha / b`` for a squared-error one.
    """
    ours = defaults(estimator_class)
    theirs = defaults(MLP_CLASS[estimator_class])
    batch = mlp_auto_batch_size(MLP_CLASS[estimator_class])
    alpha = theirs["alpha"]
    if estimator_class is NNFSRegressor:
        alpha_as_l2 = {"squared": alpha / batch, "poisson": alpha / (2 * batch)}
    else:
        alpha_as_l2 = {"single-label": alpha / (2 * batch)}
    return ours, theirs, batch, alpha_as_l2


def numbers_in(text):
    """The numbers written in ``text`` (not the 2 of ``l2`` or ``beta_2``)."""
    return set(re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?", text))


def message(estimator_class, **params):
    with pytest.raises(TypeError) as error:
        estimator_class(**params)
    return str(error.value)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_the_quoted_defaults_are_the_signatures(estimator_class):
    ours, theirs, _, _ = expected_numbers(estimator_class)
    mlp = MLP_CLASS[estimator_class].__name__
    assert (
        f"(default {ours['learning_rate']:g}; {mlp}'s learning_rate_init defaults "
        f"to {theirs['learning_rate_init']:g})"
    ) in message(estimator_class, learning_rate_init=0.01)
    assert (
        f"(default {ours['optimizer']!r}; {mlp}'s solver defaults to "
        f"{theirs['solver']!r})"
    ) in message(estimator_class, solver="sgd")
    assert (
        f"(default {ours['nesterov']}; {mlp}'s nesterovs_momentum defaults to "
        f"{theirs['nesterovs_momentum']})"
    ) in message(estimator_class, nesterovs_momentum=True)
    assert f"default is l2={ours['l2']:g}." in message(estimator_class, alpha=1e-4)


@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_the_quoted_l2_of_mlps_default_alpha_is_the_mapping(estimator_class):
    ours, theirs, batch, alpha_as_l2 = expected_numbers(estimator_class)
    text = message(estimator_class, alpha=1e-4)
    mlp = MLP_CLASS[estimator_class].__name__
    assert f"{mlp}'s default alpha={theirs['alpha']:g} with {batch}-row batches" in text
    if estimator_class is NNFSRegressor:
        assert (
            f"is l2={alpha_as_l2['squared']:g} for a squared-error regressor and "
            f"{alpha_as_l2['poisson']:g} for a Poisson one;"
        ) in text
        assert "5e-07 for a squared-error regressor" in text  # issue 21's number
    else:
        assert f"is l2={alpha_as_l2['single-label']:g} for a single-label" in text
    assert AUTO_BATCH_SIZE == batch  # ours is MLP's, from its documentation


@pytest.mark.parametrize("name, value", ADVICE)
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_every_quoted_number_comes_from_a_signature_or_the_mapping(
    estimator_class, name, value
):
    ours, theirs, batch, alpha_as_l2 = expected_numbers(estimator_class)
    derived = [*ours.values(), *theirs.values(), *alpha_as_l2.values()]
    allowed = {"2", str(batch)} | {
        f"{number:g}"
        for number in derived
        if isinstance(number, (int, float)) and not isinstance(number, bool)
    }
    quoted = numbers_in(message(estimator_class, **{name: value}))
    assert quoted <= allowed, quoted - allowed


# ------------------------------------ NumPy strings get the same advice
@pytest.mark.parametrize("estimator_class", ESTIMATORS)
def test_a_numpy_string_schedule_gets_the_advice(estimator_class):
    # A grid written as a NumPy array yields np.str_, whose repr is
    # np.str_('adaptive'); it used to pass the constructor and fail in fit
    # with only "must be a float".
    with pytest.raises(TypeError, match="Use learning_rate_schedule='adaptive'"):
        estimator_class(learning_rate=np.str_("adaptive"))
    estimator = estimator_class()
    with pytest.raises(ValueError, match="Use learning_rate_schedule='invscaling'"):
        estimator.set_params(learning_rate=np.str_("invscaling"))
    assert estimator.get_params() == estimator_class().get_params()


def test_a_numpy_string_grid_gets_the_advice():
    X, y = np.random.default_rng(0).standard_normal((30, 3)), np.arange(30) % 2
    search = GridSearchCV(
        NNFSClassifier(max_iter=2), {"learning_rate": np.array(["adaptive"])}
    )
    with pytest.raises(ValueError, match="Use learning_rate_schedule='adaptive'"):
        search.fit(X, y)


class Schedule(str):
    """A str subclass with a repr of its own, as np.str_ has."""

    def __repr__(self):
        return f"Schedule({str(self)!r})"


def test_any_str_subclass_gets_the_advice():
    with pytest.raises(TypeError, match="Use learning_rate_schedule='constant'"):
        NNFSRegressor(learning_rate=Schedule("constant"))
