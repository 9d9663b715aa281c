"""``early_stopping='auto'``, the default: what it resolves to, and that it
then trains exactly as ``early_stopping=True`` or ``False`` does."""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from sknnfs import Checkpoint, NNFSClassifier, NNFSRegressor

DATA = Path(__file__).resolve().parent / "data"


def classification(n_samples=120):
    return make_classification(
        n_samples, 6, n_informative=4, n_classes=3, random_state=0
    )


def regression(n_samples=120):
    return make_regression(n_samples, 6, noise=1.0, random_state=0)


def fit(estimator, *args, method="fit", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args, **kwargs)


def small(estimator_class, **params):
    settings = dict(hidden_layer_sizes=(8,), max_iter=12, random_state=0)
    return estimator_class(**{**settings, **params})


def outputs(estimator, X):
    if isinstance(estimator, NNFSClassifier):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def assert_same_fit(first, second, X):
    """Bit for bit: the predictions, the record, and the generator's state."""
    assert outputs(first, X).tobytes() == outputs(second, X).tobytes()
    assert first.loss_curve_ == second.loss_curve_
    assert first.validation_scores_ == second.validation_scores_
    assert first.n_iter_ == second.n_iter_ and first.t_ == second.t_
    assert (
        first._training_rng.bit_generator.state
        == second._training_rng.bit_generator.state
    )


def test_auto_is_the_default_of_both_estimators():
    assert NNFSClassifier().early_stopping == "auto"
    assert NNFSRegressor().early_stopping == "auto"


def test_the_default_cap_leaves_ending_a_fit_to_the_validation_score():
    # The book's sine data: at MLP's max_iter=200 the cap ends this fit, with
    # a ConvergenceWarning and R² 0.87, while it still improves; the default
    # max_iter=1000 is there so that the validation score ends it (defaults
    # page: over 50 cross-validated fits, R² 0.775 at 200, 0.995 at 1000).
    from nnfs.datasets import sine_data

    X, y = sine_data(samples=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        regressor = NNFSRegressor(random_state=0).fit(X, y.ravel())
    assert regressor.max_iter == 1000 and NNFSClassifier().max_iter == 1000
    assert regressor.do_early_stopping_
    assert 200 < regressor.n_iter_ < regressor.max_iter
    assert regressor.score(X, y.ravel()) > 0.99


# --------------------------------------------------------- resolution table
@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_auto_holds_out_a_split_in_a_stochastic_fit_of_enough_data(
    estimator_class,
):
    X, y = classification() if estimator_class is NNFSClassifier else regression()
    estimator = fit(small(estimator_class), X, y)
    assert estimator.do_early_stopping_ is True
    assert len(estimator.validation_scores_) == estimator.n_iter_
    assert estimator.best_loss_ is None
    # A tenth of the rows, rounded up, is held out of every epoch.
    assert estimator.t_ == estimator.n_iter_ * (len(y) - 12)


@pytest.mark.parametrize(
    "n_samples, expected",
    # validation_fraction=0.1 holds out ceil(0.1 * n): 2 from 11 rows, 1 from 10.
    [(11, True), (10, False), (3, False)],
)
def test_auto_splits_exactly_when_early_stopping_true_can(n_samples, expected):
    X, y = classification()
    X, y = X[:n_samples], y[:n_samples]
    estimator = fit(small(NNFSClassifier), X, y)
    assert estimator.do_early_stopping_ is expected
    assert (estimator.validation_scores_ is not None) is expected
    if not expected:
        with pytest.raises(ValueError, match="validation set is too small"):
            fit(small(NNFSClassifier, early_stopping=True), X, y)


def test_auto_trains_on_every_row_when_too_few_weigh_anything():
    X, y = classification(40)
    weights = np.zeros(len(y))
    weights[:2] = 1.0  # 40 rows, but only 2 may be held out and scored
    estimator = fit(small(NNFSClassifier), X, y, sample_weight=weights)
    assert estimator.do_early_stopping_ is False
    assert estimator.validation_scores_ is None
    assert estimator.t_ == estimator.n_iter_ * len(y)
    with pytest.raises(ValueError, match="at least 3 samples with a positive"):
        fit(small(NNFSClassifier, early_stopping=True), X, y, sample_weight=weights)


@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_auto_trains_lbfgs_on_every_row_without_an_error(estimator_class):
    X, y = classification() if estimator_class is NNFSClassifier else regression()
    estimator = fit(small(estimator_class, optimizer="lbfgs"), X, y)
    assert estimator.do_early_stopping_ is False
    assert estimator.validation_scores_ is None
    with pytest.raises(ValueError, match="cannot be used with optimizer='lbfgs'"):
        fit(small(estimator_class, optimizer="lbfgs", early_stopping=True), X, y)


@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
def test_auto_partial_fit_trains_on_every_row_without_an_error(estimator_class):
    X, y = classification() if estimator_class is NNFSClassifier else regression()
    classes = {"classes": np.unique(y)} if estimator_class is NNFSClassifier else {}
    estimator = small(estimator_class).partial_fit(X, y, **classes)
    assert estimator.do_early_stopping_ is False
    assert estimator.validation_scores_ is None and estimator.t_ == len(y)
    # After a fit that held out a split, partial_fit holds out none.
    estimator = fit(small(estimator_class), X, y)
    assert estimator.do_early_stopping_ is True
    estimator.partial_fit(X, y)
    assert estimator.do_early_stopping_ is False
    with pytest.raises(ValueError, match="partial_fit does not support"):
        small(estimator_class, early_stopping=True).partial_fit(X, y, **classes)


# ------------------------------------------------------------ bit identity
@pytest.mark.parametrize("estimator_class", [NNFSClassifier, NNFSRegressor])
@pytest.mark.parametrize("weighted", [False, True])
def test_auto_that_splits_is_early_stopping_true_bit_for_bit(estimator_class, weighted):
    X, y = classification() if estimator_class is NNFSClassifier else regression()
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    auto = fit(small(estimator_class), X, y, sample_weight=weights)
    true = fit(small(estimator_class, early_stopping=True), X, y, sample_weight=weights)
    assert auto.do_early_stopping_ and true.do_early_stopping_
    assert_same_fit(auto, true, X)
    # A warm start draws its split again, as True does.
    for estimator in (auto, true):
        estimator.set_params(warm_start=True, max_iter=5)
        fit(estimator, X, y, sample_weight=weights)
    assert_same_fit(auto, true, X)


@pytest.mark.parametrize(
    "params, n_samples",
    [({}, 10), ({"optimizer": "lbfgs"}, 120), ({"optimizer": "sgd"}, 5)],
)
def test_auto_that_does_not_split_is_early_stopping_false_bit_for_bit(
    params, n_samples
):
    X, y = classification()
    X, y = X[:n_samples], y[:n_samples]
    auto = fit(small(NNFSClassifier, **params), X, y)
    false = fit(small(NNFSClassifier, early_stopping=False, **params), X, y)
    assert not auto.do_early_stopping_ and not false.do_early_stopping_
    assert_same_fit(auto, false, X)


def test_auto_partial_fit_is_early_stopping_false_bit_for_bit():
    X, y = classification()
    auto = small(NNFSClassifier)
    false = small(NNFSClassifier, early_stopping=False)
    for estimator in (auto, false):
        for rows in (slice(0, 60), slice(60, None)):
            estimator.partial_fit(X[rows], y[rows], classes=np.arange(3))
    assert_same_fit(auto, false, X)


# ------------------------------------------------------- fitted attribute
def test_do_early_stopping_describes_the_fit_not_the_parameter():
    X, y = classification()
    estimator = fit(small(NNFSClassifier), X, y)
    estimator.set_params(early_stopping=False)
    assert estimator.do_early_stopping_ is True
    fit(estimator, X, y)
    assert estimator.do_early_stopping_ is False
    fit(estimator.set_params(early_stopping=True), X, y)
    assert estimator.do_early_stopping_ is True


def test_a_failed_fit_keeps_do_early_stopping():
    X, y = classification()
    estimator = fit(small(NNFSClassifier), X, y)
    with pytest.raises(ValueError, match="validation set is too small"):
        fit(estimator.set_params(early_stopping=True), X[:5], y[:5])
    assert estimator.do_early_stopping_ is True
    fit(estimator.set_params(optimizer="lbfgs", early_stopping="auto"), X, y)
    assert estimator.do_early_stopping_ is False
    with pytest.raises(ValueError, match="validation set is too small"):
        estimator.set_params(optimizer="adam", early_stopping=True)
        fit(estimator, X[:5], y[:5])
    assert estimator.do_early_stopping_ is False


# ---------------------------------------------------------------- pickles
@pytest.mark.parametrize("split", [True, False])
def test_pickles_keep_do_early_stopping(split):
    X, y = classification()
    estimator = fit(small(NNFSClassifier, early_stopping=split), X, y)
    loaded = pickle.loads(pickle.dumps(estimator))
    assert loaded.do_early_stopping_ is split
    # A pickle from before the attribute: derived from validation_scores_.
    state = estimator.__getstate__()
    del state["do_early_stopping_"]
    older = NNFSClassifier.__new__(NNFSClassifier)
    older.__setstate__(state)
    assert older.do_early_stopping_ is split


def test_pickles_of_sknnfs_0_1_0_get_do_early_stopping():
    # The regressor was fitted with early_stopping=True, the classifier without.
    with open(DATA / "sknnfs-0.1.0-models.pkl", "rb") as file:
        models = pickle.load(file)
    assert models["regressor"].do_early_stopping_ is True
    assert models["classifier"].do_early_stopping_ is False
    assert models["regressor"].early_stopping is True


def test_a_pickle_whose_do_early_stopping_contradicts_its_record_is_refused():
    X, y = classification()
    state = fit(small(NNFSClassifier), X, y).__getstate__()
    state["do_early_stopping_"] = False
    loaded = NNFSClassifier.__new__(NNFSClassifier)
    with pytest.raises(ValueError, match="do_early_stopping_ is False"):
        loaded.__setstate__(state)


# --------------------------------------------------------------- callbacks
def test_checkpoint_monitor_auto_reads_the_resolved_split(tmp_path):
    X, y = classification()
    checkpoint = Checkpoint(tmp_path / "best.pkl", save_best_only=True)
    # Settings whose validation score peaks at epoch 6 and loss falls to 30.
    estimator = small(
        NNFSClassifier,
        max_iter=30,
        learning_rate=0.03,
        n_iter_no_change=np.inf,
        tol=0.0,
    ).set_callbacks(checkpoint)
    fit(estimator, X, y)
    assert estimator.do_early_stopping_ is True
    best = int(np.argmax(estimator.validation_scores_)) + 1
    assert best != int(np.argmin(estimator.loss_curve_)) + 1
    assert checkpoint.best_epoch_ == best  # the validation score's, not the loss's


def test_checkpoint_monitoring_the_validation_score_of_a_fit_without_one():
    X, y = classification()
    checkpoint = Checkpoint("unused.pkl", monitor="validation_score")
    estimator = small(NNFSClassifier).set_callbacks(checkpoint)
    with pytest.raises(ValueError, match="do_early_stopping_ is False"):
        fit(estimator, X[:10], y[:10])
    assert not hasattr(estimator, "do_early_stopping_")
