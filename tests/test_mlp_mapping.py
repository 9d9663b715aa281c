"""The docs' mapping of MLP's ``alpha`` to our ``l2``, against MLP's objective.

For each kind of model the user guide (docs/user_guide/mlp.md) gives ``l2``
for ``alpha`` and the factor between our objective and MLP's. Here both
networks get the same weights (MLP's, copied into ours) and the same data as
one batch; MLP's objective is computed from its public predictions and the
formula of its documentation (data loss + ``alpha / (2 * n) * sum of the
squared weights``).
"""

import warnings

import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._mlp_names import alpha_for_l2, l2_for_alpha

ALPHA = 0.3
N_SAMPLES = 80


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def squared_weights(mlp):
    return sum(float(np.sum(coef**2)) for coef in mlp.coefs_)


def our_objective(ours, mlp, X, y_encoded):
    """Our full-batch loss (data loss plus penalty) with MLP's weights."""
    ours.coefs_ = mlp.coefs_
    ours.intercepts_ = mlp.intercepts_
    loss, _ = ours._network.loss_and_gradients(X, y_encoded, training=False)
    return loss


@pytest.mark.parametrize("n_classes", [2, 3])
def test_single_label_classification_is_mlps_objective(n_classes):
    X, y = make_classification(
        N_SAMPLES, 6, n_informative=4, n_classes=n_classes, random_state=0
    )
    mlp = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(5,), alpha=ALPHA, max_iter=3, random_state=0),
        X,
        y,
    )
    ours = fit_quietly(
        NNFSClassifier(
            hidden_layer_sizes=(5,),
            l2=ALPHA / (2 * N_SAMPLES),
            max_iter=1,
            random_state=0,
        ),
        X,
        y,
    )
    mlp_objective = log_loss(y, mlp.predict_proba(X)) + ALPHA / (
        2 * N_SAMPLES
    ) * squared_weights(mlp)
    # Two classes have one logistic output unit, as MLP's: its target is a
    # 0/1 column (the book's binary logistic regression).
    y_encoded = y[:, np.newaxis].astype(float) if n_classes == 2 else y
    assert our_objective(ours, mlp, X, y_encoded) == pytest.approx(
        mlp_objective, rel=1e-10
    )


def test_multilabel_is_mlps_objective_over_the_number_of_labels():
    X, Y = make_multilabel_classification(N_SAMPLES, 6, n_classes=4, random_state=0)
    n_labels = Y.shape[1]
    mlp = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(5,), alpha=ALPHA, max_iter=3, random_state=0),
        X,
        Y,
    )
    ours = fit_quietly(
        NNFSClassifier(
            (5,), l2=ALPHA / (2 * N_SAMPLES * n_labels), max_iter=1, random_state=0
        ),
        X,
        Y,
    )
    proba = mlp.predict_proba(X)
    data_loss = -np.mean(xlogy(Y, proba) + xlogy(1 - Y, 1 - proba), axis=0).sum()
    mlp_objective = data_loss + ALPHA / (2 * N_SAMPLES) * squared_weights(mlp)
    assert our_objective(ours, mlp, X, Y) == pytest.approx(
        mlp_objective / n_labels, rel=1e-10
    )


def test_squared_error_regression_is_twice_mlps_objective():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, 6))
    Y = np.column_stack([X @ rng.standard_normal(6), X[:, 0] ** 2])
    mlp = fit_quietly(
        MLPRegressor(hidden_layer_sizes=(5,), alpha=ALPHA, max_iter=3, random_state=0),
        X,
        Y,
    )
    ours = fit_quietly(
        NNFSRegressor(
            hidden_layer_sizes=(5,), l2=ALPHA / N_SAMPLES, max_iter=1, random_state=0
        ),
        X,
        Y,
    )
    data_loss = 0.5 * np.mean((Y - mlp.predict(X)) ** 2)
    mlp_objective = data_loss + ALPHA / (2 * N_SAMPLES) * squared_weights(mlp)
    assert our_objective(ours, mlp, X, Y) == pytest.approx(2 * mlp_objective, rel=1e-10)


def test_poisson_regression_is_mlps_objective():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((N_SAMPLES, 6))
    y = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    mlp = fit_quietly(
        MLPRegressor(
            hidden_layer_sizes=(5,),
            loss="poisson",
            alpha=ALPHA,
            max_iter=3,
            random_state=0,
        ),
        X,
        y,
    )
    ours = fit_quietly(
        NNFSRegressor(
            hidden_layer_sizes=(5,),
            loss="poisson",
            l2=ALPHA / (2 * N_SAMPLES),
            max_iter=1,
            random_state=0,
        ),
        X,
        y,
    )
    mean = mlp.predict(X)
    data_loss = np.mean(xlogy(y, y / mean) - y + mean)
    mlp_objective = data_loss + ALPHA / (2 * N_SAMPLES) * squared_weights(mlp)
    assert our_objective(ours, mlp, X, y[:, np.newaxis]) == pytest.approx(
        mlp_objective, rel=1e-10
    )


# The mapping each test above checks against MLP's objective, as
# sknnfs._mlp_names computes it for the advice and the demo.
@pytest.mark.parametrize(
    "loss, n_labels, l2",
    [
        ("log_loss", 1, ALPHA / (2 * N_SAMPLES)),
        ("log_loss", 4, ALPHA / (2 * N_SAMPLES * 4)),
        ("squared_error", 1, ALPHA / N_SAMPLES),
        ("poisson", 1, ALPHA / (2 * N_SAMPLES)),
    ],
)
def test_l2_for_alpha_and_back_are_the_mapping(loss, n_labels, l2):
    assert l2_for_alpha(ALPHA, N_SAMPLES, loss, n_labels) == pytest.approx(
        l2, rel=1e-15
    )
    assert alpha_for_l2(l2, N_SAMPLES, loss, n_labels) == pytest.approx(
        ALPHA, rel=1e-15
    )
