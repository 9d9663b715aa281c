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

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._mlp_names import MLP_PARAMETERS, Advice

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
