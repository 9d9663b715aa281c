"""NNFSRegressor: the book's sine regression, a comparison with MLPRegressor,
and the behaviour scikit-learn users expect of a regressor.

Expected values come from hand formulas in NumPy (R², MAE) or from a second,
independent way of training (repeated rows for integer weights, one ``fit``
for two ``partial_fit`` calls), never from the code under test.
"""

import warnings

import numpy as np
import pytest
from nnfs.datasets import sine_data
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sknnfs._base as base_module
from sknnfs import NNFSRegressor
from sknnfs._training import split_validation


@pytest.fixture(autouse=True)
def single_blas_thread():
    # Batches of 200 to 1000 rows are large enough for OpenBLAS to start
    # threads, which on a loaded machine (the suite runs on 2 shared cores)
    # made the sine fits 15-30 times slower. One thread gives the same numbers.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# The book's chapter 17 network and optimizer for the sine data.
BOOK_SINE = dict(hidden_layer_sizes=(64, 64), learning_rate=0.005, decay=1e-3)


def hand_r2(y_true, y_pred, sample_weight=None):
    """R² = 1 - SS_res / SS_tot, averaged uniformly over the outputs."""
    y_true = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(len(y_pred), -1)
    weights = np.ones(len(y_true)) if sample_weight is None else sample_weight
    weights = np.asarray(weights, dtype=float)[:, None]
    mean = (weights * y_true).sum(axis=0) / weights.sum()
    residual_sum = (weights * (y_true - y_pred) ** 2).sum(axis=0)
    total_sum = (weights * (y_true - mean) ** 2).sum(axis=0)
    return float(np.mean(1 - residual_sum / total_sum))


def targets_of_rows(X, y, X_rows):
    """The targets in ``y`` of the rows of ``X`` that ``X_rows`` holds: a
    validation split's targets as the user passed them (the network learns
    them scaled)."""
    positions = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in X_rows]
    return y[positions]


def regression_data(n_samples=120, n_outputs=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 3))
    coefficients = np.array([[1.0, -0.5], [2.0, 0.3], [-1.0, 1.0]])
    Y = np.tanh(X) @ coefficients + 0.05 * rng.standard_normal((n_samples, 2))
    if n_outputs is None:
        return X, Y[:, 0]
    return X, Y[:, :n_outputs]


# --------------------------------------------------------------- the book
@pytest.mark.parametrize("random_state", range(10))
def test_book_sine_regression_full_batch(random_state):
    # The book's loop: full batch (one Adam step and one decay step per
    # epoch) for a fixed number of epochs, no stopping rule. It runs 10,000
    # epochs; 300 are enough here. Ten seeds, because an initialisation can
    # get stuck: with He initial weights seeds 8 and 9 stay at R² 0.73.
    X, y = sine_data()
    assert X.shape == (1000, 1)
    regressor = NNFSRegressor(
        **BOOK_SINE,
        batch_size=1000,
        shuffle=False,
        max_iter=300,
        n_iter_no_change=np.inf,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, y.ravel())
    assert regressor.n_iter_ == 300
    assert hand_r2(y, regressor.predict(X)) >= 0.99


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_book_sine_regression_default_stopping(random_state):
    # What a user writes: the book's settings with the default minibatches
    # and stopping rule; it stops on its own long before 10,000 epochs.
    X, y = sine_data()
    regressor = NNFSRegressor(**BOOK_SINE, max_iter=10_000, random_state=random_state)
    regressor.fit(X, y.ravel())
    assert regressor.n_iter_ < 10_000
    assert hand_r2(y, regressor.predict(X)) >= 0.99


# ------------------------------------------------- against MLPRegressor
def test_diabetes_cross_validated_r2_at_least_mlp_regressor():
    # Both estimators with their shared defaults (one hidden layer of 100,
    # 200 epochs, Adam at 1e-3, batches of 200) and random_state=0; no L2
    # penalty for either (NNFSRegressor's l2 defaults to 0, MLPRegressor's
    # alpha to 1e-4). X and y are standardised, as a user of a neural
    # network regressor would do.
    X, y = load_diabetes(return_X_y=True)
    shared = dict(hidden_layer_sizes=(100,), max_iter=200, batch_size=200)

    def cross_validated_r2(network):
        model = TransformedTargetRegressor(
            make_pipeline(StandardScaler(), network), transformer=StandardScaler()
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return cross_val_score(model, X, y, cv=5).mean()

    ours = cross_validated_r2(
        NNFSRegressor(**shared, learning_rate=1e-3, random_state=0)
    )
    theirs = cross_validated_r2(
        MLPRegressor(**shared, learning_rate_init=1e-3, alpha=0.0, random_state=0)
    )
    assert ours >= theirs > 0.4


# ------------------------------------------------------- shapes and score
@pytest.mark.parametrize(
    "n_outputs, expected_shape",
    [(None, (120,)), (1, (120, 1)), (2, (120, 2))],
    ids=["1d", "column", "two-outputs"],
)
def test_prediction_shape_follows_y(n_outputs, expected_shape):
    X, y = regression_data(n_outputs=n_outputs)
    regressor = NNFSRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DataConversionWarning for (n, 1)
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, y)
    assert regressor.predict(X).shape == expected_shape
    assert regressor.n_outputs_ == (1 if n_outputs is None else n_outputs)
    assert regressor.out_activation_ == "identity"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_outputs", [None, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_is_r2(n_outputs, weighted):
    X, y = regression_data(n_outputs=n_outputs)
    sample_weight = np.random.default_rng(1).uniform(0, 3, len(X)) if weighted else None
    regressor = NNFSRegressor(
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        max_iter=100,
        random_state=0,
        early_stopping=False,  # every row trained on: the in-sample R² is high
    ).fit(X, y)
    score = regressor.score(X, y, sample_weight=sample_weight)
    expected = hand_r2(y, regressor.predict(X), sample_weight)
    assert score == pytest.approx(expected, rel=1e-12)
    assert score == pytest.approx(
        r2_score(y, regressor.predict(X), sample_weight=sample_weight), rel=1e-12
    )
    assert score > 0.9


def test_early_stopping_scores_r2_on_the_validation_split(monkeypatch):
    splits = []

    def recording_split(*args, **kwargs):
        split = split_validation(*args, **kwargs)
        splits.append(split)
        return split

    monkeypatch.setattr(base_module, "split_validation", recording_split)
    X, y = regression_data(n_samples=200)
    regressor = NNFSRegressor(
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=15,
        n_iter_no_change=np.inf,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, y)
    ((_, (X_validation, _, _)),) = splits
    y_validation = targets_of_rows(X, y, X_validation)
    assert len(X_validation) == 40
    assert len(regressor.validation_scores_) == 15
    # The best epoch's weights are kept, and its score is R² on the split.
    best = regressor.best_validation_score_
    assert best == max(regressor.validation_scores_)
    assert best == pytest.approx(
        hand_r2(y_validation, regressor.predict(X_validation)), rel=1e-10
    )
    assert 0 < best < 1
    assert regressor.best_loss_ is None


def test_early_stopping_refuses_a_validation_set_of_one_sample():
    # 10% of 10 samples is one sample, on which R² is undefined (nan): a nan
    # score would never count as progress, so early stopping would never work.
    # MLPRegressor raises the same error; it used to hold out two silently.
    X, y = regression_data(n_samples=10)
    regressor = NNFSRegressor(
        hidden_layer_sizes=(4,), early_stopping=True, max_iter=5, random_state=0
    )
    with pytest.raises(
        ValueError,
        match=r"The validation set is too small\. Increase 'validation_fraction' "
        r"or the size of your dataset: validation_fraction=0\.1 of 10 samples "
        r"holds out 1",
    ):
        regressor.fit(X, y)
    assert not hasattr(regressor, "n_iter_")
    regressor.set_params(validation_fraction=0.2)  # two samples
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedMetricWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, y)
    assert np.all(np.isfinite(regressor.validation_scores_))


def test_early_stopping_needs_three_samples():
    X, y = regression_data(n_samples=2)
    with pytest.raises(ValueError, match="at least 3 samples.*n_samples=2"):
        NNFSRegressor(early_stopping=True).fit(X, y)


# ----------------------------------- partial_fit, warm_start, sample_weight
def test_two_partial_fits_equal_fit_for_two_epochs():
    X, y = regression_data()
    # fit on every row, as partial_fit trains
    params = dict(
        hidden_layer_sizes=(8,), shuffle=False, random_state=0, early_stopping=False
    )
    incremental = NNFSRegressor(**params)
    incremental.partial_fit(X, y).partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = NNFSRegressor(**params, max_iter=2).fit(X, y)
    assert (incremental.n_iter_, whole.n_iter_) == (1, 2)  # the latest call's
    assert incremental.t_ == whole.t_ == 2 * len(y)
    np.testing.assert_allclose(incremental.loss_curve_, whole.loss_curve_, rtol=1e-12)
    for ours, theirs in zip(incremental.coefs_, whole.coefs_, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(incremental.predict(X), whole.predict(X), rtol=1e-12)


def test_warm_start_continues_from_the_fitted_weights():
    # Plain SGD has no optimizer state, so a warm-started fit of one epoch
    # after another is exactly one fit of two epochs.
    X, y = regression_data()
    params = dict(
        hidden_layer_sizes=(8,),
        optimizer="sgd",
        momentum=0.0,
        learning_rate=0.01,
        shuffle=False,
        random_state=0,
        early_stopping=False,  # a split drawn anew by each fit would differ
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = NNFSRegressor(**params, max_iter=1, warm_start=True)
        warm.fit(X, y).fit(X, y)
        whole = NNFSRegressor(**params, max_iter=2).fit(X, y)
        cold = NNFSRegressor(**params, max_iter=1).fit(X, y).fit(X, y)
    np.testing.assert_allclose(warm.predict(X), whole.predict(X), rtol=1e-12)
    assert warm.n_iter_ == 1 and len(warm.loss_curve_) == 2
    assert cold.n_iter_ == 1
    assert not np.allclose(cold.predict(X), whole.predict(X))


@pytest.mark.parametrize("scale", [1e306, 1e-320])
def test_equal_sample_weights_at_any_scale_are_no_weights(scale):
    X, y = regression_data()
    params = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unweighted = NNFSRegressor(**params).fit(X, y)
        weighted = NNFSRegressor(**params).fit(
            X, y, sample_weight=np.full(len(y), scale)
        )
    np.testing.assert_array_equal(weighted.predict(X), unweighted.predict(X))
    assert weighted.loss_curve_ == unweighted.loss_curve_


def test_integer_sample_weight_equals_repeated_rows():
    X, y = regression_data(n_samples=40)
    counts = np.random.default_rng(2).integers(0, 4, len(X))
    counts[0] = 1  # keep at least one positive weight
    X_repeated, y_repeated = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    # Without a split: one of the repeated rows' copies could be held out.
    params = dict(
        hidden_layer_sizes=(8,),
        shuffle=False,
        max_iter=20,
        tol=0,
        random_state=0,
        early_stopping=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = NNFSRegressor(**params, batch_size=len(X)).fit(
            X, y, sample_weight=counts
        )
        repeated = NNFSRegressor(**params, batch_size=len(X_repeated)).fit(
            X_repeated, y_repeated
        )
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


# --------------------------------------------------- loss and float types
def test_absolute_error_trains_and_reduces_mae():
    X, y = regression_data(n_samples=200)
    # A tenth of the targets are gross outliers: the median-seeking loss
    # should fit the clean rows far better than the mean-seeking one.
    outliers = np.arange(0, 200, 10)
    y_dirty = y.copy()
    y_dirty[outliers] += 30.0
    clean = np.setdiff1d(np.arange(200), outliers)
    # Trained on every row, for 300 epochs: the fit of the clean rows is pinned.
    params = dict(
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        random_state=0,
        early_stopping=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        absolute = NNFSRegressor(loss="absolute_error", max_iter=300, **params)
        absolute.fit(X, y_dirty)
        untrained = NNFSRegressor(loss="absolute_error", max_iter=1, **params)
        untrained.fit(X, y_dirty)
        squared = NNFSRegressor(max_iter=300, **params).fit(X, y_dirty)

    def mae(model, rows):
        return np.mean(np.abs(model.predict(X[rows]) - y_dirty[rows]))

    everything = np.arange(200)
    assert absolute.loss_curve_[-1] < absolute.loss_curve_[0]
    assert mae(absolute, everything) < 0.8 * mae(untrained, everything)
    assert mae(absolute, everything) < mae(squared, everything)
    # The outliers alone contribute 30 / 10 = 3 to the MAE; the clean rows
    # are fitted closely, and far better than by the squared error.
    assert mae(absolute, clean) < 0.3
    assert mae(absolute, clean) < 0.5 * mae(squared, clean)
    # The reported loss is the MAE (of the last epoch's batches, each before
    # its step, hence only approximately) of the targets the network learns,
    # y over its standard deviation.
    assert absolute.loss_ == pytest.approx(
        mae(absolute, everything) / np.std(y_dirty), rel=0.05
    )


def count_data(n_samples=200, seed=0):
    """Poisson counts with a log-linear mean: ``log mu = 0.2 + 0.5 x0 - 0.3 x1``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 2))
    return X, rng.poisson(np.exp(0.2 + X @ [0.5, -0.3])).astype(float)


FULL_BATCH_POISSON = dict(
    loss="poisson",
    l2=0.0,  # the GLM it is compared with has no penalty
    hidden_layer_sizes=(),
    optimizer="sgd",
    momentum=0.5,
    learning_rate=0.5,
    batch_size=200,
    tol=0.0,
    n_iter_no_change=np.inf,
    random_state=0,
    early_stopping=False,  # the GLM is fitted to every row
)


def test_poisson_without_hidden_layers_is_the_poisson_glm():
    # No hidden layer: log mu = X w + b, fitted by maximum likelihood, the
    # model of scikit-learn's PoissonRegressor (without penalty).
    X, counts = count_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor = NNFSRegressor(max_iter=100, **FULL_BATCH_POISSON).fit(X, counts)
    glm = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=1000).fit(X, counts)
    np.testing.assert_allclose(regressor.coefs_[0][:, 0], glm.coef_, atol=1e-7)
    # The network learns counts / std(counts): its bias absorbs the factor.
    np.testing.assert_allclose(
        regressor.intercepts_[0] + np.log(np.std(counts)), [glm.intercept_], atol=1e-7
    )
    np.testing.assert_allclose(regressor.predict(X), glm.predict(X), rtol=1e-6)
    assert regressor.out_activation_ == "exp"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_poisson_predicts_exp_of_the_network_and_scores_r2():
    X, counts = count_data()
    regressor = NNFSRegressor(
        loss="poisson", hidden_layer_sizes=(8,), max_iter=5, random_state=0
    ).fit(X, counts)
    predictions = regressor.predict(X)
    # The network learns counts / target_scale_: its means are scaled back.
    scale = regressor.target_scale_[0]
    assert scale == pytest.approx(np.std(counts), rel=1e-12)
    np.testing.assert_allclose(
        predictions, np.exp(regressor._network.forward(X)[:, 0]) * scale, rtol=1e-15
    )
    assert (predictions > 0).all()
    assert regressor.score(X, counts) == pytest.approx(
        hand_r2(counts, predictions), rel=1e-12
    )


def test_poisson_early_stopping_scores_r2_of_the_predicted_means(monkeypatch):
    splits = []

    def recording_split(*args, **kwargs):
        splits.append(split_validation(*args, **kwargs))
        return splits[-1]

    monkeypatch.setattr(base_module, "split_validation", recording_split)
    X, counts = count_data()
    settings = dict(FULL_BATCH_POISSON, early_stopping=True, validation_fraction=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor = NNFSRegressor(max_iter=10, **settings).fit(X, counts)
    ((_, (X_validation, _, _)),) = splits
    y_validation = targets_of_rows(X, counts, X_validation)
    # The scores are R² of the means exp(z), not of the logits z.
    assert regressor.best_validation_score_ == pytest.approx(
        hand_r2(y_validation, regressor.predict(X_validation)), rel=1e-10
    )
    assert 0 < regressor.best_validation_score_ < 1


@pytest.mark.parametrize("bad_y", [[-1.0, 2.0, 3.0, 0.0], [[0.0, 1.0]] * 3 + [[2, -3]]])
def test_poisson_refuses_negative_targets_and_keeps_the_fitted_model(bad_y):
    X, counts = count_data(n_samples=4)
    bad_y = np.asarray(bad_y, dtype=float)
    regressor = NNFSRegressor(loss="poisson", max_iter=1, random_state=0)
    with pytest.raises(
        ValueError, match=r"loss='poisson' needs non-negative targets y"
    ):
        regressor.fit(X, bad_y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X, counts if bad_y.ndim == 1 else np.column_stack([counts] * 2))
    fitted = regressor._network.flat_params.copy()
    with pytest.raises(ValueError, match="minimum of -"):
        regressor.partial_fit(X, bad_y)
    np.testing.assert_array_equal(regressor._network.flat_params, fitted)
    # Zero counts are fine; negative targets are fine for the other losses.
    regressor.partial_fit(X, np.zeros_like(bad_y))
    NNFSRegressor(max_iter=1).partial_fit(X, bad_y)


def test_float32_input_trains_in_float32():
    X, y = regression_data()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    # A small network and few epochs: the start whose fit this test has
    # always checked (zero biases; Glorot ones are now the default).
    regressor = NNFSRegressor(
        hidden_layer_sizes=(8,),
        learning_rate=0.01,
        max_iter=50,
        bias_init="zeros",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor.fit(X32, y32)
    assert all(coef.dtype == np.float32 for coef in regressor.coefs_)
    assert all(bias.dtype == np.float32 for bias in regressor.intercepts_)
    assert regressor.predict(X32).dtype == np.float32
    assert regressor.score(X32, y32) > 0.8
