"""The fitted network and fitted attributes describe a fitted model, not the
constructor parameters: changing any parameter without refitting (as
``set_params`` does, and as a refused warm start leaves the estimator)
changes nothing that a fitted estimator's public methods return.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from sknnfs import NNFSClassifier, NNFSRegressor

# For every parameter, a valid value other than the default.
OTHER_VALUES = {
    "hidden_layer_sizes": (3,),
    "activation": "tanh",
    "optimizer": "sgd",
    "learning_rate": 0.5,
    "decay": 0.1,
    "learning_rate_schedule": "adaptive",
    "power_t": 0.1,
    "momentum": 0.1,
    "nesterov": True,
    "rho": 0.5,
    "beta_1": 0.5,
    "beta_2": 0.5,
    "epsilon": 0.1,
    "weight_init": "nnfs",
    "bias_init": "glorot",
    "l1": 1.0,
    "l2": 1.0,
    "bias_l1": 1.0,
    "bias_l2": 1.0,
    "weight_decay": 0.5,
    "dropout": 0.5,
    "batch_size": 1,
    "max_iter": 1,
    "max_fun": 1,
    "shuffle": False,
    "tol": 10.0,
    "n_iter_no_change": 1,
    "early_stopping": True,
    "validation_fraction": 0.5,
    "dtype": "float32",
    "warm_start": True,
    "random_state": 5,
    "verbose": True,
}
LOSSES = ("squared_error", "absolute_error", "poisson")

X, y = make_classification(100, 5, random_state=0)
X_regression, y_regression = make_regression(100, 5, noise=1.0, random_state=0)
# Targets around zero: negative ones too, which only the Poisson loss refuses.
y_regression = y_regression / np.abs(y_regression).max()

FITTED = {
    "multiclass": (NNFSClassifier(), X, y % 3 + (X[:, 0] > 1)),
    "multilabel": (NNFSClassifier(), X, np.c_[y, 1 - y, y]),
    **{
        loss: (
            NNFSRegressor(loss=loss),
            X_regression,
            np.abs(y_regression) if loss == "poisson" else y_regression,
        )
        for loss in LOSSES
    },
}


def other_values(estimator):
    values = {**OTHER_VALUES}
    if isinstance(estimator, NNFSClassifier):
        values["class_weight"] = "balanced"
        values["label_smoothing"] = 0.1
    else:
        values["loss"] = [loss for loss in LOSSES if loss != estimator.loss]
    return values


def fitted(case):
    estimator, X_fit, y_fit = FITTED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few epochs: not converged
        estimator = estimator.set_params(max_iter=5, random_state=0)
        return estimator.fit(X_fit, y_fit), X_fit, y_fit


def outputs(estimator, X_in, y_in):
    """What the public methods of a fitted estimator return, as bytes."""
    results = {}
    for method in ("predict", "predict_proba", "predict_log_proba"):
        if hasattr(estimator, method):
            results[method] = getattr(estimator, method)(X_in).tobytes()
    results["score"] = estimator.score(X_in, y_in)
    reloaded = pickle.loads(pickle.dumps(estimator))
    results["predict after pickling"] = reloaded.predict(X_in).tobytes()
    results["coefs_"] = [coef.tobytes() for coef in estimator.coefs_]
    results["intercepts_"] = [bias.tobytes() for bias in estimator.intercepts_]
    results["n_iter_"] = estimator.n_iter_
    results["out_activation_"] = estimator.out_activation_
    return results


@pytest.mark.parametrize("case", FITTED)
def test_no_parameter_changes_a_fitted_model(case):
    estimator, X_in, y_in = fitted(case)
    expected = outputs(estimator, X_in, y_in)
    for name, value in other_values(estimator).items():
        if isinstance(value, list):  # several alternatives
            values = value
        else:
            values = [value]
        for value in values:
            changed = pickle.loads(pickle.dumps(estimator)).set_params(**{name: value})
            assert outputs(changed, X_in, y_in) == expected, (name, value)


def test_a_squared_error_model_scores_negative_targets_after_loss_poisson_is_set():
    # A refused warm start leaves loss='poisson' on a squared-error model:
    # its score checks y against the fitted loss, which takes any target.
    estimator, X_in, y_in = fitted("squared_error")
    assert y_in.min() < 0
    expected = estimator.score(X_in, y_in)
    estimator.set_params(loss="poisson", warm_start=True)
    with pytest.raises(ValueError, match="loss changed"):
        estimator.fit(X_in, np.abs(y_in))
    assert estimator.score(X_in, y_in) == expected


def test_a_poisson_model_still_refuses_negative_targets_in_score():
    estimator, X_in, y_in = fitted("poisson")
    estimator.set_params(loss="squared_error")
    with pytest.raises(ValueError, match="non-negative targets"):
        estimator.score(X_in, -y_in - 1)
