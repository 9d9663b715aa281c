"""Ctrl-C: the last completed epoch of the call, or the estimator as it was.

- After at least one epoch of the call completed, Ctrl-C stops at once and
  keeps the estimator exactly as after the last completed epoch (its
  weights, optimizer state, generator and record; with early stopping, the
  best weights so far), with a warning.
- Before that (in the first epoch, the validation of the data, the split,
  the network's setup, the callbacks' setup), the KeyboardInterrupt goes on
  and the estimator is exactly as before the call: unfitted if it was.

The interrupt is raised from a patched epoch hook (`BaseNNFS._on_epoch_end`),
a patched step (`Trainer.train_step`) or another patched function, or from a
scikit-learn callback; never by a signal.
"""

import copy
import warnings

import numpy as np
import pytest
from _state import full_state
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs import _base as base_module
from sknnfs._base import BaseNNFS
from sknnfs._callbacks import EpochCallbacks
from sknnfs._training import Trainer

RNG = np.random.default_rng(0)
X = RNG.standard_normal((90, 5))
Y = {
    "classifier": (X[:, 0] > 0).astype(int) + (X[:, 1] > 0),
    "regressor": X @ np.arange(1.0, 6.0),
}
BATCHES_PER_EPOCH = 3
INTERRUPTED = r"Training interrupted after {} epochs; the estimator keeps the weights"


def make_estimator(kind, **params):
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    defaults = dict(hidden_layer_sizes=(8,), batch_size=30, max_iter=20, random_state=0)
    return estimator_class(**{**defaults, **params})


def partial_fit_arguments(kind):
    return {"classes": np.unique(Y[kind])} if kind == "classifier" else {}


def interrupt_at_step(monkeypatch, step):
    """Make `Trainer.train_step` raise KeyboardInterrupt on its ``step``-th call."""
    train_step = Trainer.train_step
    steps = []

    def interrupting_train_step(self, *args):
        steps.append(self.network.flat_params_copy())
        if len(steps) == step:
            raise KeyboardInterrupt
        return train_step(self, *args)

    monkeypatch.setattr(Trainer, "train_step", interrupting_train_step)
    return steps


# ------------------------------------------- after a completed epoch: keep it
@pytest.mark.parametrize("kind", Y)
def test_interrupt_from_the_epoch_hook_keeps_that_epoch(kind, monkeypatch):
    interrupt_at_epoch = 4
    recorded = []

    def hook(self, history):
        recorded.append(self._network.flat_params_copy())
        if history.n_iter == interrupt_at_epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    estimator = make_estimator(kind)
    with pytest.warns(UserWarning, match=INTERRUPTED.format(interrupt_at_epoch)):
        estimator.fit(X, Y[kind])
    assert len(recorded) == interrupt_at_epoch  # it stopped at once
    assert estimator.n_iter_ == interrupt_at_epoch
    assert len(estimator.loss_curve_) == interrupt_at_epoch
    np.testing.assert_array_equal(estimator._network.flat_params, recorded[-1])
    assert estimator.predict(X).shape == (len(X),)


@pytest.mark.parametrize("kind", Y)
def test_interrupt_mid_epoch_keeps_the_last_completed_epoch(
    kind, epoch_weights, monkeypatch
):
    completed_epochs = 3
    interrupt_at = completed_epochs * BATCHES_PER_EPOCH + 2
    steps = interrupt_at_step(monkeypatch, interrupt_at)
    estimator = make_estimator(kind)
    with pytest.warns(UserWarning, match=INTERRUPTED.format(completed_epochs)):
        estimator.fit(X, Y[kind])
    assert len(steps) == interrupt_at  # not one step more
    assert estimator.n_iter_ == completed_epochs
    assert len(estimator.loss_curve_) == completed_epochs
    # The first batch of the interrupted epoch had moved the weights: they
    # really were put back.
    assert not np.array_equal(steps[-1], epoch_weights[-1])
    np.testing.assert_array_equal(estimator._network.flat_params, epoch_weights[-1])
    assert estimator.predict(X).shape == (len(X),)


# Under 'adaptive' with a huge tol, epochs 2 and 3 do not improve on epoch 1:
# more than n_iter_no_change=1 of them, the plateau at epoch 3 divides the
# learning rate by 5.
SCHEDULES = {
    "constant": {},
    "adaptive": dict(learning_rate_schedule="adaptive", tol=1e9, n_iter_no_change=1),
}


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("kind", Y)
def test_an_interrupted_fit_is_the_fit_that_stopped_after_that_epoch(
    kind, schedule, monkeypatch
):
    # Not only the weights: the optimizer's moments, step count and
    # scheduled rate, the shuffling generator and the record are those after
    # epoch 3, so the model continues exactly as a fit of 3 epochs would.
    completed_epochs = 3
    settings = SCHEDULES[schedule]
    stopped = make_estimator(kind, max_iter=completed_epochs, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stopped.fit(X, Y[kind])
    interrupt_at_step(monkeypatch, completed_epochs * BATCHES_PER_EPOCH + 2)
    interrupted = make_estimator(kind, **settings)
    with pytest.warns(UserWarning, match=INTERRUPTED.format(completed_epochs)):
        interrupted.fit(X, Y[kind])
    monkeypatch.undo()
    interrupted.set_params(max_iter=completed_epochs)
    assert full_state(interrupted) == full_state(stopped)
    if schedule == "adaptive":
        assert (
            interrupted._optimizer.scheduled_learning_rate
            == interrupted.learning_rate / 5
        )
    for estimator in (interrupted, stopped):
        estimator.partial_fit(X, Y[kind])
    assert full_state(interrupted) == full_state(stopped)


@pytest.mark.parametrize("kind", Y)
def test_an_interrupt_with_early_stopping_keeps_the_best_epoch(kind, monkeypatch):
    recorded = []

    def hook(self, history):
        recorded.append(self._network.flat_params_copy())
        if history.n_iter == 14:
            raise KeyboardInterrupt

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    # A learning rate high enough for the validation score to go up and down
    # (measured for the regressor on its raw targets).
    raw_targets = {"target_scaling": None} if kind == "regressor" else {}
    estimator = make_estimator(
        kind,
        early_stopping=True,
        validation_fraction=0.3,
        learning_rate=0.3,
        tol=0.0,
        n_iter_no_change=100,
        **raw_targets,
    )
    with pytest.warns(UserWarning, match=INTERRUPTED.format(14) + " of the best"):
        estimator.fit(X, Y[kind])
    best_epoch = int(np.argmax(estimator.validation_scores_))
    assert best_epoch != 13  # the last epoch was not the best one
    assert estimator.best_validation_score_ == max(estimator.validation_scores_)
    np.testing.assert_array_equal(estimator._network.flat_params, recorded[best_epoch])


# ------------------------------------- before a completed epoch: as it was
@pytest.mark.parametrize("kind", Y)
def test_ctrl_c_in_the_first_epoch_leaves_a_new_estimator_unfitted(kind, monkeypatch):
    interrupt_at_step(monkeypatch, 2)
    estimator = make_estimator(kind)
    unfitted = full_state(estimator)
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, Y[kind])
    assert full_state(estimator) == unfitted
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


def _interrupting(function):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    interrupted.__name__ = function.__name__
    return interrupted


# Points of a fit before its first epoch completes: (object, attribute).
BEFORE_THE_FIRST_EPOCH = {
    "validation of y": (BaseNNFS, "_training_targets"),
    "network setup": (Trainer, "__init__"),
    "early stopping split": (base_module, "split_validation"),
    "callback setup": (EpochCallbacks, "__init__"),
    "validation score": (NNFSClassifier, "_validation_score"),
}


@pytest.mark.parametrize("where", BEFORE_THE_FIRST_EPOCH)
@pytest.mark.parametrize("warm_start", (False, True))
def test_ctrl_c_anywhere_before_an_epoch_completes_changes_nothing(
    where, warm_start, monkeypatch
):
    # A fitted classifier refitted on data with another class and another
    # feature count (or, warm-started, on a copy of its data): any attribute
    # set by the interrupted call would show.
    classifier = make_estimator("classifier", early_stopping=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(X, Y["classifier"])
    classifier.set_params(warm_start=warm_start)
    before = full_state(classifier)
    predictions = classifier.predict_proba(X)
    owner, name = BEFORE_THE_FIRST_EPOCH[where]
    monkeypatch.setattr(owner, name, _interrupting(getattr(owner, name)))
    new_X, new_y = (X, Y["classifier"]) if warm_start else (X[:, :4], X[:, 0] > 0)
    with pytest.raises(KeyboardInterrupt):
        classifier.fit(new_X, new_y)
    assert full_state(classifier) == before
    np.testing.assert_array_equal(classifier.predict_proba(X), predictions)


callback = pytest.importorskip("sklearn.callback")


# The calls of the callback below, kept out of the (pickled) callback itself.
CALLBACK_CALLS = []


class InterruptFirstEpoch:
    """A scikit-learn callback: Ctrl-C as the first epoch begins."""

    def setup(self, estimator, context):
        CALLBACK_CALLS.append("setup")

    def teardown(self, estimator, context):
        CALLBACK_CALLS.append("teardown")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        if context.task_name == "epoch":
            raise KeyboardInterrupt

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


@pytest.mark.parametrize("kind", Y)
@pytest.mark.parametrize("fitted", (False, True))
def test_a_callback_interrupting_the_first_epoch_changes_nothing(kind, fitted):
    estimator = make_estimator(kind, max_iter=2, warm_start=True)
    if fitted:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, Y[kind])
    estimator.set_callbacks(InterruptFirstEpoch())
    before = full_state(estimator)
    CALLBACK_CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, Y[kind])
    assert full_state(estimator) == before
    assert CALLBACK_CALLS == ["setup", "teardown"]
    if not fitted:
        with pytest.raises(NotFittedError):
            check_is_fitted(estimator)


@pytest.mark.parametrize("kind", Y)
def test_an_interrupted_partial_fit_rolls_back_everything(kind, monkeypatch):
    # Weights, Adam's moments and step count, the shuffling generator: the
    # model continues bit for bit as a copy taken before the call.
    estimator = make_estimator(kind)
    estimator.partial_fit(X, Y[kind], **partial_fit_arguments(kind))
    estimator.partial_fit(X, Y[kind])
    before = copy.deepcopy(estimator)
    interrupt_at_step(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        estimator.partial_fit(X, Y[kind])
    monkeypatch.undo()
    assert full_state(estimator) == full_state(before)
    for _ in range(2):
        estimator.partial_fit(X, Y[kind])
        before.partial_fit(X, Y[kind])
    assert full_state(estimator) == full_state(before)


class FailingTeardown:
    """A scikit-learn callback whose teardown, after the fit, raises a new
    ``error_type`` (a Ctrl-C there is the realistic case: `ProgressBar`'s
    teardown joins its display thread). It keeps the type, not an exception:
    a raised exception pickles differently once raised."""

    def __init__(self, error_type):
        self.error_type = error_type

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        raise self.error_type("teardown")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


def _continue(estimator, kind, how):
    if how == "partial_fit":
        estimator.partial_fit(X, Y[kind])
    else:
        estimator.fit(X, Y[kind])


@pytest.mark.parametrize("kind", Y)
@pytest.mark.parametrize("how", ("fresh fit", "warm start", "partial_fit", "lbfgs"))
@pytest.mark.parametrize("error_type", (RuntimeError, KeyboardInterrupt))
def test_a_teardown_that_raises_leaves_the_estimator_as_it_was(kind, how, error_type):
    optimizer = "lbfgs" if how == "lbfgs" else "adam"
    estimator = make_estimator(kind, max_iter=3, optimizer=optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if how == "partial_fit":
            estimator.partial_fit(X, Y[kind], **partial_fit_arguments(kind))
        elif how != "fresh fit":
            estimator.fit(X, Y[kind])
        estimator.set_params(warm_start=how in ("warm start", "lbfgs"))
        before = full_state(estimator)
        estimator.set_callbacks(FailingTeardown(error_type))
        expected = full_state(estimator)
        with pytest.raises(error_type):
            _continue(estimator, kind, how)
    assert full_state(estimator) == expected
    if how == "fresh fit":
        with pytest.raises(NotFittedError):
            check_is_fitted(estimator)
    # Without the callback set, the estimator is the one before the call.
    del estimator._skl_callbacks
    assert full_state(estimator) == before


class FailingAt:
    """A scikit-learn callback that raises a new ``error_type`` at one
    ``stage``: its setup, the begin or end of the fit task or of an epoch, or
    its teardown."""

    def __init__(self, stage, error_type):
        self.stage, self.error_type = stage, error_type

    def _maybe_raise(self, stage):
        if stage == self.stage:
            raise self.error_type(stage)

    def setup(self, estimator, context):
        self._maybe_raise("setup")

    def teardown(self, estimator, context):
        self._maybe_raise("teardown")

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self._maybe_raise(f"{context.task_name} begin")

    def on_fit_task_end(self, estimator, context, **kwargs):
        self._maybe_raise(f"{context.task_name} end")
        return False


STAGES = ("setup", "fit begin", "epoch begin", "epoch end", "fit end", "teardown")
PATHS = {
    "fresh fit": {},
    "warm start": dict(warm_start=True),
    "early stopping": dict(early_stopping=True, validation_fraction=0.2),
    "partial_fit": {},
    "lbfgs": dict(optimizer="lbfgs"),
    "lbfgs warm start": dict(optimizer="lbfgs", warm_start=True),
}


@pytest.mark.parametrize("kind", Y)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("error_type", (RuntimeError, KeyboardInterrupt))
def test_every_callback_stage_on_every_path_fails_whole_or_keeps_an_epoch(
    kind, path, stage, error_type
):
    # A callback that raises changes nothing. Ctrl-C changes nothing either,
    # except that after a completed epoch the estimator may keep it: then the
    # call returns with the interrupt's warning, as from any other place.
    estimator = make_estimator(kind, max_iter=3, **PATHS[path])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if path == "partial_fit":
            estimator.partial_fit(X, Y[kind], **partial_fit_arguments(kind))
        elif path not in ("fresh fit", "early stopping"):
            estimator.fit(X, Y[kind])
    estimator.set_callbacks(FailingAt(stage, error_type))
    before = full_state(estimator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _continue(estimator, kind, path)
        except error_type:
            assert full_state(estimator) == before
            return
    assert error_type is KeyboardInterrupt, "the callback's error was lost"
    assert any("Training interrupted" in str(w.message) for w in caught)
    assert full_state(estimator) != before
