"""partial_fit's arguments after ``X, y``: none can be read as another.

``MLPClassifier.partial_fit(X, y, sample_weight=None, classes=None)`` and
``SGDClassifier.partial_fit(X, y, classes=None, sample_weight=None)`` order
their options oppositely; `NNFSClassifier` takes both as keywords only, and a
third positional argument is a TypeError that says so, raised before
anything changes. `NNFSRegressor` has MLPRegressor's and SGDRegressor's
single option, ``sample_weight``, in their place. scikit-learn's
meta-estimators pass ``classes`` and ``sample_weight`` by keyword, with
metadata routing too.
"""

import inspect

import numpy as np
import pytest
import sklearn
from _state import full_state
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sknnfs import NNFSClassifier, NNFSRegressor

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 3))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
WEIGHTS = np.linspace(0.5, 2.0, 40)
CLASSES = np.array([0, 1])


def classifier():
    return NNFSClassifier(hidden_layer_sizes=(4,), random_state=0)


def regressor():
    return NNFSRegressor(hidden_layer_sizes=(4,), random_state=0)


def test_the_classifier_options_are_keyword_only():
    parameters = inspect.signature(NNFSClassifier.partial_fit).parameters
    assert list(parameters) == ["self", "X", "y", "classes", "sample_weight"]
    assert parameters["classes"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["sample_weight"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize(
    "options",
    [
        pytest.param((WEIGHTS, CLASSES), id="MLPClassifier's order"),
        pytest.param((CLASSES, WEIGHTS), id="SGDClassifier's order"),
        pytest.param((WEIGHTS,), id="weights alone"),
        pytest.param((CLASSES,), id="classes alone"),
    ],
)
@pytest.mark.parametrize("first_call", [True, False])
def test_a_positional_option_is_refused_and_changes_nothing(options, first_call):
    estimator = classifier()
    if not first_call:
        estimator.partial_fit(X, y, classes=CLASSES)
    before = full_state(estimator)
    with pytest.raises(TypeError) as error:
        estimator.partial_fit(X, y, *options)
    message = str(error.value)
    assert "NNFSClassifier.partial_fit takes classes and sample_weight as " in message
    assert "partial_fit(X, y, classes=..., sample_weight=...)" in message
    assert "MLPClassifier.partial_fit's third argument is sample_weight" in message
    assert full_state(estimator) == before


def test_the_message_states_mlps_and_sgds_orders_as_installed():
    # The message's claim about the two orders holds for this scikit-learn.
    assert list(inspect.signature(MLPClassifier.partial_fit).parameters)[3] == (
        "sample_weight"
    )
    assert list(inspect.signature(SGDClassifier.partial_fit).parameters)[3] == (
        "classes"
    )


def test_keywords_in_either_order_train_the_same():
    mlp_order = classifier().partial_fit(X, y, sample_weight=WEIGHTS, classes=CLASSES)
    sgd_order = classifier().partial_fit(X, y, classes=CLASSES, sample_weight=WEIGHTS)
    unweighted = classifier().partial_fit(X, y, classes=CLASSES)
    for ours, theirs in zip(mlp_order.coefs_, sgd_order.coefs_, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # The weights were used: without them the same start ends elsewhere.
    assert not np.array_equal(mlp_order.coefs_[0], unweighted.coefs_[0])


def test_x_and_y_may_still_be_keywords():
    by_keyword = classifier().partial_fit(X=X, y=y, classes=CLASSES)
    by_position = classifier().partial_fit(X, y, classes=CLASSES)
    np.testing.assert_array_equal(by_keyword.coefs_[0], by_position.coefs_[0])


def test_the_regressor_takes_mlps_and_sgds_arguments_in_their_order():
    ours = list(inspect.signature(NNFSRegressor.partial_fit).parameters)
    assert ours == list(inspect.signature(MLPRegressor.partial_fit).parameters)
    assert ours == list(inspect.signature(SGDRegressor.partial_fit).parameters)
    target = X @ np.array([1.0, -2.0, 0.5])
    positional = regressor().partial_fit(X, target, WEIGHTS)
    keyword = regressor().partial_fit(X, target, sample_weight=WEIGHTS)
    unweighted = regressor().partial_fit(X, target)
    np.testing.assert_array_equal(positional.coefs_[0], keyword.coefs_[0])
    assert not np.array_equal(positional.coefs_[0], unweighted.coefs_[0])


def test_the_regressor_refuses_a_fourth_argument():
    with pytest.raises(TypeError, match="positional"):
        regressor().partial_fit(X, X[:, 0], WEIGHTS, CLASSES)


def test_scikit_learns_meta_estimators_pass_options_by_keyword():
    Y = np.column_stack([y, 1 - y, (X[:, 2] > 0).astype(int)])
    multi = MultiOutputClassifier(classifier()).partial_fit(
        X, Y, classes=[CLASSES] * 3, sample_weight=WEIGHTS
    )
    assert multi.predict(X).shape == Y.shape
    one_vs_rest = OneVsRestClassifier(classifier()).partial_fit(
        X, np.arange(40) % 3, classes=np.arange(3)
    )
    assert one_vs_rest.predict(X).shape == (40,)
    # MultiOutputRegressor.partial_fit returns None in scikit-learn 1.9.
    regression = MultiOutputRegressor(regressor())
    regression.partial_fit(
        X, np.column_stack([X[:, 0], X[:, 1]]), sample_weight=WEIGHTS
    )
    assert regression.predict(X).shape == (40, 2)


def test_metadata_routing_finds_the_keyword_only_sample_weight():
    with sklearn.config_context(enable_metadata_routing=True):
        inner = classifier().set_partial_fit_request(sample_weight=True)
        routed = MultiOutputClassifier(inner).partial_fit(
            X, np.column_stack([y, 1 - y]), classes=[CLASSES] * 2, sample_weight=WEIGHTS
        )
    weighted = classifier().partial_fit(X, y, classes=CLASSES, sample_weight=WEIGHTS)
    np.testing.assert_array_equal(routed.estimators_[0].coefs_[0], weighted.coefs_[0])
