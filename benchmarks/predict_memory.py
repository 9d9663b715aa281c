"""Extra memory of predict_proba on a very large input (default 1,000,000 x 784).

NNFSClassifier predicts in row chunks, so the memory it needs beyond its
output stays bounded whatever the number of rows. This script fits a small
784-256-128-10 network (float32), makes a large float32 input, and measures
with tracemalloc the peak memory allocated during ``predict_proba`` beyond the
input and the returned probabilities. ``--with-mlp`` measures scikit-learn's
MLPClassifier the same way, for comparison.

Run::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/predict_memory.py
"""

import argparse
import sys
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknnfs import NNFSClassifier

LIMIT_MB = 200


def extra_predict_memory(estimator, X):
    """Seconds and peak bytes allocated by predict_proba beyond its output."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        proba = estimator.predict_proba(X)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return seconds, peak - proba.nbytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--with-mlp", action="store_true")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X_train = rng.standard_normal((2000, args.features), dtype=np.float32)
    y_train = rng.integers(0, 10, size=2000)
    common = dict(hidden_layer_sizes=(256, 128), max_iter=1, random_state=0)
    estimators = {"NNFSClassifier": NNFSClassifier(**common)}
    if args.with_mlp:
        estimators["MLPClassifier"] = MLPClassifier(**common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for estimator in estimators.values():
            estimator.fit(X_train, y_train)

    X = rng.standard_normal((args.rows, args.features), dtype=np.float32)
    print(
        f"input: {args.rows:,} x {args.features} float32 ({X.nbytes / 1e6:,.0f} MB); "
        f"output: {args.rows:,} x 10 float32 ({args.rows * 10 * 4 / 1e6:,.0f} MB)"
    )
    ok = True
    for name, estimator in estimators.items():
        seconds, extra = extra_predict_memory(estimator, X)
        print(
            f"{name}: predict_proba {seconds:.2f} s, extra memory beyond the "
            f"output {extra / 1e6:,.1f} MB"
        )
        if name == "NNFSClassifier":
            ok = extra < LIMIT_MB * 1e6
    print(f"NNFSClassifier under {LIMIT_MB} MB: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
