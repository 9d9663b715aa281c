"""Where sknnfs uses MLPClassifier's names, they mean what MLP's mean.

Every expected value here is MLP's, measured in the test on the same data:

- ``n_iter_`` counts the epochs (L-BFGS iterations) of the latest call: a
  warm-started ``fit`` restarts the count, and after a ``partial_fit`` it
  is 1. ``t_`` and
  ``loss_curve_`` go on across calls.
- The stopping rule stops at the ``n_iter_no_change + 1``-th epoch in a row
  that fails to improve by ``tol``, with or without early stopping, and its
  count goes on from one call to the next: a warm start of a model that has
  stopped stops after one epoch unless it improves, and under ``'adaptive'``
  successive partial_fits lower the learning rate as MLP's do.

(A warm start on a different set of classes raises as MLP's does:
tests/test_warm_start.py.)
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknnfs import NNFSClassifier

X, y = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
CLASSES = np.unique(y)
SMALL = dict(hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture(autouse=True)
def _no_convergence_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def ours_and_mlps(ours=(), mlp=(), **common):
    """NNFSClassifier and MLPClassifier (Adam unless ``mlp`` says otherwise)
    with the ``common`` settings, which both take under the same names, and
    each its own."""
    mlp = {"solver": "adam", **dict(mlp)}
    return (
        NNFSClassifier(**SMALL, **common, **dict(ours)),
        MLPClassifier(**SMALL, **common, **mlp),
    )


def test_n_iter_counts_the_epochs_of_the_latest_fit():
    # Both train on every row (MLP's default): t_ counts them all.
    ours, mlp = ours_and_mlps(max_iter=20, warm_start=True, early_stopping=False)
    for estimator in (ours, mlp):
        estimator.fit(X, y)
        estimator.set_params(max_iter=7).fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_ == 7
    assert len(ours.loss_curve_) == len(mlp.loss_curve_) == 27
    assert ours.t_ == mlp.t_ == 27 * len(y)


def test_n_iter_counts_the_lbfgs_iterations_of_the_latest_fit():
    ours, mlp = ours_and_mlps(
        ours=dict(optimizer="lbfgs"), mlp=dict(solver="lbfgs"), max_iter=5
    )
    for estimator in (ours, mlp):
        estimator.fit(X, y)
        estimator.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_ == 3


def test_n_iter_is_one_after_partial_fit():
    ours, mlp = ours_and_mlps()
    for estimator in (ours, mlp):
        estimator.partial_fit(X, y, classes=CLASSES)
        estimator.partial_fit(X, y)
        estimator.partial_fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_ == 1
    assert len(ours.loss_curve_) == len(mlp.loss_curve_) == 3
    assert ours.t_ == mlp.t_ == 3 * len(y)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n_iter_no_change", [1, 3, 6])
def test_the_stopping_rule_stops_at_mlps_epoch(n_iter_no_change, early_stopping):
    # With so large a tol no epoch improves on the first (which improves on
    # -inf): the epoch the rule stops at is the rule alone.
    ours, mlp = ours_and_mlps(
        tol=1e9,
        n_iter_no_change=n_iter_no_change,
        early_stopping=early_stopping,
        max_iter=100,
    )
    ours.fit(X, y)
    mlp.fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_ == n_iter_no_change + 2


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_warm_start_of_a_stopped_model_stops_at_once_as_mlps_does(early_stopping):
    ours, mlp = ours_and_mlps(
        tol=1e9, n_iter_no_change=2, early_stopping=early_stopping, max_iter=100
    )
    for estimator in (ours, mlp):
        estimator.fit(X, y)
        estimator.set_params(warm_start=True).fit(X, y)
    assert ours.n_iter_ == mlp.n_iter_ == 1
    assert len(ours.loss_curve_) == len(mlp.loss_curve_) == 2 + 2 + 1


def test_adaptive_lowers_the_rate_over_successive_partial_fits_as_mlps_does():
    ours, mlp = ours_and_mlps(
        ours=dict(
            optimizer="sgd", learning_rate=0.01, learning_rate_schedule="adaptive"
        ),
        mlp=dict(solver="sgd", learning_rate_init=0.01, learning_rate="adaptive"),
        momentum=0.9,
        tol=1e9,
        n_iter_no_change=1,
    )
    ours_rates, mlp_rates = [], []
    for call in range(7):
        extra = {"classes": CLASSES} if call == 0 else {}
        ours.partial_fit(X, y, **extra)
        mlp.partial_fit(X, y, **extra)
        ours_rates.append(ours._optimizer.current_learning_rate)
        mlp_rates.append(mlp._optimizer.learning_rate)
    # The 3rd and the 5th... calls end a plateau: two epochs in a row that do
    # not improve on the best, more than n_iter_no_change=1.
    assert mlp_rates == pytest.approx([0.01, 0.01, 0.002, 0.002, 4e-4, 4e-4, 8e-5])
    assert ours_rates == pytest.approx(mlp_rates, rel=1e-12)
