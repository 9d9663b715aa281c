"""The estimators' learning-rate schedules and Nesterov momentum, end to end.

The optimizers' rules are checked step by step in tests/test_optimizers.py;
here the training loop drives them: the ``'invscaling'`` clock counts the
samples seen at the end of each epoch, as `MLPClassifier`'s does; under
``'adaptive'`` a plateau divides the learning rate by 5 instead of stopping,
until the rate is at most 1e-6; the cosines anneal the rate of epoch ``e``
by ``t = e / max_iter``, each fit from ``learning_rate``.
"""

import itertools
import math
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknnfs import SGD, NNFSClassifier, NNFSRegressor
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


# --------------------------------------------------------------------- cosines
def cosine_rate(learning_rate, epoch, max_iter):
    """Epoch ``epoch`` (from 0) of 'cosine': lr (1 + cos(pi t)) / 2, t = e / N."""
    return learning_rate * (1 + math.cos(math.pi * epoch / max_iter)) / 2


def flat_cosine_rate(learning_rate, epoch, max_iter):
    """'flat_cosine': lr for t <= 1/2, then lr (1 + cos(pi (2 t - 1))) / 2."""
    if 2 * epoch <= max_iter:
        return learning_rate
    return learning_rate * (1 + math.cos(math.pi * (2 * epoch / max_iter - 1))) / 2


CLOSED_FORMS = {"cosine": cosine_rate, "flat_cosine": flat_cosine_rate}
# Every epoch runs: the stopping rule never stops.
ALL_EPOCHS = dict(hidden_layer_sizes=(4,), n_iter_no_change=np.inf, random_state=0)


@pytest.mark.parametrize("max_iter", [10, 7])
@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("schedule", CLOSED_FORMS)
def test_the_rate_of_every_epoch_is_the_cosines(
    schedule, optimizer, max_iter, epoch_rates
):
    estimator = NNFSClassifier(
        optimizer=optimizer,
        learning_rate=0.1,
        learning_rate_schedule=schedule,
        max_iter=max_iter,
        **ALL_EPOCHS,
    )
    fit_quietly(estimator, X, y)
    closed_form = CLOSED_FORMS[schedule]
    assert epoch_rates == [closed_form(0.1, e, max_iter) for e in range(max_iter)]
    # From learning_rate down, never to 0 within the fit.
    assert epoch_rates[0] == 0.1
    assert epoch_rates == sorted(epoch_rates, reverse=True) and epoch_rates[-1] > 0


def test_flat_cosine_is_flat_for_the_first_half(epoch_rates):
    estimator = NNFSRegressor(
        learning_rate=0.01, learning_rate_schedule="flat_cosine", max_iter=8
    )
    fit_quietly(estimator.set_params(**ALL_EPOCHS), X, X[:, 0])
    assert epoch_rates[:5] == [0.01] * 5  # t = 0, 1/8, ..., 4/8
    assert epoch_rates[5:] == [
        0.01 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (1, 2, 3)
    ]


@pytest.mark.parametrize("schedule", CLOSED_FORMS)
def test_decay_divides_the_cosines_step_by_step(schedule, step_rates):
    # 10 samples in batches of 5: two steps per epoch, t counting the steps.
    estimator = NNFSClassifier(
        optimizer="sgd",
        learning_rate=0.1,
        decay=0.01,
        learning_rate_schedule=schedule,
        batch_size=5,
        max_iter=4,
        **ALL_EPOCHS,
    )
    fit_quietly(estimator, X, y)
    closed_form = CLOSED_FORMS[schedule]
    expected = [closed_form(0.1, step // 2, 4) / (1 + 0.01 * step) for step in range(8)]
    assert step_rates == expected


def test_a_warm_start_runs_the_cosine_again_over_its_max_iter(epoch_rates):
    estimator = NNFSClassifier(
        learning_rate=0.1,
        learning_rate_schedule="cosine",
        max_iter=4,
        warm_start=True,
        **ALL_EPOCHS,
    )
    fit_quietly(estimator, X, y)
    fit_quietly(estimator.set_params(max_iter=3), X, y)
    assert epoch_rates == [cosine_rate(0.1, e, 4) for e in range(4)] + [
        cosine_rate(0.1, e, 3) for e in range(3)
    ]


def test_early_stopping_keeps_the_horizon_of_max_iter(epoch_rates):
    # Stopped by the rule long before max_iter: the rate never got low.
    estimator = NNFSClassifier(
        learning_rate=1e-4,
        learning_rate_schedule="cosine",
        tol=1e9,
        n_iter_no_change=2,
        max_iter=100,
        hidden_layer_sizes=(4,),
        random_state=0,
    )
    fit_quietly(estimator, X, y)
    assert estimator.n_iter_ == len(epoch_rates) < 100
    assert epoch_rates == [cosine_rate(1e-4, e, 100) for e in range(len(epoch_rates))]


@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
@pytest.mark.parametrize("schedule", CLOSED_FORMS)
@pytest.mark.parametrize("fitted", [False, True])
def test_partial_fit_refuses_the_cosines(estimator_class, schedule, fitted):
    estimator = estimator_class(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    targets = y if estimator_class is NNFSClassifier else X[:, 0]
    keywords = {"classes": [0, 1]} if estimator_class is NNFSClassifier else {}
    if fitted:
        fit_quietly(estimator, X, targets)
    estimator.set_params(learning_rate_schedule=schedule)
    before = estimator.__dict__.copy()
    message = (
        f"partial_fit does not support learning_rate_schedule={schedule!r}: it "
        "anneals the learning rate over the max_iter epochs of a fit"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.partial_fit(X, targets, **keywords)
    # The estimator is as it was: fitted, or not.
    assert estimator.__dict__.keys() == before.keys()
    assert all(estimator.__dict__[name] is value for name, value in before.items())


def test_the_optimizer_needs_the_share_of_epochs_done_for_a_cosine():
    optimizer = SGD(0.1, learning_rate_schedule="cosine")
    optimizer.end_epoch(50, progress=0.25)
    assert optimizer.scheduled_learning_rate == 0.1 * (1 + math.cos(math.pi / 4)) / 2
    optimizer.end_epoch(100, progress=1.5)  # clipped at 1: never back up
    assert optimizer.scheduled_learning_rate == 0.0
    with pytest.raises(ValueError, match="'cosine' schedule needs the share"):
        optimizer.end_epoch(150)


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
