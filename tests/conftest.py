"""Fixtures shared by several test files."""

import pytest

from sknnfs._base import BaseNNFS
from sknnfs._optimizers import _Optimizer


@pytest.fixture
def step_rates(monkeypatch):
    """The learning rate of every optimizer step, in order."""
    rates = []
    step = _Optimizer.step

    def recording_step(self, params, grads, apply_update=None, weights=None):
        rates.append(self.current_learning_rate)
        return step(self, params, grads, apply_update, weights)

    monkeypatch.setattr(_Optimizer, "step", recording_step)
    return rates


@pytest.fixture
def epoch_weights(monkeypatch):
    """Weights after each completed epoch (with 'lbfgs': each iteration),
    recorded at the epoch hook: ``epoch_weights[k]`` after epoch k + 1."""
    recorded = []
    on_epoch_end = BaseNNFS._on_epoch_end

    def recording_hook(self, history):
        recorded.append(self._network.flat_params_copy())
        on_epoch_end(self, history)

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", recording_hook)
    return recorded
