"""Learning-rate plateaus and checkpoints, as scikit-learn callbacks.

`ReduceLROnPlateau` lowers the optimizer's learning rate when the training
loss (or the validation score) stops improving; `Checkpoint` writes the
estimator to a file after epochs. Both follow scikit-learn's callback
protocol (``sklearn.callback``, scikit-learn 1.9 or later) and are set with
``estimator.set_callbacks(...)``: every fit of an sknnfs estimator is a task
whose subtasks are its epochs (`sknnfs._callbacks`), and when an epoch's task
ends the estimator's fitted attributes (``loss_curve_``,
``validation_scores_``, its network and optimizer) are those of that epoch.

One instance may serve several estimators, even at the same time:
scikit-learn's ``clone`` hands the callbacks of an estimator to its clones by
reference, so every fit of a search shares them. The state of a fit is
therefore kept per estimator, from the callback's ``setup`` to its
``teardown``; the records (the attributes ending in ``_``) are those of the
last fit that ended. Fits in worker processes (a search with ``n_jobs``)
use copies of the callback, whose records stay in the workers; their
learning rates are lowered and their files written all the same. Neither
callback keeps any state outside its instance.
"""

import os
import pickle
import uuid
from numbers import Integral, Real
from pathlib import Path
from types import SimpleNamespace

from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)

from ._base import BaseNNFS
from ._optimizers import OPTIMIZERS
from ._schedules import EPOCH_SCHEDULES

__all__ = ["Checkpoint", "ReduceLROnPlateau"]

MONITORS = {"auto", "loss", "validation_score"}
FILE_SUFFIXES = {"pickle": ".pkl", "skops": ".skops"}


class _PerFitCallback:
    """What both callbacks share: checked parameters, and one state per fit.

    ``_fits`` maps each estimator being fitted to its fit's state, from
    `setup` (which `_new_fit` builds it in) to `teardown` (which
    `_publish` turns into the records).
    """

    _parameter_constraints: dict = {}

    def _check_parameters(self):
        validate_parameter_constraints(
            self._parameter_constraints,
            {name: getattr(self, name) for name in self._parameter_constraints},
            caller_name=type(self).__name__,
        )

    def setup(self, estimator, context):
        """Check the parameters and the estimator; start this fit's state."""
        self._check_parameters()
        if not isinstance(estimator, BaseNNFS):
            raise TypeError(
                f"{type(self).__name__} works with sknnfs's NNFSClassifier and "
                f"NNFSRegressor only; it was set on {type(estimator).__name__}"
            )
        self._fits[estimator] = self._new_fit(estimator)

    def _fit_monitor(self, fit, estimator):
        """``fit.monitor``, resolved at the first epoch's end if the data
        decide it: the fit has then published ``do_early_stopping_``."""
        if fit.monitor is None:
            fit.monitor = _resolved_monitor(
                self.monitor, estimator.do_early_stopping_, type(self).__name__
            )
        return fit.monitor

    def teardown(self, estimator, context):
        """Publish the records of the fit that ends, however it ended."""
        fit = self._fits.pop(estimator, None)
        if fit is not None:
            self._publish(fit, estimator)

    def on_fit_task_begin(self, estimator, context):
        """Nothing to do when a task begins."""

    def __getstate__(self):
        # A copy (a worker process's, say) takes part in none of the fits
        # running here: the estimators being fitted are not its to keep.
        return {**self.__dict__, "_fits": {}}


def _resolved_monitor(monitor, early_stopping, callback_name):
    """``'loss'`` or ``'validation_score'``: what ``monitor`` reads in a fit
    that holds out a validation split (``early_stopping``, a bool) or not.

    ``'auto'`` reads the validation score when there is one, else the
    training loss.
    """
    if monitor == "auto":
        return "validation_score" if early_stopping else "loss"
    if monitor == "validation_score" and not early_stopping:
        raise ValueError(
            f"{callback_name}(monitor='validation_score') needs "
            "early_stopping=True: without it the estimator holds out no "
            "validation set to score (with early_stopping='auto', this fit "
            "held out none: do_early_stopping_ is False). Use monitor='loss' "
            "or 'auto'."
        )
    return monitor


def _monitor_before_fit(monitor, estimator, callback_name):
    """`_resolved_monitor` as the parameters decide it, before the fit; None
    for ``early_stopping='auto'``, which the fit's data decide."""
    if estimator.early_stopping == "auto":
        return None
    return _resolved_monitor(monitor, bool(estimator.early_stopping), callback_name)


def _last_score(estimator, monitor):
    """The last epoch's monitored quantity, signed so that greater is better."""
    if monitor == "validation_score":
        return estimator.validation_scores_[-1]
    return -estimator.loss_curve_[-1]


class ReduceLROnPlateau(_PerFitCallback):
    """Lower the learning rate when the monitored quantity stops improving.

    Keras' and PyTorch's ``ReduceLROnPlateau`` as a scikit-learn callback
    (``estimator.set_callbacks(...)``, scikit-learn 1.9 or later): after
    ``patience`` epochs in a row that do not improve on the best value so
    far by more than ``min_delta``, the learning rate is multiplied by
    ``factor``, though not below ``min_learning_rate``, and the count of
    epochs starts again. The lower rate applies from the next epoch on.

    The rate it multiplies is the optimizer's scheduled rate, the one the
    book's ``decay`` divides: a step's rate is
    ``scheduled_rate / (1 + decay * t)``, so with ``decay`` the step's rate
    is multiplied by ``factor`` too, and goes on decaying.
    ``min_learning_rate`` bounds the scheduled rate, which the decay then
    divides as usual. It combines with ``learning_rate_schedule='constant'``
    and ``'adaptive'`` (whose own divisions by 5 multiply in), not with
    ``'invscaling'``, ``'cosine'`` or ``'flat_cosine'``, which set the rate
    anew after every epoch.

    Parameters
    ----------
    monitor : {'auto', 'loss', 'validation_score'}, default='auto'
        What must improve: ``'loss'``, the epoch's training loss
        (``loss_curve_``, penalties included; lower is better);
        ``'validation_score'``, the score on the held-out set
        (``validation_scores_``; greater is better; needs a fit that holds
        one out, ``do_early_stopping_``); ``'auto'``, the validation score
        with early stopping, else the loss.
    factor : float, default=0.2
        What the learning rate is multiplied by, in (0, 1).
    patience : int, default=5
        Epochs in a row without improvement after which the rate is lowered.
    min_delta : float, default=0.0
        An epoch improves when it beats the best value so far by more than
        this (lower loss, or greater score).
    min_learning_rate : float, default=1e-6
        The rate is never lowered below this; a rate already at or below
        it stays as it is.
    verbose : int, default=0
        When positive, print a line each time the rate is lowered.

    Attributes
    ----------
    learning_rates_ : list of float
        The scheduled learning rate (before the decay) that each epoch of
        the last fit trained with: one per epoch the estimator kept,
        ``n_iter_`` of them (after a Ctrl-C, up to the epoch it kept).

    Notes
    -----
    The rate is lowered when the next epoch begins, not when the epoch that
    completes the plateau ends. So a fit's last epoch lowers nothing, and a
    fit that Ctrl-C interrupted after an epoch is exactly the fit that
    stopped after it, optimizer included.

    Each call of ``fit`` or ``partial_fit`` counts epochs afresh, and
    ``learning_rates_`` records that call. The rate it lowered stays in the
    fitted optimizer, which ``partial_fit`` continues (as the divisions of
    ``'adaptive'`` do); ``fit`` with ``warm_start=True`` starts a new
    optimizer at ``learning_rate``. Continuing the count from one call to
    the next is left out on purpose: ``partial_fit`` trains one epoch on
    whatever data it is given, and the losses of different calls are not of
    the same data. So with ``partial_fit``, whose calls are one epoch each,
    the rate is never lowered: use ``learning_rate_schedule='adaptive'``
    there, which counts across calls as ``MLPClassifier`` does.

    ``optimizer='lbfgs'`` has no learning rate: setting this callback on it
    makes ``fit`` raise a ``ValueError``, as does ``'invscaling'``, or
    ``monitor='validation_score'`` without early stopping. Such an error,
    like any error of a callback, leaves the estimator as it was.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sknnfs import NNFSClassifier, ReduceLROnPlateau
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> # No epoch improves the loss by 10 (min_delta): the rate halves after
    >>> # every epoch but the first. tol=10 ends training after 3 such epochs.
    >>> schedule = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=10)
    >>> clf = NNFSClassifier(hidden_layer_sizes=(4,), learning_rate=0.01,
    ...                      tol=10, n_iter_no_change=2, random_state=0)
    >>> clf = clf.set_callbacks(schedule).fit(X, y)
    >>> schedule.learning_rates_
    [0.01, 0.01, 0.005, 0.0025]
    """

    _parameter_constraints: dict = {
        "monitor": [StrOptions(MONITORS)],
        "factor": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        monitor="auto",
        factor=0.2,
        patience=5,
        min_delta=0.0,
        min_learning_rate=1e-6,
        verbose=0,
    ):
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.min_learning_rate = min_learning_rate
        self.verbose = verbose
        self._check_parameters()
        self._fits = {}

    def _new_fit(self, estimator):
        if estimator.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"ReduceLROnPlateau cannot be used with "
                f"optimizer={estimator.optimizer!r}, which has no learning rate "
                f"to lower. Use one of the stochastic optimizers "
                f"{sorted(OPTIMIZERS)}."
            )
        if estimator.learning_rate_schedule in EPOCH_SCHEDULES:
            raise ValueError(
                "ReduceLROnPlateau cannot be used with learning_rate_schedule="
                f"{estimator.learning_rate_schedule!r}, which sets the learning "
                "rate anew after every epoch (from the samples seen, or the "
                "share of max_iter done) and would undo its reductions. Use "
                "'constant' or 'adaptive'."
            )
        return SimpleNamespace(
            monitor=_monitor_before_fit(self.monitor, estimator, "ReduceLROnPlateau"),
            best_score=-float("inf"),
            epochs_without_improvement=0,
            lower_next=False,
            learning_rates=[],  # one per epoch begun
            # The record before this fit's first epoch is published.
            earlier_curve=estimator.__dict__.get("loss_curve_"),
        )

    def _publish(self, fit, estimator):
        # The epochs the estimator kept: an epoch that Ctrl-C interrupted is
        # not, and one kept although the callbacks never saw its end is.
        published = estimator.__dict__.get("loss_curve_") is not fit.earlier_curve
        n_kept = estimator.n_iter_ if published else 0
        self.learning_rates_ = fit.learning_rates[:n_kept]

    def on_fit_task_begin(self, estimator, context):
        """Before an epoch: lower the rate if the last one asked to; record it."""
        if context.task_name != "epoch":
            return
        fit, optimizer = self._fits[estimator], estimator._optimizer
        # Lowered when the next epoch begins rather than when the last one
        # ends: a Ctrl-C during this epoch puts the optimizer back as after
        # the last completed one, whose rate is then the rate it ran with.
        if fit.lower_next:
            fit.lower_next = False
            self._lower_rate(estimator, optimizer, fit.monitor)
        fit.learning_rates.append(float(optimizer.scheduled_learning_rate))

    def _lower_rate(self, estimator, optimizer, monitor):
        old_rate = optimizer.scheduled_learning_rate
        if old_rate <= self.min_learning_rate:
            return  # lowering it would raise it to the floor
        new_rate = float(max(old_rate * self.factor, self.min_learning_rate))
        optimizer.scheduled_learning_rate = new_rate
        if self.verbose:
            print(
                f"ReduceLROnPlateau: no improvement of the {monitor} in "
                f"{self.patience} epochs; learning rate {old_rate:.6g} -> "
                f"{new_rate:.6g} from epoch {estimator.n_iter_ + 1}"
            )

    def on_fit_task_end(self, estimator, context):
        """After an epoch: count it; never stops training."""
        if context.task_name != "epoch":
            return False
        fit = self._fits[estimator]
        score = _last_score(estimator, self._fit_monitor(fit, estimator))
        if score > fit.best_score + self.min_delta:
            fit.best_score, fit.epochs_without_improvement = score, 0
            return False
        fit.epochs_without_improvement += 1
        if fit.epochs_without_improvement >= self.patience:
            fit.lower_next, fit.epochs_without_improvement = True, 0
        return False


class Checkpoint(_PerFitCallback):
    """Save the estimator as it is after epochs, to resume from or to keep.

    A scikit-learn callback (``estimator.set_callbacks(...)``,
    scikit-learn 1.9 or later). Each checkpoint is the whole fitted
    estimator as it is right after its epoch (its network, optimizer state,
    random generator and fitted attributes, not its callbacks): loaded, it
    predicts exactly what the estimator predicted then, and ``partial_fit``
    or a warm start continues from it. Each file is written whole to a
    temporary file beside it, then renamed over the old one, so a crash
    never leaves half a file.

    Parameters
    ----------
    path : str or path-like
        Where to write. A path with a suffix (``'model.pkl'``) that is not an
        existing directory names one file, which every save overwrites. Any
        other path (``'checkpoints'``) is a directory, created if needed,
        where each save writes a file of its own, ``epoch_0005.pkl`` (or
        ``.skops``) for the model's 5th epoch.
    every : int, default=1
        Save after the epochs whose number is a multiple of ``every``. The
        number counts the model's epochs (``len(loss_curve_)``), which go on
        across warm starts and ``partial_fit`` calls.
    save_best_only : bool, default=False
        Save only an epoch whose monitored value beats those of the epochs
        saved or considered before it in this fit.
    monitor : {'auto', 'loss', 'validation_score'}, default='auto'
        What "best" means: the lowest training loss (``'loss'``), the
        greatest validation score (``'validation_score'``; needs a fit that
        holds out a validation set, ``do_early_stopping_``), or the
        validation score when there is one, else the loss (``'auto'``).
    format : {'pickle', 'skops'}, default='pickle'
        ``'pickle'`` writes with `pickle`; ``'skops'`` with ``skops.io``
        (``pip install skops``), which loads only the types it trusts: for
        these files, the estimator class alone.

    Attributes
    ----------
    paths_ : list of str
        The files the last fit wrote, in order (one path repeats when it is
        a file).
    best_path_ : str or None
        The file that holds the best checkpoint of the last fit (by
        ``monitor``), or None if there is none: nothing was saved, or, when
        ``path`` is one file and ``save_best_only=False``, a later, worse
        epoch overwrote it.
    best_epoch_ : int or None
        The epoch (as ``every`` counts) of the checkpoint in ``best_path_``.

    See Also
    --------
    ReduceLROnPlateau : The other callback of this module.

    Notes
    -----
    Each call of ``fit`` or ``partial_fit`` looks for its own best: with
    ``partial_fit``, whose calls are one epoch each, every saved epoch is
    the best of its call. With early stopping the fitted estimator
    ends with the weights of the best validated epoch, while each
    checkpoint holds the weights of its own epoch. A file whose writing
    fails (a full disk) makes ``fit`` raise, and the estimator is then as it
    was before ``fit``; the checkpoints written before stay. Shared by
    several estimators (the clones of a search), the callback writes their
    checkpoints to the same files.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sknnfs import Checkpoint, NNFSClassifier
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> # tol=10 (an improvement no epoch makes) ends training after 6 epochs.
    >>> clf = NNFSClassifier(hidden_layer_sizes=(4,), tol=10, n_iter_no_change=4,
    ...                      random_state=0)
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     checkpoint = Checkpoint(directory, every=2)
    ...     clf = clf.set_callbacks(checkpoint).fit(X, y)
    ...     names = [os.path.basename(path) for path in checkpoint.paths_]
    ...     best = checkpoint.load_best()
    >>> names
    ['epoch_0002.pkl', 'epoch_0004.pkl', 'epoch_0006.pkl']
    >>> checkpoint.best_epoch_  # the lowest training loss of the three
    6
    >>> bool((best.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """

    _parameter_constraints: dict = {
        "path": [str, os.PathLike],
        "every": [Interval(Integral, 1, None, closed="left")],
        "save_best_only": ["boolean"],
        "monitor": [StrOptions(MONITORS)],
        "format": [StrOptions(set(FILE_SUFFIXES))],
    }

    def __init__(
        self, path, *, every=1, save_best_only=False, monitor="auto", format="pickle"
    ):
        self.path = path
        self.every = every
        self.save_best_only = save_best_only
        self.monitor = monitor
        self.format = format
        self._check_parameters()
        self._fits = {}

    def _new_fit(self, estimator):
        if self.format == "skops":
            _skops_io()  # missing, it fails before training rather than after
        path = Path(self.path)
        directory = path if path.is_dir() or not path.suffix else None
        (directory or path.parent).mkdir(parents=True, exist_ok=True)
        return SimpleNamespace(
            monitor=_monitor_before_fit(self.monitor, estimator, "Checkpoint"),
            directory=directory,
            file_format=self.format,
            class_name=f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            best_score=-float("inf"),
            best_path=None,
            best_epoch=None,
            paths=[],
        )

    def _publish(self, fit, estimator):
        self.paths_ = fit.paths
        self.best_path_, self.best_epoch_ = fit.best_path, fit.best_epoch
        # How to load it, whatever the parameters become.
        self._best_file = (fit.best_path, fit.file_format, fit.class_name)

    def on_fit_task_end(self, estimator, context):
        """After an epoch: save it if it is due; never stops training."""
        if context.task_name != "epoch":
            return False
        epoch = len(estimator.loss_curve_)
        if epoch % self.every:
            return False
        fit = self._fits[estimator]
        score = _last_score(estimator, self._fit_monitor(fit, estimator))
        improved = score > fit.best_score
        if self.save_best_only and not improved:
            return False
        if fit.directory is None:
            path = Path(self.path)
        else:
            path = fit.directory / f"epoch_{epoch:04d}{FILE_SUFFIXES[fit.file_format]}"
        _write_atomically(_without_callbacks(estimator), path, fit.file_format)
        fit.paths.append(str(path))
        if improved:
            fit.best_score, fit.best_path, fit.best_epoch = score, str(path), epoch
        elif str(path) == fit.best_path:  # one file, now holding a worse epoch
            fit.best_path = fit.best_epoch = None
        return False

    def load_best(self):
        """Load the best checkpoint of the last fit (``best_path_``).

        A skops file is loaded trusting the estimator class alone.

        Returns
        -------
        estimator : NNFSClassifier or NNFSRegressor
            The estimator as it was after epoch ``best_epoch_``.

        Raises
        ------
        ValueError
            When no file holds the best checkpoint (``best_path_`` is None),
            or no fit has used this callback yet.
        """
        path, file_format, class_name = getattr(self, "_best_file", (None,) * 3)
        if path is None:
            raise ValueError(
                "No file holds a best checkpoint: "
                + (
                    "no fit has used this Checkpoint yet."
                    if not hasattr(self, "paths_")
                    else "the last fit saved none, or a later, worse epoch "
                    "overwrote the one file (save with save_best_only=True, "
                    "or into a directory, to keep it)."
                )
            )
        if file_format == "skops":
            return _skops_io().load(path, trusted=[class_name])
        with open(path, "rb") as file:
            return pickle.load(file)


def _without_callbacks(estimator):
    """A stand-in to save: ``estimator``'s attributes (shared, not copied)
    without scikit-learn's callback machinery, which keeps its objects (the
    callbacks, the task contexts of the running fit) in private attributes
    whose names say "callback"."""
    saved = object.__new__(type(estimator))
    attributes = vars(estimator).items()
    saved.__dict__.update(
        (name, value) for name, value in attributes if "callback" not in name
    )
    return saved


def _write_atomically(estimator, path, file_format):
    """Write ``estimator`` to ``path``: whole, or not at all.

    The file is written to a temporary name beside ``path`` and flushed to
    the disk, then renamed to ``path`` (`os.replace` is atomic): a reader
    or a crash finds the old file or the new one, never half of one.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file:
            if file_format == "skops":
                _skops_io().dump(estimator, file)
            else:
                pickle.dump(estimator, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _skops_io():
    """``skops.io``, or an ImportError that says how to install it."""
    try:
        import skops.io
    except ImportError as error:
        raise ImportError(
            "Checkpoint(format='skops') needs skops: pip install skops"
        ) from error
    return skops.io
