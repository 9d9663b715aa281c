"""Training: minibatches, one step, one epoch, the stopping rule, the history.

The training loop (`sknnfs._loop.EpochLoop`) runs epochs; an epoch is
`Trainer.run_epoch` over `minibatches`; a step is `Trainer.train_step`::

    loss, grads = network.loss_and_gradients(X_batch, y_batch, weight_batch, ...)
    optimizer.step([network.flat_params], [grads], apply_update=blockwise,
                   weights=network.weight_matrices)

After each epoch, `raise_if_diverged` checks the loss, the weights and the
validation outputs, `Plateau` applies MLPClassifier's stopping rule to the
epoch's score (or, under the ``'adaptive'`` schedule, has the optimizer lower
its learning rate), and `History` records it; `Trainer.save` keeps what
Ctrl-C goes back to.
"""

import copy
import math

import numpy as np
from sklearn.model_selection import train_test_split

from ._kernels import gather_rows
from ._parallel import BlockwiseUpdate, blas_at_the_callers_limit

__all__ = [
    "History",
    "Plateau",
    "Trainer",
    "minibatches",
    "raise_if_diverged",
    "early_stopping_demanded",
    "resolve_early_stopping",
    "split_validation",
    "validation_split_problem",
]

# Fewest samples early stopping holds out; one more is left to train on.
MIN_VALIDATION_SAMPLES = 2


def minibatches(X, y, sample_weight, batch_size, order=None):
    """Yield the minibatches of one epoch.

    Shuffled dense rows are gathered batch by batch into one small reused
    buffer: no copy of the whole data per epoch, and the batch is still in
    cache when the first product reads it. Sparse data is permuted once per
    epoch instead, since scipy's row indexing is fast in bulk but costs a lot
    per call.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    batch_size : int
    order : ndarray of shape (n_samples,), optional
        A permutation of the rows; ``None`` takes them in order.

    Yields
    ------
    X_batch : {ndarray, sparse matrix} of shape (n_batch, n_features)
        With ``order`` and dense ``X``, a view of a buffer that the next
        batch overwrites: use it before asking for the next one.
    y_batch : ndarray of shape (n_batch,) or (n_batch, n_outputs)
    weight_batch : ndarray of shape (n_batch,) or None
    """
    n_samples = X.shape[0]
    if order is not None and not isinstance(X, np.ndarray):
        X, y = X[order], y[order]
        if sample_weight is not None:
            sample_weight = sample_weight[order]
        order = None
    if order is not None:
        X_buffer = np.empty((min(batch_size, n_samples), X.shape[1]), dtype=X.dtype)
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        if order is None:
            rows = slice(start, stop)
            X_batch = X[rows]
        else:
            rows = order[start:stop]
            X_batch = gather_rows(X, rows, out=X_buffer[: stop - start])
        weight_batch = None if sample_weight is None else sample_weight[rows]
        yield X_batch, y[rows], weight_batch


class Trainer:
    """What one training run moves: network, optimizer, generator, workspace.

    Parameters
    ----------
    network : Network
    optimizer : SGD, Adagrad, RMSprop or Adam
    rng : numpy.random.Generator
        Shuffles the rows and draws the dropout masks.
    """

    def __init__(self, network, optimizer, rng):
        self.network = network
        self.optimizer = optimizer
        self.rng = rng
        self.workspace = network.new_workspace()
        self.blockwise = BlockwiseUpdate()
        # The loss of the first batch, before the first step: how well the
        # model did when this run began (`raise_if_diverged` measures from it).
        self.start_loss = None

    def blas_turn(self):
        """The turn the run's BLAS products take, at the caller's BLAS limit.

        With it, an L-BFGS fit (which keeps BLAS to one thread) waits on other
        threads while the run lasts, and the run waits for such fits to end:
        the run's bits depend on no other thread (`sknnfs._parallel`).
        """
        return blas_at_the_callers_limit()

    def train_step(self, X_batch, y_batch, weight_batch):
        """Forward, loss and gradient, backward, optimizer step: the batch loss."""
        network = self.network
        loss, grads = network.loss_and_gradients(
            X_batch, y_batch, weight_batch, self.rng, self.workspace
        )
        if self.start_loss is None:
            self.start_loss = loss
        self.optimizer.step(
            [network.flat_params],
            [grads],
            apply_update=self.blockwise,
            weights=network.weight_matrices,  # weight decay spares the biases
        )
        return loss

    def run_epoch(self, X, y, sample_weight, batch_size, shuffle):
        """One pass over the data in minibatches; the mean batch loss.

        A non-finite batch loss ends the epoch at once and is returned.
        """
        n_samples = X.shape[0]
        order = self.rng.permutation(n_samples) if shuffle else None
        total_loss = 0.0
        for X_batch, y_batch, weight_batch in minibatches(
            X, y, sample_weight, batch_size, order
        ):
            batch_loss = self.train_step(X_batch, y_batch, weight_batch)
            if not math.isfinite(batch_loss):
                return batch_loss
            total_loss += batch_loss * X_batch.shape[0]
        return total_loss / n_samples

    def save(self):
        """A copy of what training changes: weights, optimizer state, generator."""
        return (
            self.network.flat_params_copy(),
            self.optimizer.save_state(),
            self.rng.bit_generator.state,
        )

    def restore(self, saved):
        """Go back to what `save` returned (which is then used up)."""
        flat_params, optimizer_state, rng_state = saved
        self.network.load_flat_params(flat_params)
        self.optimizer.load_state(optimizer_state)
        self.rng.bit_generator.state = rng_state


# An epoch whose mean loss is more than this many times the reference loss
# (see `raise_if_diverged`) has diverged.
DIVERGENCE_GROWTH = 1e4


def raise_if_diverged(
    epoch_loss, network, epoch, learning_rate, reference_loss=np.inf, outputs=None
):
    """A clear error when training has diverged.

    Training has diverged when, after an epoch,

    - the epoch's mean loss is not finite;
    - it is more than ``DIVERGENCE_GROWTH`` (1e4) times ``reference_loss``:
      the estimators pass the larger of the loss before the run's first step
      and the first epoch's loss of the model's earlier runs, so that neither
      a model that starts near a loss of zero nor a penalty raised for this
      run counts as growth. Sound training lowers the loss, and where a large
      step overshoots it stays within a small factor of where it started: a
      loss four orders of magnitude above it is a run away, even if finite;
    - a weight is not finite or its magnitude is above the square root of
      the dtype's largest number (about 1.3e154 in float64, 1.8e19 in
      float32): its square, in the L2 penalty or in the optimizer's second
      moment, would overflow;
    - ``outputs`` (the network's outputs for the validation data, when
      given) are not finite.

    The last step of an epoch can overflow the weights while the loss it
    reports (computed before the step) is still finite, which is why the
    weights are checked too.

    Parameters
    ----------
    epoch_loss : float
    network : Network
    epoch : int
        The epoch's number, from 1, for the message.
    learning_rate : float
        For the message.
    reference_loss : float, default=inf
        The loss growth is measured from; ``inf`` checks no growth.
    outputs : ndarray of shape (n_samples, n_outputs), optional

    Raises
    ------
    ValueError
        ``"Training diverged: <what happened> at epoch <epoch>. ..."``.
    """
    problem = _divergence(epoch_loss, network, reference_loss, outputs)
    if problem is None:
        return
    raise ValueError(
        f"Training diverged: {problem} at epoch {epoch}. Try a smaller "
        f"learning_rate (now {learning_rate!r}), or scale the features."
    )


def _divergence(epoch_loss, network, reference_loss, outputs):
    """What shows that training diverged, or None."""
    if not math.isfinite(epoch_loss):
        return f"the loss became {epoch_loss}"
    if epoch_loss > DIVERGENCE_GROWTH * reference_loss:
        return f"the loss grew from {reference_loss:.3g} to {epoch_loss:.3g}"
    params = network.flat_params
    if not np.isfinite(params).all():
        return "the weights overflowed to inf or nan"
    limit = math.sqrt(np.finfo(params.dtype).max)
    if params.size and max(-params.min(), params.max()) > limit:
        return (
            f"a weight grew beyond {limit:.3g}, whose square overflows {params.dtype}"
        )
    if outputs is not None and not np.isfinite(outputs).all():
        return "the outputs for the validation data overflowed"
    return None


class Plateau:
    """MLPClassifier's stopping rule, on a score where greater is better.

    An epoch whose score does not beat the best score by at least ``tol``
    counts as one without improvement; training stops when more than
    ``n_iter_no_change`` of them have come in a row, that is after
    ``n_iter_no_change + 1``, exactly as MLP stops. The score is the
    validation score with early stopping, else the negated training loss.

    Parameters
    ----------
    tol : float
    best_score : float, default=-inf
        The best score so far (carried over by a warm start).
    epochs_without_improvement : int, default=0
        The count so far (carried over by a warm start and from one
        partial_fit to the next, as MLP carries it).
    """

    def __init__(self, tol, best_score=-np.inf, epochs_without_improvement=0):
        self.tol = tol
        self.best_score = best_score
        self.epochs_without_improvement = epochs_without_improvement

    def update(self, score):
        """Record an epoch's score; True when it is the best so far."""
        if score < self.best_score + self.tol:
            self.epochs_without_improvement += 1
        else:
            self.epochs_without_improvement = 0
        if score > self.best_score:
            self.best_score = score
            return True
        return False

    def stalled(self, n_iter_no_change):
        return self.epochs_without_improvement > n_iter_no_change

    def should_stop(self, n_iter_no_change, optimizer):
        """Whether training stops after this epoch.

        It stops when the scores have stalled, unless the optimizer's
        ``'adaptive'`` schedule lowers the learning rate instead
        (`_Optimizer.reduce_learning_rate_on_plateau`): then the count of
        epochs without improvement starts again, as in `MLPClassifier`.
        """
        if not self.stalled(n_iter_no_change):
            return False
        if optimizer.reduce_learning_rate_on_plateau():
            self.epochs_without_improvement = 0
            return False
        return True


class History:
    """The training record of an estimator; `store` copies it onto the estimator.

    ``n_iter`` counts the epochs of the current call (``n_iter_``, as MLP,
    `SGDClassifier` and `LogisticRegression` count); the samples seen, the
    loss curve, the best scores and the stopping rule's count go on across
    a warm start and from one partial_fit to the next.
    """

    def __init__(self):
        self.n_iter = 0
        self.n_samples_seen = 0
        self.loss_curve = []
        self.best_loss = np.inf
        self.validation_scores = []
        self.best_validation_score = -np.inf
        self.epochs_without_improvement = 0

    @classmethod
    def of(cls, estimator):
        """The history of a fitted estimator, to continue from in a new call."""
        history = cls()
        history.n_samples_seen = estimator.t_
        history.epochs_without_improvement = estimator._no_improvement_count
        history.loss_curve = list(estimator.loss_curve_)
        if estimator.best_loss_ is not None:
            history.best_loss = estimator.best_loss_
        if estimator.validation_scores_ is not None:
            history.validation_scores = list(estimator.validation_scores_)
            history.best_validation_score = estimator.best_validation_score_
        return history

    def copy(self):
        """A copy whose lists are its own (a plain list copy: this runs after
        every epoch, and ``copy.deepcopy`` of a long curve is slow)."""
        record = copy.copy(self)
        record.loss_curve = list(self.loss_curve)
        record.validation_scores = list(self.validation_scores)
        return record

    def best_score(self, early_stopping):
        """The best score so far, as `Plateau` counts it."""
        return self.best_validation_score if early_stopping else -self.best_loss

    def record(self, loss, n_samples, validation_score, best_score):
        """Record a completed epoch; ``validation_score`` is None without one."""
        self.n_iter += 1
        self.n_samples_seen += n_samples
        self.loss_curve.append(loss)
        if validation_score is None:
            self.best_loss = -best_score
        else:
            self.validation_scores.append(validation_score)
            self.best_validation_score = best_score

    def describe_last_epoch(self, seconds):
        """The verbose line of the last epoch."""
        line = f"Epoch {self.n_iter}: loss = {self.loss_curve[-1]:.6f}"
        if self.validation_scores:
            line += f", validation score = {self.validation_scores[-1]:.6f}"
        return f"{line}, {seconds:.3f} s"

    def store(self, estimator, early_stopping):
        """Write the record to ``estimator``'s fitted attributes; with
        ``early_stopping``, this fit held out a validation split."""
        estimator.do_early_stopping_ = bool(early_stopping)
        estimator.n_iter_ = self.n_iter
        estimator._no_improvement_count = self.epochs_without_improvement
        estimator.t_ = self.n_samples_seen
        estimator.loss_curve_ = list(self.loss_curve)
        estimator.loss_ = self.loss_curve[-1] if self.loss_curve else None
        if early_stopping:
            estimator.best_loss_ = None
            estimator.validation_scores_ = list(self.validation_scores)
            estimator.best_validation_score_ = self.best_validation_score
        else:
            estimator.best_loss_ = self.best_loss
            estimator.validation_scores_ = None
            estimator.best_validation_score_ = None


def split_validation(X, y, sample_weight, validation_fraction, stratify, rng):
    """Hold out ``validation_fraction`` of the data (rounded up, as in
    MLPClassifier), stratified where possible.

    Only samples with a positive weight are held out: a zero-weight sample
    says nothing about the model, and a validation set of only those has no
    score (its weights sum to zero). Zero-weight samples stay in the training
    part, where they contribute nothing either.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : ndarray of shape (n_samples,) or None
    validation_fraction : float
    stratify : ndarray of shape (n_samples,) of int, or None
        Class indices to stratify on, when they allow it.
    rng : numpy.random.Generator

    Returns
    -------
    train, validation : tuple (X, y, sample_weight)
    """
    n_samples = X.shape[0]
    if sample_weight is None:
        candidates = np.arange(n_samples)
    else:
        candidates = np.flatnonzero(sample_weight > 0)
    n_candidates = len(candidates)
    problem = validation_split_problem(n_samples, n_candidates, validation_fraction)
    if problem is not None:
        raise ValueError(problem)
    n_validation = min(_n_validation(validation_fraction, n_samples), n_candidates - 1)
    train_idx, val_idx = train_test_split(
        candidates,
        test_size=n_validation,
        random_state=rng.integers(np.iinfo(np.int32).max),
        stratify=_stratification(stratify, candidates, n_validation),
    )
    if n_candidates < n_samples:
        train_idx = np.union1d(train_idx, np.flatnonzero(sample_weight <= 0))
    train_idx.sort()
    val_idx.sort()

    def take(values, idx):
        return None if values is None else values[idx]

    return (
        (X[train_idx], y[train_idx], take(sample_weight, train_idx)),
        (X[val_idx], y[val_idx], take(sample_weight, val_idx)),
    )


def validation_split_problem(n_samples, n_candidates, validation_fraction):
    """Why `split_validation` cannot split these samples, or None if it can.

    The one rule of both `split_validation`, which raises the problem, and
    ``early_stopping='auto'``, which trains without a split instead.

    Parameters
    ----------
    n_samples : int
        Number of samples, of any weight.
    n_candidates : int
        Number of them with a positive weight (all of them without weights).
    validation_fraction : float

    Returns
    -------
    problem : str or None
    """
    if n_candidates <= MIN_VALIDATION_SAMPLES:
        return (
            f"early_stopping needs at least {MIN_VALIDATION_SAMPLES + 1} samples "
            f"with a positive weight; got {n_candidates} (n_samples={n_samples})"
        )
    n_validation = _n_validation(validation_fraction, n_samples)
    if n_validation < MIN_VALIDATION_SAMPLES:
        # The first sentence is MLPClassifier's.
        return (
            "The validation set is too small. Increase 'validation_fraction' or "
            f"the size of your dataset: validation_fraction={validation_fraction!r} "
            f"of {n_samples} samples holds out {n_validation}, and early stopping "
            f"needs at least {MIN_VALIDATION_SAMPLES}."
        )
    return None


def _n_validation(validation_fraction, n_samples):
    """How many samples the split holds out: as many as MLPClassifier's
    (train_test_split rounds up). `validation_split_problem` asks for two at
    least, since R² is undefined on one."""
    return math.ceil(validation_fraction * n_samples)


def resolve_early_stopping(
    early_stopping, n_samples, n_candidates, validation_fraction
):
    """Whether a stochastic ``fit`` holds out a validation split.

    ``early_stopping=True`` and False are themselves; ``'auto'`` is True when
    `validation_split_problem` finds none, and False (no error) when it finds
    one. ``partial_fit`` and ``optimizer='lbfgs'`` never split: their callers
    do not ask.
    """
    if isinstance(early_stopping, str):  # 'auto'
        return (
            validation_split_problem(n_samples, n_candidates, validation_fraction)
            is None
        )
    return bool(early_stopping)


def early_stopping_demanded(early_stopping):
    """Whether ``early_stopping`` is True, which is an error where a fit cannot
    split (``partial_fit``, ``optimizer='lbfgs'``, too few samples); ``'auto'``
    then trains without a split."""
    return not isinstance(early_stopping, str) and bool(early_stopping)


def _stratification(labels, candidates, n_validation):
    """The candidates' labels, or None where they cannot be stratified on.

    Stratifying needs two samples of every class, and room for one of each
    class on both sides of the split.
    """
    if labels is None:
        return None
    labels = labels[candidates]
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    n_classes = len(counts)
    if counts.min() < 2 or not n_classes <= n_validation <= len(labels) - n_classes:
        return None
    return labels
