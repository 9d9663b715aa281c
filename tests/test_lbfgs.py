"""``optimizer='lbfgs'``: scipy's L-BFGS-B on the full-batch loss, as MLP's.

- it solves the small tasks of scikit-learn's own MLP tests
  (``sklearn/neural_network/tests/test_mlp.py``), and reaches
  ``MLPClassifier(solver='lbfgs')``'s loss from the same start;
- the function handed to scipy has the gradient finite differences give
  (sample and class weights, L1/L2, sparse X, every loss);
- ``max_iter``, ``max_fun`` and ``tol`` mean what they mean for MLP, and a
  limit warns;
- settings it cannot honour are clear errors; divergence and Ctrl-C leave
  the estimator as the stochastic optimizers do.

MLP's own L-BFGS fits run with BLAS kept to one thread, as ours do: scipy's
L-BFGS-B is many times slower with OpenBLAS threads on a busy machine.
"""

import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
from _gradcheck import assert_gradient_close
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler, scale
from threadpoolctl import threadpool_info, threadpool_limits

from sknnfs import NNFSClassifier, NNFSRegressor
from sknnfs._base import BaseNNFS
from sknnfs._lbfgs import FullBatchObjective


def _digits(n_class):
    X, y = load_digits(n_class=n_class, return_X_y=True)
    return MinMaxScaler().fit_transform(X[:200]), y[:200]


# The data sets of scikit-learn's MLP tests.
DIGITS = {"3 classes": _digits(3), "2 classes": _digits(2)}
X_REG, Y_REG = make_regression(
    n_samples=200, n_features=10, bias=20.0, noise=100.0, random_state=7
)
Y_REG = scale(Y_REG)
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
MLP_ACTIVATIONS = {"sigmoid": "logistic", "linear": "identity"}

X_DIGITS, Y_DIGITS = DIGITS["3 classes"]


def lbfgs_classifier(**params):
    # sklearn's MLP test settings; no penalty, and the start these tests were
    # written for (the defaults since changed to a small L2 and Glorot).
    settings = dict(
        hidden_layer_sizes=50,
        optimizer="lbfgs",
        max_iter=150,
        random_state=1,
        l2=0.0,
        weight_init="he",
        bias_init="zeros",
    )
    return NNFSClassifier(**{**settings, **params})


# ------------------------------------------------------- scikit-learn's tasks
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("task", DIGITS)
def test_lbfgs_fits_the_digits_tasks_of_sklearns_mlp_tests(task, activation):
    X, y = DIGITS[task]
    X_train, y_train = X[:150], y[:150]
    classifier = lbfgs_classifier(activation=activation).fit(X_train, y_train)
    assert accuracy_score(y_train, classifier.predict(X_train)) > 0.95
    y_predicted = classifier.predict(X[150:])
    assert y_predicted.shape == (50,) and y_predicted.dtype.kind == y.dtype.kind


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_lbfgs_fits_the_regression_task_of_sklearns_mlp_tests(activation):
    regressor = NNFSRegressor(
        hidden_layer_sizes=50,
        activation=activation,
        optimizer="lbfgs",
        max_iter=200,
        tol=1e-3,
        random_state=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X_REG, Y_REG)
    # A linear network is a linear model: MLP's test asks less of it too.
    expected = 0.80 if activation == "linear" else 0.98
    assert r2_score(Y_REG, regressor.predict(X_REG)) > expected


def test_lbfgs_fits_multi_output_regression():
    X, y = make_regression(n_samples=200, n_targets=5, random_state=11)
    regressor = NNFSRegressor(
        hidden_layer_sizes=50, optimizer="lbfgs", max_iter=200, tol=1e-2, random_state=1
    ).fit(X, y)
    assert r2_score(y, regressor.predict(X)) > 0.9


# With weight_init='glorot', bias_init='glorot' and the same random_state, our
# network starts from MLP's draws, except for the sigmoid: MLP widens its
# range for logistic units. A penalty that strong makes the minimum the same
# from either start.
@pytest.mark.parametrize(
    "activation, alpha",
    [("relu", 0.0), ("relu", 1e-2), ("tanh", 1e-2), ("linear", 1e-2), ("sigmoid", 1.0)],
)
def test_lbfgs_reaches_the_loss_of_mlp_lbfgs(activation, alpha):
    X, y = X_DIGITS, Y_DIGITS
    n_samples = len(X)
    with threadpool_limits(limits=1, user_api="blas"):
        mlp = MLPClassifier(
            hidden_layer_sizes=50,
            activation=MLP_ACTIVATIONS.get(activation, activation),
            solver="lbfgs",
            alpha=alpha,
            max_iter=150,
            random_state=1,
        ).fit(X, y)
    ours = lbfgs_classifier(
        activation=activation,
        weight_init="glorot",
        bias_init="glorot",
        l2=alpha / (2 * n_samples),  # MLP's full-batch penalty
    ).fit(X, y)

    def training_loss(model, l2):
        squared_weights = sum(float((weights**2).sum()) for weights in model.coefs_)
        return log_loss(y, model.predict_proba(X)) + l2 * squared_weights

    mlp_loss = training_loss(mlp, alpha / (2 * n_samples))
    our_loss = training_loss(ours, alpha / (2 * n_samples))
    assert mlp_loss == pytest.approx(mlp.loss_, rel=1e-6)
    assert our_loss == pytest.approx(ours.loss_, rel=1e-6)
    assert our_loss == pytest.approx(mlp_loss, rel=0.01)


# ------------------------------------------------- the function scipy minimises
class _Captured(Exception):
    """Raised by the stand-in for scipy's minimize, with what it was given."""


def captured_objective(estimator, X, y, sample_weight=None, monkeypatch=None):
    """The function and the start the estimator's fit hands to scipy."""

    def capturing_minimize(fun, x0, **kwargs):
        raise _Captured(fun, x0, kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", capturing_minimize)
    with pytest.raises(_Captured) as captured:
        estimator.fit(X, y, sample_weight=sample_weight)
    monkeypatch.undo()
    return captured.value.args


RNG = np.random.default_rng(0)
X_SMALL = RNG.standard_normal((12, 4))
X_SPARSE = scipy.sparse.random(12, 4, density=0.5, random_state=0, format="csr")
WEIGHTS = RNG.uniform(0.2, 3.0, 12)
PENALTIES = dict(l1=1e-2, l2=1e-2, bias_l1=1e-2, bias_l2=1e-2, bias_init="glorot")
GRADIENT_CASES = {
    "softmax, class and sample weights, every penalty, sparse X": (
        NNFSClassifier(
            hidden_layer_sizes=(5,),
            activation="tanh",
            class_weight="balanced",
            **PENALTIES,
        ),
        X_SPARSE,
        np.arange(12) % 3,
        WEIGHTS,
    ),
    "softmax, relu, two hidden layers": (
        NNFSClassifier(hidden_layer_sizes=(5, 4), l2=1e-2),
        X_SMALL,
        np.arange(12) % 3,
        None,
    ),
    "multilabel sigmoid, sample weights": (
        NNFSClassifier(hidden_layer_sizes=(5,), activation="sigmoid", l1=1e-2),
        X_SMALL,
        (X_SMALL[:, :3] > 0).astype(int),
        WEIGHTS,
    ),
    "squared error, two outputs, every penalty": (
        NNFSRegressor(hidden_layer_sizes=(5,), activation="tanh", **PENALTIES),
        X_SMALL,
        X_SMALL[:, :2] @ np.array([[1.0, -2.0], [0.5, 3.0]]),
        WEIGHTS,
    ),
    "absolute error, linear hidden layer, sparse X": (
        NNFSRegressor(
            loss="absolute_error", hidden_layer_sizes=(5,), activation="linear"
        ),
        X_SPARSE,
        np.arange(12.0),
        WEIGHTS,
    ),
}


@pytest.mark.parametrize("case", GRADIENT_CASES)
def test_the_function_handed_to_scipy_has_the_finite_difference_gradient(
    case, monkeypatch
):
    template, X, y, sample_weight = GRADIENT_CASES[case]
    estimator = template.set_params(optimizer="lbfgs", random_state=0)
    fun, x0, options = captured_objective(estimator, X, y, sample_weight, monkeypatch)
    assert options["method"] == "L-BFGS-B" and options["jac"] is True
    params = np.array(x0, dtype=np.float64)
    loss, gradient = fun(params.copy())
    assert gradient.dtype == np.float64
    assert_gradient_close(gradient, lambda: fun(params)[0], params)


def test_the_objective_weighs_samples_and_penalises_the_weights():
    # Against the loss written out by hand, for a network with no hidden layer.
    estimator = NNFSRegressor(hidden_layer_sizes=(), optimizer="lbfgs")
    estimator.set_params(l2=0.1, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X_SMALL, X_SMALL[:, 0])
    network = estimator._network
    objective = FullBatchObjective(network, X_SMALL, X_SMALL[:, 1:2], WEIGHTS)
    params = RNG.standard_normal(network.flat_params.size)
    loss, _ = objective(params)
    weights, bias = params[:4], params[4]
    residuals = X_SMALL @ weights + bias - X_SMALL[:, 1]
    # The network's loss is mean(sample_weight * losses); the estimator scales
    # the weights to mean one, which makes it their weighted mean.
    expected = np.mean(WEIGHTS * residuals**2) + 0.1 * (weights**2).sum()
    assert loss == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------- MLP's limits and tol
def test_max_iter_counts_lbfgs_iterations_and_warns_when_reached(capsys):
    classifier = lbfgs_classifier(max_iter=5, verbose=1)
    with pytest.warns(ConvergenceWarning, match=r"(?s)after 5 iteration.*max_iter=5"):
        classifier.fit(X_DIGITS, Y_DIGITS)
    assert classifier.n_iter_ == 5
    assert len(classifier.loss_curve_) == 5
    # L-BFGS's line search accepts only decreases.
    assert np.all(np.diff(classifier.loss_curve_) < 0)
    assert classifier.loss_ == classifier.loss_curve_[-1]
    assert classifier.best_loss_ == min(classifier.loss_curve_)
    assert classifier.t_ == 5 * len(X_DIGITS)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"Iteration {n}" for n in range(1, 6)
    ]


def test_max_fun_limits_the_loss_evaluations_and_warns(monkeypatch):
    evaluations = []
    call = FullBatchObjective.__call__

    def counting_call(self, params):
        evaluations.append(1)
        return call(self, params)

    monkeypatch.setattr(FullBatchObjective, "__call__", counting_call)
    classifier = lbfgs_classifier(max_fun=10)
    with pytest.warns(ConvergenceWarning, match=r"(?s)EVALUATIONS EXCEEDS.*max_fun=10"):
        classifier.fit(X_DIGITS, Y_DIGITS)
    # scipy checks the count between iterations: one line search (at most 20
    # evaluations) can go past it.
    assert 10 < len(evaluations) <= 10 + 20
    assert 1 <= classifier.n_iter_ < 10
    assert len(classifier.loss_curve_) == classifier.n_iter_


@pytest.mark.parametrize("tol", (1e-2, 1e-5))
def test_tol_is_the_gradient_tolerance_as_for_mlp(tol):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # it converged
        classifier = lbfgs_classifier(tol=tol, max_iter=500).fit(X_DIGITS, Y_DIGITS)
    network = classifier._network
    _, gradient = network.loss_and_gradients(X_DIGITS, Y_DIGITS, training=False)
    assert np.abs(gradient).max() <= tol
    # It stopped as soon as the gradient was small enough, not later.
    assert classifier.n_iter_ < (30 if tol == 1e-2 else 500)


def test_a_tighter_tol_runs_more_iterations():
    loose = lbfgs_classifier(tol=1e-2).fit(X_DIGITS, Y_DIGITS)
    tight = lbfgs_classifier(tol=1e-5).fit(X_DIGITS, Y_DIGITS)
    assert tight.n_iter_ > loose.n_iter_
    assert tight.loss_ < loose.loss_


def test_max_fun_is_a_validated_parameter():
    for estimator_class in (NNFSClassifier, NNFSRegressor):
        assert estimator_class().get_params()["max_fun"] == 15000
        with pytest.raises(ValueError, match="'max_fun' parameter"):
            estimator_class(optimizer="lbfgs", max_fun=0).fit(
                X_SMALL, np.arange(12) % 2
            )


# ---------------------------------------------------- settings it cannot honour
@pytest.mark.parametrize(
    "params, message",
    [
        ({"dropout": 0.2}, r"dropout=0\.2 cannot be used with optimizer='lbfgs'"),
        (
            {"early_stopping": True},
            r"early_stopping=True cannot be used with optimizer='lbfgs'",
        ),
    ],
)
def test_settings_lbfgs_cannot_honour_are_clear_errors(params, message):
    classifier = lbfgs_classifier(**params)
    with pytest.raises(ValueError, match=message):
        classifier.fit(X_DIGITS, Y_DIGITS)
    with pytest.raises(NotFittedError):
        classifier.predict(X_DIGITS)


@pytest.mark.parametrize("estimator_class", (NNFSClassifier, NNFSRegressor))
def test_partial_fit_is_not_available_with_lbfgs(estimator_class):
    estimator = estimator_class(optimizer="lbfgs")
    # As for MLPClassifier(solver='lbfgs'): meta-estimators see no partial_fit.
    assert not hasattr(estimator, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as error:
        estimator.partial_fit(X_SMALL, np.arange(12) % 2)
    cause = error.value.__cause__
    assert isinstance(cause, ValueError)
    assert "partial_fit is not available with optimizer='lbfgs'" in str(cause)
    assert hasattr(estimator.set_params(optimizer="adam"), "partial_fit")


def test_partial_fit_after_an_lbfgs_fit_starts_a_new_optimizer():
    classifier = lbfgs_classifier(max_iter=20).fit(X_DIGITS, Y_DIGITS)
    before = classifier.loss_
    classifier.set_params(optimizer="adam", learning_rate=1e-3)
    classifier.partial_fit(X_DIGITS, Y_DIGITS)
    assert type(classifier._optimizer).__name__ == "Adam"
    assert classifier.loss_curve_[-1] < 10 * before  # it went on from the fit


# ------------------------------------------------------- divergence, interrupts
def _state(estimator):
    return {
        "params": estimator._network.flat_params.tobytes(),
        "attributes": sorted(estimator.__dict__),
        "n_iter_": estimator.n_iter_,
        "loss_curve_": list(estimator.loss_curve_),
        "pickle": pickle.dumps(estimator),
    }


def test_a_loss_that_overflows_is_a_divergence_error():
    regressor = NNFSRegressor(hidden_layer_sizes=(4,), optimizer="lbfgs")
    # The error is the one message: no NumPy overflow warnings before it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(
            ValueError,
            match=r"Training diverged: the loss became inf at L-BFGS iteration 1\. "
            "Scale the features",
        ):
            regressor.fit(X_SMALL * 1e160, X_SMALL[:, 0])
    with pytest.raises(NotFittedError):
        regressor.predict(X_SMALL)


@pytest.mark.parametrize(
    "bad_value, message",
    [("loss", "the loss became nan"), ("gradient", "the gradient overflowed")],
)
def test_a_warm_started_fit_that_diverges_restores_the_estimator(
    bad_value, message, monkeypatch
):
    classifier = lbfgs_classifier(max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(X_DIGITS, Y_DIGITS)
    before = _state(classifier)
    evaluations = []
    call = FullBatchObjective.__call__

    def diverging_call(self, params):
        evaluations.append(1)
        loss, gradient = call(self, params)
        if len(evaluations) == 6:  # a few iterations in
            if bad_value == "loss":
                return np.nan, gradient
            gradient[0] = np.inf
        return loss, gradient

    monkeypatch.setattr(FullBatchObjective, "__call__", diverging_call)
    classifier.set_params(warm_start=True, max_iter=50)
    with pytest.raises(ValueError, match=f"Training diverged: {message}"):
        classifier.fit(X_DIGITS, Y_DIGITS)
    classifier.set_params(warm_start=False, max_iter=3)
    assert _state(classifier) == before


def _interrupt_at_evaluation(monkeypatch, interrupt_at_evaluation):
    """Make the objective raise KeyboardInterrupt at that evaluation."""
    evaluated = []
    call = FullBatchObjective.__call__

    def interrupting_call(self, params):
        evaluated.append(np.array(params))
        if len(evaluated) == interrupt_at_evaluation:
            self.network.load_flat_params(params)
            raise KeyboardInterrupt
        return call(self, params)

    monkeypatch.setattr(FullBatchObjective, "__call__", interrupting_call)
    return evaluated


def test_interrupt_keeps_the_last_completed_iteration(epoch_weights, monkeypatch):
    evaluated = _interrupt_at_evaluation(monkeypatch, 9)
    classifier = lbfgs_classifier()
    with pytest.warns(UserWarning, match="Training interrupted after") as record:
        classifier.fit(X_DIGITS, Y_DIGITS)
    completed = len(epoch_weights)
    assert completed > 0
    assert f"after {completed} L-BFGS iterations" in str(record[0].message)
    assert classifier.n_iter_ == completed == len(classifier.loss_curve_)
    # The interrupted evaluation had loaded other weights: they were put back.
    assert not np.array_equal(evaluated[-1], epoch_weights[-1])
    np.testing.assert_array_equal(classifier._network.flat_params, epoch_weights[-1])
    assert classifier.predict(X_DIGITS).shape == Y_DIGITS.shape


@pytest.mark.parametrize("warm_start", (False, True))
def test_interrupt_before_the_first_iteration_changes_nothing(
    warm_start, epoch_weights, monkeypatch
):
    # Nothing of the call to keep: the KeyboardInterrupt goes on, and a new
    # estimator stays unfitted, a fitted one as it was.
    classifier = lbfgs_classifier(max_iter=3, warm_start=warm_start)
    if warm_start:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            classifier.fit(X_DIGITS, Y_DIGITS)
    before = _state(classifier) if warm_start else pickle.dumps(classifier)
    n_recorded = len(epoch_weights)
    _interrupt_at_evaluation(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        classifier.fit(X_DIGITS, Y_DIGITS)
    assert len(epoch_weights) == n_recorded  # no iteration completed
    if warm_start:
        assert _state(classifier) == before
    else:
        assert pickle.dumps(classifier) == before
        with pytest.raises(NotFittedError):
            classifier.predict(X_DIGITS)


def test_interrupt_from_the_epoch_hook_keeps_that_iteration(monkeypatch):
    recorded = []

    def hook(self, history):
        recorded.append(self._network.flat_params_copy())
        if history.n_iter == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(BaseNNFS, "_on_epoch_end", hook)
    classifier = lbfgs_classifier()
    with pytest.warns(UserWarning, match="after 4 L-BFGS iterations"):
        classifier.fit(X_DIGITS, Y_DIGITS)
    assert classifier.n_iter_ == 4
    np.testing.assert_array_equal(classifier._network.flat_params, recorded[-1])


# ------------------------------------------------------------ data and dtypes
def test_sparse_X_trains_as_dense_X():
    settings = dict(max_iter=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = lbfgs_classifier(**settings).fit(X_DIGITS, Y_DIGITS)
        sparse = lbfgs_classifier(**settings).fit(
            scipy.sparse.csr_matrix(X_DIGITS), Y_DIGITS
        )
    assert sparse.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-8)
    np.testing.assert_allclose(
        sparse.predict_proba(X_DIGITS), dense.predict_proba(X_DIGITS), atol=1e-8
    )


def test_a_float32_network_evaluates_in_float32(monkeypatch):
    dtypes = set()
    call = FullBatchObjective.__call__

    def recording_call(self, params):
        loss, gradient = call(self, params)
        dtypes.add((params.dtype, self.network.flat_params.dtype, gradient.dtype))
        return loss, gradient

    monkeypatch.setattr(FullBatchObjective, "__call__", recording_call)
    fits = {}
    for dtype in ("float32", "float64"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits[dtype] = lbfgs_classifier(dtype=dtype, max_iter=10).fit(
                X_DIGITS, Y_DIGITS
            )
    # scipy's vectors are float64; the float32 network computes in float32.
    assert (np.dtype("float64"), np.dtype("float32"), np.dtype("float64")) in dtypes
    assert fits["float32"].coefs_[0].dtype == np.float32
    assert fits["float32"].predict_proba(X_DIGITS).dtype == np.float32
    assert fits["float32"].loss_ == pytest.approx(fits["float64"].loss_, rel=1e-3)


def test_a_warm_start_continues_from_the_fitted_weights(monkeypatch):
    classifier = lbfgs_classifier(max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(X_DIGITS, Y_DIGITS)
        first_loss = classifier.loss_
        losses = []
        call = FullBatchObjective.__call__

        def recording_call(self, params):
            loss, gradient = call(self, params)
            losses.append(loss)
            return loss, gradient

        monkeypatch.setattr(FullBatchObjective, "__call__", recording_call)
        classifier.set_params(warm_start=True).fit(X_DIGITS, Y_DIGITS)
    assert losses[0] == pytest.approx(first_loss, rel=1e-12)
    assert classifier.loss_ < first_loss


def test_an_lbfgs_model_pickles():
    classifier = lbfgs_classifier(max_iter=20).fit(X_DIGITS, Y_DIGITS)
    restored = pickle.loads(pickle.dumps(classifier))
    np.testing.assert_array_equal(
        restored.predict_proba(X_DIGITS), classifier.predict_proba(X_DIGITS)
    )
    # Pickles from before max_fun existed load with MLP's default.
    state = classifier.__getstate__()
    del state["max_fun"]
    older = NNFSClassifier.__new__(NNFSClassifier)
    older.__setstate__(state)
    assert older.get_params()["max_fun"] == 15000


# ------------------------------------------------------------ BLAS and callbacks
def _blas_threads():
    return [
        info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"
    ]


def test_blas_runs_on_one_thread_during_lbfgs_on_any_thread(monkeypatch):
    seen = []
    call = FullBatchObjective.__call__

    def recording_call(self, params):
        seen.append(_blas_threads())
        return call(self, params)

    monkeypatch.setattr(FullBatchObjective, "__call__", recording_call)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        lbfgs_classifier(max_iter=150).fit(X_DIGITS, Y_DIGITS)
        assert set(map(tuple, seen)) == {tuple(1 for _ in before)}
        assert _blas_threads() == before  # the limit ends with the fit
        seen.clear()
        worker = threading.Thread(
            target=lambda: lbfgs_classifier().fit(X_DIGITS, Y_DIGITS)
        )
        worker.start()
        worker.join()
        # On a worker thread too, while the caller's limit holds on this one.
        assert set(map(tuple, seen)) == {tuple(1 for _ in before)}
        assert _blas_threads() == before


class EpochRecorder:
    """A scikit-learn callback recording the epoch tasks; can ask to stop."""

    def __init__(self, stop_after=None):
        self.epochs = []
        self.stop_after = stop_after

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name != "epoch":
            return False
        self.epochs.append((context.task_id, estimator.loss_curve_[-1]))
        return self.stop_after is not None and len(self.epochs) >= self.stop_after


def test_each_iteration_is_an_epoch_task_and_a_callback_can_stop_it():
    pytest.importorskip("sklearn.callback")
    recorder = EpochRecorder()
    classifier = lbfgs_classifier().set_callbacks(recorder).fit(X_DIGITS, Y_DIGITS)
    assert [task_id for task_id, _ in recorder.epochs] == list(
        range(classifier.n_iter_)
    )
    assert [loss for _, loss in recorder.epochs] == classifier.loss_curve_
    stopping = EpochRecorder(stop_after=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        classifier = lbfgs_classifier().set_callbacks(stopping).fit(X_DIGITS, Y_DIGITS)
    assert classifier.n_iter_ == 3 == len(stopping.epochs)
