"""Default NNFSClassifier/NNFSRegressor against default MLPClassifier/MLPRegressor.

Out of the box, as a data scientist first compares them: every estimator
with its default settings except ``random_state``, inside
``make_pipeline(StandardScaler(), estimator)`` ("scaled") and on the raw
features ("raw"), scored by 5-fold cross-validation (``cross_validate``;
stratified folds for the classifiers) and averaged over seeds: seed ``s``
is both estimators' ``random_state`` and the folds' shuffling seed.

The suite, fixed before any default was tuned on it (small enough that the
whole benchmark runs in minutes on two cores):

- classification: iris, wine, breast_cancer and digits (scikit-learn);
  ``make_classification`` with 2 classes and 3 informative features of 20
  (``binary``) and with 7 classes and 15 informative features of 30
  (``seven_class``); ``make_moons`` and ``make_circles`` with noise; the
  book's ``spiral_data`` and ``vertical_data`` (nnfs, 3 classes);
- regression: diabetes and linnerud (scikit-learn, linnerud has 20 rows and
  3 targets); ``make_regression``; ``make_friedman1``, ``make_friedman2``
  and ``make_friedman3``; the book's ``sine_data`` (nnfs).

Targets are used as they are (no target scaling on either side).

For each data set and features ("scaled"/"raw") a row of a Markdown table
gives, ours beside MLP's: the mean accuracy and log-loss (classification) or
R² (regression) over every fold of every seed, the mean fit seconds of one
fit, and how many fits stopped at ``max_iter`` rather than by the stopping
rule (their ConvergenceWarning is silenced). The rows' means follow, then
the total fit seconds and the acceptance bars: on every row accuracy at
least MLP's - 0.3 points and log-loss at most MLP's + 2 %, R² at least MLP's
- 0.005; on average accuracy and log-loss (R²) better than MLP's; total fit
seconds below MLP's. A missed row bar is given with the 95 % bootstrap
interval of its difference (or ratio) over the row's fits, resampled in
pairs (both sides fit the same folds): an interval that holds 0 is a
difference these fits cannot tell from none. Each table is preceded by the
machine line of ``bench_vs_mlp.py`` (CPU model, BLAS libraries from
threadpoolctl, NumPy).

Ours and MLP's fits of one data set, features and seed run one after the
other in the same process, so that a slow spell of the shared machine hits
both; the order alternates with the seed.

Run::

    python benchmarks/defaults_vs_mlp.py --n-jobs 2

Options: ``--quick`` (a smoke run: 2 seeds, 2 folds, at most 120 rows, a few
data sets), ``--seeds N`` (default 10: at 5, a row's mean still moved by
more than the bars from one set of seeds to the next), ``--dataset NAME``
(repeatable filter), ``--task {classification,regression}``, ``--params JSON``
(settings for OUR estimators, e.g. ``'{"weight_init": "glorot"}'``, to try a
candidate default without editing the package; applied to the classifier
and the regressor alike, so only parameters both have), ``--n-jobs N``
(joblib processes over data sets and seeds; default 1), ``--json PATH`` (the
rows, the bars and the machine), ``--mlp-from PATH`` (reuse MLP's rows from
an earlier ``--json`` of the same data sets, seeds and folds instead of
fitting MLP again: for comparing candidates of ours; its fit seconds were
measured in that run).
"""

import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_circles,
    make_classification,
    make_friedman1,
    make_friedman2,
    make_friedman3,
    make_moons,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknnfs import NNFSClassifier, NNFSRegressor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_mlp import machine_description, machine_line  # noqa: E402

CLASSIFICATION, REGRESSION = "classification", "regression"
FEATURES = ("scaled", "raw")
SIDES = ("ours", "mlp")
QUICK_DATASETS = ("iris", "moons", "diabetes")
QUICK_ROWS = 120
# The acceptance bars (see the module docstring).
ACCURACY_MARGIN = 0.003
LOG_LOSS_MARGIN = 0.02
R2_MARGIN = 0.005
# Bootstrap resamples of a row's paired fits, for the 95 % interval of a miss.
INTERVAL_RESAMPLES = 2000


# ---------------------------------------------------------------- data sets
def _nnfs_data(name, **kwargs):
    from nnfs import datasets

    # nnfs draws from NumPy's global generator: seed it here, in the benchmark
    # only (the library itself never touches the global state).
    np.random.seed(0)
    return getattr(datasets, name)(**kwargs)


def _sine():
    X, y = _nnfs_data("sine_data", samples=1000)
    return X, y.ravel()


DATASETS = {
    "iris": (CLASSIFICATION, lambda: load_iris(return_X_y=True)),
    "wine": (CLASSIFICATION, lambda: load_wine(return_X_y=True)),
    "breast_cancer": (CLASSIFICATION, lambda: load_breast_cancer(return_X_y=True)),
    "digits": (CLASSIFICATION, lambda: load_digits(return_X_y=True)),
    "binary": (
        CLASSIFICATION,
        lambda: make_classification(
            n_samples=1000,
            n_features=20,
            n_informative=3,
            n_redundant=2,
            n_classes=2,
            random_state=0,
        ),
    ),
    "seven_class": (
        CLASSIFICATION,
        lambda: make_classification(
            n_samples=1500,
            n_features=30,
            n_informative=15,
            n_redundant=5,
            n_classes=7,
            random_state=0,
        ),
    ),
    "moons": (
        CLASSIFICATION,
        lambda: make_moons(n_samples=1000, noise=0.3, random_state=0),
    ),
    "circles": (
        CLASSIFICATION,
        lambda: make_circles(n_samples=1000, noise=0.2, factor=0.5, random_state=0),
    ),
    "spiral": (
        CLASSIFICATION,
        lambda: _nnfs_data("spiral_data", samples=300, classes=3),
    ),
    "vertical": (
        CLASSIFICATION,
        lambda: _nnfs_data("vertical_data", samples=300, classes=3),
    ),
    "diabetes": (REGRESSION, lambda: load_diabetes(return_X_y=True)),
    "linnerud": (REGRESSION, lambda: load_linnerud(return_X_y=True)),
    "regression": (
        REGRESSION,
        lambda: make_regression(
            n_samples=500, n_features=20, n_informative=10, noise=10, random_state=0
        ),
    ),
    "friedman1": (
        REGRESSION,
        lambda: make_friedman1(n_samples=1000, noise=1.0, random_state=0),
    ),
    "friedman2": (
        REGRESSION,
        lambda: make_friedman2(n_samples=1000, noise=10.0, random_state=0),
    ),
    "friedman3": (
        REGRESSION,
        lambda: make_friedman3(n_samples=1000, noise=0.1, random_state=0),
    ),
    "sine": (REGRESSION, _sine),
}


def load(name, quick):
    """``(X, y)`` of a data set; with ``quick``, a fixed sample of its rows."""
    X, y = DATASETS[name][1]()
    if quick and len(X) > QUICK_ROWS:
        rows = np.random.default_rng(0).permutation(len(X))[:QUICK_ROWS]
        X, y = X[rows], y[rows]
    return X, y


# ------------------------------------------------------------------- running
@dataclass(frozen=True)
class Job:
    """One data set, features and seed: both estimators' cross-validation."""

    dataset: str
    task: str
    features: str
    seed: int
    n_folds: int


def make_estimator(side, task, features, seed, params):
    """A default estimator of one side, in a pipeline when ``features='scaled'``."""
    if side == "ours":
        estimator = NNFSClassifier() if task == CLASSIFICATION else NNFSRegressor()
        estimator.set_params(**params)
    else:
        estimator = MLPClassifier() if task == CLASSIFICATION else MLPRegressor()
    estimator.set_params(random_state=seed)
    if features == "scaled":
        return make_pipeline(StandardScaler(), estimator)
    return estimator


def cross_validate_side(job, side, X, y, params):
    """Fold scores, fit seconds and ``max_iter`` hits of one side's estimator."""
    if job.task == CLASSIFICATION:
        folds = StratifiedKFold(job.n_folds, shuffle=True, random_state=job.seed)
        scoring = {"accuracy": "accuracy", "log_loss": "neg_log_loss"}
    else:
        folds = KFold(job.n_folds, shuffle=True, random_state=job.seed)
        scoring = {"r2": "r2"}
    estimator = make_estimator(side, job.task, job.features, job.seed, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = cross_validate(
            estimator,
            X,
            y,
            cv=folds,
            scoring=scoring,
            return_estimator=True,
            error_score="raise",
        )
    scores = {
        name: list(results[f"test_{name}"] * (-1 if name == "log_loss" else 1))
        for name in scoring
    }
    fitted = [
        model[-1] if hasattr(model, "steps") else model
        for model in results["estimator"]
    ]
    return {
        **scores,
        "fit_seconds": list(results["fit_time"]),
        "max_iter_hits": sum(model.n_iter_ >= model.max_iter for model in fitted),
    }


def run_job(job, X, y, params, sides):
    """Both sides on one job, in an order that alternates with the seed."""
    ordered = sides if job.seed % 2 == 0 else sides[::-1]
    return {side: cross_validate_side(job, side, X, y, params) for side in ordered}


def run_jobs(jobs, data, params, sides, n_jobs):
    """Every job's outcome, ``{side: cross_validate_side(...)}``, in order."""
    return Parallel(n_jobs=n_jobs)(
        delayed(run_job)(job, *data[job.dataset], params, sides) for job in jobs
    )


def reused_mlp_results(path, jobs):
    """MLP's per-job results from an earlier ``--json``, for these jobs."""
    with open(path) as file:
        earlier = {
            _job_key(record): record["mlp"] for record in json.load(file)["jobs"]
        }
    missing = [job for job in jobs if _job_key(vars(job)) not in earlier]
    if missing:
        raise SystemExit(
            f"--mlp-from {path}: no MLP results for {len(missing)} of the jobs "
            f"(first: {missing[0]}); run it with the same data sets, seeds and folds"
        )
    return [earlier[_job_key(vars(job))] for job in jobs]


def _job_key(record):
    return tuple(record[key] for key in ("dataset", "features", "seed", "n_folds"))


# --------------------------------------------------------------- summarising
# What each bar compares, ours against MLP's: a difference or a ratio - 1.
STATISTICS = {
    CLASSIFICATION: {"accuracy": "accuracy_gap", "log_loss": "log_loss_ratio"},
    REGRESSION: {"r2": "r2_gap"},
}


def summarise(dataset, features, outcomes):
    """One table row from the jobs of one data set and features."""
    task = DATASETS[dataset][0]
    row = {"dataset": dataset, "task": task, "features": features}

    def fold_values(side, metric):
        """Every fold's ``metric`` of one side, seed after seed."""
        return [value for outcome in outcomes for value in outcome[side][metric]]

    for side in SIDES:
        for metric in (*STATISTICS[task], "fit_seconds"):
            row[f"{metric}_{side}"] = float(np.mean(fold_values(side, metric)))
        row[f"fit_total_{side}"] = float(
            sum(sum(outcome[side]["fit_seconds"]) for outcome in outcomes)
        )
        row[f"max_iter_hits_{side}"] = int(
            sum(outcome[side]["max_iter_hits"] for outcome in outcomes)
        )
    row["n_fits"] = sum(len(outcome["ours"]["fit_seconds"]) for outcome in outcomes)
    for metric, statistic in STATISTICS[task].items():
        row[f"{statistic}_interval"] = paired_interval(
            fold_values("ours", metric), fold_values("mlp", metric), statistic
        )
    row["misses"] = row_misses(row)
    return row


def paired_interval(ours, mlp, statistic):
    """95 % bootstrap interval of a bar's statistic over a row's paired fits.

    Both sides fit the same folds, so the fits are resampled in pairs: the
    interval tells a miss that is the noise of the folds and seeds from one
    that is not. With ``statistic='log_loss_ratio'`` the statistic is the
    ratio of the means - 1; with any other (``'accuracy_gap'``, ``'r2_gap'``,
    ``'difference'``) the difference of the means, ours - MLP's.
    """
    ours, mlp = np.asarray(ours), np.asarray(mlp)
    resampled = np.random.default_rng(0).integers(
        0, len(ours), (INTERVAL_RESAMPLES, len(ours))
    )
    ours_means, mlp_means = ours[resampled].mean(axis=1), mlp[resampled].mean(axis=1)
    if statistic == "log_loss_ratio":
        values = ours_means / mlp_means - 1
    else:
        values = ours_means - mlp_means
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def row_misses(row):
    """The per-data-set bars a row misses, each said with its margin."""
    misses = []
    if row["task"] == CLASSIFICATION:
        accuracy_gap = row["accuracy_ours"] - row["accuracy_mlp"]
        if accuracy_gap < -ACCURACY_MARGIN:
            low, high = (100 * end for end in row["accuracy_gap_interval"])
            misses.append(
                f"accuracy {100 * accuracy_gap:+.2f} pts "
                f"(95 % interval {low:+.2f} to {high:+.2f})"
            )
        log_loss_ratio = row["log_loss_ours"] / row["log_loss_mlp"] - 1
        if log_loss_ratio > LOG_LOSS_MARGIN:
            low, high = (100 * end for end in row["log_loss_ratio_interval"])
            misses.append(
                f"log-loss {100 * log_loss_ratio:+.1f} % "
                f"(95 % interval {low:+.1f} to {high:+.1f} %)"
            )
    elif row["r2_ours"] < row["r2_mlp"] - R2_MARGIN:
        low, high = row["r2_gap_interval"]
        misses.append(
            f"R² {row['r2_ours'] - row['r2_mlp']:+.4f} "
            f"(95 % interval {low:+.4f} to {high:+.4f})"
        )
    return misses


def mean_row(rows, label):
    """The mean of the rows' metrics and mean fit seconds; totals summed."""
    mean = {"dataset": "mean", "task": rows[0]["task"], "features": label}
    for key in rows[0]:
        if key.endswith(SIDES) and not key.startswith(("fit_total", "max_iter")):
            mean[key] = float(np.mean([row[key] for row in rows]))
        elif key.startswith(("fit_total", "max_iter")) or key == "n_fits":
            mean[key] = sum(row[key] for row in rows)
    return mean


def average_misses(mean):
    """The average bars (better than MLP) that a mean row misses."""
    if mean["task"] == CLASSIFICATION:
        checks = {
            "accuracy": mean["accuracy_ours"] > mean["accuracy_mlp"],
            "log-loss": mean["log_loss_ours"] < mean["log_loss_mlp"],
        }
    else:
        checks = {"R²": mean["r2_ours"] > mean["r2_mlp"]}
    return [f"mean {name} not better" for name, better in checks.items() if not better]


# ------------------------------------------------------------------ printing
COLUMNS = {
    CLASSIFICATION: (
        ("accuracy ours", lambda row: f"{100 * row['accuracy_ours']:.2f} %"),
        ("accuracy MLP", lambda row: f"{100 * row['accuracy_mlp']:.2f} %"),
        ("log-loss ours", lambda row: f"{row['log_loss_ours']:.4f}"),
        ("log-loss MLP", lambda row: f"{row['log_loss_mlp']:.4f}"),
    ),
    REGRESSION: (
        ("R² ours", lambda row: f"{row['r2_ours']:.4f}"),
        ("R² MLP", lambda row: f"{row['r2_mlp']:.4f}"),
    ),
}
COMMON_COLUMNS = (
    ("fit s ours", lambda row: f"{row['fit_seconds_ours']:.3f}"),
    ("fit s MLP", lambda row: f"{row['fit_seconds_mlp']:.3f}"),
    ("at max_iter ours", lambda row: f"{row['max_iter_hits_ours']}/{row['n_fits']}"),
    ("at max_iter MLP", lambda row: f"{row['max_iter_hits_mlp']}/{row['n_fits']}"),
    ("bars", lambda row: "; ".join(row["misses"]) or "met"),
)


def markdown_table(header, rows):
    """The lines of a Markdown table: the header, its rule, one line per row.

    ``header`` is a list of column names, ``rows`` an iterable of lists of
    cells (strings), one cell per column.
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def table_lines(task, rows, means):
    columns = (*COLUMNS[task], *COMMON_COLUMNS)
    header = ["data set", "X", *(name for name, _ in columns)]
    cells = []
    for row in (*rows, *means):
        name = f"**{row['dataset']}**" if row["dataset"] == "mean" else row["dataset"]
        cells.append([name, row["features"], *(cell(row) for _, cell in columns)])
    return markdown_table(header, cells)


def report_task(task, rows):
    """Print a task's table and its bars; return the means and the misses."""
    means = [
        mean_row([row for row in rows if row["features"] == features], features)
        for features in FEATURES
        if any(row["features"] == features for row in rows)
    ]
    means.append(mean_row(rows, "all"))
    for mean in means:
        mean["misses"] = average_misses(mean)
    print(f"### {task.capitalize()}")
    print()
    print(machine_line())
    print()
    print("\n".join(table_lines(task, rows, means)))
    print()
    overall = means[-1]
    misses = [
        f"{row['dataset']} ({row['features']}): {miss}"
        for row in rows
        for miss in row["misses"]
    ] + overall["misses"]
    print(
        f"Fits at max_iter: ours {overall['max_iter_hits_ours']}, "
        f"MLP {overall['max_iter_hits_mlp']}, of {overall['n_fits']} each."
    )
    print(f"Bars missed: {'; '.join(misses) or 'none'}.")
    print()
    return means, misses


def report_total(rows):
    """Print the total fit seconds of both sides; return the miss, if any."""
    total = {side: sum(row[f"fit_total_{side}"] for row in rows) for side in SIDES}
    print(
        f"Total fit seconds: ours {total['ours']:.1f}, MLP {total['mlp']:.1f} "
        f"(ratio {total['ours'] / total['mlp']:.2f})."
    )
    return [] if total["ours"] < total["mlp"] else ["total fit seconds not below"]


# ---------------------------------------------------------------------- main
def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: 2 seeds, 2 folds, at most {QUICK_ROWS} rows, "
        f"{', '.join(QUICK_DATASETS)} unless --dataset says otherwise",
    )
    parser.add_argument("--seeds", type=int, help="seeds to average over (default 10)")
    parser.add_argument(
        "--dataset",
        action="append",
        choices=list(DATASETS),
        help="run only this data set (repeatable)",
    )
    parser.add_argument("--task", choices=(CLASSIFICATION, REGRESSION))
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="JSON object of settings for our estimators, e.g. "
        '\'{"weight_init": "glorot", "bias_init": "glorot"}\'',
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib processes")
    parser.add_argument("--json", metavar="PATH", help="also write the results")
    parser.add_argument(
        "--mlp-from",
        metavar="PATH",
        help="reuse MLP's results from an earlier --json instead of fitting MLP",
    )
    args = parser.parse_args(argv)
    if not isinstance(args.params, dict):
        parser.error("--params must be a JSON object")
    return args


def selected_datasets(args):
    names = args.dataset or (QUICK_DATASETS if args.quick else list(DATASETS))
    return [name for name in names if args.task in (None, DATASETS[name][0])]


def make_jobs(names, n_seeds, n_folds):
    return [
        Job(name, DATASETS[name][0], features, seed, n_folds)
        for name in names
        for features in FEATURES
        for seed in range(n_seeds)
    ]


def table_rows(names, jobs, outcomes):
    """One summarised row per data set and features, in the suite's order."""
    rows = []
    for name in names:
        for features in FEATURES:
            group = [
                outcome
                for job, outcome in zip(jobs, outcomes, strict=True)
                if (job.dataset, job.features) == (name, features)
            ]
            rows.append(summarise(name, features, group))
    return rows


def print_preamble(args, n_seeds, n_folds):
    import sklearn

    print(
        f"Python {sys.version.split()[0]}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    settings = ", ".join(f"{key}={value!r}" for key, value in args.params.items())
    print(
        "Ours: NNFSClassifier() / NNFSRegressor() defaults"
        + (f" with {settings}" if settings else "")
        + "; MLP: MLPClassifier() / MLPRegressor() defaults"
        + (f" (results from {args.mlp_from})" if args.mlp_from else "")
    )
    print(
        f"{n_folds}-fold cross-validation, {n_seeds} seeds (random_state and "
        f"fold shuffling), {n_jobs_text(args.n_jobs)}"
        + (f", at most {QUICK_ROWS} rows per data set (--quick)" if args.quick else "")
    )
    print()


def n_jobs_text(n_jobs):
    return "1 process" if n_jobs == 1 else f"{n_jobs} joblib processes"


def write_json(path, args, jobs, outcomes, rows, misses):
    jobs_out = [
        {**vars(job), **outcome} for job, outcome in zip(jobs, outcomes, strict=True)
    ]
    with open(path, "w") as file:
        json.dump(
            {
                "params": args.params,
                "quick": args.quick,
                "mlp_from": args.mlp_from,
                "machine": machine_description(),
                "rows": rows,
                "misses": misses,
                "jobs": jobs_out,
            },
            file,
            indent=1,
        )


def run(args):
    n_seeds = args.seeds or (2 if args.quick else 10)
    n_folds = 2 if args.quick else 5
    names = selected_datasets(args)
    data = {name: load(name, args.quick) for name in names}
    jobs = make_jobs(names, n_seeds, n_folds)
    sides = ("ours",) if args.mlp_from else SIDES
    outcomes = run_jobs(jobs, data, args.params, sides, args.n_jobs)
    if args.mlp_from:
        earlier = reused_mlp_results(args.mlp_from, jobs)
        for outcome, mlp in zip(outcomes, earlier, strict=True):
            outcome["mlp"] = mlp
    print_preamble(args, n_seeds, n_folds)
    rows = table_rows(names, jobs, outcomes)
    misses = []
    for task in (CLASSIFICATION, REGRESSION):
        task_rows = [row for row in rows if row["task"] == task]
        if task_rows:
            means, task_misses = report_task(task, task_rows)
            rows += means
            misses += task_misses
    misses += report_total([row for row in rows if row["dataset"] != "mean"])
    print(f"Every bar met: {'no' if misses else 'yes'}.")
    if args.json:
        write_json(args.json, args, jobs, outcomes, rows, misses)
    return 0


def main(argv=None):
    return run(parse_arguments(argv))


if __name__ == "__main__":
    sys.exit(main())
