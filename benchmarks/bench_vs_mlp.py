"""NNFSClassifier against scikit-learn's MLPClassifier, side by side.

Both estimators run in this process, one after the other, on the same data,
with the same architecture, optimizer (Adam, same learning rate, betas and
epsilon), batch size and number of epochs. ``tol=0`` and a huge
``n_iter_no_change`` make both run every epoch; L2 is 0 on both (``alpha=0``).

Each configuration prints one row of a Markdown table:

- fit seconds of both and their ratio (ours / MLP), the best of a few
  interleaved repeats (the machine is shared and noisy: the ratio is what
  counts);
- our training GFLOP/s (see `training_flops`) and its fraction of the GEMM
  peak measured at the start (a square ``a @ b`` in float32 and float64);
- predict_proba seconds of both on the held-out rows, and their ratio: the
  best mean of 20 timed blocks of calls, 2 s per estimator in all
  (``PREDICT_TIMING``), the blocks of ours and MLP's alternating as in the
  latency table;
- peak extra memory of each fit (tracemalloc, in a separate one-epoch fit:
  tracemalloc slows allocation, so timed fits never run under it);
- held-out accuracy and log-loss of both.

Then, unless ``--no-latency``, a latency table: ``predict_proba`` and
``predict`` of both on 1, 10, 100 and 10,000 rows (digits rows, cycled), for
models trained on the ``digits`` configuration (hidden layer (100,)), in
float64 and float32, whichever configurations ``--config`` selects
(``--dtype`` filters it).
One row per row count, method and dtype: microseconds per call of ours and
MLP's, and their ratio. A figure is the best mean over 20 timed blocks of
calls, 0.2 s per estimator and cell in all (``LATENCY_SECONDS``,
``LATENCY_BLOCKS``), the blocks of ours and MLP's alternating so that a slow
spell of the machine hits both.

Each table is preceded by a line naming the machine, so that a copied table
keeps it: the CPU model (``model name`` in /proc/cpuinfo, else
``platform.processor()``), the logical CPUs this process may use, each BLAS
library loaded (threadpoolctl: library, version, kernel architecture,
threads after any ``--blas-threads`` limit, and whether NumPy's or SciPy's
copy) and the NumPy version::

    Machine: Intel(R) Xeon(R) Processor (x86_64, 2 CPUs); BLAS: openblas
    0.3.31 SkylakeX kernel, 2 threads (numpy), ...; NumPy 2.4.6

Run (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set on a machine, pin
OpenBLAS to slower kernels; unset them for this command alone)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_vs_mlp.py

Options: ``--quick`` (tiny sizes, a smoke test; the latency table keeps its
rows but times only a few short blocks, in float64 only), ``--config NAME``
and ``--dtype NAME`` (filters, repeatable), ``--repeats N``, ``--json PATH``
(the rows of both tables, the machine, the GEMM peaks), ``--blas-threads N``
(threadpoolctl limit for the whole run), ``--init {mlp,he}``,
``--latency/--no-latency`` (the latency table, on by default).

Ours starts as MLPClassifier does by default here (``--init mlp``:
``weight_init='glorot', bias_init='glorot'``, Glorot-uniform weights and
biases), so that both do the same work from the same kind of start;
``--init he`` starts from He-normal weights and zero biases (the
estimators' defaults before ``benchmarks/defaults_vs_mlp.py`` chose
Glorot's).
"""

import argparse
import functools
import json
import os
import platform
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from sknnfs import NNFSClassifier

LEARNING_RATE = 1e-3
# Our initialisation: MLPClassifier's (also the estimators' default), or He
# weights with the book's zero biases.
INITS = {
    "mlp": {"weight_init": "glorot", "bias_init": "glorot"},
    "he": {"weight_init": "he", "bias_init": "zeros"},
}
ADAM_EPSILON = 1e-8  # MLPClassifier's default; ours is set to match
NEVER_STOP = 10**9  # n_iter_no_change: with tol=0 both run every epoch
LATENCY_ROWS = (1, 10, 100, 10_000)
LATENCY_METHODS = ("predict_proba", "predict")
# Timing budget of one latency cell, per estimator, and the blocks it is cut
# into: the best block is the figure, so more blocks means more chances to
# miss the machine's slow spells.
LATENCY_SECONDS, LATENCY_BLOCKS = 0.2, 20
# predict_proba on a configuration's held-out rows: seconds per estimator
# and blocks. Ten times the latency cells' seconds, since one call can take
# a tenth of a second and a block is at least one call.
PREDICT_TIMING = 2.0, 20
QUICK_LATENCY_SECONDS, QUICK_LATENCY_BLOCKS = 0.005, 2


@dataclass
class Configuration:
    name: str
    X_train: object
    y_train: np.ndarray
    X_test: object
    y_test: np.ndarray
    hidden: tuple
    batch_size: int
    epochs: int
    dtypes: tuple
    repeats: int
    notes: dict = field(default_factory=dict)


# ---------------------------------------------------------------- data sets
def _digits(quick):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if quick:
        X, y = X[:400], y[:400]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return Configuration(
        "digits",
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(100,),
        batch_size=200,
        epochs=3 if quick else 100,
        dtypes=("float64", "float32"),
        repeats=1 if quick else 5,
    )


def _synthetic(quick):
    if quick:
        n_samples, n_features, n_informative, n_test = 1200, 40, 10, 200
    else:
        n_samples, n_features, n_informative, n_test = 70_000, 784, 100, 10_000
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_classes=10,
        random_state=0,
    )
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]


def _synth60k(quick):
    X_train, y_train, X_test, y_test = _synthetic(quick)
    return Configuration(
        "synth60k",
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(16, 8) if quick else (256, 128),
        batch_size=128,
        epochs=1 if quick else 3,
        dtypes=("float32", "float64"),
        repeats=1 if quick else 3,
    )


def _wide(quick):
    X_train, y_train, X_test, y_test = _synthetic(quick)
    return Configuration(
        "wide",
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(32, 32) if quick else (1024, 1024),
        batch_size=256,
        epochs=1,
        dtypes=("float32",),
        repeats=1 if quick else 3,
    )


def _spiral(quick):
    from nnfs.datasets import spiral_data

    # nnfs draws from NumPy's global generator: seed it here, in the benchmark
    # only (the library itself never touches the global state).
    np.random.seed(0)
    X, y = spiral_data(100 if quick else 1000, 3)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return Configuration(
        "spiral",
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(64, 64),
        batch_size=128,
        epochs=2 if quick else 50,
        dtypes=("float64", "float32"),
        repeats=1 if quick else 5,
    )


def _sparse(quick):
    size = 600 if quick else 20_000
    X = sp.random(size, size, density=0.005, format="csr", random_state=0)
    # Classes from a random linear rule, so that there is something to learn.
    rule = np.random.default_rng(0).standard_normal((size, 5))
    y = np.asarray(X @ rule).argmax(axis=1)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    return Configuration(
        "sparse",
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(128,),
        batch_size=256,
        epochs=3,
        dtypes=("float64", "float32"),
        repeats=1 if quick else 3,
        notes={"dense_copy_bytes": size * size * 8},
    )


CONFIGURATIONS = {
    "digits": _digits,
    "synth60k": _synth60k,
    "wide": _wide,
    "spiral": _spiral,
    "sparse": _sparse,
}


# ------------------------------------------------------------------ counting
def training_flops(layer_sizes, n_samples, n_epochs, input_density=1.0):
    """Floating-point operations in the matrix products of a training run.

    A product of an (m, k) and a (k, n) matrix counts ``2 * m * k * n``
    operations (a multiply and an add per term). For each training sample
    and each layer with ``n_in`` inputs and ``n_out`` outputs, one step does

    - forward: ``outputs = inputs @ weights``, ``2 * n_in * n_out``;
    - backward, weight gradient: ``inputs.T @ delta``, ``2 * n_in * n_out``;
    - backward, input gradient: ``delta @ weights.T``, ``2 * n_in * n_out``,
      for every layer but the first (nothing needs the gradient with
      respect to the data, so it is never computed).

    With sparse input only the stored entries are multiplied: the first
    layer's two products are scaled by ``input_density``, the fraction of
    non-zero inputs. Elementwise work (biases, activations, loss, optimizer)
    is not counted: it is the overhead this figure is meant to expose.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_features, hidden_1, ..., n_outputs)``.
    n_samples : int
        Training rows per epoch.
    n_epochs : int
    input_density : float, default=1.0

    Returns
    -------
    flops : float
    """
    per_sample = 0.0
    for index, (n_in, n_out) in enumerate(
        zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
    ):
        if index == 0:
            per_sample += 2 * 2 * n_in * n_out * input_density
        else:
            per_sample += 3 * 2 * n_in * n_out
    return per_sample * n_samples * n_epochs


def gemm_peak(dtype, size, repeats):
    """Best GFLOP/s of a square ``a @ b`` of the given size and dtype."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm up the threads and the caches
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# ------------------------------------------------------------------- running
def make_estimators(config, dtype, epochs=None, init="mlp"):
    epochs = config.epochs if epochs is None else epochs
    common = dict(
        hidden_layer_sizes=config.hidden,
        batch_size=config.batch_size,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=NEVER_STOP,
        early_stopping=False,  # both train on every row, for max_iter epochs
        shuffle=True,
        random_state=0,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=ADAM_EPSILON,
    )
    ours = NNFSClassifier(
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        l2=0.0,
        dtype=dtype,
        **INITS[init],
        **common,
    )
    mlp = MLPClassifier(
        solver="adam", learning_rate_init=LEARNING_RATE, alpha=0.0, **common
    )
    return {"ours": ours, "mlp": mlp}


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def peak_fit_memory(estimator, X, y):
    """Peak bytes allocated beyond what existed before the fit (tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        fit_quietly(estimator, X, y)
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def run_configuration(config, dtype, peaks, repeats, quick, init="mlp"):
    X_train, X_test = config.X_train, config.X_test
    X_train = X_train.astype(dtype)
    X_test = X_test.astype(dtype)
    y_train, y_test = config.y_train, config.y_test

    # Timed fits, interleaved so that a slow spell of the machine hits both.
    fit_seconds = {"ours": np.inf, "mlp": np.inf}
    fitted = {}
    for _ in range(repeats):
        for name, estimator in make_estimators(config, dtype, init=init).items():
            start = time.perf_counter()
            fit_quietly(estimator, X_train, y_train)
            fit_seconds[name] = min(fit_seconds[name], time.perf_counter() - start)
            fitted[name] = estimator

    memory = {
        name: peak_fit_memory(estimator, X_train, y_train)
        for name, estimator in make_estimators(
            config, dtype, epochs=1, init=init
        ).items()
    }
    predict_seconds, _ = best_seconds_interleaved(
        {
            name: functools.partial(estimator.predict_proba, X_test)
            for name, estimator in fitted.items()
        },
        *((QUICK_LATENCY_SECONDS, QUICK_LATENCY_BLOCKS) if quick else PREDICT_TIMING),
    )
    accuracy, logloss = {}, {}
    for name, estimator in fitted.items():
        proba = estimator.predict_proba(X_test)
        accuracy[name] = accuracy_score(
            y_test, estimator.classes_[np.argmax(proba, axis=1)]
        )
        logloss[name] = log_loss(y_test, proba, labels=estimator.classes_)

    n_train, n_features = X_train.shape
    density = X_train.nnz / (n_train * n_features) if sp.issparse(X_train) else 1.0
    layer_sizes = (n_features, *config.hidden, len(np.unique(y_train)))
    flops = training_flops(layer_sizes, n_train, config.epochs, density)
    gflops = flops / fit_seconds["ours"] / 1e9
    return {
        "config": config.name,
        "dtype": dtype,
        **INITS[init],
        "n_train": n_train,
        "layer_sizes": list(layer_sizes),
        "batch_size": config.batch_size,
        "epochs": config.epochs,
        "fit_s_ours": fit_seconds["ours"],
        "fit_s_mlp": fit_seconds["mlp"],
        "fit_ratio": fit_seconds["ours"] / fit_seconds["mlp"],
        "gflops_ours": gflops,
        "gflops_mlp": flops / fit_seconds["mlp"] / 1e9,
        "peak_fraction": gflops / peaks[dtype],
        "predict_s_ours": predict_seconds["ours"],
        "predict_s_mlp": predict_seconds["mlp"],
        "predict_ratio": predict_seconds["ours"] / predict_seconds["mlp"],
        "fit_peak_mb_ours": memory["ours"] / 1e6,
        "fit_peak_mb_mlp": memory["mlp"] / 1e6,
        "accuracy_ours": accuracy["ours"],
        "accuracy_mlp": accuracy["mlp"],
        "log_loss_ours": logloss["ours"],
        "log_loss_mlp": logloss["mlp"],
        **config.notes,
    }


def best_seconds_interleaved(functions, seconds, n_blocks):
    """Best mean seconds per call of each function, timed in alternating blocks.

    After a warm-up call, each function's block is sized to last about
    ``seconds / n_blocks`` (from one timed call); then the functions take
    turns, block by block, ``n_blocks`` rounds, so a slow spell of the
    machine hits all of them. A block's mean is immune to the timer's
    resolution; the fastest block is the least disturbed.

    Parameters
    ----------
    functions : dict of str to callable
        Called without arguments.
    seconds : float
        Time budget of each function.
    n_blocks : int

    Returns
    -------
    best_seconds : dict of str to float
    calls : dict of str to int
        Timed calls of each function, all blocks together.
    """
    calls_per_block = {}
    for name, function in functions.items():
        function()  # warm-up: first-call caches, lazy imports, thread start
        start = time.perf_counter()
        function()
        one_call = time.perf_counter() - start
        calls_per_block[name] = max(1, round(seconds / n_blocks / one_call))
    best_seconds = dict.fromkeys(functions, np.inf)
    for _ in range(n_blocks):
        for name, function in functions.items():
            n_calls = calls_per_block[name]
            start = time.perf_counter()
            for _ in range(n_calls):
                function()
            elapsed = time.perf_counter() - start
            best_seconds[name] = min(best_seconds[name], elapsed / n_calls)
    calls = {name: n_blocks * n_calls for name, n_calls in calls_per_block.items()}
    return best_seconds, calls


def run_latency(config, dtypes, init, seconds, n_blocks):
    """Latency rows: predict_proba and predict on few and many rows, both models.

    Both estimators are fitted on ``config`` in each dtype; the rows to
    predict are the configuration's rows, cycled up to the largest count.
    """
    X_all = np.vstack([config.X_train, config.X_test])
    X_cycled = X_all[np.arange(max(LATENCY_ROWS)) % len(X_all)]
    fitted, X_by_dtype = {}, {}
    for dtype in dtypes:
        estimators = make_estimators(config, dtype, init=init)
        for estimator in estimators.values():
            fit_quietly(estimator, config.X_train.astype(dtype), config.y_train)
        fitted[dtype] = estimators
        X_by_dtype[dtype] = X_cycled.astype(dtype)
    rows = []
    for n_rows in LATENCY_ROWS:
        for method in LATENCY_METHODS:
            for dtype in dtypes:
                X_rows = X_by_dtype[dtype][:n_rows]
                predictions = {
                    name: functools.partial(getattr(estimator, method), X_rows)
                    for name, estimator in fitted[dtype].items()
                }
                best_seconds, n_calls = best_seconds_interleaved(
                    predictions, seconds, n_blocks
                )
                rows.append(
                    {
                        "config": config.name,
                        "rows": n_rows,
                        "method": method,
                        "dtype": dtype,
                        "seconds_ours": best_seconds["ours"],
                        "seconds_mlp": best_seconds["mlp"],
                        "ratio": best_seconds["ours"] / best_seconds["mlp"],
                        "calls_ours": n_calls["ours"],
                        "calls_mlp": n_calls["mlp"],
                    }
                )
                print(format_latency_row(rows[-1]), flush=True)
    return rows


LATENCY_HEADER = "| rows | method | dtype | µs ours | µs MLP | ratio |"


def format_latency_row(row):
    cells = [
        str(row["rows"]),
        row["method"],
        row["dtype"],
        f"{1e6 * row['seconds_ours']:.1f}",
        f"{1e6 * row['seconds_mlp']:.1f}",
        f"{row['ratio']:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| config | dtype | fit s ours | fit s MLP | fit ratio | GFLOP/s ours "
    "| % GEMM peak | predict ms ours | predict ms MLP | predict ratio "
    "| fit MB ours | fit MB MLP | accuracy ours | accuracy MLP "
    "| log-loss ours | log-loss MLP |"
)


def format_row(row):
    cells = [
        row["config"],
        row["dtype"],
        f"{row['fit_s_ours']:.3f}",
        f"{row['fit_s_mlp']:.3f}",
        f"{row['fit_ratio']:.2f}",
        f"{row['gflops_ours']:.1f}",
        f"{100 * row['peak_fraction']:.0f} %",
        f"{1e3 * row['predict_s_ours']:.2f}",
        f"{1e3 * row['predict_s_mlp']:.2f}",
        f"{row['predict_ratio']:.2f}",
        f"{row['fit_peak_mb_ours']:.1f}",
        f"{row['fit_peak_mb_mlp']:.1f}",
        f"{100 * row['accuracy_ours']:.2f} %",
        f"{100 * row['accuracy_mlp']:.2f} %",
        f"{row['log_loss_ours']:.4f}",
        f"{row['log_loss_mlp']:.4f}",
    ]
    return "| " + " | ".join(cells) + " |"


def cpu_model():
    """The CPU's model name: /proc/cpuinfo where there is one (Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def available_cpus():
    """Logical CPUs this process may run on (its affinity, where known)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # sched_getaffinity is Linux-only
        return os.cpu_count()


def blas_libraries():
    """The BLAS libraries loaded, as threadpoolctl describes them.

    NumPy and SciPy wheels each bring their own OpenBLAS; ``package`` says
    whose copy it is (the folder it was loaded from), NumPy's being the one
    that ``a @ b`` runs on.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    libraries = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        path = info.get("filepath", "")
        package = next(
            (name for name in ("numpy", "scipy") if f"{os.sep}{name}" in path), None
        )
        libraries.append(
            {
                "library": info.get("internal_api"),
                "version": info.get("version"),
                "architecture": info.get("architecture"),
                "num_threads": info.get("num_threads"),
                "package": package,
            }
        )
    # NumPy's first: the products timed here run on it.
    return sorted(libraries, key=lambda library: library["package"] != "numpy")


def blas_description():
    libraries = blas_libraries()
    if not libraries:
        return "unknown (threadpoolctl not installed, or no BLAS found)"
    return ", ".join(
        f"{library['library']} {library['version']} "
        f"{library['architecture'] or '?'} kernel, {library['num_threads']} threads"
        + (f" ({library['package']})" if library["package"] else "")
        for library in libraries
    )


def machine_description():
    return {
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "cpus_available": available_cpus(),
        "blas": blas_libraries(),
        "numpy": np.__version__,
    }


def machine_line():
    """One line naming the machine, printed before each table."""
    return (
        f"Machine: {cpu_model()} ({platform.machine()}, {available_cpus()} CPUs); "
        f"BLAS: {blas_description()}; NumPy {np.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument(
        "--config",
        action="append",
        choices=sorted(CONFIGURATIONS),
        help="run only this configuration (repeatable)",
    )
    parser.add_argument(
        "--dtype", action="append", choices=["float32", "float64"], help="only these"
    )
    parser.add_argument("--repeats", type=int, help="timed fits per estimator")
    parser.add_argument(
        "--init",
        choices=sorted(INITS),
        default="mlp",
        help="our initial weights and biases: 'mlp' (default) draws both Glorot "
        "uniform as MLPClassifier does (and the estimators by default); 'he' "
        "draws He-normal weights and zero biases (the former defaults)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="limit BLAS to this many threads for the whole run (threadpoolctl)",
    )
    parser.add_argument(
        "--latency",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the main table, time predict_proba and predict on 1 to "
        "10,000 rows with the digits models (default: on)",
    )
    args = parser.parse_args(argv)
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            return run(args)
    return run(args)


def run(args):

    size, gemm_repeats = (256, 2) if args.quick else (2048, 7)
    peaks = {
        dtype: gemm_peak(dtype, size, gemm_repeats) for dtype in ("float32", "float64")
    }
    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    openblas_env = {
        name: os.environ[name]
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
        if name in os.environ
    }
    print(f"OpenBLAS environment: {openblas_env or 'none set'}")
    print(
        f"Our initialisation: --init {args.init} "
        f"({', '.join(f'{k}={v!r}' for k, v in INITS[args.init].items())}); "
        "MLPClassifier: Glorot uniform weights and biases"
    )
    print(
        f"GEMM peak ({size}x{size} a @ b, best of {gemm_repeats}): "
        f"float32 {peaks['float32']:.1f} GFLOP/s, "
        f"float64 {peaks['float64']:.1f} GFLOP/s"
    )
    print(machine_line())
    print()
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    rows = []
    for name in args.config or CONFIGURATIONS:
        config = CONFIGURATIONS[name](args.quick)
        # --quick is a smoke test: one dtype per configuration is enough.
        dtypes = config.dtypes[:1] if args.quick else config.dtypes
        for dtype in dtypes:
            if args.dtype and dtype not in args.dtype:
                continue
            repeats = args.repeats or config.repeats
            row = run_configuration(
                config, dtype, peaks, repeats, args.quick, args.init
            )
            rows.append(row)
            print(format_row(row), flush=True)
    latency_rows = run_latency_table(args) if args.latency else []
    if args.json:
        with open(args.json, "w") as file:
            json.dump(
                {
                    "gemm_peak_gflops": peaks,
                    "blas": blas_description(),
                    "machine": machine_description(),
                    "openblas_environment": openblas_env,
                    "quick": args.quick,
                    "rows": rows,
                    "latency": latency_rows,
                },
                file,
                indent=2,
            )
    return 0


def run_latency_table(args):
    config = _digits(args.quick)
    # --quick is a smoke test: one dtype, as in the main table.
    dtypes = config.dtypes[:1] if args.quick else config.dtypes
    dtypes = [dtype for dtype in dtypes if not args.dtype or dtype in args.dtype]
    if not dtypes:
        return []
    seconds, n_blocks = (
        (QUICK_LATENCY_SECONDS, QUICK_LATENCY_BLOCKS)
        if args.quick
        else (LATENCY_SECONDS, LATENCY_BLOCKS)
    )
    print()
    print(
        f"Latency of one call, {config.name} models (hidden {config.hidden}, "
        f"{config.epochs} epochs): best mean over {n_blocks} blocks of calls, "
        f"{1e3 * seconds:g} ms per estimator and cell, ours and MLP's blocks "
        "alternating; ratio = ours / MLP"
    )
    print(machine_line())
    print()
    print(LATENCY_HEADER)
    print("|" + "---|" * (LATENCY_HEADER.count("|") - 1))
    return run_latency(config, dtypes, args.init, seconds, n_blocks)


if __name__ == "__main__":
    sys.exit(main())
