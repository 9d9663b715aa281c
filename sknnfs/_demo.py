"""The one-command demo behind ``python -m sknnfs``.

Trains an `NNFSClassifier` on the book's spiral data (nnfs ``spiral_data``,
3 classes), next to scikit-learn's ``MLPClassifier`` with the same settings
and the same objective (our ``l2`` is MLP's ``alpha`` by the README's
mapping, `sknnfs._mlp_names.l2_for_alpha`), prints a results table and, when
matplotlib is installed, draws the decision regions and the loss curves into
a PNG.
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
from ._mlp_names import alpha_for_l2, l2_for_alpha

__all__ = ["main", "run_demo", "spiral"]

N_CLASSES = 3
BATCH_SIZE = 64
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
    l2=None,
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
    l2 : float, default=None
        Our L2 penalty; ``MLPClassifier`` gets the ``alpha`` of the same
        objective, ``2 * batch_size * l2``. None is the ``l2`` of
        ``MLPClassifier``'s default ``alpha``: ``alpha / (2 * 64)`` at the
        demo's 64-row batches.

    Returns
    -------
    results : dict
        ``{"NNFSClassifier": {...}, "MLPClassifier": {...}}`` with
        ``accuracy``, ``log_loss``, ``fit_seconds`` and ``epochs`` on the
        held-out quarter and the fitted ``estimator``, plus ``"plot"``: the
        path written, or None.
    """
    stream = sys.stdout if stream is None else stream
    hidden = tuple(int(size) for size in hidden)
    X, y = spiral(samples, seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=seed
    )
    ours, theirs = _estimators(hidden, epochs, learning_rate, l2, seed, len(X_train))
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
            "estimator": estimator,
        }
    _print_table(results, stream)
    results["plot"] = None
    if plot and _can_plot(stream):
        _plot(ours, theirs, X_train, y_train, X_test, y_test, output)
        results["plot"] = str(output)
        print(f"Wrote {output}", file=stream)
    return results


def _estimators(hidden, epochs, learning_rate, l2, seed, n_train):
    """NNFSClassifier and MLPClassifier with the same settings and objective.

    Their other defaults agree (Glorot start, Adam's betas and epsilon,
    ``tol``, shuffling); ``l2`` is MLP's ``alpha`` by `l2_for_alpha`, exact
    for every full batch (the last, shorter one of an epoch penalises by
    its own size in MLP).
    """
    # MLPClassifier warns when a batch is larger than its training split.
    batch_size = min(BATCH_SIZE, int(n_train * (1 - VALIDATION_FRACTION)))
    if l2 is None:
        alpha = MLPClassifier().alpha
        l2 = l2_for_alpha(alpha, batch_size)
    else:
        alpha = alpha_for_l2(l2, batch_size)
    shared = dict(
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        batch_size=batch_size,
        early_stopping=True,
        validation_fraction=VALIDATION_FRACTION,
        n_iter_no_change=30,
        random_state=seed,
    )
    ours = NNFSClassifier(
        optimizer="adam", learning_rate=learning_rate, l2=l2, **shared
    )
    theirs = MLPClassifier(
        solver="adam", learning_rate_init=learning_rate, alpha=alpha, **shared
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
    ours = results["NNFSClassifier"]["estimator"]
    theirs = results["MLPClassifier"]["estimator"]
    print(
        "(accuracy and log-loss on the held-out quarter; early stopping on "
        "10 % of the training rows; the same objective for both: "
        f"l2={ours.l2:g} is alpha={theirs.alpha:g} at {theirs.batch_size}-row "
        "batches)",
        file=stream,
    )


def _plot(ours, theirs, X_train, y_train, X_test, y_test, output):
    """Draw the decision regions and the loss curves; save and return the figure."""
    # The object-oriented API (no pyplot) leaves matplotlib's global state alone.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 5.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    regions_axes, curves_axes = figure.subplots(1, 2, width_ratios=(1, 1.15))
    _draw_regions(regions_axes, ours, X_train, y_train, X_test, y_test)
    _draw_curves(curves_axes, ours, theirs)
    figure.savefig(output, bbox_inches="tight")
    return figure


def _draw_regions(axes, ours, X_train, y_train, X_test, y_test):
    """Our decision regions, with the training and held-out points."""
    from matplotlib.colors import ListedColormap

    X_all = np.vstack([X_train, X_test])
    low, high = X_all.min(axis=0) - 0.1, X_all.max(axis=0) + 0.1
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], 300), np.linspace(low[1], high[1], 300)
    )
    grid_classes = ours.predict(np.c_[grid_x.ravel(), grid_y.ravel()])
    axes.contourf(
        grid_x,
        grid_y,
        grid_classes.reshape(grid_x.shape),
        levels=np.arange(N_CLASSES + 1) - 0.5,
        cmap=ListedColormap(CLASS_COLORS),
        alpha=0.25,
    )
    for label in range(N_CLASSES):
        for X_part, y_part, marker, kind in (
            (X_train, y_train, "o", "train"),
            (X_test, y_test, "^", "held out"),
        ):
            points = X_part[y_part == label]
            axes.scatter(
                points[:, 0],
                points[:, 1],
                s=10 if kind == "train" else 16,
                marker=marker,
                color=CLASS_COLORS[label],
                edgecolors="black" if kind == "held out" else "none",
                linewidths=0.4,
            )
    accuracy = accuracy_score(y_test, ours.predict(X_test))
    axes.set_title(
        f"NNFSClassifier decision regions (held-out accuracy {accuracy:.3f})"
    )
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_aspect("equal")
    # Below the axes, so that it hides no point.
    axes.legend(
        handles=_region_legend(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=5,
    )


def _region_legend():
    """One legend entry per class colour and per marker."""
    from matplotlib.lines import Line2D

    classes = [
        Line2D([], [], color=color, marker="s", linestyle="", label=f"class {label}")
        for label, color in enumerate(CLASS_COLORS)
    ]
    training = Line2D([], [], color="gray", marker="o", linestyle="", label="training")
    held_out = Line2D(
        [],
        [],
        color="gray",
        marker="^",
        markeredgecolor="black",
        linestyle="",
        label="held out",
    )
    return [*classes, training, held_out]


def curve_labels(ours, theirs):
    """The legend of each loss curve, saying what the loss includes.

    Both training losses are the mean cross-entropy plus the L2 penalty,
    each estimator's own way of writing the same objective; the validation
    loss is the cross-entropy alone.
    """
    if ours.l2 == 0 and theirs.alpha == 0:
        ours_penalty = theirs_penalty = "no penalty"
    else:
        ours_penalty = f"l2 * sum(W**2), l2={ours.l2:g}"
        theirs_penalty = (
            f"alpha / (2 * {theirs.batch_size}) * sum(W**2), alpha={theirs.alpha:g}"
        )
    return {
        "ours": f"NNFSClassifier training loss: cross-entropy + {ours_penalty}",
        "theirs": f"MLPClassifier training loss: cross-entropy + {theirs_penalty}",
        "validation": "NNFSClassifier validation loss: cross-entropy only",
    }


def _draw_curves(axes, ours, theirs):
    """Both training losses and our validation loss, epoch by epoch."""
    labels = curve_labels(ours, theirs)
    epochs = np.arange(1, ours.n_iter_ + 1)
    axes.plot(epochs, ours.loss_curve_, color="#1f77b4", label=labels["ours"])
    axes.plot(
        epochs,
        -np.asarray(ours.validation_scores_),
        color="#d62728",
        label=labels["validation"],
    )
    best_epoch = int(np.argmax(ours.validation_scores_)) + 1
    axes.axvline(
        best_epoch,
        color="gray",
        linestyle=":",
        label=f"best validation epoch ({best_epoch}), weights kept",
    )
    axes.plot(
        np.arange(1, theirs.n_iter_ + 1),
        theirs.loss_curve_,
        color="#7f7f7f",
        linestyle="--",
        label=labels["theirs"],
    )
    axes.set_ylim(bottom=0)
    axes.set_title("Loss per epoch: the same objective for both")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mean loss")
    axes.grid(True, alpha=0.3)
    # Below the axes, as the regions' legend: the curves start at its height.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize="small")


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


def _finite_float(minimum, *, inclusive):
    """An argparse ``type=``: a finite number > (or >=) ``minimum``.

    ``float`` alone would also read nan and inf.
    """
    relation = ">=" if inclusive else ">"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        above = value is not None and (
            value >= minimum if inclusive else value > minimum
        )
        if not above or not value < np.inf:
            raise argparse.ArgumentTypeError(
                f"must be a finite number {relation} {minimum}; got {text!r}"
            )
        return value

    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m sknnfs",
        description=(
            "Train NNFSClassifier on the book's spiral data (3 classes), next to "
            "scikit-learn's MLPClassifier with the same settings and the same "
            "objective (MLP's alpha = 2 * batch_size * our l2); print accuracy, "
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
        type=_finite_float(0, inclusive=False),
        default=0.01,
        help="Adam's learning rate (default: 0.01)",
    )
    parser.add_argument(
        "--l2",
        type=_finite_float(0, inclusive=True),
        default=None,
        help=(
            f"our L2 penalty; MLPClassifier gets alpha = 2 * {BATCH_SIZE} * l2, "
            "the same objective (default: the l2 of MLPClassifier's default "
            f"alpha, alpha / (2 * {BATCH_SIZE}))"
        ),
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
        l2=args.l2,
        output=args.output,
        plot=not args.no_plot,
        seed=args.seed,
    )
    return 0
