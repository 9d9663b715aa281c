"""The estimators' learning-rate schedules and Nesterov momentum, end to end.

The optimizers' rules are checked step by step in tests/test_optimizers.py;
here the training loop drives them: the ``'invscaling'`` clock counts the
samples seen at the end of each epoch, as `MLPClassifier`'s does, and under
``'adaptive'`` a plateau divides the learning rate by 5 instead of stopping,
until the rate is at most 1e-6.
"""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._training import Trainer

RNG = np.random.default_rng(0)
X = RNG.standard_normal((10, 3))
y = (X[:, 0] > 0).astype(int)
y[:2] = [0, 1]  # both classes, whatever the draw


@pytest.fixture
def epoch_rates(monkeypatch):
    """The learning rate every epoch starts with."""
    rates = []
    run_epoch = Trainer.run_epoch

    def recording_run_epoch(self, *args):
        rates.append(self.optimizer.current_learning_rate)
        return run_epoch(self, *args)

    monkeypatch.setattr(Trainer, "run_epoch", recording_run_epoch)
    return rates


def fit_quietly(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args)


# ------------------------------------------------------------------ invscaling
@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
def test_invscaling_rate_of_every_step(optimizer, step_rates):
    # 10 samples in batches of 5: two steps per epoch, the first epoch at the
    # initial rate, then learning_rate / (t_ + 1) ** power_t, t_ = 10, 20.
    estimator = NNFSClassifier(
        hidden_layer_sizes=(4,),
        optimizer=optimizer,
        learning_rate=0.1,
        learning_rate_schedule="invscaling",
        power_t=0.3,
        batch_size=5,
        max_iter=3,
        random_state=0,
    )
    fit_quietly(estimator, X, y)
    lr_1, lr_2 = 0.1 / 11**0.3, 0.1 / 21**0.3
    assert step_rates == pytest.approx([0.1, 0.1, lr_1, lr_1, lr_2, lr_2], rel=1e-15)


def test_invscaling_rate_after_a_fit_is_mlps():
    settings = dict(batch_size=5, max_iter=3, random_state=0)
    ours = NNFSClassifier(
        optimizer="sgd",
        learning_rate=0.1,
        learning_rate_schedule="invscaling",
        power_t=0.3,
        **settings,
    )
    mlp = MLPClassifier(
        solver="sgd",
        learning_rate_init=0.1,
        learning_rate="invscaling",
        power_t=0.3,
        **settings,
    )
    fit_quietly(ours, X, y)
    fit_quietly(mlp, X, y)
    assert ours.t_ == mlp.t_ == 30
    assert ours._optimizer.current_learning_rate == pytest.approx(
        mlp._optimizer.learning_rate, rel=1e-15
    )


def test_partial_fit_keeps_the_invscaling_clock(step_rates):
    estimator = NNFSRegressor(
        hidden_layer_sizes=(),
        optimizer="sgd",
        learning_rate=0.01,
        learning_rate_schedule="invscaling",
        power_t=0.5,
        batch_size=10,
    )
    for _ in range(3):
        estimator.partial_fit(X, X[:, 0])
    assert step_rates == pytest.approx([0.01, 0.01 / 11**0.5, 0.01 / 21**0.5])


# -------------------------------------------------------------------- adaptive
# With a huge tol no epoch counts as progress except the first (it improves
# on the initial -inf), so plateaus come at fixed intervals.
ADAPTIVE_SETTINGS = dict(
    hidden_layer_sizes=(4,),
    optimizer="sgd",
    tol=1e9,
    n_iter_no_change=2,
    max_iter=100,
    random_state=0,
)


def runs_of_equal_rates(rates):
    return [(rate, len(list(epochs))) for rate, epochs in itertools.groupby(rates)]


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("early_stopping", [False, True])
def test_adaptive_divides_the_rate_by_5_at_each_plateau(early_stopping, epoch_rates):
    # Two of the 10 rows held out with early stopping, the fewest it takes.
    settings = dict(
        ADAPTIVE_SETTINGS,
        learning_rate=1e-4,
        early_stopping=early_stopping,
        validation_fraction=0.2,
    )
    constant = NNFSClassifier(**settings).fit(X, y)
    epoch_rates.clear()
    adaptive = NNFSClassifier(learning_rate_schedule="adaptive", **settings).fit(X, y)
    runs = runs_of_equal_rates(epoch_rates)
    # 8e-7 <= 1e-6: the plateau at that rate ends training.
    assert [rate for rate, _ in runs] == pytest.approx(
        [1e-4, 2e-5, 4e-6, 8e-7], rel=1e-14
    )
    first, *later = [n_epochs for _, n_epochs in runs]
    assert first == constant.n_iter_  # where 'constant' stops
    assert later == [first - 1] * 3  # no first epoch to improve on -inf
    assert adaptive.n_iter_ == len(epoch_rates) < adaptive.max_iter


@pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")
def test_adaptive_with_a_rate_already_at_1e_6_stops_at_the_first_plateau(
    epoch_rates,
):
    constant = NNFSClassifier(learning_rate=1e-6, **ADAPTIVE_SETTINGS).fit(X, y)
    adaptive = NNFSClassifier(
        learning_rate=1e-6, learning_rate_schedule="adaptive", **ADAPTIVE_SETTINGS
    ).fit(X, y)
    assert adaptive.n_iter_ == constant.n_iter_
    assert adaptive._optimizer.current_learning_rate == 1e-6
    epoch_rates.clear()
    just_above = NNFSClassifier(
        learning_rate=1.1e-6, learning_rate_schedule="adaptive", **ADAPTIVE_SETTINGS
    ).fit(X, y)
    assert [rate for rate, _ in runs_of_equal_rates(epoch_rates)] == pytest.approx(
        [1.1e-6, 2.2e-7], rel=1e-14
    )
    assert just_above.n_iter_ == 2 * constant.n_iter_ - 1


# -------------------------------------------------------------------- nesterov
def test_the_estimators_build_the_optimizer_they_are_given():
    estimator = NNFSClassifier(
        optimizer="sgd",
        momentum=0.8,
        nesterov=True,
        learning_rate_schedule="invscaling",
        power_t=0.7,
        max_iter=1,
    )
    optimizer = fit_quietly(estimator, X, y)._optimizer
    assert (optimizer.momentum, optimizer.nesterov) == (0.8, True)
    assert (optimizer.learning_rate_schedule, optimizer.power_t) == ("invscaling", 0.7)


def test_nesterov_changes_the_fit_of_sgd_with_momentum():
    settings = dict(optimizer="sgd", learning_rate=0.05, max_iter=3, random_state=0)
    plain = fit_quietly(NNFSClassifier(**settings), X, y)
    nesterov = fit_quietly(NNFSClassifier(nesterov=True, **settings), X, y)
    assert plain.coefs_[0].tobytes() != nesterov.coefs_[0].tobytes()
    no_momentum = dict(settings, momentum=0.0)
    assert (
        fit_quietly(NNFSClassifier(**no_momentum), X, y).coefs_[0].tobytes()
        == fit_quietly(NNFSClassifier(nesterov=True, **no_momentum), X, y)
        .coefs_[0]
        .tobytes()
    )
