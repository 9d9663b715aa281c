"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9)."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier, NNFSRegressor

PROGRESS_EXTRA = 'ProgressBar needs the progress extra: pip install -e ".[progress]"'

callback = pytest.importorskip(
    "sklearn.callback", reason="scikit-learn's callbacks need scikit-learn 1.9 or later"
)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X, y


def small_classifier(**params):
    # tol=0 and a large patience: every one of max_iter epochs runs.
    settings = dict(
        hidden_layer_sizes=(8,),
        learning_rate=0.02,
        max_iter=6,
        tol=0.0,
        n_iter_no_change=1000,
        random_state=0,
    )
    settings.update(params)
    return NNFSClassifier(**settings)


class RecordingCallback:
    """Records every hook call as (hook, task_name, task_id)."""

    def __init__(self, stop_after_epoch=None):
        self.calls = []
        self.stop_after_epoch = stop_after_epoch

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, context.task_id))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name, context.task_id))

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context):
        self.calls.append(("end", context.task_name, context.task_id))
        return (
            context.task_name == "epoch"
            and self.stop_after_epoch is not None
            and context.task_id + 1 >= self.stop_after_epoch
        )

    def hooks(self, name):
        return [call for call in self.calls if call[0] == name]


def test_scoring_monitor_sees_one_record_per_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="neg_log_loss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = small_classifier().set_callbacks(monitor).fit(X, y)
    records = monitor.get_logs().data
    epochs = [record for record in records if record["task_name"] == "epoch"]
    assert clf.n_iter_ == 6
    assert [record["task_id"] for record in epochs] == list(range(6))
    # Scores change while it learns, and the last one is that of the final model.
    assert len({record["neg_log_loss"] for record in epochs}) == 6
    assert epochs[-1]["neg_log_loss"] == pytest.approx(clf.score(X, y), rel=1e-12)
    (fit_record,) = [record for record in records if record["task_name"] == "fit"]
    assert fit_record["neg_log_loss"] == pytest.approx(clf.score(X, y), rel=1e-12)


def test_scoring_monitor_with_early_stopping_counts_run_epochs(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="accuracy")
    clf = small_classifier(
        early_stopping=True, n_iter_no_change=2, tol=10.0, max_iter=50
    )
    clf.set_callbacks(monitor).fit(X, y)
    epochs = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    # The first epoch improves on nothing (-inf); it stops at the third that
    # fails by tol, the first more than n_iter_no_change=2.
    assert clf.n_iter_ == 4
    assert len(epochs) == 4


def test_partial_fit_is_one_epoch_task(data):
    X, y = data
    recorder = RecordingCallback()
    reg = NNFSRegressor(hidden_layer_sizes=(4,), random_state=0)
    reg.set_callbacks(recorder)
    X_reg, y_reg = make_regression(n_samples=40, n_features=3, random_state=0)
    reg.partial_fit(X_reg, y_reg)
    reg.partial_fit(X_reg, y_reg)
    assert recorder.hooks("end") == [("end", "epoch", 0), ("end", "fit", 0)] * 2
    assert len(recorder.hooks("setup")) == len(recorder.hooks("teardown")) == 2


def test_callbacks_do_not_change_the_fit(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = small_classifier(dropout=0.2).fit(X, y)
        with_callbacks = (
            small_classifier(dropout=0.2).set_callbacks(RecordingCallback()).fit(X, y)
        )
    np.testing.assert_array_equal(
        plain._network.flat_params, with_callbacks._network.flat_params
    )


def test_a_callback_can_stop_training_without_convergence_warning(data):
    X, y = data
    recorder = RecordingCallback(stop_after_epoch=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = small_classifier(max_iter=20).set_callbacks(recorder).fit(X, y)
    assert clf.n_iter_ == 3
    assert len(clf.loss_curve_) == 3


class FailingCallback(RecordingCallback):
    def on_fit_task_end(self, estimator, context):
        super().on_fit_task_end(estimator, context)
        if context.task_name == "epoch" and context.task_id == 1:
            raise RuntimeError("callback failed at epoch 2")


def test_teardown_runs_when_fit_fails(data):
    # A failed fit restores the estimator's previous attributes; the callback
    # machinery's own attributes must survive that, or teardown is skipped
    # (a ProgressBar would then leave its display thread running).
    X, y = data
    recorder = FailingCallback()
    clf = small_classifier().set_callbacks(recorder)
    with pytest.raises(RuntimeError, match="epoch 2"):
        clf.fit(X, y)
    assert recorder.hooks("setup") == [("setup", "fit", 0)]
    assert recorder.hooks("teardown") == [("teardown", "fit", 0)]
    assert not hasattr(clf, "_callback_fit_ctx")
    assert not hasattr(clf, "n_iter_")  # the failed fit left nothing behind


def test_verbose_keeps_its_plain_log_with_callbacks(data, capsys):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        small_classifier(verbose=1).set_callbacks(RecordingCallback()).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Epoch {n}" for n in range(1, 7)]


def test_progress_bar_in_grid_search_over_a_pipeline(data):
    pytest.importorskip("rich", reason=PROGRESS_EXTRA)
    X, y = data
    pipeline = make_pipeline(StandardScaler(), small_classifier(max_iter=4))
    search = GridSearchCV(pipeline, {"nnfsclassifier__l2": [0.0, 1e-3]}, cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert search.best_estimator_[-1].n_iter_ == 4
    # Propagated callbacks are removed from the sub-estimators after the fit.
    assert not hasattr(search.best_estimator_[-1], "_skl_callbacks")


def test_progress_bar_on_the_classifier_alone(data, capsys):
    pytest.importorskip("rich", reason=PROGRESS_EXTRA)
    X, y = data
    clf = small_classifier(max_iter=3).set_callbacks(callback.ProgressBar())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == 3
    assert "NNFSClassifier - fit" in capsys.readouterr().out


def test_scoring_monitor_inside_grid_search_records_every_epoch(data):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="accuracy")
    search = GridSearchCV(
        small_classifier(max_iter=3).set_callbacks(monitor),
        {"l2": [0.0, 1e-3]},
        cv=2,
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    runs = monitor.get_logs(select="all")
    epochs = [r for run in runs for r in run.data if r["task_name"] == "epoch"]
    # 2 candidates x 2 folds x 3 epochs.
    assert len(epochs) == 12


def test_package_works_without_sklearn_callback(tmp_path):
    # scikit-learn itself (1.9+) needs sklearn.callback, so the scikit-learn
    # modules are imported first; then sklearn.callback is made unimportable
    # (a None entry in sys.modules makes `import` raise ImportError), as on a
    # scikit-learn older than 1.9, before sknnfs is imported.
    script = textwrap.dedent(
        """
        import sys
        import sklearn.callback._callback_support
        import sklearn.model_selection, sklearn.pipeline, sklearn.metrics
        sys.modules["sklearn.callback"] = None
        try:
            from sklearn.callback import CallbackSupportMixin
        except ImportError:
            pass
        else:
            raise SystemExit("sklearn.callback is still importable")

        import numpy as np
        from sknnfs import NNFSClassifier
        X = np.array([[0.0, 1.0], [1.0, 0.0], [0.9, 0.1], [0.1, 0.9]] * 5)
        y = np.array([0, 1, 1, 0] * 5)
        clf = NNFSClassifier(hidden_layer_sizes=(4,), learning_rate=0.05,
                             max_iter=100, random_state=0).fit(X, y)
        assert not hasattr(clf, "set_callbacks")
        assert (clf.predict(X) == y).all()
        print("ok")
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"
