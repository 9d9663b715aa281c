"""The one-command demo behind ``python -m sknnfs``.

Trains an `NNFSClassifier` on the book's spiral data (nnfs ``spiral_data``,
3 classes), next to scikit-learn's ``MLPClassifier`` with the same settings,
prints a results table and, when matplotlib is installed, draws the decision
regions and the loss curves into a PNG.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from ._classifier import NNFSClassifier

__all__ = ["main", "run_demo", "spiral"]

N_CLASSES = 3
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c")
TEST_FRACTION = 0.25
VALIDATION_FRACTION = 0.1
# The fewest samples per class the demo runs on. Of 3 * 5 = 15 points the
# stratified split holds out ceil(0.25 * 15) = 4, leaving 11 to train on;
# MLPClassifier's early stopping then holds out ceil(0.1 * 11) = 2 of those
# (unstratified for 3 classes: it stratifies single-output targets only, and
# its targets are one-hot) and refuses fewer than 2. With 4 per class, 9 train
# and it would hold out 1. Ours holds out as many, and refuses fewer than 2
# too.
MIN_SAMPLES_PER_CLASS = 5
# NumPy's legacy RandomState (used by nnfs and scikit-learn) takes 32-bit seeds.
MAX_SEED = 2**32 - 1


def spiral(samples_per_class, seed=0):
    """The book's spiral data, reproducible, leaving NumPy's global RNG alone.

    ``nnfs.datasets.spiral_data`` draws its noise from NumPy's global random
    state; the caller's state is saved before and restored after.

    Parameters
    ----------
    samples_per_class : int
    seed : int, default=0

    Returns
    -------
    X : ndarray of shape (3 * samples_per_class, 2)
    y : ndarray of shape (3 * samples_per_class,)
        Class labels 0, 1, 2.
    """
    from nnfs.datasets import spiral_data

    saved_state = np.random.get_state()
    try:
        np.random.set_state(np.random.RandomState(seed).get_state())
        return spiral_data(samples=samples_per_class, classes=N_CLASSES)
    finally:
        np.random.set_state(saved_state)


def _progress_callbacks(epochs, stream):
    """A progress display for the fit: rich's bar if possible, else plain text."""
    try:
        from sklearn.callback import ProgressBar
    except ImportError:  # scikit-learn < 1.9: no callbacks
        return None
    try:
        return ProgressBar()
    except ImportError:  # rich is not installed
        return _EpochPrinter(epochs, stream)


class _EpochPrinter:
    """A scikit-learn callback printing about ten progress lines per fit."""

    def __init__(self, epochs, stream):
        self.every = max(1, epochs // 10)
        self.stream = stream

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        if context.task_name != "epoch":
            return
        epoch = context.task_id + 1
        if epoch % self.every == 0:
            print(
                f"  epoch {epoch:4d}/{context.parent.max_subtasks}: "
                f"training loss {estimator.loss_:.4f}",
                file=self.stream,
                flush=True,
            )


def _fit_timed(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Early stopping usually ends the fit; when the epoch budget ends it
        # first, the table says so (epochs == budget), a warning adds nothing.
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return time.perf_counter() - start


def run_demo(
    samples=1000,
    hidden=(64, 64),
    epochs=300,
    learning_rate=0.01,
    output="sknnfs-demo.png",
    plot=True,
    seed=0,
    stream=None,
):
    """Train on the spiral, compare with MLPClassifier, print and plot.

    Parameters
    ----------
    samples : int, default=1000
        Samples per class (three classes); at least ``MIN_SAMPLES_PER_CLASS``
        (5), or the splits leave MLPClassifier too few validation rows.
    hidden : tuple of int, default=(64, 64)
        Hidden layer sizes of both networks.
    epochs : int, default=300
        Most epochs (``max_iter``) of both; early stopping on a 10 % validation
        split usually ends the fit sooner.
    learning_rate : float, default=0.01
        Adam's learning rate for both.
    output : str or path-like, default='sknnfs-demo.png'
        Where the picture goes.
    plot : bool, default=True
        Draw the picture (only when matplotlib is installed).
    seed : int, default=0
        Seeds the data, the split and both networks; from 0 to ``MAX_SEED``
        (``2**32 - 1``).
    stream : file-like, default=sys.stdout
        Where the table and the progress lines go.

    Returns
    -------
    results : dict
        ``{"NNFSClassifier": {...}, "MLPClassifier": {...}}`` with
        ``accuracy``, ``log_loss``, ``fit_seconds`` and ``epochs`` on the
        held-out quarter, plus ``"plot"``: the path written, or None.
    """
    stream = sys.stdout if stream is None else stream
    hidden = tuple(int(size) for size in hidden)
    X, y = spiral(samples, seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    ours, theirs = _estimators(hidden, epochs, learning_rate, seed, len(X_train))
    progress = _progress_callbacks(epochs, stream)
    if progress is not None:
        ours.set_callbacks(progress)

    print(
        f"Spiral data: {len(X)} points in 3 classes, "
        f"{len(X_train)} to train, {len(X_test)} held out",
        file=stream,
    )
    results = {}
    for name, estimator in (("NNFSClassifier", ours), ("MLPClassifier", theirs)):
        print(f"Training {name}{hidden} ...", file=stream, flush=True)
        seconds = _fit_timed(estimator, X_train, y_train)
        results[name] = {
            "accuracy": accuracy_score(y_test, estimator.predict(X_test)),
            "log_loss": log_loss(y_test, estimator.predict_proba(X_test)),
            "fit_seconds": seconds,
            "epochs": estimator.n_iter_,
        }
    _print_table(results, stream)
    results["plot"] = None
    if plot and _can_plot(stream):
        _plot(ours, theirs, X_train, y_train, X_test, y_test, output)
        results["plot"] = str(output)
        print(f"Wrote {output}", file=stream)
    return results


def _estimators(hidden, epochs, learning_rate, seed, n_train):
    """NNFSClassifier and MLPClassifier with the same settings."""
    shared = dict(
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        # MLPClassifier warns when a batch is larger than its training split.
        batch_size=min(64, int(n_train * 0.9)),
        early_stopping=True,
        validation_fraction=VALIDATION_FRACTION,
        n_iter_no_change=30,
        random_state=seed,
    )
    ours = NNFSClassifier(optimizer="adam", learning_rate=learning_rate, **shared)
    theirs = MLPClassifier(
        solver="adam", learning_rate_init=learning_rate, alpha=0.0, **shared
    )
    return ours, theirs


def _can_plot(stream):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(
            'matplotlib is not installed: no picture (pip install "sknnfs[plot]")',
            file=stream,
        )
        return False
    return True


def _print_table(results, stream):
    header = (
        f"{'model':<16}{'accuracy':>10}{'log-loss':>10}{'fit seconds':>13}{'epochs':>8}"
    )
    print("", header, "-" * len(header), sep="\n", file=stream)
    for name, row in results.items():
        print(
            f"{name:<16}{row['accuracy']:>10.3f}{row['log_loss']:>10.3f}"
            f"{row['fit_seconds']:>13.2f}{row['epochs']:>8d}",
            file=stream,
        )
    print(
        "(accuracy and log-loss on the held-out quarter; "
        "early stopping on 10 % of the training rows)",
        file=stream,
    )


def _plot(ours, theirs, X_train, y_train, X_test, y_test, output):
    # The object-oriented API (no pyplot) leaves matplotlib's global state alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(12, 5.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    regions_axes, curves_axes = figure.subplots(1, 2, width_ratios=(1, 1.15))

    X_all = np.vstack([X_train, X_test])
    low, high = X_all.min(axis=0) - 0.1, X_all.max(axis=0) + 0.1
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300)
    )
    grid_classes = ours.predict(np.c_[grid_x.ravel(), grid_y.ravel()])
    colormap = ListedColormap(CLASS_COLORS)
    regions_axes.contourf(
        grid_x,
        grid_y,
        grid_classes.reshape(grid_x.shape),
        levels=np.arange(N_CLASSES + 1) - 0.5,
        cmap=colormap,
        alpha=0.25,
    )
    for label in range(N_CLASSES):
        for X_part, y_part, marker, kind in (
            (X_train, y_train, "o", "train"),
            (X_test, y_test, "^", "held out"),
        ):
            points = X_part[y_part == label]
            regions_axes.scatter(
                points[:, 0],
                points[:, 1],
                s=10 if kind == "train" else 16,
                marker=marker,
                color=CLASS_COLORS[label],
                edgecolors="black" if kind == "held out" else "none",
                linewidths=0.4,
            )
    accuracy = accuracy_score(y_test, ours.predict(X_test))
    regions_axes.set_title(
        f"NNFSClassifier decision regions (held-out accuracy {accuracy:.3f})"
    )
    regions_axes.set_xlabel("x1")
    regions_axes.set_ylabel("x2")
    regions_axes.set_aspect("equal")
    # One legend entry per class colour and per marker, below the axes, so it
    # hides no point.
    handles = [
        Line2D([], [], color=color, marker="s", linestyle="", label=f"class {label}")
        for label, color in enumerate(CLASS_COLORS)
    ] + [
        Line2D([], [], color="gray", marker="o", linestyle="", label="training"),
        Line2D(
            [],
            [],
            color="gray",
            marker="^",
            markeredgecolor="black",
            linestyle="",
            label="held out",
        ),
    ]
    regions_axes.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=5
    )

    epochs = np.arange(1, ours.n_iter_ + 1)
    curves_axes.plot(epochs, ours.loss_curve_, color="#1f77b4", label="training loss")
    curves_axes.plot(
        epochs,
        -np.asarray(ours.validation_scores_),
        color="#d62728",
        label="validation log-loss",
    )
    best_epoch = int(np.argmax(ours.validation_scores_)) + 1
    curves_axes.axvline(
        best_epoch,
        color="gray",
        linestyle=":",
        label=f"best validation epoch ({best_epoch}), weights kept",
    )
    curves_axes.plot(
        np.arange(1, theirs.n_iter_ + 1),
        theirs.loss_curve_,
        color="#7f7f7f",
        linestyle="--",
        label="MLPClassifier training loss",
    )
    curves_axes.set_ylim(bottom=0)
    curves_axes.set_title(
        "Loss per epoch (NNFSClassifier; MLPClassifier for reference)"
    )
    curves_axes.set_xlabel("epoch")
    curves_axes.set_ylabel("mean cross-entropy")
    curves_axes.grid(True, alpha=0.3)
    curves_axes.legend(loc="upper right")
    figure.savefig(output, bbox_inches="tight")


def _hidden_sizes(text):
    """``--hidden``: comma-separated positive integers, like ``64,64``."""
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"must be positive integers separated by commas, like 64,64; got {text!r}"
        )
    return sizes


def _integer_in(minimum, maximum=None):
    """An argparse ``type=``: an integer from ``minimum`` to ``maximum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        upper = np.inf if maximum is None else maximum
        if value is None or not minimum <= value <= upper:
            bounds = (
                f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            )
            raise argparse.ArgumentTypeError(
                f"must be an integer {bounds}; got {text!r}"
            )
        return value

    return parse


def _positive_finite_float(text):
    """``--learning-rate``: a finite number > 0 (``float`` also reads nan, inf)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not (0 < value < np.inf):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0; got {text!r}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknnfs",
        description=(
            "Train NNFSClassifier on the book's spiral data (3 classes), next to "
            "scikit-learn's MLPClassifier with the same settings; print accuracy, "
            "log-loss and fit time on a held-out quarter, and draw the decision "
            "regions and loss curves (needs matplotlib: pip install 'sknnfs[plot]')."
        ),
    )
    parser.add_argument(
        "--samples",
        type=_integer_in(MIN_SAMPLES_PER_CLASS),
        default=1000,
        help=f"samples per class, at least {MIN_SAMPLES_PER_CLASS} (default: 1000)",
    )
    parser.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=(64, 64),
        help="hidden layer sizes, comma-separated (default: 64,64)",
    )
    parser.add_argument(
        "--epochs",
        type=_integer_in(1),
        default=300,
        help="most epochs; early stopping usually ends sooner (default: 300)",
    )
    parser.add_argument(
        "--learning-rate",
        type=_positive_finite_float,
        default=0.01,
        help="Adam's learning rate (default: 0.01)",
    )
    parser.add_argument(
        "--output",
        default="sknnfs-demo.png",
        metavar="PATH",
        help="where to write the picture (default: sknnfs-demo.png)",
    )
    parser.add_argument(
        "--no-plot", action="store_true", help="do not draw the picture"
    )
    parser.add_argument(
        "--seed",
        type=_integer_in(0, MAX_SEED),
        default=0,
        help=f"seed of data, split and weights, 0 to {MAX_SEED} (default: 0)",
    )
    return parser


def main(argv=None):
    """Entry point of ``python -m sknnfs``; returns the exit status."""
    args = build_parser().parse_args(argv)
    run_demo(
        samples=args.samples,
        hidden=args.hidden,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        output=args.output,
        plot=not args.no_plot,
        seed=args.seed,
    )
    return 0
