"""Fixtures shared by several test files."""

import pytest

from sknnfs._optimizers import _Optimizer


@pytest.fixture
def step_rates(monkeypatch):
    """The learning rate of every optimizer step, in order."""
    rates = []
    step = _Optimizer.step

    def recording_step(self, params, grads, apply_update=None):
        rates.append(self.current_learning_rate)
        return step(self, params, grads, apply_update)

    monkeypatch.setattr(_Optimizer, "step", recording_step)
    return rates
