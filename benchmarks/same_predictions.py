"""Do two commits train the same models, bit for bit?

A change meant to preserve behaviour (a refactor, a speed trick) must leave
every fitted model identical. This script fits a fixed set of models with a
fixed ``random_state`` and saves what they predict; run it once with each
commit's package first on ``PYTHONPATH``, then compare the two files::

    PYTHONPATH=old/checkout python benchmarks/same_predictions.py --save old.npz
    PYTHONPATH=new/checkout python benchmarks/same_predictions.py --save new.npz
    python benchmarks/same_predictions.py --compare old.npz new.npz

The models: every configuration of ``tests/test_estimator_checks.py`` on
dense float64, float32 and sparse data (with sample weights, class weights,
multilabel and multi-output targets, warm starts and ``partial_fit``), and
every configuration of ``bench_vs_mlp.py`` at its full size. What is saved
and compared: ``predict_proba`` (classifiers) or ``predict`` (regressors) on
held-out rows, ``loss_curve_`` and ``n_iter_``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning

from sknnfs import NNFSClassifier, NNFSRegressor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_vs_mlp  # noqa: E402  (its data sets and estimator settings)

CLASSIFIERS = {
    "default": {},
    "sgd": {"optimizer": "sgd"},
    "dropout-l2": {"dropout": 0.2, "l2": 1e-3},
    "early-stopping": {"early_stopping": True},
    "adagrad-l1-bias": {"optimizer": "adagrad", "l1": 1e-4, "bias_l2": 1e-3},
    "rmsprop-tanh": {"optimizer": "rmsprop", "activation": "tanh", "decay": 1e-3},
    "sigmoid-two-layers": {"activation": "sigmoid", "hidden_layer_sizes": (16, 8)},
    "no-hidden-layer": {"hidden_layer_sizes": ()},
    "glorot": {"weight_init": "glorot", "bias_init": "glorot"},
}
REGRESSORS = {
    "default": {},
    "early-stopping": {"early_stopping": True},
    "absolute-error": {"loss": "absolute_error", "optimizer": "sgd"},
    "dropout-linear": {"dropout": 0.1, "activation": "linear"},
}


def small_data():
    X, y = make_classification(400, 12, n_informative=6, n_classes=3, random_state=0)
    rng = np.random.default_rng(0)
    sample_weight = rng.uniform(0.5, 2.0, len(y))
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    y_regression = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * X[:, 3] ** 2
    _, Y_labels = make_multilabel_classification(400, 12, n_classes=4, random_state=0)
    return X, y, sample_weight, X_sparse, y_regression, Y_labels


def fit_quietly(estimator, *args, method="fit", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return getattr(estimator, method)(*args, **kwargs)


def record(results, name, estimator, X_test):
    if isinstance(estimator, NNFSClassifier):
        results[f"{name}/proba"] = estimator.predict_proba(X_test)
    else:
        results[f"{name}/predict"] = estimator.predict(X_test)
    results[f"{name}/loss_curve"] = np.array(estimator.loss_curve_)
    results[f"{name}/n_iter"] = np.array(estimator.n_iter_)


def small_models(results):
    X, y, weights, X_sparse, y_regression, Y_labels = small_data()
    fit_rows, test_rows = slice(0, 300), slice(300, None)
    inputs = {
        "float64": X,
        "float32": X.astype(np.float32),
        "sparse": X_sparse,
    }
    # early_stopping=False, the default until 'auto': every model trains as
    # it did, on all its rows, unless its configuration asks for a split.
    common = {
        "hidden_layer_sizes": (32,),
        "max_iter": 15,
        "random_state": 0,
        "early_stopping": False,
    }
    for config, params in CLASSIFIERS.items():
        for kind, X_kind in inputs.items():
            model = NNFSClassifier(**{**common, **params})
            fit_quietly(model, X_kind[fit_rows], y[fit_rows])
            record(results, f"classifier/{config}/{kind}", model, X_kind[test_rows])
        model = NNFSClassifier(**{**common, **params}, class_weight="balanced")
        fit_quietly(model, X[fit_rows], y[fit_rows], sample_weight=weights[fit_rows])
        record(results, f"classifier/{config}/weighted", model, X[test_rows])
        model = NNFSClassifier(**{**common, **params})
        fit_quietly(model, X[fit_rows], Y_labels[fit_rows])
        record(results, f"classifier/{config}/multilabel", model, X[test_rows])
    for config, params in REGRESSORS.items():
        for kind, X_kind in inputs.items():
            model = NNFSRegressor(**{**common, **params})
            fit_quietly(model, X_kind[fit_rows], y_regression[fit_rows])
            record(results, f"regressor/{config}/{kind}", model, X_kind[test_rows])
        targets = np.column_stack([y_regression, -y_regression])
        model = NNFSRegressor(**{**common, **params})
        fit_quietly(
            model, X[fit_rows], targets[fit_rows], sample_weight=weights[fit_rows]
        )
        record(results, f"regressor/{config}/multi-output", model, X[test_rows])

    # Continued training: warm start and partial_fit.
    model = NNFSClassifier(**common, warm_start=True)
    fit_quietly(model, X[:150], y[:150])
    fit_quietly(model, X[150:300], y[150:300])
    record(results, "classifier/warm-start", model, X[test_rows])
    model = NNFSClassifier(hidden_layer_sizes=(32,), random_state=0)
    for start in range(0, 300, 100):
        rows = slice(start, start + 100)
        model.partial_fit(X[rows], y[rows], classes=np.arange(3))
    record(results, "classifier/partial-fit", model, X[test_rows])
    model = NNFSRegressor(hidden_layer_sizes=(32,), random_state=0)
    for start in range(0, 300, 100):
        rows = slice(start, start + 100)
        model.partial_fit(X_sparse[rows], y_regression[rows])
    record(results, "regressor/partial-fit-sparse", model, X_sparse[test_rows])


def benchmark_models(results):
    for name, make_configuration in bench_vs_mlp.CONFIGURATIONS.items():
        config = make_configuration(False)
        for dtype in config.dtypes:
            model = bench_vs_mlp.make_estimators(config, dtype)["ours"]
            fit_quietly(model, config.X_train, config.y_train)
            record(results, f"benchmark/{name}/{dtype}", model, config.X_test)


def compare(old_path, new_path):
    old, new = np.load(old_path), np.load(new_path)
    if set(old.files) != set(new.files):
        print("different sets of results:", sorted(set(old.files) ^ set(new.files)))
        return 1
    different = [
        key
        for key in sorted(old.files)
        if old[key].dtype != new[key].dtype
        or old[key].shape != new[key].shape
        or old[key].tobytes() != new[key].tobytes()
    ]
    models = {key.rsplit("/", 1)[0] for key in old.files}
    for key in different:
        gap = np.max(np.abs(old[key].astype(float) - new[key].astype(float)))
        print(f"DIFFERENT {key}: max abs difference {gap:.3g}")
    print(
        f"{len(models)} models, {len(old.files)} arrays compared: "
        f"{len(old.files) - len(different)} bit-identical, {len(different)} different"
    )
    return 1 if different else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", metavar="PATH", help="fit the models, save results")
    group.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument(
        "--small-only", action="store_true", help="skip the benchmark's data sets"
    )
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    results = {}
    small_models(results)
    if not args.small_only:
        benchmark_models(results)
    np.savez(args.save, **results)
    print(f"saved {len(results)} arrays to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
