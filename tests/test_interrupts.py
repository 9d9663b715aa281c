"""Ctrl-C during training stops at once and keeps the last completed epoch.

The interrupt is raised from a patched epoch hook (`BaseNNFS._on_epoch_end`)
or from a patched `Trainer.train_step` in the middle of an epoch, never by a
signal. The weights after every epoch are recorded through the same hook, so
the test knows exactly which weights must survive.
"""

import numpy as np
import pytest

from sknnfs import Network, NNFSClassifier, NNFSRegressor
from sknnfs._base import BaseNNFS
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
    return estimator_class(
        hidden_layer_sizes=(8,), batch_size=30, max_iter=20, random_state=0, **params
    )


@pytest.fixture
def epoch_weights(monkeypatch):
    """Weights after each completed epoch: ``epoch_weights[k]`` after epoch k + 1."""
    recorded = []
    on_epoch_end = BaseNNFS._on_epoch_end

    def recording_hook(self, history):
        recorded.append(self._network.flat_params_copy())
        on_epoch_end(self, history)

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", recording_hook)
    return recorded


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
@pytest.mark.parametrize("completed_epochs", (0, 3))
def test_interrupt_mid_epoch_keeps_the_last_completed_epoch(
    kind, completed_epochs, epoch_weights, monkeypatch
):
    # The interrupt comes on the second batch of epoch completed_epochs + 1.
    interrupt_at_step = completed_epochs * BATCHES_PER_EPOCH + 2
    steps = []
    weights_at_interrupt = []
    train_step = Trainer.train_step

    def interrupting_train_step(self, *args):
        steps.append(1)
        if len(steps) == interrupt_at_step:
            weights_at_interrupt.append(self.network.flat_params_copy())
            raise KeyboardInterrupt
        return train_step(self, *args)

    estimator = make_estimator(kind)
    initial_weights = []
    monkeypatch.setattr(
        Network,
        "__init__",
        _recording_init(Network.__init__, initial_weights),
    )
    monkeypatch.setattr(Trainer, "train_step", interrupting_train_step)
    with pytest.warns(UserWarning, match=INTERRUPTED.format(completed_epochs)):
        estimator.fit(X, Y[kind])
    assert len(steps) == interrupt_at_step  # not one step more
    assert estimator.n_iter_ == completed_epochs
    assert len(estimator.loss_curve_) == completed_epochs
    expected = epoch_weights[-1] if completed_epochs else initial_weights[0]
    # The first batch of the interrupted epoch had moved the weights: they
    # really were put back.
    assert not np.array_equal(weights_at_interrupt[0], expected)
    np.testing.assert_array_equal(estimator._network.flat_params, expected)
    predictions = estimator.predict(X)
    assert predictions.shape == (len(X),)


def _recording_init(init, recorded):
    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        recorded.append(self.flat_params_copy())

    return recording_init


@pytest.mark.parametrize("kind", Y)
def test_interrupted_partial_fit_keeps_the_model_before_the_call(kind, monkeypatch):
    estimator = make_estimator(kind)
    extra = {"classes": np.unique(Y[kind])} if kind == "classifier" else {}
    estimator.partial_fit(X, Y[kind], **extra)
    weights = estimator._network.flat_params_copy()
    train_step = Trainer.train_step
    steps = []

    def interrupting_train_step(self, *args):
        steps.append(1)
        if len(steps) == 2:
            raise KeyboardInterrupt
        return train_step(self, *args)

    monkeypatch.setattr(Trainer, "train_step", interrupting_train_step)
    with pytest.warns(UserWarning, match=INTERRUPTED.format(1)):
        estimator.partial_fit(X, Y[kind], **extra)
    assert estimator.n_iter_ == 1
    np.testing.assert_array_equal(estimator._network.flat_params, weights)
    monkeypatch.undo()
    estimator.partial_fit(X, Y[kind], **extra)  # and training goes on
    assert estimator.n_iter_ == 2
