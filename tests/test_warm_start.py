"""Warm starts and partial_fit continue the same network with this call's settings.

- Penalties, dropout, the learning-rate settings and the optimizer's
  hyperparameters are read by every call: a change takes effect on the next
  warm-started ``fit`` or ``partial_fit`` (partial_fit keeps the optimizer's
  moments and step count; a new ``optimizer`` starts a new one).
- What makes the network what it is (``hidden_layer_sizes``, ``activation``,
  ``dtype``, the regressor's ``loss``) cannot change under a warm start: a
  ValueError names the parameter, and the estimator is left as it was.
- With early stopping, a warm start scores the weights it starts from on its
  new validation split, and keeps the best of those and its epochs: the model
  kept is always the one ``best_validation_score_`` describes.
"""

import copy
import re
import warnings

import numpy as np
import pytest
from _state import full_state
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss, r2_score
from sklearn.utils._param_validation import InvalidParameterError

from sknnfs import SGD, NNFSClassifier, NNFSRegressor
from sknnfs import _base as base_module

# The issue's data.
X, Y_CLASSES = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
Y = {"classifier": Y_CLASSES, "regressor": X[:, :3] @ np.array([1.0, -2.0, 0.5])}
ESTIMATORS = {"classifier": NNFSClassifier, "regressor": NNFSRegressor}


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def fitted(kind, how, **params):
    """A small estimator after one fit (``how='fit'``) or partial_fit."""
    estimator = ESTIMATORS[kind](
        **{"hidden_layer_sizes": (6,), "max_iter": 5, "random_state": 0, **params}
    )
    if how == "partial_fit":
        extra = {"classes": np.unique(Y_CLASSES)} if kind == "classifier" else {}
        return estimator.partial_fit(X, Y[kind], **extra)
    return estimator.set_params(warm_start=True).fit(X, Y[kind])


def continued(estimator, kind, how, n_calls=1):
    for _ in range(n_calls):
        getattr(estimator, how)(X, Y[kind])
    return estimator


# -------------------------------------------- what cannot change: an error
def test_the_issues_reproducer_names_both_changes():
    clf = NNFSClassifier(
        hidden_layer_sizes=(6,), max_iter=10, warm_start=True, random_state=0
    ).fit(X, Y_CLASSES)
    clf.set_params(l2=1.0, hidden_layer_sizes=(12, 6), activation="tanh")
    before = full_state(clf)
    expected = (
        "hidden_layer_sizes changed from (6,) to (12, 6) and activation changed "
        "from 'relu' to 'tanh' since the last fit; a warm start continues the "
        "same network: fit with warm_start=False to train a new one"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        clf.fit(X, Y_CLASSES)
    assert full_state(clf) == before
    # Without warm_start, the new network is trained, as get_params says.
    clf.set_params(warm_start=False).fit(X, Y_CLASSES)
    assert [coef.shape for coef in clf.coefs_] == [(8, 12), (12, 6), (6, 3)]


SHAPE_CHANGES = [
    ("classifier", {"hidden_layer_sizes": (6, 6)}, "hidden_layer_sizes", "(6,)"),
    ("classifier", {"activation": "tanh"}, "activation", "'relu'"),
    ("regressor", {"activation": "sigmoid"}, "activation", "'relu'"),
    ("classifier", {"dtype": "float32"}, "dtype", "'float64'"),
    ("regressor", {"loss": "absolute_error"}, "loss", "'squared_error'"),
]


@pytest.mark.parametrize("how", ("fit", "partial_fit"))
@pytest.mark.parametrize(("kind", "change", "name", "old"), SHAPE_CHANGES)
def test_a_change_of_the_networks_shape_is_an_error(kind, change, name, old, how):
    estimator = fitted(kind, how).set_params(**change)
    before = full_state(estimator)
    what = "partial_fit" if how == "partial_fit" else "a warm start"
    expected = (
        f"{name} changed from {old} to {next(iter(change.values()))!r} since the "
        f"last fit; {what} continues the same network"
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        continued(estimator, kind, how)
    assert full_state(estimator) == before


@pytest.mark.parametrize("how", ("fit", "partial_fit"))
@pytest.mark.parametrize(
    "same", ({"hidden_layer_sizes": 6}, {"hidden_layer_sizes": [6]}, {"dtype": None})
)
def test_the_same_shape_spelt_otherwise_continues(same, how):
    estimator = fitted("classifier", how, dtype="float64").set_params(**same)
    epochs = len(estimator.loss_curve_)
    assert len(continued(estimator, "classifier", how).loss_curve_) > epochs


def test_dtype_none_continues_a_float32_network_on_float64_data():
    estimator = NNFSClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=0)
    estimator.fit(X.astype(np.float32), Y_CLASSES)
    estimator.partial_fit(X, Y_CLASSES)  # dtype=None: the network's float32
    assert estimator._network.dtype == np.float32
    assert estimator.predict_proba(X).dtype == np.float32


# ---------------------------------------- what is read by every call: used
def _norm(arrays):
    return np.sqrt(sum(float(np.sum(array**2)) for array in arrays))


@pytest.mark.parametrize("how", ("fit", "partial_fit"))
@pytest.mark.parametrize(
    ("penalty", "attribute"),
    [
        ("l1", "coefs_"),
        ("l2", "coefs_"),
        ("bias_l1", "intercepts_"),
        ("bias_l2", "intercepts_"),
    ],
)
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_a_raised_penalty_takes_effect_on_the_next_call(kind, penalty, attribute, how):
    # The regularisation path: fit, raise the penalty, continue. SGD makes
    # the shrinkage plain: each step takes learning_rate * penalty gradient.
    estimator = fitted(
        kind,
        how,
        optimizer="sgd",
        momentum=0.0,
        learning_rate=0.01,
        bias_init="glorot",
    )
    unpenalized = copy.deepcopy(estimator)
    estimator.set_params(**{penalty: 10.0})
    n_calls = 5 if how == "fit" else 10  # 50 and 20 steps
    continued(estimator, kind, how, n_calls)
    continued(unpenalized, kind, how, n_calls)
    penalized_norm = _norm(getattr(estimator, attribute))
    assert penalized_norm < 0.5 * _norm(getattr(unpenalized, attribute))


@pytest.mark.parametrize("how", ("fit", "partial_fit"))
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_a_changed_dropout_takes_effect_on_the_next_call(kind, how):
    estimator = fitted(kind, how, dropout=0.0)
    unchanged = copy.deepcopy(estimator)
    twin = copy.deepcopy(estimator)
    estimator.set_params(dropout=0.5)
    for model in (estimator, unchanged, twin):
        continued(model, kind, how)
    # The copies continue alike, the one with dropout does not.
    np.testing.assert_array_equal(
        twin._network.flat_params, unchanged._network.flat_params
    )
    assert not np.allclose(
        estimator._network.flat_params, unchanged._network.flat_params, atol=1e-6
    )


def test_a_tiny_learning_rate_takes_effect_on_partial_fit():
    estimator = fitted("classifier", "partial_fit", learning_rate=0.01)
    unchanged = copy.deepcopy(estimator)
    start = estimator._network.flat_params_copy()
    estimator.set_params(learning_rate=1e-12)
    continued(estimator, "classifier", "partial_fit")
    continued(unchanged, "classifier", "partial_fit")
    np.testing.assert_allclose(estimator._network.flat_params, start, atol=1e-9)
    assert np.abs(unchanged._network.flat_params - start).max() > 1e-4


OPTIMIZER_CHANGES = [
    ("adam", {"beta_1": 0.0}),
    ("adam", {"beta_2": 0.5}),
    ("adam", {"epsilon": 1.0}),
    ("adam", {"decay": 10.0}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.0}),
    ("rmsprop", {"rho": 0.1}),
    ("adagrad", {"learning_rate": 0.001}),
]


@pytest.mark.parametrize(("optimizer", "change"), OPTIMIZER_CHANGES)
def test_changed_optimizer_settings_take_effect_on_partial_fit(optimizer, change):
    learning_rate = {"sgd": 0.05, "adagrad": 0.5}.get(optimizer, 0.01)
    estimator = fitted(
        "classifier",
        "partial_fit",
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=0.5,
    )
    unchanged = copy.deepcopy(estimator)
    estimator.set_params(**change)
    continued(estimator, "classifier", "partial_fit", n_calls=3)
    continued(unchanged, "classifier", "partial_fit", n_calls=3)
    name, value = next(iter(change.items()))
    assert getattr(estimator._optimizer, name) == value
    # The optimizer continued (its step count), with the new setting.
    assert estimator._optimizer.iterations == unchanged._optimizer.iterations == 8
    assert not np.allclose(
        estimator._network.flat_params, unchanged._network.flat_params, atol=1e-7
    )


def test_a_new_learning_rate_under_invscaling_takes_effect_at_the_clock(step_rates):
    # 300 rows, one batch each call: the clock t_ is 300 after the first.
    estimator = fitted(
        "regressor",
        "partial_fit",
        optimizer="sgd",
        learning_rate=0.01,
        learning_rate_schedule="invscaling",
        power_t=0.5,
        batch_size=300,
    )
    estimator.set_params(learning_rate=0.002, power_t=0.25)
    continued(estimator, "regressor", "partial_fit", n_calls=2)
    assert step_rates == pytest.approx(
        [0.01, 0.002 / 301**0.25, 0.002 / 601**0.25], rel=1e-15
    )


def test_a_new_learning_rate_under_adaptive_keeps_the_divisions_by_5():
    estimator = fitted("classifier", "partial_fit", learning_rate_schedule="adaptive")
    estimator._optimizer.reduce_learning_rate_on_plateau()  # as a plateau would
    estimator.set_params(learning_rate=0.01)
    continued(estimator, "classifier", "partial_fit")
    assert estimator._optimizer.current_learning_rate == pytest.approx(0.01 / 5)


def test_another_optimizer_on_partial_fit_starts_a_new_one():
    estimator = fitted("classifier", "partial_fit")  # adam
    estimator.set_params(optimizer="sgd", learning_rate=0.01)
    continued(estimator, "classifier", "partial_fit")
    assert isinstance(estimator._optimizer, SGD)
    assert estimator._optimizer.iterations == 2  # this call's two batches


def test_partial_fit_checks_the_parameters_on_every_call():
    estimator = fitted("classifier", "partial_fit")
    before, learning_rate = full_state(estimator), estimator.learning_rate
    estimator.set_params(learning_rate=-1.0)
    with pytest.raises(InvalidParameterError, match="'learning_rate' parameter"):
        continued(estimator, "classifier", "partial_fit")
    estimator.set_params(learning_rate=learning_rate)
    assert full_state(estimator) == before


# ------------------------------------------------------------ early stopping
def _validation_score(kind, estimator, X_validation, y_validation):
    """The validation score, computed the way the user would: for the
    encoded labels, or the regressor's targets as a column."""
    if kind == "classifier":
        return -log_loss(
            y_validation,
            estimator.predict_proba(X_validation),
            labels=np.arange(len(estimator.classes_)),
        )
    return r2_score(y_validation[:, 0], estimator.predict(X_validation))


@pytest.mark.parametrize("learning_rate", (0.001, 0.5))
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_a_warm_start_with_early_stopping_keeps_the_model_its_score_describes(
    kind, learning_rate, monkeypatch
):
    estimator = ESTIMATORS[kind](
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=3,
        max_iter=100,
        random_state=0,
    ).fit(X, Y[kind])
    splits = []
    split_validation = base_module.split_validation

    def recording_split(*args):
        splits.append(split_validation(*args))
        return splits[-1]

    monkeypatch.setattr(base_module, "split_validation", recording_split)
    start = copy.deepcopy(estimator)
    # 0.5 is so large that no epoch beats the weights the warm start starts
    # from; 0.001 improves on them.
    estimator.set_params(warm_start=True, learning_rate=learning_rate)
    estimator.fit(X, Y[kind])
    _, (X_validation, y_validation, _) = splits[-1]
    if kind == "regressor":  # the user's targets, which the network learns scaled
        rows = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in X_validation]
        y_validation = Y[kind][rows, np.newaxis]
    score = _validation_score(kind, estimator, X_validation, y_validation)
    assert estimator.best_validation_score_ == pytest.approx(score, rel=1e-9)
    assert score >= _validation_score(kind, start, X_validation, y_validation)
    assert len(estimator.validation_scores_) == len(estimator.loss_curve_)
