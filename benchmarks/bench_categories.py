"""Categorical features inside ours against OneHotEncoder in front of MLP.

``NNFSRegressor()`` takes a DataFrame's ``category`` columns itself
(``categorical_features='from_dtype'``); `MLPRegressor` needs them encoded
in front, here as a scikit-learn user would: ``OneHotEncoder`` in a
``ColumnTransformer``, in a ``Pipeline``. Both get the same frame (8 numeric
columns and 3 categorical ones of 3, 12 and 50 levels), the same number of
epochs without early stopping, one BLAS thread. Times are the best of
several calls of each, ours and MLP's alternating, in one process; ratio =
ours / MLP.

Run::

    python benchmarks/bench_categories.py           # 20,000 rows
    python benchmarks/bench_categories.py --quick   # a smoke run
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from sknnfs import NNFSRegressor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_mlp import machine_line  # noqa: E402

LEVELS = (3, 12, 50)
CATEGORIES = [f"c{j}" for j in range(len(LEVELS))]
EPOCHS = 20


def frame(n_rows, seed=0):
    """8 numeric columns and ``LEVELS`` categories; y from both, and noise."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=n_rows) for i in range(8)})
    for name, levels in zip(CATEGORIES, LEVELS, strict=True):
        X[name] = pd.Categorical(rng.integers(0, levels, n_rows).astype(str))
    codes = X["c1"].cat.codes.to_numpy()
    y = X["x0"].to_numpy() + codes % 3 + rng.normal(0.0, 0.1, n_rows)
    return X, y


def estimators():
    ours = NNFSRegressor(max_iter=EPOCHS, early_stopping=False, random_state=0)
    mlp = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
            remainder="passthrough",
        ),
        MLPRegressor(max_iter=EPOCHS, random_state=0),
    )
    return ours, mlp


def best_of_alternating(first, second, repeats):
    """The best seconds of each of two calls, run in turns."""
    times = ([], [])
    for _ in range(repeats):
        for call, record in zip((first, second), times, strict=True):
            start = time.perf_counter()
            call()
            record.append(time.perf_counter() - start)
    return min(times[0]), min(times[1])


def run(n_rows, repeats):
    X, y = frame(n_rows)
    ours, mlp = estimators()
    rows = []
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = best_of_alternating(lambda: ours.fit(X, y), lambda: mlp.fit(X, y), 3)
        rows.append((f"fit, {n_rows} rows, {EPOCHS} epochs", "s", *fit))
        for n_predict in (1, min(10_000, n_rows)):
            part = X.iloc[:n_predict]
            predict = best_of_alternating(
                lambda part=part: ours.predict(part),
                lambda part=part: mlp.predict(part),
                repeats,
            )
            rows.append((f"predict, {n_predict} rows", "µs", *predict))
        scores = (ours.score(X, y), mlp.score(X, y))
    return rows, scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke)")
    args = parser.parse_args(argv)
    n_rows, repeats = (300, 3) if args.quick else (20_000, 30)
    rows, scores = run(n_rows, repeats)
    with threadpool_limits(1):  # the machine line names the threads used
        print(machine_line())
    print()
    print("| call | ours | MLP in a Pipeline | ratio |")
    print("|---|---|---|---|")
    for call, unit, ours, mlp in rows:
        shown = [
            f"{t:.3f} s" if unit == "s" else f"{t * 1e6:.0f} µs" for t in (ours, mlp)
        ]
        print(f"| {call} | {shown[0]} | {shown[1]} | {ours / mlp:.2f} |")
    print()
    print(f"Training R²: ours {scores[0]:.4f}, MLP {scores[1]:.4f}")


if __name__ == "__main__":
    main()
