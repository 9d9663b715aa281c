"""`sknnfs.callbacks`: ReduceLROnPlateau and Checkpoint (scikit-learn >= 1.9).

The losses and validation scores the callbacks read are scripted (a patched
`InMemoryEpochs.train` or `Validation.evaluate` trains or scores as usual, then reports
the next value of a script), so that when a plateau comes is known, and the
expected learning rates are worked out by hand from the script. The rate of
every optimizer step is recorded by the ``step_rates`` fixture (conftest).
Predictions after each epoch are recorded by a patched epoch hook
(`BaseNNFS._on_epoch_end`), and each checkpoint must predict them bit for
bit.
"""

import os
import pickle
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from _state import full_state
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import check_is_fitted

from sknnfs import Checkpoint, NNFSClassifier, NNFSRegressor, ReduceLROnPlateau
from sknnfs._base import BaseNNFS
from sknnfs._loop import InMemoryEpochs, Validation
from sknnfs._training import Trainer

pytest.importorskip(
    "sklearn.callback", reason="scikit-learn's callbacks need scikit-learn 1.9 or later"
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4))
Y = {
    "classifier": (X[:, 0] + X[:, 1] > 0).astype(int),
    "regressor": X @ np.array([1.0, -2.0, 0.5, 3.0]),
}
BATCHES_PER_EPOCH = 3  # 60 samples in batches of 20
CLASSIFIER = "sknnfs._classifier.NNFSClassifier"
REGRESSOR = "sknnfs._regressor.NNFSRegressor"


def make_estimator(kind="classifier", **params):
    # tol=0 and no patience limit: the stopping rule never ends training, so
    # every one of max_iter epochs runs, on every row (early_stopping=False:
    # the monitor 'auto' reads the loss).
    estimator_class = NNFSClassifier if kind == "classifier" else NNFSRegressor
    defaults = dict(
        hidden_layer_sizes=(5,),
        batch_size=20,
        learning_rate=0.01,
        max_iter=6,
        tol=0.0,
        n_iter_no_change=np.inf,
        random_state=0,
        early_stopping=False,
    )
    return estimator_class(**{**defaults, **params})


def fit_quietly(estimator, X=X, y=None, kind="classifier"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, Y[kind] if y is None else y)


@pytest.fixture
def losses(monkeypatch):
    """The script of the epochs' training losses: each epoch trains as
    usual, then reports (and records) the next loss of the script."""
    script = []
    train = InMemoryEpochs.train

    def scripted_train(self, trainer):
        _, n_samples = train(self, trainer)
        return script.pop(0), n_samples

    monkeypatch.setattr(InMemoryEpochs, "train", scripted_train)
    return script


@pytest.fixture
def scores(monkeypatch):
    """The script of the epochs' validation scores (early stopping)."""
    script = []
    evaluate = Validation.evaluate

    def scripted_evaluate(self, network):
        _, outputs = evaluate(self, network)
        return script.pop(0), outputs

    monkeypatch.setattr(Validation, "evaluate", scripted_evaluate)
    return script


@pytest.fixture
def predictions(monkeypatch):
    """What the estimator predicts after each epoch: ``predictions[k]``
    after its model's epoch k + 1 (``len(loss_curve_)``)."""
    recorded = {}

    def recording_hook(self, history):
        predict = self.predict_proba if hasattr(self, "classes_") else self.predict
        recorded[len(self.loss_curve_) - 1] = predict(X)

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", recording_hook)
    return recorded


def rates_per_step(epoch_rates, decay=0.0):
    """The book's decayed rate of every step, from each epoch's scheduled rate."""
    return [
        rate / (1 + decay * (epoch * BATCHES_PER_EPOCH + batch))
        for epoch, rate in enumerate(epoch_rates)
        for batch in range(BATCHES_PER_EPOCH)
    ]


# --------------------------------------------------------- ReduceLROnPlateau
# Patience 2, min_delta 0.05: an epoch improves when its loss is more than
# 0.05 below the best so far. Epochs 3 and 4 do not (0.88, 0.87 against
# 0.9): lowered from epoch 5. Epoch 5 improves (0.7); 6 and 7 do not:
# lowered from epoch 8, which improves (0.5); 9 and 10 do not, but 10 is the
# last epoch, so nothing is lowered after it.
PLATEAU_LOSSES = [1.0, 0.9, 0.88, 0.87, 0.7, 0.69, 0.70, 0.5, 0.49, 0.48]
PLATEAU_RATES = [0.01] * 4 + [0.005] * 3 + [0.0025] * 3


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_reduces_the_rate_after_patience_epochs_without_improvement(
    optimizer, decay, losses, step_rates
):
    losses.extend(PLATEAU_LOSSES)
    schedule = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=0.05)
    estimator = make_estimator(optimizer=optimizer, decay=decay, max_iter=10)
    fit_quietly(estimator.set_callbacks(schedule))
    assert estimator.loss_curve_ == PLATEAU_LOSSES
    assert schedule.learning_rates_ == PLATEAU_RATES
    # The steps trained at those rates, divided by the book's decay: the
    # callback multiplies the scheduled rate, the decay's base.
    np.testing.assert_allclose(
        step_rates, rates_per_step(PLATEAU_RATES, decay), rtol=1e-14
    )
    assert estimator._optimizer.scheduled_learning_rate == 0.0025


def test_min_delta_zero_counts_any_decrease_as_improvement(losses):
    losses.extend(PLATEAU_LOSSES)
    schedule = ReduceLROnPlateau(factor=0.5, patience=2)
    fit_quietly(make_estimator(max_iter=10).set_callbacks(schedule))
    # Only epoch 7 (0.70, not below 0.69) fails to improve: never two in a row.
    assert schedule.learning_rates_ == [0.01] * 10


@pytest.mark.parametrize(
    "learning_rate, expected",
    [
        # Lowered by 0.1 from epoch 3 would be 0.001: the floor 0.002 holds;
        # later plateaus leave the rate at the floor.
        (0.01, [0.01, 0.01, 0.002, 0.002, 0.002]),
        # A rate already below the floor is never raised to it.
        (0.001, [0.001] * 5),
    ],
)
def test_min_learning_rate_is_a_floor(learning_rate, expected, losses):
    losses.extend([1.0] * 5)  # a plateau from the second epoch on
    schedule = ReduceLROnPlateau(factor=0.1, patience=1, min_learning_rate=0.002)
    estimator = make_estimator(learning_rate=learning_rate, max_iter=5)
    fit_quietly(estimator.set_callbacks(schedule))
    assert schedule.learning_rates_ == expected


FALLING_LOSSES = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
# A flat quantity, patience 2: epochs 2 and 3 do not improve on epoch 1
# (lowered from epoch 4), nor do 4 and 5 (lowered from epoch 6).
FLAT_RATES = [0.01] * 3 + [0.005] * 2 + [0.0025]


@pytest.mark.parametrize(
    "monitor, early_stopping, reads_the_score",
    [
        ("validation_score", True, True),
        ("auto", True, True),
        ("loss", True, False),
        ("auto", False, False),
        ("loss", False, False),
    ],
)
def test_monitor_reads_the_validation_score_or_the_loss(
    monitor, early_stopping, reads_the_score, losses, scores
):
    schedule = ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=2)
    estimator = make_estimator(early_stopping=early_stopping)
    estimator.set_callbacks(schedule)
    # A falling loss and a flat validation score (if there is one).
    losses.extend(FALLING_LOSSES)
    scores.extend([0.5] * 6)
    fit_quietly(estimator)
    assert schedule.learning_rates_ == (FLAT_RATES if reads_the_score else [0.01] * 6)
    # A flat loss and a rising score.
    losses.extend([1.0] * 6)
    scores[:] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    fit_quietly(estimator)
    assert schedule.learning_rates_ == ([0.01] * 6 if reads_the_score else FLAT_RATES)


def test_combines_with_the_adaptive_schedule(losses):
    # A flat loss. 'adaptive' (tol=0.1, n_iter_no_change=1) divides the rate
    # by 5 at the end of epochs 3 and 5, each the second in a row without an
    # improvement by tol; the callback (patience 2) halves it when epochs 4
    # and 6 begin. Both multiply the same scheduled rate.
    losses.extend([1.0] * 6)
    schedule = ReduceLROnPlateau(factor=0.5, patience=2)
    estimator = make_estimator(
        learning_rate_schedule="adaptive", tol=0.1, n_iter_no_change=1
    )
    fit_quietly(estimator.set_callbacks(schedule))
    once = 0.01 / 5 * 0.5
    assert schedule.learning_rates_ == [0.01] * 3 + [once] * 2 + [once / 5 * 0.5]


def test_regressor_and_verbose(losses, capsys):
    losses.extend([1.0] * 4)
    schedule = ReduceLROnPlateau(factor=0.5, patience=2, verbose=1)
    fit_quietly(
        make_estimator("regressor", max_iter=4).set_callbacks(schedule),
        kind="regressor",
    )
    assert schedule.learning_rates_ == [0.01, 0.01, 0.01, 0.005]
    assert capsys.readouterr().out == (
        "ReduceLROnPlateau: no improvement of the loss in 2 epochs; learning "
        "rate 0.01 -> 0.005 from epoch 4\n"
    )


def test_a_plateau_of_the_last_epoch_lowers_nothing_and_ctrl_c_agrees(
    losses, monkeypatch
):
    # Epochs 2 and 3 do not improve on epoch 1: the rate would be lowered
    # from epoch 4. A fit of 3 epochs ends with the rate it trained with,
    # and so does a fit interrupted in epoch 4, which keeps epoch 3: the
    # same estimator, optimizer and callback record alike.
    losses.extend([1.0] * 7)
    stopped = make_estimator(max_iter=3)
    fit_quietly(stopped.set_callbacks(ReduceLROnPlateau(factor=0.5, patience=2)))
    train_step, steps = Trainer.train_step, []

    def interrupting_train_step(self, *args):
        steps.append(None)
        if len(steps) == 3 * BATCHES_PER_EPOCH + 2:
            raise KeyboardInterrupt
        return train_step(self, *args)

    monkeypatch.setattr(Trainer, "train_step", interrupting_train_step)
    interrupted = make_estimator(max_iter=6)
    interrupted.set_callbacks(ReduceLROnPlateau(factor=0.5, patience=2))
    with pytest.warns(UserWarning, match="Training interrupted after 3 epochs"):
        interrupted.fit(X, Y["classifier"])
    assert interrupted._skl_callbacks[0].learning_rates_ == [0.01] * 3
    assert interrupted._optimizer.scheduled_learning_rate == 0.01
    interrupted.set_params(max_iter=3)
    assert full_state(interrupted) == full_state(stopped)


def test_records_each_fit_afresh_and_serves_several_estimators(losses, monkeypatch):
    # One instance, two estimators; the second is fitted (3 epochs of
    # falling loss) inside the first's second epoch, as fits run at the same
    # time in a threaded search. Each counts its own plateau.
    schedule = ReduceLROnPlateau(factor=0.5, patience=1)
    first = make_estimator(max_iter=5).set_callbacks(schedule)
    second = make_estimator(max_iter=3, random_state=1).set_callbacks(schedule)
    records = {}

    def hook(self, history):
        if self is first and history.n_iter == 2:
            fit_quietly(second)
            records["second"] = schedule.learning_rates_

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    losses.extend([1.0, 1.0] + [1.0, 0.5, 0.25] + [1.0, 1.0, 1.0])
    fit_quietly(first)
    assert records["second"] == [0.01] * 3
    assert schedule.learning_rates_ == [0.01, 0.01, 0.005, 0.0025, 0.00125]
    # Fitted again, the record is the new fit's alone.
    losses.extend([1.0, 0.5, 0.25])
    fit_quietly(second)
    assert schedule.learning_rates_ == [0.01] * 3


def test_shared_by_the_clones_of_a_search():
    schedule = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10.0)
    search = GridSearchCV(
        make_estimator(max_iter=3).set_callbacks(schedule),
        {"learning_rate": [0.01, 0.02]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, Y["classifier"])
    # No epoch improves by 10: lowered from epoch 3 in every fit. The record
    # is the refit's, the last fit to end.
    rate = search.best_params_["learning_rate"]
    assert schedule.learning_rates_ == [rate, rate, rate / 2]
    assert search.best_estimator_._optimizer.scheduled_learning_rate == rate / 2


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(optimizer="lbfgs"), "optimizer='lbfgs'"),
        *[
            (
                dict(learning_rate_schedule=schedule),
                f"learning_rate_schedule={schedule!r}",
            )
            for schedule in ("invscaling", "cosine", "flat_cosine")
        ],
    ],
)
@pytest.mark.parametrize("fitted", [False, True])
def test_refuses_what_has_no_rate_to_lower(params, message, fitted):
    estimator = make_estimator(**params)
    if fitted:
        fit_quietly(estimator)
    before = full_state(estimator)
    estimator.set_callbacks(ReduceLROnPlateau())
    with pytest.raises(ValueError, match=re.escape(message)):
        estimator.fit(X, Y["classifier"])
    del estimator._skl_callbacks
    assert full_state(estimator) == before


def test_validation_score_needs_early_stopping():
    estimator = make_estimator().set_callbacks(ReduceLROnPlateau("validation_score"))
    with pytest.raises(ValueError, match="needs early_stopping=True"):
        estimator.fit(X, Y["classifier"])
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


@pytest.mark.parametrize("callback", [ReduceLROnPlateau(), Checkpoint("unused")])
def test_refuses_other_estimators(callback):
    estimator = LogisticRegression().set_callbacks(callback)
    with pytest.raises(TypeError, match="NNFSClassifier and NNFSRegressor only"):
        estimator.fit(X, Y["classifier"])


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: ReduceLROnPlateau(monitor="val_loss"), "monitor"),
        (lambda: ReduceLROnPlateau(factor=1.0), "factor"),
        (lambda: ReduceLROnPlateau(factor=0), "factor"),
        (lambda: ReduceLROnPlateau(patience=0), "patience"),
        (lambda: ReduceLROnPlateau(min_delta=-0.1), "min_delta"),
        (lambda: ReduceLROnPlateau(min_learning_rate=-1e-6), "min_learning_rate"),
        (lambda: ReduceLROnPlateau(verbose="yes"), "verbose"),
        (lambda: Checkpoint(3), "path"),
        (lambda: Checkpoint("run", every=0), "every"),
        (lambda: Checkpoint("run", save_best_only="yes"), "save_best_only"),
        (lambda: Checkpoint("run", monitor="accuracy"), "monitor"),
        (lambda: Checkpoint("run", format="joblib"), "format"),
    ],
)
def test_bad_arguments_are_named(make, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of"):
        make()


def test_arguments_changed_after_construction_are_checked_at_fit():
    schedule = ReduceLROnPlateau()
    schedule.factor = 2.0
    estimator = make_estimator().set_callbacks(schedule)
    with pytest.raises(ValueError, match="The 'factor' parameter of ReduceLROnPlateau"):
        estimator.fit(X, Y["classifier"])


# ---------------------------------------------------------------- Checkpoint
def load(path, file_format, kind="classifier"):
    if file_format == "skops":
        import skops.io

        class_name = CLASSIFIER if kind == "classifier" else REGRESSOR
        return skops.io.load(path, trusted=[class_name])
    with open(path, "rb") as file:
        return pickle.load(file)


CHECKPOINT_CASES = {
    "classifier, adam": ("classifier", {}),
    "regressor, sgd with momentum": (
        "regressor",
        dict(optimizer="sgd", momentum=0.9, learning_rate=0.001),
    ),
    "classifier, early stopping, dropout": (
        "classifier",
        dict(early_stopping=True, validation_fraction=0.2, dropout=0.2),
    ),
    "regressor, lbfgs": ("regressor", dict(optimizer="lbfgs")),
}


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
@pytest.mark.parametrize("file_format", ["pickle", "skops"])
def test_each_checkpoint_predicts_what_the_estimator_did_after_its_epoch(
    case, file_format, predictions, tmp_path
):
    if file_format == "skops":
        pytest.importorskip("skops", reason="skops is in the test extra")
    kind, params = CHECKPOINT_CASES[case]
    directory = tmp_path / kind
    checkpoint = Checkpoint(directory, every=2, format=file_format)
    estimator = make_estimator(kind, **params).set_callbacks(checkpoint)
    fit_quietly(estimator, kind=kind)
    suffix = {"pickle": "pkl", "skops": "skops"}[file_format]
    assert sorted(os.listdir(directory)) == [
        f"epoch_{epoch:04d}.{suffix}" for epoch in (2, 4, 6)
    ]
    assert checkpoint.paths_ == [
        str(directory / f"epoch_{epoch:04d}.{suffix}") for epoch in (2, 4, 6)
    ]
    for epoch, path in zip((2, 4, 6), checkpoint.paths_, strict=True):
        loaded = load(path, file_format, kind)
        assert type(loaded) is type(estimator)
        assert loaded.n_iter_ == len(loaded.loss_curve_) == epoch
        assert loaded.loss_curve_ == estimator.loss_curve_[:epoch]
        predict = loaded.predict_proba if kind == "classifier" else loaded.predict
        expected = predictions[epoch - 1]
        assert predict(X).tobytes() == expected.tobytes()
    # Epochs 1, 3 and 5 did predict otherwise: the comparisons could fail.
    assert predictions[4].tobytes() != predictions[5].tobytes()


def test_a_checkpoint_holds_no_callbacks_and_resumes_exactly(tmp_path, monkeypatch):
    # Epoch 3's checkpoint, continued by 3 partial_fit calls (which keep the
    # optimizer and the generator), reaches the 6-epoch fit's weights.
    weights = {}

    def hook(self, history):
        weights[len(self.loss_curve_)] = self._network.flat_params_copy()

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    checkpoint = Checkpoint(tmp_path / "run", every=3)
    estimator = make_estimator(max_iter=6).set_callbacks(checkpoint)
    fit_quietly(estimator)
    fitted_weights = dict(weights)  # partial_fit's epochs record theirs too
    with open(checkpoint.paths_[0], "rb") as file:
        data = file.read()
    # Neither scikit-learn's callback contexts nor the callbacks themselves.
    assert b"sklearn.callback" not in data and b"Checkpoint" not in data
    loaded = pickle.loads(data)
    assert not [name for name in vars(loaded) if "callback" in name]
    np.testing.assert_array_equal(loaded._network.flat_params, fitted_weights[3])
    for _ in range(3):
        loaded.partial_fit(X, Y["classifier"])
    np.testing.assert_array_equal(loaded._network.flat_params, fitted_weights[6])


def test_checkpoints_change_nothing_in_training(tmp_path):
    plain = fit_quietly(make_estimator(dropout=0.2))
    estimator = make_estimator(dropout=0.2)
    estimator.set_callbacks(Checkpoint(tmp_path / "run", format="pickle"))
    fit_quietly(estimator)
    assert len(os.listdir(tmp_path / "run")) == estimator.n_iter_ == 6
    assert len(estimator._skl_callbacks) == 1
    del estimator._skl_callbacks
    assert full_state(estimator) == full_state(plain)


def test_every_counts_the_models_epochs_across_calls(tmp_path):
    directory = tmp_path / "run"
    checkpoint = Checkpoint(directory, every=3)
    estimator = make_estimator(max_iter=7, warm_start=True).set_callbacks(checkpoint)
    fit_quietly(estimator)
    assert [Path(path).name for path in checkpoint.paths_] == [
        "epoch_0003.pkl",
        "epoch_0006.pkl",
    ]
    estimator.set_params(max_iter=3)
    fit_quietly(estimator)  # the model's epochs 8 to 10
    assert [Path(path).name for path in checkpoint.paths_] == ["epoch_0009.pkl"]
    for _ in range(2):  # epochs 11 and 12
        estimator.partial_fit(X, Y["classifier"])
    assert [Path(path).name for path in checkpoint.paths_] == ["epoch_0012.pkl"]
    assert sorted(os.listdir(directory)) == [
        "epoch_0003.pkl",
        "epoch_0006.pkl",
        "epoch_0009.pkl",
        "epoch_0012.pkl",
    ]


@pytest.mark.parametrize("every, saved", [(1, [1, 2, 4, 6]), (2, [2, 6])])
def test_save_best_only_by_the_loss(every, saved, losses, predictions, tmp_path):
    # Epochs 2, 4 and 6 are considered with every=2: epoch 4 (0.9) does not
    # beat epoch 2 (0.8); with every=1 epochs 3 and 5 do not beat 2 and 4
    # (epoch 5 ties with 4: not better).
    if every == 1:
        losses.extend([1.0, 0.8, 0.85, 0.7, 0.7, 0.6])
    else:
        losses.extend([1.0, 0.8, 0.5, 0.9, 0.75, 0.7])
    directory = tmp_path / "best"
    checkpoint = Checkpoint(directory, every=every, save_best_only=True)
    fit_quietly(make_estimator().set_callbacks(checkpoint))
    names = [f"epoch_{epoch:04d}.pkl" for epoch in saved]
    assert sorted(os.listdir(directory)) == names
    assert checkpoint.best_path_ == str(directory / names[-1])
    assert checkpoint.best_epoch_ == 6
    best = checkpoint.load_best()
    assert best.predict_proba(X).tobytes() == predictions[5].tobytes()


def test_save_best_only_into_one_file_by_the_validation_score(
    losses, scores, predictions, tmp_path
):
    # 'auto' with early stopping reads the validation score, which peaks at
    # epoch 3, not the loss, which falls throughout: the one file holds
    # epoch 3.
    losses.extend(FALLING_LOSSES)
    scores.extend([0.1, 0.2, 0.6, 0.5, 0.4, 0.3])
    path = tmp_path / "model.pkl"
    checkpoint = Checkpoint(path, save_best_only=True)
    estimator = make_estimator(early_stopping=True).set_callbacks(checkpoint)
    fit_quietly(estimator)
    assert os.listdir(tmp_path) == ["model.pkl"]
    assert checkpoint.paths_ == [str(path)] * 3
    assert (checkpoint.best_path_, checkpoint.best_epoch_) == (str(path), 3)
    best = checkpoint.load_best()
    assert best.loss_curve_ == FALLING_LOSSES[:3]
    assert best.predict_proba(X).tobytes() == predictions[2].tobytes()
    # The fitted estimator kept the best epoch's weights too (early stopping).
    assert estimator.predict_proba(X).tobytes() == predictions[2].tobytes()


def test_one_file_overwritten_by_a_worse_epoch_holds_no_best(losses, tmp_path):
    losses.extend([1.0, 0.5, 0.7])
    checkpoint = Checkpoint(tmp_path / "model.pkl")
    with pytest.raises(ValueError, match="no fit has used this Checkpoint yet"):
        checkpoint.load_best()
    fit_quietly(make_estimator(max_iter=3).set_callbacks(checkpoint))
    assert checkpoint.best_path_ is None and checkpoint.best_epoch_ is None
    with pytest.raises(ValueError, match="overwrote the one file"):
        checkpoint.load_best()
    # The file holds the last epoch.
    assert load(tmp_path / "model.pkl", "pickle").loss_curve_ == [1.0, 0.5, 0.7]


def test_skops_files_need_only_the_estimator_class_trusted(losses, tmp_path):
    skops_io = pytest.importorskip("skops.io", reason="skops is in the test extra")
    losses.extend([1.0, 0.5])
    checkpoint = Checkpoint(tmp_path / "regressor.skops", format="skops")
    estimator = make_estimator("regressor", max_iter=2).set_callbacks(checkpoint)
    fit_quietly(estimator, kind="regressor")
    assert skops_io.get_untrusted_types(file=checkpoint.best_path_) == [REGRESSOR]
    loaded = checkpoint.load_best()
    assert loaded.predict(X).tobytes() == estimator.predict(X).tobytes()


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "model.pkl"
    checkpoint = Checkpoint(path)
    fit_quietly(make_estimator(max_iter=2).set_callbacks(checkpoint))
    previous = path.read_bytes()
    estimator = make_estimator(max_iter=2, random_state=1)
    before = full_state(estimator)
    estimator.set_callbacks(checkpoint)

    def dump_half(obj, file, protocol=None):
        file.write(pickle.dumps(obj)[:100])
        raise OSError("No space left on device")

    monkeypatch.setattr(pickle, "dump", dump_half)
    with pytest.raises(OSError, match="No space left"):
        estimator.fit(X, Y["classifier"])
    assert path.read_bytes() == previous
    assert os.listdir(tmp_path) == ["model.pkl"]  # no temporary file left
    del estimator._skl_callbacks
    assert full_state(estimator) == before  # the fit was undone


def test_missing_skops_is_a_clear_error_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skops.io", None)
    steps = []
    monkeypatch.setattr(Trainer, "train_step", lambda self, *args: steps.append(1))
    estimator = make_estimator().set_callbacks(
        Checkpoint(tmp_path / "run", format="skops")
    )
    with pytest.raises(ImportError, match="needs skops: pip install skops"):
        estimator.fit(X, Y["classifier"])
    assert steps == []
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


def test_checkpoint_monitor_validation_score_needs_early_stopping(tmp_path):
    estimator = make_estimator().set_callbacks(
        Checkpoint(tmp_path / "run", monitor="validation_score")
    )
    with pytest.raises(ValueError, match="needs early_stopping=True"):
        estimator.fit(X, Y["classifier"])


# ---------------------------------------------------------- the user guide
def test_the_user_guide_section_runs(tmp_path, monkeypatch):
    page = (REPO_ROOT / "docs/user_guide/getting_started.md").read_text("utf-8")
    section = page.split("### Learning-rate plateaus and checkpoints", 1)[1]
    lines = section.split("```python\n", 1)[1].split("\n```", 1)[0].splitlines()
    monkeypatch.chdir(tmp_path)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compile("\n".join(lines), "getting_started.md", "exec"), namespace)
    best, clf = namespace["best"], namespace["plateau_model"]
    assert (
        namespace["checkpoint"].best_epoch_
        == int(np.argmax(clf.validation_scores_)) + 1
    )
    # The estimator keeps its best epoch's weights, as the best checkpoint does.
    assert (
        best.predict_proba(namespace["X_digits"])
        == clf.predict_proba(namespace["X_digits"])
    ).all()
